//! `POST /conversation/sessions` (seed `selise-list-sessions`): the sessions an admin may
//! see, most recent activity first, in the seed's shape. Body `{agent_id, project_key,
//! limit?, offset?, status?}`, `project_key` one of the deployment's keys. With an admin's
//! token, `agent_id` is that admin's id as a string; with no `Authorization` at all (the
//! seed's own example: the project key, a server-side secret, is the credential), it names
//! any admin. Every invalid field is one entry of a 422 `{"detail": [{"loc", "msg",
//! "type"}]}`, FastAPI's validation shape.

use serde::Serialize;
use serde_json::{Map, Value, json};
use shared::config::ProjectKeys;
use shared::domain::{AdminId, Session, SessionStatus};
use shared::http::{self, Body, Request, Response, StatusCode};
use shared::{App, ChatError, Family, Timestamp, chat};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 100;

/// One problem with the request body, as FastAPI reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Detail {
    loc: [&'static str; 2],
    msg: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn detail(field: &'static str, msg: impl Into<String>, kind: &'static str) -> Detail {
    Detail { loc: ["body", field], msg: msg.into(), kind }
}

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    /// An admin, by its token: it lists its own view.
    Admin(AdminId),
    /// Whoever holds the project key, with no token: the view of the admin `agent_id` names.
    KeyHolder,
}

#[derive(Debug, PartialEq)]
struct ListRequest {
    /// The admin whose view is listed, as `agent_id` names it.
    agent: AdminId,
    statuses: Vec<SessionStatus>,
    limit: usize,
    offset: usize,
}

enum Refusal {
    Invalid(Vec<Detail>),
    Error(ChatError),
}

impl From<ChatError> for Refusal {
    fn from(error: ChatError) -> Self {
        Refusal::Error(error)
    }
}

/// A session as the seed shows it.
#[derive(Serialize)]
struct SeedSession {
    session_id: String,
    agent_id: Option<String>,
    user_id: String,
    status: &'static str,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_message_at: Timestamp,
    closed_at: Option<Timestamp>,
    message_count: u64,
    user_messages: u64,
    agent_messages: u64,
    duration_seconds: i64,
    response_time_avg: Option<f64>,
    user_info: UserInfo,
    tags: Vec<String>,
    rating: Option<u8>,
    feedback: Option<String>,
    resolved: bool,
}

#[derive(Serialize)]
struct UserInfo {
    name: String,
    email: String,
}

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    match list(app, &request).await {
        Ok(body) => http::json(StatusCode::OK, &body),
        Err(Refusal::Invalid(details)) => http::json(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "detail": details })),
        Err(Refusal::Error(error)) => http::respond::<()>(Family::Selise, Err(error)),
    }
}

async fn list(app: &App, request: &Request) -> Result<Value, Refusal> {
    let caller = match request.headers().contains_key(http::AUTHORIZATION) {
        true => Caller::Admin(http::authenticate_admin(app, request, Family::Selise).await?),
        false => Caller::KeyHolder,
    };
    let body: &[u8] = request.body().as_ref();
    if body.len() > http::MAX_BODY_BYTES {
        return Err(ChatError::PayloadTooLarge.into());
    }
    let parsed = validate(body, caller, &app.config.project_keys).map_err(Refusal::Invalid)?;
    if caller == Caller::KeyHolder && app.store.admin_profile(parsed.agent).await.map_err(ChatError::from)?.is_none() {
        return Err(Refusal::Invalid(vec![agent_not_found()]));
    }
    let page = chat::sessions_page(app, parsed.agent, parsed.statuses, parsed.limit, parsed.offset).await?;
    let now = Timestamp::now();
    let sessions: Vec<SeedSession> = page.sessions.iter().map(|s| seed_session(s, now)).collect();
    Ok(json!({ "sessions": sessions, "total_count": page.total_count }))
}

fn agent_not_found() -> Detail {
    detail("agent_id", "Agent not found or access denied", "value_error.notfound")
}

fn validate(body: &[u8], caller: Caller, project_keys: &ProjectKeys) -> Result<ListRequest, Vec<Detail>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        vec![Detail {
            loc: ["body", "body"],
            msg: format!("Expecting a JSON object: {e}"),
            kind: "value_error.jsondecode",
        }]
    })?;
    let Value::Object(fields) = value else {
        return Err(vec![Detail {
            loc: ["body", "body"],
            msg: "value is not a valid dict".into(),
            kind: "type_error.dict",
        }]);
    };
    let mut details = Vec::new();
    let text = |name: &'static str, details: &mut Vec<Detail>| match fields.get(name) {
        None | Some(Value::Null) => {
            details.push(detail(name, "field required", "value_error.missing"));
            None
        }
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            details.push(detail(name, "str type expected", "type_error.str"));
            None
        }
    };
    let agent = text("agent_id", &mut details).and_then(|agent| {
        let named = agent.parse().ok().map(AdminId);
        let allowed = match caller {
            Caller::Admin(admin) => named.filter(|named| *named == admin && agent == admin.to_string()),
            Caller::KeyHolder => named,
        };
        if allowed.is_none() {
            details.push(agent_not_found());
        }
        allowed
    });
    if let Some(key) = text("project_key", &mut details)
        && !project_keys.accept(&key)
    {
        details.push(detail("project_key", "Invalid project key", "value_error.invalid"));
    }
    let limit = integer(&fields, "limit", DEFAULT_LIMIT, 1, Some(MAX_LIMIT), &mut details);
    let offset = integer(&fields, "offset", 0, 0, None, &mut details);
    let statuses = match fields.get("status") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(status)) if status == "active" => vec![SessionStatus::Open, SessionStatus::Claimed],
        Some(Value::String(status)) if status == "closed" => vec![SessionStatus::Closed],
        Some(_) => {
            let msg = "value is not a valid enumeration member; permitted: 'active', 'closed'";
            details.push(detail("status", msg, "type_error.enum"));
            Vec::new()
        }
    };
    match agent {
        Some(agent) if details.is_empty() => {
            Ok(ListRequest { agent, statuses, limit: limit as usize, offset: offset as usize })
        }
        _ => Err(details),
    }
}

