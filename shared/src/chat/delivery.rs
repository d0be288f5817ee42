//! Webhook deliveries: the events of a batch of changes queued for each subscription that
//! asked for them, and each queued delivery posted, signed, logged, and tried again later
//! or kept as dead when its receiver did not take it.

use std::collections::HashMap;

use futures::future::join_all;

use crate::deliveries::{PostOutcome, SEND_BATCH};
use crate::domain::{
    DeliveryRecord, DeliveryStatus, OutboundEvent, QueuedDelivery, Retry, jitter, retry_after, sign_delivery,
};
use crate::storage::StorageError;
use crate::{App, Timestamp};

/// Queues the deliveries of `events` (in the order of the change stream) for every
/// subscription that wants them. Answers the index of the first event whose deliveries are
/// not all queued: what follows it is not queued before it is.
pub async fn queue_deliveries(app: &App, events: &[OutboundEvent]) -> Option<usize> {
    let queue = app.webhook_queue.as_ref().filter(|_| !events.is_empty())?;
    let subscriptions = match app.store.webhooks().await {
        Ok(subscriptions) => subscriptions,
        Err(error) => {
            tracing::warn!(%error, "could not read the webhook subscriptions");
            return (!events.is_empty()).then_some(0);
        }
    };
    let deliveries: Vec<(usize, QueuedDelivery)> = events
        .iter()
        .enumerate()
        .flat_map(|(index, event)| {
            subscriptions
                .iter()
                .filter(|subscription| subscription.webhook.wants(event.kind))
                .map(move |subscription| (index, QueuedDelivery::new(&subscription.webhook.id, event)))
        })
        .collect();
    queue_in_order(queue, &deliveries).await
}

/// Queues `deliveries`, batch after batch: the tag of the first one not queued, if any.
async fn queue_in_order<T: Copy>(
    queue: &crate::deliveries::DeliveryQueue,
    deliveries: &[(T, QueuedDelivery)],
) -> Option<T> {
    for chunk in deliveries.chunks(SEND_BATCH) {
        let batch: Vec<QueuedDelivery> = chunk.iter().map(|(_, delivery)| delivery.clone()).collect();
        let queued = queue.enqueue(&batch).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not queue webhook deliveries");
            0
        });
        if let Some((tag, _)) = chunk.get(queued) {
            return Some(*tag);
        }
    }
    None
}

/// Queues dead deliveries again, each as a new replay: how many, from the first, are queued.
pub(super) async fn requeue(app: &App, dead: &[QueuedDelivery]) -> Result<usize, crate::ChatError> {
    let queue = app.webhook_queue.as_ref().ok_or(crate::ChatError::Unavailable)?;
    let replays: Vec<(usize, QueuedDelivery)> = dead
        .iter()
        .enumerate()
        .map(|(index, delivery)| (index, QueuedDelivery { replays: delivery.replays + 1, ..delivery.clone() }))
        .collect();
    Ok(queue_in_order(queue, &replays).await.unwrap_or(dead.len()))
}

/// A delivery as the queue handed it over.
#[derive(Clone, Debug)]
pub struct ReceivedDelivery {
    /// The queue's id of the message: what a failure is reported by.
    pub message_id: String,
    pub receipt_handle: String,
    pub delivery: QueuedDelivery,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// When it was queued: its retry window starts there.
    pub queued_at: Timestamp,
}

/// What became of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempted {
    /// Taken, dead, or for a subscription that is gone: off the queue.
    Done,
    /// To be tried again: it stays on the queue, out of sight until then, and holds back the
    /// deliveries after it in its ordering group.
    Later,
}

