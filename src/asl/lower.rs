//! Lowering a definition (JSON) into the model, collecting every problem:
//! the machine (StartAt, States), the fields every state shares
//! (transitions, InputPath/OutputPath, Parameters, ResultSelector,
//! ResultPath, Retry, Catch, Assign) and the field readers the state types
//! use. What each state type adds is in `states/`, one file per type.

use super::diagnostic::{code, token, Diagnostic, Severity};
use super::graph::graph_checks;
use super::jsonata::{query_in, Query};
use super::model::*;
use super::path::{Path, ReferencePath, Root};
use super::recover::{catcher, retrier};
use super::states::{self, Fields};
use super::template::template_in;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Fields every state type takes.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
/// The JSONPath-only fields.
const JSONPATH: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "Result",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "ErrorPath",
    "CausePath",
];
/// The JSONata-only fields.
const JSONATA: &[&str] = &["Arguments", "Output"];

/// Collects diagnostics while lowering.
pub(crate) struct Cx {
    pub diags: Vec<Diagnostic>,
}

impl Cx {
    pub(crate) fn err(&mut self, code: &'static str, loc: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            code,
            location: loc.to_string(),
            message: msg.into(),
        });
    }
    pub(crate) fn schema(&mut self, loc: &str, msg: impl Into<String>) {
        self.err(code::SCHEMA_VALIDATION_FAILED, loc, msg)
    }
    pub(crate) fn warn(&mut self, code: &'static str, loc: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            code,
            location: loc.to_string(),
            message: msg.into(),
        });
    }
}

pub(crate) fn lower(v: &Value) -> (Option<StateMachine>, Vec<Diagnostic>) {
    let mut cx = Cx { diags: Vec::new() };
    let mut sm = machine(&mut cx, v, "", QueryLanguage::JsonPath, true);
    if let Some(sm) = &mut sm {
        sm.state_count = number_states(sm, 0);
        sm.names = sm.all_states().iter().map(|s| s.name.clone()).collect();
    }
    cx.diags.extend(super::lint::lint(v));
    (sm, cx.diags)
}

/// The name of a `${Name}` placeholder in `s`, if it holds one.
pub(crate) fn placeholder(s: &str) -> Option<&str> {
    let start = s.find("${")?;
    let end = s[start..].find('}')? + start;
    let name = &s[start + 2..end];
    (!name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':'))
    .then_some(name)
}

/// What an unfilled `${name}` in `s` is told: what fills it.
pub(crate) fn unfilled(s: &str, name: &str, what: &str) -> String {
    format!("'{s}' is a placeholder nothing filled: pass --substitute {name}={what} (Harness::substitute), or load the template that fills it")
}

/// `${Name}` placeholders nothing filled in a state's fields (Resource is
/// the Task's own check; nested machines are their states'): an error
/// where the placeholder is the whole value or in an ARN (a slot SAM, CDK
/// or Terraform fills), a warning where it stands in longer text (which
/// may mean it literally).
fn unfilled_placeholders(cx: &mut Cx, obj: &Map<String, Value>, loc: &str) {
    fn walk(cx: &mut Cx, v: &Value, loc: &str) {
        match v {
            Value::String(s) => {
                let Some(name) = placeholder(s) else { return };
                if s.trim() == format!("${{{name}}}") || s.starts_with("arn:") {
                    cx.err(code::UNFILLED_PLACEHOLDER, loc, unfilled(s, name, "VALUE"));
                } else {
                    cx.warn(code::UNFILLED_PLACEHOLDER, loc, unfilled(s, name, "VALUE"));
                }
            }
            Value::Object(m) => {
                for (k, v) in m {
                    walk(cx, v, &format!("{loc}/{}", token(k)));
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(cx, v, &format!("{loc}/{i}"));
                }
            }
            _ => {}
        }
    }
    for (k, v) in obj {
        if !matches!(k.as_str(), "Resource" | "Comment" | "ItemProcessor" | "Iterator" | "Branches")
        {
            walk(cx, v, &format!("{loc}/{}", token(k)));
        }
    }
}

