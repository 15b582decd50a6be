//! Map and Parallel, as tables of definitions, inputs and what they give.

use serde_json::{json, Value};
use sfn_harness::{Harness, Status};

fn run(def: Value, input: Value) -> sfn_harness::Execution {
    Harness::from_definition(&def.to_string()).unwrap().run_blocking(input)
}

fn gives(def: Value, input: Value, want: Value) -> Vec<String> {
    let exec = run(def, input);
    exec.assert_succeeded();
    assert_eq!(exec.output(), &want, "{}", exec.trace());
    exec.event_types()
}

#[test]
fn parallel_collects_branch_outputs_in_order() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "ResultPath": "$.r", "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$.x", "Next": "C"}, "C": {"Type": "Succeed"}}}
    ]}}});
    let types = gives(def, json!({"x": "y"}), json!({"x": "y", "r": [1, "y"]}));
    assert_eq!(types[..3], ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]);
    assert_eq!(types[types.len() - 2..], ["ParallelStateExited", "ExecutionSucceeded"]);
}

#[test]
fn a_failing_branch_fails_the_parallel_state_and_can_be_caught() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Done"}], "Branches": [
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}]},
        "Done": {"Type": "Succeed"}}});
    let types = gives(def, json!({}), json!({"err": {"Error": "Boom", "Cause": "why"}}));
    assert!(types.contains(&"ParallelStateFailed".to_string()));
    let uncaught = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}]}}});
    run(uncaught, json!({})).assert_failed_with("Boom");
}

#[test]
fn map_runs_the_processor_per_item_with_an_item_selector() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "k.$": "$.k"},
        "ItemProcessor": {"StartAt": "Inc", "States": {"Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.value, $.index)", "k.$": "$.k"}, "End": true}}}}}});
    let types = gives(
        def,
        json!({"items": [10, 20, 30], "k": "x"}),
        json!([{"n": 10, "k": "x"}, {"n": 21, "k": "x"}, {"n": 32, "k": "x"}]),
    );
    assert_eq!(types.iter().filter(|t| *t == "MapIterationStarted").count(), 3);
    assert_eq!(types.iter().filter(|t| *t == "MapIterationSucceeded").count(), 3);
    assert!(types.contains(&"MapStateSucceeded".to_string()));
}

#[test]
fn map_failures_retry_the_whole_state_and_bad_items_fail_clearly() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 3}],
        "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad"}}}}}});
    let exec = run(def, json!([1]));
    exec.assert_failed_with("Bad");
    let types = exec.event_types();
    assert_eq!(
        types.iter().filter(|t| *t == "MapStateStarted").count(),
        3,
        "one try and two retries"
    );
    assert_eq!(exec.stop_ms() - exec.start_ms(), 9_000, "3 s + 6 s of backoff");
    let not_array = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let exec = run(not_array, json!({"a": 1}));
    assert_eq!(exec.status(), Status::Failed);
    assert!(exec.cause().unwrap().contains("Map state input must be an array"));
}

#[test]
fn distributed_maps_record_a_map_run_not_iterations() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "Label": "L",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let types = gives(def, json!(["a", "b"]), json!(["a", "b"]));
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn unsupported_inside_a_map_is_not_caught() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Inner", "States": {"Inner": {"Type": "Map", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"}, "Parameters": {"Bucket": "b", "Key": "k"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}},
        "Done": {"Type": "Succeed"}}});
    let exec = Harness::from_definition(&def.to_string())
        .unwrap()
        .s3_object("b", "k", "{}")
        .run_blocking(json!([1]));
    assert_eq!(exec.error(), Some("Harness.Unsupported"));
    assert!(exec.unsupported().unwrap().contains("InputType MANIFEST"));
}

#[test]
fn jsonata_inside_a_map_runs_and_its_failures_are_caught() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Done"}],
        "ItemProcessor": {"StartAt": "J", "States": {"J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input * 2 %}", "End": true}}}},
        "Done": {"Type": "Succeed"}}});
    assert_eq!(run(def.clone(), json!([1, 2])).output(), &json!([2, 4]));
    let exec = run(def, json!([1, "x"]));
    exec.assert_succeeded();
    assert_eq!(exec.output()["Error"], "States.QueryEvaluationError");
    assert!(exec.event_types().contains(&"EvaluationFailed".to_string()));
}

