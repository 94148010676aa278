//! The cluster adapters: reading Kubernetes objects into `core` types and
//! writing refit's results back. Nothing here decides what is outdated or
//! who governs what; it watches, reads, joins and writes.
//!
//! - [`watch`]: reflectors with trimmed objects ([`trim`]).
//! - [`snapshot`]: workloads joined to their pods ([`join`]), nodes and
//!   namespaces, as `core` types.
//! - [`reports`]: DriftReports, written only when their content changes.
//! - [`status`]: status of PatchPolicies and ChangeWindows.
//! - [`tickets`]: ChangeTickets: created, read back, moved by status writes
//!   that never lose a concurrent one.
//! - [`slots`]: which tickets hold a ChangeWindow's `maxConcurrentChanges`
//!   slots, written with optimistic concurrency.
//! - [`events`]: Kubernetes Events.
//! - [`secrets`]: registry credentials from image pull secrets.
//! - [`install`]: whether refit's CRDs are installed.
//!
//! Every write is a server-side apply with the field manager `refit`, but
//! for two: ticket status, which is replaced whole over the resourceVersion
//! it was read at (so no history entry is lost to a concurrent writer), and
//! a window's slot list, merge-patched with the resourceVersion as a
//! precondition by its own field manager `refit-scheduler`.

pub mod events;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod install;
pub mod join;
pub mod reports;
pub mod rollout;
pub mod secrets;
pub mod slots;
pub mod snapshot;
pub mod status;
pub mod tickets;
pub mod trim;
pub mod watch;

use chrono::{DateTime, Utc};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

/// An instant a Kubernetes `Time` cannot hold. chrono reaches years
/// further than jiff (which `Time` wraps), so only a clock set far wrong,
/// or a date computed from one, gets here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at} is outside the years -9999 to 9999 a Kubernetes timestamp can hold; is the system clock right?")]
pub struct TimeOutOfRange {
    /// The instant.
    pub at: DateTime<Utc>,
}

/// A Kubernetes `Time` for an instant, to the second (as the API server
/// stores it).
pub fn time(at: DateTime<Utc>) -> Result<Time, TimeOutOfRange> {
    Timestamp::from_second(at.timestamp())
        .map(Time)
        .map_err(|_| TimeOutOfRange { at })
}

/// One reading of the clock: the instant `core` decides with and the same
/// instant, to the second, as the Kubernetes `Time` refit writes, so every
/// part of a scan agrees on when it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Now {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The instant to the second, for status fields.
    pub time: Time,
}

impl Now {
    /// Reads the clock.
    pub fn read() -> Result<Now, TimeOutOfRange> {
        Now::at(Utc::now())
    }

    /// `at` as a reading of the clock.
    pub fn at(at: DateTime<Utc>) -> Result<Now, TimeOutOfRange> {
        Ok(Now { time: time(at)?, at })
    }
}

/// An instant for a Kubernetes `Time`.
pub fn instant(time: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.0.as_second(), time.0.subsec_nanosecond().try_into().ok()?)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Timelike};

    use super::*;

    #[test]
    fn a_time_is_the_instant_to_the_second() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 27, 22, 0, 5)
            .single()
            .expect("valid")
            .with_nanosecond(750_000_000)
            .expect("valid");
        let written = time(at).expect("in range");
        assert_eq!(written.0.to_string(), "2026-11-27T22:00:05Z");
        assert_eq!(instant(&written).map(|i| i.timestamp()), Some(at.timestamp()));
    }

    #[test]
    fn an_instant_kubernetes_cannot_store_is_an_error_naming_it_not_1970() {
        let far = Utc
            .with_ymd_and_hms(10_000, 1, 1, 0, 0, 0)
            .single()
            .expect("chrono reaches it");
        let error = time(far).expect_err("jiff does not");
        assert_eq!(error.at, far);
        assert!(
            error
                .to_string()
                .starts_with("+10000-01-01 00:00:00 UTC is outside the years -9999 to 9999"),
            "{error}"
        );
        assert_eq!(Now::at(far), Err(error));
    }
}
