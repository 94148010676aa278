//! The registry layer against a real registry (Debian's `docker-registry`
//! 2.8.2 on 127.0.0.1), with images pushed by oci-client and skopeo, and a
//! proxy in front where the registry cannot produce a behaviour (429 with
//! `Retry-After`, a bearer-token challenge, `Link` pages). Answers and
//! request counts are both asserted.

mod harness;
mod proxy;

use std::{
    collections::{BTreeMap, HashMap},
    process::Command,
    time::{Duration, Instant},
};

use chrono::{TimeZone, Utc};
use harness::{ImageSpec, Pusher, Scratch, TestRegistry, build, free_port, sha256, write_layout};
use proxy::{BearerAuth, Behaviour, Proxy};
use refit::{
    api::drift_report::FindingState,
    core::{
        drift::{
            EvaluationContext, PodContainer, PodRevision, PodSnapshot, RuntimeBaselines, TemplateContainer, evaluate,
        },
        policy::ImageRules,
        reference::Digest,
        soak::{FirstSeen, FirstSeenScan},
    },
    registry::{
        Resolver,
        credentials::DockerConfig,
        gather,
        settings::{RegistryEntry, RegistrySettings},
        stats::{RequestKind, RequestOutcome},
    },
};
use refit_apiserver::skip;

const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

fn settings_for(hosts: &[&str]) -> RegistrySettings {
    let mut settings = RegistrySettings {
        registries: hosts
            .iter()
            .map(|host| RegistryEntry {
                host: (*host).to_owned(),
                insecure: true,
                mirrors: vec![],
                rate_limit: None,
            })
            .collect(),
        ..RegistrySettings::default()
    };
    // The tests count requests; the budget must not slow them.
    settings.requests.rate_limit.requests_per_second = 1000.0;
    settings.requests.rate_limit.burst = 1000;
    settings
}

fn remote_resolver(settings: &RegistrySettings, credentials: DockerConfig) -> Resolver {
    Resolver::remote(settings.validate().expect("valid settings"), credentials).expect("resolver")
}

fn minor_rules() -> ImageRules {
    let spec =
        serde_json::from_value(serde_json::json!({"images": [{"match": "**", "update": "minor"}]})).expect("spec");
    ImageRules::compile(&spec).expect("rules")
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().expect("valid")
}

/// Evaluates one container against gathered facts, as a scan would.
fn evaluate_one(
    name: &str,
    image: String,
    pods: &[PodSnapshot],
    rules: &ImageRules,
    facts: &refit::core::drift::RegistryFacts,
    check_base_images: bool,
) -> refit::core::drift::WorkloadFindings {
    evaluate(
        &[TemplateContainer {
            name: name.into(),
            image: image.into(),
            init: false,
        }],
        pods,
        &EvaluationContext {
            rules,
            check_base_images,
            baselines: &RuntimeBaselines::default(),
            registry: facts,
            nodes: &HashMap::new(),
            rolled_back: &HashMap::new(),
            first_seen: None,
            now: now(),
        },
    )
}

#[tokio::test]
async fn tags_digests_build_times_and_base_images_come_from_the_registry() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    let alpine = pusher
        .image(
            "library/alpine",
            "3.22",
            &ImageSpec::new("alpine 3.22").created("2026-07-15T10:00:00Z"),
        )
        .await;
    let base_name = format!("{}/library/alpine:3.22", registry.addr);
    let old = pusher
        .image(
            "library/nginx",
            "1.29.8-alpine",
            &ImageSpec::new("nginx 1.29.8").created("2026-04-07T17:28:13Z"),
        )
        .await;
    let new = pusher
        .image(
            "library/nginx",
            "1.31.4-alpine",
            &ImageSpec::new("nginx 1.31.4")
                .created("2026-08-19T19:02:55Z")
                .annotation(BASE_NAME, &base_name)
                .annotation(BASE_DIGEST, &alpine),
        )
        .await;
    pusher
        .image("library/nginx", "latest", &ImageSpec::new("nginx latest"))
        .await;

    let resolver = remote_resolver(&settings_for(&[&registry.addr]), DockerConfig::default());
    let tags = resolver.tags(&registry.addr, "library/nginx").await.expect("tags");
    assert_eq!(
        *tags,
        ["1.29.8-alpine", "1.31.4-alpine", "latest"],
        "sorted, whatever order the registry used"
    );

    let facts = resolver
        .tag_facts(&registry.addr, "library/nginx", "1.31.4-alpine")
        .await
        .expect("facts");
    assert_eq!(facts.digest.map(|d| d.to_string()), Some(new.clone()));
    assert_eq!(
        facts.created,
        Some(Utc.with_ymd_and_hms(2026, 8, 19, 19, 2, 55).single().expect("valid"))
    );
    let base = facts.base.expect("the image names its base");
    assert_eq!(base.name, base_name);
    assert_eq!(base.built_on.map(|d| d.to_string()), Some(alpine.clone()));
    assert_eq!(base.current.map(|d| d.to_string()), Ok(alpine.clone()));

    let old_facts = resolver
        .tag_facts(&registry.addr, "library/nginx", "1.29.8-alpine")
        .await
        .expect("facts");
    assert_eq!(old_facts.digest.map(|d| d.to_string()), Some(old));
    assert!(old_facts.base.is_none());

    // The base is patched: the same name now resolves to another digest.
    let patched = pusher
        .image("library/alpine", "3.22", &ImageSpec::new("alpine 3.22 patched"))
        .await;
    let fresh = resolver_with_short_ttl(&registry.addr);
    let facts = fresh
        .tag_facts(&registry.addr, "library/nginx", "1.31.4-alpine")
        .await
        .expect("facts");
    let base = facts.base.expect("base");
    assert_eq!(base.built_on.map(|d| d.to_string()), Some(alpine));
    assert_eq!(base.current.map(|d| d.to_string()), Ok(patched));
}

