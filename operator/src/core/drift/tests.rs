//! Drift evaluation of realistic workloads: the storefront's nginx web tier
//! and its own images, with pods reporting what they really run.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use super::{evaluator::VERDICTS_PER_IMAGE, *};
use crate::{
    api::{change_ticket::ChangeReason, drift_report::FindingState},
    core::{
        policy::ImageRules,
        reference::Digest,
        selection::RolledBackTags,
        version::{TagIndex, TagInfo},
    },
};

fn digest(seed: &str) -> Digest {
    use sha2::{Digest as _, Sha256};
    let hash = Sha256::digest(seed.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    Digest::parse(&format!("sha256:{hex}")).expect("valid digest")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().expect("valid")
}

const NGINX: &str = "docker.io/library/nginx";
const APP: &str = "ghcr.io/acme/storefront";

/// nginx's alpine tags from 1.29.7 on, each a month old, plus `latest`.
fn nginx_tags() -> TagIndex {
    let tags = [
        "1.29.7-alpine",
        "1.29.8-alpine",
        "1.30.4-alpine",
        "1.31.3-alpine",
        "1.31.4-alpine",
        "latest",
    ];
    TagIndex::new(tags.map(|tag| TagInfo {
        tag: tag.into(),
        created: Some(now() - chrono::Duration::days(30)),
    }))
}

struct World {
    rules: ImageRules,
    check_base_images: bool,
    baselines: RuntimeBaselines,
    registry: RegistryFacts,
    nodes: HashMap<String, NodeSnapshot>,
    rolled_back: HashMap<String, RolledBackTags>,
}

impl World {
    /// The storefront with the digests of nginx `1.29.8-alpine` (what most
    /// tests' workloads run) and of `1.31.4-alpine` (its candidate).
    fn nginx_a_minor_behind() -> World {
        World::storefront()
            .tag(NGINX, "1.29.8-alpine", points_at("1.29.8"))
            .tag(NGINX, "1.31.4-alpine", points_at("1.31.4"))
    }

    /// A policy that moves nginx by minor versions and follows our own
    /// images by digest, and a registry that knows nginx's tags.
    fn storefront() -> World {
        let spec = serde_json::from_value(serde_json::json!({
            "images": [
                {"match": "docker.io/library/nginx", "update": "minor"},
                {"match": "ghcr.io/acme/**", "update": "digest"},
            ]
        }))
        .expect("valid spec");
        let mut registry = RegistryFacts::default();
        registry.set_tags(NGINX, Ok(nginx_tags()));
        World {
            rules: ImageRules::compile(&spec).expect("valid rules"),
            check_base_images: true,
            baselines: RuntimeBaselines::default(),
            registry,
            nodes: HashMap::new(),
            rolled_back: HashMap::new(),
        }
    }

    fn tag(mut self, repository: &str, tag: &str, facts: TagFacts) -> World {
        self.registry.insert_tag(repository, tag, Ok(facts));
        self
    }

    fn context(&self) -> EvaluationContext<'_> {
        EvaluationContext {
            rules: &self.rules,
            check_base_images: self.check_base_images,
            baselines: &self.baselines,
            registry: &self.registry,
            nodes: &self.nodes,
            rolled_back: &self.rolled_back,
            first_seen: None,
            now: now(),
        }
    }

    fn evaluate(&self, template: &[TemplateContainer], pods: &[PodSnapshot]) -> WorkloadFindings {
        evaluate(template, pods, &self.context())
    }
}

fn points_at(seed: &str) -> TagFacts {
    TagFacts {
        digest: Some(digest(seed)),
        ..TagFacts::default()
    }
}

fn container(name: &str, image: &str) -> TemplateContainer {
    TemplateContainer {
        name: name.into(),
        image: image.into(),
        init: false,
    }
}

/// A current-revision pod running `image` as `imageID` digest `seed`.
fn pod(name: &str, containers: &[(&str, &str, &str)]) -> PodSnapshot {
    PodSnapshot {
        name: name.into(),
        node: Some("node-a".into()),
        revision: PodRevision::Current,
        containers: containers
            .iter()
            .map(|(container, image, seed)| PodContainer {
                name: (*container).into(),
                init: false,
                image: (*image).into(),
                image_id: Some(format!("docker.io/library/nginx@{}", digest(seed)).into()),
            })
            .collect(),
    }
}

