//! The ChangeTicket state machine: which phase an event leads to, and which
//! events a phase refuses. An illegal transition is an error the caller
//! reports, never a panic.
//!
//! ```text
//! Pending ──NeedsApproval──▶ AwaitingApproval ──Approved──▶ Scheduled ──Started──▶ InProgress
//!    └────────────Approved (Auto)─────────────────────────────▲                      │
//!                                                                    Succeeded ◀────┤
//!                                        RolledBack / Failed / Interrupted ◀─────────┘
//! Pending, AwaitingApproval, Scheduled ──Rejected / Superseded / Expired / Cancelled──▶ that phase
//! Pending ──Recorded──▶ Recorded (a record of a change made outside refit)
//! ```
//!
//! The same transitions are enforced at admission by the ChangeTicket
//! CRD's CEL rule on `status.phase` (`tests/tests/admission.rs` holds the
//! two to each other), so no writer, refit or a person with `kubectl`, can
//! move a ticket along any other edge.

pub mod step;

use std::fmt;

use crate::api::change_ticket::TicketPhase;

/// Something that happens to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketEvent {
    /// The policy is in `Approve` mode: a person must decide.
    NeedsApproval,
    /// A person (or an `Auto` policy) approved.
    Approved,
    /// A person rejected.
    Rejected,
    /// The window is open and a slot is free: the change starts.
    Started,
    /// The workload is healthy at the new images.
    Succeeded,
    /// The change failed; `rolled_back` says whether the previous images
    /// were restored.
    Failed {
        /// Whether the rollback succeeded.
        rolled_back: bool,
    },
    /// Someone else changed the workload while the change was under way.
    Interrupted,
    /// The ticket records a change made outside refit.
    Recorded,
    /// A newer candidate replaced the change before it started.
    Superseded,
    /// Not started within the policy's `ticketExpiry`.
    Expired,
    /// No longer wanted before it started (the workload was deleted,
    /// pinned or is no longer governed, or no longer needs the change).
    Cancelled,
}

impl TicketEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: [TicketEvent; 12] = [
        TicketEvent::NeedsApproval,
        TicketEvent::Approved,
        TicketEvent::Rejected,
        TicketEvent::Started,
        TicketEvent::Succeeded,
        TicketEvent::Failed { rolled_back: true },
        TicketEvent::Failed { rolled_back: false },
        TicketEvent::Interrupted,
        TicketEvent::Recorded,
        TicketEvent::Superseded,
        TicketEvent::Expired,
        TicketEvent::Cancelled,
    ];
}

impl fmt::Display for TicketEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TicketEvent::NeedsApproval => "wait for approval",
            TicketEvent::Approved => "be approved",
            TicketEvent::Rejected => "be rejected",
            TicketEvent::Started => "start",
            TicketEvent::Succeeded => "succeed",
            TicketEvent::Failed { .. } => "fail",
            TicketEvent::Interrupted => "be interrupted",
            TicketEvent::Recorded => "record a change",
            TicketEvent::Superseded => "be superseded",
            TicketEvent::Expired => "expire",
            TicketEvent::Cancelled => "be cancelled",
        };
        f.write_str(text)
    }
}

/// A transition the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a ticket in phase {from:?} cannot {event}{}", hint(*from))]
pub struct IllegalTransition {
    /// The phase the ticket is in.
    pub from: TicketPhase,
    /// The refused event.
    pub event: TicketEvent,
}

fn hint(from: TicketPhase) -> &'static str {
    if from.is_terminal() {
        ": it is finished"
    } else if from == TicketPhase::InProgress {
        ": the change is under way"
    } else {
        ""
    }
}

