//! The Map state:
//! - inline: MapStateEntered, MapStateStarted {length}, per item
//!   MapIterationStarted / …Succeeded / …Failed {name, index} around its
//!   events, MapStateSucceeded or MapStateFailed, MapStateExited;
//! - distributed: MapRunStarted {mapRunArn} and MapRunSucceeded /
//!   MapRunFailed instead of the iterations (they run as child executions,
//!   whose events are not in the parent's history).
//!
//! Iterations run concurrently on the virtual clock, each a fiber of its
//! own, at most MaxConcurrency at once; a failure past the tolerance aborts
//! the running ones (MapIterationAborted).

use super::error::{Exn, Failure};
use super::io::{apply_io_path, eval_dynamic, select, Ctx};
use super::jsonata::{eval, eval_count, eval_query, unexpected, States};
use super::nested::{abort_events, conclude, failed, run_nested};
use super::sched::{join, Place};
use super::{Env, Step};
use crate::asl::{Amount, MapSpec, Query, QueryLanguage, State};
use crate::history::{Details, Payload};
use crate::json::shown;
use crate::rng::Rng;
use serde_json::Value;
use std::sync::Arc;

pub(super) async fn run(
    state: &State,
    spec: &MapSpec,
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let entered_ms = env.now_ms();
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let ctx = Ctx::new(&exec, &vars, &state.name, entered_ms);
    let jsonata = state.ql == QueryLanguage::Jsonata;
    let effective =
        if jsonata { raw.clone() } else { apply_io_path(&state.input_path, raw.clone(), &ctx)? };
    // an ItemReader's items (ItemsPath does not apply to them); its failure
    // is the map run's, recorded once the run started
    let mut read_failure = None;
    let items = match &spec.item_reader {
        Some(r) => match super::item_reader::read(r, &effective, &ctx, env) {
            Ok(items) => Value::Array(items),
            Err(Exn::Fail(f)) => {
                read_failure = Some(f);
                Value::Array(Vec::new())
            }
            Err(halt) => return Err(halt),
        },
        None => match (&spec.items, &spec.items_path) {
            (Some(q), _) => match eval_query(q, &States::input(&effective, &ctx), &mut env.rng) {
                Ok(v @ Value::Array(_)) => v,
                Ok(other) => match q {
                    Query::Expr(e) => {
                        return Err(no_items(state, unexpected(e, "array", &other), env))
                    }
                    _ => other,
                },
                Err(f) => return Err(no_items(state, f, env)),
            },
            (None, None) => effective.as_ref().clone(),
            (None, Some(p)) => select(p, &effective, &ctx)
                .map(|c| c.into_owned())
                .ok_or_else(|| super::io::no_results(p))?,
        },
    };
    let Value::Array(items) = items else {
        let msg = format!(
            "Map state input must be an array but was: {}",
            crate::json::to_json_string(&items)
        );
        return Err(no_items(
            state,
            if jsonata { Failure::query("", msg) } else { Failure::runtime(msg) },
            env,
        ));
    };
    let items = match &spec.item_batcher {
        Some(b) => super::map_run::batches(b, state, spec, items, &effective, &ctx, env)?,
        None => items,
    };
    // MaxConcurrencyPath is checked before the Map starts; the tolerances after
    let limit = max_concurrency(spec, &effective, &ctx, &mut env.rng)?;
    let mut attempts = vec![0; state.retry.len()];
    loop {
        // with an ItemReader the map run reads the items: AWS records length 0
        let length = if spec.item_reader.is_some() { 0 } else { items.len() };
        env.push(Details::MapStateStarted { length })?;
        let tolerance = tolerance(spec, &effective, &ctx, &mut env.rng)?;
        let run = Run { state, spec, effective: &effective, items: &items, limit, tolerance };
        let mut map_run = None;
        let outcome = if spec.distributed {
            let label = spec.label.clone().unwrap_or_else(|| env.rng.uuid());
            let run_id = env.rng.uuid();
            let rest = format!("{}/{label}:{run_id}", env.exec.state_machine_name);
            let run_arn = crate::arn::states(&env.region, &env.account, "mapRun", &rest);
            map_run = Some((run_arn.clone(), run_id));
            env.push(Details::MapRunStarted { map_run_arn: run_arn })?;
            // child executions: their events stay out of this history
            let mut children = env.detached();
            let outcome = match &read_failure {
                Some(f) => Err(f.clone().into()),
                None => iterate(&run, &mut children, false).await,
            };
            match &outcome {
                Ok(_) => {
                    env.push_aside(Details::MapRunSucceeded)?;
                }
                Err(Exn::Fail(f)) => {
                    env.push(Details::MapRunFailed {
                        error: f.error.clone(),
                        cause: f.cause.clone(),
                    })?;
                }
                Err(Exn::Halt(_)) => {}
            }
            outcome
        } else if let Some(f) = &read_failure {
            Err(f.clone().into())
        } else {
            iterate(&run, env, true).await
        };
        let failure = match outcome {
            Ok(outputs) => {
                let result = match (&spec.result_writer, &map_run) {
                    (Some(w), Some((arn, id))) => super::map_run::write_results(
                        w, arn, id, &items, outputs, &effective, &ctx, env,
                    )?,
                    _ => Value::Array(outputs),
                };
                env.push_aside(Details::MapStateSucceeded)?;
                return conclude(state, raw, result, &ctx, env);
            }
            Err(Exn::Fail(f)) => f,
            Err(halt) => return Err(halt),
        };
        if let Some(step) =
            failed(state, failure, &mut attempts, &raw, env, Details::MapStateFailed).await?
        {
            return Ok(step);
        }
    }
}

