//! Execution history in exactly the shape of GetExecutionHistory: event
//! types, `*EventDetails` objects, ids and `previousEventId` chains.
//!
//! Payloads are kept as shared JSON values and rendered to the JSON strings
//! AWS returns only when the history is read, so recording is cheap.

pub(crate) use crate::asl::TaskResource;
use crate::json::to_json_string;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// AWS's quota: at most this many events in one execution's history.
pub(crate) const MAX_HISTORY_EVENTS: usize = 25_000;

/// A payload shared between the execution and its history.
pub(crate) type Payload = Arc<Value>;

/// One history event's type and details.
#[derive(Debug, Clone)]
pub(crate) enum Details {
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
    /// One step of a Task state's work, named after who does it and the
    /// step: `TaskScheduled`, `LambdaFunctionTimedOut`, `ActivityStarted`.
    Work {
        by: Service,
        step: WorkStep,
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

/// Where an execution runs: what a simulated ECS task's ARNs name (one
/// per execution, shared by its events).
#[derive(Debug)]
pub(crate) struct Place {
    pub region: Arc<str>,
    pub account: Arc<str>,
}

/// The id of a simulated ECS task, as its ARN ends: 32 hex digits.
pub(crate) fn simulated_task_id([hi, lo]: [u64; 2]) -> String {
    format!("{hi:016x}{lo:016x}")
}

/// Who does a Task state's work: what its events are named after.
#[derive(Debug, Clone)]
pub(crate) enum Service {
    /// A service integration (`arn:aws:states:::ecs:runTask.sync`): Task…
    /// events, naming its resourceType and resource.
    Task(Arc<TaskResource>),
    /// A Lambda function ARN as the Resource: LambdaFunction… events.
    LambdaFunction(Arc<str>),
    /// An activity: Activity… events.
    Activity(Arc<str>),
}

/// One step of a Task state's work.
#[derive(Debug, Clone)]
pub(crate) enum WorkStep {
    /// The work was scheduled with this input (a service integration's
    /// `parameters`, recorded with its region).
    Scheduled {
        input: crate::parameters::Parameters,
        region: Arc<str>,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
    /// The work started (an activity: taken by this worker).
    Started {
        worker_name: Option<String>,
    },
    /// The service accepted the request (`.sync`, `.waitForTaskToken`).
    Submitted {
        output: Payload,
    },
    /// TaskSubmitted of an ECS task whose ECS side is simulated: its
    /// RunTask response, rendered from the parameters only when the history
    /// is read (it costs nothing unless someone looks).
    SubmittedRunTask {
        params: crate::parameters::Parameters,
        at: Arc<Place>,
        /// The task's id (128 bits, as two halves: an event stays 8-aligned).
        task_id: [u64; 2],
    },
    Succeeded {
        output: Payload,
    },
    Failed {
        error: Option<String>,
        cause: Option<String>,
    },
    TimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// The kinds of [`WorkStep`]: a row of the event-name table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkStepKind {
    Scheduled,
    Started,
    Submitted,
    Succeeded,
    Failed,
    TimedOut,
}

/// The work events' names: who does the work × the step.
const WORK_EVENTS: [(&str, [(WorkStepKind, &str); 6]); 3] = {
    use WorkStepKind::*;
    [
        (
            "Task",
            [
                (Scheduled, "TaskScheduled"),
                (Started, "TaskStarted"),
                (Submitted, "TaskSubmitted"),
                (Succeeded, "TaskSucceeded"),
                (Failed, "TaskFailed"),
                (TimedOut, "TaskTimedOut"),
            ],
        ),
        (
            "LambdaFunction",
            [
                (Scheduled, "LambdaFunctionScheduled"),
                (Started, "LambdaFunctionStarted"),
                (Submitted, "LambdaFunctionSubmitted"),
                (Succeeded, "LambdaFunctionSucceeded"),
                (Failed, "LambdaFunctionFailed"),
                (TimedOut, "LambdaFunctionTimedOut"),
            ],
        ),
        (
            "Activity",
            [
                (Scheduled, "ActivityScheduled"),
                (Started, "ActivityStarted"),
                (Submitted, "ActivitySubmitted"),
                (Succeeded, "ActivitySucceeded"),
                (Failed, "ActivityFailed"),
                (TimedOut, "ActivityTimedOut"),
            ],
        ),
    ]
};

impl Service {
    fn row(&self) -> usize {
        match self {
            Service::Task(_) => 0,
            Service::LambdaFunction(_) => 1,
            Service::Activity(_) => 2,
        }
    }
}

impl WorkStep {
    /// Which step this is.
    pub(crate) fn kind(&self) -> WorkStepKind {
        match self {
            WorkStep::Scheduled { .. } => WorkStepKind::Scheduled,
            WorkStep::Started { .. } => WorkStepKind::Started,
            WorkStep::Submitted { .. } | WorkStep::SubmittedRunTask { .. } => {
                WorkStepKind::Submitted
            }
            WorkStep::Succeeded { .. } => WorkStepKind::Succeeded,
            WorkStep::Failed { .. } => WorkStepKind::Failed,
            WorkStep::TimedOut { .. } => WorkStepKind::TimedOut,
        }
    }
}

impl WorkStep {
    /// A work event of a recorded history (GetExecutionHistory's JSON) read
    /// back into its step: payloads parsed from their JSON text, a cause
    /// kept as text (some recordings hold it parsed: it is written back);
    /// `None` for an event that is no work event.
    pub(crate) fn from_aws(event: &Value) -> Option<WorkStep> {
        let kind = work_step(event.get("type")?.as_str()?)?;
        let empty = Map::new();
        let d = event
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
            .and_then(|(_, v)| v.as_object())
            .unwrap_or(&empty);
        let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
        let json = |k: &str| Arc::new(d.get(k).map(crate::json::maybe_json).unwrap_or(Value::Null));
        let cause = || {
            d.get("cause").filter(|c| !c.is_null()).map(|c| match c {
                Value::String(s) => s.clone(),
                other => to_json_string(other),
            })
        };
        let secs = |k: &str| d.get(k).and_then(Value::as_u64);
        Some(match kind {
            WorkStepKind::Scheduled => WorkStep::Scheduled {
                input: if d.contains_key("parameters") {
                    json("parameters").into()
                } else {
                    json("input").into()
                },
                region: Arc::from(text("region").unwrap_or_default()),
                timeout: secs("timeoutInSeconds"),
                heartbeat: secs("heartbeatInSeconds"),
            },
            WorkStepKind::Started => WorkStep::Started { worker_name: text("workerName") },
            WorkStepKind::Submitted => WorkStep::Submitted { output: json("output") },
            WorkStepKind::Succeeded => WorkStep::Succeeded { output: json("output") },
            WorkStepKind::Failed => WorkStep::Failed { error: text("error"), cause: cause() },
            WorkStepKind::TimedOut => WorkStep::TimedOut { error: text("error"), cause: cause() },
        })
    }
}

/// The step a work event's type names (`LambdaFunctionTimedOut` →
/// TimedOut), read back from a recorded history; `None` for other events.
pub(crate) fn work_step(type_name: &str) -> Option<WorkStepKind> {
    WORK_EVENTS
        .iter()
        .flat_map(|(_, steps)| steps.iter())
        .find(|(_, name)| *name == type_name)
        .map(|(kind, _)| *kind)
}

/// The key of an event type's details object: `taskScheduledEventDetails`.
fn details_key(fixed_name: &str) -> String {
    let mut key = String::with_capacity(fixed_name.len() + 12);
    let mut chars = fixed_name.chars();
    if let Some(c) = chars.next() {
        key.push(c.to_ascii_lowercase());
    }
    key.extend(chars);
    key.push_str("EventDetails");
    key
}

impl Details {
    /// The event type as GetExecutionHistory names it.
    pub(crate) fn type_name(&self) -> String {
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
            Details::Work { by, step } => {
                let steps = &WORK_EVENTS[by.row()].1;
                steps.iter().find(|(k, _)| *k == step.kind()).map_or("", |(_, name)| name)
            }
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
    fn payload(&self) -> Option<Payload> {
        match self {
            Details::ExecutionStarted { input, .. } | Details::StateEntered { input, .. } => {
                Some(input.clone())
            }
            Details::Work { step: WorkStep::Scheduled { input, .. }, .. } => Some(input.shared()),
            Details::ExecutionSucceeded { output }
            | Details::StateExited { output, .. }
            | Details::Work {
                step: WorkStep::Submitted { output } | WorkStep::Succeeded { output },
                ..
            } => Some(output.clone()),
            _ => None,
        }
    }

    /// The event's details object, `None` for an event type that has none.
    fn details_json(&self, data: bool) -> Option<Value> {
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
            Details::ExecutionSucceeded { output } => payload(&mut m, "output", output),
            Details::ExecutionFailed { error, cause }
            | Details::ExecutionTimedOut { error, cause }
            | Details::ExecutionAborted { error, cause }
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
            | Details::StateAborted { .. }
            | Details::Work { by: Service::LambdaFunction(_), step: WorkStep::Started { .. } } => {
                return None
            }
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
            Details::Work { by, step } => {
                if let Service::Task(r) = by {
                    res(&mut m, r);
                }
                match (by, step) {
                    (
                        Service::Task(_),
                        WorkStep::Scheduled { input, region, timeout, heartbeat },
                    ) => {
                        m.insert("region".into(), Value::String(region.to_string()));
                        if data {
                            m.insert("parameters".into(), Value::String(to_json_string(input)));
                        }
                        seconds(&mut m, *timeout, *heartbeat);
                    }
                    (
                        Service::LambdaFunction(resource) | Service::Activity(resource),
                        WorkStep::Scheduled { input, timeout, heartbeat, .. },
                    ) => {
                        m.insert("resource".into(), Value::String(resource.to_string()));
                        payload(&mut m, "input", &input.shared());
                        seconds(&mut m, *timeout, *heartbeat);
                    }
                    (_, WorkStep::Started { worker_name }) => {
                        if let Some(w) = worker_name {
                            m.insert("workerName".into(), Value::String(w.clone()));
                        }
                    }
                    (_, WorkStep::SubmittedRunTask { params, at, task_id }) => {
                        let id = simulated_task_id(*task_id);
                        let v = crate::ecs::run_task_response(params, &at.region, &at.account, &id);
                        payload(&mut m, "output", &Arc::new(v))
                    }
                    (_, WorkStep::Submitted { output } | WorkStep::Succeeded { output }) => {
                        payload(&mut m, "output", output)
                    }
                    (
                        _,
                        WorkStep::Failed { error, cause } | WorkStep::TimedOut { error, cause },
                    ) => err(&mut m, error, cause),
                }
            }
        }
        Some(Value::Object(m))
    }
}

/// TimeoutSeconds and HeartbeatSeconds as a …Scheduled event records them.
fn seconds(m: &mut Map<String, Value>, timeout: Option<u64>, heartbeat: Option<u64>) {
    if let Some(t) = timeout {
        m.insert("timeoutInSeconds".into(), json!(t));
    }
    if let Some(h) = heartbeat {
        m.insert("heartbeatInSeconds".into(), json!(h));
    }
}

/// One history event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    pub details: Details,
    /// Which fiber of the execution recorded it (0: the top level; see
    /// `eval/sched/`): what ties a branch's or an iteration's events
    /// together when they interleave. Not part of AWS's shape.
    pub fiber: u32,
}

impl Event {
    /// The event as GetExecutionHistory returns it; `data` false drops
    /// inputs, outputs and parameters (`includeExecutionData: false`).
    pub(crate) fn to_json(&self, data: bool) -> Value {
        let mut m = Map::new();
        m.insert("timestamp".into(), json!(self.timestamp_ms as f64 / 1000.0));
        m.insert("type".into(), Value::String(self.details.type_name()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some(d) = self.details.details_json(data) {
            m.insert(details_key(self.details.fixed_name()), d);
        }
        Value::Object(m)
    }

    pub(crate) fn type_name(&self) -> String {
        self.details.type_name()
    }
}

/// The events of one execution, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    /// The events in segments that never move: a growing history starts a
    /// new segment instead of copying what it holds (small ones while it
    /// is short, then each as large as all before it).
    events: Segments,
    /// Whether a state has been entered yet (the first one points at event 0).
    entered_any: bool,
    /// Per fiber: its parent, and the latest event it or a fiber inside it
    /// recorded (what its next event follows).
    fibers: Vec<(u32, u64)>,
    /// The latest event recorded aside by a fiber (see [`History::push_aside_in`]).
    aside: Option<(u32, u64)>,
    /// The large payloads recorded, each kept once.
    interner: crate::intern::Interner,
}

impl History {
    /// An empty history with room for `n` events.
    pub(crate) fn with_capacity(n: usize) -> History {
        History {
            events: Segments::new(Vec::with_capacity(n)),
            entered_any: false,
            fibers: vec![(0, 0)],
            aside: None,
            interner: Default::default(),
        }
    }

    /// `v` as a payload of this history: a large value equal to one it
    /// holds is that one (see `crate::intern`).
    pub(crate) fn share(&mut self, v: Payload) -> Payload {
        self.interner.share(v)
    }

    /// Appends an event recorded by `fiber` (a child of `parent`) at
    /// `now_ms`; returns its id. `previousEventId` follows the fiber's own
    /// thread, as AWS's does: its latest event (or one of the branches or
    /// iterations it started, when they ended after it), else its parent's.
    #[inline]
    pub(crate) fn push_in(
        &mut self,
        fiber: u32,
        parent: u32,
        now_ms: i64,
        details: Details,
    ) -> u64 {
        self.push_with(fiber, parent, now_ms, details, false)
    }

    /// [`History::push_in`] for an event the fiber's thread passes by, as
    /// AWS records a Map's or Parallel's …Succeeded (and a map run's
    /// MapRunSucceeded): it follows the fiber's latest event (or the event
    /// recorded aside just before it), and the fiber's next event follows
    /// what this one follows (MapStateExited after MapIterationSucceeded,
    /// not after MapStateSucceeded).
    #[inline]
    pub(crate) fn push_aside_in(
        &mut self,
        fiber: u32,
        parent: u32,
        now_ms: i64,
        details: Details,
    ) -> u64 {
        self.push_with(fiber, parent, now_ms, details, true)
    }

    #[inline(always)]
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
        } else {
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
        }
        self.events.room().push(Event {
            id,
            previous_event_id,
            timestamp_ms: now_ms,
            details,
            fiber,
        });
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Room for `n` more events.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.events.reserve(n);
    }

    pub(crate) fn events(&self) -> Events<'_> {
        Events(&self.events)
    }

