//! The local endpoint driven by real clients over HTTP: aws-sdk-sfn from
//! Rust here; boto3 and the aws CLI in tests/clients.rs.

use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use sfn_harness::endpoint::{server, Endpoint, EndpointConfig};
use sfn_harness::sdk::sfn_client;
use sfn_harness::MockConfig;
use std::io::{Read, Write};

mod common;

const SEED: &str = "fixtures/seed/state-machine.asl.json";

async fn start() -> (server::Server, Client) {
    let cfg = EndpointConfig {
        mock_config: Some(MockConfig::from_file("fixtures/seed/mock-config.json").unwrap()),
        ..EndpointConfig::default()
    };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = sfn_client(&srv.url(), "us-east-1");
    (srv, client)
}

async fn create(client: &Client, name: &str, definition: &str) -> String {
    client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

/// An EXPRESS state machine (StartSyncExecution runs only those).
async fn create_express(client: &Client, name: &str, definition: &str) -> String {
    client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

fn code<E: aws_sdk_sfn::error::ProvideErrorMetadata>(e: E) -> String {
    e.code().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_seed_runs_through_start_execution_with_a_mock_test_case() {
    let (_srv, client) = start().await;
    let sm = create(&client, "state-machine", &std::fs::read_to_string(SEED).unwrap()).await;
    let exec = client
        .start_execution()
        .state_machine_arn(format!("{sm}#HappyPath"))
        .name("number-0")
        .input(r#"{"input":{"number":0}}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let d = common::wait_done(&client, &exec).await;
    assert_eq!(d.status.as_str(), "SUCCEEDED");
    let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
    assert_eq!(out["input"]["number"], 4);
    // history: paginated, reversible, with or without data
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(&exec)
            .max_results(10)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        events.extend(page.events().iter().map(|e| e.r#type().as_str().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(events.len(), 46);
    assert_eq!(events.iter().filter(|t| *t == "TaskScheduled").count(), 4);
    let rev = client
        .get_execution_history()
        .execution_arn(&exec)
        .reverse_order(true)
        .include_execution_data(false)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(rev.events()[0].r#type().as_str(), "ExecutionSucceeded");
    assert!(rev.events()[0].execution_succeeded_event_details().unwrap().output().is_none());
    let listed = client
        .list_executions()
        .state_machine_arn(&sm)
        .status_filter("SUCCEEDED".into())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1);
    // the same name with another input is refused; unknown resources say so
    let again =
        client.start_execution().state_machine_arn(&sm).name("number-0").input("{}").send().await;
    assert_eq!(code(again.unwrap_err().into_service_error()), "ExecutionAlreadyExists");
    let missing =
        client.describe_state_machine().state_machine_arn(format!("{sm}-nope")).send().await;
    assert_eq!(code(missing.unwrap_err().into_service_error()), "StateMachineDoesNotExist");
    let bad_arn = client.describe_execution().execution_arn("not-an-arn").send().await;
    assert_eq!(code(bad_arn.unwrap_err().into_service_error()), "InvalidArn");
    let no_exec =
        client.describe_execution().execution_arn(exec.replace("number-0", "nope")).send().await;
    assert_eq!(code(no_exec.unwrap_err().into_service_error()), "ExecutionDoesNotExist");
}

#[tokio::test]
async fn definitions_are_validated_and_managed() {
    let (_srv, client) = start().await;
    let bad = client
        .create_state_machine()
        .name("bad")
        .definition(r#"{"StartAt":"X","States":{}}"#)
        .role_arn("arn:aws:iam::1:role/r")
        .send()
        .await;
    assert_eq!(code(bad.unwrap_err().into_service_error()), "InvalidDefinition");
    let v = client
        .validate_state_machine_definition()
        .definition(std::fs::read_to_string("fixtures/invalid.asl.json").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(v.result().as_str(), "FAIL");
    assert!(v
        .diagnostics()
        .iter()
        .any(|d| d.location() == Some("/States/Start/Next")
            && d.code() == "MISSING_TRANSITION_TARGET"));
    let sm = create(&client, "m", &std::fs::read_to_string(SEED).unwrap()).await;
    let d = client.describe_state_machine().state_machine_arn(&sm).send().await.unwrap();
    assert_eq!(d.name(), "m");
    client
        .update_state_machine()
        .state_machine_arn(&sm)
        .definition(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
        .send()
        .await
        .unwrap();
    // StartSyncExecution runs EXPRESS state machines only
    let standard =
        client.start_sync_execution().state_machine_arn(&sm).input(r#"{"a":1}"#).send().await;
    assert_eq!(code(standard.unwrap_err().into_service_error()), "StateMachineTypeNotSupported");
    client.delete_state_machine().state_machine_arn(&sm).send().await.unwrap();
    let sm = create_express(
        &client,
        "m",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    let r = client
        .start_sync_execution()
        .state_machine_arn(&sm)
        .input(r#"{"a":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_str(), "SUCCEEDED");
    assert_eq!(r.output(), Some(r#"{"a":1}"#));
    assert_eq!(client.list_state_machines().send().await.unwrap().state_machines().len(), 1);
    client.delete_state_machine().state_machine_arn(&sm).send().await.unwrap();
    assert!(client.list_state_machines().send().await.unwrap().state_machines().is_empty());
}

#[tokio::test]
async fn an_activity_worker_loop_answers_activity_tasks() {
    let (_srv, client) = start().await;
    let act = client.create_activity().name("doubler").send().await.unwrap().activity_arn;
    let def = json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": act, "TimeoutSeconds": 30, "End": true}}});
    let sm = create(&client, "with-activity", &def.to_string()).await;
    let exec = client
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"n":21}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let task =
        client.get_activity_task().activity_arn(&act).worker_name("w1").send().await.unwrap();
    let input: Value = serde_json::from_str(task.input().unwrap()).unwrap();
    client
        .send_task_success()
        .task_token(task.task_token().unwrap())
        .output(json!({"n": input["n"].as_i64().unwrap() * 2}).to_string())
        .send()
        .await
        .unwrap();
    let d = common::wait_done(&client, &exec).await;
    assert_eq!(d.output(), Some(r#"{"n":42}"#));
    let h = client.get_execution_history().execution_arn(&exec).send().await.unwrap();
    let started = h.events().iter().find(|e| e.r#type().as_str() == "ActivityStarted").unwrap();
    assert_eq!(started.activity_started_event_details().unwrap().worker_name(), Some("w1"));
    let dup =
        client.send_task_success().task_token(task.task_token().unwrap()).output("{}").send().await;
    assert_eq!(code(dup.unwrap_err().into_service_error()), "TaskDoesNotExist");
    let unknown = client.send_task_failure().task_token("nope").send().await;
    assert_eq!(code(unknown.unwrap_err().into_service_error()), "InvalidToken");
    // a second execution, stopped while it waits for its worker
    let exec2 = client
        .start_execution()
        .state_machine_arn(&sm)
        .input("{}")
        .send()
        .await
        .unwrap()
        .execution_arn;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // while it waits, its history so far can be read
    let running = client.get_execution_history().execution_arn(&exec2).send().await.unwrap();
    let types: Vec<&str> = running.events().iter().map(|e| e.r#type().as_str()).collect();
    assert_eq!(
        types,
        ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled"],
        "not started until a worker polls"
    );
    client
        .stop_execution()
        .execution_arn(&exec2)
        .error("Stopped")
        .cause("by the test")
        .send()
        .await
        .unwrap();
    let d2 = client.describe_execution().execution_arn(&exec2).send().await.unwrap();
    assert_eq!(d2.status().as_str(), "ABORTED");
    let h = client.get_execution_history().execution_arn(&exec2).send().await.unwrap();
    assert_eq!(h.events().len(), 4);
    assert_eq!(h.events().last().unwrap().r#type().as_str(), "ExecutionAborted");
}

#[tokio::test]
async fn wait_scale_paces_waits_in_real_time() {
    let cfg = EndpointConfig { wait_scale: 0.05, ..EndpointConfig::default() };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = sfn_client(&srv.url(), "us-east-1");
    let sm = create_express(
        &client,
        "waits",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}"#,
    )
    .await;
    let started = std::time::Instant::now();
    let r = client.start_sync_execution().state_machine_arn(&sm).send().await.unwrap();
    assert_eq!(r.status().as_str(), "SUCCEEDED");
    // 10 virtual seconds at 0.05 real seconds each
    assert!(started.elapsed() >= std::time::Duration::from_millis(500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn test_state_runs_one_state_with_a_mock() {
    let (_srv, client) = start().await;
    let seed: Value = serde_json::from_str(&std::fs::read_to_string(SEED).unwrap()).unwrap();
    let task = seed["States"]["FargateTask"].to_string();
    let r = client
        .test_state()
        .definition(&task)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .input(r#"{"input":{"number":1}}"#)
        .mock(aws_sdk_sfn::types::MockInput::builder().result(r#"{"input":{"number":2}}"#).build())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().map(|s| s.as_str()), Some("SUCCEEDED"));
    assert_eq!(r.output(), Some(r#"{"input":{"number":2}}"#));
    assert_eq!(r.next_state(), Some("Wait"));
}

/// A raw HTTP exchange, for requests no SDK would send.
fn raw(addr: std::net::SocketAddr, target: Option<&str>, body: &str) -> (u16, Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let t = target.map(|t| format!("X-Amz-Target: {t}\r\n")).unwrap_or_default();
    write!(s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n{t}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_aws_error_shapes() {
    let (srv, _client) = start().await;
    let addr = srv.addr;
    let cases = tokio::task::spawn_blocking(move || {
        vec![
            raw(addr, Some("AWSStepFunctions.StartExecution"), "{not json"),
            raw(addr, Some("AWSStepFunctions.StartExecution"), "{}"),
            raw(addr, Some("AWSStepFunctions.Frobnicate"), "{}"),
            raw(addr, None, "{}"),
            raw(addr, Some("AWSStepFunctions.SendTaskSuccess"), r#"{"taskToken":"t"}"#),
            raw(
                addr,
                Some("AWSStepFunctions.CreateStateMachine"),
                r#"{"name":"a b","definition":"{}","roleArn":"r"}"#,
            ),
            raw(
                addr,
                Some("AWSStepFunctions.StartExecution"),
                r#"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:none"}"#,
            ),
        ]
    })
    .await
    .unwrap();
    let want = [
        "SerializationException",
        "ValidationException",
        "UnknownOperationException",
        "UnknownOperationException",
        "ValidationException",
        "InvalidName",
        "StateMachineDoesNotExist",
    ];
    for ((status, body), want) in cases.iter().zip(want) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["__type"], want, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// A calendar that stands still: every execution starts in the same millisecond.
struct FrozenDate;

impl sfn_harness::RealTime for FrozenDate {
    fn now(&self) -> tokio::time::Instant {
        tokio::time::Instant::now()
    }
    fn epoch_ms(&self) -> i64 {
        1_700_000_000_000
    }
    fn sleep_until(&self, deadline: tokio::time::Instant) -> sfn_harness::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline))
    }
}

fn frozen_endpoint() -> Endpoint {
    Endpoint::new(EndpointConfig {
        wall: sfn_harness::Wall::new(FrozenDate),
        ..EndpointConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_started_in_the_same_millisecond_never_share_ids_or_tokens() {
    let srv = server::serve(frozen_endpoint(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = sfn_client(&srv.url(), "us-east-1");
    let act = client.create_activity().name("echo").send().await.unwrap().activity_arn;
    let def = json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": act, "TimeoutSeconds": 60, "End": true}}});
    let sm = create(&client, "together", &def.to_string()).await;
    let mut execs = Vec::new();
    for i in 0..20 {
        execs.push(
            client
                .start_execution()
                .state_machine_arn(&sm)
                .input(json!({"i": i}).to_string())
                .send()
                .await
                .unwrap()
                .execution_arn,
        );
    }
    let mut tokens = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let task = client.get_activity_task().activity_arn(&act).send().await.unwrap();
        let token = task.task_token().unwrap().to_string();
        assert!(tokens.insert(token.clone()), "a token was delivered twice: {token}");
        client
            .send_task_success()
            .task_token(&token)
            .output(task.input().unwrap())
            .send()
            .await
            .unwrap();
    }
    for (i, exec) in execs.iter().enumerate() {
        let d = common::wait_done(&client, exec).await;
        assert_eq!(d.status().as_str(), "SUCCEEDED", "{exec}");
        // each execution got its own answer back
        assert_eq!(d.output(), Some(json!({"i": i}).to_string().as_str()), "{exec}");
    }
}

#[test]
fn the_history_holds_execution_started_as_soon_as_start_execution_returns() {
    // one thread: the execution cannot have run when the history is read
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ep = frozen_endpoint();
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string();
    let body = json!({"name": "at-once", "definition": def, "roleArn": "arn:aws:iam::123456789012:role/sfn"}).to_string();
    let (status, out) = rt.block_on(ep.handle("CreateStateMachine", body.as_bytes()));
    assert_eq!(status, 200);
    let sm: Value = serde_json::from_slice(&out).unwrap();
    for i in 0..50 {
        let start =
            json!({"stateMachineArn": sm["stateMachineArn"], "input": json!({"i": i}).to_string()})
                .to_string();
        let (_, out) = rt.block_on(ep.handle("StartExecution", start.as_bytes()));
        let exec: Value = serde_json::from_slice(&out).unwrap();
        let read = json!({"executionArn": exec["executionArn"]}).to_string();
        let (_, out) = rt.block_on(ep.handle("GetExecutionHistory", read.as_bytes()));
        let h: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(h["events"][0]["type"], "ExecutionStarted", "try {i}: {h}");
        assert_eq!(
            h["events"][0]["executionStartedEventDetails"]["input"],
            json!({"i": i}).to_string()
        );
        // once it has run: its own events follow, without a second ExecutionStarted
        rt.block_on(tokio::task::yield_now());
        let (_, out) = rt.block_on(ep.handle("GetExecutionHistory", read.as_bytes()));
        let h: Value = serde_json::from_slice(&out).unwrap();
        let types: Vec<&str> =
            h["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"],
            "try {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_executions_past_the_retention_are_forgotten_oldest_first() {
    let cfg = EndpointConfig { max_executions: 5, ..EndpointConfig::default() };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = sfn_client(&srv.url(), "us-east-1");
    let sm = create(
        &client,
        "kept",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
    )
    .await;
    let mut execs = Vec::new();
    for i in 0..12 {
        let e = client
            .start_execution()
            .state_machine_arn(&sm)
            .name(format!("e{i}"))
            .send()
            .await
            .unwrap()
            .execution_arn;
        common::wait_done(&client, &e).await;
        execs.push(e);
    }
    let listed = client.list_executions().state_machine_arn(&sm).send().await.unwrap();
    let names: Vec<&str> = listed.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["e11", "e10", "e9", "e8", "e7"]);
    let gone = client.describe_execution().execution_arn(&execs[0]).send().await;
    assert_eq!(code(gone.unwrap_err().into_service_error()), "ExecutionDoesNotExist");
    client.describe_execution().execution_arn(&execs[11]).send().await.unwrap();
}

#[tokio::test]
async fn a_new_machine_of_a_deleted_ones_name_reuses_its_execution_names() {
    let (_srv, client) = start().await;
    let def = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    let sm = create(&client, "again", def).await;
    let first = client
        .start_execution()
        .state_machine_arn(&sm)
        .name("run-1")
        .input(r#"{"v":1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    common::wait_done(&client, &first).await;
    client.delete_state_machine().state_machine_arn(&sm).send().await.unwrap();
    let sm = create(&client, "again", def).await;
    let second = client
        .start_execution()
        .state_machine_arn(&sm)
        .name("run-1")
        .input(r#"{"v":2}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(second, first);
    assert_eq!(common::wait_done(&client, &second).await.output(), Some(r#"{"v":2}"#));
}

#[tokio::test]
async fn a_long_history_pages_forward_and_backward() {
    let (_srv, client) = start().await;
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let sm = create(&client, "long", &def.to_string()).await;
    let exec = client
        .start_execution()
        .state_machine_arn(&sm)
        .input(json!(vec![0; 300]).to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    common::wait_done(&client, &exec).await;
    for reverse in [false, true] {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .get_execution_history()
                .execution_arn(&exec)
                .reverse_order(reverse)
                .max_results(250)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            ids.extend(page.events().iter().map(|e| e.id()));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut want: Vec<i64> = (1..=ids.len() as i64).collect();
        if reverse {
            want.reverse();
        }
        assert_eq!(ids, want);
        assert_eq!(ids.len(), 6 + 300 * 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_and_other_clients_are_served() {
    let cfg = EndpointConfig {
        read_timeout: std::time::Duration::from_millis(300),
        ..EndpointConfig::default()
    };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    // clients that send half a request and stall
    let stalled: Vec<std::net::TcpStream> = (0..200)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\n").unwrap();
            s
        })
        .collect();
    // meanwhile a real client is served
    let client = sfn_client(&srv.url(), "us-east-1");
    client.list_state_machines().send().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    // and each stalled connection has been closed by the server
    let closed = tokio::task::spawn_blocking(move || {
        stalled
            .into_iter()
            .filter(|mut s| {
                s.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
                let mut buf = Vec::new();
                match s.read_to_end(&mut buf) {
                    Ok(_) => true,
                    Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                }
            })
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 200);
    client.list_state_machines().send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_aws_refuses_are_refused_with_awss_error() {
    let ep = Endpoint::new(EndpointConfig::default());
    let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
    let cases = [
        ("StartExecution", json!({"stateMachineArn": sm, "input": {}}), "ValidationException"),
        ("StartExecution", json!({"stateMachineArn": sm, "name": 1}), "ValidationException"),
        (
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "x".repeat(262_145)}),
            "ValidationException",
        ),
        ("CreateStateMachine", json!({"name": "m", "definition": "{}"}), "ValidationException"),
        ("ListExecutions", json!({"stateMachineArn": sm, "maxResults": -1}), "ValidationException"),
        (
            "ListExecutions",
            json!({"stateMachineArn": sm, "statusFilter": "DONE"}),
            "ValidationException",
        ),
        (
            "SendTaskFailure",
            json!({"taskToken": "t", "error": "e".repeat(257)}),
            "ValidationException",
        ),
        ("StopExecution", json!({"executionArn": "not-an-arn"}), "InvalidArn"),
    ];
    for (op, body, want) in cases {
        let (status, out) = ep.handle(op, body.to_string().as_bytes()).await;
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!((status, v["__type"].as_str().unwrap()), (400, want), "{op} {}", v["message"]);
    }
    // a definition just under AWS's quota of 1,048,576 characters is accepted over HTTP
    let srv = server::serve(ep, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = sfn_client(&srv.url(), "us-east-1");
    let def = format!(
        r#"{{"Comment": "{}", "StartAt": "P", "States": {{"P": {{"Type": "Pass", "End": true}}}}}}"#,
        "c".repeat(1_048_000)
    );
    create(&client, "big", &def).await;
    // the API is POST only
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    s.write_all(b"PUT / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 405"), "{resp}");
}

/// The child half of the next test, run with `SFN_HARNESS_MUTANT` set (does
/// nothing otherwise): the seed created through CreateStateMachine runs as
/// the mutant, its loop taking the virtual seconds the parent expects.
#[tokio::test]
async fn create_state_machine_loads_the_mutant_in_a_mutation_run() {
    let Ok(want) = std::env::var("SFN_HARNESS_MUTANT_TEST_EXPECT") else { return };
    let (_srv, client) = start().await;
    let sm = create(&client, "state-machine", &std::fs::read_to_string(SEED).unwrap()).await;
    let exec = client
        .start_execution()
        .state_machine_arn(format!("{sm}#HappyPath"))
        .input(r#"{"input":{"number":0}}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(common::wait_done(&client, &exec).await.status.as_str(), "SUCCEEDED");
    let events = client.get_execution_history().execution_arn(&exec).send().await.unwrap().events;
    let (first, last) = (events.first().unwrap().timestamp, events.last().unwrap().timestamp);
    assert_eq!((last.secs() - first.secs()).to_string(), want);
}

#[test]
fn the_endpoint_honours_sfn_harness_mutant() {
    let h = sfn_harness::Harness::from_file(SEED).unwrap();
    let wait = h.mutants().iter().find(|m| m.operator == "wait_shortened").unwrap().clone();
    let file =
        std::env::temp_dir().join(format!("sfn-endpoint-mutant-{}.json", std::process::id()));
    common::write_mutant_file(SEED, &wait, &file);
    let child = |expect: &str| {
        common::run_test_alone(
            "create_state_machine_loads_the_mutant_in_a_mutation_run",
            &[
                ("SFN_HARNESS_MUTANT", file.as_os_str()),
                ("SFN_HARNESS_MUTANT_TEST_EXPECT", expect.as_ref()),
            ],
        )
    };
    let out = child("20");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!child("40").status.success(), "the child's check can fail");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(format!("{}.loaded", file.display()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_the_oldest_idle_clients_make_room() {
    // half-sent requests would hold their connections for the 30 s read timeout
    let cfg = EndpointConfig {
        read_timeout: std::time::Duration::from_secs(30),
        max_connections: 50,
        ..EndpointConfig::default()
    };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = srv.addr;
    let stalled = tokio::task::spawn_blocking(move || {
        (0..200)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
                s
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // a real client is served at once, not after the stalled ones time out
    let client = sfn_client(&srv.url(), "us-east-1");
    let served = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        client.list_state_machines().send(),
    )
    .await;
    assert!(served.is_ok_and(|r| r.is_ok()), "a new client waited past the cap");
    // the oldest stalled connections were closed to make room (150 of them)
    let closed = tokio::task::spawn_blocking(move || {
        let is_closed = |s: &std::net::TcpStream| {
            let mut s = s;
            s.set_read_timeout(Some(std::time::Duration::from_millis(20))).unwrap();
            let mut buf = [0u8; 1];
            match s.read(&mut buf) {
                Ok(0) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                Ok(_) => false,
            }
        };
        let mut closed = vec![false; stalled.len()];
        for _ in 0..100 {
            for (i, s) in stalled.iter().enumerate() {
                closed[i] = closed[i] || is_closed(s);
            }
            if closed.iter().filter(|c| **c).count() >= 150 {
                break;
            }
        }
        closed
    })
    .await
    .unwrap();
    let count = closed.iter().filter(|c| **c).count();
    assert!(count >= 150, "only {count} of 200 idle connections were closed past a cap of 50");
    let oldest = closed.iter().take(100).filter(|c| **c).count();
    assert!(oldest >= 90, "the oldest go first: {oldest} of the oldest 100 closed");
}

#[tokio::test]
async fn finished_executions_are_forgotten_past_a_byte_budget_too() {
    // each execution holds about 1 MB: five payloads of 200 KB
    let cfg = EndpointConfig { max_retained_bytes: 3_000_000, ..EndpointConfig::default() };
    let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = sfn_client(&srv.url(), "us-east-1");
    let step = |i: usize, next: &str| {
        format!(r#""S{i}": {{"Type": "Pass", "Parameters": {{"v.$": "$.v", "n": {i}}}, {next}}}"#)
    };
    let def = format!(
        r#"{{"StartAt": "S0", "States": {{{}, {}, {}, {}}}}}"#,
        step(0, r#""Next": "S1""#),
        step(1, r#""Next": "S2""#),
        step(2, r#""Next": "S3""#),
        step(3, r#""End": true"#)
    );
    let sm = create(&client, "heavy", &def).await;
    let input = serde_json::json!({"v": "x".repeat(200_000)}).to_string();
    let mut execs = Vec::new();
    for i in 0..10 {
        let e = client
            .start_execution()
            .state_machine_arn(&sm)
            .name(format!("e{i}"))
            .input(&input)
            .send()
            .await
            .unwrap()
            .execution_arn;
        common::wait_done(&client, &e).await;
        execs.push(e);
    }
    let listed = client.list_executions().state_machine_arn(&sm).send().await.unwrap();
    let names: Vec<&str> = listed.executions().iter().map(|e| e.name()).collect();
    assert!(!names.is_empty() && names.len() <= 3, "{names:?}");
    assert_eq!(names[0], "e9", "the newest are kept");
    let gone = client.describe_execution().execution_arn(&execs[0]).send().await;
    assert_eq!(code(gone.unwrap_err().into_service_error()), "ExecutionDoesNotExist");
    // what is kept reads as before
    let h = client.get_execution_history().execution_arn(&execs[9]).send().await.unwrap();
    assert_eq!(h.events().len(), 10);
}
