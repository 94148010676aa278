//! An in-memory Kubernetes API server for refit's tests.
//!
//! No kube-apiserver can be installed where refit is built and tested, so
//! this crate serves enough of the real Kubernetes HTTP API on 127.0.0.1
//! that the real kube client, kube-runtime's watchers and controllers, the
//! `refit` binary and `kubectl` work against it unchanged: discovery, get,
//! list (selectors, pagination), watch (resourceVersions, bookmarks, 410),
//! create, update, the four patch types, delete with finalizers and cascade,
//! the status subresource, Tables for `kubectl get`, and admission of custom
//! resources by their CRD schema and CEL rules. Opt-in simulated controllers
//! roll out Deployments, StatefulSets and DaemonSets and give pods image
//! digests; fault switches make writes fail, watches drop and answers slow.
//!
//! It is test-only: only dev-dependencies may use it. What it deliberately
//! does not do is listed in `docs/TESTING.md`. [`skip`] decides, for every
//! test crate, what a test does when a program it needs is not installed.
//!
//! ```no_run
//! # async fn example() -> Result<(), refit_apiserver::Error> {
//! use refit_apiserver::{ApiServer, Simulation};
//! let server = ApiServer::builder()
//!     .crds_dir(refit_apiserver::repo_crds_dir())
//!     .simulate(Simulation::new())
//!     .start()
//!     .await?;
//! let client = server.client().await?;
//! # let _ = client; Ok(()) }
//! ```

pub mod admission;
pub mod apply;
pub mod conversion;
pub mod discovery;
pub mod faults;
pub mod fixtures;
pub mod gc;
pub mod objects;
pub mod patch;
pub mod resources;
pub mod selectors;
pub mod server;
pub mod sim;
pub mod skip;
pub mod status;
pub mod store;
pub mod strategy;
pub mod table;
pub mod watch;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

pub use faults::{Faults, Release, WriteFault};
pub use sim::{ImageResolver, Simulation, SimulationControl, fake_digest};
pub use status::ApiError;

use crate::{resources::Registry, server::State, store::Store};

/// Why the server could not start or a helper failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding the port or writing the kubeconfig failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A CRD file could not be read or was refused.
    #[error("cannot load CRD {path}: {message}")]
    Crd {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The server refused an object.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// A kube client could not be built.
    #[error("cannot build a kube client: {0}")]
    Client(String),
}

/// The repository's `crds/` directory.
pub fn repo_crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("crds")
}

/// Options of a server to start.
#[derive(Debug)]
pub struct Builder {
    crd_files: Vec<PathBuf>,
    crd_dirs: Vec<PathBuf>,
    simulation: Option<Simulation>,
    history_limit: usize,
    bookmark_interval: Duration,
    port: u16,
    kubeconfig: Option<PathBuf>,
    namespaces: Vec<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            crd_files: Vec::new(),
            crd_dirs: Vec::new(),
            simulation: None,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(1),
            port: 0,
            kubeconfig: None,
            namespaces: vec!["default".into(), "kube-system".into(), "kube-public".into()],
        }
    }
}

