//! What test authors use: [`Harness`], assertions on [`Execution`], the
//! readable trace, and the history snapshot macro.

use crate::asl::{self, InvalidDefinition, StateMachine};
use crate::eval::{self, Execution, RunConfig, Status, TaskLog};
use crate::integrations::{AsyncHandler, Handler, Integration, Integrations, TaskCall, TaskReply};
use crate::mock::{MockConfig, MockConfigError};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};

mod child;
pub(crate) mod coverage;
pub(crate) mod explore;
pub(crate) mod graph;
pub mod mutation;
mod panics;
mod redrive;
pub(crate) mod replay;
pub(crate) mod report;
mod schedule;
mod snapshot;
/// Proptest strategies over what a scenario can vary (feature `proptest`).
#[cfg(feature = "proptest")]
pub mod strategies;
pub use schedule::{ItemSchedule, Schedule, Scheduled};

/// Events a trace shows at most: the first half and the last half.
const TRACE_EVENTS: usize = 200;

/// Why a harness could not be built.
#[derive(Debug)]
pub enum HarnessError {
    /// The file could not be read, or holds no state machine.
    Load(asl::LoadError),
    /// The definition is invalid (every diagnostic).
    Invalid(InvalidDefinition),
    /// The mock config is invalid or has no such test case.
    Mock(MockConfigError),
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::Load(e) => write!(f, "{e}"),
            HarnessError::Invalid(e) => write!(f, "{e}"),
            HarnessError::Mock(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HarnessError {}

/// A state machine plus what its tasks call; runs executions.
///
/// Settings are values with stated defaults: seed 0, virtual start
/// 2024-01-01T00:00:00Z, region/account from the definition's first ARN
/// (else us-east-1 / 123456789012), state machine name from the file stem
/// (a template's state machine: its logical id, what its `Ref` gives).
pub struct Harness {
    sm: Arc<StateMachine>,
    integrations: Integrations,
    config: RunConfig,
    runtime: Arc<OnceLock<OwnRuntime>>,
    /// Where the definition came from (a file, `file#LogicalId`), and what
    /// its placeholders stand for: to load it again with more substitutions.
    origin: Option<String>,
    substitutions: std::collections::BTreeMap<String, String>,
    /// The state machines `states:startExecution` tasks start.
    children: Arc<std::sync::Mutex<child::Children>>,
}

/// The runtime `run_blocking` continues on; dropping it never blocks (a
/// harness may be dropped inside async code).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A clone is independent: its token registry, its child machines'
/// registry and its call counters are its own (integrations bound to a
/// registry are rebound to the clone's), so one prepared harness can be
/// cloned per test and run on parallel threads.
impl Clone for Harness {
    fn clone(&self) -> Harness {
        let children = {
            let mine = self.children.lock().unwrap_or_else(|p| p.into_inner());
            Arc::new(std::sync::Mutex::new(mine.fork()))
        };
        let mut h = Harness {
            sm: self.sm.clone(),
            integrations: self.integrations.rebound(&self.config.region),
            config: self.config.clone(),
            runtime: Arc::new(OnceLock::new()),
            origin: self.origin.clone(),
            substitutions: self.substitutions.clone(),
            children,
        };
        if h.children.lock().unwrap_or_else(|p| p.into_inner()).has_machines() {
            h.route_child_starts();
        }
        h
    }
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("states", &self.sm.all_states().iter().map(|s| &*s.name).collect::<Vec<_>>())
            .field("integrations", &self.integrations)
            .field("config", &self.config)
            .finish()
    }
}

impl Harness {
    /// Loads ASL (JSON or YAML), or the state machine of a CloudFormation
    /// or SAM template in JSON or YAML (`file#LogicalId` picks one of
    /// several); references resolve to readable placeholder ARNs named after
    /// their logical ids (see [`Harness::substitute`]).
    pub fn from_file(path: &str) -> Result<Harness, HarnessError> {
        Harness::from_file_with(path, &std::collections::BTreeMap::new())
    }

