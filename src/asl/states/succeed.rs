//! Succeed: ends the machine with its input.

use super::Fields;
use crate::asl::lower::Cx;
use crate::asl::model::StateKind;

/// The Succeed state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType =
    super::StateType { name: "Succeed", fields: FIELDS, lower };

const FIELDS: &[&str] = &["InputPath", "OutputPath", "Output"];

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let _ = (cx, f);
    Some(StateKind::Succeed)
}
