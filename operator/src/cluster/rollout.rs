//! Changing a workload for a ticket, and reading how its rollout goes.
//!
//! The change is a server-side apply with the field manager `refit` of
//! only the ticket's containers' `image` fields and one pod-template
//! annotation naming the ticket ([`TICKET_ANNOTATION`]); nothing else in the
//! workload is in refit's configuration, so no other field changes hands.
//! The apply is forced because the images belong to whoever wrote the
//! workload; forcing takes only the fields in the configuration. Images
//! refit applied for earlier tickets stay in the configuration with their
//! current values: an apply that left them out would remove them.
//!
//! The workload and its pods are read fresh from the API server (the watch
//! stores are trimmed of status and `managedFields`), for the few changes
//! in progress at a time.

use std::collections::BTreeSet;

use k8s_openapi::{
    api::{
        apps::v1::{DaemonSet, Deployment, StatefulSet},
        batch::v1::CronJob,
        core::v1::{Pod, PodSpec, PodTemplateSpec},
    },
    apimachinery::pkg::apis::meta::v1::{LabelSelector, ManagedFieldsEntry, ObjectMeta, Time},
};
use kube::{
    Api, Client,
    api::{ListParams, Patch, PatchParams},
    core::Selector,
};
use serde_json::{Value, json};

use crate::{
    api::{
        change_ticket::{ChangeType, ContainerChange, Execution, ExecutionTarget},
        workload::WorkloadKind,
    },
    core::rollout::{ImageSet, Live, Manager, PodHealth, Rollout, State, TemplateImage, target_image},
};

/// refit's field manager.
pub const FIELD_MANAGER: &str = "refit";

/// The pod-template annotation naming the ticket that last changed the
/// workload; pods made from that template carry it too.
pub const TICKET_ANNOTATION: &str = "refit.dev/ticket";

/// The workload a ticket changes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Its namespace.
    pub namespace: &'a str,
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its name.
    pub name: &'a str,
    /// The ticket's name.
    pub ticket: &'a str,
}

/// What an apply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// `metadata.generation` after it.
    pub generation: Option<i64>,
    /// `spec.replicas` after it.
    pub replicas: Option<i32>,
}

/// One workload of any governed kind, as read (boxed: the kinds differ
/// in size by hundreds of bytes).
enum Object {
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    CronJob(Box<CronJob>),
}

