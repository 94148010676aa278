//! `ChangeTicket`: one change to one workload, and its audit trail.
//!
//! A ticket is created before anything changes. Its spec says what will
//! change and is immutable after creation, except `spec.approval`, which a
//! person sets (with `kubectl patch`, see docs/TICKETS.md). Its status records every
//! phase transition and the ITSM record it is mirrored to. Tickets live beside
//! their workload so namespace RBAC decides who sees and approves them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{NAME_PATTERN, conditions::conditions_schema, workload::WorkloadRef};

/// What will change, and who decided.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats the same keys; the lint mistakes them for duplicates"
)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "refit.dev",
    version = "v1alpha1",
    kind = "ChangeTicket",
    plural = "changetickets",
    shortname = "ct",
    category = "refit",
    namespaced,
    status = "ChangeTicketStatus",
    derive = "PartialEq",
    doc = "One change to one workload (a rollout, a rebuild or a restart). It waits for an open ChangeWindow and, if the policy asks, for an approval; its status is the audit trail. The spec is immutable except spec.approval.",
    printcolumn(name = "Workload", type_ = "string", json_path = ".spec.workload.name"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Change", type_ = "string", json_path = ".spec.summary"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Window", type_ = "string", json_path = ".spec.window"),
    printcolumn(
        name = "External",
        type_ = "string",
        json_path = ".status.external.id",
        description = "The ticket's ID in the ITSM system"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Scheduled-For",
        type_ = "string",
        json_path = ".status.scheduledFor",
        description = "The earliest instant the change can start",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(SPEC_IMMUTABLE_RULE).message("spec is immutable except spec.approval: create a new ChangeTicket instead"))]
#[x_kube(validation = Rule::new("!has(oldSelf.approval) || has(self.approval)").message("spec.approval cannot be removed once given; set approved: false to withdraw it").field_path(".approval"))]
pub struct ChangeTicketSpec {
    /// The workload that changes (same namespace). For a `Rebuild`, the
    /// workload whose image is rebuilt; the workload itself is not touched.
    pub workload: WorkloadRef,

    /// `Rollout`: patch the container images and follow the rollout.
    /// `Rebuild`: ask the policy's rebuild target to rebuild the image.
    /// `Restart`: restart the pods without changing the template.
    #[serde(rename = "type")]
    pub change_type: ChangeType,

    /// One line for people and ITSM systems, e.g. `nginx 1.25.3→1.25.4`.
    #[schemars(length(min = 1, max = 256))]
    pub summary: String,

    /// The changes, one per container.
    #[schemars(length(min = 1, max = 64))]
    pub changes: Vec<ContainerChange>,

    /// The PatchPolicy that proposed the change.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub policy: String,

    /// The ChangeWindow the change must start in.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub window: String,

    /// The decision on this change. Set by a person (or by the policy in
    /// `Auto` mode); the only part of the spec that may change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// Spec immutability, field by field: CEL cannot compare "everything but
/// approval" directly, and a rule on each optional field would not fire when
/// the field is added or removed. Every other spec field is required, so
/// comparing them is enough.
const SPEC_IMMUTABLE_RULE: &str = "self.workload == oldSelf.workload && self.type == oldSelf.type && self.summary == oldSelf.summary && self.changes == oldSelf.changes && self.policy == oldSelf.policy && self.window == oldSelf.window";

/// The kind of change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ChangeType {
    /// Patch container images and follow the rollout, with health checks
    /// and automatic rollback.
    Rollout,
    /// Ask for the image to be rebuilt on its current base image.
    Rebuild,
    /// Restart the pods (e.g. to bring hand-edited pods back to the template).
    Restart,
}

/// Why a container changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ChangeReason {
    /// A newer version is allowed by the policy.
    NewerVersion,
    /// The tag now points at another digest than the pods run.
    DigestDrift,
    /// The image's base image has been patched.
    BaseImageOutdated,
    /// A sidecar or runtime component is below its baseline.
    RuntimeOutdated,
    /// The workload or its pods were changed outside refit and no ticket
    /// explains it: pods changed by hand (a `Restart` brings them back to
    /// the template), or the template's image changed (a `Rollout` ticket
    /// that only records it, in phase `Recorded`; its `from` and `to` are
    /// the images as the template wrote them).
    UnauthorizedChange,
}

