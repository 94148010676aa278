//! Drift evaluation: what a workload runs against what it should run.
//!
//! Input is plain data: the workload's containers as written, its pods
//! (which image each container runs, by `imageID`), the registry facts the
//! registry layer gathered, and the policy's rules and baselines. Output is
//! one finding per governed container, the pods that run something other
//! than their template, and the nodes below the policy's minimums.
//!
//! A finding is `UpToDate` only when every check it needs had its data:
//! missing registry data makes it `Unknown`, never `UpToDate`. When several
//! things are wrong, the state is the one a change would fix first —
//! `Outdated` (the new version fixes drift and base too), then
//! `DigestDrift`, `BaseOutdated` — and the reason mentions the rest.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use smallvec::SmallVec;
use smol_str::SmolStr;

use super::{
    FastMap,
    policy::{CompiledRule, ImageRules},
    reference::{DEFAULT_TAG, Digest, ImageReference},
    selection::{Outcome, RolledBackTags, Selection, select},
    version::TagIndex,
};
use crate::api::{
    change_ticket::ChangeReason,
    drift_report::{BaseImageFinding, DriftReportStatus, FindingState, NodeFinding, PodDrift},
    patch_policy::UpdateStrategy,
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
    /// Whether the pod belongs to the workload's current revision (its
    /// ReplicaSet's or controller revision's hash is the current one).
    pub current_revision: bool,
    /// Its containers and init containers.
    pub containers: Vec<PodContainer>,
}

/// One container of a pod. The cluster snapshot interns its strings
/// ([`super::intern::Interner`]): name and image are then the template's
/// own strings, compared by address, and the image ID is shared by every
/// pod that runs the same image.
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

/// What the registry says about one tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFacts {
    /// The digest the tag points at now (a manifest or an index).
    pub digest: Option<Digest>,
    /// For an index: the digests of its platform manifests (a pod may
    /// report either; both mean this image).
    pub platform_digests: Vec<Digest>,
    /// Digests of the image configs (what some runtimes report as image ID).
    pub config_digests: Vec<Digest>,
    /// When the image was built.
    pub created: Option<DateTime<Utc>>,
    /// The base image, when the image names one.
    pub base: Option<BaseFacts>,
}

/// What an image says it was built on, and what that base is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseFacts {
    /// `org.opencontainers.image.base.name`.
    pub name: String,
    /// `org.opencontainers.image.base.digest`.
    pub built_on: Option<Digest>,
    /// What the base name resolves to now, or why that is unknown.
    pub current: Result<Digest, String>,
}

/// Registry facts for the repositories a scan needs, keyed by normalized
/// repository name (`docker.io/library/nginx`). A missing entry, or an
/// `Err`, is missing data and makes findings `Unknown`.
#[derive(Debug, Clone, Default)]
pub struct RegistryFacts {
    repositories: FastMap<String, RepositoryFacts>,
}

/// What the registry said about one repository.
#[derive(Debug, Clone, Default)]
pub struct RepositoryFacts {
    /// The tag list, or why it is unknown; `None` when it was not fetched.
    pub tags: Option<Result<TagIndex, String>>,
    /// Facts about individual tags (those in use and their candidates).
    /// Tags are short and kept inline in the keys, so a lookup compares
    /// them without following a pointer.
    pub tag_facts: FastMap<SmolStr, Result<TagFacts, String>>,
}

impl RegistryFacts {
    /// Records a repository's tag list, or why it could not be read.
    pub fn set_tags(&mut self, repository: &str, tags: Result<TagIndex, String>) {
        self.repositories.entry(repository.to_owned()).or_default().tags = Some(tags);
    }

    /// Records what is known (or why nothing is) about one tag.
    pub fn insert_tag(&mut self, repository: &str, tag: &str, facts: Result<TagFacts, String>) {
        self.repositories
            .entry(repository.to_owned())
            .or_default()
            .tag_facts
            .insert(SmolStr::new(tag), facts);
    }

    /// The facts of one repository.
    pub fn repository(&self, repository: &str) -> Option<&RepositoryFacts> {
        self.repositories.get(repository)
    }
}

