//! The cluster adapters: reading Kubernetes objects into `core` types and
//! writing refit's results back. Nothing here decides what is outdated or
//! who governs what; it watches, reads, joins and writes.
//!
//! - [`watch`]: reflectors with trimmed objects ([`trim`]).
//! - [`snapshot`]: workloads joined to their pods ([`join`]), nodes and
//!   namespaces, as `core` types.
//! - [`reports`]: DriftReports, written only when their content changes.
//! - [`status`]: status of PatchPolicies and ChangeWindows.
//! - [`events`]: Kubernetes Events.
//! - [`secrets`]: registry credentials from image pull secrets.
//! - [`install`]: whether refit's CRDs are installed.
//!
//! Every write is a server-side apply with the field manager `refit`.

pub mod events;
pub mod install;
pub mod join;
pub mod reports;
pub mod secrets;
pub mod snapshot;
pub mod status;
pub mod trim;
pub mod watch;

use chrono::{DateTime, Utc};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

/// A Kubernetes `Time` for an instant, to the second (as the API server
/// stores it).
pub fn time(at: DateTime<Utc>) -> Time {
    Time(Timestamp::from_second(at.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// An instant for a Kubernetes `Time`.
pub fn instant(time: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.0.as_second(), time.0.subsec_nanosecond().try_into().ok()?)
}
