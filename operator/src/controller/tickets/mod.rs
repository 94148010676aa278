//! The ChangeTicket reconciler: moves refit's tickets along their
//! lifecycle, a pipeline of four steps:
//!
//! 1. read (no client required): the ticket, its policy and its window from
//!    the watch stores;
//! 2. decide (no client required): `core::ticket::step::next_step`;
//! 3. start, only when the decision is to start: the window's slots and the
//!    tickets in progress read again from the API server (not from the
//!    watch, which may lag), the decision made again with those counts, a
//!    slot taken with optimistic concurrency (`cluster::slots`), then the
//!    ticket moved to `InProgress`;
//! 4. record: the status written over the resourceVersion it was read at
//!    (a history entry per phase change; `scheduledFor` and the `Ready`
//!    condition otherwise), an Event on the ticket and its workload for
//!    every phase change, and the ticket metrics.
//!
//! A ticket in progress is carried out by [`execution`]: its workload
//! changed, its rollout followed and verified, and rolled back on failure.
//!
//! It comes back when the ticket, its window or its policy changes, and
//! at the instant the decision names (the window opening, the end of the
//! span in which the change could start, the ticket's expiry); only a
//! change in progress is looked at every few seconds. A write that loses to a concurrent one (409 Conflict) is not a
//! failure: the ticket is read again and decided afresh.
//!
//! Only tickets refit made (`app.kubernetes.io/managed-by: refit`) are
//! moved. Ending tickets whose workload went away or no longer needs them
//! is the scanner's (it knows the workloads); so is creating them.

mod execution;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use k8s_openapi::{api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::Time};
use kube::{
    Resource, ResourceExt,
    runtime::{controller::Action, reflector::ObjectRef},
};

use super::{
    Context, conditions,
    error::Error,
    validate::{ValidPolicy, validate},
};
use crate::{
    api::{ChangeTicket, ChangeTicketStatus, ChangeWindow, PatchPolicy, change_ticket::TicketPhase},
    cluster::{
        Now,
        events::Notice,
        instant,
        reports::POLICY_LABEL,
        rollout::{execution as recorded, started},
        slots::{self, holder},
        tickets::{WINDOW_LABEL, after_move, created, is_refits, phase, proposed_entry},
    },
    core::{
        planning::unauthorized::is_record,
        rollout::Settings,
        ticket::step::{Load, Move, PolicyFacts, Step, TicketFacts, Waiting, WindowFacts, next_step},
        window::Schedule,
    },
    telemetry::metrics::label,
};

/// The controller's name in metrics.
pub const CONTROLLER: &str = "changeticket";

/// How soon to look again after a write lost to a concurrent one.
const AFTER_CONFLICT: Duration = Duration::from_millis(200);
/// How soon to look again after a phase change (the watch brings the
/// written ticket too; this only makes sure).
const AFTER_MOVE: Duration = Duration::from_secs(1);
/// The longest requeue (as for windows: timers further out are not kept).
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);
/// How soon to look again while the watches have not listed the cluster.
const NOT_READY: Duration = Duration::from_millis(500);
/// Attempts at taking a slot before trying again later.
const CLAIM_ATTEMPTS: usize = 5;

/// Reconciles one ChangeTicket.
#[tracing::instrument(skip_all, fields(ticket = %key(&ticket)))]
pub async fn reconcile(ticket: Arc<ChangeTicket>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    ctx.metrics
        .reconciles
        .get_or_create(&label("controller", CONTROLLER))
        .inc();
    if !is_refits(&ticket) {
        return Ok(Action::await_change());
    }
    // Decisions read the policy and the window from the scanner's stores:
    // until they have listed, a policy not listed yet would look deleted.
    // (Not by awaiting the stores: kube wakes only the last of several
    // tasks waiting on one store, and the scanner waits on these.)
    if !ctx.readiness.is_ready() {
        return Ok(Action::requeue(NOT_READY));
    }
    let outcome = advance(&ticket, &ctx).await;
    ctx.metrics
        .reconcile_duration
        .get_or_create(&label("controller", CONTROLLER))
        .observe(started.elapsed().as_secs_f64());
    match outcome {
        Ok(action) => {
            ctx.backoff.succeeded(&key(&ticket));
            Ok(action)
        }
        Err(Failure::Conflict) => {
            tracing::debug!("a concurrent write changed the ticket or its window; deciding again");
            Ok(Action::requeue(AFTER_CONFLICT))
        }
        Err(Failure::Error(error)) => Err(error),
    }
}

