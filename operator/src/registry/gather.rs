//! Gathering the registry facts a scan needs, asking each registry as
//! little as possible: one tag list per repository whose rules compare
//! versions, one HEAD per tag in use (and per candidate), manifests and
//! configs only for digests not seen before. Build times are read only for
//! candidates a `minAge` must judge, newest first.
//!
//! In the operator, gathering also keeps the policy's records of when tags
//! were first seen ([`FirstSeenScan`]): each repository's first listing
//! (for repositories a `minAge` rule governs), and a record for each tag
//! an image's final selection walk judged without one. When any record was
//! made, every image is chosen again, so the candidates resolved here and
//! evaluation after them read the same records.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use futures::future::join_all;

use super::resolver::Resolver;
use crate::{
    api::patch_policy::UpdateStrategy,
    core::{
        drift::RegistryFacts,
        policy::{CompiledRule, ImageRules},
        reference::ImageReference,
        selection::{RolledBackTags, select},
        soak::{FirstSeenScan, Sightings},
        version::{TagIndex, TagInfo},
    },
};

/// How many rounds of build-time lookups one image may cost (each round
/// reads the build times of the newest candidates a `minAge` could not
/// judge).
const AGE_ROUNDS: usize = 4;
/// Build times read per round: the newest candidates of unknown age.
const AGES_PER_ROUND: usize = 3;

/// One image a scan evaluates: its reference and the rule that governs it.
struct Wanted<'a> {
    reference: ImageReference,
    rule: &'a CompiledRule,
}

impl Wanted<'_> {
    /// Whether selection compares this image's tags and judges soaks.
    fn soaks(&self) -> bool {
        self.rule.update != UpdateStrategy::Digest && self.rule.min_age.is_some()
    }
}

/// Gathers what drift evaluation needs about `images` (as written in
/// workloads) under `rules`. Missing answers are recorded with their reason,
/// so evaluation reports them as `Unknown`. `first_seen` holds the policy's
/// records of first sightings where they are kept (the operator), and
/// `None` where they are not (`refit scan`).
pub async fn gather(
    resolver: &Resolver,
    images: &[String],
    rules: &ImageRules,
    rolled_back: &HashMap<String, RolledBackTags>,
    now: DateTime<Utc>,
    mut first_seen: Option<&mut FirstSeenScan>,
) -> RegistryFacts {
    let mut wanted: Vec<Wanted<'_>> = Vec::new();
    let distinct: BTreeSet<&String> = images.iter().collect();
    for image in distinct {
        let Ok(reference) = ImageReference::parse(image) else {
            continue;
        };
        if let Some(rule) = rules.rule_for(reference.name()) {
            wanted.push(Wanted { reference, rule });
        }
    }
    let mut facts = RegistryFacts::default();

    // Tag lists, once per repository that compares versions.
    let mut repositories: BTreeMap<String, (String, String)> = BTreeMap::new();
    for w in wanted.iter().filter(|w| w.rule.update != UpdateStrategy::Digest) {
        repositories.insert(
            w.reference.name().to_owned(),
            (w.reference.registry().to_owned(), w.reference.repository().to_owned()),
        );
    }
    let lists = join_all(repositories.iter().map(|(name, (registry, repository))| async move {
        (name.clone(), resolver.tags(registry, repository).await)
    }))
    .await;
    let soaked: BTreeSet<&str> = wanted
        .iter()
        .filter(|w| w.soaks())
        .map(|w| w.reference.name())
        .collect();
    let mut tag_lists: HashMap<String, Vec<String>> = HashMap::new();
    for (name, result) in lists {
        let records = first_seen.as_deref_mut().filter(|_| soaked.contains(name.as_str()));
        match (result, records) {
            (Ok(tags), records) => {
                if let Some(records) = records {
                    records.listed(&name, now);
                }
                tag_lists.insert(name, tags.as_ref().clone());
            }
            (Err(error), records) => {
                if let Some(records) = records {
                    records.not_listed(&name);
                }
                facts.set_tags(&name, Err(error.to_string()));
            }
        }
    }

    // What each tag in use points at now.
    let current: BTreeSet<(String, String, String)> = wanted
        .iter()
        .filter_map(|w| {
            let tag = w.reference.effective_tag()?;
            Some((
                w.reference.registry().to_owned(),
                w.reference.repository().to_owned(),
                tag.to_owned(),
            ))
        })
        .collect();
    let mut created: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    resolve_tags(resolver, current, &mut facts, &mut created).await;

    // Candidates: select, reading build times where a soak time needs them
    // and, in the operator, recording first sightings of what the walks
    // judged. A record made at a repository's first listing can change what
    // a walk of that repository chose before it (the tag then soaks from its
    // build time), so once anything was recorded every image is chosen
    // again, with the records as evaluation will read them.
    let mut candidates: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut recorded = 0;
    for may_record in [true, false] {
        if !may_record && recorded == 0 {
            break;
        }
        candidates.clear();
        for w in wanted.iter().filter(|w| w.rule.update != UpdateStrategy::Digest) {
            let name = w.reference.name();
            let (Some(tags), Some(tag)) = (tag_lists.get(name), w.reference.effective_tag()) else {
                continue;
            };
            let choosing = Choosing {
                wanted: w,
                tag,
                tags,
                rolled_back: rolled_back.get(name),
                now,
                may_record,
            };
            let (candidate, made) =
                choose(resolver, &choosing, &mut facts, &mut created, first_seen.as_deref_mut()).await;
            recorded += made;
            if let Some(candidate) = candidate {
                candidates.insert((
                    w.reference.registry().to_owned(),
                    w.reference.repository().to_owned(),
                    candidate,
                ));
            }
        }
    }
    resolve_tags(resolver, candidates, &mut facts, &mut created).await;

    for (name, tags) in &tag_lists {
        facts.set_tags(name, Ok(index_with_ages(name, tags, &created)));
    }
    facts
}

