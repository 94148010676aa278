//! Small fixtures for tests that drive the simulated controllers: a
//! Deployment running one image, and the first container status of an
//! app's pods, the two things those tests build and read over and over.

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ContainerStatus, Pod},
};
use kube::{Api, api::ListParams};
use serde_json::json;

/// A Deployment `name` in `default` with one replica whose one container
/// `main` runs `image`, its pods labelled `app: <name>`.
pub fn deployment(name: &str, image: &str) -> Deployment {
    let object = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "main", "image": image}]}}},
    });
    serde_json::from_value(object).expect("the literal is a Deployment")
}

/// The first container status of the first pod labelled `app: <app>`, once
/// the simulated kubelet has written one.
pub async fn first_container_status(pods: &Api<Pod>, app: &str) -> Option<ContainerStatus> {
    let list = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .ok()?;
    list.items
        .first()?
        .status
        .clone()?
        .container_statuses?
        .into_iter()
        .next()
}
