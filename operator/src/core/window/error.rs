//! What can be wrong with a ChangeWindow: a spec refit cannot read (each
//! problem names its field, e.g. `spec.windows[1].schedule`), and a spec that
//! reads fine but never opens. The controller shows these messages in the
//! `Ready` condition and `refit window` prints them, so they are written for
//! the person who wrote the spec.

use std::fmt;

use chrono::{DateTime, Utc};

use super::cron::CronProblem;
use crate::core::duration::DurationError;

/// Why a ChangeWindow cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `spec.timezone` is not a zone in the IANA database.
    #[error(
        "spec.timezone: {value:?} is not an IANA time zone (write a name such as Europe/Berlin, America/New_York or UTC)"
    )]
    UnknownTimezone {
        /// The value as written.
        value: String,
    },
    /// `spec.windows` is empty.
    #[error("spec.windows: at least one window is needed")]
    NoWindows,
    /// A schedule is not a standard five-field cron expression.
    #[error("{path}: {problem}")]
    Schedule {
        /// E.g. `spec.windows[1].schedule`.
        path: String,
        /// The field, token and problem.
        problem: CronProblem,
    },
    /// A duration (`windows[].duration`, `minRemaining`) cannot be read.
    #[error("{path}: {source}")]
    Duration {
        /// E.g. `spec.windows[0].duration`.
        path: String,
        /// What the duration parser said.
        source: DurationError,
    },
    /// A window's duration is zero: it would never be open.
    #[error("{path}: {value:?} is zero; a window must last longer than that")]
    ZeroDuration {
        /// E.g. `spec.windows[0].duration`.
        path: String,
        /// The value as written.
        value: String,
    },
    /// A duration is too long to add to a date.
    #[error("{path}: {value:?} is too long")]
    DurationTooLong {
        /// E.g. `spec.minRemaining`.
        path: String,
        /// The value as written.
        value: String,
    },
    /// A blackout's end is not after its start.
    #[error("{path}: end {end} is not after start {start}")]
    BlackoutOrder {
        /// E.g. `spec.blackouts[0]`.
        path: String,
        /// The start as written.
        start: String,
        /// The end as written.
        end: String,
    },
    /// A blackout instant is outside the dates refit can compute with.
    #[error("{path}: {value} is outside the dates refit can compute with")]
    InstantOutOfRange {
        /// E.g. `spec.blackouts[0].start`.
        path: String,
        /// The instant as written.
        value: String,
    },
    /// `maxConcurrentChanges` is below one: no change could ever start.
    #[error("spec.maxConcurrentChanges: must be at least 1, not {value}")]
    MaxConcurrentChanges {
        /// The value as written.
        value: i32,
    },
    /// More than one of the problems above; all are listed.
    #[error("{}", join(problems))]
    Several {
        /// Every problem, in the order of the spec's fields.
        problems: Vec<WindowError>,
    },
    /// No opening starts within the search horizon.
    #[error(
        "the window never opens: no opening starts after {after} and before {until} (refit looks {horizon_days} days ahead){why}"
    )]
    NeverOpens {
        /// Where the search began.
        after: Rfc3339,
        /// Where it stopped.
        until: Rfc3339,
        /// The search horizon in days.
        horizon_days: i64,
        /// Why, as far as refit can tell.
        why: NeverOpensWhy,
    },
    /// The search met more openings than it is allowed to look at.
    #[error(
        "gave up looking for an opening after {after}: the schedules fire more than {limit} times before the next opening; use fewer, longer windows"
    )]
    SearchLimit {
        /// Where the search began.
        after: Rfc3339,
        /// How many raw openings the search may look at.
        limit: usize,
    },
}

fn join(problems: &[WindowError]) -> String {
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!("{} problems: {}", problems.len(), listed.join("; "))
}

/// An instant shown as RFC 3339 in UTC (`2026-11-27T21:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub DateTime<Utc>);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Why a window never opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeverOpensWhy {
    /// Schedules that match no date of any year, as `path "expression"`.
    pub dead_schedules: Vec<String>,
    /// Whether some schedule fires within the horizon (so blackouts cover
    /// every opening).
    pub covered_by_blackouts: bool,
    /// Whether the window is open without a break until the horizon, so no
    /// new opening can start before it.
    pub stays_open: bool,
}

impl fmt::Display for NeverOpensWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stays_open {
            f.write_str(": it is open without a break until then")?;
        } else if self.covered_by_blackouts {
            f.write_str(": every opening in that time falls inside spec.blackouts")?;
        }
        if !self.dead_schedules.is_empty() {
            let separator = if self.stays_open || self.covered_by_blackouts {
                "; "
            } else {
                ": "
            };
            let verb = if self.dead_schedules.len() == 1 {
                "matches"
            } else {
                "match"
            };
            write!(
                f,
                "{separator}{} {verb} no date in any year",
                self.dead_schedules.join(" and ")
            )?;
        }
        Ok(())
    }
}
