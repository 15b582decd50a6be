//! What a Task state calls: a resource ARN is classified once
//! ([`Resource`]), and each invocation goes to an [`Integration`] that
//! answers with a [`TaskReply`]: a Rust handler, a mocked response, later
//! SDK clients and containers.

#[cfg(any(feature = "sdk", feature = "containers"))]
pub(crate) use crate::asl::{Pattern, Resource};

use crate::failure::HarnessFault;
use crate::parameters::{Node, ParametersSource};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// One invocation of a Task state, as an integration sees it.
#[derive(Debug, Clone)]
pub struct TaskCall {
    /// The Task state's name.
    pub state_name: Arc<str>,
    /// The `Resource` ARN.
    pub resource: String,
    /// The effective parameters (after InputPath and Parameters), shared
    /// with the history; they deref to the JSON value.
    pub parameters: crate::parameters::Parameters,
    /// The attempt's task token (`$$.Task.Token`). Always `Some`: every
    /// attempt has one, but only a `.waitForTaskToken` or `.sync` task (or
    /// an activity) waits for a callback with it; for a request-response
    /// task a callback with it is refused, as on AWS.
    pub token: Option<String>,
    /// The Map item indexes of the iterations this call runs in, outermost
    /// first (empty outside any Map).
    pub iteration: Vec<usize>,
    /// Which invocation of this state this is (0-based, retries included).
    pub invocation: usize,
    /// `$$.State.RetryCount`.
    pub retry_count: u32,
    /// The task's TimeoutSeconds / HeartbeatSeconds, evaluated.
    pub timeout_seconds: Option<u64>,
    /// HeartbeatSeconds, evaluated.
    pub heartbeat_seconds: Option<u64>,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskReply {
    /// The result (for a callback task: SendTaskSuccess's output).
    Succeed(Value),
    /// The task failed (SendTaskFailure's error and cause, or the service's).
    Fail {
        /// The error name (`States.TaskFailed`, a custom name…); `None`
        /// records none, as a SendTaskFailure without one does.
        error: Option<String>,
        /// The cause, if any.
        cause: Option<String>,
    },
    /// The task did not finish within its TimeoutSeconds (`States.Timeout`).
    TimedOut,
    /// The task missed its HeartbeatSeconds: recorded as AWS records it
    /// (…TimedOut, `States.Timeout`), and matched by `States.HeartbeatTimeout`
    /// in a Retry or Catch as well.
    HeartbeatTimedOut,
    /// The work ended without answering the task token: a worker process
    /// that exited before calling back. Under `.waitForTaskToken` AWS keeps
    /// waiting until the task's timeout; under `.sync` the stopped ECS task
    /// decides (exit code 0: success, else `States.TaskFailed`).
    NoCallback {
        /// The process's exit code, when known.
        exit_code: Option<i64>,
        /// Who exited and its last log lines.
        detail: String,
    },
    /// The work was started; the answer comes through the task token
    /// (SendTaskSuccess / SendTaskFailure, from Rust, an SDK client or HTTP),
    /// waited for in real time.
    AwaitCallback,
    /// The work was started and calls back as scripted, in virtual time:
    /// heartbeats, then success, failure or silence, at offsets from the
    /// task's start; TimeoutSeconds and HeartbeatSeconds hold on the same
    /// clock, so a two-hour scenario costs no real time.
    Callbacks(Timeline),
}

/// Callbacks at chosen offsets (virtual time) from a task's start: what
/// [`TaskReply::Callbacks`] plays.
///
/// ```
/// use sfn_harness::Timeline;
/// use std::time::Duration;
/// // a heartbeat every 5 minutes for two hours, then the answer
/// let t = Timeline::new()
///     .heartbeats_every(Duration::from_secs(300), Duration::from_secs(7200))
///     .succeed_at(Duration::from_secs(7200), serde_json::json!({"rows": 42}));
/// assert_eq!(t.events().len(), 25);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    events: Vec<(std::time::Duration, tokens::Callback)>,
}

impl Timeline {
    /// No callbacks (silence, until one is added).
    pub fn new() -> Timeline {
        Timeline::default()
    }

    fn at(mut self, at: std::time::Duration, cb: tokens::Callback) -> Timeline {
        // kept in time order; callbacks at the same offset in the order given
        let i = self.events.partition_point(|(t, _)| *t <= at);
        self.events.insert(i, (at, cb));
        self
    }

