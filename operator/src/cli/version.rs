//! `refit version`: which build this is.

use std::io::Write;

use super::CliError;

/// How `refit version` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `refit 0.1.0 (refit.dev/v1alpha1)`.
    Text,
    /// `{"version": "0.1.0", "apiVersion": "refit.dev/v1alpha1"}`.
    Json,
}

pub(super) fn run(format: Format) -> Result<(), CliError> {
    let version = env!("CARGO_PKG_VERSION");
    let api_version = format!("{}/{}", crate::api::GROUP, crate::api::VERSION);
    let line = match format {
        Format::Text => format!("refit {version} ({api_version})\n"),
        Format::Json => format!(
            "{}\n",
            serde_json::json!({ "version": version, "apiVersion": api_version })
        ),
    };
    std::io::stdout()
        .lock()
        .write_all(line.as_bytes())
        .map_err(|source| CliError::Write {
            target: "standard output".into(),
            source,
        })
}
