//! The Task state: parameters, the integration call with AWS's event
//! sequence, timeouts, Retry and Catch, then result processing.

use super::error::{names, Failure};
use super::io::{apply_io_path, apply_result_path, eval_template, no_results, select, Ctx};
use super::recover::{recover, Recovery};
use super::states::finish;
use super::{Env, ExecInfo, Step};
use crate::asl::{Pattern, Resource, Seconds, State, Task};
use crate::clock::Rng;
use crate::history::{Details, Payload, TaskResource};
use crate::integrations::tokens::{Callback, Closed};
use crate::integrations::{ecs, TaskCall, TaskReply};
use serde_json::{json, Value};
use std::sync::Arc;

/// AWS's default for a callback task with no TimeoutSeconds: one year.
const DEFAULT_TASK_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

pub(crate) async fn run(state: &State, task: &Task, raw: Payload, env: &mut Env<'_>) -> Result<Step, Failure> {
    let entered_ms = env.clock.now_ms();
    let exec = env.exec.clone();
    let vars = env.vars.clone();
    let effective = {
        let ctx = Ctx { exec: &exec, state_name: &state.name, entered_ms, retry_count: 0, token: None, map_item: None, vars: &vars };
        apply_io_path(&state.input_path, raw.clone(), &ctx)?
    };
    let limits = Limits {
        timeout: seconds(&task.timeout, &effective, &exec, &vars, state, entered_ms)?,
        heartbeat: seconds(&task.heartbeat, &effective, &exec, &vars, state, entered_ms)?,
    };
    let mut retry_count: u32 = 0;
    let mut attempts: Vec<u64> = vec![0; state.retry.len()];
    loop {
        if !env.room_for(4) {
            return Err(super::history_limit());
        }
        let token = task_token(&mut env.rng);
        let ctx = Ctx { exec: &exec, state_name: &state.name, entered_ms, retry_count, token: Some(&token), map_item: None, vars: &vars };
        let parameters = match &state.parameters {
            Some(t) => Arc::new(eval_template(t, &effective, &ctx, &mut env.rng)?),
            None => effective.clone(),
        };
        let failure = match invoke(state, task, parameters, token.clone(), retry_count, limits, env).await {
            Outcome::Result(result) => {
                let ctx = Ctx { exec: &exec, state_name: &state.name, entered_ms, retry_count, token: Some(&token), map_item: None, vars: &vars };
                let selected = match &state.result_selector {
                    Some(t) => Arc::new(eval_template(t, &result, &ctx, &mut env.rng)?),
                    None => result,
                };
                if let Some(a) = &state.assign {
                    env.assign(a, &selected, &ctx)?;
                }
                let combined = apply_result_path(&state.result_path, raw, selected)?;
                return finish(state, combined, &ctx);
            }
            Outcome::Stalled(why) => return Ok(Step::Stalled(why)),
            Outcome::ExecutionTimedOut => return Ok(Step::ExecutionTimedOut),
            Outcome::Failed(f) => f,
        };
        match recover(state, failure, &mut attempts, &raw, env)? {
            Recovery::Retry => retry_count += 1,
            Recovery::Done(step) => return Ok(step),
        }
    }
}

/// A task token: 64 hex digits from the seeded generator.
fn task_token(rng: &mut Rng) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for _ in 0..4 {
        let x = rng.next_u64();
        for shift in (0..16).rev() {
            s.push(HEX[((x >> (shift * 4)) & 0xf) as usize] as char);
        }
    }
    s
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Option<u64>,
    heartbeat: Option<u64>,
}

fn seconds(s: &Option<Seconds>, input: &Value, exec: &ExecInfo, vars: &super::Vars, state: &State, entered_ms: i64) -> Result<Option<u64>, Failure> {
    match s {
        None => Ok(None),
        Some(Seconds::Fixed(n)) => Ok(Some(*n)),
        Some(Seconds::Path(p)) => {
            let ctx = Ctx { exec, state_name: &state.name, entered_ms, retry_count: 0, token: None, map_item: None, vars: &vars };
            let v = select(p, input, &ctx).ok_or_else(|| no_results(p))?;
            match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(Failure::runtime(format!("The value of '{}' must be a positive integer, found {}", p.as_str(), v))),
            }
        }
    }
}

enum Outcome {
    Result(Payload),
    Failed(Failure),
    Stalled(String),
    ExecutionTimedOut,
}

