//! The soak rules over plain values and the real tag histories of nginx and
//! node (`operator/testdata/tags/`), with the fixed build dates real
//! reproducible builders write, and a property test of recording and
//! pruning.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::{
    api::patch_policy::UpdateStrategy,
    core::{
        policy::CompiledRule,
        selection::{PassReason, RolledBackTags, Selection, select},
        version::TagIndex,
    },
};

const NGINX: &str = "docker.io/library/nginx";
const NODE: &str = "docker.io/library/node";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .with_timezone(&Utc)
}

/// "Now" for every test: the tag histories end in August 2026.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("valid instant")
}

fn hours_ago(hours: i64) -> DateTime<Utc> {
    now() - chrono::Duration::hours(hours)
}

fn days_ago(days: i64) -> DateTime<Utc> {
    now() - chrono::Duration::days(days)
}

/// The build dates reproducible builders write: ko, apko, rules_oci and
/// Jib write the epoch, Nix one second after it, some builders the zip
/// epoch (1980), and Go's zero time is what one that never set a date
/// leaves.
const FIXED_BUILD_DATES: [&str; 4] = [
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:01Z",
    "1980-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
];

/// A repository first listed at `listed`, with `tags` recorded.
fn records(listed: DateTime<Utc>, tags: &[(&str, DateTime<Utc>)]) -> RepositoryFirstSeen {
    RepositoryFirstSeen {
        listed,
        tags: tags.iter().map(|(tag, at)| ((*tag).to_owned(), *at)).collect(),
    }
}

/// A real tag history as the operator would index it, with the build times
/// of `rebuilt` replaced (`None`: not read).
fn history(image: &str, rebuilt: &[(&str, Option<DateTime<Utc>>)]) -> TagIndex {
    let (_, tags) = crate::testdata::tag_histories()
        .into_iter()
        .find(|(name, _)| *name == image)
        .unwrap_or_else(|| panic!("no tag history for {image}"));
    TagIndex::new(tags.into_iter().map(|mut info| {
        if let Some((_, created)) = rebuilt.iter().find(|(tag, _)| *tag == info.tag) {
            info.created = *created;
        }
        info
    }))
}

fn soak_rule(days: u64) -> CompiledRule {
    CompiledRule {
        update: UpdateStrategy::Minor,
        min_age: Some(Duration::from_secs(days * 86_400)),
        ..CompiledRule::default_for_all()
    }
}

fn pick<'a>(current: &'a str, index: &'a TagIndex, sightings: Sightings<'_>) -> Selection<'a> {
    select(current, &soak_rule(3), index, now(), &RolledBackTags::new(), sightings)
}

// --- plausibility ---------------------------------------------------------

#[test]
fn the_fixed_dates_reproducible_builds_write_are_not_plausible() {
    for date in FIXED_BUILD_DATES {
        assert_eq!(
            BuildTime::judge(Some(at(date)), now()),
            BuildTime::Implausible(at(date)),
            "{date}"
        );
    }
}

#[test]
fn build_times_from_2000_to_now_are_plausible_and_none_outside() {
    let judge = |text: &str| BuildTime::judge(Some(at(text)), now());
    assert_eq!(
        judge("1999-12-31T23:59:59Z"),
        BuildTime::Implausible(at("1999-12-31T23:59:59Z"))
    );
    assert_eq!(
        judge("2000-01-01T00:00:00Z"),
        BuildTime::Plausible(at("2000-01-01T00:00:00Z"))
    );
    assert_eq!(
        judge("2026-08-19T19:02:55Z"),
        BuildTime::Plausible(at("2026-08-19T19:02:55Z"))
    );
    assert_eq!(BuildTime::judge(Some(now()), now()), BuildTime::Plausible(now()));
    let ahead = now() + chrono::Duration::seconds(1);
    assert_eq!(BuildTime::judge(Some(ahead), now()), BuildTime::Implausible(ahead));
    assert_eq!(BuildTime::judge(None, now()), BuildTime::Unknown);
}

