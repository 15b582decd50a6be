//! The Succeed state: ends its machine with its (filtered) input.

use super::error::Exn;
use super::io::{apply_io_path, Ctx};
use super::{Env, Step};
use crate::asl::State;
use crate::history::Payload;

pub(super) fn run(state: &State, raw: Payload, env: &mut Env<'_>) -> Result<Step, Exn> {
    let (exec, vars) = (env.exec.clone(), env.vars.clone());
    let ctx = Ctx::new(&exec, &vars, &state.name, env.now_ms());
    if state.ql == crate::asl::QueryLanguage::Jsonata {
        let st = super::jsonata::States::input(&raw, &ctx);
        return Ok(Step::End(super::jsonata_io::output(
            state.output.as_ref(),
            &raw,
            &st,
            &mut env.rng,
        )?));
    }
    let effective = apply_io_path(&state.input_path, raw, &ctx)?;
    Ok(Step::End(apply_io_path(&state.output_path, effective, &ctx)?))
}
