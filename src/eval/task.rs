//! The Task state: parameters, the integration call with AWS's event
//! sequence, timeouts, Retry and Catch, then result processing.

use super::error::{names, Failure};
use super::io::{apply_io_path, apply_result_path, eval_template, no_results, select, Ctx};
use super::states::finish;
use super::{Env, Step};
use crate::asl::{Jitter, Retrier, Seconds, State, Task};
use crate::history::{Details, TaskResource};
use crate::integrations::{ecs, Pattern, Resource, TaskCall, TaskReply};
use serde_json::{json, Value};
use std::sync::Arc;

/// AWS's default for a callback task with no TimeoutSeconds: one year.
const DEFAULT_TASK_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

pub(crate) async fn run(state: &State, task: &Task, raw: Value, env: &mut Env<'_>, entered: u64) -> Result<Step, Failure> {
    let entered_ms = env.clock.now_ms();
    let exec = env.exec.clone();
    let resource = Resource::parse(&task.resource);
    let effective = {
        let ctx = Ctx { exec: &exec, state_name: &state.name, entered_ms, retry_count: 0, token: None };
        apply_io_path(&state.input_path, raw.clone(), &ctx)?
    };
    let timeout = seconds(&task.timeout, &effective, &exec, state, entered_ms)?;
    let heartbeat = seconds(&task.heartbeat, &effective, &exec, state, entered_ms)?;
    let mut retry_count: u32 = 0;
    let mut attempts: Vec<u64> = vec![0; state.retry.len()];
    let _ = entered;
    loop {
        if !env.room_for(4) {
            return Err(Failure::new(names::RUNTIME, Some(super::history_limit().cause.unwrap_or_default())));
        }
        let token = task_token(&mut env.rng);
        let ctx = Ctx { exec: &exec, state_name: &state.name, entered_ms, retry_count, token: Some(&token) };
        let parameters = match &state.parameters {
            Some(t) => eval_template(t, &effective, &ctx, &mut env.rng)?,
            None => effective.clone(),
        };
        let outcome = invoke(state, &task.resource, &resource, parameters, token.clone(), retry_count, timeout, heartbeat, env).await;
        let failure = match outcome {
            Outcome::Result(result) => {
                let ctx = Ctx { exec: &exec, state_name: &state.name, entered_ms, retry_count, token: Some(&token) };
                let selected = match &state.result_selector {
                    Some(t) => eval_template(t, &result, &ctx, &mut env.rng)?,
                    None => result,
                };
                let combined = apply_result_path(&state.result_path, raw, selected)?;
                return finish(state, combined, &ctx);
            }
            Outcome::Stalled(why) => return Ok(Step::Stalled(why)),
            Outcome::ExecutionTimedOut => return Ok(Step::ExecutionTimedOut),
            Outcome::Failed(f) => f,
        };
        if let Some(delay_ms) = retry_delay(&state.retry, &mut attempts, &failure, &mut env.rng) {
            if !env.advance_ms(delay_ms) {
                return Ok(Step::ExecutionTimedOut);
            }
            retry_count += 1;
            continue;
        }
        if let Some(c) = state.catch.iter().find(|c| failure.matches(&c.error_equals)) {
            let mut err = serde_json::Map::new();
            err.insert("Error".into(), json!(failure.error_name()));
            err.insert("Cause".into(), json!(failure.cause.clone().unwrap_or_default()));
            let combined = apply_result_path(&c.result_path, raw, Value::Object(err))?;
            return Ok(Step::Next(c.next, combined));
        }
        return Err(failure);
    }
}

/// A task token: 64 hex digits from the seeded generator.
fn task_token(rng: &mut crate::clock::Rng) -> String {
    format!("{:016x}{:016x}{:016x}{:016x}", rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64())
}

