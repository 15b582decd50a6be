//! What teams deploy: SAM and CloudFormation templates in YAML or JSON,
//! short-form tags, DefinitionUri and DefinitionSubstitutions, and bare ASL
//! files with `${Name}` placeholders.

use serde_json::json;
use sfn_harness::workers::seed_worker;
use sfn_harness::{Harness, HarnessError, TaskReply};
use std::collections::BTreeMap;

fn number(n: i64) -> serde_json::Value {
    json!({"input": {"number": n}})
}

#[test]
fn the_seed_runs_the_same_from_cdk_json_sam_yaml_and_an_inline_yaml_definition() {
    let sources = [
        "fixtures/seed/StepFunctionsStack.template.json",
        "fixtures/seed-sam/template.yaml#SeedStateMachine",
        "fixtures/seed-sam/template.yaml#InlineStateMachine",
    ];
    for n in [0, 2, -1] {
        let runs: Vec<_> = sources
            .iter()
            .map(|s| {
                Harness::from_file(s)
                    .unwrap()
                    .on_task("FargateTask", seed_worker)
                    .run_blocking(number(n))
            })
            .collect();
        for (s, e) in sources.iter().zip(&runs) {
            assert_eq!(e.status(), runs[0].status(), "{s} {n}");
            assert_eq!(e.output(), runs[0].output(), "{s} {n}");
            assert_eq!(e.error(), runs[0].error(), "{s} {n}");
            assert_eq!(e.invocations("FargateTask"), runs[0].invocations("FargateTask"), "{s}");
            assert_eq!(e.event_types(), runs[0].event_types(), "{s}");
        }
    }
}

#[test]
fn references_become_readable_arns_named_after_their_logical_ids() {
    let exec = Harness::from_file("fixtures/seed-sam/template.yaml#SeedStateMachine")
        .unwrap()
        .on_task("FargateTask", seed_worker)
        .run_blocking(number(3));
    exec.assert_succeeded();
    let p = &exec.state("FargateTask").attempts[0].parameters;
    assert_eq!(p["Cluster"], "arn:aws:ecs:us-east-1:123456789012:cluster/EcsCluster");
    assert_eq!(p["TaskDefinition"], "arn:aws:ecs:us-east-1:123456789012:task-definition/TaskDef:1");
    assert!(p["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"][0]
        .as_str()
        .unwrap()
        .starts_with("subnet-"));
}

#[test]
fn substitutions_override_what_the_template_says() {
    let h = Harness::from_file("fixtures/seed-sam/template.yaml#SeedStateMachine")
        .unwrap()
        .substitute("ClusterArn", "arn:aws:ecs:eu-west-1:999999999999:cluster/prod")
        .unwrap()
        .on_task("FargateTask", seed_worker);
    let exec = h.run_blocking(number(3));
    assert_eq!(
        exec.state("FargateTask").attempts[0].parameters["Cluster"],
        "arn:aws:ecs:eu-west-1:999999999999:cluster/prod"
    );
    // a logical id stands for what its Ref / GetAtt give
    let subs = BTreeMap::from([("TaskDef".to_string(), "family:7".to_string())]);
    let exec = Harness::from_file_with("fixtures/seed-sam/template.yaml#InlineStateMachine", &subs)
        .unwrap()
        .on_task("FargateTask", seed_worker)
        .run_blocking(number(3));
    assert_eq!(exec.state("FargateTask").attempts[0].parameters["TaskDefinition"], "family:7");
}

#[test]
fn an_unfilled_placeholder_is_named_with_the_flag_that_fills_it() {
    let Err(HarnessError::Invalid(e)) = Harness::from_file("fixtures/placeholders/orders.asl.json")
    else {
        panic!("must not load")
    };
    let d = &e.diagnostics[0];
    assert_eq!(d.code, "UNFILLED_PLACEHOLDER");
    assert_eq!(d.location, "/States/ProcessOrder/Resource");
    assert!(d.message.contains("--substitute ProcessOrderFunctionArn="), "{}", d.message);

    let exec = Harness::from_file("fixtures/placeholders/orders.asl.json").unwrap_err().to_string();
    assert!(exec.contains("ProcessOrderFunctionArn"), "{exec}");

    let subs = BTreeMap::from([
        (
            "ProcessOrderFunctionArn".to_string(),
            "arn:aws:lambda:us-east-1:123456789012:function:process".to_string(),
        ),
        ("OrdersTableName".to_string(), "orders".to_string()),
    ]);
    let exec = Harness::from_file_with("fixtures/placeholders/orders.asl.json", &subs)
        .unwrap()
        .on_task("ProcessOrder", |c| TaskReply::ok(c.parameters.as_ref().clone()))
        .on_task("StoreOrder", |c| {
            assert_eq!(c.parameters["TableName"], "orders");
            TaskReply::ok(json!({}))
        })
        .run_blocking(json!({"id": "o-1"}));
    exec.assert_succeeded();
}

