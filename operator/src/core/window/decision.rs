//! Whether a change may start: nothing starts outside an open window,
//! beyond `maxConcurrentChanges`, or with less than `minRemaining` left,
//! made exact (`docs/WINDOWS.md`, "Starting a change", says the same for
//! users).
//!
//! A change expected to take `D` may start at `T` when all of these hold,
//! checked in this order (the first that fails is the reason):
//! 1. `T` is in no blackout;
//! 2. `T` is inside an opening (merged across windows, blackouts cut out);
//! 3. at least `minRemaining` is left of that opening after `T`;
//! 4. the change would finish inside it: `T + D` is not after its end. The
//!    end is where the opening closes or where the next blackout begins,
//!    whichever is first, so a change that would run into a blackout starting
//!    within `D` is refused;
//! 5. fewer than `maxConcurrentChanges` changes are in progress.
//!
//! `D = 0` (a change of unknown length) checks only the first four.
//! Counting the changes in progress is the controller's job.
//!
//! [`Schedule::earliest_start`] answers the question a waiting ticket
//! shows people (`status.scheduledFor`): the first instant at or after `T`
//! at which rules 1 to 4 hold.

use std::{fmt, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

use super::WindowError;
use super::{
    BlackoutRef, Interval, State,
    error::Rfc3339,
    schedule::Schedule,
    search::{earlier, later},
};
use crate::core::duration;

/// [`Schedule::earliest_start`] looks at this many openings at a time…
const EARLIEST_START_BATCH: usize = 64;
/// …and at most this many batches (a window whose openings are all too
/// short for the change shows no start rather than searching for ever).
const EARLIEST_START_BATCHES: usize = 16;

/// The instants of one opening at which a change may start, as far as
/// openings, blackouts and `minRemaining` go: from `from` up to and
/// including `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartSpan {
    /// The first.
    pub from: DateTime<Utc>,
    /// The last.
    pub until: DateTime<Utc>,
}

/// Whether a change may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It may start; it must finish within `opening`.
    Start {
        /// The opening it starts in.
        opening: Interval,
    },
    /// It must wait.
    Wait(Refusal),
}

impl Decision {
    /// Whether the change may start.
    pub fn may_start(&self) -> bool {
        matches!(self, Decision::Start { .. })
    }
}

/// Why a change may not start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A blackout is in effect.
    Blackout(BlackoutRef),
    /// No window is open.
    Closed,
    /// Less than `minRemaining` is left of the opening.
    TooLittleLeft {
        /// What is left.
        left: Duration,
        /// `minRemaining`.
        min_remaining: Duration,
        /// When the opening ends.
        end: DateTime<Utc>,
    },
    /// The change would not finish before the opening ends.
    RunsPastEnd {
        /// The expected duration of the change.
        expected: Duration,
        /// When the opening ends.
        end: DateTime<Utc>,
        /// The blackout that ends the opening, if one does.
        blackout: Option<BlackoutRef>,
    },
    /// `maxConcurrentChanges` changes are already in progress.
    AtCapacity {
        /// Changes in progress.
        active: u32,
        /// `maxConcurrentChanges`.
        max: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Blackout(blackout) => write!(f, "{blackout} is in effect until {}", Rfc3339(blackout.end)),
            Refusal::Closed => f.write_str("no window is open"),
            Refusal::TooLittleLeft {
                left,
                min_remaining,
                end,
            } => write!(
                f,
                "only {} is left before the opening ends at {}; minRemaining is {}",
                duration::format(*left),
                Rfc3339(*end),
                duration::format(*min_remaining)
            ),
            Refusal::RunsPastEnd {
                expected,
                end,
                blackout,
            } => {
                write!(
                    f,
                    "a change of {} would not finish before the opening ends at {}",
                    duration::format(*expected),
                    Rfc3339(*end)
                )?;
                match blackout {
                    Some(blackout) => write!(f, ", when {blackout} begins"),
                    None => Ok(()),
                }
            }
            Refusal::AtCapacity { active, max } => {
                write!(f, "{active} changes are in progress; maxConcurrentChanges is {max}")
            }
        }
    }
}

impl Schedule {
    /// Whether a change expected to take `expected` may start at `at` while
    /// `active` changes are in progress under this window (see the module
    /// documentation for the rule).
    pub fn may_start(&self, at: DateTime<Utc>, expected: Duration, active: u32) -> Decision {
        let (opening, cut_by) = match self.state_at(at) {
            State::Blackout(blackout) => return Decision::Wait(Refusal::Blackout(blackout)),
            State::Closed => return Decision::Wait(Refusal::Closed),
            State::Open { current, cut_by, .. } => (current, cut_by),
        };
        let left = opening.end.signed_duration_since(at);
        if left < self.min_remaining {
            return Decision::Wait(Refusal::TooLittleLeft {
                left: left.to_std().unwrap_or_default(),
                min_remaining: self.min_remaining(),
                end: opening.end,
            });
        }
        let finishes = TimeDelta::from_std(expected).map_or(DateTime::<Utc>::MAX_UTC, |d| later(at, d));
        if finishes > opening.end {
            return Decision::Wait(Refusal::RunsPastEnd {
                expected,
                end: opening.end,
                blackout: cut_by,
            });
        }
        if active >= self.max_concurrent {
            return Decision::Wait(Refusal::AtCapacity {
                active,
                max: self.max_concurrent,
            });
        }
        Decision::Start { opening }
    }

    /// When, at the earliest from `after`, a change expected to take
    /// `expected` may start as far as openings, blackouts and
    /// `minRemaining` go (rules 1 to 4 of the module documentation; the
    /// number of changes in progress is left out, as it changes with
    /// them): the first such instant, and the last of the same opening.
    /// `Ok(None)` when no opening within the search horizon is long enough;
    /// an error when the window never opens at all.
    pub fn earliest_start(&self, after: DateTime<Utc>, expected: Duration) -> Result<Option<StartSpan>, WindowError> {
        let expected = TimeDelta::from_std(expected).unwrap_or(TimeDelta::MAX);
        let fits = |opening: Interval| {
            let until = earlier(opening.end, expected).min(earlier(opening.end, self.min_remaining));
            let from = opening.start.max(after);
            // A start at the opening's end is not inside it (a change of
            // length zero with no minRemaining).
            let until = if until >= opening.end {
                opening.end - TimeDelta::seconds(1)
            } else {
                until
            };
            (from <= until).then_some(StartSpan { from, until })
        };
        if let Some(span) = self.state_at(after).current().and_then(fits) {
            return Ok(Some(span));
        }
        let mut cursor = after;
        for _ in 0..EARLIEST_START_BATCHES {
            let openings = match self.upcoming(cursor, EARLIEST_START_BATCH) {
                Ok(openings) => openings,
                // Openings were seen before (in an earlier batch, or the
                // current one): none later is long enough.
                Err(WindowError::NeverOpens { .. }) if cursor > after || self.state_at(after).is_open() => {
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            for opening in &openings {
                if let Some(span) = fits(*opening) {
                    return Ok(Some(span));
                }
            }
            match openings.last() {
                Some(last) if openings.len() == EARLIEST_START_BATCH => cursor = last.start,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// How long into `opening` changes may start: its end minus
    /// `minRemaining`. A start at exactly this instant is allowed when
    /// `minRemaining` is set; with `minRemaining` zero it is the end itself.
    /// `None` when the opening is shorter than `minRemaining`.
    pub fn start_deadline(&self, opening: Interval) -> Option<DateTime<Utc>> {
        let deadline = earlier(opening.end, self.min_remaining);
        (deadline >= opening.start).then_some(deadline)
    }
}