fn resolver_with_short_ttl(host: &str) -> Resolver {
    let mut settings = settings_for(&[host]);
    settings.cache.digest_ttl = "0s".into();
    settings.cache.tag_list_ttl = "0s".into();
    remote_resolver(&settings, DockerConfig::default())
}

#[tokio::test]
async fn base_facts_fall_back_to_index_annotations_then_config_labels() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    let labelled = pusher
        .image(
            "acme/labelled",
            "1.0.0",
            &ImageSpec::new("labelled").label(BASE_NAME, "docker.io/library/debian:bookworm"),
        )
        .await;
    let index_annotations: BTreeMap<String, String> =
        [(BASE_NAME.to_owned(), "docker.io/library/ubuntu:24.04".to_owned())].into();
    let platforms = [
        ImageSpec::new("indexed amd64")
            .platform("linux", "amd64")
            .label(BASE_NAME, "docker.io/library/debian:trixie"),
        ImageSpec::new("indexed arm64").platform("linux", "arm64"),
    ];
    pusher
        .index("acme/indexed", "2.0.0", &platforms, &index_annotations)
        .await;

    let resolver = remote_resolver(&settings_for(&[&registry.addr]), DockerConfig::default());
    let description = resolver
        .describe(
            &registry.addr,
            "acme/labelled",
            &Digest::parse(&labelled).expect("digest"),
        )
        .await
        .expect("description");
    assert_eq!(
        description.base_name.as_deref(),
        Some("docker.io/library/debian:bookworm"),
        "from the config label"
    );

    let facts = resolver
        .tag_facts(&registry.addr, "acme/indexed", "2.0.0")
        .await
        .expect("facts");
    // The index annotation wins over the platform config's label.
    assert_eq!(
        facts.base.map(|b| b.name).as_deref(),
        Some("docker.io/library/ubuntu:24.04")
    );
}

#[tokio::test]
async fn a_pod_running_a_platform_manifest_runs_the_tags_index() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    let platforms = [
        ImageSpec::new("app amd64")
            .platform("linux", "amd64")
            .created("2026-10-01T00:00:00Z"),
        ImageSpec::new("app arm64")
            .platform("linux", "arm64")
            .created("2026-10-01T00:00:00Z"),
    ];
    let (index, platform_digests) = pusher.index("acme/app", "2.14.1", &platforms, &BTreeMap::new()).await;

    let resolver = remote_resolver(&settings_for(&[&registry.addr]), DockerConfig::default());
    let facts = resolver
        .tag_facts(&registry.addr, "acme/app", "2.14.1")
        .await
        .expect("facts");
    assert_eq!(facts.digest.map(|d| d.to_string()), Some(index.clone()));
    let mut platforms: Vec<String> = facts.platform_digests.iter().map(ToString::to_string).collect();
    platforms.sort();
    let mut expected = platform_digests.clone();
    expected.sort();
    assert_eq!(platforms, expected);

    // An arm64 node reports the platform manifest; an amd64 one the index.
    let image = format!("{}/acme/app:2.14.1", registry.addr);
    let pods: Vec<PodSnapshot> = [&platform_digests[1], &index]
        .iter()
        .enumerate()
        .map(|(i, digest)| PodSnapshot {
            name: format!("app-{i}"),
            node: None,
            revision: PodRevision::Current,
            containers: vec![PodContainer {
                name: "app".into(),
                init: false,
                image: image.as_str().into(),
                image_id: Some(format!("{}/acme/app@{digest}", registry.addr).into()),
            }],
        })
        .collect();
    let rules = minor_rules();
    let facts = gather(
        &resolver,
        std::slice::from_ref(&image),
        &rules,
        &HashMap::new(),
        now(),
        None,
    )
    .await;
    let findings = evaluate_one("app", image.clone(), &pods, &rules, &facts, true);
    assert_eq!(
        findings.containers[0].verdict.state,
        FindingState::UpToDate,
        "{}",
        findings.containers[0].verdict.reason
    );
}

