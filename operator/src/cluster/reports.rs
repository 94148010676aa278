//! DriftReports: one per governed workload, named `<kind>-<workload>`, in
//! the workload's namespace, owned by it (so it goes when the workload
//! goes), written with server-side apply as the field manager `refit`.
//!
//! A report is written only when its content changes: [`writes_needed`]
//! compares what a scan found with the report as stored, ignoring
//! `checkedAt` and the condition's transition time, so a steady cluster
//! costs no writes. `checkedAt` moves only when the content does.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
};

use super::{snapshot::WorkloadKey, status::FIELD_MANAGER};
use crate::api::{
    DriftReport, DriftReportSpec, DriftReportStatus,
    conditions::{reasons, types},
    workload::WorkloadRef,
};

/// The label every report refit writes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "refit");
/// The label naming the policy that governs the report's workload.
pub const POLICY_LABEL: &str = "refit.dev/policy";

/// What a scan found for one workload, before it is compared with the
/// stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredReport {
    /// The workload.
    pub workload: WorkloadKey,
    /// Its uid (the owner reference).
    pub uid: String,
    /// The governing policy.
    pub policy: String,
    /// Findings (from `WorkloadFindings::report_status`), without
    /// `checkedAt`, conditions and `observedGeneration`.
    pub status: DriftReportStatus,
    /// The Ready condition's message.
    pub message: String,
}

/// Which writes a report needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportWrites {
    /// Labels, owner or spec differ (or the report does not exist).
    pub main: bool,
    /// The status to write, when the findings differ.
    pub status: Option<DriftReportStatus>,
}

impl ReportWrites {
    /// Whether nothing needs writing.
    pub fn is_empty(&self) -> bool {
        !self.main && self.status.is_none()
    }
}

impl DesiredReport {
    /// The report's name.
    pub fn name(&self) -> String {
        self.workload.report_name()
    }

    fn spec(&self) -> DriftReportSpec {
        DriftReportSpec {
            workload: WorkloadRef {
                kind: self.workload.kind,
                name: self.workload.name.clone(),
            },
            policy: self.policy.clone(),
        }
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
            (POLICY_LABEL.to_owned(), self.policy.clone()),
        ])
    }

    fn owner(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.workload.api_version().to_owned(),
            kind: self.workload.kind.as_str().to_owned(),
            name: self.workload.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        }
    }
}

/// Which writes bring `current` to `desired` at `now`. Pure.
pub fn writes_needed(desired: &DesiredReport, current: Option<&DriftReport>, now: Time) -> ReportWrites {
    let main = match current {
        None => true,
        Some(report) => {
            let labels = report.labels();
            let labelled = desired.labels().iter().all(|(k, v)| labels.get(k) == Some(v));
            let owned = report
                .owner_references()
                .iter()
                .any(|o| o.uid == desired.uid && o.controller == Some(true));
            !(labelled && owned && report.spec == desired.spec())
        }
    };
    let previous = current.and_then(|report| report.status.as_ref());
    let generation = current.and_then(|report| report.metadata.generation);
    let condition = Condition {
        type_: types::READY.to_owned(),
        status: "True".to_owned(),
        reason: reasons::RECONCILED.to_owned(),
        message: desired.message.clone(),
        last_transition_time: now.clone(),
        observed_generation: generation,
    };
    let mut wanted = DriftReportStatus {
        conditions: vec![condition],
        observed_generation: generation,
        ..desired.status.clone()
    };
    let unchanged = previous.is_some_and(|previous| {
        let mut comparable = previous.clone();
        comparable.checked_at = None;
        for condition in &mut comparable.conditions {
            condition.last_transition_time = now.clone();
        }
        comparable == wanted
    });
    if unchanged && !main {
        return ReportWrites::default();
    }
    if unchanged {
        return ReportWrites { main, status: None };
    }
    // The condition's transition time moves only when its status does.
    if let Some(before) = previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == types::READY))
        .filter(|c| c.status == "True")
    {
        for condition in &mut wanted.conditions {
            condition.last_transition_time = before.last_transition_time.clone();
        }
    }
    wanted.checked_at = Some(now);
    ReportWrites {
        main,
        status: Some(wanted),
    }
}

/// Writes DriftReports.
#[derive(Clone)]
pub struct ReportWriter {
    client: Client,
}

impl std::fmt::Debug for ReportWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportWriter").finish_non_exhaustive()
    }
}

impl ReportWriter {
    /// A writer using `client`.
    pub fn new(client: Client) -> ReportWriter {
        ReportWriter { client }
    }

