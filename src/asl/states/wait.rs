//! Wait: waits Seconds, until a Timestamp, or their `…Path` forms (virtual time).

use super::Fields;
use crate::asl::jsonata::{expr_in, Expr};
use crate::asl::lower::opt_path;
use crate::asl::lower::Cx;
use crate::asl::model::StateKind;
use crate::asl::path::Path;
use std::sync::Arc;

/// The Wait state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType = super::StateType { name: "Wait", fields: FIELDS, lower };

const FIELDS: &[&str] = &[
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Assign",
    "Output",
];

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    /// Epoch milliseconds.
    Timestamp(i64),
    TimestampPath(Path),
    /// `Seconds` as a JSONata expression.
    SecondsExpr(Arc<Expr>),
    /// `Timestamp` as a JSONata expression.
    TimestampExpr(Arc<Expr>),
}

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let (obj, loc) = (f.obj, f.loc);
    let keys: Vec<_> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if keys.len() != 1 {
        cx.schema(loc, format!("a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath (found {})", keys.len()));
        return None;
    }
    let key = keys[0];
    let v = &obj[key];
    let kloc = format!("{loc}/{key}");
    match key {
        "Seconds" => match v.as_u64() {
            Some(n) if n <= 99_999_999 => Some(StateKind::Wait(WaitFor::Seconds(n))),
            _ if v.is_string() && f.ql == crate::asl::QueryLanguage::Jsonata => {
                expr_in(cx, v.as_str().unwrap_or_default(), &kloc, key)
                    .map(|e| StateKind::Wait(WaitFor::SecondsExpr(e)))
            }
            _ => {
                cx.schema(&kloc, format!("'Seconds' must be a non-negative integer, found {v}"));
                None
            }
        },
        "Timestamp" => match v.as_str() {
            Some(s)
                if f.ql == crate::asl::QueryLanguage::Jsonata
                    && crate::asl::jsonata::expression_text(s).is_some() =>
            {
                expr_in(cx, s, &kloc, key).map(|e| StateKind::Wait(WaitFor::TimestampExpr(e)))
            }
            Some(s) => match crate::time::parse_timestamp(s) {
                Some(ms) => Some(StateKind::Wait(WaitFor::Timestamp(ms))),
                None => {
                    cx.schema(&kloc, format!("'{s}' is not an ISO-8601 extended offset date-time such as 2016-03-14T01:59:00Z"));
                    None
                }
            },
            None => {
                cx.schema(&kloc, "'Timestamp' must be a string");
                None
            }
        },
        "SecondsPath" => {
            opt_path(cx, obj, key, loc).map(|p| StateKind::Wait(WaitFor::SecondsPath(p)))
        }
        _ => opt_path(cx, obj, key, loc).map(|p| StateKind::Wait(WaitFor::TimestampPath(p))),
    }
}
