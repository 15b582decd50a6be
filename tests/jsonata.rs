//! JSONata states and variables: each field that takes an expression,
//! `$states`, Step Functions' own functions, scoping, AWS's errors, and a
//! property: a JSONPath machine and its JSONata translation agree.

use proptest::prelude::*;
use serde_json::{json, Value};
use sfn_harness::{Harness, TaskReply};

fn harness(def: Value) -> Harness {
    Harness::from_definition(&def.to_string()).unwrap()
}

fn jsonata(states: Value, start: &str) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": start, "States": states})
}

#[test]
fn arguments_output_and_assign_read_states_and_the_variables_from_before() {
    let def = jsonata(
        json!({
            "Init": {"Type": "Pass", "Assign": {"n": 1}, "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "f", "Payload": {"x": "{% $states.input.x %}", "n": "{% $n %}"}},
                "Assign": {"n": "{% $n + 1 %}", "got": "{% $states.result.Payload %}"},
                "Output": {"old_n": "{% $n %}", "result": "{% $states.result.Payload %}", "input": "{% $states.input %}"},
                "Next": "After"},
            "After": {"Type": "Pass", "Output": {"n": "{% $n %}", "got": "{% $got %}", "prev": "{% $states.input.old_n %}"}, "End": true}
        }),
        "Init",
    );
    let exec = harness(def)
        .on_task("Call", |call| {
            assert_eq!(call.parameters["Payload"], json!({"x": 5, "n": 1}));
            TaskReply::Succeed(json!({"Payload": {"doubled": call.parameters["Payload"]["x"].as_i64().unwrap() * 2}}))
        })
        .run_blocking(json!({"x": 5}));
    exec.assert_succeeded();
    // Assign and Output of one state both see n as it was before it
    assert_eq!(exec.output(), &json!({"n": 2, "got": {"doubled": 10}, "prev": 1}));
    let exited: Vec<Value> = exec
        .history_json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskStateExited")
        .cloned()
        .collect();
    assert_eq!(
        exited[0]["stateExitedEventDetails"]["assignedVariables"],
        json!({"n": "2", "got": "{\"doubled\":10}"})
    );
}

#[test]
fn a_catcher_reads_the_error_output() {
    let def = jsonata(
        json!({
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"FunctionName": "f"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled",
                    "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                    "Output": {"error": "{% $states.errorOutput.Error %}", "was": "{% $states.input.id %}"}}],
                "End": true},
            "Handled": {"Type": "Pass", "Output": "{% $merge([$states.input, {'why': $why}]) %}", "End": true}
        }),
        "Call",
    );
    let exec = harness(def)
        .on_task("Call", |_| TaskReply::Fail {
            error: Some("Boom".into()),
            cause: Some("it broke".into()),
        })
        .run_blocking(json!({"id": 7}));
    assert_eq!(exec.output(), &json!({"error": "Boom", "was": 7, "why": "it broke"}));
}

#[test]
fn map_items_item_selector_and_limits_take_expressions() {
    let def = jsonata(
        json!({
            "M": {"Type": "Map", "Items": "{% $states.input.xs[$ > 0] %}",
                "MaxConcurrency": "{% $states.input.limit %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}", "k": "{% $states.input.k %}"},
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $states.input.v * $states.input.k + $states.input.i %}", "End": true}}},
                "Output": {"sum": "{% $sum($states.result) %}", "all": "{% $states.result %}"},
                "End": true}
        }),
        "M",
    );
    let exec = harness(def).run_blocking(json!({"xs": [3, -1, 4], "k": 10, "limit": 1}));
    assert_eq!(exec.output(), &json!({"sum": 71, "all": [30, 41]}));
}

