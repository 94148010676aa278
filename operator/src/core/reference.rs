//! Image references, parsed and normalized the way container runtimes read
//! them (the grammar of `distribution/reference`, as Docker and containerd
//! use it):
//!
//! - a first path segment is a registry host when it contains `.` or `:`,
//!   is `localhost`, or has an uppercase letter; otherwise the registry is
//!   `docker.io`;
//! - registry hosts with a `.` or `:` (and `localhost`) are lowercase, and
//!   `index.docker.io` and `registry-1.docker.io` are spelled `docker.io`; a
//!   host that is one only because of its uppercase letters (`MYHOST/app`)
//!   keeps its spelling, or it would read as a Docker Hub path;
//! - a one-segment Docker Hub name gets `library/` (`nginx` is
//!   `docker.io/library/nginx`);
//! - repository paths are lowercase; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
//!   a digest is `sha256:` + 64 or `sha512:` + 128 lowercase hex digits;
//! - the name (registry and path) is at most 255 characters.
//!
//! A reference with neither tag nor digest means the tag `latest`
//! ([`ImageReference::effective_tag`]); `Display` writes the normalized form
//! and never adds what was not written, so parsing it gives the same value.

use std::{fmt, sync::Arc};

use smol_str::SmolStr;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// Other names of Docker Hub that mean the same registry.
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];
/// The tag a reference without tag or digest pulls.
pub const DEFAULT_TAG: &str = "latest";
/// Longest name (registry and repository) the grammar allows.
pub const NAME_MAX_LENGTH: usize = 255;
/// Longest tag the grammar allows.
pub const TAG_MAX_LENGTH: usize = 128;

/// A content digest: the algorithm and the hash, kept inline as bytes so
/// that digests compare and copy without allocating.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    /// The hash; the first `algorithm.length()` bytes are used.
    bytes: [u8; 64],
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// The digest algorithms the OCI image spec registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256, 64 hex digits.
    Sha256,
    /// SHA-512, 128 hex digits.
    Sha512,
}

impl DigestAlgorithm {
    fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hash in bytes.
    fn length(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    fn hex_length(self) -> usize {
        self.length() * 2
    }
}

impl Digest {
    /// Parses `sha256:<64 hex>` or `sha512:<128 hex>`.
    pub fn parse(text: &str) -> Result<Digest, ReferenceError> {
        let invalid = |why: String| ReferenceError::InvalidDigest {
            digest: text.to_owned(),
            why,
        };
        let (algorithm, hex) = match text.split_once(':') {
            Some(("sha256", hex)) => (DigestAlgorithm::Sha256, hex),
            Some(("sha512", hex)) => (DigestAlgorithm::Sha512, hex),
            Some((algorithm, _)) => {
                return Err(invalid(format!(
                    "unsupported algorithm `{algorithm}` (supported: sha256, sha512)"
                )));
            }
            None => {
                return Err(invalid(
                    "expected <algorithm>:<hex>, e.g. sha256:<64 hex digits>".into(),
                ));
            }
        };
        if hex.len() != algorithm.hex_length() {
            return Err(invalid(format!(
                "{} needs {} hex digits, found {}",
                algorithm.name(),
                algorithm.hex_length(),
                hex.len()
            )));
        }
        if let Some(bad) = hex.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
            return Err(invalid(format!("`{bad}` is not a lowercase hex digit")));
        }
        let mut bytes = [0u8; 64];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        Ok(Digest { algorithm, bytes })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The hex digits.
    pub fn hex(&self) -> String {
        let mut buffer = [0u8; 128];
        encode_hex(&self.bytes[..self.algorithm.length()], &mut buffer).to_owned()
    }

    /// The first 12 hex digits, as `docker images` shows them.
    pub fn short(&self) -> ShortDigest {
        ShortDigest(self.bytes[..6].try_into().unwrap_or_default())
    }
}

/// The value of a lowercase hex digit (already checked to be one).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'0',
    }
}

/// The first 12 hex digits of a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortDigest([u8; 6]);

impl fmt::Display for ShortDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(encode_hex(&self.0, &mut [0u8; 12]))
    }
}

