//! Trimming watched objects to what refit reads, before they are stored:
//! no `managedFields`, no annotations (`last-applied-configuration` can be
//! as large as the object) except the two revision annotations refit reads
//! (a ReplicaSet's Deployment revision, a DaemonSet's template generation)
//! and a workload's opt-outs (`refit.dev/pin`, `refit.dev/ignore`),
//! only the labels refit matches or joins on, and of the spec only the
//! containers' names and images (a ReplicaSet's too: see [`super::join`]),
//! pull secrets and node name. Status is kept only where it says which
//! image a pod runs or which revision is current. So the operator's memory
//! grows with the number of objects, not with their size.

use std::collections::BTreeMap;

use crate::core::planning::{IGNORE_ANNOTATION, PIN_ANNOTATION};

use k8s_openapi::{
    api::{
        apps::v1::{DaemonSet, Deployment, ReplicaSet, ReplicaSetSpec, StatefulSet, StatefulSetStatus},
        batch::v1::{CronJob, Job},
        core::v1::{
            Container, ContainerStatus, LocalObjectReference, Namespace, Node, NodeStatus, NodeSystemInfo, Pod,
            PodSpec, PodStatus, PodTemplateSpec,
        },
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

/// The label a Deployment's ReplicaSets and pods carry: the template hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The label StatefulSet and DaemonSet pods carry: their revision.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";
/// The label DaemonSet pods carry: the DaemonSet generation they were made
/// from.
pub const POD_TEMPLATE_GENERATION: &str = "pod-template-generation";
/// The annotation on a ReplicaSet: its Deployment revision.
pub const DEPLOYMENT_REVISION: &str = "deployment.kubernetes.io/revision";
/// The annotation on a DaemonSet: its template generation, which the API
/// server moves on only when the pod template changes (unlike
/// `metadata.generation`, which any spec change moves). Its pods carry it
/// as [`POD_TEMPLATE_GENERATION`].
pub const DAEMONSET_TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// The annotations by which a workload opts out of refit's changes.
const OPT_OUTS: [&str; 2] = [PIN_ANNOTATION, IGNORE_ANNOTATION];

/// Keeps only the annotations `keep`.
fn keep_annotations(meta: &mut ObjectMeta, keep: &[&str]) {
    meta.annotations = meta.annotations.take().and_then(|annotations| {
        let kept: BTreeMap<String, String> = annotations
            .into_iter()
            .filter(|(key, _)| keep.contains(&key.as_str()))
            .collect();
        (!kept.is_empty()).then_some(kept)
    });
}

/// Keeps only the annotation `keep`, if any.
fn keep_annotation(meta: &mut ObjectMeta, keep: Option<&str>) {
    keep_annotations(meta, keep.as_slice());
}

/// Keeps identity, ownership and labels of a workload (its own labels are
/// what a policy's `selector` matches), its opt-outs, and the annotation
/// `keep`.
fn workload_meta(meta: &mut ObjectMeta, keep: Option<&str>) {
    meta.managed_fields = None;
    let mut kept = OPT_OUTS.to_vec();
    kept.extend(keep);
    keep_annotations(meta, &kept);
    meta.finalizers = None;
}

/// Keeps the identity and ownership of a pod or intermediate owner, and
/// only the revision labels.
fn owned_meta(meta: &mut ObjectMeta, keep: Option<&str>) {
    meta.managed_fields = None;
    meta.finalizers = None;
    meta.labels = meta.labels.take().map(|labels| {
        labels
            .into_iter()
            .filter(|(key, _)| {
                [POD_TEMPLATE_HASH, CONTROLLER_REVISION_HASH, POD_TEMPLATE_GENERATION].contains(&key.as_str())
            })
            .collect()
    });
    keep_annotation(meta, keep);
}

/// A container reduced to its name and image.
fn container(container: &Container) -> Container {
    Container {
        name: container.name.clone(),
        image: container.image.clone(),
        ..Container::default()
    }
}

/// A pod spec reduced to containers, init containers, pull secrets and the
/// node.
fn pod_spec(spec: &PodSpec) -> PodSpec {
    PodSpec {
        containers: spec.containers.iter().map(container).collect(),
        init_containers: spec
            .init_containers
            .as_ref()
            .map(|list| list.iter().map(container).collect()),
        image_pull_secrets: spec.image_pull_secrets.as_ref().map(|secrets| {
            secrets
                .iter()
                .map(|s| LocalObjectReference { name: s.name.clone() })
                .collect()
        }),
        node_name: spec.node_name.clone(),
        ..PodSpec::default()
    }
}

fn template(template: &mut PodTemplateSpec) {
    *template = PodTemplateSpec {
        metadata: None,
        spec: template.spec.as_ref().map(pod_spec),
    };
}

/// Trims a Deployment to its identity, labels and pod template images.
pub fn deployment(object: &mut Deployment) {
    workload_meta(&mut object.metadata, None);
    if let Some(spec) = object.spec.as_mut() {
        template(&mut spec.template);
        spec.selector = Default::default();
        spec.strategy = None;
    }
    object.status = None;
}

/// Trims a StatefulSet; keeps `status.updateRevision` (which pods are
/// current) and `status.observedGeneration` (whether that is up to date).
pub fn stateful_set(object: &mut StatefulSet) {
    workload_meta(&mut object.metadata, None);
    if let Some(spec) = object.spec.as_mut() {
        template(&mut spec.template);
        spec.selector = Default::default();
        spec.volume_claim_templates = None;
        spec.update_strategy = None;
    }
    object.status = object.status.take().map(|status| StatefulSetStatus {
        update_revision: status.update_revision,
        observed_generation: status.observed_generation,
        ..StatefulSetStatus::default()
    });
}

/// Trims a DaemonSet; keeps its template generation annotation (which
/// pods are current).
pub fn daemon_set(object: &mut DaemonSet) {
    workload_meta(&mut object.metadata, Some(DAEMONSET_TEMPLATE_GENERATION));
    if let Some(spec) = object.spec.as_mut() {
        template(&mut spec.template);
        spec.selector = Default::default();
        spec.update_strategy = None;
    }
    object.status = None;
}

/// Trims a CronJob to its job template's images.
pub fn cron_job(object: &mut CronJob) {
    workload_meta(&mut object.metadata, None);
    if let Some(spec) = object.spec.as_mut() {
        spec.schedule = String::new();
        spec.time_zone = None;
        if let Some(job) = spec.job_template.spec.as_mut() {
            template(&mut job.template);
            job.selector = None;
        }
        spec.job_template.metadata = None;
    }
    object.status = None;
}

/// Trims a ReplicaSet to identity, owner, revision and its template's
/// container names and images (whether it is its Deployment's template).
pub fn replica_set(object: &mut ReplicaSet) {
    owned_meta(&mut object.metadata, Some(DEPLOYMENT_REVISION));
    object.spec = object.spec.take().map(|spec| ReplicaSetSpec {
        template: spec.template.map(|mut kept| {
            template(&mut kept);
            kept
        }),
        ..ReplicaSetSpec::default()
    });
    object.status = None;
}

/// Trims a Job to identity and owner.
pub fn job(object: &mut Job) {
    owned_meta(&mut object.metadata, None);
    object.spec = None;
    object.status = None;
}

/// Trims a pod to identity, owner, revision labels, images and the image
/// IDs its containers report.
pub fn pod(object: &mut Pod) {
    owned_meta(&mut object.metadata, None);
    object.spec = object.spec.as_ref().map(pod_spec);
    object.status = object.status.take().map(|status| PodStatus {
        container_statuses: status.container_statuses.map(statuses),
        init_container_statuses: status.init_container_statuses.map(statuses),
        ..PodStatus::default()
    });
}

fn statuses(list: Vec<ContainerStatus>) -> Vec<ContainerStatus> {
    list.into_iter()
        .map(|status| ContainerStatus {
            name: status.name,
            image: status.image,
            image_id: status.image_id,
            ..ContainerStatus::default()
        })
        .collect()
}

/// Trims a node to its name and component versions.
pub fn node(object: &mut Node) {
    object.metadata = ObjectMeta {
        name: object.metadata.name.take(),
        uid: object.metadata.uid.take(),
        resource_version: object.metadata.resource_version.take(),
        ..ObjectMeta::default()
    };
    object.spec = None;
    object.status = object.status.take().map(|status| NodeStatus {
        node_info: status.node_info.map(|info| NodeSystemInfo {
            kubelet_version: info.kubelet_version,
            container_runtime_version: info.container_runtime_version,
            kernel_version: info.kernel_version,
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    });
}

/// Trims a namespace to its name and labels (what `namespaceSelector`
/// matches).
pub fn namespace(object: &mut Namespace) {
    object.metadata = ObjectMeta {
        name: object.metadata.name.take(),
        uid: object.metadata.uid.take(),
        labels: object.metadata.labels.take(),
        resource_version: object.metadata.resource_version.take(),
        ..ObjectMeta::default()
    };
    object.spec = None;
    object.status = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_keeps_only_what_refit_reads() {
        let mut object: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "web-abc-1", "namespace": "storefront", "uid": "u1",
                "labels": {"app": "web", "pod-template-hash": "abc"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs1", "controller": true}],
                "managedFields": [{"manager": "kubectl"}],
            },
            "spec": {
                "containers": [{"name": "web", "image": "nginx:1.25.3", "env": [{"name": "A", "value": "b"}], "args": ["x"]}],
                "nodeName": "node-1",
                "volumes": [{"name": "data", "emptyDir": {}}],
            },
            "status": {
                "phase": "Running",
                "containerStatuses": [{"name": "web", "image": "nginx:1.25.3", "imageID": "docker.io/library/nginx@sha256:aa", "ready": true, "restartCount": 3}],
            },
        }))
        .expect("a pod");
        pod(&mut object);
        let json = serde_json::to_value(&object).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "web-abc-1", "namespace": "storefront", "uid": "u1",
                    "labels": {"pod-template-hash": "abc"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs1", "controller": true}],
                },
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25.3"}], "nodeName": "node-1"},
                "status": {"containerStatuses": [{"name": "web", "image": "nginx:1.25.3", "imageID": "docker.io/library/nginx@sha256:aa", "ready": false, "restartCount": 0}]},
            })
        );
    }

    #[test]
    fn a_replica_set_keeps_its_revision_owner_and_template_images() {
        let mut object: ReplicaSet = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "web-7c9d8f6b5", "namespace": "storefront", "uid": "rs4",
                "labels": {"app": "web", "pod-template-hash": "7c9d8f6b5"},
                "annotations": {
                    "deployment.kubernetes.io/revision": "4",
                    "deployment.kubernetes.io/desired-replicas": "3",
                    "deployment.kubernetes.io/max-replicas": "4",
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}],
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c9d8f6b5"}},
                "template": {
                    "metadata": {"labels": {"app": "web", "pod-template-hash": "7c9d8f6b5"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25.3-alpine", "ports": [{"containerPort": 80}]}]},
                },
            },
            "status": {"replicas": 3, "readyReplicas": 3},
        }))
        .expect("a ReplicaSet");
        replica_set(&mut object);
        assert_eq!(
            serde_json::to_value(&object).expect("serializes"),
            serde_json::json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": "web-7c9d8f6b5", "namespace": "storefront", "uid": "rs4",
                    "labels": {"pod-template-hash": "7c9d8f6b5"},
                    "annotations": {"deployment.kubernetes.io/revision": "4"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}],
                },
                "spec": {
                    "selector": {},
                    "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25.3-alpine"}]}},
                },
            })
        );
    }

    #[test]
    fn a_daemon_set_keeps_its_template_generation_and_no_other_annotation() {
        let mut object: DaemonSet = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "node-exporter", "namespace": "monitoring", "uid": "ds1", "generation": 5,
                "labels": {"app": "node-exporter"},
                "annotations": {
                    "deprecated.daemonset.template.generation": "3",
                    "kubectl.kubernetes.io/last-applied-configuration": "{...}",
                },
            },
        }))
        .expect("a DaemonSet");
        daemon_set(&mut object);
        assert_eq!(
            serde_json::to_value(&object.metadata).expect("serializes"),
            serde_json::json!({
                "name": "node-exporter", "namespace": "monitoring", "uid": "ds1", "generation": 5,
                "labels": {"app": "node-exporter"},
                "annotations": {"deprecated.daemonset.template.generation": "3"},
            })
        );
    }
}
