//! Change planning: from a workload's findings, the policy's mode and the
//! tickets that already exist, which ChangeTickets to create, and which
//! waiting ones to end (superseded by a newer change, or cancelled because
//! nobody wants them any more). Pure: the scan writes what this decides.
//!
//! - What the findings propose is `proposals`: one `Rollout` per
//!   workload, one `Restart`, one `Rebuild` per container on an outdated
//!   base.
//! - Names are deterministic (`names`), so a restart (or two replicas
//!   racing) never duplicates a ticket.
//! - A ticket that exists for the same change is not created again. A
//!   waiting ticket for another change of the same type is superseded by
//!   the new one, unless a change of that type is already under way (then
//!   nothing new is proposed until it ends). A change that succeeded, was
//!   rejected, failed, was rolled back or was interrupted by someone else's
//!   change is not proposed again (a manual rollback, during the change or
//!   after it, is respected); one that expired, was
//!   superseded or cancelled may be proposed again under the next name.
//! - A waiting ticket that no longer fits its policy is cancelled and, if
//!   the change is still wanted, proposed again: the policy names another
//!   window, left `Auto` mode after approving it itself, or the workload
//!   runs something other than the ticket's `from`. An approval is never
//!   carried from one ticket to another: it was given for one change.
//! - Waiting tickets the findings no longer support are cancelled: the
//!   policy is in `Report` mode, the workload is pinned, another policy
//!   governs it, or every container of the ticket is found conclusively
//!   (not `Unknown`) to need it no more. A registry that cannot be reached
//!   cancels nothing.
//!
//! Only waiting tickets (`Pending`, `AwaitingApproval`, `Scheduled`) are
//! ever ended here; a change under way is the executor's.

mod names;
mod proposals;
pub mod unauthorized;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

pub use self::names::{TICKET_NAME_MAX, ticket_name};
use self::{
    names::names_the_change,
    proposals::{Proposal, explain, proposals, summarize},
};
use super::{
    drift::{ContainerFinding, WorkloadFindings},
    naming,
    reference::ImageReference,
    selection::{RolledBack, RolledBackTags},
};
use crate::api::{
    change_ticket::{Approval, ChangeReason, ChangeTicketSpec, ChangeType, ContainerChange, TicketPhase},
    drift_report::FindingState,
    patch_policy::PolicyMode,
    workload::WorkloadRef,
};

/// A ticket that exists for the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingTicket {
    /// Its name.
    pub name: String,
    /// Its phase.
    pub phase: TicketPhase,
    /// Its spec.
    pub spec: ChangeTicketSpec,
    /// When it ended, if it has.
    pub finished: Option<DateTime<Utc>>,
}

impl ExistingTicket {
    /// Scheduled, or about to be, without a person's approval: approved by
    /// its policy in `Auto` mode (in its spec, or by the ChangeTicket
    /// reconciler when the policy turned to `Auto` after proposing it).
    fn approved_without_a_person(&self) -> bool {
        let by_policy = self
            .spec
            .approval
            .as_ref()
            .is_some_and(|a| a.approves() && a.by.starts_with(AUTO_APPROVER_PREFIX));
        by_policy || (self.phase == TicketPhase::Scheduled && self.approved_by_person().is_none())
    }

    /// Who approved it, if a person did.
    fn approved_by_person(&self) -> Option<String> {
        self.spec
            .approval
            .as_ref()
            .filter(|a| a.approves() && !a.by.starts_with(AUTO_APPROVER_PREFIX))
            .map(|a| a.by.clone())
    }
}

/// `spec.approval.by` of a ticket its policy approved: `policy/<name>`.
pub const AUTO_APPROVER_PREFIX: &str = "policy/";

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

/// A ticket to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    /// Its name.
    pub name: String,
    /// Its spec.
    pub spec: ChangeTicketSpec,
    /// Why it is proposed, in words, for its first history entry.
    pub why: String,
    /// The waiting tickets it supersedes.
    pub supersedes: Vec<Superseded>,
}

/// A waiting ticket a new one replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    /// Its name.
    pub name: String,
    /// Who approved it, if a person did: their approval is not carried
    /// over, and the new ticket's history says so.
    pub approved_by: Option<String>,
}

/// A waiting ticket to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// Its name.
    pub name: String,
    /// `Superseded` or `Cancelled`.
    pub phase: TicketPhase,
    /// Why, for its history.
    pub message: String,
}

/// The decisions for one workload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Tickets to create.
    pub create: Vec<NewTicket>,
    /// Waiting tickets to end.
    pub end: Vec<Ending>,
    /// Why something was not done, for logs.
    pub notes: Vec<String>,
}

impl Plan {
    fn ends(&self, name: &str) -> bool {
        self.end.iter().any(|e| e.name == name)
    }

    fn cancel(&mut self, ticket: &ExistingTicket, message: String) {
        if !self.ends(&ticket.name) {
            self.end.push(Ending {
                name: ticket.name.clone(),
                phase: TicketPhase::Cancelled,
                message,
            });
        }
    }

