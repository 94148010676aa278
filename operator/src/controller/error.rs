//! The controllers' one error type: one variant per step that can fail,
//! each with a stable [`metric_label`](Error::metric_label) for metrics and
//! logs. An invalid spec is not an error: it is reported in the object's
//! `Ready` condition and waits for a change.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use crate::{cluster::TimeOutOfRange, lock::Lock};

/// What can go wrong while reconciling or scanning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the status of a PatchPolicy or ChangeWindow failed.
    #[error("cannot write the status of {kind} {name}: {source}")]
    WriteStatus {
        /// `PatchPolicy` or `ChangeWindow`.
        kind: &'static str,
        /// The object.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Writing a DriftReport failed.
    #[error("cannot write DriftReport {namespace}/{name}: {source}")]
    WriteReport {
        /// The namespace.
        namespace: String,
        /// The report.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Deleting a DriftReport no policy governs any more failed.
    #[error("cannot delete DriftReport {namespace}/{name}: {source}")]
    DeleteReport {
        /// The namespace.
        namespace: String,
        /// The report.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// The object has no name (the API server always sets one).
    #[error("the object has no name")]
    MissingName,
    /// A timestamp to write cannot be stored (the clock is set far wrong).
    #[error("cannot write a timestamp: {0}")]
    TimeOutOfRange(#[from] TimeOutOfRange),
}

impl Error {
    /// A short, stable label for metrics (`refit_failures_total{reason}`).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::WriteStatus { .. } => "write_status",
            Error::WriteReport { .. } => "write_report",
            Error::DeleteReport { .. } => "delete_report",
            Error::MissingName => "missing_name",
            Error::TimeOutOfRange(_) => "time_out_of_range",
        }
    }
}

/// Exponential back-off per object for failed reconciles: 1 s, 2 s, 4 s, …
/// up to 5 minutes, reset by a success.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Backoff {
    /// Records a failure of `key`; returns how long to wait before retrying.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self.failures.locked();
        let count = failures.entry(key.to_owned()).or_default();
        *count = count.saturating_add(1);
        delay(*count)
    }

    /// Forgets the failures of `key`.
    pub fn succeeded(&self, key: &str) {
        self.failures.locked().remove(key);
    }
}

/// The wait after `failures` failures in a row.
pub fn delay(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_five_minutes_and_resets_on_success() {
        let backoff = Backoff::default();
        assert_eq!(backoff.failed("a"), Duration::from_secs(1));
        assert_eq!(backoff.failed("a"), Duration::from_secs(2));
        assert_eq!(backoff.failed("a"), Duration::from_secs(4));
        assert_eq!(backoff.failed("b"), Duration::from_secs(1));
        backoff.succeeded("a");
        assert_eq!(backoff.failed("a"), Duration::from_secs(1));
        assert_eq!(delay(30), MAX_BACKOFF);
    }
}
