//! What drift evaluation reads and what it concludes, as plain data: the
//! workload's template and pods, the nodes, the policy's baselines (in),
//! and one finding per container, pod and node (out). The registry's part
//! of the input is in [`super::facts`].

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use smallvec::SmallVec;

use super::facts::RegistryFacts;
use crate::{
    api::{
        change_ticket::ChangeReason,
        drift_report::{BaseImageFinding, FindingState, NodeFinding},
    },
    core::{
        policy::ImageRules,
        reference::{Digest, ImageReference},
        selection::RolledBackTags,
        soak::FirstSeen,
    },
};

/// A container of the workload's pod template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContainer {
    /// Container name (shared with its findings, as is the image).
    pub name: Arc<str>,
    /// Image as written.
    pub image: Arc<str>,
    /// Whether it is an init container.
    pub init: bool,
}

/// A pod of the workload as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSnapshot {
    /// Pod name.
    pub name: String,
    /// The node it runs on, once scheduled.
    pub node: Option<String>,
    /// Which revision of the workload the pod was made from.
    pub revision: PodRevision,
    /// Its containers and init containers.
    pub containers: Vec<PodContainer>,
}

/// Which revision of its workload a pod was made from: what tells a pod
/// changed by hand from one that is still to be replaced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PodRevision {
    /// The workload's current revision (a Deployment's newest ReplicaSet,
    /// a StatefulSet's update revision, a DaemonSet's generation): the pod
    /// should run the template, so a difference was made by hand.
    Current,
    /// An earlier revision of a Deployment, StatefulSet or DaemonSet: its
    /// controller has not replaced it yet (a rollout is under way or
    /// stuck).
    Earlier,
    /// A run of a CronJob: the Job copied the template when it was created
    /// and is never updated, so its pods keep running what the template
    /// said then; the next run uses the template as it is. (A hand edit of
    /// such a pod cannot be told from this.)
    CronJobRun {
        /// The Job the pod belongs to.
        job: String,
    },
}

/// One container of a pod. The cluster snapshot interns its strings
/// ([`crate::core::intern::Interner`]): name and image are then the
/// template's own strings, and the image ID is shared by every pod that
/// runs the same image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodContainer {
    /// Container name.
    pub name: Arc<str>,
    /// Whether it is an init container.
    pub init: bool,
    /// The image the pod's spec names.
    pub image: Arc<str>,
    /// `status.containerStatuses[].imageID`, once the image is pulled.
    pub image_id: Option<Arc<str>>,
}

/// A node's component versions (`status.nodeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeSnapshot {
    /// `kubeletVersion`, e.g. `v1.33.4`.
    pub kubelet: Option<String>,
    /// `containerRuntimeVersion`, e.g. `containerd://1.7.20`.
    pub container_runtime: Option<String>,
    /// `kernelVersion`, e.g. `6.1.0-18-amd64`.
    pub kernel: Option<String>,
}

/// The policy's runtime baselines, resolved by the caller (a ConfigMap key
/// or a workload's image already read into an image reference).
#[derive(Debug, Clone, Default)]
pub struct RuntimeBaselines {
    /// Injected container name → the image it should run.
    pub sidecars: BTreeMap<String, String>,
    /// Minimum kubelet version.
    pub kubelet: Option<String>,
    /// Minimum container runtime version by runtime name.
    pub container_runtimes: BTreeMap<String, String>,
    /// Minimum kernel version.
    pub kernel: Option<String>,
}

/// Everything evaluation needs besides the workload.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationContext<'a> {
    /// The governing policy's image rules.
    pub rules: &'a ImageRules,
    /// Whether base images are checked.
    pub check_base_images: bool,
    /// Runtime baselines.
    pub baselines: &'a RuntimeBaselines,
    /// Registry facts.
    pub registry: &'a RegistryFacts,
    /// Nodes by name.
    pub nodes: &'a HashMap<String, NodeSnapshot>,
    /// Tags rolled back earlier, by repository.
    pub rolled_back: &'a HashMap<String, RolledBackTags>,
    /// When the governing policy first saw each tag, for `minAge` (the
    /// operator); `None` where no records are kept (`refit scan`).
    pub first_seen: Option<&'a FirstSeen>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The finding for one container: which container, and the verdict on
/// what it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFinding {
    /// Container name.
    pub name: Arc<str>,
    /// Whether it is an init container.
    pub init: bool,
    /// Whether the container is injected (a sidecar not in the template).
    pub injected: bool,
    /// The image as written (for injected sidecars: as the pods run it).
    pub image: Arc<str>,
    /// The verdict. Containers that name the same image and whose pods
    /// report the same image IDs share one: a verdict depends on nothing
    /// else, and a scan of a large cluster meets each such pair many times.
    pub verdict: Arc<Verdict>,
}

/// What refit concludes about an image as written, given the digests its
/// pods run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Distinct digests the pods run (usually one, kept inline).
    pub running_digests: RunningDigests,
    /// The state.
    pub state: FindingState,
    /// Where refit would move the container, if anywhere.
    pub candidate: Option<ImageReference>,
    /// Why, for a change ticket; `None` when no change is proposed.
    pub change_reason: Option<ChangeReason>,
    /// Whether the policy allows refit to act on it (`update: none` does not).
    pub actionable: bool,
    /// Why this state, for people; shared with the image's analysis when
    /// nothing about the pods adds to it.
    pub reason: Arc<str>,
    /// The base image finding.
    pub base: Option<BaseImageFinding>,
    /// The full reference the container runs now (with the digest when
    /// known): what a rollback restores.
    pub current: Option<ImageReference>,
}

/// The distinct digests a container's pods run.
pub type RunningDigests = SmallVec<[Digest; 1]>;

/// All findings for one workload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadFindings {
    /// Per container, containers first then init containers, template
    /// order, then injected sidecars.
    pub containers: Vec<ContainerFinding>,
    /// Pods that run something other than their template.
    pub pods: Vec<PodFinding>,
    /// Nodes below the minimums.
    pub nodes: Vec<NodeFinding>,
}

/// A pod container that runs another image than the template names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFinding {
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// Whether it is an init container.
    pub init: bool,
    /// The image the pod runs.
    pub image: String,
    /// The image the template names.
    pub template_image: String,
    /// The digest it runs, if reported.
    pub running_digest: Option<Digest>,
    /// Which revision the pod was made from, which tells why it differs.
    pub revision: PodRevision,
}

impl PodFinding {
    /// Whether the pod was changed by hand: it is of the current revision
    /// and still runs something else than the template.
    pub fn hand_edited(&self) -> bool {
        self.revision == PodRevision::Current
    }
}