    /// Carries out `writes` for `desired`; returns the report as written.
    pub async fn write(&self, desired: &DesiredReport, writes: &ReportWrites) -> Result<DriftReport, kube::Error> {
        let api: Api<DriftReport> = Api::namespaced(self.client.clone(), &desired.workload.namespace);
        let name = desired.name();
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut generation = None;
        let mut written = None;
        if writes.main {
            let body = serde_json::json!({
                "apiVersion": "refit.dev/v1alpha1",
                "kind": "DriftReport",
                "metadata": {
                    "name": name,
                    "namespace": desired.workload.namespace,
                    "labels": desired.labels(),
                    "ownerReferences": [desired.owner()],
                },
                "spec": desired.spec(),
            });
            let report = api.patch(&name, &params, &Patch::Apply(&body)).await?;
            generation = report.metadata.generation;
            written = Some(report);
        }
        if let Some(status) = &writes.status {
            let mut status = status.clone();
            if generation.is_some() {
                status.observed_generation = generation;
                for condition in &mut status.conditions {
                    condition.observed_generation = generation;
                }
            }
            written = Some(super::status::apply_status(&api, &name, &status).await?);
        }
        match written {
            Some(report) => Ok(report),
            // Nothing to write: what is stored is what was wanted.
            None => api.get(&name).await,
        }
    }

    /// Deletes a report (of a workload no policy governs any more).
    pub async fn delete(&self, namespace: &str, name: &str) -> Result<(), kube::Error> {
        let api: Api<DriftReport> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::api::{drift_report::FindingState, workload::WorkloadKind};

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid"))
    }

    fn desired(state: FindingState) -> DesiredReport {
        DesiredReport {
            workload: WorkloadKey {
                kind: WorkloadKind::Deployment,
                namespace: "storefront".into(),
                name: "web".into(),
            },
            uid: "uid-1".into(),
            policy: "storefront-web".into(),
            status: DriftReportStatus {
                containers: vec![crate::api::drift_report::ContainerFinding {
                    name: "web".into(),
                    init: false,
                    image: "nginx:1.25.3".into(),
                    running_digests: vec![],
                    state,
                    candidate: None,
                    reason: "why".into(),
                    base: None,
                    ticket: None,
                }],
                ..DriftReportStatus::default()
            },
            message: "1 container checked".into(),
        }
    }

    /// The report as the API server would hold it after `writes` were carried
    /// out.
    fn stored(desired: &DesiredReport, writes: &ReportWrites) -> DriftReport {
        let mut report = DriftReport::new(&desired.name(), desired.spec());
        report.metadata.namespace = Some(desired.workload.namespace.clone());
        report.metadata.labels = Some(desired.labels());
        report.metadata.owner_references = Some(vec![desired.owner()]);
        report.metadata.generation = Some(1);
        // As `ReportWriter::write` does: the status names the generation.
        report.status = writes.status.clone().map(|mut status| {
            status.observed_generation = Some(1);
            for condition in &mut status.conditions {
                condition.observed_generation = Some(1);
            }
            status
        });
        report
    }

    #[test]
    fn a_new_report_is_created_with_its_findings() {
        let writes = writes_needed(&desired(FindingState::UpToDate), None, at(100));
        assert!(writes.main);
        let status = writes.status.expect("status");
        assert_eq!(status.checked_at, Some(at(100)));
        assert_eq!(status.conditions[0].reason, "Reconciled");
    }

    #[test]
    fn the_same_findings_later_cost_no_write_and_keep_checked_at() {
        let wanted = desired(FindingState::UpToDate);
        let first = writes_needed(&wanted, None, at(100));
        let report = stored(&wanted, &first);
        let second = writes_needed(&wanted, Some(&report), at(200));
        assert!(second.is_empty(), "{second:?}");
    }

    #[test]
    fn changed_findings_move_checked_at_but_not_the_transition_time() {
        let before = desired(FindingState::UpToDate);
        let report = stored(&before, &writes_needed(&before, None, at(100)));
        let writes = writes_needed(&desired(FindingState::Outdated), Some(&report), at(200));
        assert!(!writes.main);
        let status = writes.status.expect("status");
        assert_eq!(status.checked_at, Some(at(200)));
        assert_eq!(status.conditions[0].last_transition_time, at(100));
        assert_eq!(status.containers[0].state, FindingState::Outdated);
    }

    #[test]
    fn a_report_that_changes_policy_is_reapplied() {
        let before = desired(FindingState::UpToDate);
        let report = stored(&before, &writes_needed(&before, None, at(100)));
        let mut moved = before.clone();
        moved.policy = "everything".into();
        let writes = writes_needed(&moved, Some(&report), at(200));
        assert!(writes.main);
        assert!(writes.status.is_none());
    }
}
