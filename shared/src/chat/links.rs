//! Uploaded files leave the chat layer as links. In storage a message names its upload;
//! before anyone sees it, its `attachment_url` becomes a short-lived presigned download
//! link. Presigning is local computation, so a view costs no request to S3.

use crate::App;
use crate::domain::{Message, Session};

/// `message` with its upload, if it has one, as a download link.
pub(super) async fn link(app: &App, message: &mut Message) {
    let Some(key) = message.attachment_key.as_deref() else {
        return;
    };
    let Some(attachments) = &app.attachments else {
        tracing::error!("a message has an uploaded file, but no ATTACHMENTS_BUCKET is configured");
        return;
    };
    // A view without one link is more use than no view: the failure is logged.
    if let Ok(url) = attachments.download_link(key).await {
        message.attachment_url = url;
    }
}

pub(super) async fn link_all(app: &App, messages: &mut [Message]) {
    for message in messages {
        link(app, message).await;
    }
}

/// `session` with its last message linked.
pub(super) async fn link_session(app: &App, session: &mut Session) {
    if let Some(message) = &mut session.last_message {
        link(app, message).await;
    }
}

/// `session`, as it leaves for a view, linked.
pub(super) async fn linked(app: &App, mut session: Session) -> Session {
    link_session(app, &mut session).await;
    session
}
