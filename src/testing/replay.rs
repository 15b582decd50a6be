//! Replay of a real execution: the history `aws stepfunctions
//! get-execution-history` returned gives the execution's input and every
//! task attempt's answer; the definition runs again offline with them, and
//! the two histories are compared event by event.

use super::Harness;
use crate::eval::Execution;
use crate::failure::{FaultKind, HarnessFault};
use crate::history::{work_step, WorkStep, WorkStepKind};
use crate::integrations::{Answer, BoxFuture, Integration, TaskCall, TaskReply, Timeline};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::json::{
    maybe_json, recorded_match, JSON_TEXT_KEYS as JSON_TEXT, VOLATILE_KEYS as IGNORED,
};

/// Why a recorded history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError {
    /// Where in the history (a JSON pointer).
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "history{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ReplayError {}

fn bad(location: impl Into<String>, message: impl Into<String>) -> ReplayError {
    ReplayError { location: location.into(), message: message.into() }
}

/// One task attempt as the history recorded it.
#[derive(Debug, Clone)]
struct Recorded {
    reply: TaskReply,
    submitted: Option<Value>,
}

/// The events of a history in any of the shapes the AWS tools write: the
/// CLI's `{"events": [...]}`, a bare array of events, or an array of such
/// pages.
fn events_of(v: &Value) -> Result<Vec<Value>, ReplayError> {
    let pages: Vec<&Value> = match v {
        Value::Object(m) if !m.contains_key("events") => {
            return Err(bad("", "expected GetExecutionHistory's output: an object with \"events\" (or an array of events, or of pages)"))
        }
        Value::Object(_) => vec![v],
        Value::Array(a) if a.iter().all(|p| p.get("events").is_some()) && !a.is_empty() => a.iter().collect(),
        Value::Array(_) => return check(v.as_array().cloned().unwrap_or_default(), ""),
        _ => return Err(bad("", "expected GetExecutionHistory's output: {\"events\": [...]}, an array of events, or an array of pages")),
    };
    let mut all = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        match p.get("events") {
            Some(Value::Array(e)) => all.extend(e.iter().cloned()),
            _ => return Err(bad(format!("/{i}"), "a page has no \"events\" array")),
        }
    }
    check(all, "/events")
}

/// Every event has a type; sorted by id (an event without a numeric id,
/// as some redacted recordings have, keeps its place in the array).
fn check(mut events: Vec<Value>, at: &str) -> Result<Vec<Value>, ReplayError> {
    let numbered = events.iter().all(|e| e.get("id").and_then(Value::as_u64).is_some());
    for (i, e) in events.iter_mut().enumerate() {
        if e.get("type").and_then(Value::as_str).is_none() {
            return Err(bad(format!("{at}/{i}"), "an event needs a \"type\""));
        }
        if !numbered {
            e["id"] = Value::from(i as u64 + 1);
        }
    }
    events.sort_by_key(|e| e["id"].as_u64());
    if events.first().and_then(|e| e["type"].as_str()) != Some("ExecutionStarted") {
        return Err(bad(at, "the history does not begin with ExecutionStarted (join all pages of get-execution-history)"));
    }
    Ok(events)
}

fn details(e: &Value) -> Option<&Map<String, Value>> {
    e.as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .and_then(|(_, v)| v.as_object())
}

/// What replaying needs from a history: the input and each task state's
/// attempts, per Map iteration, in order.
struct Answers {
    input: Value,
    by_task: HashMap<(String, Vec<usize>), Vec<Recorded>>,
}

/// A payload read back, owned.
fn unshared(v: std::sync::Arc<Value>) -> Value {
    std::sync::Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone())
}

