//! The searches behind every query: which openings are in progress at an
//! instant, how far the merged opening around it reaches, and where the next
//! opening after an instant starts once blackouts are cut out.
//!
//! An opening of one window is `[fire, fire + duration)`. Openings of all
//! windows that overlap or touch form one merged opening; blackouts are then
//! cut out of it, which can leave several pieces. Every search is bounded:
//! a merged opening is followed at most [`HORIZON`] from the instant asked
//! about, the next opening is looked for within [`HORIZON`] (or until every
//! schedule has fired once, for schedules rarer than that, such as leap
//! days), and no search follows more than [`SEARCH_LIMIT`] raw openings in
//! one direction. Blackouts are jumped over, not walked through.

use std::iter::Peekable;

use chrono::{DateTime, TimeDelta, Utc};

use super::{
    Interval, WindowError,
    error::{NeverOpensWhy, Rfc3339},
    occurrences::{Direction, Firing, Occurrences},
    schedule::{Schedule, Window},
};

/// How far ahead (and, for a merged opening in progress, back) searches
/// look: two years, one of them possibly a leap year.
pub const HORIZON: TimeDelta = TimeDelta::days(731);

/// How far ahead a schedule's first firing is looked for. A schedule that
/// matches some date fires within 28 years (the weekday cycle of 29
/// February), 40 across a century that is not a leap year.
const CRON_LOOKAHEAD: TimeDelta = TimeDelta::days(100 * 366);

/// How many raw openings a search may follow in one direction. Real
/// schedules meet a few hundred in two years; a schedule firing every minute
/// meets a million, and 32 of them would keep a reconcile busy for seconds.
pub const SEARCH_LIMIT: usize = 2_000_000;

/// A raw opening: which window fired, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fired {
    pub window: usize,
    pub start: DateTime<Utc>,
}

/// Counts raw openings looked at against [`SEARCH_LIMIT`].
#[derive(Debug)]
struct Budget(usize);

impl Budget {
    fn new() -> Self {
        Budget(SEARCH_LIMIT)
    }

    /// Spends one; false once nothing is left.
    fn spend(&mut self) -> bool {
        match self.0.checked_sub(1) {
            Some(left) => {
                self.0 = left;
                true
            }
            None => false,
        }
    }
}

