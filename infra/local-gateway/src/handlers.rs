//! The functions the gateway can run, by Cargo package name (a function's `CodeUri`).

use shared::http::HttpHandler;

pub fn http_handler(package: &str) -> Option<HttpHandler> {
    let handler: HttpHandler = match package {
        "store-get-session" => |app, request| Box::pin(store_get_session::handle(app, request)),
        "admin-get-session" => |app, request| Box::pin(admin_get_session::handle(app, request)),
        _ => return None,
    };
    Some(handler)
}
