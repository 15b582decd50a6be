//! A distributed Map's runs on `serve`, as on AWS: ListMapRuns and
//! DescribeMapRun, ListExecutions with `mapRunArn`, and each child
//! execution's DescribeExecution and GetExecutionHistory.

use serde_json::Value;

mod common;

/// Item `fail: true` fails its child execution; one failure is tolerated.
const MACHINE: &str = r#"{"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "Label": "fan",
    "ToleratedFailureCount": 1,
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
      "StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}], "Default": "Ok"},
        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "item failed"},
        "Ok": {"Type": "Pass", "End": true}}},
    "End": true}}}"#;

use common::{error_code as code, serve_default as start};

#[tokio::test]
async fn map_runs_and_their_child_executions_are_served_as_on_aws() {
    let (_srv, client) = start().await;
    let sm = client
        .create_state_machine()
        .name("fan-out")
        .definition(MACHINE)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let exec = client
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"[{"fail": false}, {"fail": true}, {"fail": false}]"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(common::wait_done(&client, &exec).await.status.as_str(), "SUCCEEDED");

    let runs = client.list_map_runs().execution_arn(&exec).send().await.unwrap().map_runs;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert!(run.map_run_arn.contains(":mapRun:fan-out/fan:"), "{}", run.map_run_arn);
    assert!(
        run.state_machine_arn.ends_with(":stateMachine:fan-out/fan"),
        "{}",
        run.state_machine_arn
    );

    let d = client.describe_map_run().map_run_arn(&run.map_run_arn).send().await.unwrap();
    assert_eq!(d.status.as_str(), "SUCCEEDED");
    assert_eq!(d.execution_arn, exec);
    let counts = d.execution_counts.unwrap();
    assert_eq!((counts.total, counts.succeeded, counts.failed), (3, 2, 1));

    let children =
        client.list_executions().map_run_arn(&run.map_run_arn).send().await.unwrap().executions;
    assert_eq!(children.len(), 3);
    let failed: Vec<_> = children.iter().filter(|c| c.status.as_str() == "FAILED").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].map_run_arn.as_deref(), Some(run.map_run_arn.as_str()));

    let child =
        client.describe_execution().execution_arn(&failed[0].execution_arn).send().await.unwrap();
    assert_eq!(child.error.as_deref(), Some("Boom"));
    assert_eq!(child.cause.as_deref(), Some("item failed"));
    let input: Value = serde_json::from_str(child.input.as_deref().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"fail": true}));
    let history = client
        .get_execution_history()
        .execution_arn(&failed[0].execution_arn)
        .send()
        .await
        .unwrap()
        .events;
    let types: Vec<&str> = history.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "FailStateEntered",
            "ExecutionFailed"
        ]
    );

    // the parent machine's executions do not list the children
    let listed = client.list_executions().state_machine_arn(&sm).send().await.unwrap().executions;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn unknown_map_runs_and_bad_list_requests_get_awss_errors() {
    let (_srv, client) = start().await;
    let e = client
        .describe_map_run()
        .map_run_arn("arn:aws:states:us-east-1:123456789012:mapRun:nope/x:y")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e), "ResourceNotFound");
    let e = client.list_executions().send().await.unwrap_err();
    assert_eq!(code(e), "ValidationException");
    let e = client
        .list_map_runs()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:nope:x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e), "ExecutionDoesNotExist");
}
