//! Callback tasks: how an integration's answer becomes the task's reply when
//! a task token is involved. A callback that already arrived wins; work in
//! the simulation (a handler still running, a scripted [`Timeline`]) is
//! waited for in virtual time, with TimeoutSeconds / HeartbeatSeconds on the
//! same clock; an integration that awaits a callback from outside waits in
//! real time, bounded the same way (heartbeats extend it); a worker that
//! exited without calling back ends as AWS would end it.

use super::error::{names, Failure, Halt, HarnessFault};
use super::sched::{in_fiber, FiberId, Sim, Sleep};
use super::Env;
use crate::asl::{Pattern, State};
use crate::history::{Details, Service, WorkStep};
use crate::integrations::ecs;
use crate::integrations::tokens::{Callback, Closed, TokenRegistry};
use crate::integrations::TaskReply;
use crate::integrations::{Answer, BoxFuture, Timeline};
use crate::time::{Mark, RealInstant, Wall};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::mpsc::UnboundedReceiver;

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
    pub params: &'a crate::parameters::Parameters,
    pub task_id: [u64; 2],
    pub limits: Limits,
    pub token: &'a str,
    pub tokens: &'a TokenRegistry,
    /// The token's callbacks, when it was registered.
    pub callbacks: Option<&'a mut UnboundedReceiver<Callback>>,
}

/// How a task attempt ended, before its closing event is recorded.
#[derive(Debug)]
pub(super) enum Settled {
    Succeeded(serde_json::Value),
    /// A failure of the task (Retry and Catch may handle it).
    Failed(Failure),
    /// A problem of the test: recorded as the task's failure, then the
    /// execution fails with it.
    Faulted(HarnessFault),
}

impl From<Failure> for Settled {
    fn from(f: Failure) -> Settled {
        Settled::Failed(f)
    }
}

/// What a reply leaves to wait for, when it does not end the attempt itself.
pub(super) enum Work {
    AwaitCallback,
    Callbacks(Timeline),
    NoCallback { exit_code: Option<i64>, detail: String },
}

/// A reply that ends the attempt as it is, or the work still to wait for.
pub(super) fn direct(reply: TaskReply) -> Result<Settled, Work> {
    Ok(match reply {
        TaskReply::Succeed(v) => Settled::Succeeded(v),
        TaskReply::Fail { error, cause } => Failure::reported(error, cause).into(),
        TaskReply::TimedOut => Failure::timeout().into(),
        TaskReply::HeartbeatTimedOut => Failure::heartbeat_timeout().into(),
        TaskReply::AwaitCallback => return Err(Work::AwaitCallback),
        TaskReply::Callbacks(t) => return Err(Work::Callbacks(t)),
        TaskReply::NoCallback { exit_code, detail } => {
            return Err(Work::NoCallback { exit_code, detail })
        }
    })
}

/// Turns the integration's `reply` (see [`direct`]) into the task's.
pub(super) async fn resolve(
    mut r: Pending<'_>,
    reply: Result<Settled, Work>,
    env: &mut Env<'_>,
) -> Result<Settled, Halt> {
    // a callback that already arrived wins over what the work reported after it
    let mut queued = None;
    if let Some(rx) = r.callbacks.as_deref_mut() {
        loop {
            match rx.try_recv() {
                Ok(Callback::Heartbeat) => continue,
                Ok(Callback::Started { worker_name }) => {
                    env.push(activity_started(r.state, worker_name))?;
                }
                Ok(cb) => {
                    queued = Some(cb);
                    break;
                }
                Err(_) => break,
            }
        }
    }
    if let Some(cb) = queued {
        return Ok(from_callback(cb));
    }
    match reply {
        Ok(settled) => Ok(settled),
        Err(Work::AwaitCallback) => match r.callbacks.take() {
            None => Ok(not_a_callback_task(&r)),
            Some(rx) => await_callback(&r, rx, env).await,
        },
        Err(Work::NoCallback { exit_code, detail }) => {
            no_callback(&r, exit_code, detail, env).await
        }
        Err(Work::Callbacks(t)) => virtual_wait(&mut r, None, Some(t), env).await,
    }
}