impl Builder {
    /// Loads every `*.yaml` CRD in a directory at start.
    pub fn crds_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.crd_dirs.push(dir.into());
        self
    }

    /// Loads one CRD file at start.
    pub fn crd_file(mut self, file: impl Into<PathBuf>) -> Builder {
        self.crd_files.push(file.into());
        self
    }

    /// Runs the simulated controllers.
    pub fn simulate(mut self, simulation: Simulation) -> Builder {
        self.simulation = Some(simulation);
        self
    }

    /// How many changes the watch history keeps (older resourceVersions get
    /// 410 Gone). Default 10 000.
    pub fn history_limit(mut self, changes: usize) -> Builder {
        self.history_limit = changes;
        self
    }

    /// How often watches that allow bookmarks get one. Default 1 s (real
    /// servers send one about every minute).
    pub fn bookmark_interval(mut self, interval: Duration) -> Builder {
        self.bookmark_interval = interval;
        self
    }

    /// A fixed port instead of a random one.
    pub fn port(mut self, port: u16) -> Builder {
        self.port = port;
        self
    }

    /// Where to write the kubeconfig (default: a temporary file removed when
    /// the server is dropped).
    pub fn kubeconfig(mut self, path: impl Into<PathBuf>) -> Builder {
        self.kubeconfig = Some(path.into());
        self
    }

    /// Starts the server on 127.0.0.1. Must be called inside a tokio
    /// runtime; the server runs until the [`ApiServer`] is dropped.
    pub async fn start(self) -> Result<ApiServer, Error> {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let address = listener.local_addr()?.to_string();
        let state = Arc::new(State {
            store: Mutex::new(Store::new(self.history_limit)),
            registry: RwLock::new(Registry::with_builtins()),
            faults: Faults::default(),
            bookmark_interval: self.bookmark_interval,
            address: address.clone(),
            log: std::env::var_os("REFIT_APISERVER_LOG").is_some(),
        });
        for namespace in &self.namespaces {
            server::create_object(
                &state,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
                "refit-apiserver",
            )?;
        }
        let mut files = self.crd_files.clone();
        for dir in &self.crd_dirs {
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        }
        for file in files {
            load_crd_file(&state, &file)?;
        }
        let url = format!("http://{address}");
        let (kubeconfig, temporary) = match self.kubeconfig {
            Some(path) => (path, false),
            None => (
                std::env::temp_dir().join(format!(
                    "refit-apiserver-{}-{:08x}.yaml",
                    std::process::id(),
                    fastrand::u32(..)
                )),
                true,
            ),
        };
        std::fs::write(&kubeconfig, kubeconfig_yaml(&url))?;
        let mut tasks = vec![tokio::spawn(server::serve(listener, state.clone()))];
        let simulation = self.simulation.map(|simulation| {
            let control = Arc::new(SimulationControl::default());
            tasks.push(tokio::spawn(sim::run(state.clone(), simulation, control.clone())));
            control
        });
        Ok(ApiServer {
            state,
            url,
            kubeconfig,
            temporary,
            simulation,
            tasks,
        })
    }
}

fn load_crd_file(state: &Arc<State>, file: &Path) -> Result<(), Error> {
    let crd_error = |message: String| Error::Crd {
        path: file.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(file).map_err(|e| crd_error(e.to_string()))?;
    let crd: Value = serde_saphyr::from_str(&text).map_err(|e| crd_error(e.to_string()))?;
    server::create_object(state, crd, "refit-apiserver").map_err(|e| crd_error(e.message))?;
    Ok(())
}

/// A kubeconfig for a server URL, with context `refit-apiserver` and
/// namespace `default`.
pub fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: refit-apiserver
  cluster:
    server: {url}
contexts:
- name: refit-apiserver
  context:
    cluster: refit-apiserver
    user: refit-apiserver
    namespace: default
current-context: refit-apiserver
users:
- name: refit-apiserver
  user: {{}}
"
    )
}

/// A running server. Dropping it stops it (and removes a temporary
/// kubeconfig).
#[derive(Debug)]
pub struct ApiServer {
    state: Arc<State>,
    url: String,
    kubeconfig: PathBuf,
    temporary: bool,
    simulation: Option<Arc<SimulationControl>>,
    tasks: Vec<JoinHandle<()>>,
}

impl ApiServer {
    /// Options for a new server.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A server with the built-in kinds only and no simulated controllers.
    pub async fn start() -> Result<ApiServer, Error> {
        Builder::default().start().await
    }

