//! Lowering a definition (JSON) into the model, collecting every problem.

use super::diagnostic::{code, token, Diagnostic, InvalidDefinition, Severity};
use super::intrinsic::Call;
use super::model::*;
use super::path::{Path, ReferencePath};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const IO: &[&str] = &["InputPath", "OutputPath"];
const JSONATA: &[&str] = &["Assign", "Output"];

fn allowed(ty: &str) -> Option<Vec<&'static str>> {
    let extra: &[&str] = match ty {
        "Pass" => &["Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result", "Assign", "Output"],
        "Task" => &[
            "Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry",
            "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
            "HeartbeatSecondsPath", "Credentials", "Arguments", "Assign", "Output",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"],
        "Wait" => &[
            "Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath",
            "Assign", "Output",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Map" => &[
            "Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemProcessor", "Iterator", "ItemSelector",
            "Parameters", "ItemReader", "ResultWriter", "ItemBatcher", "MaxConcurrency", "MaxConcurrencyPath",
            "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount",
            "ToleratedFailureCountPath", "ResultPath", "ResultSelector", "Retry", "Catch", "Label", "Items",
            "Arguments", "Assign", "Output",
        ],
        "Parallel" => &[
            "Next", "End", "InputPath", "OutputPath", "Branches", "Parameters", "ResultPath", "ResultSelector",
            "Retry", "Catch", "Arguments", "Assign", "Output",
        ],
        _ => return None,
    };
    Some(COMMON.iter().chain(extra).copied().collect())
}

const ALL_FIELDS: &[&str] = &[
    "Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Result", "Retry",
    "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath",
    "Credentials", "Choices", "Default", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Error",
    "ErrorPath", "Cause", "CausePath", "ItemsPath", "ItemProcessor", "Iterator", "ItemSelector", "ItemReader",
    "ResultWriter", "ItemBatcher", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath", "Label", "Items",
    "Branches", "Arguments", "Assign", "Output",
];

struct Cx {
    diags: Vec<Diagnostic>,
}

impl Cx {
    fn err(&mut self, code: &'static str, loc: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic { severity: Severity::Error, code, location: loc.to_string(), message: msg.into() });
    }
    fn schema(&mut self, loc: &str, msg: impl Into<String>) {
        self.err(code::SCHEMA_VALIDATION_FAILED, loc, msg)
    }
    fn warn(&mut self, code: &'static str, loc: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic { severity: Severity::Warning, code, location: loc.to_string(), message: msg.into() });
    }
}

/// Parses and validates a definition given as text.
pub fn parse_str(text: &str) -> Result<StateMachine, InvalidDefinition> {
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
    let v: Value = serde_json::from_str(text).map_err(|e| InvalidDefinition {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            code: code::INVALID_JSON_DESCRIPTION,
            location: String::new(),
            message: format!("the definition is not JSON: {e} (line {}, column {})", e.line(), e.column()),
        }],
    })?;
    let dups = duplicate_state_names(text);
    if !dups.is_empty() {
        let mut diagnostics = dups;
        diagnostics.extend(lower(&v).1);
        return Err(InvalidDefinition { diagnostics });
    }
    parse_value(&v)
}

/// Parses and validates a definition given as JSON.
pub fn parse_value(v: &Value) -> Result<StateMachine, InvalidDefinition> {
    let (sm, diagnostics) = lower(v);
    match sm {
        Some(sm) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(sm),
        _ => Err(InvalidDefinition { diagnostics }),
    }
}

/// Every diagnostic (errors and warnings) for a definition.
pub fn diagnostics(v: &Value) -> Vec<Diagnostic> {
    lower(v).1
}

fn lower(v: &Value) -> (Option<StateMachine>, Vec<Diagnostic>) {
    let mut cx = Cx { diags: Vec::new() };
    let sm = machine(&mut cx, v, "", QueryLanguage::JsonPath, true);
    (sm, cx.diags)
}

