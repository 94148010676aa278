//! Change planning: from a workload's findings, the policy's mode and the
//! tickets that already exist, which ChangeTickets to create and which to
//! supersede.
//!
//! - One `Rollout` ticket per workload carries every container that moves
//!   (newer versions, digest drift, sidecars written in the template).
//!   Injected sidecars below their baseline and hand-edited pods get a
//!   `Restart` ticket; outdated base images a `Rebuild` ticket per image,
//!   when the policy has a rebuild target.
//! - Names are deterministic: the workload plus a hash of the target, so a
//!   restart (or two replicas racing) never duplicates a ticket.
//! - A ticket that exists for the same target is not created again. An open
//!   ticket for an older target is superseded, unless its change is already
//!   under way (then nothing new starts until it ends). A target that
//!   succeeded, was rejected, failed or was rolled back is not proposed
//!   again (a manual rollback after a success is respected); one that
//!   expired or was superseded may be proposed again under the next name.

use std::collections::{BTreeSet, HashMap};

use super::{
    drift::{ContainerFinding, WorkloadFindings},
    naming::{self, HASH_LENGTH, NameHasher},
    reference::ImageReference,
    selection::RolledBackTags,
};
use crate::api::{
    change_ticket::{Approval, ChangeReason, ChangeTicketSpec, ChangeType, ContainerChange, TicketPhase},
    patch_policy::PolicyMode,
    workload::WorkloadRef,
};

/// Longest ticket name refit generates (a valid object name of at most 63
/// characters, so it also fits label values and ITSM reference fields).
pub const TICKET_NAME_MAX: usize = 63;
/// Longest summary (the CRD's limit).
const SUMMARY_MAX: usize = 256;

/// A ticket that exists for the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingTicket {
    /// Its name.
    pub name: String,
    /// Its phase.
    pub phase: TicketPhase,
    /// Its spec.
    pub spec: ChangeTicketSpec,
}

/// What planning needs to know about the policy.
#[derive(Debug, Clone, Copy)]
pub struct PlanningPolicy<'a> {
    /// The policy's name.
    pub name: &'a str,
    /// Its mode.
    pub mode: PolicyMode,
    /// Its window (`spec.windowRef`); required unless the mode is `Report`.
    pub window: Option<&'a str>,
    /// Whether a rebuild target is configured.
    pub can_rebuild: bool,
}

/// The decisions for one workload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Tickets to create: name and spec.
    pub create: Vec<(String, ChangeTicketSpec)>,
    /// Open tickets a new one replaces.
    pub supersede: Vec<String>,
    /// Why something was not done, for events and logs.
    pub notes: Vec<String>,
}

/// Plans the tickets for one workload.
pub fn plan(
    workload: &WorkloadRef,
    findings: &WorkloadFindings,
    policy: &PlanningPolicy<'_>,
    existing: &[ExistingTicket],
) -> Plan {
    let mut plan = Plan::default();
    let window = match (policy.mode, policy.window) {
        (PolicyMode::Report, _) => {
            plan.notes
                .push(format!("policy {} is in Report mode: findings only", policy.name));
            return plan;
        }
        (_, Some(window)) => window,
        (_, None) => {
            plan.notes.push(format!(
                "policy {} has no windowRef: no change can be scheduled",
                policy.name
            ));
            return plan;
        }
    };
    let proposals = proposals(findings, policy.can_rebuild);
    for proposal in proposals {
        let summary = summarize(&proposal.changes, proposal.change_type);
        let mut spec = ChangeTicketSpec {
            workload: workload.clone(),
            change_type: proposal.change_type,
            summary,
            changes: proposal.changes,
            policy: policy.name.to_owned(),
            window: window.to_owned(),
            approval: None,
        };
        if policy.mode == PolicyMode::Auto {
            spec.approval = Some(Approval {
                approved: true,
                rejected: false,
                by: format!("policy/{}", policy.name),
                reason: Some("the policy is in Auto mode".into()),
            });
        }
        decide(&mut plan, spec, existing);
    }
    plan
}

struct Proposal {
    change_type: ChangeType,
    changes: Vec<ContainerChange>,
}

