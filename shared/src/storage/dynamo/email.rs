//! What mails need beside the sessions: the link key, one item in the `TEAM` partition
//! (`TEAM` / `EMAIL_LINK_KEY`), and one item per unsubscribed recipient, in the
//! `UNSUBSCRIBED` partition, so that the recipients of one mail are one BatchGetItem.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::DynamoStore;
use super::items::*;
use crate::Timestamp;
use crate::domain::{MIN_LINK_KEY_BYTES, Recipient};
use crate::storage::{EmailStore, StorageError, StorageResult};

const LINK_KEY_SK: &str = "EMAIL_LINK_KEY";
const UNSUBSCRIBED_PK: &str = "UNSUBSCRIBED";

#[async_trait]
impl EmailStore for DynamoStore {
    async fn existing_email_link_key(&self) -> StorageResult<Option<Vec<u8>>> {
        let Some(mut item) = self.get(TEAM_PK.to_owned(), LINK_KEY_SK).await? else { return Ok(None) };
        match item.remove("key") {
            Some(AttributeValue::B(key)) if key.as_ref().len() >= MIN_LINK_KEY_BYTES => Ok(Some(key.into_inner())),
            _ => Err(StorageError::Malformed("email link key item".into())),
        }
    }

    async fn email_link_key(&self) -> StorageResult<Vec<u8>> {
        if let Some(key) = self.existing_email_link_key().await? {
            return Ok(key);
        }
        let mut key = vec![0; MIN_LINK_KEY_BYTES];
        getrandom::fill(&mut key).map_err(|error| StorageError::Unavailable(error.to_string()))?;
        let created = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(TEAM_PK))
            .item("SK", s(LINK_KEY_SK))
            .item("key", AttributeValue::B(Blob::new(key.clone())))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match created {
            Ok(_) => Ok(key),
            // Another caller made it first: theirs is the key.
            Err(error)
                if matches!(error.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) =>
            {
                (self.existing_email_link_key().await?)
                    .ok_or_else(|| StorageError::Malformed("email link key vanished".into()))
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn unsubscribed(&self, recipients: &[Recipient]) -> StorageResult<Vec<bool>> {
        let mut unique: Vec<String> = recipients.iter().map(Recipient::to_string).collect();
        unique.sort_unstable();
        unique.dedup();
        let mut found = HashSet::new();
        // BatchGetItem takes at most 100 keys.
        for chunk in unique.chunks(100) {
            let keys = chunk
                .iter()
                .map(|sk| HashMap::from([("PK".to_owned(), s(UNSUBSCRIBED_PK)), ("SK".to_owned(), s(sk.as_str()))]))
                .collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression("SK")
                .build()
                .map_err(|e| StorageError::Malformed(e.to_string()))?;
            let mut pending = Some(HashMap::from([(self.table.clone(), request)]));
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let output =
                    self.client.batch_get_item().set_request_items(Some(items)).send().await.map_err(unavailable)?;
                for item in output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    if let Some(AttributeValue::S(sk)) = item.get("SK") {
                        found.insert(sk.clone());
                    }
                }
                pending = output.unprocessed_keys;
            }
        }
        Ok(recipients.iter().map(|recipient| found.contains(&recipient.to_string())).collect())
    }

    async fn unsubscribe(&self, recipient: Recipient, at: Timestamp) -> StorageResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(UNSUBSCRIBED_PK))
            .key("SK", s(recipient.to_string()))
            .update_expression("SET unsubscribed_at = if_not_exists(unsubscribed_at, :at)")
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