/// The change to one container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerChange {
    /// Container name.
    #[schemars(length(min = 1, max = 63))]
    pub container: String,
    /// Whether it is an init container.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// The image now, as a full reference with digest. A rollback restores it.
    #[schemars(length(min = 1, max = 1024))]
    pub from: String,
    /// The image after the change, as a full reference with digest. For a
    /// `Rebuild`, the base image to rebuild on; for a `Restart`, the image
    /// the pods should run after it.
    #[schemars(length(min = 1, max = 1024))]
    pub to: String,
    /// Why the container changes.
    pub reason: ChangeReason,
}

/// A decision on a ticket: `approved: true` lets the change go ahead;
/// `approved: false` rejects it (and so does `rejected: true`, kept for
/// clarity in manifests). Who decided and why are recorded in the history.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(self.approved && has(self.rejected) && self.rejected)").message("an approval cannot be both approved and rejected: set approved: false to reject"))]
pub struct Approval {
    /// `true`: the change may go ahead in the next open window. `false`:
    /// the change must not happen; the ticket ends as `Rejected`.
    pub approved: bool,
    /// Another way to say `approved: false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rejected: bool,
    /// Who decided: a user name, or `policy/<name>` in `Auto` mode.
    #[schemars(length(min = 1, max = 253))]
    pub by: String,
    /// Why, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub reason: Option<String>,
}

impl Approval {
    /// Whether the decision lets the change go ahead.
    pub fn approves(&self) -> bool {
        self.approved && !self.rejected
    }
}

/// Where a ticket is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TicketPhase {
    /// Created; not yet looked at by the scheduler.
    #[default]
    Pending,
    /// Waiting for a person's approval.
    AwaitingApproval,
    /// Approved; waiting for an open window and a free concurrency slot.
    Scheduled,
    /// The change is being carried out.
    InProgress,
    /// The change was carried out and the workload is healthy.
    Succeeded,
    /// The change failed and could not be rolled back.
    Failed,
    /// The change failed and the previous images were restored.
    RolledBack,
    /// Someone else changed the workload while the change was under way
    /// (set its images, scaled it to zero or deleted it): refit stopped
    /// and rolled nothing back over their change. The history names who.
    Interrupted,
    /// A record, not a change: the workload's images were changed outside
    /// refit, with no ticket, and refit recorded who and when for the
    /// audit trail. Nothing is reverted.
    Recorded,
    /// A person rejected the change.
    Rejected,
    /// A newer candidate replaced this change before it started.
    Superseded,
    /// Not started within the policy's `ticketExpiry`.
    Expired,
    /// Withdrawn by refit before it started, because it is no longer
    /// wanted: the workload was deleted, pinned or is no longer governed by
    /// the ticket's policy, the policy no longer proposes changes, or the
    /// workload no longer needs the change. The history says which.
    Cancelled,
}

impl TicketPhase {
    /// Every phase, in the order a ticket that goes all the way passes
    /// through them, then the other endings. (The test next to the enum
    /// fails to compile when a phase is added, as a reminder to list it.)
    pub const ALL: [TicketPhase; 13] = [
        TicketPhase::Pending,
        TicketPhase::AwaitingApproval,
        TicketPhase::Scheduled,
        TicketPhase::InProgress,
        TicketPhase::Succeeded,
        TicketPhase::Failed,
        TicketPhase::RolledBack,
        TicketPhase::Interrupted,
        TicketPhase::Recorded,
        TicketPhase::Rejected,
        TicketPhase::Superseded,
        TicketPhase::Expired,
        TicketPhase::Cancelled,
    ];

    /// Whether the ticket is finished: no transition leaves these phases.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TicketPhase::Succeeded
                | TicketPhase::Failed
                | TicketPhase::RolledBack
                | TicketPhase::Interrupted
                | TicketPhase::Recorded
                | TicketPhase::Rejected
                | TicketPhase::Superseded
                | TicketPhase::Expired
                | TicketPhase::Cancelled
        )
    }

    /// Whether the change is still to start: waiting for approval, a
    /// window or a slot. Only these tickets can be rejected, superseded,
    /// expired or cancelled.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            TicketPhase::Pending | TicketPhase::AwaitingApproval | TicketPhase::Scheduled
        )
    }

    /// The phase as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketPhase::Pending => "Pending",
            TicketPhase::AwaitingApproval => "AwaitingApproval",
            TicketPhase::Scheduled => "Scheduled",
            TicketPhase::InProgress => "InProgress",
            TicketPhase::Succeeded => "Succeeded",
            TicketPhase::Failed => "Failed",
            TicketPhase::RolledBack => "RolledBack",
            TicketPhase::Interrupted => "Interrupted",
            TicketPhase::Recorded => "Recorded",
            TicketPhase::Rejected => "Rejected",
            TicketPhase::Superseded => "Superseded",
            TicketPhase::Expired => "Expired",
            TicketPhase::Cancelled => "Cancelled",
        }
    }
}

