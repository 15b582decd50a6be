//! The seed pipeline with real worker containers: wall time of the
//! four-invocation run, against the same four workers started with a plain
//! `docker run --rm` (same image, same environment, calling back to the same
//! kind of endpoint). The difference is the harness's overhead.
//! Needs Docker (skips without it).

use serde_json::json;
use sfn_harness::containers::{
    bridge_gateway, docker_available, seed_worker_image, serve_tokens, ContainerTasks,
};
use sfn_harness::Harness;
use sfn_harness::TokenRegistry;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    if !docker_available() {
        println!("containers: SKIPPED (no Docker engine)");
        return;
    }
    let image = seed_worker_image().unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        // baseline: four plain docker runs calling back to a token registry
        let reg = Arc::new(TokenRegistry::new());
        let srv =
            serve_tokens(reg.clone(), std::net::SocketAddr::new(bridge_gateway().unwrap(), 0))
                .await
                .unwrap();
        let url = format!("http://host.docker.internal:{}", srv.addr.port());
        let mut baseline = Vec::new();
        for round in 0..3 {
            let t = Instant::now();
            for n in 0..4 {
                let token = format!("baseline-{round}-{n}");
                let _rx = reg.register(&token);
                let out = Command::new("docker")
                    .args(["run", "--rm", "--add-host", "host.docker.internal:host-gateway"])
                    .args([
                        "-e",
                        &format!("INPUT={}", json!({"number": n})),
                        "-e",
                        &format!("TOKEN={token}"),
                    ])
                    .args([
                        "-e",
                        &format!("AWS_ENDPOINT_URL_SFN={url}"),
                        "-e",
                        "AWS_DEFAULT_REGION=us-east-1",
                    ])
                    .args(["-e", "AWS_ACCESS_KEY_ID=x", "-e", "AWS_SECRET_ACCESS_KEY=x", &image])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            }
            baseline.push(t.elapsed().as_secs_f64());
        }
        assert_eq!(reg.calls().success, 12);
        let mut harness_runs = Vec::new();
        for def in [
            "fixtures/seed/state-machine.wait-for-token.asl.json",
            "fixtures/seed/state-machine.asl.json",
        ] {
            for _ in 0..3 {
                let h = Harness::from_file(def).unwrap().on_container_task(
                    "FargateTask",
                    ContainerTasks::new().image("python-container", &image),
                );
                let t = Instant::now();
                let exec = h.run(json!({"input": {"number": 0}})).await;
                assert!(exec.succeeded());
                harness_runs.push(t.elapsed().as_secs_f64());
            }
        }
        let med = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        let (b, h) = (med(baseline), med(harness_runs));
        println!("containers/seed number 0 (4 container runs): {h:.2} s wall (median of 6)");
        println!("containers/baseline: 4 plain `docker run --rm` of the same worker: {b:.2} s");
        println!(
            "containers/overhead: {:.0} ms per invocation ({:.1} %)",
            (h - b) / 4.0 * 1000.0,
            (h - b) / b * 100.0
        );
    });
    sfn_harness::containers::wait_removed(std::time::Duration::from_secs(30));
}
