//! The Task state: parameters, the integration call with AWS's event
//! sequence, timeouts, Retry and Catch, then result processing.

use super::callback::{direct, resolve, virtual_wait, Limits, Pending, Settled};
use super::error::{Exn, Failure, FaultKind, Halt, HarnessFault};
use super::io::finish;
use super::io::{apply_io_path, apply_result_path, eval_parameters, eval_template, no_results};
use super::io::{select, Ctx};
use super::jsonata::{eval_count, States};
use super::recover::recover;
use super::sched::in_fiber;
use super::{Env, Step};
use crate::asl::{Pattern, QueryLanguage, Resource, Seconds, State, Task};
use crate::history::{Details, Payload, Service, TaskResource, WorkStep};
use crate::integrations::tokens::Closed;
use crate::integrations::{Answer, BoxFuture};
use crate::integrations::{TaskCall, TaskReply};
use crate::parameters::Parameters;
use crate::rng::Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

pub(crate) async fn run(
    state: &State,
    task: &Task,
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    // the context object reads the execution's ids and variables in place
    // (fields apart from the generator it is evaluated with)
    let entered_ms = env.now_ms();
    let jsonata = state.ql == QueryLanguage::Jsonata;
    let effective = {
        let ctx = Ctx::new(&env.exec, &env.vars, &state.name, entered_ms);
        if jsonata {
            raw.clone()
        } else {
            apply_io_path(&state.input_path, raw.clone(), &ctx)?
        }
    };
    let limits = {
        let ctx = Ctx::new(&env.exec, &env.vars, &state.name, entered_ms);
        Limits {
            timeout: seconds(&task.timeout, &effective, &ctx, &mut env.rng)?,
            heartbeat: seconds(&task.heartbeat, &effective, &ctx, &mut env.rng)?,
        }
    };
    let callback = task.kind.pattern() != Pattern::RequestResponse;
    let mut retry_count: u32 = 0;
    let mut attempts: Vec<u64> = vec![0; state.retry.len()];
    loop {
        let token = env.rng.token();
        let ctx = Ctx::new(&env.exec, &env.vars, &state.name, entered_ms)
            .attempt(retry_count, &token)
            .callback(callback);
        // JSONata Arguments are laid out as a template at load; without
        // Parameters or Arguments the task gets its (effective) input
        let template = if jsonata { &state.arguments_template } else { &state.parameters };
        let parameters: Parameters = match template {
            Some(t) => {
                let history = &mut env.history;
                let layout = state.env_layout.as_ref();
                // the input as the history holds it (its StateEntered event):
                // a leaf may keep a place in it at no cost
                let root = Arc::ptr_eq(&effective, &raw).then_some(&effective);
                eval_parameters(t, layout, &effective, root, &ctx, &mut env.rng, |v| {
                    super::leaf_in(history, v)
                })?
            }
            None => effective.clone().into(),
        };
        // the attempt's call owns its token: what follows reads it there
        let mut call = TaskCall {
            iteration: Vec::new(),
            state_name: state.name.clone(),
            resource: task.resource.clone(),
            parameters,
            token: Some(token),
            invocation: 0,
            retry_count,
            timeout_seconds: limits.timeout,
            heartbeat_seconds: limits.heartbeat,
        };
        let invoked = invoke(state, task, &mut call, limits, env).await;
        let token = call.token.unwrap_or_default();
        let failure = match invoked {
            Ok(result) => {
                // Assign and JSONata's conclusion write to the execution
                // while reading its ids and variables: they read a copy
                let (exec, vars) = (env.exec.clone(), env.vars.clone());
                let ctx = Ctx::new(&exec, &vars, &state.name, entered_ms)
                    .attempt(retry_count, &token)
                    .callback(callback);
                if jsonata {
                    return super::jsonata_io::conclude(state, raw, Some(result), &ctx, env);
                }
                let selected = match &state.result_selector {
                    Some(t) => Arc::new(eval_template(t, &result, &ctx, &mut env.rng)?),
                    None => result,
                };
                if let Some(a) = &state.assign {
                    env.assign(a, &States::input(&selected, &ctx))?;
                }
                let combined = apply_result_path(&state.result_path, raw, selected)?;
                return finish(state, combined, &ctx);
            }
            Err(Exn::Fail(f)) => f,
            Err(halt) => return Err(halt),
        };
        // boxed for the reason the waiting paths of an attempt are
        match Box::pin(recover(state, failure, &mut attempts, &raw, env)).await? {
            None => retry_count += 1,
            Some(step) => return Ok(step),
        }
    }
}