    /// SendTaskHeartbeat at `at`.
    pub fn heartbeat_at(self, at: std::time::Duration) -> Timeline {
        self.at(at, tokens::Callback::Heartbeat)
    }

    /// SendTaskHeartbeat every `every`, from `every` up to `until` included.
    pub fn heartbeats_every(
        mut self,
        every: std::time::Duration,
        until: std::time::Duration,
    ) -> Timeline {
        if every.is_zero() {
            return self;
        }
        let mut t = every;
        while t <= until {
            self = self.heartbeat_at(t);
            t += every;
        }
        self
    }

    /// SendTaskSuccess with `output` at `at`.
    pub fn succeed_at(self, at: std::time::Duration, output: Value) -> Timeline {
        self.at(at, tokens::Callback::Success(output))
    }

    /// SendTaskFailure with `error` and `cause` at `at`.
    pub fn fail_at(self, at: std::time::Duration, error: &str, cause: Option<&str>) -> Timeline {
        self.at(
            at,
            tokens::Callback::Failure {
                error: Some(error.to_string()),
                cause: cause.map(str::to_string),
            },
        )
    }

    /// The callbacks, in time order.
    pub fn events(&self) -> &[(std::time::Duration, tokens::Callback)] {
        &self.events
    }
}

/// An integration's full answer: the reply, what TaskSubmitted carries
/// (e.g. the RunTask response; simulated when `None`), and the virtual time
/// the work took (e.g. `.sync` polling until the ECS task stopped).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// How the task ended.
    pub reply: TaskReply,
    /// What TaskSubmitted carries (`None`: simulated; `Some(Value::Null)`:
    /// nothing was submitted, the service refused the request, and no
    /// TaskSubmitted is recorded — see [`Answer::refused`]).
    pub submitted: Option<Value>,
    /// Virtual time the work took.
    pub elapsed_ms: i64,
    /// What the work printed (a container's stdout and stderr), kept with the execution.
    pub logs: Option<String>,
    /// How long the worker itself ran (a container's own run time), if known.
    pub worker_ms: Option<i64>,
}

impl Answer {
    /// The answer of a task whose service refused to start it (an API
    /// error of the submitting call): no TaskSubmitted is recorded.
    pub fn refused(reply: TaskReply) -> Answer {
        Answer { submitted: Some(Value::Null), ..Answer::from(reply) }
    }
}

impl From<TaskReply> for Answer {
    fn from(reply: TaskReply) -> Answer {
        Answer { reply, submitted: None, elapsed_ms: 0, logs: None, worker_ms: None }
    }
}

/// The reply for a worker process that ended without calling back: `who`
/// names it, the detail carries its exit code and last log lines.
#[cfg(any(feature = "sdk", feature = "containers"))]
pub(crate) fn exited_without_callback(who: &str, exit_code: Option<i64>, logs: &str) -> TaskReply {
    let lines: Vec<&str> = logs.lines().collect();
    TaskReply::NoCallback {
        exit_code,
        detail: format!(
            "{who} exited with code {} without calling back; its last log lines:\n{}",
            exit_code.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into()),
            lines[lines.len().saturating_sub(10)..].join("\n")
        ),
    }
}

impl TaskReply {
    /// `TaskReply::Succeed(v)`.
    pub fn ok(v: Value) -> TaskReply {
        TaskReply::Succeed(v)
    }
    /// `TaskReply::Fail` with `error` and `cause`.
    pub fn fail(error: impl Into<String>, cause: Option<&str>) -> TaskReply {
        TaskReply::Fail { error: Some(error.into()), cause: cause.map(str::to_string) }
    }
}

pub(crate) use crate::BoxFuture;

/// Anything that can answer a Task invocation.
pub trait Integration: Send + Sync {
    /// Answers one invocation, or says why the test cannot answer it (a
    /// mock run dry, a container that would not start): the execution then
    /// fails with that fault, whatever the definition's Retry and Catch say.
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>>;

    /// The answer, when it needs no awaiting (a synchronous handler): the
    /// harness then skips [`Integration::call`] and the future it boxes.
    /// Default `None`: `call` answers.
    fn call_now(&self, call: &TaskCall) -> Option<Result<Answer, HarnessFault>> {
        let _ = call;
        None
    }

    /// Whether callbacks for this task's token may come from elsewhere (a
    /// worker, an SDK client, HTTP), so the token must be registered first.
    /// Default `true`; handlers that answer directly say `false`.
    fn uses_callbacks(&self) -> bool {
        true
    }

