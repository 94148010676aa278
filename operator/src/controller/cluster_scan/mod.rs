//! The scan loop. It owns when scans happen:
//!
//! - at start, once every watch has listed the cluster, and whenever a
//!   PatchPolicy is created, changed or deleted: a scan of every valid
//!   policy (trigger `policy`);
//! - when a policy's `scanInterval` has passed since its last scan: a scan
//!   of the policies due (trigger `interval`);
//! - after workloads or their pods changed and then stayed quiet for
//!   `workloadDebounce` (at most four times that after the first change):
//!   the workloads whose template or running images changed, or that
//!   changed policy, are evaluated again (trigger `workloads`);
//! - after a scan in which a step failed transiently (a write the API
//!   server refused, a ConfigMap it did not answer for), again with
//!   back-off ([`outcome::next_retry`]).
//!
//! What a scan does is in [`pass`]. Between scans the loop sleeps until the
//! next of these instants or a poke; it never polls the API server.

mod baselines;
mod cleanup;
mod findings;
mod first_seen;
mod outcome;
mod pass;
mod tickets;
mod unauthorized;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use self::outcome::ScanOutcome;
use super::{Context, Error, Shutdown};
use crate::{
    api::{DriftReport, DriftReportStatus},
    cluster::{Now, snapshot::WorkloadKey},
};

/// The controller name scan failures are counted under.
pub(super) const SCANNER: &str = "scanner";

/// Why a scan runs; also its metrics label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Start, or a policy changed: every valid policy.
    Policy,
    /// These policies' intervals passed.
    Interval(BTreeSet<String>),
    /// Workloads changed: only what changed.
    Workloads,
}

impl Trigger {
    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Trigger::Policy => "policy",
            Trigger::Interval(_) => "interval",
            Trigger::Workloads => "workloads",
        }
    }
}

/// What the loop remembers between scans.
#[derive(Debug, Default)]
pub struct ScanState {
    /// Every policy's generation as of the latest policy scan.
    policy_generations: BTreeMap<String, Option<i64>>,
    /// When each valid policy is due.
    next_due: HashMap<String, Instant>,
    /// Per governed workload: what it was last evaluated with and found.
    evaluated: HashMap<WorkloadKey, Evaluated>,
    /// Reports refit wrote whose watch event may not have arrived yet:
    /// (namespace, name) → (resourceVersion before the write, the report
    /// as written).
    written: HashMap<(String, String), (Option<String>, DriftReport)>,
    /// The first and the latest unprocessed workload change.
    changes: Option<(Instant, Instant)>,
    /// Scans in a row that need a retry, and when to retry.
    retry: Option<(u32, Instant)>,
    /// Per valid policy: when it first saw each tag (for `minAge`).
    first_seen: first_seen::FirstSeenByPolicy,
}

/// A workload's latest evaluation.
#[derive(Debug, Clone)]
struct Evaluated {
    /// [`WorkloadSnapshot::fingerprint`](crate::cluster::snapshot::WorkloadSnapshot::fingerprint)
    /// of the inputs.
    fingerprint: u64,
    /// The governing policy and its generation.
    policy: (String, Option<i64>),
    /// What was found.
    status: DriftReportStatus,
    /// The names of its open tickets afterwards: a ticket that ends (or a
    /// new one) makes the report's links stale, so the workload is
    /// evaluated again.
    tickets: Vec<String>,
    /// How many of them belong to the governing policy (its
    /// `status.openTickets` counts them).
    own_tickets: usize,
    /// Whether every input was read; `false` after a transient failure
    /// (a runtime baseline's ConfigMap could not be read), so the retry
    /// evaluates it again although nothing changed.
    complete: bool,
}

impl ScanState {
    /// The report as refit last knows it: the store's copy, unless refit
    /// wrote it since and the store has not caught up.
    fn report(&self, ctx: &Context, namespace: &str, name: &str) -> Option<Arc<DriftReport>> {
        let stored = ctx.stores.reports.get(&ObjectRef::new(name).within(namespace));
        match self.written.get(&(namespace.to_owned(), name.to_owned())) {
            Some((before, written)) if stored.as_ref().map(|r| &r.metadata.resource_version) == Some(before) => {
                Some(Arc::new(written.clone()))
            }
            Some((None, written)) if stored.is_none() => Some(Arc::new(written.clone())),
            _ => stored,
        }
    }

