//! A ChangeWindow spec compiled into a [`Schedule`]: the time zone looked
//! up, every cron expression and duration parsed, blackouts converted to
//! instants and merged. Compiling checks everything only Rust can check and
//! reports every problem at once, each naming its field; the queries in
//! [`super::search`] and [`super::state`] then cannot fail on the spec.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{Interval, WindowError, cron::Cron};
use crate::{api::ChangeWindowSpec, core::duration};

/// The longest a single opening may last. Longer ones would make every
/// search walk that far back to find openings still in progress; a window
/// meant to be always open is written as a daily opening of `1d`.
pub const LONGEST_OPENING: TimeDelta = TimeDelta::days(366);

/// A validated ChangeWindow, ready to answer when changes may start.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub(super) zone: Tz,
    pub(super) windows: Vec<Window>,
    pub(super) blackouts: Vec<Blackout>,
    /// The union of the blackouts: sorted, with overlapping and adjacent
    /// ones merged, so that clipping needs one pass.
    pub(super) frozen: Vec<Interval>,
    pub(super) max_concurrent: u32,
    pub(super) min_remaining: TimeDelta,
    /// The longest `duration` of any window.
    pub(super) longest: TimeDelta,
}

/// One compiled `windows[]` entry.
#[derive(Debug, Clone)]
pub(super) struct Window {
    /// How the window is named in reasons: `window "name"`, or its path and
    /// schedule when it has no name.
    pub label: String,
    /// `spec.windows[i].schedule "expression"`, for "never opens" errors.
    pub described: String,
    pub cron: Cron,
    pub minutes: Vec<u16>,
    pub duration: TimeDelta,
}

/// One `blackouts[]` entry.
#[derive(Debug, Clone)]
pub(super) struct Blackout {
    pub index: usize,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: String,
}

impl Schedule {
    /// Validates `spec` and compiles it. On failure every problem is
    /// reported ([`WindowError::Several`] when there is more than one).
    pub fn compile(spec: &ChangeWindowSpec) -> Result<Schedule, WindowError> {
        let mut problems = Vec::new();
        let zone = spec.timezone.parse::<Tz>().map_err(|_| WindowError::UnknownTimezone {
            value: spec.timezone.clone(),
        });
        if spec.windows.is_empty() {
            problems.push(WindowError::NoWindows);
        }
        let mut windows = Vec::new();
        for (index, window) in spec.windows.iter().enumerate() {
            let schedule_path = format!("spec.windows[{index}].schedule");
            let cron = Cron::parse(&window.schedule).map_err(|problem| WindowError::Schedule {
                path: schedule_path.clone(),
                problem,
            });
            let duration = positive_duration(&format!("spec.windows[{index}].duration"), &window.duration);
            match (cron, duration) {
                (Ok(cron), Ok(duration)) => windows.push(Window {
                    label: match &window.name {
                        Some(name) => format!("window {name:?}"),
                        None => format!("spec.windows[{index}] {:?}", window.schedule),
                    },
                    described: format!("{schedule_path} {:?}", window.schedule),
                    minutes: cron.minutes_of_day(),
                    cron,
                    duration,
                }),
                (cron, duration) => problems.extend(cron.err().into_iter().chain(duration.err())),
            }
        }
        let mut blackouts = Vec::new();
        for (index, blackout) in spec.blackouts.iter().enumerate() {
            let path = format!("spec.blackouts[{index}]");
            let start = instant(&format!("{path}.start"), &blackout.start);
            let end = instant(&format!("{path}.end"), &blackout.end);
            match (start, end) {
                (Ok(start), Ok(end)) if end > start => blackouts.push(Blackout {
                    index,
                    start,
                    end,
                    reason: blackout.reason.clone(),
                }),
                (Ok(_), Ok(_)) => problems.push(WindowError::BlackoutOrder {
                    path,
                    start: blackout.start.0.to_string(),
                    end: blackout.end.0.to_string(),
                }),
                (start, end) => problems.extend(start.err().into_iter().chain(end.err())),
            }
        }
        let max_concurrent = u32::try_from(spec.max_concurrent_changes)
            .ok()
            .filter(|max| *max >= 1)
            .ok_or(WindowError::MaxConcurrentChanges {
                value: spec.max_concurrent_changes,
            });
        let min_remaining = match &spec.min_remaining {
            None => Ok(TimeDelta::zero()),
            Some(text) => delta("spec.minRemaining", text),
        };
        let (zone, max_concurrent, min_remaining) = match (zone, max_concurrent, min_remaining) {
            (Ok(zone), Ok(max), Ok(min)) if problems.is_empty() => (zone, max, min),
            (zone, max, min) => {
                let mut all: Vec<WindowError> = zone.err().into_iter().collect();
                all.append(&mut problems);
                all.extend(max.err().into_iter().chain(min.err()));
                return Err(match all.len() {
                    1 => all.remove(0),
                    _ => WindowError::Several { problems: all },
                });
            }
        };
        let longest = windows.iter().map(|w| w.duration).max().unwrap_or_default();
        let frozen = merge(blackouts.iter().map(|b| Interval {
            start: b.start,
            end: b.end,
        }));
        Ok(Schedule {
            zone,
            windows,
            blackouts,
            frozen,
            max_concurrent,
            min_remaining,
            longest,
        })
    }

