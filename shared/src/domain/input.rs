//! Limits on what clients send (API.md, "Common rules"). Every violation names the field.

use super::ids::is_upload_id;
use super::message::{NewMessage, SenderType};

pub const MAX_CONTENT_CHARS: usize = 4000;
pub const MAX_ATTACHMENT_URL_CHARS: usize = 2048;
pub const MAX_ATTACHMENT_TYPE_CHARS: usize = 100;
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 64;
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 32;
pub const MAX_FEEDBACK_CHARS: usize = 2000;

/// A rule an input broke, worded for the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

fn invalid(message: impl Into<String>) -> InvalidInput {
    InvalidInput(message.into())
}

/// A message as a client sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct MessageInput {
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub attachment_url: Option<String>,
    #[serde(default)]
    pub attachment_type: Option<String>,
    #[serde(default)]
    pub client_message_id: Option<String>,
    /// A file the sender uploaded into the session (the `upload_id` its upload answered).
    #[serde(default)]
    pub upload_id: Option<String>,
}

impl MessageInput {
    /// Checks every limit and returns the message `sender` would store.
    pub fn validate(self, sender_type: SenderType, sender_id: u64) -> Result<NewMessage, InvalidInput> {
        let attachment_url = self.attachment_url.unwrap_or_default();
        let attachment_type = self.attachment_type.unwrap_or_default();
        let content_chars = self.content.chars().count();
        if content_chars == 0 && attachment_url.is_empty() && self.upload_id.is_none() {
            return Err(invalid("content must not be empty unless attachment_url or upload_id is given"));
        }
        if let Some(upload_id) = &self.upload_id {
            if !attachment_url.is_empty() {
                return Err(invalid("attachment_url must be empty when upload_id is given"));
            }
            if !is_upload_id(upload_id) {
                return Err(invalid("upload_id must be the upload_id an upload answered"));
            }
        }
        if content_chars > MAX_CONTENT_CHARS {
            return Err(invalid(format!("content must be at most {MAX_CONTENT_CHARS} characters")));
        }
        if !attachment_url.is_empty() {
            let valid = attachment_url.len() <= MAX_ATTACHMENT_URL_CHARS
                && attachment_url.strip_prefix("https://").is_some_and(|rest| {
                    !rest.is_empty()
                        && !rest.starts_with('/')
                        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
                });
            if !valid {
                return Err(invalid(format!(
                    "attachment_url must be an https:// URL of at most {MAX_ATTACHMENT_URL_CHARS} characters"
                )));
            }
        }
        if !attachment_type.is_empty() && !is_mime_type(&attachment_type) {
            return Err(invalid(format!(
                "attachment_type must be a MIME type (type/subtype) of at most {MAX_ATTACHMENT_TYPE_CHARS} characters"
            )));
        }
        if let Some(id) = &self.client_message_id
            && (id.is_empty() || id.chars().count() > MAX_CLIENT_MESSAGE_ID_CHARS || id.chars().any(char::is_control))
        {
            return Err(invalid(format!(
                "client_message_id must be 1 to {MAX_CLIENT_MESSAGE_ID_CHARS} printable characters"
            )));
        }
        Ok(NewMessage {
            sender_type,
            sender_id,
            content: self.content,
            attachment_url,
            attachment_type,
            upload_id: self.upload_id,
            attachment_key: None,
            client_message_id: self.client_message_id,
            automatic: false,
        })
    }
}

fn is_mime_type(text: &str) -> bool {
    let token =
        |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c));
    let essence = text.split(';').next().unwrap_or_default().trim();
    text.len() <= MAX_ATTACHMENT_TYPE_CHARS
        && essence.split_once('/').is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

/// Tags as an admin sets them: at most ten, each 1 to 32 of `a-z0-9_-`; duplicates dropped,
/// order kept.
pub fn validate_tags(tags: Vec<String>) -> Result<Vec<String>, InvalidInput> {
    let mut kept: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let valid = !tag.is_empty()
            && tag.len() <= MAX_TAG_CHARS
            && tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(invalid(format!("tags: each tag must be 1 to {MAX_TAG_CHARS} of a-z, 0-9, _ and -")));
        }
        if !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    if kept.len() > MAX_TAGS {
        return Err(invalid(format!("tags: at most {MAX_TAGS} tags")));
    }
    Ok(kept)
}

