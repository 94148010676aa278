//! Test fixtures for the cluster adapters: watch [`Stores`] filled with
//! objects exactly as the watches store them (trimmed by [`super::trim`]),
//! so a test of the snapshot or the join sees what the scanner sees, and a
//! field the trim drops is missed by the test as it would be in the
//! operator.

use std::hash::Hash;

use k8s_openapi::api::{
    apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    batch::v1::{CronJob, Job},
    core::v1::{Namespace, Node, Pod},
};
use kube::runtime::{
    reflector::{self, Store},
    watcher,
};

use super::{trim, watch::Stores};
use crate::api::{ChangeTicket, ChangeWindow, DriftReport};

/// The objects in a cluster, by kind, as the API server returns them.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    pub deployments: Vec<Deployment>,
    pub stateful_sets: Vec<StatefulSet>,
    pub daemon_sets: Vec<DaemonSet>,
    pub cron_jobs: Vec<CronJob>,
    pub replica_sets: Vec<ReplicaSet>,
    pub jobs: Vec<Job>,
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
    pub namespaces: Vec<Namespace>,
    pub reports: Vec<DriftReport>,
    pub tickets: Vec<ChangeTicket>,
    pub windows: Vec<ChangeWindow>,
}

impl Objects {
    /// The stores the watches would fill with these objects.
    pub(crate) fn stores(self) -> Stores {
        Stores {
            deployments: store(self.deployments, trim::deployment),
            stateful_sets: store(self.stateful_sets, trim::stateful_set),
            daemon_sets: store(self.daemon_sets, trim::daemon_set),
            cron_jobs: store(self.cron_jobs, trim::cron_job),
            replica_sets: store(self.replica_sets, trim::replica_set),
            jobs: store(self.jobs, trim::job),
            pods: store(self.pods, trim::pod),
            nodes: store(self.nodes, trim::node),
            namespaces: store(self.namespaces, trim::namespace),
            reports: store(self.reports, |report| report.metadata.managed_fields = None),
            tickets: store(self.tickets, |ticket| ticket.metadata.managed_fields = None),
            windows: store(self.windows, |window| window.metadata.managed_fields = None),
        }
    }
}

/// A store holding `objects`, each trimmed as its watch trims it.
fn store<K>(objects: Vec<K>, trim: fn(&mut K)) -> Store<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    let (reader, mut writer) = reflector::store();
    for mut object in objects {
        trim(&mut object);
        writer.apply_watcher_event(&watcher::Event::Apply(object));
    }
    reader
}

/// An object from its JSON form (`kubectl get -o json`), for fixtures that
/// read like the manifests they stand for.
pub(crate) fn object<K: serde::de::DeserializeOwned>(json: serde_json::Value) -> K {
    serde_json::from_value(json).unwrap_or_else(|error| panic!("not a {}: {error}", std::any::type_name::<K>()))
}