/// One repository's facts, with the reason when one is missing.
struct Lookup<'r, 'f> {
    repository: &'r str,
    facts: Option<&'f RepositoryFacts>,
}

impl<'f> Lookup<'_, 'f> {
    fn tags(&self) -> Result<&'f TagIndex, String> {
        match self.facts.and_then(|f| f.tags.as_ref()) {
            Some(Ok(index)) => Ok(index),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err(format!("no tag list for {}", self.repository)),
        }
    }

    fn tag(&self, tag: &str) -> Result<&'f TagFacts, String> {
        match self.facts.and_then(|f| f.tag_facts.get(tag)) {
            Some(Ok(facts)) => Ok(facts),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err(format!("no digest for {}:{tag}", self.repository)),
        }
    }
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
    /// Why this state, for people; shared with the image's judgement when
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

/// The distinct images a container's pods run: one in a settled workload,
/// two during a rollout, so they stay on the stack.
type RunningImages = SmallVec<[RunningImage; 2]>;

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
    /// Whether the pod belongs to the current revision: then it was changed
    /// by hand; otherwise a rollout has not finished.
    pub hand_edited: bool,
}

impl PodFinding {
    /// The DriftReport entry.
    pub fn to_report(&self) -> PodDrift {
        let reason = if self.hand_edited {
            format!(
                "changed outside its template: runs {} where the template says {}",
                self.image, self.template_image
            )
        } else {
            format!(
                "belongs to an earlier revision (a rollout has not finished): template says {}",
                self.template_image
            )
        };
        PodDrift {
            pod: self.pod.clone(),
            container: self.container.clone(),
            image: self.image.clone(),
            running_digest: self.running_digest.as_ref().map(ToString::to_string),
            reason,
        }
    }
}

/// An image as a pod reports it running.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RunningImage {
    /// A repository digest (`repo@sha256:…`): comparable with tag digests.
    Manifest(Digest),
    /// A local image ID (`sha256:…`): the config digest.
    Config(Digest),
}

impl RunningImage {
    /// Reads an `imageID`: `docker.io/library/nginx@sha256:…`,
    /// `docker-pullable://nginx@sha256:…`, or a bare `sha256:…` image ID.
    fn parse(image_id: &str) -> Option<RunningImage> {
        let id = image_id
            .strip_prefix("docker-pullable://")
            .or_else(|| image_id.strip_prefix("docker://"))
            .unwrap_or(image_id);
        // A repository digest ends the ID, so its `@` is where a sha256 or
        // sha512 digest would begin; looking there first spares a search
        // through the name (this runs for every container). Any other `@`
        // after that one would make the digest invalid either way.
        for digest_length in [71, 135] {
            if let Some(at) = id.len().checked_sub(digest_length + 1)
                && id.as_bytes()[at] == b'@'
            {
                return Digest::parse(&id[at + 1..]).ok().map(RunningImage::Manifest);
            }
        }
        match id.rsplit_once('@') {
            Some((_, digest)) => Digest::parse(digest).ok().map(RunningImage::Manifest),
            None => Digest::parse(id).ok().map(RunningImage::Config),
        }
    }

    fn digest(&self) -> &Digest {
        match self {
            RunningImage::Manifest(digest) | RunningImage::Config(digest) => digest,
        }
    }

    /// Whether this is the image the tag facts describe; `None` when that
    /// cannot be told (an image ID and no config digests known).
    fn is(&self, facts: &TagFacts) -> Option<bool> {
        match self {
            RunningImage::Manifest(digest) => {
                let current = facts.digest.as_ref()?;
                Some(digest == current || facts.platform_digests.contains(digest))
            }
            // Only some platforms' config digests may be known (refit reads
            // one platform of an index): a miss then proves nothing.
            RunningImage::Config(digest) if facts.config_digests.contains(digest) => Some(true),
            RunningImage::Config(_) if facts.config_digests.is_empty() || facts.platform_digests.len() > 1 => None,
            RunningImage::Config(_) => Some(false),
        }
    }
}

