//! Daylight saving, table by table: both 2026 transitions in Europe/Berlin,
//! America/New_York and Australia/Lord_Howe (a 30-minute shift), and the
//! same schedules in Asia/Kolkata and UTC, which have none. The expected
//! instants follow from the zones' rules; the transitions themselves are
//! asserted first, so a table that fails because the tz data changed says so.

use chrono::{TimeDelta, TimeZone};
use chrono_tz::Tz;

use super::{pairs, spec, upcoming, utc};
use crate::core::window::State;

/// The instant at which `zone`'s UTC offset changes between `before` and
/// `after` (one-minute resolution is enough: all these changes are on the
/// hour or half hour).
fn offset_change(zone: Tz, before: &str, after: &str) -> (String, String, String) {
    let offset = |at| zone.offset_from_utc_datetime(&at).to_string();
    let mut at = utc(before);
    let end = utc(after);
    while at < end {
        let next = at + TimeDelta::minutes(1);
        if offset(at.naive_utc()) != offset(next.naive_utc()) {
            return (super::text(next), offset(at.naive_utc()), offset(next.naive_utc()));
        }
        at = next;
    }
    panic!("{zone} does not change its offset between {before} and {after}");
}

#[test]
fn the_2026_transitions_are_where_the_tables_expect_them() {
    use chrono_tz::{America::New_York, Australia::Lord_Howe, Europe::Berlin};
    for (zone, from, to, expected) in [
        (
            Berlin,
            "2026-03-28T00:00:00Z",
            "2026-03-30T00:00:00Z",
            ("2026-03-29T01:00:00Z", "CET", "CEST"),
        ),
        (
            Berlin,
            "2026-10-24T00:00:00Z",
            "2026-10-26T00:00:00Z",
            ("2026-10-25T01:00:00Z", "CEST", "CET"),
        ),
        (
            New_York,
            "2026-03-07T00:00:00Z",
            "2026-03-09T00:00:00Z",
            ("2026-03-08T07:00:00Z", "EST", "EDT"),
        ),
        (
            New_York,
            "2026-10-31T00:00:00Z",
            "2026-11-02T00:00:00Z",
            ("2026-11-01T06:00:00Z", "EDT", "EST"),
        ),
        (
            Lord_Howe,
            "2026-04-04T00:00:00Z",
            "2026-04-06T00:00:00Z",
            ("2026-04-04T15:00:00Z", "+11", "+1030"),
        ),
        (
            Lord_Howe,
            "2026-10-03T00:00:00Z",
            "2026-10-05T00:00:00Z",
            ("2026-10-03T15:30:00Z", "+1030", "+11"),
        ),
    ] {
        let (at, before, after) = offset_change(zone, from, to);
        assert_eq!((at.as_str(), before.as_str(), after.as_str()), expected, "{zone}");
    }
}

#[test]
fn an_opening_in_the_spring_gap_opens_when_the_gap_ends_and_lasts_its_full_duration() {
    for (zone, schedule, duration, after, expected) in [
        // 02:30 does not exist on 29 March in Berlin: it opens at 03:00 CEST.
        (
            "Europe/Berlin",
            "30 2 * * *",
            "1h",
            "2026-03-27T12:00:00Z",
            [
                ("2026-03-28T01:30:00Z", "2026-03-28T02:30:00Z"),
                ("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"),
                ("2026-03-30T00:30:00Z", "2026-03-30T01:30:00Z"),
            ],
        ),
        // New York skips 02:00-02:59 on 8 March: 02:00 opens at 03:00 EDT.
        (
            "America/New_York",
            "0 2 * * *",
            "3h",
            "2026-03-06T12:00:00Z",
            [
                ("2026-03-07T07:00:00Z", "2026-03-07T10:00:00Z"),
                ("2026-03-08T07:00:00Z", "2026-03-08T10:00:00Z"),
                ("2026-03-09T06:00:00Z", "2026-03-09T09:00:00Z"),
            ],
        ),
        // Lord Howe skips 02:00-02:29 on 4 October: 02:15 opens at 02:30.
        (
            "Australia/Lord_Howe",
            "15 2 * * *",
            "1h",
            "2026-10-02T00:00:00Z",
            [
                ("2026-10-02T15:45:00Z", "2026-10-02T16:45:00Z"),
                ("2026-10-03T15:30:00Z", "2026-10-03T16:30:00Z"),
                ("2026-10-04T15:15:00Z", "2026-10-04T16:15:00Z"),
            ],
        ),
    ] {
        let schedule = spec(zone).window(schedule, duration).schedule();
        assert_eq!(upcoming(&schedule, after, 3), pairs(&expected), "{zone} {schedule:?}");
    }
}

#[test]
fn an_opening_in_the_repeated_hour_opens_once_at_the_first_occurrence() {
    for (zone, schedule, duration, after, expected) in [
        // 02:30 happens twice on 25 October in Berlin (CEST, then CET).
        (
            "Europe/Berlin",
            "30 2 * * *",
            "1h",
            "2026-10-23T12:00:00Z",
            [
                ("2026-10-24T00:30:00Z", "2026-10-24T01:30:00Z"),
                ("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"),
                ("2026-10-26T01:30:00Z", "2026-10-26T02:30:00Z"),
            ],
        ),
        // 01:30 happens twice on 1 November in New York (EDT, then EST).
        (
            "America/New_York",
            "30 1 * * *",
            "1h",
            "2026-10-30T12:00:00Z",
            [
                ("2026-10-31T05:30:00Z", "2026-10-31T06:30:00Z"),
                ("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"),
                ("2026-11-02T06:30:00Z", "2026-11-02T07:30:00Z"),
            ],
        ),
        // Lord Howe repeats 01:30-01:59 on 5 April (+11, then +10:30).
        (
            "Australia/Lord_Howe",
            "45 1 * * *",
            "30m",
            "2026-04-03T00:00:00Z",
            [
                ("2026-04-03T14:45:00Z", "2026-04-03T15:15:00Z"),
                ("2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z"),
                ("2026-04-05T15:15:00Z", "2026-04-05T15:45:00Z"),
            ],
        ),
    ] {
        let schedule = spec(zone).window(schedule, duration).schedule();
        assert_eq!(upcoming(&schedule, after, 3), pairs(&expected), "{zone} {schedule:?}");
    }
}

