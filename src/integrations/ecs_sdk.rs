//! `arn:aws:states:::ecs:runTask[.sync|.waitForTaskToken]` through a real
//! `aws_sdk_ecs::Client` (mocked with aws-smithy-mocks in tests, or pointed
//! at any ECS-compatible endpoint), with simulated workers standing in for
//! the containers.
//!
//! What AWS documents (the ECS integration page of the Step Functions
//! developer guide), and what this does:
//! - the RunTask request is built from the evaluated Parameters (PascalCase,
//!   as in the definition); TaskSubmitted carries the RunTask response;
//! - a non-empty `Failures`: request-response returns the response and does
//!   not fail; `.sync` and `.waitForTaskToken` fail with `AmazonECS.Unknown`
//!   (AWS is silent on the cause; here: the failures as JSON);
//! - an API error fails the task with `ECS.AmazonECSException`, the cause
//!   naming the error code as AWS writes it (`… (Service: AmazonECS; Status
//!   Code: 400; Error Code: ClusterNotFoundException; …)`); no TaskSubmitted
//!   is recorded for a RunTask that failed;
//! - `.sync` polls DescribeTasks until the task is STOPPED (each poll costs
//!   [`EcsIntegration::poll_interval_ms`] of virtual time) and returns the task
//!   object with PascalCase keys; a container that exited non-zero or a task
//!   that failed to start gives `States.TaskFailed` with the task JSON as cause;
//!   a callback with the task token that arrives first wins;
//! - `.waitForTaskToken` waits for the callback; a worker that exits without
//!   calling back is reported at once (AWS would wait until the timeout).
//!
//! AWS does not document how often `.sync` polls; the default interval here
//! is 6 s of virtual time.

use super::{container_environment, Answer, BoxFuture, Integration, Pattern, TaskCall, TaskReply};
use crate::asl::Resource;
use crate::failure::HarnessFault;
use crate::names;
use aws_sdk_ecs::types as ecs;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a simulated worker's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerExit {
    /// The process's exit code.
    pub exit_code: i64,
    /// stdout and stderr, interleaved.
    pub logs: String,
}

/// What a container would do: given the environment RunTask gives it and a
/// Step Functions client, do the work and call back (or not).
pub trait Worker: Send + Sync {
    /// Runs the work with the container environment `env` (RunTask's
    /// overrides applied), calling back through `sfn`.
    fn run(
        &self,
        env: BTreeMap<String, String>,
        sfn: aws_sdk_sfn::Client,
    ) -> BoxFuture<'static, WorkerExit>;
}

impl<F, Fut> Worker for F
where
    F: Fn(BTreeMap<String, String>, aws_sdk_sfn::Client) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = WorkerExit> + Send + 'static,
{
    // Longer than a screen: RunTask, then one arm per integration pattern.
    fn run(
        &self,
        env: BTreeMap<String, String>,
        sfn: aws_sdk_sfn::Client,
    ) -> BoxFuture<'static, WorkerExit> {
        Box::pin(self(env, sfn))
    }
}

/// The ECS integration over an SDK client.
#[derive(Clone)]
pub struct EcsIntegration {
    ecs: aws_sdk_ecs::Client,
    sfn: Option<aws_sdk_sfn::Client>,
    /// Whether `sfn` is the harness's in-process client (rebound in a clone).
    in_process: bool,
    workers: Vec<(String, Arc<dyn Worker>)>,
    /// Virtual time between DescribeTasks polls of a `.sync` task (default 6,000 ms).
    pub poll_interval_ms: i64,
    /// Polls before giving up on a task that never stops (default 10,000).
    pub max_polls: usize,
}

impl EcsIntegration {
    /// ECS through `ecs`; no simulated workers yet.
    pub fn new(ecs: aws_sdk_ecs::Client) -> EcsIntegration {
        EcsIntegration {
            ecs,
            sfn: None,
            in_process: false,
            workers: Vec::new(),
            poll_interval_ms: 6_000,
            max_polls: 10_000,
        }
    }

