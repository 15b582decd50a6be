//! Rust models of workers, for tests that need no container.
//!
//! [`seed_worker`] is faithful to the seed pipeline's `app.py`: it reads
//! `TOKEN` and `INPUT` from the container environment, makes `n` random
//! floats for `n = input.number`, increments the number and calls
//! SendTaskSuccess with `{"input": …, "result": [n floats]}`. Anything numpy
//! rejects inside the `try` (a negative, fractional, boolean, non-numeric or
//! null number; checked against the real container in tests/containers.rs)
//! sends SendTaskFailure with error `Container task failed.`; a
//! missing `TOKEN`/`INPUT`/`number` or bad JSON kills the process before the
//! `try` (exit 1, no callback).
//!
//! ```
//! use sfn_harness::workers::{run_seed_worker, WorkerRun};
//! use std::collections::BTreeMap;
//! let env = BTreeMap::from([("TOKEN".to_string(), "t".to_string()), ("INPUT".to_string(), r#"{"number":2}"#.to_string())]);
//! match run_seed_worker(&env) {
//!     WorkerRun::Success { output, .. } => assert_eq!(output["input"]["number"], 3),
//!     other => panic!("{other:?}"),
//! }
//! ```

#[cfg(feature = "sdk")]
use crate::integrations::ecs_sdk::WorkerExit;
use crate::integrations::{container_env_json, container_env_nodes, TaskCall, TaskReply};
use crate::parameters::Node;
use crate::rng::Rng;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The container the seed's task definition runs.
pub const SEED_CONTAINER: &str = "python-container";

/// numpy would fail to allocate beyond this many floats; the model treats
/// larger counts as the MemoryError numpy raises inside the `try`.
const MAX_FLOATS: i64 = 100_000_000;

/// What a worker process did.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerRun {
    /// SendTaskSuccess(token, output), exit 0.
    Success {
        /// The task token.
        token: String,
        /// SendTaskSuccess's output.
        output: Value,
        /// What it printed.
        stdout: String,
    },
    /// SendTaskFailure(token, error), exit 0.
    Failure {
        /// The task token.
        token: String,
        /// SendTaskFailure's error.
        error: String,
        /// What it printed.
        stdout: String,
    },
    /// The process died before calling back.
    Crash {
        /// The exit code.
        exit_code: i64,
        /// The traceback.
        stderr: String,
    },
}

/// Runs the model of `app.py` on a container environment.
pub fn run_seed_worker(env: &BTreeMap<String, String>) -> WorkerRun {
    let token = env.get("TOKEN");
    let input = env.get("INPUT").map(|s| serde_json::from_str(s).map(Cow::Owned));
    match seed_app(token.map(String::as_str), input) {
        App::Success(output) => WorkerRun::Success {
            token: token.cloned().unwrap_or_default(),
            output,
            stdout: "Container task success.\n".into(),
        },
        App::Failure => WorkerRun::Failure {
            token: token.cloned().unwrap_or_default(),
            error: App::FAILED.into(),
            stdout: format!("{}\n", App::FAILED),
        },
        App::Crash(stderr) => WorkerRun::Crash { exit_code: 1, stderr },
    }
}

/// What `app.py` ends with; the process's token and printout are added by
/// whoever needs them ([`run_seed_worker`]), not per task.
enum App {
    /// SendTaskSuccess with this output.
    Success(Value),
    /// SendTaskFailure with error [`App::FAILED`].
    Failure,
    /// Exit 1 before the `try`, with this traceback.
    Crash(String),
}

impl App {
    /// The error (and printout) of the `except`.
    const FAILED: &str = "Container task failed.";
}

/// `app.py` on its two variables: `TOKEN`, and `INPUT` as `json.loads`
/// reads it.
fn seed_app(token: Option<&str>, input: Option<Result<Cow<'_, Value>, serde_json::Error>>) -> App {
    let crash = |msg: &str| App::Crash(format!("Traceback (most recent call last):\n{msg}"));
    let Some(token) = token else { return crash("KeyError: 'TOKEN'") };
    let Some(input) = input else { return crash("KeyError: 'INPUT'") };
    let mut input: Value = match input {
        Ok(v) => v.into_owned(),
        Err(e) => return crash(&format!("json.decoder.JSONDecodeError: {e}")),
    };
    let Some(n) = input.get("number") else {
        let msg = if input.is_object() {
            "KeyError: 'number'"
        } else {
            "TypeError: list indices must be integers or slices, not str"
        };
        return crash(msg);
    };
    // np.random.random(n): non-negative ints only; numpy 2 (Debian 13) also
    // rejects bools ("expected a sequence of integers or a single integer")
    let count = match n {
        Value::Number(x) if x.is_i64() || x.is_u64() => x.as_i64().unwrap_or(i64::MAX),
        _ => return App::Failure,
    };
    if !(0..=MAX_FLOATS).contains(&count) {
        return App::Failure;
    }
    let mut rng = Rng::new(crate::rng::stable_hash(token.as_bytes()));
    let result: Vec<Value> = (0..count).map(|_| Value::from(rng.next_f64())).collect();
    // `number` is there (read above): replaced in place
    if let Some((_, slot)) =
        input.as_object_mut().and_then(|m| m.iter_mut().find(|(k, _)| k.as_str() == "number"))
    {
        *slot = Value::from(count + 1);
    }
    let mut output = serde_json::Map::with_capacity(2);
    output.insert("input".into(), input);
    output.insert("result".into(), Value::Array(result));
    App::Success(Value::Object(output))
}

