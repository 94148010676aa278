//! A waiting ticket's next step, decided from its phase and approval, its
//! policy, its window and the changes in progress: move to another phase
//! (with who and why, for the history), start, or wait (until when, and
//! what the ticket shows meanwhile).
//!
//! In order, for a ticket that has not started:
//! 0. a ticket that records a change made outside refit moves to
//!    `Recorded` at once;
//! 1. a rejection in `spec.approval` ends it `Rejected`;
//! 2. past `ticketExpiry` since its creation it ends `Expired`;
//! 3. while its policy or window is missing or invalid it waits (refit
//!    does not act on an object it cannot read), showing why;
//! 4. `Pending` and `AwaitingApproval` move to `Scheduled` once approved,
//!    or at once when the policy is in `Auto` mode; `Pending` otherwise
//!    moves to `AwaitingApproval`;
//! 5. `Scheduled` starts when the window allows a change of the policy's
//!    `rollout.progressDeadline` to start now ([`Schedule::may_start`]) and
//!    both the window's `maxConcurrentChanges` and the policy's
//!    `rollout.maxConcurrent` leave room.
//!
//! A waiting ticket shows the earliest instant it could start
//! (`scheduledFor`, [`Schedule::earliest_start`]) and comes back exactly
//! when something can change: that instant, the end of the span in which
//! it could start, or its expiry; a slot freed by another change and a
//! person's approval arrive as watch events. Nothing the ticket shows
//! depends on the instant it was computed at, other than through these
//! instants, so computing it again writes nothing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    api::{
        change_ticket::{Approval, TicketPhase},
        patch_policy::PolicyMode,
    },
    core::{
        duration,
        planning::AUTO_APPROVER_PREFIX,
        window::{Decision, Refusal, Rfc3339, Schedule, StartSpan},
    },
};

/// What the step looks at of the ticket.
#[derive(Debug, Clone, Copy)]
pub struct TicketFacts<'a> {
    /// Its phase.
    pub phase: TicketPhase,
    /// `spec.approval`.
    pub approval: Option<&'a Approval>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// The `scheduledFor` it shows now.
    pub shown_start: Option<DateTime<Utc>>,
    /// It records a change made outside refit (it never starts).
    pub records: bool,
}

/// The ticket's policy, as far as the step needs it.
#[derive(Debug, Clone, Copy)]
pub enum PolicyFacts<'a> {
    /// A policy refit can use.
    Valid {
        /// Its name.
        name: &'a str,
        /// `spec.mode`.
        mode: PolicyMode,
        /// `spec.ticketExpiry`.
        ticket_expiry: Duration,
        /// `spec.rollout.progressDeadline`: how long a change is expected
        /// to take.
        progress_deadline: Duration,
        /// `spec.rollout.maxConcurrent`.
        max_concurrent: u32,
    },
    /// A policy whose spec refit cannot use.
    Invalid {
        /// Its name.
        name: &'a str,
    },
    /// No such policy.
    Missing {
        /// The name the ticket gives.
        name: &'a str,
    },
}

/// The ticket's window.
#[derive(Debug, Clone, Copy)]
pub enum WindowFacts<'a> {
    /// A window refit can use.
    Valid {
        /// Its name.
        name: &'a str,
        /// Its compiled schedule.
        schedule: &'a Schedule,
    },
    /// A window whose spec refit cannot use.
    Invalid {
        /// Its name.
        name: &'a str,
    },
    /// No such window.
    Missing {
        /// The name the ticket gives.
        name: &'a str,
    },
}

/// Changes in progress besides this ticket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Under the ticket's window.
    pub window: u32,
    /// Of the ticket's policy.
    pub policy: u32,
}

/// A transition and its history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The phase entered.
    pub to: TicketPhase,
    /// Who caused it: `refit`, or the person who decided.
    pub actor: String,
    /// What happened.
    pub message: String,
}

/// What a waiting (or started, or finished) ticket shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// `status.scheduledFor`.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Whether the ticket can go ahead as things are (the `Ready`
    /// condition): `false` while its policy or window cannot be used.
    pub ready: bool,
    /// The condition's reason.
    pub reason: &'static str,
    /// The condition's message.
    pub message: String,
    /// When to look again without any other change; `None`: only when
    /// something changes.
    pub wake: Option<DateTime<Utc>>,
}

/// The next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Move to another phase.
    Move(Move),
    /// Take a slot and start: the move to `InProgress`.
    Start(Move),
    /// Stay, showing this.
    Wait(Waiting),
}

/// Reasons of a ticket's `Ready` condition.
pub mod reasons {
    /// Waiting for a person's approval.
    pub const AWAITING_APPROVAL: &str = "AwaitingApproval";
    /// Approved; waiting for the window to allow the start.
    pub const WAITING_FOR_WINDOW: &str = "WaitingForWindow";
    /// Approved, the window allows it, but too many changes are in progress.
    pub const WAITING_FOR_SLOT: &str = "WaitingForSlot";
    /// No opening of the window is long enough for the change.
    pub const NO_OPENING_FITS: &str = "NoOpeningFits";
    /// The policy is missing or invalid.
    pub const POLICY_UNUSABLE: &str = "PolicyUnusable";
    /// The window is missing or invalid.
    pub const WINDOW_UNUSABLE: &str = "WindowUnusable";
    /// The change has started.
    pub const STARTED: &str = "Started";
    /// The ticket has ended.
    pub const ENDED: &str = "Ended";
}

