//! Condition types and reasons shared by every refit kind.
//!
//! Conditions are the standard `metav1.Condition`, kept in
//! `status.conditions` as a list-map keyed by `type` (so server-side apply
//! merges them entry by entry). The constants live here so the controllers,
//! the tests and the docs spell them the same way.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::{Schema, SchemaGenerator, json_schema};

/// Condition types.
pub mod types {
    /// The object was understood and is being acted on. `False` with reason
    /// [`super::reasons::INVALID_SPEC`] means refit ignores the object until
    /// its spec is fixed.
    pub const READY: &str = "Ready";
}

/// Condition reasons (CamelCase, as the API conventions require).
pub mod reasons {
    /// The spec passed admission but refit cannot use it (a cron expression,
    /// time zone, semver range or regex it cannot parse). The condition's
    /// message names the field and the problem.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The spec was understood and refit acts on it.
    pub const RECONCILED: &str = "Reconciled";
}

/// Schema for `status.conditions`: the upstream `Condition` schema as a
/// list-map keyed by `type`, the shape `kubectl` and server-side apply expect
/// of conditions.
pub(crate) fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let item = generator.subschema_for::<Condition>();
    json_schema!({
        "type": "array",
        "description": "The latest observations of the object's state. Keyed by `type`.",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    })
}
