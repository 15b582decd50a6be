//! Seeded exploration of interleavings: one scenario run under many orders
//! of what happens at the same virtual instant in concurrent branches and
//! iterations, each order reproducible from its seed.

use super::Harness;
use crate::eval::Execution;
use serde_json::Value;
use std::fmt;

/// An interleaving under which a check failed: its seed (give it to
/// [`Harness::interleaving`] to run that order again), what the check said,
/// and the execution.
#[derive(Debug)]
pub struct Counterexample {
    /// The interleaving seed.
    pub interleaving: u64,
    /// What the check said (its panic message).
    pub message: String,
    /// The execution that failed the check.
    pub execution: Execution,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "interleaving {} fails the check: {}", self.interleaving, self.message)?;
        writeln!(f, "replay it with Harness::interleaving({})", self.interleaving)?;
        write!(f, "{}", self.execution.trace())
    }
}

impl std::error::Error for Counterexample {}

impl Harness {
    /// Orders what happens at the same virtual instant in concurrent
    /// Parallel branches and Map iterations. 0 (the default) is the natural
    /// order: branches start in order, each runs until it waits, and events
    /// due together happen in the order they were set. Any other seed
    /// switches branches at every state they enter and orders simultaneous
    /// events at random; the same seed gives the same order, byte for byte.
    pub fn interleaving(mut self, seed: u64) -> Harness {
        self.config.interleaving = seed;
        self
    }

    /// Runs `input` under the natural order and `count` seeded
    /// interleavings (seeds 1..=count), calling `check` on each execution
    /// (a check fails by panicking, as `assert!` does); returns the first
    /// interleaving that fails it, with its trace.
    ///
    /// ```
    /// # use sfn_harness::{Harness, TaskReply};
    /// # use serde_json::json;
    /// let h = Harness::from_definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
    ///     "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
    ///                  {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}}"#).unwrap();
    /// h.explore(json!({}), 20, |exec| assert!(exec.succeeded())).unwrap();
    /// ```
    pub fn explore(
        &self,
        input: Value,
        count: u64,
        check: impl Fn(&Execution),
    ) -> Result<(), Box<Counterexample>> {
        for seed in 0..=count {
            let exec = self.clone().interleaving(seed).run_blocking(input.clone());
            if let Err(message) = super::panics::quietly(|| check(&exec)) {
                return Err(Box::new(Counterexample {
                    interleaving: seed,
                    message,
                    execution: exec,
                }));
            }
        }
        Ok(())
    }
}
