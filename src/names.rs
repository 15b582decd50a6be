//! Names that several layers must spell the same way: the errors AWS
//! raises itself, the harness's own errors (which no Retry or Catch may
//! handle), and the account and region used when a definition names none.

/// `States.ALL`: matches every error but `States.Runtime`.
pub(crate) const ALL: &str = "States.ALL";
/// `States.Runtime`: a path that does not resolve, an input that is not an array…
pub(crate) const RUNTIME: &str = "States.Runtime";
/// `States.Timeout`: a task or execution ran past its TimeoutSeconds.
pub(crate) const TIMEOUT: &str = "States.Timeout";
/// `States.HeartbeatTimeout`: no heartbeat within HeartbeatSeconds.
pub(crate) const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// `States.TaskFailed`: a task failed (also a wildcard for all but `States.Timeout`).
pub(crate) const TASK_FAILED: &str = "States.TaskFailed";
/// `States.ResultPathMatchFailure`: ResultPath `$.a.b` on `{"a": 1}`.
pub(crate) const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// `States.IntrinsicFailure`: e.g. `States.ArrayGetItem($.a, 99)`.
pub(crate) const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// `States.NoChoiceMatched`: a Choice with no matching rule and no Default.
pub(crate) const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// `States.DataLimitExceeded`: a payload over 256 KiB.
pub(crate) const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// `States.ExceedToleratedFailureThreshold`: a Map with too many failed items.
pub(crate) const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str =
    "States.ExceedToleratedFailureThreshold";
/// A JSONata expression failed, or gave a value the field cannot take.
pub(crate) const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
/// A distributed Map's ItemReader could not read its items.
pub(crate) const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// ECS's error for a RunTask response with `Failures`, or an unknown task.
#[cfg(feature = "sdk")]
pub(crate) const ECS_UNKNOWN: &str = "AmazonECS.Unknown";

/// The execution reached something the harness does not evaluate yet.
pub(crate) const HARNESS_UNSUPPORTED: &str = "Harness.Unsupported";
/// A Task state with no handler and no mocked response.
pub(crate) const HARNESS_NO_INTEGRATION: &str = "Harness.NoIntegration";
/// A Task state with both a Rust handler and a mock-config response.
pub(crate) const HARNESS_SHADOWED_MOCK: &str = "Harness.ShadowedMock";
/// A replayed execution asked for a task attempt the recording does not have.
pub(crate) const HARNESS_REPLAY_DIVERGED: &str = "Harness.ReplayDiverged";
/// A Map's ItemReader reads an S3 object the test does not provide.
pub(crate) const HARNESS_NO_S3_OBJECT: &str = "Harness.NoS3Object";
/// A mock-config test case ran out of responses.
pub(crate) const HARNESS_MOCK_EXHAUSTED: &str = "Harness.MockExhausted";
/// A worker container could not be run.
pub(crate) const HARNESS_CONTAINER_ERROR: &str = "Harness.ContainerError";
/// The harness itself failed (a panic inside an execution).
pub(crate) const HARNESS_INTERNAL_ERROR: &str = "Harness.InternalError";

/// The account used when the definition names none.
pub(crate) const DEFAULT_ACCOUNT: &str = "123456789012";
/// The region used when the definition names none.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// What Step Functions names an ECS API error: `ECS.AmazonECSException`.
#[cfg(feature = "sdk")]
pub(crate) const ECS_EXCEPTION: &str = "AmazonECSException";
