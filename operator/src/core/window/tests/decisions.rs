//! When a change may start, on the example window (Berlin, Friday and
//! Saturday 22:00 for 6h, year-end freeze, 45m minRemaining, 2 at once).
//! Friday 27 November 2026 opens at 21:00Z and closes at 03:00Z.

use std::time::Duration;

use super::{utc, weekend_nights};
use crate::core::window::{Decision, Refusal};

const MINUTE: Duration = Duration::from_secs(60);

fn decide(at: &str, expected_minutes: u64, active: u32) -> Decision {
    weekend_nights().may_start(utc(at), MINUTE * expected_minutes as u32, active)
}

fn refusal(at: &str, expected_minutes: u64, active: u32) -> Refusal {
    match decide(at, expected_minutes, active) {
        Decision::Wait(refusal) => refusal,
        Decision::Start { opening } => panic!("a change at {at} was allowed in {opening:?}"),
    }
}

#[test]
fn a_change_that_fits_in_the_opening_may_start() {
    let decision = decide("2026-11-27T21:30:00Z", 60, 0);
    assert!(decision.may_start(), "{decision:?}");
    assert_eq!(
        decision,
        Decision::Start {
            opening: crate::core::window::Interval {
                start: utc("2026-11-27T21:00:00Z"),
                end: utc("2026-11-28T03:00:00Z"),
            }
        }
    );
}

#[test]
fn nothing_starts_while_the_window_is_closed_or_frozen() {
    assert_eq!(refusal("2026-11-25T21:30:00Z", 0, 0), Refusal::Closed);
    let Refusal::Blackout(blackout) = refusal("2026-12-19T21:30:00Z", 0, 0) else {
        panic!("the freeze must refuse");
    };
    assert_eq!(blackout.index, 0);
    assert_eq!(
        Refusal::Blackout(blackout).to_string(),
        "blackout \"Year-end change freeze (CAB decision 2026-10-14)\" (spec.blackouts[0]) is in effect until 2027-01-04T23:00:00Z"
    );
}

#[test]
fn min_remaining_holds_to_the_second() {
    // 45 minutes before the end: exactly enough.
    assert!(decide("2026-11-28T02:15:00Z", 0, 0).may_start());
    let too_late = refusal("2026-11-28T02:15:01Z", 0, 0);
    assert!(matches!(too_late, Refusal::TooLittleLeft { .. }), "{too_late:?}");
    assert_eq!(
        refusal("2026-11-28T02:30:00Z", 0, 0).to_string(),
        "only 30m is left before the opening ends at 2026-11-28T03:00:00Z; minRemaining is 45m"
    );
    assert_eq!(
        weekend_nights().start_deadline(crate::core::window::Interval {
            start: utc("2026-11-27T21:00:00Z"),
            end: utc("2026-11-28T03:00:00Z"),
        }),
        Some(utc("2026-11-28T02:15:00Z"))
    );
}

#[test]
fn a_change_must_finish_before_the_opening_ends() {
    assert!(decide("2026-11-28T01:00:00Z", 120, 0).may_start());
    assert_eq!(
        refusal("2026-11-28T01:00:00Z", 121, 0).to_string(),
        "a change of 2h1m would not finish before the opening ends at 2026-11-28T03:00:00Z"
    );
}

#[test]
fn a_change_that_would_run_into_a_blackout_waits() {
    // Friday 18 December opens at 21:00Z; the freeze starts at 23:00Z.
    assert!(decide("2026-12-18T21:30:00Z", 90, 0).may_start());
    let refused = refusal("2026-12-18T21:30:00Z", 91, 0);
    assert!(
        matches!(&refused, Refusal::RunsPastEnd { blackout: Some(b), .. } if b.index == 0),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "a change of 1h31m would not finish before the opening ends at 2026-12-18T23:00:00Z, when blackout \"Year-end change freeze (CAB decision 2026-10-14)\" (spec.blackouts[0]) begins"
    );
    // minRemaining counts to the blackout, too.
    assert!(matches!(
        refusal("2026-12-18T22:30:00Z", 0, 0),
        Refusal::TooLittleLeft { .. }
    ));
}

