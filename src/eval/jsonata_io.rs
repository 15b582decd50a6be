//! Input and output of JSONata states. There is no InputPath, Parameters,
//! ResultSelector, ResultPath or OutputPath: a state reads its raw input as
//! `$states.input`, takes `Arguments` (a Task's parameters, a Parallel's
//! branch input), and gives `Output` (by default its result, or its input
//! when it has no result) with `Assign` beside it; Output and Assign both
//! read the variables as they were before the state.
//!
//! ```
//! use serde_json::json;
//! let h = sfn_harness::Harness::from_definition(r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {
//!     "A": {"Type": "Pass", "Assign": {"n": "{% $states.input.n %}"}, "Next": "B"},
//!     "B": {"Type": "Pass", "Assign": {"n": "{% $n + 1 %}"}, "Output": {"before": "{% $n %}"}, "Next": "C"},
//!     "C": {"Type": "Pass", "Output": {"before": "{% $states.input.before %}", "after": "{% $n %}"}, "End": true}}}"#).unwrap();
//! assert_eq!(h.run_blocking(json!({"n": 1})).output(), &json!({"before": 1, "after": 2}));
//! ```

use super::error::{Exn, Failure};
use super::io::Ctx;
use super::jsonata::{eval_query, States};
use super::{Env, Step};
use crate::asl::{Catcher, Query, State};
use crate::history::Payload;
use crate::rng::Rng;
use serde_json::Value;
use std::sync::Arc;

/// `Arguments`, evaluated on the raw input; without it, the input itself.
pub(crate) fn arguments(
    state: &State,
    raw: &Payload,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Payload, Failure> {
    match &state.arguments {
        Some(q) => Ok(Arc::new(eval_query(q, &States::input(raw, ctx), rng)?)),
        None => Ok(raw.clone()),
    }
}

/// `Output` on `st`, or `default` without one.
pub(crate) fn output(
    q: Option<&Query>,
    default: &Payload,
    st: &States,
    rng: &mut Rng,
) -> Result<Payload, Failure> {
    match q {
        Some(q) => Ok(Arc::new(eval_query(q, st, rng)?)),
        None => Ok(default.clone()),
    }
}

/// Assign and Output, then the transition. `result` is `$states.result`
/// for the states that have one (Task, Map, Parallel); Output defaults to
/// it, or to the input.
pub(crate) fn conclude(
    state: &State,
    raw: Payload,
    result: Option<Payload>,
    ctx: &Ctx,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let mut st = States::input(&raw, ctx);
    if let Some(r) = &result {
        st = st.with_result(r);
    }
    if let Some(a) = &state.assign {
        env.assign(a, &st)?;
    }
    let out = output(state.output.as_ref(), result.as_ref().unwrap_or(&raw), &st, &mut env.rng)?;
    Ok(match state.next {
        Some(n) => Step::Next(n, out),
        None => Step::End(out),
    })
}

/// A catcher's Assign and Output (default: the error output), on
/// `$states.errorOutput`.
pub(crate) fn caught(
    c: &Catcher,
    raw: &Payload,
    error: Value,
    ctx: &Ctx,
    env: &mut Env<'_>,
) -> Result<Payload, Failure> {
    let error = Arc::new(error);
    let st = States::input(raw, ctx).with_error(&error);
    if let Some(a) = &c.assign {
        env.assign(a, &st)?;
    }
    output(c.output.as_ref(), &error, &st, &mut env.rng)
}
