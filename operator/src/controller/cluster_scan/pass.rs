//! One scan, as a pipeline:
//!
//! 1. read (no client required): the cluster snapshot from the watch
//!    stores (objects without a name, namespace or uid left out, counted
//!    and logged), every policy validated (invalid ones take no part);
//! 2. govern: which valid policy governs which workload (`core::governance`);
//! 3. choose: the workloads to evaluate (all of the policies scanned, plus
//!    any whose inputs or policy changed since their last evaluation);
//! 4. gather: per policy, one registry pass for the distinct repositories
//!    of its workloads (the resolver's caches and single-flight make a
//!    repository shared by several policies cost one request), keeping the
//!    policy's records of first sightings for `minAge` ([`first_seen`]:
//!    pruned only when the scan covers the whole policy);
//! 5. evaluate (`core::drift::Evaluator`), plan the workload's tickets
//!    (`core::planning`: create, supersede, cancel; see [`super::tickets`]),
//!    record changes someone else made to its images ([`unauthorized`]),
//!    and write each DriftReport, linking its open tickets, only when its
//!    content changed, with an Event for each container that became
//!    outdated or drifted; a workload annotated `refit.dev/ignore` is not
//!    evaluated, and its report only says so;
//! 6. clean up reports of workloads no valid policy governs any more, and
//!    cancel their waiting tickets (never for a policy that is only
//!    invalid: refit does not act on it);
//! 7. publish: policy status (counts, overlaps, last scan) and metrics.
//!
//! A step that fails for one object (a report that cannot be written, a
//! policy whose status cannot be published) does not stop the others: the
//! failure is collected in the [`ScanOutcome`], counted and logged at the
//! end, and the loop decides from it whether to scan again.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use kube::ResourceExt;
use tokio::time::Instant;

use super::{
    Evaluated, ScanState, Trigger, baselines,
    cleanup::delete_stale,
    findings::{notices, ready_message, reference},
    first_seen,
    outcome::ScanOutcome,
    tickets::{carry_out, link, of_policy, open_names, withdraw_orphans},
    unauthorized,
};
use crate::{
    api::{
        DriftReportStatus, PatchPolicy,
        drift_report::{FindingState, OptOut},
        patch_policy::PolicyOverlap,
        workload::WorkloadRef,
    },
    cluster::{
        Now,
        reports::{DesiredReport, report_status, writes_needed},
        snapshot::{ClusterSnapshot, WorkloadKey, WorkloadSnapshot},
        tickets::by_workload,
    },
    controller::{
        Context,
        error::Error,
        policy::{PolicySummary, publish_status},
        registry_access::SecretRef,
        tickets::count_tickets,
        validate::{ValidPolicy, validate},
    },
    core::{
        drift::{EvaluationContext, Evaluator},
        governance::{Governance, PolicyScope, WorkloadScope, govern},
        planning::{
            ExistingTicket, IGNORE_ANNOTATION, Plan, PlanningPolicy, plan, rolled_back_tags, unauthorized::listed,
            withdraw,
        },
    },
    lock::Lock,
    registry::{Resolver, gather},
    telemetry::metrics::label,
};

