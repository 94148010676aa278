//! The `refit` binary. Everything lives in the library; see `refit::cli`.

/// A scan allocates a few small objects for every distinct image it judges
/// and frees them all when it ends. mimalloc frees those without the
/// consolidation walks of the system allocator, which made up a fifth of a
/// scan's time in the core benchmark (`docs/PERFORMANCE.md`); the benchmark
/// uses the same allocator so that its figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    refit::tls::install_crypto_provider();
    refit::cli::main()
}
