//! Fibers run together: [`drive`] runs the root fiber, moving the clock
//! when no fiber can go on; [`join`] polls the fibers a Parallel or Map
//! started, each woken on its own.

use super::{FiberId, Place, Sim, Status};
use crate::hash::FastSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

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
    /// Whether it is in the queue already (a child woken twice is polled once).
    queued: AtomicBool,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.queue.lock().unwrap_or_else(|p| p.into_inner()).push(self.index);
        }
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
    /// The waker's own record, to mark it polled.
    woken: Arc<Woken>,
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
    let mut guard = Guard { sim, parent, children: FastSet::default() };
    let mut batch: Vec<usize> = Vec::new();
    let stopped = std::future::poll_fn(|cx| {
        *ready.parent.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        loop {
            // start children while there is room
            while live < limit && next < count {
                let fiber = sim.spawn(parent, place(next));
                let woken = Arc::new(Woken {
                    index: next,
                    ready: ready.clone(),
                    queued: AtomicBool::new(true),
                });
                let waker = Waker::from(woken.clone());
                slots[next] = Some(Child { fiber, fut: start(next, fiber), waker, woken });
                ready.queue.lock().unwrap_or_else(|p| p.into_inner()).push(next);
                guard.children.insert(fiber);
                next += 1;
                live += 1;
            }
            // the queue and this batch trade buffers, so neither allocates again
            batch.clear();
            std::mem::swap(&mut batch, &mut *ready.queue.lock().unwrap_or_else(|p| p.into_inner()));
            if batch.is_empty() {
                return Poll::Pending;
            }
            for &index in &batch {
                let Some(c) = slots[index].as_mut() else { continue };
                // a wake from here on queues it again
                c.woken.queued.store(false, Ordering::Release);
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
    children: FastSet<FiberId>,
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
