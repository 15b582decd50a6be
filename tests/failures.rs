//! Failures are typed: a failure of the pipeline (caught by Retry and Catch
//! as AWS catches it) and a fault of the test (an `Integration`'s `Err`,
//! never absorbed by the definition) are told apart by type, not by an
//! error-name prefix; an execution ends in one `Outcome`.

use serde_json::json;
use sfn_harness::{
    Answer, BoxFuture, FaultKind, Harness, HarnessFault, Integration, Outcome, Status, TaskCall,
    TaskReply,
};
use std::sync::Arc;

/// A Task whose every error is caught into `Caught`.
const CATCH_ALL: &str = r#"{
  "StartAt": "Work",
  "States": {
    "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}],
             "End": true},
    "Caught": {"Type": "Pass", "End": true}
  }
}"#;

/// An integration that cannot answer: the test is missing something.
struct Broken;

impl Integration for Broken {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        let fault = HarnessFault::new(
            FaultKind::MockExhausted,
            format!("nothing left for '{}'", call.state_name),
        );
        Box::pin(std::future::ready(Err(fault)))
    }

    fn uses_callbacks(&self) -> bool {
        false
    }
}

#[test]
fn a_fault_of_the_test_is_not_caught_by_the_definition() {
    let exec = Harness::from_definition(CATCH_ALL)
        .unwrap()
        .with_integration("Work", Arc::new(Broken))
        .run_blocking(json!({}));
    assert_eq!(exec.status(), Status::Failed);
    assert_eq!(exec.error(), Some("Harness.MockExhausted"));
    assert_eq!(exec.cause(), Some("nothing left for 'Work'"));
    let fault = exec.fault().expect("a fault");
    assert_eq!(fault.kind, FaultKind::MockExhausted);
    assert!(matches!(exec.outcome(), Outcome::Faulted(_)));
    // recorded as the task's failure, then the execution's
    let types = exec.event_types();
    assert_eq!(types[types.len() - 2], "TaskFailed");
    assert_eq!(types.last().unwrap(), "ExecutionFailed");
    assert!(!types.iter().any(|t| t == "PassStateEntered"));
}

#[test]
fn an_error_named_like_the_harness_is_still_the_pipelines_own() {
    // a worker that reports "Harness.Whatever" is not a fault of the test
    let exec = Harness::from_definition(CATCH_ALL)
        .unwrap()
        .on_task("Work", |_| TaskReply::fail("Harness.Whatever", Some("from the worker")))
        .run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.output()["caught"]["Error"], "Harness.Whatever");
    assert!(exec.fault().is_none());
}

#[test]
fn a_failure_without_an_error_name_records_none() {
    let exec = Harness::from_definition(
        r#"{"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}"#,
    )
    .unwrap()
    .on_task("Work", |_| TaskReply::Fail { error: None, cause: Some("no name".into()) })
    .run_blocking(json!({}));
    assert_eq!(exec.status(), Status::Failed);
    assert_eq!(exec.error(), None);
    assert_eq!(exec.cause(), Some("no name"));
    let events = exec.history_json();
    let failed =
        events.as_array().unwrap().iter().find(|e| e["type"] == "ExecutionFailed").unwrap();
    assert_eq!(failed["executionFailedEventDetails"], json!({"cause": "no name"}));
    match exec.outcome() {
        Outcome::Failed(f) => assert_eq!(f.error, None),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn a_missed_heartbeat_is_a_timeout_that_heartbeat_retriers_match() {
    let def = r#"{
      "StartAt": "Work",
      "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                 "End": true}
      }
    }"#;
    let exec = Harness::from_definition(def)
        .unwrap()
        .on_task("Work", |c| {
            if c.retry_count == 0 {
                TaskReply::HeartbeatTimedOut
            } else {
                TaskReply::ok(json!("done"))
            }
        })
        .run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.invocations("Work"), 2);
    assert!(exec.event_types().iter().any(|t| t == "TaskTimedOut"));
    // a plain timeout is not matched by States.HeartbeatTimeout
    let exec = Harness::from_definition(def)
        .unwrap()
        .on_task("Work", |_| TaskReply::TimedOut)
        .run_blocking(json!({}));
    assert_eq!(exec.error(), Some("States.Timeout"));
    assert_eq!(exec.invocations("Work"), 1);
}

#[test]
fn an_execution_serializes_as_run_json_prints_it() {
    let exec = Harness::from_definition(CATCH_ALL)
        .unwrap()
        .on_task("Work", |_| TaskReply::ok(json!({"ok": true})))
        .run_blocking(json!({"n": 1}));
    let v = serde_json::to_value(&exec).unwrap();
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"], json!({"ok": true}));
    assert_eq!(v["executionArn"], exec.execution_arn());
    assert_eq!(v["history"], exec.history_json());
    assert!(v.get("stalled").is_none());
    assert_eq!(exec.to_json(), v);
}
