//! # sfn-harness
//!
//! Test AWS Step Functions pipelines offline, in `cargo test`,
//! deterministically and fast: a virtual clock (a Wait of 10 s costs
//! nothing), seeded ids and task tokens, and histories in exactly the shape
//! of GetExecutionHistory.
//!
//! ```
//! use sfn_harness::{Harness, TaskReply};
//! use serde_json::json;
//!
//! let harness = Harness::from_file("fixtures/seed/state-machine.asl.json").unwrap()
//!     .on_task("FargateTask", |call| {
//!         // the worker: read INPUT from the container overrides, increment the number
//!         let env = sfn_harness::container_environment(&call.parameters, Some("python-container"));
//!         let mut input: serde_json::Value = serde_json::from_str(&env["INPUT"]).unwrap();
//!         input["number"] = json!(input["number"].as_i64().unwrap() + 1);
//!         TaskReply::ok(json!({"input": input}))
//!     });
//! let exec = harness.run_blocking(json!({"input": {"number": 0}}));
//! assert!(exec.succeeded());
//! assert_eq!(exec.invocations("FargateTask"), 4);
//! assert_eq!(exec.output()["input"]["number"], 4);
//! ```
//!
//! ## The public surface
//!
//! - [`Harness`] loads a state machine and says how each Task state is
//!   answered; [`Execution`] is what one run gives (status, output, the
//!   history), with assertions and a readable trace;
//!   [`assert_execution_snapshot!`] writes the execution as a readable insta
//!   snapshot; [`Execution::state`] gives one state's visits and attempts.
//! - Tasks are answered by Rust functions ([`TaskCall`] in, [`TaskReply`]
//!   out), by Step Functions Local mock configs ([`MockConfig`]), by any
//!   [`Integration`], by real SDK clients ([`sdk`], feature `sdk`) or by real
//!   worker containers ([`containers`], feature `containers`); callbacks go
//!   through one [`TokenRegistry`].
//! - Definitions in JSONPath or JSONata (`QueryLanguage`, per state or for
//!   the machine): JSONata expressions are evaluated by a kept
//!   implementation (jsonata-core), with `$states`, variables and Step
//!   Functions' own functions on the execution's seed and clock.
//! - [`validate`] gives a definition's diagnostics with AWS's codes.
//! - [`mutation`]: does the suite notice a change to the definition?
//!   [`Harness::mutants`] runs a suite against small changes of it.
//! - [`endpoint`] (feature `endpoint`) serves the Step Functions API locally.
//! - `workers` holds Rust models of the seed pipeline's worker (hidden from
//!   these docs: the seed's own tests and the README use them).
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sdk` | yes | [`sdk`]: ECS through `aws_sdk_ecs`, workers calling back through `aws_sdk_sfn`, [`Harness::sfn_client`] |
//! | `containers` | yes | [`containers`]: real worker containers through testcontainers |
//! | `endpoint` | yes | [`endpoint`]: the local Step Functions API over HTTP (needs `sdk`) |
//! | `cli` | yes | the `sfn-harness` binary (needs all of the above) |
//!
//! With `default-features = false` the crate is the interpreter, the mocks
//! and the insta snapshot helper: no AWS SDK, no HTTP stack, no Docker client.
//!
//! ## Time
//!
//! An execution runs on a virtual clock; real time enters only through
//! [`Wall`], and only where a real participant (a container, a client of the
//! endpoint, a callback from a real worker) is involved.

#![deny(missing_docs)]

mod arn;
mod asl;
#[cfg(any(feature = "cli", test))]
mod conformance;
mod ecs;
mod eval;
mod failure;
mod hash;
mod history;
mod integrations;
mod intern;
mod intrinsics;
mod json;
mod mock;
mod names;
mod parameters;
mod rng;
mod testing;
mod time;

#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "containers")]
mod container;
#[cfg(feature = "endpoint")]
pub mod endpoint;

// Rust models of the seed pipeline's worker (its `app.py`): what the seed's
// own tests and the README's examples answer tasks with.
#[doc(hidden)]
pub mod workers;

pub use asl::{validate, Diagnostic, InvalidDefinition, LoadError, Severity};
pub use eval::{sleep, Execution, MapRun, NotRedrivable, Outcome, Status, TaskLog, VirtualSleep};
pub use failure::{Failure, FaultKind, HarnessFault};
pub use integrations::tokens::{CallCounts, Callback, TokenError, TokenRegistry};
pub use integrations::{
    container_env_json, container_env_var, container_environment, Answer, Integration, TaskCall,
    TaskReply, Timeline,
};
pub use mock::{MockConfig, MockConfigError};
pub use parameters::{Parameters, ParametersSource};
/// Mutation testing of a definition: [`Harness::mutants`], the report, the
/// mutant file `sfn-harness mutate` hands to a test command.
pub use testing::mutation;
#[cfg(feature = "proptest")]
pub use testing::strategies;
pub use testing::{Harness, HarnessError, ItemSchedule, Schedule, Scheduled};

/// One state's part of an execution: [`Execution::state`] gives its visits
/// (input, output, times) and its Task attempts.
pub mod report {
    pub use crate::testing::report::{Attempt, StateReport, Visit, Within};
}

/// Replay of a real execution: its recorded history answers every task, and
/// the definition runs offline against it ([`Harness::replaying`]).
pub mod replay {
    pub use crate::testing::replay::{Divergence, Replay, ReplayError, ReplayReport};
}

/// Which states, Choice rules, retriers and catchers executions ran
/// ([`Harness::coverage`]), and the definition drawn as a graph.
pub mod coverage {
    pub use crate::testing::coverage::{Counted, Coverage};
    pub use crate::testing::graph::GraphFormat;
}

/// Exploring what can vary (interleavings, seeds) for a counterexample
/// ([`Harness::explore`]).
pub mod explore {
    pub use crate::testing::explore::Counterexample;
}
pub use time::{RealTime, Wall};

/// A boxed, sendable future: what an [`Integration`] returns.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Real AWS SDK clients: ECS tasks run through an `aws_sdk_ecs::Client`
/// (mock it with aws-smithy-mocks, or point it at an ECS-compatible
/// endpoint), and simulated workers call back through an `aws_sdk_sfn::Client`.
#[cfg(feature = "sdk")]
pub mod sdk {
    pub use crate::integrations::ecs_sdk::{EcsIntegration, Worker, WorkerExit};
    pub use crate::integrations::sdk::{ecs_client, sfn_client};
}

/// Real worker containers (testcontainers): each ECS task state's container
/// runs as a local image and calls back over HTTP.
#[cfg(feature = "containers")]
pub mod containers {
    pub use crate::container::{bridge_gateway, docker_available, ContainerError};
    // the seed's image builders and test hygiene: used by its own tests
    #[doc(hidden)]
    pub use crate::container::{
        build_dockerfile_dir, build_worker_image, seed_worker_image, wait_removed, OWNER_LABEL,
    };
    pub use crate::integrations::containers::ContainerTasks;
    pub use crate::integrations::http_server::{serve_tokens, Server};
}

/// What the macros and the binary call; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::testing::snapshot_settings;
    pub use insta;

    /// The `sfn-harness` command line.
    #[cfg(feature = "cli")]
    pub fn cli_main() -> std::process::ExitCode {
        crate::cli::main()
    }
}
