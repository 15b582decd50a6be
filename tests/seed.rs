//! The seed pipeline (`fixtures/seed/`), tested offline: the loop, the
//! worker's failure modes, history snapshots and properties over inputs.

use proptest::prelude::*;
use serde_json::{json, Value};
use sfn_harness::workers::{increment_number, seed_worker};
use sfn_harness::{assert_execution_snapshot, Harness, Status};

mod common;
use common::seed_with;

const SYNC: &str = "fixtures/seed/state-machine.asl.json";
const WFT: &str = "fixtures/seed/state-machine.wait-for-token.asl.json";
/// The same pipeline written in JSONata.
const JSONATA: &str = "fixtures/seed/state-machine.jsonata.asl.json";

fn seed(def: &str) -> Harness {
    Harness::from_file(def).unwrap().on_task("FargateTask", seed_worker)
}

fn number(n: Value) -> Value {
    json!({"input": {"number": n}})
}

#[test]
fn number_zero_runs_the_task_four_times_on_both_definitions() {
    for (def, snap) in [(SYNC, "seed_sync_number_0"), (WFT, "seed_wft_number_0")] {
        let exec = seed(def).run_blocking(number(json!(0)));
        exec.assert_succeeded();
        assert_eq!(exec.invocations("FargateTask"), 4, "{def}");
        assert_eq!(exec.output()["input"]["number"], 4);
        assert_eq!(exec.output()["result"].as_array().unwrap().len(), 3);
        // four Waits of 10 s: 40 virtual seconds, no wall time
        assert_eq!(exec.stop_ms() - exec.start_ms(), 40_000);
        let waits: Vec<f64> = exec
            .history_json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "WaitStateExited")
            .map(|e| e["timestamp"].as_f64().unwrap())
            .collect();
        assert_eq!(waits.len(), 4);
        assert_execution_snapshot!(snap, exec);
    }
}

/// The JSONata translation of the seed records the very same history as
/// the JSONPath definition: the same parameters (its `$string` is
/// `States.JsonToString`, its `$states.context.Task.Token` is
/// `$$.Task.Token`), outputs, ids and times.
#[test]
fn the_jsonata_seed_records_the_same_history() {
    for n in [json!(0), json!(3), json!(7), json!(-1)] {
        let jsonpath = seed(SYNC).run_blocking(number(n.clone()));
        let jsonata = seed(JSONATA).run_blocking(number(n.clone()));
        assert_eq!(jsonata.history_json(), jsonpath.history_json(), "number {n}");
        assert_eq!(jsonata.invocations("FargateTask"), jsonpath.invocations("FargateTask"));
    }
}

/// Where the languages differ: a missing number leaves the JSONata
/// comparison undefined, and a string cannot be compared with 3 (T2009),
/// so the JSONata Choice fails where the JSONPath one fails (a missing
/// number) or goes on to the task (a string).
#[test]
fn the_jsonata_choice_fails_on_what_it_cannot_compare() {
    for (input, why) in [
        (json!({"input": {}}), "returned nothing (undefined)."),
        (
            json!({"input": {"number": "x"}}),
            "T2009: The expressions on either side of operator \">\" must be of the same data type",
        ),
    ] {
        let exec = seed(JSONATA).run_blocking(input);
        exec.assert_failed_with("States.QueryEvaluationError");
        let cause = exec.cause().unwrap();
        assert!(cause.starts_with("An error occurred while executing the state 'Choice' (entered at the event id #2). The JSONata expression '$states.input.input.number > 3' specified for the field 'Condition'"), "{cause}");
        assert!(cause.ends_with(why), "{cause}");
        assert_eq!(exec.invocations("FargateTask"), 0);
        let types = exec.event_types();
        assert_eq!(&types[types.len() - 2..], ["EvaluationFailed", "ExecutionFailed"]);
    }
}

/// The README's example, as written there.
#[test]
fn per_state_views_of_the_seed_loop() {
    let exec = seed(SYNC).run_blocking(number(json!(0)));
    exec.assert_succeeded();
    exec.assert_attempts("FargateTask", 4);
    let task = exec.state("FargateTask");
    assert_eq!(task.attempts[3].started.as_secs(), 30);
    assert_eq!(
        task.attempts[0].parameters["Overrides"]["ContainerOverrides"][0]["Environment"][0]
            ["Value"],
        r#"{"number":0}"#
    );
    assert!(task
        .attempts
        .iter()
        .all(|a| a.retry == 0 && a.within == sfn_harness::report::Within::default()));
    assert_eq!(task.visits.len(), 4);
    assert_eq!(exec.elapsed().as_secs(), 40);
    exec.assert_path(&[
        "Choice",
        "FargateTask",
        "Wait",
        "Choice",
        "FargateTask",
        "Wait",
        "Choice",
        "FargateTask",
        "Wait",
        "Choice",
        "FargateTask",
        "Wait",
        "Choice",
        "Succeed",
    ]);
    assert_eq!(exec.output_of("Wait"), exec.output_of("FargateTask"));
}

