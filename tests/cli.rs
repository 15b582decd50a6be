//! The `sfn-harness` binary: run, validate, exit codes.

use serde_json::Value;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-harness"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_with_a_mock_config_prints_a_trace_and_succeeds() {
    let o = cli(&[
        "run",
        "fixtures/seed/state-machine.asl.json",
        "--input",
        r#"{"input":{"number":0}}"#,
        "--mock-config",
        "fixtures/seed/mock-config.json",
        "--test-case",
        "HappyPath",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert_eq!(out.lines().filter(|l| l.contains("TaskScheduled")).count(), 4);
    assert!(out.lines().last().unwrap().starts_with("=> SUCCEEDED"), "{out}");
}

#[test]
fn run_json_has_status_output_error_cause_history() {
    let o = cli(&[
        "run",
        "fixtures/seed/state-machine.wait-for-token.asl.json",
        "--input",
        r#"{"input":{"number":-1}}"#,
        "--seed-worker",
        "FargateTask",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "Container task failed.");
    assert_eq!(v["cause"], Value::Null);
    let types: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
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
    let o = cli(&[
        "run",
        "fixtures/seed/state-machine.asl.json",
        "--mock-config",
        "fixtures/seed/mock-config.json",
        "--test-case",
        "Nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no test case 'Nope'"));
}

#[test]
fn validate_reports_every_problem() {
    let o = cli(&["validate", "fixtures/invalid.asl.json", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["result"], "FAIL");
    let locs: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["location"].as_str().unwrap())
        .collect();
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

/// CPU time (user + system, in clock ticks) the process `pid` has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // fields after the command name (which is in parentheses)
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn serve_out_of_descriptors_backs_off_and_recovers() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        eprintln!("SKIPPED: needs /proc");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = env!("CARGO_BIN_EXE_sfn-harness");
    // a server that may hold only a few descriptors (stopped however the test ends)
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = Stop(
        Command::new("sh")
            .args(["-c", &format!("ulimit -n 40 && exec {bin} serve --bind 127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let up = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        std::net::TcpStream::connect(addr).is_ok()
    });
    assert!(up, "the server did not start");
    // more clients than it has descriptors: accepting fails with EMFILE
    let held: Vec<_> = (0..100).filter_map(|_| std::net::TcpStream::connect(addr).ok()).collect();
    assert!(held.len() > 40, "only {} connections", held.len());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = cpu_ticks(server.0.id());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let used = cpu_ticks(server.0.id()) - before;
    // a loop that retried at once would use about 200 ticks (2 s of a core)
    assert!(used < 60, "the accept loop used {used} ticks in 2 s while out of descriptors");
    drop(held);
    // once the descriptors are free, new clients are served again
    let served = (0..20).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let Ok(mut s) = std::net::TcpStream::connect(addr) else { return false };
        use std::io::{Read, Write};
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(1)));
        let req = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListActivities\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        let _ = s.write_all(req.as_bytes());
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        resp.starts_with("HTTP/1.1 200")
    });
    drop(server);
    assert!(served, "no client was served after the descriptors were freed");
}

#[test]
fn a_mock_config_answers_states_inside_maps_and_parallels() {
    let run = |case: &str| {
        cli(&[
            "run",
            "fixtures/pipeline/pipeline.asl.json",
            "--input",
            r#"{"partitions":["a","b","c"]}"#,
            "--mock-config",
            "fixtures/pipeline/mock-config.json",
            "--test-case",
            case,
            "--json",
        ])
    };
    let o = run("Approved");
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["output"]["processed"],
        serde_json::json!([{"partition": "ok"}, {"partition": "ok"}, {"partition": "ok"}])
    );
    assert_eq!(v["output"]["published"], serde_json::json!([{"tables": 3}, "sent"]));

    let o = run("FlakyPartitionThenRejected");
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["error"], "NotApproved");
    let types: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "TaskFailed").count(),
        1,
        "the first attempt failed, the retry succeeded"
    );
}

