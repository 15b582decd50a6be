//! Per-state views of an execution, read from its history: each visit of a
//! state (input, output, times) and each attempt of a Task (parameters,
//! result or error, retry number, Map index, Parallel branch, times), plus
//! the path of states taken and assertions that show the relevant part of
//! the trace when they fail.

use crate::eval::{Execution, Place};
use crate::history::{Details, Event, WorkStep};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// Where a visit or an attempt ran: the innermost Map iteration and
/// Parallel branch around it, if any, and the child execution (a
/// distributed Map's, or a child machine's) it ran in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Within {
    /// The index of the innermost Map iteration (inline, or the item or
    /// batch of a distributed Map's child execution).
    pub map_index: Option<usize>,
    /// The index of the innermost Parallel branch.
    pub branch: Option<usize>,
    /// The ARN of the child execution it ran in (`None`: in the execution
    /// asked).
    pub execution: Option<String>,
}

/// One visit of a state: from its StateEntered to its StateExited.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The state's input.
    pub input: Value,
    /// Its output, if it exited (a failed or aborted visit has none).
    pub output: Option<Value>,
    /// When it was entered, after the execution's start (virtual time).
    pub entered: Duration,
    /// When it exited, if it did.
    pub exited: Option<Duration>,
    /// The Map iteration or Parallel branch it ran in.
    pub within: Within,
}

/// One attempt of a Task: one invocation of its resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// 0 for the first attempt of a visit, then 1, 2… (`$$.State.RetryCount`).
    pub retry: u32,
    /// The effective parameters the task was called with.
    pub parameters: Value,
    /// The result, if the attempt succeeded.
    pub result: Option<Value>,
    /// The error, if it failed or timed out.
    pub error: Option<String>,
    /// The error's cause.
    pub cause: Option<String>,
    /// When it was scheduled, after the execution's start (virtual time).
    pub started: Duration,
    /// When it ended, if it did (an aborted attempt has no end).
    pub ended: Option<Duration>,
    /// The Map iteration or Parallel branch it ran in.
    pub within: Within,
}

impl Attempt {
    /// Whether it succeeded.
    pub fn succeeded(&self) -> bool {
        self.result.is_some()
    }
}

/// Everything one state did in an execution ([`Execution::state`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StateReport {
    /// The state's name.
    pub name: String,
    /// Each visit, in the order entered.
    pub visits: Vec<Visit>,
    /// Each attempt of a Task state, in the order scheduled.
    pub attempts: Vec<Attempt>,
}

impl StateReport {
    /// The output of its last visit that exited.
    pub fn output(&self) -> Option<&Value> {
        self.visits.iter().rev().find_map(|v| v.output.as_ref())
    }

    /// The results of its successful attempts, in order.
    pub fn results(&self) -> Vec<&Value> {
        self.attempts.iter().filter_map(|a| a.result.as_ref()).collect()
    }

    /// The errors of its failed attempts, in order.
    pub fn errors(&self) -> Vec<&str> {
        self.attempts.iter().filter_map(|a| a.error.as_deref()).collect()
    }
}

impl Execution {
    fn since_start(&self, e: &Event) -> Duration {
        Duration::from_millis((e.timestamp_ms - self.start_ms).max(0) as u64)
    }

    /// The innermost iteration and branch around fiber `f`.
    fn within(&self, mut f: usize) -> Within {
        let mut w = Within::default();
        while let Some((parent, place)) = self.fibers.get(f) {
            match place {
                Place::Iteration { index, .. } if w.map_index.is_none() => {
                    w.map_index = Some(*index)
                }
                Place::Branch { index, .. } if w.branch.is_none() => w.branch = Some(*index),
                _ => {}
            }
            if f == 0 {
                break;
            }
            f = *parent;
        }
        w
    }

