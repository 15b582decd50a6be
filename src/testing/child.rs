//! Nested executions: a Task `arn:aws:states:::states:startExecution`
//! (request-response, `.sync`, `.sync:2`) runs a child state machine
//! registered with the harness ([`Harness::with_child`]) on the same virtual
//! clock: the child starts at the parent task's virtual time, keeps its own
//! ARN and history, and the parent sees what AWS returns for the pattern.

use super::Harness;
use crate::eval::{Execution, Status};
use crate::failure::{FaultKind, HarnessFault};
use crate::integrations::{Answer, BoxFuture, Integration, TaskCall, TaskReply, Timeline};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The child machines of a harness, by name, and the executions they ran.
#[derive(Default)]
pub(crate) struct Children {
    machines: HashMap<String, Harness>,
    /// Every child execution, in the order they ran.
    runs: Vec<Execution>,
}

/// The Task integration that starts child executions.
pub(crate) struct StartExecution(pub(crate) Arc<Mutex<Children>>);

impl Children {
    pub(crate) fn add(&mut self, child: Harness) {
        self.machines.insert(child.config.state_machine_name.clone(), child);
    }

    /// A registry of its own with the same machines (each cloned, so
    /// independent too) and no executions yet.
    pub(crate) fn fork(&self) -> Children {
        Children {
            machines: self.machines.iter().map(|(n, h)| (n.clone(), h.clone())).collect(),
            runs: Vec::new(),
        }
    }

    pub(crate) fn has_machines(&self) -> bool {
        !self.machines.is_empty()
    }
}

