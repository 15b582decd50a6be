//! The `sfn-harness` binary: run, validate, exit codes.

use serde_json::Value;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-harness")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_with_a_mock_config_prints_a_trace_and_succeeds() {
    let o = cli(&[
        "run", "fixtures/seed/state-machine.asl.json", "--input", r#"{"input":{"number":0}}"#,
        "--mock-config", "fixtures/seed/mock-config.json", "--test-case", "HappyPath",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert_eq!(out.lines().filter(|l| l.contains("TaskScheduled")).count(), 4);
    assert!(out.lines().last().unwrap().starts_with("=> SUCCEEDED"), "{out}");
}

#[test]
fn run_json_has_status_output_error_cause_history() {
    let o = cli(&["run", "fixtures/seed/state-machine.wait-for-token.asl.json", "--input", r#"{"input":{"number":-1}}"#, "--seed-worker", "FargateTask", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "Container task failed.");
    assert_eq!(v["cause"], Value::Null);
    let types: Vec<&str> = v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(&types[types.len() - 2..], ["TaskFailed", "ExecutionFailed"]);
}

#[test]
fn bad_usage_and_invalid_definitions_exit_2() {
    let o = cli(&["run", "fixtures/invalid.asl.json", "--input", "{}"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("MISSING_TRANSITION_TARGET"));
    let o = cli(&["run", "fixtures/seed/state-machine.asl.json", "--input", "{not json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = cli(&["run", "fixtures/nope.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read fixtures/nope.json"));
    let o = cli(&["run", "fixtures/seed/state-machine.asl.json", "--mock-config", "fixtures/seed/mock-config.json", "--test-case", "Nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no test case 'Nope'"));
}

#[test]
fn validate_reports_every_problem() {
    let o = cli(&["validate", "fixtures/invalid.asl.json", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["result"], "FAIL");
    let locs: Vec<&str> = v["diagnostics"].as_array().unwrap().iter().map(|d| d["location"].as_str().unwrap()).collect();
    for want in [
        "/States/Start/Next",
        "/States/Start/InputPath",
        "/States/Orphan/Seconds",
        "/States/Orphan",
        "/States/Task/Retry/0/ErrorEquals",
        "/States/Task/Parameters/Input.$",
    ] {
        assert!(locs.contains(&want), "{want} not in {locs:?}");
    }
    let o = cli(&["validate", "fixtures/seed/state-machine.asl.json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("OK"));
}
