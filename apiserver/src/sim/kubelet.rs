//! The simulated kubelet: gives pods a status. A pod whose images can all be
//! pulled is Running and Ready, each container status naming the digest it
//! runs in `imageID` (`repository@sha256:…`, as containerd reports it); a
//! pod with an image that cannot be pulled waits in `ImagePullBackOff` and
//! starts once the image can be pulled. Running pods are left alone: a
//! digest that moves later does not change what a running container runs,
//! which is exactly the drift refit looks for. Only a change of a running
//! pod's container image (`kubectl set image pod/…`, the one change a pod's
//! spec allows) restarts that container with the new image, as a real
//! kubelet does: new `image` and `imageID`, `restartCount` one higher. A
//! container of an image the test marks as crashing
//! (`SimulationControl::crash_image`) alternates between Ready and
//! `CrashLoopBackOff`, one step each, its `restartCount` climbing.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Images;
use crate::{
    gc,
    objects::{self, FieldValidation, Write},
    server::State,
    store::Store,
};

/// `docker.io/library/nginx:1.25@sha256:…` → `docker.io/library/nginx`.
pub(crate) fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        Some(colon) if colon > without_digest.rfind('/').unwrap_or(0) => &without_digest[..colon],
        _ => without_digest,
    }
}

fn container_status(container: &Value, images: &Images, now: &str, init: bool) -> (Value, bool) {
    let name = container["name"].clone();
    let image = container["image"].as_str().unwrap_or_default();
    match images.get(image).cloned().flatten() {
        Some(digest) => {
            let state = if init {
                json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}})
            } else {
                json!({"running": {"startedAt": now}})
            };
            (
                json!({
                    "name": name, "image": image, "imageID": format!("{}@{digest}", repository(image)),
                    "ready": true, "started": !init, "restartCount": 0, "state": state,
                    "containerID": format!("containerd://{:016x}", fastrand::u64(..)),
                }),
                true,
            )
        }
        None => (
            json!({
                "name": name, "image": image, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}},
            }),
            false,
        ),
    }
}

/// The status of a pod whose spec is `spec`.
pub(crate) fn pod_status(spec: &Value, images: &Images, now: &str) -> Value {
    let mut all_ok = true;
    let mut statuses = |list: &str, init: bool| -> Vec<Value> {
        spec[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let (status, ok) = container_status(c, images, now, init);
                all_ok &= ok;
                status
            })
            .collect()
    };
    let init = statuses("initContainers", true);
    let containers = statuses("containers", false);
    let ready = if all_ok { "True" } else { "False" };
    let condition = |type_: &str, status: &str| json!({"type": type_, "status": status, "lastTransitionTime": now});
    let mut status = json!({
        "phase": if all_ok { "Running" } else { "Pending" },
        "conditions": [
            condition("PodScheduled", "True"),
            condition("Initialized", if all_ok { "True" } else { "False" }),
            condition("ContainersReady", ready),
            condition("Ready", ready),
        ],
        "hostIP": "10.0.0.1",
        "podIP": format!("10.244.{}.{}", fastrand::u8(0..255), fastrand::u8(1..255)),
        "startTime": now,
        "qosClass": "BestEffort",
        "containerStatuses": containers,
    });
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    status
}

/// Whether a pod is Ready.
pub(crate) fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// Writes a pod's status as the kubelet.
pub(crate) fn write_status(store: &mut Store, state: &State, pod: &Value, status: Value) {
    let Some(pods) = state.registry().find("", "v1", "pods") else {
        return;
    };
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let mut updated = pod.clone();
    updated["status"] = status;
    let write = Write {
        resource: &pods,
        namespace: &namespace,
        subresource: Some("status"),
        manager: "kubelet",
        field_validation: FieldValidation::Ignore,
        dry_run: false,
    };
    // A pod deleted meanwhile needs no status.
    let _ = objects::update(store, &write, &name, updated);
}

