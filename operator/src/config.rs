//! The operator's config file: one YAML file shared by `refit run`
//! (`--config`) and `refit scan` (`--registry-config`). The registry part
//! ([`RegistrySettings`]: `registries`, `credentials`, `cache`, `requests`,
//! `baseImageKeys`) sits at the top level, where `RegistrySettings::from_yaml`
//! reads it; the `operator` section holds what only `refit run` uses.
//! Command-line flags and their environment variables override the file.
//! `docs/CONFIG.md` documents every key with an example.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use crate::{
    core::duration,
    registry::settings::{RegistrySettings, Settings},
    telemetry::logging::LogFormat,
};

/// Top-level keys the file may have; anything else is a typo worth naming.
const KNOWN_KEYS: [&str; 6] = [
    "registries",
    "credentials",
    "cache",
    "requests",
    "baseImageKeys",
    "operator",
];

/// The default address of `/metrics`, `/healthz` and `/readyz`.
pub const DEFAULT_METRICS_ADDRESS: &str = "0.0.0.0:8080";
/// How long refit waits after a workload or its pods change before it
/// refreshes that workload's DriftReport: changes come in bursts (a rollout
/// moves one pod at a time), and one refresh per burst is enough.
pub const DEFAULT_WORKLOAD_DEBOUNCE: Duration = Duration::from_secs(5);

/// The whole file, read and checked.
#[derive(Debug, Clone, Default)]
pub struct OperatorConfig {
    /// The registry settings as written.
    pub registry: RegistrySettings,
    /// The registry settings, validated.
    pub registry_settings: Settings,
    /// The `operator` section.
    pub operator: OperatorSection,
    /// Where the file was read from, if anywhere.
    pub path: Option<PathBuf>,
}

/// The `operator` section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorSection {
    /// `host:port` of the metrics and health server. Default `0.0.0.0:8080`.
    #[serde(default)]
    pub metrics_address: Option<String>,
    /// `json` (default) or `text`.
    #[serde(default)]
    pub log_format: Option<LogFormat>,
    /// A tracing filter: a level (`info`) or directives
    /// (`info,refit::controller=debug`). Default `info`. Re-read on SIGHUP.
    #[serde(default)]
    pub log_level: Option<String>,
    /// Watch workloads and write DriftReports in this namespace only.
    /// Default: every namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Read the image pull secrets the governed workloads name, to ask
    /// private registries with them. Default true.
    #[serde(default)]
    pub read_pull_secrets: Option<bool>,
    /// How long to wait after a workload or its pods change before its
    /// report is refreshed, e.g. `5s`. Default `5s`.
    #[serde(default)]
    pub workload_debounce: Option<String>,
}

/// Why the config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not YAML of the expected shape.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// Values that cannot be used; each problem names its key.
    #[error("{path}: {}", problems.join("; "))]
    Invalid {
        /// The file.
        path: String,
        /// `key: problem`, for every problem found.
        problems: Vec<String>,
    },
}

impl OperatorConfig {
    /// Reads and checks the file; without a file, the defaults.
    pub fn load(path: Option<&Path>) -> Result<OperatorConfig, ConfigError> {
        let Some(path) = path else {
            return Ok(OperatorConfig::default());
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut config = OperatorConfig::parse(&text, &shown)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses and checks the file's text; `shown` names it in errors.
    pub fn parse(text: &str, shown: &str) -> Result<OperatorConfig, ConfigError> {
        let yaml_error = |message: String| ConfigError::Yaml {
            path: shown.to_owned(),
            message,
        };
        // An empty file is an empty mapping.
        let top: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            serde_saphyr::from_str(text).map_err(|e| yaml_error(e.without_snippet().to_string()))?
        };
        let Some(top) = top.as_object() else {
            return Err(yaml_error("the config file must be a mapping of keys to values".into()));
        };
        let mut problems: Vec<String> = top
            .keys()
            .filter(|key| !KNOWN_KEYS.contains(&key.as_str()))
            .map(|key| format!("{key}: unknown key; the keys are {}", KNOWN_KEYS.join(", ")))
            .collect();
        let registry = RegistrySettings::from_yaml(text).map_err(yaml_error)?;
        let operator: OperatorSection = match top.get("operator") {
            None | Some(serde_json::Value::Null) => OperatorSection::default(),
            Some(section) => {
                serde_json::from_value(section.clone()).map_err(|e| yaml_error(format!("operator: {e}")))?
            }
        };
        let registry_settings = match registry.validate() {
            Ok(settings) => Some(settings),
            Err(errors) => {
                problems.extend(errors.iter().map(ToString::to_string));
                None
            }
        };
        problems.extend(operator.problems());
        match registry_settings {
            Some(registry_settings) if problems.is_empty() => Ok(OperatorConfig {
                registry,
                registry_settings,
                operator,
                path: None,
            }),
            _ => Err(ConfigError::Invalid {
                path: shown.to_owned(),
                problems,
            }),
        }
    }
}

impl OperatorSection {
    /// Every problem of the section, as `operator.key: problem`.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(address) = &self.metrics_address
            && let Err(problem) = parse_address(address)
        {
            problems.push(format!("operator.metricsAddress: {problem}"));
        }
        if let Some(level) = &self.log_level
            && let Err(problem) = crate::telemetry::logging::parse_filter(level)
        {
            problems.push(format!("operator.logLevel: {problem}"));
        }
        if let Some(text) = &self.workload_debounce
            && let Err(error) = duration::parse(text)
        {
            problems.push(format!("operator.workloadDebounce: {error}"));
        }
        if let Some(namespace) = &self.namespace
            && namespace.trim().is_empty()
        {
            problems.push("operator.namespace: leave it out to watch every namespace".into());
        }
        problems
    }

