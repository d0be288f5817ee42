//! `POST /api/v1/Agents/Chat/GetChatMessages` (seed `superoffice-get-chat-messages`):
//! `{ChatSessionId, After}` gives the session's messages after `After`, ascending, in
//! SuperOffice's shape. `Token` or `Bearer` authorization; a store reads only its own
//! sessions, an admin under the seed view rule. `?$select=a,b` (names in any case) keeps
//! those fields and nulls the rest; an unknown name is a 400.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::auth::Schemes;
use shared::chat::{self, Transcript};
use shared::domain::{Message, MessageId, SenderType, SessionId};
use shared::http::{self, Body, Request, Response};
use shared::{App, ChatError, Family, Timestamp};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetChatMessages {
    chat_session_id: SessionId,
    #[serde(default)]
    after: MessageId,
}

/// One message as SuperOffice's `ChatMessage` has it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChatMessage {
    chat_message_id: MessageId,
    chat_session_id: SessionId,
    /// `ToCustomer` from an admin, `ToUser` from the store.
    #[serde(rename = "Type")]
    kind: &'static str,
    message: String,
    author: String,
    /// 1 once the store has read an admin's message.
    read_by_customer: u8,
    special_type: &'static str,
    special_param: String,
    when_posted: Timestamp,
}

const FIELDS: [&str; 9] = [
    "ChatMessageId",
    "ChatSessionId",
    "Type",
    "Message",
    "Author",
    "ReadByCustomer",
    "SpecialType",
    "SpecialParam",
    "WhenPosted",
];

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Family::SuperOffice, messages(app, &request).await)
}

async fn messages(app: &App, request: &Request) -> Result<Vec<Value>, ChatError> {
    let viewer = http::authenticate(app, request.headers(), Schemes::SuperOffice).await?;
    let selected = selection(http::query_param(request, "$select"))?;
    let body: GetChatMessages = http::json_body(request)?;
    let transcript = chat::transcript(app, viewer, body.chat_session_id, body.after).await?;
    let rows = transcript.messages.iter().map(|message| {
        let row = serde_json::to_value(chat_message(&transcript, message)).expect("a message serialises");
        select(row, selected.as_deref())
    });
    Ok(rows.collect())
}

fn chat_message(transcript: &Transcript, message: &Message) -> ChatMessage {
    let read_by_store =
        message.sender_type == SenderType::Admin && message.id <= transcript.session.store_receipts.read_up_to;
    let attachment = !message.attachment_url.is_empty();
    ChatMessage {
        chat_message_id: message.id,
        chat_session_id: message.session_id,
        kind: match message.sender_type {
            SenderType::Admin => "ToCustomer",
            SenderType::Store => "ToUser",
        },
        message: message.content.clone(),
        author: transcript.author(message),
        read_by_customer: u8::from(read_by_store),
        special_type: if attachment { "Attachment" } else { "None" },
        special_param: message.attachment_url.clone(),
        when_posted: message.created,
    }
}

/// The fields `$select` keeps, by their canonical names; `None` keeps all.
fn selection(raw: Option<&str>) -> Result<Option<Vec<&'static str>>, ChatError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else { return Ok(None) };
    let mut kept = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let field = FIELDS
            .iter()
            .find(|field| field.eq_ignore_ascii_case(name))
            .ok_or_else(|| ChatError::bad_request(format!("Unknown field in $select: {name}")))?;
        kept.push(*field);
    }
    Ok(Some(kept))
}

fn select(row: Value, kept: Option<&[&str]>) -> Value {
    let (Some(kept), Value::Object(fields)) = (kept, &row) else { return row };
    let nulled: Map<String, Value> = fields
        .iter()
        .map(|(name, value)| (name.clone(), if kept.contains(&name.as_str()) { value.clone() } else { Value::Null }))
        .collect();
    Value::Object(nulled)
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_is_case_insensitive_and_refuses_unknown_names() {
        assert_eq!(selection(None), Ok(None));
        assert_eq!(
            selection(Some("message,AUTHOR , chatmessageid")),
            Ok(Some(vec!["Message", "Author", "ChatMessageId"]))
        );
        assert_eq!(selection(Some("Message,Mood")), Err(ChatError::bad_request("Unknown field in $select: Mood")));
        let row = serde_json::json!({"Message": "hi", "Author": "Sarah", "Type": "ToCustomer"});
        assert_eq!(
            select(row, Some(&["Author"])),
            serde_json::json!({"Message": null, "Author": "Sarah", "Type": null})
        );
    }
}
