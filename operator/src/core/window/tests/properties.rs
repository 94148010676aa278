//! Properties over random schedules, zones and instants, checked against a
//! brute-force reading of the spec: for every window, every wall-clock time
//! its cron matches near the instant, resolved by the DST rules written out
//! the slow way (step minute by minute out of a gap). The engine's answers
//! must agree with it, and its decisions must never let a change start
//! outside an opening, inside a blackout, or with less than `minRemaining`.

use chrono::{DateTime, Days, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::{prelude::*, sample::select};

use super::{SpecBuilder, spec, text, utc};
use crate::core::{
    duration,
    window::{Cron, Decision, Schedule, WindowError},
};

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    // Clocks change at midnight, so local midnight is skipped once a year.
    "America/Santiago",
    // +12:45 and +13:45, changing at 02:45 local time.
    "Pacific/Chatham",
];

/// The 2026 offset changes of the zones above, as UTC instants: half of the
/// random instants fall within a day and a half of one of them.
const TRANSITIONS: &[&str] = &[
    "2026-03-29T01:00:00Z",
    "2026-10-25T01:00:00Z",
    "2026-03-08T07:00:00Z",
    "2026-11-01T06:00:00Z",
    "2026-04-04T15:00:00Z",
    "2026-10-03T15:30:00Z",
    "2026-04-05T03:00:00Z",
    "2026-09-06T04:00:00Z",
    "2026-04-04T14:00:00Z",
    "2026-09-26T14:00:00Z",
];

fn cron() -> impl Strategy<Value = String> {
    // Hours and durations are chosen so that no schedule is open around the
    // clock: the searches stay short and every opening has an end to check.
    (
        select(&["0", "30", "*/15", "0,45", "10-50/20", "59"][..]),
        select(&["22", "1-3", "2", "0,12", "23", "*/8", "0"][..]),
        select(&["*", "*", "1", "31", "15-20", "29", "*/10"][..]),
        select(&["*", "*", "*", "2", "3,10", "10-12", "4"][..]),
        select(&["*", "*", "FRI,SAT", "0", "MON-FRI", "SUN"][..]),
    )
        .prop_map(|(minute, hour, dom, month, dow)| format!("{minute} {hour} {dom} {month} {dow}"))
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let start = utc("2026-01-01T00:00:00Z").timestamp();
    let uniform = (0i64..2 * 365 * 86_400).prop_map(move |offset| start + offset);
    let near_transition = (select(TRANSITIONS), -36 * 60i64..36 * 60, prop::bool::ANY).prop_map(
        |(transition, minutes, on_the_quarter)| {
            let minutes = if on_the_quarter { minutes / 15 * 15 } else { minutes };
            utc(transition).timestamp() + minutes * 60
        },
    );
    prop_oneof![uniform, near_transition].prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap_or_default())
}

fn blackout() -> impl Strategy<Value = (DateTime<Utc>, DateTime<Utc>)> {
    (instant(), 1i64..60 * 24).prop_map(|(start, hours)| (start, start + TimeDelta::hours(hours)))
}

fn schedules() -> impl Strategy<Value = SpecBuilder> {
    (
        select(ZONES),
        prop::collection::vec(
            (cron(), select(&["15m", "30m", "1h", "90m", "2h", "4h", "6h"][..])),
            1..=3,
        ),
        prop::collection::vec(blackout(), 0..=2),
        select(&["0m", "15m", "45m", "2h"][..]),
        1i32..=3,
    )
        .prop_map(|(zone, windows, blackouts, min_remaining, max)| {
            let mut builder = spec(zone).min_remaining(min_remaining).max_concurrent(max);
            for (schedule, duration) in windows {
                builder = builder.window(&schedule, duration);
            }
            for (start, end) in blackouts {
                builder = builder.blackout(&text(start), &text(end), "random freeze");
            }
            builder
        })
}

/// Brute force: the instant a wall-clock time means, per the DST rules.
fn slow_resolve(zone: Tz, civil: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = civil;
    for _ in 0..=24 * 60 {
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(at) => return Some(at.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => return Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => probe += TimeDelta::minutes(1),
        }
    }
    None
}

