//! The Parallel state: ParallelStateEntered, ParallelStateStarted, the
//! branches' events, ParallelStateSucceeded and ParallelStateExited
//! (ParallelStateFailed on failure).
//! Branches run concurrently on the virtual clock, each a fiber of its own;
//! the first that fails aborts the others (their running states record
//! `…StateAborted`).

use super::error::Exn;
use super::io::{apply_io_path, eval_template, Ctx};
use super::nested::{abort_events, conclude, failed, run_nested};
use super::sched::{join, Place};
use super::{Env, Step};
use crate::asl::{State, StateMachine};
use crate::history::{Details, Payload};
use serde_json::Value;
use std::sync::Arc;

pub(super) async fn run(
    state: &State,
    branches: &[StateMachine],
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let entered_ms = env.now_ms();
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let ctx = Ctx::new(&exec, &vars, &state.name, entered_ms);
    let effective = if state.ql == crate::asl::QueryLanguage::Jsonata {
        super::jsonata_io::arguments(state, &raw, &ctx, &mut env.rng)?
    } else {
        let effective = apply_io_path(&state.input_path, raw.clone(), &ctx)?;
        match &state.parameters {
            Some(t) => Arc::new(eval_template(t, &effective, &ctx, &mut env.rng)?),
            None => effective,
        }
    };
    let mut attempts = vec![0; state.retry.len()];
    loop {
        env.push(Details::ParallelStateStarted)?;
        let failure = match run_branches(state, branches, &effective, env).await {
            Ok(outputs) => {
                env.push_aside(Details::ParallelStateSucceeded)?;
                return conclude(state, raw, Value::Array(outputs), &ctx, env);
            }
            Err(Exn::Fail(f)) => f,
            Err(halt) => return Err(halt),
        };
        if let Some(step) =
            failed(state, failure, &mut attempts, &raw, env, Details::ParallelStateFailed).await?
        {
            return Ok(step);
        }
    }
}

/// Runs the branches concurrently on the effective input; the first to fail
/// aborts the others.
async fn run_branches(
    state: &State,
    branches: &[StateMachine],
    effective: &Payload,
    env: &mut Env<'_>,
) -> Result<Vec<Value>, Exn> {
    let sim = env.sim.clone();
    let parent = env.fiber;
    let joined = join(
        &sim,
        parent,
        |index| Place::Branch { state: state.name.clone(), index },
        branches.len(),
        0,
        |i, fiber| {
            let mut child = env.child(fiber);
            let (branch, input) = (&branches[i], effective.clone());
            Box::pin(async move { run_nested(branch, input, &mut child).await })
        },
        |r| r.is_err(),
    )
    .await;
    abort_events(&joined.aborted, None, env)?;
    let mut outputs = Vec::with_capacity(branches.len());
    for r in joined.results {
        match r {
            Some(Ok(v)) => outputs.push(v),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Ok(outputs)
}
