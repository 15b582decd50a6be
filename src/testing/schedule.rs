//! Failure schedules: what a task answers at each invocation, as data, so a
//! property test can generate them (`strategies::schedules`) and shrink a
//! failing one to the smallest that still fails.

use crate::integrations::{TaskCall, TaskReply, Timeline};
use std::fmt;

/// What one invocation of a task answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheduled {
    /// The task's normal result (what the schedule's success handler says).
    Succeed,
    /// The task fails with this error.
    Fail(String),
    /// The task times out (`States.Timeout`).
    TimeOut,
    /// The task never answers: it waits out its TimeoutSeconds /
    /// HeartbeatSeconds in virtual time (or the execution stalls).
    Silence,
}

/// Replies per invocation of a task: invocation `i` (retries included) gets
/// entry `i`; invocations past the end succeed.
///
/// ```
/// use sfn_harness::{Schedule, Scheduled, TaskReply};
/// use serde_json::json;
/// let s = Schedule(vec![Scheduled::Succeed, Scheduled::Fail("Boom".into())]);
/// assert_eq!(s.first_failure(), Some((1, &Scheduled::Fail("Boom".into()))));
/// let handler = s.handler(|_| TaskReply::ok(json!(1)));
/// # let _ = handler;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule(pub Vec<Scheduled>);

impl Schedule {
    /// The reply for `call`: its invocation's entry, or `success(call)`.
    pub fn reply(&self, call: &TaskCall, success: impl Fn(&TaskCall) -> TaskReply) -> TaskReply {
        match self.0.get(call.invocation) {
            None | Some(Scheduled::Succeed) => success(call),
            Some(Scheduled::Fail(e)) => TaskReply::Fail {
                error: e.clone(),
                cause: Some(format!("scheduled failure of invocation {}", call.invocation)),
            },
            Some(Scheduled::TimeOut) => TaskReply::TimedOut,
            Some(Scheduled::Silence) => TaskReply::Callbacks(Timeline::new()),
        }
    }

    /// A handler answering as scheduled, with `success` for the rest (for
    /// [`crate::Harness::on_task`]).
    pub fn handler(
        self,
        success: impl Fn(&TaskCall) -> TaskReply + Send + Sync,
    ) -> impl Fn(&TaskCall) -> TaskReply + Send + Sync {
        move |call| self.reply(call, &success)
    }

    /// The first invocation that does not succeed, and what it does.
    pub fn first_failure(&self) -> Option<(usize, &Scheduled)> {
        self.0.iter().enumerate().find(|(_, s)| **s != Scheduled::Succeed)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|s| match s {
                Scheduled::Succeed => "ok".to_string(),
                Scheduled::Fail(e) => format!("fail({e})"),
                Scheduled::TimeOut => "timeout".to_string(),
                Scheduled::Silence => "silence".to_string(),
            })
            .collect();
        write!(f, "[{}]", parts.join(", "))
    }
}
