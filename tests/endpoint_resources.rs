//! The endpoint's resources beyond running executions, driven by
//! aws-sdk-sfn over HTTP: tags, configurations, the role an execution runs
//! as, and the machine an execution started.

use aws_sdk_sfn::types::{
    CloudWatchLogsLogGroup, EncryptionConfiguration, EncryptionType, LogDestination, LogLevel,
    LoggingConfiguration, Tag, TracingConfiguration,
};
use sfn_harness::endpoint::{server, Endpoint, EndpointConfig};
use sfn_harness::sdk::sfn_client;

mod common;

const ROLE: &str = "arn:aws:iam::123456789012:role/sfn";
const PASS: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;

use common::{error_code as code, serve_default as start};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or("").to_string(), t.value().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test]
async fn state_machines_and_activities_carry_tags() {
    let (_srv, c) = start().await;
    let sm = c
        .create_state_machine()
        .name("tagged")
        .definition(PASS)
        .role_arn(ROLE)
        .tags(tag("team", "data"))
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    c.tag_resource()
        .resource_arn(&sm)
        .tags(tag("stage", "dev"))
        .tags(tag("team", "platform"))
        .send()
        .await
        .unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&sm).send().await.unwrap();
    assert_eq!(
        pairs(tags.tags()),
        [("team".into(), "platform".into()), ("stage".into(), "dev".into())]
    );
    c.untag_resource().resource_arn(&sm).tag_keys("team").tag_keys("absent").send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&sm).send().await.unwrap();
    assert_eq!(pairs(tags.tags()), [("stage".to_string(), "dev".to_string())]);

    let act =
        c.create_activity().name("work").tags(tag("k", "")).send().await.unwrap().activity_arn;
    let tags = c.list_tags_for_resource().resource_arn(&act).send().await.unwrap();
    assert_eq!(pairs(tags.tags()), [("k".to_string(), String::new())]);

    // unknown resources, malformed ARNs, too many tags, bad keys
    let gone = sm.replace(":tagged", ":gone");
    let e = c.list_tags_for_resource().resource_arn(&gone).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "ResourceNotFound");
    let e =
        c.tag_resource().resource_arn("not-an-arn").tags(tag("a", "b")).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "InvalidArn");
    let mut many = c.tag_resource().resource_arn(&sm);
    for i in 0..50 {
        many = many.tags(tag(&format!("k{i}"), "v"));
    }
    let e = many.send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "TooManyTags");
    let e = c
        .tag_resource()
        .resource_arn(&sm)
        .tags(tag(&"k".repeat(129), "v"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "ValidationException");
    // a deleted machine's tags go with it
    c.delete_state_machine().state_machine_arn(&sm).send().await.unwrap();
    c.create_state_machine().name("tagged").definition(PASS).role_arn(ROLE).send().await.unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&sm).send().await.unwrap();
    assert!(tags.tags().is_empty());
}

