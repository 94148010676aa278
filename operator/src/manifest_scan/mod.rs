//! `refit scan`: the operator's detection over manifests on disk, for CI.
//!
//! The pipeline: read the manifests ([`manifests`]), compile the policy
//! (a PatchPolicy file, or the default: minor updates, pinned digests, base
//! images checked), gather the registry facts once per repository through
//! the registry layer (a remote registry, or an OCI layout tree offline),
//! evaluate each workload with the core engine, and report
//! ([`report`]). Manifests carry no pods, so what the pods really run is
//! not known: digest drift shows only for pinned references.

pub mod manifests;
pub mod report;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};

use self::{
    manifests::{InputError, Manifests},
    report::{ContainerReport, ScanReport, WorkloadReport},
};
use crate::{
    api::{PatchPolicy, patch_policy::PatchPolicySpec},
    core::{
        drift::{EvaluationContext, Evaluator, RuntimeBaselines, TemplateContainer},
        policy::ImageRules,
    },
    registry::{RegistryError, Resolver, credentials::DockerConfig, gather, settings::RegistrySettings},
};

/// What to scan and against what.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files or directories; `-` for stdin.
    pub paths: Vec<PathBuf>,
    /// A PatchPolicy file; `None` for the default policy.
    pub policy: Option<PathBuf>,
    /// The operator config file (its registry part is used).
    pub registry_config: Option<PathBuf>,
    /// An OCI layout tree to use instead of registries.
    pub oci_layout: Option<PathBuf>,
    /// The instant the scan judges ages at.
    pub now: DateTime<Utc>,
}

/// What a scan found, with what it read.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The findings.
    pub report: ScanReport,
    /// The manifests read (for `--verbose`).
    pub manifests: Manifests,
    /// Images no rule of the policy governs.
    pub ungoverned: Vec<String>,
}

/// Why a scan could not run. Each names the file and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The manifests.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The policy file.
    #[error("{path}: {problem}")]
    Policy {
        /// The file.
        path: String,
        /// What is wrong (all problems, one per line).
        problem: String,
    },
    /// The registry config file.
    #[error("{path}: {problem}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The registry source (an OCI layout that is not a directory).
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The policy a scan applies.
#[derive(Debug, Clone)]
struct ScanPolicy {
    rules: ImageRules,
    check_base_images: bool,
    baselines: RuntimeBaselines,
}

/// Runs a scan.
pub async fn scan(options: &ScanOptions) -> Result<ScanOutcome, ScanError> {
    let manifests = manifests::read_paths(&options.paths)?;
    let policy = load_policy(options.policy.as_deref())?;
    let resolver = resolver(options)?;
    let images: Vec<String> = manifests
        .workloads
        .iter()
        .flat_map(|w| w.containers.iter().map(|c| c.image.clone()))
        .collect();
    let rolled_back = HashMap::new();
    let facts = gather(&resolver, &images, &policy.rules, &rolled_back, options.now, None).await;
    let nodes = HashMap::new();
    let mut evaluator = Evaluator::new(EvaluationContext {
        rules: &policy.rules,
        check_base_images: policy.check_base_images,
        baselines: &policy.baselines,
        registry: &facts,
        nodes: &nodes,
        rolled_back: &rolled_back,
        // refit scan keeps no state: a tag whose build time is not
        // plausible counts as too young.
        first_seen: None,
        now: options.now,
    });
    let mut report = ScanReport::default();
    let mut ungoverned = Vec::new();
    for workload in &manifests.workloads {
        let template: Vec<TemplateContainer> = workload
            .containers
            .iter()
            .map(|c| TemplateContainer {
                name: c.name.as_str().into(),
                image: c.image.as_str().into(),
                init: c.init,
            })
            .collect();
        let findings = evaluator.evaluate(&template, &[]);
        let by_container: BTreeMap<(&str, bool), &crate::core::drift::ContainerFinding> =
            findings.containers.iter().map(|f| ((&*f.name, f.init), f)).collect();
        let mut containers = Vec::new();
        for container in &workload.containers {
            match by_container.get(&(container.name.as_str(), container.init)) {
                Some(finding) => containers.push(ContainerReport {
                    name: container.name.clone(),
                    image: container.image.clone(),
                    init: container.init,
                    line: container.line,
                    column: container.column,
                    state: finding.verdict.state,
                    candidate: finding.verdict.candidate.as_ref().map(ToString::to_string),
                    reason: finding.verdict.reason.to_string(),
                }),
                None => ungoverned.push(container.image.clone()),
            }
        }
        report.workloads.push(WorkloadReport {
            kind: workload.kind.clone(),
            namespace: workload.namespace.clone(),
            name: workload.name.clone(),
            file: workload.file.clone(),
            containers,
        });
    }
    ungoverned.sort();
    ungoverned.dedup();
    Ok(ScanOutcome {
        report,
        manifests,
        ungoverned,
    })
}