/// Why a step did not complete.
enum Failure {
    /// A write lost to a concurrent one (409 Conflict): decide again.
    Conflict,
    /// Anything else.
    Error(Error),
}

/// A failed API call as a [`Failure`]: a conflict, or `wrap`ped.
fn failure(error: kube::Error, wrap: impl FnOnce(kube::Error) -> Error) -> Failure {
    match &error {
        kube::Error::Api(status) if status.code == 409 => Failure::Conflict,
        _ => Failure::Error(wrap(error)),
    }
}

impl From<crate::cluster::TimeOutOfRange> for Failure {
    fn from(error: crate::cluster::TimeOutOfRange) -> Self {
        Failure::Error(error.into())
    }
}

/// The ticket's policy as the step sees it: missing, invalid (no `valid`
/// compiled from it), or valid.
fn policy_facts<'a>(name: &'a str, policy: Option<&'a PatchPolicy>, valid: Option<&ValidPolicy>) -> PolicyFacts<'a> {
    match (policy, valid) {
        (None, _) => PolicyFacts::Missing { name },
        (Some(_), None) => PolicyFacts::Invalid { name },
        (Some(policy), Some(valid)) => PolicyFacts::Valid {
            name,
            mode: policy.spec.mode,
            ticket_expiry: valid.ticket_expiry,
            progress_deadline: valid.progress_deadline,
            max_concurrent: u32::try_from(policy.spec.rollout.max_concurrent.max(1)).unwrap_or(1),
        },
    }
}

/// Steps 1 to 4 for one ticket.
async fn advance(ticket: &ChangeTicket, ctx: &Context) -> Result<Action, Failure> {
    // 1. read (no client required)
    let now = Now::read()?;
    let status = ticket.status.clone().unwrap_or_default();
    if status.history.is_empty() {
        // A new ticket: its trail starts with why it exists.
        let mut first = status.clone();
        first.phase = TicketPhase::Pending;
        first.history.push(proposed_entry(ticket, &now.time));
        first.observed_generation = ticket.metadata.generation;
        write(ctx, ticket, first).await?;
        return Ok(Action::requeue(AFTER_MOVE));
    }
    let policy = ctx.policies.get(&ObjectRef::new(&ticket.spec.policy));
    let valid = policy.as_deref().and_then(|p| validate(&p.spec).ok());
    if status.phase == TicketPhase::InProgress {
        // A change under way goes on with the policy's settings as they
        // are, or their defaults once the policy is gone or broken.
        let settings = valid.as_ref().map_or_else(Settings::default, |v| Settings {
            progress_deadline: v.progress_deadline,
            verify_for: v.verify_for,
            rollback_on_failure: v.rollback_on_failure,
        });
        return execution::carry_out(ctx, ticket, &status, &settings, &now).await;
    }
    let policy_facts = policy_facts(&ticket.spec.policy, policy.as_deref(), valid.as_ref());
    let window = ctx.stores.windows.get(&ObjectRef::new(&ticket.spec.window));
    let schedule = window.as_deref().map(|w| Schedule::compile(&w.spec));
    let window_facts = match &schedule {
        None => WindowFacts::Missing {
            name: &ticket.spec.window,
        },
        Some(Err(_)) => WindowFacts::Invalid {
            name: &ticket.spec.window,
        },
        Some(Ok(schedule)) => WindowFacts::Valid {
            name: &ticket.spec.window,
            schedule,
        },
    };
    let facts = TicketFacts {
        phase: status.phase,
        approval: ticket.spec.approval.as_ref(),
        created: created(ticket).unwrap_or(now.at),
        shown_start: status.scheduled_for.as_ref().and_then(instant),
        records: status.phase == TicketPhase::Pending && is_record(&ticket.spec),
    };

    // 2. decide (no client required)
    let decision = next_step(&facts, &policy_facts, &window_facts, Load::default(), now.at);

    // 3. start: only with counts read afresh
    let me = holder(&ticket.namespace().unwrap_or_default(), &ticket.name_any());
    let holds_slot = window.as_deref().is_some_and(|w| slots::holders(w).contains(&me));
    if matches!(decision, Step::Start(_)) || (holds_slot && status.phase != TicketPhase::InProgress) {
        return start(ctx, ticket, &facts, &policy_facts, &status, &now).await;
    }

    // 4. record
    record(ctx, ticket, decision, &status, &now).await
}

