//! Replay of real executions: the AWS-recorded histories in
//! `../shared/conformance` run again offline from their own task answers;
//! every case whose history the harness reproduces replays with no
//! divergence, and a changed definition diverges where it should.

use serde_json::{json, Value};
use sfn_harness::Harness;
use std::collections::BTreeSet;
use std::path::Path;

mod common;

const CASES: &str = "../shared/conformance/cases";
const KNOWN: &str = "fixtures/replay-known-divergences.txt";

fn cases() -> Option<Vec<Value>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES);
    if !dir.is_dir() {
        common::skip_unless_required(
            "SFN_HARNESS_REQUIRE_CONFORMANCE",
            &format!("no conformance cases at {} (clone beside shared/)", dir.display()),
        );
        return None;
    }
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    Some(
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect(),
    )
}

#[test]
fn recorded_executions_replay_without_divergence() {
    let Some(cases) = cases() else { return };
    let mut diverged = BTreeSet::new();
    let mut replayed = 0;
    for case in &cases {
        let Some(history) = case.get("history") else { continue };
        let name = case["name"].as_str().unwrap().to_string();
        let Ok(mut h) = Harness::from_definition(&case["definition"].to_string()) else {
            diverged.insert(name);
            continue;
        };
        // the S3 objects an ItemReader read are not in a history: the test provides them
        for (path, body) in case.get("s3_objects").and_then(Value::as_object).into_iter().flatten()
        {
            if let (Some((bucket, key)), Some(body)) = (path.split_once('/'), body.as_str()) {
                h = h.s3_object(bucket, key, body);
            }
        }
        // a few recordings lost event ids (`"[0]"`): not a history AWS returns
        let Ok(replay) = h.replaying(&json!({"events": history})) else {
            diverged.insert(name);
            continue;
        };
        let report = replay.run_blocking();
        replayed += 1;
        if let Some(d) = &report.divergence {
            if std::env::var("SFN_HARNESS_SHOW_REPLAY").as_deref() == Ok("1") {
                eprintln!("== {name}\n{}\n  {:?}\n  {:?}", d.index, d.expected, d.actual);
            }
            diverged.insert(name);
        }
    }
    let known: BTreeSet<String> =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(KNOWN))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('#').next().unwrap().trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
    eprintln!(
        "replay: {} of {replayed} recorded histories replay with no divergence",
        replayed - diverged.len()
    );
    if std::env::var("SFN_HARNESS_WRITE_KNOWN_FAILURES").as_deref() == Ok("1") {
        let body: String = diverged.iter().map(|n| format!("{n}\n")).collect();
        std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join(KNOWN), format!("# recorded histories the replay does not reproduce yet (regenerate with SFN_HARNESS_WRITE_KNOWN_FAILURES=1)\n{body}")).unwrap();
    }
    let regressions: Vec<_> = diverged.difference(&known).collect();
    assert!(
        regressions.is_empty(),
        "replays that diverge and are not in {KNOWN}: {regressions:#?}"
    );
}

/// The seed's history, as `aws stepfunctions get-execution-history` would
/// return it for a run with number 1 where the third attempt failed.
fn recorded_seed_failure() -> Value {
    let exec = Harness::from_file("fixtures/seed/state-machine.asl.json")
        .unwrap()
        .on_task("FargateTask", |c| {
            if c.invocation == 2 {
                sfn_harness::TaskReply::fail("Container task failed.", None)
            } else {
                sfn_sfn_worker(c)
            }
        })
        .run_blocking(json!({"input": {"number": 1}}));
    exec.assert_failed_with("Container task failed.");
    json!({"events": exec.history_json()})
}

fn sfn_sfn_worker(c: &sfn_harness::TaskCall) -> sfn_harness::TaskReply {
    sfn_harness::workers::seed_worker(c)
}