fn seconds(s: &Option<Seconds>, input: &Value, exec: &super::ExecInfo, state: &State, entered_ms: i64) -> Result<Option<u64>, Failure> {
    match s {
        None => Ok(None),
        Some(Seconds::Fixed(n)) => Ok(Some(*n)),
        Some(Seconds::Path(p)) => {
            let ctx = Ctx { exec, state_name: &state.name, entered_ms, retry_count: 0, token: None };
            let v = select(p, input, &ctx).ok_or_else(|| no_results(p))?;
            match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(Failure::runtime(format!(
                    "The value of '{}' must be a positive integer, found {}",
                    p.as_str(),
                    v
                ))),
            }
        }
    }
}

/// Finds the retrier for `f`; returns the backoff delay if one applies and
/// has attempts left (counting the attempt).
fn retry_delay(retriers: &[Retrier], attempts: &mut [u64], f: &Failure, rng: &mut crate::clock::Rng) -> Option<i64> {
    let i = retriers.iter().position(|r| f.matches(&r.error_equals))?;
    let r = &retriers[i];
    if attempts[i] >= r.max_attempts {
        return None;
    }
    let mut delay = r.interval_seconds as f64 * r.backoff_rate.powi(attempts[i] as i32);
    if let Some(max) = r.max_delay_seconds {
        delay = delay.min(max as f64);
    }
    if r.jitter == Jitter::Full {
        delay *= rng.next_f64();
    }
    attempts[i] += 1;
    Some((delay * 1000.0).round() as i64)
}

enum Outcome {
    Result(Value),
    Failed(Failure),
    Stalled(String),
    ExecutionTimedOut,
}

