//! `GET` and `POST /v1/email/unsubscribe/?r=<recipient>&s=<signature>`: the link every mail
//! names. A `POST` unsubscribes — a mail client's one-click (RFC 8058) or the button of the
//! page a `GET` shows, for a person who followed the link; a `GET` alone changes nothing,
//! since mail scanners follow links. Answers a small HTML page; a link that is not signed
//! for its recipient is a 400.

use shared::http::{self, Body, Request, Response, StatusCode};
use shared::{App, chat};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let recipient = http::query_param(&request, "r").unwrap_or_default().to_owned();
    let signature = http::query_param(&request, "s").unwrap_or_default().to_owned();
    if request.method() != http::Method::POST {
        return page(StatusCode::OK, "Unsubscribe from these emails?", &confirm_form(&recipient, &signature));
    }
    match chat::unsubscribe(app, &recipient, &signature).await {
        Ok(_) => page(StatusCode::OK, "You are unsubscribed", "<p>You will get no more of these emails.</p>"),
        Err(error) => page(error.status(), "This link does not work", &format!("<p>{}</p>", error)),
    }
}

/// The button that unsubscribes, posting the link's own query back.
fn confirm_form(recipient: &str, signature: &str) -> String {
    let query = format!(
        "r={}&s={}",
        percent_encoding::utf8_percent_encode(recipient, percent_encoding::NON_ALPHANUMERIC),
        percent_encoding::utf8_percent_encode(signature, percent_encoding::NON_ALPHANUMERIC)
    );
    format!(
        "<form method=\"post\" action=\"?{}\"><button type=\"submit\">Unsubscribe</button></form>",
        html_escape::encode_double_quoted_attribute(&query)
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto\"><h1>{title}</h1>{body}</body></html>"
    );
    Response::builder()
        .status(status)
        .header(http::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::Text(html))
        .expect("status and header are valid")
}

fn main() -> Result<(), shared::http::Error> {
    shared::http::run(|app, request| Box::pin(handle(app, request)))
}
