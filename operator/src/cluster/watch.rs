//! The watches: one reflector per kind refit reads, each storing trimmed
//! objects ([`super::trim`]) in a [`Store`] that the scanner reads without
//! asking the API server. Watches reconnect with back-off on their own; a
//! change to a workload, pod, node or namespace pokes the scanner, which
//! refreshes the affected DriftReports after a short quiet period.

use std::{fmt::Debug, sync::Arc};

use futures::{FutureExt, StreamExt, future::BoxFuture};
use k8s_openapi::api::{
    apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    batch::v1::{CronJob, Job},
    core::v1::{Namespace, Node, Pod},
};
use kube::{
    Api, Client, Resource,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::trim;
use crate::api::{ChangeTicket, ChangeWindow, DriftReport};

/// The stores of everything refit watches besides its own policies and
/// windows (which their controllers watch).
#[derive(Clone)]
pub struct Stores {
    /// Deployments (trimmed).
    pub deployments: Store<Deployment>,
    /// StatefulSets (trimmed).
    pub stateful_sets: Store<StatefulSet>,
    /// DaemonSets (trimmed).
    pub daemon_sets: Store<DaemonSet>,
    /// CronJobs (trimmed).
    pub cron_jobs: Store<CronJob>,
    /// ReplicaSets: only to join pods to their Deployment.
    pub replica_sets: Store<ReplicaSet>,
    /// Jobs: only to join pods to their CronJob.
    pub jobs: Store<Job>,
    /// Pods (trimmed).
    pub pods: Store<Pod>,
    /// Nodes: names and component versions.
    pub nodes: Store<Node>,
    /// Namespaces: names and labels.
    pub namespaces: Store<Namespace>,
    /// refit's DriftReports, to write only what changed.
    pub reports: Store<DriftReport>,
    /// refit's ChangeTickets, to plan around them.
    pub tickets: Store<ChangeTicket>,
    /// ChangeWindows, for the ChangeTicket reconciler's decisions.
    pub windows: Store<ChangeWindow>,
}

impl Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("deployments", &self.deployments.len())
            .field("pods", &self.pods.len())
            .field("reports", &self.reports.len())
            .finish_non_exhaustive()
    }
}

impl Stores {
    /// Resolves once every store has listed its objects.
    pub async fn wait_until_ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.deployments.wait_until_ready().await?;
        self.stateful_sets.wait_until_ready().await?;
        self.daemon_sets.wait_until_ready().await?;
        self.cron_jobs.wait_until_ready().await?;
        self.replica_sets.wait_until_ready().await?;
        self.jobs.wait_until_ready().await?;
        self.pods.wait_until_ready().await?;
        self.nodes.wait_until_ready().await?;
        self.namespaces.wait_until_ready().await?;
        self.reports.wait_until_ready().await?;
        self.tickets.wait_until_ready().await?;
        self.windows.wait_until_ready().await
    }
}

/// Starts watching. `namespace` limits the namespaced kinds to one
/// namespace. `changed` is notified on every change of a workload, pod,
/// node or namespace. The returned future drives every watch; it ends only
/// when all of them do (they retry errors forever).
///
/// These stores are the scanner's own, never a controller's: kube's
/// `Store::wait_until_ready` wakes only the last of several tasks waiting
/// on one store at once, so each store here has one waiter, the scanner
/// (and the controllers' stores only their own runners).
pub fn start(client: &Client, namespace: Option<&str>, changed: Arc<Notify>) -> (Stores, BoxFuture<'static, ()>) {
    fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        }
    }
    let config = watcher::Config::default;
    let poke = Some(changed);
    let mut tasks = Vec::new();
    let mut add = |task: BoxFuture<'static, ()>| tasks.push(task);
    let (deployments, task) = reflect(api(client, namespace), config(), trim::deployment, poke.clone());
    add(task);
    let (stateful_sets, task) = reflect(api(client, namespace), config(), trim::stateful_set, poke.clone());
    add(task);
    let (daemon_sets, task) = reflect(api(client, namespace), config(), trim::daemon_set, poke.clone());
    add(task);
    let (cron_jobs, task) = reflect(api(client, namespace), config(), trim::cron_job, poke.clone());
    add(task);
    let (replica_sets, task) = reflect(api(client, namespace), config(), trim::replica_set, None);
    add(task);
    let (jobs, task) = reflect(api(client, namespace), config(), trim::job, None);
    add(task);
    let (pods, task) = reflect(api(client, namespace), config(), trim::pod, poke.clone());
    add(task);
    let (nodes, task) = reflect(Api::all(client.clone()), config(), trim::node, poke.clone());
    add(task);
    let namespace_config = match namespace {
        Some(namespace) => config().fields(&format!("metadata.name={namespace}")),
        None => config(),
    };
    let (namespaces, task) = reflect(Api::all(client.clone()), namespace_config, trim::namespace, poke);
    add(task);
    let (reports, task) = reflect(
        api::<DriftReport>(client, namespace),
        config(),
        |report: &mut DriftReport| report.metadata.managed_fields = None,
        None,
    );
    add(task);
    let (tickets, task) = reflect(
        api::<ChangeTicket>(client, namespace),
        config(),
        |ticket: &mut ChangeTicket| ticket.metadata.managed_fields = None,
        None,
    );
    add(task);
    let (windows, task) = reflect(
        Api::<ChangeWindow>::all(client.clone()),
        config(),
        |window: &mut ChangeWindow| window.metadata.managed_fields = None,
        None,
    );
    add(task);
    let stores = Stores {
        deployments,
        stateful_sets,
        daemon_sets,
        cron_jobs,
        replica_sets,
        jobs,
        pods,
        nodes,
        namespaces,
        reports,
        tickets,
        windows,
    };
    (stores, futures::future::join_all(tasks).map(|_| ()).boxed())
}

/// One reflector: a watch whose objects are trimmed and stored; errors are
/// logged and retried with back-off.
fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    trim: fn(&mut K),
    changed: Option<Arc<Notify>>,
) -> (Store<K>, BoxFuture<'static, ()>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let kind = K::kind(&()).to_string();
    let task = watcher(api, config)
        .default_backoff()
        .modify(trim)
        .reflect(writer)
        .for_each(move |event| {
            match event {
                Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone) => {
                    if let Some(changed) = &changed {
                        changed.notify_one();
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(kind = %kind, %error, "watch failed; retrying with back-off"),
            }
            futures::future::ready(())
        })
        .boxed();
    (reader, task)
}
