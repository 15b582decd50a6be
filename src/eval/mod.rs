//! HOW a state machine runs: the state loop, one function per state type,
//! input/output processing, choice rules, intrinsics, retry/catch.
//! No sleeping, spawning, network or wall clock here: time is virtual, kept
//! by the execution's simulation scheduler (`sched/`), in which Parallel
//! branches and Map iterations run concurrently; randomness is the seeded
//! [`Rng`]; tasks go through [`Integrations`].

mod callback;
mod choice;
mod error;
mod execution;
mod fail;
mod io;
mod item_reader;
mod jsonata;
mod jsonata_io;
mod map;
mod map_run;
mod nested;
mod parallel;
mod pass;
mod recover;
mod redrive;
mod sched;
mod sharable;
mod succeed;
mod task;
mod wait;

pub(crate) use crate::failure::Failure;
pub(crate) use error::names;
pub(crate) use error::{Exn, Halt};
pub use execution::{Execution, MapRun, Outcome, Status, TaskLog};
pub(crate) use io::ExecInfo;
pub use redrive::NotRedrivable;
pub(crate) use redrive::Resume;
pub(crate) use sched::current_now_ms;
pub(crate) use sched::Place;
pub use sched::{sleep, VirtualSleep};

use crate::asl::{StateKind, StateMachine};
use crate::history::{Details, History, Payload, MAX_HISTORY_EVENTS};
use crate::integrations::{BoxFuture, Integrations};
use crate::rng::Rng;
use crate::time::{Wall, DEFAULT_START_MS};
use sched::{FiberId, Sim};
use serde_json::Value;
use sharable::Sharable;
use std::sync::Arc;

/// Variables in scope: name → value (`Assign`, read as `$name`).
pub(crate) type Vars = serde_json::Map<String, Value>;

/// AWS's payload quota: 256 KiB for inputs, outputs and task results.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Paces virtual time against real time: called with the virtual
/// milliseconds a state took (a Wait, a retry backoff); the endpoint's
/// `--wait-scale` sleeps for a share of them. No pacer: virtual time only.
#[derive(Clone)]
pub(crate) struct Pacer(
    Arc<dyn Fn(i64) -> crate::integrations::BoxFuture<'static, ()> + Send + Sync>,
);

impl Pacer {
    /// A pacer that sleeps as `f` says for the virtual milliseconds it is given.
    #[cfg(feature = "endpoint")]
    pub(crate) fn new(
        f: impl Fn(i64) -> crate::integrations::BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Pacer {
        Pacer(Arc::new(f))
    }
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pacer")
    }
}

/// Settings of one execution; every field has a stated default.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    /// Seeds ids, tokens and random draws. Default 0.
    pub seed: u64,
    /// Virtual start time, epoch ms. Default 2024-01-01T00:00:00Z.
    pub start_ms: i64,
    /// Default `us-east-1`, or the region of the first ARN in the definition
    /// (shared: every task event and simulated response names it).
    pub region: Arc<str>,
    /// Default `123456789012`, or the account of the first ARN in the definition.
    pub account: Arc<str>,
    /// Default `StateMachine`.
    pub state_machine_name: String,
    /// Default: a seeded UUID.
    pub execution_name: Option<String>,
    /// Start at this state (at any depth) instead of `StartAt` (to test
    /// one state, as TestState does); the run ends where the machine holding
    /// it ends. Default `None`.
    pub start_state: Option<String>,
    /// Orders what happens at the same virtual instant in concurrent
    /// branches and iterations: 0 (the default) is the natural order, any
    /// other value one seeded interleaving (`Harness::interleaving`).
    pub interleaving: u64,
    /// Real-time pacing of virtual waits. Default `None`.
    pub pacer: Option<Pacer>,
    /// Real time, for callbacks from real workers (the only real time an
    /// execution sees). Default [`Wall::system`].
    pub wall: Wall,
    /// A copy of the history as it is written, for readers while the
    /// execution runs (the endpoint's GetExecutionHistory). Default `None`.
    pub live_history: Option<Arc<std::sync::Mutex<Vec<crate::history::Event>>>>,
    /// The state machine's IAM role, as ExecutionStarted records it.
    /// Default: `arn:aws:iam::ACCOUNT:role/StepFunctionsRole`.
    pub role_arn: Option<String>,
    /// A redrive: the execution goes on from there instead of starting.
    pub(crate) resume: Option<Arc<Resume>>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 0,
            start_ms: DEFAULT_START_MS,
            region: Arc::from(names::DEFAULT_REGION),
            account: Arc::from(names::DEFAULT_ACCOUNT),
            state_machine_name: "StateMachine".into(),
            execution_name: None,
            start_state: None,
            interleaving: 0,
            pacer: None,
            wall: Wall::system(),
            live_history: None,
            role_arn: None,
            resume: None,
        }
    }
}

