//! The scan's ticket steps: for each evaluated workload, what
//! `core::planning` decides (tickets to create, waiting ones to supersede
//! or cancel) carried out, and the open tickets linked from its
//! DriftReport; after the scan, the waiting tickets of workloads that were
//! deleted or that no valid policy governs any more are cancelled.
//!
//! Tickets are created before anything refers to them, and one of a given
//! name is never created twice: names are deterministic, and a create that
//! finds the name taken leaves the ticket that has it. Endings are status
//! writes over the resourceVersion the ticket was read at; one that loses
//! to a concurrent write (the ChangeTicket reconciler, a person's
//! approval) reads the ticket again and ends it only if it is still
//! waiting.

use std::collections::{BTreeSet, HashMap};

use kube::runtime::reflector::ObjectRef;

use super::outcome::ScanOutcome;
use crate::{
    api::{
        DriftReportStatus,
        change_ticket::{ChangeType, TicketPhase},
    },
    cluster::{
        Now,
        snapshot::{ClusterSnapshot, WorkloadKey},
        tickets::{Created, after_move, phase},
    },
    controller::{Context, error::Error, tickets::announce},
    core::{
        planning::{Ending, ExistingTicket, Plan},
        ticket::step::{Move, REFIT},
    },
};

/// Carries out `plan` for the workload `key`, whose tickets were
/// `existing`; returns the tickets open after it (for the report's links).
/// Failures are added to `outcome`.
pub(super) async fn carry_out(
    ctx: &Context,
    key: &WorkloadKey,
    plan: &Plan,
    existing: &[ExistingTicket],
    now: &Now,
    outcome: &mut ScanOutcome,
) -> Vec<ExistingTicket> {
    for note in &plan.notes {
        tracing::debug!(workload = %key, note, "planning");
    }
    let mut open: Vec<ExistingTicket> = existing.iter().filter(|t| !t.phase.is_terminal()).cloned().collect();
    for ticket in &plan.create {
        match ctx.tickets.create(&key.namespace, ticket).await {
            Ok(created) => {
                if created == Created::New {
                    tracing::info!(
                        ticket = %format!("{}/{}", key.namespace, ticket.name),
                        workload = %key,
                        summary = %ticket.spec.summary,
                        "proposed a change"
                    );
                    ctx.metrics
                        .ticket_transitions
                        .get_or_create(&vec![
                            ("phase", TicketPhase::Pending.as_str().to_owned()),
                            ("type", ticket.spec.change_type.as_str().to_owned()),
                        ])
                        .inc();
                }
                if !open.iter().any(|t| t.name == ticket.name) {
                    open.push(ExistingTicket {
                        name: ticket.name.clone(),
                        phase: TicketPhase::Pending,
                        spec: ticket.spec.clone(),
                        finished: None,
                    });
                }
            }
            Err(source) => outcome.failures.push(Error::CreateTicket {
                namespace: key.namespace.clone(),
                name: ticket.name.clone(),
                source,
            }),
        }
    }
    for ending in &plan.end {
        match end(ctx, &key.namespace, ending, now).await {
            Ok(Some(phase)) if !phase.is_terminal() => {
                if let Some(ticket) = open.iter_mut().find(|t| t.name == ending.name) {
                    ticket.phase = phase;
                }
            }
            Ok(_) => open.retain(|t| t.name != ending.name),
            Err(error) => outcome.failures.push(error),
        }
    }
    open.sort_by(|a, b| a.name.cmp(&b.name));
    open
}

/// Ends one waiting ticket as `ending` says, if it is still waiting.
/// Returns the phase it is in afterwards (`None`: it is gone).
pub(super) async fn end(
    ctx: &Context,
    namespace: &str,
    ending: &Ending,
    now: &Now,
) -> Result<Option<TicketPhase>, Error> {
    let read_failed = |source| Error::ReadTickets {
        what: format!("{namespace}/{}", ending.name),
        source,
    };
    let write_failed = |source| Error::WriteTicket {
        namespace: namespace.to_owned(),
        name: ending.name.clone(),
        source,
    };
    let stored = ctx
        .stores
        .tickets
        .get(&ObjectRef::new(&ending.name).within(namespace))
        .map(|t| (*t).clone());
    let mut current = match stored {
        Some(ticket) => Some(ticket),
        None => ctx.tickets.get(namespace, &ending.name).await.map_err(read_failed)?,
    };
    let mut conflict = None;
    for _ in 0..2 {
        let Some(ticket) = current.take() else {
            return Ok(None);
        };
        if !phase(&ticket).is_waiting() {
            return Ok(Some(phase(&ticket)));
        }
        let moved = Move {
            to: ending.phase,
            actor: REFIT.to_owned(),
            message: ending.message.clone(),
        };
        let status = ticket.status.clone().unwrap_or_default();
        let mut next = after_move(&status, &moved, &now.time);
        next.observed_generation = ticket.metadata.generation;
        match ctx.tickets.write_status(&ticket, next).await {
            Ok(_) => {
                tracing::info!(
                    ticket = %format!("{namespace}/{}", ending.name),
                    phase = %ending.phase,
                    message = %ending.message,
                    "ended a ticket"
                );
                announce(ctx, &ticket, &moved).await;
                return Ok(Some(ending.phase));
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                conflict = Some(kube::Error::Api(status));
                current = ctx.tickets.get(namespace, &ending.name).await.map_err(read_failed)?;
            }
            Err(source) => return Err(write_failed(source)),
        }
    }
    // It kept changing while refit ended it: the retry decides again.
    match conflict {
        Some(source) => Err(write_failed(source)),
        None => Ok(current.as_ref().map(phase)),
    }
}

