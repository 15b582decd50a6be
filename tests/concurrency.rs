//! Parallel branches and Map iterations run concurrently in virtual time,
//! as on AWS: waits and backoffs overlap, MaxConcurrency holds, a failure
//! aborts the running siblings, and seeded interleavings explore the orders
//! of simultaneous events.

use serde_json::json;
use sfn_harness::{Execution, Harness, TaskReply};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

fn map_of_flaky_tasks(max_concurrency: u64) -> String {
    format!(
        r#"{{"StartAt": "Each", "States": {{"Each": {{
            "Type": "Map", "MaxConcurrency": {max_concurrency},
            "ItemProcessor": {{"StartAt": "Work", "States": {{"Work": {{
                "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Retry": [{{"ErrorEquals": ["Flaky"], "IntervalSeconds": 5, "MaxAttempts": 1}}], "End": true}}}}}},
            "End": true}}}}}}"#
    )
}

fn elapsed_s(exec: &Execution) -> f64 {
    (exec.stop_ms() - exec.start_ms()) as f64 / 1000.0
}

fn flaky(c: &sfn_harness::TaskCall) -> TaskReply {
    if c.retry_count == 0 {
        TaskReply::fail("Flaky", None)
    } else {
        TaskReply::ok(json!("done"))
    }
}

#[test]
fn retry_backoffs_of_concurrent_iterations_overlap() {
    // two iterations that each fail once and back off 5 s: done after 5 s
    // when they run side by side, 10 s when MaxConcurrency is 1
    for (limit, seconds) in [(0, 5.0), (2, 5.0), (1, 10.0)] {
        let exec = Harness::from_definition(&map_of_flaky_tasks(limit))
            .unwrap()
            .on_task("Work", flaky)
            .run_blocking(json!(["a", "b"]));
        exec.assert_succeeded();
        assert_eq!(elapsed_s(&exec), seconds, "MaxConcurrency {limit}");
        assert_eq!(exec.invocations("Work"), 4);
    }
}

const WAITS: &str = r#"{"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "MaxConcurrencyPath": "$.limit", "ItemsPath": "$.waits",
    "ItemProcessor": {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "SecondsPath": "$", "End": true}}},
    "End": true}}}"#;

fn succeeded_order(exec: &Execution) -> Vec<u64> {
    exec.history_json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "MapIterationSucceeded")
        .map(|e| e["mapIterationSucceededEventDetails"]["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn iterations_end_in_virtual_time_order_and_max_concurrency_path_holds() {
    let h = Harness::from_definition(WAITS).unwrap();
    let exec = h.run_blocking(json!({"limit": 0, "waits": [30, 10, 20]}));
    exec.assert_succeeded();
    assert_eq!(elapsed_s(&exec), 30.0);
    assert_eq!(succeeded_order(&exec), vec![1, 2, 0]);
    assert_eq!(exec.output(), &json!([30, 10, 20]), "results keep the items' order");

    // ten waits of 1 s, three at a time: four rounds
    let exec = h.run_blocking(json!({"limit": 3, "waits": vec![1; 10]}));
    assert_eq!(elapsed_s(&exec), 4.0);
    // one at a time: each item after the one before
    let exec = h.run_blocking(json!({"limit": 1, "waits": [30, 10, 20]}));
    assert_eq!(elapsed_s(&exec), 60.0);
    assert_eq!(succeeded_order(&exec), vec![0, 1, 2]);
}

#[test]
fn a_two_hour_map_runs_at_once() {
    let started = std::time::Instant::now();
    let exec = Harness::from_definition(WAITS)
        .unwrap()
        .run_blocking(json!({"limit": 0, "waits": vec![7200; 40]}));
    exec.assert_succeeded();
    assert_eq!(elapsed_s(&exec), 7200.0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "virtual time costs no real time"
    );
}

#[test]
fn an_inline_map_runs_at_most_40_iterations_at_once() {
    // AWS's quota for inline Maps, whatever MaxConcurrency says
    for limit in [0, 100] {
        let exec = Harness::from_definition(WAITS)
            .unwrap()
            .run_blocking(json!({"limit": limit, "waits": vec![10; 41]}));
        assert_eq!(elapsed_s(&exec), 20.0, "MaxConcurrency {limit}");
    }
}

const RACING_BRANCHES: &str = r#"{"StartAt": "Both", "States": {"Both": {
    "Type": "Parallel", "End": true,
    "Branches": [
      {"StartAt": "Slow", "States": {
        "Slow": {"Type": "Wait", "Seconds": 10, "Next": "AfterSlow"},
        "AfterSlow": {"Type": "Pass", "End": true}}},
      {"StartAt": "Fails", "States": {
        "Fails": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
    ]}}}"#;