    /// Whether the work happens outside the simulation (a container, a
    /// client of `serve`): virtual time then stands still while it runs, and
    /// its callbacks are waited for in real time. Default `false`: the work
    /// is Rust code whose waits (`sfn_harness::sleep`) are virtual.
    fn real_time(&self) -> bool {
        false
    }

    /// The integration a clone of the harness uses, whose callbacks go to
    /// the clone's own token registry `tokens` (in `region`); `None` (the
    /// default): this one, which never reads a registry of its own.
    fn rebind(
        &self,
        tokens: &Arc<tokens::TokenRegistry>,
        region: &str,
    ) -> Option<Arc<dyn Integration>> {
        let _ = (tokens, region);
        None
    }
}

/// A synchronous Rust handler (`Fn(&TaskCall) -> TaskReply`).
pub(crate) struct Handler<F>(pub F);

impl<F> Integration for Handler<F>
where
    F: Fn(&TaskCall) -> TaskReply + Send + Sync,
{
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        Box::pin(std::future::ready(Ok((self.0)(call).into())))
    }

    fn call_now(&self, call: &TaskCall) -> Option<Result<Answer, HarnessFault>> {
        Some(Ok((self.0)(call).into()))
    }

    fn uses_callbacks(&self) -> bool {
        false
    }
}

/// An asynchronous Rust handler (`Fn(TaskCall) -> impl Future<Output = TaskReply>`).
pub(crate) struct AsyncHandler<F>(pub F);

impl<F, Fut> Integration for AsyncHandler<F>
where
    F: Fn(TaskCall) -> Fut + Send + Sync,
    Fut: Future<Output = TaskReply> + Send + 'static,
{
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        let fut = (self.0)(call.clone());
        Box::pin(async move { Ok(fut.await.into()) })
    }
}

/// The container environment RunTask would give the named container: the
/// `Environment` of its `ContainerOverrides` entry in the RunTask parameters.
///
/// ```
/// use serde_json::json;
/// let params = json!({"Overrides": {"ContainerOverrides": [{"Name": "c",
///     "Environment": [{"Name": "INPUT", "Value": "{}"}]}]}});
/// let env = sfn_harness::container_environment(&params, Some("c"));
/// assert_eq!(env["INPUT"], "{}");
/// ```
pub fn container_environment<P: ParametersSource + ?Sized>(
    parameters: &P,
    container: Option<&str>,
) -> std::collections::BTreeMap<String, String> {
    let mut env = std::collections::BTreeMap::new();
    parameters.for_each_env_var(container, &mut |k, v| {
        env.insert(k.to_string(), v.shown().into_owned());
    });
    env
}

/// One variable of [`container_environment`], without building the map
/// (nor the task's parameters).
pub fn container_env_var<'a, P: ParametersSource + ?Sized>(
    parameters: &'a P,
    container: Option<&str>,
    name: &str,
) -> Option<&'a str> {
    let mut found = None;
    parameters.for_each_env_var(container, &mut |k, v| {
        if k == name {
            found = v.as_str(); // a later override wins, as in ECS
        }
    });
    found
}

/// One variable of [`container_environment`] read as JSON, as a worker
/// does that parses it (`json.loads(os.environ["INPUT"])`): `None` when the
/// container has no such variable, the parse error when its text is not
/// JSON. A variable set to `States.JsonToString` of a part of the state's
/// input is read in place: no text is rendered and none is parsed.
///
/// ```
/// use serde_json::json;
/// let params = json!({"Overrides": {"ContainerOverrides": [{"Name": "c",
///     "Environment": [{"Name": "INPUT", "Value": "{\"number\": 1}"}, {"Name": "BAD", "Value": "{"}]}]}});
/// let input = sfn_harness::container_env_json(&params, Some("c"), "INPUT");
/// assert_eq!(*input.unwrap().unwrap(), json!({"number": 1}));
/// assert!(sfn_harness::container_env_json(&params, Some("c"), "BAD").unwrap().is_err());
/// assert!(sfn_harness::container_env_json(&params, Some("c"), "NONE").is_none());
/// ```
pub fn container_env_json<'a, P: ParametersSource + ?Sized>(
    parameters: &'a P,
    container: Option<&str>,
    name: &str,
) -> Option<Result<std::borrow::Cow<'a, Value>, serde_json::Error>> {
    let [found] = container_env_nodes(parameters, container, [name]);
    found.map(Node::json)
}