/// Numbers every state of the machine, nested ones included, depth first:
/// a state's `id` is its place machine-wide (ASL names are unique
/// machine-wide, so a name and an id say the same). Returns the next id.
fn number_states(sm: &mut StateMachine, mut next: usize) -> usize {
    for s in &mut sm.states {
        s.id = next;
        next += 1;
        for nested in s.kind.nested_mut() {
            next = number_states(nested, next);
        }
    }
    next
}

pub(crate) fn machine(
    cx: &mut Cx,
    v: &Value,
    loc: &str,
    parent_ql: QueryLanguage,
    top: bool,
) -> Option<StateMachine> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "a state machine must be a JSON object with StartAt and States");
        return None;
    };
    let allowed_top: &[&str] = if top {
        &["Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"]
    } else {
        &["Comment", "StartAt", "States", "ProcessorConfig", "QueryLanguage"]
    };
    for k in obj.keys() {
        if !allowed_top.contains(&k.as_str()) {
            cx.schema(
                &format!("{loc}/{}", token(k)),
                format!("field '{k}' is not supported at the top of a state machine"),
            );
        }
    }
    let ql = query_language(cx, obj, loc).unwrap_or(parent_ql);
    let _ = opt_str(cx, obj, "Comment", loc);
    let timeout_seconds = if top { opt_uint(cx, obj, "TimeoutSeconds", loc) } else { None };
    let states_obj = match obj.get("States") {
        Some(Value::Object(m)) => m,
        Some(_) => {
            cx.schema(&format!("{loc}/States"), "'States' must be an object of named states");
            return None;
        }
        None => {
            cx.schema(loc, "missing required field 'States'");
            return None;
        }
    };
    if states_obj.is_empty() {
        cx.schema(&format!("{loc}/States"), "'States' must contain at least one state");
    }
    let index = state_index(cx, states_obj, loc);
    let start_at = start_at(cx, obj, &index, loc);
    let mut states = Vec::new();
    for (name, sv) in states_obj {
        let sloc = format!("{loc}/States/{}", token(name));
        if let Some(s) = state(cx, name, sv, &sloc, ql, &index) {
            states.push(s);
        }
    }
    if let Some(Value::String(start)) = obj.get("StartAt") {
        graph_checks(cx, states_obj, start, loc);
    }
    if states.len() != states_obj.len() {
        return None;
    }
    let start_at = start_at?;
    Some(StateMachine {
        timeout_seconds,
        start_at,
        states,
        index,
        state_count: 0,
        names: Vec::new(),
        definition: v.clone(),
    })
}

/// The states' names → positions; names AWS refuses are reported.
fn state_index(cx: &mut Cx, states: &Map<String, Value>, loc: &str) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, name) in states.keys().enumerate() {
        index.insert(name.clone(), i);
        if name.is_empty() || name.chars().count() > 80 {
            cx.err(
                code::INVALID_STATE_NAME,
                &format!("{loc}/States/{}", token(name)),
                format!("state name '{name}' must be 1 to 80 characters"),
            );
        } else if name.chars().any(|c| c.is_control()) {
            cx.err(
                code::INVALID_STATE_NAME,
                &format!("{loc}/States/{}", token(name)),
                format!("state name '{name}' contains control characters"),
            );
        }
    }
    index
}

/// `StartAt` as a position.
fn start_at(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    index: &HashMap<String, usize>,
    loc: &str,
) -> Option<usize> {
    match obj.get("StartAt") {
        Some(Value::String(s)) => match index.get(s) {
            Some(i) => Some(*i),
            None => {
                cx.err(
                    code::MISSING_TRANSITION_TARGET,
                    &format!("{loc}/StartAt"),
                    format!("StartAt '{s}' is not a state of this machine"),
                );
                None
            }
        },
        Some(_) => {
            cx.schema(&format!("{loc}/StartAt"), "'StartAt' must be a string");
            None
        }
        None => {
            cx.schema(loc, "missing required field 'StartAt'");
            None
        }
    }
}

