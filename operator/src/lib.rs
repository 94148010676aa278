//! refit: a Kubernetes operator for patch and drift management.
//!
//! The crate is split by layer ("How the code is laid out" in
//! `docs/DEVELOPMENT.md` follows a scan through them): [`api`] holds the
//! CRD types and nothing else; [`core`] makes the decisions, as pure
//! functions; [`registry`] asks registries (or OCI layouts) for the facts;
//! [`cluster`] reads Kubernetes objects into `core` types and writes
//! refit's results back; [`controller`] wires them into the operator
//! (reconcilers and the cluster scan loop); [`manifest_scan`] is `refit
//! scan`, the same detection over manifests on disk; [`telemetry`] is
//! logging, metrics and health endpoints; [`config`] is the operator's
//! config file; [`cli`] is the command line that `main.rs` hands over to;
//! [`tls`] fixes the process-wide TLS crypto provider; [`lock`] locks
//! mutexes, failing loudly when one is poisoned.
//! `testdata` (tests and benchmarks only) reads the real tag histories.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod core;
pub mod lock;
pub mod manifest_scan;
pub mod registry;
pub mod telemetry;
#[cfg(any(test, feature = "testdata"))]
#[doc(hidden)]
pub mod testdata;
pub mod tls;
