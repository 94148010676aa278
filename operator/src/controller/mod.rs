//! The controllers: the wiring between the cluster, the registries and the
//! decisions in `core`.
//!
//! - [`policy`]: the PatchPolicy reconciler (validate, publish status,
//!   hand over to the scanner).
//! - [`window`]: the ChangeWindow reconciler (status, requeue at the next
//!   edge).
//! - [`tickets`]: the ChangeTicket reconciler (approval, rejection, expiry,
//!   the start inside the window, within its slots, and carrying out the
//!   change: apply, follow, verify, roll back).
//! - [`cluster_scan`]: the scan loop: which policy governs which workload, one
//!   registry pass for the repositories of all of them, evaluation, and
//!   DriftReports written only when they change.
//! - [`validate`], [`conditions`]: pure helpers of the above.
//! - [`registry_access`]: the resolver with file and pull-secret
//!   credentials.
//!
//! [`run`] starts the watches, the three controllers and the scanner around
//! one [`Context`], and returns when [`Shutdown`] fires and they have
//! stopped. The scanner proposes and withdraws tickets; the ChangeTicket
//! reconciler moves them along to their end; it changes workloads only
//! for tickets it started (`Rebuild` tickets are not carried out yet: they
//! stay `InProgress`).

pub mod cluster_scan;
pub mod conditions;
pub mod error;
pub mod policy;
pub mod registry_access;
pub mod tickets;
pub mod validate;
pub mod window;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{FutureExt, StreamExt};
use kube::{
    Api, Client,
    runtime::{Controller, WatchStreamExt, reflector, reflector::Store, watcher},
};
use tokio::sync::{Notify, oneshot, watch};

pub use error::Error;

use self::{error::Backoff, policy::PolicySummary, registry_access::RegistryAccess};
use crate::{
    api::{ChangeTicket, ChangeWindow, PatchPolicy, PatchPolicyStatus},
    cluster::{
        events::EventPublisher, reports::ReportWriter, rollout::Rollouts, slots::Slots, tickets::TicketWriter,
        watch::Stores,
    },
    telemetry::{Metrics, server::Readiness},
};

/// How the operator runs, from flags and the config file.
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    /// Only this namespace's workloads (and reports); `None`: all.
    pub namespace: Option<String>,
    /// For tests: scan every policy this often instead of its
    /// `scanInterval`.
    pub scan_interval_override: Option<Duration>,
    /// How long after a workload change its report is refreshed.
    pub workload_debounce: Duration,
    /// This replica's name for Events (the pod name, if known).
    pub instance: Option<String>,
}

/// What every reconcile and scan shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Watch stores of workloads, pods, nodes, namespaces and DriftReports.
    pub stores: Stores,
    /// PatchPolicies as the scanner sees them (a reflector that pokes
    /// [`policies_changed`](Self::policies_changed) on every change,
    /// deletions included).
    pub policies: Store<PatchPolicy>,
    /// The registries: the resolver, rebuilt when pull secrets change.
    pub registry: RegistryAccess,
    /// Writes DriftReports.
    pub reports: ReportWriter,
    /// Creates, reads and moves ChangeTickets.
    pub tickets: TicketWriter,
    /// Takes and gives back ChangeWindow slots.
    pub slots: Slots,
    /// Changes workloads for tickets and follows their rollouts.
    pub rollouts: Rollouts,
    /// Publishes Events.
    pub events: EventPublisher,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// The latest scan's results per policy, for PatchPolicy status.
    pub summaries: Mutex<HashMap<String, PolicySummary>>,
    /// Serializes PatchPolicy status writes (reconciler and scanner both
    /// write) and remembers the last status written per policy with the
    /// resourceVersion it was written over.
    pub policy_status: tokio::sync::Mutex<HashMap<String, (Option<String>, PatchPolicyStatus)>>,
    /// Poked when a PatchPolicy changes.
    pub policies_changed: Notify,
    /// Poked when a workload, pod, node or namespace changes.
    pub cluster_changed: Arc<Notify>,
    /// What `/readyz` answers.
    pub readiness: Arc<Readiness>,
    /// Flags and config.
    pub settings: RunSettings,
    /// Back-off of failed reconciles, per object.
    pub backoff: Backoff,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Fires once, for every holder of a clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// Starts a shutdown.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

impl Shutdown {
    /// A shutdown signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger { sender }, Shutdown { receiver })
    }

    /// Resolves once the shutdown has been triggered (or its trigger
    /// dropped).
    pub async fn wait(mut self) {
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }

    /// Whether the shutdown has been triggered.
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// The same as a `Send + Sync` future, as kube's controllers want it.
    fn as_sync_future(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let (sender, receiver) = oneshot::channel::<()>();
        let waiting = self.clone();
        tokio::spawn(async move {
            waiting.wait().await;
            let _ = sender.send(());
        });
        receiver.map(|_| ())
    }
}