    /// [`Harness::from_file`] with what `${Name}` placeholders and template
    /// references stand for.
    pub fn from_file_with(
        path: &str,
        substitutions: &std::collections::BTreeMap<String, String>,
    ) -> Result<Harness, HarnessError> {
        let (text, source) =
            asl::load_definition_with(path, substitutions).map_err(HarnessError::Load)?;
        // a template's machine is named after its logical id (what its `Ref` gives)
        let stem = match source {
            asl::Source::CloudFormation { logical_id } => logical_id,
            asl::Source::Asl => std::path::Path::new(path.split('#').next().unwrap_or(path))
                .file_stem()
                .and_then(|s| s.to_str())
                .map(|s| s.split('.').next().unwrap_or(s).to_string())
                .unwrap_or_else(|| "StateMachine".into()),
        };
        let mut h = Harness::from_definition(&text)?;
        h.config.state_machine_name = stem;
        h.origin = Some(path.to_string());
        h.substitutions = substitutions.clone();
        Ok(h)
    }

    /// Says what `name` stands for and loads the definition again: a
    /// `${name}` placeholder (a DefinitionSubstitutions key, or one of a
    /// bare ASL file that SAM, CDK or Terraform would fill), or a template's
    /// logical id (what its `Ref` and `Fn::GetAtt` give). Handlers, mocks
    /// and settings are kept.
    ///
    /// ```
    /// # use sfn_harness::Harness;
    /// let h = Harness::from_definition(r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
    ///     "Resource": "${ProcessFunctionArn}", "End": true}}}"#);
    /// assert!(h.is_err(), "an unfilled placeholder is named");
    /// ```
    pub fn substitute(mut self, name: &str, value: &str) -> Result<Harness, HarnessError> {
        self.substitutions.insert(name.to_string(), value.to_string());
        let fresh = match &self.origin {
            Some(path) => Harness::from_file_with(path, &self.substitutions)?,
            None => {
                let def = asl::substitute_placeholders(&self.sm.definition, &self.substitutions);
                Harness::from_definition(&def.to_string())?
            }
        };
        self.sm = fresh.sm;
        self.config.region = fresh.config.region;
        self.config.account = fresh.config.account;
        Ok(self)
    }

    /// The warnings and pipeline lints of the definition as loaded (a
    /// template's, resolved and substituted; it has no errors, or it would
    /// not have loaded): what `sfn-harness validate` prints.
    ///
    /// ```
    /// # use sfn_harness::Harness;
    /// let h = Harness::from_file("fixtures/seed-sam/template.yaml#SeedStateMachine").unwrap();
    /// assert!(h.diagnostics().iter().all(|d| d.severity == sfn_harness::Severity::Warning));
    /// ```
    pub fn diagnostics(&self) -> Vec<asl::Diagnostic> {
        asl::diagnostics(&self.sm.definition)
    }

    /// Parses and validates ASL text.
    pub fn from_definition(text: &str) -> Result<Harness, HarnessError> {
        let sm = asl::parse_str(text).map_err(HarnessError::Invalid)?;
        Ok(Harness::from_state_machine(sm))
    }

    pub(crate) fn from_state_machine(sm: StateMachine) -> Harness {
        let config = RunConfig::default().infer_from(&sm.definition);
        Harness {
            sm: Arc::new(sm),
            integrations: Integrations::new(),
            config,
            runtime: Arc::new(OnceLock::new()),
            origin: None,
            substitutions: std::collections::BTreeMap::new(),
            children: Arc::default(),
        }
    }

    #[cfg(feature = "cli")]
    pub(crate) fn state_machine(&self) -> &StateMachine {
        &self.sm
    }

    /// Answers the Task state `state` with a Rust function.
    pub fn on_task<F>(mut self, state: &str, f: F) -> Harness
    where
        F: Fn(&TaskCall) -> TaskReply + Send + Sync + 'static,
    {
        self.integrations.insert(state, Arc::new(Handler(f)));
        self
    }

