//! The Wait state: Seconds, Timestamp and their `…Path` forms, on the
//! virtual clock (a wait costs no real time).

use super::error::{Exn, Failure, Halt};
use super::io::{apply_io_path, finish, select, Ctx};
use super::jsonata::{eval, eval_count, unexpected, States};
use super::{Env, Step};
use crate::asl::WaitFor;
use crate::asl::{QueryLanguage, State};
use crate::history::Payload;
use crate::rng::Rng;
use crate::time::parse_timestamp;
use serde_json::Value;
use std::borrow::Cow;

/// Longest wait AWS accepts (a signed 32-bit number of seconds).
const MAX_WAIT_SECS: i64 = i32::MAX as i64;

pub(super) async fn run(
    state: &State,
    w: &WaitFor,
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let (exec, vars) = (env.exec.clone(), env.vars.clone());
    let ctx = Ctx::new(&exec, &vars, &state.name, env.now_ms());
    let jsonata = state.ql == QueryLanguage::Jsonata;
    let effective =
        if jsonata { raw.clone() } else { apply_io_path(&state.input_path, raw.clone(), &ctx)? };
    let delay_ms = delay_ms(w, &effective, &ctx, env.now_ms(), &mut env.rng)?;
    if delay_ms / 1000 > MAX_WAIT_SECS {
        return Err(Failure::runtime("Wait state delay is too long.").into());
    }
    if !env.sleep_ms(delay_ms).await {
        return Err(Halt::ExecutionTimedOut.into());
    }
    if jsonata {
        return super::jsonata_io::conclude(state, raw, None, &ctx, env);
    }
    if let Some(a) = &state.assign {
        env.assign(a, &States::input(&effective, &ctx))?;
    }
    finish(state, effective, &ctx)
}

/// How long to wait from `now`, in milliseconds.
fn delay_ms(
    w: &WaitFor,
    effective: &Value,
    ctx: &Ctx,
    now: i64,
    rng: &mut Rng,
) -> Result<i64, Failure> {
    Ok(match w {
        WaitFor::Seconds(s) => *s as i64 * 1000,
        WaitFor::SecondsExpr(e) => {
            (eval_count(e, &States::input(effective, ctx), rng)? as i64).saturating_mul(1000)
        }
        WaitFor::TimestampExpr(e) => {
            let v = eval(e, &States::input(effective, ctx), rng)?;
            match v.as_str().and_then(parse_timestamp) {
                Some(t) => (t - now).max(0),
                None => {
                    let Value::String(s) = &v else { return Err(unexpected(e, "string", &v)) };
                    return Err(Failure::query(
                        &e.field,
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {s}"),
                    ));
                }
            }
        }
        WaitFor::Timestamp(t) => (t - now).max(0),
        WaitFor::SecondsPath(p) => {
            let v = select(p, effective, ctx).ok_or_else(|| super::io::no_results(p))?;
            let shown = || format!("{} == {}", p.as_str(), v);
            match v.as_ref() {
                Value::Number(n) if n.is_i64() || n.is_u64() => {
                    let s = n.as_i64().unwrap_or(i64::MAX);
                    if s < 0 {
                        return Err(Failure::runtime(format!(
                            "The SecondsPath parameter references a negative value: {}",
                            shown()
                        )));
                    }
                    s.saturating_mul(1000)
                }
                _ => {
                    return Err(Failure::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {}",
                        shown()
                    )))
                }
            }
        }
        WaitFor::TimestampPath(p) => {
            let v = select(p, effective, ctx).ok_or_else(|| super::io::no_results(p))?;
            match v.as_ref().as_str().and_then(parse_timestamp) {
                Some(t) => (t - now).max(0),
                None => {
                    let shown = match v {
                        Cow::Borrowed(Value::String(s)) => s.clone(),
                        other => other.to_string(),
                    };
                    return Err(Failure::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {shown}",
                        p.as_str()
                    )));
                }
            }
        }
    })
}