impl std::fmt::Display for TicketPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ChangeType {
    /// The type as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Rollout => "Rollout",
            ChangeType::Rebuild => "Rebuild",
            ChangeType::Restart => "Restart",
        }
    }
}

/// Observed state and audit trail of a ChangeTicket.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(PHASE_TRANSITION_RULE).message(Message::Expression(PHASE_TRANSITION_MESSAGE.into())).field_path(".phase"))]
#[x_kube(validation = Rule::new("size(self.history) >= size(oldSelf.history)").message("status.history is an audit trail: entries cannot be removed").field_path(".history"))]
#[x_kube(validation = Rule::new(NEWEST_ENTRY_RULE).message("the newest status.history entry must record the phase the ticket is in").field_path(".history"))]
pub struct ChangeTicketStatus {
    /// Where the ticket is now.
    #[serde(default)]
    pub phase: TicketPhase,

    /// The earliest instant the change can start: the next opening of its
    /// window (now, if it is open) in which at least `minRemaining` and the
    /// policy's `rollout.progressDeadline` are left before the opening ends
    /// or a blackout begins. Shown while the ticket waits (for approval, a
    /// window or a free slot), recomputed when the window or the policy
    /// changes, and removed once the change starts or the ticket ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<Time>,

    /// When the change started (phase `InProgress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,

    /// How far the change has been carried out. Each step is written here
    /// before refit takes it, so a refit that restarts resumes the change
    /// where it was instead of starting it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,

    /// When the ticket reached a final phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,

    /// Every phase transition, oldest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,

    /// The record of this ticket in the ITSM system, once created there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalRecord>,

    /// Transitions not yet delivered to the ITSM sinks. Kept in status so
    /// that nothing is lost when refit restarts; an entry leaves once its
    /// sink has accepted it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<OutboxEntry>,

    /// The generation of the spec (i.e. of the approval) last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Conditions: `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// A phase moves only along the transitions of `core::ticket::transition`
/// (a test holds the two to each other): a waiting ticket may be approved,
/// started, rejected, superseded, expired or cancelled; one under way may
/// only finish; a finished one never moves.
pub(crate) const PHASE_TRANSITION_RULE: &str = "self.phase == oldSelf.phase \
    || (oldSelf.phase == 'Pending' && self.phase in ['AwaitingApproval', 'Scheduled', 'Recorded', 'Rejected', 'Superseded', 'Expired', 'Cancelled']) \
    || (oldSelf.phase == 'AwaitingApproval' && self.phase in ['Scheduled', 'Rejected', 'Superseded', 'Expired', 'Cancelled']) \
    || (oldSelf.phase == 'Scheduled' && self.phase in ['InProgress', 'Rejected', 'Superseded', 'Expired', 'Cancelled']) \
    || (oldSelf.phase == 'InProgress' && self.phase in ['Succeeded', 'Failed', 'RolledBack', 'Interrupted'])";

/// The refusal names both phases.
const PHASE_TRANSITION_MESSAGE: &str = "'a ticket in phase ' + oldSelf.phase + ' cannot move to ' + self.phase + (oldSelf.phase in ['Succeeded', 'Failed', 'RolledBack', 'Interrupted', 'Recorded', 'Rejected', 'Superseded', 'Expired', 'Cancelled'] ? ': it is finished' : '')";

/// Every transition is recorded: the newest history entry is of the phase
/// the ticket is in (a ticket with no history yet is new).
const NEWEST_ENTRY_RULE: &str = "size(self.history) == 0 || self.history[size(self.history) - 1].phase == self.phase";

/// How far a change under way has got. Written before each step's side
/// effect: `Apply` is recorded before the images are applied, `Follow`
/// once they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Which images are being rolled out: `Candidate` (each change's `to`)
    /// or `Previous` (each change's `from`: a rollback).
    pub target: ExecutionTarget,
    /// The step refit is taking.
    pub step: ExecutionStep,
    /// When the step began: the rollout's deadline and the verification
    /// count from here.
    pub since: Time,
    /// The workload's `metadata.generation` once the images were applied:
    /// its controller has acted on them when it reports this generation
    /// as observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The replicas the workload asked for when the images were applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The rollout as last seen, for people, e.g. `2 of 3 pods updated, 1
    /// available`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Why the candidate is being rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Which images a change under way rolls out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ExecutionTarget {
    /// The change itself: each container to its `to`.
    Candidate,
    /// A rollback: each container back to its `from`.
    Previous,
}

