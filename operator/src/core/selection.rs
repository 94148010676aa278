//! Version selection: which tag an image may move to under a policy rule.
//!
//! The rules (docs/VERSION-SELECTION.md explains them for users):
//!
//! 1. The current tag must be a version ([`TagVersion`]); `latest` or
//!    `sha-abc123` are never compared (follow them with `update: digest`).
//! 2. Candidates come from the current tag's family only: the same `v`
//!    prefix, precision and variant. `1.25` moves to `1.26`, never to
//!    `1.26.1`; `-alpine` stays `-alpine`.
//! 3. A candidate is strictly newer than the current tag and within the
//!    update level: `patch` keeps the first two numbers, `minor` the first,
//!    `major` anything. A level finer than the tag's precision (patch on
//!    `1.25`) allows nothing.
//! 4. Pre-releases are candidates only with `allowPrerelease`, or when the
//!    `constraint` names a pre-release (`>=2.0.0-0`, Masterminds' rule),
//!    except that an image on a pre-release may move to a newer pre-release
//!    of the same numbers (`rc1` → `rc2`) and to any release.
//! 5. `allowTags` must match, `ignoreTags` must not, a `constraint` must
//!    hold ([`super::constraint`]: the first three numbers and the
//!    pre-release are checked, the variant never is; `2.0.0-rc.1` is below
//!    `2.0.0`).
//! 6. With `minAge`, a candidate that has not soaked that long is passed
//!    over, and so is one whose soak cannot be told ([`super::soak`]: from
//!    a plausible build time, or from when refit first saw the tag).
//! 7. A candidate rolled back earlier is passed over.
//! 8. Of what remains, the newest wins.
//!
//! Everything is decided from the repository's [`TagIndex`], so a container
//! costs a binary search and a walk over the newer tags of its family.

use std::{collections::HashMap, fmt, time::Duration};

use chrono::{DateTime, Utc};

use super::{
    policy::CompiledRule,
    soak::{self, Sightings, Soak, SoakStart},
    version::{IndexedTag, TagIndex, TagVersion},
};
use crate::api::patch_policy::UpdateStrategy;

/// How many tags of unknown age a [`Selection`] lists for lookup.
pub const UNKNOWN_AGES_LISTED: usize = 16;

/// How many passed-over tags a [`Selection`] names; the rest are counted.
pub const PASSED_OVER_LISTED: usize = 3;

/// The result of selection for one image, with its justification. It
/// borrows the tags from the current tag and the index, so selecting
/// allocates nothing unless tags are passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection<'a> {
    /// The current tag.
    pub current: &'a str,
    /// The decision.
    pub outcome: Outcome<'a>,
    /// Newer tags within the level that were passed over, newest first (at
    /// most [`PASSED_OVER_LISTED`]).
    pub passed_over: Vec<PassedOver<'a>>,
    /// How many newer tags within the level were passed over in all.
    pub passed_over_count: usize,
    /// Newer tags within the level passed over only because their build
    /// time is unknown, newest first (at most [`UNKNOWN_AGES_LISTED`]): what
    /// the registry layer reads next when a `minAge` must be judged.
    pub unknown_ages: Vec<&'a str>,
    /// Tags whose soak was judged, newest first (the candidate last, if it
    /// was judged): what the operator records first sightings of and keeps
    /// records for ([`soak::FirstSeenScan`]).
    pub soak_judged: Vec<&'a str>,
    /// Newer tags of the family outside the update level, and the newest.
    pub beyond_level: Option<(usize, &'a str)>,
    /// Tags not comparable with the current one (other families, or not
    /// versions).
    pub not_comparable: usize,
}

/// What selection decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Move to this tag.
    Candidate {
        /// The tag.
        tag: &'a str,
        /// When it was built, if known.
        created: Option<DateTime<Utc>>,
    },
    /// Nothing newer is allowed.
    NoneNewer,
    /// The current tag is not a version.
    CurrentNotAVersion,
    /// The update level is finer than the tag's precision.
    LevelFinerThanTag,
    /// The rule says `digest`: tags are not compared, the digest is followed.
    FollowsDigest,
}

