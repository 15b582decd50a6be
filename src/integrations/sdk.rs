//! Wiring real AWS SDK clients: an in-process connector that serves Step
//! Functions requests without a socket (so a worker's `aws_sdk_sfn::Client`
//! reaches the token registry through the SDK's real serialization), and a
//! plain-HTTP connector for ECS-compatible endpoints (no TLS stack needed).

use super::aws_json::SfnApi;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
struct InProcess(Arc<dyn SfnApi>);

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InProcess")
    }
}

impl HttpConnector for InProcess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or("").to_string();
        let op = target.rsplit('.').next().unwrap_or("").to_string();
        let body = request.body().bytes().unwrap_or_default().to_vec();
        let api = self.0.clone();
        HttpConnectorFuture::new(async move {
            let (status, bytes) = api.handle(&op, &body).await;
            let status = StatusCode::try_from(status)
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            let mut resp = HttpResponse::new(status, SdkBody::from(bytes));
            resp.headers_mut().insert("content-type", "application/x-amz-json-1.0");
            Ok(resp)
        })
    }
}

/// The one configuration every SDK client the harness builds shares: static
/// test credentials, `region`, `endpoint_url`, and the HTTP client `http`.
fn sdk_config(endpoint_url: &str, region: &str, http: SharedHttpClient) -> aws_types::SdkConfig {
    let credentials = aws_credential_types::Credentials::new(
        "sfn-harness",
        "sfn-harness",
        None,
        None,
        "sfn-harness",
    );
    aws_types::SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(aws_types::region::Region::new(region.to_string()))
        .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint_url)
        .http_client(http)
        .build()
}

/// An `aws_sdk_sfn::Client` whose requests are served by `api` in process.
pub(crate) fn in_process_sfn_client(api: Arc<dyn SfnApi>, region: &str) -> aws_sdk_sfn::Client {
    let http = http_client_fn(move |_, _| SharedHttpConnector::new(InProcess(api.clone())));
    aws_sdk_sfn::Client::new(&sdk_config("http://sfn-harness.in-process", region, http))
}

/// A plain-HTTP connector (hyper, no TLS) for local endpoints.
#[derive(Clone)]
struct PlainHttp {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
}

impl fmt::Debug for PlainHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainHttp")
    }
}

impl HttpConnector for PlainHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            use http_body_util::BodyExt;
            let io = |e: Box<dyn std::error::Error + Send + Sync>| ConnectorError::io(e);
            let body = bytes::Bytes::copy_from_slice(request.body().bytes().unwrap_or_default());
            // StartSyncExecution / TestState prefix the host with `sync-`; a
            // local endpoint has no such host
            let uri = request.uri().replacen("://sync-", "://", 1);
            let mut builder = http::Request::builder().method(request.method()).uri(uri);
            for (k, v) in request.headers() {
                builder = builder.header(k, v);
            }
            let req = builder.body(http_body_util::Full::new(body)).map_err(|e| io(Box::new(e)))?;
            let resp = client.request(req).await.map_err(|e| io(Box::new(e)))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.map_err(|e| io(Box::new(e)))?.to_bytes();
            let mut out = HttpResponse::new(
                StatusCode::try_from(status).map_err(|e| io(Box::new(e)))?,
                SdkBody::from(bytes),
            );
            for (k, v) in headers.iter() {
                if let Ok(v) = v.to_str() {
                    out.headers_mut().insert(k.as_str().to_string(), v.to_string());
                }
            }
            Ok(out)
        })
    }
}

/// An SDK HTTP client that speaks plain HTTP (for `http://` endpoints).
pub(crate) fn plain_http_client() -> SharedHttpClient {
    let connector = PlainHttp {
        client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http(),
    };
    http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone()))
}

/// An `aws_sdk_ecs::Client` for an ECS-compatible endpoint over plain HTTP.
pub fn ecs_client(endpoint_url: &str, region: &str) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&sdk_config(endpoint_url, region, plain_http_client()))
}

/// An `aws_sdk_sfn::Client` for a Step Functions endpoint over plain HTTP
/// (e.g. `sfn-harness serve`).
pub fn sfn_client(endpoint_url: &str, region: &str) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(&sdk_config(endpoint_url, region, plain_http_client()))
}