/// Step 3: decides again with the slots and the changes in progress as
/// the API server has them, takes a slot (or gives back one it should not
/// hold), then records.
async fn start(
    ctx: &Context,
    ticket: &ChangeTicket,
    facts: &TicketFacts<'_>,
    policy: &PolicyFacts<'_>,
    status: &ChangeTicketStatus,
    now: &Now,
) -> Result<Action, Failure> {
    let window_name = ticket.spec.window.as_str();
    let me = holder(&ticket.namespace().unwrap_or_default(), &ticket.name_any());
    let scope = ctx.settings.namespace.as_deref();
    let slots_failure = |source| Error::Slots {
        window: window_name.to_owned(),
        source,
    };
    for _ in 0..CLAIM_ATTEMPTS {
        let Some(window) = ctx
            .slots
            .read(window_name)
            .await
            .map_err(|e| failure(e, slots_failure))?
        else {
            return Ok(Action::requeue(AFTER_CONFLICT));
        };
        let Ok(schedule) = Schedule::compile(&window.spec) else {
            return Ok(Action::requeue(AFTER_CONFLICT));
        };
        let read = |what: String| move |source| Error::ReadTickets { what, source };
        let under_window = ctx
            .tickets
            .list(scope, WINDOW_LABEL, window_name)
            .await
            .map_err(|e| failure(e, read(format!("of window {window_name}"))))?;
        let of_policy = ctx
            .tickets
            .list(scope, POLICY_LABEL, &ticket.spec.policy)
            .await
            .map_err(|e| failure(e, read(format!("of policy {}", ticket.spec.policy))))?;
        let (holders, load) = count(
            &me,
            &slots::holders(&window),
            &listed(&under_window),
            &listed(&of_policy),
            scope,
        );
        let window_facts = WindowFacts::Valid {
            name: window_name,
            schedule: &schedule,
        };
        let decision = next_step(facts, policy, &window_facts, load, now.at);
        let holding = holders.contains(&me);
        let wanted: Vec<String> = match (&decision, holding) {
            (Step::Start(_), false) => holders.iter().cloned().chain([me.clone()]).collect(),
            (Step::Start(_), true) => Vec::new(),
            (_, true) => holders.iter().filter(|h| **h != me).cloned().collect(),
            (_, false) => Vec::new(),
        };
        if matches!(decision, Step::Start(_)) != holding {
            match ctx.slots.write(&window, &wanted).await {
                Ok(()) => {}
                Err(error) => match failure(error, slots_failure) {
                    Failure::Conflict => continue,
                    other => return Err(other),
                },
            }
        }
        // With the slot taken, a lost write of the ticket is not lost
        // work: the next reconcile finds the slot held and goes on.
        return record(ctx, ticket, decision, status, now).await;
    }
    Ok(Action::requeue(AFTER_CONFLICT))
}

