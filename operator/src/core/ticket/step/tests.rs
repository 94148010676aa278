//! A ticket of policy `storefront-web` under the Berlin weekend-nights
//! window (Friday and Saturday 22:00 for 6h, 45m minRemaining, two changes
//! at once, year-end freeze from 19 December 00:00 CET): Friday 27 November
//! 2026 opens at 21:00Z and closes at 03:00Z.

use super::*;
use crate::api::ChangeWindowSpec;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn weekend_nights() -> Schedule {
    let spec: ChangeWindowSpec = serde_json::from_value(serde_json::json!({
        "timezone": "Europe/Berlin",
        "windows": [{"name": "friday-and-saturday-night", "schedule": "0 22 * * FRI,SAT", "duration": "6h"}],
        "blackouts": [{"start": "2026-12-18T23:00:00Z", "end": "2027-01-04T23:00:00Z", "reason": "Year-end change freeze"}],
        "maxConcurrentChanges": 2,
        "minRemaining": "45m",
    }))
    .expect("spec");
    Schedule::compile(&spec).expect("valid")
}

const MINUTES: u64 = 60;

fn policy(mode: PolicyMode) -> PolicyFacts<'static> {
    PolicyFacts::Valid {
        name: "storefront-web",
        mode,
        ticket_expiry: Duration::from_secs(14 * 86_400),
        progress_deadline: Duration::from_secs(10 * MINUTES),
        max_concurrent: 1,
    }
}

/// A ticket created on Tuesday 24 November at 09:12Z.
fn ticket(phase: TicketPhase, approval: Option<&Approval>) -> TicketFacts<'_> {
    TicketFacts {
        phase,
        approval,
        created: utc("2026-11-24T09:12:40Z"),
        shown_start: None,
        records: false,
    }
}

/// Jana's decision, as `kubectl patch` writes it: `approved: true` or
/// `approved: false`.
fn jana(approved: bool) -> Approval {
    Approval {
        approved,
        rejected: false,
        by: "jana".into(),
        reason: Some("CAB 2026-12-03".into()),
    }
}

fn step_at(ticket: &TicketFacts<'_>, policy: PolicyFacts<'_>, load: Load, at: &str) -> Step {
    let schedule = weekend_nights();
    let window = WindowFacts::Valid {
        name: "weekend-nights",
        schedule: &schedule,
    };
    next_step(ticket, &policy, &window, load, utc(at))
}

fn waiting(step: Step) -> Waiting {
    match step {
        Step::Wait(waiting) => waiting,
        other => panic!("expected the ticket to wait, got {other:?}"),
    }
}

fn moved(step: Step) -> Move {
    match step {
        Step::Move(moved) => moved,
        other => panic!("expected a move, got {other:?}"),
    }
}

const WEDNESDAY: &str = "2026-11-25T12:00:00Z";
const FRIDAY_NIGHT: &str = "2026-11-27T21:30:00Z";

#[test]
fn a_new_ticket_of_an_approve_policy_waits_for_a_person() {
    let step = moved(step_at(
        &ticket(TicketPhase::Pending, None),
        policy(PolicyMode::Approve),
        Load::default(),
        WEDNESDAY,
    ));
    assert_eq!(step.to, TicketPhase::AwaitingApproval);
    assert_eq!(step.actor, "refit");
    assert_eq!(
        step.message,
        "policy storefront-web is in Approve mode: waiting for a person's approval"
    );
}

#[test]
fn an_auto_policy_approves_its_tickets_and_the_history_says_so() {
    let by_policy = Approval {
        approved: true,
        rejected: false,
        by: "policy/storefront-web".into(),
        reason: Some("the policy is in Auto mode".into()),
    };
    for approval in [Some(&by_policy), None] {
        let step = moved(step_at(
            &ticket(TicketPhase::Pending, approval),
            policy(PolicyMode::Auto),
            Load::default(),
            WEDNESDAY,
        ));
        assert_eq!(
            (step.to, step.actor.as_str(), step.message.as_str()),
            (
                TicketPhase::Scheduled,
                "refit",
                "approved: policy storefront-web is in Auto mode"
            )
        );
    }
}

#[test]
fn a_persons_approval_schedules_the_ticket_in_their_name() {
    let approval = jana(true);
    let step = moved(step_at(
        &ticket(TicketPhase::AwaitingApproval, Some(&approval)),
        policy(PolicyMode::Approve),
        Load::default(),
        WEDNESDAY,
    ));
    assert_eq!(
        (step.to, step.actor.as_str(), step.message.as_str()),
        (TicketPhase::Scheduled, "jana", "approved by jana: CAB 2026-12-03")
    );
}

#[test]
fn a_rejection_ends_the_ticket_even_after_an_approval() {
    let rejection = jana(false);
    for phase in [TicketPhase::AwaitingApproval, TicketPhase::Scheduled] {
        let step = moved(step_at(
            &ticket(phase, Some(&rejection)),
            policy(PolicyMode::Approve),
            Load::default(),
            FRIDAY_NIGHT,
        ));
        assert_eq!(
            (step.to, step.actor.as_str(), step.message.as_str()),
            (TicketPhase::Rejected, "jana", "rejected by jana: CAB 2026-12-03")
        );
    }
}

