//! Version constraints written as Flux image policies, Argo CD Image Updater
//! and Helm write them: the syntax of the Go library Masterminds semver v3,
//! with the meaning version 3.4 of that library gives it, so a range people
//! bring from those tools admits the same versions here.
//!
//! ```text
//! constraint := group ( "||" group )*
//! group      := comparison ( (whitespace | ",") comparison )*
//! comparison := op? version | version " - " version
//! op         := = != > < >= => <= =< ~ ~> ^
//! version    := [v] part [. part [. part]] [-pre-release] [+build]
//! part       := digits | x | X | *
//! ```
//!
//! A group is an AND, `||` an OR. A missing or wildcard part widens a
//! comparison to everything the written parts allow (`1.2` and `1.2.x` are
//! `>=1.2.0 <1.3.0`); a bare version with all three numbers is exact.
//! The module is pure and knows nothing of policies: `core::policy` compiles a
//! rule's `constraint` with [`Constraint::parse`] and `core::selection`
//! checks candidates with [`Constraint::matches`].
//!
//! Pre-releases follow Masterminds: a version with a pre-release satisfies a
//! group only if one of the group's comparisons names a pre-release
//! (`>=2.0.0-0`), or the caller includes pre-releases; either way it is then
//! compared by semver precedence (`2.0.0-rc.1` < `2.0.0`). Pre-releases are
//! read as refit reads them in tags, so `-rc.1`, `-rc1` and `-RC1` are the
//! same and order `dev` < `alpha` < `beta` < `preview` < `rc`, then by number;
//! any other pre-release in a constraint (the `-0` idiom, `-SNAPSHOT`)
//! compares by semver's identifier rules against the tag's `<kind>.<number>`.

use std::{cmp::Ordering, fmt, str::FromStr};

use super::version::{PreRelease, PreReleaseKind};

/// A parsed constraint: groups of comparisons, any of which may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    groups: Vec<Group>,
}

/// Comparisons that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    comparisons: Vec<Comparison>,
    /// Whether a comparison names a pre-release: then the group considers
    /// pre-release versions (Masterminds since 3.4; before, every comparison
    /// of the group had to name one).
    names_pre_release: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparison {
    op: Op,
    bound: Bound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `=` or no operator: exact, or like `~` when a part is missing.
    Equal,
    NotEqual,
    Greater,
    Less,
    /// `>=` or `=>`.
    GreaterOrEqual,
    /// `<=` or `=<`.
    LessOrEqual,
    /// `~` or `~>`.
    Tilde,
    Caret,
}

/// The version of a comparison, with what its written parts leave open.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bound {
    /// Major, minor and patch; a missing or wildcard part and every part
    /// after it are 0.
    numbers: [u64; 3],
    precision: Precision,
    pre_release: Option<BoundPreRelease>,
    /// The version as written, for display.
    written: Box<str>,
}

/// Which parts a bound writes: everything from the first missing or
/// wildcard part on is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    /// `*`, `x`, `x.1.2`: no part fixed.
    Any,
    /// `1`, `1.x`: the major fixed.
    Major,
    /// `1.2`, `1.2.x`: major and minor fixed.
    Minor,
    /// `1.2.3`: every part fixed.
    Exact,
}

/// A pre-release written in a constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BoundPreRelease {
    /// One refit reads in tags too (`rc.1`, `beta2`, `alpha`).
    Marker(PreRelease),
    /// Anything else, as semver identifiers (`0`, `SNAPSHOT`, `x.7.z`).
    Identifiers(Box<[Identifier]>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Identifier {
    Number(u64),
    Text(Box<str>),
}

/// An identifier borrowed for comparison.
#[derive(Debug, Clone, Copy)]
enum IdentifierRef<'a> {
    Number(u64),
    Text(&'a str),
}

/// A version a constraint is checked against: a tag's first three numbers
/// (missing ones are 0) and its pre-release. Variants and build metadata are
/// not part of it, so `1.25.3-alpine3.20` is the release `1.25.3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major, minor, patch.
    pub numbers: [u64; 3],
    /// The pre-release, if any.
    pub pre_release: Option<PreRelease>,
}

