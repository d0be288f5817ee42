//! Functions behind the table's change stream (a DynamoDB event source mapping): a batch of
//! records in, read into the changes they mean; out, the first record not done, which Lambda
//! reads the stream again from (`ReportBatchItemFailures`).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::domain::ChangeRecord;
use crate::storage::table_change;
use crate::{App, deadline, telemetry};

/// What a stream function does with each batch, over the instance's [`App`]: the sequence
/// number of the first record not done, if any.
pub type StreamHandler =
    for<'a> fn(&'a App, Vec<ChangeRecord>) -> Pin<Box<dyn Future<Output = Option<String>> + Send + 'a>>;

/// A stream function's whole `main`: JSON logs, the deployed wiring built once per instance,
/// then `handler` for every batch the Lambda runtime hands over. `function` is its binary's
/// name, which its log lines carry.
pub fn run(function: &'static str, handler: StreamHandler) -> Result<(), crate::http::Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        telemetry::init();
        let app = App::from_env().await?;
        let service = lambda_http::lambda_runtime::service_fn(
            |event: lambda_http::lambda_runtime::LambdaEvent<DynamoDbEvent>| {
                let request_id = event.context.request_id.clone();
                let app = &app;
                async move {
                    Ok::<_, crate::http::Error>(run_once(app, function, handler, event.payload, &request_id).await)
                }
            },
        );
        lambda_http::lambda_runtime::run(service).await
    })
}

/// The records of a batch that mean something outside, in order. A record whose image
/// cannot be read is logged and passed over: reading it again would not change it.
pub fn change_records(event: DynamoDbEvent) -> Vec<ChangeRecord> {
    let mut records = Vec::new();
    for record in event.records {
        let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
        match table_change(record.change.old_image, record.change.new_image) {
            Ok(Some(change)) => records.push(ChangeRecord { sequence_number, change }),
            Ok(None) => {}
            Err(error) => tracing::error!(%error, sequence_number, "a stream record could not be read"),
        }
    }
    records
}

/// One batch through `handler`, within the deadline, logged as one line like every
/// invocation. Past the deadline, the whole batch is left to be retried.
pub async fn run_once(
    app: &App,
    function: &str,
    handler: StreamHandler,
    event: DynamoDbEvent,
    request_id: &str,
) -> DynamoDbEventResponse {
    let first = event.records.first().and_then(|record| record.change.sequence_number.clone());
    let failed = run_records(app, function, handler, change_records(event), first, request_id).await;
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    response
}

/// Change records already read (from the stream, or from the embedded store's feed) through
/// `handler`, within the deadline, logged as one line: the sequence number of the first not
/// done. Past the deadline, that is `first`, the batch's first record.
pub async fn run_records(
    app: &App,
    function: &str,
    handler: StreamHandler,
    records: Vec<ChangeRecord>,
    first: Option<String>,
    request_id: &str,
) -> Option<String> {
    let started = Instant::now();
    let work = deadline::within(deadline::SCHEDULED_DEADLINE, handler(app, records));
    let (outcome, calls) = telemetry::count_calls(work).await;
    let failed = outcome.unwrap_or(first);
    let status = if failed.is_none() { 200 } else { 503 };
    telemetry::log_invocation(&format!("stream {function}"), status, Some(request_id), None, started.elapsed(), &calls);
    failed
}