#[test]
fn an_nginx_with_a_newer_minor_is_outdated_and_pinned_to_the_candidates_digest() {
    let world = World::nginx_a_minor_behind();
    let findings = world.evaluate(
        &[container("web", "nginx:1.29.8-alpine")],
        &[pod("web-7d9f-abcde", &[("web", "nginx:1.29.8-alpine", "1.29.8")])],
    );
    let web = &findings.containers[0];
    assert_eq!(web.verdict.state, FindingState::Outdated);
    assert_eq!(
        web.verdict.candidate.as_ref().map(ToString::to_string),
        Some(format!("docker.io/library/nginx:1.31.4-alpine@{}", digest("1.31.4")))
    );
    assert_eq!(web.verdict.change_reason, Some(ChangeReason::NewerVersion));
    assert_eq!(
        web.verdict.current.as_ref().map(ToString::to_string),
        Some(format!("docker.io/library/nginx:1.29.8-alpine@{}", digest("1.29.8")))
    );
    assert!(
        web.verdict.reason.starts_with("1.31.4-alpine is the newest allowed"),
        "{}",
        web.verdict.reason
    );
    assert_eq!(web.verdict.running_digests[..], [digest("1.29.8")]);
    assert!(web.verdict.actionable);
}

#[test]
fn a_candidate_whose_digest_is_unknown_is_reported_without_a_pin() {
    let world = World::storefront().tag(NGINX, "1.29.8-alpine", points_at("1.29.8"));
    let findings = world.evaluate(&[container("web", "nginx:1.29.8-alpine")], &[]);
    let web = &findings.containers[0];
    assert_eq!(web.verdict.state, FindingState::Outdated);
    assert_eq!(
        web.verdict.candidate.as_ref().map(ToString::to_string).as_deref(),
        Some("docker.io/library/nginx:1.31.4-alpine")
    );
    assert!(
        web.verdict
            .reason
            .contains("digest of 1.31.4-alpine unknown, so it cannot be pinned yet"),
        "{}",
        web.verdict.reason
    );
}

#[test]
fn an_unreachable_registry_is_unknown_never_up_to_date() {
    let mut world = World::storefront();
    world
        .registry
        .set_tags(NGINX, Err("registry docker.io answered 503 three times".into()));
    world.registry.insert_tag(
        NGINX,
        "1.31.4-alpine",
        Err("registry docker.io answered 503 three times".into()),
    );
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        &[pod("web-1", &[("web", "nginx:1.31.4-alpine", "1.31.4")])],
    );
    let web = &findings.containers[0];
    assert_eq!(web.verdict.state, FindingState::Unknown);
    assert_eq!(
        web.verdict.reason.as_ref(),
        "tags and the digest of 1.31.4-alpine unknown (registry docker.io answered 503 three times)"
    );
}

#[test]
fn the_newest_tag_running_its_current_digest_is_up_to_date() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        &[pod("web-1", &[("web", "nginx:1.31.4-alpine", "1.31.4")])],
    );
    assert_eq!(findings.containers[0].verdict.state, FindingState::UpToDate);
    assert!(
        findings.containers[0]
            .verdict
            .reason
            .starts_with("no newer tag allowed for 1.31.4-alpine")
    );
}

#[test]
fn a_tag_rebuilt_since_the_pods_pulled_it_is_digest_drift() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4 rebuilt"));
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        &[pod("web-1", &[("web", "nginx:1.31.4-alpine", "1.31.4")])],
    );
    let web = &findings.containers[0];
    assert_eq!(web.verdict.state, FindingState::DigestDrift);
    assert_eq!(web.verdict.change_reason, Some(ChangeReason::DigestDrift));
    assert_eq!(
        web.verdict.reason.as_ref(),
        format!(
            "1.31.4-alpine now points at {}; pods run {}",
            digest("1.31.4 rebuilt").short(),
            digest("1.31.4").short()
        )
    );
    assert_eq!(
        web.verdict.candidate.as_ref().map(ToString::to_string),
        Some(format!(
            "docker.io/library/nginx:1.31.4-alpine@{}",
            digest("1.31.4 rebuilt")
        ))
    );
}

#[test]
fn pods_that_pulled_a_tag_at_different_times_are_digest_drift() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4 rebuilt"));
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        &[
            pod("web-1", &[("web", "nginx:1.31.4-alpine", "1.31.4")]),
            pod("web-2", &[("web", "nginx:1.31.4-alpine", "1.31.4 rebuilt")]),
        ],
    );
    assert_eq!(findings.containers[0].verdict.state, FindingState::DigestDrift);
    assert_eq!(findings.containers[0].verdict.running_digests.len(), 2);
}

