//! Checks on the shape of the graph, read from the JSON itself so they are
//! reported even when a state failed to lower: reachability from StartAt,
//! an end state, and duplicate state names (found in the raw text, since a
//! JSON parser silently keeps the last of two equal keys).

use super::diagnostic::{code, token, Diagnostic, Severity};
use super::lower::Cx;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Where a state can go next: Next, Default, Choices' and catchers' Next.
pub(crate) fn successors(s: &Value) -> Vec<&str> {
    let rules = |k: &str| {
        s.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(|c| c.get("Next"))
    };
    [s.get("Next"), s.get("Default")]
        .into_iter()
        .flatten()
        .chain(rules("Choices"))
        .chain(rules("Catch"))
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a state ends its machine (`End: true`, Succeed, Fail).
pub(crate) fn ends(s: &Value) -> bool {
    s.get("End") == Some(&Value::Bool(true))
        || matches!(s.get("Type").and_then(Value::as_str), Some("Succeed" | "Fail"))
}

/// The states reachable from `start`.
pub(crate) fn reachable<'a>(
    states: &'a Map<String, Value>,
    start: &'a str,
) -> std::collections::BTreeSet<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![start];
    while let Some(name) = stack.pop() {
        if let Some((n, s)) = states.get_key_value(name) {
            if seen.insert(n.as_str()) {
                stack.extend(successors(s));
            }
        }
    }
    seen
}

/// Reachability and end states, read from the JSON itself so they are
/// reported even when some state failed to parse.
pub(crate) fn graph_checks(cx: &mut Cx, states: &Map<String, Value>, start: &str, loc: &str) {
    let seen = reachable(states, start);
    for name in states.keys() {
        if !seen.contains(name.as_str()) {
            cx.err(
                code::UNREACHABLE_STATE,
                &format!("{loc}/States/{}", token(name)),
                format!("state '{name}' is not reachable from StartAt"),
            );
        }
    }
    if !states.values().any(ends) {
        cx.err(
            code::MISSING_END_STATE,
            loc,
            "no state ends the execution: add a Succeed or Fail state, or 'End': true",
        );
    }
}

/// Finds duplicate keys under `States` objects in the raw text, which a JSON
/// parser silently merges. Returns diagnostics with pointers.
pub(super) fn duplicate_state_names(text: &str) -> Vec<Diagnostic> {
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
                    let key: String = serde_json::from_str(&format!("\"{raw}\""))
                        .unwrap_or_else(|_| raw.to_string());
                    if path.last().map(|s| s == "States").unwrap_or(false) {
                        if let Some((_, seen)) = stack.last_mut() {
                            if !seen.insert(key.clone()) {
                                let loc: String =
                                    path.iter().map(|p| format!("/{}", token(p))).collect();
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