fn machine(cx: &mut Cx, v: &Value, loc: &str, parent_ql: QueryLanguage, top: bool) -> Option<StateMachine> {
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
            cx.schema(&format!("{loc}/{}", token(k)), format!("field '{k}' is not supported at the top of a state machine"));
        }
    }
    let ql = query_language(cx, obj, loc).unwrap_or(parent_ql);
    let comment = opt_str(cx, obj, "Comment", loc);
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
    let mut index = HashMap::new();
    for (i, name) in states_obj.keys().enumerate() {
        index.insert(name.clone(), i);
        if name.is_empty() || name.chars().count() > 80 {
            cx.err(code::INVALID_STATE_NAME, &format!("{loc}/States/{}", token(name)), format!("state name '{name}' must be 1 to 80 characters"));
        } else if name.chars().any(|c| c.is_control()) {
            cx.err(code::INVALID_STATE_NAME, &format!("{loc}/States/{}", token(name)), format!("state name '{name}' contains control characters"));
        }
    }
    let start_at = match obj.get("StartAt") {
        Some(Value::String(s)) => match index.get(s) {
            Some(i) => Some(*i),
            None => {
                cx.err(code::MISSING_TRANSITION_TARGET, &format!("{loc}/StartAt"), format!("StartAt '{s}' is not a state of this machine"));
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
    };
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
        comment,
        query_language: ql,
        timeout_seconds,
        start_at,
        states,
        index,
        definition: v.clone(),
    })
}

/// Reachability and end states, read from the JSON itself so they are
/// reported even when some state failed to parse.
fn graph_checks(cx: &mut Cx, states: &Map<String, Value>, start: &str, loc: &str) {
    let targets = |s: &Value| -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |v: Option<&Value>| {
            if let Some(Value::String(n)) = v {
                out.push(n.clone());
            }
        };
        add(s.get("Next"));
        add(s.get("Default"));
        for key in ["Choices", "Catch"] {
            for c in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                add(c.get("Next"));
            }
        }
        out
    };
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![start.to_string()];
    while let Some(name) = stack.pop() {
        if let Some(s) = states.get(&name) {
            if seen.insert(name) {
                stack.extend(targets(s));
            }
        }
    }
    for name in states.keys() {
        if !seen.contains(name) {
            cx.err(code::UNREACHABLE_STATE, &format!("{loc}/States/{}", token(name)), format!("state '{name}' is not reachable from StartAt"));
        }
    }
    let ends = states.values().any(|s| {
        matches!(s.get("Type").and_then(Value::as_str), Some("Succeed" | "Fail")) || s.get("End") == Some(&Value::Bool(true))
    });
    if !ends {
        cx.err(code::MISSING_END_STATE, loc, "no state ends the execution: add a Succeed or Fail state, or 'End': true");
    }
}

fn query_language(cx: &mut Cx, obj: &Map<String, Value>, loc: &str) -> Option<QueryLanguage> {
    match obj.get("QueryLanguage")? {
        Value::String(s) if s == "JSONPath" => Some(QueryLanguage::JsonPath),
        Value::String(s) if s == "JSONata" => Some(QueryLanguage::Jsonata),
        _ => {
            cx.schema(&format!("{loc}/QueryLanguage"), "'QueryLanguage' must be \"JSONPath\" or \"JSONata\"");
            None
        }
    }
}

fn opt_str(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        _ => {
            cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a string"));
            None
        }
    }
}