impl ShutdownTrigger {
    /// Asks everything to stop.
    pub fn trigger(&self) {
        let _ = self.sender.send(true);
    }
}

/// Everything [`run`] needs besides the settings.
pub struct Parts {
    /// The Kubernetes client.
    pub client: Client,
    /// The registries.
    pub registry: RegistryAccess,
    /// The metrics.
    pub metrics: Metrics,
    /// What `/readyz` answers.
    pub readiness: Arc<Readiness>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").finish_non_exhaustive()
    }
}

/// Runs the watches, both controllers and the scanner until `shutdown`
/// fires; in-flight reconciles and the scan in progress finish first.
pub async fn run(settings: RunSettings, parts: Parts, shutdown: Shutdown) {
    let Parts {
        client,
        registry,
        metrics,
        readiness,
    } = parts;
    let cluster_changed = Arc::new(Notify::new());
    let ticket_api: Api<ChangeTicket> = match settings.namespace.as_deref() {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let (stores, watches) =
        crate::cluster::watch::start(&client, settings.namespace.as_deref(), cluster_changed.clone());
    let (policies, policy_writer) = reflector::store();
    let ctx = Arc::new(Context {
        events: EventPublisher::new(client.clone(), settings.instance.clone(), metrics.clone()),
        reports: ReportWriter::new(client.clone()),
        tickets: TicketWriter::new(client.clone()),
        slots: Slots::new(client.clone()),
        rollouts: Rollouts::new(client.clone()),
        client: client.clone(),
        stores,
        policies,
        registry,
        metrics,
        summaries: Mutex::new(HashMap::new()),
        policy_status: tokio::sync::Mutex::new(HashMap::new()),
        policies_changed: Notify::new(),
        cluster_changed,
        readiness,
        settings,
        backoff: Backoff::default(),
    });
    let scanner_policies = {
        let ctx = ctx.clone();
        watcher(Api::<PatchPolicy>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .modify(|policy: &mut PatchPolicy| policy.metadata.managed_fields = None)
            .reflect(policy_writer)
            .for_each(move |event| {
                match event {
                    Ok(_) => ctx.policies_changed.notify_one(),
                    Err(error) => tracing::warn!(kind = "PatchPolicy", %error, "watch failed; retrying with back-off"),
                }
                futures::future::ready(())
            })
    };
    let policy_controller = Controller::new(Api::<PatchPolicy>::all(client.clone()), watcher::Config::default())
        .graceful_shutdown_on(shutdown.as_sync_future())
        .run(policy::reconcile, policy::error_policy, ctx.clone())
        .for_each(|result| {
            if let Err(error) = result {
                tracing::debug!(%error, "PatchPolicy controller");
            }
            futures::future::ready(())
        });
    let window_controller = Controller::new(Api::<ChangeWindow>::all(client.clone()), watcher::Config::default())
        .graceful_shutdown_on(shutdown.as_sync_future())
        .run(window::reconcile, window::error_policy, ctx.clone())
        .for_each(|result| {
            if let Err(error) = result {
                tracing::debug!(%error, "ChangeWindow controller");
            }
            futures::future::ready(())
        });
    let ticket_store = ctx.stores.tickets.clone();
    let by_window = ticket_store.clone();
    let by_policy = ticket_store;
    let ticket_controller = Controller::new(ticket_api, watcher::Config::default())
        .watches(
            Api::<ChangeWindow>::all(client.clone()),
            watcher::Config::default(),
            move |window| tickets::of_window(&window, &by_window),
        )
        .watches(
            Api::<PatchPolicy>::all(client.clone()),
            watcher::Config::default(),
            move |policy| tickets::of_policy(&policy, &by_policy),
        )
        .graceful_shutdown_on(shutdown.as_sync_future())
        .run(tickets::reconcile, tickets::error_policy, ctx.clone())
        .for_each(|result| {
            if let Err(error) = result {
                tracing::debug!(%error, "ChangeTicket controller");
            }
            futures::future::ready(())
        });
    let work = futures::future::join4(
        policy_controller,
        window_controller,
        ticket_controller,
        cluster_scan::run(ctx.clone(), shutdown.clone()),
    );
    tokio::select! {
        _ = work => {}
        () = watches => tracing::error!("the watches ended unexpectedly"),
        () = scanner_policies => tracing::error!("the PatchPolicy watch ended unexpectedly"),
    }
}
