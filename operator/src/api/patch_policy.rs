//! `PatchPolicy`: what refit watches and what it does about what it finds.
//!
//! A policy selects workloads (namespaces, labels, kinds), says for each
//! image which newer versions are acceptable (`images[]`, first match wins),
//! whether to look at base images and runtime components, and whether
//! findings only get reported, wait for a person's approval, or are approved
//! by the policy itself. Changes start only inside the referenced
//! `ChangeWindow`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DURATION_PATTERN, NAME_PATTERN, conditions::conditions_schema, workload::WorkloadKind};

/// Default time between two scans of a policy's workloads.
pub const DEFAULT_SCAN_INTERVAL: &str = "1h";
/// Default time a rollout may take before it counts as failed.
pub const DEFAULT_PROGRESS_DEADLINE: &str = "10m";
/// Default time a ticket may wait (for approval or a window) before it expires.
pub const DEFAULT_TICKET_EXPIRY: &str = "14d";

/// Which workloads refit governs and how it keeps them current.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats the same keys; the lint mistakes them for duplicates"
)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "refit.dev",
    version = "v1alpha1",
    kind = "PatchPolicy",
    plural = "patchpolicies",
    shortname = "pp",
    category = "refit",
    status = "PatchPolicyStatus",
    derive = "PartialEq",
    doc = "What refit watches (workloads selected by namespace, labels and kind) and what it does about outdated or drifted images: report, wait for approval, or change them automatically inside a ChangeWindow.",
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(name = "Window", type_ = "string", json_path = ".spec.windowRef"),
    printcolumn(
        name = "Workloads",
        type_ = "integer",
        json_path = ".status.matchedWorkloads",
        description = "Workloads governed by this policy"
    ),
    printcolumn(
        name = "Outdated",
        type_ = "integer",
        json_path = ".status.outdatedWorkloads",
        description = "Governed workloads with at least one outdated image"
    ),
    printcolumn(
        name = "Tickets",
        type_ = "integer",
        json_path = ".status.openTickets",
        description = "ChangeTickets not yet finished"
    ),
    printcolumn(name = "Last-Scan", type_ = "date", json_path = ".status.lastScan"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.mode == 'Report' || has(self.windowRef)").message("windowRef is required when mode is Approve or Auto: changes only start inside a ChangeWindow").field_path(".windowRef"))]
pub struct PatchPolicySpec {
    /// Namespaces whose workloads this policy governs. Empty or absent: all
    /// namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,

    /// Labels of the workloads (not their pods) this policy governs. Empty
    /// or absent: every workload in the selected namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,

    /// Workload kinds this policy governs. Empty or absent: all of
    /// Deployment, StatefulSet, DaemonSet and CronJob.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Set)]
    #[schemars(length(max = 4))]
    pub kinds: Vec<WorkloadKind>,

    /// Per-image rules; the first rule whose `match` fits an image's
    /// normalized repository wins. Images no rule matches are not governed.
    /// Empty or absent: every image follows a rule with `match: "**"` and the
    /// defaults below.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub images: Vec<ImageRule>,

    /// Detect images built on a base image that has since been patched, and
    /// optionally ask for a rebuild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_images: Option<BaseImagePolicy>,

    /// Minimum versions for node components and baselines for injected
    /// sidecars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimePolicy>,

    /// `Report`: findings only, no tickets. `Approve`: every change becomes a
    /// ChangeTicket that waits for a person's approval. `Auto`: tickets are
    /// approved by this policy and start in the next open window. Default
    /// `Report`.
    #[serde(default)]
    pub mode: PolicyMode,

    /// Name of the ChangeWindow in which this policy's changes may start.
    /// Required unless `mode` is `Report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub window_ref: Option<String>,

    /// How changes are rolled out.
    #[serde(default)]
    pub rollout: RolloutPolicy,

    /// How often the governed workloads are checked against their
    /// registries, e.g. `1h`. Registry answers are shared between policies
    /// and cached, so a short interval does not multiply registry requests.
    /// Default `1h`; at least `1m`.
    #[serde(default = "default_scan_interval")]
    #[x_kube(validation = Rule::new("self.matches('[1-9][0-9]*[mhd]') || self.matches('^[0-9]*([6-9][0-9]|[1-9][0-9]{2,})s$')").message("scanInterval must be at least 1m"))]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub scan_interval: String,

    /// A ticket that has not started within this long (waiting for approval
    /// or for a window) is marked `Expired`, and a fresh one is proposed at
    /// the next scan. Default `14d`.
    #[serde(default = "default_ticket_expiry")]
    #[x_kube(validation = Rule::new(super::POSITIVE_DURATION_RULE).message("ticketExpiry must be greater than zero"))]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub ticket_expiry: String,

    /// Names of ITSM sinks (ServiceNow, Jira, webhooks) from the operator's
    /// configuration that receive this policy's tickets. Targets are set by
    /// the cluster operator, never in a policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Set)]
    #[schemars(length(max = 8), inner(length(min = 1, max = 63), pattern(NAME_PATTERN)))]
    pub ticket_sinks: Vec<String>,

    /// When several policies match a workload, the one with the highest
    /// priority governs it (ties: the alphabetically first name). The
    /// overlap is reported in both policies' status. Default 0.
    #[serde(default)]
    #[schemars(range(min = -1000, max = 1000))]
    pub priority: i32,
}

/// What refit does about its findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PolicyMode {
    /// Findings go to DriftReports only; no tickets, no changes.
    #[default]
    Report,
    /// Every change is a ChangeTicket that waits for a person's approval.
    Approve,
    /// Tickets are approved by the policy and start in the next open window.
    Auto,
}