/// A store's rating: 1 to 5, with optional feedback.
pub fn validate_rating(rating: i64, feedback: Option<String>) -> Result<(u8, Option<String>), InvalidInput> {
    let rating = u8::try_from(rating).ok().filter(|r| (1..=5).contains(r));
    let rating = rating.ok_or_else(|| invalid("rating must be an integer from 1 to 5"))?;
    let feedback = feedback.filter(|f| !f.is_empty());
    if feedback.as_ref().is_some_and(|f| f.chars().count() > MAX_FEEDBACK_CHARS) {
        return Err(invalid(format!("feedback must be at most {MAX_FEEDBACK_CHARS} characters")));
    }
    Ok((rating, feedback))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content: &str, url: &str, kind: &str) -> MessageInput {
        MessageInput {
            content: content.into(),
            attachment_url: Some(url.into()),
            attachment_type: Some(kind.into()),
            client_message_id: None,
            upload_id: None,
        }
    }

    fn error_of(input: MessageInput) -> String {
        input.validate(SenderType::Store, 5).unwrap_err().0
    }

    #[test]
    fn an_upload_stands_in_for_content_and_excludes_an_external_url() {
        let upload = |url: &str, id: &str| MessageInput { upload_id: Some(id.into()), ..message("", url, "") };
        let id = "0123456789abcdef0123456789abcdef";
        let sent = upload("", id).validate(SenderType::Store, 5).unwrap();
        assert_eq!(sent.upload_id.as_deref(), Some(id));
        assert_eq!(
            error_of(upload("https://cdn.example.com/a.png", id)),
            "attachment_url must be empty when upload_id is given"
        );
        for id in ["", "0123", "0123456789ABCDEF0123456789ABCDEF", "../../sessions/1/store-5/0123456789abcdef"] {
            assert!(error_of(upload("", id)).starts_with("upload_id"), "{id}");
        }
    }

    #[test]
    fn message_limits_name_the_field() {
        assert!(message("hi", "", "").validate(SenderType::Store, 5).is_ok());
        assert!(message("", "https://cdn.example.com/a.png", "image/png").validate(SenderType::Store, 5).is_ok());
        assert!(message(&"é".repeat(4000), "", "").validate(SenderType::Store, 5).is_ok());
        assert!(error_of(message("", "", "")).starts_with("content"));
        assert!(error_of(message(&"x".repeat(4001), "", "")).starts_with("content"));
        for url in [
            "http://example.com/a",
            "https://",
            "https:///a",
            "ftp://x",
            "https://a b",
            &format!("https://{}", "a".repeat(2041)),
        ] {
            assert!(error_of(message("hi", url, "")).starts_with("attachment_url"), "{url}");
        }
        for kind in ["image", "/png", "image/", "image/png extra", &format!("image/{}", "a".repeat(100))] {
            assert!(error_of(message("hi", "", kind)).starts_with("attachment_type"), "{kind}");
        }
        assert!(message("hi", "", "text/plain; charset=utf-8").validate(SenderType::Store, 5).is_ok());
        let too_long = MessageInput { client_message_id: Some("c".repeat(65)), ..message("hi", "", "") };
        assert!(error_of(too_long).starts_with("client_message_id"));
        let empty = MessageInput { client_message_id: Some(String::new()), ..message("hi", "", "") };
        assert!(error_of(empty).starts_with("client_message_id"));
    }

    #[test]
    fn tags_and_ratings() {
        let tags = |list: &[&str]| validate_tags(list.iter().map(|t| t.to_string()).collect());
        assert_eq!(tags(&["billing", "vip", "billing"]).unwrap(), ["billing", "vip"]);
        assert!(tags(&["Billing"]).is_err());
        assert!(tags(&[""]).is_err());
        assert!(tags(&[&"a".repeat(33)]).is_err());
        assert!(tags(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]).is_err());
        assert_eq!(validate_rating(5, Some(String::new())), Ok((5, None)));
        assert!(validate_rating(0, None).is_err());
        assert!(validate_rating(6, None).is_err());
        assert!(validate_rating(3, Some("x".repeat(2001))).is_err());
    }
}
