//! The Step Functions wire protocol (awsJson1_0) as the harness serves it:
//! an operation name and a JSON body in, a status and a JSON body out.
//! Shared by the in-process SDK connector, the callback server that worker
//! containers reach, and the local endpoint.

use super::BoxFuture;

/// A Step Functions API served in process: `target` is the operation
/// (`SendTaskSuccess`), `body` the awsJson1_0 request; returns the status
/// and the JSON response body.
pub(crate) trait SfnApi: Send + Sync {
    fn handle(&self, operation: &str, body: &[u8]) -> BoxFuture<'static, (u16, Vec<u8>)>;

    /// [`SfnApi::handle`] for a caller of a known region and account (what
    /// its request was signed for).
    fn handle_as(
        &self,
        operation: &str,
        body: &[u8],
        _caller: &Caller,
    ) -> BoxFuture<'static, (u16, Vec<u8>)> {
        self.handle(operation, body)
    }
}

/// Who sent a request, as its SigV4 signature says: the region of its
/// credential scope and, where its access key tells one, its account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// `us-west-2` of `Credential=AKID/20240101/us-west-2/states/aws4_request`.
    pub region: Option<String>,
    /// A 12-digit access key (LocalStack's convention), or the account an
    /// AWS access key id (`AKIA…`, `ASIA…`) encodes.
    pub account: Option<String>,
}

impl Caller {
    /// The caller an `Authorization` header names (unsigned: nobody in particular).
    pub fn from_authorization(header: &str) -> Caller {
        let Some(cred) = header.split("Credential=").nth(1) else { return Caller::default() };
        let cred = cred.split([',', ' ']).next().unwrap_or("");
        let parts: Vec<&str> = cred.split('/').collect();
        let region = parts
            .get(2)
            .filter(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .map(|r| r.to_string());
        let account = parts.first().and_then(|k| account_of_key(k));
        Caller { region, account }
    }
}

/// The account an access key id stands for: itself when it is 12 digits;
/// for an AWS key id (`AKIA`/`ASIA` + 16 base32 characters), the account
/// AWS encodes in it (bits 7 to 46 of characters 5 to 14).
fn account_of_key(key: &str) -> Option<String> {
    if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) {
        return Some(key.to_string());
    }
    if key.len() != 20 || !(key.starts_with("AKIA") || key.starts_with("ASIA")) {
        return None;
    }
    // base32 (RFC 4648) of characters 5.. : the first 6 bytes hold the account
    let mut bits: u128 = 0;
    let mut n = 0;
    for c in key[4..].bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | v as u128;
        n += 5;
    }
    let first48 = (bits >> (n - 48)) as u64;
    let account = (first48 & 0x7fff_ffff_ff80) >> 7;
    Some(format!("{account:012}"))
}

/// An awsJson1_0 error response: HTTP 400 with AWS's `__type` and message.
pub(crate) fn error_response(kind: &str, message: &str) -> (u16, Vec<u8>) {
    let body = serde_json::json!({"__type": kind, "message": message});
    (400, serde_json::to_vec(&body).unwrap_or_default())
}

/// A 200 response with a JSON body.
pub(crate) fn ok_response(v: &serde_json::Value) -> (u16, Vec<u8>) {
    (200, serde_json::to_vec(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_read_from_the_signature() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/eu-west-1/states/aws4_request, SignedHeaders=host, Signature=abc";
        let c = Caller::from_authorization(h);
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        // the documented example key's account
        assert_eq!(c.account.as_deref(), Some("581039954779"));
        let c = Caller::from_authorization(
            "AWS4-HMAC-SHA256 Credential=000000000000/20240101/ap-south-1/states/aws4_request",
        );
        assert_eq!(
            (c.region.as_deref(), c.account.as_deref()),
            (Some("ap-south-1"), Some("000000000000"))
        );
        let c = Caller::from_authorization(
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-2/states/aws4_request",
        );
        assert_eq!((c.region.as_deref(), c.account), (Some("us-east-2"), None));
        assert_eq!(Caller::from_authorization(""), Caller::default());
        assert_eq!(
            Caller::from_authorization("Credential=a/b/../x"),
            Caller { region: None, account: None }
        );
    }
}
