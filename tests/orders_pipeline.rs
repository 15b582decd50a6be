//! The orders pipeline (`fixtures/orders-sam/`), tested as its team would:
//! a SAM template in JSONata; a distributed Map reads an S3 CSV in batches
//! of two, a Fargate `.sync` task per batch (retried on ECS API errors),
//! results written to S3; then in parallel a `.sync:2` child machine and an
//! SQS approval callback with heartbeats. The suite covers every state,
//! Choice branch, retrier and catcher, and its snapshot shows each batch's
//! ECS container overrides.

use serde_json::{json, Value};
use sfn_harness::{
    assert_execution_snapshot, Execution, Harness, Status, TaskCall, TaskReply, Timeline,
};
use std::collections::BTreeMap;
use std::time::Duration;

const TEMPLATE: &str = "fixtures/orders-sam/template.yaml";
const ORDERS: &str = "id,sku,qty\n1,apple,3\n2,pear,1\n3,plum,7\n4,fig,2\n5,kiwi,4\n";

fn subs() -> BTreeMap<String, String> {
    BTreeMap::from([("SubnetId".to_string(), "subnet-0a1b2c".to_string())])
}

fn enrich() -> Harness {
    Harness::from_file_with(&format!("{TEMPLATE}#EnrichStateMachine"), &subs()).unwrap()
}

/// The pipeline with its orders file, its child machine, and batches that
/// each run their ECS task as `batch` says.
fn pipeline(batch: impl Fn(&TaskCall) -> TaskReply + Send + Sync + 'static) -> Harness {
    Harness::from_file_with(&format!("{TEMPLATE}#OrdersPipeline"), &subs())
        .unwrap()
        .s3_object("ordersbucket", "orders.csv", ORDERS)
        .with_child(enrich())
        .on_task("ProcessBatch", batch)
}

/// A Fargate task that ran to STOPPED with exit code 0.
fn stopped(_: &TaskCall) -> TaskReply {
    TaskReply::ok(
        json!({"LastStatus": "STOPPED", "Containers": [{"Name": "batch-worker", "ExitCode": 0}]}),
    )
}

/// The approver: heartbeats every 30 minutes while looking, answers after two hours.
fn approver(answer: Value) -> impl Fn(&TaskCall) -> TaskReply + Send + Sync {
    move |_| {
        TaskReply::Callbacks(
            Timeline::new()
                .heartbeats_every(Duration::from_secs(1800), Duration::from_secs(7200))
                .succeed_at(Duration::from_secs(7200), answer.clone()),
        )
    }
}

fn input() -> Value {
    json!({"key": "orders.csv", "runId": "run-42"})
}

fn happy() -> Execution {
    pipeline(stopped)
        .on_task("RequestApproval", approver(json!({"approved": true})))
        .run_blocking(input())
}

#[test]
fn a_template_parameter_without_default_must_be_given() {
    let err = Harness::from_file(&format!("{TEMPLATE}#OrdersPipeline")).unwrap_err().to_string();
    assert!(err.contains("SubnetId"), "{err}");
}

#[test]
fn five_orders_run_as_three_batches_each_a_child_execution() {
    let exec = happy();
    exec.assert_succeeded();
    let run = exec.map_run("ProcessOrders").unwrap();
    assert_eq!(run.executions().len(), 3);
    assert_eq!(run.count(Status::Succeeded), 3);
    let batch = exec.state("ProcessBatch");
    assert_eq!(batch.attempts.len(), 3);
    let orders: Vec<Value> = batch
        .attempts
        .iter()
        .map(|a| {
            let env = &a.parameters["Overrides"]["ContainerOverrides"][0]["Environment"];
            assert_eq!(env[1], json!({"Name": "RUN_ID", "Value": "run-42"}));
            serde_json::from_str(env[0]["Value"].as_str().unwrap()).unwrap()
        })
        .collect();
    assert_eq!(
        orders[0],
        json!([{"id": "1", "sku": "apple", "qty": "3"}, {"id": "2", "sku": "pear", "qty": "1"}])
    );
    assert_eq!(orders[2], json!([{"id": "5", "sku": "kiwi", "qty": "4"}]));
    assert_eq!(
        batch.attempts[0].parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"],
        json!(["subnet-0a1b2c"])
    );
    // the third batch's child execution, on its own
    let third = run.execution(2).unwrap();
    assert_eq!(third.output(), &json!({"orders": 1}));
    // the manifest the ResultWriter wrote, and where the Map's output points
    let manifest = exec.output()["enriched"]["manifest"].as_str().unwrap().to_string();
    assert!(manifest.starts_with("orders/"), "{manifest}");
    let written: Value =
        serde_json::from_str(&exec.written()[&format!("resultsbucket/{manifest}")]).unwrap();
    assert_eq!(written["ResultFiles"]["SUCCEEDED"].as_array().unwrap().len(), 1);
    // the child machine ran with the manifest
    let child = exec.child("EnrichOrders").unwrap();
    assert_eq!(child.output(), &json!({"enriched": true, "manifest": manifest}));
    // two hours of approval, heartbeating, in no real time
    assert_eq!(exec.elapsed().as_secs(), 7200);
    assert_eq!(exec.output()["approval"]["approved"], true);
    assert_execution_snapshot!("orders_happy_path", exec);
}

