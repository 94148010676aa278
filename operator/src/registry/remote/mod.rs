//! The HTTP side of the OCI distribution API: tag lists (following `Link`
//! pages), manifest HEAD and GET, blob GET, with authentication (anonymous,
//! Basic, bearer-token challenges), a token bucket per registry, a global
//! concurrency cap, `Retry-After` and jittered exponential back-off, and
//! every request counted.
//!
//! This talks HTTP through reqwest (the stack oci-client uses) rather than
//! through oci-client's `Client`, because that client does not expose the
//! response headers refit must honour (`Retry-After`, `Link`) and folds 429
//! into a generic error. oci-client's manifest types parse the answers.
//! Authentication is in [`auth`], content addressing in [`digests`].

mod auth;
mod digests;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Instant, SystemTime},
};

use bytes::Bytes;
use reqwest::{Method, StatusCode, header};
use tokio::sync::Semaphore;

use self::auth::Secret;
pub use self::digests::{sha256_digest, verify};
use super::{
    backoff::{Backoff, parse_retry_after},
    credentials::DockerConfig,
    error::RegistryError,
    limiter::TokenBucket,
    settings::Settings,
    stats::{RegistryStats, RequestKind, RequestOutcome},
};
use crate::{
    core::reference::{DOCKER_HUB, Digest},
    lock::Lock,
};

/// Media types refit accepts for manifests, indexes first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// Tags per page asked for (registries may ignore it).
const PAGE_SIZE: usize = 1000;
/// Most pages followed for one tag list (10 million tags at 1,000 a page is
/// far beyond any real repository; the cap only stops a registry that
/// links in a loop).
const MAX_PAGES: usize = 10_000;
/// Largest manifest or config refit reads.
const MAX_DOCUMENT_BYTES: usize = 8 << 20;

/// What a manifest HEAD (or GET) says about a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// `Docker-Content-Digest`.
    pub digest: Digest,
    /// `Content-Type`.
    pub media_type: String,
}

/// A manifest or blob, checked against its digest.
#[derive(Debug, Clone)]
pub struct Document {
    /// The bytes.
    pub bytes: Bytes,
    /// The media type the registry gave.
    pub media_type: String,
}

/// The distribution API of remote registries.
#[derive(Debug)]
pub struct Remote {
    http: reqwest::Client,
    settings: Arc<Settings>,
    credentials: DockerConfig,
    stats: Arc<RegistryStats>,
    buckets: Mutex<HashMap<String, TokenBucket>>,
    permits: Semaphore,
    /// (host, scope) → (token, expiry). Never logged.
    tokens: Mutex<HashMap<(String, String), (Secret, Instant)>>,
    /// Hosts that asked for Basic authentication.
    basic_hosts: Mutex<Vec<String>>,
    /// Host → the instant its last `Retry-After` ends: every request to
    /// the host waits for it, not only the one that was told.
    not_before: Mutex<HashMap<String, Instant>>,
    backoff: Backoff,
}

/// One request to send.
struct Request<'a> {
    host: &'a str,
    repository: &'a str,
    kind: RequestKind,
    method: Method,
    /// Path and query after the host, starting with `/v2/`.
    path: String,
    accept: Option<&'a str>,
}

