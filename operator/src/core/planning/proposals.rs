//! What a workload's findings propose, before existing tickets are looked
//! at: one `Rollout` for every container that moves (newer versions, digest
//! drift, sidecars written in the template), one `Restart` for injected
//! sidecars below their baseline and pods changed by hand, one `Rebuild`
//! per container whose image is on an outdated base (when the policy has a
//! rebuild target).
//! Each change names its container's image now and after, both pinned by
//! digest, and the proposal says why in words for the ticket's history.

use super::{ChangeReason, ChangeType, ContainerChange, ContainerFinding, ImageReference, WorkloadFindings};

/// Longest summary (the CRD's limit).
const SUMMARY_MAX: usize = 256;
/// Longest explanation kept for a ticket's first history entry.
const WHY_MAX: usize = 1000;

/// One ticket's worth of changes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Proposal {
    /// The kind of change.
    pub(super) change_type: ChangeType,
    /// One change per container.
    pub(super) changes: Vec<ContainerChange>,
    /// Why, per container, from the findings' reasons.
    pub(super) why: Vec<String>,
}

/// The proposals of `findings`, Rollout first, then Restart, then one
/// Rebuild per image.
pub(super) fn proposals(findings: &WorkloadFindings, can_rebuild: bool) -> Vec<Proposal> {
    let actionable = findings.containers.iter().filter(|f| f.verdict.actionable);
    let mut rollout = Vec::new();
    let mut restart = Vec::new();
    let mut rebuilds = Vec::new();
    let mut rollout_why = Vec::new();
    let mut restart_why = Vec::new();
    for finding in actionable {
        let Some(reason) = finding.verdict.change_reason else {
            continue;
        };
        let Some(change) = change_of(finding, reason) else {
            continue;
        };
        let why = format!("{}: {}", finding.name, finding.verdict.reason);
        match reason {
            ChangeReason::NewerVersion | ChangeReason::DigestDrift => {
                rollout.push(change);
                rollout_why.push(why);
            }
            ChangeReason::RuntimeOutdated if finding.injected => {
                restart.push(change);
                restart_why.push(why);
            }
            ChangeReason::RuntimeOutdated => {
                rollout.push(change);
                rollout_why.push(why);
            }
            ChangeReason::BaseImageOutdated if can_rebuild => rebuilds.push((change, why)),
            ChangeReason::BaseImageOutdated | ChangeReason::UnauthorizedChange => {}
        }
    }
    let mut hand_edits: Vec<ContainerChange> = findings
        .pods
        .iter()
        .filter(|pod| pod.hand_edited())
        .map(|pod| ContainerChange {
            container: pod.container.clone(),
            init: pod.init,
            from: pod.image.clone(),
            to: pod.template_image.clone(),
            reason: ChangeReason::UnauthorizedChange,
        })
        .collect();
    hand_edits.sort_by(|a, b| (&a.container, &a.from).cmp(&(&b.container, &b.from)));
    hand_edits.dedup();
    for edit in &hand_edits {
        restart_why.push(format!(
            "{}: pods run {} where the template says {} (changed by hand)",
            edit.container, edit.from, edit.to
        ));
    }
    restart.extend(hand_edits);
    let mut proposals = Vec::new();
    if !rollout.is_empty() {
        proposals.push(Proposal {
            change_type: ChangeType::Rollout,
            changes: rollout,
            why: rollout_why,
        });
    }
    if !restart.is_empty() {
        proposals.push(Proposal {
            change_type: ChangeType::Restart,
            changes: restart,
            why: restart_why,
        });
    }
    proposals.extend(rebuilds.into_iter().map(|(change, why)| Proposal {
        change_type: ChangeType::Rebuild,
        changes: vec![change],
        why: vec![why],
    }));
    proposals
}

fn change_of(finding: &ContainerFinding, reason: ChangeReason) -> Option<ContainerChange> {
    let from = finding
        .verdict
        .current
        .as_ref()
        .map_or_else(|| finding.image.to_string(), ToString::to_string);
    let to = match reason {
        ChangeReason::BaseImageOutdated => {
            let base = finding.verdict.base.as_ref()?;
            match &base.current {
                Some(digest) => format!("{}@{digest}", base.name.split('@').next().unwrap_or(&base.name)),
                None => return None,
            }
        }
        _ => finding.verdict.candidate.as_ref()?.to_string(),
    };
    Some(ContainerChange {
        container: finding.name.to_string(),
        init: finding.init,
        from,
        to,
        reason,
    })
}

/// `nginx 1.29.8-alpine→1.31.4-alpine`, `app 2.14.1 (digest 3f1c…)`.
pub(super) fn summarize(changes: &[ContainerChange], change_type: ChangeType) -> String {
    let parts: Vec<String> = changes
        .iter()
        .map(|change| {
            let from = ImageReference::parse(&change.from).ok();
            let to = ImageReference::parse(&change.to).ok();
            let name = to
                .as_ref()
                .or(from.as_ref())
                .map_or(change.container.as_str(), ImageReference::short_name);
            let tag_of = |r: &Option<ImageReference>| r.as_ref().and_then(|r| r.effective_tag().map(str::to_owned));
            match (change_type, change.reason) {
                (ChangeType::Rebuild, _) => {
                    let image = from
                        .as_ref()
                        .map_or(change.container.as_str(), ImageReference::short_name);
                    format!("rebuild {image} on {}", change.to)
                }
                (ChangeType::Restart, ChangeReason::UnauthorizedChange) => {
                    format!("restart {} (pods changed by hand)", change.container)
                }
                (ChangeType::Restart, _) => {
                    format!("restart for {} {}", change.container, tag_of(&to).unwrap_or_default())
                }
                _ if tag_of(&from) == tag_of(&to) => {
                    let digest = to
                        .as_ref()
                        .and_then(|r| r.digest())
                        .map(|d| d.short().to_string())
                        .unwrap_or_default();
                    format!("{name} {} (digest {digest})", tag_of(&to).unwrap_or_default())
                }
                _ => format!(
                    "{name} {}→{}",
                    tag_of(&from).unwrap_or_default(),
                    tag_of(&to).unwrap_or_default()
                ),
            }
        })
        .collect();
    cut(parts.join(", "), SUMMARY_MAX)
}

/// The proposal's reasons as one sentence for the ticket's history.
pub(super) fn explain(why: &[String]) -> String {
    cut(why.join("; "), WHY_MAX)
}

/// `text` cut to `max` characters, with `…` where it was cut.
fn cut(text: String, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max - 1).collect::<String>() + "…"
    } else {
        text
    }
}