#[tokio::test]
async fn a_scan_of_fifty_workloads_on_three_repositories_costs_three_tag_lists() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    let repositories = ["team/web", "team/api", "team/worker"];
    for repository in repositories {
        for (tag, day) in [("1.4.0", "01"), ("1.4.1", "02"), ("1.5.0", "03")] {
            let spec = ImageSpec::new(&format!("{repository} {tag}")).created(&format!("2026-09-{day}T00:00:00Z"));
            pusher.image(repository, tag, &spec).await;
        }
    }
    let images: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "{}/{}:{}",
                registry.addr,
                repositories[i % 3],
                ["1.4.0", "1.4.1"][i % 2]
            )
        })
        .collect();
    let mut settings = settings_for(&[&registry.addr]);
    settings.cache.digest_ttl = "0s".into();
    let resolver = remote_resolver(&settings, DockerConfig::default());
    let rules = minor_rules();
    let count = |kind| resolver.stats().count(&registry.addr, kind);

    let facts = gather(&resolver, &images, &rules, &HashMap::new(), now(), None).await;
    assert_eq!(
        count(RequestKind::TagList),
        3,
        "one tag list per repository, not per workload"
    );
    // Six distinct tags in use plus three candidates (1.5.0): nine HEADs.
    assert_eq!(count(RequestKind::ManifestHead), 9);
    // Each of the nine images: its manifest and its config, once.
    assert_eq!(count(RequestKind::ManifestGet), 9);
    assert_eq!(count(RequestKind::BlobGet), 9);
    let web = facts
        .repository(&format!("{}/team/web", registry.addr))
        .expect("facts for team/web");
    assert_eq!(
        web.tags.as_ref().and_then(|t| t.as_ref().ok()).map(|t| t.len()),
        Some(3)
    );

    // A second scan within the tag list's TTL: no tag list; every tag is
    // asked again with one HEAD (digestTtl 0s), and nothing is downloaded.
    gather(&resolver, &images, &rules, &HashMap::new(), now(), None).await;
    assert_eq!(count(RequestKind::TagList), 3);
    assert_eq!(count(RequestKind::ManifestHead), 18);
    assert_eq!(count(RequestKind::ManifestGet), 9, "unchanged tags cost no GET");
    assert_eq!(count(RequestKind::BlobGet), 9);
}

#[tokio::test]
async fn concurrent_asks_for_the_same_tag_list_share_one_request() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    pusher.image("team/shared", "1.0.0", &ImageSpec::new("shared")).await;
    let resolver = remote_resolver(&settings_for(&[&registry.addr]), DockerConfig::default());
    let asks = (0..20).map(|_| resolver.tags(&registry.addr, "team/shared"));
    let answers = futures::future::join_all(asks).await;
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|tags| tags.len() == 1)));
    assert_eq!(resolver.stats().count(&registry.addr, RequestKind::TagList), 1);
}

