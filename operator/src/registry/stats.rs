//! Request counts and health per registry: what metrics export and what
//! tests assert ("50 workloads on 3 repositories cost exactly 3 tag-list
//! requests").

use std::{collections::BTreeMap, sync::Mutex, time::SystemTime};

use crate::lock::Lock;

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// `GET /v2/<name>/tags/list` (each page counts).
    TagList,
    /// `HEAD /v2/<name>/manifests/<reference>`.
    ManifestHead,
    /// `GET /v2/<name>/manifests/<reference>`.
    ManifestGet,
    /// `GET /v2/<name>/blobs/<digest>`.
    BlobGet,
    /// A bearer token from the registry's token service.
    Token,
}

impl RequestKind {
    /// A stable label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::TagList => "tag_list",
            RequestKind::ManifestHead => "manifest_head",
            RequestKind::ManifestGet => "manifest_get",
            RequestKind::BlobGet => "blob_get",
            RequestKind::Token => "token",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestOutcome {
    /// 2xx.
    Ok,
    /// 404.
    NotFound,
    /// 401 or 403 that credentials did not fix.
    Unauthorized,
    /// 429 or 503.
    RateLimited,
    /// Anything else: other statuses, timeouts, connection failures.
    Error,
}

impl RequestOutcome {
    /// A stable label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::NotFound => "not_found",
            RequestOutcome::Unauthorized => "unauthorized",
            RequestOutcome::RateLimited => "rate_limited",
            RequestOutcome::Error => "error",
        }
    }

    fn is_failure(self) -> bool {
        matches!(self, RequestOutcome::RateLimited | RequestOutcome::Error)
    }
}

/// A registry's recent health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Failures (rate limits, errors) since the last answer.
    pub consecutive_failures: u32,
    /// The last failure, without credentials.
    pub last_error: Option<String>,
    /// When the registry last answered.
    pub last_success: Option<SystemTime>,
}

/// Counts and health, shared by everything that talks to registries.
#[derive(Debug, Default)]
pub struct RegistryStats {
    counts: Mutex<BTreeMap<(String, RequestKind, RequestOutcome), u64>>,
    health: Mutex<BTreeMap<String, Health>>,
}

impl RegistryStats {
    /// Records one request.
    pub fn record(&self, registry: &str, kind: RequestKind, outcome: RequestOutcome, error: Option<&str>) {
        *self
            .counts
            .locked()
            .entry((registry.to_owned(), kind, outcome))
            .or_default() += 1;
        let mut health = self.health.locked();
        let entry = health.entry(registry.to_owned()).or_default();
        if outcome.is_failure() {
            entry.consecutive_failures += 1;
            entry.last_error = error.map(str::to_owned);
        } else {
            entry.consecutive_failures = 0;
            entry.last_success = Some(SystemTime::now());
        }
    }

    /// Requests of a kind to a registry, whatever their outcome.
    pub fn count(&self, registry: &str, kind: RequestKind) -> u64 {
        self.counts
            .locked()
            .iter()
            .filter(|((r, k, _), _)| r == registry && *k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests of a kind with an outcome.
    pub fn count_outcome(&self, registry: &str, kind: RequestKind, outcome: RequestOutcome) -> u64 {
        self.counts
            .locked()
            .get(&(registry.to_owned(), kind, outcome))
            .copied()
            .unwrap_or(0)
    }

    /// Every count: (registry, kind, outcome) → requests.
    pub fn snapshot(&self) -> BTreeMap<(String, RequestKind, RequestOutcome), u64> {
        self.counts.locked().clone()
    }

    /// Health by registry.
    pub fn health(&self) -> BTreeMap<String, Health> {
        self.health.locked().clone()
    }

    /// Total requests of every kind to a registry.
    pub fn total(&self, registry: &str) -> u64 {
        self.counts
            .locked()
            .iter()
            .filter(|((r, _, _), _)| r == registry)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_health_follow_the_requests() {
        let stats = RegistryStats::default();
        stats.record("docker.io", RequestKind::TagList, RequestOutcome::Ok, None);
        stats.record(
            "docker.io",
            RequestKind::ManifestHead,
            RequestOutcome::RateLimited,
            Some("429 Too Many Requests"),
        );
        stats.record(
            "docker.io",
            RequestKind::ManifestHead,
            RequestOutcome::RateLimited,
            Some("429 Too Many Requests"),
        );
        assert_eq!(stats.count("docker.io", RequestKind::ManifestHead), 2);
        assert_eq!(stats.count("docker.io", RequestKind::TagList), 1);
        assert_eq!(stats.count("ghcr.io", RequestKind::TagList), 0);
        let health = &stats.health()["docker.io"];
        assert_eq!(health.consecutive_failures, 2);
        assert_eq!(health.last_error.as_deref(), Some("429 Too Many Requests"));
        stats.record("docker.io", RequestKind::ManifestHead, RequestOutcome::NotFound, None);
        assert_eq!(
            stats.health()["docker.io"].consecutive_failures,
            0,
            "a 404 is an answer"
        );
        assert_eq!(stats.total("docker.io"), 4);
    }
}
