//! Core engine throughput: drift evaluation of 100,000 containers across
//! 2,000 repositories with real tag histories (hundreds of tags each; a few
//! repositories carry node's ~9,000 and python's ~3,900 tags).
//!
//! Tag lists are indexed once per repository (measured separately, as
//! `index`); digests of the tags in use and of their candidates are known,
//! as after the registry layer's pass. Then every workload is evaluated by
//! one `core::drift::Evaluator`, as a scan does: reference parsing, rule
//! lookup, version selection, digest comparison and the reason text.
//!
//! Two distributions of tags over containers:
//! - `clustered`: each repository has 1 to 5 tags in use (a cluster runs a
//!   few versions of each image, in many workloads);
//! - `scattered`: every container picks any tag of its repository, so
//!   almost every container is a different image (the worst case).
//!
//! Run with `cargo bench -p refit --bench core`; criterion prints the
//! throughput in elements (containers or tags) per second.

use std::{collections::HashMap, hint::black_box, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use refit::{
    api::patch_policy::PatchPolicySpec,
    core::{
        drift::{
            EvaluationContext, Evaluator, NodeSnapshot, PodContainer, PodRevision, PodSnapshot, RegistryFacts,
            RuntimeBaselines, TagFacts, TemplateContainer,
        },
        intern::Interner,
        policy::{CompiledRule, ImageRules},
        reference::Digest,
        selection::{RolledBackTags, select},
        soak::Sightings,
        version::{TagIndex, TagInfo, TagVersion},
    },
};

const REPOSITORIES: usize = 2_000;
const CONTAINERS: usize = 100_000;
/// Repositories that carry a whole long history (node, python).
const LARGE_REPOSITORIES: usize = 20;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("valid instant")
}

/// A small deterministic generator, so every run measures the same work.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

fn digest_for(repository: usize, tag: &str) -> Digest {
    let mut hex = format!("{repository:016x}");
    for byte in tag.bytes() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex.truncate(64);
    while hex.len() < 64 {
        hex.push('0');
    }
    Digest::parse(&format!("sha256:{hex}")).expect("valid digest")
}

/// Repository `i`'s tag list: a window of a real history (a few hundred
/// tags), or, for the first few, a whole long one.
fn tag_list(i: usize, histories: &[Vec<TagInfo>], rng: &mut Lcg) -> Vec<TagInfo> {
    if i < LARGE_REPOSITORIES {
        return histories[1 + i % 2].clone();
    }
    let history = &histories[i % histories.len()];
    let length = 200 + rng.next(600);
    let start = rng.next(history.len().saturating_sub(length).max(1));
    history[start..(start + length).min(history.len())].to_vec()
}

struct Workload {
    template: Vec<TemplateContainer>,
    pods: Vec<PodSnapshot>,
}

struct Scenario {
    rules: ImageRules,
    registry: RegistryFacts,
    workloads: Vec<Workload>,
    tag_lists: Vec<Vec<TagInfo>>,
}

/// How containers pick their tags.
#[derive(Clone, Copy)]
enum Spread {
    /// 1–5 tags in use per repository.
    Clustered,
    /// Any tag of the repository.
    Scattered,
}

fn scenario(spread: Spread) -> Scenario {
    // nginx, node, python, postgres, redis: `tag_list` takes node and
    // python whole for the large repositories.
    let histories: Vec<Vec<TagInfo>> = refit::testdata::tag_histories()
        .into_iter()
        .map(|(_, tags)| tags)
        .collect();
    let mut rng = Lcg(0x5eed);
    let spec: PatchPolicySpec = serde_json::from_value(serde_json::json!({
        "images": [
            {"match": "registry.example/team-0*/**", "update": "patch"},
            {"match": "registry.example/team-1*/**", "update": "minor", "minAge": "3d"},
            {"match": "registry.example/team-2*/**", "update": "major", "constraint": "<30"},
            {"match": "registry.example/**", "update": "minor"},
        ]
    }))
    .expect("valid spec");
    let rules = ImageRules::compile(&spec).expect("valid rules");

    let mut registry = RegistryFacts::default();
    let mut tag_lists = Vec::with_capacity(REPOSITORIES);
    let mut version_tags: Vec<Vec<String>> = Vec::with_capacity(REPOSITORIES);
    for i in 0..REPOSITORIES {
        let tags = tag_list(i, &histories, &mut rng);
        let name = repository_name(i);
        version_tags.push(
            tags.iter()
                .filter(|t| TagVersion::parse(&t.tag).is_some())
                .map(|t| t.tag.clone())
                .collect(),
        );
        registry.set_tags(&name, Ok(TagIndex::new(tags.clone())));
        tag_lists.push(tags);
    }
    if let Spread::Clustered = spread {
        for tags in &mut version_tags {
            let in_use = 1 + rng.next(5);
            let picked: Vec<String> = (0..in_use).map(|_| tags[rng.next(tags.len())].clone()).collect();
            *tags = picked;
        }
    }

    let mut workloads = Vec::new();
    let mut interner = Interner::default();
    let mut containers = 0;
    while containers < CONTAINERS {
        let count = (1 + rng.next(3)).min(CONTAINERS - containers);
        let mut template = Vec::new();
        let mut pod_containers = Vec::new();
        for c in 0..count {
            let repository = rng.next(REPOSITORIES);
            let tags = &version_tags[repository];
            let tag = tags[rng.next(tags.len())].clone();
            let image = format!("{}:{tag}", repository_name(repository));
            // One pod in ten runs a digest the tag no longer points at.
            let running = if rng.next(10) == 0 {
                digest_for(repository, "rebuilt")
            } else {
                digest_for(repository, &tag)
            };
            // Every string goes through one interner, as in the cluster
            // snapshot that hands workloads to evaluation.
            let name = interner.intern(&format!("c{c}"));
            let image = interner.intern(&image);
            template.push(TemplateContainer {
                name: name.clone(),
                image: image.clone(),
                init: false,
            });
            pod_containers.push(PodContainer {
                name,
                init: false,
                image_id: Some(interner.intern(&format!("{}@{running}", repository_name(repository)))),
                image,
            });
        }
        containers += count;
        let pods = vec![PodSnapshot {
            name: format!("w{}-pod", workloads.len()),
            node: Some("node-1".into()),
            revision: PodRevision::Current,
            containers: pod_containers,
        }];
        workloads.push(Workload { template, pods });
    }
    resolve_digests(&mut registry, &rules, &workloads);
    Scenario {
        rules,
        registry,
        workloads,
        tag_lists,
    }
}

