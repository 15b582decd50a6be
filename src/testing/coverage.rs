//! Coverage of a definition by executions: which states, Choice branches
//! (each rule and the Default), retriers and catchers ran. An API gives it
//! for one execution or several; with `SFN_HARNESS_COVERAGE=DIR` every
//! execution of a test suite appends what it covered to a file of its
//! process in DIR, so test threads, test binaries and CI machines
//! (`cargo nextest run --partition`) merge by reading the directories.

use super::Harness;
use crate::asl::{StateKind, StateMachine};
use crate::eval::{Execution, Hit};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;

/// What can be covered, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A state that was entered.
    State,
    /// A Choice rule, or a Choice's Default, that was taken.
    Branch,
    /// A retrier that retried.
    Retrier,
    /// A catcher that caught.
    Catcher,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::State => "states",
            Kind::Branch => "branches",
            Kind::Retrier => "retriers",
            Kind::Catcher => "catchers",
        }
    }
}

/// One coverable item: `state:Name`, `branch:Name#0`, `branch:Name#Default`,
/// `retrier:Name#0`, `catcher:Name#0`.
fn item(kind: Kind, state: &str, part: Option<String>) -> String {
    let prefix = match kind {
        Kind::State => "state",
        Kind::Branch => "branch",
        Kind::Retrier => "retrier",
        Kind::Catcher => "catcher",
    };
    match part {
        Some(p) => format!("{prefix}:{state}#{p}"),
        None => format!("{prefix}:{state}"),
    }
}

fn kind_of(item: &str) -> Kind {
    match item.split(':').next() {
        Some("branch") => Kind::Branch,
        Some("retrier") => Kind::Retrier,
        Some("catcher") => Kind::Catcher,
        _ => Kind::State,
    }
}

/// Everything in `sm` that can be covered.
pub(crate) fn items(sm: &StateMachine) -> Vec<String> {
    let mut out = Vec::new();
    for s in sm.all_states() {
        out.push(item(Kind::State, &s.name, None));
        if let StateKind::Choice { choices, default } = &s.kind {
            out.extend(
                (0..choices.len()).map(|i| item(Kind::Branch, &s.name, Some(i.to_string()))),
            );
            if default.is_some() {
                out.push(item(Kind::Branch, &s.name, Some("Default".into())));
            }
        }
        out.extend((0..s.retry.len()).map(|i| item(Kind::Retrier, &s.name, Some(i.to_string()))));
        out.extend((0..s.catch.len()).map(|i| item(Kind::Catcher, &s.name, Some(i.to_string()))));
    }
    out
}

/// What one execution covered, with its distributed Maps' child
/// executions (which run the same definition).
pub(crate) fn covered(exec: &Execution) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut runs = vec![exec];
    while let Some(e) = runs.pop() {
        out.extend(e.path().into_iter().map(|s| item(Kind::State, s, None)));
        runs.extend(e.map_runs.iter().flat_map(|r| r.executions.iter()));
    }
    for (state, hit) in &exec.hits {
        out.insert(match hit {
            Hit::Rule(i) => item(Kind::Branch, state, Some(i.to_string())),
            Hit::Default => item(Kind::Branch, state, Some("Default".into())),
            Hit::Retrier(i) => item(Kind::Retrier, state, Some(i.to_string())),
            Hit::Catcher(i) => item(Kind::Catcher, state, Some(i.to_string())),
        });
    }
    out
}

/// A stable name for a definition: what ties coverage files to it.
pub(crate) fn fingerprint(sm: &StateMachine) -> String {
    let h = crate::rng::stable_hash(crate::json::to_json_string(&sm.definition).as_bytes());
    format!("{h:016x}")
}

/// Covered and total, for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// How many ran.
    pub covered: usize,
    /// How many there are.
    pub total: usize,
}

/// Coverage of a definition ([`Harness::coverage`], `sfn-harness coverage`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coverage {
    /// States entered.
    pub states: Counted,
    /// Choice rules and Defaults taken.
    pub branches: Counted,
    /// Retriers that retried.
    pub retriers: Counted,
    /// Catchers that caught.
    pub catchers: Counted,
    /// Every item that ran (`state:Name`, `branch:Name#0`, …).
    pub covered: BTreeSet<String>,
    /// Every item that did not run.
    pub uncovered: Vec<String>,
}

