//! Mutation testing of a definition: does the suite notice when the machine
//! changes? [`Harness::mutants`] makes every small, meaningful change
//! (`operators.rs`), each a harness with the same handlers, mocks and
//! settings; [`Mutants::run`] runs a suite against each and says which
//! changes it let through, with the test that would notice. `sfn-harness
//! mutate` does the same with any test command, one process per mutant.

mod operators;

use super::Harness;
use crate::asl::{self, StateMachine};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;
use std::sync::Arc;

pub use crate::asl::mutant::{Mutant, PatchOp};
pub(crate) use operators::mutants_of;

/// What became of a mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The suite failed: it noticed the change.
    Killed,
    /// The suite ran past its time limit (counted as killed).
    TimedOut,
    /// The suite passed: the change went unnoticed.
    Survived,
    /// The suite passed without loading the mutant at all (counted as survived).
    NotLoaded,
    /// The change makes the definition invalid: skipped, not counted.
    Invalid,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Killed => "killed",
            Outcome::TimedOut => "timed out",
            Outcome::Survived => "SURVIVED",
            Outcome::NotLoaded => "NOT LOADED",
            Outcome::Invalid => "invalid",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One mutant and what the suite made of it.
#[derive(Debug, Clone, Serialize)]
pub struct MutantRun {
    /// The change.
    #[serde(flatten)]
    pub mutant: Mutant,
    /// What the suite made of it.
    pub outcome: Outcome,
    /// Why it was invalid, or what the suite said when it failed.
    pub message: Option<String>,
    /// How long the suite ran (real seconds; `None` in process).
    pub seconds: Option<f64>,
    /// The touched state before and after, as a unified diff.
    pub diff: String,
}

/// What a mutation run found: every mutant with its outcome, and the score.
#[derive(Debug, Clone)]
pub struct MutationReport {
    /// What was mutated (a file, or "the definition").
    pub definition: String,
    /// Every mutant, in order.
    pub runs: Vec<MutantRun>,
}

impl MutationReport {
    /// How many mutants came to `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.runs.iter().filter(|r| r.outcome == outcome).count()
    }

    /// The mutants the suite let through (survived, or never loaded).
    pub fn survivors(&self) -> Vec<&MutantRun> {
        self.runs
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Survived | Outcome::NotLoaded))
            .collect()
    }

    /// Killed (or timed-out) mutants in percent of the valid ones; 100 when
    /// there is none.
    pub fn score(&self) -> f64 {
        let killed = self.count(Outcome::Killed) + self.count(Outcome::TimedOut);
        let valid = killed + self.survivors().len();
        if valid == 0 {
            100.0
        } else {
            100.0 * killed as f64 / valid as f64
        }
    }

    /// Panics with the report when the score is below `min` percent.
    #[track_caller]
    pub fn assert_score(&self, min: f64) -> &Self {
        assert!(self.score() >= min, "mutation score below {min} %:\n{self}");
        self
    }

    /// Panics with the report when any mutant survived.
    #[track_caller]
    pub fn assert_all_killed(&self) -> &Self {
        assert!(self.survivors().is_empty(), "mutants survived:\n{self}");
        self
    }

    /// The counts line: `9 mutants: 7 killed, 1 survived, …; score 87.5 %`.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} killed", self.count(Outcome::Killed))];
        for (o, word) in [
            (Outcome::TimedOut, "timed out"),
            (Outcome::Survived, "survived"),
            (Outcome::NotLoaded, "not loaded"),
        ] {
            if o == Outcome::Survived || self.count(o) > 0 {
                parts.push(format!("{} {word}", self.count(o)));
            }
        }
        parts.push(format!("{} invalid (skipped)", self.count(Outcome::Invalid)));
        format!("{} mutants: {}; score {:.1} %", self.runs.len(), parts.join(", "), self.score())
    }

    /// The report as JSON (what `sfn-harness mutate --json` writes).
    pub fn to_json(&self) -> Value {
        json!({
            "definition": self.definition,
            "score": (self.score() * 10.0).round() / 10.0,
            "counts": {
                "mutants": self.runs.len(),
                "killed": self.count(Outcome::Killed),
                "timed_out": self.count(Outcome::TimedOut),
                "survived": self.count(Outcome::Survived),
                "not_loaded": self.count(Outcome::NotLoaded),
                "invalid": self.count(Outcome::Invalid),
            },
            "mutants": self.runs,
        })
    }
}

/// One line per mutant: its number, outcome, state, pointer and change.
pub fn line(r: &MutantRun) -> String {
    let state = if r.mutant.state.is_empty() { "(machine)" } else { r.mutant.state.as_str() };
    let time = r.seconds.map(|s| format!("  {s:.1} s")).unwrap_or_default();
    format!(
        "#{:<3} {:<10} {state}  {}  {}{time}",
        r.mutant.id,
        r.outcome.word(),
        r.mutant.pointer,
        r.mutant.description
    )
}

impl fmt::Display for MutationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "mutants of {}:", self.definition)?;
        for r in &self.runs {
            writeln!(f, "  {}", line(r))?;
        }
        for r in self.survivors() {
            writeln!(f)?;
            writeln!(f, "{}", line(r))?;
            if r.outcome == Outcome::NotLoaded {
                writeln!(f, "  the suite passed without loading the definition")?;
            }
            for l in r.diff.lines() {
                writeln!(f, "  {l}")?;
            }
            writeln!(f, "  would be killed by: {}", r.mutant.suggestion)?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.summary())
    }
}

/// The state a pointer lies in: the pointer up to its last `/States/NAME`.
fn state_pointer(pointer: &str) -> String {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut end = 0;
    for i in 1..segs.len() {
        if segs[i - 1] == "States" && (i < 2 || segs[i - 2] != "States") {
            end = i + 1;
        }
    }
    segs[..end].iter().map(|s| format!("/{s}")).collect()
}