/// Why a constraint cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// Nothing but whitespace.
    #[error("it is empty")]
    Empty,
    /// `a ||`, `|| a`, `a || || b`.
    #[error("a side of `||` has no comparison")]
    EmptyAlternative,
    /// `>=`, `a,`.
    #[error("{0} is not followed by a version")]
    MissingVersion(String),
    /// `,a`, `a,,b`.
    #[error("a `,` has no comparison before it")]
    StrayComma,
    /// A word where a version belongs that is not one.
    #[error("`{text}` is not a version: {problem}")]
    NotAVersion {
        /// The word.
        text: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `1.2.3<2`.
    #[error("`{second}` follows `{first}` without a space or a comma between them")]
    MissingSeparator {
        /// The comparison that parsed.
        first: String,
        /// What follows it.
        second: String,
    },
    /// `>=1 - 2`.
    #[error("the range `{0}` has an operator; a hyphen range is two bare versions, `1.2 - 1.4.5`")]
    RangeWithOperator(String),
}

/// Whitespace as Go's regexp `\s` has it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

impl Constraint {
    /// Parses a constraint (see the module doc for the syntax).
    pub fn parse(text: &str) -> Result<Constraint, ConstraintError> {
        if text.trim_matches(is_space).is_empty() {
            return Err(ConstraintError::Empty);
        }
        let groups = text.split("||").map(parse_group).collect::<Result<_, _>>()?;
        Ok(Constraint { groups })
    }

    /// Whether `version` satisfies the constraint. A pre-release satisfies a
    /// group only when the group names a pre-release or when
    /// `include_pre_releases` is set (Masterminds' `IncludePrerelease`).
    pub fn matches(&self, version: &Version, include_pre_releases: bool) -> bool {
        self.groups
            .iter()
            .any(|group| group.matches(version, include_pre_releases))
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;

    fn from_str(text: &str) -> Result<Constraint, ConstraintError> {
        Constraint::parse(text)
    }
}

impl fmt::Display for Constraint {
    /// The constraint in a normal form that parses to the same meaning:
    /// comparisons joined by `, `, hyphen ranges as `>=A, <=B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (g, group) in self.groups.iter().enumerate() {
            if g > 0 {
                f.write_str(" || ")?;
            }
            for (c, comparison) in group.comparisons.iter().enumerate() {
                if c > 0 {
                    f.write_str(", ")?;
                }
                let op = match comparison.op {
                    Op::Equal => "=",
                    Op::NotEqual => "!=",
                    Op::Greater => ">",
                    Op::Less => "<",
                    Op::GreaterOrEqual => ">=",
                    Op::LessOrEqual => "<=",
                    Op::Tilde => "~",
                    Op::Caret => "^",
                };
                write!(f, "{op}{}", comparison.bound.written)?;
            }
        }
        Ok(())
    }
}

impl Group {
    fn matches(&self, version: &Version, include_pre_releases: bool) -> bool {
        if version.pre_release.is_some() && !(include_pre_releases || self.names_pre_release) {
            return false;
        }
        self.comparisons.iter().all(|comparison| comparison.matches(version))
    }
}

