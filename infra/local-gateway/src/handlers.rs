//! The functions the gateway can run, HTTP and WebSocket alike, by Cargo package name (a
//! function's `CodeUri`).

use shared::http::HttpHandler;

pub fn handler(package: &str) -> Option<HttpHandler> {
    let handler: HttpHandler = match package {
        "store-get-session" => |app, request| Box::pin(store_get_session::handle(app, request)),
        "admin-get-session" => |app, request| Box::pin(admin_get_session::handle(app, request)),
        "store-send-message" => |app, request| Box::pin(store_send_message::handle(app, request)),
        "store-list-messages" => |app, request| Box::pin(store_list_messages::handle(app, request)),
        "store-mark-read" => |app, request| Box::pin(store_mark_read::handle(app, request)),
        "store-close-session" => |app, request| Box::pin(store_close_session::handle(app, request)),
        "store-rate-session" => |app, request| Box::pin(store_rate_session::handle(app, request)),
        "admin-list-sessions" => |app, request| Box::pin(admin_list_sessions::handle(app, request)),
        "admin-claim-session" => |app, request| Box::pin(admin_claim_session::handle(app, request)),
        "admin-close-session" => |app, request| Box::pin(admin_close_session::handle(app, request)),
        "admin-transfer-session" => |app, request| Box::pin(admin_transfer_session::handle(app, request)),
        "admin-send-message" => |app, request| Box::pin(admin_send_message::handle(app, request)),
        "admin-list-messages" => |app, request| Box::pin(admin_list_messages::handle(app, request)),
        "admin-mark-read" => |app, request| Box::pin(admin_mark_read::handle(app, request)),
        "admin-set-tags" => |app, request| Box::pin(admin_set_tags::handle(app, request)),
        "conversation-list-sessions" => |app, request| Box::pin(conversation_list_sessions::handle(app, request)),
        "agents-get-chat-messages" => |app, request| Box::pin(agents_get_chat_messages::handle(app, request)),
        "ws-connect" => |app, request| Box::pin(ws_connect::handle(app, request)),
        "ws-disconnect" => |app, request| Box::pin(ws_disconnect::handle(app, request)),
        "ws-default" => |app, request| Box::pin(ws_default::handle(app, request)),
        "ws-send-message" => |app, request| Box::pin(ws_send_message::handle(app, request)),
        "ws-typing" => |app, request| Box::pin(ws_typing::handle(app, request)),
        "ws-mark-read" => |app, request| Box::pin(ws_mark_read::handle(app, request)),
        "ws-mark-delivered" => |app, request| Box::pin(ws_mark_delivered::handle(app, request)),
        "ws-ping" => |app, request| Box::pin(ws_ping::handle(app, request)),
        _ => return None,
    };
    Some(handler)
}