/// How far an image may move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStrategy {
    /// Same major and minor version: `1.25.3` → `1.25.4`.
    Patch,
    /// Same major version: `1.25.3` → `1.27.1`.
    #[default]
    Minor,
    /// Any newer version: `1.25.3` → `2.0.0`.
    Major,
    /// Keep the tag; follow the digest it points at (for mutable tags such as
    /// `latest` or `3.12-slim`).
    Digest,
    /// Report only; never propose a change for this image.
    None,
}

/// `match` is not one segment that starts with a glob (`*`, `*-exporter`),
/// unless it has `**`: such a pattern is not normalized, and `*` and `?`
/// never match the `/` every repository has. `core::policy` refuses the
/// same patterns, for `refit scan`.
const ONE_SEGMENT_GLOB_RULE: &str = "self.contains('/') || self.contains('**') || !self.matches('^[*?]')";

/// `match` is not Docker Hub and one globbed path segment (`docker.io/*`),
/// unless it has `**`: Docker Hub repositories always have two path
/// segments (`library/nginx`). `[.]` instead of `\\.` keeps the rule free of
/// escapes.
const DOCKER_HUB_ONE_SEGMENT_GLOB_RULE: &str =
    "self.contains('**') || !self.matches('^((index|registry-1)[.])?docker[.]io/[^/]*[*?][^/]*$')";

/// A rule for the images whose normalized repository matches `match`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.constraint) || self.update in ['patch', 'minor', 'major']").message("constraint applies only when update is patch, minor or major").field_path(".constraint"))]
pub struct ImageRule {
    /// Glob over the normalized repository (registry host included): `*`
    /// matches within one path segment, `**` across segments, `?` one
    /// character. Examples: `docker.io/library/nginx`, `ghcr.io/acme/*`,
    /// `docker.io/library/*` (Docker Hub's official images), `**` (every
    /// image). A pattern without a registry host is read as Docker Hub's:
    /// `nginx` means `docker.io/library/nginx`, and so does
    /// `docker.io/nginx`. Patterns that can match no image are refused: `*`
    /// (every repository has at least two segments) and `docker.io/*`
    /// (every Docker Hub repository has two after `docker.io`).
    #[serde(rename = "match")]
    #[x_kube(validation = Rule::new(ONE_SEGMENT_GLOB_RULE).message("a pattern of one path segment that starts with * or ? matches no image, because every repository has at least two (docker.io/library/nginx): use ** for every image or docker.io/library/* for Docker Hub's official images"))]
    #[x_kube(validation = Rule::new(DOCKER_HUB_ONE_SEGMENT_GLOB_RULE).message("a Docker Hub pattern with one globbed path segment matches no image, because every Docker Hub repository has two (docker.io/library/nginx, docker.io/bitnami/redis): use docker.io/** for every Docker Hub image or docker.io/library/* for the official images"))]
    #[schemars(length(min = 1, max = 255))]
    pub repository: String,

