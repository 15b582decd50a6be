//! The seed pipeline with its real worker: app.py in a container built from
//! Debian packages, calling back over HTTP. Needs Docker; without it the
//! tests skip, unless SFN_HARNESS_REQUIRE_DOCKER=1 (set by `.ci/run`).
// the serializing guard is held across awaits on purpose: one container test at a time
#![allow(clippy::await_holding_lock)]

use serde_json::{json, Value};
use sfn_harness::container_env_var;
use sfn_harness::containers::{docker_available, seed_worker_image, ContainerTasks, OWNER_LABEL};
use sfn_harness::workers::seed_worker;
use sfn_harness::{Execution, Harness, Status};
use std::sync::{Mutex, MutexGuard, OnceLock};

mod common;
use common::{seed_with, skip_unless_required, sleep_instead};

const SYNC: &str = "fixtures/seed/state-machine.asl.json";
const WFT: &str = "fixtures/seed/state-machine.wait-for-token.asl.json";

/// Container tests run one at a time, so each can check it left nothing behind.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn image() -> Option<String> {
    static IMAGE: OnceLock<Option<String>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if !docker_available() {
                skip_unless_required(
                    "SFN_HARNESS_REQUIRE_DOCKER",
                    "no Docker engine answers; the container tests need one",
                );
                return None;
            }
            match seed_worker_image() {
                Ok(tag) => Some(tag),
                Err(e) => {
                    let why = e.to_string();
                    let why = why.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
                    skip_unless_required(
                        "SFN_HARNESS_REQUIRE_DOCKER",
                        &format!("the seed worker image cannot be built here: {why}"),
                    );
                    None
                }
            }
        })
        .clone()
}

fn harness(def: &str, image: &str) -> Harness {
    Harness::from_file(def)
        .unwrap()
        .on_container_task("FargateTask", ContainerTasks::new().image("python-container", image))
}

fn no_containers_left() {
    assert!(
        sfn_harness::containers::wait_removed(std::time::Duration::from_secs(30)),
        "container removals did not finish"
    );
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label={OWNER_LABEL}={}", std::process::id()),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "containers outlived their test");
}

#[test]
fn the_fixture_worker_is_the_seed_app_unchanged() {
    let shared =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/worker/app.py");
    if let Ok(original) = std::fs::read(&shared) {
        assert_eq!(std::fs::read("fixtures/seed/worker/app.py").unwrap(), original);
    }
}

