//! Redrive: a failed, timed-out or aborted execution goes on from the state
//! that did not succeed, in the same history, as RedriveExecution does.

use serde_json::{json, Value};
use sfn_harness::workers::seed_worker;
use sfn_harness::{Harness, TaskCall, TaskReply};

mod common;

const SEED: &str = "fixtures/seed/state-machine.asl.json";

fn number(call: &TaskCall) -> i64 {
    let env = sfn_harness::container_environment(&call.parameters, Some("python-container"));
    let input: Value = serde_json::from_str(&env["INPUT"]).unwrap();
    input["number"].as_i64().unwrap()
}

#[test]
fn a_failed_seed_loop_goes_on_from_the_task_that_failed() {
    // the worker dies on number 2
    let broken = Harness::from_file(SEED).unwrap().on_task("FargateTask", |call| {
        if number(call) == 2 {
            TaskReply::fail("WorkerCrashed", Some("out of memory"))
        } else {
            seed_worker(call)
        }
    });
    let failed = broken.run_blocking(json!({"input": {"number": 0}}));
    failed.assert_failed_with("WorkerCrashed");
    assert_eq!(failed.invocations("FargateTask"), 3);

    let fixed = Harness::from_file(SEED).unwrap().on_task("FargateTask", seed_worker);
    let redriven = failed.redrive(&fixed).unwrap();
    redriven.assert_succeeded();
    assert_eq!(redriven.output()["input"]["number"], 4);
    assert_eq!(redriven.redrive_count(), 1);
    assert_eq!(redriven.execution_arn(), failed.execution_arn(), "the same execution");
    assert_eq!(redriven.invocations("FargateTask"), 5, "counts go on: 3 before, 2 after");
    // the history goes on: the first attempt's events, ExecutionRedriven, the task again
    let before = common::ids(&failed);
    let after = common::ids(&redriven);
    assert_eq!(after[..before.len()], before[..]);
    let (ty, id, prev) = &after[before.len()];
    assert_eq!(
        (ty.as_str(), *id, *prev),
        ("ExecutionRedriven", before.len() as u64 + 1, before.len() as u64)
    );
    assert_eq!(after[before.len() + 1].0, "TaskStateEntered");
    assert_eq!(after[before.len() + 1].2, *id);
    assert_eq!(
        after.iter().map(|e| e.1).collect::<Vec<_>>(),
        (1..=after.len() as u64).collect::<Vec<_>>()
    );
    let redriven_event = &redriven.history_json()[before.len()];
    assert_eq!(redriven_event["executionRedrivenEventDetails"], json!({"redriveCount": 1}));
    // the task was given the input it was given before it failed
    let task = redriven.state("FargateTask");
    let last_two: Vec<Value> = task.attempts[3..]
        .iter()
        .map(|a| {
            a.parameters["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"].clone()
        })
        .collect();
    assert_eq!(last_two, [json!(r#"{"number":2}"#), json!(r#"{"number":3}"#)]);
    // virtual time goes on from where it stopped
    assert!(redriven.stop_ms() > failed.stop_ms());
    assert_eq!(redriven.start_ms(), failed.start_ms());
}

#[test]
fn an_execution_that_succeeded_or_runs_cannot_be_redriven() {
    let h = Harness::from_file(SEED).unwrap().on_task("FargateTask", seed_worker);
    let done = h.run_blocking(json!({"input": {"number": 5}}));
    let e = done.redrive(&h).unwrap_err();
    assert!(e.to_string().starts_with("Execution is SUCCEEDED and cannot be redriven"), "{e}");
}

#[test]
fn variables_assigned_before_the_failure_are_there_after_a_redrive() {
    let def = r#"{"QueryLanguage": "JSONata", "StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"batch": 7}, "Next": "Load"},
        "Load": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Arguments": {"batch": "{% $batch %}"}, "Output": "{% $states.result %}", "End": true}}}"#;
    let failing =
        Harness::from_definition(def).unwrap().on_task("Load", |_| TaskReply::fail("Down", None));
    let failed = failing.run_blocking(json!({}));
    failed.assert_failed_with("Down");
    let fixed = Harness::from_definition(def)
        .unwrap()
        .on_task("Load", |c| TaskReply::ok(c.parameters.as_ref().clone()));
    let redriven = fixed.redrive_blocking(&failed).unwrap();
    redriven.assert_succeeded();
    assert_eq!(redriven.output(), &json!({"batch": 7}));
    // and a second redrive of a second failure counts on
    let again = failing.redrive_blocking(&failed).unwrap();
    again.assert_failed_with("Down");
    let twice = again.redrive(&fixed).unwrap();
    assert_eq!(twice.redrive_count(), 2);
    assert_eq!(twice.event_types().iter().filter(|t| *t == "ExecutionRedriven").count(), 2);
}

#[test]
fn a_timed_out_execution_is_redriven_with_its_timeout_counted_again() {
    let def = r#"{"TimeoutSeconds": 30, "StartAt": "W1", "States": {
        "W1": {"Type": "Wait", "Seconds": 20, "Next": "W2"},
        "W2": {"Type": "Wait", "Seconds": 20, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}"#;
    let h = Harness::from_definition(def).unwrap();
    let timed_out = h.run_blocking(json!({}));
    assert_eq!(timed_out.status().as_str(), "TIMED_OUT");
    assert_eq!(timed_out.elapsed().as_secs(), 30);
    // W2 again, on a timeout counted from the redrive: 20 s of 30
    let redriven = h.redrive_blocking(&timed_out).unwrap();
    redriven.assert_succeeded();
    assert_eq!(redriven.event_types().iter().filter(|t| *t == "WaitStateEntered").count(), 3);
    assert_eq!(redriven.elapsed().as_secs(), 50);
}