impl Comparison {
    /// The comparison alone, pre-release admission already decided. The
    /// open-part rules are Masterminds', including its edge cases: `>1.2` is
    /// `>=1.3.0`, `<=1.2` is `<1.3.0`, `<1.2` is `<1.2.0`; `^*` admits only
    /// `0.0.0` and `<=*` only `0.0.x`.
    fn matches(&self, v: &Version) -> bool {
        let b = &self.bound;
        let [major, minor, patch] = v.numbers;
        let [b_major, b_minor, b_patch] = b.numbers;
        let order = compare(v, b);
        match (self.op, b.precision) {
            (Op::Equal, Precision::Exact) => order == Ordering::Equal,
            (Op::Equal, _) => tilde(v, b, order),
            (Op::NotEqual, Precision::Exact | Precision::Any) => order != Ordering::Equal,
            (Op::NotEqual, Precision::Major) => major != b_major,
            (Op::NotEqual, Precision::Minor) => {
                major != b_major
                    || minor != b_minor
                    || pre_releases_differ(v.pre_release.as_ref(), b.pre_release.as_ref())
            }
            (Op::Greater, Precision::Exact | Precision::Any) => order == Ordering::Greater,
            (Op::Greater, Precision::Major) => major > b_major,
            (Op::Greater, Precision::Minor) => (major, minor) > (b_major, b_minor),
            (Op::Less, _) => order == Ordering::Less,
            (Op::GreaterOrEqual, _) => order != Ordering::Less,
            (Op::LessOrEqual, Precision::Exact) => order != Ordering::Greater,
            (Op::LessOrEqual, Precision::Major) => major <= b_major,
            (Op::LessOrEqual, Precision::Minor | Precision::Any) => (major, minor) <= (b_major, b_minor),
            (Op::Tilde, _) => tilde(v, b, order),
            (Op::Caret, precision) => {
                if order == Ordering::Less {
                    false
                } else if b_major > 0 || precision == Precision::Major {
                    major == b_major
                } else if major > 0 {
                    false
                } else if b_minor > 0 || precision == Precision::Minor {
                    minor == b_minor
                } else {
                    minor == 0 && patch == b_patch
                }
            }
        }
    }
}

/// `~`: at least the bound, within its minor (or its major when the minor
/// is open); `~0.0.0` and `~*` admit everything from the bound on.
fn tilde(v: &Version, b: &Bound, order: Ordering) -> bool {
    if order == Ordering::Less {
        return false;
    }
    if b.numbers == [0, 0, 0] && matches!(b.precision, Precision::Any | Precision::Exact) {
        return true;
    }
    v.numbers[0] == b.numbers[0] && (b.precision == Precision::Major || v.numbers[1] == b.numbers[1])
}

/// Semver precedence of a version against a bound.
fn compare(v: &Version, b: &Bound) -> Ordering {
    v.numbers
        .cmp(&b.numbers)
        .then_with(|| match (&v.pre_release, &b.pre_release) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(ours), Some(theirs)) => compare_pre_releases(ours, theirs),
        })
}

fn compare_pre_releases(ours: &PreRelease, theirs: &BoundPreRelease) -> Ordering {
    match theirs {
        BoundPreRelease::Marker(theirs) => ours.cmp(theirs),
        BoundPreRelease::Identifiers(theirs) => {
            let ours = [
                IdentifierRef::Text(kind_word(ours.kind)),
                IdentifierRef::Number(ours.number),
            ];
            compare_identifiers(ours.into_iter(), theirs.iter().map(Identifier::as_ref))
        }
    }
}

/// `!=` on a bound with an open patch compares pre-releases only when one
/// side has one.
fn pre_releases_differ(ours: Option<&PreRelease>, theirs: Option<&BoundPreRelease>) -> bool {
    match (ours, theirs) {
        (None, None) => false,
        (Some(ours), Some(theirs)) => compare_pre_releases(ours, theirs) != Ordering::Equal,
        _ => true,
    }
}

/// Semver's rule: identifier by identifier, numbers numerically and below
/// text, text by ASCII; a list that is a prefix of the other is lower.
fn compare_identifiers<'a>(
    mut ours: impl Iterator<Item = IdentifierRef<'a>>,
    mut theirs: impl Iterator<Item = IdentifierRef<'a>>,
) -> Ordering {
    loop {
        let order = match (ours.next(), theirs.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(IdentifierRef::Number(a)), Some(IdentifierRef::Number(b))) => a.cmp(&b),
            (Some(IdentifierRef::Number(_)), Some(IdentifierRef::Text(_))) => Ordering::Less,
            (Some(IdentifierRef::Text(_)), Some(IdentifierRef::Number(_))) => Ordering::Greater,
            (Some(IdentifierRef::Text(a)), Some(IdentifierRef::Text(b))) => a.cmp(b),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// How a tag's pre-release kind is spelled when it meets a pre-release
/// refit does not read as a marker.
fn kind_word(kind: PreReleaseKind) -> &'static str {
    match kind {
        PreReleaseKind::Dev => "dev",
        PreReleaseKind::Alpha => "alpha",
        PreReleaseKind::Beta => "beta",
        PreReleaseKind::Preview => "preview",
        PreReleaseKind::ReleaseCandidate => "rc",
    }
}

impl Identifier {
    fn as_ref(&self) -> IdentifierRef<'_> {
        match self {
            Identifier::Number(n) => IdentifierRef::Number(*n),
            Identifier::Text(text) => IdentifierRef::Text(text),
        }
    }
}

