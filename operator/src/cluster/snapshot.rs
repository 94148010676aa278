//! The cluster as `core` sees it: every workload with its template's
//! containers and its pods (joined through ownerReferences: pod →
//! ReplicaSet → Deployment, pod → Job → CronJob, pod → StatefulSet or
//! DaemonSet), the nodes' component versions and the namespaces' labels,
//! read from the watch stores in one pass.
//!
//! Whether a pod belongs to its workload's current revision decides how
//! drift is described (changed by hand, or a rollout still under way):
//! for a Deployment, the pod's ReplicaSet has the highest revision and its
//! template names the Deployment's images (a paused Deployment makes no new
//! ReplicaSet, so its old pods are not current); for a StatefulSet, its
//! `controller-revision-hash` is `status.updateRevision` and the controller
//! has observed the StatefulSet's latest generation; for a DaemonSet, its
//! `pod-template-generation` is the DaemonSet's template generation (the
//! `deprecated.daemonset.template.generation` annotation, which only
//! template changes move, unlike `metadata.generation`). Pods of a
//! CronJob's Jobs are runs, not revisions: each Job copies the template
//! when it is created and is never updated.

use std::{
    collections::{BTreeMap, HashMap},
    hash::{DefaultHasher, Hash, Hasher},
};

use k8s_openapi::{
    api::core::v1::{Pod, PodSpec},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

use super::watch::Stores;
use crate::{
    api::{drift_report::OptOut, workload::WorkloadKind},
    core::{
        drift::{NodeSnapshot, PodContainer, PodRevision, PodSnapshot, TemplateContainer},
        governance::Labels,
        intern::Interner,
        naming,
        planning::{IGNORE_ANNOTATION, PIN_ANNOTATION},
    },
};

/// Longest object name Kubernetes accepts.
const NAME_MAX: usize = 253;

/// The opt-out a workload's annotations ask for: `refit.dev/ignore:
/// "true"` wins over `refit.dev/pin: "true"`. Any other value opts out of
/// nothing (an annotation set to `"false"` is a common way to undo one).
fn opt_out(meta: &ObjectMeta) -> Option<OptOut> {
    let set = |key: &str| {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    };
    if set(IGNORE_ANNOTATION) {
        Some(OptOut::Ignored)
    } else if set(PIN_ANNOTATION) {
        Some(OptOut::Pinned)
    } else {
        None
    }
}

/// A workload by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl WorkloadKey {
    /// The name of the workload's DriftReport: `<kind>-<name>` in lower
    /// case (`deployment-web`), shortened with a hash when that would be
    /// longer than Kubernetes allows (see [`naming::fit`]: the same name in
    /// every release, so an upgrade finds its reports again).
    pub fn report_name(&self) -> String {
        let name = format!("{}-{}", self.kind.as_str().to_ascii_lowercase(), self.name);
        naming::fit(&name, NAME_MAX)
    }

    /// `apps/v1` or `batch/v1`.
    pub fn api_version(&self) -> &'static str {
        match self.kind {
            WorkloadKind::CronJob => "batch/v1",
            _ => "apps/v1",
        }
    }
}

impl std::fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// One workload with what evaluation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSnapshot {
    /// Which workload.
    pub key: WorkloadKey,
    /// Its uid (for the DriftReport's ownerReference).
    pub uid: String,
    /// Its own labels.
    pub labels: Labels,
    /// Its template's containers, then init containers.
    pub template: Vec<TemplateContainer>,
    /// Its pods, by name.
    pub pods: Vec<PodSnapshot>,
    /// Names of the image pull secrets its template names.
    pub pull_secrets: Vec<String>,
    /// Whether an annotation opts it out of refit's changes.
    pub opt_out: Option<OptOut>,
}

