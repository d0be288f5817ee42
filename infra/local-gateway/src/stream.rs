//! The table's change stream, read as Lambda's event source mapping reads it: DynamoDB
//! Local's Streams API polled shard by shard (a closed shard's children once it is done),
//! each batch of records handed to the stream function (linked in or as its own process) as
//! the `DynamoDBEvent` Lambda sends, and read again from the first record the function did
//! not do, up to the mapping's retries; then those records are given up, as Lambda gives
//! them to the mapping's on-failure destination (here, the log). The embedded store's change
//! feed is read the same way ([`crate::feed`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use sam_template::StreamFunction;
use serde_json::{Value, json};

use crate::invoke::Functions;

/// How long a poll that found nothing waits before the next: Lambda polls a shard about
/// four times a second.
pub const IDLE_POLL: Duration = Duration::from_millis(250);

/// A Streams API client for the DynamoDB at `endpoint`: DynamoDB Local's, with its fixed
/// credentials, or AWS's with the SDK's own.
pub async fn client(endpoint: &str) -> Client {
    match shared::config::is_loopback_endpoint(endpoint) {
        true => Client::new(&shared::deadline::local_sdk_config(endpoint)),
        false => Client::new(&shared::deadline::aws_config_loader().endpoint_url(endpoint).load().await),
    }
}

/// The table's change stream.
pub async fn stream_of(endpoint: &str, table: &str) -> Result<String, String> {
    let client = shared::storage::DynamoStore::endpoint_client(endpoint).await;
    let described = client.describe_table().table_name(table).send().await;
    let described = described.map_err(|error| aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())?;
    described.table.and_then(|t| t.latest_stream_arn).ok_or_else(|| format!("table {table} has no stream"))
}

/// Creates the event bus `name` at `endpoint` (moto's), unless it is there.
pub async fn create_event_bus(endpoint: &str, name: &str) -> Result<(), String> {
    let events = aws_sdk_eventbridge::Client::new(&shared::deadline::local_sdk_config(endpoint));
    match events.create_event_bus().name(name).send().await {
        Ok(_) => Ok(()),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => Ok(()),
        Err(error) => Err(aws_sdk_eventbridge::error::DisplayErrorContext(error).to_string()),
    }
}

/// Reads `stream_arn` for `mapping` for as long as the gateway runs, handing each batch over
/// `delivered` times.
pub fn start(client: Client, stream_arn: String, mapping: StreamFunction, functions: Arc<Functions>, delivered: u32) {
    tokio::spawn(async move {
        let (done, open) = (HashSet::new(), HashMap::new());
        let mut reader = Reader { client, stream_arn, mapping, functions, done, open, batches: 0, delivered };
        loop {
            match reader.poll().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(IDLE_POLL).await,
                Err(error) => {
                    tracing::error!(%error, "reading the table's stream failed");
                    tokio::time::sleep(IDLE_POLL).await;
                }
            }
        }
    });
}

struct Reader {
    client: Client,
    stream_arn: String,
    mapping: StreamFunction,
    functions: Arc<Functions>,
    /// Shards read to their end.
    done: HashSet<String>,
    /// Shards being read, and where.
    open: HashMap<String, String>,
    /// Batches handed over so far: each invocation's request id names its batch.
    batches: u64,
    /// How often each batch is handed over.
    delivered: u32,
}

impl Reader {
    /// One pass over the stream's shards; whether it found records.
    async fn poll(&mut self) -> Result<bool, String> {
        self.discover().await?;
        let mut found = false;
        for shard in self.open.keys().cloned().collect::<Vec<_>>() {
            let iterator = self.open[&shard].clone();
            let page = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(self.mapping.batch_size as i32)
                .send()
                .await
                .map_err(|error| aws_sdk_dynamodbstreams::error::DisplayErrorContext(error).to_string())?;
            let records = page.records.unwrap_or_default();
            if !records.is_empty() {
                found = true;
                self.batches += 1;
                for _ in 0..self.delivered {
                    self.deliver(&records).await;
                }
            }
            match page.next_shard_iterator {
                Some(next) => {
                    self.open.insert(shard, next);
                }
                None => {
                    self.open.remove(&shard);
                    self.done.insert(shard);
                }
            }
        }
        Ok(found)
    }

