//! Callback tasks: how an integration's answer becomes the task's reply when
//! a task token is involved. A callback that already arrived wins; an
//! integration that awaits one waits in real time, bounded by
//! TimeoutSeconds / HeartbeatSeconds (heartbeats extend it); a worker that
//! exited without calling back ends as AWS would end it.

use super::error::{names, Halt};
use super::Env;
use crate::asl::{Pattern, State};
use crate::history::{Details, Payload};
use crate::integrations::ecs;
use crate::integrations::tokens::{Callback, Closed, TokenRegistry};
use crate::integrations::TaskReply;
use crate::time::Wall;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// AWS's default for a callback task with no TimeoutSeconds: one year.
const DEFAULT_TASK_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// A task's TimeoutSeconds and HeartbeatSeconds, evaluated.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub timeout: Option<u64>,
    pub heartbeat: Option<u64>,
}

/// What resolving a reply needs to know of the invocation.
pub(super) struct Pending<'a> {
    pub state: &'a State,
    pub pattern: Pattern,
    pub is_ecs: bool,
    pub params: &'a Payload,
    pub task_id: u128,
    pub limits: Limits,
    pub token: &'a str,
    pub tokens: &'a TokenRegistry,
    /// The token's callbacks, when it was registered.
    pub callbacks: Option<&'a mut UnboundedReceiver<Callback>>,
}

