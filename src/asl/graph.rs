//! Checks on the shape of the graph, read from the JSON itself so they are
//! reported even when a state failed to lower: reachability from StartAt
//! and an end state. (Duplicate state names are found while reading the
//! text: `read.rs`.)

use super::diagnostic::{code, token};
use super::lower::Cx;
use super::model::{State, StateKind};
use serde_json::{Map, Value};

/// Why a state goes to another: the one notion of a transition, read from
/// the JSON ([`edges`], before lowering) or from the model ([`State::edges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    /// `Next`.
    Next,
    /// A Choice's rule `i`.
    Rule(usize),
    /// A Choice's `Default`.
    Default,
    /// Catcher `i`.
    Catch(usize),
}

/// Where a state (its JSON) can go next, and why.
pub(crate) fn edges(s: &Value) -> Vec<(Edge, &str)> {
    fn named(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str)
    }
    let list = |k: &str| s.get(k).and_then(Value::as_array).into_iter().flatten().enumerate();
    let mut out = Vec::new();
    out.extend(named(s.get("Next")).map(|n| (Edge::Next, n)));
    out.extend(list("Choices").filter_map(|(i, c)| Some((Edge::Rule(i), named(c.get("Next"))?))));
    out.extend(named(s.get("Default")).map(|n| (Edge::Default, n)));
    out.extend(list("Catch").filter_map(|(i, c)| Some((Edge::Catch(i), named(c.get("Next"))?))));
    out
}

/// Where a state (its JSON) can go next.
pub(crate) fn successors(s: &Value) -> Vec<&str> {
    edges(s).into_iter().map(|(_, to)| to).collect()
}

impl State {
    /// Where the state can go next, and why: indices into its machine's states.
    pub(crate) fn edges(&self) -> Vec<(Edge, usize)> {
        let mut out = Vec::new();
        out.extend(self.next.map(|n| (Edge::Next, n)));
        if let StateKind::Choice { choices, default } = &self.kind {
            out.extend(choices.iter().enumerate().map(|(i, c)| (Edge::Rule(i), c.next)));
            out.extend(default.map(|d| (Edge::Default, d)));
        }
        out.extend(self.catch.iter().enumerate().map(|(i, c)| (Edge::Catch(i), c.next)));
        out
    }
}

/// The machines a state (its JSON) holds, with their pointers relative to
/// the state: a Parallel's `Branches/i`, a Map's `ItemProcessor` (or the
/// older `Iterator`).
pub(crate) fn nested(s: &Value) -> Vec<(String, &Value)> {
    let branches = s.get("Branches").and_then(Value::as_array).into_iter().flatten();
    let mut out: Vec<(String, &Value)> =
        branches.enumerate().map(|(i, b)| (format!("Branches/{i}"), b)).collect();
    for key in ["ItemProcessor", "Iterator"] {
        out.extend(s.get(key).map(|p| (key.to_string(), p)));
    }
    out
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