/// What the registry layer does before evaluation: resolve the digest of
/// every tag in use and of its candidate (one HEAD each).
fn resolve_digests(registry: &mut RegistryFacts, rules: &ImageRules, workloads: &[Workload]) {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for container in workloads.iter().flat_map(|w| &w.template) {
        let (repository, tag) = container.image.rsplit_once(':').expect("repo:tag");
        wanted.push((repository.to_owned(), tag.to_owned()));
        let rule = rules.rule_for(repository).expect("every repository is governed");
        let facts = registry.repository(repository).expect("tags known");
        let index = facts.tags.as_ref().and_then(|t| t.as_ref().ok()).expect("tags known");
        let selection = select(tag, rule, index, now(), &RolledBackTags::new(), Sightings::NotKept);
        if let Some(candidate) = selection.candidate() {
            wanted.push((repository.to_owned(), candidate.to_owned()));
        }
    }
    for (repository, tag) in wanted {
        let number: usize = repository
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("app-<n>");
        let facts = TagFacts {
            digest: Some(digest_for(number, &tag)),
            ..TagFacts::default()
        };
        registry.insert_tag(&repository, &tag, Ok(facts));
    }
}

fn repository_name(i: usize) -> String {
    format!("registry.example/team-{}/app-{i}", i % 30)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for (spread, label) in [(Spread::Clustered, "clustered"), (Spread::Scattered, "scattered")] {
        let scenario = scenario(spread);
        let nodes: HashMap<String, NodeSnapshot> = HashMap::new();
        let rolled_back: HashMap<String, RolledBackTags> = HashMap::new();
        let baselines = RuntimeBaselines::default();
        let context = EvaluationContext {
            rules: &scenario.rules,
            check_base_images: true,
            baselines: &baselines,
            registry: &scenario.registry,
            nodes: &nodes,
            rolled_back: &rolled_back,
            first_seen: None,
            now: now(),
        };
        group.throughput(Throughput::Elements(CONTAINERS as u64));
        group.bench_function(format!("evaluate 100k containers, 2k repositories, {label}"), |b| {
            b.iter(|| {
                let mut evaluator = Evaluator::new(context);
                let mut outdated = 0usize;
                for workload in &scenario.workloads {
                    let findings = evaluator.evaluate(&workload.template, &workload.pods);
                    outdated += findings
                        .containers
                        .iter()
                        .filter(|f| f.verdict.candidate.is_some())
                        .count();
                }
                black_box(outdated)
            })
        });
        // Version selection alone, for the same containers: the decision
        // itself, without reading pods or building findings.
        let selections: Vec<(&TagIndex, &str, &CompiledRule)> = scenario
            .workloads
            .iter()
            .flat_map(|w| &w.template)
            .map(|container| {
                let (repository, tag) = container.image.rsplit_once(':').expect("repo:tag");
                let facts = scenario.registry.repository(repository).expect("known");
                let index = facts.tags.as_ref().and_then(|t| t.as_ref().ok()).expect("known");
                (index, tag, scenario.rules.rule_for(repository).expect("governed"))
            })
            .collect();
        group.bench_function(format!("select 100k containers, {label}"), |b| {
            b.iter(|| {
                let none = RolledBackTags::new();
                let mut found = 0usize;
                for (index, tag, rule) in &selections {
                    found += usize::from(
                        select(tag, rule, index, now(), &none, Sightings::NotKept)
                            .candidate()
                            .is_some(),
                    );
                }
                black_box(found)
            })
        });
        if let Spread::Scattered = spread {
            let total_tags: usize = scenario.tag_lists.iter().map(Vec::len).sum();
            group.throughput(Throughput::Elements(total_tags as u64));
            group.bench_function(format!("index {total_tags} tags of 2k repositories"), |b| {
                b.iter(|| {
                    for tags in &scenario.tag_lists {
                        black_box(TagIndex::new(tags.iter().cloned()));
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
