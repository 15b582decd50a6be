//! Mocked task responses in Step Functions Local's mock-config format.
//!
//! ```json
//! {"StateMachines": {"Seed": {"TestCases": {"HappyPath": {"FargateTask": "Increment"}}}},
//!  "MockedResponses": {"Increment": {"0": {"Return": {"input": {"number": 1}}},
//!                                    "1-2": {"Throw": {"Error": "E", "Cause": "c"}}}}}
//! ```
//!
//! Keys of a mocked response are invocation numbers (`"0"`) or inclusive
//! ranges (`"1-2"`), counted per state with retries included.

use crate::failure::{FaultKind, HarnessFault};
use crate::integrations::{Answer, BoxFuture, Integration, TaskCall, TaskReply};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A problem in a mock-config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfigError {
    /// A JSON pointer into the mock config.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MockConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mock config {}: {}",
            if self.location.is_empty() { "/" } else { &self.location },
            self.message
        )
    }
}

impl std::error::Error for MockConfigError {}

fn err(location: impl Into<String>, message: impl Into<String>) -> MockConfigError {
    MockConfigError { location: location.into(), message: message.into() }
}

/// One entry of a mocked response.
#[derive(Debug, Clone, PartialEq)]
pub enum MockEntry {
    Return(Value),
    Throw { error: Option<String>, cause: Option<String> },
    TimedOut,
}

impl MockEntry {
    /// Parses `{"Return": v}`, `{"Throw": {"Error", "Cause"}}` or `{"TimedOut": true}`.
    pub fn parse(v: &Value, loc: &str) -> Result<MockEntry, MockConfigError> {
        let obj = v
            .as_object()
            .ok_or_else(|| err(loc, "a mocked response must be an object with Return or Throw"))?;
        // a timeout recorded with its Throw is a timeout
        if obj.get("TimedOut") == Some(&Value::Bool(true)) {
            return Ok(MockEntry::TimedOut);
        }
        if let Some(r) = obj.get("Return") {
            return Ok(MockEntry::Return(r.clone()));
        }
        if let Some(t) = obj.get("Throw") {
            // no Error: a failure without an error name (SendTaskFailure without one)
            let error = match t.get("Error") {
                None | Some(Value::Null) => None,
                Some(e) => Some(e.as_str().map(str::to_string).ok_or_else(|| {
                    err(format!("{loc}/Throw/Error"), "'Error' must be a string")
                })?),
            };
            let cause = match t.get("Cause") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            };
            return Ok(MockEntry::Throw { error, cause });
        }
        if obj.get("TimedOut") == Some(&Value::Bool(true)) {
            return Ok(MockEntry::TimedOut);
        }
        Err(err(loc, "a mocked response needs 'Return' or 'Throw'"))
    }

    pub fn reply(&self) -> TaskReply {
        match self {
            MockEntry::Return(v) => TaskReply::Succeed(v.clone()),
            MockEntry::Throw { error, cause } => {
                TaskReply::Fail { error: error.clone(), cause: cause.clone() }
            }
            MockEntry::TimedOut => TaskReply::TimedOut,
        }
    }
}

/// The responses of one mocked task, by invocation number.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    name: String,
    ranges: Vec<(usize, usize, MockEntry)>,
}

impl MockedResponse {
    /// Responses in call order: entry `i` answers invocation `i`.
    pub fn in_order(name: impl Into<String>, entries: Vec<MockEntry>) -> MockedResponse {
        MockedResponse {
            name: name.into(),
            ranges: entries.into_iter().enumerate().map(|(i, e)| (i, i, e)).collect(),
        }
    }

    fn parse(name: &str, v: &Value, loc: &str) -> Result<MockedResponse, MockConfigError> {
        let obj = v.as_object().ok_or_else(|| {
            err(loc, "a mocked response must map invocation numbers to responses")
        })?;
        let mut ranges = Vec::new();
        for (k, entry) in obj {
            let kloc = format!("{loc}/{k}");
            let parse_n = |s: &str| {
                s.trim().parse::<usize>().map_err(|_| {
                    err(&kloc, format!("'{k}' is not an invocation number or a range like \"1-2\""))
                })
            };
            let (lo, hi) = match k.split_once('-') {
                Some((a, b)) => (parse_n(a)?, parse_n(b)?),
                None => {
                    let n = parse_n(k)?;
                    (n, n)
                }
            };
            if hi < lo {
                return Err(err(&kloc, format!("the range '{k}' ends before it starts")));
            }
            if let Some((l, h, _)) = ranges.iter().find(|(l, h, _)| lo <= *h && *l <= hi) {
                return Err(err(&kloc, format!("'{k}' overlaps the range {l}-{h}")));
            }
            ranges.push((lo, hi, MockEntry::parse(entry, &kloc)?));
        }
        ranges.sort_by_key(|r| r.0);
        Ok(MockedResponse { name: name.to_string(), ranges })
    }

    /// The entry for the `n`th invocation (0-based).
    pub fn entry(&self, n: usize) -> Option<&MockEntry> {
        self.ranges.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&n)).map(|r| &r.2)
    }

    fn covered(&self) -> String {
        self.ranges
            .iter()
            .map(|(l, h, _)| if l == h { l.to_string() } else { format!("{l}-{h}") })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Integration for MockedResponse {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        Box::pin(std::future::ready(self.answer(call)))
    }

    fn call_now(&self, call: &TaskCall) -> Option<Result<Answer, HarnessFault>> {
        Some(self.answer(call))
    }

    fn uses_callbacks(&self) -> bool {
        false
    }
}

