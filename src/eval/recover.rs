//! Retry and Catch, shared by the states that have them (Task, Map, Parallel).

use super::error::Failure;
use super::io::apply_result_path;
use super::{Env, Step};
use crate::asl::{Jitter, Retrier, State};
use crate::rng::Rng;
use crate::history::Payload;
use serde_json::json;
use std::sync::Arc;

/// What to do after a state's attempt failed.
pub(crate) enum Recovery {
    /// Run the state again (the backoff has been waited on the virtual clock).
    Retry,
    /// A catcher or the execution's timeout decided.
    Done(Step),
}

/// Applies the state's retriers (counting attempts in `attempts`), then its
/// catchers; an unhandled failure comes back as the error.
pub(crate) fn recover(state: &State, failure: Failure, attempts: &mut [u64], raw: &Payload, env: &mut Env<'_>) -> Result<Recovery, Failure> {
    if let Some(delay_ms) = retry_delay(&state.retry, attempts, &failure, &mut env.rng) {
        if !env.advance_ms(delay_ms) {
            return Ok(Recovery::Done(Step::ExecutionTimedOut));
        }
        return Ok(Recovery::Retry);
    }
    if let Some(c) = state.catch.iter().find(|c| failure.matches(&c.error_equals)) {
        let err = json!({"Error": failure.error_name(), "Cause": failure.cause.clone().unwrap_or_default()});
        if let Some(a) = &c.assign {
            let (exec, vars) = (env.exec.clone(), env.vars.clone());
            let ctx = super::io::Ctx { exec: &exec, state_name: &state.name, entered_ms: env.clock.now_ms(), retry_count: 0, token: None, map_item: None, vars: &vars };
            env.assign(a, &err, &ctx)?;
        }
        let combined = apply_result_path(&c.result_path, raw.clone(), Arc::new(err))?;
        return Ok(Recovery::Done(Step::Next(c.next, combined)));
    }
    Err(failure)
}

/// Finds the retrier for `f`; returns the backoff delay (ms) if one applies
/// and has attempts left, counting the attempt.
fn retry_delay(retriers: &[Retrier], attempts: &mut [u64], f: &Failure, rng: &mut Rng) -> Option<i64> {
    let i = retriers.iter().position(|r| f.matches(&r.error_equals))?;
    let r = &retriers[i];
    if attempts[i] >= r.max_attempts {
        return None;
    }
    let mut delay = r.interval_seconds as f64 * r.backoff_rate.powi(attempts[i] as i32);
    if let Some(max) = r.max_delay_seconds {
        delay = delay.min(max as f64);
    }
    if r.jitter == Jitter::Full {
        delay *= rng.next_f64();
    }
    attempts[i] += 1;
    Some((delay * 1000.0).round() as i64)
}
