//! The `sfn-harness` CLI: parse arguments, call the library, print.
//! `src/main.rs` only calls [`main`].

use crate::asl::{self, Severity};
use crate::{Harness, MockConfig};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;

mod mutate;

#[derive(Parser)]
#[command(
    name = "sfn-harness",
    version,
    about = "Run and test AWS Step Functions state machines offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one execution and print its trace (or JSON).
    Run {
        /// ASL JSON, or a CloudFormation template (FILE#LogicalId picks one state machine)
        definition: String,
        /// The execution input as JSON
        #[arg(long, conflicts_with = "input_file")]
        input: Option<String>,
        /// A file holding the execution input
        #[arg(long)]
        input_file: Option<String>,
        /// A Step Functions Local mock-config file
        #[arg(long, requires = "test_case")]
        mock_config: Option<String>,
        /// The test case of the mock config to use
        #[arg(long, requires = "mock_config")]
        test_case: Option<String>,
        /// The state machine of the mock config (when the test case name is not unique)
        #[arg(long)]
        state_machine: Option<String>,
        /// Answer the seed pipeline's ECS task with the Rust model of its worker (app.py)
        #[arg(long)]
        seed_worker: Option<String>,
        /// Run the ECS tasks' container NAME as the local image IMAGE (repeatable), with real Docker;
        /// IMAGE alone runs the one container the template's task definition declares
        #[arg(long = "container", value_name = "[NAME=]IMAGE")]
        containers: Vec<String>,
        /// Seed for ids, tokens and random draws
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print one JSON object {status, output, error, cause, history}
        #[arg(long)]
        json: bool,
        /// What a ${NAME} placeholder or a template's logical id NAME stands for (repeatable)
        #[arg(long = "substitute", value_name = "NAME=VALUE")]
        substitutions: Vec<String>,
        /// The S3 object s3://BUCKET/KEY a distributed Map's ItemReader reads, from FILE (repeatable)
        #[arg(long = "s3-object", value_name = "s3://BUCKET/KEY=FILE")]
        s3_objects: Vec<String>,
        /// The state machine NAME that a states:startExecution task starts, from DEFINITION
        /// (ASL or a template's FILE#LogicalId; repeatable); --mock-config's test case answers
        /// its tasks too when the config has a state machine NAME
        #[arg(long = "child", value_name = "NAME=DEFINITION")]
        children: Vec<String>,
    },
    /// Build the seed worker image from local material (debootstrap + docker import) and print its tag.
    BuildSeedImage,
    /// Validate a definition and print its diagnostics.
    Validate {
        definition: String,
        #[arg(long)]
        json: bool,
        /// What a ${NAME} placeholder or a template's logical id NAME stands for (repeatable)
        #[arg(long = "substitute", value_name = "NAME=VALUE")]
        substitutions: Vec<String>,
    },
    /// Serve the Step Functions API (awsJson1_0) locally, like Step Functions Local.
    Serve {
        /// Address to listen on (loopback by default; requests are not authenticated)
        #[arg(long, default_value = "127.0.0.1:8083")]
        bind: std::net::SocketAddr,
        /// A Step Functions Local mock-config file (StartExecution with stateMachineArn#TestCase)
        #[arg(long)]
        mock_config: Option<String>,
        /// ECS-compatible endpoint for ECS tasks no mock answers (http://…)
        #[arg(long)]
        ecs_endpoint: Option<String>,
        /// Real seconds per virtual second of Wait (0: virtual time, 1: real time)
        #[arg(long, default_value_t = 0.0)]
        wait_scale: f64,
        /// Region in ARNs
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// Executions kept; past it the oldest finished ones are forgotten
        #[arg(long, default_value_t = 1_000)]
        max_executions: usize,
        /// MiB finished executions may hold; past it the oldest are forgotten
        #[arg(long, default_value_t = 256)]
        max_retained_mib: usize,
    },
    /// Run a recorded execution again offline and compare: every task answers
    /// as HISTORY (aws stepfunctions get-execution-history output) recorded it.
    /// Exit 0 when the histories agree, 1 at a divergence (printed with a diff).
    Replay {
        /// ASL JSON, or a CloudFormation template (FILE#LogicalId)
        definition: String,
        /// The recorded history: {"events": [...]}, an array of events, or an array of pages
        #[arg(long)]
        history: String,
    },
    /// Print which states, Choice branches, retriers and catchers the executions
    /// recorded with SFN_HARNESS_COVERAGE=DIR ran (several DIRs merge), and write it as JSON.
    Coverage {
        /// ASL JSON or YAML, or a CloudFormation / SAM template (FILE#LogicalId)
        definition: String,
        /// Directories SFN_HARNESS_COVERAGE wrote (one per machine, say)
        #[arg(required = true)]
        dirs: Vec<std::path::PathBuf>,
        /// Where to write the machine-readable coverage
        #[arg(long, default_value = "sfn-harness-coverage.json")]
        out: std::path::PathBuf,
        /// What a ${NAME} placeholder or a template's logical id NAME stands for (repeatable)
        #[arg(long = "substitute", value_name = "NAME=VALUE")]
        substitutions: Vec<String>,
    },
    /// Draw the state graph (nested Map and Parallel inside their state), with
    /// an execution's path or recorded coverage marked.
    Graph {
        /// ASL JSON or YAML, or a CloudFormation / SAM template (FILE#LogicalId)
        definition: String,
        /// mermaid, dot or html
        #[arg(long, default_value = "mermaid")]
        format: crate::coverage::GraphFormat,
        /// Mark what the executions recorded in DIR (SFN_HARNESS_COVERAGE) ran
        #[arg(long, conflicts_with = "execution")]
        coverage: Vec<std::path::PathBuf>,
        /// Mark the path of an execution: the output of `run --json`
        #[arg(long)]
        execution: Option<String>,
        /// Write to FILE instead of standard output
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// What a ${NAME} placeholder or a template's logical id NAME stands for (repeatable)
        #[arg(long = "substitute", value_name = "NAME=VALUE")]
        substitutions: Vec<String>,
    },
    /// Mutation testing: run the test command once per small change of the
    /// definition (a Choice comparison flipped, a retrier changed, a Catch
    /// removed, a Wait shortened …), each loaded by the suite through
    /// SFN_HARNESS_MUTANT, and report the changes the suite let through.
    /// Exit 1 below --min-score, 2 when the suite fails without a mutant.
    Mutate {
        /// ASL JSON or YAML, or a CloudFormation / SAM template (FILE#LogicalId)
        definition: String,
        /// What a ${NAME} placeholder or a template's logical id NAME stands for (repeatable)
        #[arg(long = "substitute", value_name = "NAME=VALUE")]
        substitutions: Vec<String>,
        /// Mutants run at once (the build is shared: a mutant is data, not code)
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Write the report as JSON to FILE
        #[arg(long, value_name = "FILE")]
        json: Option<std::path::PathBuf>,
        /// Exit 1 when fewer than PCT percent of the valid mutants are killed
        #[arg(long, value_name = "PCT")]
        min_score: Option<f64>,
        /// Seconds one run may take before it is stopped and counted as timed out
        /// (default: 5 × the unmutated run, at least 30)
        #[arg(long, value_name = "SECS")]
        timeout: Option<f64>,
        /// Only list the mutants (and which are invalid)
        #[arg(long)]
        list: bool,
        /// The test command, after `--` (`-- cargo test`)
        #[arg(last = true, value_name = "TEST COMMAND")]
        command: Vec<String>,
    },
    /// Run conformance cases (one JSON file each) and write a report for score.py.
    Conformance {
        dir: String,
        #[arg(long)]
        report: String,
    },
}

