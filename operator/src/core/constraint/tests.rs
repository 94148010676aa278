//! The constraint syntax checked against what the Masterminds semver README,
//! Flux's ImagePolicy docs, Argo CD Image Updater's docs and Helm's docs say
//! their ranges mean, with real tag shapes, plus property tests of the
//! grammar's algebra.

use proptest::prelude::*;

use super::*;
use crate::core::version::TagVersion;

/// A tag as a constraint sees it.
fn version(tag: &str) -> Version {
    TagVersion::parse(tag)
        .unwrap_or_else(|| panic!("{tag} is a version tag"))
        .constraint_version()
}

fn constraint(text: &str) -> Constraint {
    Constraint::parse(text).unwrap_or_else(|error| panic!("`{text}` parses: {error}"))
}

/// Checks that `text` admits every tag of `admitted` and none of `refused`,
/// with pre-releases only where the constraint asks for them.
fn check(text: &str, admitted: &[&str], refused: &[&str]) {
    let parsed = constraint(text);
    for tag in admitted {
        assert!(parsed.matches(&version(tag), false), "`{text}` admits {tag}");
    }
    for tag in refused {
        assert!(!parsed.matches(&version(tag), false), "`{text}` refuses {tag}");
    }
}

fn error(text: &str) -> String {
    match Constraint::parse(text) {
        Ok(parsed) => panic!("`{text}` should not parse, got `{parsed}`"),
        Err(error) => error.to_string(),
    }
}

// The Masterminds semver README, section "Checking Version Constraints".

#[test]
fn and_groups_joined_by_or_as_the_readme_shows() {
    check(
        ">= 1.2 < 3.0.0 || >= 4.2.3",
        &["1.2.0", "1.2", "2.9.9", "4.2.3", "5.0.0"],
        &["1.1.9", "3.0.0", "3.4.0", "4.2.2"],
    );
}

#[test]
fn the_basic_comparisons_and_their_alternative_spellings() {
    check("= 1.27.1", &["1.27.1"], &["1.27.0", "1.27.2"]);
    check("!= 1.27.1", &["1.27.0", "1.27.2", "2.0.0"], &["1.27.1"]);
    check("> 1.27.1", &["1.27.2", "2.0.0"], &["1.27.1", "1.26.9"]);
    check("< 1.27.1", &["1.27.0", "0.9.0"], &["1.27.1", "1.28.0"]);
    check(">= 1.27.1", &["1.27.1", "1.28.0"], &["1.27.0"]);
    check("<= 1.27.1", &["1.27.1", "1.26.0"], &["1.27.2"]);
    // `=>` and `=<` are Masterminds' aliases, `~>` its alias for `~`.
    check("=> 1.27.1", &["1.27.1", "1.28.0"], &["1.27.0"]);
    check("=< 1.27.1", &["1.27.1", "1.26.0"], &["1.27.2"]);
    check("~> 1.27.1", &["1.27.1", "1.27.9"], &["1.28.0"]);
}

#[test]
fn pre_releases_are_skipped_unless_the_range_names_one() {
    check(">=1.2.3", &["1.2.3", "1.3.0"], &["1.2.4-beta.1", "1.3.0-rc.1"]);
    check(">=1.2.3-0", &["1.2.3", "1.2.4-beta.1", "1.2.3-alpha"], &["1.2.2"]);
    // In the order of precedence, a pre-release comes before its release.
    check("<1.2.3-0 || >=1.2.3", &["1.2.3"], &["1.2.3-beta.1"]);
    check("<1.2.3", &["1.2.2"], &["1.2.3-beta.1"]);
    check("<1.2.3-rc.9", &["1.2.3-beta.1", "1.2.2"], &["1.2.3-rc.9", "1.2.3"]);
}

#[test]
fn one_pre_release_in_an_and_group_lets_pre_releases_into_the_whole_group() {
    // Masterminds 3.4: `<=2.0.0` names no pre-release, but its group does.
    check(
        ">= 1.0.0-0 <= 2.0.0",
        &["1.0.1-beta", "2.0.0-rc.1", "2.0.0"],
        &["2.0.1"],
    );
    // Only the group that names one: `> 3` stays on releases.
    check(
        ">= 1.0.0 <= 2.0.0-beta || > 3",
        &["1.0.1-beta"],
        &["3.0.1-beta", "3.0.0"],
    );
    // `> 3` leaves the minor open: it means a newer major, 4 or later.
    check(">= 1.0.0 <= 2.0.0-beta || > 3", &["4.0.0", "4.1.2"], &["3.1.0"]);
}

