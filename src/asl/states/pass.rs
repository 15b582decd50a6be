//! Pass: passes its input (or `Result`, or `Parameters`) on.

use super::Fields;
use crate::asl::lower::Cx;
use crate::asl::model::StateKind;

/// The Pass state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType = super::StateType { name: "Pass", fields: FIELDS, lower };

const FIELDS: &[&str] = &[
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultPath",
    "Result",
    "Assign",
    "Output",
];

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let _ = cx;
    Some(StateKind::Pass { result: f.obj.get("Result").cloned() })
}