/// Waits in real time for the callback of a task whose integration awaits
/// one, bounded by TimeoutSeconds / HeartbeatSeconds (heartbeats extend it);
/// the virtual clock follows the real time that passed.
async fn await_callback(
    r: &Pending<'_>,
    rx: &mut UnboundedReceiver<Callback>,
    env: &mut Env<'_>,
) -> Result<Settled, Halt> {
    let wall = env.cfg.wall.clone();
    let started = wall.now();
    let mut heartbeat_at = r.limits.heartbeat.map(|h| started + std::time::Duration::from_secs(h));
    let mut counted_ms = 0;
    loop {
        let waited = wait_for_callback(
            &wall,
            rx,
            r.limits,
            env.tasks.callback_wait,
            started,
            &mut heartbeat_at,
        )
        .await;
        // real time passed while waiting: the virtual clock follows it
        let real_ms = wall.elapsed(started).as_millis() as i64;
        let in_time = env.sleep_ms(real_ms - counted_ms).await;
        counted_ms = real_ms;
        match waited {
            // an activity worker took it: record that, then keep waiting
            Waited::Started(worker_name) => {
                env.push(activity_started(r.state, worker_name))?;
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
async fn no_callback(
    r: &Pending<'_>,
    exit_code: Option<i64>,
    detail: String,
    env: &mut Env<'_>,
) -> Result<Settled, Halt> {
    Ok(match r.pattern {
        Pattern::Sync if r.is_ecs => {
            let code = exit_code.unwrap_or(1);
            let stopped = ecs::stopped_task(
                r.params,
                &env.cfg.region,
                &env.cfg.account,
                &crate::history::simulated_task_id(r.task_id),
                code,
            );
            if code == 0 {
                Settled::Succeeded(stopped)
            } else {
                Failure::new(names::TASK_FAILED, Some(crate::json::to_json_string(&stopped))).into()
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
        Pattern::RequestResponse => Failure::new(names::TASK_FAILED, Some(detail)).into(),
    })
}

pub(super) fn from_callback(cb: Callback) -> Settled {
    match cb {
        Callback::Success(v) => Settled::Succeeded(v),
        Callback::Failure { error, cause } => Failure::reported(error, cause).into(),
        Callback::Heartbeat | Callback::Started { .. } => {
            unreachable!("heartbeats and starts are handled before")
        }
    }
}

/// ActivityStarted: a worker took the activity task.
fn activity_started(state: &State, worker_name: String) -> Details {
    let arn = match &state.kind {
        crate::asl::StateKind::Task(t) => match &t.kind {
            crate::asl::Resource::Activity(arn) => arn.clone(),
            _ => t.resource.as_str().into(),
        },
        _ => Arc::from(""),
    };
    let step = WorkStep::Started { worker_name: Some(worker_name) };
    Details::Work { by: Service::Activity(arn), step }
}

/// What ends one step of a virtual wait.
enum Event {
    /// The handler's future finished.
    Work(Result<Answer, HarnessFault>),
    /// A callback through the token.
    Callback(Callback),
    /// The token's channel closed.
    Closed,
    /// The virtual timer: the next scripted callback, or a deadline.
    Timer,
}

/// Waits in virtual time for the end of work inside the simulation: a
/// handler's future still running (its `sfn_harness::sleep`s are virtual,
/// its SendTask* calls arrive through the token), the callbacks of a
/// scripted timeline, and the task's HeartbeatSeconds / TimeoutSeconds.
/// A handler that ends with [`TaskReply::AwaitCallback`] hands the rest of
/// the wait to real time (someone outside will call back).
pub(super) async fn virtual_wait(
    r: &mut Pending<'_>,
    mut work: Option<BoxFuture<'_, Result<Answer, HarnessFault>>>,
    script: Option<Timeline>,
    env: &mut Env<'_>,
) -> Result<Settled, Halt> {
    // Longer than a screen: one loop over what can happen next (work,
    // callback, scripted event, deadline), each handled where it is met.
    let start = env.now_ms();
    let ms = |s: u64| start.saturating_add((s as i64).saturating_mul(1000));
    // a timeline's callbacks, placed on the clock from `from`
    let placed = |t: &Timeline, from: i64| {
        t.events()
            .iter()
            .map(move |(at, cb)| (from.saturating_add(at.as_millis() as i64), cb.clone()))
            .collect::<Vec<_>>()
    };
    let mut script: VecDeque<(i64, Callback)> =
        script.map(|t| placed(&t, start).into()).unwrap_or_default();
    let mut heartbeat_due = r.limits.heartbeat.map(ms);
    let timeout_due = r.limits.timeout.map(ms);
    // the execution's own TimeoutSeconds bounds the wait too
    let execution_due = env.deadline_ms;
    let (sim, fiber) = (env.sim.clone(), env.fiber);
    // when the work started waiting for something real (see next_event)
    let mut mark = None;
    loop {
        let deadline = first_deadline(timeout_due, heartbeat_due);
        let next_due = [script.front().map(|(t, _)| *t), deadline.map(|(t, _)| t), execution_due]
            .into_iter()
            .flatten()
            .min();
        if work.is_none() && next_due.is_none() {
            // the script played out and nothing bounds the wait
            return Err(silence(r));
        }
        let event = {
            let mut timer = None;
            let rx = r.callbacks.as_deref_mut();
            let waits = Waits { sim: &sim, fiber, wall: &env.cfg.wall, due: next_due };
            match next_event(waits, work.as_mut(), rx, &mut timer, &mut mark).await {
                // the timer of the next scripted callback: it arrives now
                Event::Timer if script.front().is_some_and(|(t, _)| *t <= env.now_ms()) => {
                    let cb = script.pop_front().expect("checked").1;
                    // counted as the SDK path counts what it sends
                    r.tokens.count(&cb);
                    Event::Callback(cb)
                }
                other => other,
            }
        };
        match event {
            Event::Work(Err(fault)) => return Ok(Settled::Faulted(fault)),
            Event::Work(Ok(answer)) => {
                work = None;
                match direct(answer.reply) {
                    Ok(settled) => return Ok(settled),
                    Err(Work::AwaitCallback) => match r.callbacks.take() {
                        // someone outside calls back: real time from here
                        Some(rx) => return await_callback(r, rx, env).await,
                        None => return Ok(not_a_callback_task(r)),
                    },
                    Err(Work::Callbacks(t)) => {
                        script.extend(placed(&t, env.now_ms()));
                        script.make_contiguous().sort_by_key(|(t, _)| *t);
                    }
                    Err(Work::NoCallback { exit_code, detail }) => {
                        return no_callback(r, exit_code, detail, env).await
                    }
                }
            }
            Event::Closed => return Err(silence(r)),
            Event::Callback(Callback::Heartbeat) => {
                heartbeat_due =
                    r.limits.heartbeat.map(|h| env.now_ms().saturating_add(h as i64 * 1000))
            }
            Event::Callback(Callback::Started { worker_name }) => {
                env.push(activity_started(r.state, worker_name))?;
            }
            Event::Callback(cb) => return Ok(from_callback(cb)),
            Event::Timer if execution_due.is_some_and(|d| env.now_ms() >= d) => {
                r.tokens.close(r.token, Closed::Aborted);
                return Err(Halt::ExecutionTimedOut);
            }
            Event::Timer => {
                if let Some((_, heartbeat)) = deadline {
                    r.tokens.close(r.token, Closed::TimedOut);
                    return Ok(timeout_reply(heartbeat));
                }
            }
        }
    }
}

/// What a virtual wait's timer is: the task's fiber, the clock, and when
/// the next scripted callback or deadline is due.
struct Waits<'t> {
    sim: &'t Arc<Sim>,
    fiber: FiberId,
    wall: &'t Wall,
    due: Option<i64>,
}

/// Polls what a virtual wait waits on until one of them happens: the work
/// (as the task's fiber, so its sleeps are virtual), the token's callbacks,
/// and the timer at `due` — set only while nothing real is under way, so
/// virtual time does not run past work waiting for something real. Work
/// that waited on a paused tokio clock moves the virtual clock by what that
/// clock skipped (a deadline in between ends the wait there).
async fn next_event<'t>(
    w: Waits<'t>,
    mut work: Option<&mut BoxFuture<'_, Result<Answer, HarnessFault>>>,
    mut rx: Option<&mut UnboundedReceiver<Callback>>,
    timer: &mut Option<Sleep<'t>>,
    mark: &mut Option<Mark>,
) -> Event {
    let Waits { sim, fiber, wall, due } = w;
    std::future::poll_fn(|cx| {
        sim.awake(fiber);
        if let Some(m) = mark.take() {
            if let Some(skipped) = wall.skipped_since(&m) {
                let target = sim.now_ms().saturating_add(skipped.as_millis() as i64);
                if let Some(d) = due.filter(|d| *d <= target) {
                    sim.advance_to(d);
                    return Poll::Ready(Event::Timer);
                }
                sim.advance_to(target);
            }
        }
        if let Some(w) = work.as_mut() {
            if let Poll::Ready(a) = in_fiber(sim, fiber, || w.as_mut().poll(cx)) {
                return Poll::Ready(Event::Work(a));
            }
        }
        if let Some(rx) = rx.as_mut() {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(cb)) => return Poll::Ready(Event::Callback(cb)),
                Poll::Ready(None) => return Poll::Ready(Event::Closed),
                Poll::Pending => {}
            }
        }
        if let Some(t) = timer.as_mut() {
            if std::pin::Pin::new(t).poll(cx).is_ready() {
                return Poll::Ready(Event::Timer);
            }
        }
        let armed = timer.is_some() as usize;
        let virtual_only = work.is_none() || sim.timers_of(fiber) > armed;
        match due {
            Some(d) if virtual_only && timer.is_none() => {
                let t = timer.insert(sim.sleep_until(fiber, d));
                if std::pin::Pin::new(t).poll(cx).is_ready() {
                    return Poll::Ready(Event::Timer);
                }
            }
            Some(_) if virtual_only => {}
            // the work waits for something real: no virtual deadline meanwhile
            _ => {
                *timer = None;
                *mark = Some(wall.mark());
            }
        }
        Poll::Pending
    })
    .await
}

/// A handler awaits a callback on a task that has no token to answer.
fn not_a_callback_task(r: &Pending<'_>) -> Settled {
    Failure::new(
        names::RUNTIME,
        Some(format!(
            "Task state '{}' is not a callback task but its integration awaits a callback",
            r.state.name
        )),
    )
    .into()
}

/// The run cannot go on: nothing will answer and nothing bounds the wait.
fn silence(r: &Pending<'_>) -> Halt {
    r.tokens.close(r.token, Closed::Aborted);
    Halt::Stalled(format!(
        "Task state '{}' waits for a callback that its scripted work never sends, and has no TimeoutSeconds or HeartbeatSeconds; \
         on AWS the execution would wait until the task's timeout ({} days by default)",
        r.state.name,
        DEFAULT_TASK_TIMEOUT_SECS / 86_400
    ))
}

fn timeout_reply(heartbeat: bool) -> Settled {
    if heartbeat {
        Failure::heartbeat_timeout().into()
    } else {
        Failure::timeout().into()
    }
}

enum Waited {
    Started(String),
    Reply(Settled),
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
    start: RealInstant,
    heartbeat_at: &mut Option<RealInstant>,
) -> Waited {
    use std::time::Duration;
    let timeout_at = limits.timeout.map(|t| start + Duration::from_secs(t));
    loop {
        let (deadline, which) = match first_deadline(timeout_at, *heartbeat_at) {
            Some((d, heartbeat)) => (d, Some(heartbeat)),
            None => (start + fallback, None),
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
    first_deadline(l.timeout, l.heartbeat)
}

/// Which of a timeout and a heartbeat deadline comes first (`true`: the
/// heartbeat), in whatever unit of time they are given.
fn first_deadline<T: Ord + Copy>(timeout: Option<T>, heartbeat: Option<T>) -> Option<(T, bool)> {
    match (timeout, heartbeat) {
        (Some(t), Some(h)) if h < t => Some((h, true)),
        (Some(t), _) => Some((t, false)),
        (None, Some(h)) => Some((h, true)),
        (None, None) => None,
    }
}
