//! A distributed Map's runs as the API shows them: DescribeMapRun,
//! ListMapRuns, and ListExecutions with `mapRunArn`. When an execution
//! ends, each of its map runs (and theirs, at any depth) is kept with its
//! child executions, which DescribeExecution and GetExecutionHistory serve
//! as executions of their own.

use super::{err, no_execution, page, required, with_next, ApiError, ApiResult, Endpoint};
use super::{ExecRecord, Revision, Store};
use crate::eval::{Execution, MapRun, Status};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

/// One map run, once the execution that started it ended.
pub(super) struct MapRunRecord {
    arn: String,
    /// The execution that started it.
    execution_arn: String,
    /// Its child executions' state machine (`MACHINE/LABEL`).
    state_machine_arn: String,
    start: f64,
    stop: f64,
    status: Status,
    total: usize,
    /// Child executions by status, as DescribeMapRun counts them.
    counts: [(Status, usize); 4],
    results_written: usize,
    children: Vec<String>,
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Keeps the map runs `runs` of execution `parent` (and the runs their
/// children started) with their child executions, as records of their own.
pub(super) fn keep(store: &mut Store, parent: &str, runs: Vec<MapRun>, machine: &Revision) {
    for mut run in runs {
        let mut rec = MapRunRecord {
            arn: run.map_run_arn().to_string(),
            execution_arn: parent.to_string(),
            state_machine_arn: run
                .executions()
                .first()
                .map_or_else(String::new, |c| c.state_machine_arn().to_string()),
            start: secs(run.start_ms()),
            stop: secs(run.stop_ms()),
            status: run.status(),
            total: run.total(),
            counts: [Status::Succeeded, Status::Failed, Status::TimedOut, Status::Aborted]
                .map(|s| (s, run.count(s))),
            results_written: if run.results_written { run.executions().len() } else { 0 },
            children: Vec::new(),
        };
        for mut child in std::mem::take(&mut run.executions) {
            let nested = std::mem::take(&mut child.map_runs);
            let arn = child.execution_arn().to_string();
            rec.children.push(arn.clone());
            keep_child(store, child, &rec.arn, machine);
            keep(store, &arn, nested, machine);
        }
        store.map_runs.insert(rec.arn.clone(), rec);
    }
}

/// A map run's child execution as an execution record.
fn keep_child(store: &mut Store, child: Execution, map_run: &str, machine: &Revision) {
    let arn = child.execution_arn().to_string();
    let bytes = child.history.retained_bytes();
    let record = ExecRecord {
        arn: arn.clone(),
        sm_arn: child.state_machine_arn().to_string(),
        machine: machine.clone(),
        version_arn: None,
        alias_arn: None,
        name: child.name().to_string(),
        input: crate::json::to_json_string(child.input()),
        status: child.status(),
        start: secs(child.start_ms()),
        stop: Some(secs(child.stop_ms())),
        done: Some(child),
        live: Arc::new(Mutex::new(Vec::new())),
        abort: None,
        stop_reason: None,
        bytes,
        test_case: None,
        redrive_count: 0,
        redrive_date: None,
        map_run_arn: Some(map_run.to_string()),
    };
    store.executions.insert(arn.clone(), record);
    store.order.push_back(arn);
    store.retained += bytes;
}

impl Store {
    /// Forgets the map runs of an execution that is forgotten.
    pub(super) fn forget_map_runs_of(&mut self, execution: &str) {
        self.map_runs.retain(|_, r| r.execution_arn != execution);
    }
}

fn no_map_run(arn: &str) -> ApiError {
    err("ResourceNotFound", format!("Map Run Does Not Exist: '{arn}'"))
}

/// `{pending, running, succeeded, failed, timedOut, aborted, total,
/// resultsWritten, …}` of DescribeMapRun.
fn counts(r: &MapRunRecord) -> Value {
    let n = |s: Status| r.counts.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n);
    let started: usize = r.counts.iter().map(|(_, n)| n).sum();
    json!({
        "pending": r.total.saturating_sub(started),
        "running": 0,
        "succeeded": n(Status::Succeeded),
        "failed": n(Status::Failed),
        "timedOut": n(Status::TimedOut),
        "aborted": n(Status::Aborted),
        "total": r.total,
        "resultsWritten": r.results_written,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    })
}

impl Endpoint {
    pub(super) fn describe_map_run(&self, req: &Value) -> ApiResult {
        let arn = required(req, "mapRunArn")?;
        let store = self.store();
        let r = store.map_runs.get(arn).ok_or_else(|| no_map_run(arn))?;
        let status = match r.status {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            _ => "ABORTED",
        };
        let mut m = Map::new();
        m.insert("mapRunArn".into(), json!(r.arn));
        m.insert("executionArn".into(), json!(r.execution_arn));
        m.insert("status".into(), json!(status));
        m.insert("startDate".into(), json!(r.start));
        m.insert("stopDate".into(), json!(r.stop));
        m.insert("maxConcurrency".into(), json!(0));
        m.insert("toleratedFailurePercentage".into(), json!(0.0));
        m.insert("toleratedFailureCount".into(), json!(0));
        m.insert("itemCounts".into(), counts(r));
        m.insert("executionCounts".into(), counts(r));
        m.insert("redriveCount".into(), json!(0));
        Ok(Value::Object(m))
    }

    pub(super) fn list_map_runs(&self, req: &Value) -> ApiResult {
        let arn = super::Endpoint::execution_arn(req)?;
        let store = self.store();
        if !store.executions.contains_key(&arn) {
            return Err(no_execution(&arn));
        }
        let runs: Vec<&MapRunRecord> =
            store.map_runs.values().filter(|r| r.execution_arn == arn).collect();
        let (runs, next) = page(&runs, req, 100)?;
        let items: Vec<Value> = runs
            .iter()
            .map(|r| {
                json!({"executionArn": r.execution_arn, "mapRunArn": r.arn,
                       "stateMachineArn": r.state_machine_arn, "startDate": r.start, "stopDate": r.stop})
            })
            .collect();
        Ok(with_next(json!({"mapRuns": items}), next))
    }

    /// The child execution ARNs of map run `arn`, newest first (as
    /// ListExecutions lists them).
    pub(super) fn map_run_children(&self, arn: &str) -> Result<Vec<String>, ApiError> {
        let store = self.store();
        let r = store.map_runs.get(arn).ok_or_else(|| no_map_run(arn))?;
        Ok(r.children.iter().rev().cloned().collect())
    }
}
