//! Every execution a pipeline starts is observable: a distributed Map's
//! child executions and a `states:startExecution` child are executions of
//! their own (ARN, name, history, status), reachable from the parent, and
//! the per-state views, coverage and the snapshot see inside them.

use serde_json::{json, Value};
use sfn_harness::{Harness, Status, TaskReply, Timeline};
use std::time::Duration;

/// A distributed Map over the input's items: each item a child execution
/// running a Task (retried once on `Flaky`) then a Pass.
const DISTRIBUTED: &str = r#"{"StartAt": "ProcessOrders", "States": {"ProcessOrders": {"Type": "Map",
    "Label": "orders", "ToleratedFailureCount": 5,
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
      "StartAt": "ProcessBatch", "States": {
        "ProcessBatch": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
          "Parameters": {"Cluster": "c", "TaskDefinition": "t",
            "Overrides": {"ContainerOverrides": [{"Name": "w", "Environment": [{"Name": "ORDER", "Value.$": "States.JsonToString($)"}]}]}},
          "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "MaxAttempts": 1}],
          "ResultSelector": {"n.$": "$.n"}, "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}},
    "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "runs"}},
    "End": true}}}"#;

/// Item `n` answers `{"n": n*10}`; item 1 fails once with Flaky, item 2 always with Broken.
fn orders() -> Harness {
    Harness::from_definition(DISTRIBUTED).unwrap().on_task("ProcessBatch", |c| {
        let env = &c.parameters["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"];
        let n: i64 = env.as_str().and_then(|s| s.parse().ok()).unwrap();
        match (n, c.retry_count) {
            (1, 0) => TaskReply::fail("Flaky", Some("try again")),
            (2, _) => TaskReply::fail("Broken", Some("order 2 is broken")),
            _ => TaskReply::ok(json!({"n": n * 10})),
        }
    })
}

#[test]
fn a_distributed_maps_items_are_child_executions_with_histories_of_their_own() {
    let exec = orders().run_blocking(json!([0, 1, 2, 3]));
    exec.assert_succeeded();
    let run = exec.map_run("ProcessOrders").expect("the map run");
    assert!(run.map_run_arn().contains(":mapRun:StateMachine/orders:"), "{}", run.map_run_arn());
    assert_eq!(run.executions().len(), 4);
    assert_eq!(run.status(), Status::Succeeded);
    assert_eq!((run.count(Status::Succeeded), run.count(Status::Failed)), (3, 1));
    for (i, child) in run.executions().iter().enumerate() {
        assert_eq!(child.map_index(), Some(i));
        assert!(
            child.execution_arn().contains(":execution:StateMachine/orders:"),
            "{}",
            child.execution_arn()
        );
        assert!(child.execution_arn().ends_with(child.name()));
        assert_eq!(child.input(), &json!(i));
        let types = child.event_types();
        assert_eq!(types.first().map(String::as_str), Some("ExecutionStarted"), "{types:?}");
    }
    let second = run.execution(1).unwrap();
    second.assert_succeeded();
    assert_eq!(second.output(), &json!({"n": 10}));
    assert_eq!(second.invocations("ProcessBatch"), 2);
    second.assert_attempts("ProcessBatch", 2);
    assert_eq!(second.elapsed().as_secs(), 3, "the retry's interval, on the child's own clock");
    let third = run.execution(2).unwrap();
    third.assert_failed_with("Broken");
    assert_eq!(third.cause(), Some("order 2 is broken"));
    assert_eq!(third.event_types().last().map(String::as_str), Some("ExecutionFailed"));
    // the parent's history records the run, not the children's events
    assert!(!exec.event_types().iter().any(|t| t == "TaskScheduled"));
}

#[test]
fn per_state_views_count_visits_inside_the_children_tagged_with_the_child() {
    let exec = orders().run_blocking(json!([0, 1, 2, 3]));
    let batch = exec.state("ProcessBatch");
    assert_eq!(batch.visits.len(), 4);
    assert_eq!(batch.attempts.len(), 5, "four items, item 1 retried once");
    exec.assert_attempts("ProcessBatch", 5);
    assert_eq!(exec.invocations("ProcessBatch"), 5);
    let run = exec.map_run("ProcessOrders").unwrap();
    let retried: Vec<_> = batch.attempts.iter().filter(|a| a.retry == 1).collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].within.map_index, Some(1));
    assert_eq!(
        retried[0].within.execution.as_deref(),
        Some(run.execution(1).unwrap().execution_arn())
    );
    assert_eq!(retried[0].started.as_secs(), 3);
    // the overrides each ECS task was started with are there to assert on
    let orders: Vec<&Value> = batch
        .attempts
        .iter()
        .map(|a| &a.parameters["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"])
        .collect();
    assert!(orders.contains(&&json!("3")), "{orders:?}");
    assert_eq!(exec.state("Done").visits.len(), 3);
    assert!(exec.output_of("Done").is_some());
}

