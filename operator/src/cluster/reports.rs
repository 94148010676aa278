//! DriftReports: one per governed workload, named `<kind>-<workload>`, in
//! the workload's namespace, owned by it (so it goes when the workload
//! goes), written with server-side apply as the field manager `refit`.
//!
//! A report is written only when its content changes: [`writes_needed`]
//! compares what a scan found with the report as stored, ignoring
//! `checkedAt` and the condition's transition time, so a steady cluster
//! costs no writes. `checkedAt` moves only when the content does.
//!
//! What a report says comes from `core::drift`'s findings ([`report_status`]):
//! `core` decides, this module writes it down.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
};

use super::{snapshot::WorkloadKey, status::FIELD_MANAGER};
use crate::{
    api::{
        DriftReport, DriftReportSpec, DriftReportStatus,
        conditions::{reasons, types},
        drift_report::{self, FindingState, PodDrift},
        workload::WorkloadRef,
    },
    core::drift::{PodFinding, PodRevision, WorkloadFindings},
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
    /// Findings (from [`report_status`]), without
    /// `checkedAt`, conditions and `observedGeneration`.
    pub status: DriftReportStatus,
    /// The Ready condition's message.
    pub message: String,
}

/// The DriftReport status a workload's findings make (without `checkedAt`,
/// the ticket and conditions, which the controller owns).
pub fn report_status(findings: &WorkloadFindings) -> DriftReportStatus {
    let count = |state: FindingState| {
        let containers = findings.containers.iter().filter(|c| c.verdict.state == state).count();
        i32::try_from(containers).unwrap_or(i32::MAX)
    };
    let drifted_pods = i32::try_from(findings.pods.len()).unwrap_or(i32::MAX);
    DriftReportStatus {
        containers: findings
            .containers
            .iter()
            .map(|c| drift_report::ContainerFinding {
                name: c.name.to_string(),
                init: c.init,
                image: c.image.to_string(),
                running_digests: c.verdict.running_digests.iter().map(ToString::to_string).collect(),
                state: c.verdict.state,
                candidate: c.verdict.candidate.as_ref().map(ToString::to_string),
                reason: c.verdict.reason.to_string(),
                base: c.verdict.base.clone(),
                ticket: None,
            })
            .collect(),
        pods: findings.pods.iter().map(pod_drift).collect(),
        nodes: findings.nodes.clone(),
        outdated: count(FindingState::Outdated),
        drifted: count(FindingState::DigestDrift).saturating_add(drifted_pods),
        base_outdated: count(FindingState::BaseOutdated),
        ..DriftReportStatus::default()
    }
}

/// A pod off its template, with why it differs in words.
fn pod_drift(finding: &PodFinding) -> PodDrift {
    let reason = match &finding.revision {
        PodRevision::Current => format!(
            "changed outside its template: runs {} where the template says {}",
            finding.image, finding.template_image
        ),
        PodRevision::Earlier => format!(
            "belongs to an earlier revision (a rollout has not finished): template says {}",
            finding.template_image
        ),
        PodRevision::CronJobRun { job } => format!(
            "a run of Job {job}, created before the template changed: a Job keeps the template it was created \
             from, and the next run uses {}",
            finding.template_image
        ),
    };
    PodDrift {
        pod: finding.pod.clone(),
        container: finding.container.clone(),
        image: finding.image.clone(),
        running_digest: finding.running_digest.as_ref().map(ToString::to_string),
        reason,
    }
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

    use std::sync::Arc;

    use super::*;
    use crate::{
        api::workload::WorkloadKind,
        core::{
            drift::{ContainerFinding, Verdict},
            reference::ImageReference,
        },
    };

    const NGINX_1_31_4: &str = "sha256:1c37140f16e7e8965dc7cc3a4a9057d98599216bf20f04e4d92b06fe8f18db50";

    fn finding(name: &str, image: &str, state: FindingState) -> ContainerFinding {
        ContainerFinding {
            name: name.into(),
            init: false,
            injected: false,
            image: image.into(),
            verdict: Arc::new(Verdict {
                running_digests: Default::default(),
                state,
                candidate: None,
                change_reason: None,
                actionable: true,
                reason: "why".into(),
                base: None,
                current: None,
            }),
        }
    }

    fn pod_off_template(pod: &str, revision: PodRevision) -> PodFinding {
        PodFinding {
            pod: pod.into(),
            container: "web".into(),
            init: false,
            image: "nginx:1.30.4-alpine".into(),
            template_image: "nginx:1.31.4-alpine".into(),
            running_digest: None,
            revision,
        }
    }

    #[test]
    fn the_report_counts_containers_by_state_and_pods_off_their_template_as_drift() {
        let mut outdated = finding("web", "nginx:1.29.8-alpine", FindingState::Outdated);
        let candidate = ImageReference::parse(&format!("nginx:1.31.4-alpine@{NGINX_1_31_4}")).expect("valid");
        Arc::make_mut(&mut outdated.verdict).candidate = Some(candidate);
        let findings = WorkloadFindings {
            containers: vec![
                outdated,
                finding("app", "ghcr.io/acme/storefront:2.14.1", FindingState::BaseOutdated),
                finding("cache", "redis:8.2.3-alpine", FindingState::DigestDrift),
                finding(
                    "exporter",
                    "quay.io/prometheus/nginx-exporter:1.4.2",
                    FindingState::Unknown,
                ),
            ],
            pods: vec![pod_off_template("web-7c9d-1", PodRevision::Current)],
            nodes: vec![],
        };
        let status = report_status(&findings);
        assert_eq!((status.outdated, status.drifted, status.base_outdated), (1, 2, 1));
        assert_eq!(
            status.containers[0].candidate.as_deref(),
            Some(format!("docker.io/library/nginx:1.31.4-alpine@{NGINX_1_31_4}").as_str())
        );
        assert_eq!(status.containers[3].state, FindingState::Unknown);
        assert_eq!(status.pods[0].pod, "web-7c9d-1");
    }

    #[test]
    fn a_pod_off_its_template_says_why_in_words_fitting_its_revision() {
        let reasons: Vec<String> = [
            pod_off_template("web-7c9d-1", PodRevision::Current),
            pod_off_template("web-5f4c-1", PodRevision::Earlier),
            pod_off_template(
                "nightly-29383920-x7k2p",
                PodRevision::CronJobRun {
                    job: "nightly-29383920".into(),
                },
            ),
        ]
        .iter()
        .map(|pod| pod_drift(pod).reason)
        .collect();
        assert_eq!(
            reasons,
            [
                "changed outside its template: runs nginx:1.30.4-alpine where the template says nginx:1.31.4-alpine",
                "belongs to an earlier revision (a rollout has not finished): template says nginx:1.31.4-alpine",
                "a run of Job nightly-29383920, created before the template changed: a Job keeps the template it \
                 was created from, and the next run uses nginx:1.31.4-alpine",
            ]
        );
    }

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
                containers: vec![drift_report::ContainerFinding {
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
