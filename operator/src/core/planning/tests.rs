//! Planning the storefront's tickets: what is created, what is left alone,
//! what is superseded, and names that never change for the same change.

use super::*;
use crate::{
    api::{drift_report::FindingState, workload::WorkloadKind},
    core::{
        drift::{PodFinding, PodRevision, Verdict},
        reference::Digest,
    },
};

const FROM: &str =
    "docker.io/library/nginx:1.29.8-alpine@sha256:04f1d36c34bb6d8740e2d58250e885c5ae1d4ad791e0a585122e6d7486e6a1cf";
const TO: &str =
    "docker.io/library/nginx:1.31.4-alpine@sha256:e7f03bfaba159f9541833d6f7bb988676c6d687f1a6963419a7c4a3a0088157b";
const TO_NEWER: &str =
    "docker.io/library/nginx:1.31.5-alpine@sha256:2c2f8739cf40587c0027e4abaffc16ad4bd5be7657b8c8d1b3b255af2abc0c09";

fn web() -> WorkloadRef {
    WorkloadRef {
        kind: WorkloadKind::Deployment,
        name: "web".into(),
    }
}

/// The verdict on nginx 1.29.8-alpine with a newer version `to` allowed.
fn outdated_verdict(to: &str) -> Verdict {
    Verdict {
        running_digests: Default::default(),
        state: FindingState::Outdated,
        candidate: Some(ImageReference::parse(to).expect("valid")),
        change_reason: Some(ChangeReason::NewerVersion),
        actionable: true,
        reason: "1.31.4-alpine is the newest allowed".into(),
        base: None,
        current: Some(ImageReference::parse(FROM).expect("valid")),
    }
}

fn finding(name: &str, verdict: Verdict) -> ContainerFinding {
    ContainerFinding {
        name: name.into(),
        init: false,
        injected: false,
        image: "nginx:1.29.8-alpine".into(),
        verdict: verdict.into(),
    }
}

fn outdated(name: &str, to: &str) -> ContainerFinding {
    finding(name, outdated_verdict(to))
}

fn findings(containers: Vec<ContainerFinding>) -> WorkloadFindings {
    WorkloadFindings {
        containers,
        ..WorkloadFindings::default()
    }
}

fn approve_policy() -> PlanningPolicy<'static> {
    PlanningPolicy {
        name: "storefront-web",
        mode: PolicyMode::Approve,
        window: Some("weekend-nights"),
        can_rebuild: true,
    }
}

/// The plan of an Approve policy for Deployment `web` with `containers`,
/// given the tickets that exist.
fn approve_plan(containers: Vec<ContainerFinding>, existing: &[ExistingTicket]) -> Plan {
    plan(&web(), &findings(containers), &approve_policy(), false, existing)
}

/// The verdict on nginx 1.29.8-alpine in `state`, with nothing to move to.
fn no_candidate(state: FindingState, reason: &str) -> Verdict {
    Verdict {
        state,
        candidate: None,
        change_reason: None,
        reason: reason.into(),
        ..outdated_verdict(TO)
    }
}

/// When the rolled-back tickets of these tests ended.
fn at_rollback() -> DateTime<Utc> {
    chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 3, 23, 40, 0)
        .single()
        .expect("a time")
}

fn existing(name: &str, phase: TicketPhase, spec: &ChangeTicketSpec) -> ExistingTicket {
    ExistingTicket {
        name: name.into(),
        phase,
        spec: spec.clone(),
        finished: phase.is_terminal().then(at_rollback),
    }
}

#[test]
fn an_outdated_container_becomes_one_rollout_ticket_awaiting_a_decision() {
    let plan = approve_plan(vec![outdated("web", TO)], &[]);
    assert_eq!(plan.create.len(), 1);
    let NewTicket { name, spec, .. } = &plan.create[0];
    assert!(name.starts_with("deployment-web-"), "{name}");
    assert_eq!(spec.change_type, ChangeType::Rollout);
    assert_eq!(spec.summary, "nginx 1.29.8-alpine→1.31.4-alpine");
    assert_eq!(
        spec.changes,
        [ContainerChange {
            container: "web".into(),
            init: false,
            from: FROM.into(),
            to: TO.into(),
            reason: ChangeReason::NewerVersion
        }]
    );
    assert_eq!(spec.window, "weekend-nights");
    assert_eq!(spec.approval, None, "Approve mode waits for a person");
}