impl Object {
    fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
        }
    }

    fn template(&self) -> Option<&PodTemplateSpec> {
        match self {
            Object::Deployment(o) => o.spec.as_ref().map(|s| &s.template),
            Object::StatefulSet(o) => o.spec.as_ref().map(|s| &s.template),
            Object::DaemonSet(o) => o.spec.as_ref().map(|s| &s.template),
            Object::CronJob(o) => o
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .map(|s| &s.template),
        }
    }

    fn replicas(&self) -> Option<i32> {
        match self {
            Object::Deployment(o) => Some(o.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            Object::StatefulSet(o) => Some(o.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            Object::DaemonSet(_) | Object::CronJob(_) => None,
        }
    }

    fn selector(&self) -> Option<&LabelSelector> {
        match self {
            Object::Deployment(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::StatefulSet(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::DaemonSet(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::CronJob(_) => None,
        }
    }

    fn rollout(&self) -> Rollout {
        match self {
            Object::Deployment(o) => {
                let status = o.status.clone().unwrap_or_default();
                let deadline_exceeded = status
                    .conditions
                    .iter()
                    .flatten()
                    .find(|c| {
                        c.type_ == "Progressing"
                            && c.status == "False"
                            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                    })
                    .map(|c| c.message.clone().unwrap_or_default());
                Rollout::Deployment {
                    observed_generation: status.observed_generation,
                    replicas: self.replicas().unwrap_or(1),
                    total: status.replicas.unwrap_or_default(),
                    updated: status.updated_replicas.unwrap_or_default(),
                    available: status.available_replicas.unwrap_or_default(),
                    deadline_exceeded,
                }
            }
            Object::StatefulSet(o) => {
                let status = o.status.clone().unwrap_or_default();
                let strategy = o.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
                Rollout::StatefulSet {
                    observed_generation: status.observed_generation,
                    replicas: self.replicas().unwrap_or(1),
                    updated: status.updated_replicas.unwrap_or_default(),
                    ready: status.ready_replicas.unwrap_or_default(),
                    on_delete: strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete"),
                    partition: strategy
                        .and_then(|s| s.rolling_update.as_ref())
                        .and_then(|r| r.partition)
                        .unwrap_or_default(),
                }
            }
            Object::DaemonSet(o) => {
                let status = o.status.clone().unwrap_or_default();
                Rollout::DaemonSet {
                    observed_generation: status.observed_generation,
                    desired: status.desired_number_scheduled,
                    updated: status.updated_number_scheduled.unwrap_or_default(),
                    available: status.number_available.unwrap_or_default(),
                    on_delete: o
                        .spec
                        .as_ref()
                        .and_then(|s| s.update_strategy.as_ref())
                        .and_then(|s| s.type_.as_deref())
                        == Some("OnDelete"),
                }
            }
            Object::CronJob(o) => {
                let spec = o.spec.clone().unwrap_or_default();
                Rollout::CronJob {
                    schedule: spec.schedule,
                    time_zone: spec.time_zone,
                    suspended: spec.suspend.unwrap_or(false),
                }
            }
        }
    }
}

/// The path of the pod template's spec in a workload of `kind`.
fn template_path(kind: WorkloadKind) -> &'static [&'static str] {
    match kind {
        WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
        _ => &["spec", "template"],
    }
}

/// Nests `leaf` under `path`.
fn nest(path: &[&str], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |inner, key| json!({ *key: inner }))
}

fn api_version(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::CronJob => "batch/v1",
        _ => "apps/v1",
    }
}

/// The apply configuration: the ticket annotation and `images`, plus the
/// images refit applied before (`kept`, with their values now).
pub fn configuration(target: &Target<'_>, images: &[ImageSet], kept: &[ImageSet]) -> Value {
    let mut containers: Vec<Value> = Vec::new();
    let mut init_containers: Vec<Value> = Vec::new();
    let mut seen = BTreeSet::new();
    for image in images.iter().chain(kept) {
        if !seen.insert((image.init, image.container.clone())) {
            continue;
        }
        let entry = json!({"name": image.container, "image": image.image});
        if image.init {
            init_containers.push(entry);
        } else {
            containers.push(entry);
        }
    }
    let mut spec = serde_json::Map::new();
    if !containers.is_empty() {
        spec.insert("containers".into(), Value::Array(containers));
    }
    if !init_containers.is_empty() {
        spec.insert("initContainers".into(), Value::Array(init_containers));
    }
    let mut template = json!({"metadata": {"annotations": {TICKET_ANNOTATION: target.ticket}}});
    if !spec.is_empty() {
        template["spec"] = Value::Object(spec);
    }
    let mut object = nest(template_path(target.kind), template);
    object["apiVersion"] = json!(api_version(target.kind));
    object["kind"] = json!(target.kind.as_str());
    object["metadata"] = json!({"name": target.name, "namespace": target.namespace});
    object
}

/// The `managedFields` path of a container's image.
fn image_field(kind: WorkloadKind, container: &str, init: bool) -> Vec<String> {
    let mut path: Vec<String> = template_path(kind).iter().map(|k| format!("f:{k}")).collect();
    path.push("f:spec".into());
    path.push(if init { "f:initContainers" } else { "f:containers" }.into());
    path.push(format!("k:{}", json!({"name": container})));
    path.push("f:image".into());
    path
}

/// Whether the `fieldsV1` tree `fields` holds `path`. Keys of list items
/// are compared as JSON, so `k:{"name":"web"}` matches however it is spaced.
fn holds(fields: &Value, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return true;
    };
    let Some(map) = fields.as_object() else {
        return false;
    };
    let wanted_key = first
        .strip_prefix("k:")
        .and_then(|k| serde_json::from_str::<Value>(k).ok());
    map.iter().any(|(key, child)| {
        let same = match (&wanted_key, key.strip_prefix("k:")) {
            (Some(wanted), Some(key)) => serde_json::from_str::<Value>(key).ok().as_ref() == Some(wanted),
            _ => key == first,
        };
        same && holds(child, rest)
    })
}

/// Who other than refit owns `path`, the most recent first.
fn owner(entries: &[ManagedFieldsEntry], path: &[String]) -> Option<Manager> {
    let others: Vec<ManagedFieldsEntry> = entries
        .iter()
        .filter(|e| e.manager.as_deref() != Some(FIELD_MANAGER))
        .cloned()
        .collect();
    last_writer(&others, path)
}

