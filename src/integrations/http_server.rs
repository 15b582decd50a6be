//! A Step Functions API on a socket: HTTP/1.1, `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>`. Any credentials are
//! accepted; nothing is authenticated. Serves the full local endpoint
//! (`sfn-harness serve`) or just a token registry (for worker containers).

use super::aws_json::{error_response, SfnApi};
use std::sync::Arc;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::net::SocketAddr;

/// Largest request body accepted (AWS's payload quota plus headroom).
const MAX_BODY: usize = 1024 * 1024;

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
pub async fn serve_tokens(tokens: Arc<super::tokens::TokenRegistry>, addr: SocketAddr) -> std::io::Result<Server> {
    serve(tokens, addr).await
}

/// Binds `addr` (port 0 picks a free one) and serves `api`.
pub async fn serve(api: Arc<dyn SfnApi>, addr: SocketAddr) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let ep = api.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let ep = ep.clone();
                    async move { Ok::<_, std::convert::Infallible>(respond(&ep, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(Server { addr, handle })
}

async fn respond(ep: &Arc<dyn SfnApi>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (status, body) = match target.strip_prefix("AWSStepFunctions.") {
        None if req.method() == hyper::Method::GET => (200, br#"{"service":"sfn-harness"}"#.to_vec()),
        None => error_response("UnknownOperationException", &format!("missing or unknown X-Amz-Target '{target}' (expected AWSStepFunctions.<Operation>)")),
        Some(op) => match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => ep.handle(op, &b.to_bytes()).await,
            Err(e) => error_response("ValidationException", &format!("the request body could not be read: {e}")),
        },
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "00000000-0000-4000-8000-000000000000")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