#[tokio::test]
async fn an_unreachable_registry_makes_findings_unknown_never_up_to_date() {
    let host = format!("127.0.0.1:{}", free_port());
    let mut settings = settings_for(&[&host]);
    settings.requests.retries = 1;
    let resolver = remote_resolver(&settings, DockerConfig::default());
    let image = format!("{host}/team/web:1.4.0");
    let rules = minor_rules();
    let facts = gather(
        &resolver,
        std::slice::from_ref(&image),
        &rules,
        &HashMap::new(),
        now(),
        None,
    )
    .await;
    let findings = evaluate_one("web", image, &[], &rules, &facts, true);
    let web = &findings.containers[0];
    assert_eq!(web.verdict.state, FindingState::Unknown);
    assert_eq!(
        web.verdict.reason.as_ref(),
        format!("tags and the digest of 1.4.0 unknown (registry {host} cannot be reached: connection failed)")
    );
    let health = &resolver.stats().health()[&host];
    assert!(health.consecutive_failures >= 2, "each attempt counts: {health:?}");
    assert_eq!(
        resolver
            .stats()
            .count_outcome(&host, RequestKind::TagList, RequestOutcome::Error),
        2,
        "one retry"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for_and_counted() {
    let Some(registry) = TestRegistry::start() else { return };
    Pusher::new(&registry.addr)
        .image("team/web", "1.4.0", &ImageSpec::new("web"))
        .await;
    let proxy = Proxy::start(
        &registry.addr,
        Behaviour {
            rate_limit_next: 1,
            retry_after: Some("1".into()),
            ..Behaviour::default()
        },
    )
    .await;
    let resolver = remote_resolver(&settings_for(&[&proxy.addr]), DockerConfig::default());
    let started = Instant::now();
    let tags = resolver
        .tags(&proxy.addr, "team/web")
        .await
        .expect("tags after the wait");
    assert_eq!(*tags, ["1.4.0"]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    let stats = resolver.stats();
    assert_eq!(
        stats.count_outcome(&proxy.addr, RequestKind::TagList, RequestOutcome::RateLimited),
        1
    );
    assert_eq!(
        stats.count_outcome(&proxy.addr, RequestKind::TagList, RequestOutcome::Ok),
        1
    );
    assert_eq!(stats.health()[&proxy.addr].consecutive_failures, 0);
}

#[tokio::test]
async fn a_retry_after_longer_than_refit_waits_fails_at_once_with_the_reason() {
    let Some(registry) = TestRegistry::start() else { return };
    let proxy = Proxy::start(
        &registry.addr,
        Behaviour {
            rate_limit_next: 10,
            retry_after: Some("3600".into()),
            ..Behaviour::default()
        },
    )
    .await;
    let resolver = remote_resolver(&settings_for(&[&proxy.addr]), DockerConfig::default());
    let started = Instant::now();
    let error = resolver.tags(&proxy.addr, "team/web").await.expect_err("rate limited");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "refit did not sit out an hour"
    );
    assert_eq!(
        error.to_string(),
        format!("registry {} is rate limiting refit (retry after 3600s)", proxy.addr)
    );
    assert_eq!(
        proxy.seen().len(),
        1,
        "no retry against an explicit hour-long Retry-After"
    );
    let health = &resolver.stats().health()[&proxy.addr];
    assert_eq!(health.consecutive_failures, 1);
    assert_eq!(health.last_error.as_deref(), Some("429 Too Many Requests"));
}

#[tokio::test]
async fn bearer_challenges_are_answered_with_credentials_that_never_leak() {
    let Some(registry) = TestRegistry::start() else { return };
    Pusher::new(&registry.addr)
        .image("team/private", "3.0.0", &ImageSpec::new("private"))
        .await;
    let password = "hunter2-do-not-log";
    let auth = BearerAuth {
        username: "ci-bot".into(),
        password: password.into(),
        token: "t0k3n-secret".into(),
    };
    let proxy = Proxy::start(
        &registry.addr,
        Behaviour {
            bearer: Some(auth),
            ..Behaviour::default()
        },
    )
    .await;
    let json = format!(
        r#"{{"auths": {{"http://{}": {{"username": "ci-bot", "password": "{password}"}}}}}}"#,
        proxy.addr
    );
    let credentials = DockerConfig::parse(json.as_bytes(), "pull secret team/regcred").expect("config");

    let resolver = remote_resolver(&settings_for(&[&proxy.addr]), credentials.clone());
    let tags = resolver
        .tags(&proxy.addr, "team/private")
        .await
        .expect("tags with a token");
    assert_eq!(*tags, ["3.0.0"]);
    let facts = resolver
        .tag_facts(&proxy.addr, "team/private", "3.0.0")
        .await
        .expect("facts with the same token");
    assert!(facts.digest.is_some());
    assert_eq!(
        resolver
            .stats()
            .count_outcome(&proxy.addr, RequestKind::Token, RequestOutcome::Ok),
        1,
        "one token, reused"
    );

    let printed = format!("{resolver:?} {credentials:?} {:?}", resolver.stats().health());
    for secret in [password, "t0k3n-secret"] {
        assert!(!printed.contains(secret), "a secret leaked into Debug output");
    }

    // Wrong credentials: a clear error that names no secret.
    let wrong = DockerConfig::parse(
        format!(
            r#"{{"auths": {{"{}": {{"username": "ci-bot", "password": "wrong-{password}"}}}}}}"#,
            proxy.addr
        )
        .as_bytes(),
        "pull secret team/regcred",
    )
    .expect("config");
    let error = remote_resolver(&settings_for(&[&proxy.addr]), wrong)
        .tags(&proxy.addr, "team/private")
        .await
        .expect_err("refused");
    let message = error.to_string();
    assert_eq!(
        message,
        format!(
            "registry {} refused access to team/private: check the pull secret or the credentials file",
            proxy.addr
        )
    );
    assert!(!format!("{error:?}").contains(password));
}

#[tokio::test]
async fn link_pages_are_followed_and_ten_thousand_tags_cost_ten_requests() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    for tag in ["1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0", "2.0.1", "latest"] {
        pusher.image("team/paged", tag, &ImageSpec::new(tag)).await;
    }
    let proxy = Proxy::start(
        &registry.addr,
        Behaviour {
            page_size: Some(2),
            ..Behaviour::default()
        },
    )
    .await;
    let resolver = remote_resolver(&settings_for(&[&proxy.addr]), DockerConfig::default());
    let tags = resolver.tags(&proxy.addr, "team/paged").await.expect("tags");
    assert_eq!(*tags, ["1.0.0", "1.0.1", "1.1.0", "1.2.0", "2.0.0", "2.0.1", "latest"]);
    assert_eq!(
        resolver.stats().count(&proxy.addr, RequestKind::TagList),
        4,
        "7 tags in pages of 2"
    );

    let many: Vec<String> = (0..10_000).map(|i| format!("1.{}.{}", i / 100, i % 100)).collect();
    proxy.set(Behaviour {
        page_size: Some(1000),
        synthetic_tags: Some(many),
        ..Behaviour::default()
    });
    let fresh = resolver_with_short_ttl(&proxy.addr);
    let tags = fresh.tags(&proxy.addr, "team/huge").await.expect("tags");
    assert_eq!(tags.len(), 10_000);
    assert_eq!(fresh.stats().count(&proxy.addr, RequestKind::TagList), 10);
}

/// Pushes `team/<name>` with the given tags and build times, then gathers
/// and evaluates `team/<name>:1.0.0` under `update: minor` with `minAge:
/// 3d`, as a scan does. Returns the findings and the resolver (for its
/// request counts).
async fn evaluate_at_1_0_0_under_soak(
    registry: &TestRegistry,
    name: &str,
    tags: &[(&str, &str)],
) -> (refit::core::drift::WorkloadFindings, Resolver) {
    let pusher = Pusher::new(&registry.addr);
    let repository = format!("team/{name}");
    for (tag, created) in tags {
        pusher
            .image(&repository, tag, &ImageSpec::new(tag).created(created))
            .await;
    }
    let spec =
        serde_json::from_value(serde_json::json!({"images": [{"match": "**", "update": "minor", "minAge": "3d"}]}))
            .expect("spec");
    let rules = ImageRules::compile(&spec).expect("rules");
    let resolver = remote_resolver(&settings_for(&[&registry.addr]), DockerConfig::default());
    let image = format!("{}/{repository}:1.0.0", registry.addr);
    let facts = gather(
        &resolver,
        std::slice::from_ref(&image),
        &rules,
        &HashMap::new(),
        now(),
        None,
    )
    .await;
    (evaluate_one(name, image, &[], &rules, &facts, false), resolver)
}

#[tokio::test]
async fn min_age_reads_build_times_only_for_the_newest_candidates() {
    let Some(registry) = TestRegistry::start() else { return };
    let (findings, resolver) = evaluate_at_1_0_0_under_soak(
        &registry,
        "soak",
        &[
            ("1.0.0", "2026-01-01T00:00:00Z"),
            ("1.1.0", "2026-06-01T00:00:00Z"),
            ("1.2.0", "2026-11-01T00:00:00Z"),
            ("1.3.0", "2026-11-27T00:00:00Z"),
        ],
    )
    .await;
    let soak = &findings.containers[0];
    assert_eq!(soak.verdict.state, FindingState::Outdated);
    assert!(
        soak.verdict
            .candidate
            .as_ref()
            .is_some_and(|c| c.tag() == Some("1.2.0")),
        "1.3.0 is a day old: {}",
        soak.verdict.reason
    );
    assert!(
        soak.verdict
            .reason
            .contains("passed over 1.3.0 (built 1d ago, minAge 3d)"),
        "{}",
        soak.verdict.reason
    );
    // 1.0.0 (in use), then 1.3.0, 1.2.0, 1.1.0 for their build times: 1.1.0
    // is never needed, so at most four HEADs.
    assert!(resolver.stats().count(&registry.addr, RequestKind::ManifestHead) <= 4);
}

/// Gathers and evaluates `image` under `rules` as the operator does, with
/// the policy's records of first sightings, at `at`; returns the findings
/// and the records after a full scan.
async fn operator_scan(
    resolver: &Resolver,
    image: &str,
    rules: &ImageRules,
    records: FirstSeen,
    at: chrono::DateTime<Utc>,
) -> (refit::core::drift::WorkloadFindings, FirstSeen) {
    let mut scan = FirstSeenScan::new(records);
    let images = [image.to_owned()];
    let facts = gather(resolver, &images, rules, &HashMap::new(), at, Some(&mut scan)).await;
    let findings = evaluate(
        &[TemplateContainer {
            name: "web".into(),
            image: image.into(),
            init: false,
        }],
        &[],
        &EvaluationContext {
            rules,
            check_base_images: false,
            baselines: &RuntimeBaselines::default(),
            registry: &facts,
            nodes: &HashMap::new(),
            rolled_back: &HashMap::new(),
            first_seen: Some(scan.records()),
            now: at,
        },
    );
    (findings, scan.finish(true))
}

#[tokio::test]
async fn an_epoch_dated_tag_pushed_now_is_not_the_candidate_under_a_soak_time() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    // A ko or apko pipeline: real build dates until 1.26, then
    // reproducible builds that write the epoch.
    pusher
        .image(
            "team/web",
            "1.25.3",
            &ImageSpec::new("web 1.25.3").created("2026-01-12T09:00:00Z"),
        )
        .await;
    pusher
        .image(
            "team/web",
            "1.25.4",
            &ImageSpec::new("web 1.25.4").created("2026-06-02T14:30:00Z"),
        )
        .await;
    let spec =
        serde_json::from_value(serde_json::json!({"images": [{"match": "**", "update": "minor", "minAge": "3d"}]}))
            .expect("spec");
    let rules = ImageRules::compile(&spec).expect("rules");
    let image = format!("{}/team/web:1.25.3", registry.addr);
    let repository = format!("{}/team/web", registry.addr);
    let candidate = |findings: &refit::core::drift::WorkloadFindings| {
        let verdict = &findings.containers[0].verdict;
        (
            verdict.candidate.as_ref().and_then(|c| c.tag().map(str::to_owned)),
            verdict.reason.to_string(),
        )
    };

    // Ten days ago refit first listed the repository: 1.25.4 was there and
    // soaks from its build time.
    let first = now() - chrono::Duration::days(10);
    let (findings, records) = operator_scan(
        &resolver_with_short_ttl(&registry.addr),
        &image,
        &rules,
        FirstSeen::default(),
        first,
    )
    .await;
    assert_eq!(
        candidate(&findings).0.as_deref(),
        Some("1.25.4"),
        "{}",
        candidate(&findings).1
    );
    let web = records.repository(&repository).expect("listed");
    assert_eq!(web.listed, first);
    assert_eq!(web.tag("1.25.4"), Some(first), "present at the first listing");

    // Now 1.26.0 is pushed, built reproducibly.
    pusher
        .image(
            "team/web",
            "1.26.0",
            &ImageSpec::new("web 1.26.0").created("1970-01-01T00:00:00Z"),
        )
        .await;
    let (findings, records) =
        operator_scan(&resolver_with_short_ttl(&registry.addr), &image, &rules, records, now()).await;
    let (tag, reason) = candidate(&findings);
    assert_eq!(tag.as_deref(), Some("1.25.4"), "{reason}");
    // Too young whenever it was built, so its build time is not even read.
    assert!(
        reason.contains("passed over 1.26.0 (first seen just now, minAge 3d)"),
        "{reason}"
    );
    let web = records.repository(&repository).expect("listed");
    assert_eq!(web.tag("1.26.0"), Some(now()));
    assert_eq!(web.tag("1.25.4"), Some(first), "still looked at, so kept");

    // refit scan, which keeps no records, says why it passes 1.26.0 over.
    let resolver = resolver_with_short_ttl(&registry.addr);
    let facts = gather(
        &resolver,
        std::slice::from_ref(&image),
        &rules,
        &HashMap::new(),
        now(),
        None,
    )
    .await;
    let findings = evaluate_one("web", image.clone(), &[], &rules, &facts, false);
    let (tag, reason) = candidate(&findings);
    assert_eq!(tag.as_deref(), Some("1.25.4"), "{reason}");
    assert!(
        reason.contains(
            "passed over 1.26.0 (build time 1970-01-01T00:00:00Z is not a real build date, as reproducible builds \
             write; refit scan keeps no record of when it first saw a tag, so it counts as too young)"
        ),
        "{reason}"
    );

    // Four days after refit first saw it, 1.26.0 has soaked.
    let later = now() + chrono::Duration::days(4);
    let (findings, records) =
        operator_scan(&resolver_with_short_ttl(&registry.addr), &image, &rules, records, later).await;
    assert_eq!(
        candidate(&findings).0.as_deref(),
        Some("1.26.0"),
        "{}",
        candidate(&findings).1
    );
    let web = records.repository(&repository).expect("listed");
    assert_eq!(web.tag("1.26.0"), Some(now()), "the record did not move");
    assert_eq!(web.tag("1.25.4"), None, "no longer looked at: pruned");
}