/// Lowers one state: its type (found by name), the fields every state
/// shares, then what its type adds.
pub(crate) fn state(
    cx: &mut Cx,
    name: &str,
    v: &Value,
    loc: &str,
    parent_ql: QueryLanguage,
    index: &HashMap<String, usize>,
) -> Option<State> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, format!("state '{name}' must be a JSON object"));
        return None;
    };
    let ty_def = state_type(cx, name, obj, loc)?;
    let ql = query_language(cx, obj, loc).unwrap_or(parent_ql);
    let _ = opt_str(cx, obj, "Comment", loc);
    let assign = assign_field(cx, obj, loc, ql);
    let (arguments, output) = jsonata_fields(cx, obj, loc, ql);
    let next =
        if ty_def.fields.contains(&"Next") { transition(cx, name, obj, loc, index) } else { None };
    let input_path = io_path(cx, obj, "InputPath", loc);
    let output_path = io_path(cx, obj, "OutputPath", loc);
    let parameters =
        obj.get("Parameters").map(|p| Arc::new(template_in(cx, p, &format!("{loc}/Parameters"))));
    if let Some(p) = obj.get("Parameters") {
        if !p.is_object() {
            cx.schema(&format!("{loc}/Parameters"), "'Parameters' must be an object");
        }
    }
    let result_selector =
        obj.get("ResultSelector").map(|p| template_in(cx, p, &format!("{loc}/ResultSelector")));
    let result_path = result_path(cx, obj.get("ResultPath"), &format!("{loc}/ResultPath"));
    let retry = array_field(cx, obj, "Retry", loc, "retriers", retrier);
    let catch = array_field(cx, obj, "Catch", loc, "catchers", |cx, c, l, last| {
        catcher(cx, c, l, index, last, ql)
    });
    unfilled_placeholders(cx, obj, loc);
    let fields = Fields { obj, loc, ql, index };
    let kind = (ty_def.lower)(cx, &fields)?;
    // a Task's Arguments become its parameters, shared as a template's are
    let arguments_template = arguments
        .as_ref()
        .filter(|_| matches!(kind, StateKind::Task(_)))
        .map(|q| Arc::new(super::template::Template::of_query(q)));
    let env_layout = match (&kind, ql) {
        (StateKind::Task(_), QueryLanguage::Jsonata) => arguments_template.as_deref(),
        (StateKind::Task(_), QueryLanguage::JsonPath) => parameters.as_deref(),
        _ => None,
    }
    .and_then(super::EnvLayout::of)
    .map(Arc::new);
    Some(State {
        assign,
        env_layout,
        index: index[name],
        id: 0,
        name: Arc::from(name),
        kind,
        ql,
        arguments_template,
        arguments,
        output,
        input_path,
        output_path,
        parameters,
        result_selector,
        result_path,
        next,
        retry,
        catch,
    })
}

/// The state's type, found by its `Type`; every field the type does not
/// take is reported.
fn state_type(
    cx: &mut Cx,
    name: &str,
    obj: &Map<String, Value>,
    loc: &str,
) -> Option<&'static states::StateType> {
    let ty = match obj.get("Type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            cx.schema(&format!("{loc}/Type"), "'Type' must be a string");
            return None;
        }
        None => {
            cx.schema(loc, format!("state '{name}' has no 'Type'"));
            return None;
        }
    };
    let Some(ty_def) = states::find(ty) else {
        cx.schema(
            &format!("{loc}/Type"),
            format!("'{ty}' is not a state type ({})", states::names().join(", ")),
        );
        return None;
    };
    for k in obj.keys() {
        if !COMMON.contains(&k.as_str()) && !ty_def.fields.contains(&k.as_str()) {
            let msg = if states::is_field(k) {
                format!("field '{k}' is not supported by a {ty} state")
            } else {
                format!("field '{k}' is not a field of the Amazon States Language")
            };
            cx.schema(&format!("{loc}/{}", token(k)), msg);
        }
    }
    Some(ty_def)
}

