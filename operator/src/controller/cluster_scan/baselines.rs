//! A policy's runtime baselines, resolved: node minimums as written, and
//! for each sidecar the image it should run, taken from the spec, from a
//! ConfigMap key (one GET per scan) or from a named workload's container
//! of the same name (from the watch stores).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};

use crate::{
    api::patch_policy::{RuntimePolicy, SidecarBaseline},
    cluster::snapshot::{ClusterSnapshot, WorkloadKey},
    controller::error::{BaselineProblem, Error},
    core::drift::RuntimeBaselines,
};

/// Resolves `runtime` of policy `policy`; sidecars whose image cannot be
/// found are left out, each with an [`Error::ResolveBaseline`].
pub async fn resolve(
    client: &Client,
    policy: &str,
    runtime: Option<&RuntimePolicy>,
    snapshot: &ClusterSnapshot,
) -> (RuntimeBaselines, Vec<Error>) {
    let mut baselines = RuntimeBaselines::default();
    let mut failures = Vec::new();
    let Some(runtime) = runtime else {
        return (baselines, failures);
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
        match sidecar_image(client, sidecar, snapshot).await {
            Ok(image) => {
                baselines.sidecars.insert(sidecar.container.clone(), image);
            }
            Err(problem) => failures.push(Error::ResolveBaseline {
                policy: policy.to_owned(),
                index,
                problem,
            }),
        }
    }
    (baselines, failures)
}

/// The image `sidecar` should run, trimmed and not blank.
async fn sidecar_image(
    client: &Client,
    sidecar: &SidecarBaseline,
    snapshot: &ClusterSnapshot,
) -> Result<String, BaselineProblem> {
    let not_blank = |image: &str| Some(image.trim().to_owned()).filter(|i| !i.is_empty());
    if let Some(image) = &sidecar.image {
        return not_blank(image).ok_or(BaselineProblem::NoImage);
    }
    if let Some(reference) = &sidecar.config_map_ref {
        let (namespace, name) = (reference.namespace.clone(), reference.name.clone());
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
        let map = match api.get_opt(&name).await {
            Ok(Some(map)) => map,
            Ok(None) => return Err(BaselineProblem::ConfigMapMissing { namespace, name }),
            Err(source) => {
                return Err(BaselineProblem::ReadConfigMap {
                    namespace,
                    name,
                    source,
                });
            }
        };
        return map
            .data
            .and_then(|d| d.get(&reference.key).and_then(|image| not_blank(image)))
            .ok_or_else(|| BaselineProblem::KeyMissing {
                namespace,
                name,
                key: reference.key.clone(),
            });
    }
    if let Some(reference) = &sidecar.workload_ref {
        let workload = WorkloadKey {
            kind: reference.kind,
            namespace: reference.namespace.clone(),
            name: reference.name.clone(),
        };
        let Some(found) = snapshot.workloads.iter().find(|w| w.key == workload) else {
            return Err(BaselineProblem::WorkloadMissing { workload });
        };
        return found
            .template
            .iter()
            .find(|c| *c.name == sidecar.container)
            .and_then(|c| not_blank(&c.image))
            .ok_or_else(|| BaselineProblem::ContainerMissing {
                workload,
                container: sidecar.container.clone(),
            });
    }
    Err(BaselineProblem::NoImage)
}
