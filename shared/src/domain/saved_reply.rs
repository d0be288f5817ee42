//! Saved replies: standard answers admins insert by typing `/` and a shortcut. The team's
//! are everyone's; an admin's own are its alone. Their text may name the store and the
//! admin (`{store_name}`, `{admin_name}`), filled in where the reply is inserted.

use serde::{Deserialize, Serialize};

use super::ids::AdminId;
use super::input::{InvalidInput, MAX_CONTENT_CHARS};
use crate::Timestamp;

/// How many saved replies the team keeps, and each admin of its own.
pub const MAX_SAVED_REPLIES: u64 = 100;
pub const MAX_SHORTCUT_CHARS: usize = 32;
/// What a reply's text may name, filled in where it is inserted.
pub const PLACEHOLDERS: [&str; 2] = ["store_name", "admin_name"];

/// Whose a saved reply is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "scope", content = "admin_id")]
pub enum ReplyScope {
    Team,
    Personal(AdminId),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReply {
    pub shortcut: String,
    pub content: String,
    /// `team`, or `personal` with the admin it belongs to.
    #[serde(flatten)]
    pub scope: ReplyScope,
    pub updated: Timestamp,
    /// Who wrote it last.
    pub updated_by: AdminId,
}

/// A shortcut: 1 to 32 of `a-z0-9_-`.
pub fn validate_shortcut(shortcut: &str) -> Result<(), InvalidInput> {
    let valid = !shortcut.is_empty()
        && shortcut.len() <= MAX_SHORTCUT_CHARS
        && shortcut.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(InvalidInput(format!("shortcut must be 1 to {MAX_SHORTCUT_CHARS} of a-z, 0-9, _ and -")))
    }
}

/// A reply's text: 1 to [`MAX_CONTENT_CHARS`] characters, naming no placeholder but
/// [`PLACEHOLDERS`].
pub fn validate_reply_content(content: &str) -> Result<(), InvalidInput> {
    if content.trim().is_empty() || content.chars().count() > MAX_CONTENT_CHARS {
        return Err(InvalidInput(format!("content must be 1 to {MAX_CONTENT_CHARS} characters")));
    }
    if let Some(unknown) = placeholders_in(content).find(|name| !PLACEHOLDERS.contains(name)) {
        return Err(InvalidInput(format!(
            "content names {{{unknown}}}; a reply may name {{store_name}} and {{admin_name}}"
        )));
    }
    Ok(())
}

/// The names in `{name}` placeholders of `text` (a name being `a-z` and `_`).
fn placeholders_in(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| {
        let (name, _) = rest.split_once('}')?;
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_and_texts_are_checked() {
        assert!(validate_shortcut("refund-policy_2").is_ok());
        assert!(validate_shortcut("Refund").is_err() && validate_shortcut("").is_err());
        assert!(validate_shortcut(&"a".repeat(MAX_SHORTCUT_CHARS + 1)).is_err());
        assert!(validate_reply_content("Hi {store_name}, {admin_name} here. {} and {Not a name}").is_ok());
        let unknown = validate_reply_content("Hi {customer}").unwrap_err();
        assert!(unknown.0.contains("{customer}"), "{unknown}");
        assert!(validate_reply_content("  ").is_err());
    }

    #[test]
    fn a_reply_says_whose_it_is() {
        let reply = SavedReply {
            shortcut: "hi".into(),
            content: "Hello".into(),
            scope: ReplyScope::Personal(AdminId(3)),
            updated: Timestamp::parse("2026-12-03T10:00:00Z").unwrap(),
            updated_by: AdminId(3),
        };
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!((json["scope"].as_str(), json["admin_id"].as_u64()), (Some("personal"), Some(3)));
        let team = SavedReply { scope: ReplyScope::Team, ..reply };
        let json = serde_json::to_value(&team).unwrap();
        assert_eq!((json["scope"].as_str(), json.get("admin_id")), (Some("team"), None));
    }
}
