//! The instants at which one cron schedule fires in a time zone, walked
//! forwards or backwards between two bounds.
//!
//! The walk goes over local calendar dates and the schedule's wall-clock
//! times on each matching date, and turns each into an instant with
//! [`zone::resolve`]. Because that mapping never goes backwards, the first
//! time on a date that reaches the bound can be found by bisection, and the
//! walk can stop at the first instant past the far bound. Several wall-clock
//! times in one spring-forward gap map to the same instant; it is yielded
//! once. Dates are walked two days beyond each bound, which covers any offset
//! change (the largest in history is 24 hours, Samoa in 2011).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{cron::Cron, zone};

/// Which way a walk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// From earlier to later instants.
    Forward,
    /// From later to earlier instants.
    Backward,
}

/// A schedule in a zone: what [`Occurrences`] walks over.
#[derive(Debug, Clone, Copy)]
pub(super) struct Firing<'a> {
    pub cron: &'a Cron,
    /// [`Cron::minutes_of_day`], computed once per window.
    pub minutes: &'a [u16],
    pub zone: Tz,
}

/// The instants at which a schedule fires, from `start` (inclusive) towards
/// `stop` (inclusive), strictly monotonic in the walk's direction.
#[derive(Debug)]
pub(super) struct Occurrences<'a> {
    firing: Firing<'a>,
    direction: Direction,
    start: DateTime<Utc>,
    stop: DateTime<Utc>,
    /// The date being walked; `None` once the walk is over.
    date: Option<NaiveDate>,
    last_date: NaiveDate,
    /// Position among the date's times, counted in the walk's direction;
    /// `None` until the date has been entered.
    index: Option<usize>,
    previous: Option<DateTime<Utc>>,
}

impl<'a> Occurrences<'a> {
    pub(super) fn new(firing: Firing<'a>, direction: Direction, start: DateTime<Utc>, stop: DateTime<Utc>) -> Self {
        let first = zone::local_date(firing.zone, start);
        let last = zone::local_date(firing.zone, stop);
        let (date, last_date) = match direction {
            Direction::Forward => (first.checked_sub_days(TWO_DAYS), last.checked_add_days(TWO_DAYS)),
            Direction::Backward => (first.checked_add_days(TWO_DAYS), last.checked_sub_days(TWO_DAYS)),
        };
        Occurrences {
            firing,
            direction,
            start,
            stop,
            date: Some(date.unwrap_or(first)),
            last_date: last_date.unwrap_or(last),
            index: None,
            previous: None,
        }
    }

    /// `a` comes before `b` in the walk's direction.
    fn precedes(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
        match self.direction {
            Direction::Forward => a < b,
            Direction::Backward => a > b,
        }
    }

    /// The instant of the `index`th time of `date` in the walk's direction.
    fn instant(&self, date: NaiveDate, index: usize) -> Option<DateTime<Utc>> {
        let position = match self.direction {
            Direction::Forward => index,
            Direction::Backward => self.firing.minutes.len().checked_sub(index + 1)?,
        };
        let minute = *self.firing.minutes.get(position)?;
        let time = NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
        zone::resolve(self.firing.zone, date.and_time(time))
    }

    /// Whether an instant has not yet reached where the walk may yield: before
    /// `start`, or not past the last instant yielded.
    fn not_reached(&self, at: DateTime<Utc>) -> bool {
        self.precedes(at, self.start) || self.previous.is_some_and(|previous| !self.precedes(previous, at))
    }

    /// The first index on `date` that is not before the walk's position.
    fn first_index(&self, date: NaiveDate) -> usize {
        let (mut low, mut high) = (0, self.firing.minutes.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if self.instant(date, middle).is_none_or(|at| self.not_reached(at)) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    fn next_date(&mut self, date: NaiveDate) {
        let next = match self.direction {
            Direction::Forward => date.succ_opt().filter(|next| *next <= self.last_date),
            Direction::Backward => date.pred_opt().filter(|next| *next >= self.last_date),
        };
        self.date = next;
        self.index = None;
    }
}

const TWO_DAYS: chrono::Days = chrono::Days::new(2);

impl Iterator for Occurrences<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            let date = self.date?;
            let index = match self.index {
                Some(index) => index,
                None if self.firing.cron.matches_date(date) => self.first_index(date),
                None => {
                    self.next_date(date);
                    continue;
                }
            };
            if index >= self.firing.minutes.len() {
                self.next_date(date);
                continue;
            }
            self.index = Some(index + 1);
            let Some(at) = self.instant(date, index) else {
                continue;
            };
            if self.not_reached(at) {
                continue;
            }
            if self.precedes(self.stop, at) {
                self.date = None;
                return None;
            }
            self.previous = Some(at);
            return Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono_tz::{Australia::Lord_Howe, Europe::Berlin};

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    fn walk(cron: &str, zone: Tz, direction: Direction, start: &str, stop: &str) -> Vec<String> {
        let cron = Cron::parse(cron).expect("valid test cron");
        let minutes = cron.minutes_of_day();
        let firing = Firing {
            cron: &cron,
            minutes: &minutes,
            zone,
        };
        Occurrences::new(firing, direction, utc(start), utc(stop))
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .collect()
    }

    #[test]
    fn walks_forwards_from_the_start_inclusive_to_the_stop_inclusive() {
        assert_eq!(
            walk(
                "0 22 * * FRI,SAT",
                Berlin,
                Direction::Forward,
                "2026-11-27T21:00:00Z",
                "2026-12-04T21:00:00Z"
            ),
            ["2026-11-27T21:00:00Z", "2026-11-28T21:00:00Z", "2026-12-04T21:00:00Z"]
        );
    }

    #[test]
    fn walks_backwards_just_as_well() {
        assert_eq!(
            walk(
                "0 22 * * FRI,SAT",
                Berlin,
                Direction::Backward,
                "2026-12-04T21:00:00Z",
                "2026-11-27T21:00:00Z"
            ),
            ["2026-12-04T21:00:00Z", "2026-11-28T21:00:00Z", "2026-11-27T21:00:00Z"]
        );
    }

    #[test]
    fn times_in_a_spring_gap_fire_once_at_the_end_of_the_gap() {
        // 02:00, 02:15, 02:30 and 02:45 do not exist on 29 March in Berlin.
        assert_eq!(
            walk(
                "*/15 1-3 29 3 *",
                Berlin,
                Direction::Forward,
                "2026-03-29T00:30:00Z",
                "2026-03-29T01:30:00Z"
            ),
            [
                "2026-03-29T00:30:00Z",
                "2026-03-29T00:45:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-29T01:15:00Z",
                "2026-03-29T01:30:00Z"
            ]
        );
    }

    #[test]
    fn times_in_a_repeated_half_hour_fire_only_the_first_time() {
        // Lord Howe goes back from 02:00 to 01:30 on 5 April 2026.
        assert_eq!(
            walk(
                "*/20 1-2 5 4 *",
                Lord_Howe,
                Direction::Forward,
                "2026-04-04T14:00:00Z",
                "2026-04-04T16:00:00Z"
            ),
            [
                "2026-04-04T14:00:00Z",
                "2026-04-04T14:20:00Z",
                "2026-04-04T14:40:00Z",
                "2026-04-04T15:30:00Z",
                "2026-04-04T15:50:00Z"
            ]
        );
    }

    #[test]
    fn a_schedule_that_never_fires_ends_the_walk_at_the_stop() {
        assert!(
            walk(
                "0 0 30 2 *",
                Berlin,
                Direction::Forward,
                "2026-01-01T00:00:00Z",
                "2036-01-01T00:00:00Z"
            )
            .is_empty()
        );
    }
}
