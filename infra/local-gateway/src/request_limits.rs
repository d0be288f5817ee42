//! API Gateway's limits on a request's URL and headers, for both ports. The gateway checks
//! them itself so that a request over them gets a JSON answer like the gateway's other own
//! answers: the HTTP library answers requests over its own limits by itself, with an empty
//! body, so those are set far above API Gateway's.

use http::{HeaderMap, StatusCode, Uri};
use hyper::server::conn::http1;

/// API Gateway's limit on the request URL (path and query).
const MAX_URI_BYTES: usize = 8 * 1024;
/// API Gateway's limit on the request headers, counted as [`header_bytes`] counts them.
const MAX_HEADER_BYTES: usize = 10 * 1024;
/// The bytes the smallest header counts for: a one-letter name, an empty value, and `: `
/// and CRLF around them.
const SMALLEST_HEADER_BYTES: usize = 5;
/// The connection's read buffer, which must hold a request's whole head: past it the HTTP
/// library answers 431 by itself. Its URL limit, 64 KB, cannot be raised.
const MAX_READ_BUFFER_BYTES: usize = 1024 * 1024;
/// As many headers as fit within [`MAX_HEADER_BYTES`]: a request the HTTP library refuses
/// for having more is over API Gateway's limit anyway, and none within it is refused.
const MAX_HEADERS: usize = MAX_HEADER_BYTES / SMALLEST_HEADER_BYTES;

/// An HTTP/1 connection builder whose own limits lie beyond API Gateway's.
pub fn http1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.max_buf_size(MAX_READ_BUFFER_BYTES).max_headers(MAX_HEADERS);
    builder
}

/// The status and message API Gateway answers a request over its limits with; `None` for
/// a request within them.
pub fn exceeded(uri: &Uri, headers: &HeaderMap) -> Option<(StatusCode, &'static str)> {
    if uri.to_string().len() > MAX_URI_BYTES {
        return Some((StatusCode::URI_TOO_LONG, "Request-URI Too Long"));
    }
    if header_bytes(headers) > MAX_HEADER_BYTES {
        return Some((StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large"));
    }
    None
}

/// The bytes of the headers as they came: `name: value\r\n` each.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn uri_of_length(bytes: usize) -> Uri {
        format!("/?q={}", "x".repeat(bytes - "/?q=".len())).parse().unwrap()
    }

    /// One `x-big` header counting `bytes` in all.
    fn headers_of_size(bytes: usize) -> HeaderMap {
        let value = "x".repeat(bytes - "x-big: \r\n".len());
        HeaderMap::from_iter([(http::HeaderName::from_static("x-big"), HeaderValue::from_str(&value).unwrap())])
    }

    #[test]
    fn a_url_is_refused_one_byte_past_8_kb() {
        let headers = HeaderMap::new();
        assert_eq!(exceeded(&uri_of_length(MAX_URI_BYTES), &headers), None);
        let refused = exceeded(&uri_of_length(MAX_URI_BYTES + 1), &headers);
        assert_eq!(refused, Some((StatusCode::URI_TOO_LONG, "Request-URI Too Long")));
    }

    #[test]
    fn headers_are_refused_one_byte_past_10_kb() {
        let uri = Uri::from_static("/");
        assert_eq!(exceeded(&uri, &headers_of_size(MAX_HEADER_BYTES)), None);
        let refused = exceeded(&uri, &headers_of_size(MAX_HEADER_BYTES + 1));
        assert_eq!(refused, Some((StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large")));
    }

    #[test]
    fn more_headers_than_the_connection_takes_are_over_the_limit() {
        let smallest = (http::HeaderName::from_static("a"), HeaderValue::from_static(""));
        let headers = HeaderMap::from_iter(std::iter::repeat_n(smallest, MAX_HEADERS + 1));
        assert_eq!(headers.len(), MAX_HEADERS + 1);
        assert!(header_bytes(&headers) > MAX_HEADER_BYTES);
    }
}