#[test]
fn items_that_are_not_an_array_fail_with_aws_cause_and_event() {
    let def = jsonata(
        json!({"M": {"Type": "Map", "Items": "{% $states.input.x %}", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}),
        "M",
    );
    let exec = harness(def).run_blocking(json!({"x": {"a": 1}}));
    exec.assert_failed_with("States.QueryEvaluationError");
    assert_eq!(
        exec.cause(),
        Some("An error occurred while executing the state 'M' (entered at the event id #2). The JSONata expression '$states.input.x' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'object' for value: {\"a\":1}")
    );
    assert_eq!(
        exec.event_types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "EvaluationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    let failed = &exec.history_json()[2]["evaluationFailedEventDetails"];
    assert_eq!(failed["location"], "Items");
    assert_eq!(failed["state"], "M");
}

#[test]
fn parallel_arguments_feed_the_branches_and_variables_stay_in_their_scope() {
    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Pass", "Assign": {"inner": "{% $outer * 2 %}"}, "Output": "{% $states.input.v + $outer %}", "End": true}}});
    let def = jsonata(
        json!({
            "Init": {"Type": "Pass", "Assign": {"outer": 5}, "Next": "Par"},
            "Par": {"Type": "Parallel", "Arguments": {"v": "{% $states.input.v %}"}, "Branches": [branch("A"), branch("B")],
                "Output": {"results": "{% $states.result %}", "inner": "{% $inner %}"}, "End": true}
        }),
        "Init",
    );
    let exec = harness(def).run_blocking(json!({"v": 1}));
    // a variable assigned in a branch is not visible outside it
    exec.assert_failed_with("States.QueryEvaluationError");
    assert!(exec.cause().unwrap().contains("The JSONata expression '$inner' specified for the field 'Output/inner' returned nothing (undefined)."), "{:?}", exec.cause());
    assert_eq!(exec.state("A").visits[0].output, Some(json!(6)));
}

#[test]
fn wait_and_task_timing_fields_take_expressions() {
    let def = jsonata(
        json!({
            "W": {"Type": "Wait", "Seconds": "{% $states.input.wait %}", "Next": "Until"},
            "Until": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "Next": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "TimeoutSeconds": "{% $states.input.timeout %}",
                "Arguments": {"QueueUrl": "q", "MessageBody": {"token": "{% $states.context.Task.Token %}"}}, "End": true}
        }),
        "W",
    );
    let exec = harness(def)
        .on_task("T", |_| TaskReply::NoCallback {
            exit_code: Some(0),
            detail: "worker exited".into(),
        })
        .run_blocking(json!({"wait": 30, "at": "2024-01-01T00:10:00Z", "timeout": 60}));
    exec.assert_failed_with("States.Timeout");
    assert_eq!(exec.elapsed().as_secs(), 600 + 60);
}

#[test]
fn fail_error_and_cause_take_expressions() {
    let def = jsonata(
        json!({"F": {"Type": "Fail", "Error": "{% 'E.' & $states.input.code %}", "Cause": "{% $string($states.input) %}"}}),
        "F",
    );
    let exec = harness(def).run_blocking(json!({"code": "X"}));
    exec.assert_failed_with("E.X");
    assert_eq!(exec.cause(), Some(r#"{"code":"X"}"#));
}

#[test]
fn step_functions_functions_are_there_and_deterministic() {
    let out = json!({
        "partition": "{% $partition([1,2,3,4,5], 2) %}",
        "range": "{% $range(0, 10, 5) %}",
        "one": "{% $range(1, 9, 9) %}",
        "hash": "{% $hash('hello', 'SHA-256') %}",
        "parse": "{% $parse('{\"a\": [1]}') %}",
        "uuid": "{% $uuid() %}",
        "random": "{% $random() %}",
        "seeded": "{% $random(42) %}",
        "now": "{% $now() %}"
    });
    let def = jsonata(json!({"P": {"Type": "Pass", "Output": out, "End": true}}), "P");
    let a = harness(def.clone()).run_blocking(json!({}));
    let b = harness(def.clone()).run_blocking(json!({}));
    a.assert_succeeded();
    let o = a.output();
    assert_eq!(o["partition"], json!([[1, 2], [3, 4], [5]]));
    assert_eq!(o["range"], json!([0, 5, 10]));
    assert_eq!(o["one"], json!(1));
    assert_eq!(o["hash"], "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_eq!(o["parse"], json!({"a": [1]}));
    assert_eq!(o["uuid"].as_str().unwrap().len(), 36);
    assert!((0.0..1.0).contains(&o["random"].as_f64().unwrap()));
    assert_eq!(o["now"], "2024-01-01T00:00:00.000Z", "the virtual clock");
    // the same seed draws the same values; another draws others, but a seeded $random stays
    assert_eq!(a.output(), b.output());
    let c = harness(def).seed(9).run_blocking(json!({}));
    assert_ne!(c.output()["uuid"], o["uuid"]);
    assert_eq!(c.output()["seeded"], o["seeded"]);
}

#[test]
fn eval_is_not_available_and_errors_keep_their_jsonata_code() {
    let def = jsonata(
        json!({"P": {"Type": "Pass", "Output": {"x": "{% $eval('1') %}"}, "End": true}}),
        "P",
    );
    let exec = harness(def).run_blocking(json!({}));
    exec.assert_failed_with("States.QueryEvaluationError");
    assert_eq!(
        exec.cause(),
        Some("An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression '$eval('1')' specified for the field 'Output/x' threw an error during evaluation. T1006: Attempted to invoke a non-function")
    );
}

#[test]
fn definitions_are_checked_for_jsonata_rules() {
    let bad = [
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {}, "End": true}}}),
            "/States/P/Parameters",
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": {}, "End": true}}}),
            "/States/P/Output",
        ),
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}),
            "/States/W/SecondsPath",
        ),
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": true}}}),
            "/States/P/Result",
        ),
        (
            json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Output": 1, "Next": "C"}], "Default": "C"}}}),
            "/States/C/Choices/0/Output",
        ),
        (
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "Items": [1], "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}),
            "/States/M/Items",
        ),
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% 1 + %}", "End": true}}}),
            "/States/P/Output",
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"states": 1}, "End": true}}}),
            "/States/P/Assign/states",
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"1x": 1}, "End": true}}}),
            "/States/P/Assign/1x",
        ),
        (
            json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "C"}]}}}),
            "/States/C/Choices/0/Condition",
        ),
    ];
    for (def, at) in bad {
        let d = sfn_harness::validate(&def.to_string());
        assert!(
            d.iter().any(|d| d.code == "SCHEMA_VALIDATION_FAILED" && d.location == at),
            "{at}: {d:?}"
        );
    }
}

