//! Fail: ends the execution with Error and Cause (or their `…Path` forms).

use super::Fields;
use crate::asl::intrinsic::Call;
use crate::asl::jsonata::{expr_in, expression_text, Expr};
use crate::asl::lower::opt_path;
use crate::asl::lower::Cx;
use crate::asl::model::QueryLanguage;
use crate::asl::model::StateKind;
use crate::asl::path::Path;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The Fail state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType = super::StateType { name: "Fail", fields: FIELDS, lower };

const FIELDS: &[&str] = &["Error", "ErrorPath", "Cause", "CausePath"];

/// A string given literally or by a path (Fail's Error/ErrorPath).
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
    Call(Call),
    /// A JSONata expression.
    Expr(Arc<Expr>),
}

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    Some(StateKind::Fail {
        error: text_field(cx, f.obj, "Error", f.loc, f.ql),
        cause: text_field(cx, f.obj, "Cause", f.loc, f.ql),
    })
}

fn text_field(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    ql: QueryLanguage,
) -> Option<Text> {
    let pkey = format!("{key}Path");
    if obj.contains_key(key) && obj.contains_key(&pkey) {
        cx.schema(loc, format!("'{key}' and '{pkey}' cannot both be set"));
    }
    if let Some(v) = obj.get(key) {
        return match v {
            Value::String(s) if ql == QueryLanguage::Jsonata && expression_text(s).is_some() => {
                expr_in(cx, s, &format!("{loc}/{key}"), key).map(Text::Expr)
            }
            Value::String(s) => Some(Text::Literal(s.clone())),
            _ => {
                cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a string"));
                None
            }
        };
    }
    let v = obj.get(&pkey)?;
    let s = v.as_str().unwrap_or_default();
    if Call::looks_like(s) {
        match Call::parse(s) {
            Ok(c) => Some(Text::Call(c)),
            Err(e) => {
                cx.schema(
                    &format!("{loc}/{pkey}"),
                    format!("invalid intrinsic function call: {e}"),
                );
                None
            }
        }
    } else {
        opt_path(cx, obj, &pkey, loc).map(Text::Path)
    }
}