/// The actor of refit's own steps.
pub const REFIT: &str = "refit";

/// The expiry used while the policy cannot be read (its default).
const DEFAULT_EXPIRY: Duration = Duration::from_secs(14 * 86_400);

/// The next step of `ticket` at `now`.
pub fn next_step(
    ticket: &TicketFacts<'_>,
    policy: &PolicyFacts<'_>,
    window: &WindowFacts<'_>,
    load: Load,
    now: DateTime<Utc>,
) -> Step {
    if ticket.phase.is_terminal() {
        return Step::Wait(settled(reasons::ENDED, format!("the ticket ended {}", ticket.phase)));
    }
    if ticket.records {
        return Step::Move(Move {
            to: TicketPhase::Recorded,
            actor: REFIT.to_owned(),
            message: "recorded for the audit trail: refit did not make this change and does not revert it".to_owned(),
        });
    }
    if ticket.phase == TicketPhase::InProgress {
        return Step::Wait(settled(reasons::STARTED, "the change is under way".to_owned()));
    }
    if let Some(approval) = ticket.approval.filter(|a| !a.approves()) {
        return Step::Move(Move {
            to: TicketPhase::Rejected,
            actor: approval.by.clone(),
            message: decided("rejected", approval),
        });
    }
    let expiry = match policy {
        PolicyFacts::Valid { ticket_expiry, .. } => *ticket_expiry,
        _ => DEFAULT_EXPIRY,
    };
    let expires = ticket.created + TimeDelta::from_std(expiry).unwrap_or(TimeDelta::MAX);
    if now >= expires {
        return Step::Move(Move {
            to: TicketPhase::Expired,
            actor: REFIT.to_owned(),
            message: format!(
                "not started within ticketExpiry ({}) of its creation at {}",
                duration::format(expiry),
                Rfc3339(ticket.created)
            ),
        });
    }
    let (name, mode, expected, max_concurrent) = match policy {
        PolicyFacts::Valid {
            name,
            mode,
            progress_deadline,
            max_concurrent,
            ..
        } => (*name, *mode, *progress_deadline, *max_concurrent),
        PolicyFacts::Invalid { name } => {
            return Step::Wait(unusable(
                reasons::POLICY_UNUSABLE,
                format!("policy {name} is invalid (see its Ready condition): nothing moves until it is fixed"),
                expires,
            ));
        }
        PolicyFacts::Missing { name } => {
            return Step::Wait(unusable(
                reasons::POLICY_UNUSABLE,
                format!("policy {name} does not exist"),
                expires,
            ));
        }
    };
    // An approval in the policy's name counts only while the policy is in
    // Auto mode: a ticket approved that way (or by anyone writing
    // `by: policy/<name>`) waits for a person once the policy asks for one.
    let by_person = |a: &&Approval| !a.by.starts_with(AUTO_APPROVER_PREFIX);
    let approved = ticket
        .approval
        .filter(|a| a.approves() && (mode == PolicyMode::Auto || by_person(a)));
    if ticket.phase == TicketPhase::Scheduled && approved.is_none() && mode != PolicyMode::Auto {
        return Step::Wait(Waiting {
            scheduled_for: None,
            ready: true,
            reason: reasons::AWAITING_APPROVAL,
            message: format!(
                "scheduled while policy {name} was in Auto mode, which it no longer is: it does not start without a \
                 person's approval, and refit proposes the change again for one"
            ),
            wake: Some(expires),
        });
    }
    if ticket.phase != TicketPhase::Scheduled {
        if let Some(approval) = approved {
            return Step::Move(approve(approval));
        }
        if mode == PolicyMode::Auto {
            return Step::Move(Move {
                to: TicketPhase::Scheduled,
                actor: REFIT.to_owned(),
                message: format!("approved: policy {name} is in Auto mode"),
            });
        }
        if ticket.phase == TicketPhase::Pending {
            return Step::Move(Move {
                to: TicketPhase::AwaitingApproval,
                actor: REFIT.to_owned(),
                message: format!("policy {name} is in Approve mode: waiting for a person's approval"),
            });
        }
    }
    let (window_name, schedule) = match window {
        WindowFacts::Valid { name, schedule } => (*name, *schedule),
        WindowFacts::Invalid { name } => {
            return Step::Wait(unusable(
                reasons::WINDOW_UNUSABLE,
                format!("window {name} is invalid (see its Ready condition): no change can start under it"),
                expires,
            ));
        }
        WindowFacts::Missing { name } => {
            return Step::Wait(unusable(
                reasons::WINDOW_UNUSABLE,
                format!("window {name} does not exist"),
                expires,
            ));
        }
    };
    let span = schedule.earliest_start(now, expected).ok().flatten();
    let shown = shown_start(schedule, ticket.shown_start, span, now, expected);
    let wake = span
        .map(|span| {
            if span.from > now {
                span.from
            } else {
                span.until + TimeDelta::seconds(1)
            }
        })
        .map_or(expires, |at| at.min(expires));
    let no_fit = || {
        format!(
            "no opening of window {window_name} is long enough to start a change of {} \
             (rollout.progressDeadline) with minRemaining {} left",
            duration::format(expected),
            duration::format(schedule.min_remaining())
        )
    };
    if ticket.phase != TicketPhase::Scheduled {
        let message = match shown {
            Some(at) => format!(
                "waiting for a person's approval; if approved, it can start at {}",
                Rfc3339(at)
            ),
            None => format!("waiting for a person's approval; {}", no_fit()),
        };
        return Step::Wait(Waiting {
            scheduled_for: shown,
            ready: true,
            reason: reasons::AWAITING_APPROVAL,
            message,
            wake: Some(wake),
        });
    }
    let window_full = |active: u32, max: u32| {
        format!("window {window_name} has no free slot: {active} of its maxConcurrentChanges ({max}) are in use")
    };
    match schedule.may_start(now, expected, load.window) {
        Decision::Start { opening } if load.policy < max_concurrent => Step::Start(Move {
            to: TicketPhase::InProgress,
            actor: REFIT.to_owned(),
            message: format!("started in window {window_name}, open until {}", Rfc3339(opening.end)),
        }),
        Decision::Start { .. } => Step::Wait(Waiting {
            scheduled_for: shown,
            ready: true,
            reason: reasons::WAITING_FOR_SLOT,
            message: format!(
                "policy {name} has {} of its rollout.maxConcurrent ({max_concurrent}) changes in progress",
                load.policy
            ),
            wake: Some(wake),
        }),
        Decision::Wait(Refusal::AtCapacity { active, max }) => Step::Wait(Waiting {
            scheduled_for: shown,
            ready: true,
            reason: reasons::WAITING_FOR_SLOT,
            message: window_full(active, max),
            wake: Some(wake),
        }),
        Decision::Wait(refusal) => {
            let (reason, message) = match shown {
                Some(at) => (
                    reasons::WAITING_FOR_WINDOW,
                    format!(
                        "waiting for window {window_name}: {}; it can start at {}",
                        stable(&refusal, schedule),
                        Rfc3339(at)
                    ),
                ),
                None => (reasons::NO_OPENING_FITS, no_fit()),
            };
            Step::Wait(Waiting {
                scheduled_for: shown,
                ready: true,
                reason,
                message,
                wake: Some(wake),
            })
        }
    }
}

