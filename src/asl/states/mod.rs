//! The state types, each in its own file that owns its fields, model types
//! and lowering; a type is found by its name in [`STATE_TYPES`].

mod choice;
mod fail;
mod map;
mod parallel;
mod pass;
mod succeed;
mod task;
mod wait;

pub(crate) use choice::{ChoiceBranch, Op, Operand, Rule};
pub(crate) use fail::Text;
pub(crate) use map::{Amount, ItemBatcher, ItemReader, MapSpec, ResultWriter};
pub(crate) use task::{Seconds, Task};
pub(crate) use wait::WaitFor;

use super::lower::Cx;
use super::model::{QueryLanguage, StateKind};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What a state type's lowering reads: the state's JSON object, where it
/// is, its query language and the names of its machine's states.
pub(crate) struct Fields<'a> {
    pub obj: &'a Map<String, Value>,
    pub loc: &'a str,
    pub ql: QueryLanguage,
    pub index: &'a HashMap<String, usize>,
}

/// One state type: its name, the fields it takes beyond Type, Comment and
/// QueryLanguage, and its lowering (which reports problems to `Cx`).
pub(crate) struct StateType {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub lower: fn(&mut Cx, &Fields) -> Option<StateKind>,
}

/// Every state type of the Amazon States Language.
pub(crate) const STATE_TYPES: &[StateType] = &[
    pass::TYPE,
    task::TYPE,
    choice::TYPE,
    wait::TYPE,
    succeed::TYPE,
    fail::TYPE,
    map::TYPE,
    parallel::TYPE,
];

/// The state type named `name`.
pub(crate) fn find(name: &str) -> Option<&'static StateType> {
    STATE_TYPES.iter().find(|t| t.name == name)
}

/// The names of the state types, in the order the ASL specification lists them.
pub(crate) fn names() -> Vec<&'static str> {
    STATE_TYPES.iter().map(|t| t.name).collect()
}

/// Whether `field` is a field of some state type.
pub(crate) fn is_field(field: &str) -> bool {
    STATE_TYPES.iter().any(|t| t.fields.contains(&field))
}