/// Runs one scan at `now`; returns what it did and every step that failed.
#[tracing::instrument(skip_all, fields(trigger = trigger.label()))]
pub(super) async fn scan(ctx: &Context, state: &mut ScanState, trigger: &Trigger, now: &Now) -> ScanOutcome {
    let started = std::time::Instant::now();
    let mut outcome = ScanOutcome::default();
    state.settle(ctx);

    // 1. read (no client required)
    let snapshot = ClusterSnapshot::read(&ctx.stores);
    for object in &snapshot.skipped {
        ctx.metrics.skipped(object.kind, object.reason.label());
        tracing::warn!(
            kind = object.kind,
            namespace = object.namespace.as_deref(),
            name = object.name.as_deref(),
            reason = object.reason.label(),
            "an object without a name, namespace or uid is left out of the scan"
        );
    }
    let tickets = by_workload(&ctx.stores.tickets);
    let mut policies: Vec<Arc<PatchPolicy>> = ctx.policies.state();
    policies.sort_by_key(|p| p.name_any());
    let mut valid: Vec<(Arc<PatchPolicy>, ValidPolicy)> = Vec::new();
    let mut invalid: BTreeSet<String> = BTreeSet::new();
    for policy in &policies {
        match validate(&policy.spec) {
            Ok(compiled) => valid.push((policy.clone(), compiled)),
            Err(_) => {
                invalid.insert(policy.name_any());
            }
        }
    }

    // 2. govern
    let names: Vec<String> = valid.iter().map(|(p, _)| p.name_any()).collect();
    let scopes: Vec<PolicyScope<'_>> = valid
        .iter()
        .zip(&names)
        .map(|((policy, _), name)| PolicyScope {
            name,
            priority: policy.spec.priority,
            namespace_selector: policy.spec.namespace_selector.as_ref(),
            selector: policy.spec.selector.as_ref(),
            kinds: &policy.spec.kinds,
        })
        .collect();
    let workload_scopes: Vec<WorkloadScope<'_>> = snapshot
        .workloads
        .iter()
        .map(|w| WorkloadScope {
            kind: w.key.kind,
            labels: &w.labels,
            namespace_labels: snapshot.namespaces.get(&w.key.namespace),
        })
        .collect();
    let governance = govern(&scopes, &workload_scopes);

    // 3. choose
    let full: BTreeSet<usize> = match trigger {
        Trigger::Policy => (0..valid.len()).collect(),
        Trigger::Interval(due) => (0..valid.len()).filter(|&p| due.contains(&names[p])).collect(),
        Trigger::Workloads => BTreeSet::new(),
    };
    let mut todo: BTreeMap<usize, Vec<&WorkloadSnapshot>> = BTreeMap::new();
    let mut governed: HashMap<WorkloadKey, usize> = HashMap::new();
    for (workload, governor) in snapshot.workloads.iter().zip(&governance.governor) {
        let Some(p) = *governor else { continue };
        governed.insert(workload.key.clone(), p);
        let policy = (names[p].clone(), valid[p].0.metadata.generation);
        let open = open_names(tickets.get(&workload.key).map_or(&[][..], Vec::as_slice));
        let fresh = state.evaluated.get(&workload.key).is_some_and(|e| {
            e.complete && e.fingerprint == workload.fingerprint() && e.policy == policy && e.tickets == open
        });
        if full.contains(&p) || !fresh {
            todo.entry(p).or_default().push(workload);
        }
    }
    let secrets: BTreeSet<SecretRef> = snapshot
        .workloads
        .iter()
        .filter(|w| governed.contains_key(&w.key))
        .flat_map(|w| w.pull_secrets.iter().map(|s| (w.key.namespace.clone(), s.clone())))
        .collect();
    let refresh = !matches!(trigger, Trigger::Workloads);
    let resolver = ctx.registry.resolver(&ctx.client, secrets, refresh).await;

    // 4.–5. gather, evaluate, write
    for (p, workloads) in &todo {
        let (policy, compiled) = &valid[*p];
        evaluate_policy(
            ctx,
            state,
            &resolver,
            &snapshot,
            policy,
            full.contains(p),
            compiled,
            workloads,
            &tickets,
            &invalid,
            now,
            &mut outcome,
        )
        .await;
    }
    for p in full.iter().filter(|p| !todo.contains_key(p)) {
        first_seen::nothing_used(&mut state.first_seen, &valid[*p].0);
    }
    state.first_seen.retain(|name, _| names.contains(name));

    // 6. clean up
    let removed = delete_stale(ctx, state, &governed, &invalid, &now.time).await;
    outcome.failures.extend(removed);
    withdraw_orphans(ctx, &snapshot, &governed, &invalid, &tickets, now, &mut outcome).await;
    state.evaluated.retain(|key, _| governed.contains_key(key));

    // 7. publish
    let summaries = summarize(&valid, &names, &governance, &governed, state, &full, ctx, now);
    *ctx.summaries.locked() = summaries;
    for policy in &policies {
        if let Err(error) = publish_status(ctx, policy).await {
            outcome.failures.push(error);
        }
    }
    outcome.record(&ctx.metrics);
    record_metrics(ctx, state, governed.len());
    let interval = |p: usize| ctx.settings.scan_interval_override.unwrap_or(valid[p].1.scan_interval);
    for &p in &full {
        state.next_due.insert(names[p].clone(), Instant::now() + interval(p));
    }
    state.next_due.retain(|name, _| names.contains(name));
    let elapsed = started.elapsed();
    ctx.metrics
        .scans
        .get_or_create(&label("trigger", trigger.label()))
        .inc();
    ctx.metrics
        .scan_duration
        .get_or_create(&label("trigger", trigger.label()))
        .observe(elapsed.as_secs_f64());
    let (evaluated, writes, failed) = (outcome.evaluated, outcome.writes, outcome.failures.len());
    if matches!(trigger, Trigger::Workloads) {
        tracing::debug!(
            trigger = trigger.label(),
            evaluated,
            writes,
            failed,
            ?elapsed,
            "scan finished"
        );
    } else {
        tracing::info!(
            trigger = trigger.label(),
            policies = full.len(),
            governed = governed.len(),
            evaluated,
            writes,
            failed,
            ?elapsed,
            "scan finished"
        );
    }
    outcome
}

