//! Pass, Choice, Wait, Succeed and Fail: the states that need no integration.

use super::choice::eval_rule;
use super::error::{names, Exn, Failure, Halt};
use super::io::{apply_io_path, apply_result_path, eval_call, eval_template, select, Ctx};
use super::{Env, Step};
use crate::asl::{State, StateKind, Text, WaitFor};
use crate::time::parse_timestamp;
use crate::history::Payload;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// Longest wait AWS accepts (a signed 32-bit number of seconds).
const MAX_WAIT_SECS: i64 = i32::MAX as i64;

pub(crate) fn run(state: &State, raw: Payload, env: &mut Env<'_>) -> Result<Step, Exn> {
    let entered_ms = env.clock.now_ms();
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let ctx = Ctx::new(&exec, &vars, &state.name, entered_ms);
    match &state.kind {
        StateKind::Pass { result } => {
            let effective = apply_io_path(&state.input_path, raw.clone(), &ctx)?;
            let value = match result {
                Some(r) => Arc::new(r.clone()),
                None => match &state.parameters {
                    Some(t) => Arc::new(eval_template(t, &effective, &ctx, &mut env.rng)?),
                    None => effective,
                },
            };
            if let Some(a) = &state.assign {
                env.assign(a, &value, &ctx)?;
            }
            let combined = apply_result_path(&state.result_path, raw, value)?;
            finish(state, combined, &ctx)
        }
        StateKind::Succeed => {
            let effective = apply_io_path(&state.input_path, raw, &ctx)?;
            Ok(Step::End(apply_io_path(&state.output_path, effective, &ctx)?))
        }
        StateKind::Fail { error, cause } => {
            let text = |t: &Option<Text>, field: &str, env: &mut Env<'_>| -> Result<Option<String>, Failure> {
                match t {
                    None => Ok(None),
                    Some(Text::Literal(s)) => Ok(Some(s.clone())),
                    Some(Text::Path(p)) => match select(p, &raw, &ctx) {
                        Some(v) => Ok(Some(match v.as_ref() {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })),
                        None => Err(Failure::runtime(format!(
                            "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                            p.as_str(),
                            crate::json::to_json_string(&raw)
                        ))),
                    },
                    Some(Text::Call(c)) => eval_call(c, &raw, &ctx, &mut env.rng).map(|v| match v {
                        Value::String(s) => Some(s),
                        other => Some(other.to_string()),
                    }),
                }
            };
            let error = text(error, "ErrorPath", env)?;
            let cause = text(cause, "CausePath", env)?;
            Err(Failure { error, cause, in_state: false }.into())
        }
        StateKind::Choice { choices, default } => {
            let effective = apply_io_path(&state.input_path, raw, &ctx)?;
            let mut target = None;
            for c in choices {
                if eval_rule(&c.rule, &effective, &ctx)? {
                    target = Some(c.next);
                    if let Some(a) = &c.assign {
                        env.assign(a, &effective, &ctx)?;
                    }
                    break;
                }
            }
            if let Some(a) = &state.assign {
                env.assign(a, &effective, &ctx)?;
            }
            let Some(next) = target.or(*default) else {
                return Err(Failure::new(names::NO_CHOICE_MATCHED, Some("No Matches!".into())).into());
            };
            Ok(Step::Next(next, apply_io_path(&state.output_path, effective, &ctx)?))
        }
        StateKind::Wait(w) => {
            let effective = apply_io_path(&state.input_path, raw, &ctx)?;
            let now = env.clock.now_ms();
            let delay_ms: i64 = match w {
                WaitFor::Seconds(s) => *s as i64 * 1000,
                WaitFor::Timestamp(t) => (t - now).max(0),
                WaitFor::SecondsPath(p) => {
                    let v = select(p, &effective, &ctx).ok_or_else(|| super::io::no_results(p))?;
                    let shown = || format!("{} == {}", p.as_str(), v);
                    match v.as_ref() {
                        Value::Number(n) if n.is_i64() || n.is_u64() => {
                            let s = n.as_i64().unwrap_or(i64::MAX);
                            if s < 0 {
                                return Err(Failure::runtime(format!(
                                    "The SecondsPath parameter references a negative value: {}",
                                    shown()
                                ))
                                .into());
                            }
                            s.saturating_mul(1000)
                        }
                        _ => {
                            return Err(Failure::runtime(format!(
                                "The SecondsPath parameter cannot be parsed as a long value: {}",
                                shown()
                            ))
                            .into())
                        }
                    }
                }
                WaitFor::TimestampPath(p) => {
                    let v = select(p, &effective, &ctx).ok_or_else(|| super::io::no_results(p))?;
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
                            ))
                            .into());
                        }
                    }
                }
            };
            if delay_ms / 1000 > MAX_WAIT_SECS {
                return Err(Failure::runtime("Wait state delay is too long.").into());
            }
            if !env.advance_ms(delay_ms) {
                return Err(Halt::ExecutionTimedOut.into());
            }
            if let Some(a) = &state.assign {
                env.assign(a, &effective, &ctx)?;
            }
            finish(state, effective, &ctx)
        }
        StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel { .. } => {
            unreachable!("Task runs in task.rs, Map and Parallel in composite.rs")
        }
    }
}

/// OutputPath, then the transition.
pub(crate) fn finish(state: &State, combined: Payload, ctx: &Ctx) -> Result<Step, Exn> {
    let out = apply_io_path(&state.output_path, combined, ctx)?;
    Ok(match state.next {
        Some(n) => Step::Next(n, out),
        None => Step::End(out),
    })
}
