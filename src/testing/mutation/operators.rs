//! The mutation operators: every small, meaningful change to a definition
//! that a suite which tests the machine should notice. Each is a JSON Patch
//! on the definition as written (both query languages), at any depth (Map
//! item processors, Parallel branches), with the field's JSON pointer, the
//! state it touches, a one-line description and the test that would notice.

use crate::asl::mutant::{escape, Mutant, PatchOp};
use serde_json::{json, Map, Value};

/// Every mutant of `definition`, numbered from 1, in the order of the
/// definition's text.
pub(crate) fn mutants_of(definition: &Value) -> Vec<Mutant> {
    let mut out = Out(Vec::new());
    if let Some(t) = definition.get("TimeoutSeconds").and_then(Value::as_u64) {
        halved(&mut out, "", "/TimeoutSeconds", "TimeoutSeconds", t, &|h, n| {
            format!("a test whose execution runs between {h} and {n} s and still succeeds")
        });
    }
    machine(&mut out, definition, "", jsonata(definition, false));
    out.0.into_iter().enumerate().map(|(i, m)| Mutant { id: i + 1, ..m }).collect()
}

struct Out(Vec<Mutant>);

impl Out {
    fn push(
        &mut self,
        operator: &str,
        state: &str,
        pointer: String,
        description: String,
        suggestion: String,
        patch: Vec<PatchOp>,
    ) {
        self.0.push(Mutant {
            id: 0,
            operator: operator.into(),
            state: state.into(),
            pointer,
            description,
            suggestion,
            patch,
        });
    }
}

fn jsonata(v: &Value, inherited: bool) -> bool {
    match v.get("QueryLanguage").and_then(Value::as_str) {
        Some(q) => q == "JSONata",
        None => inherited,
    }
}

/// The states of a machine (the top one, a branch or an item processor) at `at`.
fn machine(out: &mut Out, m: &Value, at: &str, inherited_jsonata: bool) {
    let Some(states) = m.get("States").and_then(Value::as_object) else { return };
    for (name, s) in states {
        let sp = format!("{at}/States/{}", escape(name));
        state(out, name, s, &sp, jsonata(s, inherited_jsonata));
    }
}

fn state(out: &mut Out, name: &str, s: &Value, sp: &str, jsonata: bool) {
    let ty = s.get("Type").and_then(Value::as_str).unwrap_or("");
    if ty == "Choice" {
        choice(out, name, s, sp, jsonata);
    }
    for field in ["TimeoutSeconds", "HeartbeatSeconds"] {
        if let Some(n) = s.get(field).and_then(Value::as_u64) {
            let suggest: &dyn Fn(u64, u64) -> String = if field == "TimeoutSeconds" {
                &|h, n| format!("a test where {name} takes between {h} and {n} s and succeeds")
            } else {
                &|h, n| format!("a test where {name}'s worker heartbeats every {h} to {n} s")
            };
            halved(out, name, &format!("{sp}/{field}"), field, n, suggest);
        }
    }
    if ty == "Wait" {
        if let Some(n) = s.get("Seconds").and_then(Value::as_u64).filter(|n| *n > 0) {
            let p = format!("{sp}/Seconds");
            out.push(
                "wait_shortened",
                name,
                p.clone(),
                format!("Seconds {n} → {}", n / 2),
                format!("assert the virtual time: when the state after {name} starts, or exec.elapsed()"),
                vec![PatchOp::Replace { path: p, value: json!(n / 2) }],
            );
        }
    }
    if ty == "Map" {
        map(out, name, s, sp);
    }
    for (j, r) in s.get("Retry").and_then(Value::as_array).into_iter().flatten().enumerate() {
        retrier(out, name, r, &format!("{sp}/Retry/{j}"), j);
    }
    for (j, c) in s.get("Catch").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let p = format!("{sp}/Catch/{j}");
        let errors = errors_of(c);
        let next = c.get("Next").and_then(Value::as_str).unwrap_or("?");
        out.push(
            "catcher_removed",
            name,
            p.clone(),
            format!("Catch[{j}] ({errors} → {next}) removed"),
            format!("a test where {name} fails with {errors} and asserts that {next} runs (assert_path)"),
            vec![PatchOp::Remove { path: p }],
        );
    }
    dropped_fields(out, name, s, sp);
    if ty == "Map" {
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(m) = s.get(key) {
                machine(out, m, &format!("{sp}/{key}"), jsonata);
            }
        }
    }
    if ty == "Parallel" {
        for (i, b) in s.get("Branches").and_then(Value::as_array).into_iter().flatten().enumerate()
        {
            machine(out, b, &format!("{sp}/Branches/{i}"), jsonata);
        }
    }
}

