//! The Parallel state: ParallelStateEntered, ParallelStateStarted, the
//! branches' events, ParallelStateExited (ParallelStateFailed on failure).
//! Branches run one after another; their events interleave on AWS, so a
//! history of them is compared as a multiset.

use super::error::Exn;
use super::io::{apply_io_path, eval_template, Ctx};
use super::nested::{conclude, failed, run_nested};
use super::{Env, Step};
use crate::asl::{State, StateMachine};
use crate::history::{Details, Payload};
use serde_json::Value;
use std::sync::Arc;

pub(super) async fn run(state: &State, branches: &[StateMachine], raw: Payload, env: &mut Env<'_>) -> Result<Step, Exn> {
    let entered_ms = env.clock.now_ms();
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let ctx = Ctx::new(&exec, &vars, &state.name, entered_ms);
    let mut effective = apply_io_path(&state.input_path, raw.clone(), &ctx)?;
    if let Some(t) = &state.parameters {
        effective = Arc::new(eval_template(t, &effective, &ctx, &mut env.rng)?);
    }
    let mut attempts = vec![0; state.retry.len()];
    loop {
        env.push(Details::ParallelStateStarted)?;
        let failure = match run_branches(branches, &effective, env).await {
            Ok(outputs) => return conclude(state, raw, Value::Array(outputs), &ctx, env),
            Err(Exn::Fail(f)) => f,
            Err(halt) => return Err(halt),
        };
        if let Some(step) = failed(state, failure, &mut attempts, &raw, env, Details::ParallelStateFailed)? {
            return Ok(step);
        }
    }
}

/// Runs each branch on the effective input, stopping at the first that fails.
async fn run_branches(branches: &[StateMachine], effective: &Payload, env: &mut Env<'_>) -> Result<Vec<Value>, Exn> {
    let mut outputs = Vec::with_capacity(branches.len());
    for b in branches {
        outputs.push(run_nested(b, effective.clone(), env).await?);
    }
    Ok(outputs)
}
