//! A mutant of a definition: a small change (a JSON Patch) with where it is
//! and what it means, and the one door through which a test process loads
//! it instead of the definition (`SFN_HARNESS_MUTANT`).
//!
//! `sfn-harness mutate` writes each mutant to a file and runs the user's
//! test command with `SFN_HARNESS_MUTANT` naming that file. Every loader
//! honours it: a definition read from the mutated file (ASL or template, any
//! substitutions) and any definition text equal to the mutated one (what
//! `Harness::from_definition` or the endpoint's CreateStateMachine get) is
//! patched before it is validated. A process that applied it touches
//! `FILE.loaded`, so the runner can tell a mutant the suite never loaded.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::OnceLock;

/// The environment variable naming the mutant file a test process loads.
pub(crate) const ENV: &str = "SFN_HARNESS_MUTANT";

/// One step of a JSON Patch (RFC 6902): the three a mutant needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOp {
    /// Adds `value` at `path` (an object member, or before an array index).
    Add {
        /// A JSON pointer (RFC 6901).
        path: String,
        /// What goes there.
        value: Value,
    },
    /// Removes what is at `path`.
    Remove {
        /// A JSON pointer (RFC 6901).
        path: String,
    },
    /// Replaces what is at `path` with `value`.
    Replace {
        /// A JSON pointer (RFC 6901).
        path: String,
        /// What goes there.
        value: Value,
    },
}

/// A small, meaningful change to a definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mutant {
    /// Its number among the definition's mutants (from 1).
    pub id: usize,
    /// What kind of change (`comparison_boundary`, `catcher_removed`, …).
    pub operator: String,
    /// The state it touches (`""` for the machine's own fields).
    pub state: String,
    /// The JSON pointer of the field it touches.
    pub pointer: String,
    /// The change in one line (`NumericGreaterThan: 3 → NumericGreaterThanEquals: 3`).
    pub description: String,
    /// The test that would notice it, when it survives.
    pub suggestion: String,
    /// The change itself.
    pub patch: Vec<PatchOp>,
}

/// `definition` with `patch` applied.
pub(crate) fn apply(definition: &Value, patch: &[PatchOp]) -> Result<Value, String> {
    let mut v = definition.clone();
    for op in patch {
        match op {
            PatchOp::Add { path, value } => {
                let (parent, key) = split(path)?;
                match parent_of(&mut v, parent, path)? {
                    Value::Object(m) => {
                        m.insert(key, value.clone());
                    }
                    Value::Array(a) => {
                        let i = index(&key, a.len() + 1, path)?;
                        a.insert(i, value.clone());
                    }
                    _ => return Err(format!("{path}: the parent is neither object nor array")),
                }
            }
            PatchOp::Remove { path } => {
                let (parent, key) = split(path)?;
                match parent_of(&mut v, parent, path)? {
                    Value::Object(m) => {
                        m.shift_remove(&key).ok_or_else(|| format!("{path}: nothing to remove"))?;
                    }
                    Value::Array(a) => {
                        let i = index(&key, a.len(), path)?;
                        a.remove(i);
                    }
                    _ => return Err(format!("{path}: the parent is neither object nor array")),
                }
            }
            PatchOp::Replace { path, value } => {
                let at = v.pointer_mut(path).ok_or_else(|| format!("{path}: nothing there"))?;
                *at = value.clone();
            }
        }
    }
    Ok(v)
}

fn split(path: &str) -> Result<(&str, String), String> {
    let (parent, last) =
        path.rsplit_once('/').ok_or_else(|| format!("{path:?} is not a JSON pointer"))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn parent_of<'a>(v: &'a mut Value, parent: &str, path: &str) -> Result<&'a mut Value, String> {
    v.pointer_mut(parent).ok_or_else(|| format!("{path}: no parent {parent:?}"))
}

fn index(key: &str, bound: usize, path: &str) -> Result<usize, String> {
    key.parse::<usize>()
        .ok()
        .filter(|i| *i < bound)
        .ok_or_else(|| format!("{path}: {key:?} is not an index of the array"))
}

/// A JSON pointer segment for `key` (RFC 6901 escapes).
pub(crate) fn escape(key: &str) -> String {
    super::diagnostic::token(key)
}

/// Where a mutant came from: the file the runner loaded (canonical path),
/// the template's state machine, and the definition as the runner read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Origin {
    /// The definition file, canonical.
    pub file: String,
    /// The template's state machine (its logical id); `None` for ASL.
    pub machine: Option<String>,
    /// The definition the patch applies to.
    pub definition: Value,
}