fn inputs_sent(exec: &Execution) -> Vec<&str> {
    exec.scheduled_parameters()
        .into_iter()
        .filter_map(|p| container_env_var(p, Some("python-container"), "INPUT"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_zero_runs_four_real_containers_on_both_definitions() {
    let _g = serial();
    let Some(image) = image() else { return };
    for def in [WFT, SYNC] {
        let started = std::time::Instant::now();
        let exec = harness(def, &image).run(json!({"input": {"number": 0}})).await;
        let wall = started.elapsed();
        exec.assert_succeeded();
        assert_eq!(exec.invocations("FargateTask"), 4);
        assert_eq!(exec.task_logs().len(), 4, "four container runs");
        assert_eq!(
            inputs_sent(&exec),
            [r#"{"number":0}"#, r#"{"number":1}"#, r#"{"number":2}"#, r#"{"number":3}"#]
        );
        assert_eq!(exec.output()["input"]["number"], 4);
        let result = exec.output()["result"].as_array().unwrap();
        assert_eq!(result.len(), 3);
        assert!(result.iter().all(|x| x.as_f64().is_some_and(|f| (0.0..1.0).contains(&f))));
        assert!(exec.task_logs().iter().all(|l| l.logs.contains("Container task success.")));
        let ran: i64 = exec.task_logs().iter().filter_map(|l| l.worker_ms).sum();
        eprintln!(
            "{def}: 4 invocations in {:.2} s wall; containers ran {:.2} s",
            wall.as_secs_f64(),
            ran as f64 / 1000.0
        );
    }
    no_containers_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_worker_sends_send_task_failure_and_the_execution_fails() {
    let _g = serial();
    let Some(image) = image() else { return };
    for def in [WFT, SYNC] {
        for bad in [json!(-1), json!("x")] {
            let h = harness(def, &image);
            let before = h.tokens().calls().failure;
            let exec = h.run(json!({"input": {"number": bad}})).await;
            exec.assert_failed_with("Container task failed.");
            assert_eq!(
                h.tokens().calls().failure - before,
                1,
                "SendTaskFailure reached the endpoint"
            );
            assert!(exec.task_logs()[0].logs.contains("Container task failed."));
        }
    }
    no_containers_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_number_is_diagnosed_or_fails_the_task() {
    let _g = serial();
    let Some(image) = image() else { return };
    // the task on its own (on AWS the Choice would fail first on {"input": {}})
    let exec =
        harness(WFT, &image).start_at("FargateTask").unwrap().run(json!({"input": {}})).await;
    assert_eq!(exec.status(), Status::Running);
    let why = exec.stalled().unwrap();
    assert!(
        why.contains("FargateTask")
            && why.contains("exited with code 1")
            && why.contains("KeyError: 'number'")
            && why.contains("365 days"),
        "{why}"
    );
    let exec =
        harness(SYNC, &image).start_at("FargateTask").unwrap().run(json!({"input": {}})).await;
    exec.assert_failed_with("States.TaskFailed");
    let task: Value = serde_json::from_str(exec.cause().unwrap()).unwrap();
    assert_eq!(task["Containers"][0]["ExitCode"], 1);
    no_containers_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_worker_model_and_the_real_container_agree() {
    let _g = serial();
    let Some(image) = image() else { return };
    for n in [json!(0), json!(2), json!(-3), json!("x"), json!(2.5), json!(true), json!(null)] {
        let input = json!({"input": {"number": n, "tag": "t"}});
        let model = Harness::from_file(WFT)
            .unwrap()
            .on_task("FargateTask", seed_worker)
            .start_at("FargateTask")
            .unwrap()
            .run(input.clone())
            .await;
        let real = harness(WFT, &image).start_at("FargateTask").unwrap().run(input).await;
        // both stop after the task (the next state is the Wait, then the Choice)
        assert_eq!(model.status(), real.status(), "{n}: {}\n{}", model.trace(), real.trace());
        assert_eq!(model.error(), real.error(), "{n}");
        assert_eq!(model.output()["input"], real.output()["input"], "{n}");
        assert_eq!(
            model.output()["result"].as_array().map(Vec::len),
            real.output()["result"].as_array().map(Vec::len),
            "{n}"
        );
    }
    no_containers_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_seconds_holds_for_a_real_container() {
    let _g = serial();
    let Some(image) = image() else { return };
    let started = std::time::Instant::now();
    let exec = seed_with(WFT, |task| {
        task["TimeoutSeconds"] = json!(2);
        sleep_instead(task);
    })
    .on_container_task("FargateTask", ContainerTasks::new().image("python-container", &image))
    .run(json!({"input": {"number": 0}}))
    .await;
    exec.assert_failed_with("States.Timeout");
    assert!(started.elapsed().as_secs() < 20, "the container was stopped at its timeout");
    no_containers_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dockerfile_directory_is_built_and_run() {
    let _g = serial();
    let Some(image) = image() else { return };
    // the real-world path, with a base the engine has (nothing can be pulled here)
    let dir = std::env::temp_dir().join(format!("sfn-harness-dockerfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {image}\nWORKDIR /workspace\nCOPY app.py .\nCMD [\"python3\", \"app.py\"]\n"),
    )
    .unwrap();
    std::fs::copy("fixtures/seed/worker/app.py", dir.join("app.py")).unwrap();
    let tasks = ContainerTasks::new().dockerfile("python-container", &dir).unwrap();
    let exec = Harness::from_file(WFT)
        .unwrap()
        .on_container_task("FargateTask", tasks)
        .run(json!({"input": {"number": 3}}))
        .await;
    exec.assert_succeeded();
    assert_eq!(exec.invocations("FargateTask"), 1);
    assert!(ContainerTasks::new()
        .dockerfile("c", std::env::temp_dir().join("no-such-dir-sfn"))
        .is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    no_containers_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_seconds_holds_for_a_real_container() {
    let _g = serial();
    let Some(image) = image() else { return };
    let exec = seed_with(WFT, |task| {
        task["HeartbeatSeconds"] = json!(2);
        sleep_instead(task);
    })
    .on_container_task("FargateTask", ContainerTasks::new().image("python-container", &image))
    .run(json!({"input": {"number": 0}}))
    .await;
    exec.assert_failed_with("States.Timeout");
    no_containers_left();
}

#[test]
fn the_cli_runs_the_seed_with_its_real_worker() {
    let _g = serial();
    let Some(image) = image() else { return };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sfn-harness"))
        // the template's task definition names the container: IMAGE alone is enough
        .args([
            "run",
            "fixtures/seed/StepFunctionsStack.wait-for-token.template.json",
            "--input",
            r#"{"input":{"number":2}}"#,
            "--container",
            &image,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("starting") && l.contains(&image)).count(),
        2,
        "{stderr}"
    );
    assert_eq!(
        stdout.matches("Container task success.").count(),
        2,
        "the containers' output is shown: {stdout}"
    );
    assert!(stdout.contains("=> SUCCEEDED"));
    // the CLI is its own process: wait for its background removals by polling docker
    for _ in 0..100 {
        let left = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", "label=sfn-harness.pid"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&left.stdout).trim().is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the CLI left containers behind");
}
