//! ECS tasks run as real worker containers: each invocation starts the
//! image mapped to the task definition's container with the environment
//! RunTask would give it (ContainerOverrides applied), plus
//! `AWS_ENDPOINT_URL_SFN` pointing at a callback endpoint on the docker
//! bridge, a region and dummy credentials. The worker's own SDK call
//! (SendTaskSuccess / SendTaskFailure) resumes the execution.
//!
//! - `.waitForTaskToken`: the callback completes the task; a container that
//!   exits without calling back is reported at once, with its exit code and
//!   last log lines.
//! - `.sync`: the container's exit ends the task with the stopped ECS task
//!   (exit 0) or `States.TaskFailed` (non-zero); a callback first wins.
//! - TimeoutSeconds and HeartbeatSeconds count real seconds while the
//!   container runs.

use super::ecs;
use super::http_server::{serve, Limits, Server};
use super::tokens::TokenRegistry;
use super::{container_environment, Answer, BoxFuture, Integration, Pattern, TaskCall, TaskReply};
use crate::asl::Resource;
use crate::container::{self, ContainerSpec, Stop};
use crate::failure::{FaultKind, HarnessFault};
use crate::names;
use crate::time::Wall;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Maps container names to local images and runs them.
pub struct ContainerTasks {
    images: BTreeMap<String, String>,
    tokens: std::sync::OnceLock<(Arc<TokenRegistry>, String)>,
    server: tokio::sync::OnceCell<Server>,
    /// How long a container may keep running after its callback arrived
    /// before it is stopped (default 10 s).
    pub grace_after_callback: Duration,
    /// How often the container's state is checked (default 10 ms).
    pub poll: Duration,
    /// Print a progress line per container start and exit (default off).
    pub progress: bool,
    /// The real time containers run in (default: the system's).
    pub wall: Wall,
}

impl ContainerTasks {
    /// No images mapped yet; reaps containers a killed earlier run left behind.
    pub fn new() -> ContainerTasks {
        container::reap_stale();
        ContainerTasks {
            images: BTreeMap::new(),
            tokens: std::sync::OnceLock::new(),
            server: tokio::sync::OnceCell::new(),
            grace_after_callback: Duration::from_secs(10),
            poll: Duration::from_millis(10),
            progress: false,
            wall: Wall::system(),
        }
    }

    /// Runs `image` (a local `name:tag`) for the task definition's container `container`.
    pub fn image(mut self, container: &str, image: &str) -> ContainerTasks {
        self.images.insert(container.to_string(), image.to_string());
        self
    }

    /// Builds the Dockerfile directory `dir` (cached by content) and runs it
    /// for the container `container`: the real-world path, where the engine
    /// can pull the Dockerfile's base image.
    pub fn dockerfile(
        self,
        container: &str,
        dir: impl AsRef<std::path::Path>,
    ) -> Result<ContainerTasks, container::ContainerError> {
        let tag = container::build_dockerfile_dir(dir.as_ref())?;
        Ok(self.image(container, &tag))
    }

    /// Prints a line per container start and exit (default off).
    pub fn progress(mut self, on: bool) -> ContainerTasks {
        self.progress = on;
        self
    }

    /// Binds the token registry callbacks go to (the first binding wins).
    pub(crate) fn bind(&self, tokens: Arc<TokenRegistry>, region: &str) {
        let _ = self.tokens.set((tokens, region.to_string()));
    }

    async fn callback_url(&self) -> Result<String, String> {
        let tokens = self
            .tokens
            .get()
            .map(|(t, _)| t.clone())
            .ok_or("the container tasks are not bound to a token registry")?;
        let server = self
            .server
            .get_or_try_init(|| async move {
                let ip = container::bridge_gateway().map_err(|e| e.to_string())?;
                let api: Arc<dyn super::aws_json::SfnApi> = tokens;
                serve(
                    api,
                    std::net::SocketAddr::new(ip, 0),
                    Limits { wall: self.wall.clone(), ..Limits::default() },
                )
                .await
                .map_err(|e| format!("cannot listen on the docker bridge {ip}: {e}"))
            })
            .await?;
        Ok(format!("http://host.docker.internal:{}", server.addr.port()))
    }

    /// The container to run and its image: the overridden container that
    /// has an image, else the only one mapped.
    fn chosen(&self, call: &TaskCall) -> Result<(String, String), String> {
        let overrides: Vec<&str> =
            ecs::container_overrides(&call.parameters).filter_map(ecs::override_name).collect();
        let chosen = overrides
            .iter()
            .find(|n| self.images.contains_key(**n))
            .map(|n| n.to_string())
            .or_else(|| {
                (self.images.len() == 1).then(|| self.images.keys().next().cloned()).flatten()
            });
        let name = chosen.ok_or_else(|| {
            format!(
                "no image for the containers of task state '{}' (overrides name {:?}; images are mapped for {:?})",
                call.state_name,
                overrides,
                self.images.keys().collect::<Vec<_>>()
            )
        })?;
        let image = self.images[&name].clone();
        Ok((name, image))
    }

