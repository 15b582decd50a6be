//! The Map state:
//! - inline: MapStateEntered, MapStateStarted {length}, per item
//!   MapIterationStarted / …Succeeded / …Failed {name, index} around its
//!   events, MapStateSucceeded or MapStateFailed, MapStateExited;
//! - distributed: MapRunStarted {mapRunArn} and MapRunSucceeded /
//!   MapRunFailed instead of the iterations (they run as child executions,
//!   whose events are not in the parent's history).
//!
//! Items run one after another.

use super::error::{Exn, Failure};
use super::io::{apply_io_path, eval_template, select, Ctx};
use super::nested::{conclude, failed, run_nested};
use super::{Env, Step};
use crate::asl::{MapSpec, State, Tolerance};
use crate::history::{Details, History, Payload};
use crate::json::shown;
use serde_json::Value;
use std::sync::Arc;

pub(super) async fn run(state: &State, spec: &MapSpec, raw: Payload, env: &mut Env<'_>) -> Result<Step, Exn> {
    let entered_ms = env.clock.now_ms();
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let ctx = Ctx::new(&exec, &vars, &state.name, entered_ms);
    let effective = apply_io_path(&state.input_path, raw.clone(), &ctx)?;
    let items = match &spec.items_path {
        None => effective.as_ref().clone(),
        Some(p) => select(p, &effective, &ctx).map(|c| c.into_owned()).ok_or_else(|| super::io::no_results(p))?,
    };
    let Value::Array(items) = items else {
        return Err(Failure::runtime(format!(
            "Map state input must be an array but was: {}",
            crate::json::to_json_string(&items)
        ))
        .into());
    };
    // MaxConcurrencyPath is checked before the Map starts; the tolerances after
    max_concurrency(spec, &effective, &ctx)?;
    let mut attempts = vec![0; state.retry.len()];
    loop {
        env.push(Details::MapStateStarted { length: items.len() })?;
        let tolerance = tolerance(spec, &effective, &ctx)?;
        let outcome = if spec.distributed {
            let label = spec.label.clone().unwrap_or_else(|| env.rng.uuid());
            let run_arn = format!("arn:aws:states:{}:{}:mapRun:{}/{label}:{}", env.region, env.account, env.exec.state_machine_name, env.rng.uuid());
            env.push(Details::MapRunStarted { map_run_arn: run_arn })?;
            // child executions: their events stay out of this history
            let parent = std::mem::replace(&mut env.history, History::with_capacity(16));
            let outcome = iterate(state, spec, &effective, &items, env, false, tolerance).await;
            env.history = parent;
            match &outcome {
                Ok(_) => {
                    env.push(Details::MapRunSucceeded)?;
                }
                Err(Exn::Fail(f)) => {
                    env.push(Details::MapRunFailed { error: f.error.clone(), cause: f.cause.clone() })?;
                }
                Err(Exn::Halt(_)) => {}
            }
            outcome
        } else {
            iterate(state, spec, &effective, &items, env, true, tolerance).await
        };
        let failure = match outcome {
            Ok(outputs) => {
                env.push(Details::MapStateSucceeded)?;
                return conclude(state, raw, Value::Array(outputs), &ctx, env);
            }
            Err(Exn::Fail(f)) => f,
            Err(halt) => return Err(halt),
        };
        if let Some(step) = failed(state, failure, &mut attempts, &raw, env, Details::MapStateFailed)? {
            return Ok(step);
        }
    }
}

