//! The resolver: registry answers with caching and single-flight, over a
//! remote registry or an OCI layout tree.
//!
//! - Tag lists are cached per repository for `tagListTtl`; what a tag
//!   points at for `digestTtl` (so each scan asks once, with a HEAD).
//! - Manifests, indexes and configs are addressed by digest and never
//!   change: they are cached in an LRU bounded by `contentCacheBytes`, so an
//!   unchanged tag costs one HEAD and no GET.
//! - Concurrent asks for the same thing share one request.

use std::{
    collections::{BTreeMap, HashMap},
    hash::Hash,
    sync::{Arc, Mutex},
    time::Instant,
};

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use super::{
    cache::{ContentCache, TtlCache},
    credentials::DockerConfig,
    error::RegistryError,
    layout::LayoutTree,
    remote::{Descriptor, Document, Remote},
    settings::Settings,
    stats::RegistryStats,
};
use crate::{
    core::{
        drift::{BaseFacts, TagFacts},
        reference::{Digest, ImageReference},
    },
    lock::Lock,
};

/// Where answers come from.
#[derive(Debug)]
enum Source {
    Remote(Box<Remote>),
    Layout(LayoutTree),
}

/// What refit knows about one image (a manifest or an index), derived from
/// content that never changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDescription {
    /// The manifest's or index's digest.
    pub digest: Digest,
    /// For an index: its platform manifests.
    pub platform_digests: Vec<Digest>,
    /// The config digest of the representative platform (linux/amd64 when
    /// there is one).
    pub config_digest: Option<Digest>,
    /// The config's `created`.
    pub created: Option<DateTime<Utc>>,
    /// The base image's name, from annotations or labels.
    pub base_name: Option<String>,
    /// The base image's digest, from annotations or labels.
    pub base_digest: Option<Digest>,
}

/// Answers about images, shared by a whole operator or scan.
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    source: Source,
    settings: Arc<Settings>,
    stats: Arc<RegistryStats>,
    tag_lists: Mutex<TtlCache<String, Arc<Vec<String>>>>,
    digests: Mutex<TtlCache<(String, String), Descriptor>>,
    content: Mutex<ContentCache<Digest, Document>>,
    descriptions: Mutex<ContentCache<Digest, Arc<ImageDescription>>>,
    tag_flights: Flights<String, Result<Arc<Vec<String>>, RegistryError>>,
    digest_flights: Flights<(String, String), Result<Descriptor, RegistryError>>,
    /// Keyed by repository too: an error (say 401) in one repository must
    /// not be handed to a request for the same digest in another.
    content_flights: Flights<(String, Digest), Result<Document, RegistryError>>,
}

/// Single-flight: the first asker of a key runs the request, later askers
/// wait for its answer.
#[derive(Debug)]
struct Flights<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    fn new() -> Flights<K, V> {
        Flights {
            cells: Mutex::new(HashMap::new()),
        }
    }

    async fn run<F, Fut>(&self, key: K, ask: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self.cells.locked().entry(key.clone()).or_default().clone();
        let value = cell.get_or_init(ask).await.clone();
        let mut cells = self.cells.locked();
        if cells.get(&key).is_some_and(|current| Arc::ptr_eq(current, &cell)) {
            cells.remove(&key);
        }
        value
    }
}

impl Resolver {
    /// A resolver for remote registries.
    pub fn remote(settings: Settings, credentials: DockerConfig) -> Result<Resolver, RegistryError> {
        Resolver::remote_with_stats(settings, credentials, Arc::new(RegistryStats::default()))
    }

    /// A resolver for remote registries that records its requests into
    /// `stats`, shared with the resolvers it replaces: the operator builds a
    /// new resolver when the workloads' pull secrets change, and its request
    /// counts must not start again from zero.
    pub fn remote_with_stats(
        settings: Settings,
        credentials: DockerConfig,
        stats: Arc<RegistryStats>,
    ) -> Result<Resolver, RegistryError> {
        let settings = Arc::new(settings);
        let remote = Remote::new(settings.clone(), credentials, stats.clone())?;
        Ok(Resolver::with_source(Source::Remote(Box::new(remote)), settings, stats))
    }

    /// A resolver over an OCI layout tree (offline).
    pub fn layout(root: &std::path::Path, settings: Settings) -> Result<Resolver, RegistryError> {
        let tree = LayoutTree::open(root)?;
        Ok(Resolver::with_source(
            Source::Layout(tree),
            Arc::new(settings),
            Arc::new(RegistryStats::default()),
        ))
    }

    fn with_source(source: Source, settings: Arc<Settings>, stats: Arc<RegistryStats>) -> Resolver {
        let inner = Inner {
            tag_lists: Mutex::new(TtlCache::new(settings.tag_list_ttl)),
            digests: Mutex::new(TtlCache::new(settings.digest_ttl)),
            content: Mutex::new(ContentCache::new(settings.content_cache_bytes)),
            // Descriptions are small; a sixteenth of the content budget.
            descriptions: Mutex::new(ContentCache::new(settings.content_cache_bytes / 16)),
            source,
            settings,
            stats,
            tag_flights: Flights::new(),
            digest_flights: Flights::new(),
            content_flights: Flights::new(),
        };
        Resolver { inner: Arc::new(inner) }
    }

