//! Registry settings: the part of the operator's config file (YAML) that
//! `refit run` and `refit scan --registry-config` share.
//!
//! ```yaml
//! registries:
//!   - host: registry.internal:5000
//!     insecure: true              # plain HTTP; only ever explicit
//!   - host: docker.io
//!     mirrors: [mirror.gcr.io]    # asked first for docker.io's repositories
//!     rateLimit: {requestsPerSecond: 2, burst: 5}
//! credentials:
//!   dockerConfigPath: /etc/refit/docker/config.json
//! cache:
//!   tagListTtl: 10m
//!   digestTtl: 1m
//!   contentCacheBytes: 67108864
//! requests:
//!   maxConcurrent: 8
//!   timeout: 30s
//!   retries: 4
//!   rateLimit: {requestsPerSecond: 5, burst: 10}
//! baseImageKeys:
//!   name: [com.example.base.name]
//!   digest: [com.example.base.digest]
//! ```
//!
//! [`RegistrySettings::validate`] turns the file's data into
//! [`Settings`], reporting every problem with its path.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::core::duration;

/// The registry settings as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySettings {
    /// Per-registry settings; registries not listed use the defaults.
    #[serde(default)]
    pub registries: Vec<RegistryEntry>,
    /// Where credentials come from.
    #[serde(default)]
    pub credentials: CredentialSettings,
    /// How long answers are cached.
    #[serde(default)]
    pub cache: CacheSettings,
    /// How requests are made.
    #[serde(default)]
    pub requests: RequestSettings,
    /// Extra annotation and label keys that name an image's base.
    #[serde(default)]
    pub base_image_keys: BaseImageKeys,
}

/// One registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryEntry {
    /// Host (and port) as image references write it: `ghcr.io`,
    /// `registry.internal:5000`, `docker.io`.
    pub host: String,
    /// Talk plain HTTP to this host. TLS is verified for every host not
    /// marked insecure; there is no way to skip verification.
    #[serde(default)]
    pub insecure: bool,
    /// Hosts asked first for this registry's repositories (pull-through
    /// caches); the registry itself is asked when they fail.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// This registry's request budget (default: `requests.rateLimit`).
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Average requests per second.
    pub requests_per_second: f64,
    /// Requests that may go at once after a quiet period.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            requests_per_second: 5.0,
            burst: 10,
        }
    }
}

/// Where credentials come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSettings {
    /// A Docker config JSON file (e.g. a mounted Secret of type
    /// `kubernetes.io/dockerconfigjson`). Image pull secrets of the
    /// workloads are used as well when the operator reads them.
    #[serde(default)]
    pub docker_config_path: Option<PathBuf>,
}

/// Cache lifetimes and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheSettings {
    /// How long a repository's tag list is reused. Default `10m`.
    #[serde(default = "default_tag_list_ttl")]
    pub tag_list_ttl: String,
    /// How long what a tag points at is reused. Default `1m`: every scan
    /// asks again (one HEAD), so moved tags are seen.
    #[serde(default = "default_digest_ttl")]
    pub digest_ttl: String,
    /// Bytes of manifests, indexes and image configs kept (they never
    /// change, so they are only evicted for space). Default 64 MiB.
    #[serde(default = "default_content_cache_bytes")]
    pub content_cache_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            tag_list_ttl: default_tag_list_ttl(),
            digest_ttl: default_digest_ttl(),
            content_cache_bytes: default_content_cache_bytes(),
        }
    }
}

/// How requests are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSettings {
    /// Requests in flight at once, across all registries. Default 8.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    /// Time limit for one request. Default `30s`.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Retries after a 429, a 503 or a connection failure. Default 4.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The request budget of registries without their own. Default 5 per
    /// second, bursts of 10.
    #[serde(default)]
    pub rate_limit: RateLimit,
}

impl Default for RequestSettings {
    fn default() -> Self {
        RequestSettings {
            max_concurrent: default_max_concurrent(),
            timeout: default_timeout(),
            retries: default_retries(),
            rate_limit: RateLimit::default(),
        }
    }
}

/// Extra keys for base-image facts, tried after the OCI standard ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageKeys {
    /// Keys whose value names the base image.
    #[serde(default)]
    pub name: Vec<String>,
    /// Keys whose value is the base image's digest.
    #[serde(default)]
    pub digest: Vec<String>,
}