/// A listed ticket: (`namespace/name`, phase, policy).
type Listed = (String, TicketPhase, String);

fn listed(tickets: &[ChangeTicket]) -> Vec<Listed> {
    tickets
        .iter()
        .filter(|t| is_refits(t))
        .map(|t| {
            (
                holder(&t.namespace().unwrap_or_default(), &t.name_any()),
                phase(t),
                t.spec.policy.clone(),
            )
        })
        .collect()
}

/// The window's holders that still hold a slot, and the changes in
/// progress besides `me`: a holder whose ticket ended or is gone gives its
/// slot back (one outside `scope`, which refit cannot see, keeps it), and a
/// ticket in progress counts whether or not it holds a slot. Pure.
fn count(
    me: &str,
    holders: &[String],
    under_window: &[Listed],
    of_policy: &[Listed],
    scope: Option<&str>,
) -> (Vec<String>, Load) {
    let phase_of = |name: &str| {
        under_window
            .iter()
            .chain(of_policy)
            .find(|(listed, _, _)| listed == name)
            .map(|(_, phase, _)| *phase)
    };
    let visible = |name: &str| scope.is_none_or(|namespace| name.split('/').next() == Some(namespace));
    let kept: Vec<String> = holders
        .iter()
        .filter(|h| {
            *h == me
                || match phase_of(h) {
                    Some(phase) => !phase.is_terminal(),
                    None => !visible(h),
                }
        })
        .cloned()
        .collect();
    let mut busy: std::collections::BTreeSet<&str> = kept.iter().map(String::as_str).collect();
    busy.extend(
        under_window
            .iter()
            .filter(|(_, phase, _)| *phase == TicketPhase::InProgress)
            .map(|(name, _, _)| name.as_str()),
    );
    busy.remove(me);
    let policy_busy = of_policy
        .iter()
        .filter(|(name, phase, _)| name != me && (*phase == TicketPhase::InProgress || kept.contains(name)))
        .count();
    let load = Load {
        window: u32::try_from(busy.len()).unwrap_or(u32::MAX),
        policy: u32::try_from(policy_busy).unwrap_or(u32::MAX),
    };
    (kept, load)
}

/// Step 4: writes what `decision` says and tells people.
async fn record(
    ctx: &Context,
    ticket: &ChangeTicket,
    decision: Step,
    status: &ChangeTicketStatus,
    now: &Now,
) -> Result<Action, Failure> {
    match decision {
        Step::Move(moved) | Step::Start(moved) => {
            let mut next = after_move(status, &moved, &now.time);
            next.observed_generation = ticket.metadata.generation;
            if moved.to == TicketPhase::InProgress {
                // The first step is recorded with the move, before it is
                // taken (see `execution`).
                next.execution = started(&now.time).as_ref().map(recorded).transpose()?;
            }
            write(ctx, ticket, next).await?;
            announce(ctx, ticket, &moved).await;
            // Counted when a phase changes (and at every scan), not at every
            // reconcile: a restart reconciles every ticket, and counting
            // walks them all.
            count_tickets(ctx);
            // The scanner links open tickets from DriftReports: let it look.
            ctx.cluster_changed.notify_one();
            Ok(Action::requeue(AFTER_MOVE))
        }
        Step::Wait(waiting) => {
            let desired = shown(status, &waiting, ticket.metadata.generation, &now.time)?;
            if desired != *status {
                write(ctx, ticket, desired).await?;
            }
            Ok(match waiting.wake {
                Some(at) => Action::requeue(until(at, now.at)),
                None => Action::await_change(),
            })
        }
    }
}

