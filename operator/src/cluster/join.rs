//! Joining pods to the workloads that own them, through ownerReferences:
//! pod → ReplicaSet → Deployment, pod → Job → CronJob, pod → StatefulSet
//! or DaemonSet; and telling which revision of its workload a pod was made
//! from (see [`super::snapshot`] for the rules).
//!
//! "Current" must mean the pod was made from the template as it is now,
//! because a current pod that runs something else was changed by hand
//! (and planning proposes a restart for it). So where the controller's
//! bookkeeping can lag behind the template (a paused Deployment, a
//! StatefulSet whose controller has not seen its latest spec), no pod is
//! current until it catches up: a pod wrongly called earlier is reported
//! as waiting for its rollout, one wrongly called current as a hand edit.

use std::{collections::HashMap, sync::Arc};

use k8s_openapi::{
    api::core::v1::{Pod, PodSpec},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};

use super::{
    snapshot::WorkloadKey,
    trim::{CONTROLLER_REVISION_HASH, DAEMONSET_TEMPLATE_GENERATION, DEPLOYMENT_REVISION, POD_TEMPLATE_GENERATION},
    watch::Stores,
};
use crate::{api::workload::WorkloadKind, core::drift::PodRevision};

/// A pod's workload, and the revision of it the pod was made from.
pub type Join = (WorkloadKey, PodRevision);

/// An object by namespace and name.
type Key = (String, String);

/// Joins pods to their workloads.
#[derive(Debug)]
pub struct Joiner {
    /// ReplicaSet → (Deployment, whether the ReplicaSet is the Deployment's
    /// current one).
    replica_sets: HashMap<Key, (String, bool)>,
    /// Job → CronJob.
    jobs: HashMap<Key, String>,
    /// StatefulSet → its current revision (`status.updateRevision`), if
    /// its controller has seen its latest spec.
    update_revisions: HashMap<Key, Option<String>>,
    /// DaemonSet → its template generation, if the API server gave it one.
    template_generations: HashMap<Key, Option<i64>>,
}

fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true))
}

fn key_of(meta: &ObjectMeta) -> Option<Key> {
    Some((meta.namespace.clone()?, meta.name.clone()?))
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// A template's containers, then init containers, as (name, image): what
/// drift compares a pod with (the trimmed objects keep nothing else).
fn images(spec: Option<&PodSpec>) -> Option<Vec<(&str, Option<&str>)>> {
    let spec = spec?;
    let containers = spec.containers.iter().chain(spec.init_containers.iter().flatten());
    Some(containers.map(|c| (c.name.as_str(), c.image.as_deref())).collect())
}

impl Joiner {
    /// Indexes the intermediate owners and revisions in the stores.
    pub fn new(stores: &Stores) -> Joiner {
        Joiner {
            replica_sets: replica_sets(stores),
            jobs: stores
                .jobs
                .state()
                .iter()
                .filter_map(|job| {
                    let owner = controller(&job.metadata).filter(|o| o.kind == "CronJob")?;
                    Some((key_of(&job.metadata)?, owner.name.clone()))
                })
                .collect(),
            update_revisions: stores
                .stateful_sets
                .state()
                .iter()
                .filter_map(|set| {
                    // Until the controller has observed the latest spec,
                    // `updateRevision` may name the template before it.
                    let status = set.status.as_ref();
                    let observed = status.and_then(|s| s.observed_generation) == set.metadata.generation;
                    let update = status.and_then(|s| s.update_revision.clone()).filter(|_| observed);
                    Some((key_of(&set.metadata)?, update))
                })
                .collect(),
            template_generations: stores
                .daemon_sets
                .state()
                .iter()
                .filter_map(|set| {
                    let generation =
                        annotation(&set.metadata, DAEMONSET_TEMPLATE_GENERATION).and_then(|g| g.parse().ok());
                    Some((key_of(&set.metadata)?, generation))
                })
                .collect(),
        }
    }

    /// The workload a pod belongs to, and which revision of it the pod is.
    pub fn join(&self, pod: &Arc<Pod>) -> Option<Join> {
        let owner = controller(&pod.metadata)?;
        let namespace = pod.metadata.namespace.clone()?;
        let label = |key: &str| pod.metadata.labels.as_ref().and_then(|l| l.get(key));
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
                let current = update.is_some() && label(CONTROLLER_REVISION_HASH) == update.as_ref();
                Some((key(WorkloadKind::StatefulSet, &owner.name), revision(current)))
            }
            "DaemonSet" => {
                let generation = self.template_generations.get(&at)?;
                let made_from = label(POD_TEMPLATE_GENERATION).and_then(|g| g.parse::<i64>().ok());
                let current = generation.is_some() && made_from == *generation;
                Some((key(WorkloadKind::DaemonSet, &owner.name), revision(current)))
            }
            _ => None,
        }
    }
}