    /// Answers the Task state `state` with an async Rust function.
    pub fn on_task_async<F, Fut>(mut self, state: &str, f: F) -> Harness
    where
        F: Fn(TaskCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskReply> + Send + 'static,
    {
        self.integrations.insert(state, Arc::new(AsyncHandler(f)));
        self
    }

    /// Runs the ECS Task state `state` through an SDK client
    /// ([`EcsIntegration`](crate::sdk::EcsIntegration)); its
    /// workers call back through this harness's token registry unless the
    /// integration was given its own Step Functions client.
    #[cfg(feature = "sdk")]
    pub fn on_ecs_task(
        mut self,
        state: &str,
        ecs: crate::integrations::ecs_sdk::EcsIntegration,
    ) -> Harness {
        let client = self.sfn_client();
        self.integrations.insert(state, Arc::new(ecs.default_sfn_client(|| client)));
        self
    }

    /// An `aws_sdk_sfn::Client` whose SendTaskSuccess / SendTaskFailure /
    /// SendTaskHeartbeat reach this harness's token registry in process.
    #[cfg(feature = "sdk")]
    pub fn sfn_client(&self) -> aws_sdk_sfn::Client {
        let api: Arc<dyn crate::integrations::aws_json::SfnApi> =
            self.integrations.tokens().clone();
        crate::integrations::sdk::in_process_sfn_client(api, &self.config.region)
    }

    /// The token registry (to answer callbacks from Rust code).
    pub fn tokens(&self) -> &Arc<crate::TokenRegistry> {
        self.integrations.tokens()
    }

    /// How long a callback task with no TimeoutSeconds/HeartbeatSeconds may
    /// wait in real time before the run reports it stalled (default 30 s).
    pub fn callback_wait(mut self, d: std::time::Duration) -> Harness {
        self.integrations.callback_wait = d;
        self
    }

    /// Runs the ECS Task state `state` as real worker containers
    /// ([`ContainerTasks`](crate::containers::ContainerTasks));
    /// their SDK calls reach this harness's token registry over HTTP.
    #[cfg(feature = "containers")]
    pub fn on_container_task(
        self,
        state: &str,
        tasks: crate::integrations::containers::ContainerTasks,
    ) -> Harness {
        self.on_container_task_shared(state, Arc::new(tasks))
    }

    /// [`Harness::on_container_task`] for several states sharing one set of
    /// images (and one callback endpoint).
    #[cfg(feature = "containers")]
    pub fn on_container_task_shared(
        self,
        state: &str,
        tasks: Arc<crate::integrations::containers::ContainerTasks>,
    ) -> Harness {
        tasks.bind(self.integrations.tokens().clone(), &self.config.region);
        self.with_integration(state, tasks)
    }

    /// Answers the Task state `state` with any [`Integration`].
    pub fn with_integration(mut self, state: &str, i: Arc<dyn Integration>) -> Harness {
        self.integrations.insert(state, i);
        self
    }

    /// Answers tasks from a mock-config test case (Step Functions Local's
    /// format); states at any depth (inside a Map or a Parallel) can be
    /// named. A state answered both by a Rust handler and by the test case
    /// fails the execution with `Harness.ShadowedMock` when it runs, since
    /// one of the answers would be silently ignored.
    pub fn mock_config(
        mut self,
        cfg: &MockConfig,
        state_machine: Option<&str>,
        test_case: &str,
    ) -> Result<Harness, HarnessError> {
        for (state, resp) in cfg.test_case(state_machine, test_case).map_err(HarnessError::Mock)? {
            if self.sm.find(&state).is_none() {
                return Err(HarnessError::Mock(MockConfigError {
                    location: format!("/StateMachines/*/TestCases/{test_case}/{state}"),
                    message: format!("'{state}' is not a state of this state machine"),
                }));
            }
            self.integrations.insert_mock(state, resp);
        }
        Ok(self)
    }

    /// Provides the S3 object `s3://bucket/key` that a distributed Map's
    /// ItemReader reads (JSON, JSON Lines, CSV; ListObjectsV2 lists them).
    pub fn s3_object(mut self, bucket: &str, key: &str, body: &str) -> Harness {
        self.integrations.put_s3_object(bucket, key, body);
        self
    }

    /// The seed of ids, tokens and random draws (default 0).
    pub fn seed(mut self, seed: u64) -> Harness {
        self.config.seed = seed;
        self
    }

    /// The virtual start time, epoch ms (default 2024-01-01T00:00:00Z).
    pub fn start_ms(mut self, ms: i64) -> Harness {
        self.config.start_ms = ms;
        self
    }

    /// The state machine's name in ARNs (default: the file stem).
    pub fn state_machine_name(mut self, name: &str) -> Harness {
        self.config.state_machine_name = name.to_string();
        self
    }

    /// Starts executions at `state` instead of `StartAt` (default: `StartAt`).
    pub fn start_at(mut self, state: &str) -> Result<Harness, HarnessError> {
        self.sm.find(state).ok_or_else(|| {
            HarnessError::Invalid(InvalidDefinition {
                diagnostics: vec![asl::Diagnostic {
                    severity: asl::Severity::Error,
                    code: asl::code::MISSING_TRANSITION_TARGET,
                    location: "/StartAt".into(),
                    message: format!("'{state}' is not a state of this state machine"),
                }],
            })
        })?;
        self.config.start_state = Some(state.to_string());
        Ok(self)
    }

    /// The execution's name (default: a seeded UUID).
    pub fn execution_name(mut self, name: &str) -> Harness {
        self.config.execution_name = Some(name.to_string());
        self
    }

    /// Runs one execution to its end.
    pub async fn run(&self, input: Value) -> Execution {
        let exec = eval::execute(&self.sm, Arc::new(input), &self.integrations, &self.config).await;
        self.record_coverage(&exec);
        exec
    }

    /// [`Harness::run`] for synchronous tests (and proptest). Executions
    /// whose tasks answer at once finish in one poll; anything that waits
    /// (an async handler, a container) continues on a tokio runtime of the
    /// harness's own — on a thread of its own when called inside another
    /// runtime (a `#[tokio::test]`), where blocking the caller's thread on a
    /// runtime is not allowed. Inside async code, `run(..).await` is the
    /// natural call.
    pub fn run_blocking(&self, input: Value) -> Execution {
        self.block_on(self.run(input))
    }

    /// Polls a run of this harness to its end, as [`Harness::run_blocking`] says.
    fn block_on<'h>(&'h self, fut: impl Future<Output = Execution> + Send + 'h) -> Execution {
        let rt = self.runtime.get_or_init(|| {
            OwnRuntime(Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread tokio runtime"),
            ))
        });
        let rt = rt.0.as_ref().expect("present until dropped");
        let inside_a_runtime = tokio::runtime::Handle::try_current().is_ok();
        // pinned in place: most runs end in the first poll, with no
        // allocation for their future
        let mut fut = std::pin::pin!(fut);
        {
            let _guard = rt.enter();
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if let std::task::Poll::Ready(exec) = fut.as_mut().poll(&mut cx) {
                return exec;
            }
        }
        if !inside_a_runtime {
            return rt.block_on(fut);
        }
        std::thread::scope(|s| match s.spawn(move || rt.block_on(fut.as_mut())).join() {
            Ok(exec) => exec,
            Err(p) => std::panic::resume_unwind(p),
        })
    }
}

