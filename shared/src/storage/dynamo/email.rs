//! What mails need beside the sessions: the link key, one item in the `TEAM` partition
//! (`TEAM` / `EMAIL_LINK_KEY`), and one item per unsubscribed recipient, in the
//! `UNSUBSCRIBED` partition, so that the recipients of one mail are one BatchGetItem.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::items::*;
use crate::Timestamp;
use crate::domain::{MIN_LINK_KEY_BYTES, Recipient};
use crate::storage::{EmailStore, StorageError, StorageResult};

const LINK_KEY_SK: &str = "EMAIL_LINK_KEY";
pub(super) const UNSUBSCRIBED_PK: &str = "UNSUBSCRIBED";

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
        let mut keys: Vec<(String, String)> =
            recipients.iter().map(|recipient| (UNSUBSCRIBED_PK.to_owned(), recipient.to_string())).collect();
        keys.sort_unstable();
        keys.dedup();
        let found: HashSet<String> = (self.batch_get(&keys, true).await?)
            .into_iter()
            .filter_map(|mut item| match item.remove("SK") {
                Some(AttributeValue::S(sk)) => Some(sk),
                _ => None,
            })
            .collect();
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
