//! The simulated workload controllers. Each step moves every rollout by at
//! most one pod, so a client watching sees the intermediate states a real
//! rollout goes through (new ReplicaSet, updated but not yet ready pods, old
//! pods going away) and the status fields refit follows: observedGeneration,
//! replicas, updated/ready/available replicas and, for Deployments, the
//! Available and Progressing conditions with `ProgressDeadlineExceeded`.
//! StatefulSets honour `updateStrategy` `OnDelete` and `partition`.
//! StatefulSets and DaemonSets have no Progressing condition in Kubernetes,
//! so none is simulated for them either; their rollouts simply stop
//! advancing while an image cannot be pulled.

use serde_json::{Value, json};

use super::{Images, kubelet};
use crate::{
    gc::{self, Propagation},
    objects::{self, FieldValidation, Write, random_suffix},
    resources::ResourceType,
    server::State,
    store::Store,
    strategy,
};

/// kube-controller-manager's `pod-template-hash`: FNV-1a of the template,
/// its decimal digits mapped onto the "safe" alphabet.
pub(crate) fn template_hash(template: &Value) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in template.to_string().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string()
        .bytes()
        .map(|d| ALPHABET[usize::from(d - b'0')] as char)
        .collect()
}

/// The annotation with a ReplicaSet's Deployment revision.
const REVISION: &str = "deployment.kubernetes.io/revision";

/// A ReplicaSet's Deployment revision.
fn revision_of(set: &Value) -> Option<u64> {
    set["metadata"]["annotations"][REVISION].as_str()?.parse().ok()
}

fn find(state: &State, group: &str, plural: &str) -> Option<std::sync::Arc<ResourceType>> {
    state.registry().find(group, "v1", plural)
}

fn meta<'a>(object: &'a Value, field: &str) -> &'a str {
    object["metadata"][field].as_str().unwrap_or_default()
}

fn owned_by<'a>(objects: &'a [Value], uid: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid && r["controller"] == true))
        })
        .collect()
}

fn owner_reference(owner: &Value, kind: &str, api_version: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    })
}

fn write<'a>(
    resource: &'a ResourceType,
    namespace: &'a str,
    subresource: Option<&'a str>,
    manager: &'a str,
) -> Write<'a> {
    Write {
        resource,
        namespace,
        subresource,
        manager,
        field_validation: FieldValidation::Ignore,
        dry_run: false,
    }
}

/// Creates a pod from a template, with its status already set by the
/// kubelet.
fn create_pod(store: &mut Store, state: &State, images: &Images, pod: Value, manager: &str) {
    let Some(pods) = find(state, "", "pods") else {
        return;
    };
    let namespace = meta(&pod, "namespace").to_string();
    let spec = pod["spec"].clone();
    if let Ok(created) = objects::create(store, &write(&pods, &namespace, None, manager), pod, false) {
        let status = kubelet::pod_status(&spec, images, &gc::now());
        kubelet::write_status(store, state, &created.object, status);
    }
}

fn delete_pod(store: &mut Store, pod: &Value) {
    gc::delete(
        store,
        "/pods",
        meta(pod, "namespace"),
        meta(pod, "name"),
        Propagation::Background,
    );
}

fn write_status(store: &mut Store, resource: &ResourceType, object: &Value, status: Value, manager: &str) {
    let mut updated = object.clone();
    updated["status"] = status;
    let namespace = meta(object, "namespace").to_string();
    let name = meta(object, "name").to_string();
    // The object may be gone by now; then there is nothing to report.
    let _ = objects::update(
        store,
        &write(resource, &namespace, Some("status"), manager),
        &name,
        updated,
    );
}

/// Registers the simulated nodes (as kubelets do).
pub(crate) fn ensure_nodes(state: &State, count: usize) {
    let Some(nodes) = find(state, "", "nodes") else {
        return;
    };
    let mut store = state.store();
    let now = gc::now();
    for i in 1..=count {
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{i}"), "labels": {"kubernetes.io/hostname": format!("node-{i}"), "kubernetes.io/os": "linux"}},
            "spec": {},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
                "nodeInfo": {
                    "kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0", "containerRuntimeVersion": "containerd://2.0.0",
                    "kernelVersion": "6.1.0-refit", "osImage": "Debian GNU/Linux 12 (bookworm)", "operatingSystem": "linux", "architecture": "amd64",
                    "machineID": "", "systemUUID": "", "bootID": ""
                },
                "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{i}")}, {"type": "Hostname", "address": format!("node-{i}")}],
            }
        });
        let _ = objects::create(&mut store, &write(&nodes, "", None, "kubelet"), node, false);
    }
}

