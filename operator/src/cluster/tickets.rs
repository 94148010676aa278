//! ChangeTickets in the API: created beside their workload (labelled with
//! their policy and window, never owned by the workload, so they outlive it
//! as the audit trail), read back into `core` types, and moved from phase
//! to phase by status writes that always carry the resourceVersion they
//! were computed from. A write over a ticket someone else changed meanwhile
//! fails with 409 Conflict instead of losing their history entry; the
//! caller reads the ticket again and decides afresh.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, ObjectMeta, PostParams},
    runtime::reflector::Store,
};

use super::{
    instant,
    reports::{MANAGED_BY, POLICY_LABEL},
    snapshot::WorkloadKey,
    status::FIELD_MANAGER,
};
use crate::{
    api::{
        ChangeTicket, ChangeTicketStatus,
        change_ticket::{HistoryEntry, TicketPhase},
    },
    core::{
        planning::{ExistingTicket, NewTicket, unauthorized::is_record},
        ticket::step::{Move, REFIT},
    },
};

/// The label naming the window a ticket must start in: the scheduler lists
/// a window's tickets by it.
pub const WINDOW_LABEL: &str = "refit.dev/window";
/// The annotation on a new ticket that says why it was proposed (and which
/// tickets it supersedes): the ChangeTicket reconciler writes it as the
/// ticket's first history entry. Carried on the object, so the entry is
/// the same whoever writes it and however refit is restarted.
pub const PROPOSAL_ANNOTATION: &str = "refit.dev/proposal";

/// The tickets refit made, by workload, from the watch store.
pub fn by_workload(store: &Store<ChangeTicket>) -> HashMap<WorkloadKey, Vec<ExistingTicket>> {
    let mut tickets: HashMap<WorkloadKey, Vec<ExistingTicket>> = HashMap::new();
    for ticket in store.state() {
        if !is_refits(&ticket) {
            continue;
        }
        let (Some(namespace), Some(name)) = (ticket.metadata.namespace.clone(), ticket.metadata.name.clone()) else {
            continue;
        };
        let key = WorkloadKey {
            kind: ticket.spec.workload.kind,
            namespace,
            name: ticket.spec.workload.name.clone(),
        };
        // Records of changes made outside refit are no change to plan
        // around: nothing supersedes, cancels or counts them.
        if is_record(&ticket.spec) {
            continue;
        }
        tickets.entry(key).or_default().push(ExistingTicket {
            name,
            phase: phase(&ticket),
            spec: ticket.spec.clone(),
            finished: ticket
                .status
                .as_ref()
                .and_then(|s| s.finished_at.as_ref())
                .and_then(instant),
        });
    }
    for list in tickets.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    tickets
}

/// Whether refit made the ticket (a person may create others; refit plans
/// around its own only).
pub fn is_refits(ticket: &ChangeTicket) -> bool {
    ticket.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
}

/// A ticket's phase (`Pending` before its first status write).
pub fn phase(ticket: &ChangeTicket) -> TicketPhase {
    ticket.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

/// When the ticket was created.
pub fn created(ticket: &ChangeTicket) -> Option<DateTime<Utc>> {
    ticket.metadata.creation_timestamp.as_ref().and_then(instant)
}

/// What became of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The ticket is new.
    New,
    /// A ticket of that name existed already (made by an earlier run, or by
    /// another replica): the same change, as names are deterministic.
    Existed,
}

/// Writes tickets.
#[derive(Clone)]
pub struct TicketWriter {
    client: Client,
}

impl std::fmt::Debug for TicketWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketWriter").finish_non_exhaustive()
    }
}

impl TicketWriter {
    /// A writer.
    pub fn new(client: Client) -> TicketWriter {
        TicketWriter { client }
    }

