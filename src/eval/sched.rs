//! The scheduler of one execution: a deterministic simulation on virtual
//! time (the model of Temporal's time-skipping test server, madsim and
//! turmoil).
//!
//! Every Parallel branch and Map iteration is a *fiber*: a future of its own,
//! polled by the [`Join`] of the state that started it. A fiber that waits
//! (a Wait, a retry backoff, a task's virtual duration, a scripted callback)
//! sleeps on a virtual timer. When no fiber can run — every one sleeps or
//! waits for its children — [`drive`] moves the clock to the earliest timer
//! and wakes its fiber; timers due at the same instant fire in a seeded
//! order. So a run is a function of its inputs and two seeds, and a Wait of
//! two hours costs nothing.
//!
//! A fiber that waits for something real (a container, a client of `serve`)
//! counts as running: virtual time stands still until it is back, then moves
//! by what that work reports.
//!
//! Interleaving 0 (the default) is the natural order: fibers start in index
//! order, each runs until it sleeps, and timers due together fire in the
//! order they were set. Any other interleaving seed also switches fibers at
//! every state they enter and orders simultaneous events at random, so one
//! scenario can be explored over many orders and each is reproducible.

use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// A fiber's number within its execution; the execution itself is [`ROOT`].
pub(crate) type FiberId = usize;

/// The fiber of the execution's top-level states.
pub(crate) const ROOT: FiberId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Running, or waiting for something real.
    Running,
    /// Asleep on a virtual timer.
    Sleeping,
    /// Waiting for its children (a Parallel's branches, a Map's iterations).
    Joining,
    Done,
}

/// Where a fiber runs: what a test reads to tell iterations and branches
/// apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// The execution's top-level states.
    Top,
    /// Iteration `index` of the Map state `state`.
    Iteration {
        /// The Map state.
        state: Arc<str>,
        /// The item's index.
        index: usize,
    },
    /// Branch `index` of the Parallel state `state`.
    Branch {
        /// The Parallel state.
        state: Arc<str>,
        /// The branch's index.
        index: usize,
    },
}

#[derive(Debug)]
struct Fiber {
    status: Status,
    parent: FiberId,
    place: Place,
    /// The type of the state it is in (entered, not yet exited).
    state: Option<&'static str>,
    /// Its timers set and not yet fired.
    timers: usize,
}

struct Timer {
    fiber: FiberId,
    waker: Option<Waker>,
    fired: bool,
}

struct Inner {
    /// (due, tie-break, sequence number), earliest first.
    heap: BinaryHeap<Reverse<(i64, u64, u64)>>,
    /// Timers set and not yet taken, by sequence number (a cancelled one is
    /// only removed here; the heap skips it).
    timers: HashMap<u64, Timer>,
    fibers: Vec<Fiber>,
    /// Fibers whose status is Running.
    running: usize,
    next_seq: u64,
    /// Orders simultaneous events; `None` for interleaving 0.
    order: Option<Rng>,
}

impl Inner {
    fn set(&mut self, f: FiberId, to: Status) {
        let from = self.fibers[f].status;
        if from == Status::Done || from == to {
            return;
        }
        if from == Status::Running {
            self.running -= 1;
        }
        if to == Status::Running {
            self.running += 1;
        }
        self.fibers[f].status = to;
    }
}

/// The clock and the scheduler of one execution, shared by its fibers.
pub(crate) struct Sim {
    now: AtomicI64,
    explores: bool,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sim {{ now_ms: {} }}", self.now_ms())
    }
}

