//! Virtual timers: a fiber's [`Sleep`] until an instant of the
//! simulation's clock, and [`sleep`] for task handlers, which waits on the
//! clock of the execution whose fiber is being polled.

use super::{FiberId, Sim, Status, Timer, ROOT};
use crate::rng::Rng;
use std::cmp::Reverse;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Waits on the virtual clock (see [`Sim::sleep_until`]).
pub(crate) struct Sleep<'a> {
    sim: &'a Sim,
    fiber: FiberId,
    due: i64,
    seq: Option<u64>,
    done: bool,
}

impl Sim {
    /// Completes once virtual time reaches `due_ms`.
    pub(crate) fn sleep_until(&self, fiber: FiberId, due_ms: i64) -> Sleep<'_> {
        Sleep { sim: self, fiber, due: due_ms, seq: None, done: false }
    }

    /// A scheduling point: under an exploring interleaving, lets other
    /// fibers due now run first, in a seeded order; otherwise nothing.
    pub(crate) fn yield_now(&self, fiber: FiberId) -> Sleep<'_> {
        Sleep { sim: self, fiber, due: self.now_ms(), seq: None, done: !self.explores }
    }

    /// Polls a sleep of `fiber` until `due` whose timer is `seq` once set.
    /// `direct`: when nothing else can happen before `due`, go straight
    /// there (not for a handler's sleeps: the task's deadlines race them).
    fn poll_sleep(
        &self,
        fiber: FiberId,
        due: i64,
        seq: &mut Option<u64>,
        cx: &mut Context<'_>,
        direct: bool,
    ) -> Poll<()> {
        let mut i = self.lock();
        match *seq {
            None => {
                // nothing else can happen before it: go straight there
                // (the top level only: a join may still have children to start)
                if direct
                    && fiber == ROOT
                    && i.running == 1
                    && i.timers.is_empty()
                    && i.fibers[fiber].status == Status::Running
                {
                    self.reach(due);
                    return Poll::Ready(());
                }
                let tie = i.order.as_mut().map_or(0, Rng::next_u64);
                let s = i.next_seq;
                i.next_seq += 1;
                i.heap.push(Reverse((due.max(self.now_ms()), tie, s)));
                i.timers.insert(s, Timer { fiber, waker: Some(cx.waker().clone()), fired: false });
                i.fibers[fiber].timers += 1;
                i.set(fiber, Status::Sleeping);
                *seq = Some(s);
                Poll::Pending
            }
            Some(s) => match i.timers.get_mut(&s) {
                Some(t) if !t.fired => {
                    t.waker = Some(cx.waker().clone());
                    // still waiting (a fiber polled for another reason sleeps on)
                    i.set(fiber, Status::Sleeping);
                    Poll::Pending
                }
                _ => {
                    i.timers.remove(&s);
                    Poll::Ready(())
                }
            },
        }
    }

    /// Takes back a timer that has not fired: its fiber is running again.
    fn cancel_sleep(&self, fiber: FiberId, seq: u64) {
        let mut i = self.lock();
        if let Some(t) = i.timers.remove(&seq) {
            if !t.fired {
                i.fibers[fiber].timers -= 1;
                if i.fibers[fiber].status == Status::Sleeping && i.fibers[fiber].timers == 0 {
                    i.set(fiber, Status::Running);
                }
            }
        }
    }

    /// Marks a sleeping leaf fiber as running while it is polled for
    /// another reason than its timer (a callback came); polling its sleeps
    /// again puts it back to sleep.
    pub(crate) fn awake(&self, fiber: FiberId) {
        let mut i = self.lock();
        if i.fibers[fiber].status == Status::Sleeping {
            i.set(fiber, Status::Running);
        }
    }

    /// How many timers `fiber` has set that have not fired.
    pub(crate) fn timers_of(&self, fiber: FiberId) -> usize {
        self.lock().fibers[fiber].timers
    }
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let r = this.sim.poll_sleep(this.fiber, this.due, &mut this.seq, cx, true);
        this.done = r.is_ready();
        r
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        if let (Some(seq), false) = (self.seq, self.done) {
            self.sim.cancel_sleep(self.fiber, seq);
        }
    }
}

thread_local! {
    /// The fiber being polled, for [`sleep`] in task handlers.
    static CURRENT: std::cell::RefCell<Option<(Arc<Sim>, FiberId)>> = const { std::cell::RefCell::new(None) };
}

/// The virtual time of the execution whose fiber is being polled, if any.
pub(crate) fn current_now_ms() -> Option<i64> {
    CURRENT.with(|c| c.borrow().as_ref().map(|(sim, _)| sim.now_ms()))
}

/// Keeps `child` with the execution whose fiber is being polled (nothing
/// when none is).
pub(crate) fn adopt(state: Arc<str>, child: crate::eval::Execution) {
    CURRENT.with(|c| {
        if let Some((sim, fiber)) = c.borrow().as_ref() {
            sim.keep_child(*fiber, state, child);
        }
    });
}

/// Polls `f` as fiber `fiber` of `sim`: a [`sleep`] inside it waits on that
/// execution's virtual clock.
pub(crate) fn in_fiber<R>(sim: &Arc<Sim>, fiber: FiberId, f: impl FnOnce() -> R) -> R {
    let prev = CURRENT.with(|c| c.replace(Some((sim.clone(), fiber))));
    struct Restore(Option<(Arc<Sim>, FiberId)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let _restore = Restore(prev);
    f()
}

/// Waits `duration` of the execution's virtual time: called in a task
/// handler (an `on_task_async` future), it costs no real time, and the
/// task's HeartbeatSeconds and TimeoutSeconds run on the same clock. (In an
/// `on_task_async` handler, `tokio::time::sleep` waits in real time, and
/// the virtual clock stands still meanwhile.)
///
/// # Panics
///
/// Outside a task handler of a running execution: there is no virtual
/// clock to wait on.
pub fn sleep(duration: std::time::Duration) -> VirtualSleep {
    VirtualSleep {
        duration_ms: i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
        at: None,
        seq: None,
        done: false,
    }
}

/// The future of [`sleep`].
#[derive(Debug)]
pub struct VirtualSleep {
    duration_ms: i64,
    /// The execution and fiber it sleeps in, and until when (set at the first poll).
    at: Option<(Arc<Sim>, FiberId, i64)>,
    seq: Option<u64>,
    done: bool,
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        if this.at.is_none() {
            let Some((sim, fiber)) = CURRENT.with(|c| c.borrow().clone()) else {
                panic!("sfn_harness::sleep waits on an execution's virtual clock: call it inside a task handler (on_task_async) while the execution runs");
            };
            let due = sim.now_ms().saturating_add(this.duration_ms);
            this.at = Some((sim, fiber, due));
        }
        let Some((sim, fiber, due)) = &this.at else { return Poll::Ready(()) };
        let r = sim.poll_sleep(*fiber, *due, &mut this.seq, cx, false);
        this.done = r.is_ready();
        r
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if let (Some((sim, fiber, _)), Some(seq), false) = (&self.at, self.seq, self.done) {
            sim.cancel_sleep(*fiber, seq);
        }
    }
}