/// Whether skopeo is installed and works; outside CI a test without it
/// skips, under CI it fails (see [`refit_apiserver::skip`]).
fn skopeo_available() -> bool {
    const HINT: &str = "apt-get install skopeo";
    let Some(output) = skip::when_not_installed(Command::new("skopeo").arg("--version").output(), "skopeo", HINT)
    else {
        return false;
    };
    if !output.status.success() {
        skip::unless_ci(
            &format!(
                "skopeo --version failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            HINT,
        );
        return false;
    }
    true
}

#[tokio::test]
async fn skopeo_and_refit_agree_on_what_a_registry_and_a_layout_tree_hold() {
    let Some(registry) = TestRegistry::start() else { return };
    if !skopeo_available() {
        return;
    }
    // skopeo pushes an OCI layout refit's tests wrote...
    let scratch = Scratch::new("layouts");
    let image = build(&ImageSpec::new("skopeo pushed").created("2026-10-10T10:10:10Z"));
    write_layout(&scratch.0.join("source"), &[("4.2.0", &image)]);
    let status = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &format!("oci:{}:4.2.0", scratch.0.join("source").display()),
            &format!("docker://{}/team/skopeo:4.2.0", registry.addr),
        ])
        .status()
        .expect("skopeo runs");
    assert!(status.success(), "skopeo copy to the registry");
    let resolver = remote_resolver(&settings_for(&[&registry.addr]), DockerConfig::default());
    let facts = resolver
        .tag_facts(&registry.addr, "team/skopeo", "4.2.0")
        .await
        .expect("facts");
    assert_eq!(facts.digest.map(|d| d.to_string()), Some(image.digest()));
    assert_eq!(
        facts.created,
        Some(Utc.with_ymd_and_hms(2026, 10, 10, 10, 10, 10).single().expect("valid"))
    );

    // ...and copies it into a layout tree, which refit reads offline.
    // skopeo's `oci:` transport splits its argument at the first colon, so
    // a tree written by skopeo uses a host without a port.
    let tree = scratch.0.join("tree");
    let destination = tree.join("registry.example").join("team/skopeo");
    // skopeo creates the layout directory but not its parents.
    std::fs::create_dir_all(destination.parent().expect("a parent")).expect("tree directories");
    let status = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("docker://{}/team/skopeo:4.2.0", registry.addr),
            &format!("oci:{}:4.2.0", destination.display()),
        ])
        .status()
        .expect("skopeo runs");
    assert!(status.success(), "skopeo copy to the layout tree");
    let offline = Resolver::layout(&tree, refit::registry::settings::Settings::default()).expect("layout tree");
    assert_eq!(
        *offline.tags("registry.example", "team/skopeo").await.expect("tags"),
        ["4.2.0"]
    );
    let offline_facts = offline
        .tag_facts("registry.example", "team/skopeo", "4.2.0")
        .await
        .expect("facts");
    assert_eq!(offline_facts.digest.map(|d| d.to_string()), Some(image.digest()));
    assert_eq!(offline_facts.created, facts.created);
    assert_eq!(sha256(&image.config), image.config_digest());
}