// Parsing.

/// Operators, longer spellings first so `>=` is not read as `>`.
const OPERATORS: [(&str, Op); 11] = [
    ("!=", Op::NotEqual),
    (">=", Op::GreaterOrEqual),
    ("=>", Op::GreaterOrEqual),
    ("<=", Op::LessOrEqual),
    ("=<", Op::LessOrEqual),
    ("~>", Op::Tilde),
    (">", Op::Greater),
    ("<", Op::Less),
    ("=", Op::Equal),
    ("~", Op::Tilde),
    ("^", Op::Caret),
];

fn parse_group(text: &str) -> Result<Group, ConstraintError> {
    let mut rest = text.trim_start_matches(is_space);
    if rest.trim_end_matches(is_space).is_empty() {
        return Err(ConstraintError::EmptyAlternative);
    }
    let mut comparisons = Vec::new();
    loop {
        let start = text.len() - rest.len();
        let (op_text, op) = OPERATORS
            .iter()
            .find(|(spelling, _)| rest.starts_with(spelling))
            .map_or(("", Op::Equal), |(spelling, op)| (*spelling, *op));
        rest = rest[op_text.len()..].trim_start_matches(is_space);
        let (word, after_word) = split_word(rest);
        if word.is_empty() {
            return Err(if op_text.is_empty() {
                ConstraintError::StrayComma
            } else {
                ConstraintError::MissingVersion(format!("`{op_text}`"))
            });
        }
        let bound = parse_bound(word)?;
        let next = match hyphen_range_upper(after_word) {
            Some(upper) => {
                let (upper_word, after_upper) = split_word(upper);
                if !op_text.is_empty() {
                    return Err(ConstraintError::RangeWithOperator(format!(
                        "{op_text}{word} - {upper_word}"
                    )));
                }
                if upper_word.is_empty() {
                    return Err(ConstraintError::MissingVersion(format!("`{word} -`")));
                }
                comparisons.push(Comparison {
                    op: Op::GreaterOrEqual,
                    bound,
                });
                comparisons.push(Comparison {
                    op: Op::LessOrEqual,
                    bound: parse_bound(upper_word)?,
                });
                after_upper
            }
            None => {
                comparisons.push(Comparison { op, bound });
                after_word
            }
        };
        // The comparison as written, for messages.
        let last = &text[start..text.len() - next.len()];
        // Between comparisons: whitespace, or a comma with optional
        // whitespace around it.
        rest = next.trim_start_matches(is_space);
        if rest.is_empty() {
            break;
        }
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start_matches(is_space);
            if rest.is_empty() {
                return Err(ConstraintError::MissingVersion(format!("the `,` after `{last}`")));
            }
        }
    }
    let names_pre_release = comparisons.iter().any(|c| c.bound.pre_release.is_some());
    Ok(Group {
        comparisons,
        names_pre_release,
    })
}

/// Splits off a word: everything up to whitespace or a comma.
fn split_word(text: &str) -> (&str, &str) {
    text.split_at(text.find(|c: char| is_space(c) || c == ',').unwrap_or(text.len()))
}

/// After a version, ` - ` (whitespace on both sides of the hyphen) makes a
/// hyphen range; returns what follows it. Without the whitespace, `1.2-1.4`
/// is one version with the pre-release `1.4`, as in Masterminds.
fn hyphen_range_upper(text: &str) -> Option<&str> {
    let spaced = text.trim_start_matches(is_space);
    if spaced.len() == text.len() {
        return None;
    }
    let after_hyphen = spaced.strip_prefix('-')?;
    let upper = after_hyphen.trim_start_matches(is_space);
    (upper.len() < after_hyphen.len()).then_some(upper)
}

