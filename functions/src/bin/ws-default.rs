//! WebSocket `$default`: a frame that is not JSON, has no `action`, or names an action
//! nobody serves gets an `error` event on its connection alone; the connection stays open.

use shared::http::{Body, Request, Response};
use shared::live::ServerEvent;
use shared::{App, ws};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    if let Some(connection) = ws::connection_id(&request) {
        let error = complaint(request.body().as_ref());
        app.live.reply(&connection, &ServerEvent::Error { error }).await;
    }
    ws::done()
}

fn complaint(frame: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(frame) {
        Err(_) => "Frame is not valid JSON".to_owned(),
        Ok(value) => match value.get("action").and_then(|a| a.as_str()) {
            Some(action) => format!("Unknown action: {action}"),
            None => "Frame has no action".to_owned(),
        },
    }
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}

#[cfg(test)]
mod tests {
    use super::complaint;

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(complaint(b"hello"), "Frame is not valid JSON");
        assert_eq!(complaint(br#"{"content": "x"}"#), "Frame has no action");
        assert_eq!(complaint(br#"{"action": "dance"}"#), "Unknown action: dance");
    }
}