#[test]
fn the_same_scenario_gives_a_byte_identical_history() {
    let a = seed(SYNC).run_blocking(number(json!(0))).history_json().to_string();
    let b = seed(SYNC).run_blocking(number(json!(0))).history_json().to_string();
    assert_eq!(a, b);
    let other_seed = seed(SYNC).seed(7).run_blocking(number(json!(0))).history_json().to_string();
    assert_ne!(a, other_seed, "the seed must change ids and tokens");
}

#[test]
fn the_task_receives_input_and_token_overrides() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let exec = Harness::from_file(WFT)
        .unwrap()
        .on_task("FargateTask", move |call| {
            let env =
                sfn_harness::container_environment(&call.parameters, Some("python-container"));
            assert_eq!(Some(&env["TOKEN"]), call.token.as_ref());
            log.lock().unwrap().push(env["INPUT"].clone());
            seed_worker(call)
        })
        .run_blocking(number(json!(0)));
    exec.assert_succeeded();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![r#"{"number":0}"#, r#"{"number":1}"#, r#"{"number":2}"#, r#"{"number":3}"#]
    );
}

#[test]
fn a_worker_reads_its_json_input_in_place_as_json_loads_would() {
    use std::borrow::Cow;
    // the seed's INPUT is States.JsonToString($.input) (JSONata:
    // $string($states.input.input)): read as JSON, it is
    // that part of the state's input, with no text rendered or parsed; with
    // an InputPath (the input is a copy) or a text given whole it is parsed,
    // and every way reads what parsing the text gives
    let def = std::fs::read_to_string("fixtures/seed/state-machine.asl.json").unwrap();
    let with_input_path = def.replace(
        r#""Resource": "arn:aws:states:::ecs:runTask.sync","#,
        r#""Resource": "arn:aws:states:::ecs:runTask.sync", "InputPath": "$","#,
    );
    assert_ne!(def, with_input_path);
    let narrowed = def.replace(
        r#""Resource": "arn:aws:states:::ecs:runTask.sync","#,
        r#""Resource": "arn:aws:states:::ecs:runTask.sync", "InputPath": "$.wrapped","#,
    );
    let jsonata = std::fs::read_to_string("fixtures/seed/state-machine.jsonata.asl.json").unwrap();
    for (def, input, in_place) in [
        (&def, number(json!(0)), true),
        // `{% $string($states.input.input) %}` of a value JSONata sees exactly
        (&jsonata, number(json!(0)), true),
        (&with_input_path, number(json!(0)), true),
        (
            &narrowed,
            json!({"input": {"number": 0}, "wrapped": {"input": {"number": 0, "x": [1.5, -0.0, "é"]}}}),
            false,
        ),
    ] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let exec = Harness::from_definition(def)
            .unwrap()
            .on_task("FargateTask", move |call| {
                let text = sfn_harness::container_env_var(
                    &call.parameters,
                    Some("python-container"),
                    "INPUT",
                )
                .unwrap();
                let parsed: Value = serde_json::from_str(text).unwrap();
                let read = sfn_harness::container_env_json(
                    &call.parameters,
                    Some("python-container"),
                    "INPUT",
                )
                .unwrap()
                .unwrap();
                assert_eq!(*read, parsed);
                log.lock().unwrap().push(matches!(read, Cow::Borrowed(_)));
                let missing = sfn_harness::container_env_json(
                    &call.parameters,
                    Some("python-container"),
                    "NONE",
                );
                assert!(missing.is_none());
                let mut input = parsed;
                input["number"] = json!(input["number"].as_i64().unwrap() + 1);
                sfn_harness::TaskReply::ok(json!({"wrapped": {"input": input}, "input": input}))
            })
            .run_blocking(input);
        exec.assert_succeeded();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 4);
        assert!(seen.iter().all(|b| *b == in_place), "{def}: {seen:?}");
    }
}