#[test]
fn a_failing_branch_aborts_its_running_siblings() {
    let exec = Harness::from_definition(RACING_BRANCHES)
        .unwrap()
        .on_task("Fails", |_| TaskReply::fail("Boom", Some("at once")))
        .run_blocking(json!({}));
    exec.assert_failed_with("Boom");
    assert_eq!(elapsed_s(&exec), 0.0, "the failure does not wait for the sibling's Wait");
    let types = exec.event_types();
    assert!(types.contains(&"WaitStateAborted".to_string()), "{types:?}");
    assert!(
        !types.contains(&"PassStateEntered".to_string()),
        "the aborted branch goes no further: {types:?}"
    );
    let failed_at = types.iter().position(|t| t == "TaskFailed").unwrap();
    let aborted_at = types.iter().position(|t| t == "WaitStateAborted").unwrap();
    let parallel_failed = types.iter().position(|t| t == "ParallelStateFailed").unwrap();
    assert!(failed_at < aborted_at && aborted_at < parallel_failed, "{types:?}");
}

#[test]
fn a_failing_iteration_aborts_the_running_ones() {
    let def = r#"{"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "Nap", "States": {
          "Nap": {"Type": "Wait", "SecondsPath": "$", "Next": "Check"},
          "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Bad"}], "Default": "Good"},
          "Bad": {"Type": "Fail", "Error": "BadItem"},
          "Good": {"Type": "Succeed"}}},
        "End": true}}}"#;
    let exec = Harness::from_definition(def).unwrap().run_blocking(json!([5, 1, 9]));
    exec.assert_failed_with("BadItem");
    assert_eq!(elapsed_s(&exec), 1.0);
    let h = exec.history_json();
    let aborted: Vec<u64> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "MapIterationAborted")
        .map(|e| e["mapIterationAbortedEventDetails"]["index"].as_u64().unwrap())
        .collect();
    assert_eq!(aborted, vec![0, 2]);
    assert_eq!(exec.event_types().iter().filter(|t| *t == "WaitStateAborted").count(), 2);
}

/// Two branches each read a shared value through one task and write it back
/// plus one through another: a lost update whenever both read first.
const LOST_UPDATE: &str = r#"{"StartAt": "Both", "States": {"Both": {
    "Type": "Parallel", "End": true,
    "Branches": [
      {"StartAt": "ReadA", "States": {
        "ReadA": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "WriteA"},
        "WriteA": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
      {"StartAt": "ReadB", "States": {
        "ReadB": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "WriteB"},
        "WriteB": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
    ]}}}"#;

fn counter_harness(counter: &Arc<AtomicI64>) -> Harness {
    let read = |c: &Arc<AtomicI64>| {
        let c = c.clone();
        move |_: &sfn_harness::TaskCall| TaskReply::ok(json!(c.load(Ordering::SeqCst)))
    };
    let write = |c: &Arc<AtomicI64>| {
        let c = c.clone();
        move |call: &sfn_harness::TaskCall| {
            let v = call.parameters.as_i64().unwrap() + 1;
            c.store(v, Ordering::SeqCst);
            TaskReply::ok(json!(v))
        }
    };
    Harness::from_definition(LOST_UPDATE)
        .unwrap()
        .on_task("ReadA", read(counter))
        .on_task("ReadB", read(counter))
        .on_task("WriteA", write(counter))
        .on_task("WriteB", write(counter))
}