    /// Runs `worker` for each started task's container named `container`.
    pub fn worker(mut self, container: &str, worker: impl Worker + 'static) -> EcsIntegration {
        self.workers.push((container.to_string(), Arc::new(worker)));
        self
    }

    /// The client workers call back with (default: the harness's token
    /// registry, in process).
    pub fn sfn_client(mut self, sfn: aws_sdk_sfn::Client) -> EcsIntegration {
        self.sfn = Some(sfn);
        self
    }

    /// Sets the callback client unless one was given.
    pub(crate) fn default_sfn_client(
        mut self,
        sfn: impl FnOnce() -> aws_sdk_sfn::Client,
    ) -> EcsIntegration {
        if self.sfn.is_none() {
            self.sfn = Some(sfn());
            self.in_process = true;
        }
        self
    }

    async fn run(&self, call: &TaskCall) -> Answer {
        let pattern = Resource::parse(&call.resource).pattern();
        let params = &call.parameters;
        let req = match run_task_request(&self.ecs, params) {
            Ok(r) => r,
            Err(msg) => {
                return Answer::refused(TaskReply::Fail {
                    error: Some(names::RUNTIME.into()),
                    cause: Some(format!(
                        "The Parameters '{}' could not be used to start the Task: [{msg}]",
                        crate::json::to_json_string(params)
                    )),
                })
            }
        };
        let out = match req.send().await {
            Ok(o) => o,
            Err(e) => return Answer::refused(sdk_failure(e)),
        };
        let submitted = json!({
            "Failures": out.failures().iter().map(failure_json).collect::<Vec<_>>(),
            "Tasks": out.tasks().iter().map(task_json).collect::<Vec<_>>(),
        });
        // documented: request-response returns the response as it is; the
        // .sync and callback patterns fail on a non-empty Failures
        if pattern == Pattern::RequestResponse {
            return TaskReply::Succeed(submitted).into();
        }
        if !out.failures().is_empty() || out.tasks().is_empty() {
            return Answer {
                reply: TaskReply::Fail {
                    error: Some(names::ECS_UNKNOWN.into()),
                    cause: Some(crate::json::to_json_string(&submitted["Failures"])),
                },
                submitted: Some(submitted),
                elapsed_ms: 0,
                logs: None,
                worker_ms: None,
            };
        }
        let task = &out.tasks()[0];
        let mut exit: Option<(String, WorkerExit)> = None;
        for (container, worker) in &self.workers {
            let env = container_environment(params, Some(container));
            let sfn = match &self.sfn {
                Some(c) => c.clone(),
                None => continue,
            };
            let e = worker.run(env, sfn).await;
            exit = Some((container.clone(), e));
        }
        let reply_after_exit = |exit: &Option<(String, WorkerExit)>| match exit {
            Some((container, e)) => super::exited_without_callback(
                &format!("container '{container}'"),
                Some(e.exit_code),
                &e.logs,
            ),
            None => TaskReply::AwaitCallback,
        };
        match pattern {
            Pattern::RequestResponse => unreachable!("answered right after RunTask"),
            Pattern::WaitForTaskToken => {
                let logs = exit.as_ref().map(|(_, e)| e.logs.clone());
                Answer {
                    reply: reply_after_exit(&exit),
                    submitted: Some(submitted),
                    elapsed_ms: 0,
                    logs,
                    worker_ms: None,
                }
            }
            Pattern::Sync => {
                let (reply, elapsed_ms) = self.wait_stopped(task, params).await;
                Answer {
                    reply,
                    submitted: Some(submitted),
                    elapsed_ms,
                    logs: None,
                    worker_ms: None,
                }
            }
        }
    }

