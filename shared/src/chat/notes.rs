//! Private notes: admins write them beside a session for each other, and the store never
//! hears of one.

use serde::Serialize;

use super::{Target, visible_session};
use crate::domain::{AdminId, Note, Principal, SessionId, admin_side, validate_note};
use crate::live::ServerEvent;
use crate::{App, ChatError, Timestamp, telemetry};

/// The most notes one read returns.
pub const NOTE_PAGE_LIMIT: usize = 200;

/// A session's newest notes, ascending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoteList {
    pub session_id: SessionId,
    pub notes: Vec<Note>,
    /// Whether the session has older notes than these.
    pub has_more: bool,
}

/// `admin` writes a note in a session it may view; the admins who may view it hear
/// `note.created` (its holder, or every admin while nobody holds it).
pub async fn write_note(app: &App, admin: AdminId, session_id: SessionId, content: String) -> Result<Note, ChatError> {
    let content = validate_note(content)?;
    let session = visible_session(app, Principal::Admin(admin), Target::Session(session_id)).await?;
    let note = app.store.add_note(session.id, admin, content, Timestamp::now()).await?;
    let event = ServerEvent::NoteCreated { note: note.clone() };
    telemetry::live_delivery(app.live.publish(&[(admin_side(session.admin_id), event)])).await;
    Ok(note)
}

/// The newest `limit` notes of a session `admin` may view.
pub async fn notes_of(app: &App, admin: AdminId, session_id: SessionId, limit: usize) -> Result<NoteList, ChatError> {
    let (session, notes) = tokio::join!(
        visible_session(app, Principal::Admin(admin), Target::Session(session_id)),
        app.store.notes(session_id, limit)
    );
    session?;
    let (notes, has_more) = notes?;
    Ok(NoteList { session_id, notes, has_more })
}
