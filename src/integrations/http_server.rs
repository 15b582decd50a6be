//! A Step Functions API on a socket: HTTP/1.1, `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>`. Any credentials are
//! accepted; nothing is authenticated. Serves the full local endpoint
//! (`sfn-harness serve`) or just a token registry (for worker containers).

use super::aws_json::{error_response, Caller, SfnApi};
use crate::time::Wall;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body accepted: a definition of AWS's 1,048,576
/// characters, each escaped in JSON as `\uXXXX`, plus headroom. What a
/// request may hold is then checked field by field.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How long a client may take over what it sends.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// To send a request's headers (default 10 s); then the connection closes.
    pub header_read_timeout: Duration,
    /// To send a request's body (default 30 s); then it gets a 400.
    pub body_read_timeout: Duration,
    /// The real time these are measured in, and the accept loop's back-off
    /// when the process runs out of descriptors.
    pub wall: Wall,
    /// Connections kept open at most (default 512): past it, and when the
    /// process runs out of descriptors, the oldest idle connection (one
    /// not serving a request: a keep-alive, or a request half sent) is
    /// closed so a new client is served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            wall: Wall::system(),
            max_connections: 512,
        }
    }
}

/// A running server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `http://ADDR` for SDK clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections.
    pub fn shutdown(self) {
        self.handle.abort();
    }

    /// Serves until the process ends.
    pub async fn wait(mut self) {
        let handle = std::mem::replace(&mut self.handle, tokio::spawn(async {}));
        let _ = handle.await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Serves only `tokens`' SendTaskSuccess / SendTaskFailure /
/// SendTaskHeartbeat: the callback endpoint worker containers reach.
/// Binds `addr` (port 0 picks a free one).
pub async fn serve_tokens(
    tokens: Arc<super::tokens::TokenRegistry>,
    addr: SocketAddr,
) -> std::io::Result<Server> {
    serve(tokens, addr, Limits::default()).await
}

/// Binds `addr` (port 0 picks a free one) and serves `api`.
pub(crate) async fn serve(
    api: Arc<dyn SfnApi>,
    addr: SocketAddr,
    limits: Limits,
) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let limits = Arc::new(limits);
    let conns = Arc::new(Connections::default());
    let handle = tokio::spawn(async move {
        let mut backoff = BACKOFF_MIN;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    backoff = BACKOFF_MIN;
                    stream
                }
                // out of descriptors: free one held by an idle client and try
                // again at once; with none to free (or another passing
                // error), wait before trying again, so the loop does not spin
                Err(_) => {
                    if !conns.shed_oldest_idle() {
                        limits.wall.sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                    continue;
                }
            };
            if conns.len() >= limits.max_connections {
                conns.shed_oldest_idle();
            }
            let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let id = conns.open(busy.clone());
            let (ep, limits, done) = (api.clone(), limits.clone(), conns.clone());
            let task = tokio::spawn(async move {
                let header_read_timeout = limits.header_read_timeout;
                let svc = hyper::service::service_fn(move |req| {
                    let (ep, limits, busy) = (ep.clone(), limits.clone(), busy.clone());
                    async move {
                        busy.store(true, std::sync::atomic::Ordering::SeqCst);
                        let out = respond(&ep, req, &limits).await;
                        busy.store(false, std::sync::atomic::Ordering::SeqCst);
                        Ok::<_, std::convert::Infallible>(out)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_read_timeout)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
                done.close(id);
            });
            conns.started(id, task.abort_handle());
        }
    });
    Ok(Server { addr, handle })
}

/// The open connections, oldest first: whether each is serving a request,
/// and how to close it.
#[derive(Default)]
struct Connections {
    inner: std::sync::Mutex<ConnectionsInner>,
}

#[derive(Default)]
struct ConnectionsInner {
    next: u64,
    open: std::collections::BTreeMap<
        u64,
        (Arc<std::sync::atomic::AtomicBool>, Option<tokio::task::AbortHandle>),
    >,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, ConnectionsInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().open.len()
    }

    fn open(&self, busy: Arc<std::sync::atomic::AtomicBool>) -> u64 {
        let mut c = self.lock();
        c.next += 1;
        let id = c.next;
        c.open.insert(id, (busy, None));
        id
    }

    /// The connection's task is running (it may have ended already).
    fn started(&self, id: u64, task: tokio::task::AbortHandle) {
        if let Some(slot) = self.lock().open.get_mut(&id) {
            slot.1 = Some(task);
        }
    }

    fn close(&self, id: u64) {
        self.lock().open.remove(&id);
    }

    /// Closes the oldest connection that is not serving a request; whether
    /// there was one.
    fn shed_oldest_idle(&self) -> bool {
        let mut c = self.lock();
        let idle = c.open.iter().find_map(|(id, (busy, task))| {
            (!busy.load(std::sync::atomic::Ordering::SeqCst) && task.is_some()).then_some(*id)
        });
        match idle.and_then(|id| c.open.remove(&id)) {
            Some((_, Some(task))) => {
                task.abort();
                true
            }
            _ => false,
        }
    }
}

/// The accept loop's first and longest wait after a failed accept.
const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

async fn respond(
    ep: &Arc<dyn SfnApi>,
    req: Request<Incoming>,
    limits: &Limits,
) -> Response<Full<Bytes>> {
    let target =
        req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let method = req.method().clone();
    let caller = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(Caller::from_authorization)
        .unwrap_or_default();
    let (status, body) = match target.strip_prefix("AWSStepFunctions.") {
        // the API is POST only
        _ if method != hyper::Method::POST => {
            let (_, body) = error_response("UnknownOperationException", &format!("{method} is not served: the Step Functions API takes POST"));
            (405, body)
        }
        None => error_response("UnknownOperationException", &format!("missing or unknown X-Amz-Target '{target}' (expected AWSStepFunctions.<Operation>)")),
        Some(op) => {
            let deadline = limits.wall.now() + limits.body_read_timeout;
            match limits.wall.timeout_at(deadline, Limited::new(req.into_body(), MAX_BODY).collect()).await {
                Some(Ok(b)) => ep.handle_as(op, &b.to_bytes(), &caller).await,
                Some(Err(e)) => error_response("ValidationException", &format!("the request body could not be read: {e}")),
                None => error_response("RequestTimeoutException", "the request body did not arrive in time"),
            }
        }
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", request_id())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A request id of its own for every response (AWS's shape: a UUID).
fn request_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::rng::Rng::new(crate::rng::stable_hash(&n.to_le_bytes())).uuid()
}
