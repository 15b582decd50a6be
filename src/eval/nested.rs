//! What Parallel and Map share: running a nested machine in its own
//! variable scope, recording the state's Failed event once when no retry
//! follows, and concluding with ResultSelector, ResultPath and OutputPath.

use super::error::{Exn, Failure};
use super::io::{apply_result_path, eval_template, finish, Ctx};
use super::recover::recover;
use super::{run_machine, Env, Step};
use crate::asl::{State, StateMachine};
use crate::history::{Details, Payload};
use serde_json::Value;
use std::sync::Arc;

/// Runs a nested machine (a branch, an item's processor) from its start on
/// `input`, in a scope of its own: it reads the outer variables, and what it
/// assigns stays inside it.
pub(super) async fn run_nested(sm: &StateMachine, input: Payload, env: &mut Env<'_>) -> Result<Value, Exn> {
    let outer = env.vars.clone();
    let ended = run_machine(sm, sm.start_at, input, env).await;
    env.vars = outer;
    ended.map(Arc::unwrap_or_clone)
}

/// Retries the state (`None`), or records its `…StateFailed` event once, when
/// no retry follows, and ends it (caught, or failed).
pub(super) fn failed(state: &State, failure: Failure, attempts: &mut [u64], raw: &Payload, env: &mut Env<'_>, event: Details) -> Result<Option<Step>, Exn> {
    let outcome = recover(state, failure, attempts, raw, env);
    if !matches!(outcome, Ok(None)) {
        env.push(event)?;
    }
    outcome
}

/// ResultSelector, ResultPath, OutputPath, then the transition.
pub(super) fn conclude(state: &State, raw: Payload, result: Value, ctx: &Ctx, env: &mut Env<'_>) -> Result<Step, Exn> {
    let result = Arc::new(result);
    let selected = match &state.result_selector {
        Some(t) => Arc::new(eval_template(t, &result, ctx, &mut env.rng)?),
        None => result,
    };
    if let Some(a) = &state.assign {
        env.assign(a, &selected, ctx)?;
    }
    let combined = apply_result_path(&state.result_path, raw, selected)?;
    finish(state, combined, ctx)
}
