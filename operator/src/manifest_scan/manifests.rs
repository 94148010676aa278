//! Reading Kubernetes manifests from disk or stdin: multi-document YAML
//! (and JSON), directories walked recursively, `List` kinds — so `helm
//! template` and `kubectl kustomize` output work — and the container and
//! init container images of every Pod, Deployment, StatefulSet, DaemonSet,
//! ReplicaSet, Job and CronJob, with the line and column of each `image`
//! field (for SARIF annotations).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The kinds whose images refit checks.
pub const WORKLOAD_KINDS: [&str; 7] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// A workload found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestWorkload {
    /// `Deployment`, `CronJob`, …
    pub kind: String,
    /// `metadata.namespace`, if written.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The file, as given (or `-` for stdin).
    pub file: String,
    /// Containers first, then init containers, each in written order.
    pub containers: Vec<ManifestContainer>,
}

/// A container of a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestContainer {
    /// `name`.
    pub name: String,
    /// `image` as written.
    pub image: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Line of the `image` value (1-based).
    pub line: u64,
    /// Column of the `image` value (1-based).
    pub column: u64,
}

/// An object that is not a workload refit checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// Its kind (empty when the document has none).
    pub kind: String,
    /// Its name, if any.
    pub name: Option<String>,
}

/// What the inputs hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifests {
    /// Workloads, in file order.
    pub workloads: Vec<ManifestWorkload>,
    /// Other objects.
    pub skipped: Vec<Skipped>,
}

/// Why the inputs could not be read. Each names the file, and the line
/// where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A path that does not exist or cannot be read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// YAML that cannot be parsed, or a workload of the wrong shape.
    #[error("{file}:{line}: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// The line (1-based).
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// A path with no manifests at all.
    #[error("{path}: no .yaml, .yml or .json files found")]
    Empty {
        /// The path.
        path: String,
    },
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<String>,
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    kind: Option<String>,
    metadata: Option<Metadata>,
    spec: Option<PodSpecHolder>,
    items: Option<Vec<Document>>,
}

#[derive(Deserialize)]
struct Metadata {
    name: Option<String>,
    namespace: Option<String>,
}

/// The parts of a spec on the path to containers, whatever the kind:
/// `spec.containers` (Pod), `spec.template.spec…` (Deployment, Job, …),
/// `spec.jobTemplate.spec.template.spec…` (CronJob).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpecHolder {
    containers: Option<Vec<Container>>,
    init_containers: Option<Vec<Container>>,
    template: Option<Box<Template>>,
    job_template: Option<Box<Template>>,
}

#[derive(Deserialize)]
struct Template {
    spec: Option<PodSpecHolder>,
}

#[derive(Deserialize)]
struct Container {
    name: Option<String>,
    image: Option<Spanned<String>>,
}

/// Reads paths (files or directories); `-` reads stdin.
pub fn read_paths(paths: &[PathBuf]) -> Result<Manifests, InputError> {
    let mut manifests = Manifests::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|error| {
                InputError::Unreadable {
                    path: "-".into(),
                    reason: format!("cannot read standard input: {error}"),
                }
            })?;
            read_text(&text, "-", &mut manifests)?;
            continue;
        }
        let files = collect_files(path)?;
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|error| InputError::Unreadable {
                path: file.display().to_string(),
                reason: error.to_string(),
            })?;
            read_text(&text, &file.display().to_string(), &mut manifests)?;
        }
    }
    Ok(manifests)
}

/// A file, or the manifest files under a directory in a stable order.
fn collect_files(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    let metadata = std::fs::metadata(path).map_err(|error| InputError::Unreadable {
        path: path.display().to_string(),
        reason: match error.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".into(),
            _ => error.to_string(),
        },
    })?;
    if metadata.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|error| InputError::Unreadable {
            path: dir.display().to_string(),
            reason: error.to_string(),
        })?;
        for entry in entries.flatten() {
            let entry_path = entry.path();
            // Symbolic links are not followed (a link to a parent would
            // never end), and hidden entries (`.git`) are skipped.
            let Ok(file_type) = entry.file_type() else { continue };
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if file_type.is_dir() {
                pending.push(entry_path);
            } else if file_type.is_file()
                && entry_path
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            {
                files.push(entry_path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(InputError::Empty {
            path: path.display().to_string(),
        });
    }
    Ok(files)
}

/// Reads one file's documents.
pub fn read_text(text: &str, file: &str, manifests: &mut Manifests) -> Result<(), InputError> {
    for (first_line, document) in split_documents(text) {
        let yaml_error = |error: serde_saphyr::Error| {
            let message = error.to_string();
            let (line, message) = relocate(&message, first_line);
            InputError::Yaml {
                file: file.to_owned(),
                line,
                message,
            }
        };
        if document.trim().is_empty()
            || document
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        // Objects of other kinds may have any shape; only workloads (and
        // lists) are read in full.
        let head: Option<KindOnly> = serde_saphyr::from_str(document).map_err(yaml_error)?;
        let Some(head) = head else { continue };
        let kind = head.kind.unwrap_or_default();
        if !WORKLOAD_KINDS.contains(&kind.as_str()) && !kind.ends_with("List") {
            manifests.skipped.push(Skipped {
                file: file.to_owned(),
                kind,
                name: head.metadata.and_then(|m| m.name),
            });
            continue;
        }
        let parsed: Document = serde_saphyr::from_str(document).map_err(yaml_error)?;
        collect(parsed, file, first_line, manifests);
    }
    Ok(())
}

fn collect(document: Document, file: &str, first_line: u64, manifests: &mut Manifests) {
    let kind = document.kind.unwrap_or_default();
    if let Some(items) = document.items {
        for item in items {
            collect(item, file, first_line, manifests);
        }
        return;
    }
    let (name, namespace) = document.metadata.map_or((None, None), |m| (m.name, m.namespace));
    if !WORKLOAD_KINDS.contains(&kind.as_str()) {
        manifests.skipped.push(Skipped {
            file: file.to_owned(),
            kind,
            name,
        });
        return;
    }
    let pod_spec = match kind.as_str() {
        "Pod" => document.spec,
        "CronJob" => document
            .spec
            .and_then(|s| s.job_template)
            .and_then(|t| t.spec)
            .and_then(|s| s.template)
            .and_then(|t| t.spec),
        _ => document.spec.and_then(|s| s.template).and_then(|t| t.spec),
    };
    let mut containers = Vec::new();
    if let Some(spec) = pod_spec {
        for (list, init) in [(spec.containers, false), (spec.init_containers, true)] {
            for container in list.unwrap_or_default() {
                let Some(image) = container.image else { continue };
                containers.push(ManifestContainer {
                    name: container.name.unwrap_or_default(),
                    image: image.value,
                    init,
                    line: image.referenced.line() + first_line - 1,
                    column: image.referenced.column(),
                });
            }
        }
    }
    manifests.workloads.push(ManifestWorkload {
        kind,
        namespace,
        name: name.unwrap_or_default(),
        file: file.to_owned(),
        containers,
    });
}

/// Splits a stream at `---` lines; each document with the line it starts
/// on (1-based).
fn split_documents(text: &str) -> Vec<(u64, &str)> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut start_line = 1u64;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") || trimmed == "..." {
            documents.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = index as u64 + 2;
        }
        offset += line.len();
    }
    documents.push((start_line, &text[start..]));
    documents
}