fn opt_uint(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<u64> {
    let v = obj.get(key)?;
    match v.as_u64() {
        Some(n) => Some(n),
        None => {
            cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a non-negative integer, found {v}"));
            None
        }
    }
}

fn opt_path(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Path> {
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

fn io_path(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> IoPath {
    match obj.get(key) {
        None => IoPath::Whole,
        Some(Value::Null) => IoPath::Null,
        Some(_) => opt_path(cx, obj, key, loc).map(IoPath::Path).unwrap_or(IoPath::Whole),
    }
}

fn result_path(cx: &mut Cx, v: Option<&Value>, loc: &str) -> ResultPath {
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

fn target(cx: &mut Cx, v: &Value, loc: &str, index: &HashMap<String, usize>, what: &str) -> Option<usize> {
    match v {
        Value::String(s) => match index.get(s) {
            Some(i) => Some(*i),
            None => {
                cx.err(code::MISSING_TRANSITION_TARGET, loc, format!("{what} '{s}' is not a state of this machine"));
                None
            }
        },
        _ => {
            cx.schema(loc, format!("'{what}' must be a state name"));
            None
        }
    }
}

fn template_in(cx: &mut Cx, v: &Value, loc: &str) -> Template {
    if is_static(v) {
        if let Value::Object(m) = v {
            for (k, val) in m {
                no_dollar_warning(cx, k, val, &format!("{loc}/{}", token(k)));
            }
        }
        return Template::Literal(v.clone());
    }
    match v {
        Value::Object(m) => {
            let mut skeleton = Map::new();
            let mut dynamic = Vec::new();
            for (k, val) in m {
                let kloc = format!("{loc}/{}", token(k));
                if let Some(base) = k.strip_suffix(".$") {
                    skeleton.insert(base.to_string(), Value::Null);
                    dynamic.push((base.to_string(), dynamic_field(cx, val, &kloc, k)));
                } else if is_static(val) {
                    no_dollar_warning(cx, k, val, &kloc);
                    skeleton.insert(k.clone(), val.clone());
                } else {
                    skeleton.insert(k.clone(), Value::Null);
                    dynamic.push((k.clone(), template_in(cx, val, &kloc)));
                }
            }
            Template::Object { skeleton, dynamic }
        }
        Value::Array(a) => Template::Array(
            a.iter().enumerate().map(|(i, val)| template_in(cx, val, &format!("{loc}/{i}"))).collect(),
        ),
        other => Template::Literal(other.clone()),
    }
}

fn no_dollar_warning(cx: &mut Cx, k: &str, val: &Value, loc: &str) {
    if let Value::String(s) = val {
        if s.starts_with("$.") || s.starts_with("$$.") || (Call::looks_like(s) && s.ends_with(')')) {
            cx.warn(code::NO_DOLLAR, loc, format!("'{k}' holds '{s}', which looks like a path or intrinsic call; did you mean '{k}.$'?"));
        }
    }
}

fn dynamic_field(cx: &mut Cx, v: &Value, loc: &str, key: &str) -> Template {
    let Some(s) = v.as_str() else {
        cx.schema(loc, format!("the value of '{key}' must be a path or an intrinsic function call string"));
        return Template::Literal(Value::Null);
    };
    if Call::looks_like(s) {
        match Call::parse(s) {
            Ok(c) => Template::Call(c),
            Err(e) => {
                cx.schema(loc, format!("invalid intrinsic function call in '{key}': {e}"));
                Template::Literal(Value::Null)
            }
        }
    } else {
        match Path::parse(s) {
            Ok(p) => Template::Path(p),
            Err(e) => {
                cx.schema(loc, format!("invalid path in '{key}': {e}"));
                Template::Literal(Value::Null)
            }
        }
    }
}

fn is_static(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().all(|(k, v)| !k.ends_with(".$") && is_static(v)),
        Value::Array(a) => a.iter().all(is_static),
        _ => true,
    }
}

fn state(cx: &mut Cx, name: &str, v: &Value, loc: &str, parent_ql: QueryLanguage, index: &HashMap<String, usize>) -> Option<State> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, format!("state '{name}' must be a JSON object"));
        return None;
    };
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
    let Some(allowed) = allowed(ty) else {
        cx.schema(&format!("{loc}/Type"), format!("'{ty}' is not a state type (Pass, Task, Choice, Wait, Succeed, Fail, Map, Parallel)"));
        return None;
    };
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            let msg = if ALL_FIELDS.contains(&k.as_str()) {
                format!("field '{k}' is not supported by a {ty} state")
            } else {
                format!("field '{k}' is not a field of the Amazon States Language")
            };
            cx.schema(&format!("{loc}/{}", token(k)), msg);
        }
    }
    let ql = query_language(cx, obj, loc).unwrap_or(parent_ql);
    let _ = opt_str(cx, obj, "Comment", loc);
    let mut unsupported = Vec::new();
    // JSONata mode without expressions behaves as written; expressions are not evaluated yet
    if ql == QueryLanguage::Jsonata && has_jsonata_expression(v) {
        unsupported.push("JSONata expressions");
    }
    for k in JSONATA.iter().chain(["Arguments"].iter()) {
        // Assign in JSONPath mode is evaluated; the rest is JSONata's
        if obj.contains_key(*k) && !(*k == "Assign" && ql == QueryLanguage::JsonPath) {
            unsupported.push(*k);
        }
    }
    let assign = assign_field(cx, obj, loc, ql);
    if ql == QueryLanguage::Jsonata {
        for k in IO.iter().chain(["Parameters", "ResultSelector", "ResultPath", "ItemsPath"].iter()) {
            if obj.contains_key(*k) {
                cx.schema(&format!("{loc}/{k}"), format!("'{k}' is a JSONPath field and cannot be used in a JSONata state"));
            }
        }
    }
    // transitions
    let has_flow = allowed.contains(&"Next");
    let next = if has_flow {
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
                cx.err(code::MISSING_TRANSITION_TARGET, loc, format!("state '{name}' needs 'Next' or 'End': true"));
                None
            }
        }
    } else {
        None
    };
    let input_path = io_path(cx, obj, "InputPath", loc);
    let output_path = io_path(cx, obj, "OutputPath", loc);
    let parameters = obj.get("Parameters").map(|p| template_in(cx, p, &format!("{loc}/Parameters")));
    if let Some(p) = obj.get("Parameters") {
        if !p.is_object() {
            cx.schema(&format!("{loc}/Parameters"), "'Parameters' must be an object");
        }
    }
    let result_selector = obj.get("ResultSelector").map(|p| template_in(cx, p, &format!("{loc}/ResultSelector")));
    let result_path = result_path(cx, obj.get("ResultPath"), &format!("{loc}/ResultPath"));
    let retry = match obj.get("Retry") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().enumerate().filter_map(|(i, r)| retrier(cx, r, &format!("{loc}/Retry/{i}"), i + 1 == a.len())).collect(),
        Some(_) => {
            cx.schema(&format!("{loc}/Retry"), "'Retry' must be an array of retriers");
            Vec::new()
        }
    };
    let catch = match obj.get("Catch") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, c)| catcher(cx, c, &format!("{loc}/Catch/{i}"), index, i + 1 == a.len()))
            .collect(),
        Some(_) => {
            cx.schema(&format!("{loc}/Catch"), "'Catch' must be an array of catchers");
            Vec::new()
        }
    };
    let kind = match ty {
        "Pass" => StateKind::Pass { result: obj.get("Result").cloned() },
        "Task" => task(cx, obj, loc)?,
        "Choice" => choice(cx, obj, loc, index, ql)?,
        "Wait" => wait(cx, obj, loc)?,
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail {
            error: text_field(cx, obj, "Error", loc),
            cause: text_field(cx, obj, "Cause", loc),
        },
        "Map" => {
            let key = if obj.contains_key("ItemProcessor") { "ItemProcessor" } else { "Iterator" };
            let Some(sub) = obj.get(key) else {
                cx.schema(loc, "a Map state needs 'ItemProcessor'");
                return None;
            };
            let processor = machine(cx, sub, &format!("{loc}/{key}"), ql, false)?;
            for k in ["ItemReader", "ItemBatcher", "ResultWriter", "Items"] {
                if obj.contains_key(k) {
                    unsupported.push(k_static(k));
                }
            }
            let selector_key = if obj.contains_key("ItemSelector") { "ItemSelector" } else { "Parameters" };
            let item_selector = obj.get(selector_key).map(|t| template_in(cx, t, &format!("{loc}/{selector_key}")));
            let distributed = sub.pointer("/ProcessorConfig/Mode").and_then(Value::as_str) == Some("DISTRIBUTED");
            StateKind::Map(Box::new(MapSpec {
                processor,
                items_path: opt_path(cx, obj, "ItemsPath", loc),
                item_selector,
                distributed,
                label: opt_str(cx, obj, "Label", loc),
                tolerated_count: tolerance(cx, obj, "ToleratedFailureCount", loc),
                tolerated_percentage: tolerance(cx, obj, "ToleratedFailurePercentage", loc),
                max_concurrency_path: opt_path(cx, obj, "MaxConcurrencyPath", loc),
            }))
        }
        "Parallel" => match obj.get("Branches") {
            Some(Value::Array(bs)) if !bs.is_empty() => {
                let branches: Vec<StateMachine> =
                    bs.iter().enumerate().filter_map(|(i, b)| machine(cx, b, &format!("{loc}/Branches/{i}"), ql, false)).collect();
                if branches.len() != bs.len() {
                    return None;
                }
                StateKind::Parallel { branches }
            }
            _ => {
                cx.schema(loc, "a Parallel state needs a non-empty 'Branches' array");
                return None;
            }
        },
        _ => unreachable!("type checked by allowed()"),
    };
    Some(State {
        assign,
        index: index[name],
        name: Arc::from(name),
        kind,
        query_language: ql,
        input_path,
        output_path,
        parameters,
        result_selector,
        result_path,
        next,
        retry,
        catch,
        unsupported,
    })
}