/// Some variables of [`container_environment`] as they are (read one with
/// [`Node::shown`] as the map has it), found in one walk, without building
/// the map.
pub(crate) fn container_env_nodes<'a, const N: usize, P: ParametersSource + ?Sized>(
    parameters: &'a P,
    container: Option<&str>,
    names: [&str; N],
) -> [Option<Node<'a>>; N] {
    let mut found: [Option<Node<'a>>; N] = [None; N];
    parameters.for_each_env_var(container, &mut |k, v| {
        if let Some(i) = names.iter().position(|n| *n == k) {
            found[i] = Some(v); // a later override wins, as in ECS
        }
    });
    found
}

#[cfg(any(feature = "sdk", feature = "containers", feature = "endpoint"))]
pub(crate) mod aws_json;
pub(crate) use crate::ecs;
pub(crate) mod params;
pub(crate) mod tokens;

#[cfg(feature = "containers")]
pub(crate) mod containers;
#[cfg(feature = "sdk")]
pub(crate) mod ecs_sdk;
#[cfg(any(feature = "containers", feature = "endpoint"))]
pub(crate) mod http_server;
#[cfg(feature = "sdk")]
pub(crate) mod sdk;

/// Which integration answers each Task state, and the token registry that
/// callbacks go through.
#[derive(Clone, Default)]
pub(crate) struct Integrations {
    by_state: crate::hash::FastMap<String, Arc<dyn Integration>>,
    fallback: Option<Arc<dyn Integration>>,
    /// States answered by a mock-config response.
    mocked: crate::hash::FastSet<String>,
    /// States with both a handler and a mock response: state → what the test said.
    shadowed: crate::hash::FastMap<String, String>,
    /// The S3 objects a Map's ItemReader reads: `bucket/key` → body.
    s3: Arc<std::collections::BTreeMap<String, String>>,
    tokens: Arc<tokens::TokenRegistry>,
    /// How long a callback task may wait in real time for a callback with
    /// no TimeoutSeconds/HeartbeatSeconds before the run reports it stalled.
    pub callback_wait: std::time::Duration,
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut states: Vec<&String> = self.by_state.keys().collect();
        states.sort();
        f.debug_struct("Integrations")
            .field("answered_states", &states)
            .field("mocked", &self.mocked.len())
            .field("shadowed", &self.shadowed.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .field("callback_wait", &self.callback_wait)
            .finish()
    }
}

impl Integrations {
    pub(crate) fn new() -> Integrations {
        Integrations { callback_wait: std::time::Duration::from_secs(30), ..Default::default() }
    }

    /// The registry SendTask* calls resolve tokens in.
    pub(crate) fn tokens(&self) -> &Arc<tokens::TokenRegistry> {
        &self.tokens
    }

    /// Shares a registry (e.g. with the local endpoint).
    #[cfg(feature = "endpoint")]
    pub(crate) fn set_tokens(&mut self, tokens: Arc<tokens::TokenRegistry>) {
        self.tokens = tokens;
    }

    /// Answers every Task state without its own integration.
    #[cfg(feature = "endpoint")]
    pub(crate) fn set_fallback(&mut self, i: Arc<dyn Integration>) {
        self.fallback = Some(i);
    }

    /// Routes the Task state `state` to `integration` (replacing any before).
    /// A state that a mock config answers too is marked shadowed: running it
    /// fails the execution, since one of the two answers would be ignored.
    pub(crate) fn insert(&mut self, state: impl Into<String>, integration: Arc<dyn Integration>) {
        let state = state.into();
        if self.mocked.remove(&state) {
            self.shadow(&state);
        }
        self.by_state.insert(state, integration);
    }

    /// Routes `state` to a mock-config response; shadowed if a handler
    /// answers it already (see [`Integrations::insert`]).
    pub(crate) fn insert_mock(
        &mut self,
        state: impl Into<String>,
        integration: Arc<dyn Integration>,
    ) {
        let state = state.into();
        if self.by_state.contains_key(&state) && !self.mocked.contains(&state) {
            self.shadow(&state);
            return;
        }
        self.mocked.insert(state.clone());
        self.by_state.insert(state, integration);
    }

    fn shadow(&mut self, state: &str) {
        self.shadowed.insert(
            state.to_string(),
            format!(
                "Task state '{state}' is answered both by a handler (on_task, with_integration, …) and by a mock-config response; \
                 one of them would be ignored: remove the handler or the test case's entry for '{state}'"
            ),
        );
    }

    /// Provides the S3 object `bucket/key` for ItemReaders.
    pub(crate) fn put_s3_object(&mut self, bucket: &str, key: &str, body: &str) {
        Arc::make_mut(&mut self.s3).insert(format!("{bucket}/{key}"), body.to_string());
    }

    /// The S3 objects ItemReaders read, by `bucket/key`.
    pub(crate) fn s3_objects(&self) -> Arc<std::collections::BTreeMap<String, String>> {
        self.s3.clone()
    }

    /// Why `state`'s answer is ambiguous, if it is.
    pub(crate) fn shadowed(&self, state: &str) -> Option<&str> {
        self.shadowed.get(state).map(String::as_str)
    }

    /// A copy with a token registry of its own, each integration rebound
    /// to it ([`Integration::rebind`]; one shared by several states stays
    /// shared).
    pub(crate) fn rebound(&self, region: &str) -> Integrations {
        let tokens = Arc::new(tokens::TokenRegistry::new());
        let mut done: Vec<(*const (), Arc<dyn Integration>)> = Vec::new();
        let mut rebind = |i: &Arc<dyn Integration>| -> Arc<dyn Integration> {
            let key = Arc::as_ptr(i) as *const ();
            if let Some((_, r)) = done.iter().find(|(k, _)| *k == key) {
                return r.clone();
            }
            let r = i.rebind(&tokens, region).unwrap_or_else(|| i.clone());
            done.push((key, r.clone()));
            r
        };
        let by_state = self.by_state.iter().map(|(s, i)| (s.clone(), rebind(i))).collect();
        let fallback = self.fallback.as_ref().map(&mut rebind);
        Integrations {
            by_state,
            fallback,
            mocked: self.mocked.clone(),
            shadowed: self.shadowed.clone(),
            s3: self.s3.clone(),
            tokens,
            callback_wait: self.callback_wait,
        }
    }

    pub(crate) fn get(&self, state: &str) -> Option<&dyn Integration> {
        self.by_state.get(state).or(self.fallback.as_ref()).map(|i| i.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::EnvLayout;
    use crate::parameters::tests::template;
    use crate::parameters::{Leaf, Parameters};
    use serde_json::json;

    #[test]
    fn a_laid_out_environment_reads_as_the_built_value_does() {
        let t = Arc::new(template(
            json!({"Cluster.$": "$.c", "Overrides": {"ContainerOverrides": [
            {"Name": "a", "Environment": [{"Name": "X", "Value.$": "$.x"}, {"Name": "Y", "Value": 7}]},
            {"Name": "b", "Environment": [{"Name": "X", "Value.$": "$.y"}, {"Value": "unnamed"}]},
            {"Environment": [{"Name": "Z", "Value": "no container name"}]},
            {"Name": "a", "Environment": [{"Name": "X", "Value": "a later override"}]}]}}),
        ));
        let layout = EnvLayout::of(&t).map(Arc::new);
        assert!(layout.is_some());
        let leaves =
            || vec![Leaf::Own(json!("c")), Leaf::Own(json!({"k": [1]})), Leaf::Own(json!("y"))];
        let laid_out = Parameters::templated(t.clone(), leaves().into(), layout);
        let walked = Parameters::templated(t.clone(), leaves().into(), None);
        let built: Value = (*laid_out).clone();
        for c in [None, Some("a"), Some("b"), Some("none")] {
            let want = container_environment(&built, c);
            assert_eq!(container_environment(&walked, c), want, "{c:?}");
            // read before the value is built, and after
            let fresh =
                Parameters::templated(t.clone(), leaves().into(), EnvLayout::of(&t).map(Arc::new));
            assert_eq!(container_environment(&fresh, c), want, "{c:?}");
            assert_eq!(container_environment(&laid_out, c), want, "{c:?}");
            let [x, z] = container_env_nodes(&fresh, c, ["X", "Z"]).map(|v| v.map(Node::shown));
            assert_eq!(
                (x.as_deref(), z.as_deref()),
                (want.get("X").map(String::as_str), want.get("Z").map(String::as_str))
            );
        }
        assert_eq!(container_environment(&built, Some("a"))["X"], "a later override");
        assert_eq!(container_environment(&built, Some("b"))["X"], "y");
        assert_eq!(container_environment(&built, None)["Y"], "7");
        let [x] = container_env_nodes(&laid_out, Some("a"), ["X"]).map(|v| v.map(Node::shown));
        assert_eq!(x.as_deref(), Some("a later override"));
    }
}
