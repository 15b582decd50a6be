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

mod join;
mod timers;

pub(crate) use join::{drive, join};
pub(crate) use timers::{adopt, current_now_ms, in_fiber, Sleep};
pub use timers::{sleep, VirtualSleep};

use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

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
    timers: crate::hash::FastMap<u64, Timer>,
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
    /// Child executions its tasks started, by the fiber that started each,
    /// until the execution that fiber runs in takes them.
    adopted: Mutex<Vec<(FiberId, Arc<str>, crate::eval::Execution)>>,
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
                timers: Default::default(),
                fibers: vec![root],
                running: 1,
                next_seq: 0,
                order: (interleaving != 0).then(|| Rng::new(interleaving ^ 0x9e37_79b9_7f4a_7c15)),
            }),
            adopted: Mutex::new(Vec::new()),
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

    /// Keeps a child execution fiber `fiber`'s task started.
    pub(crate) fn keep_child(&self, fiber: FiberId, state: Arc<str>, exec: crate::eval::Execution) {
        self.adopted.lock().unwrap_or_else(|p| p.into_inner()).push((fiber, state, exec));
    }

    /// Whether `fiber` is `root` or runs under it.
    fn under(&self, mut fiber: FiberId, root: FiberId) -> bool {
        let i = self.lock();
        loop {
            if fiber == root {
                return true;
            }
            if fiber == ROOT {
                return false;
            }
            fiber = i.fibers.get(fiber).map_or(ROOT, |f| f.parent);
        }
    }

    /// Where `fiber` runs.
    pub(crate) fn place_of(&self, fiber: FiberId) -> Place {
        self.lock().fibers.get(fiber).map_or(Place::Top, |f| f.place.clone())
    }

    /// Takes the child executions started by fibers under `root` (itself included).
    pub(crate) fn take_adopted(&self, root: FiberId) -> Vec<(Arc<str>, crate::eval::Execution)> {
        let mut adopted = self.adopted.lock().unwrap_or_else(|p| p.into_inner());
        if adopted.is_empty() {
            return Vec::new();
        }
        let (mine, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut *adopted).into_iter().partition(|(f, _, _)| self.under(*f, root));
        *adopted = rest;
        mine.into_iter().map(|(_, s, e)| (s, e)).collect()
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
        let slot: crate::hash::FastMap<FiberId, usize> =
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