/// `at + by`, stopping at the end of chrono's calendar: queries may be asked
/// about any instant, and none may overflow.
pub(super) fn later(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - by`, stopping at the start of chrono's calendar.
pub(super) fn earlier(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_sub_signed(by).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Raw openings of every window in order of their start, forwards or
/// backwards.
struct Merged<'a> {
    walks: Vec<Peekable<Occurrences<'a>>>,
    direction: Direction,
}

impl Iterator for Merged<'_> {
    type Item = Fired;

    fn next(&mut self) -> Option<Fired> {
        let mut first: Option<(usize, DateTime<Utc>)> = None;
        for (window, walk) in self.walks.iter_mut().enumerate() {
            let Some(start) = walk.peek().copied() else {
                continue;
            };
            let comes_first = first.is_none_or(|(_, best)| match self.direction {
                Direction::Forward => start < best,
                Direction::Backward => start > best,
            });
            if comes_first {
                first = Some((window, start));
            }
        }
        let (window, _) = first?;
        let start = self.walks.get_mut(window)?.next()?;
        Some(Fired { window, start })
    }
}

impl Schedule {
    fn firing<'a>(&'a self, window: &'a Window) -> Firing<'a> {
        Firing {
            cron: &window.cron,
            minutes: &window.minutes,
            zone: self.zone,
        }
    }

    pub(super) fn duration_of(&self, window: usize) -> TimeDelta {
        self.windows.get(window).map(|w| w.duration).unwrap_or_default()
    }

    fn merged(&self, direction: Direction, start: DateTime<Utc>, stop: DateTime<Utc>) -> Merged<'_> {
        Merged {
            walks: self
                .windows
                .iter()
                .map(|window| Occurrences::new(self.firing(window), direction, start, stop).peekable())
                .collect(),
            direction,
        }
    }

    /// The raw openings in progress at `at`: per window, the latest firing
    /// at or before `at`, if it has not ended yet. (All openings of a window
    /// last equally long, so the latest one reaches furthest.)
    pub(super) fn in_progress(&self, at: DateTime<Utc>) -> Vec<Fired> {
        self.windows
            .iter()
            .enumerate()
            .filter_map(|(index, window)| {
                let start = Occurrences::new(
                    self.firing(window),
                    Direction::Backward,
                    at,
                    earlier(at, window.duration),
                )
                .next()?;
                (later(start, window.duration) > at).then_some(Fired { window: index, start })
            })
            .collect()
    }

    /// Follows a merged opening forwards from `end`: openings that start
    /// at `from` or later and no later than `stop` are merged while they
    /// start before (or exactly when) the merged opening ends.
    fn extend_end(
        &self,
        from: DateTime<Utc>,
        mut end: DateTime<Utc>,
        stop: DateTime<Utc>,
        budget: &mut Budget,
    ) -> DateTime<Utc> {
        for firing in self.merged(Direction::Forward, from, stop) {
            if firing.start > end || !budget.spend() {
                break;
            }
            end = end.max(later(firing.start, self.duration_of(firing.window)));
        }
        end
    }

    /// Follows a merged opening backwards from `start`, down to `stop`.
    fn extend_start(&self, mut start: DateTime<Utc>, stop: DateTime<Utc>, budget: &mut Budget) -> DateTime<Utc> {
        for firing in self.merged(Direction::Backward, start, stop) {
            // Every opening still to come started earlier than this one and
            // lasts at most `longest`.
            if later(firing.start, self.longest) < start || !budget.spend() {
                break;
            }
            if later(firing.start, self.duration_of(firing.window)) >= start {
                start = start.min(firing.start);
            }
        }
        start
    }

    /// The merged opening around `at` (blackouts not yet cut out) and the
    /// raw openings in progress at `at`; `None` when no window is open.
    pub(super) fn merged_around(&self, at: DateTime<Utc>) -> Option<(Interval, Vec<Fired>)> {
        let in_progress = self.in_progress(at);
        let start = in_progress.iter().map(|f| f.start).min()?;
        let end = in_progress
            .iter()
            .map(|f| later(f.start, self.duration_of(f.window)))
            .max()?;
        let end = self.extend_end(at, end, later(at, HORIZON), &mut Budget::new());
        let start = self.extend_start(start, earlier(at, HORIZON), &mut Budget::new());
        Some((Interval { start, end }, in_progress))
    }

    /// `merged` minus the blackouts: the pieces in which changes may start.
    pub(super) fn pieces(&self, merged: Interval) -> Vec<Interval> {
        let mut pieces = Vec::new();
        let mut cursor = merged.start;
        for frozen in &self.frozen {
            if frozen.end <= cursor {
                continue;
            }
            if frozen.start >= merged.end {
                break;
            }
            if frozen.start > cursor {
                pieces.push(Interval {
                    start: cursor,
                    end: frozen.start,
                });
            }
            cursor = cursor.max(frozen.end);
        }
        if cursor < merged.end {
            pieces.push(Interval {
                start: cursor,
                end: merged.end,
            });
        }
        pieces
    }

    /// Where the search for the next opening after `after` stops: the
    /// horizon, or later if a schedule first fires after it (leap days).
    fn search_end(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, WindowError> {
        let mut end = later(after, HORIZON);
        let mut fires = false;
        for window in self.windows.iter().filter(|w| w.cron.matches_some_date()) {
            let first = Occurrences::new(
                self.firing(window),
                Direction::Forward,
                after,
                later(after, CRON_LOOKAHEAD),
            )
            .find(|first| *first > after);
            if let Some(first) = first {
                fires = true;
                end = end.max(first);
            }
        }
        if fires {
            Ok(end)
        } else {
            Err(self.never_opens(after, end, false, false))
        }
    }

    fn never_opens(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        covered_by_blackouts: bool,
        stays_open: bool,
    ) -> WindowError {
        WindowError::NeverOpens {
            after: Rfc3339(after),
            until: Rfc3339(until),
            horizon_days: HORIZON.num_days(),
            why: NeverOpensWhy {
                dead_schedules: self
                    .windows
                    .iter()
                    .filter(|w| !w.cron.matches_some_date())
                    .map(|w| w.described.clone())
                    .collect(),
                covered_by_blackouts,
                stays_open,
            },
        }
    }

    /// The merged blackout that covers `at`, if any.
    fn frozen_at(&self, at: DateTime<Utc>) -> Option<Interval> {
        self.frozen.iter().copied().find(|frozen| frozen.contains(at))
    }

    /// The first piece (merged opening minus blackouts) that starts
    /// strictly after `after`.
    ///
    /// The search walks merged openings forwards from `after`. Nothing can
    /// start inside a blackout, so the walk jumps from wherever it meets one
    /// to its end, where a piece starts if an opening is still in progress;
    /// the firings inside the blackout are never looked at.
    pub(super) fn next_piece(&self, after: DateTime<Utc>) -> Result<Interval, WindowError> {
        let until = self.search_end(after)?;
        let mut budget = Budget::new();
        let mut cursor = after;
        let mut merged = match self.frozen_at(after) {
            Some(_) => None,
            None => self.merged_around(after).map(|(interval, _)| interval),
        };
        let stays_open = merged.is_some_and(|m| m.end > until);
        loop {
            if !budget.spend() {
                return Err(WindowError::SearchLimit {
                    after: Rfc3339(after),
                    limit: SEARCH_LIMIT,
                });
            }
            if let Some(interval) = merged.take() {
                let piece = self
                    .pieces(interval)
                    .into_iter()
                    .find(|piece| piece.start > after && piece.start <= until);
                if let Some(piece) = piece {
                    return Ok(piece);
                }
                cursor = interval.end;
            }
            if let Some(frozen) = self.frozen_at(cursor) {
                if frozen.end > until {
                    return Err(self.never_opens(after, until, !stays_open, stays_open));
                }
                cursor = frozen.end;
                let in_progress = self.in_progress(cursor);
                let end = in_progress
                    .iter()
                    .map(|fired| later(fired.start, self.duration_of(fired.window)))
                    .max();
                if let Some(end) = end {
                    merged = Some(Interval {
                        start: cursor,
                        end: self.extend_end(cursor, end, until, &mut budget),
                    });
                    continue;
                }
            }
            let next_start = self
                .windows
                .iter()
                .enumerate()
                .filter_map(|(index, window)| {
                    let start = Occurrences::new(self.firing(window), Direction::Forward, cursor, until).next()?;
                    Some((start, index))
                })
                .min();
            let Some((start, window)) = next_start else {
                // Some schedule fires before `until` (see `search_end`), so
                // unless the window stays open, every firing was frozen.
                return Err(self.never_opens(after, until, !stays_open, stays_open));
            };
            if self.frozen_at(start).is_some() {
                cursor = start;
                continue;
            }
            let end = later(start, self.duration_of(window));
            merged = Some(Interval {
                start,
                end: self.extend_end(start, end, until, &mut budget),
            });
        }
    }
}
