//! What a scan tells people about one workload besides its report: the
//! report's `Ready` message and the Events for findings that changed.
//! Pure, except for building the Event's object reference.

use k8s_openapi::api::core::v1::ObjectReference;

use crate::{
    api::{
        DriftReportStatus,
        drift_report::{ContainerFinding, FindingState, OptOut},
    },
    cluster::{events::Notice, snapshot::WorkloadSnapshot},
    core::planning::{IGNORE_ANNOTATION, PIN_ANNOTATION},
};

/// The report's Ready message: how many containers were checked, and
/// whether the workload opted out.
pub(super) fn ready_message(status: &DriftReportStatus, policy: &str) -> String {
    match status.opt_out {
        Some(OptOut::Ignored) => format!(
            "ignored ({IGNORE_ANNOTATION}: \"true\"): policy {policy} would govern this workload, but refit does not \
             check it and proposes no change"
        ),
        Some(OptOut::Pinned) => format!(
            "pinned ({PIN_ANNOTATION}: \"true\"): {}; no change is proposed",
            checked(status, policy)
        ),
        None => checked(status, policy),
    }
}

/// How many containers were checked.
fn checked(status: &DriftReportStatus, policy: &str) -> String {
    let checked = status.containers.len();
    let unknown = status
        .containers
        .iter()
        .filter(|c| c.state == FindingState::Unknown)
        .count();
    match (checked, unknown) {
        (0, _) => format!("no container image of this workload matches the image rules of policy {policy}"),
        (1, 0) => "1 container checked".to_owned(),
        (n, 0) => format!("{n} containers checked"),
        (n, u) => format!(
            "{n} container{} checked, {u} could not be checked",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// Events for containers whose finding became worth telling: newly
/// outdated (or with a new candidate), drifted, on an outdated base or
/// runtime. Nothing for a finding that stayed the same.
pub(super) fn notices(previous: Option<&DriftReportStatus>, status: &DriftReportStatus) -> Vec<Notice> {
    let before = |c: &ContainerFinding| {
        previous.and_then(|p| p.containers.iter().find(|b| b.name == c.name && b.init == c.init))
    };
    status
        .containers
        .iter()
        .filter_map(|container| {
            let (reason, warning) = match container.state {
                FindingState::Outdated => ("Outdated", false),
                FindingState::DigestDrift => ("DigestDrift", true),
                FindingState::BaseOutdated => ("BaseOutdated", false),
                FindingState::RuntimeOutdated => ("RuntimeOutdated", false),
                FindingState::UpToDate | FindingState::Unknown => return None,
            };
            let same =
                before(container).is_some_and(|b| b.state == container.state && b.candidate == container.candidate);
            if same {
                return None;
            }
            let candidate = container
                .candidate
                .as_ref()
                .map(|c| format!(" → {c}"))
                .unwrap_or_default();
            Some(Notice {
                warning,
                reason,
                action: "Scan",
                note: format!(
                    "container {} ({}{candidate}): {}",
                    container.name, container.image, container.reason
                ),
            })
        })
        .collect()
}

pub(super) fn reference(workload: &WorkloadSnapshot) -> ObjectReference {
    ObjectReference {
        api_version: Some(workload.key.api_version().to_owned()),
        kind: Some(workload.key.kind.as_str().to_owned()),
        name: Some(workload.key.name.clone()),
        namespace: Some(workload.key.namespace.clone()),
        uid: Some(workload.uid.clone()),
        ..ObjectReference::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(state: FindingState, candidate: Option<&str>) -> ContainerFinding {
        ContainerFinding {
            name: "web".into(),
            init: false,
            image: "nginx:1.25.3".into(),
            running_digests: vec![],
            state,
            candidate: candidate.map(str::to_owned),
            reason: "1.25.4 is the newest allowed".into(),
            base: None,
            ticket: None,
        }
    }

    fn status(container: ContainerFinding) -> DriftReportStatus {
        DriftReportStatus {
            containers: vec![container],
            ..DriftReportStatus::default()
        }
    }

    #[test]
    fn a_container_that_becomes_outdated_gets_one_event() {
        let before = status(container(FindingState::UpToDate, None));
        let after = status(container(FindingState::Outdated, Some("nginx:1.25.4")));
        let notices = notices(Some(&before), &after);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].reason, "Outdated");
        assert!(
            notices[0]
                .note
                .starts_with("container web (nginx:1.25.3 → nginx:1.25.4)"),
            "{}",
            notices[0].note
        );
        assert!(
            super::notices(Some(&after), &after).is_empty(),
            "no event while it stays outdated"
        );
    }

    #[test]
    fn a_newer_candidate_is_worth_another_event() {
        let before = status(container(FindingState::Outdated, Some("nginx:1.25.4")));
        let after = status(container(FindingState::Outdated, Some("nginx:1.25.5")));
        assert_eq!(notices(Some(&before), &after).len(), 1);
    }

    #[test]
    fn the_ready_message_counts_what_could_not_be_checked() {
        let mut two = status(container(FindingState::UpToDate, None));
        two.containers.push(container(FindingState::Unknown, None));
        assert_eq!(ready_message(&two, "p"), "2 containers checked, 1 could not be checked");
        assert_eq!(
            ready_message(&DriftReportStatus::default(), "p"),
            "no container image of this workload matches the image rules of policy p"
        );
    }
}
