//! The questions a person or the controller asks of a [`Schedule`]: is it
//! open at an instant, and why (which windows, or which blackout); when does
//! it open next; what are the next few openings. Every answer speaks of
//! openings with blackouts already cut out.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{WindowError, error::Rfc3339, schedule::Schedule};

/// A half-open interval of time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    /// First instant in the interval.
    pub start: DateTime<Utc>,
    /// First instant after it.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// Whether `at` lies in the interval.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
}

/// One window's opening in progress at the instant asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// `window "name"`, or `spec.windows[i] "schedule"` for an unnamed one.
    pub window: String,
    /// When this opening began (its cron fired).
    pub opened: DateTime<Utc>,
}

/// A blackout, as the spec states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlackoutRef {
    /// Its position in `spec.blackouts`.
    pub index: usize,
    /// Why changes are frozen.
    pub reason: String,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends (the first instant after it).
    pub end: DateTime<Utc>,
}

impl fmt::Display for BlackoutRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blackout {:?} (spec.blackouts[{}])", self.reason, self.index)
    }
}

/// Whether a ChangeWindow is open at an instant, and why. Its `Display` is
/// the reason a person reads (`refit window` prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Inside an opening and outside every blackout.
    Open {
        /// The merged opening around the instant, blackouts cut out.
        current: Interval,
        /// The windows whose openings are in progress.
        windows: Vec<Opening>,
        /// The blackout that cuts the opening short, if one does.
        cut_by: Option<BlackoutRef>,
    },
    /// Inside a blackout (whatever the windows say).
    Blackout(BlackoutRef),
    /// No window is open.
    Closed,
}

impl State {
    /// Whether a change could start as far as the windows and blackouts go.
    pub fn is_open(&self) -> bool {
        matches!(self, State::Open { .. })
    }

    /// The opening in effect, if open.
    pub fn current(&self) -> Option<Interval> {
        match self {
            State::Open { current, .. } => Some(*current),
            _ => None,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Open {
                current,
                windows,
                cut_by,
            } => {
                let openings: Vec<String> = windows
                    .iter()
                    .map(|o| format!("{} opened at {}", o.window, Rfc3339(o.opened)))
                    .collect();
                write!(f, "{}; open until {}", openings.join(" and "), Rfc3339(current.end))?;
                match cut_by {
                    Some(blackout) => write!(f, ", when {blackout} begins"),
                    None => Ok(()),
                }
            }
            State::Blackout(blackout) => write!(
                f,
                "{blackout} from {} until {}",
                Rfc3339(blackout.start),
                Rfc3339(blackout.end)
            ),
            State::Closed => f.write_str("no window is open"),
        }
    }
}

/// What a preview shows: the state at an instant and the openings after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Open or closed at the instant, and why.
    pub state: State,
    /// The next openings that start after the instant, blackouts cut out.
    pub openings: Vec<Interval>,
}

impl Schedule {
    /// Whether the window is open at `at`, the opening in effect (merged
    /// across windows, blackouts cut out) and why.
    pub fn state_at(&self, at: DateTime<Utc>) -> State {
        if let Some(blackout) = self.blackout_at(at) {
            return State::Blackout(blackout);
        }
        let Some((merged, in_progress)) = self.merged_around(at) else {
            return State::Closed;
        };
        let start = self
            .frozen
            .iter()
            .map(|frozen| frozen.end)
            .filter(|end| *end <= at)
            .fold(merged.start, DateTime::max);
        let next_blackout = self.frozen.iter().map(|frozen| frozen.start).find(|start| *start > at);
        let (end, cut_by) = match next_blackout {
            Some(blackout_start) if blackout_start < merged.end => {
                (blackout_start, self.blackout_starting(blackout_start))
            }
            _ => (merged.end, None),
        };
        let mut windows: Vec<Opening> = in_progress
            .iter()
            .filter_map(|fired| {
                Some(Opening {
                    window: self.windows.get(fired.window)?.label.clone(),
                    opened: fired.start,
                })
            })
            .collect();
        windows.sort_by_key(|opening| opening.opened);
        State::Open {
            current: Interval { start, end },
            windows,
            cut_by,
        }
    }

    /// The first opening (blackouts cut out) that starts strictly after
    /// `after`. While open, that is the opening after the current one.
    /// Fails with [`WindowError::NeverOpens`] when none starts within the
    /// search horizon.
    pub fn next_opening(&self, after: DateTime<Utc>) -> Result<Interval, WindowError> {
        let piece = self.next_piece(after)?;
        // The state at the piece's start follows the opening as far as any
        // other question about that instant does, so both agree.
        Ok(self.state_at(piece.start).current().unwrap_or(piece))
    }

    /// The next `count` openings that start after `after`, in order. Fewer
    /// when the horizon ends the search after at least one was found.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Result<Vec<Interval>, WindowError> {
        let mut openings = Vec::new();
        let mut cursor = after;
        while openings.len() < count {
            match self.next_opening(cursor) {
                Ok(opening) => {
                    cursor = opening.start;
                    openings.push(opening);
                }
                Err(WindowError::NeverOpens { .. }) if !openings.is_empty() => break,
                Err(error) => return Err(error),
            }
        }
        Ok(openings)
    }

    /// The state at `at` and the next `count` openings after it. It is an
    /// error only if the window is closed at `at` and never opens again; a
    /// window open now with nothing after it within the horizon previews
    /// with no openings.
    pub fn preview(&self, at: DateTime<Utc>, count: usize) -> Result<Preview, WindowError> {
        let state = self.state_at(at);
        let openings = match self.upcoming(at, count.max(1)) {
            Ok(mut openings) => {
                openings.truncate(count);
                openings
            }
            Err(WindowError::NeverOpens { .. }) if state.is_open() => Vec::new(),
            Err(error) => return Err(error),
        };
        Ok(Preview { state, openings })
    }

    /// The first blackout in spec order that covers `at`.
    fn blackout_at(&self, at: DateTime<Utc>) -> Option<BlackoutRef> {
        self.blackouts
            .iter()
            .find(|b| b.start <= at && at < b.end)
            .map(|b| BlackoutRef {
                index: b.index,
                reason: b.reason.clone(),
                start: b.start,
                end: b.end,
            })
    }

    /// The first blackout in spec order that starts at `start`.
    fn blackout_starting(&self, start: DateTime<Utc>) -> Option<BlackoutRef> {
        self.blackouts.iter().find(|b| b.start == start).map(|b| BlackoutRef {
            index: b.index,
            reason: b.reason.clone(),
            start: b.start,
            end: b.end,
        })
    }
}