#[test]
fn a_state_may_switch_language_and_strings_outside_braces_stay_literal() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "Assign": {"y.$": "$.x"}, "Next": "B"},
        "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"sum": "{% $states.input.x + $y %}", "lit": " {% not an expression %}", "path": "$.x"}, "End": true}}});
    assert_eq!(
        harness(def).run_blocking(json!({"x": 2})).output(),
        &json!({"sum": 4, "lit": " {% not an expression %}", "path": "$.x"})
    );
}

#[test]
fn what_one_state_assigns_is_at_most_256_kib() {
    let def = jsonata(
        json!({"P": {"Type": "Pass", "Assign": {"big": "{% $join([1..60000].$string($), ',') %}"}, "End": true}}),
        "P",
    );
    let exec = harness(def).run_blocking(json!({}));
    exec.assert_failed_with("States.DataLimitExceeded");
}

/// A JSONPath machine (Parameters with intrinsics, ResultPath, Choice,
/// Map with ItemSelector) and its JSONata translation.
fn jsonpath_machine() -> Value {
    json!({"StartAt": "Shape", "States": {
        "Shape": {"Type": "Pass", "ResultPath": "$.shaped", "Next": "Check", "Parameters": {
            "name.$": "$.name", "total.$": "States.ArrayLength($.items)", "first.$": "States.ArrayGetItem($.items, 0)",
            "tag.$": "States.Format('item-{}', $.name)", "items.$": "$.items"}},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.shaped.total", "NumericGreaterThan": 2, "Next": "Many"}], "Default": "Few"},
        "Many": {"Type": "Map", "ItemsPath": "$.shaped.items", "ResultPath": "$.doubled", "Next": "Done",
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
            "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "End": true,
                "Parameters": {"v.$": "States.MathAdd($.value, $.value)", "i.$": "$.index"}}}}},
        "Few": {"Type": "Pass", "Result": "few", "ResultPath": "$.doubled", "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}})
}

fn jsonata_machine() -> Value {
    jsonata(
        json!({
            "Shape": {"Type": "Pass", "Next": "Check", "Output": "{% $merge([$states.input, {'shaped': {'name': $states.input.name, 'total': $count($states.input.items), 'first': $states.input.items[0], 'tag': 'item-' & $states.input.name, 'items': $states.input.items}}]) %}"},
            "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.shaped.total > 2 %}", "Next": "Many"}], "Default": "Few"},
            "Many": {"Type": "Map", "Items": "{% $states.input.shaped.items %}", "Next": "Done",
                "ItemSelector": {"value": "{% $states.context.Map.Item.Value %}", "index": "{% $states.context.Map.Item.Index %}"},
                "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "End": true,
                    "Output": {"v": "{% $states.input.value + $states.input.value %}", "i": "{% $states.input.index %}"}}}},
                "Output": "{% $merge([$states.input, {'doubled': $states.result}]) %}"},
            "Few": {"Type": "Pass", "Next": "Done", "Output": "{% $merge([$states.input, {'doubled': 'few'}]) %}"},
            "Done": {"Type": "Pass", "End": true}
        }),
        "Shape",
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_jsonpath_machine_and_its_jsonata_translation_agree(name in "[a-z]{1,8}", items in prop::collection::vec(-1000i64..1000, 1..6)) {
        let input = json!({"name": name, "items": items});
        let a = harness(jsonpath_machine()).run_blocking(input.clone());
        let b = harness(jsonata_machine()).run_blocking(input);
        prop_assert!(a.succeeded(), "{}", a.trace());
        prop_assert!(b.succeeded(), "{}", b.trace());
        prop_assert_eq!(a.output(), b.output());
        prop_assert_eq!(a.event_types(), b.event_types());
    }
}

