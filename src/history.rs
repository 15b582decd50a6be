//! Execution history in exactly the shape of GetExecutionHistory: event
//! types, `*EventDetails` objects, ids and `previousEventId` chains.
//!
//! Payloads are kept as shared JSON values and rendered to the JSON strings
//! AWS returns only when the history is read, so recording is cheap.

pub use crate::asl::TaskResource;
use crate::json::to_json_string;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// AWS's quota: at most this many events in one execution's history.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// A payload shared between the execution and its history.
pub type Payload = Arc<Value>;

/// A payload rendered only when the history is read: what the harness
/// simulates for a service (a RunTask response) costs nothing unless someone
/// looks.
pub trait Render: Send + Sync {
    /// The payload.
    fn value(&self) -> Value;
    /// One line for traces (`RunTask (simulated): task …`).
    fn summary(&self) -> String;
}

/// A shared [`Render`]: what a deferred history payload holds.
#[derive(Clone)]
pub struct Deferred(pub Arc<dyn Render>);

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Deferred({})", self.0.summary())
    }
}

/// One history event's type and details.
#[derive(Debug, Clone)]
pub enum Details {
    ExecutionStarted {
        input: Payload,
        role_arn: Arc<str>,
    },
    ExecutionSucceeded {
        output: Payload,
    },
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    StateEntered {
        state_type: &'static str,
        name: Arc<str>,
        input: Payload,
    },
    StateExited {
        state_type: &'static str,
        name: Arc<str>,
        output: Payload,
        assigned: Option<Arc<serde_json::Map<String, Value>>>,
    },
    TaskScheduled {
        res: TaskResource,
        region: Arc<str>,
        parameters: Payload,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
    TaskStarted {
        res: TaskResource,
    },
    TaskSubmitted {
        res: TaskResource,
        output: Payload,
    },
    /// TaskSubmitted whose output (a simulated service response) is
    /// rendered when the history is read.
    TaskSubmittedDeferred {
        res: TaskResource,
        output: Deferred,
    },
    TaskSucceeded {
        res: TaskResource,
        output: Payload,
    },
    TaskFailed {
        res: TaskResource,
        error: Option<String>,
        cause: Option<String>,
    },
    TaskTimedOut {
        res: TaskResource,
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionScheduled {
        resource: Arc<str>,
        input: Payload,
        timeout: Option<u64>,
    },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded {
        output: Payload,
    },
    LambdaFunctionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityScheduled {
        resource: Arc<str>,
        input: Payload,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
    ActivityStarted {
        worker_name: String,
    },
    ActivitySucceeded {
        output: Payload,
    },
    ActivityFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    MapStateStarted {
        length: usize,
    },
    MapIterationStarted {
        name: Arc<str>,
        index: usize,
    },
    MapIterationSucceeded {
        name: Arc<str>,
        index: usize,
    },
    MapIterationFailed {
        name: Arc<str>,
        index: usize,
    },
    /// An iteration stopped because another failed the Map.
    MapIterationAborted {
        name: Arc<str>,
        index: usize,
    },
    /// A state a failure elsewhere interrupted (`TaskStateAborted`, …).
    StateAborted {
        state_type: &'static str,
    },
    MapStateSucceeded,
    MapStateFailed,
    MapRunStarted {
        map_run_arn: String,
    },
    MapRunSucceeded,
    MapRunFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ParallelStateStarted,
    /// A FAILED, TIMED_OUT or ABORTED execution goes on (RedriveExecution).
    ExecutionRedriven {
        redrive_count: u64,
    },
    /// The branches all succeeded (AWS records it; the recorded conformance
    /// cases' tooling dropped it).
    ParallelStateSucceeded,
    ParallelStateFailed,
    /// A JSONata expression (or a value it gave) failed a state
    /// (`States.QueryEvaluationError`); `location` names the field.
    EvaluationFailed {
        state: Arc<str>,
        error: Option<String>,
        cause: Option<String>,
        location: Option<String>,
    },
}

impl Details {
    /// The event type as GetExecutionHistory names it.
    pub fn type_name(&self) -> String {
        match self {
            Details::StateEntered { state_type, .. } => format!("{state_type}StateEntered"),
            Details::StateExited { state_type, .. } => format!("{state_type}StateExited"),
            Details::StateAborted { state_type } => format!("{state_type}StateAborted"),
            other => other.fixed_name().to_string(),
        }
    }

    fn fixed_name(&self) -> &'static str {
        match self {
            Details::ExecutionStarted { .. } => "ExecutionStarted",
            Details::ExecutionSucceeded { .. } => "ExecutionSucceeded",
            Details::ExecutionFailed { .. } => "ExecutionFailed",
            Details::EvaluationFailed { .. } => "EvaluationFailed",
            Details::ExecutionTimedOut { .. } => "ExecutionTimedOut",
            Details::ExecutionAborted { .. } => "ExecutionAborted",
            Details::StateEntered { .. } => "StateEntered",
            Details::StateExited { .. } => "StateExited",
            Details::StateAborted { .. } => "StateAborted",
            Details::TaskScheduled { .. } => "TaskScheduled",
            Details::TaskStarted { .. } => "TaskStarted",
            Details::TaskSubmitted { .. } | Details::TaskSubmittedDeferred { .. } => {
                "TaskSubmitted"
            }
            Details::TaskSucceeded { .. } => "TaskSucceeded",
            Details::TaskFailed { .. } => "TaskFailed",
            Details::TaskTimedOut { .. } => "TaskTimedOut",
            Details::LambdaFunctionScheduled { .. } => "LambdaFunctionScheduled",
            Details::LambdaFunctionStarted => "LambdaFunctionStarted",
            Details::LambdaFunctionSucceeded { .. } => "LambdaFunctionSucceeded",
            Details::LambdaFunctionFailed { .. } => "LambdaFunctionFailed",
            Details::LambdaFunctionTimedOut { .. } => "LambdaFunctionTimedOut",
            Details::ActivityScheduled { .. } => "ActivityScheduled",
            Details::ActivityStarted { .. } => "ActivityStarted",
            Details::ActivitySucceeded { .. } => "ActivitySucceeded",
            Details::ActivityFailed { .. } => "ActivityFailed",
            Details::ActivityTimedOut { .. } => "ActivityTimedOut",
            Details::MapStateStarted { .. } => "MapStateStarted",
            Details::MapIterationStarted { .. } => "MapIterationStarted",
            Details::MapIterationSucceeded { .. } => "MapIterationSucceeded",
            Details::MapIterationFailed { .. } => "MapIterationFailed",
            Details::MapIterationAborted { .. } => "MapIterationAborted",
            Details::MapStateSucceeded => "MapStateSucceeded",
            Details::MapStateFailed => "MapStateFailed",
            Details::MapRunStarted { .. } => "MapRunStarted",
            Details::MapRunSucceeded => "MapRunSucceeded",
            Details::MapRunFailed { .. } => "MapRunFailed",
            Details::ParallelStateStarted => "ParallelStateStarted",
            Details::ExecutionRedriven { .. } => "ExecutionRedriven",
            Details::ParallelStateSucceeded => "ParallelStateSucceeded",
            Details::ParallelStateFailed => "ParallelStateFailed",
        }
    }

    /// The payload the event carries (its input, output or parameters).
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    fn payload(&self) -> Option<&Payload> {
        match self {
            Details::ExecutionStarted { input, .. }
            | Details::StateEntered { input, .. }
            | Details::LambdaFunctionScheduled { input, .. }
            | Details::ActivityScheduled { input, .. } => Some(input),
            Details::ExecutionSucceeded { output }
            | Details::StateExited { output, .. }
            | Details::TaskSubmitted { output, .. }
            | Details::TaskSucceeded { output, .. }
            | Details::LambdaFunctionSucceeded { output }
            | Details::ActivitySucceeded { output } => Some(output),
            Details::TaskScheduled { parameters, .. } => Some(parameters),
            _ => None,
        }
    }

    /// The key of the details object (`taskScheduledEventDetails`).
    fn details_key(&self) -> Option<&'static str> {
        Some(match self {
            Details::ExecutionStarted { .. } => "executionStartedEventDetails",
            Details::ExecutionSucceeded { .. } => "executionSucceededEventDetails",
            Details::ExecutionFailed { .. } => "executionFailedEventDetails",
            Details::EvaluationFailed { .. } => "evaluationFailedEventDetails",
            Details::ExecutionTimedOut { .. } => "executionTimedOutEventDetails",
            Details::ExecutionAborted { .. } => "executionAbortedEventDetails",
            Details::StateEntered { .. } => "stateEnteredEventDetails",
            Details::StateExited { .. } => "stateExitedEventDetails",
            Details::TaskScheduled { .. } => "taskScheduledEventDetails",
            Details::TaskStarted { .. } => "taskStartedEventDetails",
            Details::TaskSubmitted { .. } | Details::TaskSubmittedDeferred { .. } => {
                "taskSubmittedEventDetails"
            }
            Details::TaskSucceeded { .. } => "taskSucceededEventDetails",
            Details::TaskFailed { .. } => "taskFailedEventDetails",
            Details::TaskTimedOut { .. } => "taskTimedOutEventDetails",
            Details::LambdaFunctionScheduled { .. } => "lambdaFunctionScheduledEventDetails",
            Details::LambdaFunctionStarted => return None,
            Details::LambdaFunctionSucceeded { .. } => "lambdaFunctionSucceededEventDetails",
            Details::LambdaFunctionFailed { .. } => "lambdaFunctionFailedEventDetails",
            Details::LambdaFunctionTimedOut { .. } => "lambdaFunctionTimedOutEventDetails",
            Details::ActivityScheduled { .. } => "activityScheduledEventDetails",
            Details::ActivityStarted { .. } => "activityStartedEventDetails",
            Details::ActivitySucceeded { .. } => "activitySucceededEventDetails",
            Details::ActivityFailed { .. } => "activityFailedEventDetails",
            Details::ActivityTimedOut { .. } => "activityTimedOutEventDetails",
            Details::MapStateStarted { .. } => "mapStateStartedEventDetails",
            Details::MapIterationStarted { .. } => "mapIterationStartedEventDetails",
            Details::MapIterationSucceeded { .. } => "mapIterationSucceededEventDetails",
            Details::MapIterationFailed { .. } => "mapIterationFailedEventDetails",
            Details::MapIterationAborted { .. } => "mapIterationAbortedEventDetails",
            Details::MapRunStarted { .. } => "mapRunStartedEventDetails",
            Details::MapRunFailed { .. } => "mapRunFailedEventDetails",
            Details::ExecutionRedriven { .. } => "executionRedrivenEventDetails",
            Details::MapStateSucceeded
            | Details::MapStateFailed
            | Details::MapRunSucceeded
            | Details::ParallelStateStarted
            | Details::ParallelStateSucceeded
            | Details::ParallelStateFailed
            | Details::StateAborted { .. } => return None,
        })
    }

    fn details_json(&self, data: bool) -> Value {
        // Longer than a screen: one arm per event type, the table of GetExecutionHistory's shapes.
        let mut m = Map::new();
        let payload = |m: &mut Map<String, Value>, key: &str, v: &Payload| {
            if data {
                m.insert(key.to_string(), Value::String(to_json_string(v)));
            }
            m.insert(format!("{key}Details"), json!({"truncated": false}));
        };
        let err = |m: &mut Map<String, Value>, e: &Option<String>, c: &Option<String>| {
            if let Some(c) = c {
                m.insert("cause".into(), Value::String(c.clone()));
            }
            if let Some(e) = e {
                m.insert("error".into(), Value::String(e.clone()));
            }
        };
        let res = |m: &mut Map<String, Value>, r: &TaskResource| {
            m.insert("resource".into(), Value::String(r.resource.to_string()));
            m.insert("resourceType".into(), Value::String(r.resource_type.to_string()));
        };
        match self {
            Details::ExecutionStarted { input, role_arn } => {
                payload(&mut m, "input", input);
                m.insert("roleArn".into(), Value::String(role_arn.to_string()));
            }
            Details::ExecutionSucceeded { output }
            | Details::LambdaFunctionSucceeded { output }
            | Details::ActivitySucceeded { output } => payload(&mut m, "output", output),
            Details::ExecutionFailed { error, cause }
            | Details::ExecutionTimedOut { error, cause }
            | Details::ExecutionAborted { error, cause }
            | Details::LambdaFunctionFailed { error, cause }
            | Details::LambdaFunctionTimedOut { error, cause }
            | Details::ActivityFailed { error, cause }
            | Details::ActivityTimedOut { error, cause }
            | Details::MapRunFailed { error, cause } => err(&mut m, error, cause),
            Details::EvaluationFailed { state, error, cause, location } => {
                err(&mut m, error, cause);
                if let Some(l) = location {
                    m.insert("location".into(), Value::String(l.clone()));
                }
                m.insert("state".into(), Value::String(state.to_string()));
            }
            Details::MapStateStarted { length } => {
                m.insert("length".into(), json!(length));
            }
            Details::MapIterationStarted { name, index }
            | Details::MapIterationSucceeded { name, index }
            | Details::MapIterationFailed { name, index }
            | Details::MapIterationAborted { name, index } => {
                m.insert("name".into(), Value::String(name.to_string()));
                m.insert("index".into(), json!(index));
            }
            Details::MapRunStarted { map_run_arn } => {
                m.insert("mapRunArn".into(), Value::String(map_run_arn.clone()));
            }
            Details::ExecutionRedriven { redrive_count } => {
                m.insert("redriveCount".into(), json!(redrive_count));
            }
            Details::MapStateSucceeded
            | Details::MapStateFailed
            | Details::MapRunSucceeded
            | Details::ParallelStateStarted
            | Details::ParallelStateSucceeded
            | Details::ParallelStateFailed
            | Details::StateAborted { .. } => {}
            Details::StateEntered { name, input, .. } => {
                m.insert("name".into(), Value::String(name.to_string()));
                payload(&mut m, "input", input);
            }
            Details::StateExited { name, output, assigned, .. } => {
                if let Some(vars) = assigned {
                    if data {
                        let rendered = vars
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::String(to_json_string(v))))
                            .collect();
                        m.insert("assignedVariables".into(), Value::Object(rendered));
                    }
                    m.insert("assignedVariablesDetails".into(), json!({"truncated": false}));
                }
                m.insert("name".into(), Value::String(name.to_string()));
                payload(&mut m, "output", output);
            }
            Details::TaskScheduled { res: r, region, parameters, timeout, heartbeat } => {
                res(&mut m, r);
                m.insert("region".into(), Value::String(region.to_string()));
                if data {
                    m.insert("parameters".into(), Value::String(to_json_string(parameters)));
                }
                if let Some(t) = timeout {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat {
                    m.insert("heartbeatInSeconds".into(), json!(h));
                }
            }
            Details::TaskStarted { res: r } => res(&mut m, r),
            Details::TaskSubmittedDeferred { res: r, output } => {
                res(&mut m, r);
                payload(&mut m, "output", &Arc::new(output.0.value()));
            }
            Details::TaskSubmitted { res: r, output }
            | Details::TaskSucceeded { res: r, output } => {
                res(&mut m, r);
                payload(&mut m, "output", output);
            }
            Details::TaskFailed { res: r, error, cause }
            | Details::TaskTimedOut { res: r, error, cause } => {
                res(&mut m, r);
                err(&mut m, error, cause);
            }
            Details::LambdaFunctionScheduled { resource, input, timeout } => {
                m.insert("resource".into(), Value::String(resource.to_string()));
                payload(&mut m, "input", input);
                if let Some(t) = timeout {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
            }
            Details::LambdaFunctionStarted => {}
            Details::ActivityScheduled { resource, input, timeout, heartbeat } => {
                m.insert("resource".into(), Value::String(resource.to_string()));
                payload(&mut m, "input", input);
                if let Some(t) = timeout {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat {
                    m.insert("heartbeatInSeconds".into(), json!(h));
                }
            }
            Details::ActivityStarted { worker_name } => {
                m.insert("workerName".into(), Value::String(worker_name.clone()));
            }
        }
        Value::Object(m)
    }
}

/// One history event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    pub details: Details,
    /// Which fiber of the execution recorded it (0: the top level; see
    /// `eval/sched.rs`): what ties a branch's or an iteration's events
    /// together when they interleave. Not part of AWS's shape.
    pub fiber: u32,
}

impl Event {
    /// The event as GetExecutionHistory returns it; `data` false drops
    /// inputs, outputs and parameters (`includeExecutionData: false`).
    pub fn to_json(&self, data: bool) -> Value {
        let mut m = Map::new();
        m.insert("timestamp".into(), json!(self.timestamp_ms as f64 / 1000.0));
        m.insert("type".into(), Value::String(self.details.type_name()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some(k) = self.details.details_key() {
            m.insert(k.into(), self.details.details_json(data));
        }
        Value::Object(m)
    }

    pub fn type_name(&self) -> String {
        self.details.type_name()
    }
}

/// The events of one execution, in order.
#[derive(Debug, Clone, Default)]
pub struct History {
    events: Vec<Event>,
    /// Whether a state has been entered yet (the first one points at event 0).
    entered_any: bool,
    /// Per fiber: its parent, and the latest event it or a fiber inside it
    /// recorded (what its next event follows).
    fibers: Vec<(u32, u64)>,
    /// The latest event recorded aside by a fiber (see [`History::push_aside_in`]).
    aside: Option<(u32, u64)>,
}

impl History {
    /// An empty history with room for `n` events.
    pub fn with_capacity(n: usize) -> History {
        History {
            events: Vec::with_capacity(n),
            entered_any: false,
            fibers: vec![(0, 0)],
            aside: None,
        }
    }

    /// Appends an event recorded by `fiber` (a child of `parent`) at
    /// `now_ms`; returns its id. `previousEventId` follows the fiber's own
    /// thread, as AWS's does: its latest event (or one of the branches or
    /// iterations it started, when they ended after it), else its parent's.
    pub fn push_in(&mut self, fiber: u32, parent: u32, now_ms: i64, details: Details) -> u64 {
        self.push_with(fiber, parent, now_ms, details, false)
    }

    /// [`History::push_in`] for an event the fiber's thread passes by, as
    /// AWS records a Map's or Parallel's …Succeeded (and a map run's
    /// MapRunSucceeded): it follows the fiber's latest event (or the event
    /// recorded aside just before it), and the fiber's next event follows
    /// what this one follows (MapStateExited after MapIterationSucceeded,
    /// not after MapStateSucceeded).
    pub fn push_aside_in(&mut self, fiber: u32, parent: u32, now_ms: i64, details: Details) -> u64 {
        self.push_with(fiber, parent, now_ms, details, true)
    }

    fn push_with(
        &mut self,
        fiber: u32,
        parent: u32,
        now_ms: i64,
        details: Details,
        aside: bool,
    ) -> u64 {
        let id = self.events.len() as u64 + 1;
        let f = fiber as usize;
        if self.fibers.len() <= f {
            self.fibers.resize(f + 1, (0, 0));
        }
        if self.fibers[f].1 == 0 && f != 0 {
            self.fibers[f].0 = parent;
        }
        let follows = match self.fibers[f].1 {
            0 => self.fibers.get(self.fibers[f].0 as usize).map_or(id - 1, |p| p.1),
            latest => latest,
        };
        let previous_event_id = match &details {
            Details::ExecutionStarted { .. } => 0,
            Details::StateEntered { .. } if !self.entered_any => {
                self.entered_any = true;
                0
            }
            _ => match self.aside {
                Some((a, latest)) if aside && a == fiber => latest,
                _ => follows,
            },
        };
        if aside {
            self.aside = Some((fiber, id));
            self.events.push(Event { id, previous_event_id, timestamp_ms: now_ms, details, fiber });
            return id;
        }
        self.aside = None;
        // this fiber and every fiber around it have this event as their latest
        let mut g = f;
        loop {
            self.fibers[g].1 = id;
            if g == 0 {
                break;
            }
            g = self.fibers[g].0 as usize;
        }
        self.events.push(Event { id, previous_event_id, timestamp_ms: now_ms, details, fiber });
        id
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// A history of these events (as a reader copied them).
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    pub(crate) fn from_events(events: Vec<Event>) -> History {
        let mut h = History::with_capacity(0);
        h.events = events;
        h.resumed()
    }

    /// The history a redrive goes on with: its events, their fibers
    /// forgotten (the redriven run numbers its own from the top level).
    pub fn resumed(mut self) -> History {
        let last = self.events.len() as u64;
        for e in &mut self.events {
            e.fiber = 0;
        }
        self.fibers = vec![(0, last)];
        self.entered_any = true;
        self.aside = None;
        self
    }

    /// About how many bytes the history holds: each payload it shares
    /// counted once, as the JSON it renders to, and each event's own fields.
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    pub fn retained_bytes(&self) -> usize {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0 += b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        const PER_EVENT: usize = 160;
        let mut seen = std::collections::HashSet::new();
        let mut count = Count(self.events.len() * PER_EVENT);
        for p in self.events.iter().filter_map(|e| e.details.payload()) {
            if seen.insert(Arc::as_ptr(p)) {
                let _ = serde_json::to_writer(&mut count, &**p);
            }
        }
        count.0
    }

    /// The whole history as GetExecutionHistory's `events` array.
    pub fn to_json(&self) -> Value {
        Value::Array(self.events.iter().map(|e| e.to_json(true)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_payload_is_counted_once() {
        let big: Payload = Arc::new(json!({"v": "x".repeat(10_000)}));
        let mut h = History::with_capacity(4);
        let role: Arc<str> = Arc::from("r");
        h.push_in(
            0,
            0,
            0,
            Details::ExecutionStarted { input: big.clone(), role_arn: role.clone() },
        );
        h.push_in(0, 0, 0, Details::ExecutionSucceeded { output: big.clone() });
        let once = h.retained_bytes();
        assert!((10_000..12_000).contains(&once), "{once}");
        let other: Payload = Arc::new(json!({"v": "x".repeat(10_000)}));
        h.push_in(0, 0, 0, Details::ExecutionSucceeded { output: other });
        assert!(h.retained_bytes() > once + 10_000);
    }
}