    fn api(&self, namespace: &str) -> Api<ChangeTicket> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Creates `ticket` in `namespace`. A ticket of the same name that
    /// exists already is left as it is.
    pub async fn create(&self, namespace: &str, ticket: &NewTicket) -> Result<Created, kube::Error> {
        match self
            .api(namespace)
            .create(&post_params(), &new_object(namespace, ticket))
            .await
        {
            Ok(_) => Ok(Created::New),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Created::Existed),
            Err(error) => Err(error),
        }
    }

    /// Replaces the status of `ticket` (as read, with its resourceVersion)
    /// by `status`. 409 Conflict when the ticket changed since it was read.
    pub async fn write_status(
        &self,
        ticket: &ChangeTicket,
        status: ChangeTicketStatus,
    ) -> Result<ChangeTicket, kube::Error> {
        let namespace = ticket.namespace().unwrap_or_default();
        let mut object = ticket.clone();
        object.status = Some(status);
        self.api(&namespace)
            .replace_status(&ticket.name_any(), &post_params(), &object)
            .await
    }

    /// The ticket as the API server has it now.
    pub async fn get(&self, namespace: &str, name: &str) -> Result<Option<ChangeTicket>, kube::Error> {
        self.api(namespace).get_opt(name).await
    }

    /// Every ticket carrying `label=value`, as the API server has them now
    /// (in `namespace`, or in all namespaces).
    pub async fn list(
        &self,
        namespace: Option<&str>,
        label: &str,
        value: &str,
    ) -> Result<Vec<ChangeTicket>, kube::Error> {
        let api: Api<ChangeTicket> = match namespace {
            Some(namespace) => self.api(namespace),
            None => Api::all(self.client.clone()),
        };
        let params = ListParams::default().labels(&format!("{label}={value}"));
        Ok(api.list(&params).await?.items)
    }
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}

/// The object to create for `ticket`: its spec, refit's labels, and why
/// it is proposed.
fn new_object(namespace: &str, ticket: &NewTicket) -> ChangeTicket {
    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (POLICY_LABEL.to_owned(), ticket.spec.policy.clone()),
        (WINDOW_LABEL.to_owned(), ticket.spec.window.clone()),
    ]);
    let annotations = Some(BTreeMap::from([(PROPOSAL_ANNOTATION.to_owned(), proposal(ticket))]));
    ChangeTicket {
        metadata: ObjectMeta {
            name: Some(ticket.name.clone()),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            annotations,
            ..ObjectMeta::default()
        },
        spec: ticket.spec.clone(),
        status: None,
    }
}

/// Why `ticket` is proposed, and which tickets it supersedes.
fn proposal(ticket: &NewTicket) -> String {
    let mut message = ticket.why.clone();
    for old in &ticket.supersedes {
        match &old.approved_by {
            Some(person) => message.push_str(&format!(
                "; supersedes ticket {}, which {person} approved: an approval is given for one change, so this \
                 one needs its own",
                old.name
            )),
            None => message.push_str(&format!("; supersedes ticket {}", old.name)),
        }
    }
    message
}

/// A ticket's first history entry: why it was proposed, as its creator
/// wrote it down (or, for a ticket someone else made, its summary).
pub fn proposed_entry(ticket: &ChangeTicket, now: &Time) -> HistoryEntry {
    let message = match ticket.annotations().get(PROPOSAL_ANNOTATION) {
        Some(proposal) => proposal.clone(),
        None => format!("proposed by policy {}: {}", ticket.spec.policy, ticket.spec.summary),
    };
    HistoryEntry {
        time: now.clone(),
        phase: TicketPhase::Pending,
        message,
        actor: Some(REFIT.to_owned()),
    }
}