impl RunConfig {
    /// Takes region and account from the first full ARN in the definition.
    pub(crate) fn infer_from(mut self, definition: &Value) -> RunConfig {
        fn find(v: &Value) -> Option<(String, String)> {
            match v {
                Value::String(s) if s.starts_with("arn:") => {
                    let p: Vec<&str> = s.splitn(6, ':').collect();
                    (p.len() == 6
                        && !p[3].is_empty()
                        && p[4].chars().all(|c| c.is_ascii_digit())
                        && !p[4].is_empty())
                    .then(|| (p[3].to_string(), p[4].to_string()))
                }
                Value::Object(m) => m.values().find_map(find),
                Value::Array(a) => a.iter().find_map(find),
                _ => None,
            }
        }
        if let Some((r, a)) = find(definition) {
            self.region = Arc::from(r);
            self.account = Arc::from(a);
        }
        self
    }

    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`.
    pub(crate) fn state_machine_arn(&self) -> String {
        crate::arn::state_machine(&self.region, &self.account, &self.state_machine_name)
    }
}

/// What all fibers of an execution add to: task invocations and logs, and
/// why the run stopped short, if it did.
#[derive(Default)]
pub(crate) struct Tally {
    /// Invocations per state id (machine-wide).
    pub invocations: Vec<usize>,
    pub task_logs: Vec<TaskLog>,
    /// Which Choice rules, retriers and catchers ran, by state id (each once).
    pub hits: Vec<(usize, Hit)>,
    /// S3 objects written (a Map's ResultWriter), `bucket/key` → body.
    pub written: std::collections::BTreeMap<String, String>,
}

/// What belongs to one execution of the run (the top-level one, or a
/// distributed Map's child execution): its invocation counts, the map
/// runs and the child machines' executions it started.
#[derive(Default)]
pub(crate) struct Own {
    /// Invocations per state id, and the names of the states counted.
    pub counts: Vec<(usize, Option<Arc<str>>)>,
    pub map_runs: Vec<MapRun>,
    pub children: Vec<(Arc<str>, Execution)>,
}

impl Own {
    /// The invocation counts by state name.
    fn invocations(&self) -> crate::hash::FastMap<Arc<str>, usize> {
        self.counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .filter_map(|(n, name)| Some((name.clone()?, *n)))
            .collect()
    }
}

/// Hands the execution whose task is running now (on this thread) a child
/// execution it started (a `states:startExecution` task's): it is kept with
/// the execution (and the map-run child) the task ran in.
pub(crate) fn adopt_child(state: Arc<str>, child: Execution) {
    sched::adopt(state, child);
}

/// A part of a state that ran, for coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Hit {
    /// Choice rule `i` matched.
    Rule(usize),
    /// No Choice rule matched: the Default.
    Default,
    /// Retrier `i` retried.
    Retrier(usize),
    /// Catcher `i` caught.
    Catcher(usize),
}

/// What one fiber of an execution (its top-level states, a Parallel
/// branch, a Map iteration) runs with: the shared clock, history and tally,
/// and its own generator and variables.
pub(crate) struct Env<'a> {
    /// The clock and the scheduler.
    pub sim: Arc<Sim>,
    pub fiber: FiberId,
    /// The fiber that started this one (itself for the top level).
    parent: FiberId,
    /// This fiber's own generator (a child's is seeded from its parent's).
    pub rng: Rng,
    history: Sharable<History>,
    /// Whether `history` is the execution's own (a distributed Map's
    /// iterations write to histories of their own).
    own_history: bool,
    tally: Sharable<Tally>,
    /// What belongs to the execution this fiber runs in.
    own: Sharable<Own>,
    /// The state machine ARN of that execution.
    pub machine: Arc<str>,
    pub exec: Arc<ExecInfo>,
    pub cfg: &'a RunConfig,
    /// The run's region and account, shared by the events that name them.
    pub place: Arc<crate::history::Place>,
    pub tasks: &'a Integrations,
    pub deadline_ms: Option<i64>,
    /// The variables in scope.
    pub vars: Arc<Vars>,
    /// What the state being run assigned (shown in its StateExited event).
    pub assigned: Option<Arc<Vars>>,
    /// The id of the event that entered the state being run.
    pub entered: u64,
    /// The payload admitted last (a task's result): a state whose output
    /// is that payload needs no second size check.
    pub admitted: Option<Payload>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `v`'s JSON text is large enough for an execution to keep it
/// once (see `crate::intern`).
pub(crate) fn kept_once(v: &Value) -> bool {
    max_json_len(v, crate::intern::MIN_SHARED_BYTES) >= crate::intern::MIN_SHARED_BYTES
}

/// A leaf of a Task's parameters: a large one (the same JSON text handed
/// to a container on every turn of a loop) kept once in `history`, as
/// [`Env::admit`] keeps payloads (see `crate::intern`).
pub(crate) fn leaf_in(history: &mut Sharable<History>, v: Value) -> crate::parameters::Leaf {
    use crate::parameters::Leaf;
    if kept_once(&v) {
        Leaf::Shared(history.get().share(Arc::new(v)))
    } else {
        Leaf::Own(v)
    }
}

impl<'a> Env<'a> {
    /// A new payload `v`, kept once when the execution has recorded an
    /// equal large one (see `crate::intern`); its quota failure when its JSON
    /// text is over [`MAX_PAYLOAD_BYTES`].
    pub(crate) fn admit(&mut self, v: Payload) -> Result<Payload, ()> {
        let v = match max_json_len(&v, MAX_PAYLOAD_BYTES) {
            n if n < crate::intern::MIN_SHARED_BYTES => v,
            n if n <= MAX_PAYLOAD_BYTES || !payload_too_large(&v) => self.history.get().share(v),
            _ => return Err(()),
        };
        self.admitted = Some(v.clone());
        Ok(v)
    }

    /// Whether `v` is the payload admitted last (see [`Env::admit`]).
    fn admitted_already(&mut self, v: &Payload) -> bool {
        self.admitted.take().is_some_and(|a| Arc::ptr_eq(&a, v))
    }

    /// Virtual time, epoch milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.sim.now_ms()
    }

    /// Evaluates an `Assign` and sets the variables; every value reads the
    /// variables as they were before the state (`st.ctx`). In JSONata the
    /// values read `$states`; in JSONPath `$` is the most specific of the
    /// result, the error output and the input.
    pub(crate) fn assign(
        &mut self,
        a: &crate::asl::Dynamic,
        st: &jsonata::States,
    ) -> Result<(), Failure> {
        let value = match a {
            crate::asl::Dynamic::JsonPath(t) => {
                let dollar = st.result.or(st.error_output).unwrap_or(st.input);
                io::eval_template(t, dollar, st.ctx, &mut self.rng)?
            }
            crate::asl::Dynamic::Jsonata(q) => jsonata::eval_query(q, st, &mut self.rng)?,
        };
        // AWS's quota: what one state assigns is at most 256 KiB
        if payload_too_large(&value) {
            return Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                Some(format!("The variables assigned by the state '{}' exceed the maximum size of {MAX_PAYLOAD_BYTES} bytes.", st.ctx.state_name)),
            ));
        }
        let Value::Object(new) = value else {
            return Ok(());
        };
        if new.is_empty() {
            return Ok(());
        }
        let vars = Arc::make_mut(&mut self.vars);
        for (k, v) in &new {
            vars.insert(k.clone(), v.clone());
        }
        match &mut self.assigned {
            Some(prev) => Arc::make_mut(prev).extend(new),
            None => self.assigned = Some(Arc::new(new)),
        }
        Ok(())
    }

    /// A failure of the state being run, as it leaves the state: its cause
    /// located (AWS's prefix naming the state and the event that entered
    /// it) and, for a JSONata evaluation, an EvaluationFailed event
    /// recorded (once: by the state it happened in).
    pub(crate) fn failed_in(
        &mut self,
        state: &crate::asl::State,
        f: Failure,
    ) -> Result<Failure, Halt> {
        let (f, evaluation) = f.locate(&state.name, self.entered);
        if let Some(field) = evaluation {
            self.push(Details::EvaluationFailed {
                state: state.name.clone(),
                error: f.error.clone(),
                cause: f.cause.clone(),
                location: (!field.is_empty()).then_some(field),
            })?;
        }
        Ok(f)
    }

    /// Records an event, if the history has room for it and the event that
    /// ends the execution; otherwise the execution fails (AWS's quota of
    /// 25,000 events), whatever catchers say.
    pub(crate) fn push(&mut self, d: Details) -> Result<u64, Halt> {
        self.push_checked(d, false)
    }

    /// [`Env::push`] for an event this fiber's thread passes by
    /// ([`History::push_aside_in`]): a Map's or Parallel's …Succeeded.
    pub(crate) fn push_aside(&mut self, d: Details) -> Result<u64, Halt> {
        self.push_checked(d, true)
    }

    fn push_checked(&mut self, d: Details, aside: bool) -> Result<u64, Halt> {
        self.record_checked(d, aside, true).ok_or_else(|| Halt::Fail(history_limit()))
    }

    /// Records an event without a quota check: the first and the last of
    /// an execution (the quota keeps room for the last).
    fn record(&mut self, d: Details) -> u64 {
        self.record_with(d, false)
    }

    /// Room for `n` more events in the history (never past the quota).
    pub(crate) fn reserve_events(&mut self, n: usize) {
        let mut history = self.history.get();
        let room = MAX_HISTORY_EVENTS.saturating_sub(history.len());
        history.reserve(n.min(room));
    }

    fn record_with(&mut self, d: Details, aside: bool) -> u64 {
        self.record_checked(d, aside, false).unwrap_or_default()
    }

    /// Records an event under one lock of the history; `None` (nothing
    /// recorded) when `checked` and the quota leaves no room for it and the
    /// execution's last event.
    fn record_checked(&mut self, d: Details, aside: bool, checked: bool) -> Option<u64> {
        let mut history = self.history.get();
        if checked && history.len() + 2 > MAX_HISTORY_EVENTS {
            return None;
        }
        let (fiber, parent, now) = (self.fiber as u32, self.parent as u32, self.sim.now_ms());
        let id = if aside {
            history.push_aside_in(fiber, parent, now, d)
        } else {
            history.push_in(fiber, parent, now, d)
        };
        if let (Some(live), true) = (&self.cfg.live_history, self.own_history) {
            // the copy mirrors the history by event id: an event a reader
            // wrote first (ExecutionStarted, see started_event) stays as it is
            let mut live = lock(live);
            if (live.len() as u64) < id {
                if let Some(e) = history.events().last() {
                    live.push(e.clone());
                }
            }
        }
        Some(id)
    }

    /// Waits `ms` of virtual time; `false` when that passes the execution's
    /// deadline (the clock then stops at the deadline).
    pub(crate) async fn sleep_ms(&mut self, ms: i64) -> bool {
        if ms <= 0 {
            return true;
        }
        let due = self.now_ms().saturating_add(ms);
        match self.deadline_ms {
            Some(d) if due > d => {
                self.sim.sleep_until(self.fiber, d).await;
                false
            }
            _ => {
                self.sim.sleep_until(self.fiber, due).await;
                true
            }
        }
    }

    /// Counts an invocation of `state`; returns its number (0-based,
    /// retries included, counted machine-wide: over every map-run child).
    pub(crate) fn count_invocation(&mut self, state: &crate::asl::State) -> usize {
        let id = state.id;
        let mut t = self.tally.get();
        if t.invocations.len() <= id {
            t.invocations.resize(id + 1, 0);
        }
        t.invocations[id] += 1;
        let n = t.invocations[id] - 1;
        drop(t);
        let mut own = self.own.get();
        if own.counts.len() <= id {
            own.counts.resize(id + 1, (0, None));
        }
        let slot = &mut own.counts[id];
        slot.0 += 1;
        if slot.1.is_none() {
            slot.1 = Some(state.name.clone());
        }
        n
    }

    /// Writes an S3 object (`bucket/key`) for the execution's result.
    pub(crate) fn write_s3(&mut self, path: String, body: String) {
        self.tally.get().written.insert(path, body);
    }

    pub(crate) fn task_log(&mut self, log: TaskLog) {
        self.tally.get().task_logs.push(log);
    }

    /// Notes a Choice rule, retrier or catcher of state `id` that ran.
    pub(crate) fn hit(&mut self, id: usize, hit: Hit) {
        // coverage reads which parts ran, not how often: each is kept once
        // (a loop of a thousand turns keeps its two Choice branches, not
        // a thousand entries)
        let mut tally = self.tally.get();
        if !tally.hits.contains(&(id, hit)) {
            tally.hits.push((id, hit));
        }
    }

    /// The environment of a child fiber: the same execution, clock and
    /// history, the variables in scope now, a generator of its own.
    pub(crate) fn child(&mut self, fiber: FiberId) -> Env<'a> {
        Env {
            sim: self.sim.clone(),
            fiber,
            parent: self.fiber,
            rng: Rng::new(self.rng.next_u64()),
            history: Sharable::Shared(self.history.share()),
            own_history: self.own_history,
            tally: Sharable::Shared(self.tally.share()),
            own: Sharable::Shared(self.own.share()),
            machine: self.machine.clone(),
            exec: self.exec.clone(),
            cfg: self.cfg,
            place: self.place.clone(),
            tasks: self.tasks,
            deadline_ms: self.deadline_ms,
            vars: self.vars.clone(),
            assigned: None,
            admitted: None,
            entered: self.entered,
        }
    }

    /// The environment of a distributed Map's child execution `exec`, on
    /// this fiber: its events (and its fibers') go to a history of its own,
    /// its invocations and what it starts are its own.
    pub(crate) fn child_execution(&mut self, exec: ExecInfo, machine: Arc<str>) -> Env<'a> {
        let mut e = self.child(self.fiber);
        e.parent = self.parent;
        e.history = Sharable::Owned(History::with_capacity(0));
        e.own_history = false;
        e.own = Sharable::Owned(Own::default());
        e.exec = Arc::new(exec);
        e.machine = machine;
        e.vars = Arc::new(Vars::new());
        e
    }

    /// Records the first event of an execution (a child execution's).
    pub(crate) fn record_started(&mut self, input: Payload) {
        let role_arn = Arc::from(self.exec.role_arn.as_str());
        self.record(Details::ExecutionStarted { input, role_arn });
    }

    /// Ends a distributed Map's child execution: its last event recorded,
    /// it is given back with what it started (`fibers` filled in when the
    /// run that holds it ends).
    pub(crate) fn finish_child(&mut self, outcome: Outcome, index: usize) -> Execution {
        self.record_outcome(&outcome);
        let children = self.sim.take_adopted(self.fiber);
        let mut own = self.own.take();
        own.children.extend(children);
        let history = self.history.take();
        Execution {
            outcome,
            history,
            execution_arn: self.exec.id.clone(),
            name: self.exec.name.clone(),
            state_machine_arn: self.machine.to_string(),
            input: self.exec.input.clone(),
            start_ms: self.exec.start_ms,
            stop_ms: self.now_ms(),
            invocations: own.invocations(),
            fibers: Arc::new(Vec::new()),
            map_runs: own.map_runs,
            children: own.children,
            hits: Vec::new(),
            task_logs: Vec::new(),
            written: Default::default(),
            redrive_count: 0,
            map_index: Some(index),
        }
    }

    /// Keeps a finished distributed Map run with the execution it ran in.
    pub(crate) fn keep_map_run(&mut self, run: MapRun) {
        self.own.get().map_runs.push(run);
    }

    /// Records the event that ends the execution, as `outcome` says.
    fn record_outcome(&mut self, outcome: &Outcome) {
        match (outcome, outcome.failure()) {
            (Outcome::Succeeded(out), _) => {
                self.record(Details::ExecutionSucceeded { output: out.clone() })
            }
            (Outcome::TimedOut, Some(f)) => {
                self.record(Details::ExecutionTimedOut { error: f.error, cause: f.cause })
            }
            (Outcome::Aborted, _) => {
                self.record(Details::ExecutionAborted { error: None, cause: None })
            }
            (_, Some(f)) => {
                self.record(Details::ExecutionFailed { error: f.error, cause: f.cause })
            }
            (_, None) => 0,
        };
    }
}

/// Where a state that ran to completion goes: the next state, or the end of
/// its machine. Everything else travels as [`Exn`] in the `Err` side.
pub(crate) enum Step {
    Next(usize, Payload),
    End(Payload),
}

/// The execution's IAM role (a placeholder in the execution's account).
fn role_arn(cfg: &RunConfig) -> String {
    if let Some(r) = &cfg.role_arn {
        return r.clone();
    }
    crate::arn::role(&cfg.account, "StepFunctionsRole")
}

/// The ExecutionStarted event an execution with these settings and input
/// records first: a reader can have it before the execution runs (the
/// endpoint's GetExecutionHistory right after StartExecution).
#[cfg(any(feature = "endpoint", test))]
pub(crate) fn started_event(cfg: &RunConfig, input: Payload) -> crate::history::Event {
    let details = Details::ExecutionStarted { input, role_arn: Arc::from(role_arn(cfg).as_str()) };
    crate::history::Event {
        id: 1,
        previous_event_id: 0,
        timestamp_ms: cfg.start_ms,
        details,
        fiber: 0,
    }
}

/// Runs `sm` on `input` to the end.
pub(crate) async fn execute(
    sm: &StateMachine,
    input: Payload,
    tasks: &Integrations,
    cfg: &RunConfig,
) -> Execution {
    if let Some(resume) = &cfg.resume {
        let mut env = Env::resume(sm, resume, tasks, cfg);
        let end = match sm.find(&resume.state) {
            Some((machine, s)) => {
                let sim = env.sim.clone();
                sched::drive(&sim, run_machine(machine, s.index, resume.input.clone(), &mut env))
                    .await
            }
            None => Err(Exn::Fail(Failure::runtime(format!(
                "the redriven state '{}' is not in the definition",
                resume.state
            )))),
        };
        let mut exec = env.finish(sm, end);
        exec.redrive_count = resume.redrive_count;
        exec.start_ms = resume.started_ms;
        return exec;
    }
    let mut env = Env::start(sm, input, tasks, cfg);
    let input = env.exec.input.clone();
    let end = if payload_too_large(&input) {
        Err(Exn::Fail(data_limit("the execution input")))
    } else {
        let (machine, start) = match cfg.start_state.as_deref().and_then(|name| sm.find(name)) {
            Some((m, s)) => (m, s.index),
            None => (sm, sm.start_at),
        };
        // the machine's future inline in the execution's (no allocation of
        // its own; an execution's future is pinned where its caller polls it)
        let sim = env.sim.clone();
        sched::drive(&sim, run_states(machine, start, input, &mut env)).await
    };
    env.finish(sm, end)
}

impl<'a> Env<'a> {
    /// A new execution's environment, its ExecutionStarted event recorded.
    fn start(
        sm: &StateMachine,
        input: Payload,
        tasks: &'a Integrations,
        cfg: &'a RunConfig,
    ) -> Env<'a> {
        let mut env = Env::start_with(sm, input.clone(), tasks, cfg, cfg.start_ms);
        let role_arn = env.exec.role_arn.clone();
        env.record(Details::ExecutionStarted { input, role_arn: Arc::from(role_arn.as_str()) });
        env
    }

    /// An execution's environment, nothing recorded yet; `started_ms` is
    /// when the execution first started (`$$.Execution.StartTime`).
    fn start_with(
        sm: &StateMachine,
        input: Payload,
        tasks: &'a Integrations,
        cfg: &'a RunConfig,
        started_ms: i64,
    ) -> Env<'a> {
        let mut rng = Rng::new(cfg.seed);
        let name = cfg.execution_name.clone().unwrap_or_else(|| rng.uuid());
        let role_arn = role_arn(cfg);
        let machine = cfg.state_machine_arn();
        let exec = ExecInfo {
            id: crate::arn::execution_of(&machine, &name),
            name,
            input: input.clone(),
            role_arn,
            start_ms: started_ms,
            state_machine_id: machine.clone(),
            state_machine_name: cfg.state_machine_name.clone(),
        };
        let tally =
            Tally { invocations: vec![0; sm.state_count.max(sm.states.len())], ..Tally::default() };
        Env {
            sim: Sim::new(cfg.start_ms, cfg.interleaving),
            fiber: sched::ROOT,
            parent: sched::ROOT,
            rng,
            history: Sharable::Owned(History::with_capacity(0)),
            own_history: true,
            tally: Sharable::Owned(tally),
            own: Sharable::Owned(Own {
                counts: vec![(0, None); sm.state_count.max(sm.states.len())],
                ..Own::default()
            }),
            machine: Arc::from(machine),
            exec: Arc::new(exec),
            cfg,
            place: Arc::new(crate::history::Place {
                region: cfg.region.clone(),
                account: cfg.account.clone(),
            }),
            tasks,
            deadline_ms: sm.timeout_seconds.map(|t| cfg.start_ms + t as i64 * 1000),
            vars: Arc::new(Vars::new()),
            assigned: None,
            admitted: None,
            entered: 0,
        }
    }

    /// A redriven execution's environment: its history so far, then
    /// ExecutionRedriven; its variables and invocation counts as they were.
    /// The machine's TimeoutSeconds counts from the redrive, as on AWS.
    fn resume(
        sm: &StateMachine,
        resume: &Resume,
        tasks: &'a Integrations,
        cfg: &'a RunConfig,
    ) -> Env<'a> {
        let mut env =
            Env::start_with(sm, resume.execution_input.clone(), tasks, cfg, resume.started_ms);
        *env.history.get() = resume.history.clone();
        env.vars = Arc::new(resume.vars.clone());
        {
            let (mut t, mut own) = (env.tally.get(), env.own.get());
            for (id, name) in sm.names.iter().enumerate() {
                if let Some(n) = resume.invocations.get(name) {
                    if let Some(slot) = t.invocations.get_mut(id) {
                        *slot = *n;
                    }
                    if let Some(slot) = own.counts.get_mut(id) {
                        *slot = (*n, Some(name.clone()));
                    }
                }
            }
        }
        env.record(Details::ExecutionRedriven { redrive_count: resume.redrive_count });
        env
    }

    /// Records how the execution ended and gives the result.
    fn finish(mut self, sm: &StateMachine, end: Result<Payload, Exn>) -> Execution {
        let outcome = match end {
            Ok(out) => Outcome::Succeeded(out),
            Err(Exn::Fail(f) | Exn::Halt(Halt::Fail(f))) => Outcome::Failed(f),
            Err(Exn::Halt(Halt::Fault(fault))) => Outcome::Faulted(fault),
            Err(Exn::Halt(Halt::ExecutionTimedOut)) => Outcome::TimedOut,
            Err(Exn::Halt(Halt::Stalled(why))) => Outcome::Stalled(why),
        };
        self.record_outcome(&outcome);
        let tally = self.tally.take();
        let children = self.sim.take_adopted(sched::ROOT);
        let mut own = self.own.take();
        own.children.extend(children);
        let fibers = Arc::new(self.sim.places());
        for run in &mut own.map_runs {
            run.share_fibers(&fibers);
        }
        let history = self.history.take();
        let hits = tally
            .hits
            .iter()
            .filter_map(|(id, h)| Some((sm.names.get(*id)?.clone(), *h)))
            .collect();
        let stop_ms = self.now_ms();
        // the execution's ids move into its result when nothing else holds them
        let exec = Arc::try_unwrap(self.exec).unwrap_or_else(|shared| (*shared).clone());
        Execution {
            outcome,
            history,
            execution_arn: exec.id,
            name: exec.name,
            state_machine_arn: exec.state_machine_id,
            input: exec.input,
            start_ms: self.cfg.start_ms,
            stop_ms,
            invocations: own.invocations(),
            fibers,
            map_runs: own.map_runs,
            children: own.children,
            hits,
            task_logs: tally.task_logs,
            written: tally.written,
            redrive_count: 0,
            map_index: None,
        }
    }
}

fn payload_too_large(v: &Value) -> bool {
    // most payloads are far below the quota: a walk that bounds the JSON
    // text's length from above settles them without writing it
    if max_json_len(v, MAX_PAYLOAD_BYTES) <= MAX_PAYLOAD_BYTES {
        return false;
    }
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            if self.0 > MAX_PAYLOAD_BYTES {
                return Err(std::io::Error::other("limit"));
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(&mut Count(0), v).is_err()
}

/// An upper bound of the length of `v` as compact JSON text (every
/// character of a string counted as its longest escape, `\uXXXX`; a number
/// as its longest form), stopping once past `limit`.
fn max_json_len(v: &Value, limit: usize) -> usize {
    fn walk(v: &Value, n: &mut usize, limit: usize) {
        if *n > limit {
            return;
        }
        match v {
            Value::Null | Value::Bool(_) => *n += 5,
            Value::Number(_) => *n += 24,
            Value::String(s) => *n += s.len() * 6 + 2,
            Value::Array(a) => {
                *n += 2 + a.len();
                for x in a {
                    walk(x, n, limit);
                }
            }
            Value::Object(m) => {
                *n += 2 + m.len() * 2;
                for (k, x) in m {
                    *n += k.len() * 6 + 2;
                    walk(x, n, limit);
                }
            }
        }
    }
    let mut n = 0;
    walk(v, &mut n, limit);
    n
}

fn data_limit(what: &str) -> Failure {
    Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        Some(format!("The state/task '{what}' returned a result with a size exceeding the maximum number of bytes service limit.")),
    )
}

/// Runs `sm` from state `start` until it ends, returning its output; nested
/// machines (Parallel branches, Map item processors) run through here too.
pub(crate) fn run_machine<'a, 'e: 'a>(
    sm: &'a StateMachine,
    start: usize,
    input: Payload,
    env: &'a mut Env<'e>,
) -> BoxFuture<'a, Result<Payload, Exn>> {
    Box::pin(run_states(sm, start, input, env))
}

/// A Map state, boxed (see `run_states`; the box also ends the recursion
/// of a Map's iterations running states).
fn boxed_map<'a, 'e: 'a>(
    state: &'a crate::asl::State,
    spec: &'a crate::asl::MapSpec,
    input: Payload,
    env: &'a mut Env<'e>,
) -> BoxFuture<'a, Result<Step, Exn>> {
    Box::pin(map::run(state, spec, input, env))
}

/// A Parallel state, boxed (as [`boxed_map`]).
fn boxed_parallel<'a, 'e: 'a>(
    state: &'a crate::asl::State,
    branches: &'a [StateMachine],
    input: Payload,
    env: &'a mut Env<'e>,
) -> BoxFuture<'a, Result<Step, Exn>> {
    Box::pin(parallel::run(state, branches, input, env))
}

pub(super) async fn run_states(
    sm: &StateMachine,
    start: usize,
    mut input: Payload,
    env: &mut Env<'_>,
) -> Result<Payload, Exn> {
    let mut cur = start;
    loop {
        let state = &sm.states[cur];
        // a scheduling point: an exploring interleaving may switch fibers here
        env.sim.yield_now(env.fiber).await;
        if let Some(d) = env.deadline_ms {
            if env.now_ms() > d {
                return Err(Halt::ExecutionTimedOut.into());
            }
        }
        let entered = env.push(Details::StateEntered {
            state_type: state.type_name(),
            name: state.name.clone(),
            input: input.clone(),
        })?;
        if env.fiber != sched::ROOT {
            env.sim.in_state(env.fiber, Some(state.type_name()));
        }
        let before_ms = env.now_ms();
        env.assigned = None;
        env.entered = entered;
        // a Map or a Parallel (entered once for many steps of its children)
        // is boxed, so this future, which every iteration and branch has one
        // of, is only as large as a Task's or a Wait's
        let step = match &state.kind {
            StateKind::Task(t) => task::run(state, t, input.clone(), env).await,
            StateKind::Map(spec) => boxed_map(state, spec, input.clone(), env).await,
            StateKind::Parallel { branches } => {
                boxed_parallel(state, branches, input.clone(), env).await
            }
            StateKind::Pass { result } => pass::run(state, result, input.clone(), env),
            StateKind::Choice { choices, default } => {
                choice::run(state, choices, *default, input.clone(), env)
            }
            StateKind::Wait(w) => wait::run(state, w, input.clone(), env).await,
            StateKind::Succeed => succeed::run(state, input.clone(), env),
            StateKind::Fail { error, cause } => fail::run(state, error, cause, input.clone(), env),
        };
        if let Some(p) = &env.cfg.pacer {
            let took = env.now_ms() - before_ms;
            if took > 0 {
                (p.0)(took).await;
            }
        }
        let (next, output) = match step {
            Ok(Step::Next(n, out)) => (Some(n), out),
            Ok(Step::End(out)) => (None, out),
            Err(Exn::Fail(f)) => {
                let f = env.failed_in(state, f)?;
                // a Task that fails a Parallel branch is recorded as aborted, as AWS does
                if matches!(state.kind, StateKind::Task(_))
                    && matches!(env.sim.place_of(env.fiber), Place::Branch { .. })
                {
                    env.push(Details::StateAborted { state_type: state.type_name() })?;
                }
                return Err(f.into());
            }
            Err(halt) => return Err(halt),
        };
        // a state that passes its input through needs no new size check;
        // a new output is kept once if the execution has seen it before
        let output = if Arc::ptr_eq(&output, &input) || env.admitted_already(&output) {
            output
        } else {
            env.admit(output).map_err(|()| data_limit(&state.name))?
        };
        let assigned = env.assigned.take();
        if env.fiber != sched::ROOT {
            env.sim.in_state(env.fiber, None);
        }
        env.push(Details::StateExited {
            state_type: state.type_name(),
            name: state.name.clone(),
            output: output.clone(),
            assigned,
        })?;
        match next {
            Some(n) => {
                cur = n;
                input = output;
            }
            None => return Ok(output),
        }
    }
}

fn history_limit() -> Failure {
    Failure::new(
        names::RUNTIME,
        Some(format!(
            "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS}) and was failed."
        )),
    )
}

/// Runs a future, turning a panic inside it into an error message, so one
/// bad execution cannot take down a runner or a server.
#[cfg(any(feature = "endpoint", feature = "cli", test))]
pub(crate) async fn catch_panic<T, F: std::future::Future<Output = T>>(
    fut: F,
) -> Result<T, String> {
    use std::task::Poll;
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into()))),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn started_event_is_the_first_event_an_execution_records() {
        let sm = crate::asl::parse_str(
            r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        )
        .unwrap();
        let cfg = super::RunConfig::default();
        let input = serde_json::json!({"a": [1, 2]});
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let exec = rt.block_on(super::execute(
            &sm,
            std::sync::Arc::new(input.clone()),
            &super::Integrations::new(),
            &cfg,
        ));
        let first = exec.history.events().get(0).map(|e| e.to_json(true));
        assert_eq!(
            first,
            Some(super::started_event(&cfg, std::sync::Arc::new(input)).to_json(true))
        );
    }

    #[test]
    fn a_loop_over_an_equal_large_document_records_it_once() {
        use crate::history::{Details, Payload, WorkStep};
        use crate::integrations::{Handler, TaskReply};
        use serde_json::{json, Value};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        // the seed loop; the worker hands back a fresh copy of the same
        // 20 KB document three times, then lets the loop end
        let sm = crate::asl::parse_str(include_str!("../../fixtures/seed/state-machine.asl.json"))
            .unwrap();
        let doc = |n: i64| json!({"input": {"number": n, "rows": vec!["x".repeat(200); 100]}});
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let mut tasks = super::Integrations::new();
        tasks.insert(
            "FargateTask",
            Arc::new(Handler(move |call: &crate::integrations::TaskCall| {
                let input = crate::integrations::container_env_var(
                    &call.parameters,
                    Some("python-container"),
                    "INPUT",
                );
                assert!(input.is_some_and(|i| i.len() > 20_000));
                let n = c.fetch_add(1, Ordering::SeqCst);
                TaskReply::ok(doc(if n < 3 { 0 } else { 4 }))
            })),
        );
        let cfg = super::RunConfig::default();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let exec = rt.block_on(super::execute(&sm, Arc::new(doc(0)), &tasks, &cfg));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        let events = exec.history.events();
        let results: Vec<&Payload> = events
            .iter()
            .filter_map(|e| match &e.details {
                Details::Work { step: WorkStep::Succeeded { output }, .. } => Some(output),
                _ => None,
            })
            .collect();
        assert_eq!(results.len(), 4);
        // the three equal results are one value, the different last its own
        assert!(Arc::ptr_eq(results[0], results[1]) && Arc::ptr_eq(results[1], results[2]));
        assert!(!Arc::ptr_eq(results[2], results[3]));
        assert_eq!(**results[3], doc(4));
        // every turn's container input (the same JSON text) is one string too
        let inputs: Vec<*const u8> = events
            .iter()
            .filter_map(|e| match &e.details {
                Details::Work { step: WorkStep::Scheduled { input, .. }, .. } => {
                    crate::integrations::container_env_var(input, Some("python-container"), "INPUT")
                        .map(str::as_ptr)
                }
                _ => None,
            })
            .collect();
        assert_eq!(inputs.len(), 4);
        assert!(inputs.iter().all(|p| *p == inputs[0]));
        // and the history reads as it would with copies: each result as the
        // text of the document the worker returned that turn
        let rendered: Vec<Value> = events
            .iter()
            .map(|e| e.to_json(true))
            .filter(|e| e["type"] == "TaskSucceeded")
            .map(|e| e["taskSucceededEventDetails"]["output"].clone())
            .collect();
        let returned: Vec<Value> =
            [0, 0, 0, 4].map(|n| Value::from(crate::json::to_json_string(&doc(n)))).into();
        assert_eq!(rendered, returned);
        let done = events.last().unwrap().to_json(true);
        assert_eq!(done["type"], "ExecutionSucceeded");
        assert_eq!(
            done["executionSucceededEventDetails"]["output"],
            crate::json::to_json_string(&doc(4))
        );
    }

    #[test]
    fn the_length_bound_is_never_below_the_json_text() {
        let cases = [
            serde_json::json!(null),
            serde_json::json!([true, false, -1.5e300, 18446744073709551615u64, i64::MIN]),
            serde_json::json!({"a\u{1}\"\\": ["\u{7f}é\u{1f600}", {"": ""}], "n": 0.1}),
        ];
        for v in cases {
            let text = crate::json::to_json_string(&v);
            assert!(super::max_json_len(&v, usize::MAX) >= text.len(), "{text}");
        }
        let big = serde_json::json!("x".repeat(super::MAX_PAYLOAD_BYTES));
        assert!(super::payload_too_large(&big));
        let fits = serde_json::json!("\u{1}".repeat(super::MAX_PAYLOAD_BYTES / 7));
        assert!(!super::payload_too_large(&fits));
    }

    #[test]
    fn catch_panic_turns_a_panic_into_its_message() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(super::catch_panic(async { 7 })), Ok(7));
        let r = rt.block_on(super::catch_panic(async {
            if true {
                panic!("boom {}", 1);
            }
            0
        }));
        assert_eq!(r, Err("boom 1".to_string()));
    }
}
