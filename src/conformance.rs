//! Runs the conformance cases recorded on AWS (`../shared/conformance/`):
//! reads only `name`, `definition`, `input` and `mocks`, and writes one
//! report line per case for `score.py`.

use crate::asl;
use crate::eval::{execute, RunConfig, Status};
use crate::integrations::Integrations;
use crate::mock::{MockEntry, MockedResponse};
use serde_json::{json, Value};
use std::sync::Arc;

/// Runs one case (a parsed case file) and returns its report line.
pub async fn run_case(case: &Value) -> Value {
    let name = case.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let harness_error = |msg: String| json!({"name": name, "status": "HARNESS_ERROR", "output": null, "error": null, "cause": null, "history": [], "message": msg});
    let Some(def) = case.get("definition") else {
        return harness_error("the case has no definition".into());
    };
    let sm = match asl::parse_value(def) {
        Ok(sm) => sm,
        Err(e) => return harness_error(e.to_string()),
    };
    let mut tasks = Integrations::new();
    if let Some(mocks) = case.get("mocks").and_then(Value::as_object) {
        for (state, list) in mocks {
            let entries: Result<Vec<MockEntry>, String> = list
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, e)| MockEntry::parse(e, &format!("/mocks/{state}/{i}")).map_err(|e| e.to_string()))
                .collect();
            match entries {
                Ok(entries) => tasks.insert(state.clone(), Arc::new(MockedResponse::in_order(state.clone(), entries))),
                Err(e) => return harness_error(format!("bad mock for {state}: {e}")),
            }
        }
    }
    let cfg = RunConfig { state_machine_name: name.clone(), ..RunConfig::default() };
    let input = case.get("input").cloned().unwrap_or(json!({}));
    let exec = execute(&sm, input, &tasks, &cfg).await;
    if let Some(msg) = exec.unsupported.clone().or_else(|| exec.stalled.clone()) {
        let mut r = harness_error(msg);
        r["history"] = exec.history_json();
        return r;
    }
    json!({
        "name": name,
        "status": exec.status.as_str(),
        "output": if exec.status == Status::Succeeded { exec.output.clone().unwrap_or(Value::Null) } else { Value::Null },
        "error": exec.error,
        "cause": exec.cause,
        "history": exec.history_json(),
    })
}

/// Summary of a conformance run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub cases: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub harness_errors: usize,
}

/// Runs every `*.json` case in `dir`; writes the report lines to `report`.
pub async fn run_dir(dir: &std::path::Path, report: &std::path::Path) -> std::io::Result<(Summary, Vec<Value>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('_')))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    let mut summary = Summary::default();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let line = match serde_json::from_str::<Value>(&text) {
            Ok(case) => {
                // a panic in one case must not end the run
                let fut = std::panic::AssertUnwindSafe(run_case(&case));
                match futures_catch(fut).await {
                    Ok(v) => v,
                    Err(msg) => json!({"name": case.get("name"), "status": "HARNESS_ERROR", "history": [], "message": format!("panic: {msg}")}),
                }
            }
            Err(e) => json!({"name": f.file_stem().map(|s| s.to_string_lossy().to_string()), "status": "HARNESS_ERROR", "history": [], "message": format!("not JSON: {e}")}),
        };
        summary.cases += 1;
        match line["status"].as_str() {
            Some("SUCCEEDED") => summary.succeeded += 1,
            Some("HARNESS_ERROR") => summary.harness_errors += 1,
            _ => summary.failed += 1,
        }
        lines.push(line);
    }
    let mut out = String::new();
    for l in &lines {
        out.push_str(&crate::history::to_json_string(l));
        out.push('\n');
    }
    std::fs::write(report, out)?;
    Ok((summary, lines))
}

/// Polls a future, turning a panic into an error message.
async fn futures_catch<F: std::future::Future<Output = Value>>(fut: std::panic::AssertUnwindSafe<F>) -> Result<Value, String> {
    use std::pin::pin;
    use std::task::Poll;
    let mut fut = pin!(fut.0);
    std::future::poll_fn(move |cx| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(p) => Poll::Ready(Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into()))),
    })
    .await
}