/// The seed worker as a task handler: the container environment comes from
/// the RunTask parameters' overrides, the callback becomes the reply.
pub fn seed_worker(call: &TaskCall) -> TaskReply {
    // the two variables app.py reads, as the container would see them (its
    // input as json.loads gives it, read in place when it can be)
    let [token, input] =
        container_env_nodes(&call.parameters, Some(SEED_CONTAINER), ["TOKEN", "INPUT"]);
    match seed_app(token.map(Node::shown).as_deref(), input.map(Node::json)) {
        App::Success(output) => TaskReply::Succeed(output),
        App::Failure => TaskReply::Fail { error: Some(App::FAILED.into()), cause: None },
        App::Crash(stderr) => TaskReply::NoCallback {
            exit_code: Some(1),
            detail: format!(
                "the worker exited with code 1 without calling back ({})",
                stderr.lines().last().unwrap_or("")
            ),
        },
    }
}

#[cfg(feature = "sdk")]
/// The seed worker as a simulated container: it reads the environment and
/// calls back through a real `aws_sdk_sfn::Client`, as `app.py` does with boto3.
pub async fn seed_worker_sdk(
    env: BTreeMap<String, String>,
    sfn: aws_sdk_sfn::Client,
) -> WorkerExit {
    match run_seed_worker(&env) {
        WorkerRun::Success { token, output, stdout } => {
            match sfn.send_task_success().task_token(token).output(output.to_string()).send().await
            {
                Ok(_) => WorkerExit { exit_code: 0, logs: stdout },
                Err(e) => {
                    WorkerExit { exit_code: 1, logs: format!("{stdout}botocore error: {e:?}\n") }
                }
            }
        }
        WorkerRun::Failure { token, error, stdout } => {
            match sfn.send_task_failure().task_token(token).error(error).send().await {
                Ok(_) => WorkerExit { exit_code: 0, logs: stdout },
                Err(e) => {
                    WorkerExit { exit_code: 1, logs: format!("{stdout}botocore error: {e:?}\n") }
                }
            }
        }
        WorkerRun::Crash { exit_code, stderr } => WorkerExit { exit_code, logs: stderr },
    }
}

/// A handler that only increments `input.number` (no numpy rules): the
/// loop's arithmetic without the worker's failure modes.
pub fn increment_number(call: &TaskCall) -> TaskReply {
    let input = container_env_json(&call.parameters, Some(SEED_CONTAINER), "INPUT");
    let mut input = input.and_then(Result::ok).map_or(Value::Null, Cow::into_owned);
    // an input that is no object counts from nothing, as a missing number
    // does (one lookup: the number is replaced where it is)
    if !input.is_object() {
        input = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(fields) = &mut input {
        match fields.get_mut("number") {
            Some(slot) => *slot = Value::from(slot.as_i64().unwrap_or(0) + 1),
            None => {
                fields.insert("number".into(), Value::from(1));
            }
        }
    }
    let mut output = serde_json::Map::with_capacity(1);
    output.insert("input".into(), input);
    TaskReply::Succeed(Value::Object(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn increment_number_bumps_the_number_in_place_and_counts_from_nothing() {
        let call = |input: &str| TaskCall {
            state_name: "FargateTask".into(),
            resource: "arn:aws:states:::ecs:runTask.sync".into(),
            parameters: json!({"Overrides": {"ContainerOverrides": [{"Name": SEED_CONTAINER,
                "Environment": [{"Name": "INPUT", "Value": input}]}]}})
            .into(),
            token: Some("tok".into()),
            iteration: Vec::new(),
            invocation: 0,
            retry_count: 0,
            timeout_seconds: None,
            heartbeat_seconds: None,
        };
        for (input, want) in [
            // the number replaced where it is: the key order kept
            (r#"{"a": 1, "number": 2, "z": 3}"#, r#"{"input":{"a":1,"number":3,"z":3}}"#),
            (r#"{"k": true}"#, r#"{"input":{"k":true,"number":1}}"#),
            (r#"{"number": "x"}"#, r#"{"input":{"number":1}}"#),
            (r#"[1, 2]"#, r#"{"input":{"number":1}}"#),
            (r#""text""#, r#"{"input":{"number":1}}"#),
            ("not json", r#"{"input":{"number":1}}"#),
        ] {
            match increment_number(&call(input)) {
                TaskReply::Succeed(v) => assert_eq!(v.to_string(), want, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    fn env(input: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("TOKEN".into(), "tok".into()), ("INPUT".into(), input.into())])
    }

    #[test]
    fn faithful_to_app_py() {
        for (input, want) in [
            (r#"{"number": 0}"#, "success"),
            (r#"{"number": 3}"#, "success"),
            (r#"{"number": true}"#, "failure"),
            (r#"{"number": -1}"#, "failure"),
            (r#"{"number": 2.5}"#, "failure"),
            (r#"{"number": "x"}"#, "failure"),
            (r#"{"number": null}"#, "failure"),
            (r#"{}"#, "crash"),
            (r#"not json"#, "crash"),
        ] {
            let got = match run_seed_worker(&env(input)) {
                WorkerRun::Success { .. } => "success",
                WorkerRun::Failure { .. } => "failure",
                WorkerRun::Crash { .. } => "crash",
            };
            assert_eq!(got, want, "{input}");
        }
        match run_seed_worker(&env(r#"{"number": 3, "k": 1}"#)) {
            WorkerRun::Success { output, .. } => {
                assert_eq!(output["input"], json!({"number": 4, "k": 1}));
                assert_eq!(output["result"].as_array().unwrap().len(), 3);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(run_seed_worker(&BTreeMap::new()), WorkerRun::Crash { exit_code: 1, .. }));
    }
}
