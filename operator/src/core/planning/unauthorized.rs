//! Changes of a workload's images made outside refit. The template is
//! compared with the images the workload's last DriftReport recorded; a
//! container whose image differs, and whose image refit did not set (the
//! caller knows the field's manager), was changed by someone else. Each
//! such change becomes a ChangeTicket that only records it: type
//! `Rollout`, reason `UnauthorizedChange`, moved at once to `Recorded`.
//! Nothing is reverted; the record is there so auditors and ITSM systems
//! see every change, including those refit did not make.

use super::{NewTicket, names::record_name, proposals::summarize};
use crate::{
    api::{
        change_ticket::{ChangeReason, ChangeTicketSpec, ChangeType, ContainerChange},
        drift_report::{ContainerFinding as ReportedContainer, UnauthorizedChange},
        workload::WorkloadRef,
    },
    core::drift::TemplateContainer,
};

/// How many changes a DriftReport lists.
pub const LISTED: usize = 5;

/// The window a record names when its policy has none (records wait for
/// no window).
pub const NO_WINDOW: &str = "none";

/// One container whose image changed since the last report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChanged {
    /// The container.
    pub container: String,
    /// Whether it is an init container.
    pub init: bool,
    /// The image the report recorded.
    pub from: String,
    /// The image the template has now.
    pub to: String,
}

/// Who changed it, from the workload's `managedFields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedBy {
    /// The field manager that owns the image now.
    pub manager: Option<String>,
    /// When it wrote it.
    pub at: Option<String>,
}

/// The containers whose image differs from what the report recorded.
/// Containers the report does not know (added since) are not changes of
/// an image.
pub fn changed(reported: &[ReportedContainer], template: &[TemplateContainer]) -> Vec<ImageChanged> {
    template
        .iter()
        .filter_map(|now| {
            let before = reported.iter().find(|r| r.name == *now.name && r.init == now.init)?;
            (before.image != *now.image).then(|| ImageChanged {
                container: now.name.to_string(),
                init: now.init,
                from: before.image.clone(),
                to: now.image.to_string(),
            })
        })
        .collect()
}

/// The ticket recording `change` of `workload`, governed by `policy`.
pub fn record(
    workload: &WorkloadRef,
    policy: &str,
    window: Option<&str>,
    change: &ImageChanged,
    by: &ChangedBy,
) -> NewTicket {
    let changes = vec![ContainerChange {
        container: change.container.clone(),
        init: change.init,
        from: change.from.clone(),
        to: change.to.clone(),
        reason: ChangeReason::UnauthorizedChange,
    }];
    let summary = format!("{} (outside refit)", summarize(&changes, ChangeType::Rollout));
    let spec = ChangeTicketSpec {
        workload: workload.clone(),
        change_type: ChangeType::Rollout,
        summary: super::naming::cut(&summary, 256).to_owned(),
        changes,
        policy: policy.to_owned(),
        window: window.unwrap_or(NO_WINDOW).to_owned(),
        approval: None,
    };
    NewTicket {
        name: record_name(&spec, by.at.as_deref()),
        why: format!(
            "recorded: container {}'s image was changed from {} to {} outside refit by {}, with no ChangeTicket; \
             refit does not revert it",
            change.container,
            change.from,
            change.to,
            who(by)
        ),
        spec,
        supersedes: Vec::new(),
    }
}

/// `field manager kubectl-set at 2026-12-04T05:10:00Z`.
pub fn who(by: &ChangedBy) -> String {
    match (&by.manager, &by.at) {
        (Some(manager), Some(at)) => format!("field manager {manager} at {at}"),
        (Some(manager), None) => format!("field manager {manager}"),
        (None, _) => "a writer the API server does not name".to_owned(),
    }
}

/// Whether a ticket only records a change made outside refit.
pub fn is_record(spec: &ChangeTicketSpec) -> bool {
    spec.change_type == ChangeType::Rollout
        && !spec.changes.is_empty()
        && spec
            .changes
            .iter()
            .all(|c| c.reason == ChangeReason::UnauthorizedChange)
}

