//! Gathering the registry facts a scan needs, asking each registry as
//! little as possible: one tag list per repository whose rules compare
//! versions, one HEAD per tag in use (and per candidate), manifests and
//! configs only for digests not seen before. Build times are read only for
//! candidates a `minAge` must judge, newest first.

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

/// Gathers what drift evaluation needs about `images` (as written in
/// workloads) under `rules`. Missing answers are recorded with their reason,
/// so evaluation reports them as `Unknown`.
pub async fn gather(
    resolver: &Resolver,
    images: &[String],
    rules: &ImageRules,
    rolled_back: &HashMap<String, RolledBackTags>,
    now: DateTime<Utc>,
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
    let mut tag_lists: HashMap<String, Vec<String>> = HashMap::new();
    for (name, result) in lists {
        match result {
            Ok(tags) => {
                tag_lists.insert(name, tags.as_ref().clone());
            }
            Err(error) => facts.set_tags(&name, Err(error.to_string())),
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

    // Candidates: select, reading build times where a soak time needs them.
    let mut candidates: BTreeSet<(String, String, String)> = BTreeSet::new();
    for w in wanted.iter().filter(|w| w.rule.update != UpdateStrategy::Digest) {
        let name = w.reference.name();
        let (Some(tags), Some(tag)) = (tag_lists.get(name), w.reference.effective_tag()) else {
            continue;
        };
        let empty = RolledBackTags::new();
        let bad = rolled_back.get(name).unwrap_or(&empty);
        let mut rounds = 0;
        let candidate = loop {
            let index = index_with_ages(name, tags, &created);
            let selection = select(tag, w.rule, &index, now, bad);
            let unknown_ages: BTreeSet<(String, String, String)> = selection
                .unknown_ages
                .iter()
                .take(AGES_PER_ROUND)
                .map(|tag| {
                    (
                        w.reference.registry().to_owned(),
                        w.reference.repository().to_owned(),
                        (*tag).to_owned(),
                    )
                })
                .collect();
            let known_before = created.len();
            if unknown_ages.is_empty() || rounds == AGE_ROUNDS {
                break selection.candidate().map(str::to_owned);
            }
            resolve_tags(resolver, unknown_ages, &mut facts, &mut created).await;
            rounds += 1;
            if created.len() == known_before {
                // Nothing new was learnt (the registry gives no build
                // times): this selection is final.
                break selection.candidate().map(str::to_owned);
            }
        };
        if let Some(candidate) = candidate {
            candidates.insert((
                w.reference.registry().to_owned(),
                w.reference.repository().to_owned(),
                candidate,
            ));
        }
    }
    resolve_tags(resolver, candidates, &mut facts, &mut created).await;

    for (name, tags) in &tag_lists {
        facts.set_tags(name, Ok(index_with_ages(name, tags, &created)));
    }
    facts
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