/// A newer tag that is not the candidate, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver<'a> {
    /// The tag.
    pub tag: &'a str,
    /// Why it was passed over.
    pub reason: PassReason,
}

/// Why a newer tag was passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassReason {
    /// A pre-release, and pre-releases are not allowed.
    PreRelease,
    /// `allowTags` does not match it.
    NotAllowed,
    /// `ignoreTags` matches it.
    Ignored,
    /// The `constraint` excludes it.
    OutsideConstraint,
    /// Soaked less than `minAge`.
    TooYoung {
        /// How long it has soaked.
        age: Duration,
        /// The required age.
        min_age: Duration,
        /// What the soak counts from.
        from: SoakStart,
    },
    /// `minAge` is set and its build time is unknown.
    AgeUnknown,
    /// `minAge` is set, its build time is not plausible, and no record says
    /// when it appeared (`refit scan`): it counts as too young.
    BuildTimeImplausible {
        /// The build time it states.
        build: DateTime<Utc>,
    },
    /// Rolled back earlier.
    RolledBack(RolledBack),
}

impl fmt::Display for PassReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassReason::PreRelease => f.write_str("pre-release"),
            PassReason::NotAllowed => f.write_str("not matched by allowTags"),
            PassReason::Ignored => f.write_str("matched by ignoreTags"),
            PassReason::OutsideConstraint => f.write_str("outside the constraint"),
            PassReason::TooYoung { age, min_age, from } => {
                let min_age = super::duration::Written(*min_age);
                match from {
                    SoakStart::Built(_) => write!(f, "built {} ago, minAge {min_age}", HumanAge(*age)),
                    SoakStart::FirstSeen { implausible_build, .. } => {
                        if age.as_secs() < 60 {
                            write!(f, "first seen just now, minAge {min_age}")?;
                        } else {
                            write!(f, "first seen {} ago, minAge {min_age}", HumanAge(*age))?;
                        }
                        match implausible_build {
                            Some(build) => write!(
                                f,
                                "; its build time {} {}",
                                soak::written(*build),
                                soak::implausible_because(*build)
                            ),
                            None => Ok(()),
                        }
                    }
                }
            }
            PassReason::AgeUnknown => f.write_str("build time unknown, minAge set"),
            PassReason::BuildTimeImplausible { build } => write!(
                f,
                "build time {} {}; refit scan keeps no record of when it first saw a tag, so it counts as too young",
                soak::written(*build),
                soak::implausible_because(*build)
            ),
            PassReason::RolledBack(record) => write!(
                f,
                "rolled back on {} by ticket {}",
                super::window::Rfc3339(record.at),
                record.ticket
            ),
        }
    }
}

/// Ages as people say them: `2d`, `5h`, `40m`.
struct HumanAge(Duration);

impl fmt::Display for HumanAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_secs() {
            s if s >= 86_400 => write!(f, "{}d", s / 86_400),
            s if s >= 3_600 => write!(f, "{}h", s / 3_600),
            s => write!(f, "{}m", s / 60),
        }
    }
}

/// When a tag was rolled back, and by which ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// The ChangeTicket that rolled it back.
    pub ticket: String,
    /// When it ended.
    pub at: DateTime<Utc>,
}

/// Tags of one repository that were rolled back earlier and must not be
/// proposed again, with the record of each.
pub type RolledBackTags = HashMap<String, RolledBack>;

