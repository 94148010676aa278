//! Removing DriftReports of workloads no valid policy governs any more.
//! A report whose policy is merely invalid stays: refit does not act on an
//! invalid policy, not even to clean up after it.

use std::collections::{BTreeSet, HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{ResourceExt, runtime::reflector::ObjectRef};

use super::ScanState;
use crate::{
    cluster::{reports::MANAGED_BY, snapshot::WorkloadKey},
    controller::{Context, error::Error},
    telemetry::metrics::label,
};

/// Deletes refit's reports of workloads no valid policy governs (a report
/// naming an invalid policy stays: refit does not act on that policy).
/// Returns the deletes that failed; the others go ahead regardless.
pub(super) async fn delete_stale(
    ctx: &Context,
    state: &mut ScanState,
    governed: &HashMap<WorkloadKey, usize>,
    invalid: &BTreeSet<String>,
    now: &Time,
) -> Vec<Error> {
    let mut failures = Vec::new();
    let mut gone: HashSet<(String, String)> = HashSet::new();
    for report in ctx.stores.reports.state() {
        if report.labels().get(MANAGED_BY.0).map(String::as_str) != Some(MANAGED_BY.1) {
            continue;
        }
        let (Some(namespace), Some(name)) = (report.metadata.namespace.clone(), report.metadata.name.clone()) else {
            continue;
        };
        let key = WorkloadKey {
            kind: report.spec.workload.kind,
            namespace: namespace.clone(),
            name: report.spec.workload.name.clone(),
        };
        if (governed.contains_key(&key) && key.report_name() == name) || invalid.contains(&report.spec.policy) {
            continue;
        }
        if report.metadata.deletion_timestamp.is_some()
            || state.written.contains_key(&(namespace.clone(), name.clone()))
        {
            continue;
        }
        match ctx.reports.delete(&namespace, &name).await {
            Ok(()) => {
                ctx.metrics
                    .report_writes
                    .get_or_create(&label("operation", "delete"))
                    .inc();
                tracing::info!(report = %format!("{namespace}/{name}"), "deleted the DriftReport of a workload no policy governs");
                gone.insert((namespace, name));
            }
            Err(source) => failures.push(Error::DeleteReport {
                namespace,
                name,
                source,
            }),
        }
    }
    for (namespace, name) in gone {
        // Until the watch shows the deletion, remember it as "written".
        if let Some(report) = ctx.stores.reports.get(&ObjectRef::new(&name).within(&namespace)) {
            let mut deleting = (*report).clone();
            deleting.metadata.deletion_timestamp = Some(now.clone());
            state
                .written
                .insert((namespace, name), (report.metadata.resource_version.clone(), deleting));
        }
    }
    failures
}
