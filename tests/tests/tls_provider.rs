//! kube and oci-client share one rustls crypto provider: after refit
//! installs it, both clients start. With two providers compiled in (kube's
//! default `ring` plus oci-client's default `aws-lc-rs`) building the kube
//! client panics, and with none installed oci-client panics; this test is
//! the tripwire for either regression. It is its own test binary because the
//! provider is process-wide.

#[tokio::test]
async fn kube_and_oci_clients_start_with_the_provider_refit_installs() {
    refit::tls::install_crypto_provider();
    let provider = rustls::crypto::CryptoProvider::get_default().expect("a process-wide provider is installed");
    assert!(!provider.cipher_suites.is_empty());

    let config = kube::Config::new("https://127.0.0.1:6443".parse().expect("URL"));
    kube::Client::try_from(config).expect("kube client builds over rustls");

    oci_client::Client::try_from(oci_client::client::ClientConfig::default()).expect("oci client builds over rustls");
}

#[test]
fn installing_the_provider_twice_is_harmless() {
    refit::tls::install_crypto_provider();
    refit::tls::install_crypto_provider();
}