/// TimeoutSeconds / HeartbeatSeconds: fixed, read by path, or a JSONata expression.
fn seconds(
    s: &Option<Seconds>,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Option<u64>, Failure> {
    match s {
        None => Ok(None),
        Some(Seconds::Fixed(n)) => Ok(Some(*n)),
        Some(Seconds::Expr(e)) => eval_count(e, &States::input(input, ctx), rng).map(Some),
        Some(Seconds::Path(p)) => {
            let v = select(p, input, ctx).ok_or_else(|| no_results(p))?;
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

/// One attempt: the scheduled/started/submitted events, the integration
/// call, and the closing event; the task's result, or why there is none.
async fn invoke(
    state: &State,
    task: &Task,
    call: &mut TaskCall,
    limits: Limits,
    env: &mut Env<'_>,
) -> Result<Payload, Exn> {
    // Longer than a screen: the steps of one attempt in the order AWS records
    // them (events, token, call, submitted, time, callback, closing event).
    if let Resource::Service { res, .. } = &task.kind {
        if let Some(why) = crate::integrations::params::check(res, &call.parameters) {
            let shown = crate::json::to_json_string(&call.parameters);
            return Err(Failure::runtime(format!(
                "The Parameters '{shown}' could not be used to start the Task: [{why}]"
            ))
            .into());
        }
    }
    // who does the work, as every event of this attempt names it
    let by = service(&task.kind, env);
    scheduled(state, task, &by, &call.parameters, limits, env)?;
    let pattern = task.kind.pattern();
    let is_ecs = task.kind.is_ecs();
    let task_id = [env.rng.next_u64(), env.rng.next_u64()];
    let integration = env.tasks.get(&state.name);
    // activities and callback patterns are answered through their token
    let waits = matches!(pattern, Pattern::Sync | Pattern::WaitForTaskToken)
        || matches!(task.kind, Resource::Activity(_));
    let callback = waits && integration.is_some_and(|i| i.uses_callbacks());
    let invocation = env.count_invocation(state);
    call.invocation = invocation;
    if env.fiber != super::sched::ROOT {
        call.iteration = env.sim.iteration_path(env.fiber);
    }
    let call = &*call;
    let (params, token) = (&call.parameters, call.token.as_deref().unwrap_or_default());
    let tasks = env.tasks;
    let tokens: &crate::integrations::tokens::TokenRegistry = tasks.tokens();
    let mut callbacks = callback.then(|| tokens.register(token));
    if let Some(why) = env.tasks.shadowed(&state.name) {
        return Err(HarnessFault::new(FaultKind::ShadowedMock, why.to_string()).into());
    }
    // most answers are ready at once (a synchronous handler needs no
    // future at all); work still running inside the simulation (a handler
    // that sleeps) is waited for in virtual time, work outside it (a
    // container) in real time
    let answered = match integration {
        None => Err(no_integration(state, task)),
        Some(i) => match i.call_now(call) {
            Some(a) => a.map(|a| (a, None)),
            None => {
                let mut work: BoxFuture<'_, Result<Answer, HarnessFault>> = i.call(call);
                let (sim, fiber) = (env.sim.clone(), env.fiber);
                let first = in_fiber(&sim, fiber, || {
                    work.as_mut().poll(&mut Context::from_waker(Waker::noop()))
                });
                match first {
                    Poll::Ready(a) => a.map(|a| (a, None)),
                    Poll::Pending if i.real_time() => work.await.map(|a| (a, None)),
                    Poll::Pending => Ok((Answer::from(TaskReply::AwaitCallback), Some(work))),
                }
            }
        },
    };
    let (mut answer, running) = match answered {
        Ok(a) => a,
        Err(fault) => {
            tokens.close(token, Closed::Aborted);
            return settle(task, &by, Settled::Faulted(fault), env);
        }
    };
    if let Resource::Service { res, pattern: Pattern::Sync | Pattern::WaitForTaskToken } =
        &task.kind
    {
        // a request the service refused submitted nothing
        if answer.submitted != Some(Value::Null) {
            let details = submitted(res, answer.submitted.take(), is_ecs, params, task_id, env);
            env.push(details)?;
        }
    }
    if let Some(logs) = answer.logs {
        env.task_log(super::TaskLog {
            state: state.name.clone(),
            invocation,
            logs,
            worker_ms: answer.worker_ms,
        });
    }
    if !env.sleep_ms(answer.elapsed_ms).await {
        tokens.close(token, Closed::Aborted);
        return Err(Halt::ExecutionTimedOut.into());
    }
    // answered directly with no token involved: nothing to resolve
    let no_token = callbacks.is_none();
    let mut pending = Pending {
        state,
        pattern,
        is_ecs,
        params,
        task_id,
        limits,
        token,
        tokens,
        callbacks: callbacks.as_mut(),
    };
    // the paths that wait (for a callback, for work still running) are
    // boxed: held inline they would make every task's future, and every
    // Map iteration's, as large as theirs (moved and copied for nothing)
    let settled = match (direct(answer.reply), running) {
        (Ok(settled), None) if no_token => settled,
        (reply, None) => Box::pin(resolve(pending, reply, env)).await?,
        (_, Some(work)) => Box::pin(virtual_wait(&mut pending, Some(work), None, env)).await?,
    };
    if callback {
        tokens.close(token, Closed::Answered);
    }
    settle(task, &by, settled, env)
}

/// Records the closing event of an attempt that ended as `settled`; the
/// task's result, or why there is none.
fn settle(task: &Task, by: &Service, settled: Settled, env: &mut Env<'_>) -> Result<Payload, Exn> {
    match settled {
        Settled::Succeeded(v) => {
            let Ok(v) = env.admit(Arc::new(v)) else {
                let f = super::data_limit(&task.resource);
                env.push(closing(by, Err(&f)))?;
                return Err(f.into());
            };
            env.push(closing(by, Ok(&v)))?;
            Ok(v)
        }
        Settled::Failed(f) => {
            env.push(closing(by, Err(&f)))?;
            Err(f.into())
        }
        // a problem of the test (no handler, a mock run dry…): recorded as
        // the task's failure, and no Retry or Catch of the definition absorbs it
        Settled::Faulted(fault) => {
            env.push(closing(by, Err(&fault.failure())))?;
            Err(fault.into())
        }
    }
}

/// The fault of a Task state nobody answers.
fn no_integration(state: &State, task: &Task) -> HarnessFault {
    HarnessFault::new(
        FaultKind::NoIntegration,
        format!(
            "Task state '{}' ({}) has no handler and no mocked response: add one with Harness::on_task or a mock config test case",
            state.name, task.resource
        ),
    )
}

/// Who does a task's work, as its events name it.
fn service(kind: &Resource, env: &Env<'_>) -> Service {
    match kind {
        Resource::Service { res, .. } => Service::Task(res.clone()),
        Resource::LambdaFunction(arn) => {
            Service::LambdaFunction(Resource::function_arn(arn, &env.cfg.region, &env.cfg.account))
        }
        Resource::Activity(arn) => Service::Activity(arn.clone()),
    }
}

/// The events that open an attempt: …Scheduled and …Started.
fn scheduled(
    state: &State,
    task: &Task,
    by: &Service,
    params: &Parameters,
    limits: Limits,
    env: &mut Env<'_>,
) -> Result<(), Halt> {
    let Limits { timeout, heartbeat } = limits;
    let (region, input) = (env.cfg.region.clone(), params.clone());
    let step = WorkStep::Scheduled { input, region, timeout, heartbeat };
    env.push(Details::Work { by: by.clone(), step })?;
    // a worker polling GetActivityTask records an activity's start, with its name
    let started = match task.kind {
        Resource::Activity(_) if env.tasks.get(&state.name).is_some_and(|i| i.uses_callbacks()) => {
            return Ok(())
        }
        Resource::Activity(_) => WorkStep::Started { worker_name: Some("sfn-harness".into()) },
        _ => WorkStep::Started { worker_name: None },
    };
    env.push(Details::Work { by: by.clone(), step: started })?;
    Ok(())
}

/// TaskSubmitted of a `.sync` / `.waitForTaskToken` service task: what the
/// integration `given`, else a simulated RunTask response for ECS (rendered
/// only if the history is read), else `{}`.
fn submitted(
    res: &Arc<TaskResource>,
    given: Option<Value>,
    is_ecs: bool,
    params: &Parameters,
    task_id: [u64; 2],
    env: &Env<'_>,
) -> Details {
    let step = match given {
        Some(v) => WorkStep::Submitted { output: Arc::new(v) },
        None if is_ecs => {
            WorkStep::SubmittedRunTask { params: params.clone(), at: env.place.clone(), task_id }
        }
        None => WorkStep::Submitted { output: Arc::new(json!({})) },
    };
    Details::Work { by: Service::Task(res.clone()), step }
}

/// The event that ends an attempt: …Succeeded, …Failed or …TimedOut.
fn closing(by: &Service, outcome: Result<&Payload, &Failure>) -> Details {
    let step = match outcome {
        Ok(v) => WorkStep::Succeeded { output: v.clone() },
        Err(f) if f.timed_out() => {
            WorkStep::TimedOut { error: f.error.clone(), cause: f.cause.clone() }
        }
        Err(f) => WorkStep::Failed { error: f.error.clone(), cause: f.cause.clone() },
    };
    Details::Work { by: by.clone(), step }
}
