//! CORS as API Gateway applies an HTTP API's `CorsConfiguration`: it answers preflight
//! requests itself, route or no route, and puts the configured headers on the answers to
//! cross-origin requests, in place of any the function returned. A request without `Origin`
//! gets none.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use sam_template::CorsConfiguration;

pub struct Cors {
    config: CorsConfiguration,
}

impl Cors {
    pub fn new(config: CorsConfiguration) -> Self {
        Cors { config }
    }

    /// The value of `Access-Control-Allow-Origin` for `origin`, if it is allowed.
    fn allowed_origin(&self, origin: &str) -> Option<HeaderValue> {
        let allowed = self.config.allow_origins.iter().any(|pattern| match pattern.as_str() {
            "*" => true,
            "https://*" => origin.starts_with("https://"),
            "http://*" => origin.starts_with("http://"),
            exact => exact.eq_ignore_ascii_case(origin),
        });
        if !allowed {
            return None;
        }
        if self.config.allow_origins.iter().any(|pattern| pattern == "*") && !self.config.allow_credentials {
            return Some(HeaderValue::from_static("*"));
        }
        HeaderValue::from_str(origin).ok()
    }

    /// API Gateway's own answer to a preflight request (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`); `None` for any other request.
    pub fn preflight<B: Default>(&self, method: &Method, headers: &HeaderMap) -> Option<Response<B>> {
        if method != Method::OPTIONS || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        let origin = headers.get(ORIGIN)?.to_str().ok()?;
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let requested = headers.get(ACCESS_CONTROL_REQUEST_METHOD).and_then(|m| m.to_str().ok()).unwrap_or_default();
        let method_allowed = self.config.allow_methods.iter().any(|m| m == "*" || m.eq_ignore_ascii_case(requested));
        // A preflight that is not allowed gets no CORS headers: the browser refuses the call.
        let Some(allow_origin) = self.allowed_origin(origin).filter(|_| method_allowed) else {
            return Some(response);
        };
        let answer = response.headers_mut();
        answer.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        let joined = |items: &[String]| (!items.is_empty()).then(|| items.join(","));
        if let Some(methods) = joined(&self.config.allow_methods).and_then(|m| HeaderValue::from_str(&m).ok()) {
            answer.insert(ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
        let allowed = joined(&self.config.allow_headers).map(|h| h.to_ascii_lowercase());
        if let Some(allowed) = allowed.and_then(|h| HeaderValue::from_str(&h).ok()) {
            answer.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed);
        }
        if let Some(max_age) = self.config.max_age {
            answer.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
        self.credentials_and_vary(answer);
        Some(response)
    }

    /// Puts the configured headers on the answer to a request from `Origin`, replacing any
    /// CORS headers the function set.
    pub fn decorate<B>(&self, request: &HeaderMap, response: &mut Response<B>) {
        let answer = response.headers_mut();
        for name in [
            ACCESS_CONTROL_ALLOW_ORIGIN,
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            ACCESS_CONTROL_EXPOSE_HEADERS,
            ACCESS_CONTROL_ALLOW_METHODS,
            ACCESS_CONTROL_ALLOW_HEADERS,
            ACCESS_CONTROL_MAX_AGE,
        ] {
            answer.remove(name);
        }
        let Some(allow_origin) = request.get(ORIGIN).and_then(|o| o.to_str().ok()).and_then(|o| self.allowed_origin(o))
        else {
            return;
        };
        answer.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if !self.config.expose_headers.is_empty()
            && let Ok(exposed) = HeaderValue::from_str(&self.config.expose_headers.join(","))
        {
            answer.insert(ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
        }
        self.credentials_and_vary(answer);
    }

    fn credentials_and_vary(&self, answer: &mut HeaderMap) {
        if self.config.allow_credentials {
            answer.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        // An answer that names the origin differs by origin, for caches too.
        if answer.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_some_and(|origin| origin != "*") {
            answer.append(VARY, HeaderValue::from_static("origin"));
        }
    }
}

/// The attachments bucket's CORS rule, as S3 applies it: browsers upload and download
/// straight to and from the bucket.
impl s3_local::Cors for Cors {
    fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<s3s::Body>> {
        Cors::preflight(self, method, headers)
    }

    fn decorate(&self, request: &HeaderMap, response: &mut Response<s3s::Body>) {
        Cors::decorate(self, request, response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors::new(CorsConfiguration {
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            allow_headers: vec!["Authorization".into(), "Content-Type".into()],
            allow_methods: vec!["GET".into(), "POST".into(), "OPTIONS".into()],
            max_age: Some(600),
            ..CorsConfiguration::default()
        })
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_str(value).unwrap())).collect()
    }

    fn header<'a, B>(response: &'a Response<B>, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn a_preflight_is_answered_with_the_configuration() {
        let request = headers(&[("origin", "https://shop.example"), ("access-control-request-method", "POST")]);
        let answer: Response<()> = cors(&["*"]).preflight(&Method::OPTIONS, &request).unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(header(&answer, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&answer, "access-control-allow-methods"), Some("GET,POST,OPTIONS"));
        assert_eq!(header(&answer, "access-control-allow-headers"), Some("authorization,content-type"));
        assert_eq!(header(&answer, "access-control-max-age"), Some("600"));

        let listed = cors(&["https://shop.example"]);
        let answer: Response<()> = listed.preflight(&Method::OPTIONS, &request).unwrap();
        assert_eq!(header(&answer, "access-control-allow-origin"), Some("https://shop.example"));
        assert_eq!(header(&answer, "vary"), Some("origin"));
        let elsewhere = headers(&[("origin", "https://evil.example"), ("access-control-request-method", "POST")]);
        let refused: Response<()> = listed.preflight(&Method::OPTIONS, &elsewhere).unwrap();
        assert_eq!((refused.status(), header(&refused, "access-control-allow-origin")), (StatusCode::NO_CONTENT, None));
        let delete = headers(&[("origin", "https://shop.example"), ("access-control-request-method", "DELETE")]);
        let refused: Response<()> = listed.preflight(&Method::OPTIONS, &delete).unwrap();
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
    }

    #[test]
    fn only_a_preflight_is_a_preflight() {
        let cors = cors(&["*"]);
        let origin_only = headers(&[("origin", "https://shop.example")]);
        assert!(cors.preflight::<()>(&Method::OPTIONS, &origin_only).is_none());
        let no_origin = headers(&[("access-control-request-method", "GET")]);
        assert!(cors.preflight::<()>(&Method::OPTIONS, &no_origin).is_none());
        let get = headers(&[("origin", "https://shop.example"), ("access-control-request-method", "GET")]);
        assert!(cors.preflight::<()>(&Method::GET, &get).is_none());
    }

    #[test]
    fn an_answer_carries_the_configured_headers_in_place_of_the_functions() {
        let mut answer = Response::new(());
        answer.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("https://other.example"));
        cors(&["https://*"]).decorate(&headers(&[("origin", "https://shop.example")]), &mut answer);
        assert_eq!(header(&answer, "access-control-allow-origin"), Some("https://shop.example"));

        let mut answer = Response::new(());
        answer.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        cors(&["https://*"]).decorate(&headers(&[("origin", "http://shop.example")]), &mut answer);
        assert_eq!(header(&answer, "access-control-allow-origin"), None, "not an allowed origin");

        let mut answer = Response::new(());
        cors(&["*"]).decorate(&HeaderMap::new(), &mut answer);
        assert_eq!(header(&answer, "access-control-allow-origin"), None, "no Origin, no CORS headers");
    }
}
