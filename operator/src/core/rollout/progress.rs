//! Whether a workload's rollout is done, still going, stuck, or something
//! its controller will not finish on its own, read from the status fields
//! each kind's controller keeps; and whether the pods it rolled out are
//! healthy. Pure: the cluster layer fills in [`Rollout`] and [`PodHealth`].

use chrono::{DateTime, Duration as TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::core::window::{Cron, Rfc3339};

/// What a workload's controller reports about its rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// A Deployment.
    Deployment {
        /// `status.observedGeneration`.
        observed_generation: Option<i64>,
        /// `spec.replicas`.
        replicas: i32,
        /// `status.replicas`: pods of every ReplicaSet, old ones included.
        total: i32,
        /// `status.updatedReplicas`.
        updated: i32,
        /// `status.availableReplicas`.
        available: i32,
        /// The message of a `Progressing` condition with reason
        /// `ProgressDeadlineExceeded`: the Deployment gave up.
        deadline_exceeded: Option<String>,
    },
    /// A StatefulSet.
    StatefulSet {
        /// `status.observedGeneration`.
        observed_generation: Option<i64>,
        /// `spec.replicas`.
        replicas: i32,
        /// `status.updatedReplicas`.
        updated: i32,
        /// `status.readyReplicas`.
        ready: i32,
        /// `spec.updateStrategy.type` is `OnDelete`.
        on_delete: bool,
        /// `spec.updateStrategy.rollingUpdate.partition`.
        partition: i32,
    },
    /// A DaemonSet.
    DaemonSet {
        /// `status.observedGeneration`.
        observed_generation: Option<i64>,
        /// `status.desiredNumberScheduled`.
        desired: i32,
        /// `status.updatedNumberScheduled`.
        updated: i32,
        /// `status.numberAvailable`.
        available: i32,
        /// `spec.updateStrategy.type` is `OnDelete`.
        on_delete: bool,
    },
    /// A CronJob: nothing rolls out until its next run.
    CronJob {
        /// `spec.schedule`.
        schedule: String,
        /// `spec.timeZone` (the controller's, usually UTC, when unset).
        time_zone: Option<String>,
        /// `spec.suspend`.
        suspended: bool,
    },
}

/// Where a rollout is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Every pod the rollout replaces runs the new template and is available.
    Done {
        /// The pods that must run it (for verification).
        expected: i32,
        /// Anything people should know (e.g. a partition left pods out).
        note: Option<String>,
    },
    /// Still going.
    Rolling(String),
    /// The controller gave up (e.g. `ProgressDeadlineExceeded`).
    Stuck(String),
    /// The template changed, but the controller does not replace pods by
    /// itself (`OnDelete`) or runs them later (a CronJob): nothing to wait
    /// for or verify; the text says when the new images will run.
    Deferred(String),
}

