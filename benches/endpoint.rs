//! Throughput of the local endpoint over HTTP: StartExecution of the seed
//! with a mock test case, then DescribeExecution, from aws-sdk-sfn clients.
//! Prints requests per second, sequential and with 16 concurrent clients.

use sfn_harness::endpoint::{server, Endpoint, EndpointConfig};
use sfn_harness::sdk::sfn_client;
use sfn_harness::MockConfig;
use std::time::Instant;

/// `n` StartExecution + DescribeExecution pairs; the latency of each pair.
async fn round(client: aws_sdk_sfn::Client, sm: String, n: usize, tag: usize) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let ex = client
            .start_execution()
            .state_machine_arn(format!("{sm}#HappyPath"))
            .name(format!("e-{tag}-{i}"))
            .input(r#"{"input":{"number":0}}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        client.describe_execution().execution_arn(ex).send().await.unwrap();
        latencies.push(t.elapsed().as_secs_f64());
    }
    latencies
}

fn p99(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// The process's resident memory now and at its peak, in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let cfg = EndpointConfig { mock_config: Some(MockConfig::from_file("fixtures/seed/mock-config.json").unwrap()), ..EndpointConfig::default() };
        let srv = server::serve(Endpoint::new(cfg), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let client = sfn_client(&srv.url(), "us-east-1");
        let sm = client
            .create_state_machine()
            .name("state-machine")
            .definition(std::fs::read_to_string("fixtures/seed/state-machine.asl.json").unwrap())
            .role_arn("arn:aws:iam::123456789012:role/r")
            .send()
            .await
            .unwrap()
            .state_machine_arn;
        round(client.clone(), sm.clone(), 200, 999).await; // warm up
        let n = 2000;
        let t = Instant::now();
        round(client.clone(), sm.clone(), n, 0).await;
        println!("endpoint/sequential: {:.0} requests/s (StartExecution + DescribeExecution, {n} pairs)", 2.0 * n as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let tasks: Vec<_> = (0..16).map(|k| tokio::spawn(round(sfn_client(&srv.url(), "us-east-1"), sm.clone(), n / 16, k + 1))).collect();
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        println!("endpoint/16 clients: {:.0} requests/s, p99 {:.1} ms per pair", 2.0 * n as f64 / t.elapsed().as_secs_f64(), p99(latencies) * 1000.0);

        // a history at the 25,000-event quota, paged 1,000 events at a time
        let def = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}"#;
        let long = client.create_state_machine().name("long").definition(def).role_arn("arn:aws:iam::123456789012:role/r").send().await.unwrap().state_machine_arn;
        let items = serde_json::Value::Array(vec![serde_json::json!({"payload": "x".repeat(16)}); 7000]).to_string();
        let exec = client.start_execution().state_machine_arn(&long).input(items).send().await.unwrap().execution_arn;
        while client.describe_execution().execution_arn(&exec).send().await.unwrap().status().as_str() == "RUNNING" {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let t = Instant::now();
        let (mut events, mut token) = (0, None);
        loop {
            let page = client.get_execution_history().execution_arn(&exec).max_results(1000).set_next_token(token).send().await.unwrap();
            events += page.events().len();
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        println!("endpoint/history: {events} events paged 1,000 at a time in {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    });

    // memory: 100,000 executions in process (the endpoint keeps the newest 1,000)
    let ep = Endpoint::new(EndpointConfig {
        mock_config: Some(MockConfig::from_file("fixtures/seed/mock-config.json").unwrap()),
        ..EndpointConfig::default()
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let def = serde_json::json!({"name": "mem", "definition": std::fs::read_to_string("fixtures/seed/state-machine.asl.json").unwrap(), "roleArn": "arn:aws:iam::123456789012:role/r"});
        let (_, out) = ep.handle("CreateStateMachine", def.to_string().as_bytes()).await;
        let sm: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let start = serde_json::json!({"stateMachineArn": format!("{}#HappyPath", sm["stateMachineArn"].as_str().unwrap()), "input": r#"{"input":{"number":0}}"#}).to_string();
        let t = Instant::now();
        for i in 0..100_000 {
            let (status, _) = ep.handle("StartExecution", start.as_bytes()).await;
            assert_eq!(status, 200);
            if i % 64 == 0 {
                tokio::task::yield_now().await;
            }
        }
        tokio::task::yield_now().await;
        let (rss, peak) = rss_mib();
        println!("endpoint/memory: 100,000 executions in {:.1} s; RSS {rss:.0} MiB (peak {peak:.0} MiB)", t.elapsed().as_secs_f64());
    });
}