    /// Request counts and health.
    pub fn stats(&self) -> &RegistryStats {
        &self.inner.stats
    }

    /// The request counts and health, shared (see
    /// [`remote_with_stats`](Self::remote_with_stats)).
    pub fn shared_stats(&self) -> Arc<RegistryStats> {
        self.inner.stats.clone()
    }

    /// A repository's tags (`registry`, `repository` as in an
    /// [`ImageReference`]).
    pub async fn tags(&self, registry: &str, repository: &str) -> Result<Arc<Vec<String>>, RegistryError> {
        let key = format!("{registry}/{repository}");
        let cached = self.inner.tag_lists.locked().get(&key, Instant::now());
        if let Some(tags) = cached {
            return Ok(tags);
        }
        self.inner
            .tag_flights
            .run(key.clone(), || async {
                let tags = Arc::new(self.list_tags(registry, repository).await?);
                self.inner.tag_lists.locked().insert(key, tags.clone(), Instant::now());
                Ok(tags)
            })
            .await
    }

    /// What a tag points at now.
    pub async fn resolve(&self, registry: &str, repository: &str, tag: &str) -> Result<Descriptor, RegistryError> {
        let key = (format!("{registry}/{repository}"), tag.to_owned());
        let cached = self.inner.digests.locked().get(&key, Instant::now());
        if let Some(descriptor) = cached {
            return Ok(descriptor);
        }
        self.inner
            .digest_flights
            .run(key.clone(), || async {
                let descriptor = self.head(registry, repository, tag).await?;
                self.inner
                    .digests
                    .locked()
                    .insert(key, descriptor.clone(), Instant::now());
                Ok(descriptor)
            })
            .await
    }

    /// A manifest, index or config by digest (cached for good).
    async fn document(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        manifest: bool,
    ) -> Result<Document, RegistryError> {
        let cached = self.inner.content.locked().get(digest);
        if let Some(document) = cached {
            return Ok(document);
        }
        self.inner
            .content_flights
            .run((format!("{registry}/{repository}"), *digest), || async {
                let document = self.fetch(registry, repository, digest, manifest).await?;
                self.inner
                    .content
                    .locked()
                    .insert(*digest, document.clone(), document.bytes.len());
                Ok(document)
            })
            .await
    }

