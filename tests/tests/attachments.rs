//! Attaching files, through the local gateway and a real S3 API: the route hands out a
//! presigned upload into the party's session, S3 itself refuses what it was not signed
//! for, a message takes an upload once, and every view of it carries a download link that
//! works until it expires.

use e2e::cast::{OMAR, QUIET_STORE, SARAH, TECH_STORE, token_of_admin, token_of_store};
use e2e::files::{BUCKET, PNG, kept_files, put_as_signed as put, s3, upload_png};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::on_every_stack;
use e2e::ws::Client;
use serde_json::{Value, json};

async fn stored(gateway: &Gateway, key: &str) -> Option<(String, i64)> {
    let head = s3(gateway).head_object().bucket(BUCKET).key(key).send().await.ok()?;
    Some((head.content_type()?.to_owned(), head.content_length()?))
}

async fn a_store_uploads_into_its_session_what_it_declared(gateway: Gateway) {
    let store = token_of_store(TECH_STORE);
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let declared = json!({"file_name": "broken-order.png", "content_type": "image/png", "size": PNG.len()});
    let (status, upload) = post_json(&gateway.url("/v1/chat/store/uploads/"), Some(&store), &declared).await;
    assert_eq!(status, 201, "{upload}");
    let key = format!("uploads/{}/store-{TECH_STORE}/{}", session["id"], upload["upload_id"].as_str().unwrap());
    assert!(upload["url"].as_str().unwrap().contains(&key), "the server chose the key: {upload}");
    assert!(upload["expires_at"].is_string());

    // S3 refuses what the upload was not signed for, and stores nothing.
    assert_eq!(put(&upload, Some("text/html"), PNG.to_vec()).await, Some(403), "another type");
    let larger = put(&upload, None, vec![0; 20 * 1024 * 1024]).await;
    assert!(matches!(larger, Some(403) | None), "20 MB: {larger:?}");
    assert_eq!(stored(&gateway, &key).await, None);
    assert_eq!(put(&upload, None, PNG.to_vec()).await, Some(200));
    assert_eq!(stored(&gateway, &key).await, Some(("image/png".to_owned(), PNG.len() as i64)));
}

async fn uploads_outside_the_rules_are_refused_by_the_route(gateway: Gateway) {
    let store = token_of_store(TECH_STORE);
    let url = gateway.url("/v1/chat/store/uploads/");
    let html = json!({"file_name": "page.html", "content_type": "text/html", "size": 10});
    let (status, body) = post_json(&url, Some(&store), &html).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().starts_with("content_type must be one of image/png"), "{body}");
    let huge = json!({"file_name": "huge.png", "content_type": "image/png", "size": 20 * 1024 * 1024});
    let (status, body) = post_json(&url, Some(&store), &huge).await;
    assert_eq!((status, &body["message"]), (400, &json!("size must be from 1 to 10485760 bytes")));
    // No session yet: nothing to upload into.
    let fine = json!({"file_name": "a.png", "content_type": "image/png", "size": 10});
    let (status, _) = post_json(&url, Some(&store), &fine).await;
    assert_eq!(status, 404);

    // An admin uploads only into a session it holds.
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let claim = json!({"session_id": session["id"]});
    assert_eq!(
        post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&token_of_admin(SARAH)), &claim).await.0,
        200
    );
    let mut into = fine.clone();
    into["session_id"] = session["id"].clone();
    let admin_url = gateway.url("/v1/chat/admin/uploads/");
    assert_eq!(post_json(&admin_url, Some(&token_of_admin(OMAR)), &into).await.0, 403);
    assert_eq!(post_json(&admin_url, Some(&token_of_admin(SARAH)), &into).await.0, 201);
    assert_eq!(post_json(&admin_url, Some(&token_of_admin(SARAH)), &fine).await.0, 400, "no session_id");
}

/// What a download link answers: status, type, disposition and bytes.
async fn download(url: &Value) -> (u16, String, String, Vec<u8>) {
    let url = url.as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "a presigned link: {url}");
    let answer = reqwest::get(url).await.unwrap();
    let header =
        |name: &str| answer.headers().get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    (answer.status().as_u16(), kind, disposition, answer.bytes().await.unwrap().to_vec())
}

async fn the_png(url: &Value) {
    let (status, kind, disposition, bytes) = download(url).await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(disposition, "attachment; filename*=UTF-8''broken%20order%2Epng");
    assert_eq!(bytes, PNG, "the same bytes");
}

