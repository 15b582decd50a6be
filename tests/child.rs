//! Nested executions: the seed pipeline run as a child of another state
//! machine through `states:startExecution`, on one virtual clock.

use serde_json::{json, Value};
use sfn_harness::workers::seed_worker;
use sfn_harness::Harness;

fn parent(resource: &str) -> String {
    format!(
        r#"{{"StartAt": "RunSeed", "States": {{"RunSeed": {{"Type": "Task", "Resource": "{resource}",
            "Parameters": {{"StateMachineArn": "arn:aws:states:ap-northeast-1:111111111111:stateMachine:state-machine",
                            "Input": {{"input.$": "$.input"}}, "Name": "seed-child"}},
            "End": true}}}}}}"#
    )
}

fn seed_child() -> Harness {
    // named after its file: state-machine
    Harness::from_file("fixtures/seed/state-machine.asl.json")
        .unwrap()
        .on_task("FargateTask", seed_worker)
}

#[test]
fn a_parent_runs_the_seed_as_a_child_with_sync_2_and_sees_its_output() {
    let h = Harness::from_definition(&parent("arn:aws:states:::states:startExecution.sync:2"))
        .unwrap()
        .with_child(seed_child());
    let exec = h.run_blocking(json!({"input": {"number": 0}}));
    exec.assert_succeeded();
    let out = exec.output();
    assert_eq!(out["Status"], "SUCCEEDED");
    assert_eq!(out["Output"]["input"]["number"], 4, "the child's output, as JSON");
    assert_eq!(out["Input"], json!({"input": {"number": 0}}));
    assert_eq!(out["Name"], "seed-child");
    assert!(
        out["ExecutionArn"].as_str().unwrap().ends_with(":execution:state-machine:seed-child"),
        "{out}"
    );
    // the child's 40 virtual seconds pass on the parent's clock
    assert_eq!(exec.elapsed().as_secs(), 40);
    // recorded as AWS records it: the pattern's version belongs to the resource
    let history = exec.history_json();
    let scheduled =
        &history.as_array().unwrap().iter().find(|e| e["type"] == "TaskScheduled").unwrap()
            ["taskScheduledEventDetails"];
    assert_eq!(
        (&scheduled["resourceType"], &scheduled["resource"]),
        (&json!("states"), &json!("startExecution.sync:2"))
    );
    let children = h.child_executions();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].invocations("FargateTask"), 4);
    assert_eq!(children[0].start_ms(), exec.start_ms());
}

#[test]
fn sync_gives_json_text_and_a_failed_child_fails_the_task() {
    let h = Harness::from_definition(&parent("arn:aws:states:::states:startExecution.sync"))
        .unwrap()
        .with_child(seed_child());
    let exec = h.run_blocking(json!({"input": {"number": 2}}));
    exec.assert_succeeded();
    let output: Value = serde_json::from_str(exec.output()["Output"].as_str().unwrap()).unwrap();
    assert_eq!(output["input"]["number"], 4);

    let exec = h.run_blocking(json!({"input": {"number": -1}}));
    exec.assert_failed_with("States.TaskFailed");
    let cause: Value = serde_json::from_str(exec.cause().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Container task failed.");
}

#[test]
fn request_response_goes_on_once_the_child_started() {
    let h = Harness::from_definition(&parent("arn:aws:states:::states:startExecution"))
        .unwrap()
        .with_child(seed_child());
    let exec = h.run_blocking(json!({"input": {"number": 0}}));
    exec.assert_succeeded();
    assert!(exec.output()["ExecutionArn"].is_string());
    assert_eq!(exec.elapsed().as_secs(), 0);
}

#[test]
fn a_child_nobody_registered_is_a_harness_error() {
    let exec = Harness::from_definition(&parent("arn:aws:states:::states:startExecution.sync:2"))
        .unwrap()
        .with_child(
            Harness::from_definition(
                r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
            )
            .unwrap()
            .state_machine_name("Other"),
        )
        .run_blocking(json!({"input": {}}));
    exec.assert_failed_with("Harness.NoIntegration");
    assert!(exec.cause().unwrap().contains("with_child"), "{:?}", exec.cause());
}
