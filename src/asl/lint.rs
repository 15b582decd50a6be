//! Pipeline lints: warnings for definitions AWS accepts that are likely
//! mistakes, each with a code, a JSON pointer and one line on why.
//! (`States.ALL` not last in a Retry or Catch is an error AWS reports
//! itself, in `recover.rs`.)

use super::diagnostic::token;
use super::diagnostic::{Diagnostic, Severity};
use super::graph::{ends, nested, reachable, successors};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// The lints' codes.
pub(super) mod codes {
    /// `.waitForTaskToken` with neither HeartbeatSeconds nor TimeoutSeconds.
    pub(crate) const CALLBACK_WITHOUT_TIMEOUT: &str = "CALLBACK_WITHOUT_TIMEOUT";
    /// A `.sync` task that hands out `$$.Task.Token`.
    pub(crate) const SYNC_WITH_TASK_TOKEN: &str = "SYNC_WITH_TASK_TOKEN";
    /// A Choice with no Default.
    pub(crate) const CHOICE_WITHOUT_DEFAULT: &str = "CHOICE_WITHOUT_DEFAULT";
    /// States from which no end can be reached.
    pub(crate) const LOOP_WITHOUT_EXIT: &str = "LOOP_WITHOUT_EXIT";
    /// A path whose first field no upstream state produces.
    pub(crate) const PATH_NOT_PRODUCED: &str = "PATH_NOT_PRODUCED";
    /// A catcher an earlier one always takes first.
    pub(crate) const UNREACHABLE_CATCHER: &str = "UNREACHABLE_CATCHER";
}

/// Every lint of a definition (the machine at `v`, nested machines included).
pub(crate) fn lint(v: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    machine(v, "", &mut out);
    out
}

fn warn(out: &mut Vec<Diagnostic>, code: &'static str, location: String, message: String) {
    out.push(Diagnostic { severity: Severity::Warning, code, location, message });
}

fn machine(v: &Value, loc: &str, out: &mut Vec<Diagnostic>) {
    let Some(states) = v.get("States").and_then(Value::as_object) else { return };
    for (name, s) in states {
        let sloc = format!("{loc}/States/{}", token(name));
        task(s, &sloc, out);
        choice(s, &sloc, out);
        catchers(s, &sloc, out);
        for (at, m) in nested(s) {
            machine(m, &format!("{sloc}/{at}"), out);
        }
    }
    loops(v, states, loc, out);
    paths(v, states, loc, out);
}

fn task(s: &Value, loc: &str, out: &mut Vec<Diagnostic>) {
    let Some(resource) = s.get("Resource").and_then(Value::as_str) else { return };
    let has = |k: &str| s.get(k).is_some() || s.get(format!("{k}Path")).is_some();
    if resource.ends_with(".waitForTaskToken") && !has("HeartbeatSeconds") && !has("TimeoutSeconds")
    {
        warn(
            out,
            codes::CALLBACK_WITHOUT_TIMEOUT,
            format!("{loc}/Resource"),
            "a .waitForTaskToken task with neither HeartbeatSeconds nor TimeoutSeconds: if its worker dies, the execution waits up to a year".into(),
        );
    }
    if resource.ends_with(".sync") || resource.ends_with(".sync:2") {
        for key in ["Parameters", "Arguments"] {
            if let Some(p) = s.get(key).and_then(|p| find_token(p, &format!("{loc}/{key}"))) {
                warn(
                    out,
                    codes::SYNC_WITH_TASK_TOKEN,
                    p,
                    "a .sync task that passes $$.Task.Token has two completion signals: if the task stops before its worker calls back, the result is the service's task description, not the worker's output".into(),
                );
            }
        }
    }
}

/// The pointer of the first value that hands out the task token.
fn find_token(v: &Value, loc: &str) -> Option<String> {
    match v {
        Value::String(s)
            if s.contains("$$.Task.Token") || s.contains("$states.context.Task.Token") =>
        {
            Some(loc.to_string())
        }
        Value::Object(m) => {
            m.iter().find_map(|(k, x)| find_token(x, &format!("{loc}/{}", token(k))))
        }
        Value::Array(a) => {
            a.iter().enumerate().find_map(|(i, x)| find_token(x, &format!("{loc}/{i}")))
        }
        _ => None,
    }
}

fn choice(s: &Value, loc: &str, out: &mut Vec<Diagnostic>) {
    if s.get("Type").and_then(Value::as_str) == Some("Choice") && s.get("Default").is_none() {
        warn(
            out,
            codes::CHOICE_WITHOUT_DEFAULT,
            loc.to_string(),
            "a Choice with no Default fails with States.NoChoiceMatched when no rule matches"
                .into(),
        );
    }
}

