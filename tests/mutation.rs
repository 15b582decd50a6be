//! Mutation testing of a definition: the mutants of the seed and of a
//! pipeline with every kind of state, the in-process runner, and the
//! `SFN_HARNESS_MUTANT` door through which a test process loads a mutant.

use serde_json::{json, Value};
use sfn_harness::mutation::{Mutant, Outcome};
use sfn_harness::workers::seed_worker;
use sfn_harness::{Harness, MockConfig, TaskCall, TaskReply};

mod common;

const SEED: &str = "fixtures/seed/state-machine.asl.json";
const SEED_JSONATA: &str = "fixtures/seed/state-machine.jsonata.asl.json";
const PIPELINE: &str = "fixtures/pipeline/pipeline.asl.json";

fn seed(path: &str) -> Harness {
    Harness::from_file(path).unwrap().on_task("FargateTask", seed_worker)
}

fn descriptions(h: &Harness) -> Vec<String> {
    h.mutants().iter().map(|m| format!("{} {} {}", m.operator, m.pointer, m.description)).collect()
}

#[test]
fn the_seed_has_a_mutant_for_each_decision_it_makes() {
    assert_eq!(
        descriptions(&seed(SEED)),
        [
            "comparison_boundary /States/Choice/Choices/0/NumericGreaterThan NumericGreaterThan: 3 → NumericGreaterThanEquals: 3",
            "threshold_moved /States/Choice/Choices/0/NumericGreaterThan NumericGreaterThan: 3 → NumericGreaterThan: 2",
            "threshold_moved /States/Choice/Choices/0/NumericGreaterThan NumericGreaterThan: 3 → NumericGreaterThan: 4",
            "condition_negated /States/Choice/Choices/0 rule 1 negated",
            "next_swapped_with_default /States/Choice/Choices/0/Next rule 1 Next \"Succeed\" ⇄ Default \"FargateTask\"",
            "wait_shortened /States/Wait/Seconds Seconds 10 → 5",
        ]
    );
}

/// The suite of number 0, checking only the result.
fn checks_the_result(h: &Harness) {
    let exec = h.run_blocking(json!({"input": {"number": 0}}));
    exec.assert_succeeded();
    assert_eq!(exec.output()["input"]["number"], 4);
}

#[test]
fn a_surviving_mutant_is_killed_by_the_test_it_suggests() {
    let h = seed(SEED);
    let report = h.mutants().run(checks_the_result);
    let survivors = report.survivors();
    assert_eq!(survivors.len(), 1, "{report}");
    let wait = &survivors[0];
    assert_eq!(
        (wait.mutant.state.as_str(), wait.mutant.pointer.as_str()),
        ("Wait", "/States/Wait/Seconds")
    );
    assert!(wait.diff.contains("-  \"Seconds\": 10,\n+  \"Seconds\": 5,"), "{}", wait.diff);
    assert!(wait.mutant.suggestion.contains("exec.elapsed()"), "{}", wait.mutant.suggestion);
    assert_eq!(report.count(Outcome::Killed), 5);
    assert!((report.score() - 500.0 / 6.0).abs() < 1e-9);
    let text = report.to_string();
    assert!(text.contains("would be killed by: assert the virtual time"), "{text}");
    assert!(
        text.ends_with("6 mutants: 5 killed, 1 survived, 0 invalid (skipped); score 83.3 %\n"),
        "{text}"
    );

    // the suggested test: the virtual time of the loop
    let report = h.mutants().run(|h| {
        checks_the_result(h);
        assert_eq!(h.run_blocking(json!({"input": {"number": 0}})).elapsed().as_secs(), 40);
    });
    assert!(report.survivors().is_empty(), "{report}");
    report.assert_all_killed().assert_score(100.0);
}

