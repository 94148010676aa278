//! Publishing Kubernetes Events (`events.k8s.io/v1`) as the reporting
//! controller `refit`. Callers decide when something changed; this module
//! only sends. A failed publish is logged and counted, never fatal: an
//! Event is a courtesy, the status is the record.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Client,
    runtime::events::{Event, EventType, Recorder, Reporter},
};

use crate::telemetry::{Metrics, metrics::label};

/// Sends Events about refit's objects and the workloads it governs.
#[derive(Clone)]
pub struct EventPublisher {
    recorder: Recorder,
    metrics: Metrics,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher").finish_non_exhaustive()
    }
}

/// What an Event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `Normal` or `Warning`.
    pub warning: bool,
    /// A CamelCase reason (`Outdated`, `InvalidSpec`).
    pub reason: &'static str,
    /// What refit did (`Scan`, `Validate`).
    pub action: &'static str,
    /// The sentence people read.
    pub note: String,
}

impl EventPublisher {
    /// A publisher; `instance` names this replica (the pod name, if known).
    pub fn new(client: Client, instance: Option<String>, metrics: Metrics) -> EventPublisher {
        let reporter = Reporter {
            controller: "refit".into(),
            instance,
        };
        EventPublisher {
            recorder: Recorder::new(client, reporter),
            metrics,
        }
    }

    /// Publishes `notice` about `regarding`.
    pub async fn publish(&self, regarding: &ObjectReference, notice: Notice) {
        let mut note = notice.note;
        // The API limits notes to 1 kB.
        if note.len() > 1000 {
            let mut cut = 997;
            while !note.is_char_boundary(cut) {
                cut -= 1;
            }
            note.truncate(cut);
            note.push('…');
        }
        let event = Event {
            type_: if notice.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: notice.reason.to_owned(),
            note: Some(note),
            action: notice.action.to_owned(),
            secondary: None,
        };
        match self.recorder.publish(&event, regarding).await {
            Ok(()) => {
                self.metrics.events.get_or_create(&label("reason", notice.reason)).inc();
            }
            Err(error) => {
                self.metrics.failure("events", "publish_event");
                tracing::warn!(%error, reason = notice.reason, object = ?regarding.name, "cannot publish an event");
            }
        }
    }
}
