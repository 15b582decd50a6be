//! What one run gives: an [`Execution`] with one [`Outcome`] (how it
//! ended, never a mix of fields), its history and what it touched.

use super::error::{names, FaultKind, HarnessFault};
use super::sched::Place;
use super::{Failure, Hit};
use crate::history::{History, Payload};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Still running (or, offline, stalled on a callback that will not come).
    Running,
    /// Ended in a Succeed state or at an `End`.
    Succeeded,
    /// Ended with an error nothing caught, or in a Fail state.
    Failed,
    /// Ran past the state machine's TimeoutSeconds.
    TimedOut,
    /// Stopped from outside (StopExecution).
    Aborted,
}

impl Status {
    /// As AWS writes it: `SUCCEEDED`, `TIMED_OUT`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// SUCCEEDED, with this output (shared with the history).
    Succeeded(Payload),
    /// FAILED: a Fail state, or an error nothing caught.
    Failed(Failure),
    /// FAILED because of the test, not the pipeline: a Task state nobody
    /// answers, a mock run dry, something the harness does not evaluate yet.
    Faulted(HarnessFault),
    /// TIMED_OUT: it ran past the state machine's TimeoutSeconds.
    TimedOut,
    /// Still RUNNING, offline for good: it waits for a callback nothing will
    /// send, with no timeout to end the wait; why.
    Stalled(String),
    /// ABORTED: stopped from outside; a distributed Map's child execution
    /// still running when its map run failed.
    Aborted,
}

impl Outcome {
    /// The status AWS would report.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Succeeded(_) => Status::Succeeded,
            Outcome::Failed(_) | Outcome::Faulted(_) => Status::Failed,
            Outcome::TimedOut => Status::TimedOut,
            Outcome::Stalled(_) => Status::Running,
            Outcome::Aborted => Status::Aborted,
        }
    }

    /// The failure that ended it, as ExecutionFailed / ExecutionTimedOut
    /// record it.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Outcome::Failed(f) => Some(f.clone()),
            Outcome::Faulted(fault) => Some(fault.failure()),
            Outcome::TimedOut => Some(Failure::new(names::TIMEOUT, None)),
            Outcome::Succeeded(_) | Outcome::Stalled(_) | Outcome::Aborted => None,
        }
    }
}

/// A finished (or stalled) execution: its outcome, its history, and what it
/// touched (tasks invoked, workers' logs, S3 objects written).
#[derive(Debug, Clone)]
pub struct Execution {
    pub(crate) outcome: Outcome,
    /// The events, in GetExecutionHistory's shape (read them through
    /// [`Execution::history_json`], [`Execution::event_types`] or [`Execution::trace`]).
    pub(crate) history: History,
    pub(crate) execution_arn: String,
    pub(crate) name: String,
    pub(crate) state_machine_arn: String,
    pub(crate) input: Payload,
    pub(crate) start_ms: i64,
    pub(crate) stop_ms: i64,
    pub(crate) redrive_count: u64,
    pub(crate) invocations: crate::hash::FastMap<Arc<str>, usize>,
    /// Each fiber's parent and place (Map iteration, Parallel branch), by
    /// the fiber id history events carry (shared with the execution's
    /// map-run children, whose fibers are the parent's).
    pub(crate) fibers: Arc<Vec<(usize, Place)>>,
    /// The distributed Map runs it started, in the order they started.
    pub(crate) map_runs: Vec<MapRun>,
    /// The child executions its `states:startExecution` tasks started, in
    /// order, with the Task state that started each.
    pub(crate) children: Vec<(Arc<str>, Execution)>,
    /// The Choice rules, retriers and catchers that ran, by state name.
    pub(crate) hits: Vec<(Arc<str>, Hit)>,
    pub(crate) task_logs: Vec<TaskLog>,
    pub(crate) written: BTreeMap<String, String>,
    /// For a distributed Map's child execution: the item (batch) it ran.
    pub(crate) map_index: Option<usize>,
}

