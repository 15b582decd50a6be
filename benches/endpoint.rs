//! Throughput of the local endpoint over HTTP: StartExecution of the seed
//! with a mock test case, then DescribeExecution, from aws-sdk-sfn clients.
//! Prints requests per second, sequential and with 16 concurrent clients.

use sfn_harness::endpoint::{server, Endpoint, EndpointConfig};
use sfn_harness::sdk::sfn_client;
use sfn_harness::MockConfig;
use std::time::Instant;

async fn round(client: aws_sdk_sfn::Client, sm: String, n: usize, tag: usize) {
    for i in 0..n {
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
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
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
        for t in tasks {
            t.await.unwrap();
        }
        println!("endpoint/16 clients: {:.0} requests/s", 2.0 * n as f64 / t.elapsed().as_secs_f64());
    });
}