#[test]
fn exploration_finds_a_lost_update_that_the_natural_order_misses() {
    let counter = Arc::new(AtomicI64::new(0));
    let h = counter_harness(&counter);
    let check = |exec: &Execution| {
        let total = counter.swap(0, Ordering::SeqCst);
        assert!(exec.succeeded());
        assert_eq!(total, 2, "both increments must land");
    };
    // the natural order runs one branch, then the other: no race
    check(&h.run_blocking(json!(null)));
    let found = h.explore(json!(null), 50, check).unwrap_err();
    assert_ne!(found.interleaving, 0);
    assert!(found.message.contains("both increments must land"), "{}", found.message);
    let shown = found.to_string();
    assert!(shown.contains(&format!("Harness::interleaving({})", found.interleaving)), "{shown}");
    assert!(shown.contains("ReadB"), "the trace is shown: {shown}");

    // the seed replays the same order, event for event
    let again = h.clone().interleaving(found.interleaving).run_blocking(json!(null));
    assert_eq!(again.history_json(), found.execution.history_json());
    assert_eq!(counter.swap(0, Ordering::SeqCst), 1);
}

#[test]
fn exploration_passes_a_scenario_without_races_and_seeds_vary_the_order() {
    let h = Harness::from_definition(LOST_UPDATE)
        .unwrap()
        .on_task("ReadA", |_| TaskReply::ok(json!(0)))
        .on_task("ReadB", |_| TaskReply::ok(json!(0)));
    let h = h
        .on_task("WriteA", |c| TaskReply::ok(c.parameters.as_ref().clone()))
        .on_task("WriteB", |c| TaskReply::ok(c.parameters.as_ref().clone()));
    h.explore(json!(null), 30, |exec| assert_eq!(exec.output(), &json!([0, 0]))).unwrap();
    let orders: std::collections::BTreeSet<Vec<String>> = (0..30)
        .map(|seed| {
            let exec = h.clone().interleaving(seed).run_blocking(json!(null));
            exec.history_json()
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "TaskStateEntered")
                .map(|e| e["stateEnteredEventDetails"]["name"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert!(orders.len() > 2, "seeds explore several orders: {orders:?}");
}

#[test]
fn the_same_interleaving_gives_the_same_history_and_ids() {
    let h = Harness::from_definition(&map_of_flaky_tasks(0))
        .unwrap()
        .on_task("Work", flaky)
        .interleaving(7);
    let a = h.run_blocking(json!(["a", "b", "c"]));
    let b = h.run_blocking(json!(["a", "b", "c"]));
    assert_eq!(a.history_json(), b.history_json());
}

#[cfg(feature = "proptest")]
proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
    /// Whatever the order, the results keep the items' order and every
    /// attempt is in the history.
    #[test]
    fn every_interleaving_keeps_results_in_item_order(seed in sfn_harness::strategies::interleavings(), n in 1usize..6) {
        use serde_json::Value;
        let items: Vec<Value> = (0..n).map(|i| json!(i)).collect();
        let exec = Harness::from_definition(&map_of_flaky_tasks(2)).unwrap()
            .on_task("Work", |c| if c.retry_count == 0 { TaskReply::fail("Flaky", None) } else { TaskReply::ok(c.parameters.as_ref().clone()) })
            .interleaving(seed)
            .run_blocking(Value::Array(items.clone()));
        proptest::prop_assert!(exec.succeeded());
        proptest::prop_assert_eq!(exec.output(), &Value::Array(items));
        proptest::prop_assert_eq!(exec.invocations("Work"), 2 * n);
    }
}

/// A per-item failure schedule holds whatever order the items run in:
/// item 3 fails twice and succeeds on its third attempt, under every
/// interleaving.
#[test]
fn a_per_item_schedule_does_not_depend_on_the_interleaving() {
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}], "End": true}}}}}}"#;
    let boom = || sfn_harness::Scheduled::Fail("Boom".into());
    let schedule =
        sfn_harness::Schedule::per_item().item(3, sfn_harness::Schedule(vec![boom(), boom()]));
    let h = Harness::from_definition(def).unwrap().on_task(
        "Work",
        schedule.handler(|c| sfn_harness::TaskReply::ok(serde_json::json!(c.iteration[0]))),
    );
    h.explore(serde_json::json!([0, 1, 2, 3, 4]), 30, |exec| {
        exec.assert_succeeded();
        assert_eq!(exec.output(), &serde_json::json!([0, 1, 2, 3, 4]));
        let retries: Vec<u32> = exec
            .state("Work")
            .attempts
            .iter()
            .filter(|a| a.within.map_index == Some(3))
            .map(|a| a.retry)
            .collect();
        assert_eq!(retries, [0, 1, 2]);
        assert_eq!(exec.invocations("Work"), 7);
    })
    .unwrap();
}