/// What DescribeExecution says of a finished child, as the `.sync`
/// integrations return it (`json_payloads`: `.sync:2`, Input and Output as
/// JSON rather than JSON text).
fn describe(exec: &Execution, json_payloads: bool) -> Value {
    let payload = |v: &Value| {
        if json_payloads {
            v.clone()
        } else {
            Value::String(crate::json::to_json_string(v))
        }
    };
    let mut m = Map::new();
    m.insert("ExecutionArn".into(), json!(exec.execution_arn));
    m.insert("Input".into(), payload(&exec.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(exec.name));
    if let Some(o) = exec.output_payload() {
        m.insert("Output".into(), payload(o));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(e) = &exec.error() {
        m.insert("Error".into(), json!(e));
    }
    if let Some(c) = &exec.cause() {
        m.insert("Cause".into(), json!(c));
    }
    m.insert("StartDate".into(), json!(exec.start_ms));
    m.insert("StateMachineArn".into(), json!(exec.state_machine_arn));
    m.insert("Status".into(), json!(exec.status().as_str()));
    m.insert("StopDate".into(), json!(exec.stop_ms));
    Value::Object(m)
}

impl Integration for StartExecution {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        Box::pin(async move {
            let params = call.parameters.as_ref();
            let arn = params.get("StateMachineArn").and_then(Value::as_str).unwrap_or_default();
            // `…:stateMachine:Name`, `…:stateMachine:Name:version` or an alias
            let name = crate::arn::state_machine_name(arn).to_string();
            let child = {
                let children = self.0.lock().unwrap_or_else(|p| p.into_inner());
                children.machines.get(&name).cloned()
            };
            let Some(child) = child else {
                return Err(HarnessFault::new(
                    FaultKind::NoIntegration,
                    format!(
                        "Task state '{}' starts the state machine '{name}' ({arn}), which is not registered: add it with Harness::with_child",
                        call.state_name
                    ),
                ));
            };
            let input = match params.get("Input") {
                None | Some(Value::Null) => json!({}),
                Some(Value::String(s)) => match serde_json::from_str(s) {
                    Ok(v) => v,
                    Err(e) => {
                        return Ok(TaskReply::fail(
                            "StepFunctions.InvalidExecutionInputException",
                            Some(&format!("Invalid State Machine Execution Input: '{e}'")),
                        )
                        .into())
                    }
                },
                Some(v) => v.clone(),
            };
            // the child starts at the parent task's virtual time, named and seeded from it
            let now = crate::eval::current_now_ms().unwrap_or(child.config.start_ms);
            let token = call.token.clone().unwrap_or_default();
            let seed = crate::rng::stable_hash(token.as_bytes());
            let mut run = child.start_ms(now).seed(seed);
            if let Some(n) = params.get("Name").and_then(Value::as_str) {
                run = run.execution_name(n);
            }
            let exec = run.run(input).await;
            let elapsed_ms = exec.stop_ms - exec.start_ms;
            let started = json!({"ExecutionArn": exec.execution_arn, "StartDate": exec.start_ms});
            let resource = call.resource.as_str();
            let answer = if !resource.contains(".sync") && !resource.ends_with(".waitForTaskToken")
            {
                // request-response: the parent goes on as soon as the child started
                Answer {
                    reply: TaskReply::Succeed(started),
                    submitted: None,
                    elapsed_ms: 0,
                    logs: None,
                    worker_ms: None,
                }
            } else if resource.ends_with(".waitForTaskToken") {
                // the child calls back with the token it was given
                Answer {
                    reply: TaskReply::AwaitCallback,
                    submitted: Some(started),
                    elapsed_ms: 0,
                    logs: None,
                    worker_ms: None,
                }
            } else {
                let described = describe(&exec, resource.ends_with(".sync:2"));
                let reply = match exec.status() {
                    Status::Succeeded => TaskReply::Succeed(described),
                    // a child that waits for a callback that never comes: so does the parent
                    Status::Running => TaskReply::Callbacks(Timeline::new()),
                    _ => TaskReply::Fail {
                        error: Some(crate::names::TASK_FAILED.into()),
                        cause: Some(crate::json::to_json_string(&described)),
                    },
                };
                Answer { reply, submitted: Some(started), elapsed_ms, logs: None, worker_ms: None }
            };
            self.0.lock().unwrap_or_else(|p| p.into_inner()).runs.push(exec.clone());
            crate::eval::adopt_child(call.state_name.clone(), exec);
            Ok(answer)
        })
    }

    fn uses_callbacks(&self) -> bool {
        true
    }
}

impl Harness {
    /// Registers `child` (named by its state machine name: the file stem,
    /// or [`Harness::state_machine_name`]) as the state machine a
    /// `states:startExecution` Task starts, with `.sync`, `.sync:2`, or
    /// request-response. The child runs on the parent's virtual clock with
    /// its own handlers, ARN and history ([`Harness::child_executions`]).
    ///
    /// ```
    /// # use sfn_harness::Harness;
    /// # use serde_json::json;
    /// let child = Harness::from_definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"n": 1}, "End": true}}}"#)
    ///     .unwrap().state_machine_name("Child");
    /// let parent = Harness::from_definition(r#"{"StartAt": "Run", "States": {"Run": {"Type": "Task",
    ///     "Resource": "arn:aws:states:::states:startExecution.sync:2",
    ///     "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Child", "Input": {}},
    ///     "OutputPath": "$.Output", "End": true}}}"#).unwrap().with_child(child);
    /// assert_eq!(parent.run_blocking(json!({})).output(), &json!({"n": 1}));
    /// ```
    pub fn with_child(mut self, child: Harness) -> Harness {
        self.children.lock().unwrap_or_else(|p| p.into_inner()).add(child);
        self.route_child_starts();
        self
    }

    /// Routes every `states:startExecution` Task to this harness's child machines.
    pub(crate) fn route_child_starts(&mut self) {
        let states: Vec<String> = self
            .sm
            .all_states()
            .iter()
            .filter(|s| matches!(&s.kind, crate::asl::StateKind::Task(t) if t.resource.starts_with("arn:aws:states:::states:startExecution")))
            .map(|s| s.name.to_string())
            .collect();
        let integration: Arc<dyn Integration> = Arc::new(StartExecution(self.children.clone()));
        for s in states {
            self.integrations.insert(s, integration.clone());
        }
    }

    /// The child executions this harness's runs started, in order (their
    /// histories, outputs, invocations).
    pub fn child_executions(&self) -> Vec<Execution> {
        self.children.lock().unwrap_or_else(|p| p.into_inner()).runs.clone()
    }
}