/// The fields that shape what a state passes on, each dropped.
fn dropped_fields(out: &mut Out, name: &str, s: &Value, sp: &str) {
    for field in ["InputPath", "ResultSelector", "ResultPath", "OutputPath", "Output"] {
        if s.get(field).is_none() {
            continue;
        }
        let p = format!("{sp}/{field}");
        out.push(
            "field_dropped",
            name,
            p.clone(),
            format!("{field} {} dropped", short(&s[field])),
            format!("assert what {name} passes on: exec.output_of(\"{name}\") or the next state's input"),
            vec![PatchOp::Remove { path: p }],
        );
    }
}

fn halved(
    out: &mut Out,
    state: &str,
    pointer: &str,
    field: &str,
    n: u64,
    suggest: &dyn Fn(u64, u64) -> String,
) {
    if n < 2 {
        return;
    }
    let h = n / 2;
    out.push(
        "timeout_halved",
        state,
        pointer.into(),
        format!("{field} {n} → {h}"),
        suggest(h, n),
        vec![PatchOp::Replace { path: pointer.into(), value: json!(h) }],
    );
}

fn retrier(out: &mut Out, name: &str, r: &Value, rp: &str, j: usize) {
    let errors = errors_of(r);
    let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3);
    let mut attempts = |to: u64| {
        let p = format!("{rp}/MaxAttempts");
        let op = set(&p, json!(to));
        let k = max.min(to);
        out.push(
            "retry_max_attempts",
            name,
            p,
            format!("Retry[{j}] MaxAttempts {max} → {to}"),
            format!(
                "a test that fails {name} with {errors} {} times and asserts whether it is tried again (assert_attempts(\"{name}\", {}))",
                k + 1,
                k + 2
            ),
            vec![op],
        );
    };
    if max > 0 {
        attempts(max - 1);
    }
    if max < 99_999_999 {
        attempts(max + 1);
    }
    let rate = r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0);
    let to = if rate == 1.0 { 2.0 } else { 1.0 };
    let p = format!("{rp}/BackoffRate");
    let op = set(&p, json!(to));
    out.push(
        "retry_backoff_rate",
        name,
        p,
        format!("Retry[{j}] BackoffRate {rate} → {to}"),
        format!("a test that fails {name} twice with {errors} and asserts when each retry starts (exec.state(\"{name}\").attempts[k].started)"),
        vec![op],
    );
    out.push(
        "retrier_removed",
        name,
        rp.into(),
        format!("Retry[{j}] ({errors}) removed"),
        format!("a test where {name} fails once with {errors} and asserts that it is retried and succeeds"),
        vec![PatchOp::Remove { path: rp.into() }],
    );
}

