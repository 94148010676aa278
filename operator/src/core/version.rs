//! Tags read as versions, and a repository's tags indexed for selection.
//!
//! A tag is a version when it reads as
//!
//! ```text
//! [v] N[.N[.N[.N]]] [pre-release] [build] [-variant]
//! ```
//!
//! - `N` are decimal numbers; their count is the tag's *precision*
//!   (`1.25` has 2, `1.25.3` has 3);
//! - a pre-release is `alpha`, `beta`, `rc`, `pre`, `preview`, `dev` (any
//!   case), or python's `a`/`b` followed by a number, written directly
//!   after the numbers or after `-` or `.`, with an optional number
//!   (`3.13.0a4`, `1.24rc1`, `9.4-beta2`, `3.6.15-rc.1`, `8.3.0RC6`);
//! - build metadata is `+` or `_` and letters, digits and dots
//!   (`1.2.3+build.5`, `21.0.5_11`); it never makes a version newer;
//! - the variant is everything after the next `-` (`alpine`,
//!   `alpine3.20`, `slim-bookworm`, `management-alpine`).
//!
//! Anything else (`latest`, `sha-abc123`, `bookworm`, `8u302-b08-jdk`) is not
//! a version and is never compared as one.
//!
//! Two tags are comparable only within a *family*: the same `v` prefix, the
//! same precision and the same variant. `1.25.3-alpine3.20` and
//! `1.25.4-alpine3.21` are different families: moving to a new Alpine
//! release is a base change, not a patch.

use std::{cmp::Ordering, fmt};

use chrono::{DateTime, Utc};
use smol_str::SmolStr;

use super::{FastMap, constraint};

/// The most numeric components a version tag may have.
pub const MAX_PRECISION: usize = 4;

/// Pre-release kinds, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreReleaseKind {
    /// `dev`
    Dev,
    /// `alpha`, `a`
    Alpha,
    /// `beta`, `b`
    Beta,
    /// `pre`, `preview`
    Preview,
    /// `rc`
    ReleaseCandidate,
}

/// A pre-release marker: its kind and number (`rc.2` → (rc, 2)); a marker
/// without a number counts as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PreRelease {
    /// What kind of pre-release.
    pub kind: PreReleaseKind,
    /// Its number.
    pub number: u64,
}

impl PreRelease {
    /// Reads a whole pre-release as tags write it after the numbers and
    /// their separator (`rc.1`, `rc1`, `beta`, `b1`, `RC6`, `preview.3`);
    /// `None` for anything else (`0`, `SNAPSHOT`, `rc.1.2`).
    pub fn parse(text: &str) -> Option<PreRelease> {
        if text.starts_with(['-', '.']) {
            return None;
        }
        read_pre_release(text).and_then(|(pre, length)| (length == text.len()).then_some(pre))
    }
}

/// A tag read as a version (borrowing the variant from the tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagVersion<'a> {
    /// The numeric components; unused ones are 0.
    pub numbers: [u64; MAX_PRECISION],
    /// How many numeric components the tag writes (1–4).
    pub precision: u8,
    /// The pre-release marker, if any.
    pub pre_release: Option<PreRelease>,
    /// Whether the tag starts with `v`.
    pub v_prefix: bool,
    /// The variant after the version, without the leading `-`; empty for
    /// none.
    pub variant: &'a str,
}