    /// `workloadDebounce`, or its default.
    pub fn workload_debounce(&self) -> Duration {
        self.workload_debounce
            .as_deref()
            .and_then(|text| duration::parse(text).ok())
            .unwrap_or(DEFAULT_WORKLOAD_DEBOUNCE)
    }
}

/// Reads `host:port` (`0.0.0.0:8080`, `127.0.0.1:9090`, `[::]:8080`).
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .map_err(|_| format!("{text:?} is not an address such as 0.0.0.0:8080 or 127.0.0.1:9090"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_part_and_the_operator_section_are_read_from_one_file() {
        let text = "
registries:
  - host: registry.internal:5000
    insecure: true
cache:
  tagListTtl: 30m
operator:
  metricsAddress: 127.0.0.1:9090
  logFormat: text
  logLevel: info,refit=debug
  namespace: storefront
  workloadDebounce: 2s
";
        let config = OperatorConfig::parse(text, "refit.yaml").expect("valid");
        assert!(config.registry_settings.is_insecure("registry.internal:5000"));
        assert_eq!(config.registry_settings.tag_list_ttl, Duration::from_secs(1800));
        assert_eq!(config.operator.metrics_address.as_deref(), Some("127.0.0.1:9090"));
        assert_eq!(config.operator.log_format, Some(LogFormat::Text));
        assert_eq!(config.operator.namespace.as_deref(), Some("storefront"));
        assert_eq!(config.operator.workload_debounce(), Duration::from_secs(2));
        // The registry layer reads the same file and ignores `operator`.
        assert_eq!(
            RegistrySettings::from_yaml(text).expect("readable by the registry layer"),
            config.registry
        );
    }

    #[test]
    fn an_empty_file_means_the_defaults() {
        let config = OperatorConfig::parse("", "refit.yaml").expect("valid");
        assert_eq!(config.operator, OperatorSection::default());
        assert_eq!(config.operator.workload_debounce(), DEFAULT_WORKLOAD_DEBOUNCE);
    }

    #[test]
    fn every_problem_is_named_by_its_key() {
        let text = "
registry:
  - host: x
requests:
  maxConcurrent: 0
operator:
  metricsAddress: localhost
  workloadDebounce: soon
";
        let error = OperatorConfig::parse(text, "refit.yaml").expect_err("invalid");
        let ConfigError::Invalid { problems, .. } = error else {
            panic!("expected Invalid, got {error}");
        };
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("registry: unknown key"), "{}", problems[0]);
        assert_eq!(problems[1], "requests.maxConcurrent: must be at least 1");
        assert!(
            problems[2].starts_with("operator.metricsAddress: \"localhost\""),
            "{}",
            problems[2]
        );
        assert!(
            problems[3].starts_with("operator.workloadDebounce: `soon`"),
            "{}",
            problems[3]
        );
    }

    #[test]
    fn unknown_keys_in_the_operator_section_are_refused() {
        let error =
            OperatorConfig::parse("operator:\n  metricAddress: 0.0.0.0:8080\n", "refit.yaml").expect_err("a typo");
        assert!(error.to_string().contains("metricAddress"), "{error}");
    }
}