/// The move an approval makes.
fn approve(approval: &Approval) -> Move {
    match approval.by.strip_prefix(AUTO_APPROVER_PREFIX) {
        Some(policy) => Move {
            to: TicketPhase::Scheduled,
            actor: REFIT.to_owned(),
            message: format!("approved: policy {policy} is in Auto mode"),
        },
        None => Move {
            to: TicketPhase::Scheduled,
            actor: approval.by.clone(),
            message: decided("approved", approval),
        },
    }
}

/// `approved by jana: CAB 2026-12-03`.
fn decided(verb: &str, approval: &Approval) -> String {
    match approval.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(reason) => format!("{verb} by {}: {reason}", approval.by),
        None => format!("{verb} by {}", approval.by),
    }
}

/// What a started or finished ticket shows: no start, no wake.
fn settled(reason: &'static str, message: String) -> Waiting {
    Waiting {
        scheduled_for: None,
        ready: true,
        reason,
        message,
        wake: None,
    }
}

/// What a ticket shows while its policy or window cannot be used.
fn unusable(reason: &'static str, message: String, expires: DateTime<Utc>) -> Waiting {
    Waiting {
        scheduled_for: None,
        ready: false,
        reason,
        message,
        wake: Some(expires),
    }
}

/// The start to show: the one shown already while it is still a start of
/// the same span (so a ticket waiting in an open window does not show a
/// new instant every time it is looked at), else the span's first.
fn shown_start(
    schedule: &Schedule,
    shown: Option<DateTime<Utc>>,
    span: Option<StartSpan>,
    now: DateTime<Utc>,
    expected: Duration,
) -> Option<DateTime<Utc>> {
    let span = span?;
    if span.from == now
        && let Some(shown) = shown.filter(|shown| *shown <= now)
        && let Ok(Some(earlier)) = schedule.earliest_start(shown, expected)
        && earlier.from == shown
        && earlier.until >= now
    {
        return Some(shown);
    }
    Some(span.from)
}

/// A refusal in words that do not change from one second to the next.
fn stable(refusal: &Refusal, schedule: &Schedule) -> String {
    match refusal {
        Refusal::TooLittleLeft { end, .. } => format!(
            "less than minRemaining ({}) is left before the opening ends at {}",
            duration::format(schedule.min_remaining()),
            Rfc3339(*end)
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
