//! The task-token registry: one place where SendTaskSuccess,
//! SendTaskFailure and SendTaskHeartbeat resolve tokens, whether they come
//! from Rust code, from an `aws_sdk_sfn::Client` handed to a worker, or over
//! HTTP from the local endpoint.
//!
//! ```
//! use sfn_harness::{TokenError, TokenRegistry};
//! let reg = TokenRegistry::new();
//! // a token no task is waiting on
//! assert!(matches!(reg.send_success("nope", "{}"), Err(TokenError::InvalidToken(_))));
//! assert_eq!(reg.calls().success, 0);
//! ```

use crate::time::Wall;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What a worker sent for a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// SendTaskSuccess with this output.
    Success(Value),
    /// SendTaskFailure.
    Failure {
        /// The error name (may be absent).
        error: Option<String>,
        /// The cause (may be absent).
        cause: Option<String>,
    },
    /// SendTaskHeartbeat.
    Heartbeat,
    /// An activity worker took the task (GetActivityTask).
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    Started {
        /// GetActivityTask's workerName.
        worker_name: String,
    },
}

/// Why a token no longer accepts callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    Answered,
    TimedOut,
    Aborted,
}

/// AWS's errors for SendTask* calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The token was never issued (or is malformed).
    InvalidToken(String),
    /// The task already ended (answered, or its execution stopped).
    TaskDoesNotExist(String),
    /// The task timed out before the callback.
    TaskTimedOut(String),
    /// SendTaskSuccess's output is not JSON.
    InvalidOutput(String),
}

impl TokenError {
    /// The error's AWS name (`__type`).
    pub fn aws_name(&self) -> &'static str {
        match self {
            TokenError::InvalidToken(_) => "InvalidToken",
            TokenError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            TokenError::TaskTimedOut(_) => "TaskTimedOut",
            TokenError::InvalidOutput(_) => "InvalidOutput",
        }
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        match self {
            TokenError::InvalidToken(m)
            | TokenError::TaskDoesNotExist(m)
            | TokenError::TaskTimedOut(m)
            | TokenError::InvalidOutput(m) => m,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.aws_name(), self.message())
    }
}

impl std::error::Error for TokenError {}

enum Slot {
    Open { tx: mpsc::UnboundedSender<Callback>, answered: bool, last_beat: Option<Instant> },
    Closed(Closed),
}

/// How many ended tokens are remembered (for TaskDoesNotExist / TaskTimedOut
/// answers); older ones are forgotten and get InvalidToken.
const REMEMBERED_CLOSED: usize = 100_000;

/// Tokens of running callback tasks.
#[derive(Default)]
pub struct TokenRegistry {
    slots: Mutex<HashMap<String, Slot>>,
    closed: Mutex<std::collections::VecDeque<String>>,
    counts: Mutex<CallCounts>,
    /// When heartbeats arrive (real time: they come from real workers).
    wall: Wall,
}

/// How many SendTask* calls the registry accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// SendTaskSuccess calls.
    pub success: usize,
    /// SendTaskFailure calls.
    pub failure: usize,
    /// SendTaskHeartbeat calls.
    pub heartbeat: usize,
}

impl fmt::Debug for TokenRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRegistry").finish_non_exhaustive()
    }
}

impl TokenRegistry {
    /// An empty registry, timing heartbeats with the system's clock.
    pub fn new() -> TokenRegistry {
        TokenRegistry::default()
    }

    /// A registry that times heartbeats with `wall` (default: the system's).
    pub fn with_wall(wall: Wall) -> TokenRegistry {
        TokenRegistry { wall, ..TokenRegistry::default() }
    }