/// The status of a running pod after the kubelet restarted every
/// container whose image the pod's spec no longer names, or `None` when
/// every container runs the image the spec names.
fn restarted(pod: &Value, images: &Images, now: &str) -> Option<Value> {
    let mut status = pod["status"].clone();
    let mut changed = false;
    for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let Some(running) = status["containerStatuses"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == container["name"])
        else {
            continue;
        };
        if running["image"] == container["image"] {
            continue;
        }
        let restarts = running["restartCount"].as_i64().unwrap_or(0) + 1;
        *running = container_status(container, images, now, false).0;
        running["restartCount"] = json!(restarts);
        changed = true;
    }
    if !changed {
        return None;
    }
    set_ready(&mut status, now);
    Some(status)
}

/// The status of a running pod after one step of its crashing containers
/// (those whose image is in `crashing`): a Ready one exits and waits in
/// `CrashLoopBackOff`, a waiting one starts again. `None` when no
/// container crashes.
fn crash_step(pod: &Value, crashing: &HashSet<String>, now: &str) -> Option<Value> {
    let mut status = pod["status"].clone();
    let mut changed = false;
    for running in status["containerStatuses"].as_array_mut().into_iter().flatten() {
        let Some(image) = running["image"].as_str() else {
            continue;
        };
        if !crashing.contains(image) {
            continue;
        }
        changed = true;
        if running["ready"] == true {
            let restarts = running["restartCount"].as_i64().unwrap_or(0) + 1;
            running["ready"] = json!(false);
            running["started"] = json!(false);
            running["restartCount"] = json!(restarts);
            running["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now}});
            running["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off restarting failed container {}", running["name"].as_str().unwrap_or_default())}});
        } else {
            running["ready"] = json!(true);
            running["started"] = json!(true);
            running["state"] = json!({"running": {"startedAt": now}});
        }
    }
    if !changed {
        return None;
    }
    set_ready(&mut status, now);
    Some(status)
}

/// Sets the pod's Ready and ContainersReady conditions from its containers.
fn set_ready(status: &mut Value, now: &str) {
    let ready = status["containerStatuses"]
        .as_array()
        .is_some_and(|list| list.iter().all(|c| c["ready"] == true));
    for condition in status["conditions"].as_array_mut().into_iter().flatten() {
        if (condition["type"] == "Ready" || condition["type"] == "ContainersReady")
            && condition["status"] != if ready { "True" } else { "False" }
        {
            condition["status"] = json!(if ready { "True" } else { "False" });
            condition["lastTransitionTime"] = json!(now);
        }
    }
}

/// Gives pods without a status one, starts waiting pods whose images can
/// now be pulled, restarts containers whose image was changed, and crashes
/// the containers of `crashing` images.
pub(crate) fn step(state: &State, images: &Images, crashing: &HashSet<String>) {
    let mut store = state.store();
    let now = gc::now();
    let pods: Vec<Value> = store.list("/pods", None).cloned().collect();
    for pod in pods {
        if pod["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        let phase = pod["status"]["phase"].as_str();
        if phase == Some("Running") {
            if let Some(status) = restarted(&pod, images, &now) {
                write_status(&mut store, state, &pod, status);
            } else if let Some(status) = crash_step(&pod, crashing, &now) {
                write_status(&mut store, state, &pod, status);
            }
            continue;
        }
        if phase.is_some() && phase != Some("Pending") {
            continue;
        }
        let status = pod_status(&pod["spec"], images, &now);
        if phase.is_none() || status["phase"] == "Running" {
            write_status(&mut store, state, &pod, status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_name_the_repository_without_tag_and_the_digest() {
        assert_eq!(repository("docker.io/library/nginx:1.25"), "docker.io/library/nginx");
        assert_eq!(repository("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(repository("localhost:5000/app:v1@sha256:abc"), "localhost:5000/app");
        let mut images = Images::new();
        images.insert("nginx:1".into(), Some("sha256:aaaa".into()));
        images.insert("bad:1".into(), None);
        let spec = json!({"containers": [{"name": "web", "image": "nginx:1"}]});
        let status = pod_status(&spec, &images, "2026-01-01T00:00:00Z");
        assert_eq!(status["containerStatuses"][0]["imageID"], "nginx@sha256:aaaa");
        assert_eq!(status["phase"], "Running");
        let failing = pod_status(
            &json!({"containers": [{"name": "web", "image": "bad:1"}]}),
            &images,
            "now",
        );
        assert_eq!(
            failing["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ImagePullBackOff"
        );
        assert_eq!(failing["phase"], "Pending");
    }
}