/// One attempt: the scheduled/started/submitted events, the integration
/// call, and the closing event.
#[allow(clippy::too_many_arguments)]
async fn invoke(
    state: &State,
    arn: &str,
    resource: &Resource,
    parameters: Value,
    token: String,
    retry_count: u32,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
    env: &mut Env<'_>,
) -> Outcome {
    let params = Arc::new(parameters);
    let region: Arc<str> = Arc::from(env.cfg.region.as_str());
    match resource {
        Resource::Service { res, .. } => {
            env.push(Details::TaskScheduled { res: res.clone(), region, parameters: params.clone(), timeout, heartbeat });
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
    let pattern = resource.pattern();
    let task_id = format!("{:032x}", env.rng.next_u64() as u128 | ((env.rng.next_u64() as u128) << 64));
    let is_ecs = matches!(resource, Resource::Service { res, .. } if &*res.resource_type == "ecs");
    if let Resource::Service { res, pattern: Pattern::Sync | Pattern::WaitForTaskToken } = resource {
        let submitted = if is_ecs {
            ecs::run_task_response(&params, &env.cfg.region, &env.cfg.account, &task_id)
        } else {
            json!({})
        };
        env.push(Details::TaskSubmitted { res: res.clone(), output: Arc::new(submitted) });
    }
    let n = {
        let counter = env.invocations.entry(state.name.clone()).or_insert(0);
        *counter += 1;
        *counter - 1
    };
    let call = TaskCall {
        state_name: state.name.clone(),
        resource: arn.to_string(),
        parameters: (*params).clone(),
        token: Some(token),
        invocation: n,
        retry_count,
    };
    let reply = match env.integration(&state.name) {
        Some(i) => i.call(&call).await,
        None => TaskReply::Fail {
            error: "Harness.NoIntegration".into(),
            cause: Some(format!(
                "Task state '{}' ({}) has no handler and no mocked response: add one with Harness::on_task or a mock config test case",
                state.name, arn
            )),
        },
    };
    let reply = match reply {
        TaskReply::NoCallback { exit_code, detail } => match pattern {
            Pattern::Sync if is_ecs => {
                let code = exit_code.unwrap_or(1);
                let task = ecs::stopped_task(&params, &env.cfg.region, &env.cfg.account, &task_id, code);
                if code == 0 {
                    TaskReply::Succeed(task)
                } else {
                    TaskReply::Fail { error: names::TASK_FAILED.into(), cause: Some(crate::history::to_json_string(&task)) }
                }
            }
            Pattern::WaitForTaskToken | Pattern::Sync => {
                let limit = match (timeout, heartbeat) {
                    (Some(t), Some(h)) => Some((h.min(t), h < t)),
                    (Some(t), None) => Some((t, false)),
                    (None, Some(h)) => Some((h, true)),
                    (None, None) => None,
                };
                match limit {
                    Some((secs, is_heartbeat)) => {
                        if !env.advance_ms(secs as i64 * 1000) {
                            return Outcome::ExecutionTimedOut;
                        }
                        if is_heartbeat {
                            TaskReply::Fail { error: names::HEARTBEAT_TIMEOUT.into(), cause: None }
                        } else {
                            TaskReply::TimedOut
                        }
                    }
                    None => {
                        return Outcome::Stalled(format!(
                            "Task state '{}' is waiting for a callback that will never come: {detail}. \
                             On AWS the execution would wait until the task's timeout ({} days by default; set TimeoutSeconds or HeartbeatSeconds).",
                            state.name,
                            DEFAULT_TASK_TIMEOUT_SECS / 86_400
                        ))
                    }
                }
            }
            Pattern::RequestResponse => TaskReply::Fail { error: names::TASK_FAILED.into(), cause: Some(detail) },
        },
        other => other,
    };
    let close = |env: &mut Env<'_>, ok: Result<&Value, (&Option<String>, &Option<String>, bool)>| match (resource, ok) {
        (Resource::Service { res, .. }, Ok(v)) => env.push(Details::TaskSucceeded { res: res.clone(), output: Arc::new(v.clone()) }),
        (Resource::Service { res, .. }, Err((e, c, timed_out))) => env.push(task_failed(res, e, c, timed_out)),
        (Resource::LambdaFunction(_), Ok(v)) => env.push(Details::LambdaFunctionSucceeded { output: Arc::new(v.clone()) }),
        (Resource::LambdaFunction(_), Err((e, c, true))) => env.push(Details::LambdaFunctionTimedOut { error: e.clone(), cause: c.clone() }),
        (Resource::LambdaFunction(_), Err((e, c, false))) => env.push(Details::LambdaFunctionFailed { error: e.clone(), cause: c.clone() }),
        (Resource::Activity(_), Ok(v)) => env.push(Details::ActivitySucceeded { output: Arc::new(v.clone()) }),
        (Resource::Activity(_), Err((e, c, true))) => env.push(Details::ActivityTimedOut { error: e.clone(), cause: c.clone() }),
        (Resource::Activity(_), Err((e, c, false))) => env.push(Details::ActivityFailed { error: e.clone(), cause: c.clone() }),
    };
    match reply {
        TaskReply::Succeed(v) => {
            if super::payload_too_large(&v) {
                let f = super::data_limit(&state.name);
                close(env, Err((&f.error, &f.cause, false)));
                return Outcome::Failed(f);
            }
            close(env, Ok(&v));
            Outcome::Result(v)
        }
        TaskReply::Fail { error, cause } => {
            let (e, c) = (Some(error), cause);
            let timed_out = e.as_deref() == Some(names::HEARTBEAT_TIMEOUT);
            close(env, Err((&e, &c, timed_out)));
            Outcome::Failed(Failure { error: e, cause: c, in_state: false })
        }
        TaskReply::TimedOut => {
            let e = Some(names::TIMEOUT.to_string());
            close(env, Err((&e, &None, true)));
            Outcome::Failed(Failure::timeout())
        }
        TaskReply::NoCallback { .. } => unreachable!("mapped above"),
    }
}

fn task_failed(res: &TaskResource, error: &Option<String>, cause: &Option<String>, timed_out: bool) -> Details {
    if timed_out {
        Details::TaskTimedOut { res: res.clone(), error: error.clone(), cause: cause.clone() }
    } else {
        Details::TaskFailed { res: res.clone(), error: error.clone(), cause: cause.clone() }
    }
}