#[test]
fn the_result_writer_writes_failed_children_into_the_failed_file() {
    let exec = orders().run_blocking(json!([0, 1, 2, 3]));
    let written = exec.written();
    let manifest_key = written.keys().find(|k| k.ends_with("manifest.json")).expect("a manifest");
    let manifest: Value = serde_json::from_str(&written[manifest_key]).unwrap();
    let file = |status: &str| -> Vec<Value> {
        let files = manifest["ResultFiles"][status].as_array().unwrap();
        files
            .iter()
            .flat_map(|f| {
                let body = &written[&format!("out/{}", f["Key"].as_str().unwrap())];
                assert_eq!(f["Size"], body.len());
                serde_json::from_str::<Vec<Value>>(body).unwrap()
            })
            .collect()
    };
    let (succeeded, failed, pending) = (file("SUCCEEDED"), file("FAILED"), file("PENDING"));
    assert_eq!((succeeded.len(), failed.len(), pending.len()), (3, 1, 0));
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Error"], "Broken");
    assert_eq!(failed[0]["Input"], "2");
    assert_eq!(
        failed[0]["ExecutionArn"],
        exec.map_run("ProcessOrders").unwrap().execution(2).unwrap().execution_arn()
    );
    assert_eq!(succeeded[1]["Output"], r#"{"n":10}"#);
    assert!(manifest_key.starts_with("out/runs/"), "{manifest_key}");
}

#[test]
fn children_still_running_when_the_run_fails_are_aborted() {
    // no tolerance: item 0 fails at 1 s while item 1 still waits
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
          "StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "F"},
            "F": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}], "Default": "Ok"},
            "Boom": {"Type": "Fail", "Error": "Boom"}, "Ok": {"Type": "Succeed"}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}},
        "End": true}}}"#;
    let exec = Harness::from_definition(def)
        .unwrap()
        .run_blocking(json!([{"wait": 1, "fail": true}, {"wait": 100, "fail": false}]));
    exec.assert_failed_with("Boom");
    let run = exec.map_run("M").unwrap();
    assert_eq!(run.status(), Status::Failed);
    assert_eq!(run.execution(0).unwrap().status(), Status::Failed);
    let aborted = run.execution(1).unwrap();
    assert_eq!(aborted.status(), Status::Aborted);
    assert_eq!(aborted.event_types().last().map(String::as_str), Some("ExecutionAborted"));
    // results are written for a failed run too
    let manifest = exec.written().iter().find(|(k, _)| k.ends_with("manifest.json")).unwrap().1;
    let manifest: Value = serde_json::from_str(manifest).unwrap();
    assert_eq!(manifest["ResultFiles"]["FAILED"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["ResultFiles"]["SUCCEEDED"], json!([]));
}

#[test]
fn coverage_counts_the_states_branches_and_retriers_inside_the_children() {
    let h = orders();
    let exec = h.run_blocking(json!([0, 1, 3]));
    let c = h.coverage([&exec]);
    assert_eq!((c.states.covered, c.states.total), (3, 3), "{c}");
    assert_eq!((c.retriers.covered, c.retriers.total), (1, 1), "{c}");
}