#[test]
fn explanations_name_the_date_and_why_it_is_not_real() {
    let epoch = at("1970-01-01T00:00:00Z");
    assert_eq!(written(epoch), "1970-01-01T00:00:00Z");
    assert_eq!(
        implausible_because(epoch),
        "is not a real build date, as reproducible builds write"
    );
    assert_eq!(
        implausible_because(now() + chrono::Duration::days(1)),
        "is in the future"
    );
}

// --- where a soak starts --------------------------------------------------

#[test]
fn without_records_only_a_plausible_build_time_counts() {
    let built = at("2026-08-19T19:02:55Z");
    let epoch = at("1970-01-01T00:00:00Z");
    assert_eq!(
        soak(Some(built), "1.31.4-alpine", Sightings::NotKept, now()),
        Soak::From(SoakStart::Built(built))
    );
    assert_eq!(
        soak(Some(epoch), "1.31.4-alpine", Sightings::NotKept, now()),
        Soak::Unprovable { build: epoch }
    );
    assert_eq!(
        soak(None, "1.31.4-alpine", Sightings::NotKept, now()),
        Soak::BuildTimeNeeded { not_before: None }
    );
}

#[test]
fn a_tag_present_at_the_first_listing_soaks_from_its_build_time_or_else_the_listing() {
    let listed = days_ago(10);
    let repository = records(listed, &[("1.25.3-alpine3.20", listed)]);
    let kept = Sightings::Kept(Some(&repository));
    let built = at("2024-10-02T18:12:33Z");
    assert_eq!(
        soak(Some(built), "1.25.3-alpine3.20", kept, now()),
        Soak::From(SoakStart::Built(built)),
        "refit cannot know when it appeared: the build time is all there is"
    );
    let epoch = at("1970-01-01T00:00:00Z");
    assert_eq!(
        soak(Some(epoch), "1.25.3-alpine3.20", kept, now()),
        Soak::From(SoakStart::FirstSeen {
            at: listed,
            implausible_build: Some(epoch)
        })
    );
    assert_eq!(
        soak(None, "1.25.3-alpine3.20", kept, now()),
        Soak::BuildTimeNeeded { not_before: None }
    );
}

#[test]
fn a_tag_that_appeared_later_soaks_from_the_later_of_its_build_time_and_its_sighting() {
    let seen = hours_ago(30);
    let repository = records(days_ago(10), &[("1.31.4-alpine", seen)]);
    let kept = Sightings::Kept(Some(&repository));
    // Built long before it was pushed (a plausible but old date): the
    // sighting counts.
    assert_eq!(
        soak(Some(at("2026-08-19T19:02:55Z")), "1.31.4-alpine", kept, now()),
        Soak::From(SoakStart::FirstSeen {
            at: seen,
            implausible_build: None
        })
    );
    // Rebuilt after refit first saw the tag: the build counts.
    let rebuilt = hours_ago(2);
    assert_eq!(
        soak(Some(rebuilt), "1.31.4-alpine", kept, now()),
        Soak::From(SoakStart::Built(rebuilt))
    );
    let epoch = at("1970-01-01T00:00:00Z");
    assert_eq!(
        soak(Some(epoch), "1.31.4-alpine", kept, now()),
        Soak::From(SoakStart::FirstSeen {
            at: seen,
            implausible_build: Some(epoch)
        })
    );
    assert_eq!(
        soak(None, "1.31.4-alpine", kept, now()),
        Soak::BuildTimeNeeded { not_before: Some(seen) }
    );
}

#[test]
fn a_tag_without_a_record_counts_as_first_seen_now() {
    let repository = records(days_ago(10), &[]);
    let built = at("2026-08-19T19:02:55Z");
    for sightings in [Sightings::Kept(Some(&repository)), Sightings::Kept(None)] {
        assert_eq!(
            soak(Some(built), "1.31.4-alpine", sightings, now()),
            Soak::From(SoakStart::FirstSeen {
                at: now(),
                implausible_build: None
            })
        );
    }
}

// --- selection with and without records -----------------------------------

/// nginx's history with 1.31.4-alpine rebuilt reproducibly: its config says
/// 1970-01-01.
fn nginx_with_epoch_1_31_4() -> TagIndex {
    history("nginx", &[("1.31.4-alpine", Some(at("1970-01-01T00:00:00Z")))])
}