#[test]
fn a_boundary_survives_a_suite_that_never_reaches_it() {
    // a worker that gives up past 10, so a mutant that never leaves the loop fails fast
    let h = Harness::from_file(SEED).unwrap().on_task("FargateTask", |call: &TaskCall| {
        let env = sfn_harness::container_environment(&call.parameters, Some("python-container"));
        let input: Value = serde_json::from_str(&env["INPUT"]).unwrap();
        if input["number"].as_i64() > Some(10) {
            return TaskReply::fail("TooFar", Some("the loop went past 10"));
        }
        seed_worker(call)
    });
    // number 5 never enters the loop: the boundary and thresholds go unchecked
    let from_five = |h: &Harness| {
        let exec = h.run_blocking(json!({"input": {"number": 5}}));
        exec.assert_succeeded();
        exec.assert_attempts("FargateTask", 0);
    };
    let report = h.mutants().run(from_five);
    let survived: Vec<&str> =
        report.survivors().iter().map(|r| r.mutant.operator.as_str()).collect();
    assert_eq!(
        survived,
        ["comparison_boundary", "threshold_moved", "threshold_moved", "wait_shortened"]
    );
    assert_eq!(
        report.survivors()[0].mutant.suggestion,
        "a test where $.input.number is exactly 3, asserting the branch taken"
    );
    // the suggested test: number 3, one more loop (a NumericGreaterThanEquals would not loop)
    let report = h.mutants().run(|h| {
        from_five(h);
        let exec = h.run_blocking(json!({"input": {"number": 3}}));
        exec.assert_attempts("FargateTask", 1);
    });
    let survived: Vec<&str> =
        report.survivors().iter().map(|r| r.mutant.description.as_str()).collect();
    assert_eq!(survived, ["Seconds 10 → 5"]);
    assert!(report.assert_score(80.0).score() < 90.0);
    let caught = std::panic::catch_unwind(|| {
        report.assert_score(90.0);
    });
    assert!(caught.is_err(), "a score under the bar fails the test");
}

#[test]
fn the_jsonata_seed_has_the_same_mutants_and_the_same_survivor() {
    let h = seed(SEED_JSONATA);
    let mutants: Vec<Mutant> = h.mutants().iter().cloned().collect();
    let negated = mutants.iter().find(|m| m.operator == "condition_negated").unwrap();
    assert_eq!(negated.pointer, "/States/Choice/Choices/0/Condition");
    assert!(negated.description.contains("$not("), "{}", negated.description);
    let report = h.mutants().run(checks_the_result);
    let survived: Vec<&str> =
        report.survivors().iter().map(|r| r.mutant.operator.as_str()).collect();
    assert_eq!(survived, ["wait_shortened"], "{report}");
}

#[test]
fn every_kind_of_state_has_its_mutants_and_each_applies_where_it_says() {
    let h = Harness::from_file(PIPELINE).unwrap();
    let original: Value =
        serde_json::from_str(&std::fs::read_to_string(PIPELINE).unwrap()).unwrap();
    let mutants = h.mutants();
    let lines = descriptions(&h);
    for want in [
        "max_concurrency /States/ProcessPartitions/MaxConcurrency MaxConcurrency 2 → 1",
        "field_dropped /States/ProcessPartitions/ResultPath ResultPath \"$.processed\" dropped",
        "retry_max_attempts /States/ProcessPartitions/ItemProcessor/States/RunPartition/Retry/0/MaxAttempts Retry[0] MaxAttempts 2 → 1",
        "retry_max_attempts /States/ProcessPartitions/ItemProcessor/States/RunPartition/Retry/0/MaxAttempts Retry[0] MaxAttempts 2 → 3",
        "retry_backoff_rate /States/ProcessPartitions/ItemProcessor/States/RunPartition/Retry/0/BackoffRate Retry[0] BackoffRate 2 → 1",
        "retrier_removed /States/ProcessPartitions/ItemProcessor/States/RunPartition/Retry/0 Retry[0] (States.TaskFailed) removed",
        "catcher_removed /States/ProcessPartitions/ItemProcessor/States/RunPartition/Catch/0 Catch[0] (States.ALL → PartitionFailed) removed",
        "field_dropped /States/ProcessPartitions/ItemProcessor/States/RunPartition/ResultSelector ResultSelector {\"partition.$\":\"$.Overrides.ContainerOverrides[0].Environme… dropped",
        "field_dropped /States/Publish/Branches/0/States/UpdateCatalog/OutputPath OutputPath \"$.Payload\" dropped",
        "timeout_halved /States/AwaitApproval/TimeoutSeconds TimeoutSeconds 3600 → 1800",
        "timeout_halved /States/AwaitApproval/HeartbeatSeconds HeartbeatSeconds 600 → 300",
        "condition_negated /States/Approved?/Choices/0 rule 1 negated",
        "next_swapped_with_default /States/Approved?/Choices/0/Next rule 1 Next \"Done\" ⇄ Default \"Rejected\"",
    ] {
        assert!(lines.iter().any(|l| l == want), "missing {want:?} in\n{}", lines.join("\n"));
    }
    // every pointer names a field of the definition, or one a mutant adds to an existing object
    for m in mutants.iter() {
        let parent = m.pointer.rsplit_once('/').unwrap().0;
        assert!(
            original.pointer(&m.pointer).is_some()
                || original.pointer(parent).is_some_and(Value::is_object),
            "{} points nowhere",
            m.pointer
        );
        let state = m.pointer.split('/').collect::<Vec<_>>();
        assert!(state.contains(&m.state.as_str()), "{} is not in {}", m.state, m.pointer);
    }
    assert_eq!(
        mutants.iter().map(|m| m.id).collect::<Vec<_>>(),
        (1..=mutants.len()).collect::<Vec<_>>()
    );
}

