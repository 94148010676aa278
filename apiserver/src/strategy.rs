//! What kube-apiserver's per-kind strategies set on built-in objects when
//! they are created or updated, beyond the generic metadata `objects`
//! handles. Only what refit reads is modelled: a DaemonSet's template
//! generation. apps/v1 has no field for it, so the real server keeps it in
//! the `deprecated.daemonset.template.generation` annotation: 1 on create
//! (or the value the client sent, when that is a positive number), one more
//! whenever an update changes the pod template, and otherwise unchanged,
//! whatever the client sends. The DaemonSet controller labels each pod with
//! the template generation it was made from (`pod-template-generation`),
//! which is how refit tells a DaemonSet's current pods, since
//! `metadata.generation` also moves on changes outside the template.

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// The annotation holding a DaemonSet's template generation.
pub const DAEMONSET_TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// Sets what the kind's strategy sets on `new` (the object about to be
/// stored; `old` is the stored one, `None` on create).
pub(crate) fn prepare(resource: &ResourceType, old: Option<&Value>, new: &mut Value) {
    if resource.group == "apps" && resource.kind == "DaemonSet" {
        let generation = template_generation(old, new);
        new["metadata"]["annotations"][DAEMONSET_TEMPLATE_GENERATION] = json!(generation.to_string());
    }
}

/// A DaemonSet's template generation after this write.
fn template_generation(old: Option<&Value>, new: &Value) -> i64 {
    let annotated = |object: &Value| {
        object["metadata"]["annotations"][DAEMONSET_TEMPLATE_GENERATION]
            .as_str()
            .and_then(|g| g.parse::<i64>().ok())
    };
    match old {
        // A real server refuses a value that is not a number; this one
        // starts such a DaemonSet at 1.
        None => annotated(new).filter(|g| *g >= 1).unwrap_or(1),
        Some(old) => {
            let current = annotated(old).unwrap_or(1);
            if old["spec"]["template"] == new["spec"]["template"] {
                current
            } else {
                current + 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon_set(image: &str, annotation: Option<&str>) -> Value {
        let mut object = json!({
            "metadata": {"name": "node-exporter", "annotations": {}},
            "spec": {
                "updateStrategy": {"rollingUpdate": {"maxUnavailable": 1}},
                "template": {"spec": {"containers": [{"name": "exporter", "image": image}]}},
            },
        });
        if let Some(value) = annotation {
            object["metadata"]["annotations"][DAEMONSET_TEMPLATE_GENERATION] = json!(value);
        }
        object
    }

    #[test]
    fn the_template_generation_moves_with_the_template_only() {
        let v191 = "quay.io/prometheus/node-exporter:v1.9.1";
        assert_eq!(template_generation(None, &daemon_set(v191, None)), 1);
        assert_eq!(
            template_generation(None, &daemon_set(v191, Some("4"))),
            4,
            "kept from the client"
        );
        assert_eq!(template_generation(None, &daemon_set(v191, Some("0"))), 1);

        let stored = daemon_set(v191, Some("2"));
        let mut wider = stored.clone();
        wider["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!(2);
        assert_eq!(
            template_generation(Some(&stored), &wider),
            2,
            "a change outside the template"
        );
        let newer = daemon_set("quay.io/prometheus/node-exporter:v1.9.2", None);
        assert_eq!(template_generation(Some(&stored), &newer), 3, "a template change");
        let forged = daemon_set(v191, Some("9"));
        assert_eq!(template_generation(Some(&stored), &forged), 2, "clients cannot set it");
    }
}