#[test]
fn a_platform_manifest_of_the_tags_index_is_the_same_image() {
    let facts = TagFacts {
        digest: Some(digest("index")),
        platform_digests: vec![digest("linux/amd64"), digest("linux/arm64")],
        ..TagFacts::default()
    };
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", facts);
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        &[
            pod("web-1", &[("web", "nginx:1.31.4-alpine", "linux/amd64")]),
            pod("web-2", &[("web", "nginx:1.31.4-alpine", "index")]),
        ],
    );
    assert_eq!(
        findings.containers[0].verdict.state,
        FindingState::UpToDate,
        "{}",
        findings.containers[0].verdict.reason
    );
}

#[test]
fn bare_image_ids_compare_with_config_digests_or_stay_unknown() {
    let mut running = pod("web-1", &[("web", "nginx:1.31.4-alpine", "unused")]);
    running.containers[0].image_id = Some(digest("config").to_string().into());
    let known = TagFacts {
        config_digests: vec![digest("config")],
        ..points_at("1.31.4")
    };
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", known);
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        std::slice::from_ref(&running),
    );
    assert_eq!(findings.containers[0].verdict.state, FindingState::UpToDate);

    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let findings = world.evaluate(&[container("web", "nginx:1.31.4-alpine")], &[running]);
    assert_eq!(findings.containers[0].verdict.state, FindingState::Unknown);
    assert_eq!(
        findings.containers[0].verdict.reason.as_ref(),
        "the pods report image IDs that cannot be compared with the registry"
    );
}

#[test]
fn a_pinned_digest_behind_its_tag_is_digest_drift() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4 rebuilt"));
    let image = format!("nginx:1.31.4-alpine@{}", digest("1.31.4"));
    let findings = world.evaluate(
        &[container("web", &image)],
        &[pod("web-1", &[("web", &image, "1.31.4")])],
    );
    let web = &findings.containers[0];
    assert_eq!(web.verdict.state, FindingState::DigestDrift);
    assert_eq!(
        web.verdict.reason.as_ref(),
        format!(
            "pinned {} but 1.31.4-alpine now points at {}",
            digest("1.31.4").short(),
            digest("1.31.4 rebuilt").short()
        )
    );
}

fn built_on_node(current: Result<Digest, String>) -> TagFacts {
    TagFacts {
        base: Some(BaseFacts {
            name: "docker.io/library/node:22.21-alpine3.22".into(),
            built_on: Some(digest("node 22.21 old")),
            current,
        }),
        ..points_at("storefront 2.14.1")
    }
}

#[test]
fn an_image_built_on_a_patched_base_is_base_outdated() {
    let world = World::storefront().tag(APP, "2.14.1", built_on_node(Ok(digest("node 22.21 new"))));
    let findings = world.evaluate(
        &[container("app", "ghcr.io/acme/storefront:2.14.1")],
        &[pod(
            "web-1",
            &[("app", "ghcr.io/acme/storefront:2.14.1", "storefront 2.14.1")],
        )],
    );
    let app = &findings.containers[0];
    assert_eq!(app.verdict.state, FindingState::BaseOutdated);
    assert_eq!(app.verdict.change_reason, Some(ChangeReason::BaseImageOutdated));
    assert_eq!(
        app.verdict.reason.as_ref(),
        "base docker.io/library/node:22.21-alpine3.22 now resolves to another digest"
    );
    let base = app.verdict.base.as_ref().expect("base reported");
    assert_eq!(base.built_on, Some(digest("node 22.21 old").to_string()));
    assert_eq!(base.current, Some(digest("node 22.21 new").to_string()));
}

#[test]
fn a_base_that_cannot_be_resolved_is_unknown() {
    let world = World::storefront().tag(APP, "2.14.1", built_on_node(Err("ghcr.io: 401 Unauthorized".into())));
    let findings = world.evaluate(&[container("app", "ghcr.io/acme/storefront:2.14.1")], &[]);
    assert_eq!(findings.containers[0].verdict.state, FindingState::Unknown);
    assert_eq!(
        findings.containers[0].verdict.reason.as_ref(),
        "base docker.io/library/node:22.21-alpine3.22 unknown (ghcr.io: 401 Unauthorized)"
    );
}

