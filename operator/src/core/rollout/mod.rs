//! Carrying out a change under way, one step at a time: apply the images,
//! follow the workload's rollout, verify the new pods, and on failure roll
//! back to the previous images the same way. Each call decides the next
//! [`Act`] from the step the ticket recorded ([`State`]) and the workload as
//! it is now ([`Live`]); the caller records the step before carrying it out,
//! so a refit that restarts at any point decides again from the same record
//! and never changes the workload twice.
//!
//! refit does not fight anyone: when the workload's images are not those of
//! the step (someone set them, or a container was removed), it is scaled to
//! zero, or it was deleted, the change ends `Interrupted`, naming what
//! changed and who, and nothing is rolled back over it.

pub mod progress;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

pub use progress::{PodHealth, Progress, Rollout, next_run, progress, unhealthy};

use crate::{
    api::{
        change_ticket::{ChangeType, ContainerChange, ExecutionStep, ExecutionTarget, TicketPhase},
        workload::WorkloadKind,
    },
    core::{duration, reference::ImageReference},
};

/// How often a change under way is looked at.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// The policy's `rollout` settings, as a change under way uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `rollout.progressDeadline`.
    pub progress_deadline: Duration,
    /// `rollout.verifyFor`.
    pub verify_for: Duration,
    /// `rollout.rollbackOnFailure`.
    pub rollback_on_failure: bool,
}

impl Default for Settings {
    /// The policy defaults: a change that started keeps going with them
    /// when its policy is deleted or broken meanwhile.
    fn default() -> Self {
        Settings {
            progress_deadline: Duration::from_secs(600),
            verify_for: Duration::from_secs(60),
            rollback_on_failure: true,
        }
    }
}

/// The step a ticket recorded (`status.execution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Which images.
    pub target: ExecutionTarget,
    /// Which step.
    pub step: ExecutionStep,
    /// When the step began.
    pub since: DateTime<Utc>,
    /// The workload's generation after the apply.
    pub generation: Option<i64>,
    /// The replicas it asked for then.
    pub replicas: Option<i32>,
    /// The rollout as last seen.
    pub progress: Option<String>,
    /// Why the candidate is being rolled back.
    pub failure: Option<String>,
}

impl State {
    /// The first step of a change that starts at `now`.
    pub fn start(now: DateTime<Utc>) -> State {
        State {
            target: ExecutionTarget::Candidate,
            step: ExecutionStep::Apply,
            since: now,
            generation: None,
            replicas: None,
            progress: None,
            failure: None,
        }
    }

    fn next(&self, step: ExecutionStep, now: DateTime<Utc>) -> State {
        State {
            step,
            since: now,
            progress: None,
            ..self.clone()
        }
    }
}

/// Who last wrote a field, from the workload's `managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    /// The field manager, e.g. `kubectl-edit` or `argocd-controller`.
    pub name: String,
    /// `Update` or `Apply`.
    pub operation: String,
    /// When, as the API server recorded it.
    pub time: Option<String>,
}

impl std::fmt::Display for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field manager {} ({}", self.name, self.operation)?;
        if let Some(time) = &self.time {
            write!(f, " at {time}")?;
        }
        f.write_str(")")
    }
}

/// A ticket container's image in the workload's pod template now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateImage {
    /// The container.
    pub container: String,
    /// The image, or `None` when the container is no longer there.
    pub image: Option<String>,
    /// Who set it.
    pub set_by: Option<Manager>,
}

/// The workload as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its name.
    pub name: String,
    /// The ticket's containers' images, in the order of its changes.
    pub images: Vec<TemplateImage>,
    /// `spec.replicas` (none for DaemonSets and CronJobs).
    pub replicas: Option<i32>,
    /// Who set it.
    pub replicas_set_by: Option<Manager>,
    /// What its controller reports.
    pub rollout: Rollout,
    /// Its pods made from the template refit applied (carrying the
    /// ticket's annotation and the step's images).
    pub pods: Vec<PodHealth>,
}

/// One image to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// The container.
    pub container: String,
    /// Whether it is an init container.
    pub init: bool,
    /// The reference, pinned by digest.
    pub image: String,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Apply `images` (none for a restart: the template annotation naming
    /// the ticket alone makes the pods restart), then record `then` with
    /// the generation and replicas the apply answered.
    Apply {
        /// The images.
        images: Vec<ImageSet>,
        /// The step after.
        then: State,
    },
    /// Record `state` (no side effect), then look again after `again`.
    Record {
        /// The step now.
        state: State,
        /// When to look again.
        again: Duration,
    },
    /// Nothing changed: look again after `again`.
    Wait {
        /// When to look again.
        again: Duration,
    },
    /// End the ticket.
    Finish {
        /// `Succeeded`, `RolledBack`, `Failed` or `Interrupted`.
        phase: TicketPhase,
        /// What happened, for the history.
        message: String,
    },
}