/// Turns the integration's `reply` into the task's.
pub(super) async fn resolve(mut r: Pending<'_>, reply: TaskReply, env: &mut Env<'_>) -> Result<TaskReply, Halt> {
    // a callback that already arrived wins over what the work reported after it
    let mut queued = None;
    if let Some(rx) = r.callbacks.as_deref_mut() {
        loop {
            match rx.try_recv() {
                Ok(Callback::Heartbeat) => continue,
                Ok(Callback::Started { worker_name }) => {
                    env.push(Details::ActivityStarted { worker_name })?;
                }
                Ok(cb) => {
                    queued = Some(cb);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    let reply = match (queued, reply) {
        (Some(cb), _) => from_callback(cb),
        (None, TaskReply::AwaitCallback) => match r.callbacks.take() {
            None => TaskReply::Fail {
                error: names::RUNTIME.into(),
                cause: Some(format!("Task state '{}' is not a callback task but its integration awaits a callback", r.state.name)),
            },
            Some(rx) => await_callback(&r, rx, env).await?,
        },
        (None, TaskReply::NoCallback { exit_code, detail }) => no_callback(&r, exit_code, detail, env).await?,
        (None, other) => other,
    };
    Ok(reply)
}

/// Waits in real time for the callback of a task whose integration awaits
/// one, bounded by TimeoutSeconds / HeartbeatSeconds (heartbeats extend it);
/// the virtual clock follows the real time that passed.
async fn await_callback(r: &Pending<'_>, rx: &mut UnboundedReceiver<Callback>, env: &mut Env<'_>) -> Result<TaskReply, Halt> {
    let wall = env.cfg.wall.clone();
    let started = wall.now();
    let mut heartbeat_at = r.limits.heartbeat.map(|h| started + std::time::Duration::from_secs(h));
    let mut counted_ms = 0;
    loop {
        let waited = wait_for_callback(&wall, rx, r.limits, env.tasks.callback_wait, started, &mut heartbeat_at).await;
        // real time passed while waiting: the virtual clock follows it
        let real_ms = wall.elapsed(started).as_millis() as i64;
        let in_time = env.sleep_ms(real_ms - counted_ms).await;
        counted_ms = real_ms;
        match waited {
            // an activity worker took it: record that, then keep waiting
            Waited::Started(worker_name) => {
                env.push(Details::ActivityStarted { worker_name })?;
            }
            _ if !in_time => {
                r.tokens.close(r.token, Closed::Aborted);
                return Err(Halt::ExecutionTimedOut);
            }
            Waited::Reply(reply) => return Ok(reply),
            Waited::TimedOut { heartbeat } => {
                r.tokens.close(r.token, Closed::TimedOut);
                return Ok(timeout_reply(heartbeat));
            }
            Waited::Stalled => {
                r.tokens.close(r.token, Closed::Aborted);
                return Err(Halt::Stalled(format!(
                    "Task state '{}' waited {:.1} s (real time) for a callback that did not come; set TimeoutSeconds or HeartbeatSeconds, \
                     or answer its token with SendTaskSuccess / SendTaskFailure",
                    r.state.name,
                    real_ms as f64 / 1000.0
                )));
            }
        }
    }
}

/// The end of a task whose worker exited without calling back: under
/// `.sync` on ECS the stopped task decides; otherwise the task times out at
/// its TimeoutSeconds / HeartbeatSeconds, or the execution stalls.
async fn no_callback(r: &Pending<'_>, exit_code: Option<i64>, detail: String, env: &mut Env<'_>) -> Result<TaskReply, Halt> {
    Ok(match r.pattern {
        Pattern::Sync if r.is_ecs => {
            let code = exit_code.unwrap_or(1);
            let stopped = ecs::stopped_task(r.params, &env.region, &env.account, &format!("{:032x}", r.task_id), code);
            if code == 0 {
                TaskReply::Succeed(stopped)
            } else {
                TaskReply::Fail { error: names::TASK_FAILED.into(), cause: Some(crate::json::to_json_string(&stopped)) }
            }
        }
        Pattern::WaitForTaskToken | Pattern::Sync => match callback_deadline(r.limits) {
            Some((secs, is_heartbeat)) => {
                r.tokens.close(r.token, Closed::TimedOut);
                if !env.sleep_ms(secs as i64 * 1000).await {
                    return Err(Halt::ExecutionTimedOut);
                }
                timeout_reply(is_heartbeat)
            }
            None => {
                r.tokens.close(r.token, Closed::Aborted);
                return Err(Halt::Stalled(format!(
                    "Task state '{}' is waiting for a callback that will never come: {detail}. \
                     On AWS the execution would wait until the task's timeout ({} days by default; set TimeoutSeconds or HeartbeatSeconds).",
                    r.state.name,
                    DEFAULT_TASK_TIMEOUT_SECS / 86_400
                )));
            }
        },
        Pattern::RequestResponse => TaskReply::Fail { error: names::TASK_FAILED.into(), cause: Some(detail) },
    })
}

pub(super) fn from_callback(cb: Callback) -> TaskReply {
    match cb {
        Callback::Success(v) => TaskReply::Succeed(v),
        Callback::Failure { error, cause } => TaskReply::Fail { error: error.unwrap_or_default(), cause },
        Callback::Heartbeat | Callback::Started { .. } => unreachable!("heartbeats and starts are handled before"),
    }
}

fn timeout_reply(heartbeat: bool) -> TaskReply {
    if heartbeat {
        TaskReply::Fail { error: names::HEARTBEAT_TIMEOUT.into(), cause: None }
    } else {
        TaskReply::TimedOut
    }
}

enum Waited {
    Started(String),
    Reply(TaskReply),
    TimedOut { heartbeat: bool },
    Stalled,
}

/// Waits in real time for a callback; heartbeats push the heartbeat
/// deadline back. Without TimeoutSeconds/HeartbeatSeconds the wait is
/// bounded by `fallback` and then reported as stalled.
async fn wait_for_callback(
    wall: &Wall,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Callback>,
    limits: Limits,
    fallback: std::time::Duration,
    start: Instant,
    heartbeat_at: &mut Option<Instant>,
) -> Waited {
    use std::time::Duration;
    let timeout_at = limits.timeout.map(|t| start + Duration::from_secs(t));
    loop {
        let (deadline, which) = match (timeout_at, *heartbeat_at) {
            (Some(t), Some(h)) if h < t => (h, Some(true)),
            (Some(t), _) => (t, Some(false)),
            (None, Some(h)) => (h, Some(true)),
            (None, None) => (start + fallback, None),
        };
        match wall.timeout_at(deadline, rx.recv()).await {
            Some(Some(Callback::Heartbeat)) => {
                *heartbeat_at = limits.heartbeat.map(|h| wall.now() + Duration::from_secs(h));
            }
            Some(Some(Callback::Started { worker_name })) => return Waited::Started(worker_name),
            Some(Some(cb)) => return Waited::Reply(from_callback(cb)),
            Some(None) => return Waited::Stalled,
            None => {
                return match which {
                    Some(heartbeat) => Waited::TimedOut { heartbeat },
                    None => Waited::Stalled,
                }
            }
        }
    }
}

/// When a callback that never comes ends the task: the heartbeat or the
/// timeout, whichever is first (`true` for a heartbeat).
fn callback_deadline(l: Limits) -> Option<(u64, bool)> {
    match (l.timeout, l.heartbeat) {
        (Some(t), Some(h)) => Some((h.min(t), h < t)),
        (Some(t), None) => Some((t, false)),
        (None, Some(h)) => Some((h, true)),
        (None, None) => None,
    }
}

