//! The `refit` command line: argument parsing and dispatch to the
//! subcommands. `main.rs` only calls [`main`].
//!
//! Exit codes: 0 success; 1 the command ran and failed (an I/O error, say);
//! 2 the command line (or a file it names) was wrong.

pub mod crd;
mod run;
mod scan;
mod version;
mod window;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

/// Exit code for a command that ran and failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for usage errors: a wrong flag, or a file that cannot be used.
pub const EXIT_USAGE: u8 = 2;

/// refit finds outdated and drifted container images in Kubernetes and
/// changes them only inside agreed change windows, with a change ticket for
/// every change.
#[derive(Debug, Parser)]
#[command(name = "refit", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the operator: watch the cluster, keep DriftReports and the
    /// status of PatchPolicies and ChangeWindows current. It creates no
    /// ChangeTickets and changes no workload yet.
    Run(run::RunArgs),
    /// Check the images in Kubernetes manifests on disk against their
    /// registries (or an OCI layout), for CI: table, JSON or SARIF.
    Scan(scan::ScanArgs),
    /// Show whether a ChangeWindow (read from a YAML file) is open at an
    /// instant and why, and its next openings in local time and UTC.
    Window(window::WindowArgs),
    /// Print refit's CustomResourceDefinitions as one multi-document YAML
    /// stream, or write one file per kind with --output-dir.
    Crd(CrdArgs),
    /// Print refit's version.
    Version(VersionArgs),
}

#[derive(Debug, clap::Args)]
struct CrdArgs {
    /// Write one file per CRD (`<group>_<plural>.yaml`) into this directory
    /// instead of printing them; this is how `crds/` is regenerated.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct VersionArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = version::Format::Text)]
    output: version::Format,
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Window(args) => window::run(args),
        Command::Crd(args) => report(crd::run(args.output_dir.as_deref())),
        Command::Version(args) => report(version::run(args.output)),
    }
}

fn report(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// What can go wrong in the commands that exist.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Writing to stdout or a file failed.
    #[error("cannot write {target}: {source}")]
    Write {
        /// The file or stream.
        target: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Serializing an object failed (a bug in refit).
    #[error("cannot serialize {what}: {message}")]
    Serialize {
        /// What was being serialized.
        what: String,
        /// The serializer's message.
        message: String,
    },
}