impl<'a> TagVersion<'a> {
    /// Reads a tag as a version; `None` when it is not one.
    pub fn parse(tag: &'a str) -> Option<TagVersion<'a>> {
        let bytes = tag.as_bytes();
        let mut i = 0;
        let v_prefix = matches!(bytes.first(), Some(b'v' | b'V')) && bytes.get(1).is_some_and(u8::is_ascii_digit);
        if v_prefix {
            i = 1;
        }
        let mut numbers = [0u64; MAX_PRECISION];
        let mut precision = 0usize;
        loop {
            if precision == MAX_PRECISION {
                return None;
            }
            // Accumulated by hand: this runs for every tag of every
            // repository, and `str::parse` costs several times more.
            let start = i;
            let mut value: u64 = 0;
            while let Some(digit) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
                value = value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
                i += 1;
            }
            if i == start {
                return None;
            }
            numbers[precision] = value;
            precision += 1;
            if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        let pre_release = match read_pre_release(&tag[i..]) {
            Some((pre, length)) => {
                i += length;
                Some(pre)
            }
            None => None,
        };
        if matches!(bytes.get(i), Some(b'+' | b'_')) {
            let length = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.')
                .count();
            if length == 0 {
                return None;
            }
            i += 1 + length;
        }
        let variant = match bytes.get(i) {
            None => "",
            Some(b'-') if i + 1 < bytes.len() => &tag[i + 1..],
            Some(_) => return None,
        };
        Some(TagVersion {
            numbers,
            precision: precision as u8,
            pre_release,
            v_prefix,
            variant,
        })
    }

    /// The family this version can be compared within.
    pub fn family(&self) -> FamilyKey<'a> {
        FamilyKey {
            v_prefix: self.v_prefix,
            precision: self.precision,
            variant: self.variant,
        }
    }

    /// Whether this is a pre-release.
    pub fn is_pre_release(&self) -> bool {
        self.pre_release.is_some()
    }

    /// The numeric components the tag writes.
    pub fn written_numbers(&self) -> &[u64] {
        &self.numbers[..usize::from(self.precision)]
    }

    /// Version precedence within a family: numbers, then a release above
    /// all of its pre-releases.
    pub fn precedence(&self) -> Precedence {
        Precedence {
            numbers: self.numbers,
            pre_release: self.pre_release.map_or(PreRank::Release, PreRank::Pre),
        }
    }

    /// The version a constraint is checked against (see
    /// [`Precedence::constraint_version`]).
    pub fn constraint_version(&self) -> constraint::Version {
        self.precedence().constraint_version()
    }
}

/// Orders versions within a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Precedence {
    numbers: [u64; MAX_PRECISION],
    pre_release: PreRank,
}

/// A release ranks above every pre-release of the same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum PreRank {
    Pre(PreRelease),
    Release,
}

impl Precedence {
    /// The numeric components.
    pub fn numbers(&self) -> &[u64; MAX_PRECISION] {
        &self.numbers
    }

    /// Whether this is a pre-release.
    pub fn is_pre_release(&self) -> bool {
        matches!(self.pre_release, PreRank::Pre(_))
    }

    /// The version a constraint is checked against: missing numbers are 0,
    /// a fourth number is ignored, the pre-release is kept and the variant
    /// is not part of it. `1.25.3-alpine3.20` is the release `1.25.3`, never
    /// a pre-release `alpine3.20` (as a semver library reading the whole
    /// tag would have it), so a variant never keeps a tag out of a range.
    pub fn constraint_version(&self) -> constraint::Version {
        constraint::Version {
            numbers: [self.numbers[0], self.numbers[1], self.numbers[2]],
            pre_release: match self.pre_release {
                PreRank::Pre(pre) => Some(pre),
                PreRank::Release => None,
            },
        }
    }
}

/// What makes two version tags comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamilyKey<'a> {
    /// `v` prefix.
    pub v_prefix: bool,
    /// Number of numeric components.
    pub precision: u8,
    /// Variant text.
    pub variant: &'a str,
}

impl fmt::Display for FamilyKey<'_> {
    /// `-alpine`, `v…`, `(no variant)`: how reasons name a family.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = ["N", "N.N", "N.N.N", "N.N.N.N"][usize::from(self.precision.clamp(1, 4) - 1)];
        let prefix = if self.v_prefix { "v" } else { "" };
        if self.variant.is_empty() {
            write!(f, "{prefix}{shape}")
        } else {
            write!(f, "{prefix}{shape}-{}", self.variant)
        }
    }
}