/// Chooses the tag `current` may move to, judging soaks at `now` with what
/// `sightings` knows of when the repository's tags were first seen.
pub fn select<'a>(
    current: &'a str,
    rule: &CompiledRule,
    index: &'a TagIndex,
    now: DateTime<Utc>,
    rolled_back: &RolledBackTags,
    sightings: Sightings<'_>,
) -> Selection<'a> {
    let mut selection = Selection {
        current,
        outcome: Outcome::NoneNewer,
        passed_over: Vec::new(),
        passed_over_count: 0,
        unknown_ages: Vec::new(),
        soak_judged: Vec::new(),
        beyond_level: None,
        not_comparable: index.len(),
    };
    if rule.update == UpdateStrategy::Digest {
        selection.outcome = Outcome::FollowsDigest;
        return selection;
    }
    let Some(version) = TagVersion::parse(current) else {
        selection.outcome = Outcome::CurrentNotAVersion;
        return selection;
    };
    let Some(family) = index.family(&version.family()) else {
        return selection;
    };
    selection.not_comparable = index.len() - family.tags.len();

    // `none` is report-only: it shows what `major` would pick, and the
    // planner never acts on it.
    let kept_numbers = match rule.update {
        UpdateStrategy::Patch => 2,
        UpdateStrategy::Minor => 1,
        UpdateStrategy::Major | UpdateStrategy::None | UpdateStrategy::Digest => 0,
    };
    if kept_numbers >= usize::from(version.precision) {
        selection.outcome = Outcome::LevelFinerThanTag;
        return selection;
    }
    let tags = &family.tags;
    let newer_from = family.newer_from(&version.precedence());
    let level_end = family.same_numbers_until(newer_from, &version.numbers, kept_numbers);
    if level_end < tags.len() {
        let newest = &tags[tags.len() - 1];
        selection.beyond_level = Some((tags.len() - level_end, &newest.tag));
    }

    for candidate in tags[newer_from..level_end].iter().rev() {
        let reason = pass_reason(candidate, &version, rule, now, rolled_back, sightings);
        if rule.min_age.is_some() && reason.as_ref().is_none_or(PassReason::is_soak) {
            selection.soak_judged.push(&candidate.tag);
        }
        match reason {
            None => {
                selection.outcome = Outcome::Candidate {
                    tag: &candidate.tag,
                    created: candidate.created,
                };
                break;
            }
            Some(reason) => {
                selection.passed_over_count += 1;
                if reason == PassReason::AgeUnknown && selection.unknown_ages.len() < UNKNOWN_AGES_LISTED {
                    selection.unknown_ages.push(&candidate.tag);
                }
                if selection.passed_over.len() < PASSED_OVER_LISTED {
                    selection.passed_over.push(PassedOver {
                        tag: &candidate.tag,
                        reason,
                    });
                }
            }
        }
    }
    selection
}

fn pass_reason(
    candidate: &IndexedTag,
    current: &TagVersion<'_>,
    rule: &CompiledRule,
    now: DateTime<Utc>,
    rolled_back: &RolledBackTags,
    sightings: Sightings<'_>,
) -> Option<PassReason> {
    if let Some(record) = rolled_back.get(&*candidate.tag) {
        return Some(PassReason::RolledBack(record.clone()));
    }
    let precedence = &candidate.precedence;
    let version = precedence.constraint_version();
    // Pre-releases the rule lets in; a constraint then compares them by
    // precedence like any version.
    let pre_releases_allowed =
        rule.allow_prerelease || (current.is_pre_release() && *precedence.numbers() == current.numbers);
    if precedence.is_pre_release() && !pre_releases_allowed {
        // As in Masterminds, a constraint that names a pre-release
        // (`>=2.0.0-0`) lets in the pre-releases it matches.
        let constraint_asks_for_it = rule
            .constraint
            .as_ref()
            .is_some_and(|constraint| constraint.matches(&version, false));
        if !constraint_asks_for_it {
            return Some(PassReason::PreRelease);
        }
    }
    if rule
        .allow_tags
        .as_ref()
        .is_some_and(|allow| !allow.is_match(&candidate.tag))
    {
        return Some(PassReason::NotAllowed);
    }
    if rule
        .ignore_tags
        .as_ref()
        .is_some_and(|ignore| ignore.is_match(&candidate.tag))
    {
        return Some(PassReason::Ignored);
    }
    if rule
        .constraint
        .as_ref()
        .is_some_and(|constraint| !constraint.matches(&version, pre_releases_allowed))
    {
        return Some(PassReason::OutsideConstraint);
    }
    if let Some(min_age) = rule.min_age {
        return soak_reason(candidate, min_age, now, sightings);
    }
    None
}