#[tokio::test]
async fn mirrors_are_asked_first_and_the_registry_when_they_fail() {
    let Some(registry) = TestRegistry::start() else { return };
    Pusher::new(&registry.addr)
        .image("team/mirrored", "1.0.0", &ImageSpec::new("mirrored"))
        .await;
    let mirror = Proxy::start(&registry.addr, Behaviour::default()).await;
    let dead_mirror = format!("127.0.0.1:{}", free_port());
    let mut settings = settings_for(&[&registry.addr, &mirror.addr, &dead_mirror]);
    settings.requests.retries = 0;
    settings.registries[0].mirrors = vec![dead_mirror.clone(), mirror.addr.clone()];
    let resolver = remote_resolver(&settings, DockerConfig::default());
    let tags = resolver
        .tags(&registry.addr, "team/mirrored")
        .await
        .expect("tags through the mirror");
    assert_eq!(*tags, ["1.0.0"]);
    let stats = resolver.stats();
    assert_eq!(
        stats.count_outcome(&dead_mirror, RequestKind::TagList, RequestOutcome::Error),
        1
    );
    assert_eq!(
        stats.count_outcome(&mirror.addr, RequestKind::TagList, RequestOutcome::Ok),
        1
    );
    assert_eq!(
        stats.count(&registry.addr, RequestKind::TagList),
        0,
        "the registry itself was not needed"
    );
}

