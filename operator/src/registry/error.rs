//! What can go wrong when asking a registry. Messages name the registry
//! and what was asked, never credentials or tokens.

use std::time::Duration;

/// A registry question that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// No connection, a timeout, TLS failure.
    #[error("registry {registry} cannot be reached: {reason}")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// Why, without credentials.
        reason: String,
    },
    /// 429 (or 503) and no retry left, or a `Retry-After` too long to wait.
    #[error("registry {registry} is rate limiting refit{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The registry host.
        registry: String,
        /// What the registry asked for.
        retry_after: Option<Duration>,
    },
    /// 401/403 that credentials did not fix.
    #[error("registry {registry} refused access to {repository}: check the pull secret or the credentials file")]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
    },
    /// 404.
    #[error("{what} not found in registry {registry}")]
    NotFound {
        /// The registry host.
        registry: String,
        /// What was asked for (`docker.io/library/nginx:1.99`).
        what: String,
    },
    /// Another status, or an answer that breaks the protocol.
    #[error("registry {registry}: {message}")]
    Protocol {
        /// The registry host.
        registry: String,
        /// What happened.
        message: String,
    },
    /// An OCI layout directory that cannot be read.
    #[error("OCI layout {path}: {message}")]
    Layout {
        /// The directory or file.
        path: String,
        /// What is wrong.
        message: String,
    },
}
