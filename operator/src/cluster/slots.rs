//! A ChangeWindow's slots: which tickets hold one of its
//! `maxConcurrentChanges` (`status.activeTickets`, counted in
//! `status.activeChanges`). A ticket takes a slot before it starts and
//! gives it back when it ends, each time by writing the list with the
//! window's resourceVersion as a precondition: of two writers that read the
//! same list (two replicas, or two tickets at once), one wins and the other
//! gets 409 Conflict, reads the list again and sees the slot taken. So the
//! count holds across restarts and replicas, where a count in memory would
//! not.
//!
//! The list is written by a JSON merge patch of the status that carries the
//! resourceVersion (the form of precondition every API server honours for
//! patches), under its own field manager, `refit-scheduler`, so the
//! ChangeWindow reconciler's server-side apply (manager `refit`, which
//! writes `open`, `nextOpen` and the conditions, and leaves these two
//! fields out) never removes or overwrites it with a stale copy.

use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
};

use crate::api::ChangeWindow;

/// The field manager of `status.activeTickets` and `status.activeChanges`.
pub const SCHEDULER_FIELD_MANAGER: &str = "refit-scheduler";

/// A ticket as the slot list names it: `namespace/name`.
pub fn holder(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Reads and writes windows' slot lists.
#[derive(Clone)]
pub struct Slots {
    client: Client,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots").finish_non_exhaustive()
    }
}

impl Slots {
    /// Slot lists through `client`.
    pub fn new(client: Client) -> Slots {
        Slots { client }
    }

    /// The window as the API server has it now (not as a watch last saw
    /// it): its slot list and the resourceVersion to write it over.
    pub async fn read(&self, window: &str) -> Result<Option<ChangeWindow>, kube::Error> {
        Api::<ChangeWindow>::all(self.client.clone()).get_opt(window).await
    }

    /// Writes `holders` as the slot list of `window` (as read by
    /// [`Slots::read`]). 409 Conflict when the window changed since.
    pub async fn write(&self, window: &ChangeWindow, holders: &[String]) -> Result<(), kube::Error> {
        let mut holders = holders.to_vec();
        holders.sort();
        holders.dedup();
        let body = serde_json::json!({
            "metadata": {"resourceVersion": window.resource_version()},
            "status": {
                "activeChanges": i32::try_from(holders.len()).unwrap_or(i32::MAX),
                "activeTickets": holders,
            },
        });
        let params = PatchParams {
            field_manager: Some(SCHEDULER_FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        Api::<ChangeWindow>::all(self.client.clone())
            .patch_status(&window.name_any(), &params, &Patch::Merge(&body))
            .await
            .map(|_| ())
    }
}

/// The slot holders of `window` as its status lists them.
pub fn holders(window: &ChangeWindow) -> Vec<String> {
    window
        .status
        .as_ref()
        .map(|s| s.active_tickets.clone())
        .unwrap_or_default()
}