fn load_policy(path: Option<&Path>) -> Result<ScanPolicy, ScanError> {
    let Some(path) = path else {
        // The default: every image, minor updates, pinned digests, base
        // images checked.
        return Ok(ScanPolicy {
            rules: ImageRules::compile(&default_spec()).map_err(|problems| ScanError::Policy {
                path: "(default policy)".into(),
                problem: problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            })?,
            check_base_images: true,
            baselines: RuntimeBaselines::default(),
        });
    };
    let shown = path.display().to_string();
    let policy_error = |problem: String| ScanError::Policy {
        path: shown.clone(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|error| policy_error(format!("cannot read: {error}")))?;
    let value: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|error| policy_error(format!("not valid YAML: {error}")))?;
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
    if kind != "PatchPolicy" {
        let shown_kind = if kind.is_empty() {
            "a document without a kind".to_owned()
        } else {
            format!("a {kind}")
        };
        return Err(policy_error(format!(
            "is {shown_kind}, not a PatchPolicy (apiVersion refit.dev/v1alpha1)"
        )));
    }
    let policy: PatchPolicy =
        serde_json::from_value(value).map_err(|error| policy_error(format!("not a valid PatchPolicy: {error}")))?;
    let rules = ImageRules::compile(&policy.spec)
        .map_err(|problems| policy_error(problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    let mut baselines = RuntimeBaselines::default();
    for sidecar in policy.spec.runtime.iter().flat_map(|r| &r.sidecars) {
        // Offline, only baselines written as images can be known.
        if let Some(image) = &sidecar.image {
            baselines.sidecars.insert(sidecar.container.clone(), image.clone());
        }
    }
    Ok(ScanPolicy {
        rules,
        check_base_images: policy.spec.base_images.as_ref().is_some_and(|b| b.enabled),
        baselines,
    })
}

/// A PatchPolicy spec with every field at its default (no image rules:
/// every image follows the defaults of an image rule).
fn default_spec() -> PatchPolicySpec {
    PatchPolicySpec {
        namespace_selector: None,
        selector: None,
        kinds: Vec::new(),
        images: Vec::new(),
        base_images: None,
        runtime: None,
        mode: Default::default(),
        window_ref: None,
        rollout: Default::default(),
        scan_interval: crate::api::patch_policy::DEFAULT_SCAN_INTERVAL.into(),
        ticket_expiry: crate::api::patch_policy::DEFAULT_TICKET_EXPIRY.into(),
        ticket_sinks: Vec::new(),
        priority: 0,
    }
}

fn resolver(options: &ScanOptions) -> Result<Resolver, ScanError> {
    let settings = match &options.registry_config {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|error| ScanError::Config {
                path: shown.clone(),
                problem: format!("cannot read: {error}"),
            })?;
            let settings = RegistrySettings::from_yaml(&text).map_err(|problem| ScanError::Config {
                path: shown.clone(),
                problem,
            })?;
            settings.validate().map_err(|problems| ScanError::Config {
                path: shown,
                problem: problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            })?
        }
        None => RegistrySettings::default()
            .validate()
            .map_err(|problems| ScanError::Config {
                path: "(defaults)".into(),
                problem: problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            })?,
    };
    if let Some(layout) = &options.oci_layout {
        return Ok(Resolver::layout(layout, settings)?);
    }
    let credentials = match settings.docker_config_path.clone().or_else(default_docker_config) {
        Some(path) if path.exists() => DockerConfig::load(&path).map_err(|error| ScanError::Config {
            path: path.display().to_string(),
            problem: error.to_string(),
        })?,
        _ => DockerConfig::default(),
    };
    Ok(Resolver::remote(settings, credentials)?)
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: where
/// `docker login` leaves credentials on a CI runner.
fn default_docker_config() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}