    fn supersede(&mut self, ticket: &ExistingTicket, by: &str, summary: &str) {
        if !self.ends(&ticket.name) {
            self.end.push(Ending {
                name: ticket.name.clone(),
                phase: TicketPhase::Superseded,
                message: format!("superseded by ticket {by}: {summary}"),
            });
        }
    }
}

/// Cancels every waiting ticket of `existing`, saying `why`: for a workload
/// that was deleted or that no policy governs any more.
pub fn withdraw(existing: &[ExistingTicket], why: &str) -> Vec<Ending> {
    let mut plan = Plan::default();
    for ticket in existing.iter().filter(|t| t.phase.is_waiting()) {
        plan.cancel(ticket, why.to_owned());
    }
    plan.end
}

/// Plans the tickets for one workload governed by `policy`. `pinned`: the
/// workload carries `refit.dev/pin: "true"`.
pub fn plan(
    workload: &WorkloadRef,
    findings: &WorkloadFindings,
    policy: &PlanningPolicy<'_>,
    pinned: bool,
    existing: &[ExistingTicket],
) -> Plan {
    let mut plan = Plan::default();
    for foreign in existing
        .iter()
        .filter(|t| t.phase.is_waiting() && t.spec.policy != policy.name)
    {
        plan.cancel(
            foreign,
            format!(
                "the workload is now governed by policy {} instead of {}",
                policy.name, foreign.spec.policy
            ),
        );
    }
    let mine: Vec<&ExistingTicket> = existing
        .iter()
        .filter(|t| t.phase.is_waiting() && t.spec.policy == policy.name)
        .collect();
    let withdraw_mine = |plan: &mut Plan, why: String| {
        for ticket in &mine {
            plan.cancel(ticket, why.clone());
        }
        plan.notes.push(why);
    };
    let window = match (policy.mode, policy.window) {
        (PolicyMode::Report, _) => {
            withdraw_mine(
                &mut plan,
                format!("policy {} is in Report mode: findings only", policy.name),
            );
            return plan;
        }
        (_, Some(window)) => window,
        (_, None) => {
            withdraw_mine(
                &mut plan,
                format!("policy {} has no windowRef: no change can be scheduled", policy.name),
            );
            return plan;
        }
    };
    if pinned {
        withdraw_mine(
            &mut plan,
            format!(
                "the workload is pinned ({PIN_ANNOTATION}: \"true\"): its findings are reported, no change is proposed"
            ),
        );
        return plan;
    }
    let mut answered: BTreeSet<String> = BTreeSet::new();
    for proposal in proposals(findings, policy.can_rebuild) {
        let spec = spec_of(workload, policy, window, &proposal);
        let why = format!("proposed by policy {}: {}", policy.name, explain(&proposal.why));
        decide(&mut plan, spec, why, existing, policy, &mut answered);
    }
    retire(&mut plan, findings, &mine, &answered);
    plan
}

/// The annotation that pins a workload: findings only, no tickets.
pub const PIN_ANNOTATION: &str = "refit.dev/pin";
/// The annotation that takes a workload out of refit's hands altogether.
pub const IGNORE_ANNOTATION: &str = "refit.dev/ignore";

fn spec_of(workload: &WorkloadRef, policy: &PlanningPolicy<'_>, window: &str, proposal: &Proposal) -> ChangeTicketSpec {
    let approval = (policy.mode == PolicyMode::Auto).then(|| Approval {
        approved: true,
        rejected: false,
        by: format!("{AUTO_APPROVER_PREFIX}{}", policy.name),
        reason: Some("the policy is in Auto mode".into()),
    });
    ChangeTicketSpec {
        workload: workload.clone(),
        change_type: proposal.change_type,
        summary: summarize(&proposal.changes, proposal.change_type),
        changes: proposal.changes.clone(),
        policy: policy.name.to_owned(),
        window: window.to_owned(),
        approval,
    }
}