/// Steps 4 and 5 for one policy: gather, evaluate and write its workloads'
/// reports, adding what it did and what failed to `outcome`.
#[allow(clippy::too_many_arguments, reason = "one call site; the scan's parts, named")]
async fn evaluate_policy(
    ctx: &Context,
    state: &mut ScanState,
    resolver: &Resolver,
    snapshot: &ClusterSnapshot,
    policy: &PatchPolicy,
    full: bool,
    compiled: &ValidPolicy,
    workloads: &[&WorkloadSnapshot],
    tickets: &HashMap<WorkloadKey, Vec<ExistingTicket>>,
    invalid: &BTreeSet<String>,
    now: &Now,
    outcome: &mut ScanOutcome,
) {
    let name = policy.name_any();
    let planning = PlanningPolicy {
        name: &name,
        mode: policy.spec.mode,
        window: policy.spec.window_ref.as_deref(),
        can_rebuild: policy.spec.base_images.as_ref().is_some_and(|b| b.rebuild.is_some()),
    };
    let (baselines, unresolved) = baselines::resolve(&ctx.client, &name, policy.spec.runtime.as_ref(), snapshot).await;
    // A baseline that could not be read this time (not one that is
    // missing) leaves the evaluations incomplete: the retry does them again.
    let complete = !unresolved.iter().any(Error::is_transient);
    outcome.failures.extend(unresolved);
    let images: Vec<String> = workloads
        .iter()
        .filter(|w| w.opt_out != Some(OptOut::Ignored))
        .flat_map(|w| w.template.iter().map(|c| c.image.to_string()))
        .collect();
    // Tags a change of this policy was rolled back from are never proposed
    // again under it (rollbacks come with the change executor; the
    // tickets say which).
    let mine: Vec<ExistingTicket> = of_policy(tickets, &name).cloned().collect();
    let rolled_back = rolled_back_tags(&mine);
    let mut first_seen = first_seen::begin(&mut state.first_seen, policy);
    let facts = gather(
        resolver,
        &images,
        &compiled.rules,
        &rolled_back,
        now.at,
        Some(&mut first_seen),
    )
    .await;
    let mut evaluator = Evaluator::new(EvaluationContext {
        rules: &compiled.rules,
        check_base_images: compiled.check_base_images,
        baselines: &baselines,
        registry: &facts,
        nodes: &snapshot.nodes,
        rolled_back: &rolled_back,
        first_seen: Some(first_seen.records()),
        now: now.at,
    });
    for workload in workloads {
        outcome.evaluated += 1;
        let existing = tickets.get(&workload.key).map_or(&[][..], Vec::as_slice);
        let workload_ref = WorkloadRef {
            kind: workload.key.kind,
            name: workload.key.name.clone(),
        };
        // A waiting ticket of a policy that is only invalid holds the
        // workload's planning: refit does not act on an invalid policy's
        // tickets, nor around them.
        let held = existing
            .iter()
            .find(|t| t.phase.is_waiting() && invalid.contains(&t.spec.policy));
        let report_name = workload.key.report_name();
        let namespace = workload.key.namespace.clone();
        let current = state.report(ctx, &namespace, &report_name);
        let previous = current.as_ref().and_then(|r| r.status.as_ref());
        let (mut status, plan) = if workload.opt_out == Some(OptOut::Ignored) {
            let not_held: Vec<ExistingTicket> = existing
                .iter()
                .filter(|t| !invalid.contains(&t.spec.policy))
                .cloned()
                .collect();
            let ended = withdraw(
                &not_held,
                &format!("the workload is ignored ({IGNORE_ANNOTATION}: \"true\"): refit does not check it"),
            );
            (
                DriftReportStatus::default(),
                Plan {
                    end: ended,
                    ..Plan::default()
                },
            )
        } else {
            let findings = evaluator.evaluate(&workload.template, &workload.pods);
            let plan = match held {
                Some(ticket) => Plan {
                    notes: vec![format!(
                        "ticket {} of policy {}, which is invalid, holds planning",
                        ticket.name, ticket.spec.policy
                    )],
                    ..Plan::default()
                },
                None => plan(
                    &workload_ref,
                    &findings,
                    &planning,
                    workload.opt_out == Some(OptOut::Pinned),
                    existing,
                ),
            };
            let mut status = report_status(&findings);
            // Images changed since the report was written, by someone other
            // than refit, are recorded before the report moves on to them.
            let new = match previous {
                Some(previous) => {
                    match unauthorized::record_changes(ctx, workload, &name, planning.window, previous).await {
                        Ok(new) => new,
                        Err(error) => {
                            // The report stays as it was: the retry finds
                            // the change again.
                            outcome.failures.push(error);
                            continue;
                        }
                    }
                }
                None => Vec::new(),
            };
            status.unauthorized_changes = listed(previous.map_or(&[][..], |p| &p.unauthorized_changes), new);
            (status, plan)
        };
        let open = carry_out(ctx, &workload.key, &plan, existing, now, outcome).await;
        status.opt_out = workload.opt_out;
        link(&mut status, &open);
        let desired = DesiredReport {
            workload: workload.key.clone(),
            uid: workload.uid.clone(),
            policy: name.clone(),
            message: ready_message(&status, &name),
            status: status.clone(),
        };
        let writes = writes_needed(&desired, current.as_deref(), now.time.clone());
        if !writes.is_empty() {
            match ctx.reports.write(&desired, &writes).await {
                Ok(written) => {
                    outcome.writes += 1;
                    if writes.main {
                        ctx.metrics
                            .report_writes
                            .get_or_create(&label("operation", "apply"))
                            .inc();
                    }
                    if writes.status.is_some() {
                        ctx.metrics
                            .report_writes
                            .get_or_create(&label("operation", "status"))
                            .inc();
                    }
                    let before = current
                        .as_ref()
                        .map(|r| r.metadata.resource_version.clone())
                        .unwrap_or(None);
                    state
                        .written
                        .insert((namespace.clone(), report_name.clone()), (before, written));
                    let previous = current.as_ref().and_then(|r| r.status.as_ref());
                    for notice in notices(previous, &status) {
                        ctx.events.publish(&reference(workload), notice).await;
                    }
                }
                Err(source) => {
                    // Not recorded as evaluated: the retry writes it.
                    outcome.failures.push(Error::WriteReport {
                        namespace,
                        name: report_name,
                        source,
                    });
                    continue;
                }
            }
        }
        state.evaluated.insert(
            workload.key.clone(),
            Evaluated {
                fingerprint: workload.fingerprint(),
                policy: (name.clone(), policy.metadata.generation),
                status,
                tickets: open_names(&open),
                own_tickets: open.iter().filter(|t| t.spec.policy == name).count(),
                complete,
            },
        );
    }
    // Pruned only when every workload of the policy was evaluated.
    first_seen::end(&mut state.first_seen, policy, first_seen, full);
}

