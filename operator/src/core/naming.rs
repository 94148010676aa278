//! Names refit gives the objects it creates (ChangeTickets, DriftReports):
//! deterministic, built from what the object is about, and shortened with a
//! hash when they would be too long.
//!
//! The hash is the first five bytes of SHA-256, written as ten hex digits.
//! The names are stored in the cluster and referenced from ITSM records, so
//! the scheme must not change between releases or platforms: that is why it
//! is SHA-256 and not `std`'s `DefaultHasher`, whose algorithm may change
//! with any Rust release. Both kinds of name are built here so the scheme
//! lives in one place.

use sha2::{Digest as _, Sha256};

/// Hex digits of a name hash (five bytes: a collision between two names of
/// one workload or namespace is about one in a trillion).
pub const HASH_LENGTH: usize = 10;

/// The hash part of a name, fed piece by piece. Callers separate variable
/// parts themselves (e.g. with a `0` byte), so two different inputs never
/// feed the same bytes.
#[derive(Debug, Clone, Default)]
pub struct NameHasher(Sha256);

impl NameHasher {
    /// An empty hash.
    pub fn new() -> NameHasher {
        NameHasher::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: impl AsRef<[u8]>) {
        self.0.update(bytes);
    }

    /// The first five bytes of the SHA-256, as [`HASH_LENGTH`] lowercase hex
    /// digits.
    pub fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .take(HASH_LENGTH / 2)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// `text` cut to at most `max` bytes (at a character boundary) and without
/// trailing `-` or `.`, so that whatever follows it (`-<hash>`) still makes
/// a valid DNS name: a label may not end in `-`, and `.-` is no label.
pub fn cut(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim_end_matches(['-', '.'])
}

/// `name` itself when it has at most `max` bytes; otherwise `name` cut
/// short and followed by `-` and the hash of the whole `name`, `max` bytes
/// at most. Names that differ only after the cut still differ. `max` must
/// leave room for the hash (callers pass Kubernetes' limits, 63 or 253).
pub fn fit(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let mut hasher = NameHasher::new();
    hasher.update(name);
    let hash = hasher.finish();
    format!("{}-{hash}", cut(name, max - 1 - HASH_LENGTH))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_hash_is_the_start_of_the_sha256() {
        // `printf 'deployment-web' | sha256sum` starts with these digits.
        let mut hasher = NameHasher::new();
        hasher.update("deployment-web");
        assert_eq!(hasher.finish(), "1d3fc6ad03");
    }

    #[test]
    fn a_name_that_fits_is_kept() {
        assert_eq!(fit("deployment-web", 253), "deployment-web");
        assert_eq!(fit(&"a".repeat(253), 253), "a".repeat(253));
    }

    #[test]
    fn a_cut_drops_dashes_and_dots_it_ends_on() {
        assert_eq!(cut("orders-ledger.eu-west-1", 14), "orders-ledger");
        assert_eq!(cut("orders-ledger.eu-west-1", 13), "orders-ledger");
        assert_eq!(cut("web", 63), "web");
    }

    /// Valid DNS subdomain names of up to 253 characters: dot-separated
    /// labels of lowercase alphanumerics and `-`, alphanumeric at both ends.
    fn subdomain() -> impl Strategy<Value = String> {
        // Up to 9 labels of up to 62 characters, cut at 253, so that many
        // names are too long to be used as written.
        prop::collection::vec("[a-z0-9]([-a-z0-9]{0,60}[a-z0-9])?", 1..10).prop_map(|labels| {
            let name = labels.join(".");
            name[..name.len().min(253)].trim_end_matches(['-', '.']).to_owned()
        })
    }

    proptest! {
        #[test]
        fn a_fitted_name_is_short_stable_and_ends_alphanumeric(name in subdomain(), max in 20usize..=253) {
            let fitted = fit(&name, max);
            prop_assert!(fitted.len() <= max, "{fitted} is longer than {max}");
            prop_assert_eq!(&fitted, &fit(&name, max));
            prop_assert!(fitted.ends_with(|c: char| c.is_ascii_alphanumeric()), "{fitted}");
            prop_assert!(!fitted.contains(".-"), "{fitted}");
        }
    }
}
