//! A queue, read as Lambda's event source mapping reads SQS (the webhook delivery FIFO
//! queue, the email job queue): messages received with their attributes, each ordering group's handed to the
//! function in order, the groups side by side (up to the mapping's maximum concurrency), a
//! message deleted once done. A message the function leaves on the queue stays out of sight
//! until its next attempt (the function set that), and holds back the rest of its group:
//! those received with it are given back, and the queue hands none of the group out while
//! it waits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use sam_template::QueueFunction;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::invoke::Functions;

/// How long the reader waits after a receive that found nothing, unless a group is done
/// before (its next messages can be received then). It polls rather than long-polls: moto
/// decides which ordering groups are busy when a long poll starts, so a group done during
/// one would wait for the poll's end.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How long a received message stays out of sight unless the function says otherwise: the
/// template's `VisibilityTimeout`.
const VISIBILITY_SECONDS: i32 = 60;

fn sqs_error<E: std::error::Error + 'static, R: std::fmt::Debug>(error: aws_sdk_sqs::error::SdkError<E, R>) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(error).to_string()
}

/// An SQS client for the stand-in at `endpoint` (moto).
pub fn client(endpoint: &str) -> Client {
    Client::new(&shared::deliveries::local_queue_config(endpoint))
}

/// Creates the queue `name`, FIFO or standard (unless it is there): its URL.
pub async fn create_queue(client: &Client, name: &str, fifo: bool) -> Result<String, String> {
    let mut create = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, VISIBILITY_SECONDS.to_string());
    if fifo {
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let created = create.send().await.map_err(sqs_error)?;
    created.queue_url.ok_or_else(|| format!("no URL for queue {name}"))
}

/// Reads the queue at `url` for `mapping` for as long as the gateway runs, with up to
/// `concurrency` invocations at once.
pub fn start(client: Client, url: String, mapping: QueueFunction, concurrency: usize, functions: Arc<Functions>) {
    let running = Arc::new(Semaphore::new(concurrency));
    let reader = Arc::new(Reader { client, url, mapping, functions, running, group_done: Notify::new() });
    tokio::spawn(async move {
        let mut batches = 0u64;
        loop {
            // Receive only when something can start: a received message waits out of sight.
            drop(reader.running.acquire().await.expect("never closed"));
            match reader.receive().await {
                Ok(messages) if messages.is_empty() => {
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        _ = reader.group_done.notified() => {}
                    }
                }
                Ok(messages) => {
                    for group in in_groups(messages) {
                        let permit = reader.running.clone().acquire_owned().await.expect("never closed");
                        batches += 1;
                        let reader = reader.clone();
                        tokio::spawn(async move {
                            reader.deliver(group, batches).await;
                            drop(permit);
                            reader.group_done.notify_one();
                        });
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "reading a queue failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}

/// Messages by ordering group, each group's in the order received; on a standard queue,
/// where there are none, each message on its own.
fn in_groups(messages: Vec<Message>) -> Vec<Vec<Message>> {
    let mut groups: Vec<Vec<Message>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for message in messages {
        let group = message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            .cloned()
            .or_else(|| message.message_id.clone())
            .unwrap_or_default();
        let at = *index.entry(group).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(message);
    }
    groups
}

struct Reader {
    client: Client,
    url: String,
    mapping: QueueFunction,
    functions: Arc<Functions>,
    running: Arc<Semaphore>,
    /// Told when a group's received messages are done.
    group_done: Notify,
}

impl Reader {
    async fn receive(&self) -> Result<Vec<Message>, String> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(received.messages.unwrap_or_default())
    }

    /// Hands a group's messages to the function, a batch at a time, in order; deletes what
    /// it did, and gives back what follows a message it left.
    async fn deliver(&self, group: Vec<Message>, batch_number: u64) {
        for (index, batch) in group.chunks(self.mapping.batch_size.max(1)).enumerate() {
            let event = json!({"Records": batch.iter().map(|m| self.event_record(m)).collect::<Vec<_>>()});
            let request_id = format!("queue-{}-{batch_number}-{index}", self.mapping.function);
            let left: Vec<String> = match self.functions.invoke_queue(&self.mapping.binary, event, &request_id).await {
                Ok(answer) => failures(&answer),
                Err(error) => {
                    tracing::warn!(%error, "the queue function failed");
                    batch.iter().filter_map(|m| m.message_id.clone()).collect()
                }
            };
            for message in batch.iter().filter(|m| !left.iter().any(|id| Some(id) == m.message_id.as_ref())) {
                if let Some(receipt) = &message.receipt_handle
                    && let Err(error) =
                        self.client.delete_message().queue_url(&self.url).receipt_handle(receipt).send().await
                {
                    tracing::warn!(error = sqs_error(error), "could not delete a delivered message");
                }
            }
            if !left.is_empty() {
                let done = (index + 1) * self.mapping.batch_size.max(1);
                self.give_back(&group[done.min(group.len())..]).await;
                return;
            }
        }
    }

    /// Makes received messages visible again: their group is held by the one left before them.
    async fn give_back(&self, messages: &[Message]) {
        for receipt in messages.iter().filter_map(|m| m.receipt_handle.as_ref()) {
            let given_back = self
                .client
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
            if let Err(error) = given_back {
                tracing::warn!(error = sqs_error(error), "could not give a message back");
            }
        }
    }

    /// A message as Lambda's `SQSEvent` shows it.
    fn event_record(&self, message: &Message) -> Value {
        let attributes: HashMap<&str, &str> =
            message.attributes.iter().flatten().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        json!({
            "messageId": message.message_id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": message.md5_of_body,
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{}", self.url.rsplit('/').next().unwrap_or_default()),
            "awsRegion": "us-east-1",
        })
    }
}

/// The message ids a `ReportBatchItemFailures` answer names.
fn failures(answer: &Value) -> Vec<String> {
    let failures = answer["batchItemFailures"].as_array().map(Vec::as_slice).unwrap_or_default();
    failures.iter().filter_map(|failure| failure["itemIdentifier"].as_str().map(str::to_owned)).collect()
}