/// Each Deployment's ReplicaSets, and whether each is current: it has the
/// highest revision, and its template names the images the Deployment's
/// names. The second half matters while the controller has not made the
/// new ReplicaSet: when the Deployment is paused (it makes none until
/// resumed) or the controller is slow or down.
fn replica_sets(stores: &Stores) -> HashMap<Key, (String, bool)> {
    let deployments = stores.deployments.state();
    let templates: HashMap<(&str, &str), _> = deployments
        .iter()
        .filter_map(|d| {
            let spec = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            Some((
                (d.metadata.namespace.as_deref()?, d.metadata.name.as_deref()?),
                images(spec)?,
            ))
        })
        .collect();
    let sets = stores.replica_sets.state();
    // (ReplicaSet, Deployment, revision, template images)
    let owned: Vec<_> = sets
        .iter()
        .filter_map(|set| {
            let owner = controller(&set.metadata).filter(|o| o.kind == "Deployment")?;
            let revision = annotation(&set.metadata, DEPLOYMENT_REVISION)
                .and_then(|r| r.parse::<u64>().ok())
                .unwrap_or(0);
            let template = set
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref());
            Some((key_of(&set.metadata)?, owner.name.as_str(), revision, images(template)))
        })
        .collect();
    let mut highest: HashMap<(&str, &str), u64> = HashMap::new();
    for ((namespace, _), deployment, revision, _) in &owned {
        let entry = highest.entry((namespace, deployment)).or_default();
        *entry = (*entry).max(*revision);
    }
    owned
        .iter()
        .map(|(at, deployment, revision, images)| {
            let deployment_at = (at.0.as_str(), *deployment);
            let current = highest.get(&deployment_at) == Some(revision)
                && images.is_some()
                && templates.get(&deployment_at) == images.as_ref();
            (at.clone(), ((*deployment).to_owned(), current))
        })
        .collect()
}

