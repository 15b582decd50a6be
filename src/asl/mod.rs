//! WHAT a state machine is: the lowered model, paths, intrinsic calls,
//! payload templates, and validation with AWS's diagnostic codes.

mod diagnostic;
mod graph;
mod intrinsic;
mod load;
mod lower;
mod model;
mod parse;
mod path;
mod recover;
mod resource;
mod states;
mod template;

pub use diagnostic::{code, Diagnostic, InvalidDefinition, Severity};
pub use intrinsic::{Arg, Call, CallError};
pub use load::{load_definition, LoadError, Source};
pub use model::*;
pub use graph::duplicate_state_names;
pub use parse::{diagnostics, parse_str, parse_value};
pub use recover::{Catcher, Jitter, Retrier};
pub use states::{ChoiceBranch, MapSpec, Op, Operand, Rule, Seconds, Task, Text, Tolerance, WaitFor};
pub use template::Template;
pub use path::{Path, PathError, ReferencePath, Root, Seg};
pub use resource::{Pattern, Resource, TaskResource};

/// Every diagnostic for a definition given as text (JSON errors included).
pub fn validate_str(text: &str) -> Vec<Diagnostic> {
    match parse_str(text) {
        Ok(sm) => diagnostics(&sm.definition),
        Err(e) => e.diagnostics,
    }
}
