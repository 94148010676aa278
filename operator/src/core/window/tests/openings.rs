//! Openings: merging, blackouts cutting them, month ends and leap days,
//! what "next" means while open, and specs that never open.

use super::{pair, pairs, spec, text, upcoming, utc, weekend_nights};
use crate::core::window::{BlackoutRef, HORIZON, Opening, State, WindowError};

#[test]
fn the_example_window_opens_friday_and_saturday_nights_and_freezes_over_year_end() {
    let schedule = weekend_nights();
    assert_eq!(
        upcoming(&schedule, "2026-12-10T00:00:00Z", 4),
        pairs(&[
            ("2026-12-11T21:00:00Z", "2026-12-12T03:00:00Z"),
            ("2026-12-12T21:00:00Z", "2026-12-13T03:00:00Z"),
            // The freeze begins at midnight, two hours into Friday's opening.
            ("2026-12-18T21:00:00Z", "2026-12-18T23:00:00Z"),
            // 1 and 2 January fall inside the freeze.
            ("2027-01-08T21:00:00Z", "2027-01-09T03:00:00Z"),
        ])
    );
}

#[test]
fn open_names_the_window_and_its_opening_and_the_reason_reads_as_a_sentence() {
    let state = weekend_nights().state_at(utc("2026-11-27T21:30:00Z"));
    assert_eq!(
        state,
        State::Open {
            current: crate::core::window::Interval {
                start: utc("2026-11-27T21:00:00Z"),
                end: utc("2026-11-28T03:00:00Z"),
            },
            windows: vec![Opening {
                window: "window \"friday-and-saturday-night\"".to_owned(),
                opened: utc("2026-11-27T21:00:00Z"),
            }],
            cut_by: None,
        }
    );
    assert_eq!(
        state.to_string(),
        "window \"friday-and-saturday-night\" opened at 2026-11-27T21:00:00Z; open until 2026-11-28T03:00:00Z"
    );
}

#[test]
fn a_blackout_wins_over_an_open_window_and_says_why() {
    let schedule = weekend_nights();
    // Saturday 2 January 2027, 23:00 Berlin time: the window would be open.
    let state = schedule.state_at(utc("2027-01-02T22:00:00Z"));
    assert_eq!(
        state,
        State::Blackout(BlackoutRef {
            index: 0,
            reason: "Year-end change freeze (CAB decision 2026-10-14)".to_owned(),
            start: utc("2026-12-18T23:00:00Z"),
            end: utc("2027-01-04T23:00:00Z"),
        })
    );
    assert_eq!(
        state.to_string(),
        "blackout \"Year-end change freeze (CAB decision 2026-10-14)\" (spec.blackouts[0]) from 2026-12-18T23:00:00Z until 2027-01-04T23:00:00Z"
    );
    // Blackouts are half-open: the first instant after one is not in it.
    assert_ne!(schedule.state_at(utc("2027-01-04T23:00:00Z")), state);
    assert!(matches!(
        schedule.state_at(utc("2026-12-18T23:00:00Z")),
        State::Blackout(_)
    ));
}

#[test]
fn an_opening_cut_short_by_a_blackout_says_which_one() {
    let state = weekend_nights().state_at(utc("2026-12-18T22:00:00Z"));
    assert_eq!(
        state.current().map(pair),
        Some(("2026-12-18T21:00:00Z".to_owned(), "2026-12-18T23:00:00Z".to_owned()))
    );
    assert!(
        state.to_string().ends_with(
            "open until 2026-12-18T23:00:00Z, when blackout \"Year-end change freeze (CAB decision 2026-10-14)\" (spec.blackouts[0]) begins"
        ),
        "{state}"
    );
}