#[test]
fn an_ecs_api_error_is_retried_for_that_batch_only() {
    let exec = pipeline(|c| match (c.iteration.as_slice(), c.retry_count) {
        ([1], 0) => TaskReply::fail("ECS.AmazonECSException", Some("Rate exceeded (Service: AmazonECS; Status Code: 400; Error Code: ThrottlingException)")),
        _ => stopped(c),
    })
    .on_task("RequestApproval", approver(json!({"approved": true})))
    .run_blocking(input());
    exec.assert_succeeded();
    exec.assert_attempts("ProcessBatch", 4);
    let second = exec.map_run("ProcessOrders").unwrap().execution(1).unwrap();
    second.assert_attempts("ProcessBatch", 2);
    assert_eq!(second.elapsed().as_secs(), 5, "the retrier's IntervalSeconds");
}

#[test]
fn a_batch_that_keeps_failing_fails_the_run_and_the_pipeline() {
    let exec = pipeline(|c| match c.iteration.as_slice() {
        [0] => TaskReply::fail("States.TaskFailed", Some("Essential container in task exited")),
        _ => stopped(c),
    })
    .run_blocking(input());
    exec.assert_failed_with("OrdersFailed");
    assert_eq!(exec.cause(), Some("States.TaskFailed"));
    let run = exec.map_run("ProcessOrders").unwrap();
    assert_eq!(run.status(), Status::Failed);
    let first = run.execution(0).unwrap();
    first.assert_failed_with("States.TaskFailed");
    assert_eq!(first.cause(), Some("Essential container in task exited"));
}

#[test]
fn a_rejection_ends_in_rejected() {
    let exec = pipeline(stopped)
        .on_task("RequestApproval", approver(json!({"approved": false})))
        .run_blocking(input());
    exec.assert_failed_with("OrdersRejected");
    exec.assert_path(&[
        "ProcessOrders",
        "FinishUp",
        "EnrichOrders",
        "RequestApproval",
        "Approved?",
        "Rejected",
    ]);
}

#[test]
fn an_approver_who_goes_silent_times_out_at_the_heartbeat() {
    let exec = pipeline(stopped)
        .on_task("RequestApproval", |_| {
            TaskReply::Callbacks(Timeline::new().heartbeat_at(Duration::from_secs(1800)))
        })
        .run_blocking(input());
    // recorded as States.Timeout; the catcher's States.HeartbeatTimeout matches it
    exec.assert_failed_with("OrdersFailed");
    assert_eq!(exec.cause(), Some("States.Timeout"));
    assert_eq!(exec.elapsed().as_secs(), 1800 + 3600);
}

#[test]
fn the_suite_covers_every_state_branch_retrier_and_catcher() {
    let retried = pipeline(|c| match (c.iteration.as_slice(), c.retry_count) {
        ([1], 0) => TaskReply::fail("ECS.AmazonECSException", None),
        _ => stopped(c),
    })
    .on_task("RequestApproval", approver(json!({"approved": true})))
    .run_blocking(input());
    let failed = pipeline(|_| TaskReply::fail("States.TaskFailed", None)).run_blocking(input());
    let rejected = pipeline(stopped)
        .on_task("RequestApproval", approver(json!({"approved": false})))
        .run_blocking(input());
    let silent = pipeline(stopped)
        .on_task("RequestApproval", |_| TaskReply::Callbacks(Timeline::new()))
        .run_blocking(input());
    let runs = [happy(), retried, failed, rejected, silent];
    let h = Harness::from_file_with(&format!("{TEMPLATE}#OrdersPipeline"), &subs()).unwrap();
    let c = h.coverage(&runs);
    assert!(c.uncovered.is_empty(), "not covered: {:?}\n{c}", c.uncovered);
    assert_eq!((c.states.covered, c.states.total), (9, 9), "{c}");
    assert_eq!((c.branches.covered, c.branches.total), (2, 2), "{c}");
    assert_eq!((c.retriers.covered, c.catchers.covered), (1, 2), "{c}");
    // the child machine's coverage, from the same runs
    let child = enrich().coverage(&runs);
    assert!(child.uncovered.is_empty(), "{child}");
}
