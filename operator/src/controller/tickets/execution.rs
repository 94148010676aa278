//! Carrying out a ticket that is `InProgress`: read the workload, let
//! `core::rollout::decide` choose the next act, and carry it out in the
//! order that survives a crash at any point:
//!
//! - the step about to be taken is in the ticket's `status.execution`
//!   before its side effect (the move to `InProgress` records `Apply`; the
//!   decision to roll back records `Apply` of the previous images), so a
//!   refit that dies before or during the apply applies again, which
//!   changes nothing the second time;
//! - the step after an apply is recorded with the generation the apply
//!   answered, so a refit that dies after it only follows;
//! - a step that is only followed (`Follow`, `Verify`) has no side effect
//!   and is decided afresh from the workload each time.
//!
//! A change under way is looked at every few seconds
//! ([`FOLLOW_EVERY`](crate::core::rollout::FOLLOW_EVERY)); nothing else
//! changes it.

use std::time::Duration;

use kube::{ResourceExt, runtime::controller::Action};

use super::{AFTER_MOVE, Failure, announce, count_tickets, failure, write};
use crate::{
    api::{
        ChangeTicket, ChangeTicketStatus,
        change_ticket::{ChangeType, ExecutionStep, ExecutionTarget},
    },
    cluster::{
        Now,
        events::Notice,
        rollout::{Target, execution, state},
        tickets::after_move,
    },
    controller::{Context, conditions, error::Error},
    core::{
        rollout::{Act, FOLLOW_EVERY, ImageSet, Settings, State, decide},
        ticket::step::{Move, REFIT, reasons},
        window::Rfc3339,
    },
};

/// Carries out the next act of `ticket`, which is `InProgress`.
pub(super) async fn carry_out(
    ctx: &Context,
    ticket: &ChangeTicket,
    status: &ChangeTicketStatus,
    settings: &Settings,
    now: &Now,
) -> Result<Action, Failure> {
    let name = ticket.name_any();
    let namespace = ticket.namespace().unwrap_or_default();
    let spec = &ticket.spec;
    if spec.change_type == ChangeType::Rebuild {
        // Rebuilds ask a build system, not the cluster (not built yet).
        let message = "the rebuild has started; refit does not ask build systems for rebuilds yet, so nothing was \
                       requested and the workload is not touched";
        return show(ctx, ticket, status, None, message.to_owned(), now).await;
    }
    let Some(current) = status.execution.as_ref().and_then(state) else {
        // Started without a record of the step (by a refit that did not
        // carry out changes): record the first step before taking it.
        let first = State::start(now.at);
        return show(ctx, ticket, status, Some(&first), describe(&first, settings), now).await;
    };
    let target = Target {
        namespace: &namespace,
        kind: spec.workload.kind,
        name: &spec.workload.name,
        ticket: &name,
    };
    let workload = || format!("{} {namespace}/{}", spec.workload.kind, spec.workload.name);
    let live = ctx
        .rollouts
        .read(&target, spec.change_type, &spec.changes, current.target)
        .await
        .map_err(|source| {
            failure(source, |source| Error::ReadWorkload {
                workload: workload(),
                ticket: name.clone(),
                source,
            })
        })?;
    match decide(
        spec.change_type,
        &spec.changes,
        &current,
        live.as_ref(),
        settings,
        now.at,
    ) {
        Act::Apply { images, mut then } => {
            let applied = match ctx.rollouts.apply(&target, &images).await {
                Ok(applied) => applied,
                Err(source) => return refused(ctx, ticket, status, &current, settings, now, source).await,
            };
            then.generation = applied.generation;
            if current.target == ExecutionTarget::Candidate {
                then.replicas = applied.replicas;
            }
            tell_applied(ctx, ticket, &current, &images).await;
            show(ctx, ticket, status, Some(&then), describe(&then, settings), now).await?;
            Ok(Action::requeue(FOLLOW_EVERY))
        }
        Act::Record { state: next, again } => {
            if next.target == ExecutionTarget::Previous && current.target == ExecutionTarget::Candidate {
                tell_rollback(ctx, ticket, &next).await;
            }
            show(ctx, ticket, status, Some(&next), describe(&next, settings), now).await?;
            Ok(Action::requeue(again.max(Duration::from_millis(10))))
        }
        Act::Wait { again } => Ok(Action::requeue(again.max(Duration::from_millis(10)))),
        Act::Finish { phase, message } => {
            finish(
                ctx,
                ticket,
                status,
                Move {
                    to: phase,
                    actor: REFIT.to_owned(),
                    message,
                },
                now,
            )
            .await
        }
    }
}

