//! Webhook subscriptions, as a platform manages them: created with a secret shown once,
//! listed, deleted; each one's delivery log read; its dead deliveries replayed.

use serde::Serialize;

use super::delivery::requeue;
use crate::domain::{
    DeliveryRecord, DeliveryStatus, MAX_WEBHOOKS, Subscription, Webhook, WebhookSecret, check_event_types,
    check_webhook_url, is_webhook_id, new_webhook_id,
};
use crate::{App, ChatError, Timestamp};

/// The most log entries one page holds, and the default.
pub const MAX_DELIVERY_PAGE: usize = 100;
/// The most dead deliveries one replay queues again; the answer says if more are left.
const MAX_REPLAY: usize = 1000;

/// A new subscription, with the secret its deliveries are signed with: the only time the
/// secret is shown.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: WebhookSecret,
}

#[derive(Clone, Debug, Serialize)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

#[derive(Clone, Debug, Serialize)]
pub struct WebhookDeleted {
    pub webhook_id: String,
    pub deleted: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeliveryLog {
    pub webhook_id: String,
    pub deliveries: Vec<DeliveryRecord>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Replayed {
    pub webhook_id: String,
    pub replayed: usize,
    /// Whether dead deliveries are left: replay again.
    pub more: bool,
}

pub async fn create_webhook(
    app: &App,
    url: &str,
    event_types: Vec<String>,
    secret: Option<String>,
) -> Result<CreatedWebhook, ChatError> {
    let url = check_webhook_url(url).map_err(|error| ChatError::bad_request(error.to_string()))?;
    let event_types = check_event_types(event_types).map_err(|error| ChatError::bad_request(error.to_string()))?;
    let secret = match secret {
        Some(secret) => WebhookSecret::chosen(secret).map_err(|error| ChatError::bad_request(error.to_string()))?,
        None => WebhookSecret::generate(),
    };
    let webhook = Webhook { id: new_webhook_id(), url, event_types, created_at: Timestamp::now() };
    let subscription = Subscription { webhook: webhook.clone(), secret: secret.clone() };
    if !app.store.add_webhook(&subscription, MAX_WEBHOOKS).await? {
        return Err(ChatError::Conflict(format!("at most {MAX_WEBHOOKS} webhooks: delete one first")));
    }
    Ok(CreatedWebhook { webhook, secret })
}

pub async fn list_webhooks(app: &App) -> Result<WebhookList, ChatError> {
    let webhooks = app.store.webhooks().await?.into_iter().map(|s| s.webhook).collect();
    Ok(WebhookList { webhooks })
}

fn webhook_not_found() -> ChatError {
    ChatError::not_found("Webhook not found")
}

async fn existing(app: &App, id: &str) -> Result<Subscription, ChatError> {
    if !is_webhook_id(id) {
        return Err(webhook_not_found());
    }
    app.store.webhook(id).await?.ok_or_else(webhook_not_found)
}

pub async fn delete_webhook(app: &App, id: &str) -> Result<WebhookDeleted, ChatError> {
    if !is_webhook_id(id) || !app.store.delete_webhook(id).await? {
        return Err(webhook_not_found());
    }
    Ok(WebhookDeleted { webhook_id: id.to_owned(), deleted: true })
}

/// A page of the subscription's delivery log, newest event first.
pub async fn webhook_deliveries(
    app: &App,
    id: &str,
    cursor: Option<&str>,
    limit: Option<usize>,
) -> Result<DeliveryLog, ChatError> {
    let limit = limit.unwrap_or(MAX_DELIVERY_PAGE);
    if !(1..=MAX_DELIVERY_PAGE).contains(&limit) {
        return Err(ChatError::bad_request(format!("limit must be 1 to {MAX_DELIVERY_PAGE}")));
    }
    if cursor.is_some_and(|cursor| cursor.len() > 200 || !cursor.contains('#')) {
        return Err(ChatError::bad_request("cursor is not one this route gave"));
    }
    existing(app, id).await?;
    let page = app.store.deliveries(id, cursor, limit).await?;
    Ok(DeliveryLog { webhook_id: id.to_owned(), deliveries: page.deliveries, next_cursor: page.next })
}

/// Queues the subscription's dead deliveries again, oldest event first, each with a new
/// retry window; the log shows them as replayed.
pub async fn replay_dead_deliveries(app: &App, id: &str) -> Result<Replayed, ChatError> {
    existing(app, id).await?;
    let mut replayed = 0;
    while replayed < MAX_REPLAY {
        let dead = app.store.dead_deliveries(id, 10.min(MAX_REPLAY - replayed)).await?;
        if dead.is_empty() {
            return Ok(Replayed { webhook_id: id.to_owned(), replayed, more: false });
        }
        let queued = requeue(app, &dead).await?;
        for delivery in &dead[..queued] {
            app.store.forget_dead(delivery).await?;
            let now = Timestamp::now();
            let record = DeliveryRecord {
                next_attempt_at: Some(now),
                ..DeliveryRecord::of(delivery, DeliveryStatus::Replayed, 0, now)
            };
            app.store.record_delivery(&record, now).await?;
        }
        replayed += queued;
        if queued < dead.len() {
            return Err(ChatError::Unavailable);
        }
    }
    let more = !app.store.dead_deliveries(id, 1).await?.is_empty();
    Ok(Replayed { webhook_id: id.to_owned(), replayed, more })
}
