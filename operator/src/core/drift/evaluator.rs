//! The evaluator of one scan, and its memo. A cluster runs few distinct
//! images in many workloads, so what depends only on the image as written
//! (its analysis) is made once per distinct image, and a verdict once per
//! image and set of image IDs its pods report; both are remembered for the
//! rest of the scan.

use std::sync::Arc;

use smallvec::SmallVec;

use super::{
    analysis::{ImageAnalysis, analyse, conclude},
    facts::RepositoryFacts,
    model::{ContainerFinding, EvaluationContext, PodSnapshot, TemplateContainer, Verdict, WorkloadFindings},
    pods::pod_drift,
    running::{ReportedImageIds, reported_image_ids, running_images, same_text},
    runtime::{evaluate_sidecar, injected_sidecars, node_findings},
};
use crate::core::{
    FastMap, policy::CompiledRule, reference::ImageReference, selection::RolledBackTags, soak::Sightings,
};

/// Evaluates one workload. For many workloads, an [`Evaluator`] analyses
/// each distinct image once.
pub fn evaluate(
    template: &[TemplateContainer],
    pods: &[PodSnapshot],
    context: &EvaluationContext<'_>,
) -> WorkloadFindings {
    Evaluator::new(*context).evaluate(template, pods)
}

/// Evaluates the workloads of one scan, remembering each distinct image's
/// analysis and the verdicts concluded from it.
#[derive(Debug)]
pub struct Evaluator<'a> {
    context: EvaluationContext<'a>,
    /// Image as written → position in `images`.
    seen: FastMap<Arc<str>, usize>,
    images: Vec<AnalysedImage<'a>>,
    /// What the context holds for each repository met so far: a scan meets
    /// a repository under many tags, and the rule lookup matches globs.
    repositories: FastMap<String, RepositoryContext<'a>>,
}

/// What the evaluation context holds for one repository.
#[derive(Debug, Clone, Copy)]
pub(super) struct RepositoryContext<'a> {
    /// The first rule that matches it, if any governs it.
    pub rule: Option<&'a CompiledRule>,
    /// What the registry said about it.
    pub facts: Option<&'a RepositoryFacts>,
    /// Its tags that were rolled back earlier.
    pub rolled_back: Option<&'a RolledBackTags>,
    /// When its tags were first seen, for `minAge`.
    pub sightings: Sightings<'a>,
}

/// How many verdicts an image remembers. A tag runs at one or two digests
/// in a settled cluster; an image seen at more (a `latest` rebuilt daily
/// and never rolled out) is concluded afresh for the rarer ones rather than
/// searched through a long list for every container.
pub(super) const VERDICTS_PER_IMAGE: usize = 8;

/// An image's analysis and the verdicts concluded from it so far.
#[derive(Debug)]
struct AnalysedImage<'a> {
    analysis: ImageAnalysis<'a>,
    verdicts: Vec<RememberedVerdict>,
}

/// A verdict and the image IDs it was concluded for. It is found again by
/// those IDs, not by the digests read from them: the cluster snapshot
/// interns image IDs, so the comparison is nearly always one of addresses.
#[derive(Debug)]
struct RememberedVerdict {
    image_ids: SmallVec<[Arc<str>; 1]>,
    verdict: Arc<Verdict>,
}

impl AnalysedImage<'_> {
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
        let verdict = Arc::new(conclude(&running_images(image_ids), &self.analysis));
        if self.verdicts.len() < VERDICTS_PER_IMAGE {
            self.verdicts.push(RememberedVerdict {
                image_ids: image_ids.iter().map(|id| Arc::clone(id)).collect(),
                verdict: Arc::clone(&verdict),
            });
        }
        verdict
    }
}

impl<'a> Evaluator<'a> {
    /// An evaluator for one scan.
    pub fn new(context: EvaluationContext<'a>) -> Evaluator<'a> {
        Evaluator {
            context,
            seen: FastMap::default(),
            images: Vec::new(),
            repositories: FastMap::default(),
        }
    }

    /// Evaluates one workload.
    pub fn evaluate(&mut self, template: &[TemplateContainer], pods: &[PodSnapshot]) -> WorkloadFindings {
        let mut findings = WorkloadFindings::default();
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
            let image = self.analysed(&container.image);
            if let ImageAnalysis::Ungoverned = image.analysis {
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

    /// The image's analysis, made now if this is its first appearance.
    fn analysed(&mut self, image: &Arc<str>) -> &mut AnalysedImage<'a> {
        let position = match self.seen.get(image) {
            Some(&position) => position,
            None => {
                let analysis = match ImageReference::parse(image) {
                    Ok(reference) => {
                        let repository = self.repository(reference.name());
                        analyse(reference, repository, &self.context)
                    }
                    Err(error) => {
                        ImageAnalysis::Unreadable(format!("the image reference cannot be read: {error}").into())
                    }
                };
                self.images.push(AnalysedImage {
                    analysis,
                    verdicts: Vec::new(),
                });
                self.seen.insert(Arc::clone(image), self.images.len() - 1);
                self.images.len() - 1
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
            sightings: self
                .context
                .first_seen
                .map_or(Sightings::NotKept, |records| records.sightings(name)),
        };
        self.repositories.insert(name.to_owned(), found);
        found
    }
}