impl WorkloadSnapshot {
    /// A digest of everything evaluation reads from the cluster for this
    /// workload: the template, and the pods reduced to what they run. Pods
    /// that run exactly what another pod runs count once, so scaling or
    /// replacing identical pods does not change it; pods that differ from
    /// the template are named, with their revision, because both appear in
    /// the report.
    pub fn fingerprint(&self) -> u64 {
        // `DefaultHasher` may change between Rust releases; that is fine
        // here because fingerprints are only compared within one process
        // and never stored or sent anywhere (names are: see `report_name`).
        let mut hasher = DefaultHasher::new();
        self.opt_out.hash(&mut hasher);
        for container in &self.template {
            (&container.name, &container.image, container.init).hash(&mut hasher);
        }
        let mut seen: Vec<PodSignature<'_>> = self
            .pods
            .iter()
            .map(|pod| {
                let differs = pod.containers.iter().any(|c| {
                    self.template
                        .iter()
                        .any(|t| t.name == c.name && t.init == c.init && t.image != c.image)
                });
                let containers = pod
                    .containers
                    .iter()
                    .map(|c| (&*c.name, c.init, &*c.image, c.image_id.as_deref()))
                    .collect();
                (differs.then_some((pod.name.as_str(), &pod.revision)), containers)
            })
            .collect();
        seen.sort();
        seen.dedup();
        seen.hash(&mut hasher);
        let nodes: std::collections::BTreeSet<Option<&str>> = self.pods.iter().map(|p| p.node.as_deref()).collect();
        nodes.hash(&mut hasher);
        hasher.finish()
    }
}

/// What a pod runs, for [`WorkloadSnapshot::fingerprint`]: its name and
/// revision when it differs from the template, and per container (name,
/// init, image, image ID).
type PodSignature<'a> = (
    Option<(&'a str, &'a PodRevision)>,
    Vec<(&'a str, bool, &'a str, Option<&'a str>)>,
);

/// The cluster at one instant, as evaluation needs it.
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    /// Every workload, ordered by key.
    pub workloads: Vec<WorkloadSnapshot>,
    /// Namespace labels by namespace name.
    pub namespaces: HashMap<String, Labels>,
    /// Node component versions by node name.
    pub nodes: HashMap<String, NodeSnapshot>,
    /// Objects left out because they lack what refit names them by.
    pub skipped: Vec<SkippedObject>,
}

/// An object [`ClusterSnapshot::read`] leaves out. The API server gives
/// every object a name and a uid (and kube's reflector refuses one without
/// a name), so only a broken server or client gets here; storing `""`
/// instead would name reports after nothing and give them an
/// ownerReference to no object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedObject {
    /// Its kind: `Deployment`, `Pod`, `Namespace`, `Node`, ….
    pub kind: &'static str,
    /// Its namespace, if it has one.
    pub namespace: Option<String>,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// What it lacks.
    pub reason: SkipReason,
}

/// What a skipped object lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// No name (or an empty one).
    NoName,
    /// A namespaced object without a namespace.
    NoNamespace,
    /// A workload without a uid, which its DriftReport's ownerReference
    /// needs.
    NoUid,
}

impl SkipReason {
    /// A short, stable label for metrics (`refit_skipped_objects_total{reason}`).
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::NoName => "no_name",
            SkipReason::NoNamespace => "no_namespace",
            SkipReason::NoUid => "no_uid",
        }
    }
}

impl SkippedObject {
    fn new(kind: &'static str, meta: &ObjectMeta, reason: SkipReason) -> SkippedObject {
        SkippedObject {
            kind,
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            reason,
        }
    }
}

/// A metadata field that is set and not empty.
fn present(field: Option<&String>) -> Option<String> {
    field.filter(|value| !value.is_empty()).cloned()
}

/// A workload's namespace, name and uid, or the first it lacks.
fn identity(meta: &ObjectMeta) -> Result<(String, String, String), SkipReason> {
    let name = present(meta.name.as_ref()).ok_or(SkipReason::NoName)?;
    let namespace = present(meta.namespace.as_ref()).ok_or(SkipReason::NoNamespace)?;
    let uid = present(meta.uid.as_ref()).ok_or(SkipReason::NoUid)?;
    Ok((namespace, name, uid))
}

