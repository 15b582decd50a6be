//! Coverage and the picture: counts on a small definition, the graph in
//! Mermaid, DOT and HTML, and the HTML page rendered by headless Chromium.

use serde_json::json;
use sfn_harness::coverage::GraphFormat;
use sfn_harness::workers::seed_worker;
use sfn_harness::{Harness, TaskReply};
use std::collections::BTreeSet;

mod common;

const SMALL: &str = r#"{"StartAt": "Check", "States": {
  "Check": {"Type": "Choice", "Choices": [
      {"Variable": "$.n", "NumericEquals": 1, "Next": "Work"},
      {"Variable": "$.n", "NumericEquals": 2, "Next": "Done"}],
    "Default": "Fail"},
  "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
    "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1}, {"ErrorEquals": ["Slow"]}],
    "Catch": [{"ErrorEquals": ["Fatal"], "Next": "Fail"}], "Next": "Done"},
  "Done": {"Type": "Succeed"},
  "Fail": {"Type": "Fail", "Error": "Nope"}}}"#;

#[test]
fn coverage_counts_states_branches_retriers_and_catchers() {
    let h = Harness::from_definition(SMALL).unwrap().on_task("Work", |c| {
        match (c.parameters["mode"].as_str(), c.retry_count) {
            (Some("flaky"), 0) => TaskReply::fail("Flaky", None),
            (Some("fatal"), _) => TaskReply::fail("Fatal", None),
            _ => TaskReply::ok(json!(1)),
        }
    });
    let one = h.run_blocking(json!({"n": 1, "mode": "flaky"}));
    let c = h.coverage([&one]);
    assert_eq!((c.states.covered, c.states.total), (3, 4));
    assert_eq!((c.branches.covered, c.branches.total), (1, 3));
    assert_eq!((c.retriers.covered, c.retriers.total), (1, 2));
    assert_eq!((c.catchers.covered, c.catchers.total), (0, 1));
    let fatal = h.run_blocking(json!({"n": 1, "mode": "fatal"}));
    let other = h.run_blocking(json!({"n": 7}));
    let c = h.coverage([&one, &fatal, &other]);
    assert_eq!(
        (c.states.covered, c.branches.covered, c.retriers.covered, c.catchers.covered),
        (4, 2, 1, 1)
    );
    assert_eq!(c.uncovered, vec!["branch:Check#1".to_string(), "retrier:Work#1".to_string()]);
    let table = c.to_string();
    assert!(table.contains("branches") && table.contains("branch:Check#1"), "{table}");
    assert_eq!(c.to_json()["catchers"], json!({"covered": 1, "total": 1}));
}

#[test]
fn the_graph_in_mermaid_and_dot_draws_nested_machines_and_marks() {
    let h = Harness::from_file("fixtures/pipeline/pipeline.asl.json").unwrap();
    let mermaid = h.graph(GraphFormat::Mermaid, &BTreeSet::new());
    assert!(mermaid.starts_with("flowchart TD"), "{mermaid}");
    assert!(
        mermaid.contains("subgraph")
            && mermaid.contains("RunPartition")
            && mermaid.contains("|\"Default\"|"),
        "{mermaid}"
    );
    let marked =
        BTreeSet::from(["state:ProcessPartitions".to_string(), "state:RunPartition".to_string()]);
    let mermaid = h.graph(GraphFormat::Mermaid, &marked);
    assert!(mermaid.contains("class s1 ran;") && mermaid.contains("notran"), "{mermaid}");
    let dot = h.graph(GraphFormat::Dot, &marked);
    assert!(
        dot.starts_with("digraph")
            && dot.contains("subgraph cluster_s0")
            && dot.contains("fillcolor=\"#c8e6c9\""),
        "{dot}"
    );
}

fn png_pixels(path: &std::path::Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let px = buf[..info.buffer_size()].chunks(step).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, px)
}

/// The HTML page of the seed with its number-0 execution (every state ran)
/// and its number-5 one (Choice and Succeed ran, the task and the Wait did
/// not), rendered by headless Chromium: the picture holds the boxes, in the
/// colours of what ran.
#[test]
fn headless_chromium_draws_the_states() {
    let chromium = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|c| {
        std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success())
    });
    let Some(chromium) = chromium else {
        common::skip_unless_required(
            "SFN_HARNESS_REQUIRE_CHROMIUM",
            "no chromium (apt-get install chromium)",
        );
        return;
    };
    let h = Harness::from_file("fixtures/seed/state-machine.asl.json")
        .unwrap()
        .on_task("FargateTask", seed_worker);
    let dir = std::env::temp_dir().join(format!("sfn-harness-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // pixels of boxes of states that ran, and of states that did not
    let shoot = |number: i64| {
        let exec = h.run_blocking(json!({"input": {"number": number}}));
        exec.assert_succeeded();
        let page = h.graph_of(GraphFormat::Html, &exec);
        let html = dir.join(format!("seed-{number}.html"));
        std::fs::write(&html, &page).unwrap();
        let shot = dir.join(format!("seed-{number}.png"));
        let out = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=900,700",
            ])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
        let (w, h, px) = png_pixels(&shot);
        assert_eq!((w, h), (900, 700));
        // the drawing, below the title and the legend (whose chips share the colours)
        let drawing = &px[(w * 105) as usize..];
        let count = |rgb: [u8; 3]| drawing.iter().filter(|p| **p == rgb).count();
        (page, count([0xc8, 0xe6, 0xc9]), count([0xee, 0xee, 0xee]))
    };
    // a box is 190 x 46: about 7,600 pixels of fill inside its border, around its text
    let boxes = |pixels: usize| (pixels as f64 / 7_600.0).round() as usize;
    // number 0: the loop runs, every state ran
    let (page, ran, not_ran) = shoot(0);
    assert!(page.contains("<svg") && page.contains("4 of 4 states"), "{page}");
    assert_eq!((boxes(ran), not_ran), (4, 0), "{ran} / {not_ran} pixels");
    // number 5: straight to Succeed; the task and the Wait did not run
    let (page, ran, not_ran) = shoot(5);
    assert!(page.contains("2 of 4 states"), "{page}");
    assert_eq!((boxes(ran), boxes(not_ran)), (2, 2), "{ran} / {not_ran} pixels");
}
