//! The snapshot format: an execution as a reviewer reads it. One entry per
//! event, times relative to the start, payloads as parsed JSON shown whole
//! (short ones on their line, longer ones indented below), default-valued
//! noise (`truncated: false`, the placeholder role ARN) left out. Ids, tokens and ARNs come from the
//! seeded generator, so the text is stable byte for byte.
//! [`Execution::history_json`] keeps AWS's own shape for comparing with AWS.

use crate::eval::Execution;
use serde_json::Value;
use std::fmt::Write;

/// Fields whose value is JSON text in GetExecutionHistory.
const JSON_TEXT: [&str; 5] = ["input", "output", "parameters", "result", "cause"];

/// Widest payload kept on its field's line.
const INLINE: usize = 80;

impl Execution {
    /// The execution in the snapshot format (see `assert_execution_snapshot!`).
    ///
    /// ```
    /// # use sfn_harness::Harness;
    /// # use serde_json::json;
    /// let exec = Harness::from_definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"n": 1}, "End": true}}}"#)
    ///     .unwrap().run_blocking(json!({}));
    /// assert_eq!(exec.snapshot(), r#"SUCCEEDED in 0.000s
    /// input: {}
    /// output: {"n":1}
    ///
    /// #1 +0.000s ExecutionStarted
    ///   input: {}
    /// #2 +0.000s PassStateEntered P
    ///   input: {}
    /// #3 +0.000s PassStateExited P
    ///   output: {"n":1}
    /// #4 +0.000s ExecutionSucceeded
    ///   output: {"n":1}
    /// "#);
    /// ```
    ///
    /// The executions it started follow it, each under a line naming the
    /// state that started it (a distributed Map's item, or a
    /// `states:startExecution` Task), in the same format.
    pub fn snapshot(&self) -> String {
        let mut out = self.snapshot_own();
        for (by, e) in self.descendants().into_iter().skip(1) {
            let by = by.unwrap_or_default();
            let _ = match e.map_index {
                Some(i) => write!(out, "\n=== {by}[{i}]: map run child {}\n", e.name),
                None => write!(out, "\n=== {by}: child execution {}\n", e.name),
            };
            out.push_str(&e.snapshot_own());
        }
        out
    }

    /// This execution's part of the snapshot.
    fn snapshot_own(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{} in {:.3}s",
            self.status().as_str(),
            (self.stop_ms - self.start_ms) as f64 / 1000.0
        );
        if let Some(s) = &self.stalled() {
            let _ = write!(out, " (stalled: {s})");
        }
        out.push('\n');
        field(&mut out, "", "input", &self.input);
        if let Some(o) = self.output_payload() {
            field(&mut out, "", "output", o);
        }
        if let Some(e) = &self.error() {
            field(&mut out, "", "error", &Value::String(e.to_string()));
        }
        if let Some(c) = &self.cause() {
            field(&mut out, "", "cause", &json_text(c));
        }
        out.push('\n');
        for e in self.history.events() {
            let t = (e.timestamp_ms - self.start_ms) as f64 / 1000.0;
            let v = e.to_json(true);
            let _ = write!(out, "#{} +{t:.3}s {}", e.id, e.type_name());
            let details = v
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.ends_with("EventDetails")))
                .map(|(_, d)| d);
            let Some(Value::Object(d)) = details else {
                out.push('\n');
                continue;
            };
            if let Some(Value::String(name)) = d.get("name") {
                let _ = write!(out, " {name}");
            }
            out.push('\n');
            for (k, v) in d {
                // the name is on the event's line; the role is the harness's placeholder
                if k == "name" || k == "roleArn" || (k.ends_with("Details") && is_default_noise(v))
                {
                    continue;
                }
                let v = if JSON_TEXT.contains(&k.as_str()) {
                    v.as_str().map(json_text).unwrap_or_else(|| v.clone())
                } else {
                    v.clone()
                };
                field(&mut out, "  ", k, &v);
            }
        }
        out
    }
}

/// `{"truncated": false}` and the like: what every event says.
fn is_default_noise(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| k == "truncated" && v == &Value::Bool(false)))
}

/// JSON text parsed, or the text itself when it is not JSON.
fn json_text(s: &str) -> Value {
    crate::json::maybe_json(&Value::String(s.to_string()))
}

/// `key: value`, the value compact when short, else broken over indented
/// lines (see [`pretty`]).
fn field(out: &mut String, indent: &str, key: &str, v: &Value) {
    let compact = crate::json::to_json_string(v);
    if compact.len() <= INLINE || !(v.is_object() || v.is_array()) {
        let _ = writeln!(out, "{indent}{key}: {compact}");
        return;
    }
    let _ = writeln!(out, "{indent}{key}:");
    let mut text = String::new();
    pretty(&mut text, v, &format!("{indent}  "));
    out.push_str(&text);
    out.push('\n');
}

/// JSON over lines: a value that fits in [`INLINE`] columns stays on one
/// line, a larger object or array puts each member on a line of its own.
fn pretty(out: &mut String, v: &Value, indent: &str) {
    let compact = crate::json::to_json_string(v);
    let inner = format!("{indent}  ");
    match v {
        Value::Object(m) if compact.len() + indent.len() > INLINE && !m.is_empty() => {
            let _ = write!(out, "{indent}{{");
            for (i, (k, x)) in m.iter().enumerate() {
                let key = crate::json::to_json_string(&Value::String(k.clone()));
                let mut member = String::new();
                pretty(&mut member, x, &inner);
                let _ = write!(
                    out,
                    "{}\n{inner}{key}: {}",
                    if i == 0 { "" } else { "," },
                    member.trim_start()
                );
            }
            let _ = write!(out, "\n{indent}}}");
        }
        Value::Array(a) if compact.len() + indent.len() > INLINE && !a.is_empty() => {
            let _ = write!(out, "{indent}[");
            for (i, x) in a.iter().enumerate() {
                let mut member = String::new();
                pretty(&mut member, x, &inner);
                let _ = write!(out, "{}\n{member}", if i == 0 { "" } else { "," });
            }
            let _ = write!(out, "\n{indent}]");
        }
        _ => {
            let _ = write!(out, "{indent}{compact}");
        }
    }
}
