//! Registry credentials from Docker config JSON: a mounted file or the
//! `.dockerconfigjson` of an image pull secret.
//!
//! Keys under `auths` come in many spellings (`ghcr.io`,
//! `https://ghcr.io`, `https://index.docker.io/v1/`); they are normalized to
//! the host refit uses for image references (`docker.io` for Docker Hub).
//!
//! Credentials never appear in logs, errors or `Debug` output: `Debug`
//! prints `<redacted>`, and parse errors name the position or the host,
//! never the content.

use std::{collections::BTreeMap, fmt, path::Path};

use base64::Engine as _;
use serde::Deserialize;

use crate::core::reference::DOCKER_HUB;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// User name and password (or access token used as a password).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`). Not exchanged yet: such a
    /// registry is asked anonymously (and answers Unauthorized for private
    /// repositories).
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Credentials by registry host.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credential>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("hosts", &self.auths.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why credentials could not be read. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The file could not be read.
    #[error("cannot read the Docker config {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// Not JSON, or not shaped like a Docker config.
    #[error("{source_name} is not a Docker config: invalid JSON at line {line}, column {column}")]
    NotJson {
        /// The file or secret.
        source_name: String,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
    },
    /// An `auth` value that is not base64 of `user:password`.
    #[error("{source_name}: the auth of {host} is not base64 of user:password")]
    BadAuth {
        /// The file or secret.
        source_name: String,
        /// The registry whose entry is wrong.
        host: String,
    },
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
}

#[derive(Deserialize)]
struct RawAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

impl DockerConfig {
    /// Parses Docker config JSON; `source_name` names it in errors.
    pub fn parse(json: &[u8], source_name: &str) -> Result<DockerConfig, CredentialsError> {
        // serde_json's messages can quote the offending value, which may be
        // a password: keep only the position.
        let raw: RawConfig = serde_json::from_slice(json).map_err(|error| CredentialsError::NotJson {
            source_name: source_name.to_owned(),
            line: error.line(),
            column: error.column(),
        })?;
        let mut auths = BTreeMap::new();
        for (key, entry) in raw.auths {
            let host = normalize_host(&key);
            let credential = if let Some(token) = entry.identitytoken.filter(|t| !t.is_empty()) {
                Credential::IdentityToken(token)
            } else if let (Some(username), Some(password)) = (entry.username.clone(), entry.password.clone()) {
                Credential::Basic { username, password }
            } else if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                let bad = || CredentialsError::BadAuth {
                    source_name: source_name.to_owned(),
                    host: host.clone(),
                };
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| bad())?;
                let text = String::from_utf8(decoded).map_err(|_| bad())?;
                let (username, password) = text.split_once(':').ok_or_else(bad)?;
                Credential::Basic {
                    username: username.to_owned(),
                    password: password.to_owned(),
                }
            } else {
                continue;
            };
            auths.insert(host, credential);
        }
        Ok(DockerConfig { auths })
    }

    /// Reads a Docker config file.
    pub fn load(path: &Path) -> Result<DockerConfig, CredentialsError> {
        let bytes = std::fs::read(path).map_err(|error| CredentialsError::Unreadable {
            path: path.display().to_string(),
            reason: error.kind().to_string(),
        })?;
        DockerConfig::parse(&bytes, &path.display().to_string())
    }

    /// Adds another config's entries; entries already present win (the
    /// first pull secret listed wins, as the kubelet does).
    pub fn merge(&mut self, other: DockerConfig) {
        for (host, credential) in other.auths {
            self.auths.entry(host).or_insert(credential);
        }
    }

    /// The credentials for a registry host (`docker.io`, `ghcr.io`,
    /// `localhost:5000`).
    pub fn lookup(&self, host: &str) -> Option<&Credential> {
        self.auths.get(&normalize_host(host))
    }

    /// Hosts with credentials.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.auths.keys().map(String::as_str)
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `https://ghcr.io` →
/// `ghcr.io`; `registry.example:5000/v2/` → `registry.example:5000`.
pub fn normalize_host(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB.to_owned(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-pa55w0rd";

    fn config() -> DockerConfig {
        // "alice:s3cr3t-pa55w0rd" in base64, as `docker login` writes it.
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("alice:{SECRET}"));
        let json = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{auth}"}},
                "ghcr.io": {{"username": "bot", "password": "{SECRET}"}},
                "https://registry.example:5000/v2/": {{"auth": "{auth}"}},
                "quay.io": {{"identitytoken": "{SECRET}"}},
                "empty.example": {{}}
            }}}}"#
        );
        DockerConfig::parse(json.as_bytes(), "pull secret storefront/regcred").expect("valid config")
    }

    #[test]
    fn keys_with_and_without_scheme_and_the_docker_hub_alias_are_found() {
        let config = config();
        assert_eq!(
            config.lookup("docker.io"),
            Some(&Credential::Basic {
                username: "alice".into(),
                password: SECRET.into()
            })
        );
        assert_eq!(config.lookup("index.docker.io"), config.lookup("docker.io"));
        assert!(matches!(config.lookup("ghcr.io"), Some(Credential::Basic { username, .. }) if username == "bot"));
        assert!(config.lookup("registry.example:5000").is_some());
        assert!(matches!(config.lookup("quay.io"), Some(Credential::IdentityToken(_))));
        assert_eq!(config.lookup("empty.example"), None);
        assert_eq!(config.lookup("gcr.io"), None);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let config = config();
        let printed = format!(
            "{config:?} {:?} {:?}",
            config.lookup("docker.io"),
            config.lookup("quay.io")
        );
        assert!(!printed.contains(SECRET), "{printed}");
        assert!(printed.contains("<redacted>"));
        assert!(printed.contains("docker.io"));
    }

    #[test]
    fn errors_never_quote_the_content() {
        let json = format!(r#"{{"auths": {{"ghcr.io": {{"username": 7, "password": "{SECRET}"}}}}}}"#);
        let error = DockerConfig::parse(json.as_bytes(), "/etc/refit/docker.json").expect_err("wrong type");
        let message = error.to_string();
        assert!(!message.contains(SECRET), "{message}");
        assert!(message.starts_with("/etc/refit/docker.json is not a Docker config: invalid JSON at line 1"));

        let json = format!(r#"{{"auths": {{"ghcr.io": {{"auth": "{SECRET}"}}}}}}"#);
        let error = DockerConfig::parse(json.as_bytes(), "pull secret a/b").expect_err("not base64 of user:pass");
        assert_eq!(
            error.to_string(),
            "pull secret a/b: the auth of ghcr.io is not base64 of user:password"
        );
    }

    #[test]
    fn the_first_pull_secret_wins() {
        let mut first =
            DockerConfig::parse(br#"{"auths": {"ghcr.io": {"username": "a", "password": "1"}}}"#, "a").expect("valid");
        let second = DockerConfig::parse(
            br#"{"auths": {"ghcr.io": {"username": "b", "password": "2"}, "quay.io": {"username": "q", "password": "3"}}}"#,
            "b",
        )
        .expect("valid");
        first.merge(second);
        assert!(matches!(first.lookup("ghcr.io"), Some(Credential::Basic { username, .. }) if username == "a"));
        assert!(first.lookup("quay.io").is_some());
    }

    #[test]
    fn hosts_are_normalized() {
        for (key, host) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("http://localhost:5000", "localhost:5000"),
            ("GHCR.IO", "ghcr.io"),
            ("registry.example:5000/v2/", "registry.example:5000"),
        ] {
            assert_eq!(normalize_host(key), host, "{key}");
        }
    }
}