#[test]
fn a_failing_worker_fails_the_execution_with_its_error() {
    for def in [SYNC, WFT, JSONATA] {
        // (a string stops the JSONata Choice first: see below)
        let bad_numbers = if def == JSONATA {
            vec![json!(-1), json!(2.5)]
        } else {
            vec![json!(-1), json!("x"), json!(2.5)]
        };
        for bad in bad_numbers {
            let exec = seed(def).run_blocking(number(bad.clone()));
            exec.assert_failed_with("Container task failed.");
            assert_eq!(exec.cause(), None);
            let types = exec.event_types();
            assert_eq!(&types[types.len() - 2..], ["TaskFailed", "ExecutionFailed"], "{def} {bad}");
            assert_eq!(exec.invocations("FargateTask"), 1);
        }
    }
    let exec = seed(SYNC).run_blocking(number(json!(-1)));
    assert_execution_snapshot!("seed_sync_number_minus_1", exec);
}

#[test]
fn an_input_without_number_fails_at_the_choice_as_on_aws() {
    let exec = seed(SYNC).run_blocking(json!({"input": {}}));
    exec.assert_failed_with("States.Runtime");
    assert_eq!(
        exec.cause(),
        Some("An error occurred while executing the state 'Choice' (entered at the event id #2). Invalid path '$.input.number': The choice state's condition path references an invalid value.")
    );
    assert_eq!(exec.invocations("FargateTask"), 0);
}

#[test]
fn a_worker_that_never_calls_back() {
    // the worker itself gets INPUT {} only when the task runs on its own
    let task_alone = |def| seed(def).start_at("FargateTask").unwrap();
    // .waitForTaskToken: AWS would wait a year; the harness says so at once
    let exec = task_alone(WFT).run_blocking(json!({"input": {}}));
    assert_eq!(exec.status(), Status::Running);
    let why = exec.stalled().unwrap();
    assert!(
        why.contains("FargateTask")
            && why.contains("exited with code 1")
            && why.contains("KeyError: 'number'"),
        "{why}"
    );
    // .sync: the stopped ECS task decides: exit 1 is States.TaskFailed with the task as cause
    let exec = task_alone(SYNC).run_blocking(json!({"input": {}}));
    exec.assert_failed_with("States.TaskFailed");
    let task: Value = serde_json::from_str(exec.cause().unwrap()).unwrap();
    assert_eq!(task["Containers"][0]["ExitCode"], 1);
    assert_eq!(task["Containers"][0]["Name"], "python-container");
    assert_eq!(task["LastStatus"], "STOPPED");
}

#[test]
fn a_callback_timeout_ends_the_execution_as_aws_would() {
    let exec = seed_with(WFT, |task| task["TimeoutSeconds"] = json!(300))
        .on_task("FargateTask", seed_worker)
        .start_at("FargateTask")
        .unwrap()
        .run_blocking(json!({"input": {}}));
    exec.assert_failed_with("States.Timeout");
    assert_eq!(exec.stop_ms() - exec.start_ms(), 300_000);
    let types = exec.event_types();
    assert_eq!(&types[types.len() - 2..], ["TaskTimedOut", "ExecutionFailed"]);
}

#[test]
fn the_cloudformation_template_runs_like_the_asl() {
    let exec = Harness::from_file("fixtures/seed/StepFunctionsStack.template.json")
        .unwrap()
        .on_task("FargateTask", seed_worker)
        .run_blocking(number(json!(0)));
    exec.assert_succeeded();
    assert_eq!(exec.invocations("FargateTask"), 4);
}

