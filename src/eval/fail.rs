//! The Fail state: ends the execution with Error and Cause, literal or read
//! by path or intrinsic call.

use super::error::{Exn, Failure};
use super::io::{eval_call, select, Ctx};
use super::jsonata::{eval, unexpected, States};
use super::{Env, Step};
use crate::asl::State;
use crate::asl::Text;
use crate::history::Payload;
use serde_json::Value;

pub(super) fn run(
    state: &State,
    error: &Option<Text>,
    cause: &Option<Text>,
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let (exec, vars) = (env.exec.clone(), env.vars.clone());
    let ctx = Ctx::new(&exec, &vars, &state.name, env.now_ms());
    let text = |t: &Option<Text>,
                field: &str,
                env: &mut Env<'_>|
     -> Result<Option<String>, Failure> {
        match t {
            None => Ok(None),
            Some(Text::Literal(s)) => Ok(Some(s.clone())),
            Some(Text::Path(p)) => match select(p, &raw, &ctx) {
                Some(v) => Ok(Some(crate::json::shown(&v))),
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
            Some(Text::Expr(e)) => match eval(e, &States::input(&raw, &ctx), &mut env.rng)? {
                Value::String(s) => Ok(Some(s)),
                other => Err(unexpected(e, "string", &other)),
            },
        }
    };
    let error = text(error, "ErrorPath", env)?;
    let cause = text(cause, "CausePath", env)?;
    Err(Failure::reported(error, cause).into())
}
