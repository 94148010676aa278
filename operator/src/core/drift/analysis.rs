//! The tag and digest analysis. An image as written is analysed once per
//! scan, whoever runs it ([`analyse`]): which rule governs it, which newer
//! tag version selection allows, the digests the registry knows, and
//! whether its base image moved. A verdict is then concluded from the
//! analysis and the digests a container's pods run ([`conclude`]).
//!
//! A verdict is `UpToDate` only when every check it needs had its data:
//! missing registry data makes it `Unknown`, never `UpToDate`. When several
//! things are wrong, the state is the one a change would fix first —
//! `Outdated` (the new version fixes drift and base too), then
//! `DigestDrift`, `BaseOutdated` — and the reason mentions the rest.

use std::sync::Arc;

use super::{
    evaluator::RepositoryContext,
    facts::{Lookup, TagFacts},
    model::{EvaluationContext, Verdict},
    running::{RunningImage, digests},
};
use crate::{
    api::{
        change_ticket::ChangeReason,
        drift_report::{BaseImageFinding, FindingState},
        patch_policy::UpdateStrategy,
    },
    core::{
        reference::{DEFAULT_TAG, ImageReference},
        selection::{Outcome, RolledBackTags, select},
    },
};

/// What refit decides about an image as written, whoever runs it.
#[derive(Debug)]
pub(super) enum ImageAnalysis<'a> {
    /// The reference cannot be read.
    Unreadable(Arc<str>),
    /// No rule governs the repository.
    Ungoverned,
    /// Governed, but written by digest only.
    DigestOnly { actionable: bool, reason: Arc<str> },
    /// Governed, with a tag.
    Tagged(Box<TaggedImage<'a>>),
}

/// A governed image with a tag: everything its verdicts are concluded from.
#[derive(Debug)]
pub(super) struct TaggedImage<'a> {
    /// The reference; it has a tag (written, or `latest`).
    reference: ImageReference,
    actionable: bool,
    /// The tag's registry facts, or why they are missing.
    facts: Result<&'a TagFacts, String>,
    /// Version selection's explanation, or why tags could not be
    /// compared; `None` for `update: digest`.
    selection: Option<Result<SelectionNote, String>>,
    /// The candidate reference (pinned when the rule asks and the digest is
    /// known), and whether a change may be proposed for it.
    candidate: Option<(ImageReference, bool)>,
    /// A note when the candidate cannot be pinned yet.
    pin_note: Option<String>,
    /// The base image: what to report, and whether it is outdated or why
    /// that is unknown.
    base: Option<(BaseImageFinding, BaseState)>,
}

/// What version selection said about the tag, for the reason text.
#[derive(Debug)]
struct SelectionNote {
    /// Selection's explanation (the candidate and the tags passed over).
    explanation: Arc<str>,
    /// Whether the tag could not be compared at all: then the explanation
    /// is worth a word even when the main finding is something else.
    incomparable: bool,
}

/// Whether the image's base image moved since it was built.
#[derive(Debug)]
enum BaseState {
    /// The base name still resolves to the digest the image was built on.
    Current,
    /// It resolves to another digest now (the reason says which base).
    Outdated(String),
    /// What the base resolves to now is unknown (why).
    Unknown(String),
    /// The image names its base but no digest, so it cannot be compared.
    NoDigest(String),
}

/// Analyses an image as written: everything that does not depend on the
/// pods that run it.
pub(super) fn analyse<'a>(
    reference: ImageReference,
    repository: RepositoryContext<'a>,
    context: &EvaluationContext<'a>,
) -> ImageAnalysis<'a> {
    let Some(rule) = repository.rule else {
        return ImageAnalysis::Ungoverned;
    };
    let actionable = rule.update != UpdateStrategy::None;
    let Some(tag) = reference.effective_tag() else {
        return ImageAnalysis::DigestOnly {
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
            let selection = select(tag, rule, index, context.now, rolled_back, repository.sightings);
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
            Some(Ok(SelectionNote {
                explanation: selection.to_string().into(),
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
                    BaseState::Outdated(format!("base {} now resolves to another digest", base.name))
                }
                (Some(_), Ok(_)) => BaseState::Current,
                (None, _) => BaseState::NoDigest(format!("base {} names no digest", base.name)),
                (_, Err(reason)) => BaseState::Unknown(format!("base {} unknown ({reason})", base.name)),
            };
            Some((finding, verdict))
        }
        _ => None,
    };

    ImageAnalysis::Tagged(Box::new(TaggedImage {
        reference,
        actionable,
        facts: tag_facts,
        selection,
        candidate,
        pin_note,
        base,
    }))
}

/// Combines a governed image's analysis with what the pods run.
pub(super) fn conclude(running: &[RunningImage], analysis: &ImageAnalysis<'_>) -> Verdict {
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
    let image = match analysis {
        ImageAnalysis::Unreadable(reason) => {
            verdict.reason = reason.clone();
            return verdict;
        }
        // `Evaluator::evaluate` makes no finding for an ungoverned image and
        // never asks; the verdict still says what is true.
        ImageAnalysis::Ungoverned => {
            verdict.reason = "no rule of the policy governs this image".into();
            return verdict;
        }
        ImageAnalysis::DigestOnly { actionable, reason } => {
            verdict.actionable = *actionable;
            verdict.reason = reason.clone();
            return verdict;
        }
        ImageAnalysis::Tagged(image) => image,
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
                    let running: Vec<String> = running.iter().map(|image| image.digest().short().to_string()).collect();
                    drift = Some(format!(
                        "{tag} now points at {}; pods run {}",
                        now_digest.short(),
                        running.join(", ")
                    ));
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
            BaseState::Current => {}
            BaseState::Outdated(reason) => base_outdated = Some(reason.clone()),
            BaseState::Unknown(reason) => missing.push(reason.clone()),
            BaseState::NoDigest(note) => notes.push(note.clone()),
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