#[test]
fn an_auto_policy_approves_its_own_tickets() {
    let policy = PlanningPolicy {
        mode: PolicyMode::Auto,
        ..approve_policy()
    };
    let plan = plan(&web(), &findings(vec![outdated("web", TO)]), &policy, false, &[]);
    let approval = plan.create[0].spec.approval.clone().expect("approved");
    assert!(approval.approved && !approval.rejected);
    assert_eq!(approval.by, "policy/storefront-web");
}

#[test]
fn report_mode_creates_nothing_and_says_why() {
    let policy = PlanningPolicy {
        mode: PolicyMode::Report,
        ..approve_policy()
    };
    let plan = plan(&web(), &findings(vec![outdated("web", TO)]), &policy, false, &[]);
    assert!(plan.create.is_empty());
    assert_eq!(plan.notes, ["policy storefront-web is in Report mode: findings only"]);
}

#[test]
fn the_same_change_always_gets_the_same_name() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let again = approve_plan(vec![outdated("web", TO)], &[]);
    assert_eq!(first.create[0].name, again.create[0].name);
    let other = approve_plan(vec![outdated("web", TO_NEWER)], &[]);
    assert_ne!(first.create[0].name, other.create[0].name);
    // Container order does not matter.
    let two = approve_plan(vec![outdated("web", TO), outdated("sidecar", TO_NEWER)], &[]);
    let swapped = approve_plan(vec![outdated("sidecar", TO_NEWER), outdated("web", TO)], &[]);
    assert_eq!(two.create[0].name, swapped.create[0].name);
}

#[test]
fn names_stay_dns_labels_for_long_workload_names() {
    let long = WorkloadRef {
        kind: WorkloadKind::StatefulSet,
        name: "a".repeat(200),
    };
    let plan = plan(
        &long,
        &findings(vec![outdated("web", TO)]),
        &approve_policy(),
        false,
        &[],
    );
    let name = &plan.create[0].name;
    assert!(name.len() + 3 <= TICKET_NAME_MAX, "{name} leaves room for a -NN suffix");
    assert!(name.starts_with("statefulset-aaa"));
}

#[test]
fn an_open_ticket_for_the_same_change_is_not_duplicated() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    for phase in [
        TicketPhase::Pending,
        TicketPhase::AwaitingApproval,
        TicketPhase::Scheduled,
    ] {
        // A scheduled ticket of an Approve policy was approved by a person.
        let mut spec = spec.clone();
        if phase == TicketPhase::Scheduled {
            spec.approval = Some(Approval {
                approved: true,
                rejected: false,
                by: "jana".into(),
                reason: None,
            });
        }
        let again = approve_plan(vec![outdated("web", TO)], &[existing(&name, phase, &spec)]);
        assert!(again.create.is_empty() && again.end.is_empty(), "{phase:?}");
        assert_eq!(
            again.notes,
            [format!(
                "ticket {name} already proposes nginx 1.29.8-alpine→1.31.4-alpine"
            )]
        );
    }
}

#[test]
fn a_newer_candidate_supersedes_a_waiting_ticket() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    let newer = approve_plan(
        vec![outdated("web", TO_NEWER)],
        &[existing(&name, TicketPhase::AwaitingApproval, &spec)],
    );
    assert_eq!(
        newer.end,
        [Ending {
            name: name.clone(),
            phase: TicketPhase::Superseded,
            message: format!(
                "superseded by ticket {}: nginx 1.29.8-alpine→1.31.5-alpine",
                newer.create[0].name
            ),
        }]
    );
    assert_eq!(
        newer.create[0].supersedes,
        [Superseded {
            name,
            approved_by: None
        }]
    );
    assert_eq!(newer.create.len(), 1);
    assert_eq!(newer.create[0].spec.summary, "nginx 1.29.8-alpine→1.31.5-alpine");
}

#[test]
fn nothing_new_starts_while_a_change_is_under_way() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    let newer = approve_plan(
        vec![outdated("web", TO_NEWER)],
        &[existing(&name, TicketPhase::InProgress, &spec)],
    );
    assert!(newer.create.is_empty() && newer.end.is_empty());
    assert_eq!(
        newer.notes,
        [format!(
            "nginx 1.29.8-alpine→1.31.5-alpine waits: ticket {name} is under way"
        )]
    );
}