/// The status a waiting ticket shows: its phase and history unchanged,
/// `scheduledFor` and the `Ready` condition from `waiting`.
fn shown(
    status: &ChangeTicketStatus,
    waiting: &Waiting,
    generation: Option<i64>,
    now: &Time,
) -> Result<ChangeTicketStatus, crate::cluster::TimeOutOfRange> {
    let mut desired = status.clone();
    desired.scheduled_for = waiting.scheduled_for.map(crate::cluster::time).transpose()?;
    desired.observed_generation = generation;
    desired.conditions = vec![conditions::ready(
        &status.conditions,
        waiting.ready,
        waiting.reason,
        waiting.message.clone(),
        generation,
        now.clone(),
    )];
    Ok(desired)
}

fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now)
        .to_std()
        .unwrap_or_default()
        .clamp(Duration::from_millis(10), LONGEST_WAIT)
}

async fn write(ctx: &Context, ticket: &ChangeTicket, status: ChangeTicketStatus) -> Result<(), Failure> {
    ctx.tickets
        .write_status(ticket, status)
        .await
        .map(|_| ())
        .map_err(|source| {
            failure(source, |source| Error::WriteTicket {
                namespace: ticket.namespace().unwrap_or_default(),
                name: ticket.name_any(),
                source,
            })
        })
}

/// Counts a phase change and publishes it as an Event on the ticket and on
/// its workload. The scanner calls it for the tickets it ends.
pub(crate) async fn announce(ctx: &Context, ticket: &ChangeTicket, moved: &Move) {
    ctx.metrics
        .ticket_transitions
        .get_or_create(&vec![
            ("phase", moved.to.as_str().to_owned()),
            ("type", ticket.spec.change_type.as_str().to_owned()),
        ])
        .inc();
    let warning = matches!(
        moved.to,
        TicketPhase::Failed | TicketPhase::Expired | TicketPhase::RolledBack | TicketPhase::Interrupted
    );
    ctx.events
        .publish(
            &ticket.object_ref(&()),
            Notice {
                warning,
                reason: moved.to.as_str(),
                action: "Ticket",
                note: moved.message.clone(),
            },
        )
        .await;
    let workload = workload_reference(ticket);
    ctx.events
        .publish(
            &workload,
            Notice {
                warning,
                reason: moved.to.as_str(),
                action: "Ticket",
                note: format!(
                    "ChangeTicket {} ({}, {}) is {}: {}",
                    ticket.name_any(),
                    ticket.spec.change_type.as_str(),
                    ticket.spec.summary,
                    moved.to,
                    moved.message
                ),
            },
        )
        .await;
}

/// The ticket's workload, for Events.
fn workload_reference(ticket: &ChangeTicket) -> ObjectReference {
    ObjectReference {
        api_version: Some(
            match ticket.spec.workload.kind {
                crate::api::workload::WorkloadKind::CronJob => "batch/v1",
                _ => "apps/v1",
            }
            .to_owned(),
        ),
        kind: Some(ticket.spec.workload.kind.as_str().to_owned()),
        name: Some(ticket.spec.workload.name.clone()),
        namespace: ticket.namespace(),
        ..ObjectReference::default()
    }
}

/// Sets `refit_tickets` from the watch store.
pub(crate) fn count_tickets(ctx: &Context) {
    let mut counts: std::collections::BTreeMap<(&str, &str), i64> = std::collections::BTreeMap::new();
    for ticket in ctx.stores.tickets.state().iter().filter(|t| is_refits(t)) {
        *counts
            .entry((phase(ticket).as_str(), ticket.spec.change_type.as_str()))
            .or_default() += 1;
    }
    ctx.metrics.tickets.clear();
    for ((phase, change_type), count) in counts {
        ctx.metrics
            .tickets
            .get_or_create(&vec![("phase", phase.to_owned()), ("type", change_type.to_owned())])
            .set(count);
    }
}

fn key(ticket: &ChangeTicket) -> String {
    format!("{}/{}", ticket.namespace().unwrap_or_default(), ticket.name_any())
}

