//! The decisions: everything the operator and `refit scan` decide, as pure
//! functions over plain data. Nothing in `core` talks to Kubernetes or a
//! registry, and nothing reads the clock: time is always a parameter. The
//! layers around it (`registry`, `cluster`, `controller`, `manifest_scan`,
//! `cli`) gather facts, call into `core`, and carry out what it decided.
//!
//! Built but not wired yet: [`planning`] (findings → ChangeTickets) and
//! [`ticket`] (the ticket state machine) are tested here but nothing calls
//! them; `refit run` creates no tickets until the change layer is built.

pub mod constraint;
pub mod drift;
pub mod duration;
pub mod governance;
pub mod intern;
pub mod naming;
pub mod planning;
pub mod policy;
pub mod reference;
pub mod selection;
pub mod soak;
pub mod ticket;
pub mod version;
pub mod window;

/// A hash map with a fast hasher seeded per process: the scan's lookups are
/// keyed by names registries choose (so the seed matters), and SipHash would
/// cost more than the rest of a container's evaluation.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