/// One image's selection, as [`choose`] makes it.
struct Choosing<'a> {
    wanted: &'a Wanted<'a>,
    /// Its tag.
    tag: &'a str,
    /// Its repository's tags.
    tags: &'a [String],
    /// Its repository's tags rolled back earlier.
    rolled_back: Option<&'a RolledBackTags>,
    /// When the scan runs.
    now: DateTime<Utc>,
    /// Whether first sightings may be recorded (by the final walk).
    may_record: bool,
}

/// Selects the candidate of one image, reading the build times of the
/// newest candidates of unknown age, at most [`AGE_ROUNDS`] times. The
/// final walk records first sightings when `may_record` (and the walk runs
/// again if it did), and what it judged is marked as looked at. Returns the
/// candidate and how many tags it recorded.
async fn choose(
    resolver: &Resolver,
    choosing: &Choosing<'_>,
    facts: &mut RegistryFacts,
    created: &mut HashMap<(String, String), DateTime<Utc>>,
    mut first_seen: Option<&mut FirstSeenScan>,
) -> (Option<String>, usize) {
    let reference = &choosing.wanted.reference;
    let name = reference.name();
    let empty = RolledBackTags::new();
    let rolled_back = choosing.rolled_back.unwrap_or(&empty);
    let (mut rounds, mut may_record, mut recorded) = (0, choosing.may_record, 0);
    loop {
        let index = index_with_ages(name, choosing.tags, created);
        let sightings = first_seen
            .as_deref()
            .map_or(Sightings::NotKept, |records| records.records().sightings(name));
        let selection = select(
            choosing.tag,
            choosing.wanted.rule,
            &index,
            choosing.now,
            rolled_back,
            sightings,
        );
        if !selection.unknown_ages.is_empty() && rounds < AGE_ROUNDS {
            let unknown_ages: BTreeSet<(String, String, String)> = selection
                .unknown_ages
                .iter()
                .take(AGES_PER_ROUND)
                .map(|tag| {
                    (
                        reference.registry().to_owned(),
                        reference.repository().to_owned(),
                        (*tag).to_owned(),
                    )
                })
                .collect();
            let known_before = created.len();
            resolve_tags(resolver, unknown_ages, facts, created).await;
            rounds += 1;
            // Nothing new learnt (the registry gives no build times): this
            // walk is final.
            if created.len() > known_before {
                continue;
            }
        }
        if may_record && let Some(records) = first_seen.as_deref_mut() {
            may_record = false;
            let made = records.record_first_sightings(name, &selection.soak_judged, choosing.now);
            if made > 0 {
                recorded += made;
                continue;
            }
        }
        // What the final walk judged is what evaluation judges: the records
        // a full scan keeps. (Earlier walks, with fewer build times known,
        // judge more.)
        if let Some(records) = first_seen.as_deref_mut() {
            records.looked_at(name, selection.soak_judged.iter().copied());
        }
        return (selection.candidate().map(str::to_owned), recorded);
    }
}

/// Reads the facts of tags not read yet, concurrently.
async fn resolve_tags(
    resolver: &Resolver,
    tags: BTreeSet<(String, String, String)>,
    facts: &mut RegistryFacts,
    created: &mut HashMap<(String, String), DateTime<Utc>>,
) {
    let todo: Vec<(String, String, String)> = tags
        .into_iter()
        .filter(|(registry, repository, tag)| {
            facts
                .repository(&format!("{registry}/{repository}"))
                .is_none_or(|repo| !repo.tag_facts.contains_key(tag.as_str()))
        })
        .collect();
    let answers = join_all(
        todo.iter()
            .map(|(registry, repository, tag)| resolver.tag_facts(registry, repository, tag)),
    )
    .await;
    for ((registry, repository, tag), answer) in todo.into_iter().zip(answers) {
        let name = format!("{registry}/{repository}");
        if let Ok(tag_facts) = &answer
            && let Some(time) = tag_facts.created
        {
            created.insert((name.clone(), tag.clone()), time);
        }
        facts.insert_tag(&name, &tag, answer.map_err(|error| error.to_string()));
    }
}

fn index_with_ages(name: &str, tags: &[String], created: &HashMap<(String, String), DateTime<Utc>>) -> TagIndex {
    TagIndex::new(tags.iter().map(|tag| TagInfo {
        tag: tag.clone(),
        created: created.get(&(name.to_owned(), tag.clone())).copied(),
    }))
}
