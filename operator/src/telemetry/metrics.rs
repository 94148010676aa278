//! The operator's Prometheus metrics, all prefixed `refit_`. Each metric
//! is registered once, with help text, by [`Metrics::register`]; registry
//! request counts and health are read from the registry layer's
//! [`RegistryStats`] at every scrape by [`RegistryCollector`], so the
//! registry layer needs no metrics code of its own.

use std::{sync::Arc, time::UNIX_EPOCH};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{
        MetricType,
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::registry::stats::RegistryStats;

/// Label pairs of one series.
pub type Labels = Vec<(&'static str, String)>;

type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// Every metric the operator updates as it works.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Reconciles started, by `controller` (`patchpolicy`, `changewindow`).
    pub reconciles: Family<Labels, Counter>,
    /// Reconciles and scan steps that failed, by `controller` and `reason`
    /// (the error's `metric_label()`).
    pub failures: Family<Labels, Counter>,
    /// How long reconciles take, by `controller`.
    pub reconcile_duration: HistogramFamily,
    /// Scans, by `trigger` (`interval`, `policy`, `workloads`).
    pub scans: Family<Labels, Counter>,
    /// How long scans take, by `trigger`.
    pub scan_duration: HistogramFamily,
    /// Containers in DriftReports by `state`, as of the latest scan.
    pub findings: Family<Labels, Gauge>,
    /// Workloads governed by a policy, as of the latest scan.
    pub governed_workloads: Gauge,
    /// Writes of DriftReports, by `operation` (`apply`, `status`, `delete`).
    /// A steady cluster adds none.
    pub report_writes: Family<Labels, Counter>,
    /// Events published, by `reason`.
    pub events: Family<Labels, Counter>,
    /// 1 once every watch has listed its objects.
    pub caches_synced: Gauge,
    /// Objects a scan left out because they lack a name, namespace or uid,
    /// by `kind` and `reason` (`no_name`, `no_namespace`, `no_uid`);
    /// counted at every scan that leaves them out.
    pub skipped_objects: Family<Labels, Counter>,
    /// refit's ChangeTickets by `phase` and `type`, as the watch last saw
    /// them.
    pub tickets: Family<Labels, Gauge>,
    /// Ticket phase changes refit wrote, by the `phase` entered and the
    /// ticket's `type`.
    pub ticket_transitions: Family<Labels, Counter>,
    /// Changes of governed workloads' images made outside refit, by the
    /// workload's `kind`.
    pub unauthorized_changes: Family<Labels, Counter>,
}

impl Metrics {
    /// Registers the metrics in `registry` (which should carry the `refit`
    /// prefix).
    pub fn register(registry: &mut Registry) -> Metrics {
        let seconds = || Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let metrics = Metrics {
            reconciles: Family::default(),
            failures: Family::default(),
            reconcile_duration: Family::new_with_constructor(seconds),
            scans: Family::default(),
            scan_duration: Family::new_with_constructor(seconds),
            findings: Family::default(),
            governed_workloads: Gauge::default(),
            report_writes: Family::default(),
            events: Family::default(),
            caches_synced: Gauge::default(),
            skipped_objects: Family::default(),
            tickets: Family::default(),
            ticket_transitions: Family::default(),
            unauthorized_changes: Family::default(),
        };
        registry.register(
            "tickets",
            "refit's ChangeTickets by phase and type",
            metrics.tickets.clone(),
        );
        registry.register(
            "ticket_transitions",
            "Ticket phase changes refit wrote, by phase entered and type",
            metrics.ticket_transitions.clone(),
        );
        registry.register(
            "unauthorized_changes",
            "Changes of governed workloads' images made outside refit, by workload kind",
            metrics.unauthorized_changes.clone(),
        );
        registry.register(
            "reconciles",
            "Reconciles started, by controller",
            metrics.reconciles.clone(),
        );
        registry.register(
            "failures",
            "Reconciles and scan steps that failed, by controller and reason",
            metrics.failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles take, by controller",
            metrics.reconcile_duration.clone(),
        );
        registry.register(
            "scans",
            "Scans of governed workloads, by trigger (interval, policy, workloads)",
            metrics.scans.clone(),
        );
        registry.register(
            "scan_duration_seconds",
            "How long scans take (registry questions, evaluation and writes), by trigger",
            metrics.scan_duration.clone(),
        );
        registry.register(
            "findings",
            "Containers in DriftReports by state, as of the latest scan",
            metrics.findings.clone(),
        );
        registry.register(
            "governed_workloads",
            "Workloads governed by a PatchPolicy, as of the latest scan",
            metrics.governed_workloads.clone(),
        );
        registry.register(
            "drift_report_writes",
            "DriftReport writes, by operation (apply, status, delete); a steady cluster adds none",
            metrics.report_writes.clone(),
        );
        registry.register(
            "events",
            "Kubernetes Events published, by reason",
            metrics.events.clone(),
        );
        registry.register(
            "caches_synced",
            "1 once every watch has listed its objects (what /readyz reports)",
            metrics.caches_synced.clone(),
        );
        registry.register(
            "skipped_objects",
            "Objects a scan left out because they lack a name, namespace or uid, by kind and reason; \
             counted at every scan that leaves them out",
            metrics.skipped_objects.clone(),
        );
        metrics
    }

    /// Counts an object of `kind` a scan left out for `reason`.
    pub fn skipped(&self, kind: &str, reason: &str) {
        self.skipped_objects
            .get_or_create(&vec![("kind", kind.to_owned()), ("reason", reason.to_owned())])
            .inc();
    }

    /// Counts a failure of `controller` with the error's label.
    pub fn failure(&self, controller: &str, reason: &str) {
        self.failures
            .get_or_create(&vec![
                ("controller", controller.to_owned()),
                ("reason", reason.to_owned()),
            ])
            .inc();
    }
}

/// One label pair, for the families above.
pub fn label(key: &'static str, value: impl Into<String>) -> Labels {
    vec![(key, value.into())]
}

/// Exports [`RegistryStats`] at every scrape: request counts by registry,
/// kind and outcome, and each registry's health.
#[derive(Debug)]
pub struct RegistryCollector {
    stats: Arc<RegistryStats>,
}

impl RegistryCollector {
    /// A collector over the registry layer's shared stats.
    pub fn new(stats: Arc<RegistryStats>) -> RegistryCollector {
        RegistryCollector { stats }
    }
}

impl Collector for RegistryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.stats.snapshot();
        let mut requests = encoder.encode_descriptor(
            "registry_requests",
            "Registry requests, by registry, kind (tag_list, manifest_head, manifest_get, blob_get, token) and outcome",
            None,
            MetricType::Counter,
        )?;
        for ((registry, kind, outcome), count) in &snapshot {
            let labels: Labels = vec![
                ("registry", registry.clone()),
                ("kind", kind.label().to_owned()),
                ("outcome", outcome.label().to_owned()),
            ];
            ConstCounter::new(*count).encode(requests.encode_family(&labels)?)?;
        }
        let health = self.stats.health();
        let mut failures = encoder.encode_descriptor(
            "registry_consecutive_failures",
            "Failed registry requests (errors, rate limits) since the registry last answered",
            None,
            MetricType::Gauge,
        )?;
        for (registry, state) in &health {
            ConstGauge::new(i64::from(state.consecutive_failures))
                .encode(failures.encode_family(&label("registry", registry.clone()))?)?;
        }
        let mut up = encoder.encode_descriptor(
            "registry_up",
            "1 when the registry's latest request got an answer, 0 while it fails",
            None,
            MetricType::Gauge,
        )?;
        for (registry, state) in &health {
            ConstGauge::new(i64::from(state.consecutive_failures == 0))
                .encode(up.encode_family(&label("registry", registry.clone()))?)?;
        }
        let mut last = encoder.encode_descriptor(
            "registry_last_success_timestamp_seconds",
            "When the registry last answered (Unix time)",
            None,
            MetricType::Gauge,
        )?;
        for (registry, state) in &health {
            // Prometheus wants Unix time. A success dated before 1970 (a
            // clock set far back) leaves the series out rather than
            // exporting a wrong time.
            if let Some(seconds) = state
                .last_success
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64())
            {
                ConstGauge::new(seconds).encode(last.encode_family(&label("registry", registry.clone()))?)?;
            }
        }
        Ok(())
    }
}

