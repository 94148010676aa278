use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::api::change_ticket::ChangeReason;

const FROM: &str =
    "registry.example.com/shop/web:1.25.3@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const TO: &str =
    "registry.example.com/shop/web:1.25.4@sha256:2222222222222222222222222222222222222222222222222222222222222222";
/// What the template said before refit touched it.
const WRITTEN: &str = "registry.example.com/shop/web:1.25.3";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).single().expect("a time") + TimeDelta::seconds(seconds)
}

fn changes() -> Vec<ContainerChange> {
    vec![ContainerChange {
        container: "web".into(),
        init: false,
        from: FROM.into(),
        to: TO.into(),
        reason: ChangeReason::NewerVersion,
    }]
}

fn settings() -> Settings {
    Settings {
        progress_deadline: Duration::from_secs(600),
        verify_for: Duration::from_secs(60),
        rollback_on_failure: true,
    }
}

fn deployment(updated: i32, available: i32, total: i32) -> Rollout {
    Rollout::Deployment {
        observed_generation: Some(2),
        replicas: 3,
        total,
        updated,
        available,
        deadline_exceeded: None,
    }
}

fn pod(name: &str, ready: bool, restarts: i32) -> PodHealth {
    PodHealth {
        name: name.into(),
        ready,
        restarts,
        waiting: (restarts > 0 && !ready).then(|| "CrashLoopBackOff".to_owned()),
    }
}

fn live(image: &str, rollout: Rollout, pods: Vec<PodHealth>) -> Live {
    Live {
        kind: WorkloadKind::Deployment,
        name: "web".into(),
        images: vec![TemplateImage {
            container: "web".into(),
            image: Some(image.into()),
            set_by: Some(Manager {
                name: "kubectl-edit".into(),
                operation: "Update".into(),
                time: Some("2026-12-04T02:03:00Z".into()),
            }),
        }],
        replicas: Some(3),
        replicas_set_by: Some(Manager {
            name: "hpa-controller".into(),
            operation: "Update".into(),
            time: None,
        }),
        rollout,
        pods,
    }
}

fn healthy() -> Vec<PodHealth> {
    vec![
        pod("web-7d9-a", true, 0),
        pod("web-7d9-b", true, 0),
        pod("web-7d9-c", true, 0),
    ]
}

fn state(target: ExecutionTarget, step: ExecutionStep, since: i64) -> State {
    State {
        target,
        step,
        since: at(since),
        generation: Some(2),
        replicas: Some(3),
        progress: None,
        failure: (target == ExecutionTarget::Previous).then(|| "web crashed".to_owned()),
    }
}

fn decide_rollout(state: &State, live: Option<&Live>, now: i64) -> Act {
    decide(ChangeType::Rollout, &changes(), state, live, &settings(), at(now))
}

#[test]
fn a_change_starts_by_applying_the_pinned_candidate_and_then_follows() {
    let act = decide_rollout(
        &State::start(at(0)),
        Some(&live(WRITTEN, deployment(3, 3, 3), healthy())),
        0,
    );
    let Act::Apply { images, then } = act else {
        panic!("{act:?}")
    };
    assert_eq!(
        images,
        [ImageSet {
            container: "web".into(),
            init: false,
            image: TO.into()
        }]
    );
    assert_eq!(
        (then.target, then.step),
        (ExecutionTarget::Candidate, ExecutionStep::Follow)
    );
}

#[test]
fn after_a_restart_between_apply_and_record_the_apply_is_made_again_not_refused() {
    // The template already has the candidate (refit applied it, then died
    // before recording Follow): applying again changes nothing.
    let act = decide_rollout(&State::start(at(0)), Some(&live(TO, deployment(0, 3, 3), vec![])), 5);
    assert!(matches!(act, Act::Apply { .. }), "{act:?}");
}

#[test]
fn a_rollout_under_way_records_its_progress_once_and_waits() {
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let act = decide_rollout(&following, Some(&live(TO, deployment(1, 3, 4), vec![])), 10);
    let Act::Record { state: recorded, .. } = act else {
        panic!("{act:?}")
    };
    assert_eq!(
        recorded.progress.as_deref(),
        Some("1 of 3 pods updated, 3 available, 1 old still running")
    );
    let again = decide_rollout(&recorded, Some(&live(TO, deployment(1, 3, 4), vec![])), 12);
    assert_eq!(again, Act::Wait { again: FOLLOW_EVERY });
}