#[test]
fn a_blackout_inside_an_opening_splits_it_in_two() {
    let schedule = spec("UTC")
        .window("0 20 * * *", "6h")
        .blackout("2026-06-01T22:00:00Z", "2026-06-01T23:00:00Z", "database migration")
        .schedule();
    assert_eq!(
        upcoming(&schedule, "2026-06-01T12:00:00Z", 3),
        pairs(&[
            ("2026-06-01T20:00:00Z", "2026-06-01T22:00:00Z"),
            ("2026-06-01T23:00:00Z", "2026-06-02T02:00:00Z"),
            ("2026-06-02T20:00:00Z", "2026-06-03T02:00:00Z"),
        ])
    );
    // While in the first half, the next opening is the second half.
    assert_eq!(
        schedule.next_opening(utc("2026-06-01T21:00:00Z")).map(pair),
        Ok(("2026-06-01T23:00:00Z".to_owned(), "2026-06-02T02:00:00Z".to_owned()))
    );
}

#[test]
fn the_next_opening_starts_strictly_after_the_instant_even_at_an_opening_start() {
    let schedule = spec("UTC").window("0 22 * * *", "2h").schedule();
    // At 22:00 exactly the opening is current, not next.
    assert!(schedule.state_at(utc("2026-06-01T22:00:00Z")).is_open());
    assert_eq!(
        upcoming(&schedule, "2026-06-01T22:00:00Z", 1),
        pairs(&[("2026-06-02T22:00:00Z", "2026-06-03T00:00:00Z")])
    );
    // At the end instant the opening is over (half-open).
    assert_eq!(schedule.state_at(utc("2026-06-02T00:00:00Z")), State::Closed);
}

#[test]
fn adjacent_openings_of_different_windows_merge_into_one() {
    let schedule = spec("UTC")
        .named("late", "0 22 * * *", "2h")
        .named("early", "0 0 * * *", "2h")
        .schedule();
    let before_midnight = schedule.state_at(utc("2026-06-01T23:30:00Z"));
    let after_midnight = schedule.state_at(utc("2026-06-02T00:30:00Z"));
    let merged = Some(("2026-06-01T22:00:00Z".to_owned(), "2026-06-02T02:00:00Z".to_owned()));
    assert_eq!(before_midnight.current().map(pair), merged);
    assert_eq!(after_midnight.current().map(pair), merged);
    assert!(
        before_midnight.to_string().starts_with("window \"late\" opened"),
        "{before_midnight}"
    );
    assert!(
        after_midnight.to_string().starts_with("window \"early\" opened"),
        "{after_midnight}"
    );
    assert_eq!(
        upcoming(&schedule, "2026-06-02T12:00:00Z", 1),
        pairs(&[("2026-06-02T22:00:00Z", "2026-06-03T02:00:00Z")])
    );
}

#[test]
fn overlapping_openings_merge_and_both_windows_are_named() {
    let schedule = spec("Europe/Berlin")
        .window("0 22 * * *", "3h")
        .window("0 23 * * *", "3h")
        .schedule();
    let state = schedule.state_at(utc("2026-06-01T21:30:00Z"));
    assert_eq!(
        state.current().map(pair),
        Some(("2026-06-01T20:00:00Z".to_owned(), "2026-06-02T00:00:00Z".to_owned()))
    );
    assert_eq!(
        state.to_string(),
        "spec.windows[0] \"0 22 * * *\" opened at 2026-06-01T20:00:00Z and spec.windows[1] \"0 23 * * *\" opened at 2026-06-01T21:00:00Z; open until 2026-06-02T00:00:00Z"
    );
}

#[test]
fn openings_of_one_window_that_touch_merge_too() {
    let schedule = spec("UTC").window("0 20-23 * * *", "1h").schedule();
    assert_eq!(
        upcoming(&schedule, "2026-06-01T12:00:00Z", 2),
        pairs(&[
            ("2026-06-01T20:00:00Z", "2026-06-02T00:00:00Z"),
            ("2026-06-02T20:00:00Z", "2026-06-03T00:00:00Z"),
        ])
    );
}

#[test]
fn a_window_open_around_the_clock_is_followed_to_the_horizon() {
    let schedule = spec("UTC").window("0 0 * * *", "1d").schedule();
    let at = utc("2026-06-01T12:00:00Z");
    let current = schedule.state_at(at).current().expect("always open");
    assert!(
        current.start <= at - HORIZON + chrono::TimeDelta::days(1),
        "{}",
        text(current.start)
    );
    assert!(current.end >= at + HORIZON, "{}", text(current.end));
    // Nothing new starts while it stays open; the preview shows it open.
    let error = schedule.next_opening(at).expect_err("no new opening");
    assert!(
        error.to_string().ends_with(": it is open without a break until then"),
        "{error}"
    );
    let preview = schedule.preview(at, 5).expect("open now");
    assert!(preview.state.is_open() && preview.openings.is_empty());
}