/// After a failed reconcile: count it and retry with back-off.
pub fn error_policy(ticket: Arc<ChangeTicket>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failure(CONTROLLER, error.metric_label());
    let wait = ctx.backoff.failed(&format!("{CONTROLLER}/{}", key(&ticket)));
    tracing::warn!(ticket = %key(&ticket), %error, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

/// The tickets of `window`, for the controller to look at again when the
/// window changes (it opened, closed, or a slot was given back).
pub fn of_window(
    window: &ChangeWindow,
    tickets: &kube::runtime::reflector::Store<ChangeTicket>,
) -> Vec<ObjectRef<ChangeTicket>> {
    let name = window.name_any();
    tickets
        .state()
        .iter()
        .filter(|t| t.spec.window == name && phase(t) != TicketPhase::InProgress && !phase(t).is_terminal())
        .map(|t| ObjectRef::from_obj(&**t))
        .collect()
}

/// The waiting tickets of `policy`, for the controller to look at again
/// when the policy changes (its mode, expiry or rollout settings).
pub fn of_policy(
    policy: &PatchPolicy,
    tickets: &kube::runtime::reflector::Store<ChangeTicket>,
) -> Vec<ObjectRef<ChangeTicket>> {
    let name = policy.name_any();
    tickets
        .state()
        .iter()
        .filter(|t| t.spec.policy == name && phase(t).is_waiting())
        .map(|t| ObjectRef::from_obj(&**t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(name: &str, phase: TicketPhase, policy: &str) -> Listed {
        (name.to_owned(), phase, policy.to_owned())
    }

    #[test]
    fn a_slot_of_a_finished_or_deleted_ticket_is_given_back() {
        let holders = vec![
            "shop/deployment-web-1".to_owned(),
            "shop/deployment-api-2".to_owned(),
            "shop/deployment-gone-3".to_owned(),
        ];
        let under_window = vec![
            ticket("shop/deployment-web-1", TicketPhase::InProgress, "web"),
            ticket("shop/deployment-api-2", TicketPhase::Succeeded, "web"),
        ];
        let (kept, load) = count("shop/deployment-new-4", &holders, &under_window, &under_window, None);
        assert_eq!(kept, ["shop/deployment-web-1"]);
        assert_eq!(load, Load { window: 1, policy: 1 });
    }

    #[test]
    fn a_change_in_progress_counts_whether_or_not_it_holds_a_slot() {
        let under_window = vec![
            ticket("shop/deployment-web-1", TicketPhase::InProgress, "web"),
            ticket("shop/deployment-api-2", TicketPhase::InProgress, "api"),
        ];
        let (kept, load) = count("shop/deployment-new-4", &[], &under_window, &under_window[..1], None);
        assert!(kept.is_empty());
        assert_eq!(load, Load { window: 2, policy: 1 });
    }

    #[test]
    fn a_claim_being_made_counts_and_the_tickets_own_does_not() {
        // Another replica took a slot for a ticket it has not moved yet;
        // this ticket took one before refit restarted.
        let holders = vec!["shop/deployment-api-2".to_owned(), "shop/deployment-me-5".to_owned()];
        let under_window = vec![
            ticket("shop/deployment-api-2", TicketPhase::Scheduled, "web"),
            ticket("shop/deployment-me-5", TicketPhase::Scheduled, "web"),
        ];
        let (kept, load) = count("shop/deployment-me-5", &holders, &under_window, &under_window, None);
        assert_eq!(kept, holders);
        assert_eq!(load, Load { window: 1, policy: 1 });
    }

    #[test]
    fn a_slot_held_in_a_namespace_refit_does_not_watch_is_kept() {
        let holders = vec![
            "billing/deployment-ledger-1".to_owned(),
            "shop/deployment-gone-3".to_owned(),
        ];
        let (kept, load) = count("shop/deployment-me-5", &holders, &[], &[], Some("shop"));
        assert_eq!(kept, ["billing/deployment-ledger-1"]);
        assert_eq!(load.window, 1);
    }
}