/// Runs the item processor on each item (`record`: with iteration events).
/// An ItemSelector sees the Map's effective input as `$` and the item as
/// `$$.Map.Item.Value`.
async fn iterate(state: &State, spec: &MapSpec, effective: &Value, items: &[Value], env: &mut Env<'_>, record: bool, tolerance: Tolerated) -> Result<Vec<Value>, Exn> {
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let mut outputs = Vec::with_capacity(items.len());
    let mut failed = 0usize;
    for (index, item) in items.iter().enumerate() {
        if record {
            env.push(Details::MapIterationStarted { name: state.name.clone(), index })?;
        }
        let input = match &spec.item_selector {
            None => Arc::new(item.clone()),
            Some(t) => {
                let ctx = Ctx::new(&exec, &vars, &state.name, env.clock.now_ms()).map_item(index, item);
                Arc::new(eval_template(t, effective, &ctx, &mut env.rng)?)
            }
        };
        match run_nested(&spec.processor, input, env).await {
            Ok(v) => {
                if record {
                    env.push(Details::MapIterationSucceeded { name: state.name.clone(), index })?;
                }
                outputs.push(v);
            }
            Err(Exn::Fail(f)) => {
                if record {
                    env.push(Details::MapIterationFailed { name: state.name.clone(), index })?;
                }
                if !tolerance.tolerates_some() {
                    return Err(f.into());
                }
                failed += 1;
            }
            Err(halt) => return Err(halt),
        }
    }
    if tolerance.exceeded(failed, items.len()) {
        return Err(Failure::new(
            super::error::names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
            Some("The specified tolerance threshold for failed items was exceeded".into()),
        )
        .into());
    }
    Ok(outputs)
}

/// ToleratedFailureCount / ToleratedFailurePercentage, evaluated.
#[derive(Debug, Clone, Copy, Default)]
struct Tolerated {
    count: Option<u64>,
    percentage: Option<f64>,
}

impl Tolerated {
    fn tolerates_some(self) -> bool {
        self.count.is_some_and(|c| c > 0) || self.percentage.is_some_and(|p| p > 0.0)
    }

    fn exceeded(self, failed: usize, total: usize) -> bool {
        if failed == 0 {
            return false;
        }
        let by_count = self.count.is_some_and(|c| failed as u64 > c);
        let by_share = self.percentage.is_some_and(|p| failed as f64 * 100.0 / total.max(1) as f64 > p);
        by_count || by_share || (self.count.is_none() && self.percentage.is_none())
    }
}

/// A number, or a string holding one (as AWS reads these fields); `integer`
/// refuses fractions.
fn number(v: &Value, integer: bool) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (!integer || n.fract() == 0.0).then_some(n)
}

/// Checks MaxConcurrencyPath (items run one after another whatever it says).
fn max_concurrency(spec: &MapSpec, input: &Value, ctx: &Ctx) -> Result<(), Failure> {
    let Some(p) = &spec.max_concurrency_path else { return Ok(()) };
    let v = select(p, input, ctx).ok_or_else(|| super::io::no_results(p))?;
    if number(&v, true).is_none_or(|n| n < 0.0) {
        let shown = shown(&v);
        return Err(Failure::runtime(format!(
            "The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {}",
            p.as_str()
        )));
    }
    Ok(())
}

/// Evaluates the tolerances, with AWS's messages.
fn tolerance(spec: &MapSpec, input: &Value, ctx: &Ctx) -> Result<Tolerated, Failure> {
    let resolve = |t: &Tolerance, field: &str, kind: &str| -> Result<f64, Failure> {
        match t {
            Tolerance::Literal(n) => Ok(*n),
            Tolerance::Path(p) => {
                let v = select(p, input, ctx).ok_or_else(|| super::io::no_results(p))?;
                let n = number(&v, kind == "integer");
                n.ok_or_else(|| {
                    Failure::runtime(format!("The {field}Path field refers to value \"{}\" which is not a valid {kind}: {}", shown(&v), p.as_str()))
                })
            }
        }
    };
    let count = match &spec.tolerated_count {
        None => None,
        Some(t) => {
            let n = resolve(t, "ToleratedFailureCount", "integer")?;
            if n < 0.0 {
                return Err(Failure::runtime("ToleratedFailureCount cannot be negative."));
            }
            Some(n as u64)
        }
    };
    let percentage = match &spec.tolerated_percentage {
        None => None,
        Some(t) => {
            let p = resolve(t, "ToleratedFailurePercentage", "float")?;
            if !(0.0..=100.0).contains(&p) {
                return Err(Failure::runtime("ToleratedFailurePercentage must be between 0 and 100."));
            }
            Some(p)
        }
    };
    Ok(Tolerated { count, percentage })
}
