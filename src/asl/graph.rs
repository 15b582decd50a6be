//! Checks on the shape of the graph, read from the JSON itself so they are
//! reported even when a state failed to lower: reachability from StartAt
//! and an end state. (Duplicate state names are found while reading the
//! text: `read.rs`.)

use super::diagnostic::{code, token};
use super::lower::Cx;
use serde_json::{Map, Value};

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