    /// A server with refit's CRDs from `crds/` loaded.
    pub async fn with_refit_crds() -> Result<ApiServer, Error> {
        Builder::default().crds_dir(repo_crds_dir()).start().await
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The kubeconfig file pointing at the server.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kube client for the server, built from its kubeconfig (the ring
    /// TLS provider is installed first, as refit's processes do).
    pub async fn client(&self) -> Result<kube::Client, Error> {
        // Idempotent; fails only when a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kubeconfig =
            kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| Error::Client(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| Error::Client(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| Error::Client(e.to_string()))
    }

    /// The fault switches.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The simulated controllers' switches, when they run.
    pub fn simulation(&self) -> Option<&SimulationControl> {
        self.simulation.as_deref()
    }

    /// Loads a CRD file (the resource is served right after).
    pub fn load_crd_file(&self, file: &Path) -> Result<(), Error> {
        load_crd_file(&self.state, file)
    }

    /// Creates an object directly (as the field manager `refit-apiserver`),
    /// e.g. a namespace or fixture, without a client.
    pub fn create(&self, object: Value) -> Result<Value, Error> {
        Ok(server::create_object(&self.state, object, "refit-apiserver")?)
    }

    /// Creates a namespace.
    pub fn create_namespace(&self, name: &str) -> Result<Value, Error> {
        self.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    }

    /// An object as stored, for assertions (`apps/v1`, `Deployment`, …).
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let resource = self.state.registry().find_kind(api_version, kind)?;
        objects::read(&self.state.store(), &resource, namespace, name)
    }

    /// Forgets the watch history, so every earlier resourceVersion is too
    /// old (what etcd compaction does to a long-running cluster).
    pub fn compact(&self) {
        self.state.store().compact();
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.store().current_rv()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if self.temporary {
            // Nothing to do if it is already gone.
            let _ = std::fs::remove_file(&self.kubeconfig);
        }
    }
}

/// The variable naming a real cluster's kubeconfig for end-to-end tests.
pub const E2E_KUBECONFIG: &str = "REFIT_E2E_KUBECONFIG";

/// Where an end-to-end test's Kubernetes API is: the real cluster whose
/// kubeconfig `REFIT_E2E_KUBECONFIG` names, or else a fresh in-memory server
/// with refit's CRDs, so the same test code runs against both.
#[derive(Debug)]
pub enum Cluster {
    /// A real cluster (kind, k3d, …).
    Real {
        /// Its kubeconfig.
        kubeconfig: PathBuf,
    },
    /// The in-memory server.
    Local(ApiServer),
}

impl Cluster {
    /// The real cluster if `REFIT_E2E_KUBECONFIG` is set, else a new
    /// in-memory server (with `simulation`, if given, running).
    pub async fn from_env(simulation: Option<Simulation>) -> Result<Cluster, Error> {
        if let Some(path) = std::env::var_os(E2E_KUBECONFIG).filter(|p| !p.is_empty()) {
            return Ok(Cluster::Real {
                kubeconfig: PathBuf::from(path),
            });
        }
        let mut builder = Builder::default().crds_dir(repo_crds_dir());
        if let Some(simulation) = simulation {
            builder = builder.simulate(simulation);
        }
        Ok(Cluster::Local(builder.start().await?))
    }

    /// Whether this is a real cluster.
    pub fn is_real(&self) -> bool {
        matches!(self, Cluster::Real { .. })
    }

    /// The kubeconfig to give `refit run` or kubectl.
    pub fn kubeconfig_path(&self) -> &Path {
        match self {
            Cluster::Real { kubeconfig } => kubeconfig,
            Cluster::Local(server) => server.kubeconfig_path(),
        }
    }

    /// A kube client for the cluster.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        match self {
            Cluster::Local(server) => server.client().await,
            Cluster::Real { kubeconfig } => {
                // Idempotent; fails only when a provider is already installed.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let kubeconfig =
                    kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| Error::Client(e.to_string()))?;
                let config =
                    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                        .await
                        .map_err(|e| Error::Client(e.to_string()))?;
                kube::Client::try_from(config).map_err(|e| Error::Client(e.to_string()))
            }
        }
    }
}