/// One attempt: the scheduled/started/submitted events, the integration
/// call, and the closing event.
async fn invoke(state: &State, task: &Task, params: Payload, token: String, retry_count: u32, limits: Limits, env: &mut Env<'_>) -> Outcome {
    let Limits { timeout, heartbeat } = limits;
    match &task.kind {
        Resource::Service { res, .. } => {
            env.push(Details::TaskScheduled { res: res.clone(), region: env.region.clone(), parameters: params.clone(), timeout, heartbeat });
            env.push(Details::TaskStarted { res: res.clone() });
        }
        Resource::LambdaFunction(arn) => {
            env.push(Details::LambdaFunctionScheduled { resource: arn.clone(), input: params.clone(), timeout });
            env.push(Details::LambdaFunctionStarted);
        }
        Resource::Activity(arn) => {
            env.push(Details::ActivityScheduled { resource: arn.clone(), input: params.clone(), timeout, heartbeat });
            env.push(Details::ActivityStarted { worker_name: "sfn-harness".into() });
        }
    }
    let pattern = task.kind.pattern();
    let is_ecs = matches!(&task.kind, Resource::Service { res, .. } if &*res.resource_type == "ecs");
    let task_id = (env.rng.next_u64() as u128) << 64 | env.rng.next_u64() as u128;
    let integration = env.tasks.get(&state.name);
    // activities and callback patterns are answered through their token
    let waits = matches!(pattern, Pattern::Sync | Pattern::WaitForTaskToken) || matches!(task.kind, Resource::Activity(_));
    let callback = waits && integration.is_some_and(|i| i.uses_callbacks());
    let tokens = env.tasks.tokens().clone();
    let mut callbacks = callback.then(|| tokens.register(&token));
    let invocation = env.invocations[state.index];
    env.invocations[state.index] += 1;
    let call = TaskCall {
        state_name: state.name.clone(),
        resource: task.resource.clone(),
        parameters: params.clone(),
        token: Some(token.clone()),
        invocation,
        retry_count,
        timeout_seconds: timeout,
        heartbeat_seconds: heartbeat,
    };
    let answer = match integration {
        Some(i) => i.call(&call).await,
        None => TaskReply::Fail {
            error: "Harness.NoIntegration".into(),
            cause: Some(format!(
                "Task state '{}' ({}) has no handler and no mocked response: add one with Harness::on_task or a mock config test case",
                state.name, task.resource
            )),
        }
        .into(),
    };
    if let Resource::Service { res, pattern: Pattern::Sync | Pattern::WaitForTaskToken } = &task.kind {
        let details = match answer.submitted {
            Some(v) => Details::TaskSubmitted { res: res.clone(), output: Arc::new(v) },
            None if is_ecs => Details::EcsTaskSubmitted {
                res: res.clone(),
                parameters: params.clone(),
                region: env.region.clone(),
                account: env.account.clone(),
                task_id,
            },
            None => Details::TaskSubmitted { res: res.clone(), output: Arc::new(json!({})) },
        };
        env.push(details);
    }
    if let Some(logs) = answer.logs {
        env.task_logs.push(super::TaskLog { state: state.name.clone(), invocation, logs, worker_ms: answer.worker_ms });
    }
    if answer.elapsed_ms > 0 && !env.advance_ms(answer.elapsed_ms) {
        tokens.close(&token, Closed::Aborted);
        return Outcome::ExecutionTimedOut;
    }
    // a callback that already arrived wins over what the work reported after it
    let queued = callbacks.as_mut().and_then(|rx| loop {
        match rx.try_recv() {
            Ok(Callback::Heartbeat) => continue,
            Ok(cb) => break Some(cb),
            Err(_) => break None,
        }
    });
    let reply = match (queued, answer.reply) {
        (Some(cb), _) => from_callback(cb),
        (None, TaskReply::AwaitCallback) => match callbacks.as_mut() {
            None => TaskReply::Fail {
                error: names::RUNTIME.into(),
                cause: Some(format!("Task state '{}' is not a callback task but its integration awaits a callback", state.name)),
            },
            Some(rx) => {
                let started = std::time::Instant::now();
                let waited = wait_for_callback(rx, limits, env.tasks.callback_wait).await;
                let real_ms = started.elapsed().as_millis() as i64;
                match waited {
                    Waited::Reply(r) => {
                        env.advance_ms(real_ms);
                        r
                    }
                    Waited::TimedOut { heartbeat } => {
                        tokens.close(&token, Closed::TimedOut);
                        if !env.advance_ms(real_ms) {
                            return Outcome::ExecutionTimedOut;
                        }
                        timeout_reply(heartbeat)
                    }
                    Waited::Stalled => {
                        tokens.close(&token, Closed::Aborted);
                        return Outcome::Stalled(format!(
                            "Task state '{}' waited {:.1} s (real time) for a callback that did not come; set TimeoutSeconds or HeartbeatSeconds, \
                             or answer its token with SendTaskSuccess / SendTaskFailure",
                            state.name,
                            real_ms as f64 / 1000.0
                        ));
                    }
                }
            }
        },
        (None, TaskReply::NoCallback { exit_code, detail }) => match pattern {
            Pattern::Sync if is_ecs => {
                let code = exit_code.unwrap_or(1);
                let stopped = ecs::stopped_task(&params, &env.region, &env.account, &format!("{task_id:032x}"), code);
                if code == 0 {
                    TaskReply::Succeed(stopped)
                } else {
                    TaskReply::Fail { error: names::TASK_FAILED.into(), cause: Some(crate::history::to_json_string(&stopped)) }
                }
            }
            Pattern::WaitForTaskToken | Pattern::Sync => match callback_deadline(limits) {
                Some((secs, is_heartbeat)) => {
                    tokens.close(&token, Closed::TimedOut);
                    if !env.advance_ms(secs as i64 * 1000) {
                        return Outcome::ExecutionTimedOut;
                    }
                    timeout_reply(is_heartbeat)
                }
                None => {
                    tokens.close(&token, Closed::Aborted);
                    return Outcome::Stalled(format!(
                        "Task state '{}' is waiting for a callback that will never come: {detail}. \
                         On AWS the execution would wait until the task's timeout ({} days by default; set TimeoutSeconds or HeartbeatSeconds).",
                        state.name,
                        DEFAULT_TASK_TIMEOUT_SECS / 86_400
                    ));
                }
            },
            Pattern::RequestResponse => TaskReply::Fail { error: names::TASK_FAILED.into(), cause: Some(detail) },
        },
        (None, other) => other,
    };
    if callback {
        tokens.close(&token, Closed::Answered);
    }
    match reply {
        TaskReply::Succeed(v) => {
            if super::payload_too_large(&v) {
                let f = super::data_limit(&task.resource);
                env.push(closing(&task.kind, Err((&f, false))));
                return Outcome::Failed(f);
            }
            let v = Arc::new(v);
            env.push(closing(&task.kind, Ok(&v)));
            Outcome::Result(v)
        }
        TaskReply::Fail { error, cause } => {
            let timed_out = error == names::HEARTBEAT_TIMEOUT;
            let f = Failure::new(error, cause);
            env.push(closing(&task.kind, Err((&f, timed_out))));
            Outcome::Failed(f)
        }
        TaskReply::TimedOut => {
            let f = Failure::timeout();
            env.push(closing(&task.kind, Err((&f, true))));
            Outcome::Failed(f)
        }
        TaskReply::NoCallback { .. } | TaskReply::AwaitCallback => unreachable!("mapped above"),
    }
}

