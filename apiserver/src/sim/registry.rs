//! Resolving image references as a kubelet would, for the simulated
//! kubelet: a reference pinned by digest (`repo:tag@sha256:…`) runs exactly
//! that digest; a tag on one of the registries the server was told about
//! (`Simulation::registries`, `serve --registry`) runs what the registry
//! says the tag points at now, asked through refit's own registry client
//! (plain HTTP for 127.0.0.1 and localhost, verified TLS otherwise); a tag
//! the registry does not have cannot be pulled.

use std::sync::Arc;

use refit::{
    core::reference::ImageReference,
    registry::{Resolver, credentials::DockerConfig, settings::RegistrySettings},
};

use super::{ImageResolver, fake_digest};

/// The digest `image` pins, if it pins one: `sha256:` and 64 hex digits.
pub(crate) fn pinned_digest(image: &str) -> Option<String> {
    let (_, digest) = image.rsplit_once('@')?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digest.to_owned())
}

/// Whether a registry host is this machine (plain HTTP is allowed there).
fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

/// A resolver that asks `hosts` for the tags of their images and makes up
/// digests for every other image, as [`super::Simulation::new`] does.
pub(crate) fn through(hosts: &[String]) -> Result<ImageResolver, String> {
    refit::tls::install_crypto_provider();
    let mut yaml = String::from("registries:\n");
    for host in hosts {
        yaml.push_str(&format!("  - host: {host}\n"));
        if is_loopback(host) {
            yaml.push_str("    insecure: true\n");
        }
    }
    let settings = RegistrySettings::from_yaml(&yaml)?
        .validate()
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))?;
    let resolver = Arc::new(Resolver::remote(settings, DockerConfig::default()).map_err(|e| e.to_string())?);
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    Ok(Arc::new(move |image: String| {
        let resolver = resolver.clone();
        let hosts = hosts.clone();
        Box::pin(async move {
            let Ok(reference) = ImageReference::parse(&image) else {
                return None;
            };
            if !hosts.iter().any(|h| h == reference.registry()) {
                return Some(fake_digest(&image));
            }
            let tag = reference.effective_tag()?;
            let facts = resolver
                .tag_facts(reference.registry(), reference.repository(), tag)
                .await
                .ok()?;
            facts.digest.map(|digest| digest.to_string())
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_pinned_by_digest_names_it_and_a_tag_does_not() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            pinned_digest(&format!("127.0.0.1:5000/team/web:1.25.4@{digest}")),
            Some(digest.clone())
        );
        assert_eq!(pinned_digest(&format!("nginx@{digest}")), Some(digest));
        assert_eq!(pinned_digest("127.0.0.1:5000/team/web:1.25.4"), None);
        assert_eq!(pinned_digest("nginx@sha256:abc"), None, "not a whole digest");
    }

    #[test]
    fn only_this_machine_is_asked_over_plain_http() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.com:5000"));
        assert!(!is_loopback("ghcr.io"));
    }
}