#[test]
fn refit_scan_counts_an_epoch_dated_tag_as_too_young_and_says_why() {
    let index = nginx_with_epoch_1_31_4();
    let selection = pick("1.31.1-alpine", &index, Sightings::NotKept);
    assert_eq!(selection.candidate(), Some("1.31.3-alpine"));
    assert_eq!(
        selection.passed_over[0].reason,
        PassReason::BuildTimeImplausible {
            build: at("1970-01-01T00:00:00Z")
        }
    );
    // docs/SCAN.md quotes this line.
    assert_eq!(
        selection.to_string(),
        "1.31.3-alpine is the newest allowed; passed over 1.31.4-alpine (build time 1970-01-01T00:00:00Z is not a \
         real build date, as reproducible builds write; refit scan keeps no record of when it first saw a tag, so \
         it counts as too young); 1167 other tags not comparable"
    );
}

#[test]
fn the_operator_counts_an_epoch_dated_new_tag_from_when_it_first_saw_it() {
    let index = nginx_with_epoch_1_31_4();
    let listed = days_ago(20);
    let young = records(listed, &[("1.31.4-alpine", hours_ago(30)), ("1.31.3-alpine", listed)]);
    let selection = pick("1.31.1-alpine", &index, Sightings::Kept(Some(&young)));
    assert_eq!(selection.candidate(), Some("1.31.3-alpine"));
    // docs/VERSION-SELECTION.md quotes this line.
    assert_eq!(
        selection.to_string(),
        "1.31.3-alpine is the newest allowed; passed over 1.31.4-alpine (first seen 1d ago, minAge 3d; its build \
         time 1970-01-01T00:00:00Z is not a real build date, as reproducible builds write); 1167 other tags not \
         comparable"
    );
    assert_eq!(selection.soak_judged, ["1.31.4-alpine", "1.31.3-alpine"]);

    let soaked = records(listed, &[("1.31.4-alpine", days_ago(4))]);
    let selection = pick("1.31.1-alpine", &index, Sightings::Kept(Some(&soaked)));
    assert_eq!(selection.candidate(), Some("1.31.4-alpine"), "{selection}");
}

#[test]
fn the_operator_says_which_instant_a_soak_counts_from() {
    let index = history("nginx", &[]);
    let listed = days_ago(20);
    // 1.31.4-alpine was built on 2026-08-19, so by its build time it has
    // soaked; refit first saw it 2 hours ago, which is what counts.
    let seen = records(listed, &[("1.31.4-alpine", hours_ago(2)), ("1.31.3-alpine", listed)]);
    let selection = pick("1.31.1-alpine", &index, Sightings::Kept(Some(&seen)));
    assert_eq!(selection.candidate(), Some("1.31.3-alpine"));
    assert!(
        selection
            .to_string()
            .contains("passed over 1.31.4-alpine (first seen 2h ago, minAge 3d)"),
        "{selection}"
    );
    // A tag seen just now says so.
    let unrecorded = records(listed, &[("1.31.3-alpine", listed)]);
    let selection = pick("1.31.1-alpine", &index, Sightings::Kept(Some(&unrecorded)));
    assert!(
        selection
            .to_string()
            .contains("passed over 1.31.4-alpine (first seen just now, minAge 3d)"),
        "{selection}"
    );
}

#[test]
fn a_tag_first_seen_long_ago_needs_its_build_time_and_one_seen_lately_does_not() {
    let index = history("nginx", &[("1.31.4-alpine", None)]);
    let listed = days_ago(20);
    let lately = records(listed, &[("1.31.4-alpine", hours_ago(5))]);
    let selection = pick("1.31.1-alpine", &index, Sightings::Kept(Some(&lately)));
    assert!(selection.unknown_ages.is_empty(), "too young whenever it was built");
    let long_ago = records(listed, &[("1.31.4-alpine", days_ago(5))]);
    let selection = pick("1.31.1-alpine", &index, Sightings::Kept(Some(&long_ago)));
    assert_eq!(selection.unknown_ages, ["1.31.4-alpine"]);
    assert_eq!(selection.passed_over[0].reason, PassReason::AgeUnknown);
}