impl Sim {
    /// A simulation starting at `start_ms` with the root fiber running;
    /// `interleaving` orders simultaneous events (0: the natural order).
    pub(crate) fn new(start_ms: i64, interleaving: u64) -> Arc<Sim> {
        let root = Fiber {
            status: Status::Running,
            parent: ROOT,
            place: Place::Top,
            state: None,
            timers: 0,
        };
        Arc::new(Sim {
            now: AtomicI64::new(start_ms),
            explores: interleaving != 0,
            inner: Mutex::new(Inner {
                heap: BinaryHeap::new(),
                timers: HashMap::new(),
                fibers: vec![root],
                running: 1,
                next_seq: 0,
                order: (interleaving != 0).then(|| Rng::new(interleaving ^ 0x9e37_79b9_7f4a_7c15)),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Virtual time, epoch milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.now.load(Ordering::Relaxed)
    }

    /// Moves the clock forward to `ms` (never back), as work outside the
    /// timers (a paused tokio clock) says time passed.
    pub(crate) fn advance_to(&self, ms: i64) {
        self.reach(ms);
    }

    /// Moves the clock forward to `ms` (never back).
    fn reach(&self, ms: i64) {
        self.now.fetch_max(ms, Ordering::Relaxed);
    }

    /// The Map item indexes around `fiber`, outermost first.
    pub(crate) fn iteration_path(&self, mut fiber: FiberId) -> Vec<usize> {
        let i = self.lock();
        let mut path = Vec::new();
        while fiber != ROOT {
            let f = &i.fibers[fiber];
            if let Place::Iteration { index, .. } = f.place {
                path.push(index);
            }
            fiber = f.parent;
        }
        path.reverse();
        path
    }

    /// Where `fiber` runs.
    pub(crate) fn place_of(&self, fiber: FiberId) -> Place {
        self.lock().fibers.get(fiber).map_or(Place::Top, |f| f.place.clone())
    }

    /// Every fiber's parent and place, by fiber id.
    pub(crate) fn places(&self) -> Vec<(FiberId, Place)> {
        self.lock().fibers.iter().map(|f| (f.parent, f.place.clone())).collect()
    }

    /// A new running fiber, child of `parent`.
    fn spawn(&self, parent: FiberId, place: Place) -> FiberId {
        let mut i = self.lock();
        i.fibers.push(Fiber { status: Status::Running, parent, place, state: None, timers: 0 });
        i.running += 1;
        i.fibers.len() - 1
    }

    fn set(&self, f: FiberId, to: Status) {
        self.lock().set(f, to);
    }

    /// Notes the state a fiber entered (`None`: it exited it).
    pub(crate) fn in_state(&self, f: FiberId, state: Option<&'static str>) {
        if let Some(fiber) = self.lock().fibers.get_mut(f) {
            fiber.state = state;
        }
    }

    /// Completes once virtual time reaches `due_ms`.
    pub(crate) fn sleep_until(&self, fiber: FiberId, due_ms: i64) -> Sleep<'_> {
        Sleep { sim: self, fiber, due: due_ms, seq: None, done: false }
    }

    /// A scheduling point: under an exploring interleaving, lets other
    /// fibers due now run first, in a seeded order; otherwise nothing.
    pub(crate) fn yield_now(&self, fiber: FiberId) -> Sleep<'_> {
        Sleep { sim: self, fiber, due: self.now_ms(), seq: None, done: !self.explores }
    }

    /// When no fiber is running, fires the earliest timer (moving the clock
    /// to it) and wakes its fiber; `false` when nothing could fire.
    fn fire_next(&self) -> bool {
        let mut i = self.lock();
        if i.running > 0 {
            return false;
        }
        while let Some(Reverse((due, _, seq))) = i.heap.pop() {
            let Some(t) = i.timers.get_mut(&seq) else { continue };
            t.fired = true;
            let (fiber, waker) = (t.fiber, t.waker.take());
            i.fibers[fiber].timers -= 1;
            self.reach(due);
            i.set(fiber, Status::Running);
            drop(i);
            if let Some(w) = waker {
                w.wake();
            }
            return true;
        }
        false
    }

    /// For each fiber in `aborted`, the types of the states that it and
    /// the fibers inside it still running are in, deepest first: what the
    /// abort interrupts. One pass over the fibers.
    fn interrupted(&self, aborted: &[FiberId]) -> Vec<Vec<&'static str>> {
        let i = self.lock();
        let slot: HashMap<FiberId, usize> =
            aborted.iter().enumerate().map(|(k, f)| (*f, k)).collect();
        let mut out = vec![Vec::new(); aborted.len()];
        let first = aborted.iter().min().copied().unwrap_or(0);
        for g in (first..i.fibers.len()).rev() {
            let fiber = &i.fibers[g];
            let Some(state) = fiber.state.filter(|_| fiber.status != Status::Done) else {
                continue;
            };
            // the aborted fiber this one belongs to, if any
            let mut h = g;
            let owner = loop {
                if let Some(k) = slot.get(&h) {
                    break Some(*k);
                }
                if h == ROOT || h < first {
                    break None;
                }
                h = i.fibers[h].parent;
            };
            if let Some(k) = owner {
                out[k].push(state);
            }
        }
        out
    }
}

/// Waits on the virtual clock (see [`Sim::sleep_until`]).
pub(crate) struct Sleep<'a> {
    sim: &'a Sim,
    fiber: FiberId,
    due: i64,
    seq: Option<u64>,
    done: bool,
}

impl Sim {
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

/// Runs `fut` (the root fiber) to its end: whenever it cannot go on and no
/// fiber is running, the clock jumps to the next timer.
pub(crate) async fn drive<F: Future>(sim: &Sim, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| loop {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        if !sim.fire_next() {
            // something real is under way: its waker brings us back
            return Poll::Pending;
        }
    })
    .await
}

