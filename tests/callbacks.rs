//! Callbacks on the virtual clock: a scripted timeline or a handler that
//! sleeps with `sfn_harness::sleep` and answers through the in-process SDK
//! client; HeartbeatSeconds and TimeoutSeconds hold on the same clock, so
//! two hours cost milliseconds.

use serde_json::json;
use sfn_harness::{Execution, Harness, Status, TaskReply, Timeline};
use std::time::{Duration, Instant};

fn callback_machine(catch: &str) -> String {
    format!(
        r#"{{"StartAt": "Export", "States": {{
            "Export": {{"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                       "TimeoutSeconds": 10800, "HeartbeatSeconds": 600,
                       "Parameters": {{"QueueUrl": "q", "MessageBody": {{"TaskToken.$": "$$.Task.Token"}}}},
                       "Catch": [{{"ErrorEquals": ["{catch}"], "ResultPath": "$.error", "Next": "Late"}}],
                       "End": true}},
            "Late": {{"Type": "Pass", "End": true}}}}}}"#
    )
}

fn seconds(exec: &Execution) -> i64 {
    (exec.stop_ms() - exec.start_ms()) / 1000
}

/// When the event of type `ty` happened, in seconds after the start
/// (history timestamps are epoch seconds, as AWS's JSON protocol sends them).
fn at(exec: &Execution, ty: &str) -> Option<i64> {
    let h = exec.history_json();
    let first = h[0]["timestamp"].as_f64().unwrap();
    h.as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == ty)
        .map(|e| (e["timestamp"].as_f64().unwrap() - first).round() as i64)
}

#[test]
fn two_hours_of_heartbeats_then_success_take_no_real_time() {
    let started = Instant::now();
    let exec = Harness::from_definition(&callback_machine("Never"))
        .unwrap()
        .on_task("Export", |_| {
            TaskReply::Callbacks(
                Timeline::new()
                    .heartbeats_every(Duration::from_secs(300), Duration::from_secs(7200))
                    .succeed_at(Duration::from_secs(7200), json!({"rows": 42})),
            )
        })
        .run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!({"rows": 42}));
    assert_eq!(seconds(&exec), 7200);
    assert_eq!(at(&exec, "TaskSucceeded"), Some(7200));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn heartbeats_that_stop_time_out_at_the_heartbeat_as_states_timeout() {
    let stops = |_: &sfn_harness::TaskCall| {
        TaskReply::Callbacks(
            Timeline::new().heartbeats_every(Duration::from_secs(300), Duration::from_secs(1800)),
        )
    };
    // uncaught: TaskTimedOut, and the execution fails with States.Timeout
    let exec = Harness::from_definition(&callback_machine("Never"))
        .unwrap()
        .on_task("Export", stops)
        .run_blocking(json!({}));
    exec.assert_failed_with("States.Timeout");
    assert_eq!(seconds(&exec), 1800 + 600);
    assert_eq!(at(&exec, "TaskTimedOut"), Some(2400));
    // caught by either name
    for name in ["States.HeartbeatTimeout", "States.Timeout", "States.ALL"] {
        let exec = Harness::from_definition(&callback_machine(name))
            .unwrap()
            .on_task("Export", stops)
            .run_blocking(json!({}));
        exec.assert_succeeded();
        assert_eq!(exec.output()["error"]["Error"], "States.Timeout", "caught by {name}");
    }
    // States.TaskFailed does not match a timeout
    let exec = Harness::from_definition(&callback_machine("States.TaskFailed"))
        .unwrap()
        .on_task("Export", stops)
        .run_blocking(json!({}));
    exec.assert_failed_with("States.Timeout");
}