    /// How far the image may move: `patch`, `minor` (default), `major`,
    /// `digest` (follow a mutable tag) or `none` (report only).
    #[serde(default)]
    pub update: UpdateStrategy,

    /// A version range the candidate must also satisfy, written as Flux
    /// image policies, Argo CD Image Updater and Helm write them (the
    /// Masterminds semver syntax): `>=1.25 <1.28` (space or comma is AND),
    /// `<1.27 || >=2.0`, `!=1.27.1`, `1.25.x`, `~1.25`, `^1.25`,
    /// `1.25 - 1.27`. A bare `1.25.3` is exactly that version. Only the
    /// tag's numbers and pre-release are compared, never its variant
    /// (`1.25.3-alpine3.20` is 1.25.3). A range that names a pre-release
    /// (`>=2.0.0-0`) admits pre-releases. See docs/VERSION-SELECTION.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub constraint: Option<String>,

    /// Only tags matching this regular expression are candidates, e.g.
    /// `^\d+\.\d+\.\d+-alpine$`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub allow_tags: Option<String>,

    /// Tags matching this regular expression are never candidates, e.g.
    /// `-(rc|beta)\d*$`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub ignore_tags: Option<String>,

    /// Whether pre-release versions (`2.0.0-rc.1`) may be candidates.
    /// Default false. An image already on a pre-release may always move to a
    /// newer pre-release of the same version or to its release, and a
    /// `constraint` that names a pre-release (`>=2.0.0-0`) admits the
    /// pre-releases it matches.
    #[serde(default)]
    pub allow_prerelease: bool,

    /// Soak time: how long a candidate must have existed before it is
    /// proposed, e.g. `3d`. The operator counts it from the later of the
    /// image's build time and when refit first saw the tag
    /// (`status.firstSeen`); a tag that was already there when refit first
    /// listed the repository counts from its build time. A build time
    /// before 2000 or in the future is not real (reproducible builds write
    /// 1970-01-01) and is ignored. A candidate whose soak cannot be told
    /// counts as too young.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub min_age: Option<String>,

    /// Roll out as `repo:tag@sha256:…` so every node runs exactly the image
    /// refit checked. Default true.
    #[serde(default = "default_true")]
    pub pin_digest: bool,
}

/// Detection of outdated base images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaseImagePolicy {
    /// Whether base images are checked. Default true when `baseImages` is
    /// present. An image's base is read from the OCI annotations
    /// `org.opencontainers.image.base.name` and `…base.digest`; it is
    /// outdated when that name now resolves to another digest.
    #[serde(default = "default_true")]
    pub enabled: bool,

    /// Where a rebuild is requested when a base image is outdated. Absent:
    /// the finding is reported (and ticketed) but nothing is rebuilt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<RebuildTarget>,
}

/// Where rebuilds are requested: exactly one of `webhook` or `job`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.webhook) != has(self.job)").message("set exactly one of webhook or job"))]
pub struct RebuildTarget {
    /// POST a signed JSON request to a CI system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<RebuildWebhook>,
    /// Create a Job from a (suspended) CronJob's job template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<RebuildJob>,
}

/// A webhook that starts an image rebuild.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildWebhook {
    /// HTTPS URL that receives the rebuild request.
    #[x_kube(validation = Rule::new("self.startsWith('https://')").message("url must be an https:// URL"))]
    #[schemars(length(min = 9, max = 2048))]
    pub url: String,
    /// Secret in refit's own namespace holding the credentials for the
    /// webhook. refit reads no Secret outside its namespace for this.
    pub secret_ref: WebhookSecretRef,
}