/// The touched state (or the whole machine) before and after, as a unified diff.
pub(crate) fn diff(definition: &Value, mutated: &Value, pointer: &str) -> String {
    let at = state_pointer(pointer);
    let show = |v: &Value| {
        let part = v.pointer(&at).cloned().unwrap_or(Value::Null);
        serde_json::to_string_pretty(&part).unwrap_or_default() + "\n"
    };
    let (a, b) = (show(definition), show(mutated));
    let label = if at.is_empty() { "the definition".to_string() } else { at };
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{label} (before)"), &format!("{label} (mutant)"))
        .to_string()
}

/// A mutant checked: its definition, or why it is invalid.
pub(crate) fn checked(definition: &Value, m: &Mutant) -> (Result<StateMachine, String>, String) {
    let mutated = match asl::mutant::apply(definition, &m.patch) {
        Ok(v) => v,
        Err(e) => return (Err(e), String::new()),
    };
    let diff = diff(definition, &mutated, &m.pointer);
    let sm = asl::parse_value(&mutated).map_err(|e| {
        e.diagnostics
            .iter()
            .find(|d| d.severity == asl::Severity::Error)
            .map(|d| format!("{} at {}: {}", d.code, d.location, d.message))
            .unwrap_or_else(|| "invalid".into())
    });
    (sm, diff)
}

/// Every mutant of a harness's definition, ready to run.
pub struct Mutants {
    harness: Harness,
    list: Vec<(Mutant, Result<Arc<StateMachine>, String>, String)>,
}

impl fmt::Debug for Mutants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list.iter().map(|(m, _, _)| &m.description)).finish()
    }
}

impl Mutants {
    /// How many mutants there are (invalid ones included).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the definition has no mutant at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The mutants, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Mutant> {
        self.list.iter().map(|(m, _, _)| m)
    }

    /// The harness of mutant `id` (same handlers, mocks and settings, the
    /// mutated definition); `None` for an unknown or invalid mutant.
    pub fn harness(&self, id: usize) -> Option<Harness> {
        let (_, sm, _) = self.list.iter().find(|(m, _, _)| m.id == id)?;
        Some(self.with(sm.as_ref().ok()?))
    }

    fn with(&self, sm: &Arc<StateMachine>) -> Harness {
        let mut h = self.harness.clone();
        h.sm = sm.clone();
        // `substitute` on it must not reload the unmutated file
        h.origin = None;
        h
    }

    /// Runs `suite` against every valid mutant: a suite fails (kills the
    /// mutant) by panicking, as `assert!` and the harness's assertions do;
    /// its panic messages are not printed.
    pub fn run(&self, suite: impl Fn(&Harness)) -> MutationReport {
        let runs = self
            .list
            .iter()
            .map(|(m, sm, diff)| {
                let (outcome, message) = match sm {
                    Err(e) => (Outcome::Invalid, Some(e.clone())),
                    Ok(sm) => {
                        let h = self.with(sm);
                        match super::panics::quietly(|| suite(&h)) {
                            Ok(()) => (Outcome::Survived, None),
                            Err(msg) => (Outcome::Killed, Some(msg)),
                        }
                    }
                };
                MutantRun { mutant: m.clone(), outcome, message, seconds: None, diff: diff.clone() }
            })
            .collect();
        let definition = self.harness.origin.clone().unwrap_or_else(|| "the definition".into());
        MutationReport { definition, runs }
    }
}

impl Harness {
    /// Every small, meaningful change to this harness's definition (a
    /// Choice comparison flipped or its threshold moved by one, a rule's
    /// Next swapped with the Default, a retrier's MaxAttempts or
    /// BackoffRate changed, a catcher or retrier removed, a ResultPath,
    /// OutputPath, InputPath, ResultSelector or Output dropped, a timeout or
    /// heartbeat halved, a Wait shortened, a Map's MaxConcurrency or
    /// tolerance changed, a JSONata condition negated), each ready to run
    /// with this harness's handlers and settings.
    ///
    /// ```
    /// # use sfn_harness::Harness;
    /// # use sfn_harness::workers::seed_worker;
    /// # use serde_json::json;
    /// let h = Harness::from_file("fixtures/seed/state-machine.asl.json").unwrap()
    ///     .on_task("FargateTask", seed_worker);
    /// let report = h.mutants().run(|h| {
    ///     let exec = h.run_blocking(json!({"input": {"number": 0}}));
    ///     exec.assert_succeeded();
    ///     assert_eq!(exec.output()["input"]["number"], 4);
    /// });
    /// // nothing checks the virtual time: a shorter Wait goes unnoticed
    /// assert_eq!(report.survivors()[0].mutant.description, "Seconds 10 → 5");
    /// ```
    pub fn mutants(&self) -> Mutants {
        let def = &self.sm.definition;
        let list = mutants_of(def)
            .into_iter()
            .map(|m| {
                let (sm, diff) = checked(def, &m);
                (m, sm.map(Arc::new), diff)
            })
            .collect();
        Mutants { harness: self.clone(), list }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_lies_in_its_innermost_state() {
        assert_eq!(state_pointer("/States/A/Retry/0/MaxAttempts"), "/States/A");
        assert_eq!(
            state_pointer("/States/M/ItemProcessor/States/B/Catch/1"),
            "/States/M/ItemProcessor/States/B"
        );
        assert_eq!(
            state_pointer("/States/P/Branches/0/States/C/Next"),
            "/States/P/Branches/0/States/C"
        );
        assert_eq!(state_pointer("/TimeoutSeconds"), "");
    }
}
