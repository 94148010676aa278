//! A policy's runtime baselines, resolved: node minimums as written, and
//! for each sidecar the image it should run, taken from the spec, from a
//! ConfigMap key (one GET per scan) or from a named workload's container
//! of the same name (from the watch stores).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};

use crate::{api::patch_policy::RuntimePolicy, cluster::snapshot::ClusterSnapshot, core::drift::RuntimeBaselines};

/// Resolves `runtime`; sidecars whose image cannot be found are left out
/// and named in the returned problems.
pub async fn resolve(
    client: &Client,
    runtime: Option<&RuntimePolicy>,
    snapshot: &ClusterSnapshot,
) -> (RuntimeBaselines, Vec<String>) {
    let mut baselines = RuntimeBaselines::default();
    let mut problems = Vec::new();
    let Some(runtime) = runtime else {
        return (baselines, problems);
    };
    if let Some(nodes) = &runtime.nodes {
        baselines.kubelet = nodes.kubelet.clone();
        baselines.kernel = nodes.kernel.clone();
        baselines.container_runtimes = nodes
            .container_runtimes
            .iter()
            .map(|r| (r.name.clone(), r.min_version.clone()))
            .collect::<BTreeMap<_, _>>();
    }
    for (index, sidecar) in runtime.sidecars.iter().enumerate() {
        let image = if let Some(image) = &sidecar.image {
            Some(image.clone())
        } else if let Some(reference) = &sidecar.config_map_ref {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), &reference.namespace);
            match api.get_opt(&reference.name).await {
                Ok(map) => map.and_then(|m| m.data).and_then(|d| d.get(&reference.key).cloned()),
                Err(error) => {
                    problems.push(format!(
                        "spec.runtime.sidecars[{index}].configMapRef: cannot read ConfigMap {}/{}: {error}",
                        reference.namespace, reference.name
                    ));
                    continue;
                }
            }
        } else if let Some(reference) = &sidecar.workload_ref {
            snapshot
                .workloads
                .iter()
                .find(|w| {
                    w.key.kind == reference.kind
                        && w.key.namespace == reference.namespace
                        && w.key.name == reference.name
                })
                .and_then(|w| w.template.iter().find(|c| *c.name == sidecar.container))
                .map(|c| c.image.to_string())
        } else {
            None
        };
        match image.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()) {
            Some(image) => {
                baselines.sidecars.insert(sidecar.container.clone(), image);
            }
            None => problems.push(format!(
                "spec.runtime.sidecars[{index}]: the image for container {} cannot be found",
                sidecar.container
            )),
        }
    }
    (baselines, problems)
}