fn default_tag_list_ttl() -> String {
    "10m".into()
}
fn default_digest_ttl() -> String {
    "1m".into()
}
fn default_content_cache_bytes() -> u64 {
    64 << 20
}
fn default_max_concurrent() -> u32 {
    8
}
fn default_timeout() -> String {
    "30s".into()
}
fn default_retries() -> u32 {
    4
}

/// The standard annotation naming an image's base.
pub const BASE_NAME_KEY: &str = "org.opencontainers.image.base.name";
/// The standard annotation giving the base image's digest.
pub const BASE_DIGEST_KEY: &str = "org.opencontainers.image.base.digest";

/// Validated settings, ready for the resolver.
#[derive(Debug, Clone)]
pub struct Settings {
    /// By host.
    pub registries: BTreeMap<String, RegistryEntry>,
    /// The Docker config file, if any.
    pub docker_config_path: Option<PathBuf>,
    /// Tag list lifetime.
    pub tag_list_ttl: Duration,
    /// Tag → digest lifetime.
    pub digest_ttl: Duration,
    /// Content cache size.
    pub content_cache_bytes: usize,
    /// Global concurrency.
    pub max_concurrent: usize,
    /// Per-request time limit.
    pub timeout: Duration,
    /// Retries.
    pub retries: u32,
    /// Default budget.
    pub rate_limit: RateLimit,
    /// Keys naming the base, standard first.
    pub base_name_keys: Vec<String>,
    /// Keys giving the base digest, standard first.
    pub base_digest_keys: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        // The defaults are constants that validate (`the_defaults_are_sane`
        // builds them), so this cannot fail at run time.
        RegistrySettings::default()
            .validate()
            .expect("the default registry settings are valid")
    }
}

