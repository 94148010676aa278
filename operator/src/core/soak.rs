//! Soak time (`minAge`): from which instant a candidate's age counts.
//!
//! A build time (the image config's `created`) is only a claim. Images
//! built reproducibly (ko, apko, Bazel rules_oci, Nix, anything honouring
//! `SOURCE_DATE_EPOCH`) write `1970-01-01T00:00:00Z` or another fixed date,
//! so a tag pushed a minute ago can look years old. The rules
//! (docs/VERSION-SELECTION.md explains them for users):
//!
//! 1. A build time before [`earliest_plausible_build`] (2000-01-01) or after
//!    now is not plausible, and counts as no build time at all; the value is
//!    kept for the explanation ([`BuildTime`]).
//! 2. Without records of when tags were first seen (`refit scan`,
//!    [`Sightings::NotKept`]), the soak counts from the plausible build
//!    time, and a tag without one cannot be shown to have soaked: it counts
//!    as too young.
//! 3. With records (the operator, [`Sightings::Kept`], per policy and
//!    repository, see [`records`]): a tag recorded when refit first listed
//!    its repository was there before refit looked, so it soaks from its
//!    plausible build time, or from that first listing. A tag recorded
//!    later soaks from the later of its plausible build time and its
//!    record. A tag without a record counts as first seen now.
//!
//! Everything here is pure: the instant "now" is always a parameter.

pub mod records;
#[cfg(test)]
mod tests;

use chrono::{DateTime, SecondsFormat, Utc};

pub use self::records::{FirstSeen, FirstSeenScan, RECORDS_PER_POLICY, RECORDS_PER_WALK, RepositoryFirstSeen};

/// 2000-01-01T00:00:00Z in seconds since the Unix epoch. No registry image
/// format existed before it, so an earlier build time is a fixed date a
/// reproducible build wrote, not a real one.
const EARLIEST_PLAUSIBLE_BUILD_SECONDS: i64 = 946_684_800;

/// The earliest build time taken as real: 2000-01-01T00:00:00Z.
pub fn earliest_plausible_build() -> DateTime<Utc> {
    DateTime::from_timestamp(EARLIEST_PLAUSIBLE_BUILD_SECONDS, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A build time as the image config states it, judged against now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildTime {
    /// Not known (not read yet, or the config has none).
    Unknown,
    /// A real date: from 2000-01-01 to now.
    Plausible(DateTime<Utc>),
    /// Before 2000-01-01 or after now: not a real build date.
    Implausible(DateTime<Utc>),
}

impl BuildTime {
    /// Judges `created` at `now`.
    pub fn judge(created: Option<DateTime<Utc>>, now: DateTime<Utc>) -> BuildTime {
        match created {
            None => BuildTime::Unknown,
            Some(at) if at < earliest_plausible_build() || at > now => BuildTime::Implausible(at),
            Some(at) => BuildTime::Plausible(at),
        }
    }

    /// The build time if it is plausible.
    pub fn plausible(self) -> Option<DateTime<Utc>> {
        match self {
            BuildTime::Plausible(at) => Some(at),
            BuildTime::Unknown | BuildTime::Implausible(_) => None,
        }
    }

    /// The build time if it is not plausible (for explanations).
    pub fn implausible(self) -> Option<DateTime<Utc>> {
        match self {
            BuildTime::Implausible(at) => Some(at),
            BuildTime::Unknown | BuildTime::Plausible(_) => None,
        }
    }
}

/// What selection knows of when a repository's tags were first seen.
#[derive(Debug, Clone, Copy)]
pub enum Sightings<'a> {
    /// No records are kept (`refit scan`): only build times count.
    NotKept,
    /// The operator's records for this repository and policy; `None` when
    /// it has none (a tag then counts as first seen now).
    Kept(Option<&'a RepositoryFirstSeen>),
}

/// The instant a tag's soak counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoakStart {
    /// Its plausible build time.
    Built(DateTime<Utc>),
    /// When refit first saw it (or first listed its repository).
    FirstSeen {
        /// The instant.
        at: DateTime<Utc>,
        /// Its build time when that is not plausible, for the explanation.
        implausible_build: Option<DateTime<Utc>>,
    },
}

impl SoakStart {
    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        match self {
            SoakStart::Built(at) | SoakStart::FirstSeen { at, .. } => at,
        }
    }
}

/// Where a tag's soak starts, or why that cannot be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soak {
    /// It starts here.
    From(SoakStart),
    /// The build time decides and is not known yet; the soak starts no
    /// earlier than `not_before` (when refit first saw the tag), if given.
    BuildTimeNeeded {
        /// A lower bound from the records.
        not_before: Option<DateTime<Utc>>,
    },
    /// The build time is not plausible and no record says when the tag
    /// appeared (`refit scan`): it cannot be shown to have soaked.
    Unprovable {
        /// The build time the image states.
        build: DateTime<Utc>,
    },
}

/// Where the soak of `tag`, built at `created`, starts at `now`.
pub fn soak(created: Option<DateTime<Utc>>, tag: &str, sightings: Sightings<'_>, now: DateTime<Utc>) -> Soak {
    let build = BuildTime::judge(created, now);
    let repository = match sightings {
        Sightings::NotKept => {
            return match build {
                BuildTime::Plausible(at) => Soak::From(SoakStart::Built(at)),
                BuildTime::Implausible(at) => Soak::Unprovable { build: at },
                BuildTime::Unknown => Soak::BuildTimeNeeded { not_before: None },
            };
        }
        Sightings::Kept(repository) => repository,
    };
    let first_seen = |at| {
        Soak::From(SoakStart::FirstSeen {
            at,
            implausible_build: build.implausible(),
        })
    };
    let Some((listed, recorded)) = repository.and_then(|r| Some((r.listed, r.tag(tag)?))) else {
        // No record: as far as refit knows the tag appeared just now.
        return first_seen(now);
    };
    if recorded <= listed {
        // There at the first listing: refit cannot know when it appeared,
        // so its build time is all there is, or the listing itself.
        return match build {
            BuildTime::Plausible(at) => Soak::From(SoakStart::Built(at)),
            BuildTime::Implausible(_) => first_seen(listed),
            BuildTime::Unknown => Soak::BuildTimeNeeded { not_before: None },
        };
    }
    // Appeared later: neither before refit saw it nor before it was built.
    match build {
        BuildTime::Plausible(at) if at > recorded => Soak::From(SoakStart::Built(at)),
        BuildTime::Plausible(_) | BuildTime::Implausible(_) => first_seen(recorded),
        BuildTime::Unknown => Soak::BuildTimeNeeded {
            not_before: Some(recorded),
        },
    }
}

/// An instant as the explanations write it: `1970-01-01T00:00:00Z`.
pub fn written(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Why a build time is not plausible, for explanations: `is not a real
/// build date, as reproducible builds write` or `is in the future`.
pub fn implausible_because(build: DateTime<Utc>) -> &'static str {
    if build < earliest_plausible_build() {
        "is not a real build date, as reproducible builds write"
    } else {
        "is in the future"
    }
}