#[test]
fn selection_judges_no_soak_without_min_age_and_none_of_a_rolled_back_tag() {
    let index = history("nginx", &[]);
    let no_soak = CompiledRule {
        update: UpdateStrategy::Minor,
        ..CompiledRule::default_for_all()
    };
    let selection = select(
        "1.31.1-alpine",
        &no_soak,
        &index,
        now(),
        &RolledBackTags::new(),
        Sightings::Kept(None),
    );
    assert!(selection.soak_judged.is_empty());
    let rolled_back: RolledBackTags = [(
        "1.31.4-alpine".to_owned(),
        crate::core::selection::RolledBack {
            ticket: "deployment-web-1a2b3c".into(),
            at: now(),
        },
    )]
    .into();
    let listed = days_ago(20);
    let seen = records(listed, &[("1.31.3-alpine", listed)]);
    let selection = select(
        "1.31.1-alpine",
        &soak_rule(3),
        &index,
        now(),
        &rolled_back,
        Sightings::Kept(Some(&seen)),
    );
    assert_eq!(selection.soak_judged, ["1.31.3-alpine"]);
}

// --- recording ------------------------------------------------------------

#[test]
fn the_first_listing_is_recorded_once_to_the_second() {
    let mut scan = FirstSeenScan::new(FirstSeen::default());
    let first = now() + chrono::Duration::milliseconds(750);
    scan.listed(NGINX, first);
    scan.listed(NGINX, now() + chrono::Duration::hours(1));
    assert_eq!(scan.records().repository(NGINX).map(|r| r.listed), Some(now()));
}

#[test]
fn tags_recorded_at_the_first_listing_count_as_present_then() {
    let index = nginx_with_epoch_1_31_4();
    let mut scan = FirstSeenScan::new(FirstSeen::default());
    scan.listed(NGINX, now());
    // Before recording, the walk counts every tag as first seen now…
    let before = pick("1.31.1-alpine", &index, scan.records().sightings(NGINX));
    assert_eq!(before.candidate(), None);
    assert_eq!(before.soak_judged, ["1.31.4-alpine", "1.31.3-alpine", "1.31.2-alpine"]);
    let judged = before.soak_judged.clone();
    assert_eq!(scan.record_first_sightings(NGINX, &judged, now()), 3);
    // …after it, they soak from their build times, and the epoch-dated one
    // from the listing.
    let after = pick("1.31.1-alpine", &index, scan.records().sightings(NGINX));
    assert_eq!(after.candidate(), Some("1.31.3-alpine"));
    assert_eq!(
        after.passed_over[0].reason,
        PassReason::TooYoung {
            age: Duration::ZERO,
            min_age: Duration::from_secs(3 * 86_400),
            from: SoakStart::FirstSeen {
                at: now(),
                implausible_build: Some(at("1970-01-01T00:00:00Z"))
            }
        }
    );
}

#[test]
fn a_walk_records_only_the_ten_newest_tags_it_judged() {
    // node 22.16.0-alpine3.22 under minor has a dozen newer 22.x releases,
    // all judged at the first listing, when none has a record yet.
    let index = history("node", &[]);
    let mut scan = FirstSeenScan::new(FirstSeen::default());
    scan.listed(NODE, now());
    let walk = pick("22.16.0-alpine3.22", &index, scan.records().sightings(NODE));
    let judged = walk.soak_judged.clone();
    assert!(judged.len() > RECORDS_PER_WALK, "{judged:?}");
    assert_eq!(judged[0], "22.22.3-alpine3.22");
    assert_eq!(scan.record_first_sightings(NODE, &judged, now()), RECORDS_PER_WALK);
    let node = scan.records().repository(NODE).expect("listed");
    let recorded: Vec<&str> = judged.iter().copied().filter(|tag| node.tag(tag).is_some()).collect();
    assert_eq!(recorded, judged[..RECORDS_PER_WALK]);
    // The eleventh counts as first seen now: too young, whatever its
    // build time says.
    let eleventh = judged[RECORDS_PER_WALK];
    assert_eq!(
        soak(
            Some(at("2025-06-01T00:00:00Z")),
            eleventh,
            scan.records().sightings(NODE),
            now()
        ),
        Soak::From(SoakStart::FirstSeen {
            at: now(),
            implausible_build: None
        })
    );
}