#[test]
fn settled_changes_are_not_proposed_again() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    for phase in [
        TicketPhase::Succeeded,
        TicketPhase::Rejected,
        TicketPhase::RolledBack,
        TicketPhase::Failed,
        TicketPhase::Interrupted,
    ] {
        let again = approve_plan(vec![outdated("web", TO)], &[existing(&name, phase, &spec)]);
        assert!(again.create.is_empty(), "{phase:?}");
        assert_eq!(
            again.notes,
            [format!(
                "not proposing nginx 1.29.8-alpine→1.31.4-alpine again: ticket {name} ended {phase:?}"
            )]
        );
    }
}

#[test]
fn an_expired_change_is_proposed_again_under_the_next_name() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    let second = approve_plan(
        vec![outdated("web", TO)],
        &[existing(&name, TicketPhase::Expired, &spec)],
    );
    assert_eq!(second.create[0].name, format!("{name}-2"));
    let third = plan(
        &web(),
        &findings(vec![outdated("web", TO)]),
        &approve_policy(),
        false,
        &[
            existing(&name, TicketPhase::Expired, &spec),
            existing(&format!("{name}-2"), TicketPhase::Superseded, &spec),
        ],
    );
    assert_eq!(third.create[0].name, format!("{name}-3"));
}

#[test]
fn rolled_back_targets_are_remembered_as_bad_tags() {
    let first = approve_plan(vec![outdated("web", TO)], &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    let bad = rolled_back_tags(&[existing(&name, TicketPhase::RolledBack, &spec)]);
    assert_eq!(
        bad["docker.io/library/nginx"]["1.31.4-alpine"],
        RolledBack {
            ticket: name.clone(),
            at: at_rollback()
        }
    );
    assert_eq!(
        crate::core::selection::PassReason::RolledBack(bad["docker.io/library/nginx"]["1.31.4-alpine"].clone())
            .to_string(),
        format!("rolled back on 2026-12-03T23:40:00Z by ticket {name}")
    );
    assert!(rolled_back_tags(&[existing(&name, TicketPhase::Succeeded, &spec)]).is_empty());
}

#[test]
fn report_only_and_unpinnable_findings_are_not_planned() {
    let mut report_only = outdated_verdict(TO);
    report_only.actionable = false;
    let mut no_digest = outdated_verdict(TO);
    no_digest.change_reason = None;
    let plan = approve_plan(vec![finding("web", report_only), finding("app", no_digest)], &[]);
    assert!(plan.create.is_empty());
}

fn digest_of(seed: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{seed:02x}").repeat(32))).expect("valid")
}

#[test]
fn a_digest_drift_rolls_out_the_tags_new_digest() {
    let mut drift = outdated_verdict(TO);
    drift.state = FindingState::DigestDrift;
    drift.change_reason = Some(ChangeReason::DigestDrift);
    drift.current = Some(ImageReference::parse(&format!("nginx:1.31.4-alpine@{}", digest_of(1))).expect("valid"));
    drift.candidate = Some(ImageReference::parse(&format!("nginx:1.31.4-alpine@{}", digest_of(2))).expect("valid"));
    let plan = approve_plan(vec![finding("web", drift)], &[]);
    assert_eq!(plan.create[0].spec.summary, "nginx 1.31.4-alpine (digest 020202020202)");
    assert_eq!(plan.create[0].spec.changes[0].reason, ChangeReason::DigestDrift);
}

#[test]
fn an_outdated_base_asks_for_a_rebuild_only_with_a_target() {
    let mut base = outdated_verdict(TO);
    base.state = FindingState::BaseOutdated;
    base.change_reason = Some(ChangeReason::BaseImageOutdated);
    base.candidate = None;
    base.current = Some(ImageReference::parse("ghcr.io/acme/storefront:2.14.1").expect("valid"));
    base.base = Some(crate::api::drift_report::BaseImageFinding {
        name: "docker.io/library/node:22.21-alpine3.22".into(),
        built_on: Some(digest_of(1).to_string()),
        current: Some(digest_of(2).to_string()),
    });
    let base = finding("app", base);
    let with_target = plan(&web(), &findings(vec![base.clone()]), &approve_policy(), false, &[]);
    assert_eq!(with_target.create.len(), 1);
    let spec = &with_target.create[0].spec;
    assert_eq!(spec.change_type, ChangeType::Rebuild);
    assert_eq!(
        spec.changes[0].to,
        format!("docker.io/library/node:22.21-alpine3.22@{}", digest_of(2))
    );
    assert_eq!(
        spec.summary,
        format!(
            "rebuild storefront on docker.io/library/node:22.21-alpine3.22@{}",
            digest_of(2)
        )
    );

    let without = PlanningPolicy {
        can_rebuild: false,
        ..approve_policy()
    };
    assert!(
        plan(&web(), &findings(vec![base]), &without, false, &[])
            .create
            .is_empty()
    );
}

#[test]
fn hand_edited_pods_get_a_restart_and_unfinished_rollouts_or_cronjob_runs_do_not() {
    let pod = |name: &str, revision: PodRevision| PodFinding {
        pod: name.into(),
        container: "web".into(),
        init: false,
        image: "nginx:1.31.3-alpine".into(),
        template_image: "nginx:1.31.4-alpine".into(),
        running_digest: None,
        revision,
    };
    let mut workload = findings(vec![]);
    workload.pods = vec![pod("web-old-1", PodRevision::Earlier)];
    assert!(plan(&web(), &workload, &approve_policy(), false, &[]).create.is_empty());
    let job = PodRevision::CronJobRun {
        job: "web-29383920".into(),
    };
    workload.pods = vec![pod("web-29383920-x7k2p", job)];
    assert!(plan(&web(), &workload, &approve_policy(), false, &[]).create.is_empty());

    workload.pods = vec![
        pod("web-new-1", PodRevision::Current),
        pod("web-new-2", PodRevision::Current),
    ];
    let plan = plan(&web(), &workload, &approve_policy(), false, &[]);
    assert_eq!(plan.create.len(), 1);
    let spec = &plan.create[0].spec;
    assert_eq!(spec.change_type, ChangeType::Restart);
    assert_eq!(spec.summary, "restart web (pods changed by hand)");
    assert_eq!(spec.changes.len(), 1, "one change per container, however many pods");
    assert_eq!(spec.changes[0].reason, ChangeReason::UnauthorizedChange);
    assert_eq!(spec.changes[0].to, "nginx:1.31.4-alpine");
}

#[test]
fn rebuilds_of_different_images_do_not_supersede_each_other() {
    let rebuild = |container: &str| {
        let mut base = outdated_verdict(TO);
        base.state = FindingState::BaseOutdated;
        base.change_reason = Some(ChangeReason::BaseImageOutdated);
        base.candidate = None;
        base.base = Some(crate::api::drift_report::BaseImageFinding {
            name: "docker.io/library/node:22.21-alpine3.22".into(),
            built_on: Some(digest_of(1).to_string()),
            current: Some(digest_of(2).to_string()),
        });
        finding(container, base)
    };
    let first = plan(&web(), &findings(vec![rebuild("app")]), &approve_policy(), false, &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    let both = approve_plan(
        vec![rebuild("app"), rebuild("worker")],
        &[existing(&name, TicketPhase::AwaitingApproval, &spec)],
    );
    assert!(both.end.is_empty(), "the app's rebuild stays: {:?}", both.end);
    assert_eq!(both.create.len(), 1);
    assert_eq!(both.create[0].spec.changes[0].container, "worker");
}

#[test]
fn a_new_hand_edit_after_a_restart_gets_a_new_ticket() {
    let pod = |image: &str| PodFinding {
        pod: "web-new-1".into(),
        container: "web".into(),
        init: false,
        image: image.into(),
        template_image: "nginx:1.31.4-alpine".into(),
        running_digest: None,
        revision: PodRevision::Current,
    };
    let mut workload = findings(vec![]);
    workload.pods = vec![pod("nginx:1.31.3-alpine")];
    let first = plan(&web(), &workload, &approve_policy(), false, &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    workload.pods = vec![pod("nginx:1.30.4-alpine")];
    let later = plan(
        &web(),
        &workload,
        &approve_policy(),
        false,
        &[existing(&name, TicketPhase::Succeeded, &spec)],
    );
    assert_eq!(later.create.len(), 1, "{:?}", later.notes);
    assert_ne!(later.create[0].name, name);
}

/// Ticket names are stored in the cluster and referenced by ITSM records:
/// these pin today's names, so a change to how they are built (the hash,
/// its input, the shortening) fails here instead of renaming tickets. The
/// hashes were checked with Python's `hashlib` over the same bytes.
#[test]
fn ticket_names_are_the_same_as_in_earlier_releases() {
    let web = approve_plan(vec![outdated("web", TO)], &[]);
    assert_eq!(web.create[0].name, "deployment-web-7a62f302a1");
    // Cut to 37 characters, which ends on a `-` that is dropped.
    let long = WorkloadRef {
        kind: WorkloadKind::StatefulSet,
        name: "orders-ledger-reconciliation-workers-eu-west-1".into(),
    };
    let long = plan(
        &long,
        &findings(vec![outdated("web", TO), outdated("sidecar", TO_NEWER)]),
        &approve_policy(),
        false,
        &[],
    );
    assert_eq!(
        long.create[0].name,
        "statefulset-orders-ledger-reconciliation-workers-e7e3cd75ea"
    );
}

/// The ticket `plan` proposes for `containers` under the Approve policy,
/// as it would exist in `phase`.
fn proposed(containers: Vec<ContainerFinding>, phase: TicketPhase) -> ExistingTicket {
    let first = plan(&web(), &findings(containers), &approve_policy(), false, &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    existing(&name, phase, &spec)
}

fn cancelled(plan: &Plan) -> Vec<(&str, &str)> {
    plan.end
        .iter()
        .filter(|e| e.phase == TicketPhase::Cancelled)
        .map(|e| (e.name.as_str(), e.message.as_str()))
        .collect()
}

#[test]
fn a_new_ticket_says_why_in_the_findings_words() {
    let plan = approve_plan(vec![outdated("web", TO)], &[]);
    assert_eq!(
        plan.create[0].why,
        "proposed by policy storefront-web: web: 1.31.4-alpine is the newest allowed"
    );
}

#[test]
fn a_persons_approval_is_not_carried_to_the_ticket_that_supersedes_it() {
    let mut approved = proposed(vec![outdated("web", TO)], TicketPhase::Scheduled);
    approved.spec.approval = Some(Approval {
        approved: true,
        rejected: false,
        by: "jana".into(),
        reason: Some("CAB 2026-12-03".into()),
    });
    let newer = approve_plan(vec![outdated("web", TO_NEWER)], std::slice::from_ref(&approved));
    assert_eq!(
        newer.create[0].spec.approval, None,
        "a person approves the new change again"
    );
    assert_eq!(
        newer.create[0].supersedes,
        [Superseded {
            name: approved.name,
            approved_by: Some("jana".into())
        }]
    );
}

#[test]
fn report_mode_cancels_waiting_tickets_but_not_a_change_under_way() {
    let waiting = proposed(vec![outdated("web", TO)], TicketPhase::AwaitingApproval);
    let mut under_way = proposed(
        vec![finding("app", outdated_verdict(TO_NEWER))],
        TicketPhase::InProgress,
    );
    under_way.name.push_str("-x");
    let policy = PlanningPolicy {
        mode: PolicyMode::Report,
        ..approve_policy()
    };
    let plan = plan(
        &web(),
        &findings(vec![outdated("web", TO)]),
        &policy,
        false,
        &[waiting.clone(), under_way],
    );
    assert!(plan.create.is_empty());
    assert_eq!(
        cancelled(&plan),
        [(
            waiting.name.as_str(),
            "policy storefront-web is in Report mode: findings only"
        )]
    );
}

#[test]
fn a_pinned_workload_gets_no_ticket_and_loses_its_waiting_ones() {
    let waiting = proposed(vec![outdated("web", TO)], TicketPhase::Scheduled);
    let plan = plan(
        &web(),
        &findings(vec![outdated("web", TO)]),
        &approve_policy(),
        true,
        std::slice::from_ref(&waiting),
    );
    assert!(plan.create.is_empty());
    assert_eq!(
        cancelled(&plan),
        [(
            waiting.name.as_str(),
            "the workload is pinned (refit.dev/pin: \"true\"): its findings are reported, no change is proposed"
        )]
    );
}

#[test]
fn a_ticket_of_the_policy_that_no_longer_governs_is_cancelled() {
    let mut foreign = proposed(vec![outdated("web", TO)], TicketPhase::AwaitingApproval);
    foreign.spec.policy = "storefront-legacy".into();
    let plan = approve_plan(vec![outdated("web", TO)], std::slice::from_ref(&foreign));
    assert_eq!(
        cancelled(&plan),
        [(
            foreign.name.as_str(),
            "the workload is now governed by policy storefront-web instead of storefront-legacy"
        )]
    );
    // The governing policy proposes the change itself, under the next name.
    assert_eq!(plan.create[0].name, format!("{}-2", foreign.name));
}

#[test]
fn a_new_window_cancels_the_waiting_ticket_and_proposes_it_again_under_the_window() {
    let waiting = proposed(vec![outdated("web", TO)], TicketPhase::Scheduled);
    let policy = PlanningPolicy {
        window: Some("weekday-mornings"),
        ..approve_policy()
    };
    let plan = plan(
        &web(),
        &findings(vec![outdated("web", TO)]),
        &policy,
        false,
        std::slice::from_ref(&waiting),
    );
    assert_eq!(
        cancelled(&plan),
        [(
            waiting.name.as_str(),
            "policy storefront-web now names window weekday-mornings instead of weekend-nights: the change is \
             proposed again under it"
        )]
    );
    assert_eq!(plan.create[0].name, format!("{}-2", waiting.name));
    assert_eq!(plan.create[0].spec.window, "weekday-mornings");
}

#[test]
fn leaving_auto_mode_puts_self_approved_changes_before_a_person() {
    let auto = PlanningPolicy {
        mode: PolicyMode::Auto,
        ..approve_policy()
    };
    let first = plan(&web(), &findings(vec![outdated("web", TO)]), &auto, false, &[]);
    let NewTicket { name, spec, .. } = first.create[0].clone();
    let plan = approve_plan(
        vec![outdated("web", TO)],
        &[existing(&name, TicketPhase::Scheduled, &spec)],
    );
    assert_eq!(cancelled(&plan).len(), 1);
    assert_eq!(plan.create[0].name, format!("{name}-2"));
    assert_eq!(plan.create[0].spec.approval, None);
}

#[test]
fn a_ticket_scheduled_in_auto_mode_without_a_written_approval_goes_back_to_a_person() {
    // Proposed in Approve mode, scheduled by refit when the policy turned
    // to Auto, and the policy is back in Approve mode.
    let scheduled = proposed(vec![outdated("web", TO)], TicketPhase::Scheduled);
    let plan = approve_plan(vec![outdated("web", TO)], std::slice::from_ref(&scheduled));
    assert_eq!(cancelled(&plan).len(), 1);
    assert_eq!(plan.create[0].name, format!("{}-2", scheduled.name));
}

#[test]
fn a_waiting_ticket_the_workload_no_longer_needs_is_cancelled() {
    let waiting = proposed(vec![outdated("web", TO)], TicketPhase::AwaitingApproval);
    // Someone moved the image to the candidate by hand.
    let current = no_candidate(FindingState::UpToDate, "no newer tag allowed for 1.31.4-alpine");
    let plan = approve_plan(vec![finding("web", current)], std::slice::from_ref(&waiting));
    assert_eq!(
        cancelled(&plan),
        [(
            waiting.name.as_str(),
            "no longer needed: web is UpToDate (no newer tag allowed for 1.31.4-alpine)"
        )]
    );
}

#[test]
fn a_registry_that_cannot_be_reached_cancels_nothing() {
    let waiting = proposed(vec![outdated("web", TO)], TicketPhase::AwaitingApproval);
    let unknown = no_candidate(
        FindingState::Unknown,
        "tags unknown (registry-1.docker.io: 503 Service Unavailable)",
    );
    let plan = approve_plan(vec![finding("web", unknown)], std::slice::from_ref(&waiting));
    assert!(plan.end.is_empty() && plan.create.is_empty(), "{plan:?}");
    assert_eq!(
        plan.notes,
        [format!(
            "ticket {} stays: whether it is still needed cannot be told now",
            waiting.name
        )]
    );
}

#[test]
fn after_a_crash_between_creating_and_superseding_the_old_ticket_is_superseded() {
    let old = proposed(vec![outdated("web", TO)], TicketPhase::AwaitingApproval);
    let new = proposed(vec![outdated("web", TO_NEWER)], TicketPhase::Pending);
    let plan = approve_plan(vec![outdated("web", TO_NEWER)], &[old.clone(), new.clone()]);
    assert!(plan.create.is_empty());
    assert_eq!(
        plan.end,
        [Ending {
            name: old.name,
            phase: TicketPhase::Superseded,
            message: format!("superseded by ticket {}: nginx 1.29.8-alpine→1.31.5-alpine", new.name),
        }]
    );
}

#[test]
fn withdrawing_cancels_only_tickets_that_have_not_started() {
    let waiting = proposed(vec![outdated("web", TO)], TicketPhase::Scheduled);
    let started = proposed(vec![outdated("web", TO_NEWER)], TicketPhase::InProgress);
    let finished = proposed(vec![outdated("app", TO)], TicketPhase::Succeeded);
    let ended = withdraw(&[waiting.clone(), started, finished], "the workload was deleted");
    assert_eq!(
        ended,
        [Ending {
            name: waiting.name,
            phase: TicketPhase::Cancelled,
            message: "the workload was deleted".into()
        }]
    );
}
