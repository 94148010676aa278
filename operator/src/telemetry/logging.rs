//! Logging: `tracing` events written to standard output as one JSON object
//! per line (or as text for people at a terminal), filtered by an
//! [`EnvFilter`] behind a reload handle, so the level can change while the
//! operator runs (`refit run` re-reads `operator.logLevel` on SIGHUP).
//!
//! Nothing secret is ever given to a log call: registry credentials are
//! redacted in their `Debug` output and pull secrets are never logged.

use serde::Deserialize;
use tracing_subscriber::{EnvFilter, Registry, layer::SubscriberExt, reload, util::SubscriberInitExt};

/// The filter when none is given.
pub const DEFAULT_FILTER: &str = "info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}

/// Changes the log filter of the running process.
#[derive(Debug, Clone)]
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
}

impl LogControl {
    /// Replaces the filter, e.g. with `debug` or `info,refit=debug`.
    pub fn set_filter(&self, text: &str) -> Result<(), String> {
        let filter = parse_filter(text)?;
        self.handle
            .reload(filter)
            .map_err(|error| format!("cannot change the log filter: {error}"))
    }
}

/// Reads a filter: a level (`info`) or `tracing` directives
/// (`info,refit::controller=debug`).
pub fn parse_filter(text: &str) -> Result<EnvFilter, String> {
    EnvFilter::builder()
        .parse(text)
        .map_err(|error| format!("{text:?} is not a log filter such as info or info,refit=debug ({error})"))
}

/// Installs the global subscriber. Fails when the filter cannot be read or
/// a subscriber is already installed.
pub fn init(format: LogFormat, filter: &str) -> Result<LogControl, String> {
    let (filter, handle) = reload::Layer::new(parse_filter(filter)?);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer()).try_init(),
    };
    installed.map_err(|error| format!("cannot install the logger: {error}"))?;
    Ok(LogControl { handle })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_levels_or_directives() {
        assert!(parse_filter("info").is_ok());
        assert!(parse_filter("warn,refit::controller=debug").is_ok());
        let error = parse_filter("refit=loud").expect_err("not a level");
        assert!(error.starts_with("\"refit=loud\" is not a log filter"), "{error}");
    }
}