async fn a_sent_upload_is_downloaded_from_every_view(gateway: Gateway) {
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let id = session["id"].clone();
    let claim = json!({"session_id": id});
    assert_eq!(post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&sarah), &claim).await.0, 200);
    let mut admin_ws = Client::connect(&gateway, Some(&sarah)).await.unwrap();

    let upload_id = upload_png(&gateway, &store, None, PNG).await;
    let send = json!({"content": "", "upload_id": upload_id, "client_message_id": "shot-1"});
    let (status, sent) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &send).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["attachment_type"], "image/png", "the file's type");
    the_png(&sent["attachment_url"]).await;

    let event = admin_ws.next_of("message.created").await;
    the_png(&event["message"]["attachment_url"]).await;
    let view = gateway.url(&format!("/v1/chat/admin/session/?session_id={id}"));
    let (_, view) = get_json(&view, Some(&sarah)).await;
    the_png(&view["messages"][0]["attachment_url"]).await;
    let (_, list) = get_json(&gateway.url("/v1/chat/admin/sessions/"), Some(&sarah)).await;
    the_png(&list["sessions"][0]["last_message"]["attachment_url"]).await;
    let (_, after) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store)).await;
    the_png(&after["messages"][0]["attachment_url"]).await;
    let superoffice = json!({"ChatSessionId": id});
    let (_, rows) = post_json(&gateway.url("/api/v1/Agents/Chat/GetChatMessages"), Some(&sarah), &superoffice).await;
    assert_eq!(rows[0]["SpecialType"], "Attachment", "{rows}");
    the_png(&rows[0]["SpecialParam"]).await;

    // The same send again is the same message; the upload in another message is refused.
    let (status, again) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &send).await;
    assert_eq!((status, &again["id"]), (200, &sent["id"]));
    let twice = json!({"content": "again", "upload_id": upload_id});
    let (status, body) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &twice).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["message"], format!("upload_id is already attached to message {}", sent["id"]));
    // Each of those two sends copied the upload, then deleted its copy: one file is kept.
    assert_eq!(kept_files(&gateway).await.len(), 1);
}

async fn uploads_that_are_not_the_senders_to_attach_are_refused(gateway: Gateway) {
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let claim = json!({"session_id": session["id"]});
    assert_eq!(post_json(&gateway.url("/v1/chat/admin/session/claim/"), Some(&sarah), &claim).await.0, 200);
    let store_upload = upload_png(&gateway, &store, None, PNG).await;
    let send = |token: String, body: Value| {
        let gateway = &gateway;
        async move {
            let route = if body.get("session_id").is_some() { "admin" } else { "store" };
            post_json(&gateway.url(&format!("/v1/chat/{route}/messages/")), Some(&token), &body).await
        }
    };
    let refused = |status: u16, body: &Value, message: &str| {
        assert_eq!(status, 400, "{body}");
        // The store family's error body says `message`, the admin family's `error`.
        let said = if body.get("error").is_some() { &body["error"] } else { &body["message"] };
        assert_eq!(said, message, "{body}");
    };
    let not_yours = "upload_id names no file you uploaded into this session";
    // The admin of the session did not upload it; another store has another session.
    let (status, body) = send(sarah.clone(), json!({"session_id": session["id"], "upload_id": store_upload})).await;
    refused(status, &body, not_yours);
    let quiet = token_of_store(QUIET_STORE);
    get_json(&gateway.url("/v1/chat/store/session/"), Some(&quiet)).await;
    let (status, body) = send(quiet, json!({"upload_id": store_upload})).await;
    refused(status, &body, not_yours);
    // An upload asked for but never made (or made too late: its upload expired).
    let asked = json!({"file_name": "a.png", "content_type": "image/png", "size": 10});
    let (_, never) = post_json(&gateway.url("/v1/chat/store/uploads/"), Some(&store), &asked).await;
    let (status, body) = send(store.clone(), json!({"upload_id": never["upload_id"]})).await;
    refused(status, &body, not_yours);
    // Said to be another type than it is; beside an external URL; not an upload's id.
    let (status, body) = send(store.clone(), json!({"upload_id": store_upload, "attachment_type": "image/jpeg"})).await;
    refused(status, &body, "attachment_type must be empty or the uploaded file's type, image/png");
    let both = json!({"upload_id": store_upload, "attachment_url": "https://cdn.example.com/a.png"});
    let (status, body) = send(store.clone(), both).await;
    refused(status, &body, "attachment_url must be empty when upload_id is given");
    let (status, body) = send(store.clone(), json!({"upload_id": "../../sessions/1/store-5/x"})).await;
    refused(status, &body, "upload_id must be the upload_id an upload answered");

    // Nothing of these was stored; the upload is still the store's to attach.
    let (_, messages) = get_json(&gateway.url("/v1/chat/store/messages/?after=0"), Some(&store)).await;
    assert_eq!(messages["messages"], json!([]), "{messages}");
    let (status, sent) = send(store, json!({"upload_id": store_upload})).await;
    assert_eq!(status, 201, "{sent}");
}