#[allow(clippy::too_many_arguments, reason = "one call site; the scan's parts, named")]
fn summarize(
    valid: &[(Arc<PatchPolicy>, ValidPolicy)],
    names: &[String],
    governance: &Governance,
    governed: &HashMap<WorkloadKey, usize>,
    state: &ScanState,
    full: &BTreeSet<usize>,
    ctx: &Context,
    now: &Now,
) -> HashMap<String, PolicySummary> {
    let previous = ctx.summaries.locked().clone();
    let mut summaries = HashMap::new();
    for (p, name) in names.iter().enumerate().take(valid.len()) {
        let mine = governed
            .iter()
            .filter(|(_, governor)| **governor == p)
            .map(|(key, _)| key);
        let (mut outdated, mut drifted, mut open_tickets) = (0, 0, 0usize);
        for key in mine {
            if let Some(evaluated) = state.evaluated.get(key) {
                outdated += i32::from(evaluated.status.outdated > 0);
                drifted += i32::from(evaluated.status.drifted > 0);
                open_tickets += evaluated.own_tickets;
            }
        }
        let last_scan = if full.contains(&p) {
            Some(now.time.clone())
        } else {
            previous.get(name).and_then(|s| s.last_scan.clone())
        };
        let overlaps = governance.overlaps[p]
            .iter()
            .map(|o| PolicyOverlap {
                policy: names[o.other].clone(),
                workloads: i32::try_from(o.workloads).unwrap_or(i32::MAX),
                governed_here: i32::try_from(o.governed_here).unwrap_or(i32::MAX),
            })
            .collect();
        summaries.insert(
            name.clone(),
            PolicySummary {
                matched: i32::try_from(governance.governed[p]).unwrap_or(i32::MAX),
                outdated,
                drifted,
                open_tickets: i32::try_from(open_tickets).unwrap_or(i32::MAX),
                last_scan,
                overlaps,
                first_seen: first_seen::published(&state.first_seen, name),
            },
        );
    }
    summaries
}

fn record_metrics(ctx: &Context, state: &ScanState, governed: usize) {
    let mut counts: BTreeMap<FindingState, i64> = BTreeMap::new();
    for evaluated in state.evaluated.values() {
        for container in &evaluated.status.containers {
            *counts.entry(container.state).or_default() += 1;
        }
    }
    ctx.metrics.findings.clear();
    for (state, count) in counts {
        ctx.metrics
            .findings
            .get_or_create(&label("state", format!("{state:?}")))
            .set(count);
    }
    ctx.metrics
        .governed_workloads
        .set(i64::try_from(governed).unwrap_or(i64::MAX));
    count_tickets(ctx);
}