#[test]
fn mutants_of_the_pipeline_are_killed_by_its_mock_config_suite() {
    let cfg = MockConfig::from_file("fixtures/pipeline/mock-config.json").unwrap();
    let h = Harness::from_file(PIPELINE).unwrap();
    let approved = h.clone().mock_config(&cfg, Some("pipeline"), "Approved").unwrap();
    let flaky = h.mock_config(&cfg, Some("pipeline"), "FlakyPartitionThenRejected").unwrap();
    let input = json!({"partitions": [{"p": "a"}, {"p": "b"}, {"p": "c"}]});
    let report = approved.mutants().run(|h| {
        let exec = h.run_blocking(input.clone());
        exec.assert_succeeded();
        assert_eq!(exec.output()["processed"][0], json!({"partition": "ok"}));
    });
    // a retrier that never fires in the happy path survives it …
    assert!(report.survivors().iter().any(|r| r.mutant.operator == "retrier_removed"), "{report}");
    // … and the flaky test case kills it (its configuration: the same mocks, the mutant's definition)
    let flaky_mutants = flaky.mutants();
    let removed = flaky_mutants.iter().find(|m| m.operator == "retrier_removed").unwrap().id;
    let exec = flaky_mutants.harness(removed).unwrap().run_blocking(input.clone());
    assert_eq!(exec.invocations("RunPartition"), 3, "{}", exec.trace());
    let report = flaky_mutants.run(|h| {
        let exec = h.run_blocking(input.clone());
        exec.assert_failed_with("NotApproved");
        exec.assert_attempts("RunPartition", 4);
    });
    assert!(report.runs.iter().any(|r| r.mutant.id == removed && r.outcome == Outcome::Killed));
}

#[test]
fn a_mutant_that_breaks_the_definition_is_invalid_and_skipped() {
    // halving the timeout puts it under the heartbeat: AWS refuses that
    let h = Harness::from_definition(
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}},
            "TimeoutSeconds": 100, "HeartbeatSeconds": 60, "End": true}}}"#,
    )
    .unwrap();
    let mutants = h.mutants();
    let halved = mutants.iter().find(|m| m.pointer == "/States/T/TimeoutSeconds").unwrap();
    assert!(mutants.harness(halved.id).is_none());
    let report = mutants.run(|_| {});
    let run = report.runs.iter().find(|r| r.mutant.id == halved.id).unwrap();
    assert_eq!(run.outcome, Outcome::Invalid);
    assert!(run.message.as_deref().unwrap().contains("/States/T"), "{:?}", run.message);
    assert_eq!(report.count(Outcome::Invalid), 1);
    assert_eq!(report.score(), 0.0, "the heartbeat mutant survives an empty suite");
}