fn integer(
    fields: &Map<String, Value>,
    name: &'static str,
    default: i64,
    min: i64,
    max: Option<i64>,
    details: &mut Vec<Detail>,
) -> i64 {
    let value = match fields.get(name) {
        None | Some(Value::Null) => return default,
        Some(value) => value.as_i64(),
    };
    match value {
        None => details.push(detail(name, "value is not a valid integer", "type_error.integer")),
        Some(value) if value < min => details.push(detail(
            name,
            format!("ensure this value is greater than or equal to {min}"),
            "value_error.number.not_ge",
        )),
        Some(value) if max.is_some_and(|max| value > max) => details.push(detail(
            name,
            format!("ensure this value is less than or equal to {}", max.unwrap_or_default()),
            "value_error.number.not_le",
        )),
        Some(value) => return value,
    }
    default
}

fn seed_session(session: &Session, now: Timestamp) -> SeedSession {
    let closed = session.status == SessionStatus::Closed;
    SeedSession {
        session_id: session.id.to_string(),
        agent_id: session.admin_id.map(|id| id.to_string()),
        user_id: session.store.id.to_string(),
        status: if closed { "closed" } else { "active" },
        created_at: session.created,
        updated_at: session.updated,
        last_message_at: session.last_message_at,
        closed_at: session.closed_at,
        message_count: session.message_count(),
        user_messages: session.store_message_count,
        agent_messages: session.admin_message_count,
        duration_seconds: session.closed_at.unwrap_or(now).seconds_since(session.created).max(0),
        response_time_avg: session.response_time_avg(),
        user_info: UserInfo { name: session.store.name.clone(), email: session.store.email.clone() },
        tags: session.tags.clone(),
        rating: session.rating,
        feedback: session.feedback.clone(),
        // A closed session is taken as resolved; API.md has no other signal for it.
        resolved: closed,
    }
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ProjectKeys {
        ProjectKeys::from_list(Some("key"))
    }

    fn errors(body: Value) -> Vec<(String, String)> {
        match validate(body.to_string().as_bytes(), Caller::Admin(AdminId(2)), &keys()) {
            Ok(_) => Vec::new(),
            Err(details) => details.into_iter().map(|d| (d.loc[1].to_owned(), d.kind.to_owned())).collect(),
        }
    }

    #[test]
    fn one_detail_per_bad_field() {
        let pairs =
            |list: &[(&str, &str)]| list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(
            validate(br#"{"agent_id": "2", "project_key": "key"}"#, Caller::Admin(AdminId(2)), &keys()),
            Ok(ListRequest { agent: AdminId(2), statuses: vec![], limit: 100, offset: 0 })
        );
        // With the key alone, any admin; an id that is none is the seed's 422.
        let by_key = |agent: &str| {
            let body = json!({"agent_id": agent, "project_key": "key"}).to_string();
            validate(body.as_bytes(), Caller::KeyHolder, &keys()).map(|r| r.agent).map_err(|d| d[0].kind)
        };
        assert_eq!(by_key("7"), Ok(AdminId(7)));
        assert_eq!(by_key("agent_123"), Err("value_error.notfound"));
        assert_eq!(
            errors(json!({"agent_id": "02", "project_key": "key"})),
            pairs(&[("agent_id", "value_error.notfound")]),
            "the caller's id exactly as the seed writes it"
        );
        assert_eq!(
            errors(json!({})),
            pairs(&[("agent_id", "value_error.missing"), ("project_key", "value_error.missing")])
        );
        assert_eq!(
            errors(json!({"agent_id": 2, "project_key": "nope", "limit": 0, "offset": -1, "status": "idle"})),
            pairs(&[
                ("agent_id", "type_error.str"),
                ("project_key", "value_error.invalid"),
                ("limit", "value_error.number.not_ge"),
                ("offset", "value_error.number.not_ge"),
                ("status", "type_error.enum"),
            ])
        );
        assert_eq!(
            errors(json!({"agent_id": "3", "project_key": "key", "limit": 101})),
            pairs(&[("agent_id", "value_error.notfound"), ("limit", "value_error.number.not_le")])
        );
        assert_eq!(
            errors(json!({"agent_id": "2", "project_key": "key", "limit": "ten"})),
            pairs(&[("limit", "type_error.integer")])
        );
    }
}