fn tolerance(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Tolerance> {
    if let Some(v) = obj.get(key) {
        return match v.as_f64() {
            Some(n) => Some(Tolerance::Literal(n)),
            None if v.is_string() => None, // a JSONata expression
            None => {
                cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a number, found {v}"));
                None
            }
        };
    }
    opt_path(cx, obj, &format!("{key}Path"), loc).map(Tolerance::Path)
}

/// `Assign` in JSONPath mode: an object whose `.$` keys hold paths or
/// intrinsic calls, as in Parameters.
fn assign_field(cx: &mut Cx, obj: &Map<String, Value>, loc: &str, ql: QueryLanguage) -> Option<Template> {
    let v = obj.get("Assign")?;
    if ql == QueryLanguage::Jsonata {
        return None;
    }
    if !v.is_object() {
        cx.schema(&format!("{loc}/Assign"), "'Assign' must be an object of variable names");
        return None;
    }
    Some(template_in(cx, v, &format!("{loc}/Assign")))
}

fn k_static(k: &str) -> &'static str {
    ALL_FIELDS.iter().find(|f| **f == k).copied().unwrap_or("an unsupported field")
}

/// Whether a JSONata `{% … %}` expression appears anywhere in `v`
/// (nested state machines aside).
fn has_jsonata_expression(v: &Value) -> bool {
    match v {
        Value::String(s) => s.trim_start().starts_with("{%"),
        Value::Array(a) => a.iter().any(has_jsonata_expression),
        Value::Object(m) => m.iter().any(|(k, v)| !matches!(k.as_str(), "ItemProcessor" | "Iterator" | "Branches") && has_jsonata_expression(v)),
        _ => false,
    }
}

