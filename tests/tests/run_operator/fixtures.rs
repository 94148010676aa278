//! Objects the tests create, as small JSON builders: workloads whose pods
//! the simulated controllers create, policies and windows.

use serde_json::{Value, json};

/// A namespace with labels.
pub fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

/// The pod template every workload uses: one container `app` running
/// `image`, optionally naming a pull secret.
fn template(app: &str, image: &str, pull_secret: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": image}]});
    if let Some(secret) = pull_secret {
        spec["imagePullSecrets"] = json!([{"name": secret}]);
    }
    json!({"metadata": {"labels": {"app": app}}, "spec": spec})
}

/// A workload of `kind` (Deployment, StatefulSet, DaemonSet, CronJob)
/// with the label `tier: <tier>`.
pub fn workload(kind: &str, namespace: &str, name: &str, image: &str, tier: &str) -> Value {
    workload_with_secret(kind, namespace, name, image, tier, None)
}

/// As [`workload`], naming an image pull secret.
pub fn workload_with_secret(
    kind: &str,
    namespace: &str,
    name: &str,
    image: &str,
    tier: &str,
    pull_secret: Option<&str>,
) -> Value {
    let metadata = json!({"name": name, "namespace": namespace, "labels": {"tier": tier}});
    let selector = json!({"matchLabels": {"app": name}});
    let template = template(name, image, pull_secret);
    match kind {
        "CronJob" => json!({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata,
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}},
        }),
        "DaemonSet" => json!({
            "apiVersion": "apps/v1", "kind": kind, "metadata": metadata,
            "spec": {"selector": selector, "template": template},
        }),
        _ => json!({
            "apiVersion": "apps/v1", "kind": kind, "metadata": metadata,
            "spec": {"replicas": 2, "selector": selector, "template": template},
        }),
    }
}

/// A PatchPolicy.
pub fn policy(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "refit.dev/v1alpha1", "kind": "PatchPolicy", "metadata": {"name": name}, "spec": spec})
}

/// A ChangeWindow.
pub fn window(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "refit.dev/v1alpha1", "kind": "ChangeWindow", "metadata": {"name": name}, "spec": spec})
}