/// `Arguments` and `Output`, in a JSONata state; each query language's
/// own fields are refused in a state of the other.
fn jsonata_fields(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
    ql: QueryLanguage,
) -> (Option<Query>, Option<Query>) {
    let (refused, theirs, ours) = match ql {
        QueryLanguage::Jsonata => (JSONPATH, "JSONPath", "JSONata"),
        QueryLanguage::JsonPath => (JSONATA, "JSONata", "JSONPath"),
    };
    for k in refused {
        if obj.contains_key(*k) {
            cx.schema(
                &format!("{loc}/{k}"),
                format!("'{k}' is a {theirs} field and cannot be used in a {ours} state"),
            );
        }
    }
    if ql == QueryLanguage::JsonPath {
        return (None, None);
    }
    (jsonata_field(cx, obj, "Arguments", loc, ql), jsonata_field(cx, obj, "Output", loc, ql))
}

/// A JSONata-only field (`Output`, `Items`, …) of a state, a catcher or a
/// choice rule: its query, or a diagnostic in a JSONPath state.
pub(crate) fn jsonata_field(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    ql: QueryLanguage,
) -> Option<Query> {
    let v = obj.get(key)?;
    let kloc = format!("{loc}/{key}");
    match ql {
        QueryLanguage::Jsonata => Some(query_in(cx, v, &kloc, key)),
        QueryLanguage::JsonPath => {
            cx.schema(
                &kloc,
                format!("'{key}' is a JSONata field and cannot be used in a JSONPath state"),
            );
            None
        }
    }
}

/// `Next` (as an index) or `End: true`: exactly one of them.
fn transition(
    cx: &mut Cx,
    name: &str,
    obj: &Map<String, Value>,
    loc: &str,
    index: &HashMap<String, usize>,
) -> Option<usize> {
    let end = match obj.get("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            cx.schema(&format!("{loc}/End"), "'End' must be a boolean");
            false
        }
    };
    match (obj.get("Next"), end) {
        (Some(_), true) => {
            cx.schema(loc, format!("state '{name}' has both 'Next' and 'End': true"));
            None
        }
        (Some(n), false) => target(cx, n, &format!("{loc}/Next"), index, "Next"),
        (None, true) => None,
        (None, false) => {
            cx.err(
                code::MISSING_TRANSITION_TARGET,
                loc,
                format!("state '{name}' needs 'Next' or 'End': true"),
            );
            None
        }
    }
}

/// An array of objects (Retry, Catch), each lowered by `item`, which is told
/// its location and whether it is the last.
fn array_field<T>(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    what: &str,
    mut item: impl FnMut(&mut Cx, &Value, &str, bool) -> Option<T>,
) -> Vec<T> {
    match obj.get(key) {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, v)| item(cx, v, &format!("{loc}/{key}/{i}"), i + 1 == a.len()))
            .collect(),
        Some(_) => {
            cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be an array of {what}"));
            Vec::new()
        }
    }
}

pub(crate) fn query_language(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
) -> Option<QueryLanguage> {
    match obj.get("QueryLanguage")? {
        Value::String(s) if s == "JSONPath" => Some(QueryLanguage::JsonPath),
        Value::String(s) if s == "JSONata" => Some(QueryLanguage::Jsonata),
        _ => {
            cx.schema(
                &format!("{loc}/QueryLanguage"),
                "'QueryLanguage' must be \"JSONPath\" or \"JSONata\"",
            );
            None
        }
    }
}

pub(crate) fn opt_str(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        _ => {
            cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a string"));
            None
        }
    }
}

