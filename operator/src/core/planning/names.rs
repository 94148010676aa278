//! Ticket names: `<kind>-<workload>-<hash>`, the hash over the workload,
//! the change type and every container's target, so the same change always
//! has the same name (a restart, or two replicas racing, never makes a
//! second ticket for it), and `-2`, `-3`, … when a change that expired, was
//! superseded or cancelled is proposed again.

use super::{
    ChangeReason, ChangeTicketSpec, ChangeType,
    naming::{self, HASH_LENGTH, NameHasher},
};

/// Longest ticket name refit generates (a valid object name of at most 63
/// characters, so it also fits label values and ITSM reference fields).
pub const TICKET_NAME_MAX: usize = 63;

/// `<kind>-<workload>-<hash>`: the hash covers the workload, the change type
/// and every container's target, so the same change always has the same
/// name. Long workload names are shortened to keep the name within 63
/// characters.
pub fn ticket_name(spec: &ChangeTicketSpec) -> String {
    named(spec, None)
}

/// The name of a ticket that records a change made outside refit at
/// `changed_at` (the time the API server recorded for it): the same change
/// seen again (after a restart) has the same name, and the same images
/// changed again later a new one.
pub fn record_name(spec: &ChangeTicketSpec, changed_at: Option<&str>) -> String {
    named(spec, Some(changed_at.unwrap_or_default()))
}

fn named(spec: &ChangeTicketSpec, changed_at: Option<&str>) -> String {
    let mut hasher = NameHasher::new();
    if let Some(at) = changed_at {
        hasher.update("record");
        hasher.update([0]);
        hasher.update(at);
        hasher.update([0]);
    }
    hasher.update(spec.workload.kind.as_str());
    hasher.update([0]);
    hasher.update(&spec.workload.name);
    hasher.update([0]);
    // Spelled out, so renaming an enum variant never renames tickets.
    hasher.update(match spec.change_type {
        ChangeType::Rollout => "rollout",
        ChangeType::Rebuild => "rebuild",
        ChangeType::Restart => "restart",
    });
    // A hand edit is undone by a restart whatever it was, so what the pods
    // ran (`from`) is part of its identity: a later, different hand edit
    // is a new ticket. For every other change the target alone is.
    let mut targets: Vec<(&str, bool, &str, &str)> = spec
        .changes
        .iter()
        .map(|c| {
            let from = if c.reason == ChangeReason::UnauthorizedChange {
                c.from.as_str()
            } else {
                ""
            };
            (c.container.as_str(), c.init, c.to.as_str(), from)
        })
        .collect();
    targets.sort_unstable();
    for (container, init, to, from) in targets {
        hasher.update([0]);
        hasher.update(container);
        hasher.update([u8::from(init)]);
        hasher.update(to);
        hasher.update([0]);
        hasher.update(from);
    }
    let hash = hasher.finish();
    let kind = spec.workload.kind.as_str().to_ascii_lowercase();
    // Room for `-<hash>` and a `-NN` suffix for re-proposals.
    let room = TICKET_NAME_MAX - kind.len() - 1 - HASH_LENGTH - 1 - 3;
    let workload = naming::cut(&spec.workload.name, room);
    format!("{kind}-{workload}-{hash}")
}

/// Whether `name` is `base` with a re-proposal number (`base-2`).
pub(super) fn is_numbered(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `name` is one of the names of the change named `base`.
pub(super) fn names_the_change(name: &str, base: &str) -> bool {
    name == base || is_numbered(name, base)
}
