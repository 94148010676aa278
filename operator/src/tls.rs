//! The process-wide TLS crypto provider.
//!
//! kube and oci-client both speak TLS through rustls. rustls needs one
//! process-level crypto provider; with more than one compiled in it cannot
//! choose and `kube::Client` panics at start, and oci-client (built without a
//! bundled provider) panics when none is installed. refit compiles exactly
//! one provider, `ring`, and installs it here before any client is built.

/// Installs `ring` as the process-wide rustls provider. Idempotent: later
/// calls, or a provider installed earlier by the same process, are fine.
pub fn install_crypto_provider() {
    // `install_default` fails only when a provider is already installed; the
    // only provider this binary contains is ring, so that one is ring too.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}
