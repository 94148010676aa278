//! `refit-apiserver serve`: the test API server as a standalone process, so
//! a person can try `kubectl` and `refit run` against it by hand. It loads
//! the CRDs, runs the simulated controllers, writes a kubeconfig and serves
//! until interrupted.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use refit_apiserver::{ApiServer, Simulation};

#[derive(Debug, Parser)]
#[command(
    name = "refit-apiserver",
    about = "An in-memory Kubernetes API server for trying refit by hand (test tool)"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve on 127.0.0.1 until interrupted.
    Serve {
        /// A directory of CRD YAML files to load (repeatable).
        #[arg(long = "crds", default_value = "crds")]
        crds: Vec<PathBuf>,
        /// Where to write the kubeconfig.
        #[arg(long, default_value = "kubeconfig.yaml")]
        kubeconfig: PathBuf,
        /// Port (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Simulated nodes.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Milliseconds between steps of the simulated controllers.
        #[arg(long, default_value_t = 500)]
        tick_ms: u64,
        /// Do not run the simulated controllers.
        #[arg(long)]
        no_controllers: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Serve {
        crds,
        kubeconfig,
        port,
        nodes,
        tick_ms,
        no_controllers,
    } = Args::parse().command;
    let mut builder = ApiServer::builder().port(port).kubeconfig(&kubeconfig);
    for dir in crds {
        builder = builder.crds_dir(dir);
    }
    if !no_controllers {
        builder = builder.simulate(Simulation::new().nodes(nodes).tick(Duration::from_millis(tick_ms)));
    }
    let server = match builder.start().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    println!("refit-apiserver serving on {}", server.url());
    println!("kubeconfig written to {}", kubeconfig.display());
    println!("try: KUBECONFIG={} kubectl get changetickets -A", kubeconfig.display());
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("error: cannot wait for Ctrl-C");
        return ExitCode::FAILURE;
    }
    drop(server);
    ExitCode::SUCCESS
}
