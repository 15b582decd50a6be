//! Redrive: an execution that FAILED, TIMED_OUT or was ABORTED continues
//! from the top-level state that did not succeed, with the input that state
//! was given and the variables assigned before it, in the same history
//! (ExecutionRedriven, then that state entered again), as AWS documents.
//! What ran before is not run again; invocation counts go on.

use super::{Execution, Status, Vars};
use crate::history::{Details, History, Payload};
use std::fmt;
use std::sync::Arc;

/// Where a redriven execution goes on from.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    /// The events so far; the redrive appends to them.
    pub(crate) history: History,
    /// The top-level state to enter again, and its input.
    pub(crate) state: Arc<str>,
    pub(crate) input: Payload,
    /// The execution's own input (what `$$.Execution.Input` gives).
    pub(crate) execution_input: Payload,
    /// When the execution first started (epoch ms).
    pub(crate) started_ms: i64,
    pub(crate) vars: Vars,
    pub(crate) invocations: crate::hash::FastMap<Arc<str>, usize>,
    /// How many times it has been redriven, this one included.
    pub(crate) redrive_count: u64,
}

/// Why an execution cannot be redriven, in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRedrivable(pub String);

impl fmt::Display for NotRedrivable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotRedrivable {}

/// AWS's redrive quota per execution.
pub(super) const MAX_REDRIVES: u64 = 1000;

impl Resume {
    /// Where `events` (an execution's history, its last event how it ended)
    /// goes on from when redriven for the `count`-th time.
    pub(crate) fn from_events(
        events: History,
        status: Status,
        invocations: &crate::hash::FastMap<Arc<str>, usize>,
        count: u64,
        arn: &str,
    ) -> Result<Resume, NotRedrivable> {
        if !matches!(status, Status::Failed | Status::TimedOut | Status::Aborted) {
            return Err(NotRedrivable(format!(
                "Execution is {} and cannot be redriven: '{arn}'",
                status.as_str()
            )));
        }
        if count > MAX_REDRIVES {
            return Err(NotRedrivable(format!(
                "Execution has been redriven {MAX_REDRIVES} times, the most AWS allows: '{arn}'"
            )));
        }
        let (mut execution_input, mut started_ms) = (None, 0);
        let mut open: Option<(Arc<str>, Payload)> = None;
        let mut vars = Vars::new();
        for e in events.events().iter().filter(|e| e.fiber == 0) {
            match &e.details {
                Details::ExecutionStarted { input, .. } => {
                    execution_input = Some(input.clone());
                    started_ms = e.timestamp_ms;
                }
                Details::StateEntered { name, input, .. } => {
                    open = Some((name.clone(), input.clone()));
                }
                Details::StateExited { assigned, .. } => {
                    for (k, v) in assigned.iter().flat_map(|a| a.iter()) {
                        vars.insert(k.clone(), v.clone());
                    }
                    open = None;
                }
                _ => {}
            }
        }
        let (Some(execution_input), Some((state, input))) = (execution_input, open) else {
            return Err(NotRedrivable(format!(
                "Execution has no state that did not succeed to redrive from: '{arn}'"
            )));
        };
        Ok(Resume {
            history: events.resumed(),
            state,
            input,
            execution_input,
            started_ms,
            vars,
            invocations: invocations.clone(),
            redrive_count: count,
        })
    }
}

impl Execution {
    /// Where this execution goes on from when redriven.
    pub(crate) fn resume_point(&self) -> Result<Resume, NotRedrivable> {
        Resume::from_events(
            self.history.clone(),
            self.status(),
            &self.invocations,
            self.redrive_count + 1,
            &self.execution_arn,
        )
    }
}
