//! What an execution's fibers share (its history, its tallies) as they hold
//! it. The top level owns it outright until it starts a fiber of its own (a
//! Map iteration, a Parallel branch) or keeps a handle for later (a
//! distributed Map's child execution), and from then on shares it behind a
//! lock. Most executions never share it, and recording one of their events
//! or counting one of their invocations takes no lock.

use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) enum Sharable<T> {
    Owned(T),
    Shared(Arc<Mutex<T>>),
}

/// The value, borrowed for one change.
pub(crate) enum Guard<'a, T> {
    Owned(&'a mut T),
    Locked(MutexGuard<'a, T>),
}

impl<T: Default> Sharable<T> {
    /// The value, to read or change.
    pub(crate) fn get(&mut self) -> Guard<'_, T> {
        match self {
            Sharable::Owned(v) => Guard::Owned(v),
            Sharable::Shared(m) => Guard::Locked(m.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// A handle on the value that others share: from now on it is locked
    /// for every change.
    pub(crate) fn share(&mut self) -> Arc<Mutex<T>> {
        if let Sharable::Owned(v) = self {
            let v = std::mem::take(v);
            *self = Sharable::Shared(Arc::new(Mutex::new(v)));
        }
        match self {
            Sharable::Shared(m) => m.clone(),
            Sharable::Owned(_) => unreachable!("shared just above"),
        }
    }

    /// The value, taken out (a default one stays).
    pub(crate) fn take(&mut self) -> T {
        std::mem::take(&mut *self.get())
    }
}

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Guard::Owned(v) => v,
            Guard::Locked(g) => g,
        }
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            Guard::Owned(v) => v,
            Guard::Locked(g) => g,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Details, History};

    #[test]
    fn a_shared_history_keeps_what_was_recorded_before_and_after() {
        let mut cell = Sharable::Owned(History::with_capacity(4));
        let ended = || Details::ExecutionFailed { error: None, cause: None };
        cell.get().push_in(0, 0, 0, ended());
        let other = cell.share();
        other.lock().unwrap().push_in(0, 0, 1, ended());
        cell.get().push_in(0, 0, 2, ended());
        assert!(Arc::ptr_eq(&other, &cell.share()));
        let h = cell.take();
        let ids: Vec<(u64, i64)> = h.events().iter().map(|e| (e.id, e.timestamp_ms)).collect();
        assert_eq!(ids, [(1, 0), (2, 1), (3, 2)]);
        assert_eq!(other.lock().unwrap().len(), 0);
    }
}