#[test]
fn a_caller_may_include_pre_releases_in_every_group() {
    let below_two = constraint("<2");
    assert!(!below_two.matches(&version("1.9.0-rc.1"), false));
    assert!(below_two.matches(&version("1.9.0-rc.1"), true));
    // Included pre-releases compare by precedence: 2.0.0-rc.1 < 2.0.0.
    assert!(below_two.matches(&version("2.0.0-rc.1"), true));
    assert!(!constraint(">=2").matches(&version("2.0.0-rc.1"), true));
    assert!(!constraint("<2.0.0-0").matches(&version("2.0.0-rc.1"), true));
}

#[test]
fn hyphen_ranges_need_spaces_around_the_hyphen() {
    check("1.2 - 1.4.5", &["1.2.0", "1.3.7", "1.4.5"], &["1.1.9", "1.4.6"]);
    check("2.3.4 - 4.5", &["2.3.4", "4.5.9"], &["2.3.3", "4.6.0"]);
    // Without spaces, `1.2-1.4.5` is the version 1.2 with the pre-release
    // `1.4.5`: like `1.2`, it admits 1.2.x, and pre-releases with it.
    check("1.2-1.4.5", &["1.2.0", "1.2.9", "1.2.1-rc.1"], &["1.4.5", "1.3.0"]);
}

#[test]
fn wildcards_leave_their_part_open() {
    check("1.2.x", &["1.2.0", "1.2.17"], &["1.3.0", "1.1.9"]);
    check("1.2.X", &["1.2.17"], &["1.3.0"]);
    check("1.2.*", &["1.2.17"], &["1.3.0"]);
    check(">= 1.2.x", &["1.2.0", "7.0.0"], &["1.1.9"]);
    check("<= 2.x", &["2.9.9", "0.1.0"], &["3.0.0"]);
    check("*", &["0.0.1", "1.25.3", "2024.10.1"], &["2.0.0-rc.1"]);
    check("x", &["1.25.3"], &[]);
    check("*-0", &["2.0.0-rc.1", "1.0.0"], &[]);
}

#[test]
fn tilde_keeps_the_minor_or_the_major_when_no_minor_is_written() {
    check("~1.2.3", &["1.2.3", "1.2.9"], &["1.2.2", "1.3.0"]);
    check("~1", &["1.0.0", "1.9.9"], &["2.0.0", "0.9.0"]);
    check("~2.3", &["2.3.0", "2.3.9"], &["2.4.0", "2.2.9"]);
    check("~1.2.x", &["1.2.0", "1.2.9"], &["1.3.0"]);
    check("~1.x", &["1.0.0", "1.9.9"], &["2.0.0"]);
}

#[test]
fn caret_keeps_the_major_and_below_1_0_the_first_non_zero_part() {
    check("^1.2.3", &["1.2.3", "1.9.0"], &["1.2.2", "2.0.0"]);
    check("^1.2.x", &["1.2.0", "1.9.0"], &["1.1.9", "2.0.0"]);
    check("^2.3", &["2.3.0", "2.99.0"], &["2.2.9", "3.0.0"]);
    check("^2.x", &["2.0.0", "2.99.0"], &["3.0.0", "1.9.9"]);
    check("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0", "0.2.2"]);
    check("^0.2", &["0.2.0", "0.2.9"], &["0.3.0"]);
    check("^0.0.3", &["0.0.3"], &["0.0.4", "0.0.2"]);
    check("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]);
    check("^0", &["0.0.0", "0.9.9"], &["1.0.0"]);
}

#[test]
fn a_v_prefix_is_allowed_on_either_side() {
    // Argo CD Image Updater: `v1.x` matches `1.0`, `1.x` matches `v1.0`.
    check("v1.x", &["1.0", "v1.0", "1.15.2"], &["2.0"]);
    check("1.x", &["v1.0"], &["v2.0"]);
    check(">=v1.2.3", &["v1.2.3"], &["v1.2.2"]);
}

// Flux's ImagePolicy docs (`spec.policy.semver.range`).