fn text_field(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Text> {
    let pkey = format!("{key}Path");
    if obj.contains_key(key) && obj.contains_key(&pkey) {
        cx.schema(loc, format!("'{key}' and '{pkey}' cannot both be set"));
    }
    if let Some(v) = obj.get(key) {
        return match v {
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
                cx.schema(&format!("{loc}/{pkey}"), format!("invalid intrinsic function call: {e}"));
                None
            }
        }
    } else {
        opt_path(cx, obj, &pkey, loc).map(Text::Path)
    }
}

fn seconds(cx: &mut Cx, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<Seconds> {
    let pkey = format!("{key}Path");
    if obj.contains_key(key) && obj.contains_key(&pkey) {
        cx.schema(loc, format!("'{key}' and '{pkey}' cannot both be set"));
    }
    if let Some(v) = obj.get(key) {
        return match v.as_u64() {
            Some(n) if n > 0 && n <= 99_999_999 => Some(Seconds::Fixed(n)),
            _ if v.is_string() => None, // JSONata expression
            _ => {
                cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a positive integer, found {v}"));
                None
            }
        };
    }
    opt_path(cx, obj, &pkey, loc).map(Seconds::Path)
}

fn task(cx: &mut Cx, obj: &Map<String, Value>, loc: &str) -> Option<StateKind> {
    let resource = match obj.get("Resource") {
        Some(Value::String(s)) => {
            if !s.starts_with("arn:") && !s.starts_with("__") {
                cx.err(code::INVALID_RESOURCE, &format!("{loc}/Resource"), format!("'{s}' is not a resource ARN"));
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
    let timeout = seconds(cx, obj, "TimeoutSeconds", loc);
    let heartbeat = seconds(cx, obj, "HeartbeatSeconds", loc);
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
        if h >= t {
            cx.schema(&format!("{loc}/HeartbeatSeconds"), format!("HeartbeatSeconds ({h}) must be smaller than TimeoutSeconds ({t})"));
        }
    }
    Some(StateKind::Task(Task { kind: super::resource::Resource::parse(&resource), resource, timeout, heartbeat, credentials: obj.get("Credentials").cloned() }))
}

fn wait(cx: &mut Cx, obj: &Map<String, Value>, loc: &str) -> Option<StateKind> {
    let keys: Vec<_> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"].into_iter().filter(|k| obj.contains_key(*k)).collect();
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
            _ if v.is_string() => Some(StateKind::Wait(WaitFor::Seconds(0))), // JSONata, not evaluated
            _ => {
                cx.schema(&kloc, format!("'Seconds' must be a non-negative integer, found {v}"));
                None
            }
        },
        "Timestamp" => match v.as_str() {
            Some(s) if s.starts_with("{%") => Some(StateKind::Wait(WaitFor::Timestamp(0))),
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
        "SecondsPath" => opt_path(cx, obj, key, loc).map(|p| StateKind::Wait(WaitFor::SecondsPath(p))),
        _ => opt_path(cx, obj, key, loc).map(|p| StateKind::Wait(WaitFor::TimestampPath(p))),
    }
}

fn error_equals(cx: &mut Cx, obj: &Map<String, Value>, loc: &str, last: bool) -> Option<Vec<String>> {
    let list: Vec<String> = match obj.get("ErrorEquals") {
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
            a.iter().map(|e| e.as_str().unwrap_or_default().to_string()).collect()
        }
        _ => {
            cx.schema(&format!("{loc}/ErrorEquals"), "'ErrorEquals' must be a non-empty array of error names");
            return None;
        }
    };
    if list.iter().any(|e| e == "States.ALL") && (list.len() > 1 || !last) {
        cx.schema(&format!("{loc}/ErrorEquals"), "'States.ALL' must appear alone and in the last retrier or catcher");
    }
    Some(list)
}

fn retrier(cx: &mut Cx, v: &Value, loc: &str, last: bool) -> Option<Retrier> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "a retrier must be an object");
        return None;
    };
    for k in obj.keys() {
        if !["ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"].contains(&k.as_str()) {
            cx.schema(&format!("{loc}/{}", token(k)), format!("field '{k}' is not a field of a retrier"));
        }
    }
    let error_equals = error_equals(cx, obj, loc, last)?;
    let interval_seconds = match obj.get("IntervalSeconds") {
        None => 1,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=99_999_999).contains(&n) => n,
            _ => {
                cx.schema(&format!("{loc}/IntervalSeconds"), format!("'IntervalSeconds' must be a positive integer, found {v}"));
                1
            }
        },
    };
    let max_attempts = match obj.get("MaxAttempts") {
        None => 3,
        Some(v) => match v.as_u64() {
            Some(n) if n <= 99_999_999 => n,
            _ => {
                cx.schema(&format!("{loc}/MaxAttempts"), format!("'MaxAttempts' must be a non-negative integer, found {v}"));
                3
            }
        },
    };
    let backoff_rate = match obj.get("BackoffRate") {
        None => 2.0,
        Some(v) => match v.as_f64() {
            Some(n) if n >= 1.0 => n,
            _ => {
                cx.schema(&format!("{loc}/BackoffRate"), format!("'BackoffRate' must be a number of at least 1.0, found {v}"));
                2.0
            }
        },
    };
    let max_delay_seconds = match obj.get("MaxDelaySeconds") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                cx.schema(&format!("{loc}/MaxDelaySeconds"), format!("'MaxDelaySeconds' must be a positive integer, found {v}"));
                None
            }
        },
    };
    let jitter = match obj.get("JitterStrategy") {
        None => Jitter::None,
        Some(Value::String(s)) if s == "NONE" => Jitter::None,
        Some(Value::String(s)) if s == "FULL" => Jitter::Full,
        Some(v) => {
            cx.schema(&format!("{loc}/JitterStrategy"), format!("'JitterStrategy' must be \"FULL\" or \"NONE\", found {v}"));
            Jitter::None
        }
    };
    Some(Retrier { error_equals, interval_seconds, max_attempts, backoff_rate, max_delay_seconds, jitter })
}