#[test]
fn a_ticket_not_started_within_its_expiry_expires() {
    let approval = jana(true);
    let scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    // Created 24 November 09:12:40Z; 14 days later.
    let step = moved(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load::default(),
        "2026-12-08T09:12:40Z",
    ));
    assert_eq!(step.to, TicketPhase::Expired);
    assert_eq!(
        step.message,
        "not started within ticketExpiry (14d) of its creation at 2026-11-24T09:12:40Z"
    );
    let before = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load::default(),
        "2026-12-08T09:12:39Z",
    ));
    assert_eq!(
        before.wake,
        Some(utc("2026-12-08T09:12:40Z")),
        "it comes back at its expiry"
    );
}

#[test]
fn a_scheduled_ticket_waits_for_the_window_and_comes_back_when_it_opens() {
    let approval = jana(true);
    let shown = waiting(step_at(
        &ticket(TicketPhase::Scheduled, Some(&approval)),
        policy(PolicyMode::Approve),
        Load::default(),
        WEDNESDAY,
    ));
    assert_eq!(shown.scheduled_for, Some(utc("2026-11-27T21:00:00Z")));
    assert_eq!(shown.wake, Some(utc("2026-11-27T21:00:00Z")));
    assert_eq!(shown.reason, reasons::WAITING_FOR_WINDOW);
    assert_eq!(
        shown.message,
        "waiting for window weekend-nights: no window is open; it can start at 2026-11-27T21:00:00Z"
    );
}

#[test]
fn a_scheduled_ticket_starts_in_an_open_window_with_room() {
    let approval = jana(true);
    let step = step_at(
        &ticket(TicketPhase::Scheduled, Some(&approval)),
        policy(PolicyMode::Approve),
        Load { window: 1, policy: 0 },
        FRIDAY_NIGHT,
    );
    assert_eq!(
        step,
        Step::Start(Move {
            to: TicketPhase::InProgress,
            actor: "refit".into(),
            message: "started in window weekend-nights, open until 2026-11-28T03:00:00Z".into(),
        })
    );
}

#[test]
fn a_full_window_or_a_busy_policy_keeps_the_ticket_waiting_for_a_slot() {
    let approval = jana(true);
    let scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    let full = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load { window: 2, policy: 0 },
        FRIDAY_NIGHT,
    ));
    assert_eq!(full.reason, reasons::WAITING_FOR_SLOT);
    assert_eq!(
        full.message,
        "window weekend-nights has no free slot: 2 of its maxConcurrentChanges (2) are in use"
    );
    // It could start now, and stops being able to at 02:15Z (45m left):
    // it looks again just after.
    assert_eq!(full.scheduled_for, Some(utc(FRIDAY_NIGHT)));
    assert_eq!(full.wake, Some(utc("2026-11-28T02:15:01Z")));
    let busy = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load { window: 0, policy: 1 },
        FRIDAY_NIGHT,
    ));
    assert_eq!(
        busy.message,
        "policy storefront-web has 1 of its rollout.maxConcurrent (1) changes in progress"
    );
}

#[test]
fn a_ticket_waiting_in_an_open_window_shows_the_same_start_when_looked_at_again() {
    let approval = jana(true);
    let mut scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    let first = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load { window: 2, policy: 0 },
        FRIDAY_NIGHT,
    ));
    scheduled.shown_start = first.scheduled_for;
    let later = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load { window: 2, policy: 0 },
        "2026-11-27T23:10:00Z",
    ));
    assert_eq!(first, later, "nothing to write");
    // Saturday night is another span: the start shown moves on.
    let saturday = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load { window: 2, policy: 0 },
        "2026-11-28T21:05:00Z",
    ));
    assert_eq!(saturday.scheduled_for, Some(utc("2026-11-28T21:05:00Z")));
}

#[test]
fn the_year_end_freeze_holds_a_scheduled_ticket_into_january() {
    let approval = jana(true);
    let scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    let mut long = policy(PolicyMode::Approve);
    if let PolicyFacts::Valid { ticket_expiry, .. } = &mut long {
        *ticket_expiry = Duration::from_secs(90 * 86_400);
    }
    let frozen = waiting(step_at(&scheduled, long, Load::default(), "2026-12-24T20:00:00Z"));
    assert_eq!(frozen.scheduled_for, Some(utc("2027-01-08T21:00:00Z")));
    assert_eq!(
        frozen.message,
        "waiting for window weekend-nights: blackout \"Year-end change freeze\" (spec.blackouts[0]) is in effect \
         until 2027-01-04T23:00:00Z; it can start at 2027-01-08T21:00:00Z"
    );
}