    /// Polls DescribeTasks until the task is STOPPED.
    async fn wait_stopped(&self, task: &ecs::Task, params: &Value) -> (TaskReply, i64) {
        let cluster = task
            .cluster_arn()
            .map(str::to_string)
            .or_else(|| params.get("Cluster").and_then(Value::as_str).map(str::to_string));
        let Some(arn) = task.task_arn() else {
            return (
                TaskReply::Fail {
                    error: Some(names::ECS_UNKNOWN.into()),
                    cause: Some("RunTask returned a task without TaskArn".into()),
                },
                0,
            );
        };
        let mut elapsed = 0;
        for _ in 0..self.max_polls {
            let out = match self
                .ecs
                .describe_tasks()
                .set_cluster(cluster.clone())
                .tasks(arn)
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) => return (sdk_failure(e), elapsed),
            };
            let Some(t) = out.tasks().iter().find(|t| t.task_arn() == Some(arn)) else {
                return (
                    TaskReply::Fail {
                        error: Some(names::ECS_UNKNOWN.into()),
                        cause: Some(format!("DescribeTasks does not know the task {arn}")),
                    },
                    elapsed,
                );
            };
            if t.last_status() == Some("STOPPED") {
                let v = task_json(t);
                let failed_to_start =
                    matches!(t.stop_code(), Some(ecs::TaskStopCode::TaskFailedToStart));
                let bad_exit = t
                    .containers()
                    .iter()
                    .any(|c| c.exit_code().is_some_and(|x| x != 0) || c.exit_code().is_none());
                return if failed_to_start || bad_exit {
                    (
                        TaskReply::Fail {
                            error: Some(names::TASK_FAILED.into()),
                            cause: Some(crate::json::to_json_string(&v)),
                        },
                        elapsed,
                    )
                } else {
                    (TaskReply::Succeed(v), elapsed)
                };
            }
            elapsed += self.poll_interval_ms;
        }
        (
            TaskReply::Fail {
                error: Some(names::TASK_FAILED.into()),
                cause: Some(format!(
                    "the ECS task {arn} did not stop after {} DescribeTasks polls",
                    self.max_polls
                )),
            },
            elapsed,
        )
    }
}

impl Integration for EcsIntegration {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        Box::pin(async move { Ok(self.run(call).await) })
    }

    /// SDK calls and workers outside the simulation: real time.
    fn real_time(&self) -> bool {
        true
    }

    /// Workers calling back in process reach the clone's registry.
    fn rebind(
        &self,
        tokens: &Arc<crate::integrations::tokens::TokenRegistry>,
        region: &str,
    ) -> Option<Arc<dyn Integration>> {
        if !self.in_process {
            return None;
        }
        let api: Arc<dyn crate::integrations::aws_json::SfnApi> = tokens.clone();
        let sfn = crate::integrations::sdk::in_process_sfn_client(api, region);
        Some(Arc::new(EcsIntegration { sfn: Some(sfn), ..self.clone() }))
    }
}

/// An ECS API error as Step Functions reports it: `ECS.AmazonECSException`,
/// the cause in the Java SDK's words (`… (Service: AmazonECS; Status Code:
/// 400; Error Code: ClusterNotFoundException; Request ID: …; Proxy: null)`);
/// a request that got no answer, `ECS.SdkClientException`.
fn sdk_failure<E: aws_sdk_ecs::error::ProvideErrorMetadata + std::fmt::Debug>(
    e: aws_sdk_ecs::error::SdkError<E, aws_sdk_ecs::config::http::HttpResponse>,
) -> TaskReply {
    let Some(se) = e.as_service_error() else {
        return TaskReply::Fail {
            error: Some("ECS.SdkClientException".into()),
            cause: Some(format!("Unable to execute HTTP request: {e}")),
        };
    };
    let status = e.raw_response().map_or(400, |r| r.status().as_u16());
    let code = se.code().unwrap_or("Unknown");
    let request_id = se.meta().extra("aws_request_id").unwrap_or("null");
    let msg = se.message().unwrap_or("");
    TaskReply::Fail {
        error: Some(format!("ECS.{}", names::ECS_EXCEPTION)),
        cause: Some(format!(
            "{msg} (Service: AmazonECS; Status Code: {status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)"
        )),
    }
}