/// Reads a pre-release marker at the start of `rest` (after the numbers):
/// returns it and how many bytes it took.
fn read_pre_release(rest: &str) -> Option<(PreRelease, usize)> {
    let separator = usize::from(matches!(rest.as_bytes().first(), Some(b'-' | b'.')));
    let body = &rest[separator..];
    // Most tags have no pre-release: only these letters can start one.
    if !matches!(
        body.as_bytes().first(),
        Some(b'a' | b'b' | b'd' | b'p' | b'r' | b'A' | b'B' | b'D' | b'P' | b'R')
    ) {
        return None;
    }
    // Longer keywords first, so `preview` is not read as `pre` + `view`.
    const KEYWORDS: [(&str, PreReleaseKind, bool); 8] = [
        ("preview", PreReleaseKind::Preview, false),
        ("alpha", PreReleaseKind::Alpha, false),
        ("beta", PreReleaseKind::Beta, false),
        ("pre", PreReleaseKind::Preview, false),
        ("dev", PreReleaseKind::Dev, false),
        ("rc", PreReleaseKind::ReleaseCandidate, false),
        // Python's `3.13.0a4`: a single letter needs its number.
        ("a", PreReleaseKind::Alpha, true),
        ("b", PreReleaseKind::Beta, true),
    ];
    for (keyword, kind, needs_number) in KEYWORDS {
        let Some(head) = body.get(..keyword.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(keyword) {
            continue;
        }
        let after = &body[keyword.len()..];
        let dot = usize::from(after.starts_with('.') && after.as_bytes().get(1).is_some_and(u8::is_ascii_digit));
        let digits = after[dot..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 && (needs_number || dot == 1) {
            continue;
        }
        let end = keyword.len() + dot + digits;
        // The marker must end the tag or be followed by a variant or build.
        if !matches!(body.as_bytes().get(end), None | Some(b'-' | b'+' | b'_')) {
            continue;
        }
        let number = if digits == 0 {
            0
        } else {
            after[dot..dot + digits].parse().ok()?
        };
        return Some((PreRelease { kind, number }, separator + end));
    }
    None
}

/// A tag of a repository with what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    /// The tag.
    pub tag: String,
    /// When the image was built (config `created`), when known.
    pub created: Option<DateTime<Utc>>,
}

/// One version tag in an index.
#[derive(Debug, Clone)]
pub(crate) struct IndexedTag {
    pub(crate) precedence: Precedence,
    /// Inline up to 23 bytes, as nearly every tag is: selection and its
    /// explanation read tags without following a pointer.
    pub(crate) tag: SmolStr,
    pub(crate) created: Option<DateTime<Utc>>,
}

/// A repository's tags, parsed once and grouped by family, each family
/// sorted by precedence: selection for a container is then a binary search
/// and a short walk, however many tags the repository has.
#[derive(Debug, Clone, Default)]
pub struct TagIndex {
    /// Variant → families of that variant by (`v` prefix, precision).
    /// Variants are short and kept inline in the keys.
    families: FastMap<SmolStr, Vec<Family>>,
    total: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Family {
    v_prefix: bool,
    precision: u8,
    /// Ascending by precedence, then tag.
    pub(crate) tags: Vec<IndexedTag>,
    /// `tags[i].precedence`, kept apart so binary searches touch little
    /// memory.
    pub(crate) precedences: Vec<Precedence>,
    /// `coarse_key(tags[i])`: eight bytes per tag instead of a precedence's
    /// forty-eight, so the searches that place a container in its family
    /// touch a few cache lines even in node's history.
    keys: Vec<u64>,
}

/// Bits of the coarse key given to the first three numbers.
const COARSE_WIDTHS: [u32; 3] = [24, 20, 20];

/// A `u64` that orders like the first three numbers of a version and never
/// against precedence: `a < b` implies `coarse_key(a) <= coarse_key(b)`.
/// A number too large for its bits saturates and zeroes the bits after it,
/// which keeps that promise; tags whose keys are equal are told apart by
/// their full precedences.
fn coarse_key(numbers: &[u64; MAX_PRECISION]) -> u64 {
    let mut key = 0u64;
    let mut saturated = false;
    for (number, width) in numbers.iter().zip(COARSE_WIDTHS) {
        let max = (1u64 << width) - 1;
        let part = if saturated { 0 } else { (*number).min(max) };
        saturated |= *number >= max;
        key = (key << width) | part;
    }
    key
}

impl Family {
    /// Position of the first tag newer than `current`: everything from
    /// there on is newer.
    pub(crate) fn newer_from(&self, current: &Precedence) -> usize {
        let key = coarse_key(&current.numbers);
        // Keys below `key` are older, keys above it newer (the key never
        // orders against precedence); only equal keys need the full
        // comparison.
        let first_equal = self.keys.partition_point(|k| *k < key);
        let past_equal = first_equal + self.keys[first_equal..].partition_point(|k| *k == key);
        first_equal + self.precedences[first_equal..past_equal].partition_point(|p| p <= current)
    }

    /// From `from` (a position returned by [`Family::newer_from`]), the end
    /// of the tags that keep the first `kept` numbers of `current`.
    pub(crate) fn same_numbers_until(&self, from: usize, current: &[u64; MAX_PRECISION], kept: usize) -> usize {
        if kept == 0 {
            return self.tags.len();
        }
        // With no saturated number among the kept ones, the key's top bits
        // equal exactly when the kept numbers do.
        let exact = current
            .iter()
            .zip(COARSE_WIDTHS)
            .take(kept)
            .all(|(number, width)| *number < (1u64 << width) - 1);
        if exact && kept <= COARSE_WIDTHS.len() {
            let shift: u32 = COARSE_WIDTHS[kept..].iter().sum();
            let wanted = coarse_key(current) >> shift;
            return from + self.keys[from..].partition_point(|k| k >> shift == wanted);
        }
        from + self.precedences[from..].partition_point(|p| p.numbers[..kept] == current[..kept])
    }
}

impl TagIndex {
    /// Indexes a repository's tags. Duplicate tags are kept once.
    pub fn new(tags: impl IntoIterator<Item = TagInfo>) -> TagIndex {
        let mut families: FastMap<SmolStr, Vec<Family>> = FastMap::default();
        let mut total = 0;
        for TagInfo { tag, created } in tags {
            total += 1;
            let Some(version) = TagVersion::parse(&tag) else {
                continue;
            };
            let precedence = version.precedence();
            let (v_prefix, precision) = (version.v_prefix, version.precision);
            if !families.contains_key(version.variant) {
                families.insert(SmolStr::new(version.variant), Vec::new());
            }
            let Some(groups) = families.get_mut(version.variant) else {
                continue;
            };
            let position = groups
                .iter()
                .position(|g| g.v_prefix == v_prefix && g.precision == precision);
            let group = match position {
                Some(index) => &mut groups[index],
                None => {
                    groups.push(Family {
                        v_prefix,
                        precision,
                        tags: Vec::new(),
                        precedences: Vec::new(),
                        keys: Vec::new(),
                    });
                    let last = groups.len() - 1;
                    &mut groups[last]
                }
            };
            group.tags.push(IndexedTag {
                precedence,
                tag: SmolStr::new(tag),
                created,
            });
        }
        for group in families.values_mut().flat_map(|groups| groups.iter_mut()) {
            group
                .tags
                .sort_by(|a, b| a.precedence.cmp(&b.precedence).then_with(|| a.tag.cmp(&b.tag)));
            group.tags.dedup_by(|a, b| a.tag == b.tag);
            group.precedences = group.tags.iter().map(|t| t.precedence).collect();
            group.keys = group.tags.iter().map(|t| coarse_key(&t.precedence.numbers)).collect();
        }
        TagIndex { families, total }
    }

    /// How many tags the repository lists (versions or not).
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether the repository lists no tags.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether the repository lists this exact tag as a version. Only
    /// version tags are indexed, so this is false for any other tag
    /// (`latest`, `bookworm`) even when the repository lists it.
    pub fn contains(&self, tag: &str) -> bool {
        TagVersion::parse(tag)
            .and_then(|version| self.family(&version.family()))
            .is_some_and(|family| family.tags.iter().any(|t| &*t.tag == tag))
    }

    pub(crate) fn family(&self, key: &FamilyKey<'_>) -> Option<&Family> {
        self.families
            .get(key.variant)?
            .iter()
            .find(|group| group.v_prefix == key.v_prefix && group.precision == key.precision)
    }
}

impl PartialOrd for TagVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self.family() == other.family()).then(|| self.precedence().cmp(&other.precedence()))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What a tag reads as: numbers, pre-release, `v` prefix, variant.
    type Shape = (Vec<u64>, Option<(PreReleaseKind, u64)>, bool, String);
    /// A table row: the tag and its expected shape.
    type Case<'a> = (&'a str, &'a [u64], Option<(PreReleaseKind, u64)>, bool, &'a str);

    fn shape(tag: &str) -> Option<Shape> {
        TagVersion::parse(tag).map(|v| {
            (
                v.written_numbers().to_vec(),
                v.pre_release.map(|p| (p.kind, p.number)),
                v.v_prefix,
                v.variant.to_owned(),
            )
        })
    }

    #[test]
    fn real_tag_shapes_read_as_versions() {
        use PreReleaseKind::*;
        let cases: &[Case<'_>] = &[
            ("1.25", &[1, 25], None, false, ""),
            ("1.25.3", &[1, 25, 3], None, false, ""),
            ("v1.2.3", &[1, 2, 3], None, true, ""),
            ("1.25.3-alpine", &[1, 25, 3], None, false, "alpine"),
            ("1.25.3-alpine3.20", &[1, 25, 3], None, false, "alpine3.20"),
            ("3.12.7-slim-bookworm", &[3, 12, 7], None, false, "slim-bookworm"),
            ("2024.10.1", &[2024, 10, 1], None, false, ""),
            ("1.2.3+build.5", &[1, 2, 3], None, false, ""),
            ("21.0.5_11-jdk-alpine", &[21, 0, 5], None, false, "jdk-alpine"),
            ("22-alpine", &[22], None, false, "alpine"),
            ("3.13.0a4", &[3, 13, 0], Some((Alpha, 4)), false, ""),
            (
                "3.14.0rc1-slim-trixie",
                &[3, 14, 0],
                Some((ReleaseCandidate, 1)),
                false,
                "slim-trixie",
            ),
            ("1.24rc1-alpine", &[1, 24], Some((ReleaseCandidate, 1)), false, "alpine"),
            ("9.4-beta2", &[9, 4], Some((Beta, 2)), false, ""),
            (
                "3.6.15-rc.1-management-alpine",
                &[3, 6, 15],
                Some((ReleaseCandidate, 1)),
                false,
                "management-alpine",
            ),
            (
                "3.6-rc-management",
                &[3, 6],
                Some((ReleaseCandidate, 0)),
                false,
                "management",
            ),
            ("8.3.0RC6-cli", &[8, 3, 0], Some((ReleaseCandidate, 6)), false, "cli"),
            ("v1.0.0-beta.392", &[1, 0, 0], Some((Beta, 392)), true, ""),
            ("1.2.3.4", &[1, 2, 3, 4], None, false, ""),
            ("2.4.62-bookworm", &[2, 4, 62], None, false, "bookworm"),
            ("2.4-prefork", &[2, 4], None, false, "prefork"),
            ("8.0-alpine3.21", &[8, 0], None, false, "alpine3.21"),
        ];
        for (tag, numbers, pre, v, variant) in cases {
            assert_eq!(
                shape(tag),
                Some((numbers.to_vec(), *pre, *v, (*variant).to_owned())),
                "{tag}"
            );
        }
    }

    #[test]
    fn names_hashes_and_codenames_are_not_versions() {
        for tag in [
            "latest",
            "sha-abc123",
            "alpine",
            "bookworm",
            "mainline-alpine",
            "lts-alpine",
            "8u302-b08-jdk",
            "1.2.3.4.5",
            "1.2.x",
            "8f3a2b1",
            "1.2-",
            "1.2.3+",
            "v",
            "",
            "12345678901234567890123",
        ] {
            assert_eq!(TagVersion::parse(tag), None, "{tag}");
        }
    }

    #[test]
    fn releases_rank_above_their_pre_releases_in_order() {
        let ordered = [
            "3.13.0a1",
            "3.13.0a4",
            "3.13.0b1",
            "3.13.0rc1",
            "3.13.0rc2",
            "3.13.0",
            "3.13.1",
        ];
        let versions: Vec<TagVersion> = ordered.iter().map(|t| TagVersion::parse(t).expect("version")).collect();
        for pair in versions.windows(2) {
            assert!(
                pair[0].precedence() < pair[1].precedence(),
                "{:?} < {:?}",
                pair[0],
                pair[1]
            );
        }
        let dev = TagVersion::parse("2.0.0-dev").expect("version");
        let preview = TagVersion::parse("2.0.0-preview.3").expect("version");
        let rc = TagVersion::parse("2.0.0-rc.1").expect("version");
        assert!(dev.precedence() < preview.precedence() && preview.precedence() < rc.precedence());
    }

    #[test]
    fn build_metadata_does_not_make_a_version_newer() {
        let a = TagVersion::parse("1.2.3+build.5").expect("version");
        let b = TagVersion::parse("1.2.3+build.6").expect("version");
        assert_eq!(a.precedence(), b.precedence());
    }

    #[test]
    fn versions_compare_only_within_a_family() {
        let alpine = TagVersion::parse("1.25.3-alpine").expect("version");
        let newer_alpine = TagVersion::parse("1.25.4-alpine").expect("version");
        let pinned_alpine = TagVersion::parse("1.25.4-alpine3.20").expect("version");
        let shorter = TagVersion::parse("1.26-alpine").expect("version");
        assert_eq!(alpine.partial_cmp(&newer_alpine), Some(Ordering::Less));
        assert_eq!(alpine.partial_cmp(&pinned_alpine), None);
        assert_eq!(alpine.partial_cmp(&shorter), None);
    }

    #[test]
    fn the_index_groups_families_and_ignores_non_versions() {
        let index = TagIndex::new(
            [
                "1.25.3-alpine",
                "1.25.4-alpine",
                "1.25.4",
                "latest",
                "alpine",
                "1.25",
                "1.25.4-alpine",
            ]
            .map(|tag| TagInfo {
                tag: tag.to_owned(),
                created: None,
            }),
        );
        assert_eq!(index.len(), 7);
        let alpine = index
            .family(&FamilyKey {
                v_prefix: false,
                precision: 3,
                variant: "alpine",
            })
            .expect("family");
        assert_eq!(
            alpine.tags.iter().map(|t| &*t.tag).collect::<Vec<_>>(),
            ["1.25.3-alpine", "1.25.4-alpine"]
        );
        assert!(index.contains("1.25"));
        assert!(!index.contains("1.26"));
        assert!(!index.contains("latest"), "listed, but not a version, so not indexed");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(tag in "\\PC{0,40}") {
            let _ = TagVersion::parse(&tag);
        }

        #[test]
        fn numbers_round_trip(numbers in proptest::collection::vec(0u64..100_000, 1..=4), variant in "(-[a-z][a-z0-9.]{0,10}){0,2}") {
            let written = numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
            let tag = format!("{written}{variant}");
            let version = TagVersion::parse(&tag).ok_or_else(|| TestCaseError::fail(format!("{tag} is a version")))?;
            prop_assert_eq!(version.written_numbers(), &numbers[..]);
        }

        /// The compact keys place a tag in its family exactly where a
        /// comparison of full precedences would, also for numbers too
        /// large for the keys' bits (date tags, build numbers).
        #[test]
        fn compact_keys_find_the_same_positions_as_precedences(
            tags in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![0u64..4, 16_777_213u64..16_777_218, 1_048_574u64..1_048_577, Just(20_241_001u64)], 3), proptest::option::of(0u64..3)),
                1..60,
            ),
            current in (proptest::collection::vec(prop_oneof![0u64..4, 16_777_213u64..16_777_218, 1_048_574u64..1_048_577], 3), proptest::option::of(0u64..3)),
        ) {
            let write = |(numbers, rc): &(Vec<u64>, Option<u64>)| {
                let written = numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
                match rc {
                    Some(n) => format!("{written}-rc{n}"),
                    None => written,
                }
            };
            let index = TagIndex::new(tags.iter().map(|t| TagInfo { tag: write(t), created: None }));
            let current_tag = write(&current);
            let version = TagVersion::parse(&current_tag).ok_or_else(|| TestCaseError::fail("a version"))?;
            let family = index.family(&version.family()).ok_or_else(|| TestCaseError::fail("one family"))?;
            let precedence = version.precedence();
            let newer_from = family.newer_from(&precedence);
            prop_assert_eq!(newer_from, family.precedences.partition_point(|p| *p <= precedence));
            for kept in 0..=3 {
                let expected = newer_from
                    + family.precedences[newer_from..].partition_point(|p| p.numbers[..kept] == version.numbers[..kept]);
                prop_assert_eq!(family.same_numbers_until(newer_from, &version.numbers, kept), expected, "kept {}", kept);
            }
        }
    }
}
