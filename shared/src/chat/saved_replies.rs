//! Saved replies: the team's, which every admin may write, and each admin's own.

use serde::{Deserialize, Serialize};

use crate::domain::{AdminId, MAX_SAVED_REPLIES, ReplyScope, SavedReply, validate_reply_content, validate_shortcut};
use crate::storage::SaveOutcome;
use crate::{App, ChatError, Timestamp};

/// Whose reply a request means, as clients name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeName {
    #[default]
    Personal,
    Team,
}

impl ScopeName {
    fn of(self, admin: AdminId) -> ReplyScope {
        match self {
            ScopeName::Personal => ReplyScope::Personal(admin),
            ScopeName::Team => ReplyScope::Team,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SavedReplies {
    /// The team's and the caller's own, by shortcut.
    pub replies: Vec<SavedReply>,
}

pub async fn saved_replies(app: &App, admin: AdminId) -> Result<SavedReplies, ChatError> {
    Ok(SavedReplies { replies: app.store.saved_replies(admin).await? })
}

/// Creates or replaces `admin`'s reply (or the team's) with `shortcut`; whether it was new.
pub async fn save_reply(
    app: &App,
    admin: AdminId,
    scope: ScopeName,
    shortcut: String,
    content: String,
) -> Result<(SavedReply, bool), ChatError> {
    validate_shortcut(&shortcut)?;
    validate_reply_content(&content)?;
    let reply = SavedReply { shortcut, content, scope: scope.of(admin), updated: Timestamp::now(), updated_by: admin };
    match app.store.save_reply(reply.clone()).await? {
        SaveOutcome::Created => Ok((reply, true)),
        SaveOutcome::Replaced => Ok((reply, false)),
        SaveOutcome::Full => {
            Err(ChatError::Conflict(format!("At most {MAX_SAVED_REPLIES} saved replies; delete one first")))
        }
    }
}

pub async fn delete_reply(app: &App, admin: AdminId, scope: ScopeName, shortcut: &str) -> Result<(), ChatError> {
    validate_shortcut(shortcut)?;
    if app.store.delete_reply(scope.of(admin), shortcut).await? {
        Ok(())
    } else {
        Err(ChatError::not_found("Saved reply not found"))
    }
}