impl Execution {
    /// How many events the history holds.
    pub fn event_count(&self) -> usize {
        self.history.len()
    }

    /// The history as GetExecutionHistory's `events`.
    pub fn history_json(&self) -> Value {
        self.history.to_json()
    }

    /// The evaluated parameters each task invocation was scheduled with,
    /// in order (what RunTask, a Lambda or an activity was sent).
    pub fn scheduled_parameters(&self) -> Vec<&Value> {
        use crate::history::{Details as D, WorkStep};
        self.history
            .events()
            .iter()
            .filter_map(|e| match &e.details {
                D::Work { step: WorkStep::Scheduled { input, .. }, .. } => Some(&**input),
                _ => None,
            })
            .collect()
    }

    /// The event types in order.
    pub fn event_types(&self) -> Vec<String> {
        self.history.events().iter().map(|e| e.type_name()).collect()
    }

    /// `{"executionArn", "status", "output", "error", "cause", "history"}`
    /// (and `stalled`, `taskLogs` when there are any), as `run --json`
    /// prints it: the execution's [`serde::Serialize`] form.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A readable trace: one line per event (of a history longer than 200
    /// events, the first and the last 100), then the result.
    pub fn trace(&self) -> String {
        use crate::history::{Details as D, Service, WorkStep};
        let mut out = String::new();
        let short = |v: &Value| {
            let s = crate::json::to_json_string(v);
            if s.len() > 100 {
                format!(
                    "{}…",
                    &s[..s
                        .char_indices()
                        .take_while(|(i, _)| *i < 100)
                        .last()
                        .map(|(i, c)| i + c.len_utf8())
                        .unwrap_or(0)]
                )
            } else {
                s
            }
        };
        let failing = self
            .history
            .events()
            .iter()
            .rev()
            .find(|e| matches!(e.details, D::StateEntered { .. }))
            .map(|e| e.id);
        let events = self.history.events();
        for (i, e) in events.iter().enumerate() {
            // a long history shows its start and its end (where failures show)
            if events.len() > TRACE_EVENTS && i >= TRACE_EVENTS / 2 {
                if i == TRACE_EVENTS / 2 {
                    out.push_str(&format!(
                        "… {} events left out (exec.history_json() has them all) …\n",
                        events.len() - TRACE_EVENTS
                    ));
                }
                if i < events.len() - TRACE_EVENTS / 2 {
                    continue;
                }
            }
            let t = (e.timestamp_ms - self.start_ms) as f64 / 1000.0;
            let what = match &e.details {
                D::ExecutionStarted { input, .. } => format!("input {}", short(input)),
                D::ExecutionSucceeded { output } => format!("output {}", short(output)),
                D::StateEntered { name, input, .. } => format!("{name} ← {}", short(input)),
                D::StateExited { name, output, .. } => format!("{name} → {}", short(output)),
                D::Work { step: WorkStep::SubmittedRunTask { task_id, .. }, .. } => {
                    format!(
                        "RunTask (simulated): task {}",
                        crate::history::simulated_task_id(*task_id)
                    )
                }
                D::Work { by: Service::Task(res), step: WorkStep::Scheduled { input, .. } } => {
                    format!("{}:{} {}", res.resource_type, res.resource, short(input))
                }
                D::Work { step: WorkStep::Scheduled { input, .. }, .. } => short(input),
                D::Work {
                    step: WorkStep::Submitted { output } | WorkStep::Succeeded { output },
                    ..
                } => short(output),
                D::ExecutionFailed { error, cause }
                | D::ExecutionTimedOut { error, cause }
                | D::ExecutionAborted { error, cause }
                | D::Work {
                    step: WorkStep::Failed { error, cause } | WorkStep::TimedOut { error, cause },
                    ..
                } => {
                    format!(
                        "{} {}",
                        error.as_deref().unwrap_or("-"),
                        cause.as_deref().unwrap_or("")
                    )
                }
                D::MapIterationStarted { name, index }
                | D::MapIterationSucceeded { name, index }
                | D::MapIterationFailed { name, index }
                | D::MapIterationAborted { name, index } => format!("{name}[{index}]"),
                D::MapStateStarted { length } => format!("{length} items"),
                _ => String::new(),
            };
            let mark = if self.status() != Status::Succeeded && Some(e.id) == failing {
                " ◀"
            } else {
                ""
            };
            out.push_str(&format!(
                "#{:<4} +{:>9.3}s  {:<24} {}{}\n",
                e.id,
                t,
                e.type_name(),
                what,
                mark
            ));
        }
        out.push_str(&format!("=> {}", self.status().as_str()));
        if let Some(o) = self.output_payload().map(|o| &**o) {
            out.push_str(&format!(" output {}", short(o)));
        }
        if let Some(e) = &self.error() {
            out.push_str(&format!(" error {e}"));
        }
        if let Some(c) = &self.cause() {
            out.push_str(&format!(" cause {c}"));
        }
        if let Some(s) = &self.stalled() {
            out.push_str(&format!("\n   stalled: {s}"));
        }
        let started = self.descendants();
        if started.len() > TRACE_CHILDREN + 1 {
            out.push_str(&format!(
                "\n   {} child executions (the first {TRACE_CHILDREN} below; exec.descendants() has them all)",
                started.len() - 1
            ));
        }
        for (by, e) in started.into_iter().skip(1).take(TRACE_CHILDREN) {
            let at = match e.map_index {
                Some(i) => format!("{}[{i}]", by.unwrap_or_default()),
                None => by.unwrap_or_default().to_string(),
            };
            out.push_str(&format!(
                "\n   {at}: {} {} ({} events){}",
                e.name,
                e.status().as_str(),
                e.history.len(),
                e.error().map(|x| format!(" error {x}")).unwrap_or_default()
            ));
        }
        for l in &self.task_logs {
            out.push_str(&format!(
                "\n--- {} #{} output ---\n{}",
                l.state,
                l.invocation,
                l.logs.trim_end()
            ));
        }
        out
    }