    /// Starts reading every shard whose parent is read to its end (or gone), from its start.
    async fn discover(&mut self) -> Result<(), String> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|error| aws_sdk_dynamodbstreams::error::DisplayErrorContext(error).to_string())?;
        let shards = described.stream_description.and_then(|d| d.shards).unwrap_or_default();
        let known: HashSet<String> = shards.iter().filter_map(|s| s.shard_id.clone()).collect();
        for shard in &shards {
            let Some(id) = shard.shard_id.clone() else { continue };
            let parent_done =
                shard.parent_shard_id.as_ref().is_none_or(|p| self.done.contains(p) || !known.contains(p));
            if self.done.contains(&id) || self.open.contains_key(&id) || !parent_done {
                continue;
            }
            let iterator = self.iterator(&id).await?;
            self.open.insert(id, iterator);
        }
        Ok(())
    }

    /// Where reading `shard` from its start begins.
    async fn iterator(&self, shard: &str) -> Result<String, String> {
        let answer = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(|error| aws_sdk_dynamodbstreams::error::DisplayErrorContext(error).to_string())?;
        answer.shard_iterator.ok_or_else(|| format!("no iterator for shard {shard}"))
    }

    /// Hands `records` to the function as one batch, retried as the mapping retries it; those
    /// the mapping's filter does not take never reach it.
    async fn deliver(&self, records: &[Record]) {
        let records: Vec<&Record> = records.iter().filter(|r| self.mapping.takes(&self.event_record(r))).collect();
        if records.is_empty() {
            return;
        }
        let records = &records;
        hand_over(&self.mapping, records.len(), |from, attempt| async move {
            let event = json!({"Records": records[from..].iter().map(|r| self.event_record(r)).collect::<Vec<_>>()});
            let request_id = format!("stream-{}-{}-{attempt}", self.mapping.function, self.batches);
            match self.functions.invoke_stream(&self.mapping.binary, event, &request_id).await {
                Ok(answer) => match first_failure(&answer) {
                    None => Ok(None),
                    Some(failed) => {
                        records.iter().position(|r| sequence(r) == Some(failed.as_str())).map(Some).ok_or(failed)
                    }
                },
                // A failed invocation leaves the whole batch to be tried again.
                Err(error) => {
                    tracing::warn!(%error, "the stream function failed");
                    Ok(Some(from))
                }
            }
        })
        .await
    }

    /// A record as Lambda's `DynamoDBEvent` shows it.
    fn event_record(&self, record: &Record) -> Value {
        let change = record.dynamodb.as_ref();
        let item = |map: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
            map.map(|map| serde_json::to_value(serde_dynamo::Item::from(map.clone())).expect("items serialise"))
        };
        json!({
            "eventID": record.event_id,
            "eventName": record.event_name.as_ref().map(|name| name.as_str()),
            "eventVersion": record.event_version,
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": self.stream_arn,
            "dynamodb": {
                "ApproximateCreationDateTime": change.and_then(|c| c.approximate_creation_date_time).map(|t| t.secs()),
                "Keys": item(change.and_then(|c| c.keys.as_ref())),
                "NewImage": item(change.and_then(|c| c.new_image.as_ref())),
                "OldImage": item(change.and_then(|c| c.old_image.as_ref())),
                "SequenceNumber": change.and_then(|c| c.sequence_number.clone()),
                "SizeBytes": change.and_then(|c| c.size_bytes),
                "StreamViewType": change.and_then(|c| c.stream_view_type.as_ref()).map(|v| v.as_str()),
            },
        })
    }
}

/// Hands a batch of `count` records to the function through `invoke` until it has done them
/// all, or the mapping's retries are spent; a batch is always tried again from the first
/// record not done, in order. `invoke` is given where to start and the attempt's number, and
/// answers where the records not done start (or, as an error, the record it named that is
/// not in the batch); records given up are logged, as Lambda gives them to the mapping's
/// on-failure destination.
pub async fn hand_over<Invoked>(mapping: &StreamFunction, count: usize, mut invoke: impl FnMut(usize, u32) -> Invoked)
where
    Invoked: Future<Output = Result<Option<usize>, String>>,
{
    let mut from = 0;
    let mut attempts = 0;
    while from < count {
        let failed = match invoke(from, attempts).await {
            Ok(None) => return,
            Ok(Some(failed)) => failed,
            Err(failed) => {
                tracing::error!(failed, "the stream function named a record not in its batch");
                return;
            }
        };
        if attempts >= mapping.maximum_retry_attempts {
            tracing::error!(
                function = mapping.function,
                records = count - failed,
                "stream records given up after the mapping's retries"
            );
            return;
        }
        attempts += 1;
        from = failed;
    }
}

fn sequence(record: &Record) -> Option<&str> {
    record.dynamodb.as_ref().and_then(|d| d.sequence_number.as_deref())
}

/// The first record a `ReportBatchItemFailures` answer names, if any.
fn first_failure(answer: &Value) -> Option<String> {
    answer["batchItemFailures"].as_array()?.first()?["itemIdentifier"].as_str().map(str::to_owned)
}