#[test]
fn mock_config_drives_the_loop() {
    let cfg = sfn_harness::MockConfig::from_file("fixtures/seed/mock-config.json").unwrap();
    for def in [SYNC, JSONATA] {
        let exec = Harness::from_file(def)
            .unwrap()
            .mock_config(&cfg, None, "HappyPath")
            .unwrap()
            .run_blocking(number(json!(0)));
        exec.assert_succeeded();
        assert_eq!(exec.invocations("FargateTask"), 4);
        assert_eq!(exec.output()["input"]["number"], 4);
    }
    let exec = Harness::from_file(WFT)
        .unwrap()
        .mock_config(&cfg, None, "WorkerFails")
        .unwrap()
        .run_blocking(number(json!(0)));
    exec.assert_failed_with("Container task failed.");
    // invocation counters include retries: the RetryThenSucceed case retries once
    let exec = seed_with(SYNC, |task| {
        task["Retry"] =
            json!([{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 5, "MaxAttempts": 2}])
    })
    .mock_config(&cfg, None, "RetryThenSucceed")
    .unwrap()
    .run_blocking(number(json!(3)));
    exec.assert_succeeded();
    assert_eq!(exec.invocations("FargateTask"), 2);
    assert_eq!(exec.stop_ms() - exec.start_ms(), 15_000, "5 s backoff + 10 s wait");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn loop_runs_max_0_4_minus_n(n in -1000i64..1000) {
        for def in [SYNC, JSONATA] {
            let exec = Harness::from_file(def).unwrap().on_task("FargateTask", increment_number)
                .run_blocking(number(json!(n)));
            prop_assert!(exec.succeeded(), "{}", exec.trace());
            prop_assert_eq!(exec.invocations("FargateTask"), (4 - n).max(0) as usize);
            prop_assert_eq!(exec.output()["input"]["number"].as_i64(), Some(n.max(4)));
        }
    }

    #[test]
    fn the_faithful_worker_fails_below_zero(n in -1000i64..0) {
        let exec = seed(WFT).run_blocking(number(json!(n)));
        prop_assert_eq!(exec.error(), Some("Container task failed."));
        prop_assert_eq!(exec.invocations("FargateTask"), 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn histories_past_25000_events_fail_like_aws(n in -20_000i64..-2_600) {
        let exec = Harness::from_file(SYNC).unwrap().on_task("FargateTask", increment_number)
            .run_blocking(number(json!(n)));
        prop_assert_eq!(exec.status(), Status::Failed);
        prop_assert_eq!(exec.error(), Some("States.Runtime"));
        // AWS's quota: 25,000 events
        prop_assert_eq!(exec.event_count(), 25_000);
        prop_assert_eq!(exec.event_types().last().cloned(), Some("ExecutionFailed".to_string()));
    }
}

/// Failure schedules as properties: whatever the worker answers at each
/// invocation, the execution ends at the first failure, with its error,
/// having called the worker exactly that many times.
#[cfg(feature = "proptest")]
mod failure_schedules {
    use super::*;
    use sfn_harness::strategies::{inputs_like, schedules};
    use sfn_harness::{Schedule, Scheduled};

    fn run(schedule: &Schedule, n: i64) -> sfn_harness::Execution {
        seed(SYNC)
            .on_task("FargateTask", schedule.clone().handler(seed_worker))
            .run_blocking(number(json!(n)))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        #[test]
        fn any_failure_ends_the_execution_at_that_invocation(schedule in schedules(&["WorkerCrashed", "Throttled"], 6), n in 0i64..4) {
            let exec = run(&schedule, n);
            let runs = (4 - n) as usize;
            match schedule.first_failure().filter(|(k, _)| *k < runs) {
                None => {
                    prop_assert!(exec.succeeded());
                    prop_assert_eq!(exec.invocations("FargateTask"), runs);
                }
                Some((k, what)) => {
                    prop_assert_eq!(exec.invocations("FargateTask"), k + 1);
                    prop_assert_eq!(exec.state("FargateTask").attempts.len(), k + 1);
                    match what {
                        Scheduled::Fail(e) => prop_assert_eq!(exec.error(), Some(e.as_str())),
                        Scheduled::TimeOut => prop_assert_eq!(exec.error(), Some("States.Timeout")),
                        // no TimeoutSeconds on the seed's task: AWS would wait a year
                        Scheduled::Silence => prop_assert!(exec.stalled().is_some()),
                        Scheduled::Succeed => unreachable!(),
                    }
                }
            }
        }

        #[test]
        fn inputs_like_the_example_keep_its_shape(input in inputs_like(&json!({"input": {"number": 0, "tag": "x"}}))) {
            prop_assert!(input["input"]["number"].is_i64());
            prop_assert!(input["input"]["tag"].is_string());
            let exec = seed(SYNC).run_blocking(input.clone());
            let n = input["input"]["number"].as_i64().unwrap();
            if n >= 0 {
                prop_assert!(exec.succeeded());
                prop_assert_eq!(exec.invocations("FargateTask"), (4 - n).max(0) as usize);
            } else {
                prop_assert_eq!(exec.error(), Some("Container task failed."));
            }
        }
    }

    /// A deliberately wrong property ("a first success means the execution
    /// succeeds") is refuted, and shrinking ends at the smallest schedule
    /// that refutes it.
    #[test]
    fn shrinking_ends_at_the_minimal_schedule() {
        use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
        let mut runner = TestRunner::new_with_rng(
            Config { cases: 500, ..Config::default() },
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        let result = runner.run(&schedules(&["Boom", "Other"], 8), |schedule| {
            if schedule.0.first() == Some(&Scheduled::Succeed) || schedule.0.is_empty() {
                prop_assert!(
                    run(&schedule, 0).succeeded(),
                    "schedule {} fails the execution",
                    schedule
                );
            }
            Ok(())
        });
        match result {
            Err(TestError::Fail(why, minimal)) => {
                assert_eq!(minimal.to_string(), "[ok, fail(Boom)]", "{why}");
                assert!(
                    why.to_string().contains("schedule [ok, fail(Boom)] fails the execution"),
                    "{why}"
                );
            }
            other => panic!("the wrong property must be refuted: {other:?}"),
        }
    }
}
