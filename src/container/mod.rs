//! Worker containers through testcontainers: start an image with an
//! environment, watch it until it exits (or a stop condition holds), keep
//! its logs and exit code, remove it. Knows nothing of ASL.
//!
//! Images come from local material ([`seed_worker_image`] builds the seed's
//! with debootstrap and `docker import`, cached by content); nothing is
//! pulled. Every container is labelled with the owning process id, and
//! [`reap_stale`] removes those whose process is gone, so a test that was
//! interrupted leaves nothing behind for the next run.

use crate::time::Wall;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use testcontainers::core::{Host, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};
use tokio::time::Instant;

/// The label every harness container carries (value: the owner's pid).
pub const OWNER_LABEL: &str = "sfn-harness.pid";

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct ContainerSpec {
    /// `name:tag` of a local image.
    pub image: String,
    pub env: BTreeMap<String, String>,
    /// Overrides the image's CMD.
    pub cmd: Option<Vec<String>>,
}

/// Why a container was stopped before it exited by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Its work is answered (a callback arrived) and the grace period passed.
    Done,
    Timeout,
    Heartbeat,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerExit {
    pub id: String,
    pub exit_code: Option<i64>,
    /// stdout, then stderr.
    pub logs: String,
    pub stopped: Option<Stop>,
    /// From `start` being asked to the container's removal.
    pub elapsed: Duration,
    /// The container's own run time (Docker's StartedAt to FinishedAt).
    pub ran: Option<Duration>,
}

/// A container that could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerError(pub String);

impl std::fmt::Display for ContainerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ContainerError {}

/// Whether a Docker engine answers.
pub fn docker_available() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The IP where containers on the default bridge reach the host
/// (`host.docker.internal` with the host gateway); the callback endpoint
/// listens there rather than on every interface.
pub fn bridge_gateway() -> Result<std::net::IpAddr, ContainerError> {
    let out = Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}} {{.Subnet}}{{end}}",
        ])
        .output()
        .map_err(|e| ContainerError(format!("cannot run docker: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for word in text.split_whitespace() {
        if let Ok(ip) = word.parse() {
            return Ok(ip);
        }
    }
    // no Gateway recorded: the bridge's first address (172.17.0.1 for 172.17.0.0/16)
    for word in text.split_whitespace() {
        if let Some((net, _)) = word.split_once('/') {
            if let Ok(std::net::IpAddr::V4(v4)) = net.parse::<std::net::IpAddr>() {
                return Ok(std::net::IpAddr::V4(std::net::Ipv4Addr::from(u32::from(v4) + 1)));
            }
        }
    }
    Err(ContainerError(format!(
        "cannot find the docker bridge gateway (docker network inspect bridge gave '{text}')"
    )))
}

/// Removes harness containers whose owning process no longer exists.
pub(crate) fn reap_stale() {
    let Ok(out) = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label={OWNER_LABEL}"),
            "--format",
            &format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}"),
        ])
        .output()
    else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.split_whitespace();
        let (Some(id), Some(pid)) = (parts.next(), parts.next()) else { continue };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
    }
}