fn catcher(cx: &mut Cx, v: &Value, loc: &str, index: &HashMap<String, usize>, last: bool) -> Option<Catcher> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "a catcher must be an object");
        return None;
    };
    for k in obj.keys() {
        if !["ErrorEquals", "ResultPath", "Next", "Comment", "Assign", "Output"].contains(&k.as_str()) {
            cx.schema(&format!("{loc}/{}", token(k)), format!("field '{k}' is not a field of a catcher"));
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
    let assign = assign_field(cx, obj, loc, QueryLanguage::JsonPath);
    Some(Catcher { error_equals: error_equals?, result_path, next: next?, assign })
}

fn choice(cx: &mut Cx, obj: &Map<String, Value>, loc: &str, index: &HashMap<String, usize>, ql: QueryLanguage) -> Option<StateKind> {
    let default = obj.get("Default").and_then(|d| target(cx, d, &format!("{loc}/Default"), index, "Default"));
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
            choices.push(ChoiceBranch { rule, next, assign });
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
        return match c {
            Value::String(s) => Some(Rule::Condition(s.clone())),
            Value::Bool(b) => Some(Rule::Condition(b.to_string())),
            _ => {
                cx.schema(&format!("{loc}/Condition"), "'Condition' must be a JSONata expression string");
                None
            }
        };
    }
    let _ = ql;
    for (k, combinator) in [("And", 0), ("Or", 1), ("Not", 2)] {
        let Some(val) = obj.get(k) else { continue };
        for other in obj.keys() {
            if other != k && !meta(other) {
                cx.schema(&format!("{loc}/{}", token(other)), format!("field '{other}' cannot be combined with '{k}'"));
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
            let rules: Vec<Rule> = items.iter().enumerate().filter_map(|(i, r)| rule(cx, r, &format!("{kloc}/{i}"), false, ql)).collect();
            if rules.len() != items.len() {
                return None;
            }
            Some(if combinator == 0 { Rule::And(rules) } else { Rule::Or(rules) })
        };
    }
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
            cx.schema(loc, "a choice rule needs 'Variable' and a comparison operator, or And/Or/Not");
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
        let operand = if is_path {
            match val.as_str().map(Path::parse) {
                Some(Ok(p)) => Operand::Path(p),
                Some(Err(e)) => {
                    cx.schema(&kloc, format!("invalid path in '{k}': {e}"));
                    continue;
                }
                None => {
                    cx.schema(&kloc, format!("'{k}' must be a path string"));
                    continue;
                }
            }
        } else {
            let ok = match op {
                Op::StringEquals | Op::StringLessThan | Op::StringGreaterThan | Op::StringLessThanEquals
                | Op::StringGreaterThanEquals | Op::StringMatches => val.is_string(),
                Op::NumericEquals | Op::NumericLessThan | Op::NumericGreaterThan | Op::NumericLessThanEquals
                | Op::NumericGreaterThanEquals => val.is_number(),
                // AWS accepts any string here (and compares non-timestamps as text)
                Op::TimestampEquals | Op::TimestampLessThan | Op::TimestampGreaterThan
                | Op::TimestampLessThanEquals | Op::TimestampGreaterThanEquals => val.is_string(),
                _ => val.is_boolean(),
            };
            if !ok {
                cx.schema(&kloc, format!("'{k}' has an operand of the wrong type: {val}"));
                continue;
            }
            Operand::Value(val.clone())
        };
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

/// Finds duplicate keys under `States` objects in the raw text, which a JSON
/// parser silently merges. Returns diagnostics with pointers.
pub fn duplicate_state_names(text: &str) -> Vec<Diagnostic> {
    // A small scanner: track object key sets per nesting level and the path.
    let mut out = Vec::new();
    let mut stack: Vec<(Option<String>, HashSet<String>)> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut pending_key: Option<String> = None;
    let b = text.as_bytes();
    let mut i = 0;
    let mut expecting_key = false;
    while i < b.len() {
        match b[i] {
            b'{' => {
                let k = pending_key.take();
                if let Some(k) = &k {
                    path.push(k.clone());
                }
                stack.push((k, HashSet::new()));
                expecting_key = true;
            }
            b'}' => {
                if let Some((k, _)) = stack.pop() {
                    if k.is_some() {
                        path.pop();
                    }
                }
                expecting_key = false;
            }
            b'[' => {
                if let Some(k) = pending_key.take() {
                    path.push(k);
                    stack.push((Some(String::new()), HashSet::new()));
                    // arrays: mark with a sentinel frame so '}' / ']' pairs stay balanced
                } else {
                    stack.push((None, HashSet::new()));
                }
                expecting_key = false;
            }
            b']' => {
                if let Some((k, _)) = stack.pop() {
                    if k.is_some() {
                        path.pop();
                    }
                }
            }
            b',' => {
                pending_key = None;
                expecting_key = true;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let raw = &text[start..i.min(text.len())];
                if expecting_key {
                    let key: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_string());
                    if path.last().map(|s| s == "States").unwrap_or(false) {
                        if let Some((_, seen)) = stack.last_mut() {
                            if !seen.insert(key.clone()) {
                                let loc: String = path.iter().map(|p| format!("/{}", token(p))).collect();
                                out.push(Diagnostic {
                                    severity: Severity::Error,
                                    code: code::DUPLICATE_STATE_NAME,
                                    location: format!("{loc}/{}", token(&key)),
                                    message: format!("state name '{key}' appears more than once"),
                                });
                            }
                        }
                    }
                    pending_key = Some(key);
                    expecting_key = false;
                }
            }
            b':' => {}
            c if c.is_ascii_whitespace() => {}
            _ => {
                pending_key = None;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(v: Value) -> Vec<(String, &'static str)> {
        diagnostics(&v).into_iter().filter(|d| d.severity == Severity::Error).map(|d| (d.location, d.code)).collect()
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
        assert!(got.contains(&("/States/A/Next".into(), code::MISSING_TRANSITION_TARGET)), "{got:?}");
        assert!(got.contains(&("/States/A/Bogus".into(), code::SCHEMA_VALIDATION_FAILED)), "{got:?}");
        assert!(got.contains(&("/States/B".into(), code::SCHEMA_VALIDATION_FAILED)), "{got:?}");
        assert!(got.contains(&("/States/C/Retry/0/BackoffRate".into(), code::SCHEMA_VALIDATION_FAILED)), "{got:?}");
        assert!(got.contains(&("/States/D/Seconds".into(), code::SCHEMA_VALIDATION_FAILED)), "{got:?}");
    }

    #[test]
    fn unreachable_and_missing_end() {
        let got = codes(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}, "B": {"Type": "Pass", "Next": "A"}}}));
        assert!(got.contains(&("/States/B".into(), code::UNREACHABLE_STATE)), "{got:?}");
        assert!(got.contains(&("".into(), code::MISSING_END_STATE)), "{got:?}");
    }

    #[test]
    fn bad_paths_and_intrinsics() {
        let got = codes(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "a.b",
            "Parameters": {"x.$": "States.Nope(1)", "y.$": "$.ok", "z.$": 3}, "End": true}}}));
        assert!(got.contains(&("/States/A/InputPath".into(), code::SCHEMA_VALIDATION_FAILED)));
        assert!(got.contains(&("/States/A/Parameters/x.$".into(), code::SCHEMA_VALIDATION_FAILED)));
        assert!(got.contains(&("/States/A/Parameters/z.$".into(), code::SCHEMA_VALIDATION_FAILED)));
        assert_eq!(got.len(), 3, "{got:?}");
    }

    #[test]
    fn duplicate_names_are_found_in_text() {
        let d = duplicate_state_names(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"A":{"Type":"Succeed"}}}"#);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location, "/States/A");
    }

    #[test]
    fn seed_definitions_are_valid() {
        for f in ["fixtures/seed/state-machine.asl.json", "fixtures/seed/state-machine.wait-for-token.asl.json"] {
            let text = std::fs::read_to_string(f).unwrap();
            parse_str(&text).unwrap();
        }
    }
}