fn answers(events: &[Value]) -> Answers {
    let by_id: HashMap<u64, &Value> =
        events.iter().map(|e| (e["id"].as_u64().unwrap_or(0), e)).collect();
    let prev = |e: &Value| {
        e.get("previousEventId").and_then(Value::as_u64).and_then(|p| by_id.get(&p).copied())
    };
    let input =
        details(&events[0]).and_then(|d| d.get("input")).map(maybe_json).unwrap_or(Value::Null);
    // walking back from an event: the state it belongs to and the Map
    // iterations around it (an iteration's chain can run through its
    // siblings' events: skip to its MapStateStarted)
    let place = |e: &Value| -> (Option<String>, Vec<usize>) {
        let (mut state, mut path, mut skip, mut finished) = (None, Vec::new(), false, 0usize);
        // MapStateExited follows what its MapStateSucceeded follows (as AWS
        // records it): an ended Map shows by its Exited, or by its
        // Succeeded/Failed where no Exited came after it
        let mut exited = false;
        let mut cur = prev(e);
        let mut steps = 0;
        while let Some(x) = cur {
            steps += 1;
            if steps > events.len() {
                break;
            }
            let ty = x["type"].as_str().unwrap_or("");
            if state.is_none() && ty.ends_with("StateEntered") {
                state = details(x)
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            let was_exited = std::mem::replace(&mut exited, ty == "MapStateExited");
            if ty == "MapStateExited"
                || (matches!(ty, "MapStateSucceeded" | "MapStateFailed") && !was_exited)
            {
                // a Map that ended before: none of its iterations encloses the event
                finished += 1;
            } else if ty == "MapStateStarted" {
                if finished > 0 {
                    finished -= 1;
                } else {
                    skip = false;
                }
            } else if ty == "MapIterationStarted" && !skip && finished == 0 {
                if let Some(i) = details(x).and_then(|d| d.get("index")).and_then(Value::as_u64) {
                    path.push(i as usize);
                }
                skip = true;
            }
            cur = prev(x);
        }
        path.reverse();
        (state, path)
    };
    let step = |e: &Value| work_step(e["type"].as_str().unwrap_or(""));
    let scheduled = |e: &Value| step(e) == Some(WorkStepKind::Scheduled);
    // each closing event belongs to the nearest scheduled event behind it
    let mut outcome: HashMap<u64, (TaskReply, Option<Value>)> = HashMap::new();
    let mut submitted: HashMap<u64, Value> = HashMap::new();
    for e in events {
        let reply = match WorkStep::from_aws(e) {
            Some(WorkStep::Succeeded { output }) => Some(TaskReply::Succeed(unshared(output))),
            Some(WorkStep::TimedOut { error: Some(error), cause: None })
                if error == crate::names::TIMEOUT =>
            {
                Some(TaskReply::TimedOut)
            }
            Some(WorkStep::Failed { error, cause } | WorkStep::TimedOut { error, cause }) => {
                Some(TaskReply::Fail { error, cause })
            }
            Some(WorkStep::Submitted { output }) => {
                // a TaskSubmitted without output submitted nothing to answer with
                let out = (!output.is_null()).then(|| unshared(output));
                let mut cur = prev(e);
                while let Some(x) = cur {
                    if scheduled(x) {
                        if let Some(o) = out {
                            submitted.insert(x["id"].as_u64().unwrap_or(0), o);
                        }
                        break;
                    }
                    cur = prev(x);
                }
                None
            }
            _ => None,
        };
        if let Some(reply) = reply {
            let mut cur = prev(e);
            while let Some(x) = cur {
                if scheduled(x) {
                    outcome.entry(x["id"].as_u64().unwrap_or(0)).or_insert((reply, None));
                    break;
                }
                cur = prev(x);
            }
        }
    }
    let mut by_task: HashMap<(String, Vec<usize>), Vec<Recorded>> = HashMap::new();
    for e in events.iter().filter(|e| scheduled(e)) {
        let id = e["id"].as_u64().unwrap_or(0);
        let (Some(state), path) = place(e) else { continue };
        // an attempt the execution left unanswered: it never answers
        let reply = outcome
            .remove(&id)
            .map(|(r, _)| r)
            .unwrap_or_else(|| TaskReply::Callbacks(Timeline::new()));
        by_task
            .entry((state, path))
            .or_default()
            .push(Recorded { reply, submitted: submitted.remove(&id) });
    }
    Answers { input, by_task }
}

/// Answers each task attempt as recorded, in order, per state and Map iteration.
struct Replayer {
    by_task: HashMap<(String, Vec<usize>), Vec<Recorded>>,
    next: Mutex<HashMap<(String, Vec<usize>), usize>>,
}

impl Integration for Replayer {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        let key = (call.state_name.to_string(), call.iteration.clone());
        let n = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let n = next.entry(key.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let answer = match self.by_task.get(&key).and_then(|a| a.get(n)) {
            Some(r) => Ok(Answer { reply: r.reply.clone(), submitted: r.submitted.clone(), elapsed_ms: 0, logs: None, worker_ms: None }),
            None => Err(HarnessFault::new(
                FaultKind::ReplayDiverged,
                format!(
                    "the recorded execution has no attempt {} of Task state '{}'{}: the definition runs differently from the recording here",
                    n + 1,
                    call.state_name,
                    if call.iteration.is_empty() { String::new() } else { format!(" in Map iteration {:?}", call.iteration) }
                ),
            )),
        };
        Box::pin(std::future::ready(answer))
    }

    fn uses_callbacks(&self) -> bool {
        false
    }
}

/// A harness answering every task as a recorded history says, ready to run
/// that execution again ([`Harness::replaying`]).
#[derive(Debug)]
pub struct Replay {
    harness: Harness,
    input: Value,
    recorded: Vec<Value>,
}

/// Where a replayed history first differs from the recorded one.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The position (0-based) of the first differing event.
    pub index: usize,
    /// The recorded event there, one line (`None`: the replay has more events).
    pub expected: Option<String>,
    /// The replayed event there, one line (`None`: the replay has fewer events).
    pub actual: Option<String>,
    /// A unified diff of the two histories, one line per event.
    pub diff: String,
}