#[test]
fn the_second_pass_of_a_repeated_hour_is_closed() {
    // 02:45 CET on 25 October, after the 02:30 CEST opening has ended.
    let schedule = spec("Europe/Berlin").window("30 2 * * *", "1h").schedule();
    assert_eq!(schedule.state_at(utc("2026-10-25T01:45:00Z")), State::Closed);
    assert!(schedule.state_at(utc("2026-10-25T01:15:00Z")).is_open());
}

#[test]
fn durations_are_elapsed_time_across_both_transitions() {
    // Six real hours from 22:00 on the Saturday nights of both changes:
    // in local time the March opening ends at 05:00, the October one at 03:00.
    let schedule = spec("Europe/Berlin").window("0 22 * * SAT", "6h").schedule();
    assert_eq!(
        upcoming(&schedule, "2026-03-27T00:00:00Z", 1),
        pairs(&[("2026-03-28T21:00:00Z", "2026-03-29T03:00:00Z")])
    );
    assert_eq!(
        upcoming(&schedule, "2026-10-23T00:00:00Z", 1),
        pairs(&[("2026-10-24T20:00:00Z", "2026-10-25T02:00:00Z")])
    );
    let schedule = spec("America/New_York").window("0 23 * * SAT", "4h").schedule();
    assert_eq!(
        upcoming(&schedule, "2026-03-06T00:00:00Z", 1),
        pairs(&[("2026-03-08T04:00:00Z", "2026-03-08T08:00:00Z")])
    );
    assert_eq!(
        upcoming(&schedule, "2026-10-30T00:00:00Z", 1),
        pairs(&[("2026-11-01T03:00:00Z", "2026-11-01T07:00:00Z")])
    );
}

#[test]
fn zones_without_daylight_saving_are_untouched_by_the_dates_that_move_others() {
    for (zone, expected) in [
        (
            "Asia/Kolkata",
            [
                ("2026-03-27T20:30:00Z", "2026-03-27T22:30:00Z"),
                ("2026-03-28T20:30:00Z", "2026-03-28T22:30:00Z"),
                ("2026-03-29T20:30:00Z", "2026-03-29T22:30:00Z"),
            ],
        ),
        (
            "UTC",
            [
                ("2026-03-28T02:00:00Z", "2026-03-28T04:00:00Z"),
                ("2026-03-29T02:00:00Z", "2026-03-29T04:00:00Z"),
                ("2026-03-30T02:00:00Z", "2026-03-30T04:00:00Z"),
            ],
        ),
    ] {
        let schedule = spec(zone).window("0 2 * * *", "2h").schedule();
        assert_eq!(
            upcoming(&schedule, "2026-03-27T12:00:00Z", 3)[..],
            pairs(&expected)[..],
            "{zone}"
        );
    }
    let kolkata = spec("Asia/Kolkata").window("0 2 * * *", "2h").schedule();
    assert_eq!(
        upcoming(&kolkata, "2026-10-24T12:00:00Z", 2),
        pairs(&[
            ("2026-10-24T20:30:00Z", "2026-10-24T22:30:00Z"),
            ("2026-10-25T20:30:00Z", "2026-10-25T22:30:00Z")
        ])
    );
}

#[test]
fn a_window_across_midnight_is_open_on_both_sides_of_it() {
    for (zone, at, expected) in [
        (
            "UTC",
            "2026-06-02T01:00:00Z",
            ("2026-06-01T22:00:00Z", "2026-06-02T04:00:00Z"),
        ),
        (
            "Europe/Berlin",
            "2026-06-01T22:30:00Z",
            ("2026-06-01T20:00:00Z", "2026-06-02T02:00:00Z"),
        ),
        (
            "Asia/Kolkata",
            "2026-06-01T19:00:00Z",
            ("2026-06-01T16:30:00Z", "2026-06-01T22:30:00Z"),
        ),
    ] {
        let schedule = spec(zone).window("0 22 * * *", "6h").schedule();
        let current = schedule.state_at(utc(at)).current().map(super::pair);
        assert_eq!(
            current,
            Some((expected.0.to_owned(), expected.1.to_owned())),
            "{zone} at {at}"
        );
    }
}

#[test]
fn where_clocks_change_at_midnight_a_midnight_opening_starts_when_the_day_does() {
    // Santiago goes from 24:00 (-04) to 01:00 (-03) on 6 September 2026.
    let schedule = spec("America/Santiago").window("0 0 * * *", "2h").schedule();
    assert_eq!(
        upcoming(&schedule, "2026-09-04T12:00:00Z", 3),
        pairs(&[
            ("2026-09-05T04:00:00Z", "2026-09-05T06:00:00Z"),
            ("2026-09-06T04:00:00Z", "2026-09-06T06:00:00Z"),
            ("2026-09-07T03:00:00Z", "2026-09-07T05:00:00Z"),
        ])
    );
}