/// Evaluates one workload. For many workloads, an [`Evaluator`] decides
/// each distinct image once.
pub fn evaluate(
    template: &[TemplateContainer],
    pods: &[PodSnapshot],
    context: &EvaluationContext<'_>,
) -> WorkloadFindings {
    Evaluator::new(*context).evaluate(template, pods)
}

/// Evaluates the workloads of one scan. What depends only on the image as
/// written (its reference, rule, version selection and explanation, base
/// image) is decided once per distinct image; the verdict, which adds what
/// the pods run, once per distinct image and reported image IDs. Both are
/// remembered for the rest of the scan.
#[derive(Debug)]
pub struct Evaluator<'a> {
    context: EvaluationContext<'a>,
    /// Image as written → position in `images`.
    seen: FastMap<Arc<str>, usize>,
    /// The same, by the address of the string `seen` holds for each image
    /// (so an address cannot be reused while the scan runs). The cluster
    /// snapshot interns images: every container that names an image then
    /// names it with that string, and is found here without hashing it.
    seen_at: FastMap<usize, usize>,
    images: Vec<JudgedImage<'a>>,
    /// What the context holds for each repository met so far: a scan meets
    /// a repository under many tags, and the rule lookup matches globs.
    repositories: FastMap<String, RepositoryContext<'a>>,
    /// Where explanations are written before they are shared.
    text: String,
}

/// What the evaluation context holds for one repository.
#[derive(Debug, Clone, Copy)]
struct RepositoryContext<'a> {
    rule: Option<&'a CompiledRule>,
    facts: Option<&'a RepositoryFacts>,
    rolled_back: Option<&'a RolledBackTags>,
}

/// How many verdicts an image remembers. A tag runs at one or two digests
/// in a settled cluster; an image seen at more (a `latest` rebuilt daily
/// and never rolled out) is judged afresh for the rarer ones rather than
/// searched through a long list for every container.
const VERDICTS_PER_IMAGE: usize = 8;

/// An image's judgement and the verdicts made from it so far. The first
/// verdict is kept inline: most images have only one, and every container
/// that names the image reads it.
#[derive(Debug)]
struct JudgedImage<'a> {
    judgement: ImageJudgement<'a>,
    verdicts: SmallVec<[RememberedVerdict; 1]>,
}

/// A verdict and the image IDs it was made for. It is found again by those
/// IDs, not by the digests read from them: the cluster snapshot interns
/// image IDs, so for every container after the first the lookup compares
/// addresses and reads no digest at all.
#[derive(Debug)]
struct RememberedVerdict {
    image_ids: SmallVec<[Arc<str>; 1]>,
    verdict: Arc<Verdict>,
}

impl JudgedImage<'_> {
    /// The verdict for pods that report `image_ids`, remembered or made now.
    fn verdict(&mut self, image_ids: &ReportedImageIds<'_>) -> Arc<Verdict> {
        let remembered = self.verdicts.iter().find(|remembered| {
            remembered.image_ids.len() == image_ids.len()
                && remembered
                    .image_ids
                    .iter()
                    .zip(image_ids)
                    .all(|(known, id)| same_text(known, id))
        });
        if let Some(remembered) = remembered {
            return Arc::clone(&remembered.verdict);
        }
        let verdict = Arc::new(conclude(&running_images(image_ids), &self.judgement));
        if self.verdicts.len() < VERDICTS_PER_IMAGE {
            self.verdicts.push(RememberedVerdict {
                image_ids: image_ids.iter().map(|id| Arc::clone(id)).collect(),
                verdict: Arc::clone(&verdict),
            });
        }
        verdict
    }
}

/// What refit decides about an image as written, whoever runs it.
#[derive(Debug)]
enum ImageJudgement<'a> {
    /// The reference cannot be read.
    Unreadable(Arc<str>),
    /// No rule governs the repository.
    Ungoverned,
    /// Governed, but written by digest only.
    DigestOnly { actionable: bool, reason: Arc<str> },
    /// Governed, with a tag.
    Tagged(Box<TaggedImage<'a>>),
}

