//! Compiling a spec: every problem only Rust can find is reported, each
//! naming its field, all at once.

use super::spec;
use crate::core::window::{Schedule, WindowError};

fn problem(builder: super::SpecBuilder) -> String {
    Schedule::compile(&builder.0)
        .map(|_| ())
        .expect_err("must be invalid")
        .to_string()
}

#[test]
fn an_unknown_time_zone_is_named() {
    assert_eq!(
        problem(spec("Europe/Berln").window("0 22 * * *", "6h")),
        "spec.timezone: \"Europe/Berln\" is not an IANA time zone (write a name such as Europe/Berlin, America/New_York or UTC)"
    );
}

#[test]
fn a_bad_schedule_names_the_window_the_field_and_the_token() {
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "6h").window("0 0 31-30 * *", "1h")),
        "spec.windows[1].schedule: day-of-month field \"31-30\": the range runs backwards (31 is after 30); write the smaller value first"
    );
    assert_eq!(
        problem(spec("UTC").window("0 0 22 * * FRI", "6h")),
        "spec.windows[0].schedule: \"0 0 22 * * FRI\" has 6 fields; expected 5: minute hour day-of-month month day-of-week; refit schedules have no seconds or year field"
    );
}

#[test]
fn bad_durations_are_named() {
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "0m")),
        "spec.windows[0].duration: \"0m\" is zero; a window must last longer than that"
    );
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "6 hours")),
        "spec.windows[0].duration: `6 hours` is not a duration: after 6 expected one of the units s, m, h, d (e.g. 30m, 4h, 1h30m, 3d)"
    );
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "367d")),
        "spec.windows[0].duration: \"367d\" is too long"
    );
    assert!(Schedule::compile(&spec("UTC").window("0 0 1 1 *", "366d").0).is_ok());
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "6h").min_remaining("soon")),
        "spec.minRemaining: `soon` is not a duration: expected a number at `soon` (write it like 30m, 4h, 1h30m or 3d)"
    );
}

#[test]
fn a_blackout_that_ends_before_it_starts_is_named() {
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "6h").blackout(
            "2026-12-20T00:00:00Z",
            "2026-12-20T00:00:00Z",
            "empty"
        )),
        "spec.blackouts[0]: end 2026-12-20T00:00:00Z is not after start 2026-12-20T00:00:00Z"
    );
}

#[test]
fn no_windows_and_no_room_for_a_change_are_named() {
    assert_eq!(problem(spec("UTC")), "spec.windows: at least one window is needed");
    assert_eq!(
        problem(spec("UTC").window("0 22 * * *", "6h").max_concurrent(0)),
        "spec.maxConcurrentChanges: must be at least 1, not 0"
    );
}

#[test]
fn every_problem_is_reported_at_once_in_field_order() {
    let error = Schedule::compile(
        &spec("Mars/Olympus")
            .window("61 22 * * *", "6h")
            .window("0 22 * * *", "0s")
            .max_concurrent(-1)
            .0,
    )
    .map(|_| ())
    .expect_err("four problems");
    let WindowError::Several { problems } = &error else {
        panic!("expected several problems, got {error:?}");
    };
    let fields: Vec<String> = problems
        .iter()
        .map(|p| p.to_string().split(':').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "spec.timezone",
            "spec.windows[0].schedule",
            "spec.windows[1].duration",
            "spec.maxConcurrentChanges"
        ]
    );
    assert!(error.to_string().starts_with("4 problems: spec.timezone: "), "{error}");
}

#[test]
fn a_valid_spec_keeps_its_limits() {
    let schedule = spec("America/New_York")
        .window("0 22 * * *", "6h")
        .max_concurrent(3)
        .min_remaining("1h30m")
        .schedule();
    assert_eq!(schedule.timezone(), chrono_tz::America::New_York);
    assert_eq!(schedule.max_concurrent_changes(), 3);
    assert_eq!(schedule.min_remaining(), std::time::Duration::from_secs(5_400));
}