#[test]
fn too_little_left_of_the_opening_is_said_without_a_ticking_clock() {
    let approval = jana(true);
    let scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    let late = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load::default(),
        "2026-11-28T02:30:00Z",
    ));
    let later = waiting(step_at(
        &scheduled,
        policy(PolicyMode::Approve),
        Load::default(),
        "2026-11-28T02:40:00Z",
    ));
    assert_eq!(late, later);
    assert_eq!(
        late.message,
        "waiting for window weekend-nights: less than minRemaining (45m) is left before the opening ends at \
         2026-11-28T03:00:00Z; it can start at 2026-11-28T21:00:00Z"
    );
}

#[test]
fn a_change_longer_than_any_opening_says_so() {
    let approval = jana(true);
    let scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    let mut long = policy(PolicyMode::Approve);
    if let PolicyFacts::Valid { progress_deadline, .. } = &mut long {
        *progress_deadline = Duration::from_secs(7 * 3600);
    }
    let shown = waiting(step_at(&scheduled, long, Load::default(), WEDNESDAY));
    assert_eq!(shown.reason, reasons::NO_OPENING_FITS);
    assert_eq!(shown.scheduled_for, None);
    assert_eq!(shown.wake, Some(utc("2026-12-08T09:12:40Z")), "only its expiry");
}

#[test]
fn a_ticket_awaiting_approval_shows_when_it_could_start() {
    let shown = waiting(step_at(
        &ticket(TicketPhase::AwaitingApproval, None),
        policy(PolicyMode::Approve),
        Load::default(),
        WEDNESDAY,
    ));
    assert_eq!(shown.reason, reasons::AWAITING_APPROVAL);
    assert_eq!(shown.scheduled_for, Some(utc("2026-11-27T21:00:00Z")));
    assert_eq!(
        shown.message,
        "waiting for a person's approval; if approved, it can start at 2026-11-27T21:00:00Z"
    );
}

#[test]
fn an_unusable_policy_or_window_holds_the_ticket_and_says_why() {
    let approval = jana(true);
    let scheduled = ticket(TicketPhase::Scheduled, Some(&approval));
    let schedule = weekend_nights();
    let window = WindowFacts::Valid {
        name: "weekend-nights",
        schedule: &schedule,
    };
    let invalid = waiting(next_step(
        &scheduled,
        &PolicyFacts::Invalid { name: "storefront-web" },
        &window,
        Load::default(),
        utc(FRIDAY_NIGHT),
    ));
    assert!(!invalid.ready);
    assert_eq!(invalid.reason, reasons::POLICY_UNUSABLE);
    let missing = waiting(next_step(
        &scheduled,
        &policy(PolicyMode::Approve),
        &WindowFacts::Missing { name: "weekend-nights" },
        Load::default(),
        utc(FRIDAY_NIGHT),
    ));
    assert_eq!(missing.message, "window weekend-nights does not exist");
    assert!(!missing.ready);
}

#[test]
fn a_started_ticket_is_left_to_the_execution_and_shows_no_start() {
    let shown = waiting(step_at(
        &ticket(TicketPhase::InProgress, None),
        policy(PolicyMode::Approve),
        Load::default(),
        FRIDAY_NIGHT,
    ));
    assert_eq!(shown.reason, reasons::STARTED);
    assert_eq!(shown.message, "the change is under way");
    assert_eq!((shown.wake, shown.scheduled_for), (None, None));
}

#[test]
fn an_approval_in_the_policys_name_counts_only_while_the_policy_is_in_auto_mode() {
    let by_policy = Approval {
        approved: true,
        rejected: false,
        by: "policy/storefront-web".into(),
        reason: None,
    };
    // Written by someone into an Approve policy's ticket: still waiting.
    let awaiting = waiting(step_at(
        &ticket(TicketPhase::AwaitingApproval, Some(&by_policy)),
        policy(PolicyMode::Approve),
        Load::default(),
        FRIDAY_NIGHT,
    ));
    assert_eq!(awaiting.reason, reasons::AWAITING_APPROVAL);
    // Scheduled in Auto mode, and the policy is back in Approve mode: it
    // does not start.
    for approval in [Some(&by_policy), None] {
        let held = waiting(step_at(
            &ticket(TicketPhase::Scheduled, approval),
            policy(PolicyMode::Approve),
            Load::default(),
            FRIDAY_NIGHT,
        ));
        assert_eq!(held.reason, reasons::AWAITING_APPROVAL);
        assert!(
            held.message.contains("does not start without a person's approval"),
            "{}",
            held.message
        );
    }
}

#[test]
fn a_record_of_a_change_made_outside_refit_is_recorded_at_once_whatever_the_policy_and_window() {
    let record = TicketFacts {
        records: true,
        ..ticket(TicketPhase::Pending, None)
    };
    let missing = PolicyFacts::Missing { name: "web" };
    let window = WindowFacts::Missing { name: "none" };
    let step = next_step(&record, &missing, &window, Load::default(), utc(FRIDAY_NIGHT));
    assert_eq!(
        step,
        Step::Move(Move {
            to: TicketPhase::Recorded,
            actor: REFIT.to_owned(),
            message: "recorded for the audit trail: refit did not make this change and does not revert it".to_owned(),
        })
    );
}
