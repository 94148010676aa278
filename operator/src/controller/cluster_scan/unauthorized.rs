//! The scan's record of changes made outside refit: a governed workload
//! whose template images differ from what its DriftReport recorded, and
//! whose image fields refit did not write, was changed by someone else.
//! Each such change gets a ChangeTicket that records it
//! (`core::planning::unauthorized`), a Warning Event on the workload, the
//! metric `refit_unauthorized_changes_total`, and an entry in the report's
//! `unauthorizedChanges`. Nothing is reverted.
//!
//! The report is rewritten (with the new images) only once the record is
//! created: a scan that fails to create it leaves the report as it was, so
//! the next scan finds the change again. The record's name is made from
//! the change's time, so finding it again does not record it twice.

use crate::{
    api::{DriftReportStatus, drift_report::UnauthorizedChange, workload::WorkloadRef},
    cluster::{events::Notice, rollout::FIELD_MANAGER, snapshot::WorkloadSnapshot, tickets::Created},
    controller::{Context, cluster_scan::findings::reference, error::Error},
    core::planning::unauthorized::{ChangedBy, changed, record, who},
    telemetry::metrics::label,
};

/// Records the changes of `workload`'s images since `previous` (its
/// report) that refit did not make; returns them for the report, or the
/// error that kept one from being recorded.
pub(super) async fn record_changes(
    ctx: &Context,
    workload: &WorkloadSnapshot,
    policy: &str,
    window: Option<&str>,
    previous: &DriftReportStatus,
) -> Result<Vec<UnauthorizedChange>, Error> {
    let changes = changed(&previous.containers, &workload.template);
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let key = &workload.key;
    let containers: Vec<(String, bool)> = changes.iter().map(|c| (c.container.clone(), c.init)).collect();
    let writers = ctx
        .rollouts
        .image_writers(&key.namespace, key.kind, &key.name, &containers)
        .await
        .map_err(|source| Error::ReadWorkload {
            workload: format!("{} {}/{}", key.kind, key.namespace, key.name),
            ticket: "(a record of a change made outside refit)".to_owned(),
            source,
        })?;
    let workload_ref = WorkloadRef {
        kind: key.kind,
        name: key.name.clone(),
    };
    let mut recorded = Vec::new();
    for (change, writer) in changes.iter().zip(writers.iter().chain(std::iter::repeat(&None))) {
        // refit's own apply (a rollout or a rollback) is explained by its
        // ticket.
        if writer.as_ref().is_some_and(|w| w.name == FIELD_MANAGER) {
            continue;
        }
        let by = ChangedBy {
            manager: writer.as_ref().map(|w| w.name.clone()),
            at: writer.as_ref().and_then(|w| w.time.clone()),
        };
        let ticket = record(&workload_ref, policy, window, change, &by);
        let created = ctx
            .tickets
            .create(&key.namespace, &ticket)
            .await
            .map_err(|source| Error::CreateTicket {
                namespace: key.namespace.clone(),
                name: ticket.name.clone(),
                source,
            })?;
        if created == Created::New {
            tracing::warn!(
                workload = %key,
                ticket = %ticket.name,
                container = %change.container,
                from = %change.from,
                to = %change.to,
                by = %who(&by),
                "a workload's image was changed outside refit; recorded"
            );
            ctx.metrics
                .unauthorized_changes
                .get_or_create(&label("kind", key.kind.as_str()))
                .inc();
            ctx.events
                .publish(
                    &reference(workload),
                    Notice {
                        warning: true,
                        reason: "UnauthorizedChange",
                        action: "Record",
                        note: format!(
                            "container {}'s image was changed from {} to {} outside refit by {}; recorded as \
                             ChangeTicket {} (not reverted)",
                            change.container,
                            change.from,
                            change.to,
                            who(&by),
                            ticket.name
                        ),
                    },
                )
                .await;
        }
        recorded.push(UnauthorizedChange {
            container: change.container.clone(),
            init: change.init,
            from: change.from.clone(),
            to: change.to.clone(),
            manager: by.manager,
            changed_at: by.at,
            ticket: ticket.name,
        });
    }
    Ok(recorded)
}
