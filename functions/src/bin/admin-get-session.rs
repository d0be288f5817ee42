//! `GET /v1/chat/admin/session/?session_id=`: one session with its newest messages, as the
//! calling admin may see it (seed `luxmart-admin-get-session`). Errors come in the seed's
//! order: 401, 400 missing, 400 not an integer, 404, 403.

use shared::domain::{Principal, SESSION_VIEW_MESSAGES, SessionId, SessionView};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::Admin, view_session(app, &request).await)
}

async fn view_session(app: &App, request: &Request) -> Result<SessionView, ChatError> {
    let admin = http::authenticate_admin(app, request, Family::Admin).await?;
    let id = session_id(http::query_param(request, "session_id"))?;
    let page = chat::session_page(app, Principal::Admin(admin), id, SESSION_VIEW_MESSAGES).await?;
    Ok(page.session.view(&page.messages))
}

fn session_id(raw: Option<&str>) -> Result<SessionId, ChatError> {
    let raw = raw.filter(|v| !v.is_empty()).ok_or_else(|| ChatError::bad_request("session_id is required"))?;
    let text = raw.trim();
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ChatError::bad_request("session_id must be integer"));
    }
    // An integer that no session can have (negative, zero, or beyond any id) is simply
    // not found.
    text.parse::<SessionId>().ok().filter(|id| id.0 > 0).ok_or_else(|| ChatError::not_found("Session not found"))
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_parsing() {
        assert_eq!(session_id(Some("12")), Ok(SessionId(12)));
        assert_eq!(session_id(None), Err(ChatError::bad_request("session_id is required")));
        assert_eq!(session_id(Some("")), Err(ChatError::bad_request("session_id is required")));
        assert_eq!(session_id(Some("abc")), Err(ChatError::bad_request("session_id must be integer")));
        assert_eq!(session_id(Some("1.5")), Err(ChatError::bad_request("session_id must be integer")));
        assert_eq!(session_id(Some("-3")), Err(ChatError::not_found("Session not found")));
        assert_eq!(session_id(Some("0")), Err(ChatError::not_found("Session not found")));
        assert_eq!(session_id(Some("+7")), Ok(SessionId(7)));
        assert_eq!(session_id(Some("-")), Err(ChatError::bad_request("session_id must be integer")));
        // Beyond i64, still an id a lookup answers (404 when there is no such session).
        assert_eq!(session_id(Some("9223372036854775808")), Ok(SessionId(9_223_372_036_854_775_808)));
        for huge in ["18446744073709551616", "-9223372036854775809", &"9".repeat(400)] {
            assert_eq!(session_id(Some(huge)), Err(ChatError::not_found("Session not found")), "{huge}");
        }
    }
}
