//! `refit window`: how a person plans a change. Reads one ChangeWindow from
//! a YAML file, asks [`crate::core::window`] whether it is open at an
//! instant (by default now: the clock is read here, at the edge) and when it
//! opens next, and prints the answer as text (the window's local time and
//! UTC) or as JSON for scripts. Every decision is the engine's; this module
//! reads, converts and prints.
//!
//! Exit codes: 0 printed; 2 the input is wrong (a file that cannot be read
//! or parsed, an invalid spec, a window that never opens), with `error: …`
//! naming the field; 1 the answer could not be written.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{CliError, EXIT_FAILURE, EXIT_USAGE};
use crate::{
    api::ChangeWindow,
    core::{
        duration,
        window::{Decision, HORIZON, Interval, Preview, Schedule, State, WindowError},
    },
};

/// Arguments of `refit window`.
#[derive(Debug, clap::Args)]
pub(super) struct WindowArgs {
    /// The ChangeWindow to preview: a YAML file with one object.
    #[arg(long, short, value_name = "FILE")]
    file: PathBuf,
    /// The instant to ask about, RFC 3339 (e.g. 2026-11-27T22:30:00+01:00).
    /// Default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    from: Option<DateTime<Utc>>,
    /// How many of the next openings to list.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(0..=1000))]
    count: u16,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    output: Format,
}

/// How `refit window` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: open or closed and why, then the openings in the window's
    /// local time and in UTC.
    Text,
    /// `{"open", "reason", "current", "openings"}`, instants in UTC.
    Json,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| format!("{text:?} is not an RFC 3339 instant such as 2026-11-27T22:30:00Z ({error})"))
}

/// Why `refit window` could not answer: something about its input.
#[derive(Debug, thiserror::Error)]
enum InputError {
    #[error("cannot read {file}: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
    #[error("{file}: kind is {kind:?}; refit window reads a ChangeWindow")]
    Kind { file: String, kind: String },
    #[error("{file}: {source}")]
    Window { file: String, source: WindowError },
}