/// The Map fails before it starts: its items could not be read (the
/// failure, then MapStateFailed, are recorded).
fn no_items(state: &State, f: Failure, env: &mut Env<'_>) -> Exn {
    let f = match env.failed_in(state, f) {
        Ok(f) => f,
        Err(halt) => return halt.into(),
    };
    match env.push(Details::MapStateFailed) {
        Ok(_) => f.into(),
        Err(halt) => halt.into(),
    }
}

/// One run of a Map's items.
struct Run<'r> {
    state: &'r State,
    spec: &'r MapSpec,
    effective: &'r Value,
    items: &'r [Value],
    /// MaxConcurrency (0: all at once).
    limit: usize,
    tolerance: Tolerated,
}

/// Runs the item processor on each item, each iteration a fiber of its own,
/// at most `limit` at once (`record`: with iteration events). An
/// ItemSelector sees the Map's effective input as `$` and the item as
/// `$$.Map.Item.Value`. A failure past the tolerance aborts the iterations
/// still running.
async fn iterate(run: &Run<'_>, env: &mut Env<'_>, record: bool) -> Result<Vec<Value>, Exn> {
    let sim = env.sim.clone();
    let parent = env.fiber;
    let total = run.items.len();
    let mut failures = 0usize;
    let joined = join(
        &sim,
        parent,
        |index| Place::Iteration { state: run.state.name.clone(), index },
        total,
        run.limit,
        |index, fiber| {
            let mut child = env.child(fiber);
            Box::pin(async move { iteration(run, index, &mut child, record).await })
        },
        |r| match r {
            Ok(_) => false,
            Err(Exn::Halt(_)) => true,
            Err(Exn::Fail(_)) => {
                failures += 1;
                !run.tolerance.tolerates_some() || run.tolerance.exceeded(failures, total)
            }
        },
    )
    .await;
    abort_events(&joined.aborted, record.then_some(&run.state.name), env)?;
    let mut outputs = Vec::with_capacity(total);
    let mut failed = 0;
    for r in joined.results {
        match r {
            Some(Ok(v)) => outputs.push(v),
            Some(Err(Exn::Fail(f))) if !run.tolerance.tolerates_some() => return Err(f.into()),
            Some(Err(Exn::Fail(_))) => failed += 1,
            Some(Err(halt)) => return Err(halt),
            None => {}
        }
    }
    if run.tolerance.exceeded(failed, total) {
        return Err(Failure::new(
            super::error::names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
            Some("The specified tolerance threshold for failed items was exceeded".into()),
        )
        .into());
    }
    Ok(outputs)
}

/// One item's iteration, with its events.
async fn iteration(
    run: &Run<'_>,
    index: usize,
    env: &mut Env<'_>,
    record: bool,
) -> Result<Value, Exn> {
    let name = &run.state.name;
    if record {
        env.push(Details::MapIterationStarted { name: name.clone(), index })?;
    }
    let item = &run.items[index];
    // batches were shaped (their items selected) before the run
    let input = match run.spec.item_batcher {
        Some(_) => Arc::new(item.clone()),
        None => Arc::new(select_item(run.state, run.spec, index, item, run.effective, env)?),
    };
    let ended = run_nested(&run.spec.processor, input, env).await;
    if record {
        match &ended {
            Ok(_) => env.push(Details::MapIterationSucceeded { name: name.clone(), index })?,
            Err(Exn::Fail(_)) => {
                env.push(Details::MapIterationFailed { name: name.clone(), index })?
            }
            Err(Exn::Halt(_)) => 0,
        };
    }
    ended
}