/// Where the rollout is, once its controller has seen `generation` (the
/// workload's generation after refit applied its images), at `now`.
pub fn progress(rollout: &Rollout, generation: Option<i64>, now: DateTime<Utc>) -> Progress {
    let unseen = |observed: &Option<i64>| match (generation, observed) {
        (Some(wanted), Some(seen)) => *seen < wanted,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let waiting = || {
        Progress::Rolling(format!(
            "waiting for the controller to act on generation {}",
            generation.unwrap_or_default()
        ))
    };
    match rollout {
        Rollout::Deployment {
            observed_generation,
            replicas,
            total,
            updated,
            available,
            deadline_exceeded,
        } => {
            if unseen(observed_generation) {
                return waiting();
            }
            if let Some(message) = deadline_exceeded {
                return Progress::Stuck(format!("the Deployment reports ProgressDeadlineExceeded: {message}"));
            }
            if updated >= replicas && available >= replicas && total <= replicas {
                return Progress::Done {
                    expected: *replicas,
                    note: None,
                };
            }
            Progress::Rolling(format!(
                "{updated} of {replicas} pods updated, {available} available{}",
                if total > replicas {
                    format!(", {} old still running", total - replicas)
                } else {
                    String::new()
                }
            ))
        }
        Rollout::StatefulSet {
            observed_generation,
            replicas,
            updated,
            ready,
            on_delete,
            partition,
        } => {
            if unseen(observed_generation) {
                return waiting();
            }
            if *on_delete {
                return Progress::Deferred(
                    "the StatefulSet's updateStrategy is OnDelete: each pod takes the new images only when it is \
                     deleted, and refit deletes no pods, so none was verified"
                        .to_owned(),
                );
            }
            let partition = (*partition).clamp(0, *replicas);
            let expected = replicas - partition;
            if updated >= &expected && ready >= replicas {
                let note = (partition > 0).then(|| {
                    format!(
                        "updateStrategy.rollingUpdate.partition is {partition}: pods with an ordinal below \
                         {partition} keep the previous images until the partition is lowered"
                    )
                });
                return Progress::Done { expected, note };
            }
            Progress::Rolling(format!(
                "{updated} of {expected} pods updated, {ready} of {replicas} ready"
            ))
        }
        Rollout::DaemonSet {
            observed_generation,
            desired,
            updated,
            available,
            on_delete,
        } => {
            if unseen(observed_generation) {
                return waiting();
            }
            if *on_delete {
                return Progress::Deferred(
                    "the DaemonSet's updateStrategy is OnDelete: each pod takes the new images only when it is \
                     deleted, and refit deletes no pods, so none was verified"
                        .to_owned(),
                );
            }
            if updated >= desired && available >= desired {
                return Progress::Done {
                    expected: *desired,
                    note: None,
                };
            }
            Progress::Rolling(format!("{updated} of {desired} nodes updated, {available} available"))
        }
        Rollout::CronJob {
            schedule,
            time_zone,
            suspended,
        } => Progress::Deferred(if *suspended {
            "the CronJob's template now has the new images; it is suspended, so they run at its first run after \
             it is resumed"
                .to_owned()
        } else {
            match next_run(schedule, time_zone.as_deref(), now) {
                Some(at) => format!(
                    "the CronJob's template now has the new images; its next run (schedule `{schedule}`{}) at {} \
                     uses them",
                    time_zone.as_deref().map(|z| format!(" in {z}")).unwrap_or_default(),
                    Rfc3339(at)
                ),
                None => format!(
                    "the CronJob's template now has the new images; its next run (schedule `{schedule}`) uses them"
                ),
            }
        }),
    }
}

/// The first run of a standard five-field cron `schedule` in `zone`
/// (UTC when unset) after `now`, within a year; `None` for a schedule
/// refit does not read (e.g. `@hourly`) or an unknown zone.
pub fn next_run(schedule: &str, zone: Option<&str>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let cron = Cron::parse(schedule).ok()?;
    let zone: Tz = match zone {
        Some(name) => name.parse().ok()?,
        None => Tz::UTC,
    };
    let minutes = cron.minutes_of_day();
    let mut date = now.with_timezone(&zone).date_naive();
    for _ in 0..=366 {
        if cron.matches_date(date) {
            for minute in &minutes {
                let time = chrono::NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
                if let Some(at) = zone.from_local_datetime(&date.and_time(time)).earliest() {
                    let at = at.with_timezone(&Utc);
                    if at > now {
                        return Some(at);
                    }
                }
            }
        }
        date = date.succ_opt()?;
    }
    None
}

/// One pod that runs the images being rolled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodHealth {
    /// Its name.
    pub name: String,
    /// Its `Ready` condition is true.
    pub ready: bool,
    /// Container restarts since it started.
    pub restarts: i32,
    /// Why a container waits, e.g. `CrashLoopBackOff`.
    pub waiting: Option<String>,
}

/// Why the new pods are not healthy, or `None` when `expected` of them (at
/// least) are ready and none has restarted.
pub fn unhealthy(pods: &[PodHealth], expected: i32) -> Option<String> {
    if let Some(restarted) = restarted(pods) {
        return Some(restarted);
    }
    let not_ready: Vec<String> = pods
        .iter()
        .filter(|p| !p.ready)
        .map(|p| match &p.waiting {
            Some(why) => format!("{} is not ready ({why})", p.name),
            None => format!("{} is not ready", p.name),
        })
        .collect();
    if !not_ready.is_empty() {
        return Some(not_ready.join("; "));
    }
    let ready = i32::try_from(pods.len()).unwrap_or(i32::MAX);
    (ready < expected).then(|| format!("only {ready} of {expected} pods run the new images"))
}

/// Which of the new pods restarted, if any.
pub fn restarted(pods: &[PodHealth]) -> Option<String> {
    let restarted: Vec<String> = pods
        .iter()
        .filter(|p| p.restarts > 0)
        .map(|p| {
            let why = p.waiting.as_deref().map(|w| format!(", {w}")).unwrap_or_default();
            format!(
                "{} restarted {} time{}{why}",
                p.name,
                p.restarts,
                if p.restarts == 1 { "" } else { "s" }
            )
        })
        .collect();
    (!restarted.is_empty()).then(|| restarted.join("; "))
}

/// `rollout.verifyFor` left at `now` of a verification that began at
/// `since`.
pub fn verify_left(since: DateTime<Utc>, verify_for: std::time::Duration, now: DateTime<Utc>) -> Option<TimeDelta> {
    let end = since + TimeDelta::from_std(verify_for).unwrap_or(TimeDelta::MAX);
    (end > now).then(|| end - now)
}