/// The next act of a `change_type` change of `changes`, at `state`, with the
/// workload as `live` has it (`None`: deleted).
pub fn decide(
    change_type: ChangeType,
    changes: &[ContainerChange],
    state: &State,
    live: Option<&Live>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Act {
    let Some(live) = live else {
        return interrupted(state, "the workload was deleted".to_owned());
    };
    if let Some(what) = interference(change_type, changes, state, live) {
        return interrupted(state, format!("{} {}: {what}", live.kind, live.name));
    }
    match state.step {
        ExecutionStep::Apply => Act::Apply {
            images: match change_type {
                ChangeType::Rollout => changes
                    .iter()
                    .map(|c| ImageSet {
                        container: c.container.clone(),
                        init: c.init,
                        image: target_image(c, state.target).to_owned(),
                    })
                    .collect(),
                _ => Vec::new(),
            },
            then: state.next(ExecutionStep::Follow, now),
        },
        ExecutionStep::Follow => match progress(&live.rollout, state.generation, now) {
            Progress::Done { .. } if state.target == ExecutionTarget::Previous => Act::Finish {
                phase: TicketPhase::RolledBack,
                message: format!(
                    "rolled back: {}; the previous images are restored and rolled out",
                    state.failure.as_deref().unwrap_or("the change failed")
                ),
            },
            Progress::Done { .. } => Act::Record {
                state: state.next(ExecutionStep::Verify, now),
                again: settings.verify_for.min(FOLLOW_EVERY),
            },
            Progress::Deferred(text) => finished(change_type, state, text),
            Progress::Stuck(why) => failed(state, settings, now, why),
            // New pods that crash fail the change now, not at the deadline.
            Progress::Rolling(_) if let Some(why) = progress::restarted(&live.pods) => {
                failed(state, settings, now, format!("new pods crash while rolling out: {why}"))
            }
            Progress::Rolling(text) => {
                let deadline = state.since + TimeDelta::from_std(settings.progress_deadline).unwrap_or(TimeDelta::MAX);
                if now >= deadline {
                    return failed(
                        state,
                        settings,
                        now,
                        format!(
                            "the rollout did not finish within rollout.progressDeadline ({}): {text}",
                            duration::format(settings.progress_deadline)
                        ),
                    );
                }
                record_progress(state, text)
            }
        },
        ExecutionStep::Verify => {
            let expected = match progress(&live.rollout, state.generation, now) {
                Progress::Done { expected, .. } => expected,
                // Pods went away or the controller is replacing some: the
                // release did not stay healthy.
                Progress::Rolling(text) | Progress::Stuck(text) | Progress::Deferred(text) => {
                    return failed(state, settings, now, format!("during verification, {text}"));
                }
            };
            if let Some(why) = unhealthy(&live.pods, expected) {
                return failed(
                    state,
                    settings,
                    now,
                    format!(
                        "the new pods did not stay ready without restarts for rollout.verifyFor ({}): {why}",
                        duration::format(settings.verify_for)
                    ),
                );
            }
            match progress::verify_left(state.since, settings.verify_for, now) {
                Some(left) => Act::Wait {
                    again: left.to_std().unwrap_or_default().min(FOLLOW_EVERY),
                },
                None => {
                    let note = match progress(&live.rollout, state.generation, now) {
                        Progress::Done { note: Some(note), .. } => format!("; {note}"),
                        _ => String::new(),
                    };
                    finished(
                        change_type,
                        state,
                        format!(
                            "{expected} pod{} stayed ready without restarts for rollout.verifyFor ({}){note}",
                            if expected == 1 { "" } else { "s" },
                            duration::format(settings.verify_for)
                        ),
                    )
                }
            }
        }
    }
}

/// The image `change` rolls out for `target`.
pub fn target_image(change: &ContainerChange, target: ExecutionTarget) -> &str {
    match target {
        ExecutionTarget::Candidate => &change.to,
        ExecutionTarget::Previous => &change.from,
    }
}

/// Whether `image`, as a template writes it, is `reference` (pinned by
/// digest): the same text, or the same repository and tag without a digest
/// (a template that says `nginx:1.25.3` runs what `nginx:1.25.3@sha256:…`
/// names, as far as refit can tell from the template).
pub fn same_image(image: &str, reference: &str) -> bool {
    if image == reference {
        return true;
    }
    match (ImageReference::parse(image), ImageReference::parse(reference)) {
        (Ok(image), Ok(reference)) => {
            image.name() == reference.name()
                && image.digest().is_none()
                && image.effective_tag().is_some()
                && image.effective_tag() == reference.effective_tag()
        }
        _ => false,
    }
}

/// What someone else changed, if the workload is not as the step expects.
fn interference(change_type: ChangeType, changes: &[ContainerChange], state: &State, live: &Live) -> Option<String> {
    for (change, now) in changes.iter().zip(&live.images) {
        let Some(image) = &now.image else {
            return Some(format!("container {} was removed from the template", change.container));
        };
        let expected = match (change_type, state.step, state.target) {
            // A restart changes no image; the pods must still be what the
            // ticket restarts them to.
            (ChangeType::Restart | ChangeType::Rebuild, _, _) => {
                same_image(image, &change.from) || same_image(image, &change.to)
            }
            (ChangeType::Rollout, ExecutionStep::Apply, ExecutionTarget::Candidate) => {
                same_image(image, &change.from) || *image == change.to
            }
            (ChangeType::Rollout, ExecutionStep::Apply, ExecutionTarget::Previous) => {
                *image == change.to || same_image(image, &change.from)
            }
            (ChangeType::Rollout, _, target) => image == target_image(change, target),
        };
        if !expected {
            let by = now
                .set_by
                .as_ref()
                .map_or_else(|| "another writer".to_owned(), ToString::to_string);
            return Some(format!(
                "container {}'s image was set to {image} by {by}",
                change.container
            ));
        }
    }
    if state.replicas.is_some_and(|r| r > 0) && live.replicas == Some(0) {
        let by = live
            .replicas_set_by
            .as_ref()
            .map_or_else(|| "another writer".to_owned(), ToString::to_string);
        return Some(format!("it was scaled to 0 by {by}"));
    }
    None
}

fn interrupted(state: &State, what: String) -> Act {
    let stage = match state.target {
        ExecutionTarget::Candidate => "the change",
        ExecutionTarget::Previous => "the rollback",
    };
    Act::Finish {
        phase: TicketPhase::Interrupted,
        message: format!(
            "{what} while {stage} was under way; refit stopped and rolled nothing back over it{}",
            state
                .failure
                .as_deref()
                .map(|f| format!(" (the change had failed: {f})"))
                .unwrap_or_default()
        ),
    }
}

fn finished(change_type: ChangeType, state: &State, text: String) -> Act {
    match state.target {
        ExecutionTarget::Previous => Act::Finish {
            phase: TicketPhase::RolledBack,
            message: format!(
                "rolled back: {}; the previous images are restored: {text}",
                state.failure.as_deref().unwrap_or("the change failed")
            ),
        },
        ExecutionTarget::Candidate => Act::Finish {
            phase: TicketPhase::Succeeded,
            message: match change_type {
                ChangeType::Restart => format!("restarted: {text}"),
                _ => format!("rolled out: {text}"),
            },
        },
    }
}

/// A failed step: roll back (once), or end `Failed`.
fn failed(state: &State, settings: &Settings, now: DateTime<Utc>, why: String) -> Act {
    match state.target {
        ExecutionTarget::Candidate if settings.rollback_on_failure => Act::Record {
            state: State {
                target: ExecutionTarget::Previous,
                step: ExecutionStep::Apply,
                since: now,
                generation: None,
                replicas: state.replicas,
                progress: None,
                failure: Some(why),
            },
            again: Duration::ZERO,
        },
        ExecutionTarget::Candidate => Act::Finish {
            phase: TicketPhase::Failed,
            message: format!("{why}; rollout.rollbackOnFailure is off, so the workload was left as it is"),
        },
        ExecutionTarget::Previous => Act::Finish {
            phase: TicketPhase::Failed,
            message: format!(
                "the rollback did not become healthy either: {why} (the change had failed: {})",
                state.failure.as_deref().unwrap_or("unknown")
            ),
        },
    }
}

fn record_progress(state: &State, text: String) -> Act {
    if state.progress.as_deref() == Some(text.as_str()) {
        return Act::Wait { again: FOLLOW_EVERY };
    }
    Act::Record {
        state: State {
            progress: Some(text),
            ..state.clone()
        },
        again: FOLLOW_EVERY,
    }
}

#[cfg(test)]
mod tests;
