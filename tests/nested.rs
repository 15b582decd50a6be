//! Every state is first-class at any depth: handlers, mock configs,
//! invocation counts and `start_at` reach states inside Maps and Parallels;
//! the harness's own problems are never absorbed by the definition.

use serde_json::{json, Value};
use sfn_harness::{Harness, MockConfig, TaskReply};

/// A Pass, then a Parallel whose second branch holds a Map of Tasks.
const PIPELINE: &str = r#"{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Next": "Fan"},
    "Fan": {
      "Type": "Parallel",
      "Branches": [
        {"StartAt": "Notify", "States": {"Notify": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        {"StartAt": "Each", "States": {"Each": {
          "Type": "Map", "ItemsPath": "$.items",
          "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                     "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}], "End": true}}},
          "End": true}}}
      ],
      "End": true
    }
  }
}"#;

fn input() -> Value {
    json!({"items": [1, 2, 3]})
}

#[test]
fn nested_tasks_are_answered_and_counted_by_their_own_names() {
    let h = Harness::from_definition(PIPELINE)
        .unwrap()
        .on_task("Notify", |_| TaskReply::ok(json!("sent")))
        .on_task("Work", |c| {
            // the first attempt of every item fails once, then succeeds
            if c.retry_count == 0 {
                TaskReply::fail("Flaky", None)
            } else {
                TaskReply::ok(json!(c.parameters.as_ref().clone()))
            }
        });
    let exec = h.run_blocking(input());
    exec.assert_succeeded();
    assert_eq!(exec.invocations("Notify"), 1);
    assert_eq!(exec.invocations("Work"), 6, "three items, each tried twice");
    assert_eq!(exec.invocations("Prepare"), 0);
    assert_eq!(exec.invocations("Fan"), 0);
    assert_eq!(exec.output(), &json!(["sent", [1, 2, 3]]));
    let scheduled = exec.event_types().iter().filter(|t| *t == "TaskScheduled").count();
    assert_eq!(scheduled, 7);
}

#[test]
fn invocation_numbers_are_per_state() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let log2 = seen.clone();
    let h = Harness::from_definition(PIPELINE)
        .unwrap()
        .on_task("Notify", move |c| {
            log.lock().unwrap().push(("Notify", c.invocation));
            TaskReply::ok(json!(null))
        })
        .on_task("Work", move |c| {
            log2.lock().unwrap().push(("Work", c.invocation));
            TaskReply::ok(json!(null))
        });
    h.run_blocking(input()).assert_succeeded();
    let mut got = seen.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, vec![("Notify", 0), ("Work", 0), ("Work", 1), ("Work", 2)]);
}

#[test]
fn a_mock_config_can_name_nested_states() {
    let cfg = MockConfig::from_str(
        r#"{"StateMachines": {"StateMachine": {"TestCases": {"Happy": {"Notify": "Sent", "Work": "Done"}}}},
            "MockedResponses": {"Sent": {"0": {"Return": "sent"}}, "Done": {"0-2": {"Return": {"ok": true}}}}}"#,
    )
    .unwrap();
    let exec = Harness::from_definition(PIPELINE).unwrap().mock_config(&cfg, None, "Happy").unwrap().run_blocking(input());
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!(["sent", [{"ok": true}, {"ok": true}, {"ok": true}]]));
    assert_eq!(exec.invocations("Work"), 3);
}

#[test]
fn start_at_reaches_a_nested_state() {
    let exec = Harness::from_definition(PIPELINE)
        .unwrap()
        .on_task("Work", |c| TaskReply::ok(json!({"got": c.parameters.as_ref().clone()})))
        .start_at("Work")
        .unwrap()
        .run_blocking(json!(7));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!({"got": 7}));
    assert!(Harness::from_definition(PIPELINE).unwrap().start_at("Nope").is_err());
}

const CAUGHT: &str = r#"{
  "StartAt": "T",
  "States": {
    "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Absorbed"}], "End": true},
    "Absorbed": {"Type": "Succeed"}
  }
}"#;

#[test]
fn a_missing_handler_is_not_caught_by_the_definition() {
    let exec = Harness::from_definition(CAUGHT).unwrap().run_blocking(json!({}));
    exec.assert_failed_with("Harness.NoIntegration");
    assert_eq!(exec.invocations("T"), 1, "not retried");
    assert!(exec.cause.as_deref().unwrap().contains("'T'"), "{:?}", exec.cause);
    assert!(exec.cause.as_deref().unwrap().contains("on_task"), "{:?}", exec.cause);
}

#[test]
fn a_shadowed_mock_fails_the_run_whichever_came_first() {
    let cfg = MockConfig::from_str(
        r#"{"StateMachines": {"StateMachine": {"TestCases": {"Happy": {"T": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
    )
    .unwrap();
    let handler_first = Harness::from_definition(CAUGHT).unwrap().on_task("T", |_| TaskReply::ok(json!(2))).mock_config(&cfg, None, "Happy").unwrap();
    let mock_first = Harness::from_definition(CAUGHT).unwrap().mock_config(&cfg, None, "Happy").unwrap().on_task("T", |_| TaskReply::ok(json!(2)));
    for h in [handler_first, mock_first] {
        let exec = h.run_blocking(json!({}));
        exec.assert_failed_with("Harness.ShadowedMock");
        assert!(exec.cause.as_deref().unwrap().contains("'T'"));
    }
}

#[test]
fn a_mock_alone_still_answers() {
    let cfg = MockConfig::from_str(
        r#"{"StateMachines": {"StateMachine": {"TestCases": {"Happy": {"T": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
    )
    .unwrap();
    let exec = Harness::from_definition(CAUGHT).unwrap().mock_config(&cfg, None, "Happy").unwrap().run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!(1));
}
