//! The result of a scan and its three renderings: a table for people, JSON
//! for scripts (a versioned schema), and SARIF 2.1.0 for code-scanning tools
//! (each finding annotated on the manifest line of its `image` field).
//!
//! JSON schema, version 1 (scripts may rely on these names; new fields may
//! be added, none removed or renamed without a new `schemaVersion`):
//!
//! ```json
//! {"schemaVersion": 1,
//!  "workloads": [{"kind", "namespace" (string or null), "name", "file",
//!                 "containers": [{"name", "image", "init", "line",
//!                                 "state", "candidate" (string or null), "reason"}]}],
//!  "summary": {"workloads", "containers", "<State>": count, …}}
//! ```
//!
//! `state` is one of `UpToDate`, `Outdated`, `DigestDrift`, `BaseOutdated`,
//! `RuntimeOutdated`, `Unknown`; `candidate` is the full reference refit
//! would move to (with digest when pinned).

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;
use serde_json::{Value, json};

use crate::api::drift_report::FindingState;

/// The JSON schema version this module writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Every workload scanned, in input order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanReport {
    /// Workloads with their containers.
    pub workloads: Vec<WorkloadReport>,
}

/// One workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadReport {
    /// Kind.
    pub kind: String,
    /// Namespace, if the manifest names one.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// The manifest file.
    pub file: String,
    /// Containers first, then init containers.
    pub containers: Vec<ContainerReport>,
}

/// One container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerReport {
    /// Name.
    pub name: String,
    /// Image as written.
    pub image: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Line of the `image` field.
    pub line: u64,
    /// Column of the `image` field.
    #[serde(skip)]
    pub column: u64,
    /// The state.
    pub state: FindingState,
    /// Where refit would move it.
    pub candidate: Option<String>,
    /// Why.
    pub reason: String,
}

/// What makes `--fail-on` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A newer allowed version exists.
    Outdated,
    /// A pinned digest is behind its tag.
    Drift,
    /// A base image was patched since the image was built.
    Base,
    /// A sidecar is below its baseline.
    Runtime,
    /// An image could not be checked.
    Unknown,
    /// Any of outdated, drift, base and runtime (not unknown).
    Any,
}

impl FailOn {
    /// Whether a container in `state` fails the scan.
    pub fn matches(self, state: FindingState) -> bool {
        use FindingState as S;
        match self {
            FailOn::Outdated => state == S::Outdated,
            FailOn::Drift => state == S::DigestDrift,
            FailOn::Base => state == S::BaseOutdated,
            FailOn::Runtime => state == S::RuntimeOutdated,
            FailOn::Unknown => state == S::Unknown,
            FailOn::Any => matches!(
                state,
                S::Outdated | S::DigestDrift | S::BaseOutdated | S::RuntimeOutdated
            ),
        }
    }
}

impl ScanReport {
    /// Containers in each state.
    pub fn counts(&self) -> BTreeMap<FindingState, usize> {
        let mut counts = BTreeMap::new();
        for container in self.workloads.iter().flat_map(|w| &w.containers) {
            *counts.entry(container.state).or_default() += 1;
        }
        counts
    }

    /// How many containers match a `--fail-on` condition.
    pub fn matching(&self, conditions: &[FailOn]) -> usize {
        self.workloads
            .iter()
            .flat_map(|w| &w.containers)
            .filter(|c| conditions.iter().any(|condition| condition.matches(c.state)))
            .count()
    }

    /// The JSON document (schema version 1).
    pub fn to_json(&self) -> Value {
        let mut summary = serde_json::Map::new();
        summary.insert("workloads".into(), json!(self.workloads.len()));
        summary.insert(
            "containers".into(),
            json!(self.workloads.iter().map(|w| w.containers.len()).sum::<usize>()),
        );
        for (state, count) in self.counts() {
            summary.insert(state_name(state).into(), json!(count));
        }
        json!({"schemaVersion": SCHEMA_VERSION, "workloads": self.workloads, "summary": summary})
    }