fn map(out: &mut Out, name: &str, s: &Value, sp: &str) {
    if s.get("MaxConcurrencyPath").is_none() {
        let now = s.get("MaxConcurrency").and_then(Value::as_u64);
        if now.is_some() || s.get("MaxConcurrency").is_none() {
            let n = now.unwrap_or(0);
            let to = if n == 1 { 0 } else { 1 };
            let p = format!("{sp}/MaxConcurrency");
            let op = set(&p, json!(to));
            out.push(
                "max_concurrency",
                name,
                p,
                format!("MaxConcurrency {n} → {to}"),
                format!("a test that asserts how many iterations of {name} run at once (their attempts' started and ended times) or the virtual time it takes"),
                vec![op],
            );
        }
    }
    for (field, step, max) in
        [("ToleratedFailureCount", 1u64, u64::MAX), ("ToleratedFailurePercentage", 10, 100)]
    {
        let Some(n) = s.get(field).and_then(Value::as_u64) else { continue };
        let p = format!("{sp}/{field}");
        for to in [n.checked_sub(step.min(n.max(1))), n.checked_add(step).filter(|t| *t <= max)]
            .into_iter()
            .flatten()
            .filter(|t| *t != n)
        {
            out.push(
                "tolerance_changed",
                name,
                p.clone(),
                format!("{field} {n} → {to}"),
                format!("a test where exactly {} of {name}'s items fail (a Schedule keyed by item), asserting whether the Map fails", if field == "ToleratedFailureCount" { n.max(to).to_string() } else { format!("{}%", n.max(to)) }),
                vec![PatchOp::Replace { path: p.clone(), value: json!(to) }],
            );
        }
    }
}

/// The comparisons that have a boundary twin (`>` and `>=`, `<` and `<=`).
const BOUNDARY: &[(&str, &str)] =
    &[("GreaterThan", "GreaterThanEquals"), ("LessThan", "LessThanEquals")];

fn choice(out: &mut Out, name: &str, s: &Value, sp: &str, jsonata: bool) {
    let default = s.get("Default").and_then(Value::as_str);
    for (i, rule) in s.get("Choices").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let rp = format!("{sp}/Choices/{i}");
        let n = i + 1;
        let next = rule.get("Next").and_then(Value::as_str);
        let takes = "a test that takes this rule and one that does not, each asserting the path (assert_path) or the output";
        if jsonata {
            if let Some(c) = rule.get("Condition") {
                let to = match c {
                    Value::Bool(b) => Some(json!(!b)),
                    Value::String(e) => e
                        .trim()
                        .strip_prefix("{%")
                        .and_then(|r| r.strip_suffix("%}"))
                        .map(|inner| json!(format!("{{% $not({}) %}}", inner.trim()))),
                    _ => None,
                };
                if let Some(to) = to {
                    let p = format!("{rp}/Condition");
                    out.push(
                        "condition_negated",
                        name,
                        p.clone(),
                        format!("rule {n} Condition {} → {}", short(c), short(&to)),
                        takes.into(),
                        vec![PatchOp::Replace { path: p, value: to }],
                    );
                }
            }
        } else {
            comparisons(out, name, rule, &rp);
            let (condition, meta) = split_rule(rule);
            let negated = match condition.get("Not") {
                Some(inner) if condition.len() == 1 => inner.as_object().cloned(),
                _ => Some(Map::from_iter([("Not".to_string(), Value::Object(condition))])),
            };
            if let Some(mut to) = negated {
                to.extend(meta);
                out.push(
                    "condition_negated",
                    name,
                    rp.clone(),
                    format!("rule {n} negated"),
                    takes.into(),
                    vec![PatchOp::Replace { path: rp.clone(), value: Value::Object(to) }],
                );
            }
        }
        if let (Some(next), Some(default)) = (next, default) {
            if next != default {
                out.push(
                    "next_swapped_with_default",
                    name,
                    format!("{rp}/Next"),
                    format!("rule {n} Next {next:?} ⇄ Default {default:?}"),
                    format!("a test where rule {n} holds and one where no rule does, asserting that {next} and {default} run (assert_path)"),
                    vec![
                        PatchOp::Replace { path: format!("{rp}/Next"), value: json!(default) },
                        PatchOp::Replace { path: format!("{sp}/Default"), value: json!(next) },
                    ],
                );
            }
        }
    }
}

