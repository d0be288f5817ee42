//! `POST /v1/chat/store/uploads/`: `{file_name, content_type, size}` gives a presigned upload
//! of the file into the store's active session: 201 `{upload_id, method, url, headers, expires_at}`.

use shared::attachments::PresignedUpload;
use shared::domain::{Principal, UploadRequest};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond_created(Family::Store, upload(app, &request).await)
}

async fn upload(app: &App, request: &Request) -> Result<PresignedUpload, ChatError> {
    let store = http::authenticate_store(app, request, Family::Store).await?;
    let body: UploadRequest = http::json_body(request)?;
    chat::create_upload(app, Principal::Store(store), body).await
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