impl Remote {
    /// A transport with these settings and credentials.
    pub fn new(
        settings: Arc<Settings>,
        credentials: DockerConfig,
        stats: Arc<RegistryStats>,
    ) -> Result<Remote, RegistryError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("refit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| RegistryError::Protocol {
                registry: "(all)".into(),
                message: format!("cannot build the HTTP client: {error}"),
            })?;
        let backoff = Backoff {
            max_retries: settings.retries,
            ..Backoff::default()
        };
        let permits = Semaphore::new(settings.max_concurrent.max(1));
        Ok(Remote {
            http,
            settings,
            credentials,
            stats,
            buckets: Mutex::new(HashMap::new()),
            permits,
            tokens: Mutex::new(HashMap::new()),
            basic_hosts: Mutex::new(Vec::new()),
            not_before: Mutex::new(HashMap::new()),
            backoff,
        })
    }

    /// The hosts to ask for a registry's repositories: its mirrors first.
    pub fn hosts_for(&self, registry: &str) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .settings
            .registry(registry)
            .map(|r| r.mirrors.clone())
            .unwrap_or_default();
        hosts.push(registry.to_owned());
        hosts
    }

    /// Every tag of a repository, following `Link` pages.
    pub async fn list_tags(&self, host: &str, repository: &str) -> Result<Vec<String>, RegistryError> {
        let mut tags = Vec::new();
        let mut path = format!("/v2/{repository}/tags/list?n={PAGE_SIZE}");
        let mut followed = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            if !followed.insert(path.clone()) {
                return Err(RegistryError::Protocol {
                    registry: host.to_owned(),
                    message: format!("the tag list of {repository} links back to a page already read"),
                });
            }
            let request = Request {
                host,
                repository,
                kind: RequestKind::TagList,
                method: Method::GET,
                path: path.clone(),
                accept: Some("application/json"),
            };
            let response = self.send(&request).await?;
            let next = response
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = self.body(host, response, &format!("tag list of {repository}")).await?;
            #[derive(serde::Deserialize)]
            struct Page {
                tags: Option<Vec<String>>,
            }
            let page: Page = serde_json::from_slice(&body).map_err(|error| RegistryError::Protocol {
                registry: host.to_owned(),
                message: format!("the tag list of {repository} is not JSON: {error}"),
            })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(link) => path = link,
                None => break,
            }
        }
        tags.sort_unstable();
        tags.dedup();
        Ok(tags)
    }

    /// What a tag (or digest) points at now: one HEAD, or a GET when the
    /// registry does not give `Docker-Content-Digest` on HEAD.
    pub async fn head_manifest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
    ) -> Result<Descriptor, RegistryError> {
        let request = Request {
            host,
            repository,
            kind: RequestKind::ManifestHead,
            method: Method::HEAD,
            path: format!("/v2/{repository}/manifests/{reference}"),
            accept: Some(MANIFEST_ACCEPT),
        };
        let response = self.send(&request).await?;
        let what = format!("{repository}:{reference}");
        let response = self.check(host, response, &what)?;
        let media_type = content_type(&response);
        if let Some(digest) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok())
        {
            return Ok(Descriptor { digest, media_type });
        }
        let document = self.get_manifest(host, repository, reference, None).await?;
        let digest = sha256_digest(&document.bytes)?;
        Ok(Descriptor {
            digest,
            media_type: document.media_type,
        })
    }

    /// A manifest or index; when `expected` is given, the bytes must hash
    /// to it.
    pub async fn get_manifest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<Document, RegistryError> {
        let request = Request {
            host,
            repository,
            kind: RequestKind::ManifestGet,
            method: Method::GET,
            path: format!("/v2/{repository}/manifests/{reference}"),
            accept: Some(MANIFEST_ACCEPT),
        };
        let response = self.send(&request).await?;
        let media_type = content_type(&response);
        let bytes = self.body(host, response, &format!("{repository}@{reference}")).await?;
        verify(host, &bytes, expected)?;
        Ok(Document { bytes, media_type })
    }

    /// A blob (an image config), checked against its digest.
    pub async fn get_blob(&self, host: &str, repository: &str, digest: &Digest) -> Result<Document, RegistryError> {
        let request = Request {
            host,
            repository,
            kind: RequestKind::BlobGet,
            method: Method::GET,
            path: format!("/v2/{repository}/blobs/{digest}"),
            accept: None,
        };
        let response = self.send(&request).await?;
        let media_type = content_type(&response);
        let bytes = self.body(host, response, &format!("{repository}@{digest}")).await?;
        verify(host, &bytes, Some(digest))?;
        Ok(Document { bytes, media_type })
    }

    /// Sends a request with rate limiting, authentication and retries.
    /// Returns the response for any status other than 401, 429 and 503.
    async fn send(&self, request: &Request<'_>) -> Result<reqwest::Response, RegistryError> {
        let host = request.host;
        let scope = format!("repository:{}:pull", request.repository);
        let mut authenticated_once = false;
        let mut retry = 0;
        loop {
            self.wait_for_budget(host).await;
            let response = {
                let _permit = self.permits.acquire().await.map_err(|_| RegistryError::Unreachable {
                    registry: host.to_owned(),
                    reason: "the resolver is shutting down".into(),
                })?;
                let mut builder = self.http.request(
                    request.method.clone(),
                    format!("{}{}", self.base_url(host), request.path),
                );
                if let Some(accept) = request.accept {
                    builder = builder.header(header::ACCEPT, accept);
                }
                if let Some(value) = self.authorization(host, &scope) {
                    builder = builder.header(header::AUTHORIZATION, value);
                }
                builder.send().await
            };
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    let reason = describe_transport_error(&error);
                    self.stats
                        .record(host, request.kind, RequestOutcome::Error, Some(&reason));
                    match self.backoff.wait(retry, None, fastrand::f64()) {
                        Some(wait) if retry < self.backoff.max_retries => {
                            retry += 1;
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        _ => {
                            return Err(RegistryError::Unreachable {
                                registry: host.to_owned(),
                                reason,
                            });
                        }
                    }
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !authenticated_once {
                self.stats
                    .record(host, request.kind, RequestOutcome::Unauthorized, None);
                authenticated_once = true;
                let challenge = response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if self.answer_challenge(host, &scope, challenge.as_deref()).await? {
                    continue;
                }
                return Err(RegistryError::Unauthorized {
                    registry: host.to_owned(),
                    repository: request.repository.to_owned(),
                });
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                self.stats
                    .record(host, request.kind, RequestOutcome::Unauthorized, None);
                return Err(RegistryError::Unauthorized {
                    registry: host.to_owned(),
                    repository: request.repository.to_owned(),
                });
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                if let Some(wait) = retry_after
                    && wait <= self.backoff.max_wait
                {
                    self.not_before.locked().insert(host.to_owned(), Instant::now() + wait);
                }
                let message = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default());
                self.stats
                    .record(host, request.kind, RequestOutcome::RateLimited, Some(&message));
                match self.backoff.wait(retry, retry_after, fastrand::f64()) {
                    Some(wait) if retry < self.backoff.max_retries => {
                        retry += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    _ => {
                        return Err(RegistryError::RateLimited {
                            registry: host.to_owned(),
                            retry_after,
                        });
                    }
                }
            }
            let outcome = match status {
                s if s.is_success() => RequestOutcome::Ok,
                StatusCode::NOT_FOUND => RequestOutcome::NotFound,
                _ => RequestOutcome::Error,
            };
            let message = (outcome == RequestOutcome::Error).then(|| status.to_string());
            self.stats.record(host, request.kind, outcome, message.as_deref());
            return Ok(response);
        }
    }

    /// `https://host`, `http://host` for registries marked insecure, and
    /// Docker Hub's API host for `docker.io`.
    fn base_url(&self, host: &str) -> String {
        let scheme = if self.settings.is_insecure(host) {
            "http"
        } else {
            "https"
        };
        let api_host = if host == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            host
        };
        format!("{scheme}://{api_host}")
    }

    async fn wait_for_budget(&self, host: &str) {
        let blocked = self.not_before.locked().get(host).copied();
        if let Some(until) = blocked {
            let now = Instant::now();
            if until > now {
                tokio::time::sleep(until - now).await;
            }
        }
        let limit = self.settings.rate_limit(host);
        let wait = self
            .buckets
            .locked()
            .entry(host.to_owned())
            .or_insert_with(|| TokenBucket::new(limit.requests_per_second, limit.burst, Instant::now()))
            .take(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn check(&self, host: &str, response: reqwest::Response, what: &str) -> Result<reqwest::Response, RegistryError> {
        match response.status() {
            s if s.is_success() => Ok(response),
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound {
                registry: host.to_owned(),
                what: what.to_owned(),
            }),
            status => Err(RegistryError::Protocol {
                registry: host.to_owned(),
                message: format!("{status} for {what}"),
            }),
        }
    }

    async fn body(&self, host: &str, response: reqwest::Response, what: &str) -> Result<Bytes, RegistryError> {
        let response = self.check(host, response, what)?;
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(RegistryError::Protocol {
                registry: host.to_owned(),
                message: format!("{what} is larger than {MAX_DOCUMENT_BYTES} bytes"),
            });
        }
        // Read chunk by chunk: a response without Content-Length must not
        // be buffered whole before its size is known.
        let mut response = response;
        let mut bytes = bytes::BytesMut::new();
        loop {
            let chunk = response.chunk().await.map_err(|error| RegistryError::Unreachable {
                registry: host.to_owned(),
                reason: describe_transport_error(&error),
            })?;
            let Some(chunk) = chunk else { break };
            if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(RegistryError::Protocol {
                    registry: host.to_owned(),
                    message: format!("{what} is larger than {MAX_DOCUMENT_BYTES} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes.freeze())
    }
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
        .unwrap_or_default()
}

/// reqwest's errors can carry the URL; the URL never holds credentials in
/// refit (they go in headers), but say only what kind of failure it was.
pub(crate) fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "connection failed".into()
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off".into()
    } else {
        "request failed".into()
    }
}

/// The `rel="next"` target of a `Link` header, as a path with query.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        if !is_next {
            return None;
        }
        // Only the path and query are kept, and only a distribution API
        // path: refit stays on the registry it asked (a target such as
        // `@other.host/…` must never become part of the authority).
        let path = match reqwest::Url::parse(target) {
            Ok(url) => format!(
                "{}{}",
                url.path(),
                url.query().map(|q| format!("?{q}")).unwrap_or_default()
            ),
            Err(_) => target.to_owned(),
        };
        path.starts_with("/v2/").then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_found_in_the_link_header() {
        assert_eq!(
            next_link(r#"</v2/library/node/tags/list?last=22.1.0&n=1000>; rel="next""#).as_deref(),
            Some("/v2/library/node/tags/list?last=22.1.0&n=1000")
        );
        assert_eq!(
            next_link(r#"<https://ghcr.io/v2/acme/app/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/acme/app/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</v2/x/tags/list?last=a>; rel="prev""#), None);
    }

    #[test]
    fn a_next_link_cannot_move_refit_to_another_host() {
        assert_eq!(next_link(r#"<@evil.example/v2/x/tags/list>; rel="next""#), None);
        assert_eq!(next_link(r#"<tags/list?last=a>; rel="next""#), None);
        assert_eq!(
            next_link(r#"<https://evil.example/v2/x/tags/list?last=a>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?last=a"),
            "an absolute URL keeps only its path, on the registry refit asked"
        );
    }
}
