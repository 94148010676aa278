//! Locking a `std::sync::Mutex`. A mutex is poisoned only when a thread
//! panicked while holding it: a bug in refit, after which what the mutex
//! guards (caches, counts, policy summaries) may be half-updated. Carrying
//! on, or reading it as empty, would hide the bug behind wrong answers, so
//! [`Lock::locked`] panics instead, saying why; every mutex in refit is
//! locked through it.

use std::sync::{Mutex, MutexGuard};

/// [`Mutex::lock`] that fails loudly on a poisoned mutex.
pub trait Lock<T> {
    /// The guard; panics if a thread panicked while holding the lock.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Lock<T> for Mutex<T> {
    #[track_caller]
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().expect(
            "a thread panicked while holding this lock, so what it guards may be half-updated; \
             refit stops rather than carry on with it (a bug: please report it with the earlier panic)",
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn an_unpoisoned_mutex_is_locked_as_usual() {
        let counts = Mutex::new(vec![1, 2]);
        counts.locked().push(3);
        assert_eq!(*counts.locked(), [1, 2, 3]);
    }

    #[test]
    #[should_panic(expected = "a thread panicked while holding this lock")]
    fn a_mutex_poisoned_by_a_panicking_thread_fails_loudly() {
        let summaries = Arc::new(Mutex::new(vec!["web"]));
        let holder = summaries.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = holder.locked();
            panic!("a bug while updating the summaries");
        })
        .join();
        assert!(panicked.is_err(), "the holder panicked");
        drop(summaries.locked());
    }
}