#[derive(Debug)]
struct TaggedImage<'a> {
    /// The reference; it has a tag (written, or `latest`).
    reference: ImageReference,
    actionable: bool,
    /// The tag's registry facts, or why they are missing.
    facts: Result<&'a TagFacts, String>,
    /// Version selection's explanation, or why tags could not be
    /// compared; `None` for `update: digest`.
    selection: Option<Result<SelectionVerdict, String>>,
    /// The candidate reference (pinned when the rule asks and the digest is
    /// known), and whether a change may be proposed for it.
    candidate: Option<(ImageReference, bool)>,
    /// A note when the candidate cannot be pinned yet.
    pin_note: Option<String>,
    /// The base image: what to report, and whether it is outdated or why
    /// that is unknown.
    base: Option<(BaseImageFinding, BaseVerdict)>,
}

#[derive(Debug)]
struct SelectionVerdict {
    explanation: Arc<str>,
    /// Whether the tag could not be compared at all: then the explanation
    /// is worth a word even when the main finding is something else.
    incomparable: bool,
}

#[derive(Debug)]
enum BaseVerdict {
    Current,
    Outdated(String),
    Missing(String),
    Note(String),
}

impl<'a> Evaluator<'a> {
    /// An evaluator for one scan.
    pub fn new(context: EvaluationContext<'a>) -> Evaluator<'a> {
        Evaluator {
            context,
            seen: FastMap::default(),
            seen_at: FastMap::default(),
            images: Vec::new(),
            repositories: FastMap::default(),
            text: String::with_capacity(256),
        }
    }

    /// Evaluates one workload.
    pub fn evaluate(&mut self, template: &[TemplateContainer], pods: &[PodSnapshot]) -> WorkloadFindings {
        let mut findings = WorkloadFindings::default();
        findings.containers.reserve(template.len());
        let baselines = self.context.baselines;
        let containers_then_init = template
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.init)
            .chain(template.iter().enumerate().filter(|(_, c)| c.init));
        for (position, container) in containers_then_init {
            if let Some(expected) = baselines.sidecars.get(&*container.name) {
                let running = running_images(&reported_image_ids(pods, container, position));
                findings
                    .containers
                    .push(evaluate_sidecar(container, expected, &running, false));
                continue;
            }
            let image = self.judged(&container.image);
            if let ImageJudgement::Ungoverned = image.judgement {
                continue;
            }
            let verdict = image.verdict(&reported_image_ids(pods, container, position));
            findings.containers.push(ContainerFinding {
                name: Arc::clone(&container.name),
                init: container.init,
                injected: false,
                image: Arc::clone(&container.image),
                verdict,
            });
        }
        findings.containers.extend(injected_sidecars(template, pods, baselines));
        findings.pods = pod_drift(template, pods);
        findings.nodes = node_findings(pods, self.context.nodes, baselines);
        findings
    }

    /// The image's judgement, made now if this is its first appearance.
    fn judged(&mut self, image: &Arc<str>) -> &mut JudgedImage<'a> {
        let address = Arc::as_ptr(image).cast::<u8>() as usize;
        if let Some(&position) = self.seen_at.get(&address) {
            return &mut self.images[position];
        }
        let position = match self.seen.get(image) {
            Some(&position) => position,
            None => {
                let judgement = match ImageReference::parse(image) {
                    Ok(reference) => {
                        let repository = self.repository(reference.name());
                        judge(reference, repository, &self.context, &mut self.text)
                    }
                    Err(error) => {
                        ImageJudgement::Unreadable(format!("the image reference cannot be read: {error}").into())
                    }
                };
                self.images.push(JudgedImage {
                    judgement,
                    verdicts: SmallVec::new(),
                });
                let position = self.images.len() - 1;
                self.seen.insert(Arc::clone(image), position);
                self.seen_at.insert(address, position);
                position
            }
        };
        &mut self.images[position]
    }

    /// The context's rule, facts and rolled-back tags for a repository.
    fn repository(&mut self, name: &str) -> RepositoryContext<'a> {
        if let Some(known) = self.repositories.get(name) {
            return *known;
        }
        let found = RepositoryContext {
            rule: self.context.rules.rule_for(name),
            facts: self.context.registry.repository(name),
            rolled_back: self.context.rolled_back.get(name),
        };
        self.repositories.insert(name.to_owned(), found);
        found
    }
}

