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
