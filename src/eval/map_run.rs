//! Around a Map's items: `ItemBatcher` hands the processor batches
//! (`{"Items": [...]}` with `BatchInput` beside them) of at most so many
//! items and bytes; `ResultWriter` writes a distributed Map's results to
//! S3 (a manifest and a result file, kept in the execution's
//! [`written`](crate::Execution::written) objects) and gives their place
//! instead of the results.

use super::error::{Exn, Failure};
use super::execution::{Execution, MapRun, Status};
use super::io::{eval_dynamic, Ctx};
use super::map::{amount, select_item};
use super::Env;
use crate::asl::{ItemBatcher, MapSpec, ResultWriter, State};
use serde_json::{json, Map, Value};

/// AWS's quota for one batch's input.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The items (each through the ItemSelector) grouped into batches.
pub(super) fn batches(
    b: &ItemBatcher,
    state: &State,
    spec: &MapSpec,
    items: Vec<Value>,
    effective: &Value,
    ctx: &Ctx,
    env: &mut Env<'_>,
) -> Result<Vec<Value>, Exn> {
    let limit = |a: &Option<crate::asl::Amount>,
                 field: &str,
                 env: &mut Env<'_>|
     -> Result<usize, Failure> {
        match a {
            None => Ok(0),
            Some(a) => {
                let n = amount(a, field, "integer", effective, ctx, &mut env.rng)?;
                if n < 0.0 {
                    return Err(Failure::runtime(format!("{field} must be a positive integer.")));
                }
                Ok(n as usize)
            }
        }
    };
    let max_items = limit(&b.max_items, "MaxItemsPerBatch", env)?;
    let max_bytes = match limit(&b.max_bytes, "MaxInputBytesPerBatch", env)? {
        0 => MAX_BATCH_BYTES,
        n => n.min(MAX_BATCH_BYTES),
    };
    let batch_input = match &b.batch_input {
        Some(d) => Some(eval_dynamic(d, effective, ctx, &mut env.rng)?),
        None => None,
    };
    let mut out = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let item = select_item(state, spec, i, item, effective, env)?;
        let size = crate::json::to_json_string(&item).len() + 1;
        let full = (max_items > 0 && current.len() >= max_items)
            || (!current.is_empty() && bytes + size > max_bytes);
        if full {
            out.push(batch(std::mem::take(&mut current), &batch_input));
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(batch(current, &batch_input));
    }
    Ok(out)
}

fn batch(items: Vec<Value>, batch_input: &Option<Value>) -> Value {
    let mut m = Map::new();
    if let Some(b) = batch_input {
        m.insert("BatchInput".into(), b.clone());
    }
    m.insert("Items".into(), Value::Array(items));
    Value::Object(m)
}

/// Writes the results under `Prefix/<map run id>/` (a manifest, and one
/// result file per status that has executions: SUCCEEDED, FAILED (failed,
/// timed out and aborted child executions), PENDING (items whose child
/// execution never started)) and gives the Map's result: the map run and
/// the manifest.
pub(super) fn write_results(
    w: &ResultWriter,
    run: &MapRun,
    run_id: &str,
    effective: &Value,
    ctx: &Ctx,
    env: &mut Env<'_>,
) -> Result<Value, Exn> {
    let params = eval_dynamic(&w.parameters, effective, ctx, &mut env.rng)?;
    let bucket = params.get("Bucket").and_then(Value::as_str).unwrap_or_default().to_string();
    let prefix = params
        .get("Prefix")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let dir = if prefix.is_empty() { run_id.to_string() } else { format!("{prefix}/{run_id}") };
    let mut files: [(&str, Vec<Value>); 3] =
        [("FAILED", Vec::new()), ("PENDING", Vec::new()), ("SUCCEEDED", Vec::new())];
    for e in run.executions() {
        let file = match e.status() {
            Status::Succeeded => 2,
            Status::Running => 1,
            _ => 0,
        };
        files[file].1.push(result_entry(e));
    }
    let mut manifest_files = Map::new();
    for (status, entries) in files {
        let mut listed = Vec::new();
        if !entries.is_empty() {
            let text = crate::json::to_json_string(&Value::Array(entries));
            let key = format!("{dir}/{status}_0.json");
            listed.push(json!({"Key": key, "Size": text.len()}));
            env.write_s3(format!("{bucket}/{key}"), text);
        }
        manifest_files.insert(status.into(), Value::Array(listed));
    }
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": run.map_run_arn(),
        "ResultFiles": manifest_files,
    });
    let manifest_key = format!("{dir}/manifest.json");
    env.write_s3(format!("{bucket}/{manifest_key}"), crate::json::to_json_string(&manifest));
    Ok(
        json!({"MapRunArn": run.map_run_arn(), "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}),
    )
}

/// A child execution as a result file lists it (DescribeExecution's fields:
/// Output for one that succeeded, Error and Cause for one that failed).
fn result_entry(e: &Execution) -> Value {
    let mut m = Map::new();
    m.insert("ExecutionArn".into(), json!(e.execution_arn()));
    m.insert("Input".into(), json!(crate::json::to_json_string(e.input())));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(e.name()));
    if let Some(o) = e.output_payload() {
        m.insert("Output".into(), json!(crate::json::to_json_string(o)));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(err) = e.error() {
        m.insert("Error".into(), json!(err));
    }
    if let Some(c) = e.cause() {
        m.insert("Cause".into(), json!(c));
    }
    m.insert("RedriveCount".into(), json!(0));
    m.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
    m.insert("StartDate".into(), json!(crate::time::format_timestamp(e.start_ms())));
    m.insert("StateMachineArn".into(), json!(e.state_machine_arn()));
    m.insert("Status".into(), json!(e.status().as_str()));
    m.insert("StopDate".into(), json!(crate::time::format_timestamp(e.stop_ms())));
    Value::Object(m)
}