/// The image IDs a template container's pods report, each once, in text
/// order. A settled workload reports one; a rollout two.
type ReportedImageIds<'p> = SmallVec<[&'p Arc<str>; 2]>;

/// What the pods report for the template's container at `position` while
/// they run the image it names (a pod that runs another image is a pod
/// finding, not this container's).
fn reported_image_ids<'p>(
    pods: &'p [PodSnapshot],
    container: &TemplateContainer,
    position: usize,
) -> ReportedImageIds<'p> {
    let mut image_ids = ReportedImageIds::new();
    let counterparts = pods
        .iter()
        .filter_map(|pod| counterpart(&pod.containers, container, position));
    for same in counterparts {
        if !same_text(&same.image, &container.image) {
            continue;
        }
        if let Some(image_id) = &same.image_id
            && !image_ids.iter().any(|known| same_text(known, image_id))
        {
            image_ids.push(image_id);
        }
    }
    if image_ids.len() > 1 {
        image_ids.sort_unstable();
    }
    image_ids
}

/// The container of `containers` with the name (and kind) of `wanted`,
/// which stands at `position` in its own list. Pods list their template's
/// containers in its order, so that position is looked at first; a
/// container injected ahead of it moves it, and then it is searched for.
fn counterpart<'c, C, W>(containers: &'c [C], wanted: &W, position: usize) -> Option<&'c C>
where
    C: NamedContainer,
    W: NamedContainer,
{
    let same = |c: &&C| c.init() == wanted.init() && same_text(c.name(), wanted.name());
    containers
        .get(position)
        .filter(same)
        .or_else(|| containers.iter().find(same))
}

/// Whether two shared strings say the same. Interned strings (see
/// [`super::intern::Interner`]) are equal exactly when they are one string,
/// which the address tells without reading either; `Arc`'s own `==`
/// always compares the text.
fn same_text(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Template and pod containers alike: what identifies a container in a pod.
trait NamedContainer {
    fn name(&self) -> &Arc<str>;
    fn init(&self) -> bool;
}

impl NamedContainer for TemplateContainer {
    fn name(&self) -> &Arc<str> {
        &self.name
    }
    fn init(&self) -> bool {
        self.init
    }
}

impl NamedContainer for PodContainer {
    fn name(&self) -> &Arc<str> {
        &self.name
    }
    fn init(&self) -> bool {
        self.init
    }
}

/// Distinct images the pods run, read from their image IDs (sorted).
fn running_images(image_ids: &[&Arc<str>]) -> RunningImages {
    let mut running: RunningImages = image_ids.iter().filter_map(|id| RunningImage::parse(id)).collect();
    running.sort_unstable();
    running.dedup();
    running
}

fn digests(running: &[RunningImage]) -> RunningDigests {
    let mut digests: RunningDigests = running.iter().map(|r| *r.digest()).collect();
    digests.dedup();
    digests
}

/// Decides what does not depend on the pods.
fn judge<'a>(
    reference: ImageReference,
    repository: RepositoryContext<'a>,
    context: &EvaluationContext<'a>,
    text: &mut String,
) -> ImageJudgement<'a> {
    let Some(rule) = repository.rule else {
        return ImageJudgement::Ungoverned;
    };
    let actionable = rule.update != UpdateStrategy::None;
    let Some(tag) = reference.effective_tag() else {
        return ImageJudgement::DigestOnly {
            actionable,
            reason: "referenced by digest only, so its version cannot be told; write the tag too (repo:tag@sha256:…)"
                .into(),
        };
    };
    let facts = Lookup {
        repository: reference.name(),
        facts: repository.facts,
    };
    let tag_facts = facts.tag(tag);

    let mut candidate = None;
    let mut pin_note = None;
    let tags = (rule.update != UpdateStrategy::Digest).then(|| facts.tags());
    let selection = match tags {
        None => None,
        Some(Err(reason)) => Some(Err(format!("tags unknown ({reason})"))),
        Some(Ok(index)) => {
            let empty = RolledBackTags::new();
            let rolled_back = repository.rolled_back.unwrap_or(&empty);
            let selection = select(tag, rule, index, context.now, rolled_back);
            if let Some(candidate_tag) = selection.candidate() {
                let digest = match facts.tag(candidate_tag) {
                    Ok(TagFacts {
                        digest: Some(digest), ..
                    }) => Some(*digest),
                    _ => None,
                };
                // A change that must be pinned waits until the digest is known.
                let proposable = !(rule.pin_digest && digest.is_none());
                if !proposable {
                    pin_note = Some(format!("digest of {candidate_tag} unknown, so it cannot be pinned yet"));
                }
                let pinned = if rule.pin_digest { digest } else { None };
                candidate = Some((reference.with_tag_and_digest(Some(candidate_tag), pinned), proposable));
            }
            Some(Ok(SelectionVerdict {
                explanation: explain(&selection, text),
                incomparable: matches!(
                    selection.outcome,
                    Outcome::CurrentNotAVersion | Outcome::LevelFinerThanTag
                ),
            }))
        }
    };

    let base = match (&tag_facts, context.check_base_images) {
        (Ok(TagFacts { base: Some(base), .. }), true) => {
            let current = base.current.as_ref().ok();
            let finding = BaseImageFinding {
                name: base.name.clone(),
                built_on: base.built_on.as_ref().map(ToString::to_string),
                current: current.map(ToString::to_string),
            };
            let verdict = match (&base.built_on, &base.current) {
                (Some(built_on), Ok(current)) if built_on != current => {
                    BaseVerdict::Outdated(format!("base {} now resolves to another digest", base.name))
                }
                (Some(_), Ok(_)) => BaseVerdict::Current,
                (None, _) => BaseVerdict::Note(format!("base {} names no digest", base.name)),
                (_, Err(reason)) => BaseVerdict::Missing(format!("base {} unknown ({reason})", base.name)),
            };
            Some((finding, verdict))
        }
        _ => None,
    };

    ImageJudgement::Tagged(Box::new(TaggedImage {
        reference,
        actionable,
        facts: tag_facts,
        selection,
        candidate,
        pin_note,
        base,
    }))
}