    /// What the state `name` (at any depth) did: its visits and, for a Task,
    /// its attempts with parameters, results and errors as JSON.
    ///
    /// ```
    /// # use sfn_harness::{Harness, TaskReply};
    /// # use serde_json::json;
    /// let exec = Harness::from_definition(r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
    ///     "Resource": "arn:aws:states:::lambda:invoke", "End": true,
    ///     "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2}]}}}"#).unwrap()
    ///     .on_task("T", |c| if c.retry_count == 0 { TaskReply::fail("Flaky", None) } else { TaskReply::ok(json!(1)) })
    ///     .run_blocking(json!({"n": 1}));
    /// let t = exec.state("T");
    /// assert_eq!(t.attempts.len(), 2);
    /// assert_eq!(t.attempts[0].error.as_deref(), Some("Flaky"));
    /// assert_eq!(t.attempts[1].retry, 1);
    /// assert_eq!(t.attempts[1].started.as_secs(), 2);
    /// assert_eq!(t.output(), Some(&json!(1)));
    /// ```
    pub fn state(&self, name: &str) -> StateReport {
        let mut report = self.own_state(name);
        for (_, e) in self.descendants().into_iter().skip(1) {
            let shift = Duration::from_millis((e.start_ms - self.start_ms).max(0) as u64);
            let theirs = e.own_state(name);
            let tag = |w: &mut Within| {
                if w.execution.is_none() {
                    w.execution = Some(e.execution_arn.clone());
                }
                if w.map_index.is_none() {
                    w.map_index = e.map_index;
                }
            };
            for mut v in theirs.visits {
                v.entered += shift;
                v.exited = v.exited.map(|t| t + shift);
                tag(&mut v.within);
                report.visits.push(v);
            }
            for mut a in theirs.attempts {
                a.started += shift;
                a.ended = a.ended.map(|t| t + shift);
                tag(&mut a.within);
                report.attempts.push(a);
            }
        }
        // in virtual time, the parent's first where they tie
        report.visits.sort_by_key(|v| v.entered);
        report.attempts.sort_by_key(|a| a.started);
        report
    }

    /// [`Execution::state`] in this execution's own history only.
    fn own_state(&self, name: &str) -> StateReport {
        // Longer than a screen: one pass over the history, one arm per kind
        // of event a visit or an attempt is made of.
        let mut report =
            StateReport { name: name.to_string(), visits: Vec::new(), attempts: Vec::new() };
        // per fiber: the open visit of `name` (its index) and its attempts so far
        let mut open: HashMap<u32, (usize, u32)> = HashMap::new();
        let mut attempt_of: HashMap<u32, usize> = HashMap::new();
        for e in self.history.events() {
            let f = e.fiber;
            match &e.details {
                Details::StateEntered { name: n, input, .. } if &**n == name => {
                    report.visits.push(Visit {
                        input: (**input).clone(),
                        output: None,
                        entered: self.since_start(e),
                        exited: None,
                        within: self.within(f as usize),
                    });
                    open.insert(f, (report.visits.len() - 1, 0));
                }
                Details::StateEntered { .. } => {
                    open.remove(&f);
                }
                Details::StateExited { name: n, output, .. } if &**n == name => {
                    if let Some((i, _)) = open.remove(&f) {
                        report.visits[i].output = Some((**output).clone());
                        report.visits[i].exited = Some(self.since_start(e));
                    }
                }
                Details::Work { step: WorkStep::Scheduled { input: p, .. }, .. } => {
                    if let Some((_, tries)) = open.get_mut(&f) {
                        report.attempts.push(Attempt {
                            retry: *tries,
                            parameters: (**p).clone(),
                            result: None,
                            error: None,
                            cause: None,
                            started: self.since_start(e),
                            ended: None,
                            within: self.within(f as usize),
                        });
                        *tries += 1;
                        attempt_of.insert(f, report.attempts.len() - 1);
                    }
                }
                Details::Work { step: WorkStep::Succeeded { output }, .. } => {
                    if let Some(a) = attempt_of.remove(&f).filter(|_| open.contains_key(&f)) {
                        report.attempts[a].result = Some((**output).clone());
                        report.attempts[a].ended = Some(self.since_start(e));
                    }
                }
                Details::Work {
                    step: WorkStep::Failed { error, cause } | WorkStep::TimedOut { error, cause },
                    ..
                } => {
                    if let Some(a) = attempt_of.remove(&f).filter(|_| open.contains_key(&f)) {
                        report.attempts[a].error = error.clone();
                        report.attempts[a].cause = cause.clone();
                        report.attempts[a].ended = Some(self.since_start(e));
                    }
                }
                _ => {}
            }
        }
        report
    }