/// Who owns `path`, the most recent first.
fn last_writer(entries: &[ManagedFieldsEntry], path: &[String]) -> Option<Manager> {
    let mut owners: Vec<&ManagedFieldsEntry> = entries
        .iter()
        .filter(|e| e.fields_v1.as_ref().is_some_and(|f| holds(&f.0, path)))
        .collect();
    owners.sort_by_key(|e| std::cmp::Reverse(e.time.as_ref().map(|t| t.0)));
    owners.first().map(|e| Manager {
        name: e.manager.clone().unwrap_or_else(|| "(unnamed)".into()),
        operation: e.operation.clone().unwrap_or_else(|| "Update".into()),
        time: e.time.as_ref().map(|t| t.0.to_string()),
    })
}

/// The containers whose image refit's own apply entry owns.
fn refits_images(entries: &[ManagedFieldsEntry], kind: WorkloadKind, template: &PodSpec) -> Vec<ImageSet> {
    let Some(mine) = entries
        .iter()
        .find(|e| e.manager.as_deref() == Some(FIELD_MANAGER) && e.operation.as_deref() == Some("Apply"))
        .and_then(|e| e.fields_v1.as_ref())
    else {
        return Vec::new();
    };
    let init = template.init_containers.as_deref().unwrap_or_default();
    template
        .containers
        .iter()
        .map(|c| (false, c))
        .chain(init.iter().map(|c| (true, c)))
        .filter(|(init, c)| holds(&mine.0, &image_field(kind, &c.name, *init)))
        .filter_map(|(init, c)| {
            Some(ImageSet {
                container: c.name.clone(),
                init,
                image: c.image.clone()?,
            })
        })
        .collect()
}

fn container_image(spec: &PodSpec, name: &str, init: bool) -> Option<String> {
    let list = if init {
        spec.init_containers.as_deref().unwrap_or_default()
    } else {
        &spec.containers
    };
    list.iter().find(|c| c.name == name).and_then(|c| c.image.clone())
}

/// Reads, applies and follows workloads for tickets.
#[derive(Clone)]
pub struct Rollouts {
    client: Client,
}

impl std::fmt::Debug for Rollouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollouts").finish_non_exhaustive()
    }
}

impl Rollouts {
    /// Over `client`.
    pub fn new(client: Client) -> Rollouts {
        Rollouts { client }
    }