    /// The zone in which the schedules are read.
    pub fn timezone(&self) -> Tz {
        self.zone
    }

    /// `maxConcurrentChanges`.
    pub fn max_concurrent_changes(&self) -> u32 {
        self.max_concurrent
    }

    /// `minRemaining` (zero when the spec leaves it out).
    pub fn min_remaining(&self) -> Duration {
        self.min_remaining.to_std().unwrap_or_default()
    }
}

fn delta(path: &str, text: &str) -> Result<TimeDelta, WindowError> {
    let parsed = duration::parse(text).map_err(|source| WindowError::Duration {
        path: path.to_owned(),
        source,
    })?;
    TimeDelta::from_std(parsed)
        .ok()
        .filter(|delta| *delta <= TimeDelta::days(100 * 366))
        .ok_or_else(|| WindowError::DurationTooLong {
            path: path.to_owned(),
            value: text.to_owned(),
        })
}

fn positive_duration(path: &str, text: &str) -> Result<TimeDelta, WindowError> {
    let delta = delta(path, text)?;
    if delta <= TimeDelta::zero() {
        return Err(WindowError::ZeroDuration {
            path: path.to_owned(),
            value: text.to_owned(),
        });
    }
    if delta > LONGEST_OPENING {
        return Err(WindowError::DurationTooLong {
            path: path.to_owned(),
            value: text.to_owned(),
        });
    }
    Ok(delta)
}

/// A Kubernetes `Time` (a jiff timestamp) as a chrono instant.
fn instant(path: &str, time: &Time) -> Result<DateTime<Utc>, WindowError> {
    let nanos = time.0.as_nanosecond();
    let seconds = i64::try_from(nanos.div_euclid(1_000_000_000)).ok();
    let subsecond = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok();
    seconds
        .zip(subsecond)
        .and_then(|(seconds, subsecond)| DateTime::from_timestamp(seconds, subsecond))
        .ok_or_else(|| WindowError::InstantOutOfRange {
            path: path.to_owned(),
            value: time.0.to_string(),
        })
}

/// Sorts intervals and merges those that overlap or touch.
pub(super) fn merge(intervals: impl Iterator<Item = Interval>) -> Vec<Interval> {
    let mut sorted: Vec<Interval> = intervals.collect();
    sorted.sort_by_key(|interval| interval.start);
    let mut merged: Vec<Interval> = Vec::with_capacity(sorted.len());
    for interval in sorted {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}