/// The result of a replay: the offline execution and its first divergence
/// from the recording, if any.
#[derive(Debug)]
pub struct ReplayReport {
    /// The execution run offline.
    pub execution: Execution,
    /// `None` when the histories agree event for event.
    pub divergence: Option<Divergence>,
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.divergence {
            None => write!(
                f,
                "the replay matches the recorded history ({} events)",
                self.execution.event_count()
            ),
            Some(d) => {
                writeln!(f, "the replay diverges at event #{}:", d.index + 1)?;
                writeln!(f, "  recorded: {}", d.expected.as_deref().unwrap_or("(no more events)"))?;
                writeln!(f, "  replayed: {}", d.actual.as_deref().unwrap_or("(no more events)"))?;
                write!(f, "{}", d.diff)
            }
        }
    }
}

impl ReplayReport {
    /// Panics with the divergence and the diff, if there is one.
    pub fn assert_no_divergence(&self) -> &Self {
        assert!(self.divergence.is_none(), "{self}");
        self
    }
}

impl Harness {
    /// Prepares to run the execution recorded in `history` (what `aws
    /// stepfunctions get-execution-history` returned, all pages) again:
    /// its input, and every Task attempt answered as recorded (results,
    /// errors, timeouts, callbacks), per state and Map iteration.
    ///
    /// ```no_run
    /// # use sfn_harness::Harness;
    /// let history: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("prod-failure.json").unwrap()).unwrap();
    /// Harness::from_file("state-machine.asl.json").unwrap().replaying(&history).unwrap().run_blocking().assert_no_divergence();
    /// ```
    pub fn replaying(self, history: &Value) -> Result<Replay, ReplayError> {
        let recorded = events_of(history)?;
        let Answers { input, by_task } = answers(&recorded);
        let replayer = Arc::new(Replayer { by_task, next: Mutex::new(HashMap::new()) });
        let mut harness = self;
        let tasks: Vec<String> = harness
            .sm
            .all_states()
            .iter()
            .filter(|s| matches!(s.kind, crate::asl::StateKind::Task(_)))
            .map(|s| s.name.to_string())
            .collect();
        for t in tasks {
            harness.integrations.insert(t, replayer.clone());
        }
        Ok(Replay { harness, input, recorded })
    }
}

impl Replay {
    /// The recorded execution's input.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// Runs the recorded execution again and compares the histories.
    pub async fn run(&self) -> ReplayReport {
        let execution = self.harness.run(self.input.clone()).await;
        self.report(execution)
    }