/// Brute force: whether a change could start at `at` as far as windows and
/// blackouts go (some window's opening covers it, no blackout does).
fn slow_open(builder: &SpecBuilder, at: DateTime<Utc>) -> bool {
    let spec = &builder.0;
    let in_blackout = spec.blackouts.iter().any(|b| {
        let start = utc(&b.start.0.to_string());
        let end = utc(&b.end.0.to_string());
        start <= at && at < end
    });
    if in_blackout {
        return false;
    }
    let Ok(zone) = spec.timezone.parse::<Tz>() else {
        return false;
    };
    spec.windows.iter().any(|window| {
        let (Ok(cron), Ok(length)) = (Cron::parse(&window.schedule), duration::parse(&window.duration)) else {
            return false;
        };
        let length = TimeDelta::from_std(length).unwrap_or_default();
        let first = (at - length).with_timezone(&zone).date_naive() - Days::new(2);
        let last = at.with_timezone(&zone).date_naive() + Days::new(2);
        first
            .iter_days()
            .take_while(|date| *date <= last)
            .filter(|date| cron.matches_date(*date))
            .any(|date| {
                cron.minutes_of_day().into_iter().any(|minute| {
                    let time = NaiveTime::from_hms_opt((minute / 60).into(), (minute % 60).into(), 0);
                    time.and_then(|time| slow_resolve(zone, date.and_time(time)))
                        .is_some_and(|fired| fired <= at && at < fired + length)
                })
            })
    })
}

fn compile(builder: &SpecBuilder) -> Schedule {
    builder.schedule()
}

