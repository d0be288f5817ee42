//! A real S3 API on one machine: `s3s-fs` serves the S3 protocol over a directory of its
//! own and checks every request's SigV4 signature, in headers or in a presigned URL (expiry
//! included), against one key pair. What the local stack runs where AWS has S3.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use http::{HeaderMap, Method, Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The key pair requests must be signed with.
pub const ACCESS_KEY_ID: &str = "local";
pub const SECRET_ACCESS_KEY: &str = "local";
/// The region signatures name.
pub const REGION: &str = "us-east-1";

/// Answers browsers' cross-origin requests as S3 does for a bucket's CORS rule: preflight
/// requests before the server sees them, and the server's answers with the rule's headers.
pub trait Cors: Send + Sync + 'static {
    /// The answer to a preflight request; `None` for any other request.
    fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<s3s::Body>>;
    /// Puts the rule's headers on the answer to a request with `request`'s headers.
    fn decorate(&self, request: &HeaderMap, response: &mut Response<s3s::Body>);
}

/// A running server; stopped, and its data removed, when dropped.
pub struct S3Local {
    address: SocketAddr,
    root: PathBuf,
    server: JoinHandle<()>,
}

impl S3Local {
    /// Serves an empty store on 127.0.0.1, on `port` when one is given, else on a free one.
    pub async fn start(port: Option<u16>) -> std::io::Result<Self> {
        Self::serve(port, None).await
    }

    /// As [`Self::start`], answering browsers as `cors` says.
    pub async fn start_with_cors(port: Option<u16>, cors: Arc<dyn Cors>) -> std::io::Result<Self> {
        Self::serve(port, Some(cors)).await
    }

    async fn serve(port: Option<u16>, cors: Option<Arc<dyn Cors>>) -> std::io::Result<Self> {
        let root = std::env::temp_dir().join(format!("s3-local-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&root)?;
        let store = s3s_fs::FileSystem::new(&root).map_err(|error| std::io::Error::other(format!("{error:?}")))?;
        let mut service = S3ServiceBuilder::new(store);
        service.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        let service = service.build();
        let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0))).await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (service, cors) = (service.clone(), cors.clone());
                let front = service_fn(move |request: Request<Incoming>| {
                    let (service, cors) = (service.clone(), cors.clone());
                    async move {
                        let Some(cors) = cors else {
                            return service.call(request.map(s3s::Body::from)).await;
                        };
                        if let Some(answer) = cors.preflight(request.method(), request.headers()) {
                            return Ok(answer);
                        }
                        let headers = request.headers().clone();
                        let mut answer = service.call(request.map(s3s::Body::from)).await?;
                        cors.decorate(&headers, &mut answer);
                        Ok(answer)
                    }
                });
                tokio::spawn(async move {
                    let connection = ConnectionBuilder::new(TokioExecutor::new());
                    let _ = connection.serve_connection(TokioIo::new(stream), front).await;
                });
            }
        });
        Ok(S3Local { address, root, server })
    }

    /// The URL to give an S3 client as its endpoint (path-style addressing).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for S3Local {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A number no other server of this process has taken.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
