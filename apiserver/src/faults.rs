//! Fault injection, for tests of how clients survive a misbehaving API
//! server: fail the next N writes with 409 Conflict or 500, end every open
//! watch abruptly (as a restarting server or a broken connection does), and
//! delay every answer.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
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

#[derive(Debug, Default)]
struct State {
    failing_writes: u32,
    write_fault: Option<WriteFault>,
    delay: Duration,
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

    /// A receiver that changes whenever watches are to be dropped.
    pub(crate) fn watch_drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }
}
