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

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use base64::Engine as _;
use bytes::Bytes;
use reqwest::{Method, StatusCode, header};
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;

use super::{
    backoff::{Backoff, parse_retry_after},
    credentials::{Credential, DockerConfig},
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

/// A token; `Debug` does not show it.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
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

    /// The `Authorization` header for a request, if refit has something to
    /// send.
    fn authorization(&self, host: &str, scope: &str) -> Option<String> {
        let token = self
            .tokens
            .locked()
            .get(&(host.to_owned(), scope.to_owned()))
            .filter(|(_, expiry)| *expiry > Instant::now())
            .map(|(token, _)| token.clone());
        if let Some(Secret(token)) = token {
            return Some(format!("Bearer {token}"));
        }
        let basic = self.basic_hosts.locked().iter().any(|h| h == host);
        match (basic, self.credentials.lookup(host)) {
            (true, Some(Credential::Basic { username, password })) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        }
    }

    /// Answers a 401's challenge. Returns whether retrying can help.
    async fn answer_challenge(&self, host: &str, scope: &str, challenge: Option<&str>) -> Result<bool, RegistryError> {
        let Some(challenge) = challenge else { return Ok(false) };
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            let has_credentials = matches!(self.credentials.lookup(host), Some(Credential::Basic { .. }));
            if has_credentials {
                let mut hosts = self.basic_hosts.locked();
                if !hosts.iter().any(|h| h == host) {
                    hosts.push(host.to_owned());
                }
            }
            return Ok(has_credentials);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(false);
        }
        let Some(realm) = params.get("realm") else {
            return Ok(false);
        };
        let mut url = reqwest::Url::parse(realm).map_err(|_| RegistryError::Protocol {
            registry: host.to_owned(),
            message: format!("the token realm `{realm}` is not a URL"),
        })?;
        // A registry must not send refit's credentials to a plain-HTTP
        // token service unless the registry itself is explicitly insecure.
        if url.scheme() != "https" && !self.settings.is_insecure(host) {
            return Err(RegistryError::Protocol {
                registry: host.to_owned(),
                message: format!(
                    "the token service {} is not HTTPS; refusing to authenticate",
                    url.origin().ascii_serialization()
                ),
            });
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                query.append_pair("service", service);
            }
            query.append_pair("scope", params.get("scope").map_or(scope, String::as_str));
        }
        self.wait_for_budget(host).await;
        let mut builder = self.http.get(url);
        match self.credentials.lookup(host) {
            Some(Credential::Basic { username, password }) => builder = builder.basic_auth(username, Some(password)),
            Some(Credential::IdentityToken(_)) | None => {}
        }
        let response = builder.send().await.map_err(|error| {
            let reason = describe_transport_error(&error);
            self.stats
                .record(host, RequestKind::Token, RequestOutcome::Error, Some(&reason));
            RegistryError::Unreachable {
                registry: host.to_owned(),
                reason: format!("token service: {reason}"),
            }
        })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            self.stats
                .record(host, RequestKind::Token, RequestOutcome::Unauthorized, None);
            return Ok(false);
        }
        if !status.is_success() {
            // A token service that is down or throttling is not a
            // credentials problem: say what happened.
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS;
            let outcome = if rate_limited {
                RequestOutcome::RateLimited
            } else {
                RequestOutcome::Error
            };
            self.stats
                .record(host, RequestKind::Token, outcome, Some(&status.to_string()));
            return Err(if rate_limited {
                RegistryError::RateLimited {
                    registry: host.to_owned(),
                    retry_after: None,
                }
            } else {
                RegistryError::Unreachable {
                    registry: host.to_owned(),
                    reason: format!("token service answered {status}"),
                }
            });
        }
        self.stats.record(host, RequestKind::Token, RequestOutcome::Ok, None);
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let bytes = response.bytes().await.map_err(|error| RegistryError::Unreachable {
            registry: host.to_owned(),
            reason: format!("token service: {}", describe_transport_error(&error)),
        })?;
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|_| RegistryError::Protocol {
            registry: host.to_owned(),
            message: "the token service's answer is not JSON".into(),
        })?;
        let Some(token) = answer.token.or(answer.access_token) else {
            return Ok(false);
        };
        // Tokens default to 60 s (the distribution spec's minimum); renew a
        // little early.
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(60).saturating_sub(5).max(1));
        self.tokens.locked().insert(
            (host.to_owned(), scope.to_owned()),
            (Secret(token), Instant::now() + lifetime),
        );
        Ok(true)
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

/// The sha256 digest of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> Result<Digest, RegistryError> {
    digest_of(bytes, crate::core::reference::DigestAlgorithm::Sha256)
}

/// The digest of some bytes with the given algorithm.
pub fn digest_of(bytes: &[u8], algorithm: crate::core::reference::DigestAlgorithm) -> Result<Digest, RegistryError> {
    let (name, hash): (&str, Vec<u8>) = match algorithm {
        crate::core::reference::DigestAlgorithm::Sha256 => ("sha256", Sha256::digest(bytes).to_vec()),
        crate::core::reference::DigestAlgorithm::Sha512 => ("sha512", sha2::Sha512::digest(bytes).to_vec()),
    };
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    Digest::parse(&format!("{name}:{hex}")).map_err(|error| RegistryError::Protocol {
        registry: "(local)".into(),
        message: error.to_string(),
    })
}

/// Content is cached by its digest for good, so it must hash to it.
pub fn verify(host: &str, bytes: &[u8], expected: Option<&Digest>) -> Result<(), RegistryError> {
    let Some(expected) = expected else { return Ok(()) };
    let actual = digest_of(bytes, expected.algorithm())?;
    if &actual != expected {
        return Err(RegistryError::Protocol {
            registry: host.to_owned(),
            message: format!("content for {expected} hashes to {actual}"),
        });
    }
    Ok(())
}

/// reqwest's errors can carry the URL; the URL never holds credentials in
/// refit (they go in headers), but say only what kind of failure it was.
fn describe_transport_error(error: &reqwest::Error) -> String {
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

/// `Bearer realm="…",service="…",scope="…"` → ("Bearer", params).
pub fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.insert(key, value.to_owned());
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_owned(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read_as_registries_send_them() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(params["realm"], "https://auth.docker.io/token");
        assert_eq!(params["service"], "registry.docker.io");
        assert_eq!(params["scope"], "repository:library/nginx:pull");
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(params["realm"], "Registry Realm");
    }

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

    #[test]
    fn sha512_content_is_checked_too() {
        let digest = digest_of(b"{}", crate::core::reference::DigestAlgorithm::Sha512).expect("digest");
        assert!(digest.to_string().starts_with("sha512:"));
        assert!(verify("ghcr.io", b"{}", Some(&digest)).is_ok());
        assert!(verify("ghcr.io", b"{ }", Some(&digest)).is_err());
    }

    #[test]
    fn content_is_checked_against_its_digest() {
        let digest = sha256_digest(b"{}").expect("digest");
        assert!(verify("ghcr.io", b"{}", Some(&digest)).is_ok());
        let error = verify("ghcr.io", b"{ }", Some(&digest)).expect_err("tampered");
        assert!(
            error
                .to_string()
                .starts_with("registry ghcr.io: content for sha256:44136fa355b3")
        );
    }
}