/// Decides about one proposed change against the tickets that exist,
/// noting in `answered` every waiting ticket whose fate it settled.
fn decide(
    plan: &mut Plan,
    spec: ChangeTicketSpec,
    why: String,
    existing: &[ExistingTicket],
    policy: &PlanningPolicy<'_>,
    answered: &mut BTreeSet<String>,
) {
    let base = ticket_name(&spec);
    // Tickets this one competes with: those of the same type, and for
    // rebuilds only those of the same container (rebuilds of different
    // images are independent and must not supersede each other).
    let rivals: Vec<&ExistingTicket> = existing
        .iter()
        .filter(|t| t.spec.change_type == spec.change_type)
        .filter(|t| spec.change_type != ChangeType::Rebuild || same_containers(&t.spec, &spec))
        .filter(|t| !plan.ends(&t.name))
        .collect();
    answered.extend(rivals.iter().map(|t| t.name.clone()));
    if let Some(under_way) = rivals.iter().find(|t| t.phase == TicketPhase::InProgress) {
        plan.notes.push(format!(
            "{} waits: ticket {} is under way",
            spec.summary, under_way.name
        ));
        return;
    }
    // Every ticket of this change: `base`, `base-2`, `base-3`, …
    let of_change: Vec<&ExistingTicket> = rivals
        .iter()
        .copied()
        .filter(|t| names_the_change(&t.name, &base))
        .collect();
    let mut kept: Option<&ExistingTicket> = None;
    for waiting in of_change.iter().filter(|t| t.phase.is_waiting()) {
        if let Some(reason) = no_longer_fits(waiting, &spec, policy) {
            plan.cancel(waiting, reason);
        } else if kept.is_none() {
            kept = Some(waiting);
        }
    }
    if let Some(kept) = kept {
        for other in rivals.iter().filter(|t| t.phase.is_waiting() && t.name != kept.name) {
            plan.supersede(other, &kept.name, &kept.spec.summary);
        }
        plan.notes
            .push(format!("ticket {} already proposes {}", kept.name, spec.summary));
        return;
    }
    if let Some(settled) = of_change.iter().find(|t| {
        matches!(
            t.phase,
            TicketPhase::Succeeded
                | TicketPhase::Rejected
                | TicketPhase::Failed
                | TicketPhase::RolledBack
                | TicketPhase::Interrupted
        )
    }) {
        plan.notes.push(format!(
            "not proposing {} again: ticket {} ended {}",
            spec.summary, settled.name, settled.phase
        ));
        return;
    }
    // Every name in use is taken, ended in this plan or not.
    let taken: BTreeSet<&str> = existing
        .iter()
        .map(|t| t.name.as_str())
        .filter(|name| names_the_change(name, &base))
        .collect();
    let name = (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
        .find(|candidate| !taken.contains(candidate.as_str()))
        .unwrap_or(base);
    let mut supersedes = Vec::new();
    let open: Vec<&ExistingTicket> = rivals
        .iter()
        .copied()
        .filter(|t| t.phase.is_waiting() && !plan.ends(&t.name))
        .collect();
    for open in open {
        plan.supersede(open, &name, &spec.summary);
        supersedes.push(Superseded {
            name: open.name.clone(),
            approved_by: open.approved_by_person(),
        });
    }
    plan.create.push(NewTicket {
        name,
        spec,
        why,
        supersedes,
    });
}

/// Why a waiting ticket for the same change can no longer go ahead as it
/// is, if it cannot.
fn no_longer_fits(ticket: &ExistingTicket, wanted: &ChangeTicketSpec, policy: &PlanningPolicy<'_>) -> Option<String> {
    if ticket.spec.window != wanted.window {
        return Some(format!(
            "policy {} now names window {} instead of {}: the change is proposed again under it",
            policy.name, wanted.window, ticket.spec.window
        ));
    }
    if ticket.approved_without_a_person() && policy.mode != PolicyMode::Auto {
        return Some(format!(
            "policy {} is no longer in Auto mode: the change is proposed again for a person to approve",
            policy.name
        ));
    }
    if ticket.spec.changes != wanted.changes {
        return Some(
            "the workload no longer runs what this ticket would change from: the change is proposed again from what it runs"
                .to_owned(),
        );
    }
    None
}

/// Cancels the waiting tickets no proposal answered for, when the findings
/// show conclusively that they are no longer needed.
fn retire(plan: &mut Plan, findings: &WorkloadFindings, mine: &[&ExistingTicket], answered: &BTreeSet<String>) {
    for ticket in mine.iter().filter(|t| !answered.contains(&t.name)) {
        let mut reasons = Vec::new();
        let mut conclusive = true;
        for change in &ticket.spec.changes {
            if change.reason == ChangeReason::UnauthorizedChange {
                let still = findings
                    .pods
                    .iter()
                    .any(|p| p.hand_edited() && p.container == change.container && p.init == change.init);
                conclusive &= !still;
                reasons.push(format!(
                    "no pod's {} runs anything but its template any more",
                    change.container
                ));
                continue;
            }
            match container_finding(findings, change) {
                None => reasons.push(format!("the workload has no container {} any more", change.container)),
                Some(finding) if finding.verdict.state == FindingState::Unknown => conclusive = false,
                Some(finding) => reasons.push(format!(
                    "{} is {:?} ({})",
                    change.container, finding.verdict.state, finding.verdict.reason
                )),
            }
        }
        if conclusive {
            plan.cancel(ticket, format!("no longer needed: {}", reasons.join("; ")));
        } else {
            plan.notes.push(format!(
                "ticket {} stays: whether it is still needed cannot be told now",
                ticket.name
            ));
        }
    }
}

fn container_finding<'f>(findings: &'f WorkloadFindings, change: &ContainerChange) -> Option<&'f ContainerFinding> {
    findings
        .containers
        .iter()
        .find(|f| *f.name == *change.container && f.init == change.init)
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

/// Tags that were rolled back (or failed) earlier, by repository, read
/// from a namespace's tickets, with the latest ticket that did so:
/// selection passes over them.
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
                let record = RolledBack {
                    ticket: ticket.name.clone(),
                    at: ticket.finished.unwrap_or(DateTime::<Utc>::MIN_UTC),
                };
                let tags = bad.entry(target.name().to_owned()).or_default();
                if tags.get(tag).is_none_or(|known| known.at < record.at) {
                    tags.insert(tag.to_owned(), record);
                }
            }
        }
    }
    bad
}

#[cfg(test)]
mod tests;