#[test]
fn a_runaway_expression_fails_instead_of_holding_the_execution() {
    // an endless tail recursion: JSONata's own timeout ends it
    let def = jsonata(
        json!({"P": {"Type": "Pass", "Output": "{% ($f := function($n){ $f($n + 1) }; $f(0)) %}", "End": true}}),
        "P",
    );
    let exec = harness(def).run_blocking(json!({}));
    exec.assert_failed_with("States.QueryEvaluationError");
    // a deep non-tail recursion stops at the nesting bound
    let def = jsonata(
        json!({"P": {"Type": "Pass", "Output": "{% ($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000000)) %}", "End": true}}),
        "P",
    );
    let exec = harness(def).run_blocking(json!({}));
    exec.assert_failed_with("States.QueryEvaluationError");
}

#[test]
fn an_item_reader_takes_jsonata_arguments_and_max_items() {
    let def = jsonata(
        json!({"M": {"Type": "Map", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"},
                "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "items.json"}},
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"from": "{% $states.input.bucket %}"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Output": "{% $count($states.input.Items) & '@' & $states.input.BatchInput.from %}", "End": true}}}}}),
        "M",
    );
    let exec = harness(def)
        .s3_object("b", "items.json", "[1, 2, 3, 4, 5]")
        .run_blocking(json!({"bucket": "b", "max": 3}));
    assert_eq!(exec.output(), &json!(["2@b", "1@b"]));
}

#[test]
fn pad_works_but_refuses_a_width_no_payload_could_hold() {
    let def = jsonata(
        json!({"P": {"Type": "Pass", "Output": {"r": "{% $pad('ab', 5, '-') %}", "l": "{% $pad('ab', -4) %}", "same": "{% $pad('abc', 2) %}"}, "End": true}}),
        "P",
    );
    assert_eq!(
        harness(def).run_blocking(json!({})).output(),
        &json!({"r": "ab---", "l": "  ab", "same": "abc"})
    );
    let def = jsonata(
        json!({"P": {"Type": "Pass", "Output": "{% $pad('', 1000000000000, 'x') %}", "End": true}}),
        "P",
    );
    let exec = harness(def).run_blocking(json!({}));
    exec.assert_failed_with("States.QueryEvaluationError");
    assert!(exec.cause().unwrap().contains("larger than a payload can hold"));
}