/// Moves the parser's `line N column M:` to the file's line numbering.
fn relocate(message: &str, first_line: u64) -> (u64, String) {
    let message = message.strip_prefix("error: ").unwrap_or(message);
    if let Some(rest) = message.strip_prefix("line ")
        && let Some((number, after)) = rest.split_once(' ')
        && let Ok(line) = number.parse::<u64>()
    {
        let after = after.trim_start_matches([',', ' ']);
        let after = after
            .strip_prefix("column ")
            .and_then(|c| c.split_once(':'))
            .map_or(after, |(_, m)| m.trim());
        return (line + first_line - 1, after.to_owned());
    }
    (first_line, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Manifests {
        let mut manifests = Manifests::default();
        read_text(text, "deploy.yaml", &mut manifests).expect("readable");
        manifests
    }

    #[test]
    fn every_workload_kind_yields_its_images_with_their_lines() {
        let text = "\
# helm template output
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {nginx.conf: \"...\"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: storefront
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/storefront-migrate:2.14.1
      containers:
        - name: web
          image: nginx:1.29.8-alpine
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: \"0 3 * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - {name: backup, image: \"postgres:16.14\"}
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
  - name: shell
    image: busybox:1.37
";
        let manifests = read(text);
        let found: Vec<(String, String, String, u64, bool)> = manifests
            .workloads
            .iter()
            .flat_map(|w| {
                w.containers
                    .iter()
                    .map(move |c| (w.kind.clone(), c.name.clone(), c.image.clone(), c.line, c.init))
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "Deployment".into(),
                    "web".into(),
                    "nginx:1.29.8-alpine".into(),
                    21,
                    false
                ),
                (
                    "Deployment".into(),
                    "migrate".into(),
                    "ghcr.io/acme/storefront-migrate:2.14.1".into(),
                    18,
                    true
                ),
                ("CronJob".into(), "backup".into(), "postgres:16.14".into(), 33, false),
                ("Pod".into(), "shell".into(), "busybox:1.37".into(), 41, false),
            ]
        );
        assert_eq!(manifests.workloads[0].namespace.as_deref(), Some("storefront"));
        assert_eq!(
            manifests.skipped,
            [Skipped {
                file: "deploy.yaml".into(),
                kind: "ConfigMap".into(),
                name: Some("web-config".into())
            }]
        );
    }

    #[test]
    fn lists_from_kubectl_are_read_item_by_item() {
        let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: node-exporter, namespace: monitoring}
  spec:
    template:
      spec:
        containers:
        - name: exporter
          image: quay.io/prometheus/node-exporter:v1.8.2
- apiVersion: v1
  kind: Service
  metadata: {name: node-exporter}
  spec: {ports: [{port: 9100}]}
";
        let manifests = read(text);
        assert_eq!(manifests.workloads.len(), 1);
        assert_eq!(manifests.workloads[0].containers[0].line, 12);
        assert_eq!(manifests.skipped[0].kind, "Service");
    }

    #[test]
    fn objects_of_other_kinds_may_have_any_shape() {
        let text = "apiVersion: acme.example/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  template: just a string\n  containers: 7\n";
        let manifests = read(text);
        assert!(manifests.workloads.is_empty());
        assert_eq!(manifests.skipped[0].kind, "Widget");
    }

    #[test]
    fn a_yaml_error_names_the_file_and_the_line_in_the_file() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n";
        let mut manifests = Manifests::default();
        let error = read_text(text, "manifests/web.yaml", &mut manifests).expect_err("broken YAML");
        let InputError::Yaml { file, line, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(file, "manifests/web.yaml");
        assert_eq!(*line, 8, "{error}");
        assert!(error.to_string().starts_with("manifests/web.yaml:8: "), "{error}");
    }

    #[test]
    fn documents_are_split_at_markers_with_their_first_lines() {
        let parts = split_documents("a: 1\n---\nb: 2\n--- # x\nc: 3\n");
        assert_eq!(parts.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 3, 5]);
    }
}
