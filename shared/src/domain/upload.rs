//! Files a party attaches to messages: what may be uploaded, and where it is kept. The key
//! names the session and the sender and ends in an id the server chose, so a client never
//! picks where its file goes, and a send can tell whose upload it names. An upload waits
//! under `uploads/` until a message takes a copy of it into `sessions/`.

use super::ids::SessionId;
use super::input::InvalidInput;
use super::message::SenderType;

/// The largest file a party may upload (bytes).
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// What may be uploaded: pictures of what went wrong, documents, plain text. Nothing a
/// browser would run (no HTML, SVG or scripts).
pub const UPLOAD_TYPES: [&str; 6] =
    ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"];

/// An upload as a client asks for it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// The session (admins name it; a store uploads into its active session).
    #[serde(default)]
    pub session_id: Option<SessionId>,
}

impl UploadRequest {
    /// Checks every limit, and puts the file name in Unicode's composed form (NFC), as it is
    /// then signed into the upload and shown.
    pub fn validate(&mut self) -> Result<(), InvalidInput> {
        self.file_name = file_name(&self.file_name)?;
        if !UPLOAD_TYPES.contains(&self.content_type.as_str()) {
            return Err(InvalidInput(format!("content_type must be one of {}", UPLOAD_TYPES.join(", "))));
        }
        if !(1..=MAX_UPLOAD_BYTES).contains(&self.size) {
            return Err(InvalidInput(format!("size must be from 1 to {MAX_UPLOAD_BYTES} bytes")));
        }
        Ok(())
    }
}

/// `name` in NFC, if it names a file as it looks: 1 to [`MAX_FILE_NAME_CHARS`] characters
/// with something visible, no control or format characters (which include the bidirectional
/// overrides that make `invoice\u{202e}gnp.exe` look like `invoiceexe.png`, and zero-width
/// ones), no path separators, and not `.` or `..`.
fn file_name(name: &str) -> Result<String, InvalidInput> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    let name: String = name.nfc().collect();
    let chars = name.chars().count();
    let hidden = |c: char| c.is_control() || c.general_category() == GeneralCategory::Format;
    if chars == 0 || chars > MAX_FILE_NAME_CHARS || name.chars().any(hidden) {
        return Err(InvalidInput(format!(
            "file_name must be 1 to {MAX_FILE_NAME_CHARS} characters, none of them control or invisible formatting characters"
        )));
    }
    if name.chars().all(char::is_whitespace) || name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(InvalidInput("file_name must name a file: something visible, without / or \\".into()));
    }
    Ok(name)
}

/// Whether a file that was uploaded may be attached as a message's `attachment_type`
/// (empty: the file's own type): it is of a listed type and size, as its upload was
/// signed for, and of the type the message says.
pub fn check_uploaded_file(content_type: &str, size: u64, attachment_type: &str) -> Result<(), InvalidInput> {
    if !UPLOAD_TYPES.contains(&content_type) || !(1..=MAX_UPLOAD_BYTES).contains(&size) {
        return Err(InvalidInput("upload_id names a file of a type or size that may not be attached".into()));
    }
    if !attachment_type.is_empty() && attachment_type != content_type {
        return Err(InvalidInput(format!("attachment_type must be empty or the uploaded file's type, {content_type}")));
    }
    Ok(())
}

/// Where `sender`'s upload `upload_id` into `session` waits for a message to take it; the
/// bucket deletes what waits there longer than a day.
pub fn pending_upload_key(session: SessionId, sender: SenderType, sender_id: u64, upload_id: &str) -> String {
    format!("uploads/{}", file_path(session, sender, sender_id, upload_id))
}

/// Where a send keeps that file once it took it: a copy of its own (`copy_id`), so that no
/// later send with the same upload can replace the file a message shows.
pub fn attached_file_key(
    session: SessionId,
    sender: SenderType,
    sender_id: u64,
    upload_id: &str,
    copy_id: &str,
) -> String {
    format!("sessions/{}/{copy_id}", file_path(session, sender, sender_id, upload_id))
}

fn file_path(session: SessionId, sender: SenderType, sender_id: u64, upload_id: &str) -> String {
    let party = match sender {
        SenderType::Store => "store",
        SenderType::Admin => "admin",
    };
    format!("{session}/{party}-{sender_id}/{upload_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(file_name: &str, content_type: &str, size: u64) -> UploadRequest {
        UploadRequest { file_name: file_name.into(), content_type: content_type.into(), size, session_id: None }
    }

    #[test]
    fn only_listed_types_within_the_size_limit() {
        assert_eq!(request("order.png", "image/png", 2048).validate(), Ok(()));
        assert_eq!(request("manual.pdf", "application/pdf", MAX_UPLOAD_BYTES).validate(), Ok(()));
        let refused = |mut r: UploadRequest| r.validate().unwrap_err().0;
        assert!(refused(request("page.html", "text/html", 10)).starts_with("content_type must be one of image/png"));
        assert!(refused(request("logo.svg", "image/svg+xml", 10)).starts_with("content_type"));
        assert!(refused(request("huge.png", "image/png", 20 * 1024 * 1024)).starts_with("size must be from 1"));
        assert!(refused(request("empty.png", "image/png", 0)).starts_with("size"));
        assert!(refused(request("", "image/png", 10)).starts_with("file_name"));
        assert!(refused(request("a\nb.png", "image/png", 10)).starts_with("file_name"));
        assert!(refused(request(&"x".repeat(256), "image/png", 10)).starts_with("file_name"));
    }

    #[test]
    fn a_file_name_looks_like_what_it_is() {
        // Each looks like another name, or like none.
        for name in [
            "invoice\u{202e}gnp.exe",
            "a\u{2066}b.png",
            "\u{200b}\u{200c}\u{200d}",
            "\u{feff}",
            "\u{feff}order.png",
            " ",
            "\u{3000}\t",
            ".",
            "..",
            "../etc/passwd",
            "a\\b.png",
        ] {
            assert!(request(name, "image/png", 10).validate().unwrap_err().0.starts_with("file_name"), "{name:?}");
        }
        // Composed as NFC: `e` with a combining acute accent becomes one character.
        let mut decomposed = request("cafe\u{301}.png", "image/png", 10);
        assert_eq!(decomposed.validate(), Ok(()));
        assert_eq!(decomposed.file_name, "caf\u{e9}.png");
        assert_eq!(request("  report (final).pdf", "application/pdf", 10).validate(), Ok(()));
    }

    #[test]
    fn an_uploaded_file_is_attached_as_what_it_is() {
        assert_eq!(check_uploaded_file("image/png", 10, ""), Ok(()));
        assert_eq!(check_uploaded_file("image/png", 10, "image/png"), Ok(()));
        let refused = |t, size, declared| check_uploaded_file(t, size, declared).unwrap_err().0;
        assert!(refused("image/png", 10, "image/jpeg").starts_with("attachment_type must be empty or"));
        assert!(refused("text/html", 10, "").starts_with("upload_id names a file"));
        assert!(refused("image/png", MAX_UPLOAD_BYTES + 1, "").starts_with("upload_id names a file"));
    }

    #[test]
    fn a_key_names_the_session_and_the_sender() {
        assert_eq!(pending_upload_key(SessionId(12), SenderType::Store, 5, "ab12"), "uploads/12/store-5/ab12");
        assert_eq!(attached_file_key(SessionId(12), SenderType::Admin, 2, "cd34", "ef"), "sessions/12/admin-2/cd34/ef");
    }
}