/// A catcher whose errors earlier catchers already take.
fn catchers(s: &Value, loc: &str, out: &mut Vec<Diagnostic>) {
    let Some(list) = s.get("Catch").and_then(Value::as_array) else { return };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let errors: Vec<String> = c
            .get("ErrorEquals")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let covered = |e: &String| {
            seen.contains(e)
                || (seen.contains("States.ALL") && e != "States.Runtime")
                || (seen.contains("States.TaskFailed")
                    && !matches!(
                        e.as_str(),
                        "States.Timeout"
                            | "States.HeartbeatTimeout"
                            | "States.ALL"
                            | "States.Runtime"
                    ))
        };
        if !errors.is_empty() && errors.iter().all(covered) {
            warn(
                out,
                codes::UNREACHABLE_CATCHER,
                format!("{loc}/Catch/{i}"),
                format!(
                    "catcher {i} never runs: an earlier catcher already takes {}",
                    errors.join(", ")
                ),
            );
        }
        seen.extend(errors);
    }
}

/// States reachable from StartAt from which no end can be reached: an
/// execution entering them loops until the history quota stops it.
fn loops(v: &Value, states: &Map<String, Value>, loc: &str, out: &mut Vec<Diagnostic>) {
    let Some(start) = v.get("StartAt").and_then(Value::as_str) else { return };
    let reachable = reachable(states, start);
    // states that can reach an end, found backwards
    let mut exits: BTreeSet<&str> =
        states.iter().filter(|(_, s)| ends(s)).map(|(n, _)| n.as_str()).collect();
    loop {
        let before = exits.len();
        for (n, s) in states {
            if successors(s).iter().any(|x| exits.contains(x)) {
                exits.insert(n.as_str());
            }
        }
        if exits.len() == before {
            break;
        }
    }
    let stuck: Vec<&str> = reachable.iter().copied().filter(|n| !exits.contains(n)).collect();
    if let Some(first) = stuck.first() {
        warn(
            out,
            codes::LOOP_WITHOUT_EXIT,
            format!("{loc}/States/{}", token(first)),
            format!("{} can never reach an end state: an execution that enters them loops until the history quota fails it", stuck.join(", ")),
        );
    }
}

/// Paths that read a field no upstream state produces, where that can be
/// known: every state that leads to the reader is a Pass with a literal
/// Result that becomes its whole output.
fn paths(v: &Value, states: &Map<String, Value>, loc: &str, out: &mut Vec<Diagnostic>) {
    let mut preds: HashMap<&str, Vec<&Value>> = HashMap::new();
    for s in states.values() {
        for n in successors(s) {
            preds.entry(n).or_default().push(s);
        }
    }
    let start = v.get("StartAt").and_then(Value::as_str);
    for (name, s) in states {
        let Some(ps) = preds.get(name.as_str()) else { continue };
        if Some(name.as_str()) == start {
            continue; // the execution input is unknown
        }
        let known: Option<Vec<&Map<String, Value>>> = ps
            .iter()
            .map(|p| {
                let literal = p.get("Type").and_then(Value::as_str) == Some("Pass")
                    && p.get("ResultPath").is_none()
                    && p.get("OutputPath").is_none()
                    && p.get("Assign").is_none();
                p.get("Result").and_then(Value::as_object).filter(|_| literal)
            })
            .collect();
        let Some(outputs) = known else { continue };
        let sloc = format!("{loc}/States/{}", token(name));
        for (at, path) in reads(s, &sloc) {
            let Some(field) = first_field(&path) else { continue };
            if outputs.iter().all(|o| !o.contains_key(field)) {
                warn(
                    out,
                    codes::PATH_NOT_PRODUCED,
                    at,
                    format!("{path} reads '{field}', which no state before '{name}' produces (its input is always {})", outputs.iter().map(|o| crate::json::to_json_string(&Value::Object((*o).clone()))).collect::<Vec<_>>().join(" or ")),
                );
            }
        }
    }
}

/// The JSONPaths a state reads from its input: InputPath, ItemsPath,
/// Choice Variables, and `.$` values of Parameters that start with `$.`.
fn reads(s: &Value, loc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for key in ["InputPath", "ItemsPath"] {
        if let Some(p) = s.get(key).and_then(Value::as_str) {
            out.push((format!("{loc}/{key}"), p.to_string()));
        }
    }
    for (i, c) in s.get("Choices").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if let Some(p) = c.get("Variable").and_then(Value::as_str) {
            out.push((format!("{loc}/Choices/{i}/Variable"), p.to_string()));
        }
    }
    if s.get("InputPath").is_none() {
        if let Some(Value::Object(m)) = s.get("Parameters") {
            for (k, v) in m {
                if let (true, Some(p)) = (k.ends_with(".$"), v.as_str()) {
                    out.push((format!("{loc}/Parameters/{}", token(k)), p.to_string()));
                }
            }
        }
    }
    out
}

