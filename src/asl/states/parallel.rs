//! Parallel: branches, each a state machine of its own.

use super::Fields;
use crate::asl::lower::machine;
use crate::asl::lower::Cx;
use crate::asl::model::StateKind;
use crate::asl::model::StateMachine;
use serde_json::Value;

/// The Parallel state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType =
    super::StateType { name: "Parallel", fields: FIELDS, lower };

const FIELDS: &[&str] = &[
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Branches",
    "Parameters",
    "ResultPath",
    "ResultSelector",
    "Retry",
    "Catch",
    "Arguments",
    "Assign",
    "Output",
];

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let (obj, loc, ql) = (f.obj, f.loc, f.ql);
    match obj.get("Branches") {
        Some(Value::Array(bs)) if !bs.is_empty() => {
            let branches: Vec<StateMachine> = bs
                .iter()
                .enumerate()
                .filter_map(|(i, b)| machine(cx, b, &format!("{loc}/Branches/{i}"), ql, false))
                .collect();
            if branches.len() != bs.len() {
                return None;
            }
            Some(StateKind::Parallel { branches })
        }
        _ => {
            cx.schema(loc, "a Parallel state needs a non-empty 'Branches' array");
            None
        }
    }
}
