//! Uploading a file to attach to a message.

use super::{Target, session_of};
use crate::attachments::PresignedUpload;
use crate::domain::{Principal, SessionId, UploadRequest, may_send, upload_key};
use crate::{App, ChatError};

/// A presigned upload of `request`'s file into the session `uploader` may send to (a
/// store's active one, or the one an admin holds and names), under a key the server
/// chooses.
pub async fn create_upload(
    app: &App,
    uploader: Principal,
    request: UploadRequest,
) -> Result<PresignedUpload, ChatError> {
    request.validate()?;
    let Some(attachments) = &app.attachments else {
        tracing::error!("an upload was asked for, but no ATTACHMENTS_BUCKET is configured");
        return Err(ChatError::Unavailable);
    };
    let session = session_of(app, Target::for_principal(uploader, request.session_id.map(SessionId))?).await?;
    may_send(&session, uploader)?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let upload_id = hex::encode(bytes);
    let key = upload_key(session.id, uploader.party(), uploader.id(), &upload_id);
    attachments.presign_upload(upload_id, &key, &request.content_type, request.size).await
}