/// Random instants are mostly closed; to test what happens inside and at
/// the edges of openings, most cases move the instant to (or into) the next
/// opening after it. The checks compare with the brute force, so taking
/// the engine's word for where an opening is cannot hide a mistake.
fn near_an_opening(schedule: &Schedule, seed: DateTime<Utc>, pick: u8, permille: i32) -> DateTime<Utc> {
    let Ok(opening) = schedule.next_opening(seed) else {
        return seed;
    };
    let second = TimeDelta::seconds(1);
    match pick {
        0 => seed,
        1 => opening.start,
        2 => opening.start - second,
        3 => opening.end - second,
        4 => opening.end,
        _ => opening.start + (opening.end - opening.start) * permille / 1000,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn open_agrees_with_a_brute_force_reading_of_the_spec(
        builder in schedules(),
        seed in instant(),
        pick in 0u8..8,
        permille in 0i32..1000,
    ) {
        let schedule = compile(&builder);
        let at = near_an_opening(&schedule, seed, pick, permille);
        let state = schedule.state_at(at);
        prop_assert_eq!(state.is_open(), slow_open(&builder, at), "{} at {}", state, text(at));
        if let Some(current) = state.current() {
            let second = TimeDelta::seconds(1);
            prop_assert!(current.contains(at));
            prop_assert!(slow_open(&builder, current.start), "not open at its start: {}", state);
            prop_assert!(!slow_open(&builder, current.start - second), "open before its start: {}", state);
            prop_assert!(slow_open(&builder, current.end - second), "not open at its last second: {}", state);
            prop_assert!(!slow_open(&builder, current.end), "still open at its end: {}", state);
        }
    }

    #[test]
    fn a_change_never_starts_outside_an_opening_or_runs_into_a_blackout(
        builder in schedules(),
        seed in instant(),
        pick in 0u8..8,
        permille in 0i32..1000,
        expected_minutes in 0u64..3 * 60,
        active in 0u32..4,
    ) {
        let schedule = compile(&builder);
        let at = near_an_opening(&schedule, seed, pick, permille);
        let expected = std::time::Duration::from_secs(expected_minutes * 60);
        if let Decision::Start { opening } = schedule.may_start(at, expected, active) {
            let length = TimeDelta::minutes(i64::try_from(expected_minutes).unwrap_or_default());
            prop_assert!(active < schedule.max_concurrent_changes());
            prop_assert!(opening.contains(at));
            // minRemaining holds.
            prop_assert!((opening.end - at).to_std().unwrap_or_default() >= schedule.min_remaining());
            prop_assert!(at + length <= opening.end);
            // Every minute of the change, and its last second, is open.
            let mut checked = at;
            while checked < at + length {
                prop_assert!(slow_open(&builder, checked), "closed at {} during a change from {}", text(checked), text(at));
                checked += TimeDelta::minutes(15);
            }
            if expected_minutes > 0 {
                let last = at + length - TimeDelta::seconds(1);
                prop_assert!(slow_open(&builder, last), "closed at {} during a change from {}", text(last), text(at));
            }
            prop_assert!(slow_open(&builder, at));
        }
    }

    #[test]
    fn the_earliest_start_is_allowed_and_nothing_before_it_is(
        builder in schedules(),
        seed in instant(),
        pick in 0u8..8,
        permille in 0i32..1000,
        expected_minutes in 0u64..3 * 60,
    ) {
        let schedule = compile(&builder);
        let after = near_an_opening(&schedule, seed, pick, permille);
        let expected = std::time::Duration::from_secs(expected_minutes * 60);
        if let Ok(Some(span)) = schedule.earliest_start(after, expected) {
            let start = span.from;
            prop_assert!(span.until >= start);
            prop_assert!(schedule.may_start(span.until, expected, 0).may_start(), "{} is not a start", text(span.until));
            // Just after the last start, this opening allows none.
            let past = span.until + TimeDelta::seconds(1);
            let decision = schedule.may_start(past, expected, 0);
            if let Decision::Start { opening } = decision {
                prop_assert!(opening.start > span.until, "{} is a start in the same opening", text(past));
            }
            prop_assert!(start >= after);
            prop_assert!(schedule.may_start(start, expected, 0).may_start(), "{} is not a start", text(start));
            // Nothing earlier is: checked every 7 minutes (and just before).
            let mut earlier = after;
            while earlier < start && earlier < after + TimeDelta::days(3) {
                prop_assert!(!schedule.may_start(earlier, expected, 0).may_start(), "{} is a start before {}", text(earlier), text(start));
                earlier += TimeDelta::minutes(7);
            }
            let just_before = start - TimeDelta::seconds(1);
            if just_before >= after {
                prop_assert!(!schedule.may_start(just_before, expected, 0).may_start(), "{} is a start", text(just_before));
            }
        }
    }

    #[test]
    fn the_next_opening_is_after_the_instant_open_at_its_start_and_nothing_opens_before_it(
        builder in schedules(),
        after in instant(),
    ) {
        let schedule = compile(&builder);
        match schedule.next_opening(after) {
            Ok(next) => {
                prop_assert!(next.start > after);
                prop_assert_eq!(schedule.state_at(next.start).current(), Some(next));
                prop_assert!(slow_open(&builder, next.start));
                prop_assert!(!slow_open(&builder, next.start - TimeDelta::seconds(1)));
                // Between the instant and the next opening, only the current
                // opening (if any) is open.
                let current = schedule.state_at(after).current();
                let gap = next.start - after;
                for step in 1..8 {
                    let probe = after + gap * step / 8;
                    if slow_open(&builder, probe) {
                        prop_assert!(
                            current.is_some_and(|c| c.contains(probe)),
                            "open at {} between {} and the next opening at {}",
                            text(probe), text(after), text(next.start)
                        );
                    }
                }
            }
            Err(WindowError::NeverOpens { .. }) => {}
            Err(error) => return Err(TestCaseError::fail(format!("unexpected error: {error}"))),
        }
    }
}

fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (min..=max).prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap_or_default()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn compiling_never_panics_on_any_text(
        timezone in "\\PC{0,24}",
        schedule in prop_oneof!["\\PC{0,30}", "([0-9*/,A-Za-z-]{1,6} ){4}[0-9*/,A-Za-z-]{1,6}"],
        duration in "\\PC{0,8}",
        min_remaining in "\\PC{0,8}",
        max in any::<i32>(),
    ) {
        let builder = spec(&timezone).window(&schedule, &duration).min_remaining(&min_remaining).max_concurrent(max);
        let _ = Schedule::compile(&builder.0);
    }

    #[test]
    fn queries_never_panic_at_the_edges_of_time(builder in schedules(), at in any_instant(), minutes in any::<u64>()) {
        let schedule = compile(&builder);
        let _ = schedule.state_at(at);
        let _ = schedule.preview(at, 2);
        let _ = schedule.may_start(at, std::time::Duration::from_secs(minutes.saturating_mul(60)), 0);
    }
}
