//! The lowered model of a state machine: names resolved to indices, paths,
//! payload templates and intrinsic calls parsed once. The types of one state
//! type live with its lowering in `states/`.

use super::path::{Path, ReferencePath};
use super::recover::{Catcher, Retrier};
use super::states::{ChoiceBranch, MapSpec, Task, Text, WaitFor};
use super::template::Template;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

/// A state machine ready to run.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub timeout_seconds: Option<u64>,
    pub start_at: usize,
    pub states: Vec<State>,
    pub(crate) index: HashMap<String, usize>,
    /// The definition as JSON, as given.
    pub definition: Value,
}

impl StateMachine {
    /// The index of a state by name.
    pub fn state_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// `InputPath` / `OutputPath`: absent (`$`), `null` (`{}`), or a path.
#[derive(Debug, Clone)]
pub enum IoPath {
    Whole,
    Null,
    Path(Path),
}

/// `ResultPath`: absent (`$`, the result replaces the input), `null`
/// (discard the result), or a reference path.
#[derive(Debug, Clone)]
pub enum ResultPath {
    Replace,
    Discard,
    Path(ReferencePath),
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: Arc<str>,
    /// Position in [`StateMachine::states`].
    pub index: usize,
    pub kind: StateKind,
    pub input_path: IoPath,
    pub output_path: IoPath,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    /// `Next` as an index; `None` with `End: true` or for terminal types.
    pub next: Option<usize>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// JSONata / variable fields that parse but are not evaluated yet.
    pub unsupported: Vec<&'static str>,
    /// `Assign` (JSONPath mode): variables set from the state's result.
    pub assign: Option<Template>,
}

impl State {
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

#[derive(Debug, Clone)]
pub enum StateKind {
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
    pub fn type_name(&self) -> &'static str {
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
