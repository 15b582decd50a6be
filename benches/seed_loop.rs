//! Benchmarks of the seed loop (run with `cargo bench`):
//! - executions per second of the seed pipeline (JSONPath and JSONata), number 0, warm, full history;
//! - the property workload: numbers -1000..1000, 504,510 task invocations.
//!
//! Plain timing over repeated runs (no extra dependency); prints the
//! median of several rounds and the peak resident memory.

use serde_json::json;
use sfn_harness::workers::{increment_number, seed_worker};
use sfn_harness::Harness;
use std::time::Instant;

// RUSTFLAGS="--cfg sfn_harness_mimalloc" cargo bench --bench seed_loop
// measures the same loop with mimalloc as the test binary's allocator.
#[cfg(sfn_harness_mimalloc)]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0))
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));

    // SFN_HARNESS_BENCH_RUNS=N: N worker-model runs of the seed and nothing
    // else, for instruction counts (valgrind --tool=callgrind);
    // SFN_HARNESS_BENCH_DEF picks the definition (default: the JSONPath seed)
    if let Some(n) =
        std::env::var("SFN_HARNESS_BENCH_RUNS").ok().and_then(|v| v.parse::<usize>().ok())
    {
        let def = std::env::var("SFN_HARNESS_BENCH_DEF")
            .unwrap_or_else(|_| "fixtures/seed/state-machine.asl.json".into());
        let h = Harness::from_file(&def).unwrap().on_task("FargateTask", seed_worker);
        for _ in 0..n {
            assert_eq!(
                std::hint::black_box(h.run_blocking(json!({"input": {"number": 0}}))).event_count(),
                46
            );
        }
        return;
    }

    for (name, def, handler) in [
        (
            "seed_loop/sync/increment",
            "fixtures/seed/state-machine.asl.json",
            increment_number as fn(&_) -> _,
        ),
        (
            "seed_loop/sync/worker_model",
            "fixtures/seed/state-machine.asl.json",
            seed_worker as fn(&_) -> _,
        ),
        (
            "seed_loop/wait_for_token/worker_model",
            "fixtures/seed/state-machine.wait-for-token.asl.json",
            seed_worker as fn(&_) -> _,
        ),
        (
            "seed_loop/jsonata/worker_model",
            "fixtures/seed/state-machine.jsonata.asl.json",
            seed_worker as fn(&_) -> _,
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        let h = Harness::from_file(def).unwrap().on_task("FargateTask", handler);
        let input = json!({"input": {"number": 0}});
        for _ in 0..1000 {
            std::hint::black_box(h.run_blocking(input.clone()));
        }
        let n = 20_000;
        let rounds: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    let e = h.run_blocking(input.clone());
                    assert_eq!(e.event_count(), 46);
                    std::hint::black_box(e);
                }
                n as f64 / t.elapsed().as_secs_f64()
            })
            .collect();
        println!("{name}: {:.0} executions/s (median of 5 rounds of {n})", median(rounds));
    }

    if wanted("seed_loop/sync/mock_config") {
        let cfg = sfn_harness::MockConfig::from_file("fixtures/seed/mock-config.json").unwrap();
        let h = Harness::from_file("fixtures/seed/state-machine.asl.json")
            .unwrap()
            .mock_config(&cfg, None, "HappyPath")
            .unwrap();
        let input = json!({"input": {"number": 0}});
        let n = 20_000;
        let rounds: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    std::hint::black_box(h.run_blocking(input.clone()));
                }
                n as f64 / t.elapsed().as_secs_f64()
            })
            .collect();
        println!(
            "seed_loop/sync/mock_config: {:.0} executions/s (median of 5 rounds of {n})",
            median(rounds)
        );
    }

    if wanted("property_workload") {
        let h = Harness::from_file("fixtures/seed/state-machine.asl.json")
            .unwrap()
            .on_task("FargateTask", increment_number);
        let rounds: Vec<f64> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let mut invocations = 0usize;
                for n in -1000i64..1000 {
                    let e = h.run_blocking(json!({"input": {"number": n}}));
                    assert!(e.succeeded());
                    invocations += e.invocations("FargateTask");
                }
                assert_eq!(invocations, 504_510);
                t.elapsed().as_secs_f64()
            })
            .collect();
        println!(
            "property_workload: numbers -1000..1000, 504510 invocations: {:.3} s (median of 3)",
            median(rounds)
        );
    }
    // the simulation scheduler: a Map of 1,000 iterations (Wait 1..10 s,
    // then a Task) all at once and ten at a time; SFN_HARNESS_BENCH_MAP_ROUNDS=N runs
    // N rounds instead of 5 (for a profiler)
    let map_rounds: usize = std::env::var("SFN_HARNESS_BENCH_MAP_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    for limit in [0, 10] {
        let name = format!("map/1000_iterations/max_concurrency_{limit}");
        if !wanted(&name) {
            continue;
        }
        let def = format!(
            r#"{{"StartAt": "Each", "States": {{"Each": {{"Type": "Map", "MaxConcurrency": {limit},
                "ItemProcessor": {{"StartAt": "Nap", "States": {{
                    "Nap": {{"Type": "Wait", "SecondsPath": "$", "Next": "Work"}},
                    "Work": {{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}},
                "End": true}}}}}}"#
        );
        let h = Harness::from_definition(&def)
            .unwrap()
            .on_task("Work", |c| sfn_harness::TaskReply::ok(c.parameters.as_ref().clone()));
        let items: Vec<serde_json::Value> = (0..1000).map(|i| json!(1 + i % 10)).collect();
        let input = serde_json::Value::Array(items);
        let rounds: Vec<f64> = (0..map_rounds)
            .map(|_| {
                let t = Instant::now();
                let e = h.run_blocking(input.clone());
                assert!(e.succeeded());
                assert_eq!(e.invocations("Work"), 1000);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        println!(
            "{name}: {:.1} ms per execution, 8,000+ events (median of {map_rounds})",
            median(rounds)
        );
    }
    // peak memory of an execution that runs into the 25,000-event quota with
    // a 50 KB payload: the seed loop, its worker handing its input back
    // unchanged (equal payloads are kept once), or with a counter in it
    // bumped on every turn (each turn's payload is new: what a shared-subtree
    // value model would still save)
    for (name, bump) in [
        ("memory/25000_events_50kb_payload", false),
        ("memory/25000_events_50kb_payload_changing", true),
    ] {
        if !wanted(name) {
            continue;
        }
        let h = Harness::from_file("fixtures/seed/state-machine.asl.json").unwrap().on_task(
            "FargateTask",
            move |c| {
                let raw = sfn_harness::container_env_var(
                    &c.parameters,
                    Some("python-container"),
                    "INPUT",
                );
                let mut input: serde_json::Value =
                    serde_json::from_str(raw.unwrap_or("null")).unwrap();
                if bump {
                    let turn = input["turn"].as_u64().unwrap_or(0);
                    input["turn"] = json!(turn + 1);
                }
                sfn_harness::TaskReply::ok(json!({"input": input}))
            },
        );
        let blob: Vec<serde_json::Value> = (0..500)
            .map(|i| json!({"id": format!("item-{i:05}"), "payload": "x".repeat(70)}))
            .collect();
        let input = json!({"input": {"number": 0, "blob": blob}});
        let size = input.to_string().len();
        let before = peak_rss_mib();
        // peak RSS from here on (Linux: 5 resets VmHWM)
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let t = Instant::now();
        let e = h.run_blocking(input);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(e.event_count(), 25_000, "{:?}", e.status());
        let peak = peak_rss_mib();
        drop(e);
        println!(
            "{name}: {size} B input, {:.1} MiB peak RSS during the run (process peak before it {before:.1} MiB), {:.2} s",
            peak,
            secs
        );
    }
    let alloc = if cfg!(sfn_harness_mimalloc) { "mimalloc" } else { "system allocator" };
    println!("peak RSS: {:.1} MiB ({alloc})", peak_rss_mib());
}
