//! Bad input never panics: arbitrary definitions and endpoint requests get
//! errors, not crashes (paths and intrinsic calls: `src/asl/path.rs`).

use proptest::prelude::*;
use serde_json::{json, Value};
#[cfg(feature = "endpoint")]
use sfn_harness::endpoint::{Endpoint, EndpointConfig};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[ -~é$.{}\\[\\]'()]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z.$]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The oracle of a hostile definition: `validate` reports an error if and
/// only if loading it fails; a loaded one runs to an outcome that says why
/// (an error name or cause when FAILED, a reason when it cannot go on), with
/// a well-formed history (ids 1..n, ExecutionStarted first, an Execution…
/// event last unless it is still running).
fn loads_iff_valid_and_runs_to_an_outcome(text: &str, input: Value) -> Result<(), TestCaseError> {
    use sfn_harness::{Outcome, Severity};
    let errors =
        sfn_harness::validate(text).iter().filter(|d| d.severity == Severity::Error).count();
    let loaded = sfn_harness::Harness::from_definition(text);
    prop_assert_eq!(errors == 0, loaded.is_ok(), "validate and loading disagree on {}", text);
    let Ok(h) = loaded else { return Ok(()) };
    let exec = h.run_blocking(input);
    let events = exec.history_json();
    let events = events.as_array().unwrap();
    prop_assert_eq!(events[0]["type"].as_str(), Some("ExecutionStarted"));
    for (i, e) in events.iter().enumerate() {
        prop_assert_eq!(e["id"].as_u64(), Some(i as u64 + 1));
        prop_assert!(e["previousEventId"].as_u64().unwrap() <= i as u64);
    }
    let last = events.last().unwrap()["type"].as_str().unwrap().to_string();
    match exec.outcome() {
        Outcome::Succeeded(_) => prop_assert_eq!(last, "ExecutionSucceeded"),
        Outcome::Failed(f) => {
            prop_assert_eq!(last, "ExecutionFailed");
            prop_assert!(f.error.is_some() || f.cause.is_some());
        }
        Outcome::Faulted(fault) => {
            prop_assert_eq!(last, "ExecutionFailed");
            prop_assert!(!fault.message.is_empty());
        }
        Outcome::TimedOut => prop_assert_eq!(last, "ExecutionTimedOut"),
        Outcome::Stalled(why) => prop_assert!(!why.is_empty()),
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn definitions_with_arbitrary_fields_validate_or_run(field in "[A-Za-z]{1,12}", value in arb_json(), input in arb_json()) {
        for ty in ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Map", "Parallel"] {
            let mut state = json!({"Type": ty, "End": true});
            state[&field] = value.clone();
            let def = json!({"StartAt": "S", "States": {"S": state}});
            loads_iff_valid_and_runs_to_an_outcome(&def.to_string(), input.clone())?;
        }
    }

    #[cfg(feature = "endpoint")]
    #[test]
    fn the_endpoint_answers_any_request(op in "[A-Za-z]{0,30}", body in arb_json()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ep = Endpoint::new(EndpointConfig::default());
        for op in [op.as_str(), "CreateStateMachine", "StartExecution", "DescribeExecution", "GetExecutionHistory", "SendTaskSuccess", "TestState", "ValidateStateMachineDefinition", "ListExecutions"] {
            let (status, out) = rt.block_on(ep.handle(op, body.to_string().as_bytes()));
            prop_assert!(status == 200 || status == 400);
            let v: Value = serde_json::from_slice(&out).unwrap();
            if status == 400 {
                prop_assert!(v["__type"].is_string() && v["message"].is_string());
            }
        }
    }
}

/// Definitions of a few KB that nest paths, filters or intrinsic calls
/// deeply get a diagnostic, not a stack overflow or minutes of work.
#[test]
fn deeply_nested_definitions_are_refused_with_a_diagnostic() {
    let hostile = [
        format!("$.a{}{}", "(".repeat(1000), ")".repeat(1000)),
        format!("$.a{}{}", "[?(@.b".repeat(290), ")]".repeat(290)),
        format!("$.a{}{}", "[?(@.b".repeat(20), ")]".repeat(20)),
        format!("{}1{}", "States.Array(".repeat(3700), ")".repeat(3700)),
        "$..*..*..*..*".to_string(),
    ];
    for (i, value) in hostile.iter().enumerate() {
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": value}, "End": true}}}).to_string();
        let diags = sfn_harness::validate(&def);
        assert!(
            diags.iter().any(|d| d.code == "SCHEMA_VALIDATION_FAILED"
                && d.location == "/States/P/Parameters/x.$"),
            "case {i}: {diags:?}"
        );
        assert!(sfn_harness::Harness::from_definition(&def).is_err(), "case {i}");
    }
}

/// Large generated text made of the pieces that nest or multiply work in
/// paths and intrinsic calls: brackets, parentheses, filters, calls,
/// descendant segments.
fn arb_hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("["),
        Just("]"),
        Just("("),
        Just(")"),
        Just("[?(@"),
        Just("States.Array("),
        Just("States.Format('{}', "),
        Just(".."),
        Just("*"),
        Just(".a"),
        Just("$"),
        Just("'"),
        Just(", "),
        Just("1"),
    ];
    prop::collection::vec(piece, 0..1500).prop_map(|v| v.concat())
}

proptest! {
    // the fuzz budget CI spends: a fixed number of large cases
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Paths, filters and intrinsic calls of a few KB, nested up to
    /// hundreds deep, validate (and run, when valid) without a crash.
    #[test]
    fn large_hostile_paths_and_calls_never_crash(text in arb_hostile_text(), depth in 0usize..400) {
        let values = [
            format!("${text}"),
            format!("States.Array({text})"),
            format!("{}{text}{}", "States.Array(".repeat(depth), ")".repeat(depth)),
            format!("$.a{}{}", "[?(@.b".repeat(depth), ")]".repeat(depth)),
            format!("$.a{}{}", "(".repeat(depth), ")".repeat(depth)),
        ];
        for value in values {
            let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": value}, "End": true}}}).to_string();
            loads_iff_valid_and_runs_to_an_outcome(&def, json!({"a": [1, {"b": 2}], "x": text.clone()}))?;
        }
    }

    /// The endpoint answers large hostile definitions and inputs with an
    /// AWS error shape, never a crash.
    #[cfg(feature = "endpoint")]
    #[test]
    fn the_endpoint_answers_large_hostile_requests(text in arb_hostile_text(), depth in 0usize..400) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ep = Endpoint::new(EndpointConfig::default());
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": format!("$.a{text}")}, "End": true}}}).to_string();
        let nested_input = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        for (op, body) in [
            ("ValidateStateMachineDefinition", json!({"definition": def})),
            ("TestState", json!({"definition": json!({"Type": "Pass", "Parameters": {"x.$": format!("States.Array({text})")}, "End": true}).to_string(), "input": nested_input})),
            ("CreateStateMachine", json!({"name": "h", "definition": def, "roleArn": "arn:aws:iam::123456789012:role/r"})),
            ("StartExecution", json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:h", "input": nested_input})),
        ] {
            let (status, out) = rt.block_on(ep.handle(op, body.to_string().as_bytes()));
            prop_assert!(status == 200 || status == 400);
            let v: Value = serde_json::from_slice(&out).unwrap();
            if status == 400 {
                prop_assert!(v["__type"].is_string() && v["message"].is_string());
            }
        }
    }
}
