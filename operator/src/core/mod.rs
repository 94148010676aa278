//! The decisions: everything the operator and `refit scan` decide, as pure
//! functions over plain data. Nothing in `core` talks to Kubernetes or a
//! registry, and nothing reads the clock: time is always a parameter. The
//! layers around it (`cli`, and later `registry`, `cluster`, `controller`)
//! gather facts, call into `core`, and carry out what it decided.

pub mod drift;
pub mod duration;
pub mod policy;
pub mod reference;
pub mod selection;
pub mod version;