/// What `SFN_HARNESS_MUTANT` names: a mutant and where it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MutantFile {
    /// Where it applies.
    pub origin: Origin,
    /// The mutant (an empty patch: the definition as it is, for a baseline run).
    pub mutant: Mutant,
}

/// The mutant this process loads, read once from `SFN_HARNESS_MUTANT`.
struct Active {
    path: String,
    file: MutantFile,
}

fn active() -> Result<Option<&'static Active>, String> {
    static ACTIVE: OnceLock<Result<Option<Active>, String>> = OnceLock::new();
    let read = || -> Result<Option<Active>, String> {
        let Some(path) = std::env::var_os(ENV) else { return Ok(None) };
        let path = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{ENV}={path}: {e}"))?;
        let file = serde_json::from_str(&text)
            .map_err(|e| format!("{ENV}={path}: not a mutant file: {e}"))?;
        Ok(Some(Active { path, file }))
    };
    ACTIVE.get_or_init(read).as_ref().map(Option::as_ref).map_err(Clone::clone)
}

/// The definition loaded from `file` (the template's `machine`), mutated
/// when `SFN_HARNESS_MUTANT` names a mutant of that file and machine.
pub(crate) fn for_file(file: &str, machine: Option<&str>, v: Value) -> Result<Value, String> {
    let Some(a) = active()? else { return Ok(v) };
    let canonical = std::fs::canonicalize(file).ok().map(|p| p.to_string_lossy().into_owned());
    if canonical.as_deref() != Some(a.file.origin.file.as_str())
        || a.file.origin.machine.as_deref() != machine
    {
        return Ok(v);
    }
    applied(a, &v)
}

/// A definition given as JSON, mutated when `SFN_HARNESS_MUTANT` names a
/// mutant of exactly this definition.
pub(crate) fn for_definition(v: Value) -> Result<Value, String> {
    match active()? {
        Some(a) if a.file.origin.definition == v => applied(a, &v),
        _ => Ok(v),
    }
}

/// Whether a mutant is loaded in this process at all (so a loader need not
/// parse what it would otherwise pass on as text).
pub(crate) fn any_active() -> bool {
    !matches!(active(), Ok(None))
}

fn applied(a: &Active, v: &Value) -> Result<Value, String> {
    let out = apply(v, &a.file.mutant.patch)
        .map_err(|e| format!("{ENV}={}: mutant {}: {e}", a.path, a.file.mutant.id))?;
    // the runner's sign that the suite loaded it; best effort
    let _ = std::fs::write(format!("{}.loaded", a.path), b"");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_add_remove_and_replace_members_and_items() {
        let v = json!({"a": {"b/c": 1, "d": [1, 2, 3]}});
        let p = vec![
            PatchOp::Remove { path: "/a/b~1c".into() },
            PatchOp::Add { path: "/a/e".into(), value: json!(true) },
            PatchOp::Remove { path: "/a/d/0".into() },
            PatchOp::Add { path: "/a/d/2".into(), value: json!(9) },
            PatchOp::Replace { path: "/a/d/0".into(), value: json!(0) },
        ];
        assert_eq!(apply(&v, &p).unwrap(), json!({"a": {"d": [0, 3, 9], "e": true}}));
        // `add` on a member that exists replaces it, as RFC 6902 says
        let p = [PatchOp::Add { path: "/a/b~1c".into(), value: json!(2) }];
        assert_eq!(apply(&v, &p).unwrap()["a"]["b/c"], 2);
    }

    #[test]
    fn a_patch_that_does_not_fit_says_where() {
        let v = json!({"a": [1]});
        let e = apply(&v, &[PatchOp::Remove { path: "/a/4".into() }]).unwrap_err();
        assert!(e.contains("/a/4"), "{e}");
        let e = apply(&v, &[PatchOp::Replace { path: "/b/c".into(), value: json!(1) }]);
        assert!(e.unwrap_err().contains("/b/c"));
        assert!(apply(&v, &[PatchOp::Remove { path: "nope".into() }]).is_err());
    }

    #[test]
    fn the_file_format_is_json_patch() {
        let op: PatchOp =
            serde_json::from_value(json!({"op": "add", "path": "/x", "value": 1})).unwrap();
        assert_eq!(op, PatchOp::Add { path: "/x".into(), value: json!(1) });
        assert_eq!(
            serde_json::to_value(PatchOp::Remove { path: "/y".into() }).unwrap(),
            json!({"op": "remove", "path": "/y"})
        );
    }
}