#[test]
fn base_images_are_ignored_when_the_policy_does_not_ask() {
    let mut world = World::storefront().tag(APP, "2.14.1", built_on_node(Ok(digest("node 22.21 new"))));
    world.check_base_images = false;
    let findings = world.evaluate(&[container("app", "ghcr.io/acme/storefront:2.14.1")], &[]);
    assert_eq!(findings.containers[0].verdict.state, FindingState::UpToDate);
    assert!(findings.containers[0].verdict.base.is_none());
}

#[test]
fn an_outdated_image_mentions_its_outdated_base_too() {
    let facts = TagFacts {
        base: Some(BaseFacts {
            name: "docker.io/library/alpine:3.22".into(),
            built_on: Some(digest("alpine old")),
            current: Ok(digest("alpine new")),
        }),
        ..points_at("1.29.8")
    };
    let world = World::storefront()
        .tag(NGINX, "1.29.8-alpine", facts)
        .tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let findings = world.evaluate(&[container("web", "nginx:1.29.8-alpine")], &[]);
    assert_eq!(findings.containers[0].verdict.state, FindingState::Outdated);
    assert!(
        findings.containers[0]
            .verdict
            .reason
            .ends_with("; base docker.io/library/alpine:3.22 now resolves to another digest")
    );
}

#[test]
fn latest_followed_by_digest_is_current_or_drifted() {
    let world = World::storefront().tag(APP, "latest", points_at("app latest"));
    let current = world.evaluate(
        &[container("app", "ghcr.io/acme/storefront")],
        &[pod("web-1", &[("app", "ghcr.io/acme/storefront", "app latest")])],
    );
    assert_eq!(current.containers[0].verdict.state, FindingState::UpToDate);
    assert_eq!(
        &*current.containers[0].verdict.reason,
        "latest points at the digest the pods run"
    );

    let drifted = world.evaluate(
        &[container("app", "ghcr.io/acme/storefront")],
        &[pod("web-1", &[("app", "ghcr.io/acme/storefront", "app yesterday")])],
    );
    assert_eq!(drifted.containers[0].verdict.state, FindingState::DigestDrift);
}

#[test]
fn a_name_tag_under_a_version_rule_cannot_be_called_up_to_date() {
    let world = World::storefront().tag(NGINX, "latest", points_at("latest"));
    let findings = world.evaluate(
        &[container("web", "nginx:latest")],
        &[pod("web-1", &[("web", "nginx:latest", "latest")])],
    );
    assert_eq!(findings.containers[0].verdict.state, FindingState::Unknown);
    assert!(
        findings.containers[0]
            .verdict
            .reason
            .starts_with("`latest` is not a version")
    );
}

#[test]
fn images_no_rule_governs_are_left_out_and_unreadable_ones_are_unknown() {
    let world = World::storefront();
    let findings = world.evaluate(
        &[
            container("exporter", "quay.io/prometheus/nginx-exporter:1.4.0"),
            container("broken", "Nginx:1.25"),
        ],
        &[],
    );
    assert_eq!(findings.containers.len(), 1);
    assert_eq!(&*findings.containers[0].name, "broken");
    assert_eq!(findings.containers[0].verdict.state, FindingState::Unknown);
    assert!(
        findings.containers[0]
            .verdict
            .reason
            .starts_with("the image reference cannot be read: image `Nginx:1.25`")
    );
}

#[test]
fn a_report_only_rule_reports_but_is_not_actionable() {
    let spec =
        serde_json::from_value(serde_json::json!({"images": [{"match": "nginx", "update": "none"}]})).expect("spec");
    let mut world = World::storefront().tag(NGINX, "1.29.8-alpine", points_at("1.29.8"));
    world.rules = ImageRules::compile(&spec).expect("rules");
    let findings = world.evaluate(&[container("web", "nginx:1.29.8-alpine")], &[]);
    assert_eq!(findings.containers[0].verdict.state, FindingState::Outdated);
    assert!(!findings.containers[0].verdict.actionable);
    assert!(
        findings.containers[0]
            .verdict
            .reason
            .ends_with("; report only (update: none)")
    );
}

#[test]
fn containers_come_before_init_containers() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let init = TemplateContainer {
        name: "config".into(),
        image: "nginx:1.31.4-alpine".into(),
        init: true,
    };
    let findings = world.evaluate(&[init, container("web", "nginx:1.31.4-alpine")], &[]);
    let order: Vec<(&str, bool)> = findings.containers.iter().map(|c| (&*c.name, c.init)).collect();
    assert_eq!(order, [("web", false), ("config", true)]);
}

