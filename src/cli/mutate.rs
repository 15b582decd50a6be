//! `sfn-harness mutate DEFINITION -- TEST COMMAND`: the user's test command
//! run once on the definition as it is (it must pass, and load it), then
//! once per mutant with `SFN_HARNESS_MUTANT` naming the mutant's file, so
//! every loader in the suite loads the mutant instead. The build is reused:
//! a mutant is data, not code. Mutants run `--jobs` at a time, each stopped
//! past its time limit; the report lists the survivors with their diff and
//! the test that would kill them.

use super::usage;
use crate::asl::mutant::{self, Mutant, MutantFile, Origin};
use crate::asl::{self, Source};
use crate::mutation::{self, MutantRun, MutationReport, Outcome};
use crate::time::Wall;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What `mutate` was asked to do.
pub(crate) struct Args {
    pub definition: String,
    pub substitutions: BTreeMap<String, String>,
    pub jobs: usize,
    pub json: Option<PathBuf>,
    pub min_score: Option<f64>,
    pub timeout: Option<f64>,
    pub list: bool,
    pub command: Vec<String>,
}

pub(crate) fn main(a: Args) -> ExitCode {
    if std::env::var_os(mutant::ENV).is_some() {
        return usage(format!("{} is set: mutate does not run inside a mutation run", mutant::ENV));
    }
    let (text, source) = match asl::load_definition_with(&a.definition, &a.substitutions) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    if let Err(e) = asl::parse_str(&text) {
        return usage(format!("{} is not a valid definition:\n{e}", a.definition));
    }
    let definition: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return usage(format!("{}: {e}", a.definition)),
    };
    let file = a.definition.rsplit_once('#').map_or(a.definition.as_str(), |(p, _)| p);
    let file = match std::fs::canonicalize(file) {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(e) => return usage(format!("{file}: {e}")),
    };
    let machine = match source {
        Source::CloudFormation { logical_id } => Some(logical_id),
        Source::Asl => None,
    };
    let origin = Origin { file, machine, definition };
    let mutants: Vec<(Mutant, Option<String>, String)> = mutation::mutants_of(&origin.definition)
        .into_iter()
        .map(|m| {
            let (sm, diff) = mutation::checked(&origin.definition, &m);
            (m, sm.err(), diff)
        })
        .collect();
    if a.list {
        for (m, invalid, _) in &mutants {
            let state = if m.state.is_empty() { "(machine)" } else { m.state.as_str() };
            let what = invalid.as_ref().map_or("valid".to_string(), |e| format!("invalid: {e}"));
            println!("#{:<3} {state}  {}  {}  ({what})", m.id, m.pointer, m.description);
        }
        return ExitCode::SUCCESS;
    }
    if a.command.is_empty() {
        return usage("no test command: sfn-harness mutate DEFINITION -- cargo test");
    }
    let dir = std::env::temp_dir().join(format!("sfn-harness-mutate-{}", std::process::id()));
    let report = match run_all(&a, &origin, mutants, &dir) {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return usage(e);
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    print!("{report}");
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            return usage(format!("{}: {e}", path.display()));
        }
    }
    match a.min_score {
        Some(min) if report.score() < min => {
            eprintln!(
                "sfn-harness: mutation score {:.1} % is below --min-score {min}",
                report.score()
            );
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn pending(m: &Mutant, invalid: Option<String>, diff: String) -> MutantRun {
    let outcome = if invalid.is_some() { Outcome::Invalid } else { Outcome::Survived };
    MutantRun { mutant: m.clone(), outcome, message: invalid, seconds: None, diff }
}

/// The baseline run, then every valid mutant, `jobs` at a time.
fn run_all(
    a: &Args,
    origin: &Origin,
    mutants: Vec<(Mutant, Option<String>, String)>,
    dir: &Path,
) -> Result<MutationReport, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let wall = Wall::system();
    let identity = Mutant {
        id: 0,
        operator: "none".into(),
        state: String::new(),
        pointer: String::new(),
        description: "the definition as it is".into(),
        suggestion: String::new(),
        patch: Vec::new(),
    };
    let valid = mutants.iter().filter(|(_, invalid, _)| invalid.is_none()).count();
    eprintln!(
        "sfn-harness mutate: {} mutants of {} ({} invalid, skipped); running `{}` on the definition as it is first",
        mutants.len(),
        a.definition,
        mutants.len() - valid,
        a.command.join(" ")
    );
    let start = wall.now();
    let base = run_one(&a.command, origin, &identity, dir, None)?;
    let took = wall.elapsed(start);
    match base.status {
        Status::Exited(true) if base.loaded => {}
        Status::Exited(true) => {
            return Err(format!(
                "the test command passed but never loaded {} (SFN_HARNESS_MUTANT is honoured by Harness::from_file, every loader and definition text equal to it): does the suite load this file?",
                a.definition
            ))
        }
        _ => {
            return Err(format!(
                "the test command fails on the definition as it is; mutation testing needs a passing suite:\n{}",
                base.tail
            ))
        }
    }
    let limit = Duration::from_secs_f64(
        a.timeout.unwrap_or_else(|| (took.as_secs_f64() * 5.0).max(30.0)).max(0.1),
    );
    eprintln!(
        "the suite passes in {:.1} s; each mutant may take {:.0} s, {} at a time",
        took.as_secs_f64(),
        limit.as_secs_f64(),
        a.jobs.max(1)
    );
    let runs: Mutex<Vec<MutantRun>> = Mutex::new(
        mutants
            .iter()
            .map(|(m, invalid, diff)| pending(m, invalid.clone(), diff.clone()))
            .collect(),
    );
    let todo: Vec<usize> = (0..mutants.len()).filter(|&i| mutants[i].1.is_none()).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..a.jobs.max(1).min(todo.len().max(1)) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = todo.get(k) else { break };
                let m = &mutants[i].0;
                let t = wall.now();
                let r = match run_one(&a.command, origin, m, dir, Some(limit)) {
                    Ok(r) => r,
                    Err(e) => {
                        *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                        break;
                    }
                };
                let (outcome, message) = match r.status {
                    Status::TimedOut => (
                        Outcome::TimedOut,
                        Some(format!("stopped after {:.0} s", limit.as_secs_f64())),
                    ),
                    Status::Exited(false) => (Outcome::Killed, Some(r.tail)),
                    Status::Exited(true) if r.loaded => (Outcome::Survived, None),
                    Status::Exited(true) => (Outcome::NotLoaded, None),
                };
                let mut runs = runs.lock().unwrap_or_else(|e| e.into_inner());
                runs[i].outcome = outcome;
                runs[i].message = message;
                runs[i].seconds = Some(wall.elapsed(t).as_secs_f64());
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                eprintln!("[{n}/{}] {}", todo.len(), mutation::line(&runs[i]));
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let runs = runs.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(MutationReport { definition: a.definition.clone(), runs })
}

enum Status {
    /// It ended by itself: whether it passed.
    Exited(bool),
    TimedOut,
}

struct Ran {
    status: Status,
    /// Whether the suite loaded the mutant.
    loaded: bool,
    /// The failing tests it names, else the end of its output.
    tail: String,
}

/// Runs the test command once with `m` as the mutant it loads.
fn run_one(
    command: &[String],
    origin: &Origin,
    m: &Mutant,
    dir: &Path,
    limit: Option<Duration>,
) -> Result<Ran, String> {
    let file = dir.join(format!("mutant-{}.json", m.id));
    let content = MutantFile { origin: origin.clone(), mutant: m.clone() };
    std::fs::write(&file, serde_json::to_string(&content).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let loaded_marker = PathBuf::from(format!("{}.loaded", file.display()));
    let _ = std::fs::remove_file(&loaded_marker);
    let log_path = dir.join(format!("mutant-{}.log", m.id));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .env(mutant::ENV, &file)
        // a failing snapshot of a mutant must not leave .snap.new files behind
        .env("INSTA_UPDATE", "no")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("SFN_HARNESS_COVERAGE")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // its own process group, so a timeout stops what it started too
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(|e| format!("cannot run `{}`: {e}", command.join(" ")))?;
    let pid = child.id();
    let status = wait(child, limit);
    let loaded = loaded_marker.exists();
    let _ = std::fs::remove_file(&loaded_marker);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    let _ = std::fs::remove_file(&file);
    let status = match status {
        Some(ok) => Status::Exited(ok),
        None => {
            stop(pid);
            Status::TimedOut
        }
    };
    Ok(Ran { status, loaded, tail: tail(&output) })
}

/// Waits for `child` for at most `limit`: whether it passed, or `None`
/// when the limit came first (the child is then still running).
fn wait(mut child: std::process::Child, limit: Option<Duration>) -> Option<bool> {
    let Some(limit) = limit else { return Some(child.wait().is_ok_and(|s| s.success())) };
    let state: Arc<(Mutex<Option<bool>>, Condvar)> = Arc::new((Mutex::new(None), Condvar::new()));
    let waiter = state.clone();
    std::thread::spawn(move || {
        let ok = child.wait().is_ok_and(|s| s.success());
        *waiter.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(ok);
        waiter.1.notify_all();
    });
    let guard = state.0.lock().unwrap_or_else(|e| e.into_inner());
    let guard = Wall::system().block_while(&state.1, guard, limit, |done| done.is_none());
    *guard
}

/// Stops a timed-out run and everything it started.
fn stop(pid: u32) {
    #[cfg(unix)]
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
    #[cfg(not(unix))]
    let _ = Command::new("taskkill").args(["/F", "/T", "/PID", &pid.to_string()]).status();
}

/// What a failed run said: the tests it names as failed (libtest's
/// `failures:` list, `test … FAILED` lines, nextest's `FAIL` lines), else
/// its last lines.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let mut failed: Vec<&str> = Vec::new();
    if let Some(at) = lines.iter().rposition(|l| l.trim_end() == "failures:") {
        failed.extend(
            lines[at + 1..]
                .iter()
                .take_while(|l| l.starts_with("    ") || l.trim().is_empty())
                .map(|l| l.trim())
                .filter(|l| !l.is_empty()),
        );
    }
    if failed.is_empty() {
        failed.extend(lines.iter().filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("test ")
                .and_then(|r| r.strip_suffix(" ... FAILED"))
                .or_else(|| l.strip_prefix("FAIL [").and_then(|r| r.rsplit(' ').next()))
        }));
    }
    if !failed.is_empty() {
        failed.dedup();
        return format!("failed: {}", failed.join(", "));
    }
    let lines: Vec<&str> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn a_failed_run_is_told_by_the_tests_it_names() {
        let libtest = "running 3 tests\n..F\nfailures:\n\n---- a stdout ----\npanicked\n\nfailures:\n    a\n    m::b\n\ntest result: FAILED. 1 passed; 2 failed\n";
        assert_eq!(tail(libtest), "failed: a, m::b");
        assert_eq!(tail("test x ... ok\ntest y ... FAILED\n"), "failed: y");
        assert_eq!(tail("        FAIL [   0.010s] crate::suite t1\n"), "failed: t1");
        assert_eq!(tail("error: no such file\n"), "error: no such file");
    }
}
