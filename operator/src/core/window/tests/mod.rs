//! Tests of the window engine as a whole, from a spec to answers: fixtures
//! here, then one file per topic. Unit tests of the parts (cron, zone,
//! occurrences) sit next to them.

mod decisions;
mod dst;
mod openings;
mod properties;
mod spec;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{Interval, Schedule};
use crate::api::{
    ChangeWindowSpec,
    change_window::{Blackout, RecurringWindow},
};

/// An instant from RFC 3339 text.
pub(super) fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// An instant as the tests write it (`2026-11-27T21:00:00Z`).
pub(super) fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An interval as a pair of texts, for readable assertions.
pub(super) fn pair(interval: Interval) -> (String, String) {
    (text(interval.start), text(interval.end))
}

/// A ChangeWindow spec built up in a test: `spec("Europe/Berlin")
/// .window("0 22 * * FRI,SAT", "6h").blackout(…).schedule()`.
#[derive(Debug, Clone)]
pub(super) struct SpecBuilder(pub ChangeWindowSpec);

pub(super) fn spec(timezone: &str) -> SpecBuilder {
    SpecBuilder(ChangeWindowSpec {
        timezone: timezone.to_owned(),
        windows: Vec::new(),
        blackouts: Vec::new(),
        max_concurrent_changes: 1,
        min_remaining: None,
    })
}

impl SpecBuilder {
    pub(super) fn window(self, schedule: &str, duration: &str) -> Self {
        self.push_window(None, schedule, duration)
    }

    pub(super) fn named(self, name: &str, schedule: &str, duration: &str) -> Self {
        self.push_window(Some(name), schedule, duration)
    }

    fn push_window(mut self, name: Option<&str>, schedule: &str, duration: &str) -> Self {
        self.0.windows.push(RecurringWindow {
            name: name.map(str::to_owned),
            schedule: schedule.to_owned(),
            duration: duration.to_owned(),
        });
        self
    }

    pub(super) fn blackout(mut self, start: &str, end: &str, reason: &str) -> Self {
        let time = |text: &str| Time(text.parse().unwrap_or_else(|e| panic!("{text}: {e}")));
        self.0.blackouts.push(Blackout {
            start: time(start),
            end: time(end),
            reason: reason.to_owned(),
        });
        self
    }

    pub(super) fn min_remaining(mut self, value: &str) -> Self {
        self.0.min_remaining = Some(value.to_owned());
        self
    }

    pub(super) fn max_concurrent(mut self, value: i32) -> Self {
        self.0.max_concurrent_changes = value;
        self
    }

    pub(super) fn schedule(&self) -> Schedule {
        Schedule::compile(&self.0).unwrap_or_else(|e| panic!("the test spec is invalid: {e}"))
    }
}

/// `examples/changewindow-weekend-nights.yaml`: Berlin, Friday and
/// Saturday 22:00 for 6h, the year-end freeze, 45m minRemaining, 2 at once.
pub(super) fn weekend_nights() -> Schedule {
    spec("Europe/Berlin")
        .named("friday-and-saturday-night", "0 22 * * FRI,SAT", "6h")
        .blackout(
            "2026-12-18T23:00:00Z",
            "2027-01-04T23:00:00Z",
            "Year-end change freeze (CAB decision 2026-10-14)",
        )
        .max_concurrent(2)
        .min_remaining("45m")
        .schedule()
}

/// The next `count` openings after `after`, as text pairs.
pub(super) fn upcoming(schedule: &Schedule, after: &str, count: usize) -> Vec<(String, String)> {
    schedule
        .upcoming(utc(after), count)
        .unwrap_or_else(|e| panic!("no openings after {after}: {e}"))
        .into_iter()
        .map(pair)
        .collect()
}

/// Owned text pairs from string literals.
pub(super) fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(s, e)| ((*s).to_owned(), (*e).to_owned()))
        .collect()
}