#[test]
fn the_snapshot_lists_each_child_execution_after_the_parent() {
    let exec = orders().run_blocking(json!([0, 3]));
    let snap = exec.snapshot();
    let parent_end = snap.find("ExecutionSucceeded").unwrap();
    let first = snap.find("=== ProcessOrders[0]: map run child ").expect(&snap);
    let second = snap.find("=== ProcessOrders[1]: map run child ").expect(&snap);
    assert!(parent_end < first && first < second, "{snap}");
    assert!(
        snap[second..].contains("EcsTaskSubmitted") || snap[second..].contains("TaskScheduled")
    );
    assert!(
        snap[second..].contains(r#""Value": "3""#) || snap[second..].contains(r#""Value":"3""#),
        "{snap}"
    );
}

const CHILD: &str = r#"{"StartAt": "Enrich", "States": {"Enrich": {"Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke", "OutputPath": "$.Payload", "End": true}}}"#;

const PARENT: &str = r#"{"StartAt": "EnrichOrders", "States": {"EnrichOrders": {"Type": "Task",
    "Resource": "arn:aws:states:::states:startExecution.sync:2",
    "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Enricher", "Input.$": "$"},
    "OutputPath": "$.Output", "End": true}}}"#;

fn enricher() -> Harness {
    Harness::from_definition(CHILD)
        .unwrap()
        .state_machine_name("Enricher")
        .on_task("Enrich", |c| TaskReply::ok(json!({"Payload": {"enriched": *c.parameters}})))
}

#[test]
fn a_child_machines_execution_is_reachable_from_the_parent() {
    let exec = Harness::from_definition(PARENT)
        .unwrap()
        .with_child(enricher())
        .run_blocking(json!({"id": 7}));
    exec.assert_succeeded();
    let child = exec.child("EnrichOrders").expect("the child execution");
    child.assert_succeeded();
    assert!(child.state_machine_arn().ends_with(":stateMachine:Enricher"));
    assert_eq!(child.input(), &json!({"id": 7}));
    assert_eq!(child.event_types().first().map(String::as_str), Some("ExecutionStarted"));
    // the parent's views see the child's states, tagged with the child
    let enrich = exec.state("Enrich");
    assert_eq!(enrich.attempts.len(), 1);
    assert_eq!(enrich.attempts[0].within.execution.as_deref(), Some(child.execution_arn()));
    assert_eq!(exec.invocations("Enrich"), 1);
    assert_eq!(exec.output_of("Enrich"), Some(json!({"enriched": {"id": 7}})));
    let snap = exec.snapshot();
    assert!(
        snap.contains(&format!("=== EnrichOrders: child execution {}", child.name())),
        "{snap}"
    );
    // the child machine's coverage, from the parent's executions
    let c = enricher().coverage([&exec]);
    assert_eq!((c.states.covered, c.states.total), (1, 1), "{c}");
}

/// A callback task answered by a scripted timeline: heartbeats, then success.
const CALLBACK: &str = r#"{"StartAt": "Approve", "States": {"Approve": {"Type": "Task",
    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "HeartbeatSeconds": 600,
    "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}"#;

#[test]
fn clones_of_a_prepared_harness_run_in_parallel_threads_independently() {
    let prepared = Harness::from_definition(CALLBACK).unwrap().on_task("Approve", |_| {
        TaskReply::Callbacks(
            Timeline::new()
                .heartbeat_at(Duration::from_secs(300))
                .heartbeat_at(Duration::from_secs(600))
                .succeed_at(Duration::from_secs(900), json!({"approved": true})),
        )
    });
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let h = prepared.clone();
            std::thread::spawn(move || {
                let exec = h.run_blocking(json!({}));
                (exec, h.tokens().calls().heartbeat)
            })
        })
        .collect();
    let mut histories = Vec::new();
    for r in runs {
        let (exec, heartbeats) = r.join().unwrap();
        exec.assert_succeeded();
        assert_eq!(exec.elapsed().as_secs(), 900);
        assert_eq!(heartbeats, 2, "each clone counts its own calls");
        histories.push(exec.history_json());
    }
    assert!(histories.windows(2).all(|w| w[0] == w[1]), "the same seed, the same history");
    assert_eq!(prepared.tokens().calls().heartbeat, 0, "the prepared harness ran nothing");
}

#[test]
fn clones_have_child_registries_of_their_own() {
    let prepared = Harness::from_definition(PARENT).unwrap().with_child(enricher());
    let a = prepared.clone();
    let b = prepared.clone();
    let t = std::thread::spawn(move || {
        a.run_blocking(json!({"id": 1})).assert_succeeded();
        a.child_executions().len()
    });
    b.run_blocking(json!({"id": 2})).assert_succeeded();
    b.run_blocking(json!({"id": 3})).assert_succeeded();
    assert_eq!(t.join().unwrap(), 1);
    assert_eq!(b.child_executions().len(), 2);
    assert!(prepared.child_executions().is_empty());
}
