//! Each policy's records of when tags were first seen (for `minAge`,
//! `core::soak`), between scans. The scanner keeps them in memory, seeded
//! from the policy's `status.firstSeen` when it has none (after a start, or
//! for a policy new to this process), so restarts agree with what was
//! recorded before; a scan takes them into its registry pass and puts them
//! back, pruned when the scan was full; the policy status writer publishes
//! them.

use std::collections::{BTreeMap, HashMap};

use crate::{
    api::{PatchPolicy, patch_policy::FirstSeenRepository},
    cluster::{instant, time},
    core::soak::{FirstSeen, FirstSeenScan, RepositoryFirstSeen},
};

/// One policy's records, and the uid of the policy they belong to (a
/// policy deleted and created again under the same name starts afresh).
#[derive(Debug, Clone)]
pub(super) struct PolicyFirstSeen {
    uid: Option<String>,
    records: FirstSeen,
}

/// Records by policy name.
pub(super) type FirstSeenByPolicy = HashMap<String, PolicyFirstSeen>;

/// The records `policy`'s scan starts from: those in memory, or else those
/// its status shows.
pub(super) fn begin(kept: &mut FirstSeenByPolicy, policy: &PatchPolicy) -> FirstSeenScan {
    let name = policy.metadata.name.clone().unwrap_or_default();
    let uid = policy.metadata.uid.clone();
    let records = match kept.remove(&name) {
        Some(mine) if mine.uid == uid => mine.records,
        _ => from_status(policy.status.as_ref().map_or(&[][..], |s| &s.first_seen)),
    };
    FirstSeenScan::new(records)
}

/// Puts `policy`'s records back after its scan, pruned when the scan was
/// `full`.
pub(super) fn end(kept: &mut FirstSeenByPolicy, policy: &PatchPolicy, scan: FirstSeenScan, full: bool) {
    let name = policy.metadata.name.clone().unwrap_or_default();
    kept.insert(
        name,
        PolicyFirstSeen {
            uid: policy.metadata.uid.clone(),
            records: scan.finish(full),
        },
    );
}

/// `policy` was scanned in full and governs no workload: it uses no
/// repository, so it keeps no records.
pub(super) fn nothing_used(kept: &mut FirstSeenByPolicy, policy: &PatchPolicy) {
    let scan = begin(kept, policy);
    end(kept, policy, scan, true);
}

/// The records of `name` as the policy status shows them, if the scanner
/// has any.
pub(super) fn published(kept: &FirstSeenByPolicy, name: &str) -> Option<Vec<FirstSeenRepository>> {
    kept.get(name).map(|mine| to_status(&mine.records))
}

/// Records as the status shows them: by repository, tags by name (both
/// sorted, so unchanged records write an unchanged status).
pub(super) fn to_status(records: &FirstSeen) -> Vec<FirstSeenRepository> {
    records
        .repositories()
        .filter_map(|(name, repository)| {
            Some(FirstSeenRepository {
                repository: name.to_owned(),
                first_listed: time(repository.listed).ok()?,
                tags: repository
                    .tags
                    .iter()
                    .filter_map(|(tag, at)| Some((tag.clone(), time(*at).ok()?)))
                    .collect(),
            })
        })
        .collect()
}

/// Records from what the status shows.
pub(super) fn from_status(status: &[FirstSeenRepository]) -> FirstSeen {
    FirstSeen::from_repositories(status.iter().filter_map(|repository| {
        let tags: BTreeMap<String, _> = repository
            .tags
            .iter()
            .filter_map(|(tag, at)| Some((tag.clone(), instant(at)?)))
            .collect();
        Some((
            repository.repository.clone(),
            RepositoryFirstSeen {
                listed: instant(&repository.first_listed)?,
                tags,
            },
        ))
    }))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::api::PatchPolicyStatus;

    fn policy(uid: &str, status: Vec<FirstSeenRepository>) -> PatchPolicy {
        let mut policy = PatchPolicy::new("web", serde_json::from_value(serde_json::json!({})).expect("spec"));
        policy.metadata.uid = Some(uid.to_owned());
        policy.status = Some(PatchPolicyStatus {
            first_seen: status,
            ..PatchPolicyStatus::default()
        });
        policy
    }

    fn nginx_records() -> FirstSeen {
        let listed = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).single().expect("valid");
        let later = Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).single().expect("valid");
        FirstSeen::from_repositories([(
            "docker.io/library/nginx".to_owned(),
            RepositoryFirstSeen {
                listed,
                tags: [
                    ("1.31.3-alpine".to_owned(), listed),
                    ("1.31.4-alpine".to_owned(), later),
                ]
                .into(),
            },
        )])
    }

    #[test]
    fn records_survive_the_round_trip_through_the_status() {
        let records = nginx_records();
        let status = to_status(&records);
        assert_eq!(
            serde_json::to_value(&status).expect("json"),
            serde_json::json!([{
                "repository": "docker.io/library/nginx",
                "firstListed": "2026-11-20T08:00:00Z",
                "tags": {"1.31.3-alpine": "2026-11-20T08:00:00Z", "1.31.4-alpine": "2026-11-27T09:30:00Z"},
            }])
        );
        assert_eq!(from_status(&status), records);
    }

    #[test]
    fn a_scan_after_a_start_begins_from_the_status_and_later_ones_from_memory() {
        let mut kept = FirstSeenByPolicy::new();
        let from_status = policy("uid-1", to_status(&nginx_records()));
        let scan = begin(&mut kept, &from_status);
        assert_eq!(scan.records(), &nginx_records());
        end(&mut kept, &from_status, FirstSeenScan::new(FirstSeen::default()), false);
        // The store's copy may lag behind what was written: memory wins.
        let scan = begin(&mut kept, &from_status);
        assert_eq!(scan.records(), &FirstSeen::default());
    }

    #[test]
    fn a_policy_created_again_under_the_same_name_starts_from_its_own_status() {
        let mut kept = FirstSeenByPolicy::new();
        let old = policy("uid-1", vec![]);
        end(&mut kept, &old, FirstSeenScan::new(nginx_records()), false);
        let new = policy("uid-2", vec![]);
        assert_eq!(begin(&mut kept, &new).records(), &FirstSeen::default());
    }

    #[test]
    fn a_full_scan_of_a_policy_without_workloads_keeps_no_records() {
        let mut kept = FirstSeenByPolicy::new();
        let idle = policy("uid-1", to_status(&nginx_records()));
        nothing_used(&mut kept, &idle);
        assert_eq!(published(&kept, "web"), Some(vec![]));
        assert_eq!(published(&kept, "other"), None);
    }
}