/// Combines a governed image's judgement with what the pods run.
fn conclude(running: &[RunningImage], judgement: &ImageJudgement<'_>) -> Verdict {
    let mut verdict = Verdict {
        running_digests: digests(running),
        state: FindingState::Unknown,
        candidate: None,
        change_reason: None,
        actionable: false,
        reason: Arc::from(""),
        base: None,
        current: None,
    };
    let image = match judgement {
        ImageJudgement::Unreadable(reason) => {
            verdict.reason = reason.clone();
            return verdict;
        }
        // `Evaluator::evaluate` makes no finding for an ungoverned image and
        // never asks; the verdict still says what is true.
        ImageJudgement::Ungoverned => {
            verdict.reason = "no rule of the policy governs this image".into();
            return verdict;
        }
        ImageJudgement::DigestOnly { actionable, reason } => {
            verdict.actionable = *actionable;
            verdict.reason = reason.clone();
            return verdict;
        }
        ImageJudgement::Tagged(image) => image,
    };
    let tag = image.reference.effective_tag().unwrap_or(DEFAULT_TAG);
    verdict.actionable = image.actionable;
    let mut missing: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    let written_digest = image.reference.digest();
    // Without a pinned digest, the pods' single digest is what runs.
    let single_running = match running {
        [RunningImage::Manifest(digest)] => Some(*digest),
        _ => None,
    };
    let current_digest = written_digest.copied().or(single_running);
    verdict.current = Some(image.reference.pinned(current_digest));

    if let Some(Err(reason)) = &image.selection {
        missing.push(reason.clone());
    }

    // The tag's digest against what runs.
    let mut drift: Option<String> = None;
    match &image.facts {
        Ok(facts) => match (&facts.digest, written_digest) {
            (Some(now_digest), Some(pinned)) if now_digest != pinned && !facts.platform_digests.contains(pinned) => {
                drift = Some(format!(
                    "pinned {} but {tag} now points at {}",
                    pinned.short(),
                    now_digest.short()
                ));
            }
            (Some(now_digest), _) => {
                let mut disagrees = false;
                let mut undecidable = false;
                for same in running.iter().map(|r| r.is(facts)) {
                    disagrees |= same == Some(false);
                    undecidable |= same.is_none();
                }
                if disagrees {
                    use std::fmt::Write as _;
                    let mut reason = format!("{tag} now points at {}; pods run ", now_digest.short());
                    for (position, image) in running.iter().enumerate() {
                        let separator = if position == 0 { "" } else { ", " };
                        // Writing into a String cannot fail.
                        let _ = write!(reason, "{separator}{}", image.digest().short());
                    }
                    drift = Some(reason);
                } else if undecidable {
                    missing.push("the pods report image IDs that cannot be compared with the registry".into());
                }
            }
            (None, _) => missing.push(format!("digest of {tag} unknown")),
        },
        Err(reason) => missing.push(format!("digest of {tag} unknown ({reason})")),
    }

    let mut base_outdated: Option<String> = None;
    if let Some((base, base_verdict)) = &image.base {
        verdict.base = Some(base.clone());
        match base_verdict {
            BaseVerdict::Current => {}
            BaseVerdict::Outdated(reason) => base_outdated = Some(reason.clone()),
            BaseVerdict::Missing(reason) => missing.push(reason.clone()),
            BaseVerdict::Note(note) => notes.push(note.clone()),
        }
    }

    let selected = image.selection.as_ref().and_then(|s| s.as_ref().ok());
    let incomparable = selected.filter(|v| v.incomparable).map(|v| Arc::clone(&v.explanation));
    if let (Some((candidate, proposable)), Some(selected)) = (&image.candidate, selected) {
        verdict.state = FindingState::Outdated;
        if *proposable {
            verdict.change_reason = Some(ChangeReason::NewerVersion);
        }
        verdict.candidate = Some(candidate.clone());
        verdict.reason = selected.explanation.clone();
        notes.extend(image.pin_note.clone());
        notes.extend(drift);
        notes.extend(base_outdated);
    } else if let Some(drift) = drift {
        verdict.state = FindingState::DigestDrift;
        verdict.change_reason = Some(ChangeReason::DigestDrift);
        if let Ok(TagFacts {
            digest: Some(digest), ..
        }) = &image.facts
        {
            verdict.candidate = Some(image.reference.pinned(Some(*digest)));
        }
        verdict.reason = drift.into();
        notes.extend(base_outdated);
        notes.extend(incomparable.as_deref().map(str::to_owned));
    } else if let Some(base_outdated) = base_outdated {
        verdict.state = FindingState::BaseOutdated;
        verdict.change_reason = Some(ChangeReason::BaseImageOutdated);
        verdict.reason = base_outdated.into();
        notes.extend(incomparable.as_deref().map(str::to_owned));
    } else if !missing.is_empty() {
        verdict.state = FindingState::Unknown;
        verdict.reason = join_missing(&missing).into();
        missing.clear();
    } else if let Some(note) = incomparable {
        // The digest is current, but whether a newer version exists could
        // not be told: that is not "up to date".
        verdict.state = FindingState::Unknown;
        verdict.reason = note;
    } else {
        verdict.state = FindingState::UpToDate;
        verdict.reason = match selected {
            Some(selected) => selected.explanation.clone(),
            None if running.is_empty() => format!("{tag} is followed by its digest; no pods to compare yet").into(),
            None => format!("{tag} points at the digest the pods run").into(),
        };
    }
    if !missing.is_empty() {
        notes.push(format!("not checked: {}", join_missing(&missing)));
    }
    if !notes.is_empty() {
        verdict.reason = format!("{}; {}", verdict.reason, notes.join("; ")).into();
    }
    let found_something = matches!(
        verdict.state,
        FindingState::Outdated | FindingState::DigestDrift | FindingState::BaseOutdated
    );
    if !verdict.actionable && found_something {
        verdict.reason = format!("{}; report only (update: none)", verdict.reason).into();
    }
    verdict
}