#[test]
fn month_ends_open_only_in_months_that_have_the_day() {
    let schedule = spec("Europe/Berlin").window("0 22 31 * *", "4h").schedule();
    assert_eq!(
        upcoming(&schedule, "2026-04-01T00:00:00Z", 5),
        pairs(&[
            ("2026-05-31T20:00:00Z", "2026-06-01T00:00:00Z"),
            ("2026-07-31T20:00:00Z", "2026-08-01T00:00:00Z"),
            ("2026-08-31T20:00:00Z", "2026-09-01T00:00:00Z"),
            ("2026-10-31T21:00:00Z", "2026-11-01T01:00:00Z"),
            ("2026-12-31T21:00:00Z", "2027-01-01T01:00:00Z"),
        ])
    );
}

#[test]
fn a_leap_day_window_opens_on_the_next_leap_day_even_beyond_the_horizon() {
    let schedule = spec("UTC").window("0 1 29 2 *", "1h").schedule();
    assert_eq!(
        upcoming(&schedule, "2026-03-01T00:00:00Z", 2),
        pairs(&[
            ("2028-02-29T01:00:00Z", "2028-02-29T02:00:00Z"),
            ("2032-02-29T01:00:00Z", "2032-02-29T02:00:00Z"),
        ])
    );
}

#[test]
fn a_schedule_for_30_february_never_opens_and_the_error_names_it() {
    let schedule = spec("Europe/Berlin").window("0 0 30 2 *", "4h").schedule();
    let error = schedule
        .next_opening(utc("2026-06-01T00:00:00Z"))
        .expect_err("never opens");
    assert!(matches!(error, WindowError::NeverOpens { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the window never opens: no opening starts after 2026-06-01T00:00:00Z and before 2028-06-01T00:00:00Z (refit looks 731 days ahead): spec.windows[0].schedule \"0 0 30 2 *\" matches no date in any year"
    );
    assert!(matches!(
        schedule.preview(utc("2026-06-01T00:00:00Z"), 5),
        Err(WindowError::NeverOpens { .. })
    ));
}

#[test]
fn a_blackout_over_every_opening_for_two_years_never_opens() {
    let schedule = spec("UTC")
        .window("0 22 * * FRI", "2h")
        .blackout("2026-01-01T00:00:00Z", "2029-01-01T00:00:00Z", "moratorium")
        .schedule();
    let error = schedule
        .next_opening(utc("2026-06-01T00:00:00Z"))
        .expect_err("never opens");
    assert_eq!(
        error.to_string(),
        "the window never opens: no opening starts after 2026-06-01T00:00:00Z and before 2028-06-01T00:00:00Z (refit looks 731 days ahead): every opening in that time falls inside spec.blackouts"
    );
    // A shorter freeze only delays the next opening.
    let schedule = spec("UTC")
        .window("0 22 * * FRI", "2h")
        .blackout("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "moratorium")
        .schedule();
    assert_eq!(
        upcoming(&schedule, "2026-06-01T00:00:00Z", 1),
        pairs(&[("2027-01-01T22:00:00Z", "2027-01-02T00:00:00Z")])
    );
}

#[test]
fn upcoming_returns_what_exists_before_the_horizon() {
    let schedule = spec("UTC")
        .window("0 22 * * FRI", "2h")
        .blackout("2026-06-06T00:00:00Z", "2030-01-01T00:00:00Z", "moratorium")
        .schedule();
    assert_eq!(
        upcoming(&schedule, "2026-05-25T00:00:00Z", 5),
        pairs(&[
            ("2026-05-29T22:00:00Z", "2026-05-30T00:00:00Z"),
            ("2026-06-05T22:00:00Z", "2026-06-06T00:00:00Z"),
        ])
    );
}
