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
        answer(
            self.0.get(call.invocation),
            &format!("invocation {}", call.invocation),
            call,
            success,
        )
    }

    /// Schedules per Map item instead of per invocation: each item's
    /// attempts (its first try, then its retries) follow that item's
    /// schedule, whatever order the items run in.
    ///
    /// ```
    /// use sfn_harness::{Schedule, Scheduled, TaskReply};
    /// let boom = || Scheduled::Fail("Boom".into());
    /// // item 3 fails twice, then succeeds; every other item succeeds
    /// let per_item = Schedule::per_item().item(3, Schedule(vec![boom(), boom()]));
    /// let handler = per_item.handler(|_| TaskReply::ok(serde_json::json!(1)));
    /// # let _ = handler;
    /// ```
    pub fn per_item() -> ItemSchedule {
        ItemSchedule::default()
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

/// `entry`'s reply (`what` names it in a failure's cause), or `success`.
fn answer(
    entry: Option<&Scheduled>,
    what: &str,
    call: &TaskCall,
    success: impl Fn(&TaskCall) -> TaskReply,
) -> TaskReply {
    match entry {
        None | Some(Scheduled::Succeed) => success(call),
        Some(Scheduled::Fail(e)) => TaskReply::Fail {
            error: Some(e.clone()),
            cause: Some(format!("scheduled failure of {what}")),
        },
        Some(Scheduled::TimeOut) => TaskReply::TimedOut,
        Some(Scheduled::Silence) => TaskReply::Callbacks(Timeline::new()),
    }
}

/// Schedules per Map item ([`Schedule::per_item`]): the item at a Map
/// index (or, in Maps inside Maps, at a path of indexes, outermost first)
/// answers its attempt `k` (`$$.State.RetryCount`) with entry `k` of its
/// schedule; items without one, and attempts past its end, succeed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemSchedule(pub std::collections::BTreeMap<Vec<usize>, Schedule>);

impl ItemSchedule {
    /// The schedule of the item at `index` of a Map.
    pub fn item(self, index: usize, schedule: Schedule) -> ItemSchedule {
        self.at(&[index], schedule)
    }

    /// The schedule of the item at `path` (Maps inside Maps, outermost first).
    pub fn at(mut self, path: &[usize], schedule: Schedule) -> ItemSchedule {
        self.0.insert(path.to_vec(), schedule);
        self
    }

    /// The reply for `call`: its item's entry for its attempt, or `success(call)`.
    pub fn reply(&self, call: &TaskCall, success: impl Fn(&TaskCall) -> TaskReply) -> TaskReply {
        let attempt = call.retry_count as usize;
        let entry = self.0.get(&call.iteration).and_then(|s| s.0.get(attempt));
        let what = format!("item {:?}, attempt {attempt}", call.iteration);
        answer(entry, &what, call, success)
    }

    /// A handler answering as scheduled, with `success` for the rest.
    pub fn handler(
        self,
        success: impl Fn(&TaskCall) -> TaskReply + Send + Sync,
    ) -> impl Fn(&TaskCall) -> TaskReply + Send + Sync {
        move |call| self.reply(call, &success)
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