const RUN_TASK_FIELDS: &[&str] = &[
    "Cluster",
    "TaskDefinition",
    "LaunchType",
    "NetworkConfiguration",
    "Overrides",
    "PropagateTags",
    "PlatformVersion",
    "Group",
    "StartedBy",
    "Count",
    "EnableEcsManagedTags",
    "EnableExecuteCommand",
    "ReferenceId",
    "Tags",
    "CapacityProviderStrategy",
    "PlacementConstraints",
    "PlacementStrategy",
];

/// Builds RunTask from Step Functions' PascalCase parameters.
fn run_task_request(
    client: &aws_sdk_ecs::Client,
    p: &Value,
) -> Result<aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder, String> {
    // Longer than a screen: RunTask's request fields mapped one by one, read as a table.
    let obj = p.as_object().ok_or("The parameters must be an object")?;
    for k in obj.keys() {
        if !RUN_TASK_FIELDS.contains(&k.as_str()) {
            return Err(format!("The field '{k}' is not supported by Step Functions"));
        }
    }
    let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let Some(td) = s("TaskDefinition") else {
        return Err("The field 'TaskDefinition' is required".into());
    };
    let mut req = client.run_task().task_definition(td).set_cluster(s("Cluster"));
    if let Some(lt) = s("LaunchType") {
        req = req.launch_type(ecs::LaunchType::from(lt.as_str()));
    }
    if let Some(pt) = s("PropagateTags") {
        req = req.propagate_tags(ecs::PropagateTags::from(pt.as_str()));
    }
    req = req
        .set_platform_version(s("PlatformVersion"))
        .set_group(s("Group"))
        .set_started_by(s("StartedBy"))
        .set_reference_id(s("ReferenceId"));
    if let Some(c) = obj.get("Count").and_then(Value::as_i64) {
        req = req.count(c as i32);
    }
    if let Some(b) = obj.get("EnableEcsManagedTags").and_then(Value::as_bool) {
        req = req.enable_ecs_managed_tags(b);
    }
    if let Some(b) = obj.get("EnableExecuteCommand").and_then(Value::as_bool) {
        req = req.enable_execute_command(b);
    }
    if let Some(vpc) = p.pointer("/NetworkConfiguration/AwsvpcConfiguration") {
        let mut b = ecs::AwsVpcConfiguration::builder()
            .set_subnets(Some(strs(vpc.get("Subnets"))))
            .set_security_groups(Some(strs(vpc.get("SecurityGroups"))).filter(|v| !v.is_empty()));
        if let Some(a) = vpc.get("AssignPublicIp").and_then(Value::as_str) {
            b = b.assign_public_ip(ecs::AssignPublicIp::from(a));
        }
        let vpc =
            b.build().map_err(|e| format!("NetworkConfiguration.AwsvpcConfiguration: {e}"))?;
        req = req.network_configuration(
            ecs::NetworkConfiguration::builder().awsvpc_configuration(vpc).build(),
        );
    }
    if let Some(o) = obj.get("Overrides") {
        let mut to = ecs::TaskOverride::builder()
            .set_cpu(o.get("Cpu").and_then(Value::as_str).map(str::to_string))
            .set_memory(o.get("Memory").and_then(Value::as_str).map(str::to_string))
            .set_task_role_arn(o.get("TaskRoleArn").and_then(Value::as_str).map(str::to_string))
            .set_execution_role_arn(
                o.get("ExecutionRoleArn").and_then(Value::as_str).map(str::to_string),
            );
        for c in super::ecs::container_overrides(p) {
            let mut co = ecs::ContainerOverride::builder()
                .set_name(super::ecs::override_name(c).map(str::to_string));
            if c.get("Command").is_some() {
                co = co.set_command(Some(strs(c.get("Command"))));
            }
            for e in super::ecs::override_environment(c) {
                let value = match e.get("Value") {
                    Some(Value::String(v)) => Some(v.clone()),
                    Some(other) => Some(other.to_string()),
                    None => None,
                };
                co = co.environment(
                    ecs::KeyValuePair::builder()
                        .set_name(e.get("Name").and_then(Value::as_str).map(str::to_string))
                        .set_value(value)
                        .build(),
                );
            }
            if let Some(cpu) = c.get("Cpu").and_then(Value::as_i64) {
                co = co.cpu(cpu as i32);
            }
            if let Some(m) = c.get("Memory").and_then(Value::as_i64) {
                co = co.memory(m as i32);
            }
            to = to.container_overrides(co.build());
        }
        req = req.overrides(to.build());
    }
    for t in obj.get("Tags").and_then(Value::as_array).into_iter().flatten() {
        req = req.tags(
            ecs::Tag::builder()
                .set_key(t.get("Key").and_then(Value::as_str).map(str::to_string))
                .set_value(t.get("Value").and_then(Value::as_str).map(str::to_string))
                .build(),
        );
    }
    Ok(req)
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v);
    }
}