    async fn get(&self, target: &Target<'_>) -> Result<Option<Object>, kube::Error> {
        let client = self.client.clone();
        let ns = target.namespace;
        Ok(match target.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, ns)
                .get_opt(target.name)
                .await?
                .map(|o| Object::Deployment(Box::new(o))),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, ns)
                .get_opt(target.name)
                .await?
                .map(|o| Object::StatefulSet(Box::new(o))),
            WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client, ns)
                .get_opt(target.name)
                .await?
                .map(|o| Object::DaemonSet(Box::new(o))),
            WorkloadKind::CronJob => Api::<CronJob>::namespaced(client, ns)
                .get_opt(target.name)
                .await?
                .map(|o| Object::CronJob(Box::new(o))),
        })
    }

    /// The workload as it is, with the pods that run `target`'s images
    /// from the template refit applied; `None` when it is gone.
    pub async fn read(
        &self,
        target: &Target<'_>,
        change_type: ChangeType,
        changes: &[ContainerChange],
        images: ExecutionTarget,
    ) -> Result<Option<Live>, kube::Error> {
        let Some(object) = self.get(target).await? else {
            return Ok(None);
        };
        // Being deleted is as good as gone: nothing will roll out.
        if object.meta().deletion_timestamp.is_some() {
            return Ok(None);
        }
        let entries = object.meta().managed_fields.clone().unwrap_or_default();
        let spec = object.template().and_then(|t| t.spec.clone()).unwrap_or_default();
        let template_images = changes
            .iter()
            .map(|c| TemplateImage {
                container: c.container.clone(),
                image: container_image(&spec, &c.container, c.init),
                set_by: owner(&entries, &image_field(target.kind, &c.container, c.init)),
            })
            .collect();
        let pods = match object.selector() {
            Some(selector) => self.pods(target, selector, change_type, changes, images).await?,
            None => Vec::new(),
        };
        Ok(Some(Live {
            kind: target.kind,
            name: target.name.to_owned(),
            images: template_images,
            replicas: object.replicas(),
            replicas_set_by: owner(&entries, &["f:spec".into(), "f:replicas".into()]),
            rollout: object.rollout(),
            pods,
        }))
    }

    async fn pods(
        &self,
        target: &Target<'_>,
        selector: &LabelSelector,
        change_type: ChangeType,
        changes: &[ContainerChange],
        images: ExecutionTarget,
    ) -> Result<Vec<PodHealth>, kube::Error> {
        let Ok(selector) = Selector::try_from(selector.clone()) else {
            return Ok(Vec::new());
        };
        let pods = Api::<Pod>::namespaced(self.client.clone(), target.namespace)
            .list(&ListParams::default().labels_from(&selector))
            .await?;
        Ok(pods
            .items
            .iter()
            .filter(|pod| pod.metadata.deletion_timestamp.is_none())
            .filter(|pod| {
                pod.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(TICKET_ANNOTATION))
                    .map(String::as_str)
                    == Some(target.ticket)
            })
            .filter(|pod| {
                change_type != ChangeType::Rollout
                    || pod.spec.as_ref().is_some_and(|spec| {
                        changes.iter().all(|c| {
                            container_image(spec, &c.container, c.init).as_deref() == Some(target_image(c, images))
                        })
                    })
            })
            .map(health)
            .collect())
    }

    /// Who last wrote each of `containers`' images (refit included), or
    /// `None` for one nobody is recorded for; empty when the workload is
    /// gone.
    pub async fn image_writers(
        &self,
        namespace: &str,
        kind: WorkloadKind,
        name: &str,
        containers: &[(String, bool)],
    ) -> Result<Vec<Option<Manager>>, kube::Error> {
        let target = Target {
            namespace,
            kind,
            name,
            ticket: "",
        };
        let Some(object) = self.get(&target).await? else {
            return Ok(Vec::new());
        };
        let entries = object.meta().managed_fields.clone().unwrap_or_default();
        Ok(containers
            .iter()
            .map(|(container, init)| last_writer(&entries, &image_field(kind, container, *init)))
            .collect())
    }

    /// Applies `images` and the ticket annotation.
    pub async fn apply(&self, target: &Target<'_>, images: &[ImageSet]) -> Result<Applied, kube::Error> {
        let kept = match self.get(target).await? {
            Some(object) => {
                let spec = object.template().and_then(|t| t.spec.clone()).unwrap_or_default();
                refits_images(
                    object.meta().managed_fields.as_deref().unwrap_or_default(),
                    target.kind,
                    &spec,
                )
            }
            None => Vec::new(),
        };
        let body = configuration(target, images, &kept);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let client = self.client.clone();
        let ns = target.namespace;
        let (meta, replicas) = match target.kind {
            WorkloadKind::Deployment => {
                let o = Api::<Deployment>::namespaced(client, ns)
                    .patch(target.name, &params, &Patch::Apply(&body))
                    .await?;
                (o.metadata, o.spec.and_then(|s| s.replicas))
            }
            WorkloadKind::StatefulSet => {
                let o = Api::<StatefulSet>::namespaced(client, ns)
                    .patch(target.name, &params, &Patch::Apply(&body))
                    .await?;
                (o.metadata, o.spec.and_then(|s| s.replicas))
            }
            WorkloadKind::DaemonSet => {
                let o = Api::<DaemonSet>::namespaced(client, ns)
                    .patch(target.name, &params, &Patch::Apply(&body))
                    .await?;
                (o.metadata, None)
            }
            WorkloadKind::CronJob => {
                let o = Api::<CronJob>::namespaced(client, ns)
                    .patch(target.name, &params, &Patch::Apply(&body))
                    .await?;
                (o.metadata, None)
            }
        };
        Ok(Applied {
            generation: meta.generation,
            replicas: replicas.or(match target.kind {
                WorkloadKind::Deployment | WorkloadKind::StatefulSet => Some(1),
                _ => None,
            }),
        })
    }
}

fn health(pod: &Pod) -> PodHealth {
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let containers = status.container_statuses.unwrap_or_default();
    PodHealth {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready,
        restarts: containers.iter().map(|c| c.restart_count).sum(),
        waiting: containers
            .iter()
            .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone()),
    }
}

/// A recorded execution as `core` reads it; `None` when it has no
/// readable `since`.
pub fn state(execution: &Execution) -> Option<State> {
    Some(State {
        target: execution.target,
        step: execution.step,
        since: super::instant(&execution.since)?,
        generation: execution.generation,
        replicas: execution.replicas,
        progress: execution.progress.clone(),
        failure: execution.failure.clone(),
    })
}

