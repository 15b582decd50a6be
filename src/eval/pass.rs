//! The Pass state: its input, `Result` or `Parameters`, placed by ResultPath
//! (JSONata: its Output).

use super::error::Exn;
use super::io::{apply_io_path, apply_result_path, eval_template, finish, Ctx};
use super::jsonata::States;
use super::{Env, Step};
use crate::asl::{QueryLanguage, State};
use crate::history::Payload;
use serde_json::Value;
use std::sync::Arc;

pub(super) fn run(
    state: &State,
    result: &Option<Value>,
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let (exec, vars) = (env.exec.clone(), env.vars.clone());
    let ctx = Ctx::new(&exec, &vars, &state.name, env.now_ms());
    if state.ql == QueryLanguage::Jsonata {
        return super::jsonata_io::conclude(state, raw, None, &ctx, env);
    }
    let effective = apply_io_path(&state.input_path, raw.clone(), &ctx)?;
    let value = match result {
        Some(r) => Arc::new(r.clone()),
        None => match &state.parameters {
            Some(t) => Arc::new(eval_template(t, &effective, &ctx, &mut env.rng)?),
            None => effective,
        },
    };
    if let Some(a) = &state.assign {
        env.assign(a, &States::input(&value, &ctx))?;
    }
    let combined = apply_result_path(&state.result_path, raw, value)?;
    finish(state, combined, &ctx)
}
