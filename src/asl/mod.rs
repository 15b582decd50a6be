//! WHAT a state machine is: the lowered model, paths, intrinsic calls,
//! payload templates, and validation with AWS's diagnostic codes.

mod cfn;
mod diagnostic;
mod graph;
mod intrinsic;
mod jsonata;
mod lint;
mod load;
mod lower;
mod model;
pub mod mutant;
mod parse;
mod path;
mod recover;
mod resource;
mod states;
mod template;

pub use diagnostic::{code, Diagnostic, InvalidDefinition, Severity};
pub use intrinsic::{Arg, Call};
pub(crate) use jsonata::Reads;
pub use jsonata::{Expr, Query};
#[cfg(feature = "cli")]
pub use load::template_containers;
pub use load::Source;
pub use load::{load_definition_with, substitute_placeholders, LoadError};
pub use model::*;
pub use parse::parse_value;
#[cfg(feature = "endpoint")]
pub use parse::MAX_DEFINITION_CHARS;
pub use parse::{diagnostics, parse_str};
#[cfg(test)]
pub(crate) use path::ReferencePath;
pub use path::{Path, Root, Seg};
pub use recover::{Catcher, Jitter, Retrier};
pub use resource::{Pattern, Resource, TaskResource};
pub use states::{
    Amount, ChoiceBranch, ItemBatcher, ItemReader, MapSpec, Op, Operand, ResultWriter, Rule,
    Seconds, Task, Text, WaitFor,
};
pub use template::Template;

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
