//! `POST /v1/chat/admin/uploads/`: `{session_id, file_name, content_type, size}` gives a
//! presigned upload of the file into a session the admin holds: 201 as the store's.

use shared::attachments::PresignedUpload;
use shared::domain::{Principal, UploadRequest};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_created(Family::Admin, upload(app, &request).await)
}

async fn upload(app: &App, request: &Request) -> Result<PresignedUpload, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let body: UploadRequest = http::json_body(request)?;
    chat::create_upload(app, Principal::Admin(admin), body).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
