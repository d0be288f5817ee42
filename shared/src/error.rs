//! API errors and the wire shape each route family gives them.

use http::StatusCode;
use serde_json::{Value, json};

use crate::domain::input::InvalidInput;
use crate::domain::{LifecycleError, RevisionDenied, TooManySends, ViewDenied};
use crate::storage::StorageError;

/// What a request can fail with, whatever route family serves it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    #[error("Unauthorized")]
    Unauthorized,
    /// SuperOffice's ticket scheme, which only a SuperOffice installation can check.
    #[error(
        "SoTicket authentication is not available here: use Basic (user name: your id; password: your token), Bearer or Token"
    )]
    SoTicketRefused,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Request body too large")]
    PayloadTooLarge,
    /// The sender sent its limit of messages into the session this minute.
    #[error("Too many messages: try again in {}", seconds(*retry_after_seconds))]
    TooManyRequests { retry_after_seconds: u32 },
    /// Storage could not be reached; the cause is logged, never sent.
    #[error("Service temporarily unavailable")]
    Unavailable,
}

impl ChatError {
    pub fn status(&self) -> StatusCode {
        match self {
            ChatError::Unauthorized | ChatError::SoTicketRefused => StatusCode::UNAUTHORIZED,
            ChatError::Forbidden(_) => StatusCode::FORBIDDEN,
            ChatError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ChatError::NotFound(_) => StatusCode::NOT_FOUND,
            ChatError::Conflict(_) => StatusCode::CONFLICT,
            ChatError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ChatError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ChatError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A one-word name of the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            ChatError::Unauthorized | ChatError::SoTicketRefused => "Unauthorized",
            ChatError::Forbidden(_) => "Forbidden",
            ChatError::BadRequest(_) => "BadRequest",
            ChatError::NotFound(_) => "NotFound",
            ChatError::Conflict(_) => "Conflict",
            ChatError::PayloadTooLarge => "PayloadTooLarge",
            ChatError::TooManyRequests { .. } => "TooManyRequests",
            ChatError::Unavailable => "ServiceUnavailable",
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ChatError::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ChatError::NotFound(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ChatError::Forbidden(message.into())
    }
}

impl From<StorageError> for ChatError {
    fn from(error: StorageError) -> Self {
        tracing::error!(error = %error, "storage failure");
        ChatError::Unavailable
    }
}

impl From<InvalidInput> for ChatError {
    fn from(error: InvalidInput) -> Self {
        ChatError::BadRequest(error.0)
    }
}

/// "1 second", "42 seconds".
fn seconds(n: u32) -> String {
    if n == 1 { "1 second".to_owned() } else { format!("{n} seconds") }
}

impl From<TooManySends> for ChatError {
    fn from(too_many: TooManySends) -> Self {
        ChatError::TooManyRequests { retry_after_seconds: too_many.retry_after_seconds }
    }
}

impl From<ViewDenied> for ChatError {
    fn from(denied: ViewDenied) -> Self {
        match denied {
            ViewDenied::OtherAdmin => ChatError::forbidden("Session belongs to another admin"),
            // A store is never told that another store's session exists.
            ViewDenied::OtherStore => ChatError::not_found("Session not found"),
        }
    }
}

impl From<RevisionDenied> for ChatError {
    fn from(denied: RevisionDenied) -> Self {
        match denied {
            RevisionDenied::NotTheSender | RevisionDenied::Automatic => ChatError::forbidden(denied.to_string()),
            RevisionDenied::Deleted | RevisionDenied::WindowClosed | RevisionDenied::ChangedMeanwhile => {
                ChatError::Conflict(denied.to_string())
            }
        }
    }
}

impl From<LifecycleError> for ChatError {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::OtherAdmin | LifecycleError::AdminsOnly | LifecycleError::NotClaimed => {
                ChatError::forbidden(error.to_string())
            }
            LifecycleError::OtherStore => ChatError::not_found("Session not found"),
            LifecycleError::Closed
            | LifecycleError::ClaimedByAnother
            | LifecycleError::NotClosed
            | LifecycleError::AlreadyRated => ChatError::Conflict(error.to_string()),
        }
    }
}

/// A family of routes that share one error body shape (API.md, "Error bodies").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `/v1/chat/store/...`: `{"success": false, "message": "..."}`.
    Store,
    /// `/v1/chat/admin/...`: `{"error": "..."}`.
    Admin,
    /// `/conversation/sessions` (FastAPI-style): `{"detail": "..."}`; validation errors
    /// are 422s with a list of details, built by that route.
    Selise,
    /// `/api/v1/Agents/...` (SuperOffice-style): `{"Error": "...", "ErrorType": "..."}`.
    SuperOffice,
    /// `/v1/platform/...` (server to server, signed with SigV4): `{"error": "..."}`.
    Platform,
}

impl Family {
    /// The family of an HTTP route key (`POST /v1/chat/store/messages/`); `None` for the
    /// WebSocket routes.
    pub fn of_route(route_key: &str) -> Option<Family> {
        let path = route_key.split_once(' ').map_or(route_key, |(_, path)| path);
        [
            ("/v1/chat/store/", Family::Store),
            ("/v1/chat/admin/", Family::Admin),
            ("/conversation/", Family::Selise),
            ("/api/v1/Agents/", Family::SuperOffice),
            ("/v1/platform/", Family::Platform),
        ]
        .into_iter()
        .find_map(|(prefix, family)| path.starts_with(prefix).then_some(family))
    }

    pub fn error_body(self, error: &ChatError) -> Value {
        let message = error.to_string();
        match self {
            Family::Store => json!({ "success": false, "message": message }),
            Family::Admin | Family::Platform => json!({ "error": message }),
            Family::Selise => json!({ "detail": message }),
            Family::SuperOffice => json!({ "Error": message, "ErrorType": error.kind() }),
        }
    }

    /// The 403 for a valid token of the wrong role.
    pub fn wrong_role(self) -> ChatError {
        match self {
            Family::Store => ChatError::forbidden("Store access required"),
            Family::Admin | Family::Selise | Family::SuperOffice | Family::Platform => {
                ChatError::forbidden("Admin access required")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_bodies_are_the_seeds() {
        assert_eq!(
            Family::Store.error_body(&ChatError::Unauthorized),
            json!({"success": false, "message": "Unauthorized"})
        );
        assert_eq!(Family::Admin.error_body(&ChatError::Unauthorized), json!({"error": "Unauthorized"}));
    }

    #[test]
    fn families_by_route() {
        assert_eq!(Family::of_route("POST /v1/chat/store/messages/"), Some(Family::Store));
        assert_eq!(Family::of_route("POST /v1/platform/stores/"), Some(Family::Platform));
        assert_eq!(Family::of_route("GET /v1/chat/admin/session/"), Some(Family::Admin));
        assert_eq!(Family::of_route("POST /conversation/sessions"), Some(Family::Selise));
        assert_eq!(Family::of_route("POST /api/v1/Agents/Chat/GetChatMessages"), Some(Family::SuperOffice));
        assert_eq!(Family::of_route("send_message"), None);
        assert_eq!(Family::of_route("$connect"), None);
    }

    #[test]
    fn storage_faults_become_503_without_detail() {
        let error = ChatError::from(StorageError::Unavailable("connection refused to 10.0.0.1".into()));
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(Family::Admin.error_body(&error), json!({"error": "Service temporarily unavailable"}));
    }
}
