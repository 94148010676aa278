//! Simulated controllers, opt-in per server: what kube-controller-manager
//! and the kubelets would do for the kinds refit changes. Deployments get
//! ReplicaSets and Pods and roll out one pod per tick; StatefulSets replace
//! pods from the highest ordinal down; DaemonSets run one pod per Node; a
//! "kubelet" gives every pod a status whose `containerStatuses[].imageID`
//! names the digest of the image it runs, resolved through a function the
//! test supplies. An image the test marks as failing (or that the function
//! cannot resolve) leaves its pods in `ImagePullBackOff`, so a Deployment
//! rollout stalls and, after `spec.progressDeadlineSeconds`, reports
//! `Progressing=False` with reason `ProgressDeadlineExceeded`.
//!
//! The controllers write through the same code path as API clients, so
//! every change they make is seen by watches, with resourceVersions and
//! managedFields, exactly like a client's.

mod kubelet;
mod registry;
mod workloads;

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use serde_json::Value;

use crate::server::State;

/// An image reference → its digest (`sha256:…`), or `None` when the image
/// cannot be pulled.
pub type ImageResolver = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync>;

/// Options of the simulated controllers.
#[derive(Clone)]
pub struct Simulation {
    pub(crate) tick: Duration,
    pub(crate) nodes: usize,
    pub(crate) resolver: ImageResolver,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("tick", &self.tick)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation::new()
    }
}

impl Simulation {
    /// Controllers that step every 20 ms on one node, resolving every image
    /// to a made-up digest derived from its reference (stable across runs).
    pub fn new() -> Simulation {
        Simulation {
            tick: Duration::from_millis(20),
            nodes: 1,
            resolver: Arc::new(|image: String| Box::pin(async move { Some(fake_digest(&image)) })),
        }
    }

    /// How often the controllers take a step (each step moves a rollout by
    /// at most one pod per workload).
    pub fn tick(mut self, tick: Duration) -> Simulation {
        self.tick = tick;
        self
    }

    /// How many Nodes exist (DaemonSets run one pod on each).
    pub fn nodes(mut self, nodes: usize) -> Simulation {
        self.nodes = nodes;
        self
    }

    /// Resolves images to digests with an async function (e.g. asking the
    /// test registry); `None` means the image cannot be pulled.
    pub fn image_ids<F, Fut>(mut self, resolve: F) -> Simulation
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        let resolve = Arc::new(resolve);
        self.resolver = Arc::new(move |image| {
            let resolve = resolve.clone();
            Box::pin(async move { resolve(image).await })
        });
        self
    }

    /// Resolves the tags of images on `hosts` (`registry.example.com`,
    /// `127.0.0.1:5000`) through those registries, as a kubelet pulls
    /// them: a tag runs the digest it points at when the pod starts, and a
    /// tag the registry does not have cannot be pulled. Images elsewhere
    /// keep made-up digests. An error when the hosts cannot be used.
    pub fn registries(mut self, hosts: &[String]) -> Result<Simulation, String> {
        self.resolver = registry::through(hosts)?;
        Ok(self)
    }

    /// Resolves images to digests with a plain function.
    pub fn image_ids_sync<F>(self, resolve: F) -> Simulation
    where
        F: Fn(&str) -> Option<String> + Send + Sync + 'static,
    {
        let resolve = Arc::new(resolve);
        self.image_ids(move |image| {
            let digest = resolve(&image);
            async move { digest }
        })
    }
}

/// A digest made up from an image reference: `sha256:` and 64 hex digits.
pub fn fake_digest(image: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(image.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The switches a test flips while the controllers run.
#[derive(Debug, Default)]
pub struct SimulationControl {
    failing: Mutex<HashSet<String>>,
    crashing: Mutex<HashSet<String>>,
}

impl SimulationControl {
    /// Pods running `image` (the reference as written in the pod spec) fail
    /// to pull it from now on; pods already running it keep running.
    pub fn fail_image(&self, image: &str) {
        self.failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(image.to_string());
    }

    /// Undoes [`fail_image`](Self::fail_image).
    pub fn heal_image(&self, image: &str) {
        self.failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(image);
    }

    pub(crate) fn failing(&self) -> HashSet<String> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Containers running `image` (as written in the pod spec) crash over
    /// and over from now on, as a bad release does: each starts and is
    /// Ready for one step, then exits with code 1 and waits in
    /// `CrashLoopBackOff` for one step, its `restartCount` one higher each
    /// time. Pods stay Ready only part of the time, so a rollout to the
    /// image may still look done to a controller that checks only once.
    pub fn crash_image(&self, image: &str) {
        self.crashing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(image.to_string());
    }

    /// Undoes [`crash_image`](Self::crash_image).
    pub fn stop_crashing(&self, image: &str) {
        self.crashing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(image);
    }

    pub(crate) fn crashing(&self) -> HashSet<String> {
        self.crashing.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// What the kubelet knows about images during one step: digests, or none
/// for images that cannot be pulled.
pub(crate) type Images = HashMap<String, Option<String>>;

/// Every image named in workload templates and pods.
fn images_in(state: &State) -> HashSet<String> {
    let store = state.store();
    let mut images = HashSet::new();
    let mut collect = |spec: &Value| {
        for list in ["containers", "initContainers"] {
            for container in spec[list].as_array().into_iter().flatten() {
                if let Some(image) = container["image"].as_str() {
                    images.insert(image.to_string());
                }
            }
        }
    };
    for storage in ["apps/deployments", "apps/statefulsets", "apps/daemonsets"] {
        for object in store.list(storage, None) {
            collect(&object["spec"]["template"]["spec"]);
        }
    }
    for pod in store.list("/pods", None) {
        collect(&pod["spec"]);
    }
    images
}

/// Runs the controllers until the server is dropped.
pub(crate) async fn run(state: Arc<State>, simulation: Simulation, control: Arc<SimulationControl>) {
    let mut resolved: HashMap<String, String> = HashMap::new();
    workloads::ensure_nodes(&state, simulation.nodes);
    loop {
        let failing = control.failing();
        let mut images = Images::new();
        for image in images_in(&state) {
            // A reference pinned by digest runs that digest, whatever the
            // test's resolver says of its tag: the kubelet pulls exactly it.
            if !resolved.contains_key(&image)
                && let Some(digest) = registry::pinned_digest(&image)
            {
                resolved.insert(image.clone(), digest);
            }
            if !resolved.contains_key(&image)
                && let Some(digest) = (simulation.resolver)(image.clone()).await
            {
                resolved.insert(image.clone(), digest);
            }
            let digest = if failing.contains(&image) {
                None
            } else {
                resolved.get(&image).cloned()
            };
            images.insert(image, digest);
        }
        workloads::step(&state, &images);
        kubelet::step(&state, &images, &control.crashing());
        tokio::time::sleep(simulation.tick).await;
    }
}
