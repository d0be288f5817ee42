//! API Gateway's `AWS_IAM` authorization, on one machine: a request to a route the template
//! marks `Authorizer: AWS_IAM` must carry a Signature Version 4 of itself (method, path,
//! query, the headers it names, its body) made with the access key given on the command line,
//! within five minutes of now. The signature is computed again with the `aws-sigv4` crate,
//! the signer the SDKs use, and compared in constant time; a refusal is API Gateway's 403.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use subtle::ConstantTimeEq;

/// How far a request's `X-Amz-Date` may be from the gateway's clock.
pub const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The one key pair the gateway accepts, as `ACCESS_KEY_ID:SECRET_ACCESS_KEY`.
#[derive(Clone)]
pub struct PlatformKey {
    access_key_id: String,
    secret: String,
}

// The secret stays out of any log or error.
impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlatformKey({}, secret hidden)", self.access_key_id)
    }
}

impl std::str::FromStr for PlatformKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(PlatformKey { access_key_id: id.to_owned(), secret: secret.to_owned() })
            }
            _ => Err("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".into()),
        }
    }
}

/// Why a request is refused, worded as API Gateway words it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    UnknownKey,
    Expired,
    Mismatch,
}

impl Refusal {
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Missing => "Missing Authentication Token",
            Refusal::UnknownKey => "The security token included in the request is invalid.",
            Refusal::Expired => "Signature expired: the request's date is more than 5 minutes from the server's time.",
            Refusal::Mismatch => {
                "The request signature we calculated does not match the signature you provided. Check your AWS \
                 Secret Access Key and signing method. Consult the service documentation for details."
            }
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
struct Presented<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn presented(authorization: &str) -> Option<Presented<'_>> {
    let fields = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let field = |name: &str| {
        fields.split(',').map(str::trim).find_map(|field| field.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    let mut scope = field("Credential")?.split('/');
    let (access_key_id, date, region, service) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if scope.next() != Some("aws4_request") || scope.next().is_some() {
        return None;
    }
    let signed_headers = field("SignedHeaders")?.split(';').collect();
    Some(Presented { access_key_id, date, region, service, signed_headers, signature: field("Signature")? })
}

/// `20261202T101500Z` as an instant.
fn amz_date(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    Some(SystemTime::from(at))
}

impl PlatformKey {
    /// Whether the request (`uri`: its path and query as sent) is signed with this key.
    pub fn verify(
        &self,
        method: &str,
        uri: &str,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let authorization = header("authorization").ok_or(Refusal::Missing)?;
        let presented = presented(authorization).ok_or(Refusal::Missing)?;
        if presented.access_key_id != self.access_key_id {
            return Err(Refusal::UnknownKey);
        }
        let date = header("x-amz-date").ok_or(Refusal::Mismatch)?;
        let signed_at = amz_date(date).ok_or(Refusal::Mismatch)?;
        let skew = now.duration_since(signed_at).unwrap_or_else(|early| early.duration());
        if skew > CLOCK_SKEW {
            return Err(Refusal::Expired);
        }
        let signs_host_and_date = ["host", "x-amz-date"].iter().all(|h| presented.signed_headers.contains(h));
        if !date.starts_with(presented.date) || presented.service != "execute-api" || !signs_host_and_date {
            return Err(Refusal::Mismatch);
        }
        let mut signed = Vec::new();
        for name in &presented.signed_headers {
            signed.push((*name, header(name).ok_or(Refusal::Mismatch)?));
        }
        let identity = Credentials::new(&self.access_key_id, &self.secret, None, None, "local-gateway").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(presented.region)
            .name("execute-api")
            .time(signed_at)
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| Refusal::Mismatch)?
            .into();
        let request = SignableRequest::new(method, uri, signed.into_iter(), SignableBody::Bytes(body))
            .map_err(|_| Refusal::Mismatch)?;
        let expected = sign(request, &params).map_err(|_| Refusal::Mismatch)?;
        let matches: bool = expected.signature().as_bytes().ct_eq(presented.signature.as_bytes()).into();
        if matches { Ok(()) } else { Err(Refusal::Mismatch) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs as an SDK would, with the same crate: what the end-to-end tests do over HTTP.
    fn signed(key: (&str, &str), method: &str, uri: &str, body: &[u8], at: SystemTime) -> http::HeaderMap {
        let identity = Credentials::new(key.0, key.1, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("execute-api")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("host", "api.local"), ("content-type", "application/json")];
        let request = SignableRequest::new(method, uri, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
        let mut built = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            built = built.header(name, value);
        }
        let mut built = built.body(()).unwrap();
        sign(request, &params).unwrap().into_parts().0.apply_to_request_http1x(&mut built);
        built.headers().clone()
    }

    #[test]
    fn only_the_request_signed_with_the_key_within_the_window_passes() {
        let key: PlatformKey = "AKIDLOCAL:local-secret".parse().unwrap();
        let now = SystemTime::now();
        let uri = "/v1/platform/stores/";
        let body = br#"{"stores": []}"#;
        let good = signed(("AKIDLOCAL", "local-secret"), "POST", uri, body, now);
        assert_eq!(key.verify("POST", uri, &good, body, now), Ok(()));
        let verify =
            |headers: &http::HeaderMap, uri: &str, body: &[u8], now| key.verify("POST", uri, headers, body, now);
        assert_eq!(verify(&good, uri, br#"{"stores": [1]}"#, now), Err(Refusal::Mismatch), "another body");
        assert_eq!(verify(&good, "/v1/platform/admins/", body, now), Err(Refusal::Mismatch), "another path");
        let late = now + CLOCK_SKEW + Duration::from_secs(1);
        assert_eq!(verify(&good, uri, body, late), Err(Refusal::Expired), "stale");
        let wrong_secret = signed(("AKIDLOCAL", "another-secret"), "POST", uri, body, now);
        assert_eq!(verify(&wrong_secret, uri, body, now), Err(Refusal::Mismatch));
        let other_key = signed(("AKIDOTHER", "local-secret"), "POST", uri, body, now);
        assert_eq!(verify(&other_key, uri, body, now), Err(Refusal::UnknownKey));
        assert_eq!(verify(&http::HeaderMap::new(), uri, body, now), Err(Refusal::Missing));
    }
}