/// Writes `bytes` as lowercase hex into `buffer` (twice their length) and
/// returns it as text: one write instead of a formatted write per byte,
/// which matters when every finding's reason quotes a digest.
fn encode_hex<'b>(bytes: &[u8], buffer: &'b mut [u8]) -> &'b str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let buffer = &mut buffer[..bytes.len() * 2];
    for (pair, byte) in buffer.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(buffer).unwrap_or_default()
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm.name())?;
        f.write_str(":")?;
        f.write_str(encode_hex(&self.bytes[..self.algorithm.length()], &mut [0u8; 128]))
    }
}

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageReference {
    // `registry/repository` in one shared string, because a scan copies the
    // same references into many findings: a copy is then one reference
    // count, not a new string.
    name: Arc<str>,
    /// Where the registry ends in `name` (the `/` after it).
    registry_length: usize,
    // Tags are short (`1.25.3-alpine3.20`): kept inline up to 23 bytes,
    // they cost no allocation when a scan judges an image or names its
    // candidate.
    tag: Option<SmolStr>,
    digest: Option<Digest>,
}

impl Ord for ImageReference {
    /// By registry, repository, tag, digest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.registry(), self.repository(), &self.tag, &self.digest).cmp(&(
            other.registry(),
            other.repository(),
            &other.tag,
            &other.digest,
        ))
    }
}

impl PartialOrd for ImageReference {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Why an image reference was not understood. Every message quotes the
/// reference and says which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Nothing to parse.
    #[error("an image reference cannot be empty")]
    Empty,
    /// The name (registry and repository) is longer than the grammar allows.
    #[error("image `{reference}`: the name is {length} characters long; at most {NAME_MAX_LENGTH} are allowed")]
    NameTooLong {
        /// The reference as given.
        reference: String,
        /// The name's length.
        length: usize,
    },
    /// The registry host or port is malformed.
    #[error("image `{reference}`: registry `{registry}` is invalid: {why}")]
    InvalidRegistry {
        /// The reference as given.
        reference: String,
        /// The registry part.
        registry: String,
        /// What is wrong.
        why: String,
    },
    /// A repository path segment is malformed.
    #[error("image `{reference}`: repository path segment `{segment}` is invalid: {why}")]
    InvalidRepository {
        /// The reference as given.
        reference: String,
        /// The offending segment.
        segment: String,
        /// What is wrong.
        why: String,
    },
    /// The tag is malformed.
    #[error("image `{reference}`: tag `{tag}` is invalid: {why}")]
    InvalidTag {
        /// The reference as given.
        reference: String,
        /// The tag part.
        tag: String,
        /// What is wrong.
        why: String,
    },
    /// The digest is malformed.
    #[error("digest `{digest}` is invalid: {why}")]
    InvalidDigest {
        /// The digest part.
        digest: String,
        /// What is wrong.
        why: String,
    },
}

impl ImageReference {
    /// Parses and normalizes a reference as written in a pod spec.
    pub fn parse(reference: &str) -> Result<ImageReference, ReferenceError> {
        if reference.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match reference.find('@') {
            Some(at) => (&reference[..at], Some(Digest::parse(&reference[at + 1..])?)),
            None => (reference, None),
        };
        // A tag is what follows the last `:` after the last `/`; a `:` before
        // that belongs to a registry port (`localhost:5000/app`).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => (&rest[..last_slash + colon], Some(&rest[last_slash + colon + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            validate_tag(reference, tag)?;
        }
        if name.len() > NAME_MAX_LENGTH {
            return Err(ReferenceError::NameTooLong {
                reference: reference.to_owned(),
                length: name.len(),
            });
        }
        let (registry, path) = split_registry(name);
        if let Some(host) = registry {
            validate_registry(reference, host)?;
        }
        validate_path(reference, path)?;
        let (normalized, registry_length) = normalized_name(name, registry, path);
        if normalized.len() > NAME_MAX_LENGTH {
            return Err(ReferenceError::NameTooLong {
                reference: reference.to_owned(),
                length: normalized.len(),
            });
        }
        Ok(ImageReference {
            name: normalized,
            registry_length,
            tag: tag.map(SmolStr::new),
            digest,
        })
    }

    /// The registry host (with port), e.g. `docker.io`, `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.name[..self.registry_length]
    }

    /// The repository path, e.g. `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.name[self.registry_length + 1..]
    }

    /// The tag as written, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest as written, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The tag a runtime pulls: the written tag, `latest` when neither tag
    /// nor digest is written, and none for a digest-only reference.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }

    /// `registry/repository`, e.g. `docker.io/library/nginx`: what policies
    /// match and what registry lookups are keyed by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same repository with another tag and digest.
    pub fn with_tag_and_digest(&self, tag: Option<&str>, digest: Option<Digest>) -> ImageReference {
        ImageReference {
            name: self.name.clone(),
            registry_length: self.registry_length,
            tag: tag.map(SmolStr::new),
            digest,
        }
    }

    /// The same image with its effective tag written out (`latest` when
    /// none was) and the given digest: what a container runs, pinned.
    pub fn pinned(&self, digest: Option<Digest>) -> ImageReference {
        let tag = match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag.clone()),
            (None, None) => Some(SmolStr::new_static(DEFAULT_TAG)),
            (None, Some(_)) => None,
        };
        ImageReference {
            name: self.name.clone(),
            registry_length: self.registry_length,
            tag,
            digest,
        }
    }

    /// The last path segment (`nginx` for `docker.io/library/nginx`), as
    /// people name an image in a sentence.
    pub fn short_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageReference::parse(s)
    }
}