    /// A history of these events (as a reader copied them).
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    pub(crate) fn from_events(events: Vec<Event>) -> History {
        let mut h = History::with_capacity(0);
        h.events = Segments::new(events);
        h.resumed()
    }

    /// The history a redrive goes on with: its events, their fibers
    /// forgotten (the redriven run numbers its own from the top level).
    pub(crate) fn resumed(mut self) -> History {
        let last = self.events.len() as u64;
        for e in self.events.iter_mut() {
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
    pub(crate) fn retained_bytes(&self) -> usize {
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
        for p in self.events().iter().filter_map(|e| e.details.payload()) {
            if seen.insert(Arc::as_ptr(&p)) {
                let _ = serde_json::to_writer(&mut count, &*p);
            }
        }
        count.0
    }

    /// The whole history as GetExecutionHistory's `events` array.
    pub(crate) fn to_json(&self) -> Value {
        Value::Array(self.events().iter().map(|e| e.to_json(true)).collect())
    }
}

/// A history's events: the segments filled before `cur`, then `cur`, the
/// one filling. Segments hold [`SMALL_SEGMENT`] events each until the
/// history holds [`SMALL_EVENTS`] (no allocation of a kilobyte or more for
/// a short history), then each is as large as all before it.
#[derive(Debug, Clone, Default)]
struct Segments {
    done: Vec<Vec<Event>>,
    done_len: usize,
    cur: Vec<Event>,
}

/// The segment a short history grows by: under a kilobyte, as the
/// allocator's per-thread caches keep them.
const SMALL_SEGMENT: usize = 8;
/// How long a history grows by small segments.
const SMALL_EVENTS: usize = 128;

impl Segments {
    fn new(cur: Vec<Event>) -> Segments {
        Segments { done: Vec::new(), done_len: 0, cur }
    }

    fn len(&self) -> usize {
        self.done_len + self.cur.len()
    }

    /// The segment the next event goes to, with room for it.
    #[inline]
    fn room(&mut self) -> &mut Vec<Event> {
        if self.cur.len() == self.cur.capacity() {
            self.start_segment(1);
        }
        &mut self.cur
    }

    fn reserve(&mut self, n: usize) {
        if self.cur.capacity() - self.cur.len() < n {
            self.start_segment(n);
        }
    }

    /// A new segment to fill, with room for at least `n` events.
    #[cold]
    fn start_segment(&mut self, n: usize) {
        // small segments (kept by the allocator's fast paths) until the
        // history is long, then each as large as all before it
        let room = if self.len() < SMALL_EVENTS { n.max(SMALL_SEGMENT) } else { n.max(self.len()) };
        let full = std::mem::replace(&mut self.cur, Vec::with_capacity(room));
        if !full.is_empty() {
            if self.done.capacity() == 0 {
                // room for the small segments of a short history at once
                self.done.reserve(SMALL_EVENTS / SMALL_SEGMENT);
            }
            self.done_len += full.len();
            self.done.push(full);
        }
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Event> {
        self.done.iter_mut().flatten().chain(&mut self.cur)
    }
}

/// A history's events in order, segment after segment.
pub(crate) type EventsIter<'a> = std::iter::Chain<
    std::iter::Flatten<std::slice::Iter<'a, Vec<Event>>>,
    std::slice::Iter<'a, Event>,
>;

impl<'a> IntoIterator for Events<'a> {
    type Item = &'a Event;
    type IntoIter = EventsIter<'a>;

    fn into_iter(self) -> EventsIter<'a> {
        self.iter()
    }
}

/// A view of a history's events, in order.
#[derive(Clone, Copy)]
pub(crate) struct Events<'a>(&'a Segments);

impl<'a> Events<'a> {
    pub(crate) fn len(self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(self) -> EventsIter<'a> {
        self.0.done.iter().flatten().chain(&self.0.cur)
    }