/// The children of a [`join`] that were woken and wait to be polled, in
/// the order they were woken, and the waker of the join's own task.
#[derive(Default)]
struct Ready {
    queue: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
}

/// A child's waker: queues it to be polled and wakes the join's own task.
struct Woken {
    index: usize,
    ready: Arc<Ready>,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut q = self.ready.queue.lock().unwrap_or_else(|p| p.into_inner());
        if !q.contains(&self.index) {
            q.push(self.index);
        }
        drop(q);
        if let Some(w) = self.ready.parent.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// A child fiber being polled by a [`join`].
struct Child<'a, T> {
    fiber: FiberId,
    fut: Pin<Box<dyn Future<Output = T> + Send + 'a>>,
    waker: Waker,
}

/// What a [`join`] ended with: each child's result (`None` for one that was
/// aborted or never started) and, for each child aborted while it ran, the
/// types of the states it was in, deepest first.
pub(crate) struct Joined<T> {
    pub results: Vec<Option<T>>,
    pub aborted: Vec<(usize, Vec<&'static str>)>,
}

/// Runs `count` children as fibers of their own, at most `limit` at once
/// (0: all at once), starting each with `start(index, fiber)`; the first
/// result for which `stop` says so aborts the others. `place` says where
/// child `index` runs.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn join<'a, T: Send + 'a>(
    sim: &Sim,
    parent: FiberId,
    place: impl Fn(usize) -> Place,
    count: usize,
    limit: usize,
    mut start: impl FnMut(usize, FiberId) -> Pin<Box<dyn Future<Output = T> + Send + 'a>>,
    mut stop: impl FnMut(&T) -> bool,
) -> Joined<T> {
    let limit = if limit == 0 { count } else { limit.min(count) };
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    if count == 0 {
        return Joined { results, aborted: Vec::new() };
    }
    let mut slots: Vec<Option<Child<'a, T>>> = (0..count).map(|_| None).collect();
    let (mut next, mut live) = (0, 0);
    let ready = Arc::new(Ready::default());
    sim.set(parent, Status::Joining);
    // declared after the slots, so dropped before them: the children are
    // marked done before their futures go
    let mut guard = Guard { sim, parent, children: HashSet::new() };
    let stopped = std::future::poll_fn(|cx| {
        *ready.parent.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        loop {
            // start children while there is room
            while live < limit && next < count {
                let fiber = sim.spawn(parent, place(next));
                let waker = Waker::from(Arc::new(Woken { index: next, ready: ready.clone() }));
                slots[next] = Some(Child { fiber, fut: start(next, fiber), waker });
                ready.queue.lock().unwrap_or_else(|p| p.into_inner()).push(next);
                guard.children.insert(fiber);
                next += 1;
                live += 1;
            }
            let woken = std::mem::take(&mut *ready.queue.lock().unwrap_or_else(|p| p.into_inner()));
            if woken.is_empty() {
                return Poll::Pending;
            }
            for index in woken {
                let Some(c) = slots[index].as_mut() else { continue };
                let Poll::Ready(v) = c.fut.as_mut().poll(&mut Context::from_waker(&c.waker)) else {
                    continue;
                };
                let fiber = c.fiber;
                slots[index] = None;
                live -= 1;
                sim.set(fiber, Status::Done);
                guard.children.remove(&fiber);
                let halt = stop(&v);
                results[index] = Some(v);
                if halt {
                    return Poll::Ready(Some(index));
                }
            }
            if live == 0 && next >= count {
                return Poll::Ready(None);
            }
        }
    })
    .await;
    let mut aborted = Vec::new();
    if stopped.is_some() {
        let running: Vec<(usize, FiberId)> = slots
            .iter()
            .enumerate()
            .filter_map(|(index, c)| Some((index, c.as_ref()?.fiber)))
            .collect();
        let states = sim.interrupted(&running.iter().map(|(_, f)| *f).collect::<Vec<_>>());
        aborted = running.into_iter().map(|(index, _)| index).zip(states).collect();
    }
    drop(guard);
    drop(slots);
    Joined { results, aborted }
}

/// Gives the parent its turn back when a join ends or is dropped, marking
/// the children it still held as done.
struct Guard<'s> {
    sim: &'s Sim,
    parent: FiberId,
    children: HashSet<FiberId>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let mut i = self.sim.lock();
        for f in &self.children {
            i.set(*f, Status::Done);
        }
        if i.fibers[self.parent].status == Status::Joining {
            i.set(self.parent, Status::Running);
        }
    }
}