/// The revision of a Deployment's, StatefulSet's or DaemonSet's pod.
fn revision(current: bool) -> PodRevision {
    if current {
        PodRevision::Current
    } else {
        PodRevision::Earlier
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::{
        apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
        batch::v1::Job,
    };
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::cluster::fixtures::{Objects, object};

    /// Every pod's join, by pod name.
    fn joined(objects: Objects) -> BTreeMap<String, Option<Join>> {
        let stores = objects.stores();
        let joiner = Joiner::new(&stores);
        stores
            .pods
            .state()
            .iter()
            .map(|pod| (pod.metadata.name.clone().unwrap_or_default(), joiner.join(pod)))
            .collect()
    }

    fn key(kind: WorkloadKind, namespace: &str, name: &str) -> WorkloadKey {
        WorkloadKey {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn owner(kind: &str, name: &str) -> Value {
        let api_version = match kind {
            "Job" | "CronJob" => "batch/v1",
            "Node" => "v1",
            _ => "apps/v1",
        };
        json!({
            "apiVersion": api_version, "kind": kind, "name": name,
            "uid": format!("uid-{name}"), "controller": true, "blockOwnerDeletion": true,
        })
    }

    fn template(app: &str, image: &str) -> Value {
        json!({
            "metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": app, "image": image, "ports": [{"containerPort": 8080}]}]},
        })
    }

    /// A Deployment whose template runs `image`.
    fn deployment(namespace: &str, name: &str, image: &str) -> Deployment {
        object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"), "generation": 7},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}}, "template": template(name, image)},
        }))
    }

    /// A ReplicaSet as the deployment controller writes it: named after
    /// its Deployment and template hash, with its revision and a copy of
    /// the template it was made from.
    fn replica_set(namespace: &str, name: &str, owner: Option<Value>, revision: &str, image: &str) -> ReplicaSet {
        let hash = name.rsplit('-').next().unwrap_or_default();
        let app = name.trim_end_matches(&format!("-{hash}"));
        let mut template = template(app, image);
        template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        object(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": name, "namespace": namespace, "uid": format!("uid-{name}"),
                "labels": {"app": app, "pod-template-hash": hash},
                "annotations": {"deployment.kubernetes.io/revision": revision, "deployment.kubernetes.io/desired-replicas": "3"},
                "ownerReferences": owner.into_iter().collect::<Vec<_>>(),
            },
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": app, "pod-template-hash": hash}}, "template": template},
            "status": {"replicas": 3, "readyReplicas": 3},
        }))
    }

    /// A pod with `owners` and `labels`, running `image`.
    fn pod(namespace: &str, name: &str, owners: Vec<Value>, labels: Value, image: &str) -> Pod {
        object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"), "labels": labels, "ownerReferences": owners},
            "spec": {"containers": [{"name": "app", "image": image}], "nodeName": "node-1"},
            "status": {"phase": "Running"},
        }))
    }

    /// A pod of a Deployment's ReplicaSet `set`.
    fn replica_set_pod(namespace: &str, set: &str, suffix: &str, image: &str) -> Pod {
        let hash = set.rsplit('-').next().unwrap_or_default();
        pod(
            namespace,
            &format!("{set}-{suffix}"),
            vec![owner("ReplicaSet", set)],
            json!({"app": "web", "pod-template-hash": hash}),
            image,
        )
    }

    #[test]
    fn a_pod_of_the_newest_replica_set_is_current_and_one_of_the_previous_is_earlier() {
        // `kubectl set image deploy/web` from 1.25.3 to 1.25.4: revision 4 is
        // rolling out, one pod of revision 3 is left.
        let joins = joined(Objects {
            deployments: vec![deployment("storefront", "web", "nginx:1.25.4-alpine")],
            replica_sets: vec![
                replica_set(
                    "storefront",
                    "web-5f4c7b8d9",
                    Some(owner("Deployment", "web")),
                    "3",
                    "nginx:1.25.3-alpine",
                ),
                replica_set(
                    "storefront",
                    "web-7c9d8f6b5",
                    Some(owner("Deployment", "web")),
                    "4",
                    "nginx:1.25.4-alpine",
                ),
            ],
            pods: vec![
                replica_set_pod("storefront", "web-5f4c7b8d9", "q8r2m", "nginx:1.25.3-alpine"),
                replica_set_pod("storefront", "web-7c9d8f6b5", "x2k4p", "nginx:1.25.4-alpine"),
            ],
            ..Objects::default()
        });
        let web = key(WorkloadKind::Deployment, "storefront", "web");
        assert_eq!(
            joins,
            BTreeMap::from([
                ("web-5f4c7b8d9-q8r2m".into(), Some((web.clone(), PodRevision::Earlier))),
                ("web-7c9d8f6b5-x2k4p".into(), Some((web, PodRevision::Current))),
            ])
        );
    }

    #[test]
    fn revisions_are_compared_as_numbers() {
        // Revision 10 is newer than revision 9, though "10" < "9" as text.
        let joins = joined(Objects {
            deployments: vec![deployment("storefront", "web", "nginx:1.27.1-alpine")],
            replica_sets: vec![
                replica_set(
                    "storefront",
                    "web-6d8b9c7f4",
                    Some(owner("Deployment", "web")),
                    "9",
                    "nginx:1.27.0-alpine",
                ),
                replica_set(
                    "storefront",
                    "web-84c6d5b7f",
                    Some(owner("Deployment", "web")),
                    "10",
                    "nginx:1.27.1-alpine",
                ),
            ],
            pods: vec![
                replica_set_pod("storefront", "web-6d8b9c7f4", "m4n7p", "nginx:1.27.0-alpine"),
                replica_set_pod("storefront", "web-84c6d5b7f", "z9t2w", "nginx:1.27.1-alpine"),
            ],
            ..Objects::default()
        });
        let revision = |pod: &str| joins[pod].as_ref().map(|(_, revision)| revision.clone());
        assert_eq!(revision("web-6d8b9c7f4-m4n7p"), Some(PodRevision::Earlier));
        assert_eq!(revision("web-84c6d5b7f-z9t2w"), Some(PodRevision::Current));
    }

    #[test]
    fn a_paused_deployment_whose_template_changed_has_no_current_pods_yet() {
        // `kubectl rollout pause deploy/web; kubectl set image deploy/web
        // web=nginx:1.25.4-alpine`: the controller makes no new ReplicaSet
        // while paused, so revision 3 is still the highest, but its pods
        // were made from the old template and nobody edited them.
        let joins = joined(Objects {
            deployments: vec![deployment("storefront", "web", "nginx:1.25.4-alpine")],
            replica_sets: vec![replica_set(
                "storefront",
                "web-5f4c7b8d9",
                Some(owner("Deployment", "web")),
                "3",
                "nginx:1.25.3-alpine",
            )],
            pods: vec![replica_set_pod(
                "storefront",
                "web-5f4c7b8d9",
                "q8r2m",
                "nginx:1.25.3-alpine",
            )],
            ..Objects::default()
        });
        assert_eq!(
            joins["web-5f4c7b8d9-q8r2m"],
            Some((key(WorkloadKind::Deployment, "storefront", "web"), PodRevision::Earlier))
        );
    }

    #[test]
    fn each_namespace_has_its_own_revision_history() {
        // The same manifests in staging and production: equal ReplicaSet
        // names, different histories.
        let set = |namespace: &str, name: &str, revision: &str, image: &str| {
            replica_set(namespace, name, Some(owner("Deployment", "web")), revision, image)
        };
        let joins = joined(Objects {
            deployments: vec![
                deployment("staging", "web", "nginx:1.25.3-alpine"),
                deployment("production", "web", "nginx:1.25.4-alpine"),
            ],
            replica_sets: vec![
                set("staging", "web-5f4c7b8d9", "2", "nginx:1.25.3-alpine"),
                set("production", "web-5f4c7b8d9", "3", "nginx:1.25.3-alpine"),
                set("production", "web-7c9d8f6b5", "4", "nginx:1.25.4-alpine"),
            ],
            pods: vec![
                replica_set_pod("staging", "web-5f4c7b8d9", "h2j6k", "nginx:1.25.3-alpine"),
                replica_set_pod("production", "web-5f4c7b8d9", "q8r2m", "nginx:1.25.3-alpine"),
            ],
            ..Objects::default()
        });
        assert_eq!(
            joins["web-5f4c7b8d9-h2j6k"],
            Some((key(WorkloadKind::Deployment, "staging", "web"), PodRevision::Current))
        );
        assert_eq!(
            joins["web-5f4c7b8d9-q8r2m"],
            Some((key(WorkloadKind::Deployment, "production", "web"), PodRevision::Earlier))
        );
    }

    #[test]
    fn pods_of_a_replica_set_no_deployment_owns_or_of_an_unknown_one_are_not_joined() {
        let joins = joined(Objects {
            replica_sets: vec![
                // Made by hand, or left behind by `kubectl delete deploy
                // --cascade=orphan`.
                replica_set("storefront", "legacy-6d5f8b9c7", None, "1", "nginx:1.24.0"),
                // Owned by an Argo Rollout, which refit does not govern.
                replica_set(
                    "storefront",
                    "canary-59f7d8c6b",
                    Some(
                        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "canary", "uid": "uid-canary", "controller": true}),
                    ),
                    "2",
                    "nginx:1.25.4-alpine",
                ),
            ],
            pods: vec![
                replica_set_pod("storefront", "legacy-6d5f8b9c7", "b5v8n", "nginx:1.24.0"),
                replica_set_pod("storefront", "canary-59f7d8c6b", "c3x7z", "nginx:1.25.4-alpine"),
                // Its ReplicaSet is not in the watch store (yet, or any more).
                replica_set_pod("storefront", "web-9b8c7d6f5", "r5t8y", "nginx:1.25.4-alpine"),
            ],
            ..Objects::default()
        });
        assert_eq!(joins.len(), 3);
        assert!(joins.values().all(Option::is_none), "{joins:?}");
    }

    /// A StatefulSet at `generation`, with the status its controller last
    /// wrote (`observedGeneration`, `currentRevision`, `updateRevision`).
    fn stateful_set(generation: i64, status: Option<Value>) -> StatefulSet {
        object(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "cache", "namespace": "storefront", "uid": "uid-cache", "generation": generation},
            "spec": {
                "replicas": 3, "serviceName": "cache", "selector": {"matchLabels": {"app": "cache"}},
                "template": template("cache", "redis:7.4.2-alpine"),
            },
            "status": status,
        }))
    }

    fn stateful_set_pod(ordinal: u32, revision: &str, image: &str) -> Pod {
        pod(
            "storefront",
            &format!("cache-{ordinal}"),
            vec![owner("StatefulSet", "cache")],
            json!({"app": "cache", "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": format!("cache-{ordinal}")}),
            image,
        )
    }

    #[test]
    fn a_stateful_set_pod_is_current_when_its_revision_is_the_update_revision() {
        // Rolling from 7.4.1 to 7.4.2, highest ordinal first: cache-2 is
        // replaced, cache-0 and cache-1 are not yet.
        let joins = joined(Objects {
            stateful_sets: vec![stateful_set(
                2,
                Some(json!({
                    "observedGeneration": 2, "replicas": 3,
                    "currentRevision": "cache-6b7d9f8c5", "updateRevision": "cache-5d8f7c9b4",
                })),
            )],
            pods: vec![
                stateful_set_pod(0, "cache-6b7d9f8c5", "redis:7.4.1-alpine"),
                stateful_set_pod(2, "cache-5d8f7c9b4", "redis:7.4.2-alpine"),
            ],
            ..Objects::default()
        });
        let cache = key(WorkloadKind::StatefulSet, "storefront", "cache");
        assert_eq!(
            joins,
            BTreeMap::from([
                ("cache-0".into(), Some((cache.clone(), PodRevision::Earlier))),
                ("cache-2".into(), Some((cache, PodRevision::Current))),
            ])
        );
    }

    #[test]
    fn a_stateful_set_without_an_update_revision_has_no_current_pods() {
        // Its controller has not written a status yet.
        let joins = joined(Objects {
            stateful_sets: vec![stateful_set(1, None)],
            pods: vec![stateful_set_pod(0, "cache-5d8f7c9b4", "redis:7.4.2-alpine")],
            ..Objects::default()
        });
        assert_eq!(
            joins["cache-0"],
            Some((
                key(WorkloadKind::StatefulSet, "storefront", "cache"),
                PodRevision::Earlier
            ))
        );
    }

    #[test]
    fn a_stateful_set_whose_controller_has_not_seen_its_latest_spec_has_no_current_pods() {
        // Just after `kubectl set image sts/cache`: generation 3 is not
        // observed yet, so `updateRevision` still names the old template,
        // which every pod still runs. None of them was edited by hand.
        let joins = joined(Objects {
            stateful_sets: vec![stateful_set(
                3,
                Some(json!({
                    "observedGeneration": 2, "replicas": 3,
                    "currentRevision": "cache-5d8f7c9b4", "updateRevision": "cache-5d8f7c9b4",
                })),
            )],
            pods: vec![stateful_set_pod(0, "cache-5d8f7c9b4", "redis:7.4.1-alpine")],
            ..Objects::default()
        });
        assert_eq!(
            joins["cache-0"],
            Some((
                key(WorkloadKind::StatefulSet, "storefront", "cache"),
                PodRevision::Earlier
            ))
        );
    }

    /// The node-exporter DaemonSet at `generation`, with the template
    /// generation the API server keeps in an annotation (if any).
    fn daemon_set(generation: i64, template_generation: Option<&str>) -> DaemonSet {
        let annotations = template_generation.map(|g| json!({"deprecated.daemonset.template.generation": g}));
        object(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {
                "name": "node-exporter", "namespace": "monitoring", "uid": "uid-node-exporter",
                "generation": generation, "annotations": annotations,
            },
            "spec": {
                "selector": {"matchLabels": {"app": "node-exporter"}},
                "template": template("node-exporter", "quay.io/prometheus/node-exporter:v1.9.1"),
            },
        }))
    }

    fn daemon_set_pod(name: &str, template_generation: &str, revision: &str) -> Pod {
        pod(
            "monitoring",
            name,
            vec![owner("DaemonSet", "node-exporter")],
            json!({"app": "node-exporter", "pod-template-generation": template_generation, "controller-revision-hash": revision}),
            "quay.io/prometheus/node-exporter:v1.9.1",
        )
    }

    #[test]
    fn a_daemon_set_pod_is_current_when_it_has_the_daemon_sets_template_generation() {
        let joins = joined(Objects {
            daemon_sets: vec![daemon_set(3, Some("3"))],
            pods: vec![
                daemon_set_pod("node-exporter-7xk2p", "3", "6f8d9b7c5"),
                daemon_set_pod("node-exporter-b9q4m", "2", "5c7b8d9f6"),
            ],
            ..Objects::default()
        });
        let exporter = key(WorkloadKind::DaemonSet, "monitoring", "node-exporter");
        assert_eq!(
            joins,
            BTreeMap::from([
                (
                    "node-exporter-7xk2p".into(),
                    Some((exporter.clone(), PodRevision::Current))
                ),
                ("node-exporter-b9q4m".into(), Some((exporter, PodRevision::Earlier))),
            ])
        );
    }

    #[test]
    fn a_daemon_set_whose_spec_changed_outside_its_template_keeps_its_pods_current() {
        // Template generation 3, then `maxUnavailable` and
        // `revisionHistoryLimit` were changed: the generation is 5, the
        // template (and the pods made from it) did not change.
        let joins = joined(Objects {
            daemon_sets: vec![daemon_set(5, Some("3"))],
            pods: vec![daemon_set_pod("node-exporter-7xk2p", "3", "6f8d9b7c5")],
            ..Objects::default()
        });
        assert_eq!(
            joins["node-exporter-7xk2p"],
            Some((
                key(WorkloadKind::DaemonSet, "monitoring", "node-exporter"),
                PodRevision::Current
            ))
        );
    }

    #[test]
    fn a_daemon_set_without_a_template_generation_has_no_current_pods() {
        // Every API server since Kubernetes 1.8 writes the annotation; one
        // that does not leaves refit no way to tell.
        let joins = joined(Objects {
            daemon_sets: vec![daemon_set(1, None)],
            pods: vec![daemon_set_pod("node-exporter-7xk2p", "1", "6f8d9b7c5")],
            ..Objects::default()
        });
        assert_eq!(
            joins["node-exporter-7xk2p"],
            Some((
                key(WorkloadKind::DaemonSet, "monitoring", "node-exporter"),
                PodRevision::Earlier
            ))
        );
    }

    fn job(name: &str, owner: Option<Value>) -> Job {
        object(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "storefront", "uid": format!("uid-{name}"), "ownerReferences": owner.into_iter().collect::<Vec<_>>()},
            "spec": {"template": template("report", "ghcr.io/acme/report:2.3.0")},
            "status": {"active": 1},
        }))
    }

    fn job_pod(job: &str, suffix: &str) -> Pod {
        pod(
            "storefront",
            &format!("{job}-{suffix}"),
            vec![owner("Job", job)],
            json!({"job-name": job, "batch.kubernetes.io/job-name": job}),
            "ghcr.io/acme/report:2.3.0",
        )
    }

    #[test]
    fn a_cron_job_pod_is_a_run_of_its_job_and_a_plain_job_pod_is_not_joined() {
        let joins = joined(Objects {
            jobs: vec![
                job("nightly-report-29383920", Some(owner("CronJob", "nightly-report"))),
                // `kubectl create job db-migrate --image=…`: nobody's run.
                job("db-migrate", None),
            ],
            pods: vec![
                job_pod("nightly-report-29383920", "x7k2p"),
                job_pod("db-migrate", "l4m8n"),
            ],
            ..Objects::default()
        });
        assert_eq!(
            joins,
            BTreeMap::from([
                ("db-migrate-l4m8n".into(), None),
                (
                    "nightly-report-29383920-x7k2p".into(),
                    Some((
                        key(WorkloadKind::CronJob, "storefront", "nightly-report"),
                        PodRevision::CronJobRun {
                            job: "nightly-report-29383920".into()
                        }
                    ))
                ),
            ])
        );
    }

    #[test]
    fn pods_without_a_controller_a_non_controlling_owner_or_a_node_owner_are_not_joined() {
        let mut not_controlling = owner("StatefulSet", "cache");
        not_controlling["controller"] = json!(false);
        let joins = joined(Objects {
            stateful_sets: vec![stateful_set(
                1,
                Some(json!({"observedGeneration": 1, "updateRevision": "cache-5d8f7c9b4"})),
            )],
            pods: vec![
                // `kubectl run debug --image=busybox:1.37.0`
                pod("storefront", "debug", vec![], json!({"run": "debug"}), "busybox:1.37.0"),
                pod(
                    "storefront",
                    "cache-debug",
                    vec![not_controlling],
                    json!({"controller-revision-hash": "cache-5d8f7c9b4"}),
                    "redis:7.4.2-alpine",
                ),
                // A static pod's mirror, owned by its node.
                pod(
                    "kube-system",
                    "kube-apiserver-node-1",
                    vec![owner("Node", "node-1")],
                    json!({"component": "kube-apiserver"}),
                    "registry.k8s.io/kube-apiserver:v1.33.1",
                ),
            ],
            ..Objects::default()
        });
        assert_eq!(joins.len(), 3);
        assert!(joins.values().all(Option::is_none), "{joins:?}");
    }

    proptest! {
        /// However many ReplicaSets a Deployment has kept, in whatever
        /// order the watch lists them, only the pods of the one with the
        /// highest revision (which names the Deployment's image) are
        /// current.
        #[test]
        fn only_the_highest_revision_is_current(
            revisions in prop::collection::btree_set(1_u32..200, 1..8)
                .prop_map(|set| set.into_iter().collect::<Vec<_>>())
                .prop_shuffle(),
        ) {
            let highest = *revisions.iter().max().expect("at least one");
            let image = |revision: u32| format!("ghcr.io/acme/web:1.{revision}.0");
            let set = |revision: u32| format!("web-{revision:09}");
            let joins = joined(Objects {
                deployments: vec![deployment("storefront", "web", &image(highest))],
                replica_sets: revisions
                    .iter()
                    .map(|&r| replica_set("storefront", &set(r), Some(owner("Deployment", "web")), &r.to_string(), &image(r)))
                    .collect(),
                pods: revisions.iter().map(|&r| replica_set_pod("storefront", &set(r), "a1b2c", &image(r))).collect(),
                ..Objects::default()
            });
            for revision in revisions {
                let expected = if revision == highest { PodRevision::Current } else { PodRevision::Earlier };
                let join = joins[&format!("{}-a1b2c", set(revision))].clone();
                prop_assert_eq!(join, Some((key(WorkloadKind::Deployment, "storefront", "web"), expected)));
            }
        }
    }
}
