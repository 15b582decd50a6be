//! Every state is first-class at any depth: handlers, mock configs,
//! invocation counts and `start_at` reach states inside Maps and Parallels;
//! the harness's own problems are never absorbed by the definition.

use serde_json::{json, Value};
use sfn_harness::{Harness, MockConfig, TaskReply};

mod common;

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
    let exec = Harness::from_definition(PIPELINE)
        .unwrap()
        .mock_config(&cfg, None, "Happy")
        .unwrap()
        .run_blocking(input());
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
    assert!(exec.cause().unwrap().contains("'T'"), "{:?}", exec.cause());
    assert!(exec.cause().unwrap().contains("on_task"), "{:?}", exec.cause());
}

#[test]
fn a_shadowed_mock_fails_the_run_whichever_came_first() {
    let cfg = MockConfig::from_str(
        r#"{"StateMachines": {"StateMachine": {"TestCases": {"Happy": {"T": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
    )
    .unwrap();
    let handler_first = Harness::from_definition(CAUGHT)
        .unwrap()
        .on_task("T", |_| TaskReply::ok(json!(2)))
        .mock_config(&cfg, None, "Happy")
        .unwrap();
    let mock_first = Harness::from_definition(CAUGHT)
        .unwrap()
        .mock_config(&cfg, None, "Happy")
        .unwrap()
        .on_task("T", |_| TaskReply::ok(json!(2)));
    for h in [handler_first, mock_first] {
        let exec = h.run_blocking(json!({}));
        exec.assert_failed_with("Harness.ShadowedMock");
        assert!(exec.cause().unwrap().contains("'T'"));
    }
}

#[test]
fn a_mock_alone_still_answers() {
    let cfg = MockConfig::from_str(
        r#"{"StateMachines": {"StateMachine": {"TestCases": {"Happy": {"T": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
    )
    .unwrap();
    let exec = Harness::from_definition(CAUGHT)
        .unwrap()
        .mock_config(&cfg, None, "Happy")
        .unwrap()
        .run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!(1));
}