#[test]
fn the_ranges_flux_image_policies_show() {
    check("5.1.x", &["5.1.0", "5.1.4"], &["5.2.0", "5.0.9"]);
    check("1.0.x", &["1.0.7"], &["1.1.0"]);
    // "the latest stable version"
    check(">=1.0.0", &["1.0.0", "6.7.1"], &["6.8.0-rc.1", "0.9.0"]);
    check(">=1.0.0 <2.0.0", &["1.0.0", "1.99.0"], &["2.0.0", "2.0.0-rc.1"]);
    // "the latest version including pre-releases"
    check(">=1.0.0-0", &["1.0.0", "6.8.0-rc.1", "1.0.0-alpha"], &["0.9.0"]);
    // "the latest release candidate" (with a tag filter on `-rc`)
    check(
        "^1.x-0",
        &["1.3.0-rc.2", "1.0.0-rc.1", "1.9.0"],
        &["2.0.0-rc.1", "0.9.0"],
    );
}

// Argo CD Image Updater's docs (the constraint after the image name).

#[test]
fn the_ranges_argo_cd_image_updater_shows() {
    check("1.2.x", &["1.2.5", "1.2.12"], &["1.3", "1.3.0"]);
    check("1.x", &["1.2.12", "1.3.0", "1.15.2"], &["2.0", "2.0.0"]);
    // Pre-releases only with `-0` appended.
    check("2.x", &["2.0", "2.1.3"], &["v2.0-rc1"]);
    check("2.x-0", &["v2.0-rc1", "2.1.3"], &["3.0.0-rc1"]);
    // nginx within the 1.26 and 1.19 minor releases
    check("~1.26", &["1.26.0", "1.26.3"], &["1.27.0", "1.25.5"]);
    check("~1.19", &["1.19.1", "1.19.10"], &["1.20.0"]);
}

// Helm's docs (chart dependency `version`, `--version`).

#[test]
fn the_ranges_helm_documents() {
    // "~1.2.3 is equivalent to >= 1.2.3, < 1.3.0" and skips pre-releases …
    check("~1.2.3", &["1.2.3", "1.2.4"], &["1.3.0", "1.2.4-rc.1"]);
    // … unless written `~1.2.3-0`.
    check(
        "~1.2.3-0",
        &["1.2.4-rc.1", "1.2.3-beta.2", "1.2.4"],
        &["1.3.0-rc.1", "1.3.0"],
    );
    check("^2.0.0", &["2.0.0", "2.14.1"], &["3.0.0", "1.9.9"]);
    // A specific version is exact.
    check("1.1.1", &["1.1.1"], &["1.1.2"]);
}

// Where Masterminds and Cargo (refit's syntax before) differ.

#[test]
fn a_bare_version_is_exact_not_a_caret_range() {
    // Cargo read `1.25.3` as `^1.25.3`; Masterminds, and refit now, as `=1.25.3`.
    check("1.25.3", &["1.25.3", "1.25.3-alpine"], &["1.25.4", "1.26.0"]);
    // A bare `1.25` is `1.25.x` (Cargo: `^1.25`, up to 2.0).
    check("1.25", &["1.25.0", "1.25.9"], &["1.26.0"]);
    check("1", &["1.0.0", "1.99.0"], &["2.0.0"]);
}

#[test]
fn or_space_and_not_equal_are_accepted() {
    check("<1.27 || >=2.0", &["1.26.9", "2.0.0", "2.3.1"], &["1.27.0", "1.99.0"]);
    check(">=1.25 <1.28", &["1.25.0", "1.27.9"], &["1.28.0", "1.24.9"]);
    check("!=1.27.1, <1.28", &["1.27.0", "1.27.2"], &["1.27.1", "1.28.0"]);
    // `!=` with an open part excludes everything it covers.
    check("!=1.27", &["1.26.0", "1.28.0"], &["1.27.0", "1.27.5"]);
    check("!=1.x", &["2.0.0"], &["1.0.0", "1.27.5"]);
}

#[test]
fn open_parts_on_greater_and_less_follow_masterminds() {
    // `>1.2` means a newer minor, `<=1.2` anything up to the end of 1.2.
    check(">1.2", &["1.3.0"], &["1.2.9"]);
    check(">1", &["2.0.0"], &["1.9.9"]);
    check("<=1.2", &["1.2.9"], &["1.3.0"]);
    check("<=1", &["1.9.9"], &["2.0.0"]);
    check("<1.2", &["1.1.9"], &["1.2.0"]);
    // Degenerate wildcard forms keep Masterminds' meaning too.
    check("^*", &["0.0.0"], &["0.0.1", "1.0.0"]);
    check("<=*", &["0.0.9"], &["0.1.0", "1.0.0"]);
    check("~*", &["0.0.1", "9.9.9"], &[]);
}

// How tags become versions.