#[tokio::test]
async fn configurations_are_checked_kept_and_described() {
    let (_srv, c) = start().await;
    let sm = c
        .create_state_machine()
        .name("configured")
        .definition(PASS)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let d = c.describe_state_machine().state_machine_arn(&sm).send().await.unwrap();
    let logging = d.logging_configuration().unwrap();
    assert_eq!((logging.level(), logging.include_execution_data()), (Some(&LogLevel::Off), false));
    assert_eq!(d.tracing_configuration().map(|t| t.enabled()), Some(false));

    // an update with only a tracing configuration is accepted, as AWS accepts it
    c.update_state_machine()
        .state_machine_arn(&sm)
        .tracing_configuration(TracingConfiguration::builder().enabled(true).build())
        .send()
        .await
        .unwrap();
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/sfn/configured:*";
    c.update_state_machine()
        .state_machine_arn(&sm)
        .logging_configuration(
            LoggingConfiguration::builder()
                .level(LogLevel::Error)
                .include_execution_data(true)
                .destinations(
                    LogDestination::builder()
                        .cloud_watch_logs_log_group(
                            CloudWatchLogsLogGroup::builder().log_group_arn(group).build(),
                        )
                        .build(),
                )
                .build(),
        )
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .r#type(EncryptionType::CustomerManagedKmsKey)
                .kms_key_id("alias/sfn")
                .kms_data_key_reuse_period_seconds(120)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let d = c.describe_state_machine().state_machine_arn(&sm).send().await.unwrap();
    assert_eq!(d.tracing_configuration().map(|t| t.enabled()), Some(true));
    let logging = d.logging_configuration().unwrap();
    assert_eq!(logging.level(), Some(&LogLevel::Error));
    assert_eq!(
        logging.destinations()[0].cloud_watch_logs_log_group().unwrap().log_group_arn(),
        Some(group)
    );
    let enc = d.encryption_configuration().unwrap();
    assert_eq!(
        (enc.kms_key_id(), enc.kms_data_key_reuse_period_seconds()),
        (Some("alias/sfn"), Some(120))
    );

    // what AWS refuses
    let e = c
        .update_state_machine()
        .state_machine_arn(&sm)
        .logging_configuration(LoggingConfiguration::builder().level(LogLevel::All).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "InvalidLoggingConfiguration");
    let e = c
        .create_state_machine()
        .name("cmk")
        .definition(PASS)
        .role_arn(ROLE)
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .r#type(EncryptionType::CustomerManagedKmsKey)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "InvalidEncryptionConfiguration");
    let e = c.update_state_machine().state_machine_arn(&sm).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "MissingRequiredParameter");

    // an activity keeps its encryption configuration
    let key = EncryptionConfiguration::builder()
        .r#type(EncryptionType::CustomerManagedKmsKey)
        .kms_key_id("alias/activities")
        .build()
        .unwrap();
    let act = c.create_activity().name("work").encryption_configuration(key).send().await.unwrap();
    let d = c.describe_activity().activity_arn(act.activity_arn()).send().await.unwrap();
    let enc = d.encryption_configuration().unwrap();
    assert_eq!(
        (enc.kms_key_id(), enc.kms_data_key_reuse_period_seconds()),
        (Some("alias/activities"), Some(300))
    );
}

#[tokio::test]
async fn an_execution_runs_as_its_machines_role_and_remembers_the_machine_it_started() {
    let (_srv, c) = start().await;
    for bad in ["not-an-arn", "arn:aws:iam::aws:policy/AWSBatchFullAccess", "arn:aws:s3:::bucket"] {
        let e = c
            .create_state_machine()
            .name("m")
            .definition(PASS)
            .role_arn(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(e.into_service_error()), "InvalidArn", "{bad}");
    }
    let role = "arn:aws:iam::123456789012:role/pipeline-role";
    let sm = c
        .create_state_machine()
        .name("m")
        .definition(PASS)
        .role_arn(role)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let exec = c.start_execution().state_machine_arn(&sm).send().await.unwrap().execution_arn;
    let events = c.get_execution_history().execution_arn(&exec).send().await.unwrap().events;
    let started = events[0].execution_started_event_details().unwrap();
    assert_eq!(started.role_arn(), Some(role));

    // the machine changes; the execution's machine stays what it started
    let other = r#"{"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}}"#;
    c.update_state_machine()
        .state_machine_arn(&sm)
        .definition(other)
        .role_arn("arn:aws:iam::123456789012:role/new")
        .send()
        .await
        .unwrap();
    let d = c.describe_state_machine_for_execution().execution_arn(&exec).send().await.unwrap();
    assert_eq!((d.state_machine_arn(), d.name(), d.definition()), (sm.as_str(), "m", PASS));
    assert_eq!(d.role_arn(), role);
    assert_eq!(d.logging_configuration().and_then(|l| l.level()), Some(&LogLevel::Off));
    let later = c.start_execution().state_machine_arn(&sm).send().await.unwrap().execution_arn;
    let d = c.describe_state_machine_for_execution().execution_arn(&later).send().await.unwrap();
    assert_eq!(d.definition(), other);
    let missing = exec.replace(exec.rsplit(':').next().unwrap(), "missing");
    let e =
        c.describe_state_machine_for_execution().execution_arn(&missing).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "ExecutionDoesNotExist");
}