#[test]
fn a_generation_the_controller_has_not_seen_is_not_a_finished_rollout() {
    let stale = Rollout::Deployment {
        observed_generation: Some(1),
        replicas: 3,
        total: 3,
        updated: 3,
        available: 3,
        deadline_exceeded: None,
    };
    assert_eq!(
        progress(&stale, Some(2), at(0)),
        Progress::Rolling("waiting for the controller to act on generation 2".into())
    );
}

#[test]
fn a_done_rollout_is_verified_for_verify_for_before_it_succeeds() {
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let Act::Record { state: verifying, .. } =
        decide_rollout(&following, Some(&live(TO, deployment(3, 3, 3), healthy())), 30)
    else {
        panic!("not verifying")
    };
    assert_eq!(verifying.step, ExecutionStep::Verify);
    assert_eq!(verifying.since, at(30));
    let early = decide_rollout(&verifying, Some(&live(TO, deployment(3, 3, 3), healthy())), 60);
    assert_eq!(early, Act::Wait { again: FOLLOW_EVERY });
    let done = decide_rollout(&verifying, Some(&live(TO, deployment(3, 3, 3), healthy())), 90);
    assert_eq!(
        done,
        Act::Finish {
            phase: TicketPhase::Succeeded,
            message: "rolled out: 3 pods stayed ready without restarts for rollout.verifyFor (1m)".into()
        }
    );
}

#[test]
fn a_release_that_crashes_after_becoming_ready_is_rolled_back() {
    let verifying = state(ExecutionTarget::Candidate, ExecutionStep::Verify, 30);
    let pods = vec![
        pod("web-7d9-a", true, 0),
        pod("web-7d9-b", false, 2),
        pod("web-7d9-c", true, 1),
    ];
    let act = decide_rollout(&verifying, Some(&live(TO, deployment(3, 3, 3), pods)), 45);
    let Act::Record { state: rollback, again } = act else {
        panic!("{act:?}")
    };
    assert_eq!(again, Duration::ZERO);
    assert_eq!(
        (rollback.target, rollback.step),
        (ExecutionTarget::Previous, ExecutionStep::Apply)
    );
    assert_eq!(
        rollback.failure.as_deref(),
        Some(
            "the new pods did not stay ready without restarts for rollout.verifyFor (1m): web-7d9-b restarted 2 \
             times, CrashLoopBackOff; web-7d9-c restarted 1 time"
        )
    );
    // The rollback applies the previous images, pinned.
    let Act::Apply { images, then } = decide_rollout(&rollback, Some(&live(TO, deployment(3, 3, 3), vec![])), 45)
    else {
        panic!("no rollback apply")
    };
    assert_eq!(images[0].image, FROM);
    assert_eq!(then.failure, rollback.failure);
}

#[test]
fn a_missed_progress_deadline_rolls_back_or_fails_when_rollback_is_off() {
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let stuck = live(TO, deployment(1, 2, 4), vec![]);
    let act = decide_rollout(&following, Some(&stuck), 600);
    let Act::Record { state: rollback, .. } = act else {
        panic!("{act:?}")
    };
    assert_eq!(
        rollback.failure.as_deref(),
        Some(
            "the rollout did not finish within rollout.progressDeadline (10m): 1 of 3 pods updated, 2 available, 1 \
             old still running"
        )
    );
    let no_rollback = Settings {
        rollback_on_failure: false,
        ..settings()
    };
    let act = decide(
        ChangeType::Rollout,
        &changes(),
        &following,
        Some(&stuck),
        &no_rollback,
        at(600),
    );
    assert!(
        matches!(&act, Act::Finish { phase: TicketPhase::Failed, message } if message.ends_with("rollout.rollbackOnFailure is off, so the workload was left as it is")),
        "{act:?}"
    );
}

#[test]
fn a_deployment_that_reports_its_own_deadline_exceeded_fails_at_once() {
    let rollout = Rollout::Deployment {
        observed_generation: Some(2),
        replicas: 3,
        total: 4,
        updated: 1,
        available: 3,
        deadline_exceeded: Some("ReplicaSet \"web-7d9\" has timed out progressing.".into()),
    };
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let act = decide_rollout(&following, Some(&live(TO, rollout, vec![])), 20);
    assert!(
        matches!(&act, Act::Record { state, .. } if state.target == ExecutionTarget::Previous),
        "{act:?}"
    );
}

