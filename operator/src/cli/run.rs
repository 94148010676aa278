//! `refit run`: the operator. Reads the config file and flags, starts
//! logging, connects to the cluster (in-cluster config or KUBECONFIG),
//! checks that refit's CRDs are installed, serves `/metrics`, `/healthz`
//! and `/readyz`, and runs the controllers until SIGTERM or SIGINT, then
//! lets the work in progress finish and exits 0. SIGHUP re-reads the
//! config file's `operator.logLevel`.
//!
//! Exit codes: 0 after a graceful shutdown; 1 the cluster cannot be used
//! (unreachable, CRDs missing, the metrics address taken); 2 the flags or
//! the config file are wrong.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use tokio::net::TcpListener;

use super::{EXIT_FAILURE, EXIT_USAGE};
use crate::{
    cluster::install::check_crds,
    config::{DEFAULT_METRICS_ADDRESS, OperatorConfig, parse_address},
    controller::{self, Parts, RunSettings, Shutdown, ShutdownTrigger, registry_access::RegistryAccess},
    core::duration,
    registry::credentials::DockerConfig,
    telemetry::{
        logging::{self, DEFAULT_FILTER, LogControl, LogFormat},
        metrics,
        server::{self, Readiness},
    },
};

/// Arguments of `refit run`. Flags override the config file.
#[derive(Debug, clap::Args)]
pub(super) struct RunArgs {
    /// The operator config file (YAML): registries, credentials, caches and
    /// the `operator` section (docs/CONFIG.md).
    #[arg(long, env = "REFIT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to serve /metrics, /healthz and /readyz [default:
    /// operator.metricsAddress, else 0.0.0.0:8080].
    #[arg(long, env = "REFIT_METRICS_ADDRESS", value_name = "HOST:PORT", value_parser = parse_address)]
    metrics_address: Option<SocketAddr>,
    /// Log format [default: operator.logFormat, else json].
    #[arg(long, env = "REFIT_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Log filter: a level (info, debug) or directives such as
    /// info,refit::controller=debug [default: operator.logLevel, else info].
    #[arg(long, env = "REFIT_LOG_LEVEL", value_name = "FILTER")]
    log_level: Option<String>,
    /// Watch workloads and write DriftReports in this namespace only
    /// [default: operator.namespace, else every namespace].
    #[arg(long, short = 'n', env = "REFIT_NAMESPACE", value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// For tests and demos only: scan every policy this often instead of
    /// its spec.scanInterval (which is at least 1m), e.g. 2s.
    #[arg(long, hide = true, env = "REFIT_SCAN_INTERVAL_OVERRIDE", value_name = "DURATION", value_parser = parse_duration)]
    scan_interval_override: Option<Duration>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text).map_err(|error| error.to_string())
}

/// The settings in force: flags over the file over the defaults.
struct Effective {
    metrics_address: SocketAddr,
    log_format: LogFormat,
    log_level: String,
    settings: RunSettings,
}

fn effective(args: &RunArgs, config: &OperatorConfig) -> Result<Effective, String> {
    let section = &config.operator;
    let metrics_address = match (args.metrics_address, &section.metrics_address) {
        (Some(address), _) => address,
        (None, Some(text)) => parse_address(text)?,
        (None, None) => parse_address(DEFAULT_METRICS_ADDRESS)?,
    };
    let namespace = args.namespace.clone().or_else(|| section.namespace.clone());
    if namespace.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err("--namespace: leave it out to watch every namespace".into());
    }
    Ok(Effective {
        metrics_address,
        log_format: args.log_format.or(section.log_format).unwrap_or_default(),
        log_level: args
            .log_level
            .clone()
            .or_else(|| section.log_level.clone())
            .unwrap_or_else(|| DEFAULT_FILTER.to_owned()),
        settings: RunSettings {
            namespace,
            scan_interval_override: args.scan_interval_override,
            workload_debounce: section.workload_debounce(),
            instance: std::env::var("REFIT_POD_NAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .ok()
                .filter(|name| !name.is_empty()),
        },
    })
}