fn proposals(findings: &WorkloadFindings, can_rebuild: bool) -> Vec<Proposal> {
    let actionable = findings.containers.iter().filter(|f| f.verdict.actionable);
    let mut rollout = Vec::new();
    let mut restart = Vec::new();
    let mut rebuilds = Vec::new();
    for finding in actionable {
        let Some(reason) = finding.verdict.change_reason else {
            continue;
        };
        let Some(change) = change_of(finding, reason) else {
            continue;
        };
        match reason {
            ChangeReason::NewerVersion | ChangeReason::DigestDrift => rollout.push(change),
            ChangeReason::RuntimeOutdated if finding.injected => restart.push(change),
            ChangeReason::RuntimeOutdated => rollout.push(change),
            ChangeReason::BaseImageOutdated if can_rebuild => rebuilds.push(change),
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
    restart.extend(hand_edits);
    let mut proposals = Vec::new();
    if !rollout.is_empty() {
        proposals.push(Proposal {
            change_type: ChangeType::Rollout,
            changes: rollout,
        });
    }
    if !restart.is_empty() {
        proposals.push(Proposal {
            change_type: ChangeType::Restart,
            changes: restart,
        });
    }
    proposals.extend(rebuilds.into_iter().map(|change| Proposal {
        change_type: ChangeType::Rebuild,
        changes: vec![change],
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
fn summarize(changes: &[ContainerChange], change_type: ChangeType) -> String {
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
    let mut summary = parts.join(", ");
    if summary.chars().count() > SUMMARY_MAX {
        summary = summary.chars().take(SUMMARY_MAX - 1).collect::<String>() + "…";
    }
    summary
}

fn decide(plan: &mut Plan, spec: ChangeTicketSpec, existing: &[ExistingTicket]) {
    let base = ticket_name(&spec);
    // Tickets this one competes with: those of the same type, and for
    // rebuilds only those of the same container (rebuilds of different
    // images are independent and must not supersede each other).
    let same_type: Vec<&ExistingTicket> = existing
        .iter()
        .filter(|t| t.spec.change_type == spec.change_type)
        .filter(|t| spec.change_type != ChangeType::Rebuild || same_containers(&t.spec, &spec))
        .collect();
    if let Some(under_way) = same_type.iter().find(|t| t.phase == TicketPhase::InProgress) {
        plan.notes.push(format!(
            "{} waits: ticket {} is under way",
            spec.summary, under_way.name
        ));
        return;
    }
    // Every ticket of this target: `base`, `base-2`, `base-3`, …
    let of_target: Vec<&ExistingTicket> = same_type
        .iter()
        .copied()
        .filter(|t| t.name == base || is_numbered(&t.name, &base))
        .collect();
    if let Some(open) = of_target.iter().find(|t| !t.phase.is_terminal()) {
        plan.notes
            .push(format!("ticket {} already proposes {}", open.name, spec.summary));
        return;
    }
    if let Some(settled) = of_target.iter().find(|t| {
        matches!(
            t.phase,
            TicketPhase::Succeeded | TicketPhase::Rejected | TicketPhase::Failed | TicketPhase::RolledBack
        )
    }) {
        plan.notes.push(format!(
            "not proposing {} again: ticket {} ended {:?}",
            spec.summary, settled.name, settled.phase
        ));
        return;
    }
    let taken: BTreeSet<&str> = of_target.iter().map(|t| t.name.as_str()).collect();
    let name = (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
        .find(|candidate| !taken.contains(candidate.as_str()))
        .unwrap_or(base);
    for open in same_type.iter().filter(|t| !t.phase.is_terminal()) {
        plan.supersede.push(open.name.clone());
    }
    plan.create.push((name, spec));
}

fn same_containers(a: &ChangeTicketSpec, b: &ChangeTicketSpec) -> bool {
    let containers = |spec: &ChangeTicketSpec| {
        spec.changes
            .iter()
            .map(|c| (c.container.clone(), c.init))
            .collect::<BTreeSet<_>>()
    };
    containers(a) == containers(b)
}

fn is_numbered(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// `<kind>-<workload>-<hash>`: the hash covers the workload, the change type
/// and every container's target, so the same change always has the same
/// name. Long workload names are shortened to keep the name within 63
/// characters.
pub fn ticket_name(spec: &ChangeTicketSpec) -> String {
    let mut hasher = NameHasher::new();
    hasher.update(spec.workload.kind.as_str());
    hasher.update([0]);
    hasher.update(&spec.workload.name);
    hasher.update([0]);
    // Spelled out, so renaming an enum variant never renames tickets.
    hasher.update(match spec.change_type {
        ChangeType::Rollout => "rollout",
        ChangeType::Rebuild => "rebuild",
        ChangeType::Restart => "restart",
    });
    // A hand edit is undone by a restart whatever it was, so what the pods
    // ran (`from`) is part of its identity: a later, different hand edit
    // is a new ticket. For every other change the target alone is.
    let mut targets: Vec<(&str, bool, &str, &str)> = spec
        .changes
        .iter()
        .map(|c| {
            let from = if c.reason == ChangeReason::UnauthorizedChange {
                c.from.as_str()
            } else {
                ""
            };
            (c.container.as_str(), c.init, c.to.as_str(), from)
        })
        .collect();
    targets.sort_unstable();
    for (container, init, to, from) in targets {
        hasher.update([0]);
        hasher.update(container);
        hasher.update([u8::from(init)]);
        hasher.update(to);
        hasher.update([0]);
        hasher.update(from);
    }
    let hash = hasher.finish();
    let kind = spec.workload.kind.as_str().to_ascii_lowercase();
    // Room for `-<hash>` and a `-NN` suffix for re-proposals.
    let room = TICKET_NAME_MAX - kind.len() - 1 - HASH_LENGTH - 1 - 3;
    let workload = naming::cut(&spec.workload.name, room);
    format!("{kind}-{workload}-{hash}")
}

/// Tags that were rolled back (or failed) earlier, by repository, read
/// from a namespace's tickets: selection passes over them.
pub fn rolled_back_tags(tickets: &[ExistingTicket]) -> HashMap<String, RolledBackTags> {
    let mut bad: HashMap<String, RolledBackTags> = HashMap::new();
    for ticket in tickets
        .iter()
        .filter(|t| matches!(t.phase, TicketPhase::RolledBack | TicketPhase::Failed))
    {
        for change in ticket
            .spec
            .changes
            .iter()
            .filter(|c| c.reason == ChangeReason::NewerVersion)
        {
            if let Ok(target) = ImageReference::parse(&change.to)
                && let Some(tag) = target.tag()
            {
                bad.entry(target.name().to_owned()).or_default().insert(tag.to_owned());
            }
        }
    }
    bad
}

#[cfg(test)]
mod tests;