#[test]
fn templates_that_cannot_be_run_say_what_to_pass_instead() {
    let dir = std::env::temp_dir().join(format!("sfn-harness-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s3 = dir.join("s3.yaml");
    std::fs::write(&s3, "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri:\n        Bucket: b\n        Key: k.json\n").unwrap();
    let e = Harness::from_file(s3.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("S3") && e.contains("pass the definition file"), "{e}");
    let two = "fixtures/seed-sam/template.yaml";
    let e = Harness::from_file(two).unwrap_err().to_string();
    assert!(e.contains("SeedStateMachine") && e.contains("#LogicalId"), "{e}");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "a: [unclosed\n").unwrap();
    let e = Harness::from_file(bad.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("neither JSON nor YAML"), "{e}");
}

#[test]
fn a_template_machine_is_named_after_its_logical_id_so_a_parent_finds_it() {
    let child = Harness::from_file("fixtures/seed-sam/template.yaml#SeedStateMachine")
        .unwrap()
        .on_task("FargateTask", seed_worker);
    let exec = child.run_blocking(number(3));
    assert!(
        exec.state_machine_arn().ends_with(":stateMachine:SeedStateMachine"),
        "{}",
        exec.state_machine_arn()
    );
    // what `!Ref SeedStateMachine` gives a parent names the same machine
    let parent = Harness::from_definition(
        r#"{"StartAt": "Run", "States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:SeedStateMachine",
                           "Input": {"input": {"number": 3}}}, "End": true}}}"#,
    )
    .unwrap()
    .with_child(child);
    let exec = parent.run_blocking(json!({}));
    exec.assert_succeeded();
    assert_eq!(exec.output()["Output"]["input"]["number"], 4);
}

#[test]
fn a_parameter_without_default_is_named_and_a_list_parameter_is_a_list() {
    let dir = std::env::temp_dir().join(format!("sfn-harness-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        r#"Parameters:
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
  Groups:
    Type: CommaDelimitedList
    Default: "sg-1, sg-2"
  Cluster:
    Type: String
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      Definition:
        StartAt: Run
        States:
          Run:
            Type: Task
            Resource: arn:aws:states:::ecs:runTask.sync
            Parameters:
              Cluster: !Ref Cluster
              NetworkConfiguration:
                AwsvpcConfiguration:
                  Subnets: !Ref Subnets
                  SecurityGroups: !Ref Groups
              TaskDefinition: !Sub "task-in-${Cluster}"
            End: true
"#,
    )
    .unwrap();
    let path = template.to_str().unwrap();
    let e = Harness::from_file(path).unwrap_err().to_string();
    assert!(e.contains("parameter 'Cluster' (String) has no Default"), "{e}");
    assert!(e.contains("--substitute Cluster=VALUE"), "{e}");
    let subs = BTreeMap::from([("Cluster".to_string(), "c1".to_string())]);
    let e = Harness::from_file_with(path, &subs).unwrap_err().to_string();
    assert!(e.contains("'Subnets' (List<AWS::EC2::Subnet::Id>)"), "{e}");
    let subs = BTreeMap::from([
        ("Cluster".to_string(), "c1".to_string()),
        ("Subnets".to_string(), "subnet-a,subnet-b".to_string()),
    ]);
    let exec = Harness::from_file_with(path, &subs)
        .unwrap()
        .on_task("Run", |c| TaskReply::ok(c.parameters.as_ref().clone()))
        .run_blocking(json!({}));
    exec.assert_succeeded();
    let p = exec.output();
    assert_eq!(p["Cluster"], "c1");
    assert_eq!(p["TaskDefinition"], "task-in-c1");
    assert_eq!(
        p["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"],
        json!(["subnet-a", "subnet-b"])
    );
    assert_eq!(
        p["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"],
        json!(["sg-1", "sg-2"])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unfilled_placeholder_is_reported_in_any_field() {
    let Err(HarnessError::Invalid(e)) = Harness::from_file("fixtures/placeholders/orders.asl.json")
    else {
        panic!("must not load")
    };
    let at: Vec<(&str, &str)> =
        e.diagnostics.iter().map(|d| (d.code, d.location.as_str())).collect();
    assert!(
        at.contains(&("UNFILLED_PLACEHOLDER", "/States/StoreOrder/Parameters/TableName")),
        "{at:?}"
    );
    let d = e.diagnostics.iter().find(|d| d.location.ends_with("TableName")).unwrap();
    assert!(d.message.contains("--substitute OrdersTableName=VALUE"), "{}", d.message);

    // a distributed Map's ItemReader and ResultWriter, a JSONata Arguments
    let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "${DataBucket}", "Key": "items.json"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "${ResultBucket}", "Prefix": "out"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "T", "States": {
            "T": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:${Fn}", "Payload": "{% $states.input %}"}, "End": true}}},
        "End": true}}}"#;
    let d = sfn_harness::validate(def);
    let at: Vec<(&str, &str)> = d.iter().map(|d| (d.code, d.location.as_str())).collect();
    for want in [
        "/States/M/ItemReader/Parameters/Bucket",
        "/States/M/ResultWriter/Parameters/Bucket",
        "/States/M/ItemProcessor/States/T/Arguments/FunctionName",
    ] {
        assert!(at.contains(&("UNFILLED_PLACEHOLDER", want)), "{want} in {at:?}");
    }
    assert_eq!(
        at.iter().filter(|(c, _)| *c == "UNFILLED_PLACEHOLDER").count(),
        3,
        "once each: {at:?}"
    );

    // inside longer text it may be meant literally: a warning, and the machine loads
    let def = r#"{"StartAt": "N", "States": {"N": {"Type": "Pass", "Parameters": {"Message": "Order ${id} shipped"}, "End": true}}}"#;
    let d = sfn_harness::validate(def);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].code, d[0].severity),
        ("UNFILLED_PLACEHOLDER", sfn_harness::Severity::Warning)
    );
    assert!(Harness::from_definition(def).is_ok());
}