/// One step of every workload controller.
pub(crate) fn step(state: &State, images: &Images) {
    let mut store = state.store();
    let pods: Vec<Value> = store.list("/pods", None).cloned().collect();
    for deployment in store.list("apps/deployments", None).cloned().collect::<Vec<_>>() {
        deployment_step(&mut store, state, images, &deployment);
    }
    for set in store.list("apps/statefulsets", None).cloned().collect::<Vec<_>>() {
        statefulset_step(&mut store, state, images, &set, &pods);
    }
    let nodes: Vec<String> = store
        .list("/nodes", None)
        .map(|n| meta(n, "name").to_string())
        .collect();
    for set in store.list("apps/daemonsets", None).cloned().collect::<Vec<_>>() {
        daemonset_step(&mut store, state, images, &set, &pods, &nodes);
    }
}

fn template_labels(template: &Value) -> serde_json::Map<String, Value> {
    template["metadata"]["labels"].as_object().cloned().unwrap_or_default()
}

fn pod_from_template(
    template: &Value,
    namespace: &str,
    name: &str,
    labels: serde_json::Map<String, Value>,
    owner: Value,
    node: &str,
) -> Value {
    let mut spec = template["spec"].clone();
    spec["nodeName"] = json!(node);
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace, "labels": labels,
            "annotations": template["metadata"]["annotations"].clone(),
            "ownerReferences": [owner],
        },
        "spec": spec,
    })
}