/// Generated nested definitions: Maps in Parallels in Maps, Tasks at every
/// depth, generated replies and interleavings.
mod generated {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone)]
    enum Node {
        Pass,
        Wait(u8),
        Task { retry: bool, catch: bool },
        Map { limit: u8, body: Vec<Node> },
        Parallel(Vec<Vec<Node>>),
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            Just(Node::Pass),
            (0u8..4).prop_map(Node::Wait),
            (any::<bool>(), any::<bool>()).prop_map(|(retry, catch)| Node::Task { retry, catch }),
        ];
        leaf.prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                (0u8..3, prop::collection::vec(inner.clone(), 1..3))
                    .prop_map(|(limit, body)| Node::Map { limit, body }),
                prop::collection::vec(prop::collection::vec(inner, 1..3), 1..3)
                    .prop_map(Node::Parallel),
            ]
        })
    }

    /// Renders states as a machine; every state keeps `items` in its output.
    fn machine(nodes: &[Node], n: &mut usize, tasks: &mut Vec<String>) -> Value {
        let names: Vec<String> = nodes
            .iter()
            .map(|_| {
                *n += 1;
                format!("S{n}")
            })
            .collect();
        let mut states = serde_json::Map::new();
        for (i, node) in nodes.iter().enumerate() {
            let mut s = match node {
                Node::Pass => json!({"Type": "Pass"}),
                Node::Wait(secs) => json!({"Type": "Wait", "Seconds": secs}),
                Node::Task { retry, catch } => {
                    tasks.push(names[i].clone());
                    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": "$.r", "TimeoutSeconds": 30});
                    if *retry {
                        t["Retry"] = json!([{"ErrorEquals": ["Flaky", "States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2}]);
                    }
                    if *catch && i + 1 < nodes.len() {
                        t["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": names[i + 1]}]);
                    }
                    t
                }
                Node::Map { limit, body } => json!({
                    "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": limit, "ResultPath": "$.m",
                    "ItemSelector": {"items.$": "$.items", "i.$": "$$.Map.Item.Index"},
                    "ItemProcessor": machine(body, n, tasks)
                }),
                Node::Parallel(branches) => json!({
                    "Type": "Parallel", "ResultPath": "$.p",
                    "Branches": branches.iter().map(|b| machine(b, n, tasks)).collect::<Vec<_>>()
                }),
            };
            match names.get(i + 1) {
                Some(next) => s["Next"] = json!(next),
                None => s["End"] = json!(true),
            }
            states.insert(names[i].clone(), s);
        }
        json!({"StartAt": names[0], "States": states})
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
        #[test]
        fn nested_definitions_never_panic_and_count_every_attempt(
            nodes in prop::collection::vec(node(), 1..4),
            replies in prop::collection::vec(0u8..8, 1..16),
            interleaving in 0u64..1000,
        ) {
            let mut tasks = Vec::new();
            let def = machine(&nodes, &mut 0, &mut tasks);
            let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
            let mut h = Harness::from_definition(&def.to_string()).unwrap().interleaving(interleaving);
            for (k, t) in tasks.iter().enumerate() {
                let (seen, replies) = (seen.clone(), replies.clone());
                h = h.on_task(t, move |c| {
                    *seen.lock().unwrap().entry(c.state_name.to_string()).or_default() += 1;
                    match replies[(k + c.invocation) % replies.len()] {
                        0 => TaskReply::fail("Flaky", None),
                        1 => TaskReply::fail("Fatal", Some("generated")),
                        2 => TaskReply::TimedOut,
                        3 => TaskReply::Callbacks(sfn_harness::Timeline::new().succeed_at(std::time::Duration::from_secs(5), json!(k))),
                        4 => TaskReply::Callbacks(sfn_harness::Timeline::new()),
                        _ => TaskReply::ok(json!(k)),
                    }
                });
            }
            let exec = h.run_blocking(json!({"items": [1, 2]}));
            let scheduled = exec.event_types().iter().filter(|t| *t == "TaskScheduled").count();
            let counted: usize = tasks.iter().map(|t| exec.invocations(t)).sum();
            prop_assert_eq!(counted, scheduled);
            for t in &tasks {
                prop_assert_eq!(exec.invocations(t), seen.lock().unwrap().get(t).copied().unwrap_or(0), "{}", t);
            }
            prop_assert!(exec.status() != sfn_harness::Status::Running || exec.stalled().is_some());
        }
    }
}

/// The typical pipeline of issue 8, answered from Rust: a Map of ECS tasks
/// with Retry/Catch, a Parallel of Lambdas, an SQS callback with heartbeats.
mod pipeline {
    use super::*;
    use sfn_harness::Timeline;
    use std::time::Duration;

    fn harness(approval: Timeline) -> Harness {
        Harness::from_file("fixtures/pipeline/pipeline.asl.json")
            .unwrap()
            .on_task("RunPartition", |c| {
                let partition =
                    sfn_harness::container_env_var(&c.parameters, Some("worker"), "PARTITION")
                        .unwrap_or_default()
                        .to_string();
                if partition == "b" && c.retry_count == 0 {
                    return TaskReply::fail("States.TaskFailed", Some("exit code 1"));
                }
                TaskReply::ok(c.parameters.as_ref().clone())
            })
            .on_task("UpdateCatalog", |_| TaskReply::ok(json!({"Payload": {"tables": 3}})))
            .on_task("NotifyTeam", |_| TaskReply::ok(json!({"Payload": "sent"})))
            .on_task("AwaitApproval", move |_| TaskReply::Callbacks(approval.clone()))
    }

    #[test]
    fn approved_after_fifty_minutes_of_heartbeats() {
        let approval = Timeline::new()
            .heartbeats_every(Duration::from_secs(300), Duration::from_secs(3000))
            .succeed_at(Duration::from_secs(3000), json!({"approved": true}));
        let exec = harness(approval).run_blocking(json!({"partitions": ["a", "b", "c"]}));
        exec.assert_succeeded();
        assert_eq!(exec.invocations("RunPartition"), 4);
        assert_eq!(
            exec.output()["processed"],
            json!([{"partition": "a"}, {"partition": "b"}, {"partition": "c"}])
        );
        // b backs off 5 s while a and c run (MaxConcurrency 2), then the approval takes 3,000 s
        assert_eq!(exec.elapsed(), Duration::from_secs(5 + 3000));

        // each attempt of the nested Task, with its Map index, retry number and times
        let runs = exec.state("RunPartition");
        let summary: Vec<(Option<usize>, u32, Option<&str>, u64)> = runs
            .attempts
            .iter()
            .map(|a| (a.within.map_index, a.retry, a.error.as_deref(), a.started.as_secs()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Some(0), 0, None, 0),
                (Some(1), 0, Some("States.TaskFailed"), 0),
                (Some(2), 0, None, 0),
                (Some(1), 1, None, 5)
            ]
        );
        assert_eq!(
            sfn_harness::container_env_var(
                &runs.attempts[3].parameters,
                Some("worker"),
                "PARTITION"
            ),
            Some("b")
        );
        assert_eq!(runs.visits.len(), 3);
        let notify = exec.state("NotifyTeam");
        assert_eq!(notify.attempts[0].within.branch, Some(1));
        assert_eq!(notify.results(), vec![&json!({"Payload": "sent"})]);
        let approval = exec.state("AwaitApproval").attempts;
        assert_eq!(
            (approval[0].started.as_secs(), approval[0].ended.unwrap().as_secs()),
            (5, 3005)
        );
        exec.assert_attempts("RunPartition", 4)
            .assert_output_of("Approved?", &exec.output_of("AwaitApproval").unwrap());
        let path = exec.path();
        assert_eq!(path.first(), Some(&"ProcessPartitions"));
        assert_eq!(&path[path.len() - 3..], ["AwaitApproval", "Approved?", "Done"]);
        sfn_harness::assert_execution_snapshot!("pipeline_approved", exec);
    }

    #[cfg(feature = "proptest")]
    proptest::proptest! {
        /// Whatever the approval task answers, the pipeline ends as its
        /// definition says: approved, failed with the task's error, or
        /// rejected after a timeout (a silence times out at the heartbeat).
        #[test]
        fn any_approval_schedule_ends_as_the_definition_says(schedule in sfn_harness::strategies::schedules(&["QueueGone"], 2)) {
            let exec = harness(Timeline::new())
                .on_task("AwaitApproval", schedule.clone().handler(|_| TaskReply::ok(json!({"approved": true}))))
                .run_blocking(json!({"partitions": ["a"]}));
            match schedule.0.first().unwrap_or(&sfn_harness::Scheduled::Succeed) {
                sfn_harness::Scheduled::Succeed => proptest::prop_assert!(exec.succeeded()),
                sfn_harness::Scheduled::Fail(e) => proptest::prop_assert_eq!(exec.error(), Some(e.as_str())),
                sfn_harness::Scheduled::TimeOut => proptest::prop_assert_eq!(exec.error(), Some("NotApproved")),
                sfn_harness::Scheduled::Silence => {
                    proptest::prop_assert_eq!(exec.error(), Some("NotApproved"));
                    proptest::prop_assert_eq!(exec.state("AwaitApproval").attempts[0].ended.unwrap().as_secs(), 600);
                }
            }
            proptest::prop_assert_eq!(exec.invocations("AwaitApproval"), 1);
        }
    }

    #[test]
    fn a_failed_assertion_shows_the_states_part_of_the_trace() {
        let approval =
            Timeline::new().succeed_at(Duration::from_secs(1), json!({"approved": true}));
        let exec = harness(approval).run_blocking(json!({"partitions": ["b"]}));
        let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exec.assert_attempts("RunPartition", 1);
        }))
        .unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("expected 1 attempts of 'RunPartition', got 2"), "{message}");
        assert!(message.contains("TaskFailed"), "{message}");
        assert!(!message.contains("AwaitApproval"), "only that state's lines: {message}");
    }

    #[test]
    fn heartbeats_that_stop_are_caught_as_a_timeout_and_rejected() {
        let approval =
            Timeline::new().heartbeats_every(Duration::from_secs(300), Duration::from_secs(1200));
        let exec = harness(approval).run_blocking(json!({"partitions": ["a"]}));
        exec.assert_failed_with("NotApproved");
        assert_eq!((exec.stop_ms() - exec.start_ms()) / 1000, 1200 + 600);
        assert!(exec.event_types().contains(&"TaskTimedOut".to_string()));
    }
}

