//! A platform's identity provider, as the tests need one: RSA and EC P-256 keys generated
//! for the run (with aws-lc-rs), a JWKS served over HTTP that a test can rotate keys into,
//! an HS256 secret it shares through Secrets Manager (moto) and rotates there, and JWTs
//! signed with `jsonwebtoken`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://id.platform.test/";
pub const AUDIENCE: &str = "support-chat";

/// The provider's signing keys by key id, and the ones its JWKS publishes.
pub struct IdentityProvider {
    pub jwks_url: String,
    keys: BTreeMap<String, (Algorithm, EncodingKey)>,
    published: Arc<Mutex<Vec<Jwk>>>,
    hs256: Option<SharedSecret>,
}

/// The HS256 secret in Secrets Manager: its ARN, and every value it was given, newest last.
struct SharedSecret {
    arn: String,
    client: aws_sdk_secretsmanager::Client,
    values: Vec<String>,
}

/// 48 random bytes, in hex: what a provider would generate.
fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rsa_key() -> EncodingKey {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("its PKCS#8");
    let text = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = text.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("an RSA PEM")
}

fn ec_key() -> EncodingKey {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("a P-256 key");
    EncodingKey::from_ec_der(pkcs8.as_ref())
}

impl IdentityProvider {
    /// Serves an empty JWKS on 127.0.0.1; keys are made with [`Self::add_key`].
    pub async fn start() -> Self {
        let published: Arc<Mutex<Vec<Jwk>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let jwks_url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let serving = published.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let keys = serving.clone();
                let service = service_fn(move |_request| {
                    let set = JwkSet { keys: keys.lock().unwrap().clone() };
                    let body = serde_json::to_vec(&set).unwrap();
                    async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body)))) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        IdentityProvider { jwks_url, keys: BTreeMap::new(), published, hs256: None }
    }

    /// Shares a new HS256 secret through the Secrets Manager of the test binary's moto.
    pub async fn share_hs256_secret(&mut self) {
        let client = aws_sdk_secretsmanager::Client::new(&crate::stack::moto_sdk());
        let value = random_secret();
        let name = crate::stack::unique_name("jwt-hs256");
        let created = client.create_secret().name(name).secret_string(&value).send().await.expect("a secret");
        let arn = created.arn.expect("its ARN");
        self.hs256 = Some(SharedSecret { arn, client, values: vec![value] });
    }

    /// Gives the HS256 secret a new value: the old one becomes its previous version.
    pub async fn rotate_hs256_secret(&mut self) {
        let secret = self.hs256.as_mut().expect("a shared secret");
        let value = random_secret();
        let put = secret.client.put_secret_value().secret_id(&secret.arn).secret_string(&value);
        put.send().await.expect("a new version");
        secret.values.push(value);
    }

    /// A JWT signed with HS256 by the secret's value `age` rotations ago (0: the current).
    pub fn sign_hs256(&self, age: usize, claims: Value) -> String {
        let values = &self.hs256.as_ref().expect("a shared secret").values;
        let key = EncodingKey::from_secret(values[values.len() - 1 - age].as_bytes()).unwrap();
        encode(&Header::new(Algorithm::HS256), &self.claims(claims), &key).unwrap()
    }

    /// A new key `kid` for `alg` (RS256 or ES256), published in the JWKS if `publish`.
    pub fn add_key(&mut self, kid: &str, alg: Algorithm, publish: bool) {
        let key = match alg {
            Algorithm::RS256 => rsa_key(),
            Algorithm::ES256 => ec_key(),
            other => panic!("no {other:?} keys here"),
        };
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        if publish {
            self.published.lock().unwrap().push(jwk);
        }
        self.keys.insert(kid.to_owned(), (alg, key));
    }

    /// Publishes the key `kid` made earlier: a rotation.
    pub fn publish(&self, kid: &str) {
        let (alg, key) = &self.keys[kid];
        let mut jwk = Jwk::from_encoding_key(key, *alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        self.published.lock().unwrap().push(jwk);
    }

    /// The public half of `kid`, as its JWKS shows it.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let (alg, key) = &self.keys[kid];
        serde_json::to_value(Jwk::from_encoding_key(key, *alg).unwrap()).unwrap()
    }

    /// A JWT signed by `kid`, with `claims` over the valid defaults (`iss`, `aud`, `iat`,
    /// `exp` in an hour); a claim set to `null` is left out.
    pub fn sign(&self, kid: &str, claims: Value) -> String {
        let (alg, key) = &self.keys[kid];
        let mut header = Header::new(*alg);
        header.kid = Some(kid.to_owned());
        encode(&header, &self.claims(claims), key).unwrap()
    }

    /// The valid default claims, overridden by `claims`.
    pub fn claims(&self, claims: Value) -> Value {
        let now = shared::Timestamp::now().unix_seconds();
        let mut all = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600});
        for (name, value) in claims.as_object().unwrap() {
            match value {
                Value::Null => all.as_object_mut().unwrap().remove(name),
                value => all.as_object_mut().unwrap().insert(name.clone(), value.clone()),
            };
        }
        all
    }

    /// The gateway's options that trust this provider.
    pub fn gateway_args(&self) -> Vec<String> {
        let mut args = ["--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE, "--jwt-jwks-url", &self.jwks_url]
            .map(str::to_owned)
            .to_vec();
        if let Some(secret) = &self.hs256 {
            args.extend(["--jwt-hs256-secret-arn".to_owned(), secret.arn.clone()]);
            args.extend(["--secrets-manager-endpoint".to_owned(), crate::stack::moto().endpoint()]);
        }
        args
    }
}