/// A raw exchange with headers of our own (a signature no SDK here would make).
fn raw(
    addr: std::net::SocketAddr,
    method: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "{method} / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn signed(region: &str, key: &str) -> String {
    format!("Authorization: AWS4-HMAC-SHA256 Credential={key}/20240101/{region}/states/aws4_request, SignedHeaders=host;x-amz-target, Signature=00\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arns_are_in_the_callers_region_and_account() {
    let (srv, _c) = start().await;
    let addr = srv.addr;
    let out = tokio::task::spawn_blocking(move || {
        let create = format!(r#"{{"name": "m", "definition": {}, "roleArn": "{ROLE}"}}"#, serde_json::to_string(PASS).unwrap());
        let h = signed("eu-west-1", "000000000000") + "X-Amz-Target: AWSStepFunctions.CreateStateMachine\r\n";
        let made = raw(addr, "POST", &h, &create);
        let h = signed("ap-southeast-2", "AKIAIOSFODNN7EXAMPLE") + "X-Amz-Target: AWSStepFunctions.CreateActivity\r\n";
        let act = raw(addr, "POST", &h, r#"{"name": "a"}"#);
        let h = signed("eu-west-1", "000000000000") + "X-Amz-Target: AWSStepFunctions.StartExecution\r\n";
        let start = raw(addr, "POST", &h, r#"{"stateMachineArn": "arn:aws:states:eu-west-1:000000000000:stateMachine:m", "name": "e"}"#);
        let get = raw(addr, "GET", "", "");
        (made, act, start, get)
    })
    .await
    .unwrap();
    let arn = |r: &(u16, String, String), k: &str| {
        serde_json::from_str::<serde_json::Value>(&r.2).unwrap()[k]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        arn(&out.0, "stateMachineArn"),
        "arn:aws:states:eu-west-1:000000000000:stateMachine:m",
        "{:?}",
        out.0
    );
    assert_eq!(arn(&out.1, "activityArn"), "arn:aws:states:ap-southeast-2:581039954779:activity:a");
    assert_eq!(
        arn(&out.2, "executionArn"),
        "arn:aws:states:eu-west-1:000000000000:execution:m:e",
        "{:?}",
        out.2
    );
    // only POST is served
    assert_eq!(out.3 .0, 405, "{:?}", out.3);
    // every response has a request id of its own
    let id = |r: &(u16, String, String)| {
        r.1.lines().find_map(|l| l.strip_prefix("x-amzn-requestid: ")).unwrap_or("").to_string()
    };
    let ids = [id(&out.0), id(&out.1), id(&out.2), id(&out.3)];
    assert!(ids.iter().all(|i| i.len() == 36), "{ids:?}");
    assert_eq!(ids.iter().collect::<std::collections::BTreeSet<_>>().len(), 4, "{ids:?}");
}

fn pass_with(result: &str) -> String {
    format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Pass", "Result": "{result}", "End": true}}}}}}"#
    )
}

#[tokio::test]
async fn versions_are_published_described_and_run() {
    let (_srv, c) = start().await;
    let e = c
        .create_state_machine()
        .name("v")
        .definition(pass_with("one"))
        .role_arn(ROLE)
        .version_description("first")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "ValidationException", "a description needs publish");
    let made = c
        .create_state_machine()
        .name("v")
        .definition(pass_with("one"))
        .role_arn(ROLE)
        .publish(true)
        .version_description("first")
        .send()
        .await
        .unwrap();
    let sm = made.state_machine_arn().to_string();
    let v1 = made.state_machine_version_arn().unwrap().to_string();
    assert_eq!(v1, format!("{sm}:1"));
    let updated = c
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(pass_with("two"))
        .publish(true)
        .send()
        .await
        .unwrap();
    let v2 = updated.state_machine_version_arn().unwrap().to_string();
    assert_eq!(v2, format!("{sm}:2"));
    // nothing changed since: publishing gives the latest version again
    let again = c.publish_state_machine_version().state_machine_arn(&sm).send().await.unwrap();
    assert_eq!(again.state_machine_version_arn(), v2);
    let e = c
        .publish_state_machine_version()
        .state_machine_arn(&sm)
        .revision_id("not-the-revision")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "ConflictException");
    let listed = c.list_state_machine_versions().state_machine_arn(&sm).send().await.unwrap();
    let arns: Vec<&str> =
        listed.state_machine_versions().iter().map(|v| v.state_machine_version_arn()).collect();
    assert_eq!(arns, [v2.as_str(), v1.as_str()], "newest first");
    let d = c.describe_state_machine().state_machine_arn(&v1).send().await.unwrap();
    assert_eq!((d.definition(), d.description()), (pass_with("one").as_str(), Some("first")));
    assert!(d.revision_id().is_some());

    // an execution of a version runs that version
    let exec = c.start_execution().state_machine_arn(&v1).send().await.unwrap().execution_arn;
    let d = common::wait_done(&c, &exec).await;
    assert_eq!(d.output(), Some(r#""one""#));
    assert_eq!(
        (d.state_machine_arn(), d.state_machine_version_arn()),
        (sm.as_str(), Some(v1.as_str()))
    );
    let exec = c.start_execution().state_machine_arn(&sm).send().await.unwrap().execution_arn;
    let d = common::wait_done(&c, &exec).await;
    assert_eq!((d.output(), d.state_machine_version_arn()), (Some(r#""two""#), None));
    let through_v1 = c.list_executions().state_machine_arn(&v1).send().await.unwrap();
    assert_eq!(through_v1.executions().len(), 1);
    let e = c.start_execution().state_machine_arn(format!("{sm}:9")).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "StateMachineDoesNotExist");
}

#[tokio::test]
async fn aliases_route_executions_by_weight_and_guard_their_versions() {
    use aws_sdk_sfn::types::RoutingConfigurationListItem as Route;
    let route =
        |v: &str, w: i32| Route::builder().state_machine_version_arn(v).weight(w).build().unwrap();
    let (_srv, c) = start().await;
    let sm = c
        .create_state_machine()
        .name("a")
        .definition(pass_with("one"))
        .role_arn(ROLE)
        .publish(true)
        .send()
        .await
        .unwrap();
    let (sm, v1) =
        (sm.state_machine_arn().to_string(), sm.state_machine_version_arn().unwrap().to_string());
    let v2 = c
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(pass_with("two"))
        .publish(true)
        .send()
        .await
        .unwrap()
        .state_machine_version_arn()
        .unwrap()
        .to_string();
    let e = c
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&v1, 50))
        .routing_configuration(route(&v2, 40))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "ValidationException", "weights must add up to 100");
    let e = c
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&format!("{sm}:7"), 100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e.into_service_error()), "ResourceNotFound");
    let alias = c
        .create_state_machine_alias()
        .name("live")
        .description("canary")
        .routing_configuration(route(&v1, 80))
        .routing_configuration(route(&v2, 20))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn;
    assert_eq!(alias, format!("{sm}:live"));
    let d = c.describe_state_machine_alias().state_machine_alias_arn(&alias).send().await.unwrap();
    assert_eq!(
        (d.name(), d.description(), d.routing_configuration().len()),
        (Some("live"), Some("canary"), 2)
    );

    let mut ran = std::collections::BTreeMap::new();
    for i in 0..40 {
        let exec = c
            .start_execution()
            .state_machine_arn(&alias)
            .name(format!("e{i}"))
            .send()
            .await
            .unwrap()
            .execution_arn;
        let d = common::wait_done(&c, &exec).await;
        assert_eq!(d.state_machine_alias_arn(), Some(alias.as_str()));
        let version = d.state_machine_version_arn().unwrap().to_string();
        let want = if version == v1 { r#""one""# } else { r#""two""# };
        assert_eq!(d.output(), Some(want), "the version it names is the one it ran");
        *ran.entry(version).or_insert(0) += 1;
    }
    assert_eq!(ran.len(), 2, "both versions take executions: {ran:?}");
    assert!(ran[&v1] > ran[&v2], "80 % against 20 %: {ran:?}");
    let listed = c.list_executions().state_machine_arn(&alias).send().await.unwrap();
    assert_eq!(listed.executions().len(), 40);

    // a version an alias routes to cannot be deleted
    let e =
        c.delete_state_machine_version().state_machine_version_arn(&v1).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "ConflictException");
    c.update_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .routing_configuration(route(&v2, 100))
        .send()
        .await
        .unwrap();
    let exec = c.start_execution().state_machine_arn(&alias).send().await.unwrap().execution_arn;
    assert_eq!(common::wait_done(&c, &exec).await.output(), Some(r#""two""#));
    c.delete_state_machine_version().state_machine_version_arn(&v1).send().await.unwrap();
    let listed = c.list_state_machine_versions().state_machine_arn(&sm).send().await.unwrap();
    assert_eq!(listed.state_machine_versions().len(), 1);
    let aliases = c.list_state_machine_aliases().state_machine_arn(&sm).send().await.unwrap();
    assert_eq!(aliases.state_machine_aliases()[0].state_machine_alias_arn(), alias);
    c.delete_state_machine_alias().state_machine_alias_arn(&alias).send().await.unwrap();
    let e =
        c.describe_state_machine_alias().state_machine_alias_arn(&alias).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "ResourceNotFound");
}

#[tokio::test]
async fn a_failed_execution_is_redriven_from_the_state_that_failed() {
    let mocks = sfn_harness::MockConfig::from_str(
        r#"{"StateMachines": {"etl": {"TestCases": {"FlakyLoad": {"Load": "DownThenUp"}}}},
            "MockedResponses": {"DownThenUp": {
                "0": {"Throw": {"Error": "Db.Unavailable", "Cause": "the database is down"}},
                "1": {"Return": {"rows": 42}}}}}"#,
    )
    .unwrap();
    let cfg = EndpointConfig { mock_config: Some(mocks), ..EndpointConfig::default() };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = sfn_client(&srv.url(), "us-east-1");
    let def = r#"{"StartAt": "Extract", "States": {
        "Extract": {"Type": "Pass", "Result": {"table": "orders"}, "Next": "Load"},
        "Load": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}"#;
    let sm = c
        .create_state_machine()
        .name("etl")
        .definition(def)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let exec = c
        .start_execution()
        .state_machine_arn(format!("{sm}#FlakyLoad"))
        .name("nightly")
        .send()
        .await
        .unwrap()
        .execution_arn;
    let d = common::wait_done(&c, &exec).await;
    assert_eq!((d.status().as_str(), d.error()), ("FAILED", Some("Db.Unavailable")));
    assert_eq!(d.redrive_status().map(|s| s.as_str()), Some("REDRIVABLE"));
    let first = c.get_execution_history().execution_arn(&exec).send().await.unwrap().events;

    let redriven = c.redrive_execution().execution_arn(&exec).send().await.unwrap();
    let d = common::wait_done(&c, &exec).await;
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(d.output(), Some(r#"{"rows":42}"#));
    assert_eq!(d.redrive_count(), Some(1));
    assert_eq!(d.redrive_date(), Some(&redriven.redrive_date));
    assert_eq!(d.redrive_status().map(|s| s.as_str()), Some("NOT_REDRIVABLE"));
    assert!(d.redrive_status_reason().unwrap().contains("SUCCEEDED"));
    let all = c.get_execution_history().execution_arn(&exec).send().await.unwrap().events;
    let types: Vec<&str> = all.iter().map(|e| e.r#type().as_str()).collect();
    let n = first.len();
    assert_eq!(types[n - 1], "ExecutionFailed");
    assert_eq!(&types[n..n + 3], ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled"]);
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(types.iter().filter(|t| **t == "PassStateEntered").count(), 1, "Extract ran once");
    assert_eq!(all[n].execution_redriven_event_details().unwrap().redrive_count(), Some(1));
    assert_eq!((all[n].id(), all[n].previous_event_id()), (n as i64 + 1, n as i64));

    let listed = c
        .list_executions()
        .state_machine_arn(&sm)
        .redrive_filter(aws_sdk_sfn::types::ExecutionRedriveFilter::Redriven)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1);
    // a succeeded execution is not redriven again
    let e = c.redrive_execution().execution_arn(&exec).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "ExecutionNotRedrivable");
    let missing = exec.replace("nightly", "never");
    let e = c.redrive_execution().execution_arn(&missing).send().await.unwrap_err();
    assert_eq!(code(e.into_service_error()), "ExecutionDoesNotExist");
}

#[tokio::test]
async fn a_stopped_execution_is_redriven_and_its_activity_answered() {
    let (_srv, c) = start().await;
    let act = c.create_activity().name("approve").send().await.unwrap().activity_arn;
    let def = format!(
        r#"{{"StartAt": "Prepare", "States": {{
            "Prepare": {{"Type": "Pass", "Next": "Approve"}},
            "Approve": {{"Type": "Task", "Resource": "{act}", "End": true}}}}}}"#
    );
    let sm = c
        .create_state_machine()
        .name("approval")
        .definition(def)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let exec =
        c.start_execution().state_machine_arn(&sm).name("one").send().await.unwrap().execution_arn;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    c.stop_execution().execution_arn(&exec).error("Operator").send().await.unwrap();
    let d = c.describe_execution().execution_arn(&exec).send().await.unwrap();
    assert_eq!(d.status().as_str(), "ABORTED");
    c.redrive_execution().execution_arn(&exec).send().await.unwrap();
    // the activity is scheduled again: a worker answers it
    let task = c.get_activity_task().activity_arn(&act).send().await.unwrap();
    let token = task.task_token().unwrap().to_string();
    c.send_task_success().task_token(&token).output(r#"{"approved":true}"#).send().await.unwrap();
    let d = common::wait_done(&c, &exec).await;
    assert_eq!((d.status().as_str(), d.output()), ("SUCCEEDED", Some(r#"{"approved":true}"#)));
    let events = c.get_execution_history().execution_arn(&exec).send().await.unwrap().events;
    let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    let at = types.iter().position(|t| *t == "ExecutionAborted").unwrap();
    assert_eq!(&types[at..at + 3], ["ExecutionAborted", "ExecutionRedriven", "TaskStateEntered"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_definition_nested_ten_thousand_deep_is_refused_and_the_server_lives() {
    let (srv, c) = start().await;
    let addr = srv.addr;
    let n = 10_000;
    let expr = format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
    let def = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": expr}, "End": true}}}).to_string();
    let jsonata = format!(
        r#"{{"QueryLanguage": "JSONata", "StartAt": "P", "States": {{"P": {{"Type": "Pass", "Output": "{{% {}1{} %}}", "End": true}}}}}}"#,
        "[".repeat(n),
        "]".repeat(n)
    );
    let out = tokio::task::spawn_blocking(move || {
        let mut answers = Vec::new();
        for d in [&def, &jsonata] {
            let body = serde_json::json!({"definition": d}).to_string();
            let h = "X-Amz-Target: AWSStepFunctions.ValidateStateMachineDefinition\r\n";
            answers.push(raw(addr, "POST", h, &body));
            let body =
                serde_json::json!({"name": "deep", "definition": d, "roleArn": ROLE}).to_string();
            answers.push(raw(
                addr,
                "POST",
                "X-Amz-Target: AWSStepFunctions.CreateStateMachine\r\n",
                &body,
            ));
            let body =
                serde_json::json!({"definition": d, "roleArn": ROLE, "input": "{}"}).to_string();
            answers.push(raw(addr, "POST", "X-Amz-Target: AWSStepFunctions.TestState\r\n", &body));
        }
        answers
    })
    .await
    .unwrap();
    for (i, (status, _, body)) in out.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        match i % 3 {
            0 => assert_eq!((*status, v["result"].as_str()), (200, Some("FAIL")), "{body}"),
            _ => assert_eq!(*status, 400, "{body}"),
        }
    }
    // and it still serves
    c.list_state_machines().send().await.unwrap();
}