fn find<'a>(events: &'a [(String, u64, u64)], ty: &str) -> &'a (String, u64, u64) {
    events.iter().find(|e| e.0 == ty).unwrap_or_else(|| panic!("no {ty} in {events:?}"))
}

#[test]
fn a_parallel_records_its_success_and_its_exit_follows_the_last_branch_event() {
    let exec = Harness::from_definition(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}}"#,
    )
    .unwrap()
    .run_blocking(json!({}));
    exec.assert_succeeded();
    let events = common::ids(&exec);
    let (_, succeeded, after) = find(&events, "ParallelStateSucceeded");
    let (_, exited, exited_after) = find(&events, "ParallelStateExited");
    let last_branch =
        events.iter().filter(|e| e.0 == "PassStateExited").map(|e| e.1).max().unwrap();
    assert_eq!(*after, last_branch);
    assert_eq!((*exited, *exited_after), (succeeded + 1, last_branch), "as AWS records it");
    assert_eq!(find(&events, "ExecutionSucceeded").2, *exited);
    // a failing branch records no ParallelStateSucceeded
    let failed = Harness::from_definition(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}]}}}"#,
    )
    .unwrap()
    .run_blocking(json!({}));
    assert!(!failed.event_types().iter().any(|t| t == "ParallelStateSucceeded"));
}

