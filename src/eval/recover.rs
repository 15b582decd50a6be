//! Retry and Catch, shared by the states that have them (Task, Map, Parallel).

use super::error::{Exn, Failure, Halt};
use super::io::apply_result_path;
use super::{Env, Step};
use crate::asl::{Jitter, QueryLanguage, Retrier, State};
use crate::history::Payload;
use crate::rng::Rng;
use serde_json::json;
use std::sync::Arc;

/// Applies the state's retriers (counting attempts in `attempts`), then its
/// catchers, after an attempt failed with `failure`:
/// - `Ok(None)`: run the state again (the backoff has been waited on the
///   virtual clock);
/// - `Ok(Some(step))`: a catcher's transition;
/// - `Err`: the failure is not handled here (or the backoff passed the
///   execution's timeout).
pub(crate) async fn recover(
    state: &State,
    failure: Failure,
    attempts: &mut [u64],
    raw: &Payload,
    env: &mut Env<'_>,
) -> Result<Option<Step>, Exn> {
    if let Some((i, delay_ms)) = retry_delay(&state.retry, attempts, &failure, &mut env.rng) {
        env.hit(state.id, super::Hit::Retrier(i));
        if !env.sleep_ms(delay_ms).await {
            return Err(Halt::ExecutionTimedOut.into());
        }
        return Ok(None);
    }
    if let Some((i, c)) =
        state.catch.iter().enumerate().find(|(_, c)| failure.matches(&c.error_equals))
    {
        env.hit(state.id, super::Hit::Catcher(i));
        let err = error_output(&failure);
        let (exec, vars) = (env.exec.clone(), env.vars.clone());
        let ctx = super::io::Ctx::new(&exec, &vars, &state.name, env.now_ms());
        if state.ql == QueryLanguage::Jsonata {
            return Ok(Some(Step::Next(
                c.next,
                super::jsonata_io::caught(c, raw, err, &ctx, env)?,
            )));
        }
        if let Some(a) = &c.assign {
            env.assign(a, &super::jsonata::States::input(raw, &ctx).with_error(&err))?;
        }
        let combined = apply_result_path(&c.result_path, raw.clone(), Arc::new(err))?;
        return Ok(Some(Step::Next(c.next, combined)));
    }
    Err(failure.into())
}

/// What a catcher passes on: `{"Error", "Cause"}`, both null for a failure
/// that has no error name (a cause missing beside a name is empty).
fn error_output(f: &Failure) -> serde_json::Value {
    match &f.error {
        Some(e) => json!({"Error": e, "Cause": f.cause.clone().unwrap_or_default()}),
        None => json!({"Error": null, "Cause": f.cause}),
    }
}

/// Finds the retrier for `f`; returns the backoff delay (ms) if one applies
/// and has attempts left, counting the attempt.
fn retry_delay(
    retriers: &[Retrier],
    attempts: &mut [u64],
    f: &Failure,
    rng: &mut Rng,
) -> Option<(usize, i64)> {
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
    Some((i, (delay * 1000.0).round() as i64))
}
