//! What the Step Functions API reference allows in each request: one table
//! of operations and their fields (type, length or range, allowed values,
//! required), read before an operation runs. A request AWS would refuse is
//! refused the same way, with AWS's `ValidationException` message.

use super::{err, ApiError};
use serde_json::Value;

/// A field's type and AWS's constraint on it.
enum Kind {
    /// A string of `min..=max` characters.
    Str(usize, usize),
    /// An integer in `min..=max`.
    Int(i64, i64),
    Bool,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A JSON object (configurations, mocks), not checked further here.
    Object,
    /// A JSON array (tags), not checked further here.
    List,
}

use Kind::*;

/// One field of a request: its name, kind and whether it is required.
struct Field(&'static str, Kind, bool);

/// The largest definition AWS accepts, in characters.
const MAX_DEFINITION: usize = crate::asl::MAX_DEFINITION_CHARS;
/// The largest input or output payload AWS accepts, in characters.
const MAX_PAYLOAD: usize = 262_144;

const ARN: Kind = Str(1, 256);
const LONG_ARN: Kind = Str(1, 2048);
const NAME: Kind = Str(1, 80);
const DEFINITION: Kind = Str(1, MAX_DEFINITION);
const PAYLOAD: Kind = Str(0, MAX_PAYLOAD);
const MAX_RESULTS: Kind = Int(0, 1000);
const NEXT_TOKEN: Kind = Str(1, 1024);
const ERROR: Kind = Str(0, 256);
const CAUSE: Kind = Str(0, 32_768);
const TYPE: Kind = Enum(&["STANDARD", "EXPRESS"]);
const INCLUDED_DATA: Kind = Enum(&["ALL_DATA", "METADATA_ONLY"]);
const STATUS: Kind =
    Enum(&["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]);

/// Every operation served, with its fields (API reference, 2024).
const OPERATIONS: &[(&str, &[Field])] = &[
    (
        "CreateStateMachine",
        &[
            Field("name", NAME, true),
            Field("definition", DEFINITION, true),
            Field("roleArn", ARN, true),
            Field("type", TYPE, false),
            Field("loggingConfiguration", Object, false),
            Field("tracingConfiguration", Object, false),
            Field("encryptionConfiguration", Object, false),
            Field("tags", List, false),
            Field("publish", Bool, false),
            Field("versionDescription", Str(0, 256), false),
        ],
    ),
    (
        "DescribeStateMachine",
        &[Field("stateMachineArn", ARN, true), Field("includedData", INCLUDED_DATA, false)],
    ),
    (
        "ListStateMachines",
        &[Field("maxResults", MAX_RESULTS, false), Field("nextToken", NEXT_TOKEN, false)],
    ),
    (
        "UpdateStateMachine",
        &[
            Field("stateMachineArn", ARN, true),
            Field("definition", DEFINITION, false),
            Field("roleArn", ARN, false),
            Field("loggingConfiguration", Object, false),
            Field("tracingConfiguration", Object, false),
            Field("encryptionConfiguration", Object, false),
            Field("publish", Bool, false),
            Field("versionDescription", Str(0, 256), false),
        ],
    ),
    ("DeleteStateMachine", &[Field("stateMachineArn", ARN, true)]),
    // the ARN may carry `#TestCase` (a mock-config test case), hence the longer bound
    (
        "StartExecution",
        &[
            Field("stateMachineArn", LONG_ARN, true),
            Field("name", NAME, false),
            Field("input", PAYLOAD, false),
            Field("traceHeader", Str(0, 256), false),
        ],
    ),
    (
        "StartSyncExecution",
        &[
            Field("stateMachineArn", LONG_ARN, true),
            Field("name", NAME, false),
            Field("input", PAYLOAD, false),
            Field("traceHeader", Str(0, 256), false),
            Field("includedData", INCLUDED_DATA, false),
        ],
    ),
    (
        "DescribeExecution",
        &[Field("executionArn", LONG_ARN, true), Field("includedData", INCLUDED_DATA, false)],
    ),
    (
        "ListExecutions",
        &[
            Field("stateMachineArn", ARN, false),
            Field("statusFilter", STATUS, false),
            Field("maxResults", MAX_RESULTS, false),
            Field("nextToken", Str(1, 3096), false),
            Field("mapRunArn", Str(1, 2000), false),
            Field("redriveFilter", Enum(&["REDRIVEN", "NOT_REDRIVEN"]), false),
        ],
    ),
    ("DescribeMapRun", &[Field("mapRunArn", Str(1, 2000), true)]),
    (
        "ListMapRuns",
        &[
            Field("executionArn", LONG_ARN, true),
            Field("maxResults", MAX_RESULTS, false),
            Field("nextToken", NEXT_TOKEN, false),
        ],
    ),
    (
        "StopExecution",
        &[
            Field("executionArn", LONG_ARN, true),
            Field("error", ERROR, false),
            Field("cause", CAUSE, false),
        ],
    ),
    (
        "GetExecutionHistory",
        &[
            Field("executionArn", LONG_ARN, true),
            Field("maxResults", MAX_RESULTS, false),
            Field("nextToken", NEXT_TOKEN, false),
            Field("reverseOrder", Bool, false),
            Field("includeExecutionData", Bool, false),
        ],
    ),
    ("SendTaskSuccess", &[Field("taskToken", LONG_ARN, true), Field("output", PAYLOAD, true)]),
    (
        "SendTaskFailure",
        &[
            Field("taskToken", LONG_ARN, true),
            Field("error", ERROR, false),
            Field("cause", CAUSE, false),
        ],
    ),
    ("SendTaskHeartbeat", &[Field("taskToken", LONG_ARN, true)]),
    (
        "CreateActivity",
        &[
            Field("name", NAME, true),
            Field("tags", List, false),
            Field("encryptionConfiguration", Object, false),
        ],
    ),
    ("DescribeActivity", &[Field("activityArn", ARN, true)]),
    (
        "ListActivities",
        &[Field("maxResults", MAX_RESULTS, false), Field("nextToken", NEXT_TOKEN, false)],
    ),
    ("DeleteActivity", &[Field("activityArn", ARN, true)]),
    ("TagResource", &[Field("resourceArn", ARN, true), Field("tags", List, true)]),
    (
        "RedriveExecution",
        &[Field("executionArn", ARN, true), Field("clientToken", Str(1, 256), false)],
    ),
    (
        "PublishStateMachineVersion",
        &[
            Field("stateMachineArn", ARN, true),
            Field("revisionId", Str(0, 2048), false),
            Field("description", Str(0, 256), false),
        ],
    ),
    (
        "ListStateMachineVersions",
        &[
            Field("stateMachineArn", ARN, true),
            Field("maxResults", MAX_RESULTS, false),
            Field("nextToken", NEXT_TOKEN, false),
        ],
    ),
    ("DeleteStateMachineVersion", &[Field("stateMachineVersionArn", LONG_ARN, true)]),
    (
        "CreateStateMachineAlias",
        &[
            Field("name", NAME, true),
            Field("description", Str(0, 256), false),
            Field("routingConfiguration", List, true),
        ],
    ),
    ("DescribeStateMachineAlias", &[Field("stateMachineAliasArn", LONG_ARN, true)]),
    (
        "UpdateStateMachineAlias",
        &[
            Field("stateMachineAliasArn", LONG_ARN, true),
            Field("description", Str(0, 256), false),
            Field("routingConfiguration", List, false),
        ],
    ),
    ("DeleteStateMachineAlias", &[Field("stateMachineAliasArn", LONG_ARN, true)]),
    (
        "ListStateMachineAliases",
        &[
            Field("stateMachineArn", LONG_ARN, true),
            Field("maxResults", MAX_RESULTS, false),
            Field("nextToken", NEXT_TOKEN, false),
        ],
    ),
    ("UntagResource", &[Field("resourceArn", ARN, true), Field("tagKeys", List, true)]),
    ("ListTagsForResource", &[Field("resourceArn", ARN, true)]),
    (
        "DescribeStateMachineForExecution",
        &[Field("executionArn", ARN, true), Field("includedData", INCLUDED_DATA, false)],
    ),
    ("GetActivityTask", &[Field("activityArn", ARN, true), Field("workerName", NAME, false)]),
    (
        "ValidateStateMachineDefinition",
        &[
            Field("definition", DEFINITION, true),
            Field("type", TYPE, false),
            Field("severity", Enum(&["ERROR", "WARNING"]), false),
            Field("maxResults", Int(0, 100), false),
        ],
    ),
    (
        "TestState",
        &[
            Field("definition", DEFINITION, true),
            Field("roleArn", ARN, false),
            Field("input", PAYLOAD, false),
            Field("inspectionLevel", Enum(&["INFO", "DEBUG", "TRACE"]), false),
            Field("revealSecrets", Bool, false),
            Field("variables", PAYLOAD, false),
            Field("mock", Object, false),
        ],
    ),
];

/// Checks `req` against the table: the first problem, in AWS's words.
/// Operations not in the table are left to the dispatcher.
pub(super) fn check(operation: &str, req: &Value) -> Result<(), ApiError> {
    let Some((_, fields)) = OPERATIONS.iter().find(|(name, _)| *name == operation) else {
        return Ok(());
    };
    for Field(name, kind, required) in fields.iter() {
        let problem = match (req.get(*name), kind) {
            (None | Some(Value::Null), _) if *required => "Member must not be null".to_string(),
            (None | Some(Value::Null), _) => continue,
            (Some(v), kind) => match describe(v, kind) {
                None => continue,
                Some(p) => p,
            },
        };
        let value = match req.get(*name) {
            Some(Value::String(s)) if s.chars().count() <= 256 => format!("Value '{s}' at"),
            Some(Value::Number(n)) => format!("Value '{n}' at"),
            Some(Value::Null) | None => "Value null at".to_string(),
            Some(_) => "Value at".to_string(),
        };
        return Err(err("ValidationException", format!("1 validation error detected: {value} '{name}' failed to satisfy constraint: {problem}")));
    }
    Ok(())
}

/// What is wrong with `v` as a field of `kind`, if anything.
fn describe(v: &Value, kind: &Kind) -> Option<String> {
    match (kind, v) {
        (Str(min, max), Value::String(s)) => {
            let n = s.chars().count();
            if n < *min {
                Some(format!("Member must have length greater than or equal to {min}"))
            } else if n > *max {
                Some(format!("Member must have length less than or equal to {max}"))
            } else {
                None
            }
        }
        (Int(min, max), Value::Number(n)) => match n.as_i64() {
            Some(i) if i < *min => {
                Some(format!("Member must have value greater than or equal to {min}"))
            }
            Some(i) if i > *max => {
                Some(format!("Member must have value less than or equal to {max}"))
            }
            Some(_) => None,
            None => Some("Member must be an integer".into()),
        },
        (Enum(values), Value::String(s)) if values.contains(&s.as_str()) => None,
        (Enum(values), Value::String(_)) => {
            Some(format!("Member must satisfy enum value set: [{}]", values.join(", ")))
        }
        (Bool, Value::Bool(_)) | (Object, Value::Object(_)) | (List, Value::Array(_)) => None,
        (Str(..) | Enum(_), _) => Some("Member must be a string".into()),
        (Int(..), _) => Some("Member must be an integer".into()),
        (Bool, _) => Some("Member must be a boolean".into()),
        (Object, _) => Some("Member must be an object".into()),
        (List, _) => Some("Member must be a list".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(op: &str, req: Value) -> String {
        check(op, &req).unwrap_err().message
    }

    #[test]
    fn what_aws_refuses_is_refused_with_its_message() {
        assert!(refused("StartExecution", json!({"stateMachineArn": "arn", "input": {}}))
            .contains("Value at 'input' failed to satisfy constraint: Member must be a string"));
        assert!(refused("StartExecution", json!({"stateMachineArn": "arn", "name": 1}))
            .contains("'name'"));
        assert!(refused(
            "StartExecution",
            json!({"stateMachineArn": "arn", "input": "x".repeat(MAX_PAYLOAD + 1)})
        )
        .contains("less than or equal to 262144"));
        assert!(refused("CreateStateMachine", json!({"name": "n", "definition": "{}"}))
            .contains("Value null at 'roleArn'"));
        assert!(refused("ListExecutions", json!({"maxResults": -1}))
            .contains("Value '-1' at 'maxResults'"));
        assert!(
            refused("ListExecutions", json!({"statusFilter": "DONE"})).contains("enum value set")
        );
        assert!(refused("SendTaskFailure", json!({"taskToken": "t", "error": "e".repeat(257)}))
            .contains("'error'"));
        assert!(refused(
            "StopExecution",
            json!({"executionArn": "a", "cause": "c".repeat(32_769)})
        )
        .contains("'cause'"));
        assert!(refused(
            "GetExecutionHistory",
            json!({"executionArn": "a", "reverseOrder": "yes"})
        )
        .contains("boolean"));
    }

    #[test]
    fn what_aws_accepts_passes() {
        check("StartExecution", &json!({"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m#Happy", "input": "{}"})).unwrap();
        check(
            "ListExecutions",
            &json!({"stateMachineArn": "arn", "maxResults": 0, "statusFilter": "RUNNING"}),
        )
        .unwrap();
        check("CreateStateMachine", &json!({"name": "n", "definition": "x".repeat(MAX_DEFINITION), "roleArn": "r", "tags": []})).unwrap();
        check("NotAnOperation", &json!({"anything": 1})).unwrap();
    }
}