#[test]
fn max_concurrent_changes_caps_changes_in_progress() {
    assert!(decide("2026-11-27T21:30:00Z", 60, 1).may_start());
    assert_eq!(
        refusal("2026-11-27T21:30:00Z", 60, 2),
        Refusal::AtCapacity { active: 2, max: 2 }
    );
    assert_eq!(
        refusal("2026-11-27T21:30:00Z", 60, 5).to_string(),
        "5 changes are in progress; maxConcurrentChanges is 2"
    );
}

#[test]
fn the_window_is_checked_before_capacity() {
    assert_eq!(refusal("2026-11-25T21:30:00Z", 0, 9), Refusal::Closed);
}

#[test]
fn an_absurdly_long_change_is_refused_not_a_panic() {
    let decision = weekend_nights().may_start(utc("2026-11-27T21:30:00Z"), Duration::MAX, 0);
    assert!(
        matches!(decision, Decision::Wait(Refusal::RunsPastEnd { .. })),
        "{decision:?}"
    );
}

/// When a change of `expected_minutes` can start at the earliest, from
/// `after`, as text.
fn earliest(after: &str, expected_minutes: u32) -> Option<String> {
    weekend_nights()
        .earliest_start(utc(after), MINUTE * expected_minutes)
        .expect("the window opens")
        .map(|span| super::text(span.from))
}

#[test]
fn a_change_waiting_midweek_can_start_when_friday_night_opens() {
    // Wednesday noon in Berlin; Friday 22:00 CET is 21:00Z.
    assert_eq!(
        earliest("2026-11-25T11:00:00Z", 10).as_deref(),
        Some("2026-11-27T21:00:00Z")
    );
}

#[test]
fn a_change_that_fits_the_open_window_can_start_now() {
    assert_eq!(
        earliest("2026-11-27T21:30:00Z", 60).as_deref(),
        Some("2026-11-27T21:30:00Z")
    );
}

#[test]
fn a_change_that_no_longer_fits_tonight_waits_for_saturday_night() {
    // 02:30Z leaves 30 minutes, under minRemaining (45m); at 02:00Z a
    // 90-minute change would run past 03:00Z.
    assert_eq!(
        earliest("2026-11-28T02:30:00Z", 10).as_deref(),
        Some("2026-11-28T21:00:00Z")
    );
    assert_eq!(
        earliest("2026-11-28T02:00:00Z", 90).as_deref(),
        Some("2026-11-28T21:00:00Z")
    );
    // A 60-minute change still fits at 02:00Z.
    assert_eq!(
        earliest("2026-11-28T02:00:00Z", 60).as_deref(),
        Some("2026-11-28T02:00:00Z")
    );
}

#[test]
fn the_year_end_freeze_moves_the_earliest_start_into_january() {
    // Friday 18 December opens at 21:00Z but the freeze begins at 23:00Z:
    // a change of two and a half hours does not fit, nor in any opening
    // until the freeze ends on 4 January; the next is Friday 8 January.
    assert_eq!(
        earliest("2026-12-18T20:00:00Z", 150).as_deref(),
        Some("2027-01-08T21:00:00Z")
    );
    // Two hours fit exactly, from the opening's start.
    assert_eq!(
        earliest("2026-12-18T20:00:00Z", 120).as_deref(),
        Some("2026-12-18T21:00:00Z")
    );
    // Inside the freeze, the same as after it.
    assert_eq!(
        earliest("2026-12-24T12:00:00Z", 10).as_deref(),
        Some("2027-01-08T21:00:00Z")
    );
}

#[test]
fn a_change_longer_than_every_opening_has_no_earliest_start() {
    assert_eq!(earliest("2026-11-25T11:00:00Z", 7 * 60), None);
}

#[test]
fn the_earliest_start_is_a_start_the_decision_allows() {
    for (after, minutes) in [
        ("2026-11-25T11:00:00Z", 10),
        ("2026-11-28T02:00:00Z", 90),
        ("2026-12-18T20:00:00Z", 120),
        ("2026-12-18T20:00:00Z", 150),
    ] {
        let at = earliest(after, minutes).expect("a start");
        assert!(
            decide(&at, u64::from(minutes), 0).may_start(),
            "{after} + {minutes}m: {at}"
        );
    }
}