/// One run of a distributed Map: its ARN and its child executions, each an
/// [`Execution`] of its own (ARN, name, history, status), as
/// ListExecutions with `mapRunArn` and DescribeMapRun show them.
#[derive(Debug, Clone)]
pub struct MapRun {
    pub(crate) state: Arc<str>,
    pub(crate) map_run_arn: String,
    pub(crate) start_ms: i64,
    pub(crate) stop_ms: i64,
    pub(crate) status: Status,
    /// The items the run had (child executions that never started are
    /// PENDING in DescribeMapRun's counts).
    pub(crate) total: usize,
    pub(crate) executions: Vec<Execution>,
    /// Whether a ResultWriter wrote the children's results.
    pub(crate) results_written: bool,
}

impl MapRun {
    /// Gives the run's child executions (and theirs) the parent's fibers.
    pub(crate) fn share_fibers(&mut self, fibers: &Arc<Vec<(usize, Place)>>) {
        for e in &mut self.executions {
            e.fibers = fibers.clone();
            for r in &mut e.map_runs {
                r.share_fibers(fibers);
            }
        }
    }

    /// The Map state that started it.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// `arn:aws:states:R:A:mapRun:MACHINE/LABEL:ID`.
    pub fn map_run_arn(&self) -> &str {
        &self.map_run_arn
    }

    /// SUCCEEDED, FAILED or ABORTED (MapRunSucceeded / MapRunFailed).
    pub fn status(&self) -> Status {
        self.status
    }

    /// Virtual start and stop time, epoch milliseconds.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Virtual stop time, epoch milliseconds.
    pub fn stop_ms(&self) -> i64 {
        self.stop_ms
    }

    /// How many child executions the run was to start (one per item or
    /// batch); those that never started are not in [`MapRun::executions`].
    pub fn total(&self) -> usize {
        self.total
    }

    /// The child executions that started, in item (batch) order.
    pub fn executions(&self) -> &[Execution] {
        &self.executions
    }

    /// The child execution of item (batch) `index`, if it started.
    pub fn execution(&self, index: usize) -> Option<&Execution> {
        self.executions.iter().find(|e| e.map_index == Some(index))
    }

    /// How many child executions ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.executions.iter().filter(|e| e.status() == status).count()
    }
}

/// The output of one task invocation's worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLog {
    /// The Task state.
    pub state: Arc<str>,
    /// Which invocation of the state (0-based, retries included).
    pub invocation: usize,
    /// stdout and stderr.
    pub logs: String,
    /// The worker's own run time, when known (containers).
    pub worker_ms: Option<i64>,
}