#[test]
fn replay_exits_0_on_a_match_and_1_at_a_divergence() {
    // record a run of the seed as the aws CLI would print it
    let o = cli(&[
        "run",
        "fixtures/seed/state-machine.asl.json",
        "--input",
        r#"{"input":{"number":2}}"#,
        "--seed-worker",
        "FargateTask",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let dir = std::env::temp_dir().join(format!("sfn-harness-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let history = dir.join("history.json");
    std::fs::write(&history, serde_json::json!({"events": v["history"]}).to_string()).unwrap();
    let o = cli(&[
        "replay",
        "fixtures/seed/state-machine.asl.json",
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("matches the recorded history"), "{}", stdout(&o));

    let changed = dir.join("changed.asl.json");
    std::fs::write(
        &changed,
        std::fs::read_to_string("fixtures/seed/state-machine.asl.json")
            .unwrap()
            .replace("\"NumericGreaterThan\": 3", "\"NumericGreaterThan\": 2"),
    )
    .unwrap();
    let o = cli(&["replay", changed.to_str().unwrap(), "--history", history.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("the replay diverges at event #"), "{out}");
    assert!(out.contains("--- recorded") && out.contains("+++ replayed"), "{out}");

    let o = cli(&[
        "replay",
        "fixtures/seed/state-machine.asl.json",
        "--history",
        "fixtures/seed/mock-config.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("GetExecutionHistory"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn coverage_of_recorded_seed_runs_and_the_graph_of_one() {
    let dir = std::env::temp_dir().join(format!("sfn-harness-coverage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for input in [r#"{"input":{"number":0}}"#, r#"{"input":{"number":-1}}"#] {
        let o = Command::new(env!("CARGO_BIN_EXE_sfn-harness"))
            .args([
                "run",
                "fixtures/seed/state-machine.asl.json",
                "--input",
                input,
                "--seed-worker",
                "FargateTask",
            ])
            .env("SFN_HARNESS_COVERAGE", &dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let out = dir.join("coverage.json");
    let o = cli(&[
        "coverage",
        "fixtures/seed/state-machine.asl.json",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let table = stdout(&o);
    assert!(table.contains("states") && table.contains("4      4"), "{table}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["branches"], serde_json::json!({"covered": 2, "total": 2}));

    let o = cli(&[
        "graph",
        "fixtures/seed/state-machine.asl.json",
        "--format",
        "mermaid",
        "--coverage",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("class s0 ran;"), "{}", stdout(&o));
    let o = cli(&["graph", "fixtures/seed/state-machine.asl.json", "--format", "svg"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `sfn-harness mutate DEF -- sh -c SCRIPT`, with `$BIN` the binary in SCRIPT.
fn mutate(def: &str, flags: &[&str], script: &str) -> Output {
    let bin = env!("CARGO_BIN_EXE_sfn-harness");
    let mut args = vec!["mutate", def];
    args.extend_from_slice(flags);
    let script = script.replace("$BIN", bin);
    args.extend_from_slice(&["--", "sh", "-c", &script]);
    cli(&args)
}

/// The seed's number-0 run, checked for its result only.
const CHECKS_THE_RESULT: &str = r#"$BIN run fixtures/seed/state-machine.asl.json --input '{"input":{"number":0}}' --seed-worker FargateTask | grep -q '^=> SUCCEEDED output {"input":{"number":4}'"#;

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn mutate_runs_the_test_command_per_mutant_and_reports_the_survivor() {
    let json = std::env::temp_dir().join(format!("sfn-mutate-{}.json", std::process::id()));
    let o = mutate(
        "fixtures/seed/state-machine.asl.json",
        &["--jobs", "2", "--json", json.to_str().unwrap()],
        CHECKS_THE_RESULT,
    );
    let (out, err) = (stdout(&o), String::from_utf8_lossy(&o.stderr).into_owned());
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    // progress on stderr, one line per mutant
    assert_eq!(err.lines().filter(|l| l.starts_with('[')).count(), 6, "{err}");
    assert!(out.contains("#6   SURVIVED   Wait  /States/Wait/Seconds  Seconds 10 → 5"), "{out}");
    assert!(out.contains("-  \"Seconds\": 10,\n  +  \"Seconds\": 5,"), "{out}");
    assert!(out.contains("would be killed by: assert the virtual time"), "{out}");
    assert!(
        out.ends_with("6 mutants: 5 killed, 1 survived, 0 invalid (skipped); score 83.3 %\n"),
        "{out}"
    );
    let r = report(&json);
    assert_eq!(r["counts"]["killed"], 5);
    assert_eq!(r["score"], 83.3);
    let survived: Vec<&Value> =
        r["mutants"].as_array().unwrap().iter().filter(|m| m["outcome"] == "survived").collect();
    assert_eq!(survived.len(), 1);
    assert_eq!(survived[0]["pointer"], "/States/Wait/Seconds");
    assert_eq!(
        survived[0]["patch"][0],
        serde_json::json!({"op": "replace", "path": "/States/Wait/Seconds", "value": 5})
    );
    std::fs::remove_file(&json).unwrap();

    // under --min-score the run fails; the suggested check (the virtual time) kills the survivor
    let o =
        mutate("fixtures/seed/state-machine.asl.json", &["--min-score", "90"], CHECKS_THE_RESULT);
    assert_eq!(o.status.code(), Some(1));
    let stronger = CHECKS_THE_RESULT.replace(
        "| grep -q '^=> SUCCEEDED output {\"input\":{\"number\":4}'",
        "> \"$SFN_HARNESS_MUTANT.out\" && grep -q '^=> SUCCEEDED output {\"input\":{\"number\":4}' \"$SFN_HARNESS_MUTANT.out\" && grep -q '+   40.000s  ExecutionSucceeded' \"$SFN_HARNESS_MUTANT.out\"",
    );
    assert_ne!(stronger, CHECKS_THE_RESULT);
    let o = mutate("fixtures/seed/state-machine.asl.json", &["--min-score", "100"], &stronger);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).ends_with("score 100.0 %\n"), "{}", stdout(&o));
}

#[test]
fn mutate_refuses_a_failing_suite_and_one_that_never_loads_the_definition() {
    let o = mutate("fixtures/seed/state-machine.asl.json", &[], "echo broken; exit 3");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fails on the definition as it is") && err.contains("broken"), "{err}");
    let o = mutate("fixtures/seed/state-machine.asl.json", &[], "true");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("never loaded"), "{o:?}");
    let o = cli(&["mutate", "fixtures/nope.asl.json", "--", "true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fixtures/nope.asl.json"));
}

#[test]
fn mutate_stops_a_run_past_its_time_limit() {
    // mutant 6 (the shorter Wait) makes this suite hang: stopped, counted as killed
    let script = format!(
        r#"{CHECKS_THE_RESULT} && if grep -q '"mutant":{{"id":6,' "$SFN_HARNESS_MUTANT"; then sleep 60; fi"#
    );
    let o = mutate("fixtures/seed/state-machine.asl.json", &["--timeout", "2"], &script);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("#6   timed out  Wait"), "{out}");
    assert!(
        out.ends_with(
            "6 mutants: 5 killed, 1 timed out, 0 survived, 0 invalid (skipped); score 100.0 %\n"
        ),
        "{out}"
    );
}

#[test]
fn mutate_loads_a_template_mutant_whatever_the_suite_substitutes() {
    let o = mutate(
        "fixtures/seed-sam/template.yaml#SeedStateMachine",
        &[],
        r#"$BIN run fixtures/seed-sam/template.yaml#SeedStateMachine --substitute ClusterArn=arn:aws:ecs:us-east-1:123456789012:cluster/other --input '{"input":{"number":0}}' --seed-worker FargateTask | grep -q '^=> SUCCEEDED output {"input":{"number":4}'"#,
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.ends_with("6 mutants: 5 killed, 1 survived, 0 invalid (skipped); score 83.3 %\n"),
        "{out}"
    );
    let o = cli(&["mutate", "fixtures/seed-sam/template.yaml", "--list"]);
    assert_eq!(o.status.code(), Some(2), "a template of two machines needs #LogicalId");
}

#[test]
fn coverage_and_graph_take_substitutions() {
    let dir = std::env::temp_dir().join(format!("sfn-cli-subs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        "Parameters:\n  Fn:\n    Type: String\nResources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n      Definition:\n        StartAt: Call\n        States:\n          Call:\n            Type: Task\n            Resource: !Ref Fn\n            End: true\n",
    )
    .unwrap();
    let t = template.to_str().unwrap();
    let o = cli(&["graph", t]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("parameter 'Fn'"), "{o:?}");
    let fill = "Fn=arn:aws:lambda:us-east-1:123456789012:function:f";
    let o = cli(&["graph", t, "--substitute", fill]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains("Call"), "{}", stdout(&o));
    let covdir = dir.join("cov");
    std::fs::create_dir_all(&covdir).unwrap();
    let out = dir.join("cov.json");
    let o = cli(&[
        "coverage",
        t,
        covdir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--substitute",
        fill,
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains("states"), "{}", stdout(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The orders pipeline's happy path from the command line: its orders file
/// (`--s3-object`), its child machine (`--child`), a mock config answering
/// the parent's tasks.
#[test]
fn run_supplies_item_reader_objects_and_child_machines() {
    let args = [
        "run",
        "fixtures/orders-sam/template.yaml#OrdersPipeline",
        "--substitute",
        "SubnetId=subnet-1",
        "--input",
        r#"{"key":"orders.csv","runId":"r1"}"#,
        "--s3-object",
        "s3://ordersbucket/orders.csv=fixtures/orders-sam/orders.csv",
        "--child",
        "EnrichStateMachine=fixtures/orders-sam/template.yaml#EnrichStateMachine",
        "--mock-config",
        "fixtures/orders-sam/mock-config.json",
        "--test-case",
        "HappyPath",
        "--json",
    ];
    let o = cli(&args);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["status"], "SUCCEEDED");
    let runs = v["mapRuns"].as_array().unwrap();
    assert_eq!(runs[0]["state"], "ProcessOrders");
    assert_eq!(runs[0]["executions"].as_array().unwrap().len(), 3, "five orders in batches of two");
    assert_eq!(runs[0]["executions"][2]["status"], "SUCCEEDED");
    assert_eq!(v["childExecutions"][0]["state"], "EnrichOrders");
    assert_eq!(v["childExecutions"][0]["execution"]["output"]["enriched"], true);

    // without the object or the child: errors that say what to add
    let o = cli(&args[..6]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("--s3-object s3://ordersbucket/orders.csv=FILE"), "{}", stdout(&o));
    let mut bad = args.to_vec();
    bad[7] = "s3://no-key=x";
    let o = cli(&bad);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected s3://BUCKET/KEY=FILE"));
    let mut bad = args.to_vec();
    bad[9] = "EnrichStateMachine=fixtures/orders-sam/nope.yaml";
    let o = cli(&bad);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--child EnrichStateMachine"));
}
