//! The lowered model of a state machine: names resolved to indices, paths,
//! payload templates and intrinsic calls parsed once. The types of one state
//! type live with its lowering in `states/`.

use super::jsonata::Query;
use super::path::{Path, ReferencePath};
use super::recover::{Catcher, Retrier};
use super::states::{ChoiceBranch, MapSpec, Task, Text, WaitFor};
use super::template::Template;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryLanguage {
    JsonPath,
    Jsonata,
}

/// A state machine ready to run.
#[derive(Debug, Clone)]
pub(crate) struct StateMachine {
    pub timeout_seconds: Option<u64>,
    pub start_at: usize,
    pub states: Vec<State>,
    pub(crate) index: HashMap<String, usize>,
    /// How many states the whole machine has, nested ones included (the
    /// states' `id`s are `0..state_count`; 0 in nested machines).
    pub state_count: usize,
    /// Every state's name, by id (empty in nested machines).
    pub names: Vec<Arc<str>>,
    /// The definition as JSON, as given.
    pub definition: Value,
}

impl StateMachine {
    /// The index of a state by name.
    pub(crate) fn state_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// About how many events one pass through records: two for each state
    /// on the way from `StartAt` along `Next` (until a state that ends or a
    /// Choice, and no more states than the machine has, so a loop counts
    /// once) and three more for each Task's attempt
    /// (scheduled, started, succeeded). What an inline Map makes room for
    /// per item before it starts, so its history does not grow by copying.
    pub(crate) fn events_per_pass(&self) -> usize {
        let (mut n, mut at, mut seen) = (0, Some(self.start_at), 0);
        while let Some(i) = at.filter(|_| seen < self.states.len()) {
            let Some(state) = self.states.get(i) else { break };
            n += if matches!(state.kind, StateKind::Task(_)) { 5 } else { 2 };
            at = state.next;
            seen += 1;
        }
        n
    }

    /// The state named `name` at any depth (a Map's processor, a Parallel's
    /// branch), with the machine it belongs to.
    pub(crate) fn find(&self, name: &str) -> Option<(&StateMachine, &State)> {
        if let Some(i) = self.state_index(name) {
            return Some((self, &self.states[i]));
        }
        self.states.iter().flat_map(|s| s.kind.nested()).find_map(|m| m.find(name))
    }

    /// Every state at any depth, depth first (in `id` order).
    pub(crate) fn all_states(&self) -> Vec<&State> {
        let mut out = Vec::new();
        for s in &self.states {
            out.push(s);
            for m in s.kind.nested() {
                out.extend(m.all_states());
            }
        }
        out
    }
}

/// `InputPath` / `OutputPath`: absent (`$`), `null` (`{}`), or a path.
#[derive(Debug, Clone)]
pub(crate) enum IoPath {
    Whole,
    Null,
    Path(Path),
}

/// A value built per evaluation in the state's query language: a JSONPath
/// payload template (`.$` keys) or a JSONata query (`{% … %}` values).
/// Assign and ItemSelector take either.
#[derive(Debug, Clone)]
pub(crate) enum Dynamic {
    JsonPath(Template),
    Jsonata(Query),
}

/// `ResultPath`: absent (`$`, the result replaces the input), `null`
/// (discard the result), or a reference path.
#[derive(Debug, Clone)]
pub(crate) enum ResultPath {
    Replace,
    Discard,
    Path(ReferencePath),
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: Arc<str>,
    /// Position in [`StateMachine::states`].
    pub index: usize,
    /// Place machine-wide, nested states included (see [`StateMachine::state_count`]).
    pub id: usize,
    pub kind: StateKind,
    /// The state's query language (its own, or the machine's).
    pub ql: QueryLanguage,
    pub input_path: IoPath,
    pub output_path: IoPath,
    /// Shared with the parameters a Task's evaluation gives.
    pub parameters: Option<std::sync::Arc<Template>>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    /// `Next` as an index; `None` with `End: true` or for terminal types.
    pub next: Option<usize>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// `Assign`: variables set from the state's result.
    pub assign: Option<Dynamic>,
    /// `Arguments` (JSONata): a Task's parameters, a Parallel's branch input.
    pub arguments: Option<Query>,
    /// A Task's `Arguments` laid out as a template: what its evaluation
    /// fills, sharing the static part (see [`crate::asl::Template::of_query`]).
    pub arguments_template: Option<std::sync::Arc<Template>>,
    /// A Task's container environment as its parameters' template fixes
    /// it (see `asl::env_layout`), shared with the parameters it gives.
    pub env_layout: Option<std::sync::Arc<super::EnvLayout>>,
    /// `Output` (JSONata): the state's output.
    pub output: Option<Query>,
}

impl StateKind {
    /// The machines nested in this state: a Parallel's branches, a Map's processor.
    pub(crate) fn nested(&self) -> &[StateMachine] {
        match self {
            StateKind::Parallel { branches } => branches,
            StateKind::Map(m) => std::slice::from_ref(&m.processor),
            _ => &[],
        }
    }

    pub(crate) fn nested_mut(&mut self) -> &mut [StateMachine] {
        match self {
            StateKind::Parallel { branches } => branches,
            StateKind::Map(m) => std::slice::from_mut(&mut m.processor),
            _ => &mut [],
        }
    }
}

impl State {
    pub(crate) fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass { result: Option<Value> },
    Task(Task),
    Choice { choices: Vec<ChoiceBranch>, default: Option<usize> },
    Wait(WaitFor),
    Succeed,
    Fail { error: Option<Text>, cause: Option<Text> },
    Map(Box<MapSpec>),
    Parallel { branches: Vec<StateMachine> },
}

impl StateKind {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Map(_) => "Map",
            StateKind::Parallel { .. } => "Parallel",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pass_counts_each_state_on_its_way_once() {
        let sm = |d: &str| crate::asl::parse_str(d).unwrap();
        // Wait then Task: 2 + 5
        let m =
            sm(r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}"#);
        assert_eq!(m.events_per_pass(), 7);
        // a Choice ends what a pass is sure to do (a loop back counts once)
        let m = sm(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Default": "A",
                "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "D"}]},
            "D": {"Type": "Succeed"}}}"#);
        assert_eq!(m.events_per_pass(), 4);
    }
}
