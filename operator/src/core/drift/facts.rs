//! What the registry said, as evaluation reads it: per repository, the tag
//! list and the facts of the tags in use and of their candidates (digest,
//! platform and config digests, build time, base image). The registry layer
//! fills these in before a scan evaluates anything; a missing entry, or an
//! `Err` with the reason, is missing data and makes findings `Unknown`.

use chrono::{DateTime, Utc};
use smol_str::SmolStr;

use crate::core::{FastMap, reference::Digest, version::TagIndex};

/// What the registry says about one tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFacts {
    /// The digest the tag points at now (a manifest or an index).
    pub digest: Option<Digest>,
    /// For an index: the digests of its platform manifests (a pod may
    /// report either; both mean this image).
    pub platform_digests: Vec<Digest>,
    /// Digests of the image configs (what some runtimes report as image ID).
    pub config_digests: Vec<Digest>,
    /// When the image was built.
    pub created: Option<DateTime<Utc>>,
    /// The base image, when the image names one.
    pub base: Option<BaseFacts>,
}

/// What an image says it was built on, and what that base is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseFacts {
    /// `org.opencontainers.image.base.name`.
    pub name: String,
    /// `org.opencontainers.image.base.digest`.
    pub built_on: Option<Digest>,
    /// What the base name resolves to now, or why that is unknown.
    pub current: Result<Digest, String>,
}

/// Registry facts for the repositories a scan needs, keyed by normalized
/// repository name (`docker.io/library/nginx`).
#[derive(Debug, Clone, Default)]
pub struct RegistryFacts {
    repositories: FastMap<String, RepositoryFacts>,
}

/// What the registry said about one repository.
#[derive(Debug, Clone, Default)]
pub struct RepositoryFacts {
    /// The tag list, or why it is unknown; `None` when it was not fetched.
    pub tags: Option<Result<TagIndex, String>>,
    /// Facts about individual tags (those in use and their candidates).
    pub tag_facts: FastMap<SmolStr, Result<TagFacts, String>>,
}

impl RegistryFacts {
    /// Records a repository's tag list, or why it could not be read.
    pub fn set_tags(&mut self, repository: &str, tags: Result<TagIndex, String>) {
        self.repositories.entry(repository.to_owned()).or_default().tags = Some(tags);
    }

    /// Records what is known (or why nothing is) about one tag.
    pub fn insert_tag(&mut self, repository: &str, tag: &str, facts: Result<TagFacts, String>) {
        self.repositories
            .entry(repository.to_owned())
            .or_default()
            .tag_facts
            .insert(SmolStr::new(tag), facts);
    }

    /// The facts of one repository.
    pub fn repository(&self, repository: &str) -> Option<&RepositoryFacts> {
        self.repositories.get(repository)
    }
}

/// One repository's facts, with the reason when one is missing.
pub(super) struct Lookup<'r, 'f> {
    /// The repository's normalized name, for the reasons.
    pub repository: &'r str,
    /// Its facts, if the registry layer recorded any.
    pub facts: Option<&'f RepositoryFacts>,
}

impl<'f> Lookup<'_, 'f> {
    /// The tag list, or why it is missing.
    pub fn tags(&self) -> Result<&'f TagIndex, String> {
        match self.facts.and_then(|f| f.tags.as_ref()) {
            Some(Ok(index)) => Ok(index),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err(format!("no tag list for {}", self.repository)),
        }
    }

    /// One tag's facts, or why they are missing.
    pub fn tag(&self, tag: &str) -> Result<&'f TagFacts, String> {
        match self.facts.and_then(|f| f.tag_facts.get(tag)) {
            Some(Ok(facts)) => Ok(facts),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err(format!("no digest for {}:{tag}", self.repository)),
        }
    }
}