impl MockedResponse {
    /// The entry for this invocation, or the fault of a mock run dry.
    fn answer(&self, call: &TaskCall) -> Result<Answer, HarnessFault> {
        match self.entry(call.invocation) {
            Some(e) => Ok(e.reply().into()),
            None => Err(HarnessFault::new(
                FaultKind::MockExhausted,
                format!(
                    "mocked response '{}' has no entry for invocation #{} of state '{}' (it covers {})",
                    self.name,
                    call.invocation,
                    call.state_name,
                    self.covered()
                ),
            )),
        }
    }
}

/// state → mocked response name
type TestCaseStates = Vec<(String, String)>;

/// A whole mock-config file.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// state machine → test case → its states
    state_machines: Vec<(String, Vec<(String, TestCaseStates)>)>,
    responses: HashMap<String, Arc<MockedResponse>>,
}

impl MockConfig {
    /// Reads a mock-config file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<MockConfig, MockConfigError> {
        let p = path.as_ref();
        let text = std::fs::read_to_string(p)
            .map_err(|e| err("", format!("cannot read {}: {e}", p.display())))?;
        MockConfig::from_str(&text)
    }

    #[allow(clippy::should_implement_trait)]
    /// Parses mock-config text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<MockConfig, MockConfigError> {
        let v: Value = serde_json::from_str(text).map_err(|e| err("", format!("not JSON: {e}")))?;
        MockConfig::from_value(&v)
    }

    /// Reads a mock config given as JSON.
    pub fn from_value(v: &Value) -> Result<MockConfig, MockConfigError> {
        let mut responses = HashMap::new();
        let mr = v
            .get("MockedResponses")
            .and_then(Value::as_object)
            .ok_or_else(|| err("/MockedResponses", "missing or not an object"))?;
        for (name, r) in mr {
            responses.insert(
                name.clone(),
                Arc::new(MockedResponse::parse(name, r, &format!("/MockedResponses/{name}"))?),
            );
        }
        let sms = v
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| err("/StateMachines", "missing or not an object"))?;
        let mut state_machines = Vec::new();
        for (sm, body) in sms {
            let loc = format!("/StateMachines/{sm}/TestCases");
            let cases = body
                .get("TestCases")
                .and_then(Value::as_object)
                .ok_or_else(|| err(&loc, "missing or not an object"))?;
            let mut tcs = Vec::new();
            for (tc, states) in cases {
                let tloc = format!("{loc}/{tc}");
                let states = states.as_object().ok_or_else(|| {
                    err(&tloc, "a test case maps state names to mocked response names")
                })?;
                let mut map = Vec::new();
                for (state, resp) in states {
                    let resp = resp.as_str().ok_or_else(|| {
                        err(format!("{tloc}/{state}"), "must name a mocked response")
                    })?;
                    if !responses.contains_key(resp) {
                        return Err(err(
                            format!("{tloc}/{state}"),
                            format!("'{resp}' is not in MockedResponses"),
                        ));
                    }
                    map.push((state.clone(), resp.to_string()));
                }
                tcs.push((tc.clone(), map));
            }
            state_machines.push((sm.clone(), tcs));
        }
        Ok(MockConfig { state_machines, responses })
    }

    /// The mocked responses of one test case, by state name. With no state
    /// machine name, the test case must be unique across the file.
    pub fn test_case(
        &self,
        state_machine: Option<&str>,
        test_case: &str,
    ) -> Result<Vec<(String, Arc<MockedResponse>)>, MockConfigError> {
        let candidates: Vec<_> = self
            .state_machines
            .iter()
            .filter(|(sm, _)| state_machine.is_none_or(|want| want == sm))
            .flat_map(|(sm, tcs)| {
                tcs.iter().filter(|(tc, _)| tc == test_case).map(move |tc| (sm, tc))
            })
            .collect();
        match candidates.as_slice() {
            [(_, (_, states))] => Ok(states.iter().map(|(s, r)| (s.clone(), self.responses[r].clone())).collect()),
            [] => {
                let known: Vec<String> = self
                    .state_machines
                    .iter()
                    .flat_map(|(sm, tcs)| tcs.iter().map(move |(tc, _)| format!("{sm}/{tc}")))
                    .collect();
                Err(err("/StateMachines", format!(
                    "no test case '{test_case}'{} (known: {})",
                    state_machine.map(|s| format!(" for state machine '{s}'")).unwrap_or_default(),
                    known.join(", ")
                )))
            }
            many => Err(err("/StateMachines", format!(
                "test case '{test_case}' exists for several state machines ({}); say which with --state-machine",
                many.iter().map(|(sm, _)| sm.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges_and_lookup() {
        let cfg = MockConfig::from_value(&json!({
            "StateMachines": {"SM": {"TestCases": {"T": {"A": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}, "1-2": {"Throw": {"Error": "E", "Cause": "c"}}}}
        }))
        .unwrap();
        let tc = cfg.test_case(None, "T").unwrap();
        let r = &tc[0].1;
        assert_eq!(r.entry(0), Some(&MockEntry::Return(json!(1))));
        assert_eq!(
            r.entry(2),
            Some(&MockEntry::Throw { error: Some("E".into()), cause: Some("c".into()) })
        );
        assert_eq!(r.entry(3), None);
        assert!(cfg.test_case(Some("Other"), "T").is_err());
    }

    #[test]
    fn bad_configs_say_where() {
        let e = MockConfig::from_value(
            &json!({"StateMachines": {}, "MockedResponses": {"R": {"x": {"Return": 1}}}}),
        )
        .unwrap_err();
        assert_eq!(e.location, "/MockedResponses/R/x");
        let e = MockConfig::from_value(&json!({"StateMachines": {"S": {"TestCases": {"T": {"A": "Nope"}}}}, "MockedResponses": {}})).unwrap_err();
        assert_eq!(e.location, "/StateMachines/S/TestCases/T/A");
    }
}
