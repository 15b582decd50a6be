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

use super::error::{Exn, Failure, Halt};
use super::execution::{Execution, MapRun, Outcome, Status};
use super::io::ExecInfo;
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
        if !spec.distributed {
            // each iteration records its Started and Succeeded (or Failed)
            // and what a pass through the processor does, and a few close
            // the Map and the execution: room made once, so the history
            // does not grow by copying while the iterations run
            let each = 2 + spec.processor.events_per_pass();
            env.reserve_events(items.len().saturating_mul(each).saturating_add(8));
        }
        let tolerance = tolerance(spec, &effective, &ctx, &mut env.rng)?;
        let run = Run { state, spec, effective: &effective, items: &items, limit, tolerance };
        let mut map_run: Option<(MapRun, String)> = None;
        let outcome = if spec.distributed {
            let label = spec.label.clone().unwrap_or_else(|| env.rng.uuid());
            let run_id = env.rng.uuid();
            let machine = format!("{}/{label}", env.exec.state_machine_name);
            let run_arn = crate::arn::states(
                &env.cfg.region,
                &env.cfg.account,
                "mapRun",
                &format!("{machine}:{run_id}"),
            );
            env.push(Details::MapRunStarted { map_run_arn: run_arn.clone() })?;
            // child executions: their events go to histories of their own
            let children = Children::new(env, machine);
            let outcome = match &read_failure {
                Some(f) => Err(f.clone().into()),
                None => iterate(&run, env, Some(&children)).await,
            };
            let status = match &outcome {
                Ok(_) => {
                    env.push_aside(Details::MapRunSucceeded)?;
                    Status::Succeeded
                }
                Err(Exn::Fail(f)) => {
                    env.push(Details::MapRunFailed {
                        error: f.error.clone(),
                        cause: f.cause.clone(),
                    })?;
                    Status::Failed
                }
                Err(Exn::Halt(_)) => Status::Aborted,
            };
            let executions = children.finish(env);
            let done = MapRun {
                state: state.name.clone(),
                map_run_arn: run_arn,
                start_ms: entered_ms,
                stop_ms: env.now_ms(),
                status,
                total: items.len(),
                executions,
                results_written: false,
            };
            map_run = Some((done, run_id));
            outcome
        } else if let Some(f) = &read_failure {
            Err(f.clone().into())
        } else {
            iterate(&run, env, None).await
        };
        // the results are written when the run ended, also when it failed
        let written = match (&spec.result_writer, &map_run, &outcome) {
            (Some(w), Some((done, id)), Ok(_) | Err(Exn::Fail(_))) => {
                Some(super::map_run::write_results(w, done, id, &effective, &ctx, env)?)
            }
            _ => None,
        };
        if let Some((mut done, _)) = map_run {
            done.results_written = written.is_some();
            env.keep_map_run(done);
        }
        let failure = match outcome {
            Ok(outputs) => {
                let result = written.unwrap_or(Value::Array(outputs));
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
async fn iterate(
    run: &Run<'_>,
    env: &mut Env<'_>,
    children: Option<&Children>,
) -> Result<Vec<Value>, Exn> {
    let record = children.is_none();
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
            Box::pin(async move {
                match children {
                    Some(c) => c.run(run, index, &mut child).await,
                    None => iteration(run, index, &mut child).await,
                }
            })
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

/// One item's iteration of an inline Map, with its events.
async fn iteration(run: &Run<'_>, index: usize, env: &mut Env<'_>) -> Result<Value, Exn> {
    let name = &run.state.name;
    env.push(Details::MapIterationStarted { name: name.clone(), index })?;
    let input = iteration_input(run, index, env)?;
    let ended = run_nested(&run.spec.processor, input, env).await;
    match &ended {
        Ok(_) => env.push(Details::MapIterationSucceeded { name: name.clone(), index })?,
        Err(Exn::Fail(_)) => env.push(Details::MapIterationFailed { name: name.clone(), index })?,
        Err(Exn::Halt(_)) => 0,
    };
    ended
}

/// What iteration `index` runs on: its item, through the ItemSelector
/// (batches were shaped, their items selected, before the run).
fn iteration_input(run: &Run<'_>, index: usize, env: &mut Env<'_>) -> Result<Payload, Failure> {
    let item = &run.items[index];
    Ok(match run.spec.item_batcher {
        Some(_) => Arc::new(item.clone()),
        None => Arc::new(select_item(run.state, run.spec, index, item, run.effective, env)?),
    })
}

/// A distributed Map run's child executions, as they start and end: each
/// item (batch) runs as an execution of its own, with its own history
/// (ExecutionStarted … ExecutionSucceeded / Failed), ARN and name; one
/// still running when the run fails is ABORTED.
pub(super) struct Children {
    /// `MACHINE/LABEL`: the children's state machine, under the parent's.
    machine: String,
    region: Arc<str>,
    account: Arc<str>,
    role_arn: String,
    started: std::sync::Mutex<Vec<Started>>,
}

/// A child execution that started: what it is made of, and itself once it
/// ended.
struct Started {
    index: usize,
    fiber: super::sched::FiberId,
    history: Arc<std::sync::Mutex<crate::history::History>>,
    own: Arc<std::sync::Mutex<super::Own>>,
    exec: Arc<ExecInfo>,
    machine: Arc<str>,
    ended: Option<Execution>,
}

impl Children {
    fn new(env: &Env<'_>, machine: String) -> Children {
        Children {
            machine,
            region: env.cfg.region.clone(),
            account: env.cfg.account.clone(),
            role_arn: env.exec.role_arn.clone(),
            started: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Started>> {
        self.started.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs item (batch) `index` as a child execution on fiber `env`.
    async fn run(&self, run: &Run<'_>, index: usize, env: &mut Env<'_>) -> Result<Value, Exn> {
        let input = iteration_input(run, index, env)?;
        let name = env.rng.uuid();
        let id = crate::arn::states(
            &self.region,
            &self.account,
            "execution",
            &format!("{}:{name}", self.machine),
        );
        let machine = crate::arn::state_machine(&self.region, &self.account, &self.machine);
        let info = ExecInfo {
            id,
            name,
            input: input.clone(),
            role_arn: self.role_arn.clone(),
            start_ms: env.now_ms(),
            state_machine_id: machine.clone(),
            state_machine_name: self.machine.clone(),
        };
        let mut child = env.child_execution(info, Arc::from(machine.as_str()));
        child.record_started(input.clone());
        let slot = {
            let mut started = self.lock();
            started.push(Started {
                index,
                fiber: child.fiber,
                history: child.history.share(),
                own: child.own.share(),
                exec: child.exec.clone(),
                machine: child.machine.clone(),
                ended: None,
            });
            started.len() - 1
        };
        let ended = run_nested(&run.spec.processor, input, &mut child).await;
        let outcome = match &ended {
            Ok(v) => Outcome::Succeeded(Arc::new(v.clone())),
            Err(Exn::Fail(f) | Exn::Halt(Halt::Fail(f))) => Outcome::Failed(f.clone()),
            Err(Exn::Halt(Halt::Fault(fault))) => Outcome::Faulted(fault.clone()),
            Err(Exn::Halt(Halt::ExecutionTimedOut)) => Outcome::Aborted,
            Err(Exn::Halt(Halt::Stalled(why))) => Outcome::Stalled(why.clone()),
        };
        let exec = child.finish_child(outcome, index);
        if let Some(s) = self.lock().get_mut(slot) {
            s.ended = Some(exec);
        }
        ended
    }

    /// The child executions, in item order, once the run ended: one that
    /// had not ended was aborted (ExecutionAborted).
    fn finish(self, env: &mut Env<'_>) -> Vec<Execution> {
        let mut started = self.started.into_inner().unwrap_or_else(|p| p.into_inner());
        started.sort_by_key(|s| s.index);
        started
            .into_iter()
            .map(|s| match s.ended {
                Some(e) => e,
                None => {
                    let mut child = env.child_execution((*s.exec).clone(), s.machine);
                    child.fiber = s.fiber;
                    child.history = super::sharable::Sharable::Shared(s.history);
                    child.own = super::sharable::Sharable::Shared(s.own);
                    child.finish_child(Outcome::Aborted, s.index)
                }
            })
            .collect()
    }
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