/// Joins what could not be checked; when the tag list and the digest are
/// missing for the same reason (one unreachable registry), says it once.
fn join_missing(missing: &[String]) -> String {
    if let [tags, digest] = missing
        && let (Some(tags_reason), Some((digest_what, digest_reason))) =
            (tags.strip_prefix("tags unknown ("), digest.split_once(" unknown ("))
        && tags_reason == digest_reason
    {
        let tag = digest_what.trim_start_matches("digest of ");
        return format!("tags and the digest of {tag} unknown ({tags_reason}");
    }
    missing.join("; ")
}

/// The selection's explanation, written into the evaluator's buffer and
/// copied out once: growing a new string piece by piece for every judged
/// image costs more than the selection.
fn explain(selection: &Selection<'_>, text: &mut String) -> Arc<str> {
    use std::fmt::Write as _;
    text.clear();
    // Writing into a String cannot fail.
    let _ = write!(text, "{selection}");
    Arc::from(text.as_str())
}

fn evaluate_sidecar(
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
fn injected_sidecars(
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

/// Pods whose containers run another image than the template names.
fn pod_drift(template: &[TemplateContainer], pods: &[PodSnapshot]) -> Vec<PodFinding> {
    let mut drift = Vec::new();
    for pod in pods {
        for (position, container) in pod.containers.iter().enumerate() {
            let Some(wanted) = counterpart(template, container, position) else {
                continue;
            };
            if same_text(&wanted.image, &container.image) {
                continue;
            }
            drift.push(PodFinding {
                pod: pod.name.clone(),
                container: container.name.to_string(),
                init: container.init,
                image: container.image.to_string(),
                template_image: wanted.image.to_string(),
                running_digest: container
                    .image_id
                    .as_deref()
                    .and_then(RunningImage::parse)
                    .map(|r| *r.digest()),
                hand_edited: pod.current_revision,
            });
        }
    }
    drift
}

/// Node components below the minimums, on nodes running the workload.
fn node_findings(
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

/// Compares dotted versions numerically (`v1.33.4` < `1.33.10`); anything
/// after the numbers (`-18-amd64`, `+k3s1`) is ignored. A version that
/// cannot be read is not reported as outdated.
fn version_below(version: &str, minimum: &str) -> bool {
    fn numbers(text: &str) -> Option<Vec<u64>> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let end = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let parts: Option<Vec<u64>> = text[..end]
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().ok())
            .collect();
        parts.filter(|p| !p.is_empty())
    }
    match (numbers(version), numbers(minimum)) {
        (Some(mut have), Some(mut want)) => {
            let length = have.len().max(want.len());
            have.resize(length, 0);
            want.resize(length, 0);
            have < want
        }
        _ => false,
    }
}

impl WorkloadFindings {
    /// The DriftReport status these findings make (without `checkedAt`,
    /// the ticket and conditions, which the controller owns).
    pub fn report_status(&self) -> DriftReportStatus {
        let count = |state: FindingState| self.containers.iter().filter(|c| c.verdict.state == state).count() as i32;
        DriftReportStatus {
            containers: self
                .containers
                .iter()
                .map(|c| crate::api::drift_report::ContainerFinding {
                    name: c.name.to_string(),
                    init: c.init,
                    image: c.image.to_string(),
                    running_digests: c.verdict.running_digests.iter().map(ToString::to_string).collect(),
                    state: c.verdict.state,
                    candidate: c.verdict.candidate.as_ref().map(ToString::to_string),
                    reason: c.verdict.reason.to_string(),
                    base: c.verdict.base.clone(),
                    ticket: None,
                })
                .collect(),
            pods: self.pods.iter().map(PodFinding::to_report).collect(),
            nodes: self.nodes.clone(),
            outdated: count(FindingState::Outdated),
            drifted: count(FindingState::DigestDrift) + self.pods.len() as i32,
            base_outdated: count(FindingState::BaseOutdated),
            ..DriftReportStatus::default()
        }
    }
}

#[cfg(test)]
mod tests;