/// An apply the API server refused: tried again until the step's
/// deadline, then the change (or its rollback) fails.
async fn refused(
    ctx: &Context,
    ticket: &ChangeTicket,
    status: &ChangeTicketStatus,
    current: &State,
    settings: &Settings,
    now: &Now,
    source: kube::Error,
) -> Result<Action, Failure> {
    let deadline =
        current.since + chrono::TimeDelta::from_std(settings.progress_deadline).unwrap_or(chrono::TimeDelta::MAX);
    let conflict = matches!(&source, kube::Error::Api(s) if s.code == 409);
    if now.at < deadline || conflict {
        return Err(failure(source, |source| Error::ApplyImages {
            workload: format!("{} {}", ticket.spec.workload.kind, ticket.spec.workload.name),
            ticket: ticket.name_any(),
            source,
        }));
    }
    let (phase, message) = match current.target {
        ExecutionTarget::Candidate => (
            crate::api::change_ticket::TicketPhase::Failed,
            format!("the images could not be applied within rollout.progressDeadline: {source}; nothing was changed"),
        ),
        ExecutionTarget::Previous => (
            crate::api::change_ticket::TicketPhase::Failed,
            format!(
                "the previous images could not be applied within rollout.progressDeadline: {source} (the change had \
                 failed: {})",
                current.failure.as_deref().unwrap_or("unknown")
            ),
        ),
    };
    finish(
        ctx,
        ticket,
        status,
        Move {
            to: phase,
            actor: REFIT.to_owned(),
            message,
        },
        now,
    )
    .await
}

/// Ends the ticket, keeping its last execution record.
async fn finish(
    ctx: &Context,
    ticket: &ChangeTicket,
    status: &ChangeTicketStatus,
    moved: Move,
    now: &Now,
) -> Result<Action, Failure> {
    let mut next = after_move(status, &moved, &now.time);
    next.observed_generation = ticket.metadata.generation;
    next.conditions = vec![conditions::ready(
        &status.conditions,
        true,
        reasons::ENDED,
        format!("the ticket ended {}", moved.to),
        ticket.metadata.generation,
        now.time.clone(),
    )];
    write(ctx, ticket, next).await?;
    announce(ctx, ticket, &moved).await;
    count_tickets(ctx);
    // Its slot is given back at the next look (the ticket is no longer in
    // progress), and the scanner links the workload's report afresh.
    ctx.cluster_changed.notify_one();
    Ok(Action::requeue(AFTER_MOVE))
}

/// Writes `execution` (when given) and the `Ready` condition's `message`.
async fn show(
    ctx: &Context,
    ticket: &ChangeTicket,
    status: &ChangeTicketStatus,
    execution_state: Option<&State>,
    message: String,
    now: &Now,
) -> Result<Action, Failure> {
    let mut next = status.clone();
    if let Some(recorded) = execution_state {
        next.execution = Some(execution(recorded)?);
    }
    next.observed_generation = ticket.metadata.generation;
    next.conditions = vec![conditions::ready(
        &status.conditions,
        true,
        reasons::STARTED,
        message,
        ticket.metadata.generation,
        now.time.clone(),
    )];
    if next != *status {
        write(ctx, ticket, next).await?;
    }
    Ok(Action::requeue(FOLLOW_EVERY))
}

/// The `Ready` condition's message for a step.
fn describe(state: &State, settings: &Settings) -> String {
    let images = match state.target {
        ExecutionTarget::Candidate => "the new images",
        ExecutionTarget::Previous => "the previous images (rolling back)",
    };
    let progress = state.progress.as_deref().map(|p| format!(": {p}")).unwrap_or_default();
    match state.step {
        ExecutionStep::Apply => format!("applying {images}"),
        ExecutionStep::Follow => format!(
            "following the rollout of {images} (deadline {}){progress}",
            Rfc3339(
                state.since + chrono::TimeDelta::from_std(settings.progress_deadline).unwrap_or(chrono::TimeDelta::MAX)
            )
        ),
        ExecutionStep::Verify => format!(
            "rolled out; verifying that the new pods stay ready without restarts until {}",
            Rfc3339(state.since + chrono::TimeDelta::from_std(settings.verify_for).unwrap_or(chrono::TimeDelta::MAX))
        ),
    }
}

/// An Event on the workload for every apply: who changed it and why.
async fn tell_applied(ctx: &Context, ticket: &ChangeTicket, current: &State, images: &[ImageSet]) {
    let listed: Vec<String> = images.iter().map(|i| format!("{}={}", i.container, i.image)).collect();
    let (reason, what) = match (current.target, listed.is_empty()) {
        (ExecutionTarget::Previous, _) => ("RollbackApplied", format!("restored {}", listed.join(", "))),
        (ExecutionTarget::Candidate, true) => ("RestartApplied", "restarted the pods".to_owned()),
        (ExecutionTarget::Candidate, false) => ("ImagesApplied", format!("set {}", listed.join(", "))),
    };
    ctx.events
        .publish(
            &super::workload_reference(ticket),
            Notice {
                warning: current.target == ExecutionTarget::Previous,
                reason,
                action: "Rollout",
                note: format!("refit {what} for ChangeTicket {}", ticket.name_any()),
            },
        )
        .await;
}

/// A Warning Event on the ticket and its workload when a rollback begins.
async fn tell_rollback(ctx: &Context, ticket: &ChangeTicket, next: &State) {
    let note = format!(
        "ChangeTicket {}: rolling back to the previous images: {}",
        ticket.name_any(),
        next.failure.as_deref().unwrap_or("the change failed")
    );
    for object in [
        kube::Resource::object_ref(ticket, &()),
        super::workload_reference(ticket),
    ] {
        ctx.events
            .publish(
                &object,
                Notice {
                    warning: true,
                    reason: "RollingBack",
                    action: "Rollout",
                    note: note.clone(),
                },
            )
            .await;
    }
}