/// Delivers a batch the queue handed over: each ordering group's in order, the groups side
/// by side, so a slow receiver holds back only its own. Answers the message ids to leave
/// on the queue: each one tried later, and those after it in its group.
pub async fn deliver_batch(app: &App, batch: Vec<ReceivedDelivery>) -> Vec<String> {
    let mut groups: Vec<Vec<ReceivedDelivery>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for received in batch {
        let index = *group_of.entry(received.delivery.ordering_group()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[index].push(received);
    }
    let left = join_all(groups.into_iter().map(|group| async move {
        for (position, received) in group.iter().enumerate() {
            if deliver(app, received).await == Attempted::Later {
                return group[position..].iter().map(|r| r.message_id.clone()).collect();
            }
        }
        Vec::new()
    }));
    left.await.into_iter().flatten().collect()
}

/// One attempt of one delivery.
pub async fn deliver(app: &App, received: &ReceivedDelivery) -> Attempted {
    let delivery = &received.delivery;
    let subscription = match app.store.webhook(&delivery.webhook_id).await {
        Ok(Some(subscription)) => subscription,
        Ok(None) => return Attempted::Done,
        Err(error) => return storage_failed(app, received, error).await,
    };
    let attempt = match attempt_of(app, received).await {
        Ok(Some(attempt)) => attempt,
        Ok(None) => return Attempted::Done,
        Err(error) => return storage_failed(app, received, error).await,
    };
    let now = Timestamp::now();
    let signature = sign_delivery(&subscription.secret, now.unix_seconds(), &delivery.payload);
    let outcome = app.webhook_poster.post(&subscription.webhook.url, delivery, &signature, attempt).await;
    let (status_code, error) = match outcome {
        PostOutcome::Answered(status) if (200..300).contains(&status) => {
            let delivered = record(received, attempt, DeliveryStatus::Delivered, Some(status), None, None);
            return logged(app, delivered, Attempted::Done).await;
        }
        PostOutcome::Answered(status) => (Some(status), format!("answered {status}")),
        PostOutcome::NoAnswer(error) => (None, error),
    };
    crate::telemetry::record(crate::telemetry::Figure::WebhookFailures, 1.0);
    let now = Timestamp::now();
    match retry_after(attempt, received.queued_at, now, window_of(app), jitter()) {
        Retry::After(wait) => {
            retry_later(app, received, wait).await;
            let next = now.plus_millis(wait.as_millis() as i64);
            let retrying = record(received, attempt, DeliveryStatus::Retrying, status_code, Some(error), Some(next));
            logged(app, retrying, Attempted::Later).await
        }
        Retry::GiveUp => {
            if let Err(error) = app.store.keep_dead(delivery, now).await {
                return storage_failed(app, received, error).await;
            }
            let dead = record(received, attempt, DeliveryStatus::Dead, status_code, Some(error), None);
            logged(app, dead, Attempted::Done).await
        }
    }
}

/// Which attempt this one is. The queue's receive count cannot say past the first: it also
/// counts receives that made no attempt (a FIFO group's messages handed back behind one that
/// failed), and those would stretch the backoff of a receiver that answers again. So then the
/// log says: one past the attempts it counts. None when the log has it delivered already (a
/// message whose deletion failed came back): it is not posted twice.
async fn attempt_of(app: &App, received: &ReceivedDelivery) -> Result<Option<u32>, StorageError> {
    if received.attempt <= 1 {
        return Ok(Some(1));
    }
    let delivery = &received.delivery;
    let logged = app.store.delivery(&delivery.webhook_id, &delivery.sequence, &delivery.event_id).await?;
    Ok(match logged {
        Some(entry) if entry.status == DeliveryStatus::Delivered => None,
        Some(entry) if entry.status == DeliveryStatus::Retrying => Some(entry.attempts + 1),
        _ => Some(1),
    })
}

fn window_of(app: &App) -> i64 {
    app.config.webhook_retry_window.as_secs() as i64
}

/// Keeps the delivery out of sight for `wait`, its group with it.
async fn retry_later(app: &App, received: &ReceivedDelivery, wait: std::time::Duration) {
    if let Some(queue) = &app.webhook_queue
        && let Err(error) = queue.retry_later(&received.receipt_handle, wait).await
    {
        // The queue's own visibility timeout brings it back.
        tracing::warn!(%error, "could not set the next attempt");
    }
}

fn record(
    received: &ReceivedDelivery,
    attempt: u32,
    status: DeliveryStatus,
    last_status_code: Option<u16>,
    last_error: Option<String>,
    next_attempt_at: Option<Timestamp>,
) -> DeliveryRecord {
    DeliveryRecord {
        last_status_code,
        last_error,
        next_attempt_at,
        ..DeliveryRecord::of(&received.delivery, status, attempt, Timestamp::now())
    }
}

/// Writes the log entry, then answers `outcome`: what was done stands if only its log
/// entry could not be written (the entry is overwritten at the next attempt, if any).
async fn logged(app: &App, record: DeliveryRecord, outcome: Attempted) -> Attempted {
    if let Err(error) = app.store.record_delivery(&record, Timestamp::now()).await {
        tracing::warn!(%error, event_id = record.event_id, "a webhook delivery's log entry is not written");
    }
    outcome
}

/// Storage failed around an attempt: it is made again after the backoff of a failed one.
async fn storage_failed(app: &App, received: &ReceivedDelivery, error: StorageError) -> Attempted {
    tracing::warn!(%error, "a webhook delivery is left on the queue");
    if let Retry::After(wait) = retry_after(received.attempt, received.queued_at, Timestamp::now(), window_of(app), 1.0)
    {
        retry_later(app, received, wait).await;
    }
    Attempted::Later
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::tests::{Recorder, app_over};
    use super::*;
    use crate::domain::{SessionId, Subscription, Webhook, WebhookSecret};
    use crate::storage::{MemoryStore, WebhookStore};

    /// A receiver that answers every request with `status`: its URL, and how many it got.
    async fn answering(status: u16) -> (String, Arc<AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(AtomicU32::new(0));
        let counted = got.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                // The request is read to the end of its body before it is answered.
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while let Ok(read @ 1..) = socket.read(&mut buffer).await {
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request);
                    let Some(head_end) = text.find("\r\n\r\n") else { continue };
                    let length = text[..head_end]
                        .lines()
                        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned))
                        .and_then(|value| value.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = format!("HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, got)
    }

    /// A subscription to `url` in a fresh store, and a delivery for it as the queue hands it
    /// over for the `received`th time.
    async fn delivery_to(url: &str, received: u32) -> (App, ReceivedDelivery) {
        let store = Arc::new(MemoryStore::new());
        let app = app_over(&store, &Arc::new(Recorder::default()));
        let id = crate::domain::new_webhook_id();
        let webhook = Webhook { id, url: url.into(), event_types: vec!["*".into()], created_at: Timestamp::now() };
        let subscription = Subscription { webhook: webhook.clone(), secret: WebhookSecret::generate() };
        assert!(store.add_webhook(&subscription, 25).await.unwrap());
        let delivery = QueuedDelivery {
            webhook_id: webhook.id,
            event_id: "message-7".into(),
            event_type: "message.created".into(),
            session_id: SessionId(1),
            sequence: "100".into(),
            payload: "{}".into(),
            replays: 0,
        };
        let received = ReceivedDelivery {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            delivery,
            attempt: received,
            queued_at: Timestamp::now(),
        };
        (app, received)
    }

    async fn log_entry(app: &App, received: &ReceivedDelivery) -> DeliveryRecord {
        let delivery = &received.delivery;
        app.store.delivery(&delivery.webhook_id, &delivery.sequence, &delivery.event_id).await.unwrap().unwrap()
    }

    /// A FIFO queue's receive count also counts the receives of a message handed back
    /// behind one that failed; the attempt, and so the backoff, is the log's.
    #[tokio::test]
    async fn a_retry_backs_off_by_the_attempts_made_not_the_receives() {
        let (url, got) = answering(500).await;
        let (app, received) = delivery_to(&url, 1).await;
        assert_eq!(deliver(&app, &received).await, Attempted::Later);
        assert_eq!(log_entry(&app, &received).await.attempts, 1);

        // Received five more times, and attempted only now.
        let again = ReceivedDelivery { attempt: 6, ..received.clone() };
        assert_eq!(deliver(&app, &again).await, Attempted::Later);
        let entry = log_entry(&app, &again).await;
        assert_eq!((entry.status, entry.attempts, got.load(Ordering::SeqCst)), (DeliveryStatus::Retrying, 2, 2));
        // The second attempt's wait is at most two seconds; the sixth's would be sixteen or more.
        let wait = entry.next_attempt_at.unwrap().seconds_since(entry.updated_at);
        assert!(wait <= 2, "waits {wait} s");
    }

    /// A message that comes back after it was delivered (its deletion failed) is not posted
    /// again.
    #[tokio::test]
    async fn a_delivered_message_that_comes_back_is_not_posted_again() {
        let (url, got) = answering(204).await;
        let (app, received) = delivery_to(&url, 1).await;
        assert_eq!(deliver(&app, &received).await, Attempted::Done);
        let first = log_entry(&app, &received).await;
        assert_eq!((first.status, first.attempts, got.load(Ordering::SeqCst)), (DeliveryStatus::Delivered, 1, 1));
        let again = ReceivedDelivery { attempt: 2, ..received.clone() };
        assert_eq!((deliver(&app, &again).await, got.load(Ordering::SeqCst)), (Attempted::Done, 1));
        assert_eq!(log_entry(&app, &received).await, first);
    }
}
