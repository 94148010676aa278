//! An OCI image-layout tree standing in for registries, for `refit scan`
//! offline and the examples.
//!
//! Each repository is a standard OCI image layout (`oci-layout`,
//! `index.json`, `blobs/<algorithm>/<hex>`) at
//! `DIR/<registry host>/<repository path>/`, e.g.
//! `DIR/docker.io/library/nginx/`, the way zot stores repositories. A tag is
//! an entry of `index.json` whose annotation
//! `org.opencontainers.image.ref.name` names it, as
//! `skopeo copy … oci:DIR/docker.io/library/nginx:1.25.3` writes it.
//! (skopeo's `oci:` transport splits its argument at the first colon, so it
//! cannot write a tree for a host with a port; such directories can be
//! created by other tools or by hand.)

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;

use super::{
    error::RegistryError,
    remote::{Descriptor, Document, verify},
};
use crate::core::reference::Digest;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A directory of OCI layouts.
#[derive(Debug, Clone)]
pub struct LayoutTree {
    root: PathBuf,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

impl LayoutTree {
    /// A tree rooted at `root`; fails when it is not a directory.
    pub fn open(root: &Path) -> Result<LayoutTree, RegistryError> {
        if !root.is_dir() {
            return Err(RegistryError::Layout {
                path: root.display().to_string(),
                message: "not a directory".into(),
            });
        }
        Ok(LayoutTree {
            root: root.to_path_buf(),
        })
    }

    fn repository_dir(&self, host: &str, repository: &str) -> PathBuf {
        self.root.join(host).join(repository)
    }

    fn index(&self, host: &str, repository: &str) -> Result<Index, RegistryError> {
        let dir = self.repository_dir(host, repository);
        let path = dir.join("index.json");
        let bytes = std::fs::read(&path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => RegistryError::Layout {
                path: dir.display().to_string(),
                message: format!("the tree has no copy of {host}/{repository}"),
            },
            kind => RegistryError::Layout {
                path: path.display().to_string(),
                message: kind.to_string(),
            },
        })?;
        serde_json::from_slice(&bytes).map_err(|error| RegistryError::Layout {
            path: path.display().to_string(),
            message: format!("not an OCI index: {error}"),
        })
    }

    /// The tags `index.json` names.
    pub fn list_tags(&self, host: &str, repository: &str) -> Result<Vec<String>, RegistryError> {
        let mut tags: Vec<String> = self
            .index(host, repository)?
            .manifests
            .into_iter()
            .filter_map(|e| e.annotations.get(REF_NAME).cloned())
            .collect();
        tags.sort_unstable();
        tags.dedup();
        Ok(tags)
    }

    /// What a tag (or a digest listed in `index.json`) points at.
    pub fn head_manifest(&self, host: &str, repository: &str, reference: &str) -> Result<Descriptor, RegistryError> {
        let index = self.index(host, repository)?;
        let entry = index
            .manifests
            .iter()
            .find(|e| e.annotations.get(REF_NAME).map(String::as_str) == Some(reference) || e.digest == reference)
            .ok_or_else(|| RegistryError::NotFound {
                registry: host.to_owned(),
                what: format!("{repository}:{reference}"),
            })?;
        let digest = Digest::parse(&entry.digest).map_err(|error| RegistryError::Layout {
            path: self
                .repository_dir(host, repository)
                .join("index.json")
                .display()
                .to_string(),
            message: error.to_string(),
        })?;
        Ok(Descriptor {
            digest,
            media_type: entry.media_type.clone().unwrap_or_default(),
        })
    }

    /// A blob (manifest, index or config) by digest, checked against it.
    pub fn blob(&self, host: &str, repository: &str, digest: &Digest) -> Result<Document, RegistryError> {
        let path = self
            .repository_dir(host, repository)
            .join("blobs")
            .join(
                digest
                    .to_string()
                    .split_once(':')
                    .map_or("sha256", |(algorithm, _)| algorithm),
            )
            .join(digest.hex());
        let bytes = std::fs::read(&path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => RegistryError::NotFound {
                registry: host.to_owned(),
                what: format!("{repository}@{digest}"),
            },
            kind => RegistryError::Layout {
                path: path.display().to_string(),
                message: kind.to_string(),
            },
        })?;
        if verify(host, &bytes, Some(digest)).is_err() {
            return Err(RegistryError::Layout {
                path: path.display().to_string(),
                message: format!("content does not hash to {digest}"),
            });
        }
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_default();
        Ok(Document {
            bytes: Bytes::from(bytes),
            media_type,
        })
    }
}
