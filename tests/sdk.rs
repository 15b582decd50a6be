//! The seed pipeline through real AWS SDK clients: `aws_sdk_ecs::Client`
//! mocked with aws-smithy-mocks, workers calling back through an
//! `aws_sdk_sfn::Client`.

use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::types::{Container, Failure, Task, TaskStopCode};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::{json, Value};
use sfn_harness::container_env_var;
use sfn_harness::sdk::EcsIntegration;
use sfn_harness::workers::seed_worker_sdk;
use sfn_harness::{Harness, Status};
use std::sync::{Arc, Mutex};

mod common;
use common::seed_with;

const SYNC: &str = "fixtures/seed/state-machine.asl.json";
const WFT: &str = "fixtures/seed/state-machine.wait-for-token.asl.json";
const TASK_ARN: &str = "arn:aws:ecs:ap-northeast-1:111111111111:task/cluster/0123456789abcdef";

fn started_task() -> Task {
    task_with_status("PROVISIONING")
}

fn task_with_status(status: &str) -> Task {
    Task::builder()
        .task_arn(TASK_ARN)
        .cluster_arn("arn:aws:ecs:ap-northeast-1:111111111111:cluster/cluster")
        .last_status(status)
        .containers(Container::builder().name("python-container").last_status("PENDING").build())
        .build()
}

fn stopped_task(exit: i32) -> Task {
    Task::builder()
        .task_arn(TASK_ARN)
        .cluster_arn("arn:aws:ecs:ap-northeast-1:111111111111:cluster/cluster")
        .last_status("STOPPED")
        .stop_code(TaskStopCode::EssentialContainerExited)
        .containers(
            Container::builder()
                .name("python-container")
                .last_status("STOPPED")
                .exit_code(exit)
                .build(),
        )
        .build()
}

/// An ECS client whose RunTask always starts a task (nothing else is mocked).
fn ecs_that_starts_tasks() -> aws_sdk_ecs::Client {
    let run = mock!(aws_sdk_ecs::Client::run_task)
        .then_output(|| RunTaskOutput::builder().tasks(started_task()).build());
    mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&run])
}

/// A RunTask rule that records the INPUT and TOKEN overrides it was sent.
fn recording_run_task(sent: Arc<Mutex<Vec<(String, String)>>>) -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_ecs::Client::run_task).then_compute_output(move |req| {
        let env = req.overrides().unwrap().container_overrides()[0].environment();
        let get = |k: &str| {
            env.iter()
                .find(|e| e.name() == Some(k))
                .and_then(|e| e.value())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(req.task_definition(), Some("StepFunctionsStackTaskDef673C3DEC"));
        assert_eq!(req.launch_type().map(|l| l.as_str()), Some("FARGATE"));
        sent.lock().unwrap().push((get("INPUT"), get("TOKEN")));
        RunTaskOutput::builder().tasks(started_task()).build()
    })
}

#[tokio::test]
async fn the_seed_loop_through_mocked_ecs_sends_four_run_tasks_with_inputs_0_to_3() {
    for def in [WFT, SYNC] {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let run = recording_run_task(sent.clone());
        let describe = mock!(aws_sdk_ecs::Client::describe_tasks)
            .then_output(|| DescribeTasksOutput::builder().tasks(stopped_task(0)).build());
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&run, &describe]);
        let harness = Harness::from_file(def).unwrap().on_ecs_task(
            "FargateTask",
            EcsIntegration::new(ecs).worker("python-container", seed_worker_sdk),
        );
        let exec = harness.run(json!({"input": {"number": 0}})).await;
        exec.assert_succeeded();
        assert_eq!(run.num_calls(), 4, "{def}");
        let inputs: Vec<String> = sent.lock().unwrap().iter().map(|(i, _)| i.clone()).collect();
        assert_eq!(
            inputs,
            [r#"{"number":0}"#, r#"{"number":1}"#, r#"{"number":2}"#, r#"{"number":3}"#]
        );
        // every token was a fresh one, and answering it again is refused as on AWS
        let tokens: std::collections::BTreeSet<_> =
            sent.lock().unwrap().iter().map(|(_, t)| t.clone()).collect();
        assert_eq!(tokens.len(), 4);
        let again = harness
            .sfn_client()
            .send_task_success()
            .task_token(tokens.first().unwrap())
            .output("{}")
            .send()
            .await;
        assert_eq!(again.unwrap_err().into_service_error().meta().code(), Some("TaskDoesNotExist"));
        assert_eq!(exec.output()["input"]["number"], 4);
        // TaskSubmitted carries the RunTask response
        let submitted: Vec<Value> = exec
            .history_json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "TaskSubmitted")
            .cloned()
            .collect();
        let out: Value = serde_json::from_str(
            submitted[0]["taskSubmittedEventDetails"]["output"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(out["Tasks"][0]["TaskArn"], TASK_ARN);
        // the callback came first, so .sync never needed to wait for DescribeTasks' answer
        assert_eq!(exec.stop_ms() - exec.start_ms(), 40_000);
    }
}