#[test]
fn tolerated_failures_let_a_map_finish_or_fail_past_the_threshold() {
    let map = |tolerance: Value| {
        let mut m = json!({"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericLessThan": 0, "Next": "F"}], "Default": "P"},
            "F": {"Type": "Fail", "Error": "Negative"},
            "P": {"Type": "Pass", "End": true}}}});
        for (k, v) in tolerance.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({"StartAt": "M", "States": {"M": m}})
    };
    let items = json!([1, -1, 2, -2]);
    gives(map(json!({"ToleratedFailureCount": 2})), items.clone(), json!([1, 2]));
    gives(map(json!({"ToleratedFailurePercentage": 50})), items.clone(), json!([1, 2]));
    run(map(json!({"ToleratedFailureCount": 1})), items.clone())
        .assert_failed_with("States.ExceedToleratedFailureThreshold");
    run(map(json!({})), items.clone()).assert_failed_with("Negative");
    let exec = run(
        map(json!({"ToleratedFailureCountPath": "$.n", "ItemsPath": "$.items"})),
        json!({"items": [1], "n": "many"}),
    );
    assert_eq!(
        exec.cause(),
        Some("An error occurred while executing the state 'M' (entered at the event id #2). The ToleratedFailureCountPath field refers to value \"many\" which is not a valid integer: $.n")
    );
}

#[test]
fn assign_sets_variables_that_later_states_read() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"items": [1, 2]}, "Assign": {"items.$": "$.items", "label": "L", "id.$": "$$.Execution.Name"}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$items", "Next": "B", "ResultPath": "$.done",
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Parameters": {"v.$": "$", "l.$": "$label"}, "Assign": {"label": "inner"}, "End": true}}}},
        "B": {"Type": "Pass", "Parameters": {"label.$": "$label", "first.$": "$items[0]"}, "End": true}}});
    let exec = Harness::from_definition(&def.to_string())
        .unwrap()
        .execution_name("e1")
        .run_blocking(json!({}));
    exec.assert_succeeded();
    // the Map's inner assignment stays inside the iteration
    assert_eq!(exec.output(), &json!({"label": "L", "first": 1}));
    let exited = exec
        .history_json()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "PassStateExited")
        .cloned()
        .unwrap();
    let vars = &exited["stateExitedEventDetails"]["assignedVariables"];
    assert_eq!(vars, &json!({"items": "[1,2]", "label": "\"L\"", "id": "\"e1\""}));
}

#[test]
fn catchers_and_choice_rules_assign_too() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Assign": {"sign": "positive"}, "Next": "P"}], "Default": "P"},
        "P": {"Type": "Parallel", "Next": "Out", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error"}, "Next": "Out"}]},
        "Out": {"Type": "Pass", "Parameters": {"sign.$": "$sign", "err.$": "$err"}, "End": true}}});
    gives(def, json!({"n": 3}), json!({"sign": "positive", "err": "E"}));
}

#[test]
fn a_map_past_the_event_quota_stops_at_exactly_25000_events() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let exec = run(def, json!({"items": vec![0; 100_000]}));
    assert_eq!(exec.status(), Status::Failed);
    assert_eq!(exec.error(), Some("States.Runtime"));
    assert_eq!(exec.event_count(), 25_000);
    assert_eq!(exec.event_types().last().map(String::as_str), Some("ExecutionFailed"));
}

/// A distributed Map reads its items from S3 objects the test provides.
#[test]
fn an_item_reader_reads_the_s3_objects_the_test_provides() {
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "data", "Key.$": "$.key"},
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        "End": true}}}"#;
    let h = sfn_harness::Harness::from_definition(def)
        .unwrap()
        .on_task("Work", |c| sfn_harness::TaskReply::ok(json!(c.parameters["id"])))
        .s3_object("data", "rows.csv", "id,name\n1,a\n2,b\n3,c\n");
    let exec = h.run_blocking(json!({"key": "rows.csv"}));
    exec.assert_succeeded();
    assert_eq!(exec.output(), &json!(["1", "2"]));
    assert_eq!(exec.invocations("Work"), 2);
    let missing = h.run_blocking(json!({"key": "nope.csv"}));
    missing.assert_failed_with("Harness.NoS3Object");
    assert!(missing.cause().unwrap().contains("s3://data/nope.csv"), "{:?}", missing.cause());
}
