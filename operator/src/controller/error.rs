//! The controllers' one error type: one variant per step that can fail,
//! each naming the object it concerns, with a stable
//! [`metric_label`](Error::metric_label) for metrics and logs and
//! [`is_transient`](Error::is_transient) saying whether trying again can
//! help. An invalid spec is not an error: it is reported in the object's
//! `Ready` condition and waits for a change.
//!
//! Which step of a scan each variant belongs to (see
//! `cluster_scan::pass`): gather, [`Error::ResolveBaseline`]; write,
//! [`Error::WriteReport`]; plan, [`Error::CreateTicket`] and
//! [`Error::WriteTicket`]; clean up, [`Error::DeleteReport`]; publish,
//! [`Error::WriteStatus`] (which the reconcilers return too). The
//! ChangeTicket reconciler adds [`Error::ReadTickets`] and
//! [`Error::Slots`], and carrying out a change [`Error::ReadWorkload`] and
//! [`Error::ApplyImages`].

use std::{collections::HashMap, sync::Mutex, time::Duration};

use crate::{
    cluster::{TimeOutOfRange, snapshot::WorkloadKey},
    lock::Lock,
};

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
    /// The image a sidecar should run, from a policy's
    /// `spec.runtime.sidecars`, cannot be found; the sidecar is left out of
    /// that policy's evaluation.
    #[error("PatchPolicy {policy}: spec.runtime.sidecars[{index}].{problem}")]
    ResolveBaseline {
        /// The policy.
        policy: String,
        /// The sidecar's index in `spec.runtime.sidecars`.
        index: usize,
        /// Why.
        #[source]
        problem: BaselineProblem,
    },
    /// Creating a ChangeTicket failed.
    #[error("cannot create ChangeTicket {namespace}/{name}: {source}")]
    CreateTicket {
        /// The namespace.
        namespace: String,
        /// The ticket.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Reading ChangeTickets (one, or a window's or policy's) failed.
    #[error("cannot read ChangeTickets ({what}): {source}")]
    ReadTickets {
        /// Which.
        what: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Writing a ChangeTicket's status failed.
    #[error("cannot write the status of ChangeTicket {namespace}/{name}: {source}")]
    WriteTicket {
        /// The namespace.
        namespace: String,
        /// The ticket.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Reading or writing a ChangeWindow's slots failed.
    #[error("cannot take or give back a slot of ChangeWindow {window}: {source}")]
    Slots {
        /// The window.
        window: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Reading the workload a change is under way on, or its pods, failed.
    #[error("cannot read {workload} or its pods to follow ChangeTicket {ticket}: {source}")]
    ReadWorkload {
        /// `Kind namespace/name`.
        workload: String,
        /// The ticket.
        ticket: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// Applying a ticket's images to its workload failed.
    #[error("cannot apply the images of ChangeTicket {ticket} to {workload}: {source}")]
    ApplyImages {
        /// `Kind namespace/name`.
        workload: String,
        /// The ticket.
        ticket: String,
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

/// Why a sidecar's image cannot be found. Each message starts with the
/// field of the sidecar it is about.
#[derive(Debug, thiserror::Error)]
pub enum BaselineProblem {
    /// Reading the ConfigMap failed.
    #[error("configMapRef: cannot read ConfigMap {namespace}/{name}: {source}")]
    ReadConfigMap {
        /// The ConfigMap's namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// The ConfigMap does not exist.
    #[error("configMapRef: ConfigMap {namespace}/{name} does not exist")]
    ConfigMapMissing {
        /// The ConfigMap's namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The ConfigMap has no such key, or its value is blank.
    #[error("configMapRef: ConfigMap {namespace}/{name} has no key {key}, or its value is blank")]
    KeyMissing {
        /// The ConfigMap's namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The key.
        key: String,
    },
    /// The workload does not exist (or is outside refit's namespace).
    #[error("workloadRef: {workload} does not exist, or refit does not watch its namespace")]
    WorkloadMissing {
        /// The workload.
        workload: WorkloadKey,
    },
    /// The workload has no container of the sidecar's name.
    #[error("workloadRef: {workload} has no container {container} with an image")]
    ContainerMissing {
        /// The workload.
        workload: WorkloadKey,
        /// The sidecar's container name.
        container: String,
    },
    /// `image` is blank and nothing else is set.
    #[error("image: blank; set exactly one of image, configMapRef or workloadRef")]
    NoImage,
}

impl Error {
    /// A short, stable label for metrics (`refit_failures_total{reason}`).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::WriteStatus { .. } => "write_status",
            Error::WriteReport { .. } => "write_report",
            Error::DeleteReport { .. } => "delete_report",
            Error::ResolveBaseline { .. } => "resolve_baseline",
            Error::CreateTicket { .. } => "create_ticket",
            Error::ReadTickets { .. } => "read_tickets",
            Error::WriteTicket { .. } => "write_ticket",
            Error::Slots { .. } => "slots",
            Error::ReadWorkload { .. } => "read_workload",
            Error::ApplyImages { .. } => "apply_images",
            Error::MissingName => "missing_name",
            Error::TimeOutOfRange(_) => "time_out_of_range",
        }
    }

    /// Whether trying again soon can help without anything else changing:
    /// the API server failed a request, or the clock may be set right. A
    /// missing ConfigMap, workload or name is not: it waits for the next
    /// scheduled scan or a change.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::WriteStatus { .. }
            | Error::WriteReport { .. }
            | Error::DeleteReport { .. }
            | Error::CreateTicket { .. }
            | Error::ReadTickets { .. }
            | Error::WriteTicket { .. }
            | Error::Slots { .. }
            | Error::ReadWorkload { .. }
            | Error::ApplyImages { .. }
            | Error::TimeOutOfRange(_) => true,
            Error::ResolveBaseline { problem, .. } => matches!(problem, BaselineProblem::ReadConfigMap { .. }),
            Error::MissingName => false,
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
