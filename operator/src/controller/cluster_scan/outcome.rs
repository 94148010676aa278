//! What one scan came to: how much it did, for its log line, and every
//! step that failed, each a typed [`Error`] naming its object (the report
//! that could not be written, the policy whose status could not be
//! published, …). A failed step does not end the scan: one workload's
//! failed write does not keep the other reports from being written. The
//! loop decides from the failures whether to scan again with back-off
//! ([`next_retry`]). Pure, but for [`ScanOutcome::record`].

use tokio::time::Instant;

use super::SCANNER;
use crate::{
    controller::error::{Error, delay},
    telemetry::Metrics,
};

/// What one scan did and what failed.
#[derive(Debug, Default)]
pub(super) struct ScanOutcome {
    /// Workloads evaluated.
    pub evaluated: usize,
    /// DriftReports written.
    pub writes: usize,
    /// Every step that failed, in the order they failed.
    pub failures: Vec<Error>,
}

impl ScanOutcome {
    /// Whether scanning again soon can help: a step failed transiently
    /// (see [`Error::is_transient`]).
    pub fn needs_retry(&self) -> bool {
        self.failures.iter().any(Error::is_transient)
    }

    /// Counts each failure in `refit_failures_total{controller="scanner"}`
    /// by its label and logs it.
    pub fn record(&self, metrics: &Metrics) {
        for error in &self.failures {
            metrics.failure(SCANNER, error.metric_label());
            tracing::warn!(
                %error,
                reason = error.metric_label(),
                retry = error.is_transient(),
                "a scan step failed"
            );
        }
    }
}

/// Failed scans in a row and when to scan again, after a scan at `now`
/// that `needs_retry` (or not): back-off from 1 s doubling to 5 minutes,
/// forgotten after a scan that needs none.
pub(super) fn next_retry(previous: Option<(u32, Instant)>, needs_retry: bool, now: Instant) -> Option<(u32, Instant)> {
    if !needs_retry {
        return None;
    }
    let count = previous.map_or(1, |(count, _)| count.saturating_add(1));
    Some((count, now + delay(count)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kube::core::Status;

    use super::*;
    use crate::controller::error::BaselineProblem;

    /// What the API server answers while etcd is struggling.
    fn etcd_timeout() -> kube::Error {
        kube::Error::Api(
            Status::failure("etcdserver: request timed out", "InternalError")
                .with_code(500)
                .boxed(),
        )
    }

    fn failed_write() -> Error {
        Error::WriteReport {
            namespace: "storefront".into(),
            name: "deployment-web".into(),
            source: etcd_timeout(),
        }
    }

    #[test]
    fn a_scan_with_a_failed_write_is_retried_after_a_second_and_a_clean_one_is_not() {
        let now = Instant::now();
        let failed = ScanOutcome {
            evaluated: 3,
            writes: 2,
            failures: vec![failed_write()],
        };
        assert!(failed.needs_retry());
        assert_eq!(
            next_retry(None, failed.needs_retry(), now),
            Some((1, now + Duration::from_secs(1)))
        );
        let clean = ScanOutcome {
            evaluated: 3,
            writes: 3,
            failures: vec![],
        };
        assert!(!clean.needs_retry());
        assert_eq!(
            next_retry(Some((1, now)), clean.needs_retry(), now),
            None,
            "a clean scan ends the back-off"
        );
    }

    #[test]
    fn scans_failing_in_a_row_back_off_doubling_up_to_five_minutes() {
        let now = Instant::now();
        let mut retry = None;
        let mut waits = Vec::new();
        for _ in 0..12 {
            retry = next_retry(retry, true, now);
            waits.push(retry.map(|(_, at)| (at - now).as_secs()));
        }
        assert_eq!(&waits[..4], [Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(waits[11], Some(300));
    }

    #[test]
    fn a_config_map_that_does_not_exist_waits_for_the_next_scan_but_one_that_cannot_be_read_is_retried() {
        let missing = ScanOutcome {
            failures: vec![Error::ResolveBaseline {
                policy: "mesh".into(),
                index: 0,
                problem: BaselineProblem::ConfigMapMissing {
                    namespace: "istio-system".into(),
                    name: "istio-sidecar-injector".into(),
                },
            }],
            ..ScanOutcome::default()
        };
        assert!(!missing.needs_retry(), "nothing changes by asking again");
        assert_eq!(missing.failures[0].metric_label(), "resolve_baseline");
        assert_eq!(
            missing.failures[0].to_string(),
            "PatchPolicy mesh: spec.runtime.sidecars[0].configMapRef: ConfigMap \
             istio-system/istio-sidecar-injector does not exist"
        );
        let unreadable = ScanOutcome {
            failures: vec![Error::ResolveBaseline {
                policy: "mesh".into(),
                index: 0,
                problem: BaselineProblem::ReadConfigMap {
                    namespace: "istio-system".into(),
                    name: "istio-sidecar-injector".into(),
                    source: etcd_timeout(),
                },
            }],
            ..ScanOutcome::default()
        };
        assert!(unreadable.needs_retry());
    }

    #[test]
    fn each_failure_is_counted_under_the_scanner_by_its_step() {
        let (registry, metrics) = crate::telemetry::metrics::registry(Default::default());
        let outcome = ScanOutcome {
            failures: vec![
                failed_write(),
                failed_write(),
                Error::DeleteReport {
                    namespace: "storefront".into(),
                    name: "deployment-old".into(),
                    source: etcd_timeout(),
                },
            ],
            ..ScanOutcome::default()
        };
        outcome.record(&metrics);
        let text = crate::telemetry::metrics::encode(&registry).expect("encodes");
        for line in [
            "refit_failures_total{controller=\"scanner\",reason=\"write_report\"} 2",
            "refit_failures_total{controller=\"scanner\",reason=\"delete_report\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
