//! Around a Map's items: `ItemBatcher` hands the processor batches
//! (`{"Items": [...]}` with `BatchInput` beside them) of at most so many
//! items and bytes; `ResultWriter` writes a distributed Map's results to
//! S3 (a manifest and a result file, kept in the execution's
//! [`written`](crate::Execution::written) objects) and gives their place
//! instead of the results.

use super::error::{Exn, Failure};
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

/// Writes the results under `Prefix/<map run id>/` (a manifest and one
/// result file) and gives the Map's result: the map run and the manifest.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_results(
    w: &ResultWriter,
    run_arn: &str,
    run_id: &str,
    items: &[Value],
    outputs: Vec<Value>,
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
    let results: Vec<Value> = items
        .iter()
        .zip(&outputs)
        .enumerate()
        .map(|(i, (input, output))| {
            json!({
                "ExecutionArn": crate::arn::map_run_child(run_arn, i),
                "Input": crate::json::to_json_string(input),
                "InputDetails": {"Included": true},
                "Output": crate::json::to_json_string(output),
                "OutputDetails": {"Included": true},
                "Status": "SUCCEEDED",
            })
        })
        .collect();
    let results_text = crate::json::to_json_string(&Value::Array(results));
    let results_key = format!("{dir}/SUCCEEDED_0.json");
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": run_arn,
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": results_key, "Size": results_text.len()}]},
    });
    let manifest_key = format!("{dir}/manifest.json");
    env.write_s3(format!("{bucket}/{results_key}"), results_text);
    env.write_s3(format!("{bucket}/{manifest_key}"), crate::json::to_json_string(&manifest));
    Ok(
        json!({"MapRunArn": run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}),
    )
}
