//! User-visible failures ([`Failure`]: one type for `States.*` and custom
//! errors) and the one type internal control flow travels in ([`Exn`]):
//! a state returns `Result<Step, Exn>`; a failure goes one way only, as `Err`.

use std::fmt;

pub(crate) use crate::names;

/// A failure as the execution sees it: an error name and an optional cause.
///
/// `in_state` failures are raised by the interpreter itself (a path that does
/// not resolve, a bad intrinsic argument); their cause is prefixed with the
/// state and the event that entered it, as AWS does:
/// `An error occurred while executing the state 'pass' (entered at the event id #2). …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: Option<String>,
    pub cause: Option<String>,
    pub(crate) in_state: bool,
    /// A heartbeat timeout: recorded as `States.Timeout`, as AWS does, and
    /// matched by `States.HeartbeatTimeout` as well.
    pub(crate) heartbeat: bool,
    /// A `States.QueryEvaluationError`, recorded as an EvaluationFailed
    /// event: `Some(field)` names where (`Items`, `Output/a`), `Some("")`
    /// where no one field is to blame.
    pub(crate) evaluation: Option<String>,
}

impl Failure {
    /// A failure reported by a task or a Fail state (no prefix).
    pub fn new(error: impl Into<String>, cause: Option<String>) -> Failure {
        Failure {
            error: Some(error.into()),
            cause,
            in_state: false,
            heartbeat: false,
            evaluation: None,
        }
    }

    /// `States.Runtime`: e.g. `$.missing` in InputPath.
    pub fn runtime(msg: impl Into<String>) -> Failure {
        Failure::in_state(names::RUNTIME, msg)
    }

    /// `States.IntrinsicFailure`: e.g. `States.ArrayGetItem($.a, 99)`.
    pub fn intrinsic(msg: impl Into<String>) -> Failure {
        Failure::in_state(names::INTRINSIC_FAILURE, msg)
    }

    /// `States.ResultPathMatchFailure`: ResultPath `$.a.b` on `{"a": 1}`.
    pub fn result_path(msg: impl Into<String>) -> Failure {
        Failure::in_state(names::RESULT_PATH_MATCH_FAILURE, msg)
    }

    /// `States.QueryEvaluationError` in `field` (empty: no one field).
    pub fn query(field: &str, msg: impl Into<String>) -> Failure {
        Failure {
            evaluation: Some(field.to_string()),
            ..Failure::in_state(names::QUERY_EVALUATION_ERROR, msg)
        }
    }

    fn in_state(error: &str, msg: impl Into<String>) -> Failure {
        Failure {
            error: Some(error.into()),
            cause: Some(msg.into()),
            in_state: true,
            heartbeat: false,
            evaluation: None,
        }
    }

    /// `States.Timeout` (no cause).
    pub fn timeout() -> Failure {
        Failure {
            error: Some(names::TIMEOUT.into()),
            cause: None,
            in_state: false,
            heartbeat: false,
            evaluation: None,
        }
    }

    /// `States.Timeout` from a missed heartbeat (`States.HeartbeatTimeout`
    /// in a Retry or Catch matches it too).
    pub fn heartbeat_timeout() -> Failure {
        Failure { heartbeat: true, ..Failure::timeout() }
    }

    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// Whether a Retry or Catch with `error_equals` handles this failure.
    /// `States.ALL` matches everything but the terminal `States.Runtime`,
    /// which nothing catches. (AWS documents `States.DataLimitExceeded` as
    /// terminal too, but recorded executions show a Task's oversized result
    /// caught by `States.ALL`.)
    pub fn matches(&self, error_equals: &[String]) -> bool {
        let name = self.error_name();
        if name == names::RUNTIME {
            return false;
        }
        // States.TaskFailed is a wildcard for every error but States.Timeout
        error_equals.iter().any(|e| {
            e == name
                || e == names::ALL
                || (e == names::TASK_FAILED && name != names::TIMEOUT)
                || (self.heartbeat && e == names::HEARTBEAT_TIMEOUT)
        })
    }

    /// Adds AWS's state prefix to an interpreter failure's cause.
    pub(crate) fn locate(mut self, state: &str, entered_id: u64) -> Failure {
        if self.in_state {
            let msg = self.cause.take().unwrap_or_default();
            self.cause = Some(format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {msg}"
            ));
            self.in_state = false;
        }
        self
    }
}

/// Why a state does not go on to a next state: travels as `Err` through
/// the states, Retry/Catch and nested machines; never leaves `eval`.
#[derive(Debug)]
pub(crate) enum Exn {
    /// A failure that Retry and Catch may handle (the state's own, then the
    /// enclosing Parallel's or Map's).
    Fail(Failure),
    /// The execution stops here; no Retry or Catch sees it.
    Halt(Halt),
}

/// How an execution stops without a catchable failure.
#[derive(Debug)]
pub(crate) enum Halt {
    /// A callback that nothing will answer, with no timeout to end it: the
    /// execution stays RUNNING with this diagnosis.
    Stalled(String),
    /// The execution's TimeoutSeconds passed.
    ExecutionTimedOut,
    /// The execution fails with this failure, whatever catchers say: a state
    /// uses something not evaluated yet (`Harness.Unsupported`), or the
    /// history reached AWS's quota of events.
    Fail(Failure),
}

impl From<Failure> for Exn {
    fn from(f: Failure) -> Exn {
        Exn::Fail(f)
    }
}

impl From<Halt> for Exn {
    fn from(h: Halt) -> Exn {
        Exn::Halt(h)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error.as_deref().unwrap_or("(no error)"))?;
        if let Some(c) = &self.cause {
            write!(f, ": {c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_all_does_not_catch_runtime() {
        let all = vec!["States.ALL".to_string()];
        assert!(!Failure::runtime("x").matches(&all));
        assert!(Failure::new("Custom", None).matches(&all));
        assert!(Failure::new("Custom", None).matches(&["States.TaskFailed".to_string()]));
        assert!(!Failure::timeout().matches(&["States.TaskFailed".to_string()]));
    }

    #[test]
    fn locate_prefixes_interpreter_failures_only() {
        let f = Failure::runtime("Boom.").locate("S", 2);
        assert_eq!(
            f.cause.unwrap(),
            "An error occurred while executing the state 'S' (entered at the event id #2). Boom."
        );
        let t = Failure::new("E", Some("c".into())).locate("S", 2);
        assert_eq!(t.cause.unwrap(), "c");
    }
}
