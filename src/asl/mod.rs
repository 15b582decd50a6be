//! WHAT a state machine is: the lowered model, paths, intrinsic calls,
//! payload templates, and validation with AWS's diagnostic codes.

mod cfn;
mod diagnostic;
mod env_layout;
pub(crate) use env_layout::{EnvLayout, EnvValue};
mod graph;
pub(crate) use graph::Edge;
mod intrinsic;
mod jsonata;
mod lint;
mod load;
mod lower;
mod model;
pub(crate) mod mutant;
mod parse;
mod path;
mod read;
mod recover;
mod resource;
mod states;
mod template;

pub(crate) use diagnostic::code;
pub use diagnostic::{Diagnostic, InvalidDefinition, Severity};
pub(crate) use intrinsic::{Arg, Call};
#[cfg(test)]
pub(crate) use jsonata::reads as jsonata_reads;
pub(crate) use jsonata::Reads;
pub(crate) use jsonata::{Compare, Expr, Query};
#[cfg(feature = "cli")]
pub(crate) use load::template_containers;
pub use load::LoadError;
pub(crate) use load::Source;
pub(crate) use load::{load_definition_with, substitute_placeholders};
pub(crate) use model::*;
pub(crate) use parse::parse_value;
#[cfg(feature = "endpoint")]
pub(crate) use parse::MAX_DEFINITION_CHARS;
pub(crate) use parse::{diagnostics, parse_str};
#[cfg(test)]
pub(crate) use path::ReferencePath;
pub(crate) use path::{walk as walk_segments, Path, Root, Seg};
pub(crate) use recover::{Catcher, Jitter, Retrier};
pub(crate) use resource::{Pattern, Resource, TaskResource};
pub(crate) use states::{
    Amount, ChoiceBranch, ItemBatcher, ItemReader, MapSpec, Op, Operand, ResultWriter, Rule,
    Seconds, Task, Text, WaitFor,
};
pub(crate) use template::{Field, Template};

/// Every diagnostic (errors and warnings, each with AWS's code, a JSON
/// pointer and a message) for a definition given as ASL text.
///
/// ```
/// let d = sfn_harness::validate(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}"#);
/// assert_eq!(d[0].code, "MISSING_TRANSITION_TARGET");
/// assert_eq!(d[0].location, "/States/A/Next");
/// ```
pub fn validate(text: &str) -> Vec<Diagnostic> {
    match parse_str(text) {
        Ok(sm) => diagnostics(&sm.definition),
        Err(e) => e.diagnostics,
    }
}