fn deployment_step(store: &mut Store, state: &State, images: &Images, deployment: &Value) {
    let (Some(deployments), Some(replica_sets)) =
        (find(state, "apps", "deployments"), find(state, "apps", "replicasets"))
    else {
        return;
    };
    if deployment["metadata"]["deletionTimestamp"].is_string() || deployment["spec"]["paused"] == true {
        return;
    }
    let namespace = meta(deployment, "namespace").to_string();
    let name = meta(deployment, "name");
    let uid = meta(deployment, "uid");
    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let template = &deployment["spec"]["template"];
    let hash = template_hash(template);
    let rs_name = format!("{name}-{hash}");
    let all_sets: Vec<Value> = store.list("apps/replicasets", Some(&namespace)).cloned().collect();
    let owned_sets: Vec<Value> = owned_by(&all_sets, uid).into_iter().cloned().collect();
    let mut progressed = false;

    // The ReplicaSet of the current template.
    let newest_other = owned_sets
        .iter()
        .filter(|s| meta(s, "name") != rs_name)
        .filter_map(revision_of)
        .max();
    let new_set = match owned_sets.iter().find(|s| meta(s, "name") == rs_name) {
        // Back to an earlier template (`kubectl rollout undo`): its
        // ReplicaSet becomes the newest revision again, as the real
        // controller makes it.
        Some(set) if newest_other.is_some_and(|newest| revision_of(set).unwrap_or(0) < newest) => {
            let mut renewed = set.clone();
            renewed["metadata"]["annotations"][REVISION] = json!((newest_other.unwrap_or(0) + 1).to_string());
            progressed = true;
            match objects::update(
                store,
                &write(&replica_sets, &namespace, None, "deployment-controller"),
                &rs_name,
                renewed,
            ) {
                Ok(updated) => updated.object,
                Err(_) => return,
            }
        }
        Some(set) => set.clone(),
        None => {
            let revision = newest_other.unwrap_or(0) + 1;
            let mut labels = template_labels(template);
            labels.insert("pod-template-hash".into(), json!(hash));
            let mut rs_template = template.clone();
            rs_template["metadata"]["labels"] = json!(labels);
            let mut selector = deployment["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let set = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name, "namespace": namespace, "labels": labels,
                    "annotations": {REVISION: revision.to_string()},
                    "ownerReferences": [owner_reference(deployment, "Deployment", "apps/v1")],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
            });
            progressed = true;
            match objects::create(
                store,
                &write(&replica_sets, &namespace, None, "deployment-controller"),
                set,
                false,
            ) {
                Ok(created) => created.object,
                Err(_) => return,
            }
        }
    };

    let pods: Vec<Value> = store.list("/pods", Some(&namespace)).cloned().collect();
    let new_pods: Vec<&Value> = owned_by(&pods, meta(&new_set, "uid"));
    let old_pods: Vec<&Value> = owned_sets
        .iter()
        .filter(|s| meta(s, "name") != rs_name)
        .flat_map(|s| owned_by(&pods, meta(s, "uid")))
        .collect();
    let new_ready = new_pods.iter().filter(|p| kubelet::is_ready(p)).count();

    // One pod per step: scale the new ReplicaSet up first (surge), then
    // retire an old pod once every new pod is ready.
    if new_pods.len() < replicas {
        let mut labels = template_labels(&new_set["spec"]["template"]);
        labels.insert("pod-template-hash".into(), json!(hash));
        let pod = pod_from_template(
            &new_set["spec"]["template"],
            &namespace,
            &format!("{rs_name}-{}", random_suffix()),
            labels,
            owner_reference(&new_set, "ReplicaSet", "apps/v1"),
            "node-1",
        );
        create_pod(store, state, images, pod, "replicaset-controller");
        progressed = true;
    } else if new_pods.len() > replicas {
        if let Some(pod) = new_pods.last() {
            delete_pod(store, pod);
        }
    } else if new_ready == replicas
        && let Some(pod) = old_pods.first()
    {
        delete_pod(store, pod);
        progressed = true;
    }

    // ReplicaSet replica counts and status.
    let pods: Vec<Value> = store.list("/pods", Some(&namespace)).cloned().collect();
    for set in store
        .list("apps/replicasets", Some(&namespace))
        .cloned()
        .collect::<Vec<_>>()
    {
        if !owned_by(std::slice::from_ref(&set), uid).is_empty() {
            let mine = owned_by(&pods, meta(&set, "uid"));
            let ready = mine.iter().filter(|p| kubelet::is_ready(p)).count();
            let wanted = if meta(&set, "name") == rs_name {
                replicas
            } else {
                mine.len()
            };
            let mut scaled = set.clone();
            if scaled["spec"]["replicas"].as_u64() != Some(wanted as u64) {
                scaled["spec"]["replicas"] = json!(wanted);
                let set_namespace = namespace.clone();
                let _ = objects::update(
                    store,
                    &write(&replica_sets, &set_namespace, None, "deployment-controller"),
                    meta(&set, "name"),
                    scaled.clone(),
                );
                if let Some(fresh) = store.get("apps/replicasets", &namespace, meta(&set, "name")) {
                    scaled = fresh.clone();
                }
            }
            let status = json!({
                "replicas": mine.len(), "fullyLabeledReplicas": mine.len(), "readyReplicas": ready,
                "availableReplicas": ready, "observedGeneration": scaled["metadata"]["generation"],
            });
            write_status(store, &replica_sets, &scaled, status, "replicaset-controller");
        }
    }

    // Deployment status.
    let new_pods = owned_by(&pods, meta(&new_set, "uid"));
    let mut all_pods: Vec<&Value> = Vec::new();
    for set in owned_sets.iter().chain(std::iter::once(&new_set)) {
        for pod in owned_by(&pods, meta(set, "uid")) {
            if !all_pods.iter().any(|p| meta(p, "uid") == meta(pod, "uid")) {
                all_pods.push(pod);
            }
        }
    }
    let updated = new_pods.len();
    let ready = all_pods.iter().filter(|p| kubelet::is_ready(p)).count();
    let new_ready = new_pods.iter().filter(|p| kubelet::is_ready(p)).count();
    let complete = updated == replicas && new_ready == replicas && all_pods.len() == replicas;
    let Some(current) = store.get("apps/deployments", &namespace, name).cloned() else {
        return;
    };
    let now = gc::now();
    let previous = current["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"))
        .cloned()
        .unwrap_or(Value::Null);
    let deadline = current["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
    let since_update = previous["lastUpdateTime"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| {
            (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()
        });
    let progressing = |status: &str, reason: &str, message: String, transition: bool| {
        let unchanged = previous["status"] == status && previous["reason"] == reason;
        json!({
            "type": "Progressing", "status": status, "reason": reason, "message": message,
            "lastUpdateTime": if unchanged && !transition { previous["lastUpdateTime"].clone() } else { json!(now) },
            "lastTransitionTime": if previous["status"] == status { previous["lastTransitionTime"].clone() } else { json!(now) },
        })
    };
    let progressing = if complete {
        progressing(
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            false,
        )
    } else if previous["reason"] == "ProgressDeadlineExceeded"
        && previous["message"].as_str().is_some_and(|m| m.contains(&rs_name))
    {
        previous.clone()
    } else if !progressed && since_update > deadline {
        progressing(
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
            false,
        )
    } else {
        progressing(
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
            progressed,
        )
    };
    let available_ok = ready >= replicas.saturating_sub(replicas / 4).max(usize::from(replicas > 0));
    let previous_available = current["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Available"))
        .cloned()
        .unwrap_or(Value::Null);
    let available_status = if available_ok { "True" } else { "False" };
    let available = json!({
        "type": "Available", "status": available_status,
        "reason": if available_ok { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
        "message": if available_ok { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
        "lastUpdateTime": if previous_available["status"] == available_status { previous_available["lastUpdateTime"].clone() } else { json!(now) },
        "lastTransitionTime": if previous_available["status"] == available_status { previous_available["lastTransitionTime"].clone() } else { json!(now) },
    });
    let mut status = json!({
        "observedGeneration": current["metadata"]["generation"],
        "replicas": all_pods.len(),
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [available, progressing],
    });
    let unavailable = all_pods.len().max(replicas).saturating_sub(ready);
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    write_status(store, &deployments, &current, status, "deployment-controller");
}

fn statefulset_step(store: &mut Store, state: &State, images: &Images, set: &Value, pods: &[Value]) {
    let Some(statefulsets) = find(state, "apps", "statefulsets") else {
        return;
    };
    if set["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let namespace = meta(set, "namespace").to_string();
    let name = meta(set, "name");
    let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let template = &set["spec"]["template"];
    let update_revision = format!("{name}-{}", template_hash(template));
    let mine: Vec<&Value> = owned_by(pods, meta(set, "uid"));
    let ordinal = |pod: &Value| -> Option<usize> { meta(pod, "name").strip_prefix(&format!("{name}-"))?.parse().ok() };
    let revision = |pod: &Value| {
        pod["metadata"]["labels"]["controller-revision-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    // One change per step, in the order a StatefulSet makes them: create
    // missing ordinals in order (each after the previous is ready), remove
    // extra ones from the top, then replace outdated pods from the top.
    let by_ordinal = |i: usize| mine.iter().find(|p| ordinal(p) == Some(i)).copied();
    let mut acted = false;
    for i in 0..replicas {
        match by_ordinal(i) {
            None => {
                let mut labels = template_labels(template);
                labels.insert("controller-revision-hash".into(), json!(update_revision));
                labels.insert(
                    "statefulset.kubernetes.io/pod-name".into(),
                    json!(format!("{name}-{i}")),
                );
                let pod = pod_from_template(
                    template,
                    &namespace,
                    &format!("{name}-{i}"),
                    labels,
                    owner_reference(set, "StatefulSet", "apps/v1"),
                    "node-1",
                );
                create_pod(store, state, images, pod, "statefulset-controller");
                acted = true;
                break;
            }
            Some(pod) if !kubelet::is_ready(pod) => {
                acted = true;
                break;
            }
            Some(_) => {}
        }
    }
    if !acted
        && let Some(extra) = mine
            .iter()
            .filter(|p| ordinal(p).is_none_or(|i| i >= replicas))
            .max_by_key(|p| ordinal(p))
    {
        delete_pod(store, extra);
        acted = true;
    }
    // `OnDelete` replaces no pod (a person deletes them); a partition
    // leaves the ordinals below it on their revision.
    let strategy = &set["spec"]["updateStrategy"];
    let on_delete = strategy["type"] == "OnDelete";
    let partition = strategy["rollingUpdate"]["partition"].as_u64().unwrap_or(0) as usize;
    if !acted
        && !on_delete
        && let Some(outdated) = mine
            .iter()
            .filter(|p| revision(p) != update_revision && ordinal(p).is_some_and(|i| i >= partition))
            .max_by_key(|p| ordinal(p))
    {
        delete_pod(store, outdated);
    }

    let pods: Vec<Value> = store.list("/pods", Some(&namespace)).cloned().collect();
    let mine = owned_by(&pods, meta(set, "uid"));
    let ready = mine.iter().filter(|p| kubelet::is_ready(p)).count();
    let updated = mine.iter().filter(|p| revision(p) == update_revision).count();
    let Some(current) = store.get("apps/statefulsets", &namespace, name).cloned() else {
        return;
    };
    let complete = updated == replicas && ready == replicas && mine.len() == replicas;
    let current_revision = if complete {
        update_revision.clone()
    } else {
        current["status"]["currentRevision"]
            .as_str()
            .map_or_else(|| update_revision.clone(), str::to_string)
    };
    let current_replicas = mine.iter().filter(|p| revision(p) == current_revision).count();
    let status = json!({
        "observedGeneration": current["metadata"]["generation"],
        "replicas": mine.len(), "readyReplicas": ready, "availableReplicas": ready,
        "currentReplicas": current_replicas, "updatedReplicas": updated,
        "currentRevision": current_revision, "updateRevision": update_revision, "collisionCount": 0,
    });
    write_status(store, &statefulsets, &current, status, "statefulset-controller");
}

fn daemonset_step(store: &mut Store, state: &State, images: &Images, set: &Value, pods: &[Value], nodes: &[String]) {
    let Some(daemonsets) = find(state, "apps", "daemonsets") else {
        return;
    };
    if set["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let namespace = meta(set, "namespace").to_string();
    let name = meta(set, "name");
    let template = &set["spec"]["template"];
    let hash = template_hash(template);
    let mine: Vec<&Value> = owned_by(pods, meta(set, "uid"));
    let revision = |pod: &Value| {
        pod["metadata"]["labels"]["controller-revision-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let on = |node: &str| mine.iter().find(|p| p["spec"]["nodeName"] == node).copied();

    // One change per step: place a pod on a node that has none, else
    // replace one outdated pod once every pod is ready (maxUnavailable 1).
    if let Some(node) = nodes.iter().find(|n| on(n).is_none()) {
        let mut labels = template_labels(template);
        labels.insert("controller-revision-hash".into(), json!(hash));
        // The template generation the API server keeps (see `strategy`).
        let generation = &set["metadata"]["annotations"][strategy::DAEMONSET_TEMPLATE_GENERATION];
        if generation.is_string() {
            labels.insert("pod-template-generation".into(), generation.clone());
        }
        let pod = pod_from_template(
            template,
            &namespace,
            &format!("{name}-{}", random_suffix()),
            labels,
            owner_reference(set, "DaemonSet", "apps/v1"),
            node,
        );
        create_pod(store, state, images, pod, "daemon-set-controller");
    } else if mine.iter().all(|p| kubelet::is_ready(p))
        && let Some(outdated) = mine.iter().find(|p| revision(p) != hash)
    {
        delete_pod(store, outdated);
    }

    let pods: Vec<Value> = store.list("/pods", Some(&namespace)).cloned().collect();
    let mine = owned_by(&pods, meta(set, "uid"));
    let ready = mine.iter().filter(|p| kubelet::is_ready(p)).count();
    let updated = mine.iter().filter(|p| revision(p) == hash).count();
    let Some(current) = store.get("apps/daemonsets", &namespace, name).cloned() else {
        return;
    };
    let status = json!({
        "observedGeneration": current["metadata"]["generation"],
        "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": mine.len(), "numberMisscheduled": 0,
        "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
        "numberUnavailable": nodes.len().saturating_sub(ready),
    });
    write_status(store, &daemonsets, &current, status, "daemon-set-controller");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hashes_are_stable_and_change_with_the_template() {
        let a = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1"}]}});
        let b = json!({"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}});
        assert_eq!(template_hash(&a), template_hash(&a));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert!(template_hash(&a).chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
