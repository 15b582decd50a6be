//! The Step Functions wire protocol (awsJson1_0) as the harness serves it:
//! an operation name and a JSON body in, a status and a JSON body out.
//! Shared by the in-process SDK connector, the callback server that worker
//! containers reach, and the local endpoint.

use super::BoxFuture;

/// A Step Functions API served in process: `target` is the operation
/// (`SendTaskSuccess`), `body` the awsJson1_0 request; returns the status
/// and the JSON response body.
pub trait SfnApi: Send + Sync {
    fn handle(&self, operation: &str, body: &[u8]) -> BoxFuture<'static, (u16, Vec<u8>)>;
}

/// An awsJson1_0 error response: HTTP 400 with AWS's `__type` and message.
pub fn error_response(kind: &str, message: &str) -> (u16, Vec<u8>) {
    let body = serde_json::json!({"__type": kind, "message": message});
    (400, serde_json::to_vec(&body).unwrap_or_default())
}

/// A 200 response with a JSON body.
pub fn ok_response(v: &serde_json::Value) -> (u16, Vec<u8>) {
    (200, serde_json::to_vec(v).unwrap_or_default())
}
