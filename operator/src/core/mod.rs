//! The decisions: everything the operator and `refit scan` decide, as pure
//! functions over plain data. Nothing in `core` talks to Kubernetes or a
//! registry, and nothing reads the clock: time is always a parameter. The
//! layers around it (`registry`, `cluster`, `controller`, `manifest_scan`,
//! `cli`) gather facts, call into `core`, and carry out what it decided.
//!
//! Tickets: [`planning`] decides which ChangeTickets a workload's findings
//! call for, [`ticket`] how a ticket moves (its state machine, and the next
//! step of a waiting one), [`soak`] from when a candidate's `minAge` counts.

pub mod constraint;
pub mod drift;
pub mod duration;
pub mod governance;
pub mod intern;
pub mod naming;
pub mod planning;
pub mod policy;
pub mod reference;
pub mod rollout;
pub mod selection;
pub mod soak;
pub mod ticket;
pub mod version;
pub mod window;

/// A hash map with a fast hasher seeded per process: the scan's lookups are
/// keyed by names registries choose (so the seed matters), and SipHash would
/// cost more than the rest of a container's evaluation.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
