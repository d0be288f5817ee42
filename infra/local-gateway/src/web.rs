//! The browser clients, served as their static host would serve them (in AWS, a bucket
//! behind CloudFront): the page at `/` that leads to the store widget's demo and the admin
//! inbox, and their files, compiled into the gateway. `/config.json` tells the pages where the
//! APIs are (as the one uploaded beside them in AWS does) and, when the gateway made the demo
//! identities, their tokens, so that a person can chat at once; with a seed file it names
//! none.

use http::{Method, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::json;
use shared::identities::SeedFile;

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const WIDGET: &str = "/widget/support-chat.js";

/// Path, type and content of every file.
const FILES: [(&str, &str, &[u8]); 11] = [
    ("/", HTML, include_bytes!("../../../web/index.html")),
    (WIDGET, JAVASCRIPT, include_bytes!("../../../web/widget/support-chat.js")),
    ("/widget/demo.html", HTML, include_bytes!("../../../web/widget/demo.html")),
    ("/inbox/", HTML, include_bytes!("../../../web/inbox/index.html")),
    ("/inbox/index.html", HTML, include_bytes!("../../../web/inbox/index.html")),
    ("/inbox/inbox.js", JAVASCRIPT, include_bytes!("../../../web/inbox/inbox.js")),
    ("/inbox/inbox.css", CSS, include_bytes!("../../../web/inbox/inbox.css")),
    ("/inbox/dom.js", JAVASCRIPT, include_bytes!("../../../web/inbox/dom.js")),
    ("/inbox/replies.js", JAVASCRIPT, include_bytes!("../../../web/inbox/replies.js")),
    ("/inbox/context.js", JAVASCRIPT, include_bytes!("../../../web/inbox/context.js")),
    ("/inbox/reports.js", JAVASCRIPT, include_bytes!("../../../web/inbox/reports.js")),
];

pub struct Web {
    config: Bytes,
}

impl Web {
    /// The clients of the HTTP API at `api` and the WebSocket API at `ws`; `demo` names the
    /// identities whose tokens the pages may start with.
    pub fn new(api: &str, ws: &str, demo: Option<&SeedFile>) -> Self {
        let mut config = json!({"api": api, "ws": ws});
        if let Some(demo) = demo
            && let (Some(store), Some(admin)) = (demo.stores.first(), demo.admins.first())
        {
            config["store_id"] = json!(store.profile.id);
            config["store_token"] = json!(store.token);
            config["admin_id"] = json!(admin.profile.id);
            config["admin_token"] = json!(admin.token);
        }
        Web { config: Bytes::from(config.to_string()) }
    }

    /// The file at `path`, to a `GET` or `HEAD`; `None` when there is none.
    pub fn answer(&self, method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let (content_type, body) = match path {
            "/config.json" => ("application/json", self.config.clone()),
            _ => FILES.iter().find(|(at, ..)| *at == path).map(|(_, kind, body)| (*kind, Bytes::from_static(body)))?,
        };
        let body = if method == Method::HEAD { Bytes::new() } else { body };
        let mut response = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CACHE_CONTROL, "no-cache")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        // Stores' pages load the widget as a module script, which a browser fetches with CORS.
        if path == WIDGET {
            response = response.header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        }
        Some(response.body(Full::new(body)).expect("status and headers are valid"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_by_path_and_the_demo_identities() {
        let identities = SeedFile::demo();
        let web = Web::new("http://127.0.0.1:3000", "ws://127.0.0.1:3001/local", Some(&identities));
        let page = web.answer(&Method::GET, "/").unwrap();
        assert_eq!(page.headers()[header::CONTENT_TYPE], HTML);
        let script = web.answer(&Method::GET, "/widget/support-chat.js").unwrap();
        assert_eq!(script.headers()[header::CONTENT_TYPE], JAVASCRIPT);
        assert_eq!(script.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "any page may embed the widget");
        assert!(web.answer(&Method::POST, "/").is_none());
        assert!(web.answer(&Method::GET, "/widget/missing.js").is_none());
        let demo = web.answer(&Method::GET, "/config.json").unwrap();
        assert!(demo.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "no other site reads the tokens");
        let config: serde_json::Value = serde_json::from_slice(&body_of(demo)).unwrap();
        assert_eq!(config["api"], "http://127.0.0.1:3000");
        assert_eq!(config["store_token"], json!(identities.stores[0].token));
        let seeded = Web::new("http://127.0.0.1:3000", "ws://127.0.0.1:3001/local", None);
        let config: serde_json::Value =
            serde_json::from_slice(&body_of(seeded.answer(&Method::GET, "/config.json").unwrap())).unwrap();
        assert!(config.get("store_token").is_none(), "no tokens without demo identities");
    }

    fn body_of(response: Response<Full<Bytes>>) -> Vec<u8> {
        use http_body_util::BodyExt;
        let collected = futures::executor::block_on(response.into_body().collect()).unwrap();
        collected.to_bytes().to_vec()
    }
}