pub(super) fn run(args: WindowArgs) -> ExitCode {
    let at = args.from.unwrap_or_else(Utc::now);
    let count = usize::from(args.count);
    let answer = read(&args.file).and_then(|(name, schedule)| {
        let preview = schedule.preview(at, count).map_err(|source| InputError::Window {
            file: args.file.display().to_string(),
            source,
        })?;
        Ok((name, schedule, preview))
    });
    let (name, schedule, preview) = match answer {
        Ok(answer) => answer,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let output = match args.output {
        Format::Json => json(&preview),
        Format::Text => Ok(text(&name, &schedule, at, &preview, count)),
    };
    match output.and_then(|output| write(&output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Only `kind` is read first, so that a file of another kind is named as
/// such rather than as a ChangeWindow with missing fields.
#[derive(Deserialize)]
struct Header {
    kind: Option<String>,
}

/// Reads and compiles the ChangeWindow in `file`; returns its name (or the
/// file's, if it has none) and the schedule.
fn read(file: &Path) -> Result<(String, Schedule), InputError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| InputError::Read {
        file: shown.clone(),
        source,
    })?;
    let yaml_error = |error: serde_saphyr::Error| InputError::Yaml {
        file: shown.clone(),
        message: error.without_snippet().to_string(),
    };
    let header: Header = serde_saphyr::from_str(&text).map_err(yaml_error)?;
    if let Some(kind) = header.kind.filter(|kind| kind != "ChangeWindow") {
        return Err(InputError::Kind { file: shown, kind });
    }
    let window: ChangeWindow = serde_saphyr::from_str(&text).map_err(yaml_error)?;
    let schedule = Schedule::compile(&window.spec).map_err(|source| InputError::Window {
        file: shown.clone(),
        source,
    })?;
    Ok((window.metadata.name.unwrap_or(shown), schedule))
}

fn write(output: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Write {
            target: "standard output".into(),
            source,
        })
}

#[derive(Serialize)]
struct JsonPreview {
    open: bool,
    reason: String,
    current: Option<JsonInterval>,
    openings: Vec<JsonInterval>,
}

#[derive(Serialize)]
struct JsonInterval {
    start: String,
    end: String,
}

impl From<Interval> for JsonInterval {
    fn from(interval: Interval) -> Self {
        JsonInterval {
            start: rfc3339(interval.start),
            end: rfc3339(interval.end),
        }
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn json(preview: &Preview) -> Result<String, CliError> {
    let report = JsonPreview {
        open: preview.state.is_open(),
        reason: preview.state.to_string(),
        current: preview.state.current().map(JsonInterval::from),
        openings: preview.openings.iter().copied().map(JsonInterval::from).collect(),
    };
    let body = serde_json::to_string_pretty(&report).map_err(|error| CliError::Serialize {
        what: "the window preview".to_owned(),
        message: error.to_string(),
    })?;
    Ok(format!("{body}\n"))
}

/// An instant in the window's zone: `Fri 2026-11-27 22:00 CET (+01:00)`,
/// with seconds only when it has any.
fn local(zone: Tz, at: DateTime<Utc>) -> String {
    let pattern = if at.second() == 0 && at.nanosecond() == 0 {
        "%a %Y-%m-%d %H:%M %Z (%:z)"
    } else {
        "%a %Y-%m-%d %H:%M:%S %Z (%:z)"
    };
    at.with_timezone(&zone).format(pattern).to_string()
}

/// One line per interval: local time, then UTC, the columns aligned.
fn interval_lines(zone: Tz, intervals: &[Interval]) -> Vec<String> {
    let locals: Vec<String> = intervals
        .iter()
        .map(|i| format!("{} → {}", local(zone, i.start), local(zone, i.end)))
        .collect();
    let width = locals.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    locals
        .iter()
        .zip(intervals)
        .map(|(local, i)| {
            let pad = width - local.chars().count();
            format!("  {local}{:pad$}   {} → {}", "", rfc3339(i.start), rfc3339(i.end))
        })
        .collect()
}

fn text(name: &str, schedule: &Schedule, at: DateTime<Utc>, preview: &Preview, count: usize) -> String {
    let zone = schedule.timezone();
    let mut lines = vec![
        format!("ChangeWindow {name} ({zone})"),
        format!("at {} = {}", local(zone, at), rfc3339(at)),
        String::new(),
    ];
    match &preview.state {
        State::Open { current, .. } => {
            lines.push(format!("open: {}", preview.state));
            lines.push("current opening:".to_owned());
            lines.extend(interval_lines(zone, &[*current]));
            lines.push(starting_now(schedule, at, *current));
        }
        closed => lines.push(format!("closed: {closed}")),
    }
    if count > 0 {
        lines.push(String::new());
        if preview.openings.is_empty() {
            lines.push(format!(
                "no other opening starts within the next {} days",
                HORIZON.num_days()
            ));
        } else {
            let n = preview.openings.len();
            lines.push(format!("next {n} opening{}:", if n == 1 { "" } else { "s" }));
            lines.extend(interval_lines(zone, &preview.openings));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whether a change could start at `at`, and until when.
fn starting_now(schedule: &Schedule, at: DateTime<Utc>, current: Interval) -> String {
    let limit = match schedule.max_concurrent_changes() {
        1 => "one change at a time".to_owned(),
        n => format!("at most {n} changes at a time"),
    };
    match schedule.may_start(at, Duration::ZERO, 0) {
        Decision::Wait(refusal) => format!("no change may start now: {refusal}"),
        Decision::Start { .. } if schedule.min_remaining().is_zero() => {
            format!("changes may start until the opening ends; {limit}")
        }
        Decision::Start { .. } => match schedule.start_deadline(current) {
            Some(deadline) => format!(
                "changes may start until {} = {} (minRemaining {}); {limit}",
                local(schedule.timezone(), deadline),
                rfc3339(deadline),
                duration::format(schedule.min_remaining())
            ),
            None => format!("changes may start until the opening ends; {limit}"),
        },
    }
}