impl Execution {
    /// How it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Whether the status is SUCCEEDED.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Succeeded(_))
    }

    /// Where it ended: SUCCEEDED, FAILED, TIMED_OUT, or RUNNING (stalled).
    pub fn status(&self) -> Status {
        self.outcome.status()
    }

    /// The error name, when FAILED or TIMED_OUT (`None` also for a failure
    /// without one, as a SendTaskFailure without an error records none).
    pub fn error(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(f) => f.error.as_deref(),
            Outcome::Faulted(fault) => Some(fault.error_name()),
            Outcome::TimedOut => Some(names::TIMEOUT),
            Outcome::Succeeded(_) | Outcome::Stalled(_) | Outcome::Aborted => None,
        }
    }

    /// The error's cause, when there is one.
    pub fn cause(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(f) => f.cause.as_deref(),
            Outcome::Faulted(fault) => Some(&fault.message),
            _ => None,
        }
    }

    /// The output when SUCCEEDED, else `null`.
    pub fn output(&self) -> &Value {
        match &self.outcome {
            Outcome::Succeeded(v) => v,
            _ => &Value::Null,
        }
    }

    /// The output, shared with the history, when SUCCEEDED.
    pub(crate) fn output_payload(&self) -> Option<&Payload> {
        match &self.outcome {
            Outcome::Succeeded(v) => Some(v),
            _ => None,
        }
    }

    /// Why the execution cannot go on offline (a callback that never
    /// came), when it is still RUNNING.
    pub fn stalled(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Stalled(why) => Some(why),
            _ => None,
        }
    }

    /// The problem of the test that failed it, if one did.
    pub fn fault(&self) -> Option<&HarnessFault> {
        match &self.outcome {
            Outcome::Faulted(fault) => Some(fault),
            _ => None,
        }
    }

    /// Why the harness could not run it: a feature it does not evaluate yet.
    pub fn unsupported(&self) -> Option<&str> {
        self.fault().filter(|f| f.kind == FaultKind::Unsupported).map(|f| f.message.as_str())
    }

    /// How many times the Task state `state` was invoked (retries
    /// included), in this execution and every execution it started.
    pub fn invocations(&self, state: &str) -> usize {
        self.descendants().iter().map(|(_, e)| e.invocations.get(state).copied().unwrap_or(0)).sum()
    }

    /// `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`.
    pub fn execution_arn(&self) -> &str {
        &self.execution_arn
    }

    /// The execution's name (a seeded UUID unless given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// The execution input.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// Virtual start time, epoch milliseconds.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Virtual stop time, epoch milliseconds.
    pub fn stop_ms(&self) -> i64 {
        self.stop_ms
    }

    /// How many times it was redriven (RedriveExecution, `Execution::redrive`).
    pub fn redrive_count(&self) -> u64 {
        self.redrive_count
    }

    /// What task workers printed (containers' stdout/stderr), per invocation.
    pub fn task_logs(&self) -> &[TaskLog] {
        &self.task_logs
    }

    /// The last run of the distributed Map `state` (at any depth, in child
    /// executions too).
    ///
    /// ```
    /// # use sfn_harness::{Harness, Status};
    /// # use serde_json::json;
    /// let exec = Harness::from_definition(r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
    ///     "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    ///       "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}"#)
    ///     .unwrap().run_blocking(json!([1, 2, 3]));
    /// let run = exec.map_run("M").unwrap();
    /// assert_eq!(run.executions().len(), 3);
    /// assert_eq!(run.execution(2).unwrap().output(), &json!(3));
    /// assert_eq!(run.count(Status::Succeeded), 3);
    /// assert_eq!(exec.state("P").visits.len(), 3); // visits inside the children count
    /// ```
    pub fn map_run(&self, state: &str) -> Option<&MapRun> {
        self.map_runs().into_iter().rev().find(|r| &*r.state == state)
    }

    /// Every distributed Map run, this execution's and those of the
    /// executions it started ([`Execution::descendants`]).
    pub fn map_runs(&self) -> Vec<&MapRun> {
        self.descendants().into_iter().flat_map(|(_, e)| e.map_runs.iter()).collect()
    }

    /// The first child execution the `states:startExecution` Task `state`
    /// started (at any depth).
    pub fn child(&self, state: &str) -> Option<&Execution> {
        self.children_of(state).into_iter().next()
    }

    /// Every child execution the `states:startExecution` Task `state`
    /// started (at any depth: in map runs and children too), in order.
    pub fn children_of(&self, state: &str) -> Vec<&Execution> {
        self.descendants()
            .into_iter()
            .flat_map(|(_, e)| e.children.iter())
            .filter(|(s, _)| &**s == state)
            .map(|(_, e)| e)
            .collect()
    }

    /// This execution, then every execution it started (map-run children
    /// and child machines, at any depth), each with the state that started
    /// it (`None` for this one).
    pub fn descendants(&self) -> Vec<(Option<&str>, &Execution)> {
        let mut out = vec![(None, self)];
        let mut i = 0;
        while i < out.len() {
            let e = out[i].1;
            for r in &e.map_runs {
                out.extend(r.executions.iter().map(|c| (Some(&*r.state), c)));
            }
            out.extend(e.children.iter().map(|(s, c)| (Some(&**s), c)));
            i += 1;
        }
        out
    }

    /// For a distributed Map's child execution: the item (batch) it ran.
    pub fn map_index(&self) -> Option<usize> {
        self.map_index
    }

    /// The S3 objects the execution wrote (a distributed Map's ResultWriter:
    /// its manifest and result files), `bucket/key` → body.
    pub fn written(&self) -> &BTreeMap<String, String> {
        &self.written
    }
}