    /// Forgets written copies the store has caught up with.
    fn settle(&mut self, ctx: &Context) {
        self.written.retain(|(namespace, name), (before, _)| {
            let stored = ctx.stores.reports.get(&ObjectRef::new(name).within(namespace));
            match stored {
                Some(report) => report.metadata.resource_version == *before,
                None => before.is_none(),
            }
        });
    }

    fn note_change(&mut self, now: Instant) {
        self.changes = Some(match self.changes {
            Some((first, _)) => (first, now),
            None => (now, now),
        });
    }

    /// When the pending workload changes are due: `debounce` after the
    /// latest, at most four debounces after the first.
    fn changes_due(&self, debounce: Duration) -> Option<Instant> {
        self.changes
            .map(|(first, latest)| (latest + debounce).min(first + debounce * 4))
    }
}

/// Runs scans until `shutdown` fires.
pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let stop = shutdown.clone().wait();
    tokio::pin!(stop);
    tokio::select! {
        ready = async { (ctx.stores.wait_until_ready().await, ctx.policies.wait_until_ready().await) } => {
            if ready.0.is_err() || ready.1.is_err() {
                tracing::error!("the watches stopped before they listed the cluster");
                return;
            }
        }
        () = &mut stop => return,
    }
    ctx.readiness.set_ready();
    ctx.metrics.caches_synced.set(1);
    tracing::info!("the watches have listed the cluster; scanning");
    let mut state = ScanState::default();
    loop {
        if shutdown.is_triggered() {
            break;
        }
        let now = Instant::now();
        let generations = policy_generations(&ctx);
        let trigger = if generations != state.policy_generations {
            state.policy_generations = generations;
            Some(Trigger::Policy)
        } else {
            let due: BTreeSet<String> = state
                .next_due
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(name, _)| name.clone())
                .collect();
            let changes_due = state
                .changes_due(ctx.settings.workload_debounce)
                .is_some_and(|at| at <= now);
            let retry_due = state.retry.is_some_and(|(_, at)| at <= now);
            if !due.is_empty() {
                Some(Trigger::Interval(due))
            } else if changes_due || retry_due {
                Some(Trigger::Workloads)
            } else {
                None
            }
        };
        if let Some(trigger) = trigger {
            let now = match Now::read() {
                Ok(now) => now,
                Err(error) => {
                    // Nothing can be written without a timestamp: no step
                    // runs. Wait, with back-off, for the clock to be set
                    // right; here, as the trigger stays due.
                    let stopped = ScanOutcome {
                        failures: vec![Error::from(error)],
                        ..ScanOutcome::default()
                    };
                    stopped.record(&ctx.metrics);
                    state.retry = outcome::next_retry(state.retry, true, Instant::now());
                    if trigger == Trigger::Policy {
                        // Still to do once the clock is right.
                        state.policy_generations.clear();
                    }
                    tokio::select! {
                        () = sleep_until(state.retry.map(|(_, at)| at)) => {}
                        () = &mut stop => break,
                    }
                    continue;
                }
            };
            if trigger == Trigger::Workloads {
                state.changes = None;
            }
            let outcome = pass::scan(&ctx, &mut state, &trigger, &now).await;
            state.retry = outcome::next_retry(state.retry, outcome.needs_retry(), Instant::now());
            continue;
        }
        let wake = state
            .next_due
            .values()
            .copied()
            .chain(state.changes_due(ctx.settings.workload_debounce))
            .chain(state.retry.map(|(_, at)| at))
            .min();
        tokio::select! {
            () = sleep_until(wake) => {}
            () = ctx.policies_changed.notified() => {}
            () = ctx.cluster_changed.notified() => state.note_change(Instant::now()),
            () = &mut stop => break,
        }
    }
    tracing::info!("the scanner stopped");
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Every policy's generation.
fn policy_generations(ctx: &Context) -> BTreeMap<String, Option<i64>> {
    ctx.policies
        .state()
        .iter()
        .filter_map(|p| Some((p.metadata.name.clone()?, p.metadata.generation)))
        .collect()
}