    /// The event at position `i` (its id is `i + 1`).
    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    pub(crate) fn get(self, mut i: usize) -> Option<&'a Event> {
        for s in self.0.done.iter().chain([&self.0.cur]) {
            match s.get(i) {
                Some(e) => return Some(e),
                None => i -= s.len(),
            }
        }
        None
    }

    pub(crate) fn last(self) -> Option<&'a Event> {
        self.0.cur.last().or_else(|| self.0.done.last().and_then(|s| s.last()))
    }

    #[cfg_attr(not(feature = "endpoint"), allow(dead_code))]
    pub(crate) fn to_vec(self) -> Vec<Event> {
        self.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_small() {
        // every event of every history is this large: a variant that grows
        // it costs every recording, copy and drop
        assert!(std::mem::size_of::<Event>() <= 120, "{}", std::mem::size_of::<Event>());
    }

    #[test]
    fn a_growing_history_keeps_its_events_in_order_across_segments() {
        let ids = |h: &History| h.events().iter().map(|e| e.id).collect::<Vec<_>>();
        for start in [0, 4] {
            let mut h = History::with_capacity(start);
            let mut want = Vec::new();
            for n in 1..=1000u64 {
                // a reserve part way through a segment starts the next one
                if n == 70 || n == 500 {
                    h.reserve(300);
                }
                let id = h.push_in(0, 0, n as i64, Details::MapStateSucceeded);
                assert_eq!(id, n);
                want.push(n);
            }
            assert_eq!(h.len(), 1000);
            assert_eq!(ids(&h), want);
            let events = h.events();
            for i in [0, 3, 4, 63, 64, 69, 70, 499, 500, 999] {
                assert_eq!(events.get(i).map(|e| e.id), Some(i as u64 + 1));
            }
            assert!(events.get(1000).is_none());
            assert_eq!(events.last().map(|e| e.id), Some(1000));
            assert_eq!(events.iter().rev().map(|e| e.id).next(), Some(1000));
            // previousEventId follows the thread across segment boundaries
            assert!(events.iter().skip(1).all(|e| e.previous_event_id == e.id - 1));
            // a copy and a history made from it read the same
            let copy = History::from_events(events.to_vec());
            assert_eq!(ids(&copy), want);
            // small segments while short, then doubling (and the two
            // reserves): appending never copied what was there
            let most = SMALL_EVENTS / SMALL_SEGMENT + 4 + 2;
            assert!(h.events.done.len() <= most, "{} > {most}", h.events.done.len());
        }
        let empty = History::with_capacity(0);
        assert!(empty.events().last().is_none() && empty.events().get(0).is_none());
        let mut reserved = History::with_capacity(0);
        reserved.reserve(10);
        assert!(reserved.events().last().is_none());
        assert_eq!(reserved.push_in(0, 0, 0, Details::MapStateSucceeded), 1);
        assert_eq!(reserved.events().last().map(|e| e.id), Some(1));
    }

    #[test]
    fn work_event_names_and_keys_come_from_one_table() {
        let res =
            TaskResource { resource_type: Arc::from("ecs"), resource: Arc::from("runTask.sync") };
        let failed = Details::Work {
            by: Service::Task(Arc::new(res)),
            step: WorkStep::Failed { error: Some("E".into()), cause: None },
        };
        let e = Event { id: 1, previous_event_id: 0, timestamp_ms: 0, details: failed, fiber: 0 };
        let v = e.to_json(true);
        assert_eq!(v["type"], "TaskFailed");
        assert_eq!(
            v["taskFailedEventDetails"],
            json!({"resource": "runTask.sync", "resourceType": "ecs", "error": "E"})
        );
        let started = Details::Work {
            by: Service::LambdaFunction(Arc::from("arn:f")),
            step: WorkStep::Started { worker_name: None },
        };
        let e = Event { id: 2, previous_event_id: 1, timestamp_ms: 0, details: started, fiber: 0 };
        assert_eq!(
            e.to_json(true),
            json!({"timestamp": 0.0, "type": "LambdaFunctionStarted", "id": 2, "previousEventId": 1})
        );
        for (_, steps) in WORK_EVENTS {
            for (kind, name) in steps {
                assert_eq!(work_step(name), Some(kind));
            }
        }
        assert_eq!(work_step("TaskStateEntered"), None);
        // read back from AWS's JSON: the typed step, payloads parsed
        let scheduled = Details::Work {
            by: Service::Activity(Arc::from("arn:a")),
            step: WorkStep::Scheduled {
                input: json!({"n": 1}).into(),
                region: Arc::from(""),
                timeout: Some(5),
                heartbeat: None,
            },
        };
        let e =
            Event { id: 3, previous_event_id: 2, timestamp_ms: 0, details: scheduled, fiber: 0 };
        match WorkStep::from_aws(&e.to_json(true)) {
            Some(WorkStep::Scheduled { input, timeout: Some(5), heartbeat: None, .. }) => {
                assert_eq!(*input, json!({"n": 1}))
            }
            other => panic!("{other:?}"),
        }
        let failed = json!({"type": "LambdaFunctionTimedOut", "lambdaFunctionTimedOutEventDetails": {"error": "States.Timeout", "cause": {"x": 1}}});
        match WorkStep::from_aws(&failed) {
            Some(WorkStep::TimedOut { error, cause }) => {
                assert_eq!(error.as_deref(), Some("States.Timeout"));
                assert_eq!(cause.as_deref(), Some(r#"{"x":1}"#));
            }
            other => panic!("{other:?}"),
        }
        assert!(WorkStep::from_aws(&json!({"type": "PassStateEntered"})).is_none());
        assert_eq!(details_key("MapIterationStarted"), "mapIterationStartedEventDetails");
    }

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
