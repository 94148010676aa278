//! `refit scan`: checks the images in manifests on disk and reports as a
//! table, JSON or SARIF. Exit codes: 0 nothing to report under `--fail-on`
//! (or no `--fail-on`), 1 findings matched `--fail-on`, 2 usage, input or
//! configuration errors.

use std::{io::Write, path::PathBuf, process::ExitCode};

use chrono::{DateTime, Utc};

use super::EXIT_USAGE;
use crate::manifest_scan::{ScanOptions, report::FailOn};

/// Arguments of `refit scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Manifest files or directories (searched for .yaml, .yml and .json);
    /// `-` reads standard input (e.g. `helm template … | refit scan -`).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// A PatchPolicy file whose `images` rules apply. Default: every image,
    /// minor updates, pinned digests, base images checked.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The operator config file; its registry settings (hosts, plain-HTTP
    /// registries, mirrors, rate limits, credentials file) are used.
    #[arg(long, value_name = "FILE", env = "REFIT_CONFIG")]
    registry_config: Option<PathBuf>,
    /// Read repositories from an OCI layout tree (DIR/<host>/<repository>/)
    /// instead of registries, offline.
    #[arg(long, value_name = "DIR")]
    oci_layout: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Exit with code 1 when a container is in one of these states
    /// (comma-separated or repeated). Without it, findings exit 0.
    #[arg(long, value_enum, value_delimiter = ',')]
    fail_on: Vec<FailOn>,
    /// Judge build times (minAge) at this instant (RFC 3339) instead of now,
    /// for reproducible reports.
    #[arg(long, value_name = "RFC3339")]
    at: Option<DateTime<Utc>>,
    /// Also list objects that are not workloads and images no rule governs
    /// (on standard error).
    #[arg(long, short)]
    verbose: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table grouped by workload.
    Table,
    /// JSON (schema version 1, see docs/SCAN.md).
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// Runs `refit scan`.
pub fn run(args: ScanArgs) -> ExitCode {
    let options = ScanOptions {
        paths: args.paths,
        policy: args.policy,
        registry_config: args.registry_config,
        oci_layout: args.oci_layout,
        now: args.at.unwrap_or_else(Utc::now),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let outcome = match runtime.block_on(crate::manifest_scan::scan(&options)) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if args.verbose {
        for skipped in &outcome.manifests.skipped {
            let name = skipped.name.as_deref().unwrap_or("(unnamed)");
            let kind = if skipped.kind.is_empty() {
                "(no kind)"
            } else {
                &skipped.kind
            };
            eprintln!("skipped {kind} {name} in {}: not a workload refit checks", skipped.file);
        }
        for image in &outcome.ungoverned {
            eprintln!("not checked: {image} (no rule of the policy matches it)");
        }
    }
    let report = &outcome.report;
    let text = match args.output {
        Format::Table => report.to_table(),
        Format::Json => format!("{:#}\n", report.to_json()),
        Format::Sarif => format!("{:#}\n", report.to_sarif()),
    };
    if let Err(error) = std::io::stdout().lock().write_all(text.as_bytes()) {
        eprintln!("error: cannot write standard output: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let matched = report.matching(&args.fail_on);
    if matched > 0 {
        eprintln!("refit scan: {matched} container(s) matched --fail-on");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