#[test]
fn a_policy_keeps_at_most_its_cap_of_records() {
    let listed = days_ago(30);
    let full: BTreeMap<String, DateTime<Utc>> = (0..RECORDS_PER_POLICY - 4)
        .map(|i| (format!("1.{}.{}-alpine3.20", i / 100, i % 100), listed))
        .collect();
    let mut scan = FirstSeenScan::new(FirstSeen::from_repositories([(
        NGINX.to_owned(),
        RepositoryFirstSeen { listed, tags: full },
    )]));
    scan.listed(NGINX, now());
    let new = [
        "1.31.4-alpine",
        "1.31.3-alpine",
        "1.31.2-alpine",
        "1.31.1-alpine",
        "1.31.0-alpine",
        "1.30.4-alpine",
    ];
    assert_eq!(scan.record_first_sightings(NGINX, &new, now()), 4);
    assert_eq!(scan.records().tag_count(), RECORDS_PER_POLICY);
    assert_eq!(scan.record_first_sightings(NGINX, &new, now()), 0);
}

#[test]
fn a_repository_whose_tags_were_not_listed_gets_no_records() {
    let mut scan = FirstSeenScan::new(FirstSeen::default());
    scan.not_listed(NGINX);
    assert_eq!(scan.record_first_sightings(NGINX, &["1.31.4-alpine"], now()), 0);
    assert_eq!(scan.records(), &FirstSeen::default());
}

// --- pruning --------------------------------------------------------------

/// nginx, redis and a private repository, each first listed 20 days ago
/// with two recorded tags.
fn three_repositories() -> FirstSeen {
    let listed = days_ago(20);
    let seen = days_ago(2);
    FirstSeen::from_repositories([
        (
            NGINX.to_owned(),
            records(listed, &[("1.31.3-alpine", listed), ("1.31.4-alpine", seen)]),
        ),
        (
            "docker.io/library/redis".to_owned(),
            records(listed, &[("8.2.8-alpine", listed), ("8.2.9-alpine", seen)]),
        ),
        (
            "ghcr.io/acme/web".to_owned(),
            records(listed, &[("2.4.0", listed), ("2.5.0", seen)]),
        ),
    ])
}

#[test]
fn a_full_scan_keeps_what_selection_looked_at_and_drops_the_rest() {
    let mut scan = FirstSeenScan::new(three_repositories());
    scan.listed(NGINX, now());
    scan.looked_at(NGINX, ["1.31.4-alpine"]);
    // The registry of redis failed: its records stay whole.
    scan.not_listed("docker.io/library/redis");
    // ghcr.io/acme/web is no longer used.
    let pruned = scan.finish(true);
    let repositories: Vec<&str> = pruned.repositories().map(|(name, _)| name).collect();
    assert_eq!(repositories, [NGINX, "docker.io/library/redis"]);
    let nginx = pruned.repository(NGINX).expect("kept");
    assert_eq!(nginx.listed, days_ago(20), "the first listing stays");
    assert_eq!(nginx.tags.keys().collect::<Vec<_>>(), ["1.31.4-alpine"]);
    assert_eq!(
        pruned.repository("docker.io/library/redis"),
        three_repositories().repository("docker.io/library/redis")
    );
}

#[test]
fn a_partial_scan_never_prunes() {
    let mut scan = FirstSeenScan::new(three_repositories());
    scan.listed(NGINX, now());
    scan.looked_at(NGINX, ["1.31.4-alpine"]);
    assert_eq!(scan.finish(false), three_repositories());
}

#[test]
fn a_listed_repository_whose_tags_no_walk_judged_keeps_its_first_listing() {
    let mut scan = FirstSeenScan::new(three_repositories());
    scan.listed(NGINX, now());
    let pruned = scan.finish(true);
    let nginx = pruned
        .repository(NGINX)
        .expect("kept: a new tag must count as new, not as present");
    assert_eq!((nginx.listed, nginx.tags.len()), (days_ago(20), 0));
}

// --- properties -----------------------------------------------------------