/// A step of a change under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ExecutionStep {
    /// About to apply the target's images (with server-side apply, field
    /// manager `refit`). Applying again after a restart changes nothing.
    Apply,
    /// Applied: following the workload's rollout until it is done, it
    /// fails, or `rollout.progressDeadline` passes.
    Follow,
    /// Rolled out: the new pods must stay ready without restarts for
    /// `rollout.verifyFor`.
    Verify,
}

/// One phase transition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// When it happened.
    pub time: Time,
    /// The phase entered.
    pub phase: TicketPhase,
    /// What happened, for people.
    pub message: String,
    /// Who caused it: `refit`, or the user who approved or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// A ticket's record in an ITSM system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRecord {
    /// The sink's name from the operator configuration.
    pub sink: String,
    /// The kind of system.
    pub system: ExternalSystem,
    /// The record's ID there, e.g. `CHG0031234` or `OPS-1234`.
    pub id: String,
    /// Link to the record, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last phase the system has acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_phase: Option<TicketPhase>,
    /// When the system last acknowledged an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<Time>,
}

/// The ITSM systems refit mirrors tickets to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ExternalSystem {
    /// ServiceNow change requests.
    ServiceNow,
    /// Jira issues.
    Jira,
    /// Any HTTPS endpoint (signed JSON).
    Webhook,
}

/// A transition waiting to be delivered to a sink.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// The sink's name.
    pub sink: String,
    /// The phase to deliver.
    pub phase: TicketPhase,
    /// Delivery attempts so far.
    #[serde(default)]
    pub attempts: i32,
    /// Not before this instant (back-off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Time>,
    /// The last delivery error, without credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position of each phase in [`TicketPhase::ALL`]. This match has
    /// no wildcard, so a new phase does not compile until it is added here,
    /// and the test below fails until it is added to `ALL` as well.
    fn position(phase: TicketPhase) -> usize {
        match phase {
            TicketPhase::Pending => 0,
            TicketPhase::AwaitingApproval => 1,
            TicketPhase::Scheduled => 2,
            TicketPhase::InProgress => 3,
            TicketPhase::Succeeded => 4,
            TicketPhase::Failed => 5,
            TicketPhase::RolledBack => 6,
            TicketPhase::Interrupted => 7,
            TicketPhase::Recorded => 8,
            TicketPhase::Rejected => 9,
            TicketPhase::Superseded => 10,
            TicketPhase::Expired => 11,
            TicketPhase::Cancelled => 12,
        }
    }

    #[test]
    fn all_lists_every_phase_once_in_order() {
        for (index, phase) in TicketPhase::ALL.into_iter().enumerate() {
            assert_eq!(position(phase), index, "{phase:?} is out of place in TicketPhase::ALL");
        }
        // The schema names every value the API accepts (one documented
        // `const` per phase): ALL must name each.
        let schema = serde_json::to_value(schemars::schema_for!(TicketPhase)).expect("serializes");
        let mut accepted: Vec<&str> = schema["oneOf"]
            .as_array()
            .expect("one schema per phase")
            .iter()
            .map(|variant| variant["const"].as_str().expect("a phase name"))
            .collect();
        accepted.sort_unstable();
        let mut listed: Vec<String> = TicketPhase::ALL
            .iter()
            .map(|p| {
                serde_json::to_value(p)
                    .expect("serializes")
                    .as_str()
                    .expect("a string")
                    .to_owned()
            })
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, accepted);
    }

    #[test]
    fn as_str_spells_each_phase_as_the_api_does() {
        for phase in TicketPhase::ALL {
            assert_eq!(serde_json::to_value(phase).expect("serializes"), phase.as_str());
        }
    }

    #[test]
    fn the_transition_rule_names_every_finished_phase_as_finished() {
        for phase in TicketPhase::ALL.into_iter().filter(|p| p.is_terminal()) {
            assert!(
                PHASE_TRANSITION_MESSAGE.contains(&format!("'{phase}'")),
                "{phase}: the refusal does not call it finished"
            );
            assert!(
                !PHASE_TRANSITION_RULE.contains(&format!("oldSelf.phase == '{phase}'")),
                "{phase}: the rule lets a finished ticket move"
            );
        }
    }

    #[test]
    fn a_new_ticket_is_pending() {
        assert_eq!(ChangeTicketStatus::default().phase, TicketPhase::Pending);
    }
}