    /// The table: one block per workload, one line per container with its
    /// reason underneath, and a summary line.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        for workload in &self.workloads {
            let place = match &workload.namespace {
                Some(namespace) => format!("{namespace}/{}", workload.name),
                None => workload.name.clone(),
            };
            let _ = writeln!(out, "{} {place} ({})", workload.kind, workload.file);
            if workload.containers.is_empty() {
                let _ = writeln!(out, "  (no image the policy governs)");
            }
            let name_width = workload
                .containers
                .iter()
                .map(|c| c.name.len() + if c.init { 7 } else { 0 })
                .max()
                .unwrap_or(0);
            let image_width = workload.containers.iter().map(|c| c.image.len()).max().unwrap_or(0);
            for container in &workload.containers {
                let name = if container.init {
                    format!("{} (init)", container.name)
                } else {
                    container.name.clone()
                };
                let state = state_name(container.state);
                let candidate = container
                    .candidate
                    .as_ref()
                    .map(|c| format!("  → {c}"))
                    .unwrap_or_default();
                let line = format!(
                    "  {name:name_width$}  {:image_width$}  {state}{candidate}",
                    container.image
                );
                let _ = writeln!(out, "{}", line.trim_end());
                if !container.reason.is_empty() {
                    let _ = writeln!(out, "      {}", container.reason);
                }
            }
            out.push('\n');
        }
        let counts = self.counts();
        let containers: usize = counts.values().sum();
        let parts: Vec<String> = counts
            .iter()
            .map(|(state, n)| format!("{n} {}", state_name(*state)))
            .collect();
        let _ = writeln!(
            out,
            "{} workloads, {containers} containers{}{}",
            self.workloads.len(),
            if parts.is_empty() { "" } else { ": " },
            parts.join(", ")
        );
        out
    }

    /// The SARIF 2.1.0 log: one result per container that is not
    /// `UpToDate`, located at its `image` field.
    pub fn to_sarif(&self) -> Value {
        let rules: Vec<Value> = SARIF_RULES
            .iter()
            .map(|(state, text)| {
                json!({
                    "id": state_name(*state),
                    "name": state_name(*state),
                    "shortDescription": {"text": text},
                    "helpUri": "https://github.com/refit-dev/refit/blob/main/docs/VERSION-SELECTION.md",
                    "defaultConfiguration": {"level": level(*state)},
                })
            })
            .collect();
        let results: Vec<Value> = self
            .workloads
            .iter()
            .flat_map(|w| w.containers.iter().map(move |c| (w, c)))
            .filter(|(_, c)| c.state != FindingState::UpToDate)
            .filter_map(|(workload, container)| {
                let index = SARIF_RULES.iter().position(|(state, _)| *state == container.state)?;
                let target = container
                    .candidate
                    .as_ref()
                    .map(|c| format!(" → {c}"))
                    .unwrap_or_default();
                Some(json!({
                    "ruleId": state_name(container.state),
                    "ruleIndex": index,
                    "level": level(container.state),
                    "message": {"text": format!(
                        "{} {}: container {} runs {}{target}: {}",
                        workload.kind, workload.name, container.name, container.image, container.reason
                    )},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&workload.file)},
                            "region": {"startLine": container.line.max(1), "startColumn": container.column.max(1)},
                        },
                    }],
                }))
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "refit",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/refit-dev/refit",
                    "rules": rules,
                }},
                "results": results,
            }],
        })
    }
}

/// SARIF rules, one per state that is a finding.
const SARIF_RULES: [(FindingState, &str); 5] = [
    (FindingState::Outdated, "A newer version allowed by the policy exists"),
    (
        FindingState::DigestDrift,
        "The image's digest is not what its tag points at now",
    ),
    (
        FindingState::BaseOutdated,
        "The image was built on a base image that has since been patched",
    ),
    (
        FindingState::RuntimeOutdated,
        "A sidecar or runtime component is below its baseline",
    ),
    (FindingState::Unknown, "refit could not check the image"),
];

fn level(state: FindingState) -> &'static str {
    match state {
        FindingState::Unknown => "note",
        _ => "warning",
    }
}

/// How the state is spelled in every output.
pub fn state_name(state: FindingState) -> &'static str {
    match state {
        FindingState::UpToDate => "UpToDate",
        FindingState::Outdated => "Outdated",
        FindingState::DigestDrift => "DigestDrift",
        FindingState::BaseOutdated => "BaseOutdated",
        FindingState::RuntimeOutdated => "RuntimeOutdated",
        FindingState::Unknown => "Unknown",
    }
}

/// A file path as a URI reference: relative paths stay relative (code
/// scanning resolves them against the checkout), absolute ones become
/// `file://` URIs; characters outside RFC 3986's unreserved set and `/`
/// are percent-encoded. Standard input is `stdin`.
fn uri(file: &str) -> String {
    if file == "-" {
        return "stdin".into();
    }
    let path = file.trim_start_matches("./").replace('\\', "/");
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(char::from(byte))
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn sarif_uris_are_encoded_relative_references() {
        assert_eq!(
            uri("examples/quickstart/manifests/web.yaml"),
            "examples/quickstart/manifests/web.yaml"
        );
        assert_eq!(uri("./deploy/my app#1.yaml"), "deploy/my%20app%231.yaml");
        assert_eq!(uri("/srv/ci/deploy/50%.yaml"), "file:///srv/ci/deploy/50%25.yaml");
        assert_eq!(uri("-"), "stdin");
    }
}