/// Runs `spec` until the container exits or `stop` says to stop it
/// (polled every `poll` of `wall`'s time; `stop` is given `wall`'s instant
/// of the start and of now). The container is removed before this returns.
pub(crate) async fn run(
    spec: &ContainerSpec,
    wall: &Wall,
    poll: Duration,
    mut stop: impl FnMut(Instant, Instant) -> Option<Stop>,
) -> Result<ContainerExit, ContainerError> {
    let (name, tag) = match spec.image.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (spec.image.clone(), "latest".to_string()),
    };
    let mut req = GenericImage::new(name, tag)
        .with_wait_for(WaitFor::Nothing)
        .with_host("host.docker.internal", Host::HostGateway)
        .with_label(OWNER_LABEL, std::process::id().to_string());
    for (k, v) in &spec.env {
        req = req.with_env_var(k, v);
    }
    if let Some(cmd) = &spec.cmd {
        req = req.with_cmd(cmd);
    }
    let started = wall.now();
    let c = req.start().await.map_err(|e| {
        ContainerError(format!(
            "cannot start a container of {}: {e} (images are built locally; nothing can be pulled)",
            spec.image
        ))
    })?;
    let id = c.id().to_string();
    let mut stopped = None;
    loop {
        match c.is_running().await {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ContainerError(format!("lost container {id}: {e}"))),
        }
        if let Some(s) = stop(started, wall.now()) {
            let _ = c.stop_with_timeout(Some(0)).await;
            stopped = Some(s);
            break;
        }
        wall.sleep(poll).await;
    }
    let inspect_id = id.clone();
    let (exit_code, out, err, ran) = tokio::join!(
        c.exit_code(),
        c.stdout_to_vec(),
        c.stderr_to_vec(),
        tokio::task::spawn_blocking(move || run_time(&inspect_id)),
    );
    let mut logs = String::from_utf8_lossy(&out.unwrap_or_default()).into_owned();
    logs.push_str(&String::from_utf8_lossy(&err.unwrap_or_default()));
    let elapsed = wall.elapsed(started);
    // removal happens off the critical path; an interrupted run's leftovers
    // are reaped by the next ContainerTasks (their owner pid is gone)
    std::mem::forget(c);
    remove_in_background(id.clone());
    Ok(ContainerExit {
        id,
        exit_code: exit_code.ok().flatten(),
        logs,
        stopped,
        elapsed,
        ran: ran.ok().flatten(),
    })
}

fn pending() -> &'static (std::sync::Mutex<usize>, std::sync::Condvar) {
    static PENDING: std::sync::OnceLock<(std::sync::Mutex<usize>, std::sync::Condvar)> =
        std::sync::OnceLock::new();
    PENDING.get_or_init(Default::default)
}

fn remove_in_background(id: String) {
    let (count, _) = pending();
    *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    std::thread::spawn(move || {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &id]).output();
        let (count, done) = pending();
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        done.notify_all();
    });
}

/// Waits (up to `limit`) until every container this process started has
/// been removed; true when none is left.
pub fn wait_removed(limit: Duration) -> bool {
    let (count, done) = pending();
    let guard = count.lock().unwrap_or_else(|e| e.into_inner());
    let guard = Wall::system().block_while(done, guard, limit, |n| *n > 0);
    *guard == 0
}

/// Docker's own record of how long the container ran.
fn run_time(id: &str) -> Option<Duration> {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.State.StartedAt}} {{.State.FinishedAt}}", id])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut it = text.split_whitespace().map(chrono::DateTime::parse_from_rfc3339);
    let (Some(Ok(a)), Some(Ok(b))) = (it.next(), it.next()) else { return None };
    (b - a).to_std().ok()
}