#[test]
fn variants_never_make_a_tag_a_pre_release() {
    // A semver library reading the whole tag would see `alpine3.20` as a
    // pre-release and refuse these; refit compares the numbers.
    check(">=1.25", &["1.25.3-alpine3.20", "1.25.3-alpine"], &[]);
    check(
        "~3.12",
        &["3.12.1-slim-bookworm", "3.12.13-slim-bookworm"],
        &["3.13.0-slim-bookworm"],
    );
    check("^22", &["22.21.1-alpine3.22", "22-alpine"], &["24.1.0-alpine3.22"]);
    check(">=17 <18", &["17.6-bookworm", "17.6"], &["18.0-bookworm"]);
    check("*", &["8.2.9-alpine", "21.0.5_11-jdk-alpine"], &[]);
}

#[test]
fn a_tag_pre_release_reads_as_refit_reads_it_in_any_spelling() {
    let rc1 = ["2.0.0-rc.1", "2.0.0-rc1", "2.0.0rc1", "2.0.0-RC1"];
    for text in [">=2.0.0-rc.1", ">=2.0.0-rc1", ">=2.0.0-RC1"] {
        check(text, &rc1, &["2.0.0-beta.5", "2.0.0-rc.0"]);
        // Numbers compare as numbers: rc10 is after rc9.
        check(text, &["2.0.0-rc10", "2.0.0-rc.2", "2.0.0", "2.1.0-alpha"], &[]);
    }
    // Masterminds compares `BETA` as ASCII text, before `alpha`; refit
    // reads it as the beta marker, as it reads tags.
    check(">=1.2.3-BETA", &["1.2.3-beta.1", "1.2.3-rc.1"], &["1.2.3-alpha"]);
    // Python's `a`/`b` markers order like alpha and beta.
    check(
        ">=3.13.0-b1 <3.13.0-rc1",
        &["3.13.0b1", "3.13.0b4"],
        &["3.13.0a6", "3.13.0rc1"],
    );
    check(">3.13.0-alpha <3.13.0-beta", &["3.13.0a4"], &["3.13.0b1", "3.13.0-dev"]);
}

#[test]
fn other_pre_releases_compare_by_semver_identifiers() {
    // `0` is the lowest identifier, so `-0` reaches every pre-release.
    check(">=2.0.0-0", &["2.0.0-dev", "2.0.0-alpha"], &["1.9.9"]);
    // A word refit does not read as a marker compares as text against the
    // tag's `<kind>.<number>`: `rc` < `snapshot`.
    check(">=2.0.0-snapshot", &["2.0.0"], &["2.0.0-rc.9"]);
    check("<2.0.0-snapshot", &["2.0.0-rc.9"], &["2.0.0"]);
}

#[test]
fn a_fourth_number_in_a_tag_is_not_compared() {
    check("1.2.3", &["1.2.3.4"], &["1.2.4.0"]);
    check(">=1.2.3 <1.2.4", &["1.2.3.99"], &[]);
}

// What is refused, and how the message helps.

