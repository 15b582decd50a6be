//! Validation diagnostics, shaped like ValidateStateMachineDefinition's.

use serde::Serialize;
use std::fmt;

/// Error or warning, as ValidateStateMachineDefinition reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// The definition is invalid: AWS would refuse it.
    Error,
    /// Valid, but probably not what was meant (AWS's warnings, such as NO_DOLLAR).
    Warning,
}

/// One problem found in a definition: AWS's diagnostic code, a JSON pointer
/// to the offending field (`/States/FargateTask/Next`), and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// AWS's diagnostic code (`MISSING_TRANSITION_TARGET`, `SCHEMA_VALIDATION_FAILED`, …).
    pub code: &'static str,
    /// A JSON pointer into the definition (`/States/A/Next`).
    pub location: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let loc = if self.location.is_empty() { "/" } else { &self.location };
        write!(f, "{sev} {} at {loc}: {}", self.code, self.message)
    }
}

/// The codes this validator emits (AWS's names).
pub(crate) mod code {
    pub(crate) const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    pub(crate) const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    pub(crate) const MISSING_DESCRIPTION: &str = "MISSING_DESCRIPTION";
    pub(crate) const MISSING_END_STATE: &str = "MISSING_END_STATE";
    pub(crate) const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    pub(crate) const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    pub(crate) const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    pub(crate) const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// A `${Name}` placeholder (SAM, CDK or Terraform would fill it) that
    /// nothing filled (the harness's own code).
    pub(crate) const UNFILLED_PLACEHOLDER: &str = "UNFILLED_PLACEHOLDER";
    pub(crate) const UNREACHABLE_STATE: &str = "UNREACHABLE_STATE";
    pub(crate) const NO_DOLLAR: &str = "NO_DOLLAR";
}

/// Escapes one JSON pointer token (RFC 6901).
pub(crate) fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The definition is not valid: every problem found, at once.
#[derive(Debug, Clone)]
pub struct InvalidDefinition {
    /// Every problem found (errors and warnings).
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for InvalidDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<_> =
            self.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
        writeln!(f, "InvalidDefinition: {} error(s)", errors.len())?;
        for d in errors {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidDefinition {}
