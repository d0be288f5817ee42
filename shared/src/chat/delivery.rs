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
    let now = Timestamp::now();
    let signature = sign_delivery(&subscription.secret, now.unix_seconds(), &delivery.payload);
    let outcome = app.webhook_poster.post(&subscription.webhook.url, delivery, &signature, received.attempt).await;
    let (status_code, error) = match outcome {
        PostOutcome::Answered(status) if (200..300).contains(&status) => {
            return logged(app, record(received, DeliveryStatus::Delivered, Some(status), None, None), Attempted::Done)
                .await;
        }
        PostOutcome::Answered(status) => (Some(status), format!("answered {status}")),
        PostOutcome::NoAnswer(error) => (None, error),
    };
    let now = Timestamp::now();
    match retry_after(received.attempt, received.queued_at, now, window_of(app), jitter()) {
        Retry::After(wait) => {
            retry_later(app, received, wait).await;
            let next = now.plus_millis(wait.as_millis() as i64);
            let retrying = record(received, DeliveryStatus::Retrying, status_code, Some(error), Some(next));
            logged(app, retrying, Attempted::Later).await
        }
        Retry::GiveUp => {
            if let Err(error) = app.store.keep_dead(delivery, now).await {
                return storage_failed(app, received, error).await;
            }
            let dead = record(received, DeliveryStatus::Dead, status_code, Some(error), None);
            logged(app, dead, Attempted::Done).await
        }
    }
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
    status: DeliveryStatus,
    last_status_code: Option<u16>,
    last_error: Option<String>,
    next_attempt_at: Option<Timestamp>,
) -> DeliveryRecord {
    DeliveryRecord {
        last_status_code,
        last_error,
        next_attempt_at,
        ..DeliveryRecord::of(&received.delivery, status, received.attempt, Timestamp::now())
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
