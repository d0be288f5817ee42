//! Private notes: what admins write beside a session for each other. A note is the team's
//! alone: it is kept apart from the session's messages, so that nothing a store reads
//! (messages, counts, the last message, mails) can hold one.

use serde::{Deserialize, Serialize};

use super::ids::{AdminId, SessionId};
use super::input::{InvalidInput, MAX_CONTENT_CHARS};
use crate::Timestamp;

/// Notes are numbered apart from messages, unique everywhere; they are in the order they
/// were written in, which their ids need not follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoteId(pub u64);

impl std::fmt::Display for NoteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: NoteId,
    pub session_id: SessionId,
    pub admin_id: AdminId,
    pub content: String,
    pub created: Timestamp,
}

/// A note's text as an admin writes it: 1 to [`MAX_CONTENT_CHARS`] characters, not blank.
pub fn validate_note(content: String) -> Result<String, InvalidInput> {
    if content.trim().is_empty() {
        return Err(InvalidInput("content must not be empty".into()));
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(InvalidInput(format!("content must be at most {MAX_CONTENT_CHARS} characters")));
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_some_text_within_the_limit() {
        assert!(validate_note(" \n".into()).is_err());
        assert!(validate_note("x".repeat(MAX_CONTENT_CHARS + 1)).is_err());
        assert_eq!(validate_note("Asked for the invoice".into()).unwrap(), "Asked for the invoice");
    }
}
