//! An execution's history as its fibers hold it. The top level owns it
//! outright until it starts a fiber of its own (a Map iteration, a
//! Parallel branch) or keeps a handle for later (a distributed Map's child
//! execution), and from then on shares it behind a lock. Most executions
//! never share it, and recording one of their events takes no lock.

use crate::history::History;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) enum HistoryCell {
    Owned(History),
    Shared(Arc<Mutex<History>>),
}

/// The history, borrowed for one change.
pub(crate) enum HistoryGuard<'a> {
    Owned(&'a mut History),
    Locked(MutexGuard<'a, History>),
}

impl HistoryCell {
    /// The history, to read or change.
    pub(crate) fn get(&mut self) -> HistoryGuard<'_> {
        match self {
            HistoryCell::Owned(h) => HistoryGuard::Owned(h),
            HistoryCell::Shared(m) => {
                HistoryGuard::Locked(m.lock().unwrap_or_else(|p| p.into_inner()))
            }
        }
    }

    /// A handle on the history that others share: from now on it is locked
    /// for every change.
    pub(crate) fn share(&mut self) -> Arc<Mutex<History>> {
        if let HistoryCell::Owned(h) = self {
            let h = std::mem::replace(h, History::with_capacity(0));
            *self = HistoryCell::Shared(Arc::new(Mutex::new(h)));
        }
        match self {
            HistoryCell::Shared(m) => m.clone(),
            HistoryCell::Owned(_) => unreachable!("shared just above"),
        }
    }

    /// The history, taken out (an empty one stays).
    pub(crate) fn take(&mut self) -> History {
        std::mem::take(&mut *self.get())
    }
}

impl std::ops::Deref for HistoryGuard<'_> {
    type Target = History;
    fn deref(&self) -> &History {
        match self {
            HistoryGuard::Owned(h) => h,
            HistoryGuard::Locked(g) => g,
        }
    }
}

impl std::ops::DerefMut for HistoryGuard<'_> {
    fn deref_mut(&mut self) -> &mut History {
        match self {
            HistoryGuard::Owned(h) => h,
            HistoryGuard::Locked(g) => g,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Details;

    #[test]
    fn a_shared_history_keeps_what_was_recorded_before_and_after() {
        let mut cell = HistoryCell::Owned(History::with_capacity(4));
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
