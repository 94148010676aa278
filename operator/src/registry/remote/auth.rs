//! Authentication with a registry: the `Authorization` header refit sends
//! (a cached bearer token, or Basic credentials for hosts that asked for
//! them), and answering a 401's challenge (Basic, or a bearer token from
//! the realm the registry names). Tokens and passwords never reach a log
//! or an error message.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use base64::Engine as _;
use reqwest::StatusCode;

use super::{Remote, describe_transport_error};
use crate::{
    lock::Lock,
    registry::{
        credentials::Credential,
        error::RegistryError,
        stats::{RequestKind, RequestOutcome},
    },
};

/// A token; `Debug` does not show it.
#[derive(Clone)]
pub(super) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Remote {
    /// The `Authorization` header for a request, if refit has something to
    /// send.
    pub(super) fn authorization(&self, host: &str, scope: &str) -> Option<String> {
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
    pub(super) async fn answer_challenge(
        &self,
        host: &str,
        scope: &str,
        challenge: Option<&str>,
    ) -> Result<bool, RegistryError> {
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
}