#[test]
fn malformed_constraints_say_what_is_wrong() {
    let cases = [
        ("", "it is empty"),
        ("   ", "it is empty"),
        (
            "> one",
            "`one` is not a version: a version starts with a number, `x`, `X` or `*`",
        ),
        (
            "BAR >= 1.2.3",
            "`BAR` is not a version: a version starts with a number, `x`, `X` or `*`",
        ),
        (">=", "`>=` is not followed by a version"),
        (">= 1.2,", "the `,` after `>= 1.2` is not followed by a version"),
        (">= 1.2,,<2", "a `,` has no comparison before it"),
        ("1.2 ||", "a side of `||` has no comparison"),
        ("|| 1.2", "a side of `||` has no comparison"),
        ("1.2 |||| 2", "a side of `||` has no comparison"),
        (
            "12.3.4.1234",
            "`12.3.4.1234` is not a version: it has more than three numbers; a constraint compares major, minor and patch",
        ),
        (
            ">=1.2.3<2",
            "`<2` follows `1.2.3` without a space or a comma between them",
        ),
        ("1.2.3 -2", "`-2` is not a version: it has no numbers"),
        (
            "1..2",
            "`1..2` is not a version: each part is a number, `x`, `X` or `*`",
        ),
        (
            "1.2x",
            "`1.2x` is not a version: each part is a number, `x`, `X` or `*`",
        ),
        (
            "V1.2",
            "`V1.2` is not a version: a version starts with a number, `x`, `X` or `*`",
        ),
        (
            "v1.2.3-beta.01",
            "`v1.2.3-beta.01` is not a version: a number in a pre-release cannot start with 0",
        ),
        (
            "1.2.3-beta..1",
            "`1.2.3-beta..1` is not a version: a pre-release is dot-separated letters, digits and `-`, none of them empty",
        ),
        (
            "1.2.3+",
            "`1.2.3+` is not a version: build metadata is dot-separated letters, digits and `-`, none of them empty",
        ),
        (
            "99999999999999999999.1",
            "`99999999999999999999.1` is not a version: a number is too large",
        ),
        (
            ">=1 - 2",
            "the range `>=1 - 2` has an operator; a hyphen range is two bare versions, `1.2 - 1.4.5`",
        ),
        ("1 - ", "`1 -` is not followed by a version"),
        (
            "12.3.34~ 1.2.3",
            "`~` follows `12.3.34` without a space or a comma between them",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(error(text), message, "{text:?}");
    }
}

#[test]
fn what_masterminds_accepts_parses() {
    for text in [
        ">= 1.1",
        ">40.50.60, < 50.70",
        "2.0",
        "v2.3.5-20161202202307-sha.e8fc5e5",
        "v1.2.3-0abc",
        ">= 1.2.3 < 2.0 || => 3.0 < 4",
        ">= 1.2.3, < 2.0 || => 3.0, < 4",
        "3 - 4 || => 3.0, < 4",
        "12.3.34 ~1.2.3",
        "1.0.0 - 2.0.0, <=2.0.0",
        "1.0.0 - 2.0.0 <=2.0.0",
        ">1.1    <3",
        ">=1.1, <2, !=1.2.3 || > 3",
        "1.2.3+build.7",
        "\t>=1.2\n",
    ] {
        assert!(
            Constraint::parse(text).is_ok(),
            "{text:?}: {:?}",
            Constraint::parse(text)
        );
    }
}

// Properties.

fn arbitrary_version() -> impl Strategy<Value = Version> {
    let kind = proptest::sample::select(vec![
        PreReleaseKind::Dev,
        PreReleaseKind::Alpha,
        PreReleaseKind::Beta,
        PreReleaseKind::Preview,
        PreReleaseKind::ReleaseCandidate,
    ]);
    (
        proptest::array::uniform3(0u64..4),
        proptest::option::weighted(0.3, (kind, 0u64..3)),
    )
        .prop_map(|(numbers, pre)| Version {
            numbers,
            pre_release: pre.map(|(kind, number)| PreRelease { kind, number }),
        })
}

/// A version as a constraint writes it: 1–3 parts, wildcards, pre-releases
/// that are and are not refit markers.
fn arbitrary_bound() -> impl Strategy<Value = String> {
    let part =
        prop_oneof![4 => (0u64..4).prop_map(|n| n.to_string()), 1 => Just("x".to_owned()), 1 => Just("*".to_owned())];
    (
        proptest::bool::weighted(0.1),
        proptest::collection::vec(part, 1..=3),
        proptest::option::weighted(
            0.25,
            proptest::sample::select(vec!["0", "rc.1", "rc1", "beta", "alpha.2", "SNAPSHOT", "1"]),
        ),
    )
        .prop_map(|(v, parts, pre)| {
            let mut text = if v { "v".to_owned() } else { String::new() };
            text.push_str(&parts.join("."));
            if let Some(pre) = pre {
                text.push('-');
                text.push_str(pre);
            }
            text
        })
}

fn arbitrary_comparison() -> impl Strategy<Value = String> {
    let op = proptest::sample::select(vec!["", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"]);
    prop_oneof![
        5 => (op, proptest::bool::ANY, arbitrary_bound()).prop_map(|(op, space, bound)| {
            format!("{op}{}{bound}", if space { " " } else { "" })
        }),
        1 => (arbitrary_bound(), arbitrary_bound()).prop_map(|(low, high)| format!("{low} - {high}")),
    ]
}

fn arbitrary_group() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(arbitrary_comparison(), 1..4)
}

fn arbitrary_constraint() -> impl Strategy<Value = String> {
    proptest::collection::vec(arbitrary_group().prop_map(|group| group.join(" ")), 1..3)
        .prop_map(|groups| groups.join(" || "))
}

/// The README's "is equivalent to" statements, each side as written there
/// (they describe the default, pre-releases not included).
const README_EQUIVALENCES: [(&str, &str); 21] = [
    ("1.2 - 1.4.5", ">= 1.2 <= 1.4.5"),
    ("2.3.4 - 4.5", ">= 2.3.4 <= 4.5"),
    ("1.2.x", ">= 1.2.0, < 1.3.0"),
    (">= 1.2.x", ">= 1.2.0"),
    ("<= 2.x", "< 3"),
    ("*", ">= 0.0.0"),
    ("~1.2.3", ">= 1.2.3, < 1.3.0"),
    ("~1", ">= 1, < 2"),
    ("~2.3", ">= 2.3, < 2.4"),
    ("~1.2.x", ">= 1.2.0, < 1.3.0"),
    ("~1.x", ">= 1, < 2"),
    ("^1.2.3", ">= 1.2.3, < 2.0.0"),
    ("^1.2.x", ">= 1.2.0, < 2.0.0"),
    ("^2.3", ">= 2.3, < 3"),
    ("^2.x", ">= 2.0.0, < 3"),
    ("^0.2.3", ">=0.2.3 <0.3.0"),
    ("^0.2", ">=0.2.0 <0.3.0"),
    ("^0.0.3", ">=0.0.3 <0.0.4"),
    ("^0.0", ">=0.0.0 <0.1.0"),
    ("^0", ">=0.0.0 <1.0.0"),
    // Helm's pre-release example, written out.
    ("~1.2.3-0", ">= 1.2.3-0, < 1.3.0-0"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_never_panics(text in "\\PC{0,40}") {
        let _ = Constraint::parse(&text);
    }

    #[test]
    fn parsing_the_grammars_own_characters_never_panics(text in "[ 0-9xX*.v,|<>=!~^+a-zA-Z-]{0,32}") {
        let _ = Constraint::parse(&text);
    }

    #[test]
    fn or_admits_exactly_what_either_side_admits(
        a in arbitrary_constraint(), b in arbitrary_constraint(), v in arbitrary_version(), include in any::<bool>()
    ) {
        let either = constraint(&format!("{a} || {b}"));
        let expected = constraint(&a).matches(&v, include) || constraint(&b).matches(&v, include);
        prop_assert_eq!(either.matches(&v, include), expected);
    }

    #[test]
    fn a_comma_and_a_space_are_the_same_and(group in arbitrary_group(), v in arbitrary_version(), include in any::<bool>()) {
        let spaced = constraint(&group.join(" "));
        let comma = constraint(&group.join(", "));
        let tight = constraint(&group.join(","));
        prop_assert_eq!(spaced.matches(&v, include), comma.matches(&v, include));
        prop_assert_eq!(spaced.matches(&v, include), tight.matches(&v, include));
    }

    /// With pre-releases decided for every group alike, a group admits what
    /// all of its comparisons admit.
    #[test]
    fn and_admits_what_every_comparison_admits(group in arbitrary_group(), v in arbitrary_version()) {
        let together = constraint(&group.join(" ")).matches(&v, true);
        let each = group.iter().all(|comparison| constraint(comparison).matches(&v, true));
        prop_assert_eq!(together, each);
    }

    #[test]
    fn a_release_is_admitted_whether_or_not_pre_releases_are_included(
        text in arbitrary_constraint(), numbers in proptest::array::uniform3(0u64..4)
    ) {
        let release = Version { numbers, pre_release: None };
        let parsed = constraint(&text);
        prop_assert_eq!(parsed.matches(&release, false), parsed.matches(&release, true));
    }

    #[test]
    fn the_written_form_parses_to_the_same_meaning(text in arbitrary_constraint(), v in arbitrary_version(), include in any::<bool>()) {
        let parsed = constraint(&text);
        let again = constraint(&parsed.to_string());
        prop_assert_eq!(parsed.matches(&v, include), again.matches(&v, include), "{} vs {}", text, parsed);
    }

    #[test]
    fn the_documented_equivalences_hold_for_every_version(v in arbitrary_version()) {
        for (left, right) in README_EQUIVALENCES {
            prop_assert_eq!(
                constraint(left).matches(&v, false),
                constraint(right).matches(&v, false),
                "`{}` vs `{}` on {:?}", left, right, v
            );
        }
    }

    #[test]
    fn whitespace_around_operators_and_separators_does_not_matter(group in arbitrary_group(), v in arbitrary_version()) {
        let tight = constraint(&group.join(","));
        let loose = constraint(&format!("  {}  ", group.join(" \t,\n ")));
        prop_assert_eq!(tight.matches(&v, false), loose.matches(&v, false));
    }
}
