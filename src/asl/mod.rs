//! WHAT a state machine is: the lowered model, paths, intrinsic calls,
//! payload templates, and validation with AWS's diagnostic codes.

mod diagnostic;
mod intrinsic;
mod load;
mod model;
mod parse;
mod path;
mod resource;

pub use diagnostic::{code, Diagnostic, InvalidDefinition, Severity};
pub use intrinsic::{Arg, Call, INTRINSICS};
pub use load::{load_definition, LoadError, Source};
pub use model::*;
pub use parse::{diagnostics, duplicate_state_names, parse_str, parse_value};
pub use path::{Path, ReferencePath, Root, Seg};
pub use resource::{Pattern, Resource, TaskResource};

/// Every diagnostic for a definition given as text (JSON errors included).
pub fn validate_str(text: &str) -> Vec<Diagnostic> {
    match parse_str(text) {
        Ok(sm) => diagnostics(&sm.definition),
        Err(e) => e.diagnostics,
    }
}
