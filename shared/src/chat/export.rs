//! A store's data handed to it when it asks: its profile, and each of its sessions with its
//! messages, rating and tags, and the files attached to them, as one ZIP archive in the
//! bucket behind a short-lived link. What the team kept about it (notes, the trail of edits)
//! is the team's and stays out.

use std::io::{Cursor, Write};

use serde::Serialize;
use zip::write::SimpleFileOptions;

use crate::domain::{Message, MessageId, SenderType, Session, SessionId, SessionStatus, StoreId};
use crate::storage::MessageWindow;
use crate::{App, ChatError, Timestamp};

/// The most sessions one export holds: the store's newest.
pub const MAX_EXPORTED_SESSIONS: usize = 1000;
/// Messages read at a time.
const MESSAGES_A_READ: usize = 200;

/// An export made: where to download it, until when, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Export {
    pub url: String,
    pub expires_at: Timestamp,
    pub sessions: u64,
    pub messages: u64,
    pub files: u64,
}

#[derive(Serialize)]
struct ExportedSession {
    id: SessionId,
    status: SessionStatus,
    created: Timestamp,
    closed_at: Option<Timestamp>,
    rating: Option<u8>,
    feedback: Option<String>,
    tags: Vec<String>,
    messages: Vec<ExportedMessage>,
}

#[derive(Serialize)]
struct ExportedMessage {
    id: MessageId,
    sender_type: SenderType,
    sender_id: u64,
    content: String,
    created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    edited_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_at: Option<Timestamp>,
    /// An external file's address, as the sender gave it.
    #[serde(skip_serializing_if = "String::is_empty")]
    attachment_url: String,
    /// An uploaded file's path within the archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

/// Exports `store`'s newest [`MAX_EXPORTED_SESSIONS`] sessions and their files.
pub async fn export_store(app: &App, store: StoreId) -> Result<Export, ChatError> {
    // Boxed: its steps make a future too deep to lay out in place.
    Box::pin(export(app, store)).await
}

async fn export(app: &App, store: StoreId) -> Result<Export, ChatError> {
    let Some(attachments) = &app.attachments else {
        tracing::error!("an export needs the attachments bucket, which is not configured");
        return Err(ChatError::Unavailable);
    };
    let profile = app.store.store_profile(store).await?.ok_or_else(|| ChatError::not_found("Store not found"))?;
    let (mut sessions, _) = app.store.sessions_of_store(store, MAX_EXPORTED_SESSIONS).await?;
    sessions.reverse();
    let mut archive = Archive::new();
    archive.json("store.json", &profile)?;
    let (mut messages, mut files) = (0, 0);
    for session in &sessions {
        let mut exported = Vec::new();
        for message in messages_of(app, session.id).await? {
            let file = match (&message.attachment_key, message.deleted_at) {
                (Some(key), None) => match attachments.file_bytes(key).await? {
                    Some(bytes) => {
                        // Named by its message and upload, typed as it was sent.
                        let upload = key.rsplit('/').nth(1).unwrap_or("file");
                        let kind = message.attachment_type.rsplit('/').next().unwrap_or_default();
                        let path = format!("files/{}/{}-{upload}.{kind}", session.id, message.id);
                        archive.file(&path, &bytes)?;
                        files += 1;
                        Some(path)
                    }
                    None => None,
                },
                _ => None,
            };
            exported.push(exported_message(message, file));
        }
        messages += exported.len() as u64;
        archive.json(&format!("sessions/{}.json", session.id), &exported_session(session, exported))?;
    }
    let bytes = archive.finish()?;
    let key = format!("{}{}.zip", crate::attachments::export_prefix(store), Timestamp::now().unix_millis());
    attachments.put_archive(&key, bytes).await?;
    let url = attachments.download_link(&key).await?;
    let expires_at = Timestamp::now().plus_seconds(attachments.link_lifetime().as_secs() as i64);
    tracing::info!(store = %profile.id, sessions = sessions.len(), messages, files, "a store's data exported");
    Ok(Export { url, expires_at, sessions: sessions.len() as u64, messages, files })
}

/// Every message of `session`, oldest first.
async fn messages_of(app: &App, session: SessionId) -> Result<Vec<Message>, ChatError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(MessageId(0), |message: &Message| message.id);
        let Some(page) = app.store.messages(session, MessageWindow::After(after), MESSAGES_A_READ).await? else {
            return Ok(all);
        };
        all.extend(page.messages);
        if !page.has_more {
            return Ok(all);
        }
    }
}

fn exported_session(session: &Session, messages: Vec<ExportedMessage>) -> ExportedSession {
    ExportedSession {
        id: session.id,
        status: session.status,
        created: session.created,
        closed_at: session.closed_at,
        rating: session.rating,
        feedback: session.feedback.clone(),
        tags: session.tags.clone(),
        messages,
    }
}

fn exported_message(message: Message, file: Option<String>) -> ExportedMessage {
    ExportedMessage {
        id: message.id,
        sender_type: message.sender_type,
        sender_id: message.sender_id,
        content: message.content,
        created: message.created,
        edited_at: message.edited_at,
        deleted_at: message.deleted_at,
        attachment_url: message.attachment_url,
        file,
    }
}

/// A ZIP archive written in memory.
struct Archive(zip::ZipWriter<Cursor<Vec<u8>>>);

impl Archive {
    fn new() -> Self {
        Archive(zip::ZipWriter::new(Cursor::new(Vec::new())))
    }

    fn json(&mut self, path: &str, value: &impl Serialize) -> Result<(), ChatError> {
        let text = serde_json::to_vec_pretty(value).map_err(|error| failed("writing JSON", error))?;
        self.file(path, &text)
    }

    fn file(&mut self, path: &str, bytes: &[u8]) -> Result<(), ChatError> {
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        self.0.start_file(path, options).map_err(|error| failed("starting a file", error))?;
        self.0.write_all(bytes).map_err(|error| failed("writing a file", error))
    }

    fn finish(self) -> Result<Vec<u8>, ChatError> {
        Ok(self.0.finish().map_err(|error| failed("finishing", error))?.into_inner())
    }
}

fn failed(doing: &str, error: impl std::fmt::Display) -> ChatError {
    tracing::error!(%error, "an export's archive: {doing}");
    ChatError::Unavailable
}