fn from_callback(cb: Callback) -> TaskReply {
    match cb {
        Callback::Success(v) => TaskReply::Succeed(v),
        Callback::Failure { error, cause } => TaskReply::Fail { error: error.unwrap_or_default(), cause },
        Callback::Heartbeat => unreachable!("heartbeats are skipped"),
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
    Reply(TaskReply),
    TimedOut { heartbeat: bool },
    Stalled,
}

/// Waits in real time for a callback; heartbeats push the heartbeat
/// deadline back. Without TimeoutSeconds/HeartbeatSeconds the wait is
/// bounded by `fallback` and then reported as stalled.
async fn wait_for_callback(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Callback>, limits: Limits, fallback: std::time::Duration) -> Waited {
    use std::time::{Duration, Instant};
    let start = Instant::now();
    let timeout_at = limits.timeout.map(|t| start + Duration::from_secs(t));
    let mut heartbeat_at = limits.heartbeat.map(|h| start + Duration::from_secs(h));
    loop {
        let (deadline, which) = match (timeout_at, heartbeat_at) {
            (Some(t), Some(h)) if h < t => (h, Some(true)),
            (Some(t), _) => (t, Some(false)),
            (None, Some(h)) => (h, Some(true)),
            (None, None) => (start + fallback, None),
        };
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some(Callback::Heartbeat)) => {
                heartbeat_at = limits.heartbeat.map(|h| Instant::now() + Duration::from_secs(h));
            }
            Ok(Some(cb)) => return Waited::Reply(from_callback(cb)),
            Ok(None) => return Waited::Stalled,
            Err(_) => {
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

/// The event that ends an attempt, by resource kind and outcome.
fn closing(kind: &Resource, outcome: Result<&Payload, (&Failure, bool)>) -> Details {
    match (kind, outcome) {
        (Resource::Service { res, .. }, Ok(v)) => Details::TaskSucceeded { res: res.clone(), output: v.clone() },
        (Resource::Service { res, .. }, Err((f, timed_out))) => task_failed(res, f, timed_out),
        (Resource::LambdaFunction(_), Ok(v)) => Details::LambdaFunctionSucceeded { output: v.clone() },
        (Resource::LambdaFunction(_), Err((f, true))) => Details::LambdaFunctionTimedOut { error: f.error.clone(), cause: f.cause.clone() },
        (Resource::LambdaFunction(_), Err((f, false))) => Details::LambdaFunctionFailed { error: f.error.clone(), cause: f.cause.clone() },
        (Resource::Activity(_), Ok(v)) => Details::ActivitySucceeded { output: v.clone() },
        (Resource::Activity(_), Err((f, true))) => Details::ActivityTimedOut { error: f.error.clone(), cause: f.cause.clone() },
        (Resource::Activity(_), Err((f, false))) => Details::ActivityFailed { error: f.error.clone(), cause: f.cause.clone() },
    }
}

fn task_failed(res: &TaskResource, f: &Failure, timed_out: bool) -> Details {
    let (error, cause) = (f.error.clone(), f.cause.clone());
    if timed_out {
        Details::TaskTimedOut { res: res.clone(), error, cause }
    } else {
        Details::TaskFailed { res: res.clone(), error, cause }
    }
}