/// A settings problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct SettingsError {
    /// Path in the config file, e.g. `registries[1].rateLimit.burst`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl RegistrySettings {
    /// Parses the registry part of a config file (other top-level keys are
    /// left to their own readers).
    pub fn from_yaml(text: &str) -> Result<RegistrySettings, String> {
        serde_saphyr::from_str(text).map_err(|error| error.to_string())
    }

    /// Checks the settings; every problem is reported with its path.
    pub fn validate(&self) -> Result<Settings, Vec<SettingsError>> {
        let mut errors = Vec::new();
        let mut problem = |field: String, problem: String| errors.push(SettingsError { field, problem });
        let mut registries = BTreeMap::new();
        for (index, entry) in self.registries.iter().enumerate() {
            let host = crate::registry::credentials::normalize_host(&entry.host);
            if entry.host.contains("://") || entry.host.contains('/') || entry.host.is_empty() {
                problem(
                    format!("registries[{index}].host"),
                    format!(
                        "`{}` must be a host[:port] as image references write it, e.g. ghcr.io or registry.internal:5000",
                        entry.host
                    ),
                );
            }
            for (m, mirror) in entry.mirrors.iter().enumerate() {
                if mirror.contains("://") || mirror.contains('/') || mirror.is_empty() {
                    problem(
                        format!("registries[{index}].mirrors[{m}]"),
                        format!("`{mirror}` must be a host[:port]"),
                    );
                }
            }
            if let Some(limit) = &entry.rate_limit {
                check_rate_limit(limit, &format!("registries[{index}].rateLimit"), &mut problem);
            }
            if registries
                .insert(
                    host.clone(),
                    RegistryEntry {
                        host: host.clone(),
                        ..entry.clone()
                    },
                )
                .is_some()
            {
                problem(format!("registries[{index}].host"), format!("{host} is listed twice"));
            }
        }
        check_rate_limit(&self.requests.rate_limit, "requests.rateLimit", &mut problem);
        let mut read = |field: &str, text: &str| match duration::parse(text) {
            Ok(value) => value,
            Err(error) => {
                problem(field.to_owned(), error.to_string());
                Duration::ZERO
            }
        };
        let tag_list_ttl = read("cache.tagListTtl", &self.cache.tag_list_ttl);
        let digest_ttl = read("cache.digestTtl", &self.cache.digest_ttl);
        let timeout = read("requests.timeout", &self.requests.timeout);
        if timeout.is_zero() && duration::parse(&self.requests.timeout).is_ok() {
            problem("requests.timeout".into(), "must be greater than zero".into());
        }
        if self.requests.max_concurrent == 0 {
            problem("requests.maxConcurrent".into(), "must be at least 1".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let keys = |standard: &str, extra: &[String]| {
            std::iter::once(standard.to_owned())
                .chain(extra.iter().cloned())
                .collect::<Vec<_>>()
        };
        Ok(Settings {
            registries,
            docker_config_path: self.credentials.docker_config_path.clone(),
            tag_list_ttl,
            digest_ttl,
            content_cache_bytes: usize::try_from(self.cache.content_cache_bytes).unwrap_or(usize::MAX),
            max_concurrent: self.requests.max_concurrent as usize,
            timeout,
            retries: self.requests.retries,
            rate_limit: self.requests.rate_limit,
            base_name_keys: keys(BASE_NAME_KEY, &self.base_image_keys.name),
            base_digest_keys: keys(BASE_DIGEST_KEY, &self.base_image_keys.digest),
        })
    }
}

fn check_rate_limit(limit: &RateLimit, field: &str, problem: &mut impl FnMut(String, String)) {
    if !(limit.requests_per_second > 0.0 && limit.requests_per_second.is_finite()) {
        problem(
            format!("{field}.requestsPerSecond"),
            "must be a number greater than zero".into(),
        );
    }
    if limit.burst == 0 {
        problem(format!("{field}.burst"), "must be at least 1".into());
    }
}

impl Settings {
    /// The settings of a registry host, if listed.
    pub fn registry(&self, host: &str) -> Option<&RegistryEntry> {
        self.registries.get(host)
    }

    /// The request budget of a host.
    pub fn rate_limit(&self, host: &str) -> RateLimit {
        self.registry(host)
            .and_then(|r| r.rate_limit)
            .unwrap_or(self.rate_limit)
    }

    /// Whether a host is reached over plain HTTP.
    pub fn is_insecure(&self, host: &str) -> bool {
        self.registry(host).is_some_and(|r| r.insecure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_file_reads_and_validates() {
        let yaml = r#"
registries:
  - host: registry.internal:5000
    insecure: true
  - host: https://index.docker.io/v1/
    mirrors: [mirror.gcr.io]
    rateLimit: {requestsPerSecond: 2, burst: 5}
credentials:
  dockerConfigPath: /etc/refit/docker/config.json
cache:
  tagListTtl: 30m
requests:
  maxConcurrent: 4
baseImageKeys:
  name: [com.example.base.name]
"#;
        let settings = RegistrySettings::from_yaml(yaml).expect("parses");
        let problems = settings.validate().expect_err("a URL is not a host");
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "registries[1].host: `https://index.docker.io/v1/` must be a host[:port] as image references write it, e.g. ghcr.io or registry.internal:5000"
            ]
        );
        let fixed =
            RegistrySettings::from_yaml(&yaml.replace("https://index.docker.io/v1/", "docker.io")).expect("parses");
        let settings = fixed.validate().expect("valid");
        assert!(settings.is_insecure("registry.internal:5000"));
        assert!(!settings.is_insecure("docker.io"));
        assert_eq!(
            settings.registry("docker.io").map(|r| r.mirrors.clone()),
            Some(vec!["mirror.gcr.io".to_owned()])
        );
        assert_eq!(settings.rate_limit("docker.io").burst, 5);
        assert_eq!(settings.rate_limit("ghcr.io"), RateLimit::default());
        assert_eq!(settings.tag_list_ttl, Duration::from_secs(1800));
        assert_eq!(settings.digest_ttl, Duration::from_secs(60));
        assert_eq!(settings.max_concurrent, 4);
        assert_eq!(settings.base_name_keys, [BASE_NAME_KEY, "com.example.base.name"]);
    }

    #[test]
    fn every_problem_names_its_field() {
        let yaml = r#"
registries:
  - host: ghcr.io
    rateLimit: {requestsPerSecond: 0, burst: 0}
  - host: ghcr.io
cache:
  tagListTtl: ten minutes
requests:
  maxConcurrent: 0
"#;
        let problems = RegistrySettings::from_yaml(yaml)
            .expect("parses")
            .validate()
            .expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "registries[0].rateLimit.requestsPerSecond",
                "registries[0].rateLimit.burst",
                "registries[1].host",
                "cache.tagListTtl",
                "requests.maxConcurrent"
            ]
        );
    }

    #[test]
    fn the_defaults_are_sane() {
        let settings = Settings::default();
        assert_eq!(settings.tag_list_ttl, Duration::from_secs(600));
        assert_eq!(settings.max_concurrent, 8);
        assert_eq!(
            settings.rate_limit,
            RateLimit {
                requests_per_second: 5.0,
                burst: 10
            }
        );
        assert!(settings.registries.is_empty());
    }
}
