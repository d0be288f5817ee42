//! The event bus as a consumer sees it: a bus in the test binary's moto with a rule that
//! sends every event of this product to an SQS queue, read back with long polls.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a test waits for events it expects before it fails.
const EVENTS_DEADLINE: Duration = Duration::from_secs(60);

pub struct BusQueue {
    pub bus: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl BusQueue {
    /// A new bus, and a queue that a rule fills with every event the product puts on it.
    pub async fn new() -> Self {
        let sdk = crate::stack::moto_sdk();
        let (events, sqs) = (aws_sdk_eventbridge::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk));
        let bus = crate::stack::unique_name("bus");
        events.create_event_bus().name(&bus).send().await.expect("a bus");
        let queue_url = sqs.create_queue().queue_name(&bus).send().await.expect("a queue").queue_url.unwrap();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("its attributes");
        let queue_arn = attributes.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        let pattern = json!({"source": [shared::bus::EVENT_SOURCE]}).to_string();
        events.put_rule().name("all").event_bus_name(&bus).event_pattern(pattern).send().await.expect("a rule");
        let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(queue_arn).build().unwrap();
        events.put_targets().rule("all").event_bus_name(&bus).targets(target).send().await.expect("a target");
        BusQueue { bus, sqs, queue_url }
    }

    /// The gateway's options that put events on this bus.
    pub fn gateway_args(&self) -> Vec<String> {
        let endpoint = crate::stack::moto().endpoint();
        vec!["--event-bus-endpoint".into(), endpoint, "--event-bus".into(), self.bus.clone()]
    }

    /// The `detail` of the events received, until `enough` says there are enough (or the
    /// deadline passes, when it fails), each as it came.
    pub async fn received_until(&self, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + EVENTS_DEADLINE;
        let mut received = Vec::new();
        while !enough(&received) {
            assert!(Instant::now() < deadline, "events did not come in time; received: {received:#?}");
            let page = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("the queue answers");
            for message in page.messages.unwrap_or_default() {
                let body: Value = serde_json::from_str(message.body().unwrap_or_default()).expect("JSON");
                received.push(body["detail"].clone());
                let handle = message.receipt_handle.unwrap_or_default();
                self.sqs.delete_message().queue_url(&self.queue_url).receipt_handle(handle).send().await.unwrap();
            }
        }
        received
    }
}