/// Runs the command line `std::env::args()` describes.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            definition,
            input,
            input_file,
            mock_config,
            test_case,
            state_machine,
            seed_worker,
            containers,
            seed,
            json,
            substitutions,
            s3_objects,
            children,
        } => {
            let subs = match substitutions_of(&substitutions) {
                Ok(s) => s,
                Err(e) => return usage(e),
            };
            let attached = Attached { s3_objects, children };
            run(
                &definition,
                &subs,
                input,
                input_file,
                (mock_config, test_case, state_machine),
                seed_worker,
                containers,
                seed,
                json,
                &attached,
            )
        }
        Command::BuildSeedImage => match crate::container::seed_worker_image() {
            Ok(tag) => {
                println!("{tag}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sfn-harness: {e}");
                ExitCode::from(1)
            }
        },
        Command::Validate { definition, json, substitutions } => {
            match substitutions_of(&substitutions) {
                Ok(subs) => validate(&definition, &subs, json),
                Err(e) => usage(e),
            }
        }
        Command::Replay { definition, history } => replay(&definition, &history),
        Command::Coverage { definition, dirs, out, substitutions } => {
            match substitutions_of(&substitutions) {
                Ok(subs) => coverage(&definition, &subs, &dirs, &out),
                Err(e) => usage(e),
            }
        }
        Command::Graph { definition, format, coverage, execution, out, substitutions } => {
            match substitutions_of(&substitutions) {
                Ok(subs) => graph(
                    &definition,
                    &subs,
                    format,
                    &coverage,
                    execution.as_deref(),
                    out.as_deref(),
                ),
                Err(e) => usage(e),
            }
        }
        Command::Conformance { dir, report } => conformance(&dir, &report),
        Command::Mutate {
            definition,
            substitutions,
            jobs,
            json,
            min_score,
            timeout,
            list,
            command,
        } => match substitutions_of(&substitutions) {
            Ok(substitutions) => mutate::main(mutate::Args {
                definition,
                substitutions,
                jobs,
                json,
                min_score,
                timeout,
                list,
                command,
            }),
            Err(e) => usage(e),
        },
        Command::Serve {
            bind,
            mock_config,
            ecs_endpoint,
            wait_scale,
            region,
            max_executions,
            max_retained_mib,
        } => serve(
            bind,
            mock_config,
            ecs_endpoint,
            wait_scale,
            region,
            max_executions,
            max_retained_mib.saturating_mul(1024 * 1024),
        ),
    }
}

