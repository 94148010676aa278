//! Fault injection, for tests of how clients survive a misbehaving API
//! server: fail the next N writes with 409 Conflict or 500, end every open
//! watch abruptly (as a restarting server or a broken connection does),
//! delay every answer, and hold writes of one resource unanswered until the
//! test lets them through or fails them (to stop a client, e.g. with
//! SIGKILL, exactly between two of its writes).

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tokio::sync::watch;

use crate::status::ApiError;

/// How an injected write failure answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFault {
    /// 409 Conflict, as an optimistic-concurrency failure answers.
    Conflict,
    /// 500 Internal Server Error, as etcd trouble answers.
    InternalError,
}

/// What happens to writes held by [`Faults::hold_writes`] when they are
/// released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// They are carried out and answered as usual.
    Proceed,
    /// They are answered 500 Internal Server Error and change nothing (as
    /// a request the server never got to; not 503, which clients retry).
    Fail,
}

/// Writes being held.
#[derive(Debug)]
struct Hold {
    plural: String,
    subresource: Option<String>,
    held: Arc<AtomicUsize>,
    release: watch::Sender<Option<Release>>,
}

impl Hold {
    fn matches(&self, plural: &str, subresource: Option<&str>) -> bool {
        self.plural == plural && self.subresource.as_deref() == subresource
    }
}

#[derive(Debug, Default)]
struct State {
    failing_writes: u32,
    write_fault: Option<WriteFault>,
    delay: Duration,
    holds: Vec<Hold>,
}

/// The server's fault switches; shared by every request.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<State>,
    drops: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Mutex::new(State::default()),
            drops: watch::channel(0).0,
        }
    }
}

impl Faults {
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A panic elsewhere must not turn every later request into one.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// The next `count` writes (create, update, patch, delete) fail with
    /// `fault`; reads and watches are not affected.
    pub fn fail_next_writes(&self, count: u32, fault: WriteFault) {
        self.with_state(|s| {
            s.failing_writes = count;
            s.write_fault = Some(fault);
        });
    }

    /// Ends every open watch now, without the end of the chunked stream a
    /// normal timeout sends, so clients see a broken connection.
    pub fn drop_watches(&self) {
        self.drops.send_modify(|n| *n += 1);
    }

    /// Delays every answer by `delay` (zero turns it off).
    pub fn set_delay(&self, delay: Duration) {
        self.with_state(|s| s.delay = delay);
    }

    /// The current delay.
    pub(crate) fn delay(&self) -> Duration {
        self.with_state(|s| s.delay)
    }

    /// Counts a write; the error to answer with if it is to fail.
    pub(crate) fn take_write_fault(&self, what: &str) -> Option<ApiError> {
        self.with_state(|s| {
            if s.failing_writes == 0 {
                return None;
            }
            s.failing_writes -= 1;
            s.write_fault.map(|fault| match fault {
                WriteFault::Conflict => ApiError::new(
                    409,
                    "Conflict",
                    format!("Operation cannot be fulfilled on {what}: the object has been modified; please apply your changes to the latest version and try again (injected fault)"),
                ),
                WriteFault::InternalError => {
                    ApiError::internal(format!("Internal error occurred: etcdserver: request timed out (injected fault on {what})"))
                }
            })
        })
    }

    /// From now on, writes (create, update, patch, delete) of `plural`
    /// (`deployments`; with `subresource` `Some("status")`, only of their
    /// status) are held unanswered until [`release_writes`](Self::release_writes).
    pub fn hold_writes(&self, plural: &str, subresource: Option<&str>) {
        self.with_state(|s| {
            if !s.holds.iter().any(|h| h.matches(plural, subresource)) {
                s.holds.push(Hold {
                    plural: plural.to_owned(),
                    subresource: subresource.map(str::to_owned),
                    held: Arc::new(AtomicUsize::new(0)),
                    release: watch::channel(None).0,
                });
            }
        });
    }

    /// How many writes [`hold_writes`](Self::hold_writes) is holding now.
    pub fn held_writes(&self, plural: &str, subresource: Option<&str>) -> usize {
        self.with_state(|s| {
            s.holds
                .iter()
                .find(|h| h.matches(plural, subresource))
                .map_or(0, |h| h.held.load(Ordering::SeqCst))
        })
    }

    /// Ends a hold: the writes held go on as `release` says; later ones are
    /// not held.
    pub fn release_writes(&self, plural: &str, subresource: Option<&str>, release: Release) {
        self.with_state(|s| {
            if let Some(index) = s.holds.iter().position(|h| h.matches(plural, subresource)) {
                let hold = s.holds.remove(index);
                hold.release.send_replace(Some(release));
            }
        });
    }

    /// Waits while a write of `plural`/`subresource` is held; what to do
    /// with it then (`None`: it was not held).
    pub(crate) async fn wait_if_held(&self, plural: &str, subresource: Option<&str>) -> Option<Release> {
        let (mut released, held) = self.with_state(|s| {
            s.holds
                .iter()
                .find(|h| h.matches(plural, subresource))
                .map(|h| (h.release.subscribe(), h.held.clone()))
        })?;
        held.fetch_add(1, Ordering::SeqCst);
        let outcome = released.wait_for(Option::is_some).await.ok().and_then(|r| *r);
        held.fetch_sub(1, Ordering::SeqCst);
        Some(outcome.unwrap_or(Release::Fail))
    }

    /// A receiver that changes whenever watches are to be dropped.
    pub(crate) fn watch_drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }
}