/// `state` as the ticket records it.
pub fn execution(state: &State) -> Result<Execution, super::TimeOutOfRange> {
    Ok(Execution {
        target: state.target,
        step: state.step,
        since: super::time(state.since)?,
        generation: state.generation,
        replicas: state.replicas,
        progress: state.progress.clone(),
        failure: state.failure.clone(),
    })
}

/// `since` of a step starting at `now`, as the API stores it.
pub fn started(now: &Time) -> Option<State> {
    super::instant(now).map(State::start)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1;

    use super::*;

    fn target(kind: WorkloadKind) -> Target<'static> {
        Target {
            namespace: "shop",
            kind,
            name: "web",
            ticket: "deployment-web-1a2b3c",
        }
    }

    fn set(container: &str, init: bool, image: &str) -> ImageSet {
        ImageSet {
            container: container.into(),
            init,
            image: image.into(),
        }
    }

    #[test]
    fn the_configuration_holds_only_the_images_and_the_ticket_annotation() {
        let body = configuration(
            &target(WorkloadKind::Deployment),
            &[set("web", false, "nginx:1.25.4@sha256:aa")],
            &[
                set("web", false, "nginx:1.25.3"),
                set("migrate", true, "tools:2@sha256:bb"),
            ],
        );
        assert_eq!(
            body,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"template": {
                    "metadata": {"annotations": {"refit.dev/ticket": "deployment-web-1a2b3c"}},
                    "spec": {
                        "containers": [{"name": "web", "image": "nginx:1.25.4@sha256:aa"}],
                        "initContainers": [{"name": "migrate", "image": "tools:2@sha256:bb"}],
                    },
                }},
            })
        );
        let restart = configuration(&target(WorkloadKind::CronJob), &[], &[]);
        assert_eq!(
            restart["spec"],
            json!({"jobTemplate": {"spec": {"template": {"metadata": {"annotations": {"refit.dev/ticket": "deployment-web-1a2b3c"}}}}}})
        );
        assert_eq!(restart["apiVersion"], "batch/v1");
    }

    fn entry(manager: &str, operation: &str, time: i64, fields: Value) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(operation.into()),
            time: Some(Time(k8s_openapi::jiff::Timestamp::from_second(time).expect("a time"))),
            fields_v1: Some(FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        }
    }

    fn image_fields(container: &str) -> Value {
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {format!("k:{{\"name\":\"{container}\"}}"): {".": {}, "f:image": {}, "f:name": {}}}}}}})
    }

    #[test]
    fn the_owner_of_an_image_is_read_from_managed_fields_and_refit_is_not_named() {
        let entries = vec![
            entry(
                "kubectl-client-side-apply",
                "Update",
                1_764_800_000,
                image_fields("web"),
            ),
            entry("refit", "Apply", 1_764_800_100, image_fields("web")),
            entry("kubectl-edit", "Update", 1_764_800_200, image_fields("web")),
            entry(
                "kube-controller-manager",
                "Update",
                1_764_800_300,
                json!({"f:status": {}}),
            ),
        ];
        let owner = owner(&entries, &image_field(WorkloadKind::Deployment, "web", false)).expect("an owner");
        assert_eq!(owner.name, "kubectl-edit");
        assert_eq!(owner.operation, "Update");
        assert_eq!(owner.time.as_deref(), Some("2025-12-03T22:16:40Z"));
        assert!(owner_of_nothing(&entries));
    }

    fn owner_of_nothing(entries: &[ManagedFieldsEntry]) -> bool {
        owner(entries, &image_field(WorkloadKind::Deployment, "api", false)).is_none()
    }

    #[test]
    fn images_refit_applied_before_stay_in_its_configuration() {
        let spec: PodSpec = serde_json::from_value(json!({"containers": [
            {"name": "web", "image": "nginx:1.25.4@sha256:aa"},
            {"name": "log", "image": "fluent-bit:3.1"},
        ]}))
        .expect("a spec");
        let entries = vec![
            entry("refit", "Apply", 1, image_fields("web")),
            entry("kubectl", "Update", 1, image_fields("log")),
        ];
        assert_eq!(
            refits_images(&entries, WorkloadKind::Deployment, &spec),
            [set("web", false, "nginx:1.25.4@sha256:aa")]
        );
    }
}