/// `replay`: exit 0 with no divergence, 1 at one, 2 on bad input.
fn replay(definition: &str, history: &str) -> ExitCode {
    let harness = match Harness::from_file(definition) {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    let text = match std::fs::read_to_string(history) {
        Ok(t) => t,
        Err(e) => return usage(format!("{history}: {e}")),
    };
    let recorded: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return usage(format!("{history}: not JSON: {e}")),
    };
    let replay = match harness.replaying(&recorded) {
        Ok(r) => r,
        Err(e) => return usage(format!("{history}: {e}")),
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage(format!("cannot start a runtime: {e}")),
    };
    let report = rt.block_on(replay.run());
    println!("{report}");
    if report.divergence.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `coverage`: the table on standard output, the JSON in `out`.
fn coverage(
    definition: &str,
    substitutions: &std::collections::BTreeMap<String, String>,
    dirs: &[std::path::PathBuf],
    out: &std::path::Path,
) -> ExitCode {
    let harness = match Harness::from_file_with(definition, substitutions) {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    let c = match harness.recorded_coverage(dirs) {
        Ok(c) => c,
        Err(e) => return usage(format!("cannot read the coverage directories: {e}")),
    };
    print!("{c}");
    if let Err(e) =
        std::fs::write(out, serde_json::to_string_pretty(&c.to_json()).unwrap_or_default())
    {
        return usage(format!("{}: {e}", out.display()));
    }
    println!("written to {}", out.display());
    ExitCode::SUCCESS
}

/// `graph`: the picture, marked by recorded coverage or one execution.
fn graph(
    definition: &str,
    substitutions: &std::collections::BTreeMap<String, String>,
    format: crate::coverage::GraphFormat,
    coverage: &[std::path::PathBuf],
    execution: Option<&str>,
    out: Option<&std::path::Path>,
) -> ExitCode {
    let harness = match Harness::from_file_with(definition, substitutions) {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    let marked = if !coverage.is_empty() {
        match harness.recorded_coverage(coverage) {
            Ok(c) => c.covered,
            Err(e) => return usage(format!("cannot read the coverage directories: {e}")),
        }
    } else if let Some(file) = execution {
        let v: Value = match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => return usage(format!("{file}: {e}")),
        };
        let Some(history) = v.get("history").and_then(Value::as_array) else {
            return usage(format!(
                "{file}: expected the output of `run --json` (an object with \"history\")"
            ));
        };
        history
            .iter()
            .filter(|e| e["type"].as_str().is_some_and(|t| t.ends_with("StateEntered")))
            .filter_map(|e| {
                e["stateEnteredEventDetails"]["name"].as_str().map(|n| format!("state:{n}"))
            })
            .collect()
    } else {
        Default::default()
    };
    let text = harness.graph(format, &marked);
    match out {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage(format!("{}: {e}", path.display())),
        },
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}

/// `NAME=VALUE` pairs of `--substitute`.
fn substitutions_of(
    pairs: &[String],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("--substitute {p}: expected NAME=VALUE")),
        })
        .collect()
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("sfn-harness: {msg}");
    ExitCode::from(2)
}

/// What `run` attaches to the harness besides task answers: S3 objects
/// (`--s3-object`) and child machines (`--child`).
struct Attached {
    s3_objects: Vec<String>,
    children: Vec<String>,
}