#[test]
fn jsonata_maps_tolerances_and_machine_timeouts_have_mutants() {
    let h = Harness::from_definition(
        r#"{"QueryLanguage": "JSONata", "TimeoutSeconds": 60, "StartAt": "M", "States": {
            "M": {"Type": "Map", "Items": "{% $states.input.items %}", "ToleratedFailureCount": 1,
                  "ToleratedFailurePercentage": 50, "Output": "{% $states.result %}",
                  "ItemProcessor": {"StartAt": "C", "States": {
                      "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input > 1 %}", "Next": "Big"}], "Default": "Small"},
                      "Big": {"Type": "Pass", "End": true}, "Small": {"Type": "Fail", "Error": "Small"}}},
                  "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "End": true}}}"#,
    )
    .unwrap();
    let lines = descriptions(&h);
    for want in [
        "timeout_halved /TimeoutSeconds TimeoutSeconds 60 → 30",
        "max_concurrency /States/M/MaxConcurrency MaxConcurrency 0 → 1",
        "tolerance_changed /States/M/ToleratedFailureCount ToleratedFailureCount 1 → 0",
        "tolerance_changed /States/M/ToleratedFailureCount ToleratedFailureCount 1 → 2",
        "tolerance_changed /States/M/ToleratedFailurePercentage ToleratedFailurePercentage 50 → 40",
        "tolerance_changed /States/M/ToleratedFailurePercentage ToleratedFailurePercentage 50 → 60",
        "field_dropped /States/M/Output Output \"{% $states.result %}\" dropped",
        "condition_negated /States/M/ItemProcessor/States/C/Choices/0/Condition rule 1 Condition \"{% $states.input > 1 %}\" → \"{% $not($states.input > 1) %}\"",
        "wait_shortened /States/W/Seconds Seconds 1 → 0",
    ] {
        assert!(lines.iter().any(|l| l == want), "missing {want:?} in\n{}", lines.join("\n"));
    }
    // a suite of items 2 and 3 (both big): the negated condition fails both, past the tolerance
    let report = h.mutants().run(|h| {
        let exec = h.run_blocking(json!({"items": [2, 3]}));
        exec.assert_succeeded();
        assert_eq!(exec.elapsed().as_secs(), 1);
    });
    let negated = report.runs.iter().find(|r| r.mutant.operator == "condition_negated").unwrap();
    assert_eq!(negated.outcome, Outcome::Killed, "{report}");
}

/// The child half of the next test: run by it in a process of its own with
/// `SFN_HARNESS_MUTANT` set; does nothing otherwise.
#[test]
fn mutant_loaded_in_a_child_process() {
    let Ok(want) = std::env::var("SFN_HARNESS_MUTANT_TEST_EXPECT") else { return };
    let want: u64 = want.parse().unwrap();
    let text = std::fs::read_to_string(SEED).unwrap();
    // from a file, and from definition text equal to the mutated file's
    for h in [Harness::from_file(SEED).unwrap(), Harness::from_definition(&text).unwrap()] {
        let exec =
            h.on_task("FargateTask", seed_worker).run_blocking(json!({"input": {"number": 0}}));
        assert_eq!(exec.elapsed().as_secs(), want);
    }
    // another definition is left alone
    let other = Harness::from_file(SEED_JSONATA).unwrap().on_task("FargateTask", seed_worker);
    assert_eq!(other.run_blocking(json!({"input": {"number": 0}})).elapsed().as_secs(), 40);
}

#[test]
fn every_loader_honours_sfn_harness_mutant() {
    let dir = std::env::temp_dir().join(format!("sfn-harness-mutant-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let h = seed(SEED);
    let wait = h.mutants().iter().find(|m| m.operator == "wait_shortened").unwrap().clone();
    let file = dir.join("mutant.json");
    let write = |m: &Mutant| common::write_mutant_file(SEED, m, &file);
    let child = |expect: &str| {
        common::run_test_alone(
            "mutant_loaded_in_a_child_process",
            &[
                ("SFN_HARNESS_MUTANT", file.as_os_str()),
                ("SFN_HARNESS_MUTANT_TEST_EXPECT", expect.as_ref()),
            ],
        )
    };
    write(&wait);
    let out = child("20");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("mutant.json.loaded").exists(), "the child marks the mutant loaded");
    // the check can fail: the same child expecting the unmutated time fails
    assert!(!child("40").status.success());
    // a mutant whose patch does not fit is an error naming it, not a silent original
    let mut broken = wait.clone();
    broken.patch =
        vec![sfn_harness::mutation::PatchOp::Remove { path: "/States/Nope/Seconds".into() }];
    write(&broken);
    let out = child("40");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(text.contains("SFN_HARNESS_MUTANT") && text.contains("/States/Nope/Seconds"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