/// The registry with the `refit_` prefix, the metrics and the registry
/// collector.
pub fn registry(stats: Arc<RegistryStats>) -> (Registry, Metrics) {
    let mut registry = Registry::with_prefix("refit");
    let metrics = Metrics::register(&mut registry);
    registry.register_collector(Box::new(RegistryCollector::new(stats)));
    (registry, metrics)
}

/// The text exposition of a registry.
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::stats::{RequestKind, RequestOutcome};

    #[test]
    fn registry_requests_and_health_are_exported_with_the_refit_prefix() {
        let stats = Arc::new(RegistryStats::default());
        stats.record("ghcr.io", RequestKind::TagList, RequestOutcome::Ok, None);
        stats.record("ghcr.io", RequestKind::ManifestHead, RequestOutcome::Ok, None);
        stats.record(
            "docker.io",
            RequestKind::ManifestHead,
            RequestOutcome::RateLimited,
            Some("429"),
        );
        let (registry, metrics) = registry(stats);
        metrics.scans.get_or_create(&label("trigger", "interval")).inc();
        metrics.failure("patchpolicy", "invalid_spec");
        metrics.skipped("Deployment", "no_uid");
        let text = encode(&registry).expect("encodes");
        for line in [
            "refit_registry_requests_total{registry=\"ghcr.io\",kind=\"tag_list\",outcome=\"ok\"} 1",
            "refit_registry_requests_total{registry=\"docker.io\",kind=\"manifest_head\",outcome=\"rate_limited\"} 1",
            "refit_registry_up{registry=\"docker.io\"} 0",
            "refit_registry_up{registry=\"ghcr.io\"} 1",
            "refit_registry_consecutive_failures{registry=\"docker.io\"} 1",
            "refit_scans_total{trigger=\"interval\"} 1",
            "refit_failures_total{controller=\"patchpolicy\",reason=\"invalid_spec\"} 1",
            "refit_skipped_objects_total{kind=\"Deployment\",reason=\"no_uid\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(
            text.contains("# HELP refit_scans Scans of governed workloads"),
            "{text}"
        );
        assert!(
            text.contains("# HELP refit_skipped_objects Objects a scan left out because they lack a name"),
            "{text}"
        );
    }
}