/// `status` after `step`, at `now`: the phase and a history entry, when it
/// started or finished, and no start to wait for once it has started.
pub fn after_move(status: &ChangeTicketStatus, step: &Move, now: &Time) -> ChangeTicketStatus {
    let mut next = status.clone();
    next.phase = step.to;
    next.history.push(HistoryEntry {
        time: now.clone(),
        phase: step.to,
        message: step.message.clone(),
        actor: Some(step.actor.clone()),
    });
    if step.to == TicketPhase::InProgress {
        next.started_at = Some(now.clone());
    }
    if step.to.is_terminal() {
        next.finished_at = Some(now.clone());
    }
    if !step.to.is_waiting() {
        next.scheduled_for = None;
    }
    next
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::{
        api::{
            ChangeTicketSpec,
            change_ticket::{ChangeReason, ChangeType, ContainerChange},
            workload::{WorkloadKind, WorkloadRef},
        },
        core::planning::Superseded,
    };

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid"))
    }

    fn new_ticket(supersedes: Vec<Superseded>) -> NewTicket {
        NewTicket {
            name: "deployment-web-7a62f302a1".into(),
            spec: ChangeTicketSpec {
                workload: WorkloadRef {
                    kind: WorkloadKind::Deployment,
                    name: "web".into(),
                },
                change_type: ChangeType::Rollout,
                summary: "nginx 1.29.8-alpine→1.31.4-alpine".into(),
                changes: vec![ContainerChange {
                    container: "web".into(),
                    init: false,
                    from: "docker.io/library/nginx:1.29.8-alpine@sha256:04f1d36c34bb6d8740e2d58250e885c5ae1d4ad791e0a585122e6d7486e6a1cf".into(),
                    to: "docker.io/library/nginx:1.31.4-alpine@sha256:e7f03bfaba159f9541833d6f7bb988676c6d687f1a6963419a7c4a3a0088157b".into(),
                    reason: ChangeReason::NewerVersion,
                }],
                policy: "storefront-web".into(),
                window: "weekend-nights".into(),
                approval: None,
            },
            why: "proposed by policy storefront-web: web: 1.31.4-alpine is the newest allowed".into(),
            supersedes,
        }
    }

    #[test]
    fn a_new_ticket_is_labelled_for_its_policy_and_window_and_owned_by_nothing() {
        let object = new_object("storefront", &new_ticket(vec![]));
        let labels = object.labels();
        assert_eq!(labels[POLICY_LABEL], "storefront-web");
        assert_eq!(labels[WINDOW_LABEL], "weekend-nights");
        assert_eq!(labels[MANAGED_BY.0], "refit");
        assert!(
            object.metadata.owner_references.is_none(),
            "tickets outlive their workload"
        );
        assert_eq!(
            object.annotations()[PROPOSAL_ANNOTATION],
            "proposed by policy storefront-web: web: 1.31.4-alpine is the newest allowed"
        );
    }

    #[test]
    fn a_superseding_ticket_names_the_old_one_and_says_an_approval_is_not_carried_over() {
        let ticket = new_ticket(vec![Superseded {
            name: "deployment-web-1c2d3e4f5a".into(),
            approved_by: Some("jana".into()),
        }]);
        let object = new_object("storefront", &ticket);
        let entry = proposed_entry(&object, &at(100));
        assert_eq!(entry.phase, TicketPhase::Pending);
        assert_eq!(
            entry.message,
            "proposed by policy storefront-web: web: 1.31.4-alpine is the newest allowed; supersedes ticket \
             deployment-web-1c2d3e4f5a, which jana approved: an approval is given for one change, so this one \
             needs its own"
        );
        assert_eq!(entry.actor.as_deref(), Some("refit"));
    }

    #[test]
    fn a_move_records_the_phase_who_and_why_and_the_start() {
        let status = ChangeTicketStatus {
            phase: TicketPhase::Scheduled,
            scheduled_for: Some(at(50)),
            ..ChangeTicketStatus::default()
        };
        let started = after_move(
            &status,
            &Move {
                to: TicketPhase::InProgress,
                actor: "refit".into(),
                message: "started in window weekend-nights, open until 2026-11-28T03:00:00Z".into(),
            },
            &at(60),
        );
        assert_eq!(started.phase, TicketPhase::InProgress);
        assert_eq!(started.started_at, Some(at(60)));
        assert_eq!(started.scheduled_for, None);
        assert_eq!(started.history.last().map(|e| e.phase), Some(TicketPhase::InProgress));
        let rejected = after_move(
            &status,
            &Move {
                to: TicketPhase::Rejected,
                actor: "jana".into(),
                message: "rejected by jana".into(),
            },
            &at(70),
        );
        assert_eq!(rejected.finished_at, Some(at(70)));
        assert_eq!(rejected.history[0].actor.as_deref(), Some("jana"));
    }
}