    /// [`Replay::run`] for synchronous tests.
    pub fn run_blocking(&self) -> ReplayReport {
        let execution = self.harness.run_blocking(self.input.clone());
        self.report(execution)
    }

    fn report(&self, execution: Execution) -> ReplayReport {
        let mut replayed = execution.history_json().as_array().cloned().unwrap_or_default();
        // a history recorded without ParallelStateSucceeded (the conformance
        // cases' tooling dropped it) is compared without it
        if !self.recorded.iter().any(|e| e["type"] == "ParallelStateSucceeded") {
            replayed.retain(|e| e["type"] != "ParallelStateSucceeded");
        }
        let concurrent = self.harness.sm.all_states().iter().any(|s| !s.kind.nested().is_empty());
        let divergence = diverges(&self.recorded, &replayed, concurrent);
        ReplayReport { execution, divergence }
    }
}

/// The first event where `replayed` differs from `recorded` (type or
/// details). With Map or Parallel states (`concurrent`), events in another
/// order are no divergence: AWS's order of concurrent branches is not
/// deterministic, so the histories are compared as multisets.
fn diverges(recorded: &[Value], replayed: &[Value], concurrent: bool) -> Option<Divergence> {
    let index = (0..recorded.len().max(replayed.len())).find(|&i| {
        match (recorded.get(i), replayed.get(i)) {
            (Some(a), Some(b)) => !same_event(a, b),
            _ => true,
        }
    })?;
    if concurrent && permutation(&recorded[index..], &replayed[index..]) {
        return None;
    }
    let line = |e: &Value| {
        let d = details(e).map(|d| {
            let mut fields: Vec<(&String, Value)> = d
                .iter()
                .filter(|(k, _)| !IGNORED.contains(&k.as_str()))
                .map(|(k, v)| {
                    (k, if JSON_TEXT.contains(&k.as_str()) { maybe_json(v) } else { v.clone() })
                })
                .collect();
            fields.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(fields.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        });
        format!(
            "{} {}",
            e["type"].as_str().unwrap_or("?"),
            d.map(|d| crate::json::to_json_string(&d)).unwrap_or_default()
        )
    };
    let a: String = recorded.iter().map(|e| line(e) + "\n").collect();
    // an event that matches its recorded twin is shown as recorded, so the
    // diff shows only what differs (not placeholders such as <region>)
    let b: String = replayed
        .iter()
        .enumerate()
        .map(|(i, e)| match recorded.get(i) {
            Some(r) if same_event(r, e) => line(r) + "\n",
            _ => line(e) + "\n",
        })
        .collect();
    let diff = similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "replayed")
        .to_string();
    Some(Divergence {
        index,
        expected: recorded.get(index).map(line),
        actual: replayed.get(index).map(line),
        diff,
    })
}

/// Whether the two lists hold the same events in some order.
fn permutation(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| match (0..b.len()).find(|&j| !used[j] && same_event(x, &b[j])) {
        Some(j) => {
            used[j] = true;
            true
        }
        None => false,
    })
}

fn same_event(a: &Value, b: &Value) -> bool {
    a["type"] == b["type"]
        && match (details(a), details(b)) {
            (None, None) => true,
            (Some(x), Some(y)) => same_details(x, y),
            _ => false,
        }
}

fn same_details(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    recorded_match(&Value::Object(x.clone()), &Value::Object(y.clone()), None)
}

#[cfg(test)]
mod tests {
    use crate::json::placeholder_match;

    #[test]
    fn placeholders_stand_for_any_text() {
        assert!(placeholder_match(
            "arn:aws:states:<region>:111111111111:execution:<uuid:1>",
            "arn:aws:states:us-east-1:123456789012:execution:abc"
        ));
        assert!(placeholder_match("<uuid:1>", "anything at all"));
        assert!(!placeholder_match("prefix-<x>", "other-1"));
        assert!(!placeholder_match("no placeholders", "no placeholders!"));
        assert!(!placeholder_match("a<x>b<y>c", "ab"));
        assert!(placeholder_match("a<x>b<y>c", "a1b2c"));
    }
}