#[test]
fn silence_ends_at_the_timeout_or_stalls() {
    let silent = |_: &sfn_harness::TaskCall| TaskReply::Callbacks(Timeline::new());
    let no_heartbeat = callback_machine("Never").replace(r#""HeartbeatSeconds": 600,"#, "");
    let exec = Harness::from_definition(&no_heartbeat)
        .unwrap()
        .on_task("Export", silent)
        .run_blocking(json!({}));
    exec.assert_failed_with("States.Timeout");
    assert_eq!(seconds(&exec), 10800);

    let unbounded = no_heartbeat.replace(r#""TimeoutSeconds": 10800,"#, "");
    let exec = Harness::from_definition(&unbounded)
        .unwrap()
        .on_task("Export", silent)
        .run_blocking(json!({}));
    assert_eq!(exec.status(), Status::Running);
    assert!(exec.stalled().unwrap().contains("'Export'"), "{:?}", exec.stalled());
}

#[test]
fn a_scripted_failure_fails_the_task_with_its_error() {
    let exec = Harness::from_definition(&callback_machine("Never"))
        .unwrap()
        .on_task("Export", |_| {
            TaskReply::Callbacks(Timeline::new().heartbeat_at(Duration::from_secs(500)).fail_at(
                Duration::from_secs(900),
                "ExportFailed",
                Some("disk full"),
            ))
        })
        .run_blocking(json!({}));
    exec.assert_failed_with("ExportFailed");
    assert_eq!(exec.cause(), Some("disk full"));
    assert_eq!(seconds(&exec), 900);
}

#[test]
fn timelines_of_concurrent_iterations_overlap() {
    let def = r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 2,
        "ItemProcessor": {"StartAt": "Job", "States": {"Job": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "HeartbeatSeconds": 60,
            "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token", "n.$": "$"}}, "End": true}}},
        "End": true}}}"#;
    let exec = Harness::from_definition(def)
        .unwrap()
        .on_task("Job", |c| {
            let n = c.parameters["Payload"]["n"].as_u64().unwrap();
            TaskReply::Callbacks(
                Timeline::new()
                    .heartbeats_every(Duration::from_secs(50), Duration::from_secs(100 * n))
                    .succeed_at(Duration::from_secs(100 * n), json!(n)),
            )
        })
        .run_blocking(json!([1, 2, 3]));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!([1, 2, 3]));
    // two at a time: item 3 starts when item 1 ends at 100 s, ends at 400 s
    assert_eq!(seconds(&exec), 400);
}

#[cfg(feature = "sdk")]
mod through_the_sdk_client {
    use super::*;

