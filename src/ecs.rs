//! ECS shapes (PascalCase, as Step Functions returns them) for tasks whose
//! ECS side is simulated: the RunTask response that TaskSubmitted carries and
//! the stopped task that a `.sync` task returns. Below the history, which
//! renders a simulated TaskSubmitted from it when it is read.

use crate::arn;
use serde_json::{json, Value};

/// The `Overrides.ContainerOverrides` entries of RunTask parameters, in order:
/// the one walk every reader of container overrides goes through.
pub(crate) fn container_overrides(params: &Value) -> impl Iterator<Item = &Value> {
    params
        .get("Overrides")
        .and_then(|o| o.get("ContainerOverrides"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The container name of one override entry.
pub(crate) fn override_name(o: &Value) -> Option<&str> {
    o.get("Name").and_then(Value::as_str)
}

/// The `Environment` entries of one override entry (what the SDK
/// integration copies into its RunTask request).
#[cfg(feature = "sdk")]
pub(crate) fn override_environment(o: &Value) -> impl Iterator<Item = &Value> {
    o.get("Environment").and_then(Value::as_array).into_iter().flatten()
}

fn str_param<'a>(params: &'a Value, key: &str, default: &'a str) -> &'a str {
    params.get(key).and_then(Value::as_str).unwrap_or(default)
}

/// The ARNs a simulated task gets, from the RunTask parameters.
fn arns(params: &Value, region: &str, account: &str, task_id: &str) -> (String, String, String) {
    let cluster = str_param(params, "Cluster", "default");
    let cluster_arn = if cluster.starts_with("arn:") {
        cluster.to_string()
    } else {
        arn::ecs(region, account, &format!("cluster/{cluster}"))
    };
    let cluster_name = cluster_arn.rsplit('/').next().unwrap_or(cluster).to_string();
    let td = str_param(params, "TaskDefinition", "task-definition");
    let td_arn = if td.starts_with("arn:") {
        td.to_string()
    } else if td.contains(':') {
        arn::ecs(region, account, &format!("task-definition/{td}"))
    } else {
        arn::ecs(region, account, &format!("task-definition/{td}:1"))
    };
    let task_arn = arn::ecs(region, account, &format!("task/{cluster_name}/{task_id}"));
    (cluster_arn, td_arn, task_arn)
}

fn containers(params: &Value, task_arn: &str, status: &str, exit_code: Option<i64>) -> Value {
    let names: Vec<&str> = container_overrides(params).filter_map(override_name).collect();
    let names = if names.is_empty() { vec!["container"] } else { names };
    Value::Array(
        names
            .into_iter()
            .map(|n| {
                let mut c = json!({"Name": n, "TaskArn": task_arn, "LastStatus": status});
                if let Some(code) = exit_code {
                    c["ExitCode"] = json!(code);
                }
                c
            })
            .collect(),
    )
}

/// The RunTask response for a task that was just started.
pub(crate) fn run_task_response(
    params: &Value,
    region: &str,
    account: &str,
    task_id: &str,
) -> Value {
    let (cluster_arn, td_arn, task_arn) = arns(params, region, account, task_id);
    json!({
        "Failures": [],
        "Tasks": [{
            "ClusterArn": cluster_arn,
            "Containers": containers(params, &task_arn, "PENDING", None),
            "DesiredStatus": "RUNNING",
            "LastStatus": "PROVISIONING",
            "LaunchType": str_param(params, "LaunchType", "FARGATE"),
            "TaskArn": task_arn,
            "TaskDefinitionArn": td_arn,
        }]
    })
}

/// The DescribeTasks task object of a stopped task (`.sync`'s result, or
/// the cause of its `States.TaskFailed`).
pub(crate) fn stopped_task(
    params: &Value,
    region: &str,
    account: &str,
    task_id: &str,
    exit_code: i64,
) -> Value {
    let (cluster_arn, td_arn, task_arn) = arns(params, region, account, task_id);
    json!({
        "ClusterArn": cluster_arn,
        "Containers": containers(params, &task_arn, "STOPPED", Some(exit_code)),
        "DesiredStatus": "STOPPED",
        "LastStatus": "STOPPED",
        "LaunchType": str_param(params, "LaunchType", "FARGATE"),
        "StopCode": "EssentialContainerExited",
        "StoppedReason": "Essential container in task exited",
        "TaskArn": task_arn,
        "TaskDefinitionArn": td_arn,
    })
}