#[tokio::test]
async fn the_failure_path_sends_send_task_failure_and_fails_the_execution() {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let run = recording_run_task(sent);
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&run]);
    let harness = Harness::from_file(WFT).unwrap();
    // the worker's client is mocked too: its SendTaskFailure is counted and
    // forwarded to the harness's token registry
    let tokens = harness.tokens().clone();
    let failure = mock!(aws_sdk_sfn::Client::send_task_failure).then_compute_output(move |req| {
        tokens
            .send_failure(
                req.task_token().unwrap(),
                req.error().map(str::to_string),
                req.cause().map(str::to_string),
            )
            .unwrap();
        aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput::builder().build()
    });
    let success = mock!(aws_sdk_sfn::Client::send_task_success).then_output(|| {
        aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput::builder().build()
    });
    let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&failure, &success]);
    let harness = harness.on_ecs_task(
        "FargateTask",
        EcsIntegration::new(ecs).worker("python-container", seed_worker_sdk).sfn_client(sfn),
    );
    let exec = harness.run(json!({"input": {"number": -1}})).await;
    exec.assert_failed_with("Container task failed.");
    assert_eq!(failure.num_calls(), 1);
    assert_eq!(success.num_calls(), 0);
    assert_eq!(run.num_calls(), 1);
    let types = exec.event_types();
    assert_eq!(&types[types.len() - 2..], ["TaskFailed", "ExecutionFailed"]);
}

#[tokio::test]
async fn sync_without_callback_returns_the_stopped_task_or_task_failed() {
    // exit 0: the task object (no input.number) flows on, and the Choice
    // fails with States.Runtime, as it would on AWS; exit 1: States.TaskFailed
    for (exit, want) in [(0, "States.Runtime"), (1, "States.TaskFailed")] {
        let run = mock!(aws_sdk_ecs::Client::run_task)
            .then_output(|| RunTaskOutput::builder().tasks(started_task()).build());
        let describe = mock!(aws_sdk_ecs::Client::describe_tasks)
            .sequence()
            .output(|| DescribeTasksOutput::builder().tasks(task_with_status("RUNNING")).build())
            .times(2)
            .output(move || DescribeTasksOutput::builder().tasks(stopped_task(exit)).build())
            .build();
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&run, &describe]);
        let exec = Harness::from_file(SYNC)
            .unwrap()
            .on_ecs_task("FargateTask", EcsIntegration::new(ecs))
            .start_at("FargateTask")
            .unwrap()
            .run(json!({"input": {"number": 0}}))
            .await;
        assert_eq!(describe.num_calls(), 3);
        exec.assert_failed_with(want);
        let stopped = exec
            .history_json()
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "TaskSucceeded" || e["type"] == "TaskFailed")
            .cloned()
            .unwrap();
        let task: Value = if exit == 0 {
            serde_json::from_str(stopped["taskSucceededEventDetails"]["output"].as_str().unwrap())
                .unwrap()
        } else {
            assert_eq!(stopped["taskFailedEventDetails"]["error"], "States.TaskFailed");
            serde_json::from_str(stopped["taskFailedEventDetails"]["cause"].as_str().unwrap())
                .unwrap()
        };
        assert_eq!(task["Containers"][0]["ExitCode"], exit);
        assert_eq!(task["LastStatus"], "STOPPED");
        // two RUNNING polls of 6 s of virtual time each, then the 10 s Wait
        let waited = if exit == 0 { 22_000 } else { 12_000 };
        assert_eq!(exec.stop_ms() - exec.start_ms(), waited);
    }
}

#[tokio::test]
async fn run_task_failures_give_amazon_ecs_unknown() {
    let run = mock!(aws_sdk_ecs::Client::run_task).then_output(|| {
        RunTaskOutput::builder()
            .failures(Failure::builder().arn("arn:x").reason("RESOURCE:MEMORY").build())
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, [&run]);
    let exec = Harness::from_file(SYNC)
        .unwrap()
        .on_ecs_task("FargateTask", EcsIntegration::new(ecs))
        .run(json!({"input": {"number": 0}}))
        .await;
    exec.assert_failed_with("AmazonECS.Unknown");
    let cause: Value = serde_json::from_str(exec.cause().unwrap()).unwrap();
    assert_eq!(cause, json!([{"Arn": "arn:x", "Reason": "RESOURCE:MEMORY"}]));
    // request-response returns the response as it is (documented)
    let run = mock!(aws_sdk_ecs::Client::run_task).then_output(|| {
        RunTaskOutput::builder()
            .failures(Failure::builder().arn("arn:x").reason("RESOURCE:MEMORY").build())
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, [&run]);
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "Parameters": {"TaskDefinition": "td"}, "End": true}}});
    let exec = Harness::from_definition(&def.to_string())
        .unwrap()
        .on_ecs_task("T", EcsIntegration::new(ecs))
        .run(json!({}))
        .await;
    exec.assert_succeeded();
    assert_eq!(exec.output()["Failures"][0]["Reason"], "RESOURCE:MEMORY");
}

