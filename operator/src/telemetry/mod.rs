//! Telemetry: what the operator tells the people who run it.
//!
//! - [`logging`]: tracing to standard output as JSON (or text), with a
//!   filter that can be changed while the operator runs.
//! - [`metrics`]: the Prometheus registry (prometheus-client) and the
//!   operator's metrics, each registered with help text.
//! - [`server`]: the HTTP server for `/metrics`, `/healthz` and `/readyz`.
//!
//! `docs/OPERATIONS.md` lists every metric and endpoint.

pub mod logging;
pub mod metrics;
pub mod server;

pub use metrics::Metrics;
