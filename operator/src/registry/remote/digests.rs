//! Content addressing: the digest of some bytes, and the check that content
//! hashes to the digest it was asked for (content is cached by digest for
//! good, so a registry or a layout that answers with other bytes is an
//! error, not a finding).

use sha2::{Digest as _, Sha256};

use crate::{
    core::reference::{Digest, DigestAlgorithm},
    registry::error::RegistryError,
};

/// The sha256 digest of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> Result<Digest, RegistryError> {
    digest_of(bytes, DigestAlgorithm::Sha256)
}

/// The digest of some bytes with the given algorithm.
pub fn digest_of(bytes: &[u8], algorithm: DigestAlgorithm) -> Result<Digest, RegistryError> {
    let (name, hash): (&str, Vec<u8>) = match algorithm {
        DigestAlgorithm::Sha256 => ("sha256", Sha256::digest(bytes).to_vec()),
        DigestAlgorithm::Sha512 => ("sha512", sha2::Sha512::digest(bytes).to_vec()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha512_content_is_checked_too() {
        let digest = digest_of(b"{}", DigestAlgorithm::Sha512).expect("digest");
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
