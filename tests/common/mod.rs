//! Helpers shared by the integration tests.
// each test crate includes this module and uses part of it
#![allow(dead_code)]

use serde_json::Value;
use sfn_harness::Harness;

/// A test that needs what this machine lacks skips with one line saying
/// what to install, unless `var`=1 (as `.ci/run` sets it) makes it
/// mandatory: then it fails, saying why.
pub(crate) fn skip_unless_required(var: &str, why: &str) {
    assert!(std::env::var(var).as_deref() != Ok("1"), "{why}, but {var}=1 makes it required");
    eprintln!("SKIPPED: {why}");
}

/// A harness for the seed definition `path` with its `FargateTask` state
/// changed by `edit` (a timeout, a retrier, a command override …).
pub(crate) fn seed_with(path: &str, edit: impl FnOnce(&mut Value)) -> Harness {
    let mut def: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut def["States"]["FargateTask"]);
    Harness::from_definition(&def.to_string()).unwrap()
}

/// Makes the task's container sleep for a minute instead of working.
pub(crate) fn sleep_instead(task: &mut Value) {
    task["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"] =
        serde_json::json!(["python3", "-c", "import time; time.sleep(60)"]);
}

/// Writes what `SFN_HARNESS_MUTANT` names: `mutant` of the ASL file `def`.
pub(crate) fn write_mutant_file(
    def: &str,
    mutant: &sfn_harness::mutation::Mutant,
    file: &std::path::Path,
) {
    let original: Value = serde_json::from_str(&std::fs::read_to_string(def).unwrap()).unwrap();
    let content = serde_json::json!({
        "origin": {"file": std::fs::canonicalize(def).unwrap(), "machine": null, "definition": original},
        "mutant": mutant,
    });
    std::fs::write(file, content.to_string()).unwrap();
}

/// Runs this test binary's test `name` alone, in a process of its own, with `env`.
pub(crate) fn run_test_alone(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// `(type, id, previousEventId)` of each event.
pub(crate) fn ids(exec: &sfn_harness::Execution) -> Vec<(String, u64, u64)> {
    exec.history_json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["id"].as_u64().unwrap(),
                e["previousEventId"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Polls DescribeExecution until the execution is no longer RUNNING.
pub(crate) async fn wait_done(
    client: &aws_sdk_sfn::Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..500 {
        let d = client.describe_execution().execution_arn(arn).send().await.unwrap();
        if d.status.as_str() != "RUNNING" {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{arn} did not finish");
}

/// A local endpoint with the default configuration, and an aws-sdk-sfn
/// client of it.
#[cfg(feature = "endpoint")]
pub(crate) async fn serve_default() -> (sfn_harness::endpoint::server::Server, aws_sdk_sfn::Client)
{
    use sfn_harness::endpoint::{server, Endpoint, EndpointConfig};
    let srv =
        server::serve(Endpoint::new(EndpointConfig::default()), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let client = sfn_harness::sdk::sfn_client(&srv.url(), "us-east-1");
    (srv, client)
}

/// The AWS error code of an SDK error.
#[cfg(feature = "sdk")]
pub(crate) fn error_code<E: aws_sdk_sfn::error::ProvideErrorMetadata>(e: E) -> String {
    e.code().unwrap_or("").to_string()
}