impl Attached {
    /// The harness with the S3 objects and child machines attached; the
    /// mock config's test case answers a child's tasks when the config
    /// has a state machine of the child's name.
    fn attach(
        &self,
        mut harness: Harness,
        substitutions: &std::collections::BTreeMap<String, String>,
        mock: Option<(&MockConfig, &str)>,
    ) -> Result<Harness, String> {
        for o in &self.s3_objects {
            let parsed = o
                .strip_prefix("s3://")
                .and_then(|r| r.split_once('='))
                .and_then(|(path, file)| Some((path.split_once('/')?, file)));
            let Some(((bucket, key), file)) =
                parsed.filter(|((b, k), f)| !b.is_empty() && !k.is_empty() && !f.is_empty())
            else {
                return Err(format!("--s3-object {o}: expected s3://BUCKET/KEY=FILE"));
            };
            let body = std::fs::read_to_string(file)
                .map_err(|e| format!("--s3-object {o}: cannot read {file}: {e}"))?;
            harness = harness.s3_object(bucket, key, &body);
        }
        for c in &self.children {
            let Some((name, def)) =
                c.split_once('=').filter(|(n, d)| !n.is_empty() && !d.is_empty())
            else {
                return Err(format!("--child {c}: expected NAME=DEFINITION"));
            };
            let mut child = Harness::from_file_with(def, substitutions)
                .map_err(|e| format!("--child {name}: {e}"))?
                .state_machine_name(name);
            if let Some((cfg, tc)) = mock.filter(|(cfg, tc)| cfg.test_case(Some(name), tc).is_ok())
            {
                child = child
                    .mock_config(cfg, Some(name), tc)
                    .map_err(|e| format!("--child {name}: {e}"))?;
            }
            harness = harness.with_child(child);
        }
        Ok(harness)
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    definition: &str,
    substitutions: &std::collections::BTreeMap<String, String>,
    input: Option<String>,
    input_file: Option<String>,
    (mock_config, test_case, state_machine): (Option<String>, Option<String>, Option<String>),
    seed_worker: Option<String>,
    containers: Vec<String>,
    seed: u64,
    as_json: bool,
    attached: &Attached,
) -> ExitCode {
    let input = match read_input(input, input_file) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let mut harness = match Harness::from_file_with(definition, substitutions) {
        Ok(h) => h.seed(seed),
        Err(e) => return usage(e),
    };
    if let Some(state) = seed_worker {
        if harness.state_machine().find(&state).is_none() {
            return usage(format!("--seed-worker: '{state}' is not a state of {definition}"));
        }
        harness = harness.on_task(&state, crate::workers::seed_worker);
    }
    let mut mock = None;
    if let (Some(file), Some(tc)) = (mock_config, test_case) {
        let cfg = match MockConfig::from_file(&file) {
            Ok(c) => c,
            Err(e) => return usage(format!("{file}: {e}")),
        };
        harness = match harness.mock_config(&cfg, state_machine.as_deref(), &tc) {
            Ok(h) => h,
            Err(e) => return usage(format!("{file}: {e}")),
        };
        mock = Some((cfg, tc));
    }
    harness = match attached.attach(
        harness,
        substitutions,
        mock.as_ref().map(|(c, t)| (c, t.as_str())),
    ) {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    if !containers.is_empty() {
        harness = match with_containers(harness, definition, &containers) {
            Ok(h) => h,
            Err(e) => return usage(e),
        };
    }
    let exec = harness.run_blocking(input);
    if !containers.is_empty() {
        // containers are removed in the background; let that finish before exiting
        crate::container::wait_removed(std::time::Duration::from_secs(60));
    }
    print_execution(&exec, as_json);
    if exec.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The execution input: `--input`, the file `--input-file`, or `{}`.
fn read_input(input: Option<String>, input_file: Option<String>) -> Result<Value, String> {
    let text = match (input, input_file) {
        (Some(t), _) => t,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).map_err(|e| format!("cannot read --input-file {f}: {e}"))?
        }
        (None, None) => "{}".to_string(),
    };
    serde_json::from_str(&text).map_err(|e| format!("the input is not JSON: {e}"))
}

/// The one container the template's task definitions declare: what
/// `--container IMAGE` (without NAME=) runs.
fn template_container(definition: &str) -> Result<String, String> {
    let found = asl::template_containers(definition).map_err(|e| e.to_string())?;
    match found.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(format!("--container IMAGE needs NAME=IMAGE: {definition} declares no container (no AWS::ECS::TaskDefinition)")),
        many => Err(format!(
            "--container IMAGE is ambiguous: {definition} declares the containers {}; say NAME=IMAGE",
            many.iter().map(|c| format!("{} (image {})", c.name, c.image)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Routes every ECS task state to real containers (`NAME=IMAGE`, or
/// `IMAGE` for the template's one container).
fn with_containers(
    mut harness: Harness,
    definition: &str,
    containers: &[String],
) -> Result<Harness, String> {
    let mut tasks = crate::integrations::containers::ContainerTasks::new().progress(true);
    for c in containers {
        let (name, image) = match c.split_once('=') {
            Some((n, i)) => (n.to_string(), i),
            None => (template_container(definition)?, c.as_str()),
        };
        tasks = tasks.image(&name, image);
    }
    if !crate::container::docker_available() {
        return Err("--container needs a running Docker engine".into());
    }
    let ecs_states: Vec<String> = harness
        .state_machine()
        .all_states()
        .into_iter()
        .filter(|s| matches!(&s.kind, asl::StateKind::Task(t) if t.kind.is_ecs()))
        .map(|s| s.name.to_string())
        .collect();
    if ecs_states.is_empty() {
        return Err(format!("--container: {definition} has no ECS task state"));
    }
    let tasks = std::sync::Arc::new(tasks);
    for s in ecs_states {
        harness = harness.on_container_task_shared(&s, tasks.clone());
    }
    Ok(harness)
}

/// The trace, or (`--json`) one object without the fields that say nothing.
fn print_execution(exec: &crate::Execution, as_json: bool) {
    if as_json {
        // written as it is rendered, one event at a time
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = serde_json::to_writer_pretty(&mut out, exec)
            .map_err(std::io::Error::from)
            .and_then(|_| writeln!(out))
            .and_then(|_| out.flush());
        if let Err(e) = written {
            eprintln!("sfn-harness: cannot write the result: {e}");
        }
    } else {
        println!("{}", exec.trace());
    }
}

fn validate(
    definition: &str,
    substitutions: &std::collections::BTreeMap<String, String>,
    as_json: bool,
) -> ExitCode {
    let text = match asl::load_definition_with(definition, substitutions) {
        Ok((t, _)) => t,
        Err(e) => return usage(e),
    };
    let diags = asl::validate(&text);
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    if as_json {
        let v = json!({
            "result": if errors == 0 { "OK" } else { "FAIL" },
            "diagnostics": diags,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for d in &diags {
            println!("{d}");
        }
        println!(
            "{}: {} error(s), {} warning(s)",
            if errors == 0 { "OK" } else { "FAIL" },
            errors,
            diags.len() - errors
        );
    }
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn conformance(dir: &str, report: &str) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage(format!("cannot start a runtime: {e}")),
    };
    match rt.block_on(crate::conformance::run_dir(
        std::path::Path::new(dir),
        std::path::Path::new(report),
    )) {
        Ok((s, _)) => {
            println!(
                "{} cases: {} SUCCEEDED, {} did not succeed, {} harness errors; report in {report}",
                s.cases, s.succeeded, s.failed, s.harness_errors
            );
            ExitCode::SUCCESS
        }
        Err(e) => usage(format!("{dir}: {e}")),
    }
}

fn serve(
    bind: std::net::SocketAddr,
    mock_config: Option<String>,
    ecs_endpoint: Option<String>,
    wait_scale: f64,
    region: String,
    max_executions: usize,
    max_retained_bytes: usize,
) -> ExitCode {
    use crate::endpoint::{server, Endpoint, EndpointConfig};
    if wait_scale < 0.0 || !wait_scale.is_finite() {
        return usage("--wait-scale must be a number >= 0");
    }
    let mock_config = match mock_config
        .map(|f| MockConfig::from_file(&f).map_err(|e| format!("{f}: {e}")))
        .transpose()
    {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let ecs = ecs_endpoint.map(|url| {
        crate::integrations::ecs_sdk::EcsIntegration::new(crate::integrations::sdk::ecs_client(
            &url, &region,
        ))
    });
    if max_executions == 0 {
        return usage("--max-executions must be at least 1");
    }
    let cfg = EndpointConfig {
        mock_config,
        ecs,
        wait_scale,
        region,
        max_executions,
        max_retained_bytes,
        ..EndpointConfig::default()
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage(format!("cannot start a runtime: {e}")),
    };
    rt.block_on(async move {
        match server::serve(Endpoint::new(cfg), bind).await {
            Ok(s) => {
                eprintln!("sfn-harness: serving the Step Functions API on {} (requests are not authenticated)", s.url());
                tokio::select! {
                    _ = s.wait() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                ExitCode::SUCCESS
            }
            Err(e) => usage(format!("cannot listen on {bind}: {e}")),
        }
    })
}
