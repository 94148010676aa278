//! Joining pods to the workloads that own them, through ownerReferences:
//! pod → ReplicaSet → Deployment, pod → Job → CronJob, pod → StatefulSet
//! or DaemonSet; and telling which revision of its workload a pod was made
//! from (see [`super::snapshot`] for the rules).

use std::{collections::HashMap, sync::Arc};

use k8s_openapi::{
    api::core::v1::Pod,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};

use super::{
    snapshot::WorkloadKey,
    trim::{CONTROLLER_REVISION_HASH, DEPLOYMENT_REVISION, POD_TEMPLATE_GENERATION},
    watch::Stores,
};
use crate::{api::workload::WorkloadKind, core::drift::PodRevision};

/// A pod's workload, and the revision of it the pod was made from.
pub type Join = (WorkloadKey, PodRevision);

/// Joins pods to their workloads.
#[derive(Debug)]
pub struct Joiner {
    /// (namespace, ReplicaSet) → (Deployment, whether the ReplicaSet has the
    /// Deployment's highest revision).
    replica_sets: HashMap<(String, String), (String, bool)>,
    /// (namespace, Job) → CronJob.
    jobs: HashMap<(String, String), String>,
    /// (namespace, StatefulSet) → `status.updateRevision`.
    update_revisions: HashMap<(String, String), Option<String>>,
    /// (namespace, DaemonSet) → generation.
    generations: HashMap<(String, String), Option<i64>>,
}

fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true))
}

fn key_of(meta: &ObjectMeta) -> Option<(String, String)> {
    Some((meta.namespace.clone()?, meta.name.clone()?))
}

impl Joiner {
    /// Indexes the intermediate owners and revisions in the stores.
    pub fn new(stores: &Stores) -> Joiner {
        // The highest revision of each Deployment's ReplicaSets.
        let mut sets: Vec<(String, String, String, u64)> = Vec::new();
        for set in stores.replica_sets.state() {
            let (Some((namespace, name)), Some(owner)) = (key_of(&set.metadata), controller(&set.metadata)) else {
                continue;
            };
            if owner.kind != "Deployment" {
                continue;
            }
            let revision = set
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEPLOYMENT_REVISION))
                .and_then(|r| r.parse::<u64>().ok())
                .unwrap_or(0);
            sets.push((namespace, name, owner.name.clone(), revision));
        }
        let mut highest: HashMap<(&str, &str), u64> = HashMap::new();
        for (namespace, _, deployment, revision) in &sets {
            let entry = highest.entry((namespace, deployment)).or_default();
            *entry = (*entry).max(*revision);
        }
        let replica_sets = sets
            .iter()
            .map(|(namespace, name, deployment, revision)| {
                let current = highest.get(&(namespace.as_str(), deployment.as_str())) == Some(revision);
                ((namespace.clone(), name.clone()), (deployment.clone(), current))
            })
            .collect();
        let jobs = stores
            .jobs
            .state()
            .iter()
            .filter_map(|job| {
                let owner = controller(&job.metadata).filter(|o| o.kind == "CronJob")?;
                Some((key_of(&job.metadata)?, owner.name.clone()))
            })
            .collect();
        let update_revisions = stores
            .stateful_sets
            .state()
            .iter()
            .filter_map(|set| {
                Some((
                    key_of(&set.metadata)?,
                    set.status.as_ref().and_then(|s| s.update_revision.clone()),
                ))
            })
            .collect();
        let generations = stores
            .daemon_sets
            .state()
            .iter()
            .filter_map(|set| Some((key_of(&set.metadata)?, set.metadata.generation)))
            .collect();
        Joiner {
            replica_sets,
            jobs,
            update_revisions,
            generations,
        }
    }

    /// The workload a pod belongs to, and which revision of it the pod is.
    pub fn join(&self, pod: &Arc<Pod>) -> Option<Join> {
        let owner = controller(&pod.metadata)?;
        let namespace = pod.metadata.namespace.clone()?;
        let label = |key: &str| pod.metadata.labels.as_ref().and_then(|l| l.get(key)).cloned();
        let at = (namespace.clone(), owner.name.clone());
        let key = |kind, name: &str| WorkloadKey {
            kind,
            namespace: namespace.clone(),
            name: name.to_owned(),
        };
        match owner.kind.as_str() {
            "ReplicaSet" => {
                let (deployment, current) = self.replica_sets.get(&at)?;
                Some((key(WorkloadKind::Deployment, deployment), revision(*current)))
            }
            "Job" => {
                let cron_job = self.jobs.get(&at)?;
                let run = PodRevision::CronJobRun {
                    job: owner.name.clone(),
                };
                Some((key(WorkloadKind::CronJob, cron_job), run))
            }
            "StatefulSet" => {
                let update = self.update_revisions.get(&at)?;
                let current = update.is_some() && label(CONTROLLER_REVISION_HASH) == *update;
                Some((key(WorkloadKind::StatefulSet, &owner.name), revision(current)))
            }
            "DaemonSet" => {
                let generation = self.generations.get(&at)?;
                let current = generation.is_some_and(|g| label(POD_TEMPLATE_GENERATION) == Some(g.to_string()));
                Some((key(WorkloadKind::DaemonSet, &owner.name), revision(current)))
            }
            _ => None,
        }
    }
}

/// The revision of a Deployment's, StatefulSet's or DaemonSet's pod.
fn revision(current: bool) -> PodRevision {
    if current {
        PodRevision::Current
    } else {
        PodRevision::Earlier
    }
}
