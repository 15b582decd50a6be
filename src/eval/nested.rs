//! What Parallel and Map share: running a nested machine in its own
//! variable scope, recording the state's Failed event once when no retry
//! follows, and concluding with ResultSelector, ResultPath and OutputPath.

use super::error::{Exn, Failure};
use super::io::{apply_result_path, eval_template, finish, Ctx};
use super::recover::recover;
use super::{run_states, Env, Step};
use crate::asl::{State, StateMachine};
use crate::history::{Details, Payload};
use serde_json::Value;
use std::sync::Arc;

/// Runs a nested machine (a branch, an item's processor) from its start on
/// `input`, in the fiber `env` belongs to: it reads the variables in scope
/// when it started, and what it assigns stays inside it. The machine's
/// states run inline in this future (the Map or Parallel that nests them is
/// boxed where its state runs), so an iteration or branch is one future,
/// allocated and moved once.
pub(super) async fn run_nested(
    sm: &StateMachine,
    input: Payload,
    env: &mut Env<'_>,
) -> Result<Value, Exn> {
    run_states(sm, sm.start_at, input, env).await.map(Arc::unwrap_or_clone)
}

/// Records what an abort interrupted: each running state's
/// `…StateAborted`, then (in a Map, `iterations` names it) the iteration's
/// MapIterationAborted.
pub(super) fn abort_events(
    aborted: &[(usize, Vec<&'static str>)],
    iterations: Option<&Arc<str>>,
    env: &mut Env<'_>,
) -> Result<(), Exn> {
    for (index, states) in aborted {
        for t in states {
            env.push(Details::StateAborted { state_type: t })?;
        }
        if let Some(name) = iterations {
            env.push(Details::MapIterationAborted { name: name.clone(), index: *index })?;
        }
    }
    Ok(())
}

/// Retries the state (`None`), or records its `…StateFailed` event once, when
/// no retry follows, and ends it (caught, or failed).
pub(super) async fn failed(
    state: &State,
    failure: Failure,
    attempts: &mut [u64],
    raw: &Payload,
    env: &mut Env<'_>,
    event: Details,
) -> Result<Option<Step>, Exn> {
    let outcome = recover(state, failure, attempts, raw, env).await;
    if !matches!(outcome, Ok(None)) {
        env.push(event)?;
    }
    outcome
}

/// ResultSelector, ResultPath, OutputPath (JSONata: Assign and Output),
/// then the transition.
pub(super) fn conclude(
    state: &State,
    raw: Payload,
    result: Value,
    ctx: &Ctx,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let result = Arc::new(result);
    if state.ql == crate::asl::QueryLanguage::Jsonata {
        return super::jsonata_io::conclude(state, raw, Some(result), ctx, env);
    }
    let selected = match &state.result_selector {
        Some(t) => Arc::new(eval_template(t, &result, ctx, &mut env.rng)?),
        None => result,
    };
    if let Some(a) = &state.assign {
        env.assign(a, &super::jsonata::States::input(&selected, ctx))?;
    }
    let combined = apply_result_path(&state.result_path, raw, selected)?;
    finish(state, combined, ctx)
}