#[tokio::test]
async fn a_worker_that_exits_without_calling_back_is_diagnosed_at_once() {
    let exec = Harness::from_file(WFT)
        .unwrap()
        .on_ecs_task(
            "FargateTask",
            EcsIntegration::new(ecs_that_starts_tasks())
                .worker("python-container", seed_worker_sdk),
        )
        .start_at("FargateTask")
        .unwrap()
        .run(json!({"input": {}}))
        .await;
    assert_eq!(exec.status(), Status::Running);
    let why = exec.stalled().unwrap();
    assert!(
        why.contains("exited with code 1")
            && why.contains("KeyError: 'number'")
            && why.contains("365 days"),
        "{why}"
    );
}

#[tokio::test]
async fn callbacks_from_rust_code_resolve_tokens_and_heartbeats_extend_the_wait() {
    let harness = seed_with(WFT, |task| {
        task["HeartbeatSeconds"] = json!(2);
        task["TimeoutSeconds"] = json!(30);
    })
    .on_ecs_task("FargateTask", EcsIntegration::new(ecs_that_starts_tasks()))
    .start_at("FargateTask")
    .unwrap();
    let client = harness.sfn_client();
    let tokens = harness.tokens().clone();
    let answering = tokio::spawn(async move {
        // find the open token, beat four times (longer than one heartbeat in all), then succeed
        let token = loop {
            if let Some(t) = tokens.open_tokens().into_iter().next() {
                break t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        for _ in 0..4 {
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            client.send_task_heartbeat().task_token(&token).send().await.unwrap();
        }
        client
            .send_task_success()
            .task_token(&token)
            .output(r#"{"input":{"number":9}}"#)
            .send()
            .await
            .unwrap();
        let bad = client.send_task_success().task_token("not-a-token").output("{}").send().await;
        bad.unwrap_err().into_service_error().meta().code().map(str::to_string)
    });
    let exec = harness.run(json!({"input": {"number": 0}})).await;
    exec.assert_succeeded();
    assert_eq!(exec.output()["input"]["number"], 9);
    assert_eq!(answering.await.unwrap().as_deref(), Some("InvalidToken"));
}

#[tokio::test]
async fn a_callback_after_the_timeout_gets_task_timed_out() {
    let harness = seed_with(WFT, |task| task["TimeoutSeconds"] = json!(1))
        .on_ecs_task("FargateTask", EcsIntegration::new(ecs_that_starts_tasks()));
    let exec = harness.run(json!({"input": {"number": 0}})).await;
    exec.assert_failed_with("States.Timeout");
    let token =
        container_env_var(exec.scheduled_parameters()[0], Some("python-container"), "TOKEN")
            .unwrap()
            .to_string();
    let late = harness.sfn_client().send_task_success().task_token(token).output("{}").send().await;
    assert_eq!(late.unwrap_err().into_service_error().meta().code(), Some("TaskTimedOut"));
    let bad =
        harness.sfn_client().send_task_success().task_token("x").output("not json").send().await;
    assert_eq!(bad.unwrap_err().into_service_error().meta().code(), Some("InvalidOutput"));
}

#[tokio::test]
async fn a_missed_heartbeat_times_the_task_out() {
    let exec = seed_with(WFT, |task| task["HeartbeatSeconds"] = json!(1))
        .on_ecs_task("FargateTask", EcsIntegration::new(ecs_that_starts_tasks()))
        .run(json!({"input": {"number": 0}}))
        .await;
    exec.assert_failed_with("States.Timeout");
    assert_eq!(exec.event_types().iter().rev().nth(1).map(String::as_str), Some("TaskTimedOut"));
}

#[tokio::test]
async fn a_run_task_api_error_fails_as_aws_reports_it() {
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;
    for pattern in ["runTask", "runTask.sync"] {
        let run = mock!(aws_sdk_ecs::Client::run_task).then_http_response(|| {
            let mut r = HttpResponse::new(
                400.try_into().unwrap(),
                SdkBody::from(
                    r#"{"__type": "ClusterNotFoundException", "message": "Cluster not found."}"#,
                ),
            );
            r.headers_mut().insert("x-amzn-requestid", "5f2c-request");
            r
        });
        let ecs = mock_client!(aws_sdk_ecs, [&run]);
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": format!("arn:aws:states:::ecs:{pattern}"), "Parameters": {"TaskDefinition": "td", "Cluster": "gone"}, "End": true}}});
        let exec = Harness::from_definition(&def.to_string())
            .unwrap()
            .on_ecs_task("T", EcsIntegration::new(ecs))
            .run(json!({}))
            .await;
        exec.assert_failed_with("ECS.AmazonECSException");
        assert_eq!(
            exec.cause(),
            Some("Cluster not found. (Service: AmazonECS; Status Code: 400; Error Code: ClusterNotFoundException; Request ID: 5f2c-request; Proxy: null)"),
            "{pattern}"
        );
        // no task was submitted
        let types = exec.event_types();
        assert!(!types.iter().any(|t| t == "TaskSubmitted"), "{types:?}");
        assert_eq!(types[types.len() - 2..], ["TaskFailed", "ExecutionFailed"]);
    }
}
