//! Choice: rules (comparisons, And/Or/Not, JSONata Condition) and Default.

use super::Fields;
use crate::asl::diagnostic::token;
use crate::asl::jsonata::{expr_in, Query};
use crate::asl::lower::Cx;
use crate::asl::lower::{assign_field, jsonata_field, target};
use crate::asl::model::StateKind;
use crate::asl::model::{Dynamic, QueryLanguage};
use crate::asl::path::Path;
use serde_json::{Map, Value};

/// The Choice state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType =
    super::StateType { name: "Choice", fields: FIELDS, lower };

const FIELDS: &[&str] = &["InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"];

#[derive(Debug, Clone)]
pub(crate) struct ChoiceBranch {
    pub rule: Rule,
    pub next: usize,
    /// Variables assigned when this rule matches.
    pub assign: Option<Dynamic>,
    /// `Output` (JSONata): the state's output when this rule matches.
    pub output: Option<Query>,
}

/// A choice rule.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        op: Op,
        operand: Operand,
    },
    /// A JSONata `Condition`: an expression, or a literal boolean.
    Condition(Query),
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Value(Value),
    Path(Path),
}

/// The comparison operators, without their `Path` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl Op {
    pub(crate) const ALL: &'static [(&'static str, Op)] = &[
        ("StringEquals", Op::StringEquals),
        ("StringLessThan", Op::StringLessThan),
        ("StringGreaterThan", Op::StringGreaterThan),
        ("StringLessThanEquals", Op::StringLessThanEquals),
        ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
        ("StringMatches", Op::StringMatches),
        ("NumericEquals", Op::NumericEquals),
        ("NumericLessThan", Op::NumericLessThan),
        ("NumericGreaterThan", Op::NumericGreaterThan),
        ("NumericLessThanEquals", Op::NumericLessThanEquals),
        ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
        ("BooleanEquals", Op::BooleanEquals),
        ("TimestampEquals", Op::TimestampEquals),
        ("TimestampLessThan", Op::TimestampLessThan),
        ("TimestampGreaterThan", Op::TimestampGreaterThan),
        ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
        ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
        ("IsNull", Op::IsNull),
        ("IsPresent", Op::IsPresent),
        ("IsNumeric", Op::IsNumeric),
        ("IsString", Op::IsString),
        ("IsBoolean", Op::IsBoolean),
        ("IsTimestamp", Op::IsTimestamp),
    ];

    /// Parses an operator key: `NumericEquals` or `NumericEqualsPath`
    /// (the bool says whether the operand is a path).
    pub(crate) fn parse(key: &str) -> Option<(Op, bool)> {
        let (base, is_path) = match key.strip_suffix("Path") {
            Some(b) if !b.starts_with("Is") && b != "StringMatches" => (b, true),
            _ => (key, false),
        };
        Op::ALL.iter().find(|(n, _)| *n == base).map(|(_, op)| (*op, is_path))
    }
}

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let (obj, loc, index, ql) = (f.obj, f.loc, f.index, f.ql);
    let default =
        obj.get("Default").and_then(|d| target(cx, d, &format!("{loc}/Default"), index, "Default"));
    let Some(Value::Array(list)) = obj.get("Choices") else {
        cx.schema(loc, "a Choice state needs a non-empty 'Choices' array");
        return None;
    };
    if list.is_empty() {
        cx.schema(&format!("{loc}/Choices"), "'Choices' must not be empty");
    }
    let mut choices = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let cloc = format!("{loc}/Choices/{i}");
        let Some(cobj) = c.as_object() else {
            cx.schema(&cloc, "a choice rule must be an object");
            continue;
        };
        let next = match cobj.get("Next") {
            Some(n) => target(cx, n, &format!("{cloc}/Next"), index, "Next"),
            None => {
                cx.schema(&cloc, "a top-level choice rule needs 'Next'");
                None
            }
        };
        let rule = rule(cx, c, &cloc, true, ql);
        if let (Some(rule), Some(next)) = (rule, next) {
            let assign = assign_field(cx, cobj, &cloc, ql);
            let output = jsonata_field(cx, cobj, "Output", &cloc, ql);
            choices.push(ChoiceBranch { rule, next, assign, output });
        }
    }
    Some(StateKind::Choice { choices, default })
}