fn s(v: Option<&str>) -> Option<Value> {
    v.map(|x| Value::String(x.to_string()))
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Option<Value> {
    d.and_then(|d| d.to_millis().ok()).map(Value::from)
}

/// An ECS task as Step Functions returns it (PascalCase keys).
pub(crate) fn task_json(t: &ecs::Task) -> Value {
    let mut m = Map::new();
    put(&mut m, "AvailabilityZone", s(t.availability_zone()));
    put(&mut m, "ClusterArn", s(t.cluster_arn()));
    let containers: Vec<Value> = t
        .containers()
        .iter()
        .map(|c| {
            let mut cm = Map::new();
            put(&mut cm, "ContainerArn", s(c.container_arn()));
            put(&mut cm, "ExitCode", c.exit_code().map(Value::from));
            put(&mut cm, "Image", s(c.image()));
            put(&mut cm, "LastStatus", s(c.last_status()));
            put(&mut cm, "Name", s(c.name()));
            put(&mut cm, "Reason", s(c.reason()));
            put(&mut cm, "TaskArn", s(c.task_arn()));
            Value::Object(cm)
        })
        .collect();
    m.insert("Containers".into(), Value::Array(containers));
    put(&mut m, "Cpu", s(t.cpu()));
    put(&mut m, "CreatedAt", date(t.created_at()));
    put(&mut m, "DesiredStatus", s(t.desired_status()));
    put(&mut m, "Group", s(t.group()));
    put(&mut m, "LastStatus", s(t.last_status()));
    put(&mut m, "LaunchType", t.launch_type().map(|l| Value::String(l.as_str().to_string())));
    put(&mut m, "Memory", s(t.memory()));
    put(&mut m, "PlatformVersion", s(t.platform_version()));
    put(&mut m, "StartedAt", date(t.started_at()));
    put(&mut m, "StartedBy", s(t.started_by()));
    put(&mut m, "StopCode", t.stop_code().map(|c| Value::String(c.as_str().to_string())));
    put(&mut m, "StoppedAt", date(t.stopped_at()));
    put(&mut m, "StoppedReason", s(t.stopped_reason()));
    put(&mut m, "TaskArn", s(t.task_arn()));
    put(&mut m, "TaskDefinitionArn", s(t.task_definition_arn()));
    Value::Object(m)
}

fn failure_json(f: &ecs::Failure) -> Value {
    let mut m = Map::new();
    put(&mut m, "Arn", s(f.arn()));
    put(&mut m, "Detail", s(f.detail()));
    put(&mut m, "Reason", s(f.reason()));
    Value::Object(m)
}
