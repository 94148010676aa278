//! The registry layer: tags, digests and base images from OCI registries
//! (or an OCI layout tree offline), asked for as little as possible and
//! politely (`docs/REGISTRIES.md` says what is asked, how often, and why).
//!
//! - [`settings`]: the operator config's registry part (hosts, insecure
//!   HTTP, mirrors, rate limits, credentials file, cache lifetimes).
//! - [`credentials`]: Docker config JSON, redacted everywhere.
//! - `remote`: the distribution API over HTTP with authentication,
//!   token buckets, a concurrency cap, `Retry-After` and back-off.
//! - [`layout`]: OCI layout directories standing in for registries.
//! - [`Resolver`]: caches (tag lists by TTL, content by digest in an LRU
//!   bounded by bytes) and single-flight over either source.
//! - [`gather`]: the facts one scan needs, for [`crate::core::drift`].
//! - [`stats`]: request counts and health per registry.

mod backoff;
mod cache;
pub mod credentials;
mod error;
pub mod gather;
pub mod layout;
mod limiter;
mod remote;
mod resolver;
pub mod settings;
pub mod stats;

pub use error::RegistryError;
pub use gather::gather;
pub use remote::Descriptor;
pub use resolver::{ImageDescription, Resolver};