fn rule(cx: &mut Cx, v: &Value, loc: &str, top: bool, ql: QueryLanguage) -> Option<Rule> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "a choice rule must be an object");
        return None;
    };
    let meta = |k: &str| k == "Comment" || (top && (k == "Next" || k == "Assign" || k == "Output"));
    if let Some(c) = obj.get("Condition") {
        let cloc = format!("{loc}/Condition");
        if ql == QueryLanguage::JsonPath {
            cx.schema(
                &cloc,
                "'Condition' is a JSONata field and cannot be used in a JSONPath state",
            );
            return None;
        }
        return match c {
            Value::String(s) => {
                expr_in(cx, s, &cloc, "Condition").map(|e| Rule::Condition(Query::Expr(e)))
            }
            Value::Bool(b) => Some(Rule::Condition(Query::Literal(Value::Bool(*b)))),
            _ => {
                cx.schema(&cloc, "'Condition' must be a JSONata expression string or a boolean");
                None
            }
        };
    }
    for (k, combinator) in [("And", 0), ("Or", 1), ("Not", 2)] {
        let Some(val) = obj.get(k) else { continue };
        for other in obj.keys() {
            if other != k && !meta(other) {
                cx.schema(
                    &format!("{loc}/{}", token(other)),
                    format!("field '{other}' cannot be combined with '{k}'"),
                );
            }
        }
        let kloc = format!("{loc}/{k}");
        return if combinator == 2 {
            rule(cx, val, &kloc, false, ql).map(|r| Rule::Not(Box::new(r)))
        } else {
            let Some(items) = val.as_array().filter(|a| !a.is_empty()) else {
                cx.schema(&kloc, format!("'{k}' must be a non-empty array of rules"));
                return None;
            };
            let rules: Vec<Rule> = items
                .iter()
                .enumerate()
                .filter_map(|(i, r)| rule(cx, r, &format!("{kloc}/{i}"), false, ql))
                .collect();
            if rules.len() != items.len() {
                return None;
            }
            Some(if combinator == 0 { Rule::And(rules) } else { Rule::Or(rules) })
        };
    }
    comparison(cx, obj, loc, &meta)
}

/// `Variable` and exactly one comparison operator (`NumericEquals`,
/// `StringMatchesPath`, `IsPresent`, …) with an operand of the right type;
/// `meta` tells the fields that may stand beside them.
fn comparison(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
    meta: &dyn Fn(&str) -> bool,
) -> Option<Rule> {
    let variable = match obj.get("Variable") {
        Some(Value::String(s)) => match Path::parse(s) {
            Ok(p) => Some(p),
            Err(e) => {
                cx.schema(&format!("{loc}/Variable"), format!("invalid path in 'Variable': {e}"));
                None
            }
        },
        Some(_) => {
            cx.schema(&format!("{loc}/Variable"), "'Variable' must be a path string");
            None
        }
        None => {
            cx.schema(
                loc,
                "a choice rule needs 'Variable' and a comparison operator, or And/Or/Not",
            );
            None
        }
    };
    let mut found: Option<(Op, Operand)> = None;
    for (k, val) in obj {
        if k == "Variable" || meta(k) {
            continue;
        }
        let kloc = format!("{loc}/{}", token(k));
        let Some((op, is_path)) = Op::parse(k) else {
            cx.schema(&kloc, format!("'{k}' is not a comparison operator"));
            continue;
        };
        if found.is_some() {
            cx.schema(&kloc, "a choice rule takes exactly one comparison operator");
            continue;
        }
        let Some(operand) = operand(cx, op, is_path, k, val, &kloc) else { continue };
        found = Some((op, operand));
    }
    let Some((op, operand)) = found else {
        if variable.is_some() {
            cx.schema(loc, "a choice rule with 'Variable' needs a comparison operator");
        }
        return None;
    };
    Some(Rule::Compare { variable: variable?, op, operand })
}

/// The operand of `op` (the value of key `k`): a path for a `…Path`
/// operator, else a literal of the operator's type.
fn operand(
    cx: &mut Cx,
    op: Op,
    is_path: bool,
    k: &str,
    val: &Value,
    kloc: &str,
) -> Option<Operand> {
    if is_path {
        return match val.as_str().map(Path::parse) {
            Some(Ok(p)) => Some(Operand::Path(p)),
            Some(Err(e)) => {
                cx.schema(kloc, format!("invalid path in '{k}': {e}"));
                None
            }
            None => {
                cx.schema(kloc, format!("'{k}' must be a path string"));
                None
            }
        };
    }
    let ok = match op {
        Op::StringEquals
        | Op::StringLessThan
        | Op::StringGreaterThan
        | Op::StringLessThanEquals
        | Op::StringGreaterThanEquals
        | Op::StringMatches => val.is_string(),
        Op::NumericEquals
        | Op::NumericLessThan
        | Op::NumericGreaterThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThanEquals => val.is_number(),
        // AWS accepts any string here (and compares non-timestamps as text)
        Op::TimestampEquals
        | Op::TimestampLessThan
        | Op::TimestampGreaterThan
        | Op::TimestampLessThanEquals
        | Op::TimestampGreaterThanEquals => val.is_string(),
        _ => val.is_boolean(),
    };
    if !ok {
        cx.schema(kloc, format!("'{k}' has an operand of the wrong type: {val}"));
        return None;
    }
    Some(Operand::Value(val.clone()))
}
