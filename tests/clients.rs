//! boto3 and the aws CLI (from PyPI, installed by `.ci/run`) against
//! `sfn-harness serve`. Without them the tests skip, unless
//! SFN_HARNESS_REQUIRE_CLIENTS=1.

use std::process::{Child, Command, Stdio};

mod common;

struct Served(Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve() -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_sfn-harness"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--mock-config",
            "fixtures/seed/mock-config.json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Served(child, format!("http://127.0.0.1:{port}"))
}

fn available(cmd: &str, args: &[&str]) -> bool {
    let ok = Command::new(cmd).args(args).output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        common::skip_unless_required(
            "SFN_HARNESS_REQUIRE_CLIENTS",
            &format!("{cmd} is not usable here (pip install boto3 awscli pytest)"),
        );
    }
    ok
}

#[test]
fn boto3_drives_the_seed_activities_and_errors() {
    if !available("python3", &["-c", "import boto3"]) {
        return;
    }
    let s = serve();
    let out = Command::new("python3")
        .arg("tests/clients/boto3_seed.py")
        .arg(&s.1)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A pytest + boto3 suite in the style of AWS's Step Functions Local
/// samples (mock-config test cases, happy / retry / failure paths, the event
/// sequence), run against `serve` with only the endpoint changed.
#[test]
fn a_step_functions_local_style_pytest_suite_passes() {
    if !available("python3", &["-c", "import boto3, pytest"]) {
        return;
    }
    let s = serve();
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/clients/test_seed_sfl.py"])
        .env("SFN_ENDPOINT", &s.1)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("4 passed"), "{text}");
}

#[test]
fn the_aws_cli_drives_the_seed() {
    if !available("aws", &["--version"]) {
        return;
    }
    let s = serve();
    let aws = |args: &[&str]| {
        let out = Command::new("aws")
            .args(["stepfunctions", "--endpoint-url", &s.1, "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = aws(&[
        "create-state-machine",
        "--name",
        "state-machine",
        "--definition",
        "file://fixtures/seed/state-machine.asl.json",
        "--role-arn",
        "arn:aws:iam::123456789012:role/r",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let sm: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arn = sm["stateMachineArn"].as_str().unwrap();
    let (code, out, err) = aws(&[
        "start-execution",
        "--state-machine-arn",
        &format!("{arn}#HappyPath"),
        "--name",
        "cli-0",
        "--input",
        r#"{"input":{"number":0}}"#,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let ex: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ex = ex["executionArn"].as_str().unwrap().to_string();
    let mut status = String::new();
    for _ in 0..100 {
        let (_, out, _) = aws(&["describe-execution", "--execution-arn", &ex]);
        let d: serde_json::Value = serde_json::from_str(&out).unwrap();
        status = d["status"].as_str().unwrap().to_string();
        if status != "RUNNING" {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(d["output"].as_str().unwrap()).unwrap()
                    ["input"]["number"],
                4
            );
            break;
        }
    }
    assert_eq!(status, "SUCCEEDED");
    let (_, out, _) = aws(&["get-execution-history", "--execution-arn", &ex]);
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(h["events"].as_array().unwrap().len(), 46);
    let (code, _, err) = aws(&["describe-execution", "--execution-arn", &format!("{ex}-nope")]);
    assert!(
        matches!(code, Some(254) | Some(255)),
        "aws CLI v1 exits 255, v2 254 on service errors: {code:?}"
    );
    assert!(err.contains("ExecutionDoesNotExist"), "{err}");
}