/// What one scan does to one repository.
#[derive(Debug, Clone)]
enum RepositoryInScan {
    Unused,
    Failed,
    /// Listed, and walks judged these tags (indexes into [`TAGS`]), newest
    /// first.
    Listed(Vec<usize>),
}

#[derive(Debug, Clone)]
struct ScanCase {
    full: bool,
    /// Hours since the previous scan.
    after_hours: i64,
    repositories: Vec<RepositoryInScan>,
}

const REPOSITORIES: [&str; 3] = [NGINX, "docker.io/library/redis", "ghcr.io/acme/web"];
const TAGS: [&str; 8] = [
    "1.31.4-alpine",
    "1.31.3-alpine",
    "1.25.3-alpine3.20",
    "8.2.9-alpine",
    "22.22.3-alpine3.22",
    "3.12.13-slim-bookworm",
    "2.5.0",
    "v1.4.0",
];

fn scan_case() -> impl Strategy<Value = ScanCase> {
    let repository = prop_oneof![
        1 => Just(RepositoryInScan::Unused),
        1 => Just(RepositoryInScan::Failed),
        4 => prop::collection::vec(0..TAGS.len(), 0..TAGS.len()).prop_map(RepositoryInScan::Listed),
    ];
    (
        any::<bool>(),
        0i64..200,
        prop::collection::vec(repository, REPOSITORIES.len()),
    )
        .prop_map(|(full, after_hours, repositories)| ScanCase {
            full,
            after_hours,
            repositories,
        })
}

proptest! {
    #[test]
    fn recording_then_pruning_never_makes_a_recorded_tag_younger_than_its_record(
        cases in prop::collection::vec(scan_case(), 1..8),
    ) {
        let epoch = at("1970-01-01T00:00:00Z");
        let mut records = FirstSeen::default();
        let mut clock = days_ago(30);
        for case in cases {
            clock += chrono::Duration::hours(case.after_hours) + chrono::Duration::milliseconds(250);
            let before = records.clone();
            let mut scan = FirstSeenScan::new(records);
            for (name, what) in REPOSITORIES.iter().zip(&case.repositories) {
                match what {
                    RepositoryInScan::Unused => {}
                    RepositoryInScan::Failed => scan.not_listed(name),
                    RepositoryInScan::Listed(judged) => {
                        scan.listed(name, clock);
                        let judged: Vec<&str> = judged.iter().map(|i| TAGS[*i]).collect();
                        scan.record_first_sightings(name, &judged, clock);
                    }
                }
            }
            records = scan.finish(case.full);
            prop_assert!(records.tag_count() <= RECORDS_PER_POLICY);
            for (name, after) in records.repositories() {
                let earlier = before.repository(name);
                if let Some(earlier) = earlier {
                    prop_assert_eq!(after.listed, earlier.listed, "{}: the first listing never moves", name);
                }
                for (tag, recorded) in &after.tags {
                    prop_assert!(*recorded <= clock);
                    match earlier.and_then(|e| e.tag(tag)) {
                        Some(was) => {
                            prop_assert_eq!(*recorded, was, "{} {}: a kept record never moves", name, tag);
                            // So its soak, even for an epoch-dated build,
                            // starts where it did.
                            prop_assert_eq!(
                                soak(Some(epoch), tag, records.sightings(name), clock),
                                soak(Some(epoch), tag, before.sightings(name), clock),
                            );
                        }
                        None => prop_assert_eq!(*recorded, records::to_the_second(clock)),
                    }
                }
            }
            for (name, what) in REPOSITORIES.iter().zip(&case.repositories) {
                if let RepositoryInScan::Failed = what {
                    prop_assert_eq!(records.repository(name), before.repository(name), "{}: a registry blip restarts no soak", name);
                }
                if let (RepositoryInScan::Unused, true) = (what, case.full) {
                    prop_assert!(records.repository(name).is_none(), "{}: unused, dropped", name);
                }
            }
            if !case.full {
                // A partial scan drops nothing.
                for (name, earlier) in before.repositories() {
                    let after = records.repository(name);
                    prop_assert!(after.is_some());
                    for tag in earlier.tags.keys() {
                        prop_assert!(after.and_then(|a| a.tag(tag)).is_some());
                    }
                }
            }
        }
    }
}