/// The normalized `registry/repository` and where its registry ends.
fn normalized_name(name: &str, registry: Option<&str>, path: &str) -> (Arc<str>, usize) {
    let mut normalized = String::with_capacity(name.len() + DOCKER_HUB.len() + "/library".len() + 1);
    match registry {
        Some(host) => {
            // Host names are case-insensitive; one spelling keeps lookups
            // (settings, credentials, caches) consistent. A host recognised
            // only by its uppercase letters keeps them: lowercased,
            // `MYHOST/app` would print as a Docker Hub path.
            let recognisable_lowercased =
                host.bytes().any(|b| matches!(b, b'.' | b':')) || host.eq_ignore_ascii_case("localhost");
            normalized.push_str(host);
            if recognisable_lowercased {
                normalized.make_ascii_lowercase();
            }
            if DOCKER_HUB_ALIASES.contains(&normalized.as_str()) {
                normalized.clear();
                normalized.push_str(DOCKER_HUB);
            }
        }
        None => normalized.push_str(DOCKER_HUB),
    }
    let registry_length = normalized.len();
    normalized.push('/');
    if normalized[..registry_length] == *DOCKER_HUB && !path.contains('/') {
        normalized.push_str("library/");
    }
    normalized.push_str(path);
    (normalized.into(), registry_length)
}

