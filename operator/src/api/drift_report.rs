//! `DriftReport`: what refit found for one workload.
//!
//! One report per governed workload, in the workload's namespace and owned by
//! it (it goes when the workload goes). The operator writes it; people read
//! it. It is rewritten only when its content changes, so nothing in it ticks
//! on every scan: a steady cluster costs no writes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{conditions::conditions_schema, workload::WorkloadRef};

/// Which workload a report is about and which policy governs it.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats the same keys; the lint mistakes them for duplicates"
)]
#[derive(CustomResource, JsonSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "refit.dev",
    version = "v1alpha1",
    kind = "DriftReport",
    plural = "driftreports",
    shortname = "drift",
    category = "refit",
    namespaced,
    status = "DriftReportStatus",
    derive = "PartialEq",
    doc = "What refit found for one workload: per container the image as written, what the pods really run, the newest allowed candidate, the base image and the state. Written by refit; owned by the workload.",
    printcolumn(name = "Workload", type_ = "string", json_path = ".spec.workload.name"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.workload.kind", priority = 1),
    printcolumn(
        name = "Outdated",
        type_ = "integer",
        json_path = ".status.outdated",
        description = "Containers with a newer allowed version"
    ),
    printcolumn(
        name = "Drift",
        type_ = "integer",
        json_path = ".status.drifted",
        description = "Containers whose pods run something other than the template or whose tag moved"
    ),
    printcolumn(
        name = "Base",
        type_ = "integer",
        json_path = ".status.baseOutdated",
        description = "Containers built on an outdated base image"
    ),
    printcolumn(name = "Ticket", type_ = "string", json_path = ".status.ticket"),
    printcolumn(
        name = "Opt-Out",
        type_ = "string",
        json_path = ".status.optOut",
        description = "Pinned or Ignored by an annotation on the workload"
    ),
    printcolumn(
        name = "Checked",
        type_ = "date",
        json_path = ".status.checkedAt",
        description = "When these findings were established"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DriftReportSpec {
    /// The workload this report is about (same namespace).
    pub workload: WorkloadRef,
    /// The PatchPolicy that governs the workload.
    #[schemars(length(min = 1, max = 253), pattern(super::NAME_PATTERN))]
    pub policy: String,
}

/// What a container's image was found to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum FindingState {
    /// Nothing newer is allowed, the tag's digest is what runs, the base is
    /// current.
    UpToDate,
    /// A newer version is allowed by the policy (`candidate`).
    Outdated,
    /// The pods run another digest than the tag now points at, or something
    /// other than the template.
    DigestDrift,
    /// The image was built on a base image that has since been patched.
    BaseOutdated,
    /// A sidecar or a node component is below its baseline.
    RuntimeOutdated,
    /// refit could not tell (registry unreachable, no tags, unreadable
    /// reference); `reason` says why. Never treated as up to date.
    Unknown,
}

/// How a workload opted out of refit's changes, by annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OptOut {
    /// `refit.dev/pin: "true"`: findings are reported, but no ChangeTicket
    /// is proposed, and open ones that have not started are cancelled.
    Pinned,
    /// `refit.dev/ignore: "true"`: not governed. The workload is not
    /// checked, no ticket is proposed, and open ones that have not started
    /// are cancelled.
    Ignored,
}

/// Findings for one container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerFinding {
    /// Container name.
    pub name: String,
    /// Whether this is an init container.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// The image as written in the workload's template.
    pub image: String,
    /// Distinct image digests the workload's pods really run for this
    /// container (from `status.containerStatuses[].imageID`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_digests: Vec<String>,
    /// The state of this container.
    pub state: FindingState,
    /// The full reference refit would move to (`repo:tag@sha256:…`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Why this state: the candidate's justification, or why there is none,
    /// or why the state is `Unknown`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The base image, when the image says what it was built on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseImageFinding>,
    /// The open ChangeTicket for this container, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// What an image was built on and what that base is now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageFinding {
    /// The base image name (`org.opencontainers.image.base.name`).
    pub name: String,
    /// The digest the image was built on (`…base.digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_on: Option<String>,
    /// The digest the base name resolves to now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

/// A pod whose container runs something other than the template says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodDrift {
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// The image the pod's spec names.
    pub image: String,
    /// The digest the container runs (`imageID`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_digest: Option<String>,
    /// Why this counts as drift: e.g. a rollout that has not finished, or a
    /// pod changed by hand.
    pub reason: String,
}

/// A change of a container's image in the template that refit did not
/// make and no ticket explains.
#[derive(JsonSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnauthorizedChange {
    /// Container name.
    pub container: String,
    /// Whether it is an init container.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// The image before, as the template wrote it.
    pub from: String,
    /// The image after, as the template writes it.
    pub to: String,
    /// The field manager that owns the image now (from `managedFields`),
    /// e.g. `kubectl-set` or `argocd-controller`; unknown when the API
    /// server does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// When that manager wrote it, as the API server recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    /// The ChangeTicket that records it.
    pub ticket: String,
}

/// A node component below the policy's minimum, on a node running this
/// workload's pods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeFinding {
    /// Node name.
    pub node: String,
    /// `kubelet`, `containerRuntime` or `kernel`.
    pub component: String,
    /// The version the node reports.
    pub version: String,
    /// The policy's minimum.
    pub minimum: String,
}

/// The findings for the workload.
#[derive(JsonSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReportStatus {
    /// Per-container findings, containers first, then init containers, each
    /// in template order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerFinding>,
    /// Pods that run something other than their template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodDrift>,
    /// Nodes under this workload's pods with outdated components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeFinding>,
    /// Containers in state `Outdated`.
    #[serde(default)]
    pub outdated: i32,
    /// Containers in state `DigestDrift`, plus drifted pods.
    #[serde(default)]
    pub drifted: i32,
    /// Containers in state `BaseOutdated`.
    #[serde(default)]
    pub base_outdated: i32,
    /// The open ChangeTicket for this workload, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The latest changes of the template's images made outside refit,
    /// oldest first (at most five), each recorded by a ChangeTicket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unauthorized_changes: Vec<UnauthorizedChange>,
    /// Set when an annotation on the workload opts it out: `Pinned`
    /// (`refit.dev/pin: "true"`: findings are reported, no tickets are
    /// proposed) or `Ignored` (`refit.dev/ignore: "true"`: the workload is
    /// not checked at all, and this report only says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<OptOut>,
    /// When refit established these findings. It does not move while the
    /// findings stay the same (so a steady cluster costs no writes); the
    /// policy's `status.lastScan` says when the workload was last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Time>,
    /// The generation of the spec these findings describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Ready` (`False` when the workload could not be
    /// evaluated at all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}