/// Keys of a Secret in refit's namespace.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.tokenKey) || has(self.hmacKey)").message("set tokenKey, hmacKey or both"))]
pub struct WebhookSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub name: String,
    /// Key whose value is sent as `Authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub token_key: Option<String>,
    /// Key whose value signs the body (HMAC-SHA256, header
    /// `X-Refit-Signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub hmac_key: Option<String>,
}

/// A Job template for rebuilds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebuildJob {
    /// Namespace of the CronJob.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub namespace: String,
    /// A CronJob (usually suspended) whose `jobTemplate` refit copies for
    /// each rebuild, adding the environment variables `REFIT_IMAGE`,
    /// `REFIT_BASE_IMAGE` and `REFIT_BASE_DIGEST`.
    #[schemars(length(min = 1, max = 52), pattern(NAME_PATTERN))]
    pub cron_job_name: String,
}

/// Runtime components that must be current.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePolicy {
    /// Minimum versions of node components. Pods on a node below them are
    /// reported `RuntimeOutdated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeBaseline>,

    /// Injected sidecars (service mesh proxies, log shippers) and the image
    /// each should run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub sidecars: Vec<SidecarBaseline>,
}

/// Minimum versions of node components, as semantic versions
/// (`1.33.4`, `2.0.1`, `6.1.0`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeBaseline {
    /// Minimum kubelet version (`status.nodeInfo.kubeletVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), pattern(VERSION_PATTERN))]
    pub kubelet: Option<String>,

    /// Minimum container runtime versions by runtime name, as in
    /// `status.nodeInfo.containerRuntimeVersion` (`containerd://1.7.20`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub container_runtimes: Vec<ContainerRuntimeBaseline>,

    /// Minimum kernel version (`status.nodeInfo.kernelVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), pattern(VERSION_PATTERN))]
    pub kernel: Option<String>,
}

/// Versions: a leading `v` is allowed, then dot-separated numbers and an
/// optional suffix (`1.33.4`, `v1.33.4`, `6.1.0-18-amd64`).
const VERSION_PATTERN: &str = r"^v?[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z.\-+]*)?$";

/// The minimum version of one container runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRuntimeBaseline {
    /// Runtime name as nodes report it before `://`: `containerd`, `cri-o`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9][a-z0-9.\-]*$"))]
    pub name: String,
    /// Minimum version, e.g. `1.7.20`.
    #[schemars(length(min = 1, max = 64), pattern(VERSION_PATTERN))]
    pub min_version: String,
}

/// The image an injected sidecar should run: exactly one of `image`,
/// `configMapRef` or `workloadRef`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.image), has(self.configMapRef), has(self.workloadRef)].filter(x, x).size() == 1").message("set exactly one of image, configMapRef or workloadRef"))]
pub struct SidecarBaseline {
    /// Name of the injected container, e.g. `istio-proxy`.
    #[schemars(length(min = 1, max = 63))]
    pub container: String,

    /// The image the sidecar should run, e.g. `docker.io/istio/proxyv2:1.27.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub image: Option<String>,

    /// A ConfigMap key whose value is that image (kept current by the mesh's
    /// own installer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ConfigMapKeyRef>,

    /// A workload whose container of the same name runs that image (e.g. the
    /// mesh's injector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_ref: Option<NamespacedWorkloadRef>,
}

/// A key of a ConfigMap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeyRef {
    /// Namespace of the ConfigMap.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub namespace: String,
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub name: String,
    /// The key.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A workload in a named namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedWorkloadRef {
    /// Kind of the workload.
    pub kind: WorkloadKind,
    /// Namespace of the workload.
    #[schemars(length(min = 1, max = 63), pattern(NAME_PATTERN))]
    pub namespace: String,
    /// Name of the workload.
    #[schemars(length(min = 1, max = 253), pattern(NAME_PATTERN))]
    pub name: String,
}