/// The report's list: the previous one with `new` added, the latest
/// [`LISTED`] kept.
pub fn listed(previous: &[UnauthorizedChange], new: Vec<UnauthorizedChange>) -> Vec<UnauthorizedChange> {
    let mut all: Vec<UnauthorizedChange> = previous.to_vec();
    for change in new {
        if !all.iter().any(|c| c.ticket == change.ticket) {
            all.push(change);
        }
    }
    let drop = all.len().saturating_sub(LISTED);
    all.drain(..drop);
    all
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::{drift_report::FindingState, workload::WorkloadKind};

    fn reported(name: &str, image: &str) -> ReportedContainer {
        ReportedContainer {
            name: name.into(),
            init: false,
            image: image.into(),
            running_digests: Vec::new(),
            state: FindingState::UpToDate,
            candidate: None,
            reason: String::new(),
            base: None,
            ticket: None,
        }
    }

    fn template(name: &str, image: &str) -> TemplateContainer {
        TemplateContainer {
            name: Arc::from(name),
            image: Arc::from(image),
            init: false,
        }
    }

    fn web() -> WorkloadRef {
        WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "web".into(),
        }
    }

    #[test]
    fn only_images_that_differ_from_the_report_are_changes() {
        let report = [reported("web", "nginx:1.25.3"), reported("log", "fluent-bit:3.1")];
        let now = [
            template("web", "nginx:1.27.0"),
            template("log", "fluent-bit:3.1"),
            template("proxy", "envoy:1.31"),
        ];
        assert_eq!(
            changed(&report, &now),
            [ImageChanged {
                container: "web".into(),
                init: false,
                from: "nginx:1.25.3".into(),
                to: "nginx:1.27.0".into()
            }]
        );
    }

    #[test]
    fn a_record_names_who_and_is_named_by_when() {
        let change = ImageChanged {
            container: "web".into(),
            init: false,
            from: "nginx:1.25.3".into(),
            to: "nginx:1.27.0".into(),
        };
        let by = ChangedBy {
            manager: Some("kubectl-set".into()),
            at: Some("2026-12-04T05:10:00Z".into()),
        };
        let ticket = record(&web(), "web", Some("nights"), &change, &by);
        assert!(is_record(&ticket.spec));
        assert_eq!(ticket.spec.summary, "nginx 1.25.3→1.27.0 (outside refit)");
        assert_eq!(
            ticket.why,
            "recorded: container web's image was changed from nginx:1.25.3 to nginx:1.27.0 outside refit by field \
             manager kubectl-set at 2026-12-04T05:10:00Z, with no ChangeTicket; refit does not revert it"
        );
        // Seen again after a restart: the same ticket. The same change made
        // again later: another one.
        assert_eq!(record(&web(), "web", Some("nights"), &change, &by).name, ticket.name);
        let later = ChangedBy {
            at: Some("2026-12-05T09:00:00Z".into()),
            ..by
        };
        assert_ne!(record(&web(), "web", Some("nights"), &change, &later).name, ticket.name);
        assert!(ticket.name.starts_with("deployment-web-"), "{}", ticket.name);
        assert_eq!(record(&web(), "web", None, &change, &later).spec.window, NO_WINDOW);
    }

    #[test]
    fn the_report_keeps_the_latest_five() {
        let change = |n: usize| UnauthorizedChange {
            container: "web".into(),
            init: false,
            from: format!("nginx:1.25.{n}"),
            to: format!("nginx:1.25.{}", n + 1),
            manager: None,
            changed_at: None,
            ticket: format!("deployment-web-{n}"),
        };
        let previous: Vec<UnauthorizedChange> = (0..5).map(change).collect();
        let kept = listed(&previous, vec![change(4), change(5)]);
        let tickets: Vec<&str> = kept.iter().map(|c| c.ticket.as_str()).collect();
        assert_eq!(
            tickets,
            [
                "deployment-web-1",
                "deployment-web-2",
                "deployment-web-3",
                "deployment-web-4",
                "deployment-web-5"
            ]
        );
    }
}