/// Whether `candidate` has soaked `min_age` at `now`, or why not.
fn soak_reason(
    candidate: &IndexedTag,
    min_age: Duration,
    now: DateTime<Utc>,
    sightings: Sightings<'_>,
) -> Option<PassReason> {
    // Every soak start is at most now, so the age is never negative.
    let age_since = |at: DateTime<Utc>| (now - at).to_std().unwrap_or(Duration::ZERO);
    let too_young = |from: SoakStart| {
        let age = age_since(from.at());
        (age < min_age).then_some(PassReason::TooYoung { age, min_age, from })
    };
    match soak::soak(candidate.created, &candidate.tag, sightings, now) {
        Soak::From(from) => too_young(from),
        // First seen too recently: too young whenever it was built.
        Soak::BuildTimeNeeded { not_before: Some(at) } if age_since(at) < min_age => too_young(SoakStart::FirstSeen {
            at,
            implausible_build: None,
        }),
        Soak::BuildTimeNeeded { .. } => Some(PassReason::AgeUnknown),
        Soak::Unprovable { build } => Some(PassReason::BuildTimeImplausible { build }),
    }
}

impl PassReason {
    /// Whether this is a soak reason (too young, or a soak that cannot be
    /// told).
    pub fn is_soak(&self) -> bool {
        matches!(
            self,
            PassReason::TooYoung { .. } | PassReason::AgeUnknown | PassReason::BuildTimeImplausible { .. }
        )
    }
}

impl<'a> Selection<'a> {
    /// The chosen tag, if any.
    pub fn candidate(&self) -> Option<&'a str> {
        match &self.outcome {
            Outcome::Candidate { tag, .. } => Some(tag),
            _ => None,
        }
    }
}

impl fmt::Display for Selection<'_> {
    /// One compact line for DriftReports and `refit scan`, e.g.
    /// `1.31.4-alpine is the newest allowed; passed over 1.31.5-alpine
    /// (built 1d ago, minAge 3d); 2 newer outside the level (newest
    /// 2.0.0-alpine); 412 other tags not comparable`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Candidate { tag, .. } => write!(f, "{tag} is the newest allowed")?,
            Outcome::NoneNewer => write!(f, "no newer tag allowed for {}", self.current)?,
            Outcome::CurrentNotAVersion => {
                return write!(
                    f,
                    "`{}` is not a version, so newer versions cannot be told; use update: digest to follow it",
                    self.current
                );
            }
            Outcome::LevelFinerThanTag => {
                return write!(
                    f,
                    "`{}` has too few numbers for this update level; use a broader level or a more precise tag",
                    self.current
                );
            }
            Outcome::FollowsDigest => return write!(f, "follows the digest of `{}`", self.current),
        }
        if self.passed_over_count > 0 {
            f.write_str("; passed over ")?;
            for (position, passed) in self.passed_over.iter().enumerate() {
                let separator = if position == 0 { "" } else { ", " };
                write!(f, "{separator}{} ({})", passed.tag, passed.reason)?;
            }
            let unlisted = self.passed_over_count - self.passed_over.len();
            if unlisted > 0 {
                write!(f, " and {unlisted} more")?;
            }
        }
        if let Some((count, newest)) = &self.beyond_level {
            write!(f, "; {count} newer outside the update level (newest {newest})")?;
        }
        match self.not_comparable {
            0 => {}
            1 => f.write_str("; 1 other tag not comparable")?,
            n => write!(f, "; {n} other tags not comparable")?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