/// Builds the image of a Dockerfile directory (the real-world path, where
/// the engine can pull the base image), tagged by a hash of the
/// directory's files so an unchanged directory is not built again.
pub fn build_dockerfile_dir(dir: &std::path::Path) -> Result<String, ContainerError> {
    use sha2::Digest;
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| ContainerError(format!("{}: {e}", d.display())))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    if !files.iter().any(|f| f.file_name().is_some_and(|n| n == "Dockerfile")) {
        return Err(ContainerError(format!("{} has no Dockerfile", dir.display())));
    }
    files.sort();
    let mut h = sha2::Sha256::new();
    for f in &files {
        h.update(f.strip_prefix(dir).unwrap_or(f).to_string_lossy().as_bytes());
        h.update(std::fs::read(f).map_err(|e| ContainerError(format!("{}: {e}", f.display())))?);
    }
    let key: String = h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    let tag = format!("sfn-harness/built:{key}");
    let exists = Command::new("docker")
        .args(["image", "inspect", &tag])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !exists {
        let out = Command::new("docker")
            .args(["build", "-q", "-t", &tag])
            .arg(dir)
            .output()
            .map_err(|e| ContainerError(format!("cannot run docker build: {e}")))?;
        if !out.status.success() {
            return Err(ContainerError(format!(
                "docker build {} failed:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
    }
    Ok(tag)
}

const BUILD_SCRIPT: &str = include_str!("../../scripts/build-seed-worker-image.sh");
const SEED_APP: &str = include_str!("../../fixtures/seed/worker/app.py");
const SEED_DOCKERFILE: &str = include_str!("../../fixtures/seed/worker/Dockerfile");
const SEED_REQUIREMENTS: &str = include_str!("../../fixtures/seed/worker/requirements.txt");

/// Builds (or finds, cached by content) the seed worker image: from the
/// worker's own Dockerfile (`FROM python:3.11`, `pip install`) when its
/// base image is here or a registry gives it; otherwise from Debian 13's
/// python3, numpy and boto3 via debootstrap and `docker import` (root the
/// first time), with the seed's `app.py` unchanged. Returns its tag; the
/// error says what both ways lacked.
pub fn seed_worker_image() -> Result<String, ContainerError> {
    let from_dockerfile = match dockerfile_base(SEED_DOCKERFILE) {
        Ok(()) => {
            let files = [
                ("Dockerfile", SEED_DOCKERFILE),
                ("requirements.txt", SEED_REQUIREMENTS),
                ("app.py", SEED_APP),
            ];
            match build_from_files(&files) {
                Ok(tag) => return Ok(tag),
                Err(e) => e.0,
            }
        }
        Err(e) => e.0,
    };
    build_worker_image(SEED_APP).map_err(|e| {
        ContainerError(format!(
            "{}\nnor from the worker's Dockerfile: {from_dockerfile}\nto build it, install debootstrap (Debian's package, run as root) or let Docker pull the Dockerfile's base image",
            e.0.trim_end()
        ))
    })
}

/// Whether the Dockerfile's base image (its first `FROM`) is here, or a
/// registry gives it (`docker pull`).
fn dockerfile_base(dockerfile: &str) -> Result<(), ContainerError> {
    let base = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("FROM "))
        .and_then(|r| r.split_whitespace().next())
        .ok_or_else(|| ContainerError("the Dockerfile has no FROM".into()))?;
    let docker = |args: &[&str]| {
        Command::new("docker").args(args).output().map_err(|e| format!("cannot run docker: {e}"))
    };
    if docker(&["image", "inspect", base]).is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    match docker(&["pull", "-q", base]) {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(ContainerError(format!(
            "its base image {base} is not here and cannot be pulled: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ))),
        Err(e) => Err(ContainerError(e)),
    }
}

/// Builds a Dockerfile directory made of `files` (name, content).
fn build_from_files(files: &[(&str, &str)]) -> Result<String, ContainerError> {
    let dir = std::env::temp_dir().join(format!("sfn-harness-context-{}", std::process::id()));
    let written = std::fs::create_dir_all(&dir).and_then(|_| {
        files.iter().try_for_each(|(name, body)| std::fs::write(dir.join(name), body))
    });
    let built = written
        .map_err(|e| ContainerError(format!("{}: {e}", dir.display())))
        .and_then(|_| build_dockerfile_dir(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    built
}

/// [`seed_worker_image`] for another single-file Python worker.
pub fn build_worker_image(app_py: &str) -> Result<String, ContainerError> {
    let dir = std::env::temp_dir().join(format!("sfn-harness-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| ContainerError(format!("{}: {e}", dir.display())))?;
    let app = dir.join("app.py");
    std::fs::write(&app, app_py).map_err(|e| ContainerError(format!("{}: {e}", app.display())))?;
    let out = Command::new("bash")
        .arg("-c")
        .arg(BUILD_SCRIPT)
        .arg("build-seed-worker-image")
        .arg(&app)
        .output()
        .map_err(|e| ContainerError(format!("cannot run bash: {e}")))?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(ContainerError(format!(
            "building the worker image failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dockerfile_without_from_is_refused_before_docker_runs() {
        let e = super::dockerfile_base("WORKDIR /x\nCMD [\"true\"]").unwrap_err();
        assert!(e.0.contains("no FROM"), "{}", e.0);
    }

    #[test]
    fn the_seed_dockerfile_builds_from_python_3_11() {
        let from = super::SEED_DOCKERFILE.lines().find(|l| l.starts_with("FROM ")).unwrap();
        assert!(from.contains("python:3.11"), "{from}");
        assert!(super::SEED_REQUIREMENTS.contains("boto3"));
    }
}