    async fn run(&self, call: &TaskCall) -> Result<Answer, HarnessFault> {
        // Longer than a screen: the container's life (spec, run with its stop rules, reply) in order.
        let region = self
            .tokens
            .get()
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| names::DEFAULT_REGION.into());
        let pattern = Resource::parse(&call.resource).pattern();
        let params: &Value = &call.parameters;
        let (name, image) = match self.chosen(call) {
            Ok(c) => c,
            Err(e) => return Err(fail(e)),
        };
        let url = match self.callback_url().await {
            Ok(u) => u,
            Err(e) => return Err(fail(e)),
        };
        let spec = ContainerSpec {
            image: image.clone(),
            env: environment(params, &name, &url, &region),
            cmd: command(params, &name),
        };
        let tag = format!("[{} #{}]", call.state_name, call.invocation);
        if self.progress {
            eprintln!("{tag} starting {image} for container '{name}'");
        }
        let tokens = self.tokens.get().map(|(t, _)| t.clone());
        let token = call.token.clone().unwrap_or_default();
        let (timeout, heartbeat) = (call.timeout_seconds, call.heartbeat_seconds);
        let grace = self.grace_after_callback;
        let mut answered_at = None;
        let result = container::run(&spec, &self.wall, self.poll, |started, now| {
            if let Some(t) = timeout {
                if now.duration_since(started) >= Duration::from_secs(t) {
                    return Some(Stop::Timeout);
                }
            }
            if let (Some(h), Some(reg)) = (heartbeat, &tokens) {
                let since = reg.last_heartbeat(&token).unwrap_or(started);
                if now.duration_since(since) >= Duration::from_secs(h) && !reg.answered(&token) {
                    return Some(Stop::Heartbeat);
                }
            }
            if tokens.as_ref().is_some_and(|r| r.answered(&token)) {
                let at = *answered_at.get_or_insert(now);
                if now.duration_since(at) >= grace {
                    return Some(Stop::Done);
                }
            }
            None
        })
        .await;
        let exit = match result {
            Ok(e) => e,
            Err(e) => return Err(fail(e.to_string())),
        };
        if self.progress {
            eprintln!(
                "{tag} container {} exited with {:?} after {:.2} s",
                &exit.id[..exit.id.len().min(12)],
                exit.exit_code,
                exit.elapsed.as_secs_f64()
            );
        }
        let elapsed_ms = exit.elapsed.as_millis() as i64;
        let logs = Some(exit.logs.clone());
        let reply = match exit.stopped {
            Some(Stop::Timeout) => TaskReply::TimedOut,
            Some(Stop::Heartbeat) => TaskReply::HeartbeatTimedOut,
            Some(Stop::Done) => TaskReply::AwaitCallback,
            None => match pattern {
                Pattern::RequestResponse => TaskReply::Succeed(ecs::run_task_response(
                    params,
                    &region,
                    names::DEFAULT_ACCOUNT,
                    &exit.id,
                )),
                _ => super::exited_without_callback(
                    &format!("container '{name}' ({image})"),
                    exit.exit_code,
                    &exit.logs,
                ),
            },
        };
        Ok(Answer {
            reply,
            submitted: None,
            elapsed_ms,
            logs,
            worker_ms: exit.ran.map(|d| d.as_millis() as i64),
        })
    }
}

impl Default for ContainerTasks {
    fn default() -> Self {
        ContainerTasks::new()
    }
}

/// The environment RunTask gives container `name`, plus what its SDK needs
/// to call back to `url` (without overriding the task's own values).
fn environment(params: &Value, name: &str, url: &str, region: &str) -> BTreeMap<String, String> {
    let mut env = container_environment(params, Some(name));
    for (k, v) in [
        ("AWS_ENDPOINT_URL_SFN", url),
        ("AWS_ENDPOINT_URL_STATES", url),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ACCESS_KEY_ID", "sfn-harness"),
        ("AWS_SECRET_ACCESS_KEY", "sfn-harness"),
    ] {
        env.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    env
}

/// The `Command` override of container `name`, if any.
fn command(params: &Value, name: &str) -> Option<Vec<String>> {
    ecs::container_overrides(params)
        .find(|o| ecs::override_name(o) == Some(name))
        .and_then(|o| o.get("Command"))
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
}

fn fail(msg: String) -> HarnessFault {
    HarnessFault::new(FaultKind::ContainerError, msg)
}

impl Integration for ContainerTasks {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        Box::pin(self.run(call))
    }

    /// SDK calls and workers outside the simulation: real time.
    fn real_time(&self) -> bool {
        true
    }

    /// The same images, with a callback endpoint of the clone's own.
    fn rebind(&self, tokens: &Arc<TokenRegistry>, region: &str) -> Option<Arc<dyn Integration>> {
        let copy = ContainerTasks {
            images: self.images.clone(),
            tokens: std::sync::OnceLock::new(),
            server: tokio::sync::OnceCell::new(),
            grace_after_callback: self.grace_after_callback,
            poll: self.poll,
            progress: self.progress,
            wall: self.wall.clone(),
        };
        copy.bind(tokens.clone(), region);
        Some(Arc::new(copy))
    }
}
