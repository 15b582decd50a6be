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
//!         let env = sfn_harness::integrations::container_environment(&call.parameters, Some("python-container"));
//!         let mut input: serde_json::Value = serde_json::from_str(&env["INPUT"]).unwrap();
//!         input["number"] = json!(input["number"].as_i64().unwrap() + 1);
//!         TaskReply::ok(json!({"input": input}))
//!     });
//! let exec = harness.run_blocking(json!({"input": {"number": 0}}));
//! assert!(exec.succeeded());
//! assert_eq!(exec.invocations("FargateTask"), 4);
//! assert_eq!(exec.output()["input"]["number"], 4);
//! ```

pub mod asl;
pub mod conformance;
pub mod container;
pub mod endpoint;
pub mod eval;
pub mod history;
pub mod integrations;
mod intrinsics;
mod json;
mod names;
pub mod mock;
pub mod rng;
pub mod testing;
pub mod time;
pub mod workers;

pub use eval::{Execution, Failure, RunConfig, Status};
pub use integrations::{TaskCall, TaskReply};
pub use mock::MockConfig;
pub use testing::Harness;

/// A boxed, sendable future: what [`Integration`](integrations::Integration)s return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
