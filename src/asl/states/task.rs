//! Task: a Resource (classified once), TimeoutSeconds and HeartbeatSeconds.

use super::Fields;
use crate::asl::diagnostic::code;
use crate::asl::jsonata::{expr_in, Expr};
use crate::asl::lower::opt_path;
use crate::asl::lower::Cx;
use crate::asl::model::QueryLanguage;
use crate::asl::model::StateKind;
use crate::asl::path::Path;
use crate::asl::resource::Resource;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The Task state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType = super::StateType { name: "Task", fields: FIELDS, lower };

const FIELDS: &[&str] = &[
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Credentials",
    "Arguments",
    "Assign",
    "Output",
];

/// A number of seconds given literally or by a path.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
    /// A JSONata expression.
    Expr(Arc<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub resource: String,
    /// The resource ARN classified once.
    pub kind: Resource,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let (obj, loc) = (f.obj, f.loc);
    let resource = match obj.get("Resource") {
        Some(Value::String(s)) => {
            if let Some(name) = super::super::lower::placeholder(s) {
                cx.err(
                    code::UNFILLED_PLACEHOLDER,
                    &format!("{loc}/Resource"),
                    super::super::lower::unfilled(s, name, "ARN"),
                );
            } else if !s.starts_with("arn:") && !Resource::is_unresolved(s) {
                cx.err(
                    code::INVALID_RESOURCE,
                    &format!("{loc}/Resource"),
                    format!("'{s}' is not a resource ARN"),
                );
            }
            s.clone()
        }
        Some(_) => {
            cx.schema(&format!("{loc}/Resource"), "'Resource' must be an ARN string");
            return None;
        }
        None => {
            cx.schema(loc, "a Task state needs 'Resource'");
            return None;
        }
    };
    let timeout = seconds(cx, obj, "TimeoutSeconds", loc, f.ql);
    let heartbeat = seconds(cx, obj, "HeartbeatSeconds", loc, f.ql);
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
        if h >= t {
            cx.schema(
                &format!("{loc}/HeartbeatSeconds"),
                format!("HeartbeatSeconds ({h}) must be smaller than TimeoutSeconds ({t})"),
            );
        }
    }
    Some(StateKind::Task(Task { kind: Resource::parse(&resource), resource, timeout, heartbeat }))
}

fn seconds(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    ql: QueryLanguage,
) -> Option<Seconds> {
    let pkey = format!("{key}Path");
    if obj.contains_key(key) && obj.contains_key(&pkey) {
        cx.schema(loc, format!("'{key}' and '{pkey}' cannot both be set"));
    }
    if let Some(v) = obj.get(key) {
        return match v.as_u64() {
            Some(n) if n > 0 && n <= 99_999_999 => Some(Seconds::Fixed(n)),
            _ if ql == QueryLanguage::Jsonata && v.is_string() => {
                expr_in(cx, v.as_str().unwrap_or_default(), &format!("{loc}/{key}"), key)
                    .map(Seconds::Expr)
            }
            _ => {
                cx.schema(
                    &format!("{loc}/{key}"),
                    format!("'{key}' must be a positive integer, found {v}"),
                );
                None
            }
        };
    }
    opt_path(cx, obj, &pkey, loc).map(Seconds::Path)
}