/// A rule's condition (what it tests) and the rest (Next, Assign, Output, Comment).
fn split_rule(rule: &Value) -> (Map<String, Value>, Map<String, Value>) {
    let (mut cond, mut meta) = (Map::new(), Map::new());
    for (k, v) in rule.as_object().into_iter().flatten() {
        if matches!(k.as_str(), "Next" | "Assign" | "Output" | "Comment") {
            meta.insert(k.clone(), v.clone());
        } else {
            cond.insert(k.clone(), v.clone());
        }
    }
    (cond, meta)
}

/// The comparisons of a JSONPath rule, at any depth of And / Or / Not:
/// each boundary flipped and each numeric threshold moved by one.
fn comparisons(out: &mut Out, name: &str, rule: &Value, p: &str) {
    let Some(obj) = rule.as_object() else { return };
    for key in ["And", "Or"] {
        for (i, r) in obj.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            comparisons(out, name, r, &format!("{p}/{key}/{i}"));
        }
    }
    if let Some(r) = obj.get("Not") {
        comparisons(out, name, r, &format!("{p}/Not"));
    }
    let variable = obj.get("Variable").and_then(Value::as_str).unwrap_or("the variable");
    for (op, value) in obj {
        let Some((family, rest)) = ["Numeric", "String", "Timestamp"]
            .iter()
            .find_map(|f| op.strip_prefix(f).map(|r| (*f, r)))
        else {
            continue;
        };
        let (base, path) = match rest.strip_suffix("Path") {
            Some(b) => (b, "Path"),
            None => (rest, ""),
        };
        let twin = BOUNDARY
            .iter()
            .find_map(|(a, b)| (base == *a).then_some(*b).or_else(|| (base == *b).then_some(*a)));
        if let Some(twin) = twin {
            let to = format!("{family}{twin}{path}");
            // the same rule with the operator renamed, in its place
            let flipped: Map<String, Value> = obj
                .iter()
                .map(|(k, v)| (if k == op { to.clone() } else { k.clone() }, v.clone()))
                .collect();
            let at_value = if path.is_empty() {
                short(value)
            } else {
                format!("the value at {}", short(value))
            };
            out.push(
                "comparison_boundary",
                name,
                format!("{p}/{}", escape(op)),
                format!("{op}: {} → {to}: {}", short(value), short(value)),
                format!(
                    "a test where {variable} is exactly {at_value}, asserting the branch taken"
                ),
                vec![PatchOp::Replace { path: p.into(), value: Value::Object(flipped) }],
            );
        }
        if family == "Numeric" && path.is_empty() {
            if let Some(x) = value.as_f64() {
                for d in [-1.0, 1.0] {
                    let to = number(x + d);
                    let (lo, hi) = if d < 0.0 {
                        (short(&to), short(value))
                    } else {
                        (short(value), short(&to))
                    };
                    let fp = format!("{p}/{}", escape(op));
                    out.push(
                        "threshold_moved",
                        name,
                        fp.clone(),
                        format!("{op}: {} → {op}: {}", short(value), short(&to)),
                        format!("a test where {variable} lies between {lo} and {hi} (both included), asserting the branch taken"),
                        vec![PatchOp::Replace { path: fp, value: to }],
                    );
                }
            }
        }
    }
}

/// A field of an object set to `value`, whether it is there or not (JSON
/// Patch's `add` replaces a member that exists).
fn set(path: &str, value: Value) -> PatchOp {
    PatchOp::Add { path: path.into(), value }
}

/// `x` as JSON, an integer where it is one.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn errors_of(v: &Value) -> String {
    let errors: Vec<&str> = v
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if errors.is_empty() {
        "an error".into()
    } else {
        errors.join(" / ")
    }
}

/// A value in one short line.
fn short(v: &Value) -> String {
    let s = crate::json::to_json_string(v);
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}
