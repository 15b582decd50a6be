//! Failures, typed: a [`Failure`] of the pipeline (`States.*` and custom
//! errors, with where it came from: [`Origin`]) and a [`HarnessFault`], a
//! problem of the test itself. Known to every layer that answers tasks.

use crate::names;
use std::fmt;

/// A failure as the execution sees it: an error name (none when a worker's
/// SendTaskFailure gave none) and an optional cause, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error name (`States.TaskFailed`, a custom name…).
    pub error: Option<String>,
    /// The cause, if any.
    pub cause: Option<String>,
    pub(crate) origin: Origin,
}

/// Where a [`Failure`] comes from: what decides how it is recorded and
/// which Retry and Catch match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Reported by a task, a service or a Fail state: recorded as given.
    Reported,
    /// Raised by the interpreter inside a state (a path that does not
    /// resolve, a bad intrinsic argument): its cause gets AWS's prefix
    /// naming the state once it leaves it,
    /// `An error occurred while executing the state 'pass' (entered at the event id #2). …`
    Interpreter,
    /// A `States.QueryEvaluationError` (an interpreter failure too),
    /// recorded as an EvaluationFailed event: the field names where
    /// (`Items`, `Output/a`), empty where no one field is to blame.
    Evaluation(String),
    /// The task's TimeoutSeconds or HeartbeatSeconds passed: recorded as a
    /// …TimedOut event with `States.Timeout`; a missed heartbeat is matched
    /// by `States.HeartbeatTimeout` as well.
    TimedOut { heartbeat: bool },
}

impl Failure {
    /// A failure reported by a task or a Fail state (no prefix).
    pub fn new(error: impl Into<String>, cause: Option<String>) -> Failure {
        Failure::reported(Some(error.into()), cause)
    }

    /// A failure reported with or without an error name (SendTaskFailure
    /// may give none: none is recorded).
    pub(crate) fn reported(error: Option<String>, cause: Option<String>) -> Failure {
        Failure { error, cause, origin: Origin::Reported }
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
            origin: Origin::Evaluation(field.to_string()),
            ..Failure::in_state(names::QUERY_EVALUATION_ERROR, msg)
        }
    }

    fn in_state(error: &str, msg: impl Into<String>) -> Failure {
        Failure { error: Some(error.into()), cause: Some(msg.into()), origin: Origin::Interpreter }
    }

    /// `States.Timeout` (no cause): the task's TimeoutSeconds passed.
    pub fn timeout() -> Failure {
        Failure {
            error: Some(names::TIMEOUT.into()),
            cause: None,
            origin: Origin::TimedOut { heartbeat: false },
        }
    }

    /// `States.Timeout` from a missed heartbeat (`States.HeartbeatTimeout`
    /// in a Retry or Catch matches it too).
    pub fn heartbeat_timeout() -> Failure {
        Failure { origin: Origin::TimedOut { heartbeat: true }, ..Failure::timeout() }
    }

    /// The error name, `""` when there is none.
    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// Whether the task's TimeoutSeconds or HeartbeatSeconds ended it
    /// (recorded as …TimedOut).
    pub(crate) fn timed_out(&self) -> bool {
        matches!(self.origin, Origin::TimedOut { .. })
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
        let heartbeat = self.origin == Origin::TimedOut { heartbeat: true };
        // States.TaskFailed is a wildcard for every error but States.Timeout
        error_equals.iter().any(|e| {
            e == name
                || e == names::ALL
                || (e == names::TASK_FAILED && name != names::TIMEOUT)
                || (heartbeat && e == names::HEARTBEAT_TIMEOUT)
        })
    }

    /// The failure as it leaves the state it was raised in: an interpreter
    /// failure's cause gets AWS's state prefix; for a JSONata evaluation,
    /// the field to record in EvaluationFailed comes back with it.
    pub(crate) fn locate(mut self, state: &str, entered_id: u64) -> (Failure, Option<String>) {
        let evaluation = match std::mem::replace(&mut self.origin, Origin::Reported) {
            Origin::Interpreter => None,
            Origin::Evaluation(field) => Some(field),
            kept => {
                self.origin = kept;
                return (self, None);
            }
        };
        let msg = self.cause.take().unwrap_or_default();
        self.cause = Some(format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {msg}"
        ));
        (self, evaluation)
    }
}

/// A problem of the test, not of the pipeline: a Task state nobody answers,
/// a mock config run dry, a container that would not start, something the
/// harness does not evaluate yet. The execution fails with it (recorded
/// under the error name [`HarnessFault::error_name`], `Harness.…`) whatever
/// the definition's Retry and Catch say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessFault {
    /// What went wrong.
    pub kind: FaultKind,
    /// Where and why, for the person running the test.
    pub message: String,
}

/// The kinds of [`HarnessFault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// A Task state with no handler and no mocked response.
    NoIntegration,
    /// A Task state with both a Rust handler and a mock-config response.
    ShadowedMock,
    /// A mock-config test case ran out of responses.
    MockExhausted,
    /// A worker container could not be run.
    ContainerError,
    /// A Map's ItemReader reads an S3 object the test does not provide.
    NoS3Object,
    /// A replayed execution asked for a task attempt the recording does not have.
    ReplayDiverged,
    /// The execution reached something the harness does not evaluate yet.
    Unsupported,
    /// The harness itself failed.
    Internal,
}

impl HarnessFault {
    /// A fault of `kind`, saying where and why.
    pub fn new(kind: FaultKind, message: impl Into<String>) -> HarnessFault {
        HarnessFault { kind, message: message.into() }
    }

    /// The error name the execution fails with: `Harness.NoIntegration`, …
    pub fn error_name(&self) -> &'static str {
        match self.kind {
            FaultKind::NoIntegration => names::HARNESS_NO_INTEGRATION,
            FaultKind::ShadowedMock => names::HARNESS_SHADOWED_MOCK,
            FaultKind::MockExhausted => names::HARNESS_MOCK_EXHAUSTED,
            FaultKind::ContainerError => names::HARNESS_CONTAINER_ERROR,
            FaultKind::NoS3Object => names::HARNESS_NO_S3_OBJECT,
            FaultKind::ReplayDiverged => names::HARNESS_REPLAY_DIVERGED,
            FaultKind::Unsupported => names::HARNESS_UNSUPPORTED,
            FaultKind::Internal => names::HARNESS_INTERNAL_ERROR,
        }
    }

    /// The failure the execution records for it.
    pub fn failure(&self) -> Failure {
        Failure::new(self.error_name(), Some(self.message.clone()))
    }
}

impl fmt::Display for HarnessFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_name(), self.message)
    }
}

impl std::error::Error for HarnessFault {}

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
        let heartbeat = vec!["States.HeartbeatTimeout".to_string()];
        assert!(Failure::heartbeat_timeout().matches(&heartbeat));
        assert!(!Failure::timeout().matches(&heartbeat));
    }

    #[test]
    fn locate_prefixes_interpreter_failures_only() {
        let (f, evaluation) = Failure::runtime("Boom.").locate("S", 2);
        assert_eq!(evaluation, None);
        assert_eq!(
            f.cause.unwrap(),
            "An error occurred while executing the state 'S' (entered at the event id #2). Boom."
        );
        let (t, _) = Failure::new("E", Some("c".into())).locate("S", 2);
        assert_eq!(t.cause.unwrap(), "c");
        let (q, evaluation) = Failure::query("Items", "x").locate("S", 2);
        assert_eq!(evaluation.as_deref(), Some("Items"));
        assert!(q.cause.unwrap().starts_with("An error occurred while executing the state 'S'"));
    }
}