pub(crate) fn opt_uint(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<u64> {
    let v = obj.get(key)?;
    match v.as_u64() {
        Some(n) => Some(n),
        None => {
            cx.schema(
                &format!("{loc}/{key}"),
                format!("'{key}' must be a non-negative integer, found {v}"),
            );
            None
        }
    }
}

pub(crate) fn opt_path(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
) -> Option<Path> {
    let v = obj.get(key)?;
    let Some(s) = v.as_str() else {
        cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a JSONPath string"));
        return None;
    };
    match Path::parse(s) {
        Ok(p) => Some(p),
        Err(e) => {
            cx.schema(&format!("{loc}/{key}"), format!("invalid path in '{key}': {e}"));
            None
        }
    }
}

pub(crate) fn io_path(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> IoPath {
    match obj.get(key) {
        None => IoPath::Whole,
        Some(Value::Null) => IoPath::Null,
        // `$` selects the whole value: shared as it is, not copied
        Some(_) => match opt_path(cx, obj, key, loc) {
            Some(p) if p.root() == Root::Input && p.segments().is_some_and(<[_]>::is_empty) => {
                IoPath::Whole
            }
            Some(p) => IoPath::Path(p),
            None => IoPath::Whole,
        },
    }
}

pub(crate) fn result_path(cx: &mut Cx, v: Option<&Value>, loc: &str) -> ResultPath {
    match v {
        None => ResultPath::Replace,
        Some(Value::Null) => ResultPath::Discard,
        Some(Value::String(s)) => match ReferencePath::parse(s) {
            Ok(p) => ResultPath::Path(p),
            Err(e) => {
                cx.schema(loc, format!("invalid ResultPath: {e}"));
                ResultPath::Replace
            }
        },
        Some(_) => {
            cx.schema(loc, "'ResultPath' must be a reference path string or null");
            ResultPath::Replace
        }
    }
}

pub(crate) fn target(
    cx: &mut Cx,
    v: &Value,
    loc: &str,
    index: &HashMap<String, usize>,
    what: &str,
) -> Option<usize> {
    match v {
        Value::String(s) => match index.get(s) {
            Some(i) => Some(*i),
            None => {
                cx.err(
                    code::MISSING_TRANSITION_TARGET,
                    loc,
                    format!("{what} '{s}' is not a state of this machine"),
                );
                None
            }
        },
        _ => {
            cx.schema(loc, format!("'{what}' must be a state name"));
            None
        }
    }
}

/// `Assign`: an object of variable names whose values are, in JSONPath
/// mode, paths or intrinsic calls under `.$` keys (as in Parameters), in
/// JSONata mode values or `{% … %}` expressions.
pub(crate) fn assign_field(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
    ql: QueryLanguage,
) -> Option<Dynamic> {
    let v = obj.get("Assign")?;
    let aloc = format!("{loc}/Assign");
    let Some(vars) = v.as_object() else {
        cx.schema(&aloc, "'Assign' must be an object of variable names");
        return None;
    };
    for key in vars.keys() {
        let name =
            if ql == QueryLanguage::JsonPath { key.strip_suffix(".$").unwrap_or(key) } else { key };
        if !is_variable_name(name) {
            cx.schema(&format!("{aloc}/{}", token(key)), format!("'{name}' is not a variable name: a letter or '_', then letters, digits or '_' (at most 80), and not the reserved 'states'"));
        }
    }
    Some(dynamic(cx, v, &aloc, "Assign", ql))
}

/// Whether `name` may name a variable (`$name`): an identifier of at most
/// 80 characters, not the reserved `states`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= 80
        && name != "states"
}

/// A value built per evaluation (Assign, ItemSelector) in `ql`.
pub(crate) fn dynamic(
    cx: &mut Cx,
    v: &Value,
    loc: &str,
    field: &str,
    ql: QueryLanguage,
) -> Dynamic {
    match ql {
        QueryLanguage::JsonPath => Dynamic::JsonPath(template_in(cx, v, loc)),
        QueryLanguage::Jsonata => Dynamic::Jsonata(query_in(cx, v, loc, field)),
    }
}