    /// Panics with the trace unless the execution succeeded.
    pub fn assert_succeeded(&self) -> &Self {
        assert!(
            self.succeeded(),
            "expected SUCCEEDED, got {}\n{}",
            self.status().as_str(),
            self.trace()
        );
        self
    }

    /// Panics with the trace unless the execution failed with `error`.
    pub fn assert_failed_with(&self, error: &str) -> &Self {
        assert!(
            self.status() == Status::Failed && self.error() == Some(error),
            "expected FAILED with {error}, got {} {:?}\n{}",
            self.status().as_str(),
            self.error(),
            self.trace()
        );
        self
    }
}

/// How many child executions a trace lists.
const TRACE_CHILDREN: usize = 20;

/// The execution as `run --json` prints it and [`Execution::to_json`] gives
/// it, written as it is rendered, one event at a time: a history of 25,000
/// large payloads never stands in memory as JSON text at once.
impl serde::Serialize for Execution {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("executionArn", &self.execution_arn)?;
        m.serialize_entry("status", self.status().as_str())?;
        m.serialize_entry("output", &self.output_payload().map(|o| &**o))?;
        m.serialize_entry("error", &self.error())?;
        m.serialize_entry("cause", &self.cause())?;
        if let Some(why) = self.stalled() {
            m.serialize_entry("stalled", why)?;
        }
        if !self.task_logs.is_empty() {
            m.serialize_entry("taskLogs", &self.task_logs)?;
        }
        m.serialize_entry("history", &Events(self.history.events()))?;
        if !self.map_runs.is_empty() {
            m.serialize_entry("mapRuns", &self.map_runs)?;
        }
        if !self.children.is_empty() {
            let children: Vec<_> =
                self.children.iter().map(|(state, e)| Started { state, execution: e }).collect();
            m.serialize_entry("childExecutions", &children)?;
        }
        m.end()
    }
}