    /// The states entered, in the order the history records them (Map
    /// iterations and Parallel branches interleaved as they ran).
    pub fn path(&self) -> Vec<&str> {
        self.history
            .events()
            .iter()
            .filter_map(|e| match &e.details {
                Details::StateEntered { name, .. } => Some(&**name),
                _ => None,
            })
            .collect()
    }

    /// The output of the last visit of `state` that exited (in this
    /// execution or one it started).
    pub fn output_of(&self, state: &str) -> Option<Value> {
        self.descendants()
            .into_iter()
            .filter_map(|(_, x)| {
                x.history.events().iter().rev().find_map(|e| match &e.details {
                    Details::StateExited { name, output, .. } if &**name == state => {
                        Some((e.timestamp_ms, output))
                    }
                    _ => None,
                })
            })
            .enumerate()
            .max_by_key(|(i, (t, _))| (*t, std::cmp::Reverse(*i)))
            .map(|(_, (_, o))| (**o).clone())
    }

    /// How long the execution ran in virtual time.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis((self.stop_ms - self.start_ms).max(0) as u64)
    }

    /// The trace's lines about `state` (its visits and their events).
    pub fn trace_of(&self, state: &str) -> String {
        let fibers: std::collections::HashSet<u32> = self
            .history
            .events()
            .iter()
            .filter(
                |e| matches!(&e.details, Details::StateEntered { name, .. } if &**name == state),
            )
            .map(|e| e.fiber)
            .collect();
        let mut inside: HashMap<u32, bool> = HashMap::new();
        let keep: Vec<u64> = self
            .history
            .events()
            .iter()
            .filter(|e| {
                if let Details::StateEntered { name, .. } = &e.details {
                    inside.insert(e.fiber, &**name == state);
                }
                fibers.contains(&e.fiber) && inside.get(&e.fiber).copied().unwrap_or(false)
            })
            .map(|e| e.id)
            .collect();
        self.trace()
            .lines()
            .filter(|l| {
                l.strip_prefix('#')
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|id| id.parse::<u64>().ok())
                    .is_some_and(|id| keep.contains(&id))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asserts that the Task `state` was attempted `n` times (retries
    /// included); on failure shows that state's part of the trace.
    pub fn assert_attempts(&self, state: &str, n: usize) -> &Self {
        let got = self.state(state).attempts.len();
        assert!(
            got == n,
            "expected {n} attempts of '{state}', got {got}:\n{}",
            self.trace_of(state)
        );
        self
    }

    /// Asserts the states entered, in order; on failure shows both paths and the trace.
    pub fn assert_path(&self, expected: &[&str]) -> &Self {
        let got = self.path();
        assert!(
            got == expected,
            "expected the path\n  {expected:?}\ngot\n  {got:?}\n{}",
            self.trace()
        );
        self
    }

    /// Asserts the output of the last visit of `state`; on failure shows
    /// that state's part of the trace.
    pub fn assert_output_of(&self, state: &str, expected: &Value) -> &Self {
        let got = self.output_of(state);
        assert!(
            got.as_ref() == Some(expected),
            "expected '{state}' to output {expected}, got {got:?}:\n{}",
            self.trace_of(state)
        );
        self
    }
}
