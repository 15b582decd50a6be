//! The entry points of lowering: text or JSON in, a [`StateMachine`] or
//! every diagnostic out.

use super::diagnostic::{code, Diagnostic, InvalidDefinition, Severity};
use super::lower::lower;
use super::model::StateMachine;
use serde_json::Value;

/// The largest definition AWS accepts, in characters.
pub(crate) const MAX_DEFINITION_CHARS: usize = 1_048_576;

/// Parses and validates a definition given as text.
pub(crate) fn parse_str(text: &str) -> Result<StateMachine, InvalidDefinition> {
    if text.len() > MAX_DEFINITION_CHARS && text.chars().count() > MAX_DEFINITION_CHARS {
        return Err(InvalidDefinition {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                code: code::SCHEMA_VALIDATION_FAILED,
                location: String::new(),
                message: format!(
                    "the definition has {} characters; AWS accepts at most {MAX_DEFINITION_CHARS}",
                    text.chars().count()
                ),
            }],
        });
    }
    if text.trim().is_empty() {
        return Err(InvalidDefinition {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                code: code::MISSING_DESCRIPTION,
                location: String::new(),
                message: "the definition is empty".into(),
            }],
        });
    }
    let (v, dups) = super::read::read(text).map_err(|e| InvalidDefinition {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            code: code::INVALID_JSON_DESCRIPTION,
            location: String::new(),
            message: format!(
                "the definition is not JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        }],
    })?;
    // a mutant of exactly this definition, when a mutation run loads one
    let v = super::mutant::for_definition(v).map_err(|message| InvalidDefinition {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            code: code::SCHEMA_VALIDATION_FAILED,
            location: String::new(),
            message,
        }],
    })?;
    if !dups.is_empty() {
        let mut diagnostics = dups;
        diagnostics.extend(lower(&v).1);
        return Err(InvalidDefinition { diagnostics });
    }
    parse_value(&v)
}

/// Parses and validates a definition given as JSON.
pub(crate) fn parse_value(v: &Value) -> Result<StateMachine, InvalidDefinition> {
    let (sm, diagnostics) = lower(v);
    match sm {
        Some(sm) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(sm),
        _ => Err(InvalidDefinition { diagnostics }),
    }
}

/// Every diagnostic (errors and warnings) for a definition.
pub(crate) fn diagnostics(v: &Value) -> Vec<Diagnostic> {
    lower(v).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(v: Value) -> Vec<(String, &'static str)> {
        diagnostics(&v)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.location, d.code))
            .collect()
    }

    #[test]
    fn reports_every_problem_with_pointers() {
        let got = codes(json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1},
                "B": {"Type": "Wait", "End": true},
                "C": {"Type": "Task", "Resource": "arn:aws:lambda:x", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}]},
                "D": {"Type": "Succeed", "Seconds": 3}
            }
        }));
        assert!(
            got.contains(&("/States/A/Next".into(), code::MISSING_TRANSITION_TARGET)),
            "{got:?}"
        );
        assert!(
            got.contains(&("/States/A/Bogus".into(), code::SCHEMA_VALIDATION_FAILED)),
            "{got:?}"
        );
        assert!(got.contains(&("/States/B".into(), code::SCHEMA_VALIDATION_FAILED)), "{got:?}");
        assert!(
            got.contains(&("/States/C/Retry/0/BackoffRate".into(), code::SCHEMA_VALIDATION_FAILED)),
            "{got:?}"
        );
        assert!(
            got.contains(&("/States/D/Seconds".into(), code::SCHEMA_VALIDATION_FAILED)),
            "{got:?}"
        );
    }

    #[test]
    fn unreachable_and_missing_end() {
        let got = codes(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}, "B": {"Type": "Pass", "Next": "A"}}}),
        );
        assert!(got.contains(&("/States/B".into(), code::UNREACHABLE_STATE)), "{got:?}");
        assert!(got.contains(&("".into(), code::MISSING_END_STATE)), "{got:?}");
    }

    #[test]
    fn bad_paths_and_intrinsics() {
        let got =
            codes(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "a.b",
            "Parameters": {"x.$": "States.Nope(1)", "y.$": "$.ok", "z.$": 3}, "End": true}}}));
        assert!(got.contains(&("/States/A/InputPath".into(), code::SCHEMA_VALIDATION_FAILED)));
        assert!(got.contains(&("/States/A/Parameters/x.$".into(), code::SCHEMA_VALIDATION_FAILED)));
        assert!(got.contains(&("/States/A/Parameters/z.$".into(), code::SCHEMA_VALIDATION_FAILED)));
        assert_eq!(got.len(), 3, "{got:?}");
    }

    #[test]
    fn a_definition_over_awss_size_quota_is_refused() {
        let pad = " ".repeat(MAX_DEFINITION_CHARS);
        let text = format!(
            r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Pass", "End": true}}}}}}{pad}"#
        );
        let e = parse_str(&text).unwrap_err();
        assert!(e.diagnostics[0].message.contains("at most 1048576"), "{e}");
        parse_str(&text[..MAX_DEFINITION_CHARS]).unwrap();
    }

    #[test]
    fn seed_definitions_are_valid() {
        for f in [
            "fixtures/seed/state-machine.asl.json",
            "fixtures/seed/state-machine.wait-for-token.asl.json",
        ] {
            let text = std::fs::read_to_string(f).unwrap();
            parse_str(&text).unwrap();
        }
    }
}