/// A child machine's execution, with the Task state that started it.
#[derive(serde::Serialize)]
struct Started<'a> {
    state: &'a str,
    execution: &'a Execution,
}

impl serde::Serialize for crate::MapRun {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("state", self.state())?;
        m.serialize_entry("mapRunArn", self.map_run_arn())?;
        m.serialize_entry("status", self.status().as_str())?;
        m.serialize_entry("executions", self.executions())?;
        m.end()
    }
}

/// A history serialized event by event.
struct Events<'a>(crate::history::Events<'a>);

impl serde::Serialize for Events<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|e| e.to_json(true)))
    }
}

impl serde::Serialize for TaskLog {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({"state": &*self.state, "invocation": self.invocation, "logs": self.logs})
            .serialize(s)
    }
}

/// insta settings for history snapshots: files in the top-level `snapshots/`.
#[doc(hidden)]
pub fn snapshot_settings(manifest_dir: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(std::path::Path::new(manifest_dir).join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Snapshots an execution with insta in the readable format of
/// [`Execution::snapshot`] (one entry per event, payloads whole as parsed
/// JSON, times from the start), in the top-level `snapshots/` directory.
/// Deterministic: no redactions are needed.
///
/// ```ignore
/// assert_execution_snapshot!("seed_number_0", exec);
/// ```
#[macro_export]
macro_rules! assert_execution_snapshot {
    ($name:expr, $exec:expr) => {
        $crate::__private::snapshot_settings(env!("CARGO_MANIFEST_DIR")).bind(|| {
            $crate::__private::insta::assert_snapshot!($name, $exec.snapshot());
        })
    };
}

/// The former name of [`assert_execution_snapshot!`] (same format).
#[macro_export]
macro_rules! assert_history_snapshot {
    ($name:expr, $exec:expr) => {
        $crate::assert_execution_snapshot!($name, $exec)
    };
}
