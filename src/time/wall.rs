//! The one door to real time.
//!
//! Everything that measures or waits for real time goes through a [`Wall`]:
//! a callback from a real worker, polling a container, the endpoint's pacing
//! of virtual waits and its long polls, the dates it stamps on resources.
//! A `Wall` is a value, injected where it is needed (a run's settings, the
//! token registry, the container runner, the endpoint), so a test can hand in
//! its own [`RealTime`] and nothing in `asl/` or `eval/` reads the clock on
//! its own.

use crate::BoxFuture;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Condvar, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// A source of real time: a monotonic instant, the calendar date, a timer.
pub trait RealTime: Send + Sync {
    /// The current monotonic instant.
    fn now(&self) -> Instant;
    /// The calendar time, in milliseconds since the Unix epoch.
    fn epoch_ms(&self) -> i64;
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
}

/// The system's time, through tokio's timer (so a paused tokio test clock is
/// honoured consistently by `now` and the timers).
struct System;

impl RealTime for System {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn epoch_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline))
    }
}

/// A shared handle on a [`RealTime`]; [`Wall::system`] by default.
#[derive(Clone)]
pub struct Wall(Arc<dyn RealTime>);

impl Default for Wall {
    fn default() -> Wall {
        Wall::system()
    }
}

impl fmt::Debug for Wall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wall")
    }
}

impl Wall {
    /// The system clock and tokio's timers.
    pub fn system() -> Wall {
        Wall(Arc::new(System))
    }

    /// A wall clock of one's own (a test's).
    pub fn new(time: impl RealTime + 'static) -> Wall {
        Wall(Arc::new(time))
    }

    /// The current monotonic instant.
    pub fn now(&self) -> Instant {
        self.0.now()
    }

    /// Real time passed since `since`.
    pub fn elapsed(&self, since: Instant) -> Duration {
        self.now().saturating_duration_since(since)
    }

    /// The calendar time in milliseconds since the Unix epoch.
    pub fn epoch_ms(&self) -> i64 {
        self.0.epoch_ms()
    }

    /// Sleeps for `d` of real time.
    pub async fn sleep(&self, d: Duration) {
        let deadline = self.now() + d;
        self.0.sleep_until(deadline).await
    }

    /// Blocks this thread while `cond` holds for the value behind `guard`
    /// (re-checked whenever `cv` is notified), for at most `limit` of real
    /// time; gives the guard back. (A thread's blocking wait is always the
    /// system's: it is not paced by an injected [`RealTime`].)
    pub fn block_while<'a, T>(
        &self,
        cv: &Condvar,
        guard: MutexGuard<'a, T>,
        limit: Duration,
        cond: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        match cv.wait_timeout_while(guard, limit, cond) {
            Ok((g, _)) => g,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// A reading of this wall beside the system's monotonic clock, to tell
    /// later how much time the wall skipped ([`Wall::skipped_since`]).
    pub fn mark(&self) -> Mark {
        Mark { wall: self.now(), system: std::time::Instant::now() }
    }

    /// The time this wall moved past the system's clock since `m`: what a
    /// paused tokio test clock (`start_paused`) jumped over to fire a
    /// timer. `None` when it only followed real time (a running clock).
    pub fn skipped_since(&self, m: &Mark) -> Option<Duration> {
        let wall = self.now().saturating_duration_since(m.wall);
        let system = m.system.elapsed();
        (wall > system + Duration::from_millis(1)).then_some(wall)
    }

    /// Runs `fut` until `deadline`: `None` when the deadline came first.
    pub async fn timeout_at<F: Future>(&self, deadline: Instant, fut: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            v = fut => Some(v),
            _ = self.0.sleep_until(deadline) => None,
        }
    }
}

/// A reading of a [`Wall`] and the system's clock, taken together.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    wall: Instant,
    system: std::time::Instant,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A wall whose time only moves when its timers are awaited.
    struct Fake(Mutex<Instant>);

    impl RealTime for Fake {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
        fn epoch_ms(&self) -> i64 {
            7
        }
        fn sleep_until(&self, _deadline: Instant) -> BoxFuture<'static, ()> {
            Box::pin(std::future::ready(()))
        }
    }

    #[test]
    fn an_injected_wall_decides_time_and_timeouts() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let wall = Wall::new(Fake(Mutex::new(Instant::now())));
        assert_eq!(wall.epoch_ms(), 7);
        let start = wall.now();
        assert_eq!(wall.elapsed(start), Duration::ZERO);
        // the fake timer fires at once: a pending future times out
        let r = rt.block_on(
            wall.timeout_at(start + Duration::from_secs(3600), std::future::pending::<()>()),
        );
        assert_eq!(r, None);
        let r = rt.block_on(wall.timeout_at(start, async { 5 }));
        assert_eq!(r, Some(5));
    }

    #[test]
    fn a_wall_that_jumps_has_skipped_time_and_a_running_one_has_none() {
        let fake = std::sync::Arc::new(Mutex::new(Instant::now()));
        struct Shared(std::sync::Arc<Mutex<Instant>>);
        impl RealTime for Shared {
            fn now(&self) -> Instant {
                *self.0.lock().unwrap()
            }
            fn epoch_ms(&self) -> i64 {
                0
            }
            fn sleep_until(&self, _deadline: Instant) -> BoxFuture<'static, ()> {
                Box::pin(std::future::ready(()))
            }
        }
        let wall = Wall::new(Shared(fake.clone()));
        let m = wall.mark();
        assert_eq!(wall.skipped_since(&m), None);
        *fake.lock().unwrap() += Duration::from_secs(300);
        assert_eq!(wall.skipped_since(&m), Some(Duration::from_secs(300)));
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let _g = rt.enter();
        let system = Wall::system();
        let m = system.mark();
        assert_eq!(system.skipped_since(&m), None);
    }
}