#[test]
fn a_container_injected_ahead_of_the_templates_does_not_hide_what_they_run() {
    let world = World::nginx_a_minor_behind();
    let template = [
        container("web", "nginx:1.29.8-alpine"),
        container("app", "ghcr.io/acme/storefront:2.14.1"),
    ];
    let in_order = pod(
        "web-7c9d-1",
        &[
            ("web", "nginx:1.29.8-alpine", "1.29.8 rebuilt"),
            ("app", "ghcr.io/acme/storefront:2.14.2", "2.14.2"),
        ],
    );
    // A mesh that puts its proxy first moves every template container one
    // place down; the same pod must read the same.
    let mut shifted = in_order.clone();
    shifted.containers.insert(
        0,
        PodContainer {
            name: "linkerd-proxy".into(),
            init: false,
            image: "cr.l5d.io/linkerd/proxy:edge-25.4.1".into(),
            image_id: Some(format!("cr.l5d.io/linkerd/proxy@{}", digest("proxy")).into()),
        },
    );
    let expected = world.evaluate(&template, &[in_order]);
    let found = world.evaluate(&template, &[shifted]);
    assert_eq!(found, expected);
    assert_eq!(
        found.containers[0].verdict.running_digests[..],
        [digest("1.29.8 rebuilt")]
    );
    let drifted: Vec<(&str, &str)> = found
        .pods
        .iter()
        .map(|p| (p.container.as_str(), p.image.as_str()))
        .collect();
    assert_eq!(drifted, [("app", "ghcr.io/acme/storefront:2.14.2")]);
}

#[test]
fn pods_off_their_template_are_drift_with_the_revision_that_tells_why() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let mut stuck = pod("web-old-1", &[("web", "nginx:1.30.4-alpine", "1.30.4")]);
    stuck.revision = PodRevision::Earlier;
    let edited = pod("web-new-1", &[("web", "nginx:1.31.3-alpine", "1.31.3")]);
    let current = pod("web-new-2", &[("web", "nginx:1.31.4-alpine", "1.31.4")]);
    let findings = world.evaluate(&[container("web", "nginx:1.31.4-alpine")], &[stuck, edited, current]);
    let found: Vec<(&str, &str, &PodRevision, bool)> = findings
        .pods
        .iter()
        .map(|p| (p.pod.as_str(), p.image.as_str(), &p.revision, p.hand_edited()))
        .collect();
    assert_eq!(
        found,
        [
            ("web-old-1", "nginx:1.30.4-alpine", &PodRevision::Earlier, false),
            ("web-new-1", "nginx:1.31.3-alpine", &PodRevision::Current, true),
        ]
    );
    assert!(findings.pods.iter().all(|p| p.template_image == "nginx:1.31.4-alpine"));
}

#[test]
fn a_cronjob_run_from_an_earlier_template_is_not_a_hand_edit() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let mut run = pod("nightly-29383920-x7k2p", &[("report", "nginx:1.30.4-alpine", "1.30.4")]);
    run.revision = PodRevision::CronJobRun {
        job: "nightly-29383920".into(),
    };
    let findings = world.evaluate(&[container("report", "nginx:1.31.4-alpine")], &[run]);
    assert_eq!(findings.pods.len(), 1);
    assert!(!findings.pods[0].hand_edited());
    assert_eq!(
        findings.pods[0].revision,
        PodRevision::CronJobRun {
            job: "nightly-29383920".into()
        }
    );
}

