//! The operator's records of when it first saw each tag, per policy: made
//! lazily while version selection judges soaks, and pruned to what
//! selection still looks at.
//!
//! - A repository's first listing (with a `minAge` rule) is recorded when
//!   its tag list is first read: [`FirstSeenScan::listed`].
//! - A tag is recorded when a selection walk judges its soak and it has no
//!   record: at now, which is the first listing during that scan and marks
//!   the tag as present then. At most [`RECORDS_PER_WALK`] per walk (the
//!   newest it judged) and [`RECORDS_PER_POLICY`] per policy; a tag beyond
//!   a cap stays unrecorded, so it counts as first seen now, too young.
//! - Pruning happens only on a full scan of the policy, and only in
//!   repositories whose tag list was read in that scan: the tags selection
//!   looked at are kept, the rest dropped. A repository the policy no
//!   longer uses is dropped whole; one whose registry failed is kept whole,
//!   so a registry blip restarts no soak. A partial scan (some workloads
//!   only) never prunes: it does not look at every tag a full scan would.
//!
//! Instants are kept to the second, as the policy status stores them, so
//! records read back after a restart compare equal to those written.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::Sightings;

/// Records one selection walk may make: the newest tags it judged.
pub const RECORDS_PER_WALK: usize = 10;

/// Tag records one policy keeps, so its status stays small (about 45 bytes
/// each).
pub const RECORDS_PER_POLICY: usize = 2_000;

/// When refit first listed a repository for a policy, and first saw the
/// tags whose soak it judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFirstSeen {
    /// The first listing. Tags recorded at this instant were present then.
    pub listed: DateTime<Utc>,
    /// Tag → when refit first saw it.
    pub tags: BTreeMap<String, DateTime<Utc>>,
}

impl RepositoryFirstSeen {
    /// A repository first listed at `listed`, with no tag records yet.
    pub fn new(listed: DateTime<Utc>) -> RepositoryFirstSeen {
        RepositoryFirstSeen {
            listed: to_the_second(listed),
            tags: BTreeMap::new(),
        }
    }

    /// When refit first saw `tag`, if it recorded it.
    pub fn tag(&self, tag: &str) -> Option<DateTime<Utc>> {
        self.tags.get(tag).copied()
    }
}

/// One policy's records, by normalized repository name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstSeen {
    repositories: BTreeMap<String, RepositoryFirstSeen>,
}

impl FirstSeen {
    /// Records from a list of repositories (the policy status); instants
    /// are kept to the second.
    pub fn from_repositories(repositories: impl IntoIterator<Item = (String, RepositoryFirstSeen)>) -> FirstSeen {
        let repositories = repositories
            .into_iter()
            .map(|(name, mut repository)| {
                repository.listed = to_the_second(repository.listed);
                for at in repository.tags.values_mut() {
                    *at = to_the_second(*at);
                }
                (name, repository)
            })
            .collect();
        FirstSeen { repositories }
    }

    /// The records of one repository.
    pub fn repository(&self, name: &str) -> Option<&RepositoryFirstSeen> {
        self.repositories.get(name)
    }

    /// Every repository's records, by name.
    pub fn repositories(&self) -> impl Iterator<Item = (&str, &RepositoryFirstSeen)> {
        self.repositories.iter().map(|(name, records)| (name.as_str(), records))
    }

    /// What selection in `repository` reads.
    pub fn sightings(&self, repository: &str) -> Sightings<'_> {
        Sightings::Kept(self.repository(repository))
    }

    /// How many tags are recorded, over all repositories.
    pub fn tag_count(&self) -> usize {
        self.repositories.values().map(|r| r.tags.len()).sum()
    }
}

/// A policy's records during one scan, with what the scan saw: which
/// repositories' tag lists it read (or failed to) and which tags its
/// selections looked at.
#[derive(Debug, Clone, Default)]
pub struct FirstSeenScan {
    records: FirstSeen,
    /// Repositories (with a `minAge` rule) whose tag list was read.
    listed: BTreeSet<String>,
    /// Repositories (with a `minAge` rule) whose tag list could not be read.
    unlisted: BTreeSet<String>,
    /// Tags whose soak a selection judged, by repository.
    looked_at: BTreeMap<String, BTreeSet<String>>,
}

impl FirstSeenScan {
    /// A scan starting from `records`.
    pub fn new(records: FirstSeen) -> FirstSeenScan {
        FirstSeenScan {
            records,
            ..FirstSeenScan::default()
        }
    }

    /// The records as they stand.
    pub fn records(&self) -> &FirstSeen {
        &self.records
    }

    /// `repository`'s tag list was read at `now`: its first listing is
    /// recorded if it has none.
    pub fn listed(&mut self, repository: &str, now: DateTime<Utc>) {
        self.listed.insert(repository.to_owned());
        if !self.records.repositories.contains_key(repository) {
            self.records
                .repositories
                .insert(repository.to_owned(), RepositoryFirstSeen::new(now));
        }
    }

    /// `repository`'s tag list could not be read: its records stay as they
    /// are, whatever this scan looked at.
    pub fn not_listed(&mut self, repository: &str) {
        self.unlisted.insert(repository.to_owned());
    }

    /// A selection walk looked at the soak of `tags` in `repository`.
    pub fn looked_at<'t>(&mut self, repository: &str, tags: impl IntoIterator<Item = &'t str>) {
        let seen = self.looked_at.entry(repository.to_owned()).or_default();
        seen.extend(tags.into_iter().map(str::to_owned));
    }

    /// A selection walk judged the soak of `tags` (newest first) in a
    /// listed `repository`: records the first sighting, at `now`, of the
    /// newest [`RECORDS_PER_WALK`] without a record, within
    /// [`RECORDS_PER_POLICY`]. Returns how many it recorded. A repository
    /// that was not listed gets no records.
    pub fn record_first_sightings(&mut self, repository: &str, tags: &[&str], now: DateTime<Utc>) -> usize {
        self.looked_at(repository, tags.iter().copied());
        let room = RECORDS_PER_POLICY.saturating_sub(self.records.tag_count());
        let Some(records) = self.records.repositories.get_mut(repository) else {
            return 0;
        };
        let now = to_the_second(now);
        let mut recorded = 0;
        for tag in tags {
            if recorded == RECORDS_PER_WALK.min(room) {
                break;
            }
            if !records.tags.contains_key(*tag) {
                records.tags.insert((*tag).to_owned(), now);
                recorded += 1;
            }
        }
        recorded
    }

    /// Ends the scan and returns the records: pruned when this was a full
    /// scan of the policy, as they stand otherwise.
    pub fn finish(self, full: bool) -> FirstSeen {
        let FirstSeenScan {
            mut records,
            listed,
            unlisted,
            looked_at,
        } = self;
        if !full {
            return records;
        }
        let nothing = BTreeSet::new();
        records.repositories.retain(|name, repository| {
            if unlisted.contains(name) {
                return true;
            }
            if !listed.contains(name) {
                return false;
            }
            let seen = looked_at.get(name).unwrap_or(&nothing);
            repository.tags.retain(|tag, _| seen.contains(tag));
            true
        });
        records
    }
}

/// `at` without its fraction of a second.
pub fn to_the_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}
