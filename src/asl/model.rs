//! The lowered model of a state machine: names resolved to indices, paths,
//! payload templates and intrinsic calls parsed once.

use super::intrinsic::Call;
use super::path::{Path, ReferencePath};
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
    pub comment: Option<String>,
    pub query_language: QueryLanguage,
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

/// A payload template (Parameters, ResultSelector): `.$` keys evaluated.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    /// An object with some dynamic fields: `skeleton` holds the static
    /// fields and a placeholder for each dynamic one, in order, so an
    /// evaluation clones it and fills the `dynamic` slots.
    Object { skeleton: serde_json::Map<String, Value>, dynamic: Vec<(String, Template)> },
    Array(Vec<Template>),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: Arc<str>,
    /// Position in [`StateMachine::states`].
    pub index: usize,
    pub kind: StateKind,
    pub query_language: QueryLanguage,
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

/// A Map state: its item processor and how items are found and shaped.
#[derive(Debug, Clone)]
pub struct MapSpec {
    pub processor: StateMachine,
    /// `ItemsPath` (default `$`).
    pub items_path: Option<Path>,
    /// `ItemSelector` (or the legacy `Parameters`), evaluated per item with `$$.Map.Item`.
    pub item_selector: Option<Template>,
    /// `ItemProcessor.ProcessorConfig.Mode` DISTRIBUTED: child workflows, recorded as a map run.
    pub distributed: bool,
    pub label: Option<String>,
    /// How many (or what share of) items may fail before the Map fails.
    pub tolerated_count: Option<Tolerance>,
    pub tolerated_percentage: Option<Tolerance>,
    /// `MaxConcurrencyPath` (validated; items run one after another).
    pub max_concurrency_path: Option<Path>,
}

/// A number given literally or by a path (ToleratedFailure*).
#[derive(Debug, Clone)]
pub enum Tolerance {
    Literal(f64),
    Path(Path),
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

/// A string given literally or by a path (Fail's Error/ErrorPath).
#[derive(Debug, Clone)]
pub enum Text {
    Literal(String),
    Path(Path),
    Call(Call),
}

/// A number of seconds given literally or by a path.
#[derive(Debug, Clone)]
pub enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: String,
    /// The resource ARN classified once.
    pub kind: super::resource::Resource,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
    pub credentials: Option<Value>,
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    /// Epoch milliseconds.
    Timestamp(i64),
    TimestampPath(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: ResultPath,
    pub next: usize,
    /// Variables assigned from the error output.
    pub assign: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub rule: Rule,
    pub next: usize,
    /// Variables assigned when this rule matches.
    pub assign: Option<Template>,
}

/// A choice rule.
#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare { variable: Path, op: Op, operand: Operand },
    /// A JSONata `Condition` (parsed, not evaluated yet).
    Condition(String),
}

#[derive(Debug, Clone)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

/// The comparison operators, without their `Path` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl Op {
    pub const ALL: &'static [(&'static str, Op)] = &[
        ("StringEquals", Op::StringEquals),
        ("StringLessThan", Op::StringLessThan),
        ("StringGreaterThan", Op::StringGreaterThan),
        ("StringLessThanEquals", Op::StringLessThanEquals),
        ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
        ("StringMatches", Op::StringMatches),
        ("NumericEquals", Op::NumericEquals),
        ("NumericLessThan", Op::NumericLessThan),
        ("NumericGreaterThan", Op::NumericGreaterThan),
        ("NumericLessThanEquals", Op::NumericLessThanEquals),
        ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
        ("BooleanEquals", Op::BooleanEquals),
        ("TimestampEquals", Op::TimestampEquals),
        ("TimestampLessThan", Op::TimestampLessThan),
        ("TimestampGreaterThan", Op::TimestampGreaterThan),
        ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
        ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
        ("IsNull", Op::IsNull),
        ("IsPresent", Op::IsPresent),
        ("IsNumeric", Op::IsNumeric),
        ("IsString", Op::IsString),
        ("IsBoolean", Op::IsBoolean),
        ("IsTimestamp", Op::IsTimestamp),
    ];

    /// Parses an operator key: `NumericEquals` or `NumericEqualsPath`
    /// (the bool says whether the operand is a path).
    pub fn parse(key: &str) -> Option<(Op, bool)> {
        let (base, is_path) = match key.strip_suffix("Path") {
            Some(b) if !b.starts_with("Is") && b != "StringMatches" => (b, true),
            _ => (key, false),
        };
        Op::ALL.iter().find(|(n, _)| *n == base).map(|(_, op)| (*op, is_path))
    }

    pub fn is_type_test(self) -> bool {
        matches!(self, Op::IsNull | Op::IsPresent | Op::IsNumeric | Op::IsString | Op::IsBoolean | Op::IsTimestamp)
    }
}