#[test]
fn an_injected_sidecar_below_its_baseline_is_runtime_outdated() {
    let mut world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    world
        .baselines
        .sidecars
        .insert("istio-proxy".into(), "docker.io/istio/proxyv2:1.27.3".into());
    let findings = world.evaluate(
        &[container("web", "nginx:1.31.4-alpine")],
        &[
            pod(
                "web-1",
                &[
                    ("web", "nginx:1.31.4-alpine", "1.31.4"),
                    ("istio-proxy", "docker.io/istio/proxyv2:1.26.4", "proxy 1.26.4"),
                ],
            ),
            pod(
                "web-2",
                &[
                    ("web", "nginx:1.31.4-alpine", "1.31.4"),
                    ("istio-proxy", "docker.io/istio/proxyv2:1.27.3", "proxy 1.27.3"),
                ],
            ),
        ],
    );
    let sidecars: Vec<(&str, FindingState)> = findings
        .containers
        .iter()
        .filter(|c| c.injected)
        .map(|c| (&*c.image, c.verdict.state))
        .collect();
    assert_eq!(
        sidecars,
        [
            ("docker.io/istio/proxyv2:1.26.4", FindingState::RuntimeOutdated),
            ("docker.io/istio/proxyv2:1.27.3", FindingState::UpToDate),
        ]
    );
    let outdated = findings
        .containers
        .iter()
        .find(|c| c.verdict.state == FindingState::RuntimeOutdated)
        .expect("outdated");
    assert_eq!(outdated.verdict.change_reason, Some(ChangeReason::RuntimeOutdated));
    assert_eq!(
        outdated.verdict.reason.as_ref(),
        "the sidecar baseline is docker.io/istio/proxyv2:1.27.3"
    );
}

#[test]
fn nodes_below_the_minimums_are_reported_per_component() {
    let mut world = World::storefront();
    world.baselines.kubelet = Some("1.33.4".into());
    world
        .baselines
        .container_runtimes
        .insert("containerd".into(), "1.7.20".into());
    world.baselines.kernel = Some("6.1.0".into());
    world.nodes.insert(
        "node-a".into(),
        NodeSnapshot {
            kubelet: Some("v1.32.9".into()),
            container_runtime: Some("containerd://1.7.13".into()),
            kernel: Some("6.1.0-18-amd64".into()),
        },
    );
    let findings = world.evaluate(&[], &[pod("web-1", &[])]);
    let components: Vec<(&str, &str, &str)> = findings
        .nodes
        .iter()
        .map(|n| (n.component.as_str(), n.version.as_str(), n.minimum.as_str()))
        .collect();
    assert_eq!(
        components,
        [
            ("kubelet", "v1.32.9", "1.33.4"),
            ("containerRuntime", "1.7.13", "1.7.20")
        ]
    );
}

#[test]
fn a_remembered_verdict_is_the_one_each_workload_would_get_alone() {
    let world = World::nginx_a_minor_behind();
    let context = world.context();
    let mut evaluator = Evaluator::new(context);
    let web = [container("web", "nginx:1.29.8-alpine")];
    // Two workloads at the tag's digest, then one at a rebuild of it: the
    // third must not inherit the first two's verdict.
    for (pod_name, seed, state) in [
        ("shop-1", "1.29.8", FindingState::Outdated),
        ("blog-1", "1.29.8", FindingState::Outdated),
        ("wiki-1", "1.29.8 rebuilt", FindingState::Outdated),
    ] {
        let pods = [pod(pod_name, &[("web", "nginx:1.29.8-alpine", seed)])];
        let shared = evaluator.evaluate(&web, &pods);
        assert_eq!(shared, evaluate(&web, &pods, &context), "{pod_name}");
        assert_eq!(shared.containers[0].verdict.state, state);
        assert_eq!(shared.containers[0].verdict.running_digests[..], [digest(seed)]);
    }
    let pods = [pod("wiki-1", &[("web", "nginx:1.29.8-alpine", "1.29.8 rebuilt")])];
    let rebuilt = evaluator.evaluate(&web, &pods);
    assert!(
        rebuilt.containers[0].verdict.reason.contains("pods run"),
        "{}",
        rebuilt.containers[0].verdict.reason
    );
}

#[test]
fn a_rollouts_two_image_ids_give_one_verdict_whichever_pod_reports_first() {
    let world = World::nginx_a_minor_behind();
    let mut evaluator = Evaluator::new(world.context());
    let web = [container("web", "nginx:1.29.8-alpine")];
    let old = pod("web-5f4c-1", &[("web", "nginx:1.29.8-alpine", "1.29.8")]);
    let rebuilt = pod("web-7d9f-1", &[("web", "nginx:1.29.8-alpine", "1.29.8 rebuilt")]);
    let first = evaluator.evaluate(&web, &[old.clone(), rebuilt.clone()]);
    let second = evaluator.evaluate(&web, &[rebuilt, old]);
    assert_eq!(first, second);
    let mut both = [digest("1.29.8"), digest("1.29.8 rebuilt")];
    both.sort();
    assert_eq!(first.containers[0].verdict.running_digests[..], both);
}

