//! The `refit` binary. Everything lives in the library; see `refit::cli`.

fn main() -> std::process::ExitCode {
    refit::tls::install_crypto_provider();
    refit::cli::main()
}