impl Coverage {
    /// The coverage of `sm` by the items in `ran`.
    pub(crate) fn of(sm: &StateMachine, ran: &BTreeSet<String>) -> Coverage {
        let mut c = Coverage::default();
        for it in items(sm) {
            let counted = match kind_of(&it) {
                Kind::State => &mut c.states,
                Kind::Branch => &mut c.branches,
                Kind::Retrier => &mut c.retriers,
                Kind::Catcher => &mut c.catchers,
            };
            counted.total += 1;
            if ran.contains(&it) {
                counted.covered += 1;
                c.covered.insert(it);
            } else {
                c.uncovered.push(it);
            }
        }
        c
    }

    /// The machine-readable form: counts per kind, covered and uncovered items.
    pub fn to_json(&self) -> Value {
        let kind = |c: Counted| json!({"covered": c.covered, "total": c.total});
        json!({
            "states": kind(self.states), "branches": kind(self.branches),
            "retriers": kind(self.retriers), "catchers": kind(self.catchers),
            "covered": self.covered, "uncovered": self.uncovered,
        })
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<10} {:>8} {:>6} {:>7}", "", "covered", "total", "")?;
        for (k, c) in [
            (Kind::State, self.states),
            (Kind::Branch, self.branches),
            (Kind::Retrier, self.retriers),
            (Kind::Catcher, self.catchers),
        ] {
            let pct = if c.total == 0 { 100.0 } else { c.covered as f64 * 100.0 / c.total as f64 };
            writeln!(f, "{:<10} {:>8} {:>6} {:>6.1}%", k.label(), c.covered, c.total, pct)?;
        }
        if !self.uncovered.is_empty() {
            writeln!(f, "not covered:")?;
            for u in &self.uncovered {
                writeln!(f, "  {u}")?;
            }
        }
        Ok(())
    }
}

impl Harness {
    /// The coverage of this harness's definition by `executions`.
    ///
    /// ```
    /// # use sfn_harness::Harness;
    /// # use serde_json::json;
    /// let h = Harness::from_definition(r#"{"StartAt": "C", "States": {
    ///     "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}], "Default": "Other"},
    ///     "One": {"Type": "Succeed"}, "Other": {"Type": "Succeed"}}}"#).unwrap();
    /// let one = h.run_blocking(json!({"n": 1}));
    /// let c = h.coverage([&one]);
    /// assert_eq!((c.states.covered, c.states.total), (2, 3));
    /// assert_eq!((c.branches.covered, c.branches.total), (1, 2));
    /// ```
    ///
    /// The executions' distributed Map children count, and so do the
    /// executions of this definition that they started as a child machine
    /// (`child.coverage([&parent_exec])` gives the child machine's coverage).
    pub fn coverage<'a>(&self, executions: impl IntoIterator<Item = &'a Execution>) -> Coverage {
        let arn = self.config.state_machine_arn();
        let mut ran = BTreeSet::new();
        for exec in executions {
            ran.extend(covered(exec));
            for (by, d) in exec.descendants().into_iter().skip(1) {
                // a child machine's execution (a map-run child's machine is `NAME/LABEL`)
                let same = crate::arn::state_machine_name(&d.state_machine_arn)
                    == crate::arn::state_machine_name(&arn);
                if by.is_some() && d.map_index.is_none() && same {
                    ran.extend(covered(d));
                }
            }
        }
        Coverage::of(&self.sm, &ran)
    }

    /// With `SFN_HARNESS_COVERAGE=DIR`: appends what `exec` covered to this
    /// process's file in DIR (one line per execution, one write each).
    pub(crate) fn record_coverage(&self, exec: &Execution) {
        static DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
        let Some(dir) = DIR
            .get_or_init(|| std::env::var_os("SFN_HARNESS_COVERAGE").map(std::path::PathBuf::from))
        else {
            return;
        };
        let print = fingerprint(&self.sm);
        let line = json!({"definition": print, "items": covered(exec)}).to_string() + "\n";
        let file = dir.join(format!("{print}-{}.jsonl", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(&file))
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!("sfn-harness: cannot record coverage in {}: {e}", file.display());
        }
    }

    /// The coverage of this harness's definition recorded in `dirs` (by
    /// `SFN_HARNESS_COVERAGE`, on one machine or several).
    pub fn recorded_coverage(&self, dirs: &[std::path::PathBuf]) -> std::io::Result<Coverage> {
        let print = fingerprint(&self.sm);
        let mut ran = BTreeSet::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.extension().is_none_or(|x| x != "jsonl") {
                    continue;
                }
                for line in std::fs::read_to_string(&path)?.lines() {
                    let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
                    if v["definition"] == print.as_str() {
                        ran.extend(
                            v["items"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(str::to_string),
                        );
                    }
                }
            }
        }
        Ok(Coverage::of(&self.sm, &ran))
    }
}
