//! Redriving an execution in a test: the recovery path a team runs with
//! RedriveExecution, offline (`Harness::redrive`, `Execution::redrive`).

use super::Harness;
use crate::eval::{self, Execution, NotRedrivable};
use std::sync::Arc;

impl Harness {
    /// Goes on with `exec` (FAILED, TIMED_OUT or ABORTED) from the
    /// top-level state that did not succeed, with the input it was given,
    /// as RedriveExecution does: the history continues (ExecutionRedriven,
    /// then that state entered again), what succeeded is not run again,
    /// invocation counts go on, and the machine's TimeoutSeconds counts
    /// from the redrive. The tasks are answered by this harness: redrive
    /// with the one whose worker was fixed.
    ///
    /// ```
    /// # use sfn_harness::{Harness, TaskReply};
    /// # use serde_json::json;
    /// let def = r#"{"StartAt": "Prepare", "States": {
    ///     "Prepare": {"Type": "Pass", "Result": {"n": 1}, "Next": "Load"},
    ///     "Load": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}"#;
    /// let broken = Harness::from_definition(def).unwrap()
    ///     .on_task("Load", |_| TaskReply::fail("DbDown", Some("the database is down")));
    /// let failed = broken.run_blocking(json!({}));
    /// failed.assert_failed_with("DbDown");
    ///
    /// let fixed = broken.on_task("Load", |call| TaskReply::ok(call.parameters.as_ref().clone()));
    /// let redriven = failed.redrive(&fixed).unwrap();
    /// redriven.assert_succeeded();
    /// assert_eq!(redriven.redrive_count(), 1);
    /// assert_eq!(redriven.invocations("Load"), 2);
    /// let types = redriven.event_types();
    /// assert_eq!(types.iter().filter(|t| *t == "PassStateEntered").count(), 1, "what succeeded is not run again");
    /// let at = types.iter().position(|t| t == "ExecutionRedriven").unwrap();
    /// assert_eq!(&types[at - 1..at + 2], ["ExecutionFailed", "ExecutionRedriven", "TaskStateEntered"]);
    /// ```
    pub async fn redrive(&self, exec: &Execution) -> Result<Execution, NotRedrivable> {
        Ok(self.resumed(exec, exec.resume_point()?).await)
    }

    /// [`Harness::redrive`] for synchronous tests.
    pub fn redrive_blocking(&self, exec: &Execution) -> Result<Execution, NotRedrivable> {
        let resume = exec.resume_point()?;
        Ok(self.block_on(self.resumed(exec, resume)))
    }

    /// Runs `exec` on from `resume`: the same execution, going on from
    /// where it stopped.
    async fn resumed(&self, exec: &Execution, resume: eval::Resume) -> Execution {
        let mut cfg = self.config.clone();
        cfg.execution_name = Some(exec.name.clone());
        cfg.start_ms = exec.stop_ms;
        cfg.seed ^= crate::rng::stable_hash(&resume.redrive_count.to_le_bytes());
        cfg.resume = Some(Arc::new(resume));
        let out = eval::execute(&self.sm, exec.input.clone(), &self.integrations, &cfg).await;
        self.record_coverage(&out);
        out
    }
}

impl Execution {
    /// Redrives this execution with `harness` ([`Harness::redrive_blocking`]).
    pub fn redrive(&self, harness: &Harness) -> Result<Execution, NotRedrivable> {
        harness.redrive_blocking(self)
    }
}