/// The phase `event` leads to from `from`.
pub fn transition(from: TicketPhase, event: TicketEvent) -> Result<TicketPhase, IllegalTransition> {
    use TicketEvent as E;
    use TicketPhase as P;
    let next = match (from, event) {
        (P::Pending, E::NeedsApproval) => P::AwaitingApproval,
        (P::Pending | P::AwaitingApproval, E::Approved) => P::Scheduled,
        (P::Pending | P::AwaitingApproval | P::Scheduled, E::Rejected) => P::Rejected,
        (P::Scheduled, E::Started) => P::InProgress,
        (P::InProgress, E::Succeeded) => P::Succeeded,
        (P::InProgress, E::Failed { rolled_back: true }) => P::RolledBack,
        (P::InProgress, E::Failed { rolled_back: false }) => P::Failed,
        (P::InProgress, E::Interrupted) => P::Interrupted,
        (P::Pending, E::Recorded) => P::Recorded,
        (P::Pending | P::AwaitingApproval | P::Scheduled, E::Superseded) => P::Superseded,
        (P::Pending | P::AwaitingApproval | P::Scheduled, E::Expired) => P::Expired,
        (P::Pending | P::AwaitingApproval | P::Scheduled, E::Cancelled) => P::Cancelled,
        _ => return Err(IllegalTransition { from, event }),
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: [TicketEvent; 12] = TicketEvent::ALL;

    fn run(events: &[TicketEvent]) -> Result<TicketPhase, IllegalTransition> {
        events
            .iter()
            .try_fold(TicketPhase::Pending, |phase, event| transition(phase, *event))
    }

    #[test]
    fn an_approved_change_runs_to_success() {
        use TicketEvent::*;
        assert_eq!(
            run(&[NeedsApproval, Approved, Started, Succeeded]),
            Ok(TicketPhase::Succeeded)
        );
    }

    #[test]
    fn an_auto_policy_schedules_without_waiting() {
        assert_eq!(run(&[TicketEvent::Approved]), Ok(TicketPhase::Scheduled));
    }

    #[test]
    fn a_failed_change_ends_rolled_back_or_failed() {
        use TicketEvent::*;
        assert_eq!(
            run(&[Approved, Started, Failed { rolled_back: true }]),
            Ok(TicketPhase::RolledBack)
        );
        assert_eq!(
            run(&[Approved, Started, Failed { rolled_back: false }]),
            Ok(TicketPhase::Failed)
        );
    }

    #[test]
    fn waiting_tickets_can_be_rejected_superseded_or_expire() {
        use TicketEvent::*;
        assert_eq!(run(&[NeedsApproval, Rejected]), Ok(TicketPhase::Rejected));
        assert_eq!(run(&[Approved, Rejected]), Ok(TicketPhase::Rejected));
        assert_eq!(run(&[NeedsApproval, Superseded]), Ok(TicketPhase::Superseded));
        assert_eq!(run(&[Approved, Expired]), Ok(TicketPhase::Expired));
        assert_eq!(run(&[NeedsApproval, Cancelled]), Ok(TicketPhase::Cancelled));
    }

    #[test]
    fn a_change_under_way_cannot_be_rejected_and_cannot_start_unapproved() {
        use TicketEvent::*;
        let error = run(&[Approved, Started, Rejected]).expect_err("too late");
        assert_eq!(
            error.to_string(),
            "a ticket in phase InProgress cannot be rejected: the change is under way"
        );
        let error = run(&[NeedsApproval, Started]).expect_err("not approved");
        assert_eq!(error.to_string(), "a ticket in phase AwaitingApproval cannot start");
    }

    #[test]
    fn finished_tickets_accept_no_event() {
        for phase in TicketPhase::ALL.into_iter().filter(|p| p.is_terminal()) {
            for event in EVENTS {
                let error = transition(phase, event).expect_err("finished");
                assert!(error.to_string().ends_with(": it is finished"), "{error}");
            }
        }
    }

    #[test]
    fn every_phase_except_pending_is_reachable_and_nothing_leaves_a_finished_one() {
        let mut reached = vec![TicketPhase::Pending];
        let mut frontier = vec![TicketPhase::Pending];
        while let Some(phase) = frontier.pop() {
            for event in EVENTS {
                if let Ok(next) = transition(phase, event)
                    && !reached.contains(&next)
                {
                    reached.push(next);
                    frontier.push(next);
                }
            }
        }
        assert_eq!(reached.len(), TicketPhase::ALL.len());
    }
}
