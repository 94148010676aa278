//! The PatchPolicy reconciler, a pipeline of three steps:
//!
//! 1. validate (no client required): [`super::validate::validate`];
//! 2. publish status: the `Ready` condition (`False` with reason
//!    `InvalidSpec` and every problem named by its field), the counts of
//!    the latest scan and the overlaps with other policies, written only
//!    when they change; an Event when the policy becomes invalid (or valid
//!    again);
//! 3. hand over to the scanner, which scans at `scanInterval` and never
//!    acts on an invalid policy.
//!
//! The scanner publishes status through the same function, so both write
//! the whole status and never undo each other's fields.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};

use super::{
    Context, conditions,
    error::Error,
    validate::{ValidPolicy, message, validate},
};
use crate::{
    api::{
        PatchPolicy, PatchPolicyStatus,
        conditions::reasons,
        patch_policy::{FirstSeenRepository, PolicyOverlap},
    },
    cluster::{events::Notice, status::apply_status, time},
    core::{duration, policy::SpecError},
    lock::Lock,
    telemetry::metrics::label,
};

/// The controller's name in metrics.
pub const CONTROLLER: &str = "patchpolicy";

/// How often a valid policy is reconciled without a change (its scans are
/// scheduled by the scanner; this only repairs missed events).
const RESYNC: Duration = Duration::from_secs(3600);

/// What the latest scan found for a policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicySummary {
    /// Workloads it governs.
    pub matched: i32,
    /// Of those, with an outdated container.
    pub outdated: i32,
    /// Of those, with drift.
    pub drifted: i32,
    /// Their ChangeTickets that have not finished.
    pub open_tickets: i32,
    /// When its workloads were last all checked.
    pub last_scan: Option<Time>,
    /// Other policies matching some of the same workloads.
    pub overlaps: Vec<PolicyOverlap>,
    /// The scanner's records of first sightings (for `minAge`); `None`
    /// until it has them, and the status keeps the ones it shows.
    pub first_seen: Option<Vec<FirstSeenRepository>>,
}

/// Reconciles one PatchPolicy.
#[tracing::instrument(skip_all, fields(policy = %policy.name_any()))]
pub async fn reconcile(policy: Arc<PatchPolicy>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    ctx.metrics
        .reconciles
        .get_or_create(&label("controller", CONTROLLER))
        .inc();
    let name = policy.metadata.name.clone().ok_or(Error::MissingName)?;

    // validate (no client required)
    let validation = validate(&policy.spec);

    // publish status, and an Event when the verdict changes
    let before = policy
        .status
        .as_ref()
        .and_then(|s| conditions::find_ready(&s.conditions))
        .map(|c| (c.reason.clone(), c.message.clone()));
    publish_status(&ctx, &policy).await?;
    let notice = match (&validation, &before) {
        (Err(errors), before) => {
            ctx.metrics.failure(CONTROLLER, "invalid_spec");
            let text = message(errors);
            let unchanged = before
                .as_ref()
                .is_some_and(|(reason, message)| reason == reasons::INVALID_SPEC && *message == text);
            (!unchanged).then(|| Notice {
                warning: true,
                reason: reasons::INVALID_SPEC,
                action: "Validate",
                note: format!("refit ignores this policy until its spec is fixed: {text}"),
            })
        }
        (Ok(_), Some((reason, _))) if reason == reasons::INVALID_SPEC => Some(Notice {
            warning: false,
            reason: "SpecAccepted",
            action: "Validate",
            note: "the spec is valid again; its workloads are scanned".into(),
        }),
        (Ok(_), _) => None,
    };
    if let Some(notice) = notice {
        ctx.events.publish(&policy.object_ref(&()), notice).await;
    }

    // hand over to the scanner
    ctx.policies_changed.notify_one();
    ctx.backoff.succeeded(&format!("{CONTROLLER}/{name}"));
    ctx.metrics
        .reconcile_duration
        .get_or_create(&label("controller", CONTROLLER))
        .observe(started.elapsed().as_secs_f64());
    Ok(match validation {
        Ok(_) => Action::requeue(RESYNC),
        Err(_) => Action::await_change(),
    })
}