/// Links `open` tickets from a DriftReport: each container the ticket
/// changes, and the workload (its Rollout ticket first, then Restart, then
/// Rebuild).
pub(super) fn link(status: &mut DriftReportStatus, open: &[ExistingTicket]) {
    let order = |t: &ExistingTicket| match t.spec.change_type {
        ChangeType::Rollout => 0,
        ChangeType::Restart => 1,
        ChangeType::Rebuild => 2,
    };
    let mut open: Vec<&ExistingTicket> = open.iter().filter(|t| !t.phase.is_terminal()).collect();
    open.sort_by_key(|t| (order(t), t.name.clone()));
    for container in &mut status.containers {
        container.ticket = open
            .iter()
            .find(|t| {
                t.spec
                    .changes
                    .iter()
                    .any(|c| c.container == container.name && c.init == container.init)
            })
            .map(|t| t.name.clone());
    }
    status.ticket = open.first().map(|t| t.name.clone());
}

/// The names of `tickets` that are not finished, for telling whether a
/// workload's open tickets changed since it was evaluated.
pub(super) fn open_names(tickets: &[ExistingTicket]) -> Vec<String> {
    let mut names: Vec<String> = tickets
        .iter()
        .filter(|t| !t.phase.is_terminal())
        .map(|t| t.name.clone())
        .collect();
    names.sort();
    names
}

/// Cancels the waiting tickets of workloads that are gone or that no
/// valid policy governs any more. Tickets of a policy that is only invalid
/// stay: refit does not act on an invalid policy.
pub(super) async fn withdraw_orphans(
    ctx: &Context,
    snapshot: &ClusterSnapshot,
    governed: &HashMap<WorkloadKey, usize>,
    invalid: &BTreeSet<String>,
    tickets: &HashMap<WorkloadKey, Vec<ExistingTicket>>,
    now: &Now,
    outcome: &mut ScanOutcome,
) {
    let present: BTreeSet<&WorkloadKey> = snapshot.workloads.iter().map(|w| &w.key).collect();
    for (key, list) in tickets {
        if governed.contains_key(key) {
            continue;
        }
        let why = if present.contains(key) {
            "no valid policy governs the workload any more"
        } else {
            "the workload was deleted"
        };
        let waiting: Vec<ExistingTicket> = list
            .iter()
            .filter(|t| !invalid.contains(&t.spec.policy))
            .cloned()
            .collect();
        for ending in crate::core::planning::withdraw(&waiting, why) {
            if let Err(error) = end(ctx, &key.namespace, &ending, now).await {
                outcome.failures.push(error);
            }
        }
    }
}

/// The tickets refit keeps for `policy`, whatever their workload.
pub(super) fn of_policy<'t>(
    tickets: &'t HashMap<WorkloadKey, Vec<ExistingTicket>>,
    policy: &'t str,
) -> impl Iterator<Item = &'t ExistingTicket> {
    tickets.values().flatten().filter(move |t| t.spec.policy == policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        ChangeTicketSpec,
        change_ticket::{ChangeReason, ContainerChange},
        drift_report::{ContainerFinding, FindingState},
        workload::{WorkloadKind, WorkloadRef},
    };

    fn ticket(name: &str, change_type: ChangeType, containers: &[&str], phase: TicketPhase) -> ExistingTicket {
        ExistingTicket {
            name: name.into(),
            phase,
            finished: None,
            spec: ChangeTicketSpec {
                workload: WorkloadRef {
                    kind: WorkloadKind::Deployment,
                    name: "web".into(),
                },
                change_type,
                summary: "nginx 1.29.8-alpine→1.31.4-alpine".into(),
                changes: containers
                    .iter()
                    .map(|c| ContainerChange {
                        container: (*c).into(),
                        init: false,
                        from: "docker.io/library/nginx:1.29.8-alpine".into(),
                        to: "docker.io/library/nginx:1.31.4-alpine".into(),
                        reason: ChangeReason::NewerVersion,
                    })
                    .collect(),
                policy: "storefront-web".into(),
                window: "weekend-nights".into(),
                approval: None,
            },
        }
    }

    fn container(name: &str) -> ContainerFinding {
        ContainerFinding {
            name: name.into(),
            init: false,
            image: "nginx:1.29.8-alpine".into(),
            running_digests: vec![],
            state: FindingState::Outdated,
            candidate: None,
            reason: String::new(),
            base: None,
            ticket: None,
        }
    }

    #[test]
    fn a_report_links_each_container_to_the_open_ticket_that_changes_it() {
        let mut status = DriftReportStatus {
            containers: vec![container("web"), container("istio-proxy"), container("exporter")],
            ..DriftReportStatus::default()
        };
        let open = vec![
            ticket(
                "deployment-web-restart",
                ChangeType::Restart,
                &["istio-proxy"],
                TicketPhase::AwaitingApproval,
            ),
            ticket(
                "deployment-web-rollout",
                ChangeType::Rollout,
                &["web"],
                TicketPhase::Scheduled,
            ),
            ticket(
                "deployment-web-old",
                ChangeType::Rollout,
                &["exporter"],
                TicketPhase::Superseded,
            ),
        ];
        link(&mut status, &open);
        let linked: Vec<Option<&str>> = status.containers.iter().map(|c| c.ticket.as_deref()).collect();
        assert_eq!(
            linked,
            [Some("deployment-web-rollout"), Some("deployment-web-restart"), None],
            "a finished ticket is not linked"
        );
        assert_eq!(status.ticket.as_deref(), Some("deployment-web-rollout"));
    }
}