impl ClusterSnapshot {
    /// Reads the stores. Objects without a name, a namespace (where they
    /// need one) or, for workloads, a uid are left out and listed in
    /// [`skipped`](ClusterSnapshot::skipped).
    pub fn read(stores: &Stores) -> ClusterSnapshot {
        let mut by_workload: HashMap<WorkloadKey, Vec<PodSnapshot>> = HashMap::new();
        let mut interner = Interner::default();
        let mut skipped = Vec::new();
        let joiner = super::join::Joiner::new(stores);
        for pod in stores.pods.state() {
            let Some(name) = present(pod.metadata.name.as_ref()) else {
                skipped.push(SkippedObject::new("Pod", &pod.metadata, SkipReason::NoName));
                continue;
            };
            if let Some((key, revision)) = joiner.join(&pod) {
                by_workload
                    .entry(key)
                    .or_default()
                    .push(pod_snapshot(&pod, name, revision, &mut interner));
            }
        }
        let mut workloads = Vec::new();
        let mut add = |kind: WorkloadKind, meta: &ObjectMeta, spec: Option<&PodSpec>| {
            let (namespace, name, uid) = match identity(meta) {
                Ok(identity) => identity,
                Err(reason) => {
                    skipped.push(SkippedObject::new(kind.as_str(), meta, reason));
                    return;
                }
            };
            let key = WorkloadKey { kind, namespace, name };
            let template = spec.map(|spec| template(spec, &mut interner)).unwrap_or_default();
            let mut pods = by_workload.remove(&key).unwrap_or_default();
            pods.sort_by(|a, b| a.name.cmp(&b.name));
            workloads.push(WorkloadSnapshot {
                uid,
                opt_out: opt_out(meta),
                labels: meta.labels.clone().unwrap_or_default(),
                template,
                pull_secrets: spec
                    .and_then(|s| s.image_pull_secrets.as_ref())
                    .map(|secrets| {
                        secrets
                            .iter()
                            .map(|s| s.name.clone())
                            .filter(|n| !n.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                key,
                pods,
            });
        };
        for object in stores.deployments.state() {
            let spec = object.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            add(WorkloadKind::Deployment, &object.metadata, spec);
        }
        for object in stores.stateful_sets.state() {
            let spec = object.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            add(WorkloadKind::StatefulSet, &object.metadata, spec);
        }
        for object in stores.daemon_sets.state() {
            let spec = object.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            add(WorkloadKind::DaemonSet, &object.metadata, spec);
        }
        for object in stores.cron_jobs.state() {
            let spec = object
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .and_then(|s| s.template.spec.as_ref());
            add(WorkloadKind::CronJob, &object.metadata, spec);
        }
        workloads.sort_by(|a, b| a.key.cmp(&b.key));
        let mut namespaces = HashMap::new();
        for ns in stores.namespaces.state() {
            match present(ns.metadata.name.as_ref()) {
                Some(name) => {
                    namespaces.insert(name, ns.metadata.labels.clone().unwrap_or_default());
                }
                None => skipped.push(SkippedObject::new("Namespace", &ns.metadata, SkipReason::NoName)),
            }
        }
        let mut nodes = HashMap::new();
        for node in stores.nodes.state() {
            let Some(name) = present(node.metadata.name.as_ref()) else {
                skipped.push(SkippedObject::new("Node", &node.metadata, SkipReason::NoName));
                continue;
            };
            let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
            let text = |value: Option<&String>| value.filter(|v| !v.is_empty()).cloned();
            nodes.insert(
                name,
                NodeSnapshot {
                    kubelet: text(info.map(|i| &i.kubelet_version)),
                    container_runtime: text(info.map(|i| &i.container_runtime_version)),
                    kernel: text(info.map(|i| &i.kernel_version)),
                },
            );
        }
        ClusterSnapshot {
            workloads,
            namespaces,
            nodes,
            skipped,
        }
    }
}

/// The containers a pod spec names, with interned strings (see
/// [`Interner`]).
fn template(spec: &PodSpec, interner: &mut Interner) -> Vec<TemplateContainer> {
    let main = spec.containers.iter().map(|c| (c, false));
    let init = spec.init_containers.iter().flatten().map(|c| (c, true));
    main.chain(init)
        .map(|(c, init)| TemplateContainer {
            name: interner.intern(&c.name),
            image: interner.intern(c.image.as_deref().unwrap_or_default()),
            init,
        })
        .collect()
}

fn pod_snapshot(pod: &Pod, name: String, revision: PodRevision, interner: &mut Interner) -> PodSnapshot {
    let status = pod.status.as_ref();
    let image_ids: BTreeMap<(bool, &str), &str> = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| ((false, c.name.as_str()), c.image_id.as_str()))
        .chain(
            status
                .and_then(|s| s.init_container_statuses.as_ref())
                .into_iter()
                .flatten()
                .map(|c| ((true, c.name.as_str()), c.image_id.as_str())),
        )
        .collect();
    let containers = pod
        .spec
        .as_ref()
        .map(|spec| template(spec, interner))
        .unwrap_or_default()
        .into_iter()
        .map(|c| PodContainer {
            image_id: image_ids
                .get(&(c.init, &*c.name))
                .filter(|id| !id.is_empty())
                .map(|id| interner.intern(id)),
            name: c.name,
            init: c.init,
            image: c.image,
        })
        .collect();
    PodSnapshot {
        name,
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        revision,
        containers,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn report_names_are_the_kind_and_the_workload_name() {
        let key = |kind, name: &str| WorkloadKey {
            kind,
            namespace: "storefront".into(),
            name: name.into(),
        };
        assert_eq!(key(WorkloadKind::Deployment, "web").report_name(), "deployment-web");
        assert_eq!(key(WorkloadKind::CronJob, "nightly").report_name(), "cronjob-nightly");
    }

    /// The longest name that needs no shortening: `statefulset-` and 241
    /// characters.
    #[test]
    fn a_report_name_of_253_characters_is_kept_whole() {
        let name = format!("{}eu-west-1-primary", "orders-ledger-".repeat(16));
        let report = WorkloadKey {
            kind: WorkloadKind::StatefulSet,
            namespace: "payments".into(),
            name: name.clone(),
        }
        .report_name();
        assert_eq!(report.len(), 253);
        assert_eq!(report, format!("statefulset-{name}"));
    }

    /// Reports are found again by name after an upgrade, so the shortened
    /// form is pinned: `<kind>-<name>` cut to 242 characters (here the cut
    /// ends on a `-`, which is dropped), `-`, and the first ten hex digits
    /// of the SHA-256 of the whole `<kind>-<name>`, as `sha256sum` prints
    /// them.
    #[test]
    fn a_long_report_name_is_shortened_the_same_way_in_every_release() {
        let report = WorkloadKey {
            kind: WorkloadKind::Deployment,
            namespace: "payments".into(),
            name: format!("{}eu-west-1", "orders-ledger-".repeat(18)),
        }
        .report_name();
        assert_eq!(
            report,
            format!("deployment-{}orders-b0de86f451", "orders-ledger-".repeat(16))
        );
    }

    /// A DNS subdomain name (the shape Kubernetes requires of workload
    /// names) of up to 253 characters.
    fn workload_name() -> impl Strategy<Value = String> {
        // Up to 9 labels of up to 62 characters, cut at 253, so that many
        // names are too long to be used as written.
        prop::collection::vec("[a-z0-9]([-a-z0-9]{0,60}[a-z0-9])?", 1..10).prop_map(|labels| {
            let name = labels.join(".");
            name[..name.len().min(253)].trim_end_matches(['-', '.']).to_owned()
        })
    }

    fn kind() -> impl Strategy<Value = WorkloadKind> {
        prop::sample::select(vec![
            WorkloadKind::Deployment,
            WorkloadKind::StatefulSet,
            WorkloadKind::DaemonSet,
            WorkloadKind::CronJob,
        ])
    }

    proptest! {
        #[test]
        fn every_report_name_is_a_stable_valid_object_name(kind in kind(), name in workload_name()) {
            let key = WorkloadKey { kind, namespace: "storefront".into(), name };
            let report = key.report_name();
            prop_assert!(report.len() <= NAME_MAX, "{} characters", report.len());
            prop_assert_eq!(&report, &key.clone().report_name());
            prop_assert!(report.ends_with(|c: char| c.is_ascii_alphanumeric()), "{report}");
            prop_assert!(!report.contains(".-") && !report.contains("-."), "{report}");
        }

        #[test]
        fn different_long_workload_names_get_different_report_names(
            kind in kind(),
            stem in "[a-z0-9][-a-z0-9]{243}[a-z0-9]",
            a in "[a-z0-9]{1,8}",
            b in "[a-z0-9]{1,8}",
        ) {
            prop_assume!(a != b);
            // Names of 246 to 253 characters that differ only past the cut,
            // so their reports differ only in the hash.
            let key = |end: &str| WorkloadKey { kind, namespace: "storefront".into(), name: format!("{stem}{end}") };
            let (first, second) = (key(&a).report_name(), key(&b).report_name());
            prop_assert_ne!(first, second);
        }
    }

    #[test]
    fn identical_pods_count_once_in_the_fingerprint() {
        let pod = |name: &str| PodSnapshot {
            name: name.into(),
            node: Some("node-1".into()),
            revision: PodRevision::Current,
            containers: vec![PodContainer {
                name: "web".into(),
                init: false,
                image: "nginx:1.25.3".into(),
                image_id: Some("docker.io/library/nginx@sha256:aa".into()),
            }],
        };
        let mut workload = WorkloadSnapshot {
            key: WorkloadKey {
                kind: WorkloadKind::Deployment,
                namespace: "storefront".into(),
                name: "web".into(),
            },
            uid: "u".into(),
            opt_out: None,
            labels: Labels::new(),
            template: vec![TemplateContainer {
                name: "web".into(),
                image: "nginx:1.25.3".into(),
                init: false,
            }],
            pods: vec![pod("web-1")],
            pull_secrets: vec![],
        };
        let one = workload.fingerprint();
        workload.pods.push(pod("web-2"));
        assert_eq!(workload.fingerprint(), one, "scaling up changes nothing refit reports");
        workload.pods[1].containers[0].image_id = Some("docker.io/library/nginx@sha256:bb".into());
        assert_ne!(workload.fingerprint(), one, "a pod running another digest does");
    }

    #[test]
    fn a_pods_containers_carry_the_image_id_its_status_reports() {
        use k8s_openapi::api::core::v1::{Container, ContainerStatus, PodStatus};
        let spec = || PodSpec {
            containers: vec![Container {
                name: "web".into(),
                image: Some("nginx:1.29.8-alpine".into()),
                ..Container::default()
            }],
            init_containers: Some(vec![Container {
                name: "config".into(),
                image: Some("busybox:1.37.0".into()),
                ..Container::default()
            }]),
            ..PodSpec::default()
        };
        let pod = |name: &str, digest: &str| Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            spec: Some(spec()),
            status: Some(PodStatus {
                container_statuses: Some(vec![ContainerStatus {
                    name: "web".into(),
                    image_id: format!("docker.io/library/nginx@sha256:{}", digest.repeat(32)),
                    ..ContainerStatus::default()
                }]),
                // Not pulled yet: an empty image ID is none.
                init_container_statuses: Some(vec![ContainerStatus {
                    name: "config".into(),
                    image_id: String::new(),
                    ..ContainerStatus::default()
                }]),
                ..PodStatus::default()
            }),
        };
        let mut interner = Interner::default();
        let template = template(&spec(), &mut interner);
        let running = pod_snapshot(&pod("web-1", "aa"), "web-1".into(), PodRevision::Current, &mut interner);
        let rebuilt = pod_snapshot(&pod("web-2", "bb"), "web-2".into(), PodRevision::Earlier, &mut interner);
        for snapshot in [&running, &rebuilt] {
            let names: Vec<(&str, bool, &str)> = snapshot
                .containers
                .iter()
                .map(|c| (&*c.name, c.init, &*c.image))
                .collect();
            let expected: Vec<(&str, bool, &str)> = template.iter().map(|c| (&*c.name, c.init, &*c.image)).collect();
            assert_eq!(names, expected);
            assert_eq!(snapshot.containers[1].image_id, None);
        }
        assert_eq!(
            running.containers[0].image_id.as_deref(),
            Some(format!("docker.io/library/nginx@sha256:{}", "aa".repeat(32)).as_str())
        );
        assert_eq!(
            rebuilt.containers[0].image_id.as_deref(),
            Some(format!("docker.io/library/nginx@sha256:{}", "bb".repeat(32)).as_str())
        );
        assert_eq!(rebuilt.revision, PodRevision::Earlier);
    }

    mod read {
        use k8s_openapi::api::{
            apps::v1::{Deployment, DeploymentSpec},
            core::v1::{Container, Namespace, Node, PodTemplateSpec},
        };

        use super::*;
        use crate::cluster::fixtures::Objects;

        fn stores(
            deployments: Vec<Deployment>,
            pods: Vec<Pod>,
            namespaces: Vec<Namespace>,
            nodes: Vec<Node>,
        ) -> Stores {
            Objects {
                deployments,
                pods,
                namespaces,
                nodes,
                ..Objects::default()
            }
            .stores()
        }

        fn meta(namespace: Option<&str>, name: Option<&str>, uid: Option<&str>) -> ObjectMeta {
            ObjectMeta {
                namespace: namespace.map(str::to_owned),
                name: name.map(str::to_owned),
                uid: uid.map(str::to_owned),
                ..ObjectMeta::default()
            }
        }

        fn deployment(name: &str, uid: Option<&str>) -> Deployment {
            Deployment {
                metadata: meta(Some("storefront"), Some(name), uid),
                spec: Some(DeploymentSpec {
                    template: PodTemplateSpec {
                        spec: Some(PodSpec {
                            containers: vec![Container {
                                name: "web".into(),
                                image: Some("nginx:1.25.3-alpine3.20".into()),
                                ..Container::default()
                            }],
                            ..PodSpec::default()
                        }),
                        ..PodTemplateSpec::default()
                    },
                    ..DeploymentSpec::default()
                }),
                ..Deployment::default()
            }
        }

        #[test]
        fn a_workload_without_a_uid_is_left_out_and_named_never_reported_with_an_empty_uid() {
            // What a broken admission webhook or a hand-made watch event
            // could hand refit; a DriftReport of `legacy` would be owned by
            // no object.
            let snapshot = ClusterSnapshot::read(&stores(
                vec![
                    deployment("web", Some("0b6c1f9e-4a8d-4c1e-9f6e-2d7a5b3c8e10")),
                    deployment("legacy", None),
                    deployment("blank", Some("")),
                ],
                vec![],
                vec![],
                vec![],
            ));
            let reported: Vec<(&str, &str)> = snapshot
                .workloads
                .iter()
                .map(|w| (w.key.name.as_str(), w.uid.as_str()))
                .collect();
            assert_eq!(reported, [("web", "0b6c1f9e-4a8d-4c1e-9f6e-2d7a5b3c8e10")]);
            let mut skipped = snapshot.skipped.clone();
            skipped.sort_by(|a, b| a.name.cmp(&b.name));
            let skip = |name: &str| SkippedObject {
                kind: "Deployment",
                namespace: Some("storefront".into()),
                name: Some(name.into()),
                reason: SkipReason::NoUid,
            };
            assert_eq!(skipped, [skip("blank"), skip("legacy")]);
            assert_eq!(skipped[0].reason.label(), "no_uid");
        }

        #[test]
        fn pods_namespaces_and_nodes_with_an_empty_name_are_left_out_as_skipped() {
            // kube's reflector refuses objects without a name outright; an
            // empty one gets through and must not become a node called "".
            let pod = |name: Option<&str>| Pod {
                metadata: meta(Some("storefront"), name, Some("6e1d2c3b-0f4a-4b5c-8d9e-7a6b5c4d3e2f")),
                ..Pod::default()
            };
            let namespace = |name: Option<&str>| Namespace {
                metadata: meta(None, name, Some("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")),
                ..Namespace::default()
            };
            let node = |name: Option<&str>| Node {
                metadata: meta(None, name, Some("9f8e7d6c-5b4a-4c3d-2e1f-0a9b8c7d6e5f")),
                ..Node::default()
            };
            let snapshot = ClusterSnapshot::read(&stores(
                vec![],
                vec![pod(Some("web-7d4b9c8f6-x2k4p")), pod(Some(""))],
                vec![namespace(Some("storefront")), namespace(Some(""))],
                vec![node(Some("node-1")), node(Some(""))],
            ));
            assert!(snapshot.namespaces.contains_key("storefront"));
            assert!(snapshot.nodes.contains_key("node-1"));
            assert!(!snapshot.namespaces.contains_key("") && !snapshot.nodes.contains_key(""));
            let mut skipped: Vec<(&str, SkipReason)> = snapshot.skipped.iter().map(|s| (s.kind, s.reason)).collect();
            skipped.sort_by_key(|(kind, _)| *kind);
            assert_eq!(
                skipped,
                [
                    ("Namespace", SkipReason::NoName),
                    ("Node", SkipReason::NoName),
                    ("Pod", SkipReason::NoName)
                ]
            );
        }
    }
}