/// How a change is carried out.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPolicy {
    /// Changes of this policy in progress at once (the window's
    /// `maxConcurrentChanges` also applies). Default 1.
    #[serde(default = "default_max_concurrent")]
    #[schemars(range(min = 1, max = 100))]
    pub max_concurrent: i32,

    /// How long a rollout may take to become available before it counts as
    /// failed, e.g. `10m`. Also used as the expected length of a change when
    /// deciding whether enough of the window is left. Default `10m`.
    #[serde(default = "default_progress_deadline")]
    #[x_kube(validation = Rule::new(super::POSITIVE_DURATION_RULE).message("progressDeadline must be greater than zero"))]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub progress_deadline: String,

    /// How long the new pods must stay ready, without a single container
    /// restart, once the rollout is done, before the change counts as a
    /// success, e.g. `1m`. A release that crashes a while after it starts
    /// fails here and is rolled back. `0s` checks once. Default `1m`.
    #[serde(default = "default_verify_for")]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub verify_for: String,

    /// Restore the previous images when a rollout fails, and remember the
    /// candidate as bad so it is not proposed again. Default true.
    #[serde(default = "default_true")]
    pub rollback_on_failure: bool,
}

impl Default for RolloutPolicy {
    fn default() -> Self {
        RolloutPolicy {
            max_concurrent: default_max_concurrent(),
            progress_deadline: default_progress_deadline(),
            verify_for: default_verify_for(),
            rollback_on_failure: true,
        }
    }
}

/// Observed state of a PatchPolicy.
#[derive(JsonSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchPolicyStatus {
    /// Workloads this policy governs.
    #[serde(default)]
    pub matched_workloads: i32,
    /// Governed workloads with at least one image a newer allowed version
    /// exists for.
    #[serde(default)]
    pub outdated_workloads: i32,
    /// Governed workloads whose pods run something other than their
    /// template, or whose tags now point at another digest.
    #[serde(default)]
    pub drifted_workloads: i32,
    /// ChangeTickets of this policy that have not finished.
    #[serde(default)]
    pub open_tickets: i32,
    /// When the governed workloads were last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<Time>,
    /// Other policies that also match some of this policy's workloads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overlaps: Vec<PolicyOverlap>,
    /// For `minAge`: when refit first listed each repository an image rule
    /// with `minAge` governs, and first saw the tags whose soak it judged,
    /// sorted by repository. A build time is not always real: reproducible
    /// builds write 1970-01-01 or another fixed date, so refit counts a
    /// soak from the later of a real build time and the tag's first
    /// sighting. Kept here so that a restart does not restart soaks.
    /// Written by refit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_seen: Vec<FirstSeenRepository>,
    /// The generation of the spec these status fields describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Ready` (`False` with reason `InvalidSpec` and a message
    /// naming the field when the spec cannot be used; refit then does
    /// nothing for this policy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// When refit first saw one repository's tags, for `minAge`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstSeenRepository {
    /// The normalized repository, e.g. `docker.io/library/nginx`.
    pub repository: String,
    /// When refit first listed the repository's tags. A tag first seen at
    /// this instant was there before refit looked: it soaks from its build
    /// time, or from this instant when the build time is not real (before
    /// 2000 or in the future).
    pub first_listed: Time,
    /// Tag → when refit first saw it. A tag first seen after the first
    /// listing soaks from the later of this instant and its real build
    /// time. Only tags version selection still looks at are kept; a tag
    /// without an entry counts as first seen now.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "instants_by_tag_schema")]
    pub tags: BTreeMap<String, Time>,
}

/// A map of tag to instant, without the description of Go's `time.Time`
/// that k8s-openapi gives every `Time` (it would show in `kubectl explain`).
fn instants_by_tag_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": {"type": "string", "format": "date-time"},
    })
}

/// Another policy that matches some of the same workloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOverlap {
    /// Name of the other policy.
    pub policy: String,
    /// Workloads both policies match.
    pub workloads: i32,
    /// Of those, how many this policy governs (the rest the other one does).
    pub governed_here: i32,
}

fn default_true() -> bool {
    true
}

fn default_scan_interval() -> String {
    DEFAULT_SCAN_INTERVAL.to_owned()
}

fn default_ticket_expiry() -> String {
    DEFAULT_TICKET_EXPIRY.to_owned()
}

fn default_verify_for() -> String {
    "1m".to_owned()
}

fn default_progress_deadline() -> String {
    DEFAULT_PROGRESS_DEADLINE.to_owned()
}

fn default_max_concurrent() -> i32 {
    1
}