#[test]
fn a_production_failure_replays_as_a_test_in_one_line() {
    let history = recorded_seed_failure();
    let report = Harness::from_file("fixtures/seed/state-machine.asl.json")
        .unwrap()
        .replaying(&history)
        .unwrap()
        .run_blocking();
    report.assert_no_divergence();
    report.execution.assert_failed_with("Container task failed.");
    assert_eq!(report.execution.invocations("FargateTask"), 3);
    // pages of the CLI's output, joined
    let events = history["events"].as_array().unwrap();
    let pages = json!([{"events": events[..10]}, {"events": events[10..]}]);
    Harness::from_file("fixtures/seed/state-machine.asl.json")
        .unwrap()
        .replaying(&pages)
        .unwrap()
        .run_blocking()
        .assert_no_divergence();
}

#[test]
fn a_changed_definition_diverges_at_the_first_differing_event() {
    let history = recorded_seed_failure();
    // the loop now stops after two rounds instead of three
    let changed = std::fs::read_to_string("fixtures/seed/state-machine.asl.json")
        .unwrap()
        .replace("\"NumericGreaterThan\": 3", "\"NumericGreaterThan\": 2");
    let report =
        Harness::from_definition(&changed).unwrap().replaying(&history).unwrap().run_blocking();
    let d = report.divergence.as_ref().expect("the change must show");
    assert!(d.expected.as_deref().unwrap().starts_with("TaskStateEntered"), "{report}");
    assert!(d.actual.as_deref().unwrap().starts_with("SucceedStateEntered"), "{report}");
    assert!(
        d.diff.contains("-TaskStateEntered") && d.diff.contains("+SucceedStateEntered"),
        "{}",
        d.diff
    );
    let shown = report.to_string();
    assert!(
        shown.starts_with(&format!("the replay diverges at event #{}", d.index + 1)),
        "{shown}"
    );
}

#[test]
fn a_replay_of_the_pipeline_keeps_map_iterations_apart() {
    use sfn_harness::{TaskReply, Timeline};
    use std::time::Duration;
    let exec = Harness::from_file("fixtures/pipeline/pipeline.asl.json")
        .unwrap()
        .on_task("RunPartition", |c| match c.iteration.as_slice() {
            [1] if c.retry_count == 0 => TaskReply::fail("States.TaskFailed", Some("exit 1")),
            _ => TaskReply::ok(json!({"Overrides": {"ContainerOverrides": [{"Environment": [{"Value": c.iteration[0].to_string()}]}]}})),
        })
        .on_task("UpdateCatalog", |_| TaskReply::ok(json!({"Payload": 1})))
        .on_task("NotifyTeam", |_| TaskReply::ok(json!({"Payload": 2})))
        .on_task("AwaitApproval", |_| TaskReply::Callbacks(Timeline::new().succeed_at(Duration::from_secs(60), json!({"approved": true}))))
        .run_blocking(json!({"partitions": ["a", "b", "c"]}));
    exec.assert_succeeded();
    let report = Harness::from_file("fixtures/pipeline/pipeline.asl.json")
        .unwrap()
        .replaying(&json!({"events": exec.history_json()}))
        .unwrap()
        .run_blocking();
    report.assert_no_divergence();
    assert_eq!(report.execution.output(), exec.output());
}

#[test]
fn a_history_that_is_not_one_says_why() {
    let h = || Harness::from_file("fixtures/seed/state-machine.asl.json").unwrap();
    let e = h().replaying(&json!("nope")).unwrap_err();
    assert!(e.to_string().contains("GetExecutionHistory"), "{e}");
    let e = h().replaying(&json!({"events": [{"id": 1}]})).unwrap_err();
    assert_eq!(e.location, "/events/0");
    let e = h().replaying(&json!({"events": [{"id": 2, "type": "TaskStateEntered"}]})).unwrap_err();
    assert!(e.message.contains("ExecutionStarted"), "{e}");
}

#[test]
#[ignore]
fn show_one() {
    let name = std::env::var("CASE").unwrap();
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES).join(format!("{name}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let h = Harness::from_definition(&case["definition"].to_string()).unwrap();
    let r = h.replaying(&json!({"events": case["history"]})).unwrap().run_blocking();
    eprintln!("{r}");
}
