//! Runtime components: injected sidecars against the image the policy's
//! baseline names for them, and the nodes a workload runs on against the
//! minimum kubelet, container runtime and kernel versions.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use super::{
    model::{ContainerFinding, NodeSnapshot, PodSnapshot, RuntimeBaselines, TemplateContainer, Verdict},
    running::{RunningImage, digests, reported_image_ids, running_images},
};
use crate::{
    api::{
        change_ticket::ChangeReason,
        drift_report::{FindingState, NodeFinding},
    },
    core::{reference::ImageReference, version::TagVersion},
};

/// The finding for a container that has a sidecar baseline.
pub(super) fn evaluate_sidecar(
    container: &TemplateContainer,
    expected: &str,
    running: &[RunningImage],
    injected: bool,
) -> ContainerFinding {
    let actual = ImageReference::parse(&container.image);
    let mut verdict = Verdict {
        running_digests: digests(running),
        state: FindingState::Unknown,
        candidate: None,
        change_reason: None,
        actionable: true,
        reason: Arc::from(""),
        base: None,
        current: actual.as_ref().ok().cloned(),
    };
    match (actual, ImageReference::parse(expected)) {
        (Ok(actual), Ok(wanted)) if same_image(&actual, &wanted) => {
            verdict.state = FindingState::UpToDate;
            verdict.reason = format!("runs the sidecar baseline {wanted}").into();
        }
        (Ok(_), Ok(wanted)) => {
            verdict.state = FindingState::RuntimeOutdated;
            verdict.change_reason = Some(ChangeReason::RuntimeOutdated);
            verdict.reason = format!("the sidecar baseline is {wanted}").into();
            verdict.candidate = Some(wanted);
        }
        (Err(error), _) => verdict.reason = format!("the image reference cannot be read: {error}").into(),
        (_, Err(error)) => verdict.reason = format!("the sidecar baseline cannot be read: {error}").into(),
    }
    ContainerFinding {
        name: Arc::clone(&container.name),
        init: container.init,
        injected,
        image: Arc::clone(&container.image),
        verdict: Arc::new(verdict),
    }
}

/// Two references name the same image when repository and tag agree and,
/// where both give one, the digest does.
fn same_image(a: &ImageReference, b: &ImageReference) -> bool {
    a.name() == b.name()
        && a.effective_tag() == b.effective_tag()
        && match (a.digest(), b.digest()) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// Sidecars injected into pods (not in the template) that have a baseline.
pub(super) fn injected_sidecars(
    template: &[TemplateContainer],
    pods: &[PodSnapshot],
    baselines: &RuntimeBaselines,
) -> Vec<ContainerFinding> {
    let mut findings = Vec::new();
    for (name, expected) in &baselines.sidecars {
        if template.iter().any(|c| *c.name == **name) {
            continue;
        }
        // Pods of one workload can carry different injected versions; each
        // distinct image is its own finding.
        let images: BTreeSet<(&str, bool)> = pods
            .iter()
            .flat_map(|pod| pod.containers.iter())
            .filter(|c| *c.name == **name)
            .map(|c| (&*c.image, c.init))
            .collect();
        for (image, init) in images {
            let container = TemplateContainer {
                name: name.as_str().into(),
                image: image.into(),
                init,
            };
            // Injected: at no position of the template.
            let running = running_images(&reported_image_ids(pods, &container, usize::MAX));
            findings.push(evaluate_sidecar(&container, expected, &running, true));
        }
    }
    findings
}

/// Node components below the minimums, on nodes running the workload.
pub(super) fn node_findings(
    pods: &[PodSnapshot],
    nodes: &HashMap<String, NodeSnapshot>,
    baselines: &RuntimeBaselines,
) -> Vec<NodeFinding> {
    if baselines.kubelet.is_none() && baselines.kernel.is_none() && baselines.container_runtimes.is_empty() {
        return Vec::new();
    }
    let used: BTreeSet<&str> = pods.iter().filter_map(|p| p.node.as_deref()).collect();
    let mut findings = Vec::new();
    for name in used {
        let Some(node) = nodes.get(name) else { continue };
        let mut check = |component: &str, version: Option<&str>, minimum: Option<&str>| {
            if let (Some(version), Some(minimum)) = (version, minimum)
                && version_below(version, minimum)
            {
                findings.push(NodeFinding {
                    node: name.to_owned(),
                    component: component.to_owned(),
                    version: version.to_owned(),
                    minimum: minimum.to_owned(),
                });
            }
        };
        check("kubelet", node.kubelet.as_deref(), baselines.kubelet.as_deref());
        if let Some((runtime, version)) = node.container_runtime.as_deref().and_then(|v| v.split_once("://")) {
            check(
                "containerRuntime",
                Some(version),
                baselines.container_runtimes.get(runtime).map(String::as_str),
            );
        }
        check("kernel", node.kernel.as_deref(), baselines.kernel.as_deref());
    }
    findings
}

/// Whether a component's version is below the minimum. Both are read as
/// version tags are ([`TagVersion`]): `v1.33.4` is below `1.33.10`, a
/// release candidate below its release, and what follows the numbers as a
/// variant (`-18-amd64`) or build (`+k3s1`) does not count. A version that
/// cannot be read is not reported as outdated.
fn version_below(version: &str, minimum: &str) -> bool {
    match (TagVersion::parse(version), TagVersion::parse(minimum)) {
        (Some(version), Some(minimum)) => version.precedence() < minimum.precedence(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_versions_compare_numerically_not_as_text() {
        assert!(version_below("v1.33.4", "1.33.10"));
        assert!(!version_below("1.33.10", "1.33.4"));
        assert!(version_below("1.7", "1.7.1"));
        assert!(!version_below("1.7.20", "1.7"));
    }

    #[test]
    fn distribution_suffixes_of_kernels_and_kubelets_do_not_count() {
        assert!(!version_below("6.1.0-18-amd64", "6.1.0"));
        assert!(version_below("5.15.0-1034-aws", "6.1"));
        assert!(!version_below("v1.33.4+k3s1", "1.33.4"));
        assert!(!version_below("v1.33.4-eks-a737599", "1.33.4"));
    }

    #[test]
    fn a_release_candidate_is_below_its_release() {
        assert!(version_below("v1.34.0-rc.1", "1.34.0"));
        assert!(!version_below("v1.34.0-rc.1", "1.33.9"));
    }

    #[test]
    fn a_version_that_cannot_be_read_is_never_below() {
        assert!(!version_below("unknown", "1.0"));
        assert!(!version_below("1.33.4", "latest"));
    }
}