#[tokio::test]
async fn tls_is_required_unless_a_registry_is_marked_insecure() {
    let Some(registry) = TestRegistry::start() else { return };
    let mut settings = settings_for(&[]);
    settings.requests.retries = 0;
    let resolver = remote_resolver(&settings, DockerConfig::default());
    let error = resolver
        .tags(&registry.addr, "team/web")
        .await
        .expect_err("plain HTTP is not spoken unasked");
    assert_eq!(
        error.to_string(),
        format!("registry {} cannot be reached: connection failed", registry.addr)
    );
}

/// `refit scan --output json --fail-on outdated` of one Deployment running
/// `image`, against the test registry, under `policy` (PatchPolicy YAML)
/// or the default one: (exit code, stdout, stderr).
fn scan_one_deployment(registry: &TestRegistry, image: &str, policy: Option<&str>) -> (i32, String, String) {
    let scratch = Scratch::new("scan");
    let manifest = scratch.0.join("web.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: team}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {image}\n"
        ),
    )
    .expect("manifest");
    let config = scratch.0.join("refit.yaml");
    std::fs::write(
        &config,
        format!("registries:\n  - host: {}\n    insecure: true\n", registry.addr),
    )
    .expect("config");
    let manifest = manifest.to_str().expect("utf-8").to_owned();
    let config = config.to_str().expect("utf-8").to_owned();
    let mut args = vec![
        "scan",
        &manifest,
        "--registry-config",
        &config,
        "--output",
        "json",
        "--fail-on",
        "outdated",
    ];
    let policy_path = scratch.0.join("policy.yaml");
    let policy_arg = policy_path.to_str().expect("utf-8").to_owned();
    if let Some(policy) = policy {
        std::fs::write(&policy_path, policy).expect("policy");
        args.extend(["--policy", &policy_arg]);
    }
    refit_tests::run_refit(&args)
}