/// An item as its iteration gets it: through the ItemSelector, which sees
/// the Map's effective input (`$`, `$states.input`) and the item
/// (`$$.Map.Item`).
pub(super) fn select_item(
    state: &State,
    spec: &MapSpec,
    index: usize,
    item: &Value,
    effective: &Value,
    env: &mut Env<'_>,
) -> Result<Value, Failure> {
    let Some(selector) = &spec.item_selector else {
        return Ok(item.clone());
    };
    let (exec, vars) = (env.exec.clone(), env.vars.clone());
    let ctx = Ctx::new(&exec, &vars, &state.name, env.now_ms()).map_item(index, item);
    eval_dynamic(selector, effective, &ctx, &mut env.rng)
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
        let by_share =
            self.percentage.is_some_and(|p| failed as f64 * 100.0 / total.max(1) as f64 > p);
        by_count || by_share || (self.count.is_none() && self.percentage.is_none())
    }
}

/// A number, or a string holding one (as AWS reads these fields); `integer`
/// refuses fractions.
pub(super) fn number(v: &Value, integer: bool) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (!integer || n.fract() == 0.0).then_some(n)
}

/// How many iterations run at once in an inline Map, at most (AWS's quota).
const INLINE_CONCURRENCY: usize = 40;
/// How many child executions a distributed Map runs at once, at most.
const DISTRIBUTED_CONCURRENCY: usize = 10_000;

/// MaxConcurrency, or MaxConcurrencyPath read from the input (0: as many
/// as the mode allows: 40 inline, 10,000 distributed).
fn max_concurrency(
    spec: &MapSpec,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<usize, Failure> {
    let cap = if spec.distributed { DISTRIBUTED_CONCURRENCY } else { INLINE_CONCURRENCY };
    let limit = |n: usize| if n == 0 { cap } else { n.min(cap) };
    if let Some(e) = &spec.max_concurrency_expr {
        return Ok(limit(
            usize::try_from(eval_count(e, &States::input(input, ctx), rng)?).unwrap_or(usize::MAX),
        ));
    }
    let Some(p) = &spec.max_concurrency_path else {
        return Ok(limit(
            spec.max_concurrency.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        ));
    };
    let v = select(p, input, ctx).ok_or_else(|| super::io::no_results(p))?;
    match number(&v, true) {
        Some(n) if n >= 0.0 => Ok(limit(n as usize)),
        _ => {
            let shown = shown(&v);
            Err(Failure::runtime(format!(
                "The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {}",
                p.as_str()
            )))
        }
    }
}

/// A number given literally, by path (input, context or variable) or by
/// a JSONata expression; `kind` is `integer` or `float`, as AWS's messages
/// name them.
pub(super) fn amount(
    a: &Amount,
    field: &str,
    kind: &str,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<f64, Failure> {
    match a {
        Amount::Literal(n) => Ok(*n),
        Amount::Expr(e) => {
            let v = eval(e, &States::input(input, ctx), rng)?;
            number(&v, kind == "integer").ok_or_else(|| {
                unexpected(e, if kind == "integer" { "integer" } else { "number" }, &v)
            })
        }
        Amount::Path(p) => {
            let v = select(p, input, ctx).ok_or_else(|| super::io::no_results(p))?;
            let n = number(&v, kind == "integer");
            n.ok_or_else(|| {
                Failure::runtime(format!(
                    "The {field}Path field refers to value \"{}\" which is not a valid {kind}: {}",
                    shown(&v),
                    p.as_str()
                ))
            })
        }
    }
}

/// Evaluates the tolerances, with AWS's messages.
fn tolerance(
    spec: &MapSpec,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Tolerated, Failure> {
    let mut resolve = |t: &Amount, field: &str, kind: &str| amount(t, field, kind, input, ctx, rng);
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
                return Err(Failure::runtime(
                    "ToleratedFailurePercentage must be between 0 and 100.",
                ));
            }
            Some(p)
        }
    };
    Ok(Tolerated { count, percentage })
}