#[test]
fn a_rollback_that_rolls_out_ends_rolled_back_and_one_that_does_not_ends_failed() {
    let following = state(ExecutionTarget::Previous, ExecutionStep::Follow, 100);
    let act = decide_rollout(&following, Some(&live(FROM, deployment(3, 3, 3), healthy())), 130);
    assert_eq!(
        act,
        Act::Finish {
            phase: TicketPhase::RolledBack,
            message: "rolled back: web crashed; the previous images are restored and rolled out".into()
        }
    );
    let act = decide_rollout(&following, Some(&live(FROM, deployment(0, 1, 3), vec![])), 700);
    assert!(
        matches!(&act, Act::Finish { phase: TicketPhase::Failed, message } if message.starts_with("the rollback did not become healthy either") && message.ends_with("(the change had failed: web crashed)")),
        "{act:?}"
    );
}

#[test]
fn someone_elses_image_during_the_change_interrupts_it_naming_them() {
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let theirs = "registry.example.com/shop/web:1.25.5";
    let act = decide_rollout(&following, Some(&live(theirs, deployment(1, 3, 4), vec![])), 20);
    assert_eq!(
        act,
        Act::Finish {
            phase: TicketPhase::Interrupted,
            message: "Deployment web: container web's image was set to registry.example.com/shop/web:1.25.5 by field \
                      manager kubectl-edit (Update at 2026-12-04T02:03:00Z) while the change was under way; refit \
                      stopped and rolled nothing back over it"
                .into()
        }
    );
    // Nor is a person's fix rolled back over once the candidate failed.
    let rolling_back = state(ExecutionTarget::Previous, ExecutionStep::Apply, 100);
    let act = decide_rollout(&rolling_back, Some(&live(theirs, deployment(3, 3, 3), vec![])), 100);
    assert!(
        matches!(&act, Act::Finish { phase: TicketPhase::Interrupted, message } if message.contains("while the rollback was under way") && message.ends_with("(the change had failed: web crashed)")),
        "{act:?}"
    );
}

#[test]
fn scaling_to_zero_or_deleting_the_workload_interrupts_the_change() {
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let mut scaled = live(TO, deployment(0, 0, 0), vec![]);
    scaled.replicas = Some(0);
    let act = decide_rollout(&following, Some(&scaled), 20);
    assert!(
        matches!(&act, Act::Finish { phase: TicketPhase::Interrupted, message } if message.starts_with("Deployment web: it was scaled to 0 by field manager hpa-controller (Update)")),
        "{act:?}"
    );
    let act = decide_rollout(&following, None, 20);
    assert!(
        matches!(&act, Act::Finish { phase: TicketPhase::Interrupted, message } if message.starts_with("the workload was deleted while the change was under way")),
        "{act:?}"
    );
}

#[test]
fn a_statefulset_partition_is_explained_and_on_delete_is_not_waited_on() {
    let partitioned = Rollout::StatefulSet {
        observed_generation: Some(2),
        replicas: 3,
        updated: 2,
        ready: 3,
        on_delete: false,
        partition: 1,
    };
    assert_eq!(
        progress(&partitioned, Some(2), at(0)),
        Progress::Done {
            expected: 2,
            note: Some(
                "updateStrategy.rollingUpdate.partition is 1: pods with an ordinal below 1 keep the previous images \
                 until the partition is lowered"
                    .into()
            )
        }
    );
    let on_delete = Rollout::StatefulSet {
        observed_generation: Some(2),
        replicas: 3,
        updated: 0,
        ready: 3,
        on_delete: true,
        partition: 0,
    };
    let mut db = live(TO, on_delete, vec![]);
    db.kind = WorkloadKind::StatefulSet;
    let act = decide_rollout(
        &state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0),
        Some(&db),
        5,
    );
    assert!(
        matches!(&act, Act::Finish { phase: TicketPhase::Succeeded, message } if message.contains("updateStrategy is OnDelete")),
        "{act:?}"
    );
}

