//! `refit crd`: the CustomResourceDefinitions as YAML, generated from the
//! types in [`crate::api`]. `crds/` in the repository holds the output of
//! `refit crd --output-dir crds`, and a test keeps the two equal.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::CliError;
use crate::api;

/// The command that regenerates the committed `crds/` directory.
pub const REGENERATE_COMMAND: &str = "cargo run -p refit -- crd --output-dir crds";

/// One generated CRD: where it belongs and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedCrd {
    /// File name in `crds/`, e.g. `refit.dev_changetickets.yaml`.
    pub file_name: String,
    /// The YAML document, with a header saying it is generated.
    pub yaml: String,
}

/// Renders every refit CRD, in the order of [`api::crds`].
pub fn render_all() -> Result<Vec<RenderedCrd>, CliError> {
    api::crds().iter().map(render).collect()
}

/// Every CRD as one multi-document YAML stream (what `refit crd` prints).
pub fn render_stream() -> Result<String, CliError> {
    let documents: Vec<String> = render_all()?.into_iter().map(|crd| crd.yaml).collect();
    Ok(documents.join("---\n"))
}

fn render(crd: &CustomResourceDefinition) -> Result<RenderedCrd, CliError> {
    let name = crd.metadata.name.as_deref().unwrap_or_default();
    let body = serde_saphyr::to_string(crd).map_err(|error| CliError::Serialize {
        what: format!("CustomResourceDefinition {name}"),
        message: error.to_string(),
    })?;
    Ok(RenderedCrd {
        file_name: format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural),
        yaml: format!(
            "# Generated from refit's Rust types by `refit crd`; do not edit.\n# Regenerate with: {REGENERATE_COMMAND}\n{body}"
        ),
    })
}

pub(super) fn run(output_dir: Option<&Path>) -> Result<(), CliError> {
    match output_dir {
        None => {
            let stream = render_stream()?;
            std::io::stdout()
                .lock()
                .write_all(stream.as_bytes())
                .map_err(|source| CliError::Write {
                    target: "standard output".into(),
                    source,
                })
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| CliError::Write {
                target: dir.display().to_string(),
                source,
            })?;
            for crd in render_all()? {
                let path: PathBuf = dir.join(&crd.file_name);
                std::fs::write(&path, crd.yaml).map_err(|source| CliError::Write {
                    target: path.display().to_string(),
                    source,
                })?;
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}
