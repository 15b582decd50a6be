//! Retry and Catch: retriers and catchers, their fields, defaults and checks.

use super::diagnostic::token;
use super::jsonata::Query;
use super::lower::{assign_field, jsonata_field, result_path, target, Cx};
use super::model::{Dynamic, QueryLanguage, ResultPath};
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: ResultPath,
    pub next: usize,
    /// Variables assigned from the error output.
    pub assign: Option<Dynamic>,
    /// `Output` (JSONata): the state's output when this catcher catches
    /// (default: the error output).
    pub output: Option<Query>,
}

pub(crate) fn error_equals(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
    last: bool,
) -> Option<Vec<String>> {
    let list: Vec<String> = match obj.get("ErrorEquals") {
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
            a.iter().map(|e| e.as_str().unwrap_or_default().to_string()).collect()
        }
        _ => {
            cx.schema(
                &format!("{loc}/ErrorEquals"),
                "'ErrorEquals' must be a non-empty array of error names",
            );
            return None;
        }
    };
    if list.iter().any(|e| e == "States.ALL") && (list.len() > 1 || !last) {
        cx.schema(
            &format!("{loc}/ErrorEquals"),
            "'States.ALL' must appear alone and in the last retrier or catcher",
        );
    }
    Some(list)
}

pub(crate) fn retrier(cx: &mut Cx, v: &Value, loc: &str, last: bool) -> Option<Retrier> {
    // Longer than a screen: one block per retrier field with AWS's default and range, read as a table.
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "a retrier must be an object");
        return None;
    };
    for k in obj.keys() {
        if ![
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        ]
        .contains(&k.as_str())
        {
            cx.schema(
                &format!("{loc}/{}", token(k)),
                format!("field '{k}' is not a field of a retrier"),
            );
        }
    }
    let error_equals = error_equals(cx, obj, loc, last)?;
    let interval_seconds = match obj.get("IntervalSeconds") {
        None => 1,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=99_999_999).contains(&n) => n,
            _ => {
                cx.schema(
                    &format!("{loc}/IntervalSeconds"),
                    format!("'IntervalSeconds' must be a positive integer, found {v}"),
                );
                1
            }
        },
    };
    let max_attempts = match obj.get("MaxAttempts") {
        None => 3,
        Some(v) => match v.as_u64() {
            Some(n) if n <= 99_999_999 => n,
            _ => {
                cx.schema(
                    &format!("{loc}/MaxAttempts"),
                    format!("'MaxAttempts' must be a non-negative integer, found {v}"),
                );
                3
            }
        },
    };
    let backoff_rate = match obj.get("BackoffRate") {
        None => 2.0,
        Some(v) => match v.as_f64() {
            Some(n) if n >= 1.0 => n,
            _ => {
                cx.schema(
                    &format!("{loc}/BackoffRate"),
                    format!("'BackoffRate' must be a number of at least 1.0, found {v}"),
                );
                2.0
            }
        },
    };
    let max_delay_seconds = match obj.get("MaxDelaySeconds") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                cx.schema(
                    &format!("{loc}/MaxDelaySeconds"),
                    format!("'MaxDelaySeconds' must be a positive integer, found {v}"),
                );
                None
            }
        },
    };
    let jitter = match obj.get("JitterStrategy") {
        None => Jitter::None,
        Some(Value::String(s)) if s == "NONE" => Jitter::None,
        Some(Value::String(s)) if s == "FULL" => Jitter::Full,
        Some(v) => {
            cx.schema(
                &format!("{loc}/JitterStrategy"),
                format!("'JitterStrategy' must be \"FULL\" or \"NONE\", found {v}"),
            );
            Jitter::None
        }
    };
    Some(Retrier {
        error_equals,
        interval_seconds,
        max_attempts,
        backoff_rate,
        max_delay_seconds,
        jitter,
    })
}

pub(crate) fn catcher(
    cx: &mut Cx,
    v: &Value,
    loc: &str,
    index: &HashMap<String, usize>,
    last: bool,
    ql: QueryLanguage,
) -> Option<Catcher> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "a catcher must be an object");
        return None;
    };
    for k in obj.keys() {
        if !["ErrorEquals", "ResultPath", "Next", "Comment", "Assign", "Output"]
            .contains(&k.as_str())
        {
            cx.schema(
                &format!("{loc}/{}", token(k)),
                format!("field '{k}' is not a field of a catcher"),
            );
        }
    }
    let error_equals = error_equals(cx, obj, loc, last);
    let result_path = result_path(cx, obj.get("ResultPath"), &format!("{loc}/ResultPath"));
    let next = match obj.get("Next") {
        Some(n) => target(cx, n, &format!("{loc}/Next"), index, "Next"),
        None => {
            cx.schema(loc, "a catcher needs 'Next'");
            None
        }
    };
    let assign = assign_field(cx, obj, loc, ql);
    let output = jsonata_field(cx, obj, "Output", loc, ql);
    if ql == QueryLanguage::Jsonata && obj.contains_key("ResultPath") {
        cx.schema(
            &format!("{loc}/ResultPath"),
            "'ResultPath' is a JSONPath field and cannot be used in a JSONata state",
        );
    }
    Some(Catcher { error_equals: error_equals?, result_path, next: next?, assign, output })
}