    /// What an image (manifest or index) says: platforms, config, created
    /// time, base image.
    pub async fn describe(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<Arc<ImageDescription>, RegistryError> {
        let cached = self.inner.descriptions.locked().get(digest);
        if let Some(description) = cached {
            return Ok(description);
        }
        let top = self.document(registry, repository, digest, true).await?;
        let top_json = parse_json(registry, &top, digest)?;
        let mut description = ImageDescription {
            digest: *digest,
            platform_digests: Vec::new(),
            config_digest: None,
            created: None,
            base_name: None,
            base_digest: None,
        };
        // Annotations and labels in the order base facts are read from
        // them: the platform manifest, the index, the config.
        let mut sources: Vec<BTreeMap<String, String>> = Vec::new();
        let image_json = if let Some(entries) = top_json.get("manifests").and_then(|m| m.as_array()) {
            let platforms: Vec<(Digest, String)> = entries.iter().filter_map(platform_entry).collect();
            description.platform_digests = platforms.iter().map(|(d, _)| *d).collect();
            let chosen = platforms
                .iter()
                .find(|(_, platform)| platform == "linux/amd64")
                .or_else(|| platforms.first())
                .map(|(d, _)| *d);
            let index_annotations = string_map(top_json.get("annotations"));
            match chosen {
                Some(chosen) => {
                    let document = self.document(registry, repository, &chosen, true).await?;
                    let json = parse_json(registry, &document, &chosen)?;
                    sources.push(string_map(json.get("annotations")));
                    sources.push(index_annotations);
                    json
                }
                None => {
                    sources.push(index_annotations);
                    serde_json::Value::Null
                }
            }
        } else {
            sources.push(string_map(top_json.get("annotations")));
            top_json
        };
        let config_digest = image_json
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(|d| d.as_str())
            .and_then(|d| Digest::parse(d).ok());
        if let Some(config_digest) = config_digest {
            description.config_digest = Some(config_digest);
            let config = self.document(registry, repository, &config_digest, false).await?;
            let json = parse_json(registry, &config, &config_digest)?;
            description.created = json
                .get("created")
                .and_then(|c| c.as_str())
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                .map(|c| c.with_timezone(&Utc));
            sources.push(string_map(json.get("config").and_then(|c| c.get("Labels"))));
        }
        let settings = &self.inner.settings;
        // Name and digest come from the same place: config labels are
        // inherited from the base's own build, so mixing a manifest's name
        // with a label's digest would pair facts of two different images.
        let has_name = |source: &BTreeMap<String, String>| {
            settings
                .base_name_keys
                .iter()
                .find_map(|key| source.get(key).filter(|v| !v.is_empty()).cloned())
        };
        if let Some((source, name)) = sources
            .iter()
            .find_map(|source| has_name(source).map(|name| (source, name)))
        {
            description.base_name = Some(name);
            description.base_digest = settings
                .base_digest_keys
                .iter()
                .find_map(|key| source.get(key))
                .and_then(|d| Digest::parse(d).ok());
        }
        let description = Arc::new(description);
        self.inner
            .descriptions
            .locked()
            .insert(*digest, description.clone(), 512);
        Ok(description)
    }

    /// Everything drift evaluation needs about a tag: its digest, platform
    /// and config digests, build time, and its base image now.
    pub async fn tag_facts(&self, registry: &str, repository: &str, tag: &str) -> Result<TagFacts, RegistryError> {
        let descriptor = self.resolve(registry, repository, tag).await?;
        let description = self.describe(registry, repository, &descriptor.digest).await?;
        let base = match &description.base_name {
            Some(name) => Some(BaseFacts {
                name: name.clone(),
                built_on: description.base_digest,
                current: self.base_current(name).await,
            }),
            None => None,
        };
        Ok(TagFacts {
            digest: Some(descriptor.digest),
            platform_digests: description.platform_digests.clone(),
            config_digests: description.config_digest.into_iter().collect(),
            created: description.created,
            base,
        })
    }

    /// What a base image's name resolves to now.
    async fn base_current(&self, name: &str) -> Result<Digest, String> {
        let reference = ImageReference::parse(name).map_err(|error| format!("base name unreadable: {error}"))?;
        let Some(tag) = reference.effective_tag() else {
            return Err("the base is named by digest, not by a tag that could move".into());
        };
        self.resolve(reference.registry(), reference.repository(), tag)
            .await
            .map(|descriptor| descriptor.digest)
            .map_err(|error| error.to_string())
    }

    async fn list_tags(&self, registry: &str, repository: &str) -> Result<Vec<String>, RegistryError> {
        match &self.inner.source {
            Source::Layout(tree) => tree.list_tags(registry, repository),
            Source::Remote(remote) => {
                let mut last_error = None;
                for host in remote.hosts_for(registry) {
                    match remote.list_tags(&host, repository).await {
                        Ok(tags) => return Ok(tags),
                        Err(error) => last_error = Some(error),
                    }
                }
                Err(last_error.unwrap_or_else(|| no_host(registry)))
            }
        }
    }

    async fn head(&self, registry: &str, repository: &str, tag: &str) -> Result<Descriptor, RegistryError> {
        match &self.inner.source {
            Source::Layout(tree) => tree.head_manifest(registry, repository, tag),
            Source::Remote(remote) => {
                let mut last_error = None;
                for host in remote.hosts_for(registry) {
                    match remote.head_manifest(&host, repository, tag).await {
                        Ok(descriptor) => return Ok(descriptor),
                        Err(error) => last_error = Some(error),
                    }
                }
                Err(last_error.unwrap_or_else(|| no_host(registry)))
            }
        }
    }

    async fn fetch(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        manifest: bool,
    ) -> Result<Document, RegistryError> {
        match &self.inner.source {
            Source::Layout(tree) => tree.blob(registry, repository, digest),
            Source::Remote(remote) => {
                let mut last_error = None;
                for host in remote.hosts_for(registry) {
                    let result = if manifest {
                        remote
                            .get_manifest(&host, repository, &digest.to_string(), Some(digest))
                            .await
                    } else {
                        remote.get_blob(&host, repository, digest).await
                    };
                    match result {
                        Ok(document) => return Ok(document),
                        Err(error) => last_error = Some(error),
                    }
                }
                Err(last_error.unwrap_or_else(|| no_host(registry)))
            }
        }
    }
}

fn no_host(registry: &str) -> RegistryError {
    RegistryError::Unreachable {
        registry: registry.to_owned(),
        reason: "no host to ask".into(),
    }
}

fn parse_json(registry: &str, document: &Document, digest: &Digest) -> Result<serde_json::Value, RegistryError> {
    serde_json::from_slice(&document.bytes).map_err(|error| RegistryError::Protocol {
        registry: registry.to_owned(),
        message: format!("{digest} is not JSON: {error}"),
    })
}

fn string_map(value: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    value
        .and_then(|v| v.as_object())
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// An index entry that is an image for a platform (not an attestation).
fn platform_entry(entry: &serde_json::Value) -> Option<(Digest, String)> {
    let digest = Digest::parse(entry.get("digest")?.as_str()?).ok()?;
    let attestation = entry
        .get("annotations")
        .and_then(|a| a.get("vnd.docker.reference.type"))
        .is_some_and(|t| t == "attestation-manifest");
    let platform = entry.get("platform");
    // An entry without a platform is still an image; one whose platform is
    // `unknown/unknown` is BuildKit's attestation.
    let os = platform
        .and_then(|p| p.get("os"))
        .and_then(|o| o.as_str())
        .unwrap_or("any");
    let architecture = platform
        .and_then(|p| p.get("architecture"))
        .and_then(|a| a.as_str())
        .unwrap_or("any");
    if attestation || os == "unknown" {
        return None;
    }
    Some((digest, format!("{os}/{architecture}")))
}
