//! Checks on the shape of the graph, read from the JSON itself so they are
//! reported even when a state failed to lower: reachability from StartAt,
//! an end state, and duplicate state names (found in the raw text, since a
//! JSON parser silently keeps the last of two equal keys).

use super::diagnostic::{code, token, Diagnostic, Severity};
use super::lower::Cx;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Reachability and end states, read from the JSON itself so they are
/// reported even when some state failed to parse.
pub(crate) fn graph_checks(cx: &mut Cx, states: &Map<String, Value>, start: &str, loc: &str) {
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

/// Finds duplicate keys under `States` objects in the raw text, which a JSON
/// parser silently merges. Returns diagnostics with pointers.
pub fn duplicate_state_names(text: &str) -> Vec<Diagnostic> {
    // Longer than a screen: one byte scanner whose state (frames, pending key,
    // whether a key is expected) reads best in one place.
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