#[test]
fn one_digest_reported_in_other_spellings_is_judged_the_same() {
    let world = World::nginx_a_minor_behind();
    let context = world.context();
    let mut evaluator = Evaluator::new(context);
    let web = [container("web", "nginx:1.29.8-alpine")];
    // containerd, dockershim and a runtime that reports the short name.
    let spellings = [
        format!("docker.io/library/nginx@{}", digest("1.29.8")),
        format!("docker-pullable://nginx@{}", digest("1.29.8")),
        format!("nginx@{}", digest("1.29.8")),
    ];
    let mut verdicts = Vec::new();
    for image_id in &spellings {
        let mut pods = [pod("web-7d9f-1", &[("web", "nginx:1.29.8-alpine", "unused")])];
        pods[0].containers[0].image_id = Some(image_id.as_str().into());
        let shared = evaluator.evaluate(&web, &pods);
        assert_eq!(shared, evaluate(&web, &pods, &context), "reported as {image_id}");
        verdicts.push(shared.containers[0].verdict.clone());
    }
    assert!(verdicts.iter().all(|v| **v == *verdicts[0]));
    assert_eq!(verdicts[0].state, FindingState::Outdated);
    assert_eq!(verdicts[0].running_digests[..], [digest("1.29.8")]);
}

#[test]
fn an_image_seen_at_many_digests_is_judged_as_if_each_were_alone() {
    let world = World::storefront().tag(NGINX, "1.31.4-alpine", points_at("1.31.4"));
    let context = world.context();
    let mut evaluator = Evaluator::new(context);
    let web = [container("web", "nginx:1.31.4-alpine")];
    // More digests than an image remembers verdicts for, the tag's own
    // among them, twice.
    let seeds: Vec<String> = (0..VERDICTS_PER_IMAGE + 4)
        .map(|i| format!("rebuild {i}"))
        .chain(["1.31.4".to_owned()])
        .chain((0..3).map(|i| format!("rebuild {i}")))
        .chain(["1.31.4".to_owned()])
        .collect();
    for seed in &seeds {
        let pods = [pod("web-1", &[("web", "nginx:1.31.4-alpine", seed)])];
        let shared = evaluator.evaluate(&web, &pods);
        let alone = evaluate(&web, &pods, &context);
        assert_eq!(shared, alone, "running {seed}");
        let expected = if seed == "1.31.4" {
            FindingState::UpToDate
        } else {
            FindingState::DigestDrift
        };
        assert_eq!(shared.containers[0].verdict.state, expected, "running {seed}");
    }
}

#[test]
fn interned_strings_give_the_same_findings_as_separate_ones() {
    let template = [
        container("web", "nginx:1.29.8-alpine"),
        container("app", "ghcr.io/acme/storefront:2.14.1"),
    ];
    let pods = [
        pod("web-7c9d-1", &[("web", "nginx:1.29.8-alpine", "1.29.8")]),
        pod(
            "web-7c9d-2",
            &[
                ("web", "nginx:1.29.8-alpine", "1.29.8 rebuilt"),
                ("app", "ghcr.io/acme/storefront:2.14.2", "2.14.2"),
                ("istio-proxy", "docker.io/istio/proxyv2:1.24.1", "proxy"),
            ],
        ),
    ];
    // What the cluster snapshot does: every string through one interner.
    let mut interner = crate::core::intern::Interner::default();
    let interned_template: Vec<TemplateContainer> = template
        .iter()
        .map(|c| TemplateContainer {
            name: interner.intern(&c.name),
            image: interner.intern(&c.image),
            init: c.init,
        })
        .collect();
    let mut interned_pods = pods.clone();
    for container in interned_pods.iter_mut().flat_map(|p| &mut p.containers) {
        container.name = interner.intern(&container.name);
        container.image = interner.intern(&container.image);
        container.image_id = container.image_id.as_deref().map(|id| interner.intern(id));
    }

    let world = World::nginx_a_minor_behind();
    let separate = world.evaluate(&template, &pods);
    let interned = world.evaluate(&interned_template, &interned_pods);
    assert_eq!(separate, interned);
    // The hand edit is reported either way.
    let drifted: Vec<(&str, &str)> = interned
        .pods
        .iter()
        .map(|p| (p.container.as_str(), p.image.as_str()))
        .collect();
    assert_eq!(drifted, [("app", "ghcr.io/acme/storefront:2.14.2")]);
}