/// `$.a.b` → `a`, `$['a']` → `a`; `None` for `$`, `$$…`, `$var` and the rest.
fn first_field(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("$.")?;
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    let f = &rest[..end];
    (!f.is_empty() && !f.contains('*')).then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes_of(v: Value) -> Vec<(&'static str, String)> {
        lint(&v).into_iter().map(|d| (d.code, d.location)).collect()
    }

    /// Each lint fires on its smallest example and stays silent on the fixed one.
    #[test]
    fn each_lint_fires_and_stays_silent() {
        let cases: Vec<(&str, Value, Value, &str)> = vec![
            (
                codes::CALLBACK_WITHOUT_TIMEOUT,
                json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}}),
                json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "HeartbeatSeconds": 60, "End": true}}}),
                "/States/T/Resource",
            ),
            (
                codes::SYNC_WITH_TASK_TOKEN,
                json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "Parameters": {"Env": [{"Value.$": "$$.Task.Token"}]}, "End": true}}}),
                json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken", "HeartbeatSeconds": 60, "Parameters": {"Env": [{"Value.$": "$$.Task.Token"}]}, "End": true}}}),
                "/States/T/Parameters/Env/0/Value.$",
            ),
            (
                codes::CHOICE_WITHOUT_DEFAULT,
                json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "E"}]}, "E": {"Type": "Succeed"}}}),
                json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "E"}], "Default": "E"}, "E": {"Type": "Succeed"}}}),
                "/States/C",
            ),
            (
                codes::LOOP_WITHOUT_EXIT,
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}}),
                json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": true, "Next": "E"}], "Default": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}, "E": {"Type": "Succeed"}}}),
                "/States/A",
            ),
            (
                codes::PATH_NOT_PRODUCED,
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"count": 1}, "Next": "C"}, "C": {"Type": "Choice", "Choices": [{"Variable": "$.total", "NumericGreaterThan": 0, "Next": "E"}], "Default": "E"}, "E": {"Type": "Succeed"}}}),
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"total": 1}, "Next": "C"}, "C": {"Type": "Choice", "Choices": [{"Variable": "$.total", "NumericGreaterThan": 0, "Next": "E"}], "Default": "E"}, "E": {"Type": "Succeed"}}}),
                "/States/C/Choices/0/Variable",
            ),
            (
                codes::UNREACHABLE_CATCHER,
                json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "E"}, {"ErrorEquals": ["MyError"], "Next": "E"}], "End": true}, "E": {"Type": "Succeed"}}}),
                json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Catch": [{"ErrorEquals": ["MyError"], "Next": "E"}, {"ErrorEquals": ["States.TaskFailed"], "Next": "E"}], "End": true}, "E": {"Type": "Succeed"}}}),
                "/States/T/Catch/1",
            ),
        ];
        for (code, bad, good, at) in cases {
            let got = codes_of(bad);
            assert!(got.contains(&(code, at.to_string())), "{code} must fire at {at}: {got:?}");
            let quiet = codes_of(good);
            assert!(quiet.is_empty(), "{code}: the fixed definition must be silent: {quiet:?}");
        }
    }

    #[test]
    fn lints_reach_nested_machines() {
        let v = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "IsNull": true, "Next": "E"}]}, "E": {"Type": "Succeed"}}}, "End": true}}});
        assert_eq!(
            codes_of(v),
            vec![(codes::CHOICE_WITHOUT_DEFAULT, "/States/M/ItemProcessor/States/C".to_string())]
        );
    }

    #[test]
    fn the_seed_sync_definition_hands_out_its_token() {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string("fixtures/seed/state-machine.asl.json").unwrap(),
        )
        .unwrap();
        assert_eq!(codes_of(v), vec![(codes::SYNC_WITH_TASK_TOKEN, "/States/FargateTask/Parameters/Overrides/ContainerOverrides/0/Environment/1/Value.$".to_string())]);
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string("fixtures/seed/state-machine.jsonata.asl.json").unwrap(),
        )
        .unwrap();
        assert_eq!(
            codes_of(v),
            vec![(
                codes::SYNC_WITH_TASK_TOKEN,
                "/States/FargateTask/Arguments/Overrides/ContainerOverrides/0/Environment/1/Value"
                    .to_string()
            )]
        );
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string("fixtures/seed/state-machine.wait-for-token.asl.json")
                .unwrap(),
        )
        .unwrap();
        let got = codes_of(v);
        assert!(got.iter().all(|(c, _)| *c == codes::CALLBACK_WITHOUT_TIMEOUT), "{got:?}");
    }
}
