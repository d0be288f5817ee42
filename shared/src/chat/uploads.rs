//! Uploading a file to attach to a message, and attaching it.

use super::{Target, session_of};
use crate::attachments::{Attachments, PresignedUpload};
use crate::domain::{
    NewMessage, Principal, SessionId, UploadRequest, attached_file_key, check_uploaded_file, may_send, new_upload_id,
    pending_upload_key,
};
use crate::{App, ChatError};

fn attachments(app: &App) -> Result<&Attachments, ChatError> {
    app.attachments.as_ref().ok_or_else(|| {
        tracing::error!("a file was to be uploaded or attached, but no ATTACHMENTS_BUCKET is configured");
        ChatError::Unavailable
    })
}

/// A presigned upload of `request`'s file into the session `uploader` may send to (a
/// store's active one, or the one an admin holds and names), under a key the server
/// chooses.
pub async fn create_upload(
    app: &App,
    uploader: Principal,
    mut request: UploadRequest,
) -> Result<PresignedUpload, ChatError> {
    request.validate()?;
    let attachments = attachments(app)?;
    let session = session_of(app, Target::for_principal(uploader, request.session_id)?).await?;
    may_send(&session, uploader)?;
    let upload_id = new_upload_id();
    let key = pending_upload_key(session.id, uploader.party(), uploader.id(), &upload_id);
    attachments.presign_upload(upload_id, &key, &request.file_name, &request.content_type, request.size).await
}

/// Takes the file `message` names for it in `session`: one its sender uploaded there, as
/// its upload allowed, copied to a key of its own where attached files are kept. Returns the
/// file's type and that key. Kept before the message is stored, so that no message ever
/// names a file the bucket lacks; a send that then fails [`discard`]s it.
pub(super) async fn take_upload(
    app: &App,
    session: SessionId,
    message: &NewMessage,
) -> Result<(String, String), ChatError> {
    let Some(upload_id) = &message.upload_id else {
        return Err(ChatError::bad_request("upload_id is missing"));
    };
    let attachments = attachments(app)?;
    let (sender, sender_id) = (message.sender_type, message.sender_id);
    let pending = pending_upload_key(session, sender, sender_id, upload_id);
    let file = attachments.stored_file(&pending).await?.ok_or_else(no_such_upload)?;
    check_uploaded_file(&file.content_type, file.size, &message.attachment_type)?;
    let kept = attached_file_key(session, sender, sender_id, upload_id, &new_upload_id());
    attachments.keep(&pending, &file, &kept).await?;
    Ok((file.content_type, kept))
}

/// The refusal of a send whose `upload_id` names no file its sender uploaded into its session.
pub(super) fn no_such_upload() -> ChatError {
    ChatError::bad_request("upload_id names no file you uploaded into this session")
}

/// Deletes the copies a send kept of its upload that no stored message names. A failure is
/// logged: what remains is a file nobody can reach, not a wrong answer.
pub(super) async fn discard(app: &App, copies: &[String]) {
    let Ok(attachments) = attachments(app) else { return };
    futures::future::join_all(copies.iter().map(|key| attachments.discard(key))).await;
}