    /// Opens `token`; callbacks arrive on the returned receiver.
    pub fn register(&self, token: &str) -> mpsc::UnboundedReceiver<Callback> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.to_string(), Slot::Open { tx, answered: false, last_beat: None });
        rx
    }

    /// Ends `token` (the first reason given stays): later callbacks get
    /// TaskDoesNotExist / TaskTimedOut.
    pub(crate) fn close(&self, token: &str, why: Closed) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot @ Slot::Open { .. }) = slots.get_mut(token) {
            *slot = Slot::Closed(why);
            let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
            closed.push_back(token.to_string());
            if closed.len() > REMEMBERED_CLOSED {
                if let Some(old) = closed.pop_front() {
                    slots.remove(&old);
                }
            }
        }
    }

    /// The SendTask* calls accepted so far.
    pub fn calls(&self) -> CallCounts {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, token: &str, cb: Callback) -> Result<(), TokenError> {
        let counted = cb.clone();
        self.deliver(token, cb)?;
        self.count(&counted);
        Ok(())
    }

    /// Counts a callback in [`TokenRegistry::calls`]: one sent through the
    /// registry, or one a scripted [`Timeline`](crate::Timeline) made.
    pub(crate) fn count(&self, cb: &Callback) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match cb {
            Callback::Success(_) => c.success += 1,
            Callback::Failure { .. } => c.failure += 1,
            Callback::Heartbeat => c.heartbeat += 1,
            Callback::Started { .. } => {}
        }
    }

    fn deliver(&self, token: &str, cb: Callback) -> Result<(), TokenError> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.get_mut(token) {
            None => Err(TokenError::InvalidToken(format!(
                "Invalid Token: '{}' was not issued by this harness",
                short(token)
            ))),
            Some(Slot::Closed(Closed::TimedOut)) => {
                Err(TokenError::TaskTimedOut(format!("Task Timed Out: '{}'", short(token))))
            }
            Some(Slot::Closed(_)) => Err(TokenError::TaskDoesNotExist(format!(
                "Task Does Not Exist: '{}'",
                short(token)
            ))),
            Some(Slot::Open { tx, answered, last_beat }) => {
                match cb {
                    Callback::Heartbeat => *last_beat = Some(self.wall.now()),
                    Callback::Started { .. } => {}
                    _ if *answered => {
                        return Err(TokenError::TaskDoesNotExist(format!(
                            "Task Does Not Exist: '{}' was already answered",
                            short(token)
                        )))
                    }
                    _ => *answered = true,
                }
                tx.send(cb).map_err(|_| {
                    TokenError::TaskDoesNotExist(format!("Task Does Not Exist: '{}'", short(token)))
                })
            }
        }
    }

    /// SendTaskSuccess: `output` must be JSON text.
    pub fn send_success(&self, token: &str, output: &str) -> Result<(), TokenError> {
        let v: Value = serde_json::from_str(output).map_err(|e| {
            TokenError::InvalidOutput(format!("The provided JSON output data is invalid: {e}"))
        })?;
        self.send(token, Callback::Success(v))
    }

    /// SendTaskFailure.
    pub fn send_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), TokenError> {
        self.send(token, Callback::Failure { error, cause })
    }

    /// An activity worker took the task: recorded as ActivityStarted.
    #[cfg(feature = "endpoint")]
    pub(crate) fn started(&self, token: &str, worker_name: &str) -> Result<(), TokenError> {
        self.send(token, Callback::Started { worker_name: worker_name.to_string() })
    }

    /// SendTaskHeartbeat.
    pub fn send_heartbeat(&self, token: &str) -> Result<(), TokenError> {
        self.send(token, Callback::Heartbeat)
    }

    /// The tokens tasks are waiting on now.
    pub fn open_tokens(&self) -> Vec<String> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Open { .. }))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Whether SendTaskSuccess / SendTaskFailure arrived for `token`.
    pub fn answered(&self, token: &str) -> bool {
        matches!(
            self.slots.lock().unwrap_or_else(|e| e.into_inner()).get(token),
            Some(Slot::Open { answered: true, .. })
        )
    }

    /// When the last SendTaskHeartbeat for `token` arrived.
    #[cfg(feature = "containers")]
    pub(crate) fn last_heartbeat(&self, token: &str) -> Option<Instant> {
        match self.slots.lock().unwrap_or_else(|e| e.into_inner()).get(token) {
            Some(Slot::Open { last_beat, .. }) => *last_beat,
            _ => None,
        }
    }
}

fn short(token: &str) -> String {
    if token.len() > 24 {
        format!(
            "{}…",
            &token[..token.char_indices().nth(24).map(|(i, _)| i).unwrap_or(token.len())]
        )
    } else {
        token.to_string()
    }
}

#[cfg(any(feature = "sdk", feature = "containers", feature = "endpoint"))]
/// The SendTask* operations over awsJson1_0 bodies; `None` for any other
/// operation.
pub(crate) fn handle_callback_op(
    reg: &TokenRegistry,
    op: &str,
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    use super::aws_json::{error_response, ok_response};
    if !matches!(op, "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat") {
        return None;
    }
    let req: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Some(error_response(
                "SerializationException",
                "the request body is not a JSON object",
            ))
        }
    };
    let field = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(token) = field("taskToken") else {
        return Some(error_response("ValidationException", "1 validation error detected: Value null at 'taskToken' failed to satisfy constraint: Member must not be null"));
    };
    if token.is_empty() || token.len() > 2048 {
        return Some(error_response(
            "InvalidToken",
            "Invalid Token: the task token must be 1 to 2048 characters",
        ));
    }
    let result = match op {
        "SendTaskSuccess" => match field("output") {
            Some(out) => reg.send_success(&token, &out),
            None => return Some(error_response("ValidationException", "1 validation error detected: Value null at 'output' failed to satisfy constraint: Member must not be null")),
        },
        "SendTaskFailure" => reg.send_failure(&token, field("error"), field("cause")),
        _ => reg.send_heartbeat(&token),
    };
    Some(match result {
        Ok(()) => ok_response(&serde_json::json!({})),
        Err(e) => error_response(e.aws_name(), e.message()),
    })
}

#[cfg(any(feature = "sdk", feature = "containers", feature = "endpoint"))]
impl super::aws_json::SfnApi for TokenRegistry {
    fn handle(&self, op: &str, body: &[u8]) -> super::BoxFuture<'static, (u16, Vec<u8>)> {
        let out = handle_callback_op(self, op, body).unwrap_or_else(|| {
            super::aws_json::error_response(
                "UnknownOperationException",
                &format!(
                    "{op} is not served in process; use the local endpoint (sfn-harness serve)"
                ),
            )
        });
        Box::pin(std::future::ready(out))
    }
}