#[tokio::test]
async fn refit_scan_checks_manifests_against_the_real_registry() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    pusher
        .image(
            "team/web",
            "1.4.0",
            &ImageSpec::new("web 1.4.0").created("2026-09-01T00:00:00Z"),
        )
        .await;
    let newest = pusher
        .image(
            "team/web",
            "1.6.2",
            &ImageSpec::new("web 1.6.2").created("2026-10-01T00:00:00Z"),
        )
        .await;
    pusher
        .image(
            "team/web",
            "2.0.0",
            &ImageSpec::new("web 2.0.0").created("2026-11-01T00:00:00Z"),
        )
        .await;
    let (code, stdout, stderr) = scan_one_deployment(&registry, &format!("{}/team/web:1.4.0", registry.addr), None);
    assert_eq!(code, 1, "an outdated image fails the gate: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let container = &report["workloads"][0]["containers"][0];
    assert_eq!(container["state"], "Outdated");
    assert_eq!(
        container["candidate"],
        format!("{}/team/web:1.6.2@{newest}", registry.addr),
        "minor: not 2.0.0"
    );
}

#[tokio::test]
async fn refit_scan_counts_an_epoch_dated_tag_as_too_young_and_names_the_date() {
    let Some(registry) = TestRegistry::start() else { return };
    let pusher = Pusher::new(&registry.addr);
    pusher
        .image(
            "team/web",
            "1.3.2",
            &ImageSpec::new("web 1.3.2").created("2026-09-01T00:00:00Z"),
        )
        .await;
    // Built with ko: the config says 1970.
    pusher
        .image(
            "team/web",
            "1.4.0",
            &ImageSpec::new("web 1.4.0").created("1970-01-01T00:00:00Z"),
        )
        .await;
    let policy = "apiVersion: refit.dev/v1alpha1\nkind: PatchPolicy\nmetadata: {name: web}\nspec:\n  images:\n    - match: \"**\"\n      update: minor\n      minAge: 3d\n";
    let (code, stdout, stderr) =
        scan_one_deployment(&registry, &format!("{}/team/web:1.3.2", registry.addr), Some(policy));
    assert_eq!(code, 0, "nothing to move to yet: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let container = &report["workloads"][0]["containers"][0];
    assert_eq!(container["state"], "UpToDate");
    assert_eq!(container["candidate"], serde_json::Value::Null);
    assert_eq!(
        container["reason"],
        "no newer tag allowed for 1.3.2; passed over 1.4.0 (build time 1970-01-01T00:00:00Z is not a real build \
         date, as reproducible builds write; refit scan keeps no record of when it first saw a tag, so it counts \
         as too young)"
    );
}

#[tokio::test]
async fn min_age_keeps_reading_build_times_past_many_young_candidates() {
    let Some(registry) = TestRegistry::start() else { return };
    let (findings, _) = evaluate_at_1_0_0_under_soak(
        &registry,
        "young",
        &[
            ("1.0.0", "2026-01-01T00:00:00Z"),
            ("1.1.0", "2026-10-01T00:00:00Z"),
            ("1.2.0", "2026-11-27T00:00:00Z"),
            ("1.3.0", "2026-11-27T06:00:00Z"),
            ("1.4.0", "2026-11-27T12:00:00Z"),
            ("1.5.0", "2026-11-28T00:00:00Z"),
        ],
    )
    .await;
    let young = &findings.containers[0];
    assert!(
        young
            .verdict
            .candidate
            .as_ref()
            .is_some_and(|c| c.tag() == Some("1.1.0")),
        "four newer tags are a day old; 1.1.0 has soaked: {}",
        young.verdict.reason
    );
}