/// After a failed reconcile: count it and retry with back-off.
pub fn error_policy(policy: Arc<PatchPolicy>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failure(CONTROLLER, error.metric_label());
    let wait = ctx.backoff.failed(&format!("{CONTROLLER}/{}", policy.name_any()));
    tracing::warn!(policy = %policy.name_any(), %error, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

/// Writes the policy's status if it differs from what the object shows
/// (or from what refit last wrote, while the watch has not caught up).
pub async fn publish_status(ctx: &Context, policy: &PatchPolicy) -> Result<(), Error> {
    let name = policy.metadata.name.as_deref().ok_or(Error::MissingName)?;
    let mut applied = ctx.policy_status.lock().await;
    let validation = validate(&policy.spec);
    let summary = ctx.summaries.locked().get(name).cloned();
    let desired = desired_status(policy, &validation, summary.as_ref(), time(Utc::now())?);
    if policy.status.as_ref().is_some_and(|current| same(current, &desired)) {
        return Ok(());
    }
    if let Some((version, last)) = applied.get(name)
        && *version == policy.metadata.resource_version
        && same(last, &desired)
    {
        return Ok(());
    }
    let api: Api<PatchPolicy> = Api::all(ctx.client.clone());
    apply_status(&api, name, &desired)
        .await
        .map_err(|source| Error::WriteStatus {
            kind: "PatchPolicy",
            name: name.to_owned(),
            source,
        })?;
    applied.insert(name.to_owned(), (policy.metadata.resource_version.clone(), desired));
    Ok(())
}

/// Equal but for the conditions' transition times.
fn same(a: &PatchPolicyStatus, b: &PatchPolicyStatus) -> bool {
    let strip = |status: &PatchPolicyStatus| {
        let mut status = status.clone();
        for condition in &mut status.conditions {
            condition.last_transition_time = Time(Default::default());
        }
        status
    };
    strip(a) == strip(b)
}

/// The status a policy should show. Pure.
pub fn desired_status(
    policy: &PatchPolicy,
    validation: &Result<ValidPolicy, Vec<SpecError>>,
    summary: Option<&PolicySummary>,
    now: Time,
) -> PatchPolicyStatus {
    let generation = policy.metadata.generation;
    let previous = policy.status.clone().unwrap_or_default();
    let (ready, reason, text) = match validation {
        Ok(valid) => (
            true,
            reasons::RECONCILED,
            format!(
                "the spec is valid; governed workloads are scanned every {}",
                duration::format(valid.scan_interval)
            ),
        ),
        Err(errors) => (false, reasons::INVALID_SPEC, message(errors)),
    };
    let condition = conditions::ready(&previous.conditions, ready, reason, text, generation, now);
    let last_scan = summary.and_then(|s| s.last_scan.clone()).or(previous.last_scan);
    // Records of first sightings outlive an invalid spec and a restart:
    // losing them would restart every soak.
    let first_seen = summary
        .and_then(|s| s.first_seen.clone())
        .unwrap_or(previous.first_seen);
    let mut status = PatchPolicyStatus {
        last_scan,
        first_seen,
        observed_generation: generation,
        conditions: vec![condition],
        ..PatchPolicyStatus::default()
    };
    if let (Ok(_), Some(summary)) = (validation, summary) {
        status.matched_workloads = summary.matched;
        status.outdated_workloads = summary.outdated;
        status.drifted_workloads = summary.drifted;
        status.open_tickets = summary.open_tickets;
        status.overlaps = summary.overlaps.clone();
    }
    status
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid"))
    }

    fn policy(spec: serde_json::Value) -> PatchPolicy {
        let mut policy = PatchPolicy::new("web", serde_json::from_value(spec).expect("spec"));
        policy.metadata.generation = Some(3);
        policy
    }

    #[test]
    fn an_invalid_policy_is_not_ready_and_shows_no_counts() {
        let invalid = policy(serde_json::json!({"images": [{"match": "nginx", "constraint": "> one"}]}));
        let summary = PolicySummary {
            matched: 4,
            ..PolicySummary::default()
        };
        let status = desired_status(&invalid, &validate(&invalid.spec), Some(&summary), at(10));
        assert_eq!(status.matched_workloads, 0);
        let ready = &status.conditions[0];
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "InvalidSpec"));
        assert!(
            ready
                .message
                .starts_with("spec.images[0].constraint: `> one` is not a semver range"),
            "{}",
            ready.message
        );
        assert_eq!(status.observed_generation, Some(3));
    }

    #[test]
    fn a_valid_policy_shows_the_latest_scan() {
        let valid = policy(serde_json::json!({"scanInterval": "30m"}));
        let summary = PolicySummary {
            matched: 2,
            outdated: 1,
            drifted: 0,
            open_tickets: 1,
            last_scan: Some(at(5)),
            overlaps: vec![PolicyOverlap {
                policy: "other".into(),
                workloads: 1,
                governed_here: 1,
            }],
            first_seen: None,
        };
        let status = desired_status(&valid, &validate(&valid.spec), Some(&summary), at(10));
        assert_eq!((status.matched_workloads, status.outdated_workloads), (2, 1));
        assert_eq!(status.last_scan, Some(at(5)));
        assert_eq!(status.overlaps.len(), 1);
        assert_eq!(
            status.conditions[0].message,
            "the spec is valid; governed workloads are scanned every 30m"
        );
    }

    #[test]
    fn first_sightings_the_status_shows_stay_until_the_scanner_has_its_own() {
        let mut valid = policy(serde_json::json!({"images": [{"match": "nginx", "minAge": "3d"}]}));
        let shown = vec![FirstSeenRepository {
            repository: "docker.io/library/nginx".into(),
            first_listed: at(100),
            tags: [("1.31.4-alpine".to_owned(), at(200))].into(),
        }];
        valid.status = Some(PatchPolicyStatus {
            first_seen: shown.clone(),
            ..PatchPolicyStatus::default()
        });
        // After a start, before the first scan: no summary.
        let status = desired_status(&valid, &validate(&valid.spec), None, at(300));
        assert_eq!(status.first_seen, shown);
        // A summary without records (the scanner has none for it) keeps them too.
        let counts_only = PolicySummary::default();
        let status = desired_status(&valid, &validate(&valid.spec), Some(&counts_only), at(300));
        assert_eq!(status.first_seen, shown);
        // The scanner's records replace them, pruned ones included.
        let scanned = PolicySummary {
            first_seen: Some(vec![]),
            ..PolicySummary::default()
        };
        let status = desired_status(&valid, &validate(&valid.spec), Some(&scanned), at(300));
        assert_eq!(status.first_seen, vec![]);
    }
}