/// A store with no open session sends naming an upload: one never made, or one it made in
/// its session that was since closed. The send is refused, and nothing is opened: no session
/// in the queue, no count moved, no admin told.
async fn a_refused_send_opens_no_session(gateway: Gateway) {
    let (store, sarah) = (token_of_store(TECH_STORE), token_of_admin(SARAH));
    let (_, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let from_closed = upload_png(&gateway, &store, None, PNG).await;
    let close = json!({"session_id": session["id"]});
    assert_eq!(post_json(&gateway.url("/v1/chat/admin/session/close/"), Some(&sarah), &close).await.0, 200);
    let open_queue = |gateway: &Gateway| {
        let url = gateway.url("/v1/chat/admin/sessions/?status=open");
        async move { get_json(&url, Some(&token_of_admin(SARAH))).await.1["total_count"].clone() }
    };
    assert_eq!(open_queue(&gateway).await, json!(0));
    let mut admin = Client::connect(&gateway, Some(&sarah)).await.expect("Sarah connects");

    let refused = (400, json!({"success": false, "message": "upload_id names no file you uploaded into this session"}));
    for upload_id in ["0123456789abcdef0123456789abcdef", from_closed.as_str()] {
        let send = json!({"content": "x", "upload_id": upload_id});
        assert_eq!(post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &send).await, refused);
    }
    assert_eq!(open_queue(&gateway).await, json!(0), "no session in the queue");
    let (status, _) = get_json(&gateway.url("/v1/chat/store/messages/"), Some(&store)).await;
    assert_eq!(status, 404, "the store has no active session");
    // The first thing Sarah hears of is the store's next, plain message, which opens one.
    let (status, sent) =
        post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &json!({"content": "hi"})).await;
    assert_eq!(status, 201, "{sent}");
    let told = admin.next_of("session.updated").await;
    assert_eq!(told["session"]["id"], sent["session_id"]);
    assert_eq!(told["session"]["message_count"], 1, "{told}");
    assert_eq!(open_queue(&gateway).await, json!(1));
}

on_every_stack!(
    a_refused_send_opens_no_session,
    a_store_uploads_into_its_session_what_it_declared,
    uploads_outside_the_rules_are_refused_by_the_route,
    a_sent_upload_is_downloaded_from_every_view,
    uploads_that_are_not_the_senders_to_attach_are_refused,
);

/// Links last as long as the deployment says (`AttachmentLinkSeconds`, one second here),
/// and S3 refuses them after.
async fn a_download_link_stops_working_when_it_expires(gateway: Gateway) {
    let store = token_of_store(TECH_STORE);
    get_json(&gateway.url("/v1/chat/store/session/"), Some(&store)).await;
    let upload_id = upload_png(&gateway, &store, None, PNG).await;
    let send = json!({"upload_id": upload_id});
    let (_, sent) = post_json(&gateway.url("/v1/chat/store/messages/"), Some(&store), &send).await;
    let link = sent["attachment_url"].clone();
    let url = reqwest::Url::parse(link.as_str().unwrap()).unwrap();
    let query = |name: &str| url.query_pairs().find(|(key, _)| key == name).unwrap().1.into_owned();
    assert_eq!(query("X-Amz-Expires"), "1");
    let signed = time::PrimitiveDateTime::parse(
        &query("X-Amz-Date"),
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc();
    // Past the link's end by S3's clock, which is this machine's (whole seconds, hence 2).
    let expired = signed + time::Duration::seconds(2);
    if let Ok(wait) = std::time::Duration::try_from(expired - time::OffsetDateTime::now_utc()) {
        tokio::time::sleep(wait).await;
    }
    let (status, _, _, body) = download(&link).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 403, "an expired link: {body}");
    assert!(body.to_lowercase().contains("expired"), "refused for its expiry: {body}");
}

mod expiry {
    #[tokio::test(flavor = "multi_thread")]
    async fn memory() {
        super::a_download_link_stops_working_when_it_expires(e2e::gateway::Gateway::start_with(&[
            "--attachment-link-seconds",
            "1",
        ]))
        .await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn lambda() {
        let table = e2e::stack::fresh_table().await;
        let gateway = e2e::gateway::Gateway::start_as_lambda(&table, &["--attachment-link-seconds", "1"]);
        super::a_download_link_stops_working_when_it_expires(gateway).await
    }
}
