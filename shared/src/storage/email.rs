//! What mails need kept beside the sessions.

use async_trait::async_trait;

use super::StorageResult;
use crate::Timestamp;
use crate::domain::Recipient;

/// What the mails need kept beside the sessions: the key their unsubscribe links are signed
/// with, and who unsubscribed.
#[async_trait]
pub trait EmailStore: Send + Sync + 'static {
    /// The deployment's link key: made (random, [`crate::domain::MIN_LINK_KEY_BYTES`]) the
    /// first time it is asked for, the same for every caller after that, racing or not.
    async fn email_link_key(&self) -> StorageResult<Vec<u8>>;
    /// The link key if one was made: none, and no link was ever signed.
    async fn existing_email_link_key(&self) -> StorageResult<Option<Vec<u8>>>;
    /// Which of `recipients` unsubscribed, in their order.
    async fn unsubscribed(&self, recipients: &[Recipient]) -> StorageResult<Vec<bool>>;
    /// Stops every mail to `recipient`; unsubscribing again changes nothing.
    async fn unsubscribe(&self, recipient: Recipient, at: Timestamp) -> StorageResult<()>;
}