    /// A handler that heartbeats every five minutes through the in-process
    /// `aws_sdk_sfn` client, on the virtual clock, for `minutes`, then answers.
    fn heartbeating(h: &Harness, minutes: u64) -> Harness {
        // a clone has a token registry of its own: the client is the clone's
        let h = h.clone();
        let sfn = h.sfn_client();
        h.on_task_async("Export", move |call| {
            let sfn = sfn.clone();
            async move {
                let token = call.token.clone().unwrap();
                for _ in 0..minutes / 5 {
                    sfn_harness::sleep(Duration::from_secs(300)).await;
                    sfn.send_task_heartbeat().task_token(&token).send().await.unwrap();
                }
                sfn.send_task_success()
                    .task_token(&token)
                    .output(r#"{"done": true}"#)
                    .send()
                    .await
                    .unwrap();
                TaskReply::AwaitCallback
            }
        })
    }

    #[tokio::test]
    async fn a_handler_heartbeats_for_two_hours_through_the_sdk_in_virtual_time() {
        let started = Instant::now();
        let h = heartbeating(&Harness::from_definition(&callback_machine("Never")).unwrap(), 120);
        let exec = h.run(json!({})).await;
        exec.assert_succeeded();
        assert_eq!(exec.output(), &json!({"done": true}));
        assert_eq!(seconds(&exec), 7200);
        assert_eq!(h.tokens().calls().heartbeat, 24);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_handler_that_sleeps_past_its_heartbeat_times_out_at_the_heartbeat() {
        let h = Harness::from_definition(&callback_machine("Never")).unwrap();
        let exec = h
            .clone()
            .on_task_async("Export", |_| async {
                sfn_harness::sleep(Duration::from_secs(3600)).await;
                TaskReply::ok(json!("too late"))
            })
            .run(json!({}))
            .await;
        exec.assert_failed_with("States.Timeout");
        assert_eq!(seconds(&exec), 600);
    }

    #[test]
    fn the_same_runs_blocking() {
        let h = Harness::from_definition(&callback_machine("Never")).unwrap();
        let exec = heartbeating(&h, 30).run_blocking(json!({}));
        exec.assert_succeeded();
        assert_eq!(seconds(&exec), 1800);
    }
}

/// Under tokio's paused test clock, what handlers wait on tokio time.
#[cfg(feature = "sdk")]
mod paused_tokio_clock {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_handler_sleeping_on_tokio_time_moves_the_virtual_clock_with_it() {
        let h = Harness::from_definition(&callback_machine("Never")).unwrap();
        let sfn = h.sfn_client();
        let exec = h
            .on_task_async("Export", move |call| {
                let sfn = sfn.clone();
                async move {
                    let token = call.token.clone().unwrap();
                    for _ in 0..4 {
                        tokio::time::sleep(Duration::from_secs(300)).await;
                        sfn.send_task_heartbeat().task_token(&token).send().await.unwrap();
                    }
                    TaskReply::ok(json!("after 20 minutes"))
                }
            })
            .run(json!({}))
            .await;
        exec.assert_succeeded();
        assert_eq!(seconds(&exec), 1200);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tokio_sleep_past_the_heartbeat_times_out_at_the_heartbeat() {
        let exec = Harness::from_definition(&callback_machine("Never"))
            .unwrap()
            .on_task_async("Export", |_| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                TaskReply::ok(json!("too late"))
            })
            .run(json!({}))
            .await;
        exec.assert_failed_with("States.Timeout");
        assert_eq!(seconds(&exec), 600);
        assert_eq!(at(&exec, "TaskTimedOut"), Some(600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_task_that_heartbeats_on_tokio_time_then_goes_silent() {
        // the handler hands the token to a tokio task and returns at once
        let h = Harness::from_definition(&callback_machine("Never")).unwrap();
        let sfn = h.sfn_client();
        let exec = h
            .on_task_async("Export", move |call| {
                let sfn = sfn.clone();
                async move {
                    let token = call.token.clone().unwrap();
                    tokio::spawn(async move {
                        for _ in 0..3 {
                            tokio::time::sleep(Duration::from_secs(300)).await;
                            let _ = sfn.send_task_heartbeat().task_token(&token).send().await;
                        }
                    });
                    TaskReply::AwaitCallback
                }
            })
            .run(json!({}))
            .await;
        exec.assert_failed_with("States.Timeout");
        assert_eq!(seconds(&exec), 900 + 600, "the last heartbeat at 900 s, then 600 s of silence");
    }
}

/// `run_blocking` inside a `#[tokio::test]`, with a handler that waits on
/// the runtime: it runs on a thread of its own instead of panicking.
#[tokio::test]
async fn run_blocking_works_inside_a_tokio_test() {
    let exec = Harness::from_definition(&callback_machine("Never"))
        .unwrap()
        .on_task_async("Export", |_| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::task::yield_now().await;
            TaskReply::ok(json!("done"))
        })
        .run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!("done"));
}

/// The execution's TimeoutSeconds holds while a task waits for its
/// (scripted) answer, whatever the task pattern.
#[test]
fn the_execution_times_out_while_a_task_waits() {
    for resource in [
        r#""Resource": "arn:aws:states:::lambda:invoke""#,
        r#""Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}}"#,
    ] {
        let def = format!(
            r#"{{"TimeoutSeconds": 30, "StartAt": "W", "States": {{
                "W": {{"Type": "Wait", "Seconds": 20, "Next": "T"}},
                "T": {{"Type": "Task", {resource}, "End": true}}}}}}"#
        );
        let exec = sfn_harness::Harness::from_definition(&def)
            .unwrap()
            .on_task("T", |_| {
                sfn_harness::TaskReply::Callbacks(
                    sfn_harness::Timeline::new()
                        .succeed_at(std::time::Duration::from_secs(20), serde_json::json!("late")),
                )
            })
            .run_blocking(serde_json::json!({}));
        assert_eq!(exec.status().as_str(), "TIMED_OUT", "{}", exec.trace());
        assert_eq!(exec.elapsed().as_secs(), 30);
        assert_eq!(exec.event_types().last().map(String::as_str), Some("ExecutionTimedOut"));
    }
}

/// What a scripted timeline sends shows in the token registry's counts, as
/// what an SDK client sends does.
#[test]
fn scripted_heartbeats_and_answers_are_counted() {
    use std::time::Duration;
    let def = r#"{"StartAt": "Export", "States": {"Export": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 600, "TimeoutSeconds": 9000, "End": true}}}"#;
    let timeline = sfn_harness::Timeline::new()
        .heartbeats_every(Duration::from_secs(300), Duration::from_secs(7200))
        .succeed_at(Duration::from_secs(7200), serde_json::json!({"rows": 42}));
    let beats = timeline
        .events()
        .iter()
        .filter(|(_, c)| matches!(c, sfn_harness::Callback::Heartbeat))
        .count();
    assert!(beats >= 20, "{beats}");
    let h = sfn_harness::Harness::from_definition(def)
        .unwrap()
        .on_task("Export", move |_| sfn_harness::TaskReply::Callbacks(timeline.clone()));
    h.run_blocking(serde_json::json!({})).assert_succeeded();
    let calls = h.tokens().calls();
    assert_eq!((calls.success, calls.failure, calls.heartbeat), (1, 0, beats));
}