#[test]
fn a_daemonset_is_done_when_every_node_runs_the_update() {
    let rollout = |updated, available| Rollout::DaemonSet {
        observed_generation: Some(4),
        desired: 3,
        updated,
        available,
        on_delete: false,
    };
    assert_eq!(
        progress(&rollout(2, 3), Some(4), at(0)),
        Progress::Rolling("2 of 3 nodes updated, 3 available".into())
    );
    assert_eq!(
        progress(&rollout(3, 3), Some(4), at(0)),
        Progress::Done {
            expected: 3,
            note: None
        }
    );
}

#[test]
fn a_cronjob_change_says_which_run_uses_it_in_the_jobs_time_zone() {
    // 02:00 UTC on 4 December is 03:00 in Berlin; the nightly run at 04:30
    // Berlin time is 03:30 UTC.
    let nightly = Rollout::CronJob {
        schedule: "30 4 * * *".into(),
        time_zone: Some("Europe/Berlin".into()),
        suspended: false,
    };
    assert_eq!(
        progress(&nightly, None, at(0)),
        Progress::Deferred(
            "the CronJob's template now has the new images; its next run (schedule `30 4 * * *` in Europe/Berlin) at \
             2026-12-04T03:30:00Z uses them"
                .into()
        )
    );
    let suspended = Rollout::CronJob {
        schedule: "@hourly".into(),
        time_zone: None,
        suspended: true,
    };
    assert!(matches!(progress(&suspended, None, at(0)), Progress::Deferred(text) if text.contains("suspended")));
    assert_eq!(next_run("@hourly", None, at(0)), None);
    assert_eq!(next_run("0 * * * *", Some("Mars/Olympus"), at(0)), None);
}

#[test]
fn a_template_without_a_digest_is_the_pinned_image_of_its_tag() {
    assert!(same_image(WRITTEN, FROM));
    assert!(same_image(FROM, FROM));
    assert!(!same_image(WRITTEN, TO));
    assert!(!same_image(TO, FROM));
    assert!(!same_image("registry.example.com/shop/api:1.25.3", FROM));
}

/// The images a template may show.
fn template_image() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![FROM, TO, WRITTEN, "registry.example.com/shop/web:9.9.9"])
}

proptest! {
    /// Whatever the step and whatever the template shows, refit applies
    /// only the step's pinned images, and never over an image that is
    /// neither the change's before nor its after.
    #[test]
    fn refit_applies_only_its_own_images_and_never_over_someone_elses(
        image in template_image(),
        previous in any::<bool>(),
        step in proptest::sample::select(vec![ExecutionStep::Apply, ExecutionStep::Follow, ExecutionStep::Verify]),
        updated in 0..4i32,
        now in 0..2000i64,
    ) {
        let target = if previous { ExecutionTarget::Previous } else { ExecutionTarget::Candidate };
        let current = state(target, step, 0);
        let act = decide_rollout(&current, Some(&live(image, deployment(updated, updated, 3), healthy())), now);
        let foreign = image == "registry.example.com/shop/web:9.9.9";
        if foreign {
            prop_assert!(matches!(act, Act::Finish { phase: TicketPhase::Interrupted, .. }), "{:?}", act);
        }
        if let Act::Apply { images, .. } = &act {
            prop_assert_eq!(step, ExecutionStep::Apply);
            prop_assert_eq!(&images[0].image, if previous { FROM } else { TO });
        }
        if let Act::Finish { phase, .. } = &act {
            prop_assert!(phase.is_terminal());
            prop_assert!(*phase != TicketPhase::RolledBack || previous);
            prop_assert!(*phase != TicketPhase::Succeeded || !previous);
        }
    }
}

#[test]
fn new_pods_that_crash_while_rolling_out_fail_the_change_before_the_deadline() {
    let following = state(ExecutionTarget::Candidate, ExecutionStep::Follow, 0);
    let crashing = vec![pod("web-7d9-a", false, 3)];
    let act = decide_rollout(&following, Some(&live(TO, deployment(1, 2, 3), crashing)), 20);
    let Act::Record { state: rollback, .. } = act else {
        panic!("{act:?}")
    };
    assert_eq!(
        rollback.failure.as_deref(),
        Some("new pods crash while rolling out: web-7d9-a restarted 3 times, CrashLoopBackOff")
    );
}