#[test]
fn a_maps_exit_follows_what_its_success_follows() {
    let inline = Harness::from_definition(
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}}"#,
    )
    .unwrap()
    .run_blocking(json!([1, 2]));
    let events = common::ids(&inline);
    let succeeded = find(&events, "MapStateSucceeded");
    let exited = find(&events, "MapStateExited");
    assert_eq!((exited.1, exited.2), (succeeded.1 + 1, succeeded.2), "{events:?}");
    assert_eq!(events[succeeded.2 as usize - 1].0, "MapIterationSucceeded");

    let distributed = Harness::from_definition(
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}}"#,
    )
    .unwrap()
    .run_blocking(json!([1, 2]));
    let events = common::ids(&distributed);
    let run_started = find(&events, "MapRunStarted").1;
    let run_succeeded = find(&events, "MapRunSucceeded");
    let succeeded = find(&events, "MapStateSucceeded");
    let exited = find(&events, "MapStateExited");
    // the recorded shape: 6 MapRunStarted, 7 MapRunSucceeded ← 6, 8 MapStateSucceeded ← 7, 9 MapStateExited ← 6
    assert_eq!(run_succeeded.2, run_started);
    assert_eq!(succeeded.2, run_succeeded.1);
    assert_eq!(exited.2, run_started, "{events:?}");
}

#[test]
fn recorded_parallel_executions_have_the_ids_we_record() {
    // the recordings' tooling dropped ParallelStateSucceeded; their ids still count it
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/conformance/cases/scenarios-test-base-scenarios-test-parallel-state-parallel-state.json",
    );
    let Ok(text) = std::fs::read_to_string(&path) else {
        common::skip_unless_required(
            "SFN_HARNESS_REQUIRE_CONFORMANCE",
            "no conformance cases beside the project (clone beside shared/)",
        );
        return;
    };
    let case: Value = serde_json::from_str(&text).unwrap();
    let exec = Harness::from_definition(&case["definition"].to_string())
        .unwrap()
        .run_blocking(case["input"].clone());
    let ours: Vec<(String, u64, u64)> =
        common::ids(&exec).into_iter().filter(|e| e.0 != "ParallelStateSucceeded").collect();
    let recorded = case["history"].as_array().unwrap();
    assert_eq!(ours.len(), recorded.len());
    for (o, r) in ours.iter().zip(recorded) {
        if let (Some(id), Some(prev)) = (r["id"].as_u64(), r["previousEventId"].as_u64()) {
            assert_eq!((o.0.as_str(), o.1, o.2), (r["type"].as_str().unwrap(), id, prev));
        }
    }
}