/// Splits off the registry as Docker does: the first segment is a host when
/// it looks like one (`.` or `:`, `localhost`, or an uppercase letter, which
/// a repository path cannot have).
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first == "localhost"
                || first
                    .bytes()
                    .any(|b| matches!(b, b'.' | b':') || b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn validate_registry(reference: &str, registry: &str) -> Result<(), ReferenceError> {
    let invalid = |why: String| ReferenceError::InvalidRegistry {
        reference: reference.to_owned(),
        registry: registry.to_owned(),
        why,
    };
    let (host, port) = if let Some(bracketed) = registry.strip_prefix('[') {
        // An IPv6 literal: `[::1]:5000`.
        let (address, after) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid("unclosed `[`".into()))?;
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Err(invalid(format!("`{address}` is not an IPv6 address")));
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(invalid("expected `:<port>` after the IPv6 address".into())),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        if host.is_empty() {
            return Err(invalid("the host is empty".into()));
        }
        for label in host.split('.') {
            let valid = !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !valid {
                return Err(invalid(format!(
                    "host label `{label}` must be letters, digits and inner hyphens"
                )));
            }
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err())
    {
        return Err(invalid(format!("port `{port}` is not a number from 0 to 65535")));
    }
    Ok(())
}

fn validate_path(reference: &str, path: &str) -> Result<(), ReferenceError> {
    for segment in path.split('/') {
        let invalid = |why: &str| ReferenceError::InvalidRepository {
            reference: reference.to_owned(),
            segment: segment.to_owned(),
            why: why.to_owned(),
        };
        if segment.is_empty() {
            return Err(invalid("segments cannot be empty (no leading, trailing or double `/`)"));
        }
        if valid_path_segment(segment) {
            continue;
        }
        // Invalid either way: name capitals, the likelier mistake, first.
        return Err(invalid(if segment.bytes().any(|b| b.is_ascii_uppercase()) {
            "repository names must be lowercase"
        } else {
            "use lowercase letters and digits, separated by `.`, `_`, `__` or hyphens, starting and ending with a letter or digit"
        }));
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let mut expect_alnum = true;
    while i < bytes.len() {
        if expect_alnum {
            if !is_alnum(bytes[i]) {
                return false;
            }
            while i < bytes.len() && is_alnum(bytes[i]) {
                i += 1;
            }
            expect_alnum = false;
        } else {
            let separator_length = match bytes[i] {
                b'.' => 1,
                b'_' if bytes.get(i + 1) == Some(&b'_') => 2,
                b'_' => 1,
                b'-' => bytes[i..].iter().take_while(|&&b| b == b'-').count(),
                _ => return false,
            };
            i += separator_length;
            expect_alnum = true;
        }
    }
    !expect_alnum
}

fn validate_tag(reference: &str, tag: &str) -> Result<(), ReferenceError> {
    let invalid = |why: String| ReferenceError::InvalidTag {
        reference: reference.to_owned(),
        tag: tag.to_owned(),
        why,
    };
    let Some(&first) = tag.as_bytes().first() else {
        return Err(invalid("a tag cannot be empty (remove the trailing `:`)".into()));
    };
    if tag.len() > TAG_MAX_LENGTH {
        return Err(invalid(format!(
            "{} characters; at most {TAG_MAX_LENGTH} are allowed",
            tag.len()
        )));
    }
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return Err(invalid("a tag must start with a letter, digit or `_`".into()));
    }
    // Bytes, not chars: every allowed character is ASCII, so any byte of a
    // multibyte character fails the test; the character is found for the
    // message only then.
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    if !tag.bytes().all(allowed) {
        let bad = tag.chars().find(|&c| !c.is_ascii() || !allowed(c as u8)).unwrap_or('?');
        return Err(invalid(format!(
            "`{bad}` is not allowed in a tag (letters, digits, `_`, `.` and `-` are)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NGINX_DIGEST: &str = "sha256:04f1d36c34bb6d8740e2d58250e885c5ae1d4ad791e0a585122e6d7486e6a1cf";

    fn normalized(reference: &str) -> String {
        ImageReference::parse(reference)
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn docker_hub_names_are_normalized_as_runtimes_do() {
        for (written, expected) in [
            ("nginx", "docker.io/library/nginx"),
            ("nginx:1.25.3-alpine", "docker.io/library/nginx:1.25.3-alpine"),
            ("library/nginx:1.25", "docker.io/library/nginx:1.25"),
            ("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2"),
            ("docker.io/nginx", "docker.io/library/nginx"),
            ("index.docker.io/library/nginx:latest", "docker.io/library/nginx:latest"),
            ("registry-1.docker.io/nginx:1.27", "docker.io/library/nginx:1.27"),
            ("index.docker.io/bitnami/redis", "docker.io/bitnami/redis"),
        ] {
            assert_eq!(normalized(written), expected, "{written}");
        }
    }

    #[test]
    fn other_registries_keep_their_paths() {
        for (written, expected) in [
            ("ghcr.io/acme/storefront:2.14.1", "ghcr.io/acme/storefront:2.14.1"),
            ("localhost:5000/team/app:v1.2.3", "localhost:5000/team/app:v1.2.3"),
            ("localhost/app", "localhost/app"),
            ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:2024.10.1",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:2024.10.1",
            ),
            ("[::1]:5000/app:1.0", "[::1]:5000/app:1.0"),
            (
                "quay.io/prometheus/node-exporter:v1.8.2",
                "quay.io/prometheus/node-exporter:v1.8.2",
            ),
            ("Registry.Example/app", "registry.example/app"),
            ("LOCALHOST/app", "localhost/app"),
            // A registry only because of its capitals: lowercased, it would
            // be read back as docker.io/myhost/app.
            ("MYHOST/team/app:1.0", "MYHOST/team/app:1.0"),
            ("A/0", "A/0"),
        ] {
            assert_eq!(normalized(written), expected, "{written}");
        }
    }

    #[test]
    fn a_single_segment_name_on_another_registry_gets_no_library_prefix() {
        let reference = ImageReference::parse("localhost:5000/app").expect("valid");
        assert_eq!(reference.repository(), "app");
        assert_eq!(reference.registry(), "localhost:5000");
    }

    #[test]
    fn tag_and_digest_can_be_written_together() {
        let reference = ImageReference::parse(&format!("nginx:1.25.3-alpine@{NGINX_DIGEST}")).expect("valid");
        assert_eq!(reference.tag(), Some("1.25.3-alpine"));
        assert_eq!(
            reference.digest().map(ToString::to_string).as_deref(),
            Some(NGINX_DIGEST)
        );
        assert_eq!(
            reference.to_string(),
            format!("docker.io/library/nginx:1.25.3-alpine@{NGINX_DIGEST}")
        );
    }

    #[test]
    fn the_effective_tag_is_latest_only_when_nothing_is_written() {
        assert_eq!(
            ImageReference::parse("nginx").expect("valid").effective_tag(),
            Some("latest")
        );
        assert_eq!(
            ImageReference::parse("nginx:1.27").expect("valid").effective_tag(),
            Some("1.27")
        );
        let by_digest = ImageReference::parse(&format!("nginx@{NGINX_DIGEST}")).expect("valid");
        assert_eq!(by_digest.effective_tag(), None);
        assert_eq!(by_digest.to_string(), format!("docker.io/library/nginx@{NGINX_DIGEST}"));
    }

    #[test]
    fn errors_say_which_part_is_wrong_and_why() {
        for (written, message) in [
            ("", "an image reference cannot be empty"),
            (
                "Nginx:1.25",
                "image `Nginx:1.25`: repository path segment `Nginx` is invalid: repository names must be lowercase",
            ),
            (
                "ghcr.io/Acme/app",
                "image `ghcr.io/Acme/app`: repository path segment `Acme` is invalid: repository names must be lowercase",
            ),
            (
                "nginx:",
                "image `nginx:`: tag `` is invalid: a tag cannot be empty (remove the trailing `:`)",
            ),
            (
                "nginx:-alpine",
                "image `nginx:-alpine`: tag `-alpine` is invalid: a tag must start with a letter, digit or `_`",
            ),
            (
                "nginx:1.2.3+build.5",
                "image `nginx:1.2.3+build.5`: tag `1.2.3+build.5` is invalid: `+` is not allowed in a tag (letters, digits, `_`, `.` and `-` are)",
            ),
            (
                "nginx@sha256:abc",
                "digest `sha256:abc` is invalid: sha256 needs 64 hex digits, found 3",
            ),
            (
                "nginx@md5:d41d8cd98f00b204e9800998ecf8427e",
                "digest `md5:d41d8cd98f00b204e9800998ecf8427e` is invalid: unsupported algorithm `md5` (supported: sha256, sha512)",
            ),
            (
                "nginx@sha256:04F1D36C34BB6D8740E2D58250E885C5AE1D4AD791E0A585122E6D7486E6A1CF",
                "digest `sha256:04F1D36C34BB6D8740E2D58250E885C5AE1D4AD791E0A585122E6D7486E6A1CF` is invalid: `F` is not a lowercase hex digit",
            ),
            (
                "localhost:http/app",
                "image `localhost:http/app`: registry `localhost:http` is invalid: port `http` is not a number from 0 to 65535",
            ),
            (
                "my_registry.io/app",
                "image `my_registry.io/app`: registry `my_registry.io` is invalid: host label `my_registry` must be letters, digits and inner hyphens",
            ),
            (
                "team//app",
                "image `team//app`: repository path segment `` is invalid: segments cannot be empty (no leading, trailing or double `/`)",
            ),
            (
                "team/app-",
                "image `team/app-`: repository path segment `app-` is invalid: use lowercase letters and digits, separated by `.`, `_`, `__` or hyphens, starting and ending with a letter or digit",
            ),
        ] {
            assert_eq!(normalized(written), format!("error: {message}"), "{written}");
        }
    }

    #[test]
    fn length_limits_apply_to_name_and_tag() {
        let long_name = format!("ghcr.io/acme/{}", "a".repeat(250));
        assert!(matches!(
            ImageReference::parse(&long_name),
            Err(ReferenceError::NameTooLong { .. })
        ));
        // `library/` is added for Docker Hub and counts too.
        let almost = "a".repeat(NAME_MAX_LENGTH - DOCKER_HUB.len() - 1);
        assert!(matches!(
            ImageReference::parse(&almost),
            Err(ReferenceError::NameTooLong { .. })
        ));
        let long_tag = format!("nginx:{}", "1".repeat(TAG_MAX_LENGTH + 1));
        assert!(matches!(
            ImageReference::parse(&long_tag),
            Err(ReferenceError::InvalidTag { .. })
        ));
        let longest_tag = format!("nginx:{}", "1".repeat(TAG_MAX_LENGTH));
        assert!(ImageReference::parse(&longest_tag).is_ok());
    }

    #[test]
    fn path_segments_allow_the_grammars_separators() {
        for valid in ["a.b/c_d/e__f/g-h/i---j", "my.team/app.v2"] {
            assert!(ImageReference::parse(valid).is_ok(), "{valid}");
        }
        for invalid in ["a___b", "a..b", "_a", "a.", "team/-app"] {
            assert!(ImageReference::parse(invalid).is_err(), "{invalid}");
        }
    }

    fn path_segment() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}((\\.|_|__|-{1,2})[a-z0-9]{1,8}){0,2}"
    }

    fn valid_reference() -> impl Strategy<Value = String> {
        let registry = prop_oneof![
            Just(None),
            Just(Some("docker.io".to_owned())),
            Just(Some("ghcr.io".to_owned())),
            Just(Some("localhost:5000".to_owned())),
            "[a-z][a-z0-9-]{0,10}[a-z0-9]\\.(io|com|example)(:[0-9]{2,5})?".prop_map(Some),
        ];
        let tag = proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}");
        let digest = proptest::option::of("[0-9a-f]{64}".prop_map(|hex| format!("sha256:{hex}")));
        (registry, proptest::collection::vec(path_segment(), 1..4), tag, digest).prop_filter_map(
            "port in range",
            |(registry, path, tag, digest)| {
                let mut text = String::new();
                // Without a registry, a first segment with a `.` would be
                // read as a host, as runtimes read it.
                if registry.is_none() && path[0].contains('.') {
                    return None;
                }
                if let Some(registry) = registry {
                    if registry
                        .rsplit_once(':')
                        .is_some_and(|(_, port)| port.parse::<u16>().is_err())
                    {
                        return None;
                    }
                    text.push_str(&registry);
                    text.push('/');
                }
                text.push_str(&path.join("/"));
                if let Some(tag) = tag {
                    text.push(':');
                    text.push_str(&tag);
                }
                if let Some(digest) = digest {
                    text.push('@');
                    text.push_str(&digest);
                }
                Some(text)
            },
        )
    }

    #[test]
    fn a_digest_with_a_multibyte_character_is_an_error_not_a_panic() {
        let text = format!("sha256:{}é{}", "a".repeat(30), "b".repeat(32));
        assert_eq!(text.len() - "sha256:".len(), 64);
        let error = Digest::parse(&text).expect_err("not hex");
        assert!(
            error.to_string().contains("`é` is not a lowercase hex digit"),
            "{error}"
        );
    }

    proptest! {
        #[test]
        fn a_digest_with_any_digit_that_is_not_lowercase_hex_is_refused(
            hex in "[0-9a-f]{64}",
            position in 0usize..64,
            bad in prop::sample::select(b"ABCDEFGgxz:@ -".to_vec()),
        ) {
            let mut digits = hex.into_bytes();
            digits[position] = bad;
            let text = format!("sha256:{}", String::from_utf8(digits).expect("ASCII"));
            let error = Digest::parse(&text).expect_err("not hex");
            let expected = format!("`{}` is not a lowercase hex digit", char::from(bad));
            prop_assert!(error.to_string().contains(&expected), "{}", error);
        }

        #[test]
        fn digests_print_as_they_were_written(
            hex in prop_oneof!["[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")), "[0-9a-f]{128}".prop_map(|h| format!("sha512:{h}"))]
        ) {
            let digest = Digest::parse(&hex).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(digest.to_string(), hex.clone());
            prop_assert_eq!(digest.hex(), hex[7..].to_owned());
            prop_assert_eq!(digest.short().to_string(), hex[7..19].to_owned());
        }

        #[test]
        fn display_then_parse_is_identity(text in valid_reference()) {
            let parsed = ImageReference::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let reparsed = ImageReference::parse(&parsed.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&parsed, &reparsed);
            prop_assert_eq!(parsed.to_string(), reparsed.to_string());
        }

        #[test]
        fn a_name_written_in_full_is_already_normal(
            host in "[a-z]([a-z0-9-]{0,8}[a-z0-9])?\\.(io|com|example)(:[0-9]{2,5})?|localhost(:[0-9]{2,5})?",
            path in proptest::collection::vec(path_segment(), 1..4),
        ) {
            prop_assume!(host.split(':').nth(1).is_none_or(|port| port.parse::<u16>().is_ok()));
            let name = format!("{host}/{}", path.join("/"));
            let parsed = ImageReference::parse(&name).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed.name(), name.as_str());
            prop_assert_eq!(parsed.registry(), host.as_str());
        }

        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,80}") {
            let _ = ImageReference::parse(&text);
        }

        #[test]
        fn reference_like_strings_never_panic(text in "[a-zA-Z0-9:/@._\\-\\[\\]]{0,60}") {
            if let Ok(parsed) = ImageReference::parse(&text) {
                prop_assert_eq!(ImageReference::parse(&parsed.to_string()), Ok(parsed));
            }
        }
    }
}
