//! Wall-clock time in a window's time zone to instants, with refit's
//! daylight-saving rules: a wall-clock time that does not exist (the clock
//! jumps over it in spring) means the first instant after the jump; a
//! wall-clock time that happens twice (the clock goes back in autumn) means
//! the first time it happens. Both rules keep the mapping from wall-clock
//! time to instant non-decreasing, which the searches in
//! [`super::occurrences`] rely on.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant at which the wall-clock time `civil` in `zone` happens, by
/// the rules above. `None` only at the edges of chrono's calendar.
pub(super) fn resolve(zone: Tz, civil: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&civil) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => end_of_gap(zone, civil),
    }
}

/// The local calendar date in `zone` at `at` (the UTC date at the very
/// edges of chrono's calendar, where the local one cannot be represented).
pub(super) fn local_date(zone: Tz, at: DateTime<Utc>) -> NaiveDate {
    local_time(zone, at).map_or(at.date_naive(), |local| local.date())
}

/// The wall-clock time in `zone` at `at`. chrono's own conversion panics
/// when the result falls off its calendar; this one says `None`.
fn local_time(zone: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(zone.offset_from_utc_datetime(&utc).fix())
}

/// The first instant after the clock jumped over `civil`.
///
/// chrono-tz does not expose its transitions, so the jump is found by
/// bisection over instants: no zone is ever more than 16 hours ahead of or
/// behind UTC, so 26 hours before `civil` read as UTC the clock still shows
/// an earlier time, and 26 hours after it a later one. In between the clock
/// crosses `civil` by jumping over it; the bisection finds the instant right
/// after a jump over `civil`, which is the gap it lies in.
fn end_of_gap(zone: Tz, civil: NaiveDateTime) -> Option<DateTime<Utc>> {
    let as_utc = civil.and_utc().timestamp();
    let margin = TimeDelta::hours(26).num_seconds();
    let shows_later = |second: i64| -> Option<bool> {
        let at = DateTime::from_timestamp(second, 0)?;
        Some(local_time(zone, at)? > civil)
    };
    let mut before = as_utc.checked_sub(margin)?;
    let mut after = as_utc.checked_add(margin)?;
    if shows_later(before)? || !shows_later(after)? {
        return None;
    }
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if shows_later(middle)? {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(after, 0)
}

#[cfg(test)]
mod tests {
    use chrono_tz::{America::New_York, Asia::Kolkata, Australia::Lord_Howe, Europe::Berlin};

    use super::*;

    fn civil(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("valid test time")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_time_in_the_spring_gap_means_the_first_instant_after_it() {
        for (zone, local, instant) in [
            (Berlin, "2026-03-29 02:30", "2026-03-29T01:00:00Z"),
            (Berlin, "2026-03-29 02:00", "2026-03-29T01:00:00Z"),
            (New_York, "2026-03-08 02:59", "2026-03-08T07:00:00Z"),
            (Lord_Howe, "2026-10-04 02:15", "2026-10-03T15:30:00Z"),
        ] {
            assert_eq!(resolve(zone, civil(local)), Some(utc(instant)), "{zone} {local}");
        }
    }

    #[test]
    fn a_time_in_the_repeated_hour_means_its_first_occurrence() {
        for (zone, local, instant) in [
            (Berlin, "2026-10-25 02:30", "2026-10-25T00:30:00Z"),
            (New_York, "2026-11-01 01:30", "2026-11-01T05:30:00Z"),
            (Lord_Howe, "2026-04-05 01:45", "2026-04-04T14:45:00Z"),
        ] {
            assert_eq!(resolve(zone, civil(local)), Some(utc(instant)), "{zone} {local}");
        }
    }

    #[test]
    fn ordinary_times_and_zones_without_dst_map_directly() {
        assert_eq!(
            resolve(Berlin, civil("2026-11-27 22:00")),
            Some(utc("2026-11-27T21:00:00Z"))
        );
        assert_eq!(
            resolve(Kolkata, civil("2026-03-29 02:30")),
            Some(utc("2026-03-28T21:00:00Z"))
        );
        assert_eq!(
            resolve(Tz::UTC, civil("2026-03-29 02:30")),
            Some(utc("2026-03-29T02:30:00Z"))
        );
    }

    #[test]
    fn local_dates_follow_the_zone() {
        let at = utc("2026-11-27T23:30:00Z");
        assert_eq!(
            local_date(Berlin, at),
            NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
        );
        assert_eq!(
            local_date(New_York, at),
            NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
        );
    }
}