pub(super) fn run(args: RunArgs) -> ExitCode {
    let config = match OperatorConfig::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let effective = match effective(&args, &config) {
        Ok(effective) => effective,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let logs = match logging::init(effective.log_format, &effective.log_level) {
        Ok(logs) => logs,
        Err(error) => {
            eprintln!("error: --log-level: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(EXIT_FAILURE, &format!("cannot start the async runtime: {error}")),
    };
    runtime.block_on(operate(effective, config, logs))
}

/// Reports a startup failure on standard error and in the log.
fn fail(code: u8, message: &str) -> ExitCode {
    tracing::error!(%message, "refit run cannot start");
    eprintln!("error: {message}");
    ExitCode::from(code)
}

async fn operate(effective: Effective, config: OperatorConfig, logs: LogControl) -> ExitCode {
    let credentials = match &config.registry_settings.docker_config_path {
        Some(path) => match DockerConfig::load(path) {
            Ok(credentials) => credentials,
            Err(error) => return fail(EXIT_USAGE, &format!("credentials.dockerConfigPath: {error}")),
        },
        None => DockerConfig::default(),
    };
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(error) => {
            return fail(
                EXIT_FAILURE,
                &format!("cannot configure the Kubernetes client (in-cluster config or KUBECONFIG): {error}"),
            );
        }
    };
    if let Err(error) = check_crds(&client).await {
        return fail(EXIT_FAILURE, &error.to_string());
    }
    let read_pull_secrets = config.operator.read_pull_secrets.unwrap_or(true);
    let registry = match RegistryAccess::new(config.registry_settings.clone(), credentials, read_pull_secrets) {
        Ok(registry) => registry,
        Err(error) => return fail(EXIT_FAILURE, &format!("cannot build the registry client: {error}")),
    };
    let (prometheus, metrics) = metrics::registry(registry.stats());
    let listener = match TcpListener::bind(effective.metrics_address).await {
        Ok(listener) => listener,
        Err(error) => {
            return fail(
                EXIT_FAILURE,
                &format!("cannot serve metrics on {}: {error}", effective.metrics_address),
            );
        }
    };
    let address = listener.local_addr().unwrap_or(effective.metrics_address);
    let readiness = Arc::new(Readiness::default());
    let (trigger, shutdown) = Shutdown::new();
    let server = tokio::spawn(server::serve(
        listener,
        Arc::new(prometheus),
        readiness.clone(),
        shutdown.clone().wait(),
    ));
    tokio::spawn(handle_signals(trigger, logs, config.path.clone()));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        metrics = %address,
        namespace = effective.settings.namespace.as_deref().unwrap_or("(all)"),
        "refit run started"
    );
    let parts = Parts {
        client,
        registry,
        metrics,
        readiness,
    };
    controller::run(effective.settings, parts, shutdown).await;
    let _ = server.await;
    tracing::info!("refit run stopped");
    ExitCode::SUCCESS
}

/// SIGTERM or SIGINT: graceful shutdown (a second one exits at once).
/// SIGHUP: re-read `operator.logLevel` from the config file.
async fn handle_signals(trigger: ShutdownTrigger, logs: LogControl, config: Option<PathBuf>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot listen for signals; stop refit with SIGKILL");
        return;
    };
    let mut stopping = false;
    loop {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
            _ = hangup.recv() => {
                reload_log_level(&logs, config.as_deref());
                continue;
            }
        };
        if stopping {
            tracing::warn!(signal = name, "second signal: exiting without waiting");
            std::process::exit(i32::from(EXIT_FAILURE));
        }
        tracing::info!(signal = name, "shutting down: finishing the work in progress");
        stopping = true;
        trigger.trigger();
    }
}

fn reload_log_level(logs: &LogControl, config: Option<&std::path::Path>) {
    let Some(path) = config else {
        tracing::info!("SIGHUP: no config file to re-read");
        return;
    };
    let level = match OperatorConfig::load(Some(path)) {
        Ok(config) => config.operator.log_level.unwrap_or_else(|| DEFAULT_FILTER.to_owned()),
        Err(error) => {
            tracing::warn!(%error, "SIGHUP: the config file cannot be read; the log filter stays");
            return;
        }
    };
    match logs.set_filter(&level) {
        Ok(()) => tracing::info!(filter = %level, "SIGHUP: log filter changed"),
        Err(error) => tracing::warn!(%error, "SIGHUP: the log filter stays"),
    }
}
