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
        /// A registry (`HOST[:PORT]`) whose tags the simulated kubelet
        /// resolves as a real one would: a pod runs the digest the tag
        /// points at (repeatable; plain HTTP for 127.0.0.1 and localhost).
        /// Images elsewhere get made-up digests.
        #[arg(long = "registry", value_name = "HOST[:PORT]")]
        registries: Vec<String>,
        /// An image reference, as a pod spec writes it, that cannot be
        /// pulled: its pods wait in ImagePullBackOff and a rollout to it
        /// stalls (repeatable).
        #[arg(long = "fail-image", value_name = "REF")]
        fail_images: Vec<String>,
        /// An image reference whose containers crash over and over: Ready
        /// for one step, then `CrashLoopBackOff`, restarts climbing
        /// (repeatable).
        #[arg(long = "crash-image", value_name = "REF")]
        crash_images: Vec<String>,
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
        registries,
        fail_images,
        crash_images,
    } = Args::parse().command;
    if no_controllers && !(registries.is_empty() && fail_images.is_empty() && crash_images.is_empty()) {
        eprintln!(
            "error: --registry, --fail-image and --crash-image need the simulated controllers; drop --no-controllers"
        );
        return ExitCode::from(2);
    }
    let mut builder = ApiServer::builder().port(port).kubeconfig(&kubeconfig);
    for dir in crds {
        builder = builder.crds_dir(dir);
    }
    if !no_controllers {
        let mut simulation = Simulation::new().nodes(nodes).tick(Duration::from_millis(tick_ms));
        if !registries.is_empty() {
            simulation = match simulation.registries(&registries) {
                Ok(simulation) => simulation,
                Err(error) => {
                    eprintln!("error: --registry: {error}");
                    return ExitCode::from(2);
                }
            };
        }
        builder = builder.simulate(simulation);
    }
    let server = match builder.start().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(control) = server.simulation() {
        for image in &fail_images {
            control.fail_image(image);
        }
        for image in &crash_images {
            control.crash_image(image);
        }
    }
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