/// Reads one version word (no whitespace or commas in it).
fn parse_bound(word: &str) -> Result<Bound, ConstraintError> {
    let not_a_version = |problem| ConstraintError::NotAVersion {
        text: word.to_owned(),
        problem,
    };
    let body = word.strip_prefix('v').unwrap_or(word);
    let numbers_end = body.find(['-', '+']).unwrap_or(body.len());
    let (numbers_text, extra) = body.split_at(numbers_end);
    let (pre_text, build_text) = match extra.strip_prefix('-') {
        Some(pre) => match pre.split_once('+') {
            Some((pre, build)) => (Some(pre), Some(build)),
            None => (Some(pre), None),
        },
        None => (None, extra.strip_prefix('+')),
    };

    let mut numbers = [0u64; 3];
    let mut precision = None;
    let mut count = 0;
    for (position, part) in numbers_text.split('.').enumerate() {
        if position == 3 {
            return Err(not_a_version(
                "it has more than three numbers; a constraint compares major, minor and patch",
            ));
        }
        count += 1;
        if matches!(part, "x" | "X" | "*") {
            precision.get_or_insert(open_from(position));
            continue;
        }
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(match (position, find_operator(word)) {
                (_, Some(at)) if at > 0 => ConstraintError::MissingSeparator {
                    first: word[..at].to_owned(),
                    second: word[at..].to_owned(),
                },
                (0, _) if part.is_empty() => not_a_version("it has no numbers"),
                (0, _) => not_a_version("a version starts with a number, `x`, `X` or `*`"),
                _ => not_a_version("each part is a number, `x`, `X` or `*`"),
            });
        }
        if precision.is_none() {
            numbers[position] = part.parse().map_err(|_| not_a_version("a number is too large"))?;
        }
    }
    let precision = precision.unwrap_or(match count {
        1 => Precision::Major,
        2 => Precision::Minor,
        _ => Precision::Exact,
    });

    let pre_release = pre_text
        .map(|text| parse_pre_release(text).map_err(not_a_version))
        .transpose()?;
    if let Some(build) = build_text
        && let Err(IdentifierProblem::Malformed) = identifiers_valid(build)
    {
        return Err(not_a_version(
            "build metadata is dot-separated letters, digits and `-`, none of them empty",
        ));
    }
    Ok(Bound {
        numbers,
        precision,
        pre_release,
        written: word.into(),
    })
}

fn open_from(position: usize) -> Precision {
    match position {
        0 => Precision::Any,
        1 => Precision::Major,
        _ => Precision::Minor,
    }
}

/// Where an operator starts inside a word, for the missing-separator
/// message (`1.2.3<2`).
fn find_operator(word: &str) -> Option<usize> {
    word.find(['<', '>', '=', '!', '~', '^'])
}

fn parse_pre_release(text: &str) -> Result<BoundPreRelease, &'static str> {
    identifiers_valid(text).map_err(|problem| match problem {
        IdentifierProblem::LeadingZero => "a number in a pre-release cannot start with 0",
        IdentifierProblem::Malformed => "a pre-release is dot-separated letters, digits and `-`, none of them empty",
    })?;
    if let Some(marker) = PreRelease::parse(text) {
        return Ok(BoundPreRelease::Marker(marker));
    }
    let identifiers = text
        .split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => Identifier::Number(n),
            // Digits too many for a u64 compare as text, as in Masterminds.
            _ => Identifier::Text(part.into()),
        })
        .collect();
    Ok(BoundPreRelease::Identifiers(identifiers))
}

/// What is wrong with a list of semver identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdentifierProblem {
    /// An empty identifier or a character other than `[0-9A-Za-z-]`.
    Malformed,
    /// A number with a leading zero: semver forbids it in pre-releases
    /// (Masterminds refuses it there) and allows it in build metadata.
    LeadingZero,
}

/// Checks dot-separated identifiers.
fn identifiers_valid(text: &str) -> Result<(), IdentifierProblem> {
    let mut leading_zero = false;
    for part in text.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(IdentifierProblem::Malformed);
        }
        leading_zero |= part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit());
    }
    if leading_zero {
        Err(IdentifierProblem::LeadingZero)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
