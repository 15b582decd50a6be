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
            prop::collection::btree_map("[A-Za-z.$]{1,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn definitions_with_arbitrary_fields_validate_or_run(field in "[A-Za-z]{1,12}", value in arb_json(), input in arb_json()) {
        for ty in ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Map", "Parallel"] {
            let mut state = json!({"Type": ty, "End": true});
            state[&field] = value.clone();
            let def = json!({"StartAt": "S", "States": {"S": state}});
            let text = def.to_string();
            let _ = sfn_harness::validate(&text);
            if let Ok(h) = sfn_harness::Harness::from_definition(&text) {
                let _ = h.run_blocking(input.clone());
            }
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
            diags.iter().any(|d| d.code == "SCHEMA_VALIDATION_FAILED" && d.location == "/States/P/Parameters/x.$"),
            "case {i}: {diags:?}"
        );
        assert!(sfn_harness::Harness::from_definition(&def).is_err(), "case {i}");
    }
}
