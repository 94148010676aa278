//! The ChangeWindow reconciler: compile the spec, publish `open`,
//! `currentWindow` and `nextOpen`, and come back at exactly the next edge
//! (the current opening's end while open, the next opening's start while
//! closed), so the status flips when the window does, without polling.
//! An invalid spec (or one that never opens) gets `Ready=False` with reason
//! `InvalidSpec` and the message of [`WindowError`]. Events mark the
//! window opening and closing and the spec becoming invalid.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};

use super::{Context, conditions, error::Error};
use crate::{
    api::{ChangeWindow, ChangeWindowStatus, change_window::TimeRange, conditions::reasons},
    cluster::{TimeOutOfRange, events::Notice, status::apply_status, time},
    core::window::{Schedule, WindowError},
    telemetry::metrics::label,
};

/// The controller's name in metrics.
pub const CONTROLLER: &str = "changewindow";

/// A window that never opens within the horizon is looked at again after
/// this long (the horizon moves with time).
const NEVER_OPENS_RETRY: TimeDelta = TimeDelta::days(1);
/// The longest requeue (timers further out are not kept).
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a window's status should be at an instant, and when it changes next.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowVerdict {
    /// The status.
    pub status: ChangeWindowStatus,
    /// The next instant the status changes (an opening starts or ends);
    /// `None` to wait for a spec change.
    pub next_edge: Option<DateTime<Utc>>,
    /// Why the spec cannot be used, if it cannot.
    pub invalid: Option<String>,
}

/// Decides a window's status at `now`. Pure. An error when an instant of
/// the status (now, or an opening's start or end) cannot be written.
pub fn decide(window: &ChangeWindow, now: DateTime<Utc>) -> Result<WindowVerdict, TimeOutOfRange> {
    let generation = window.metadata.generation;
    let written_now = time(now)?;
    let previous = window.status.clone().unwrap_or_default();
    let invalid = |text: String, next_edge| WindowVerdict {
        status: ChangeWindowStatus {
            observed_generation: generation,
            conditions: vec![conditions::ready(
                &previous.conditions,
                false,
                reasons::INVALID_SPEC,
                text.clone(),
                generation,
                written_now.clone(),
            )],
            // The slots stay as the scheduler wrote them (see `reconcile`).
            active_changes: previous.active_changes,
            active_tickets: previous.active_tickets.clone(),
            ..ChangeWindowStatus::default()
        },
        next_edge,
        invalid: Some(text),
    };
    let schedule = match Schedule::compile(&window.spec) {
        Ok(schedule) => schedule,
        Err(error) => return Ok(invalid(error.to_string(), None)),
    };
    let state = schedule.state_at(now);
    let next = schedule.next_opening(now);
    let next_start = match next {
        Ok(opening) => Some(opening.start),
        Err(error @ (WindowError::NeverOpens { .. } | WindowError::SearchLimit { .. })) if !state.is_open() => {
            return Ok(invalid(error.to_string(), Some(now + NEVER_OPENS_RETRY)));
        }
        Err(_) => None,
    };
    let current = state.current();
    let next_edge = match current {
        Some(current) => Some(current.end),
        None => next_start,
    };
    let current_window = match current {
        Some(c) => Some(TimeRange {
            start: time(c.start)?,
            end: time(c.end)?,
        }),
        None => None,
    };
    Ok(WindowVerdict {
        status: ChangeWindowStatus {
            open: state.is_open(),
            current_window,
            next_open: next_start.map(time).transpose()?,
            active_changes: previous.active_changes,
            active_tickets: previous.active_tickets.clone(),
            observed_generation: generation,
            conditions: vec![conditions::ready(
                &previous.conditions,
                true,
                reasons::RECONCILED,
                state.to_string(),
                generation,
                written_now,
            )],
        },
        next_edge,
        invalid: None,
    })
}

/// Reconciles one ChangeWindow.
#[tracing::instrument(skip_all, fields(window = %window.name_any()))]
pub async fn reconcile(window: Arc<ChangeWindow>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    ctx.metrics
        .reconciles
        .get_or_create(&label("controller", CONTROLLER))
        .inc();
    let name = window.metadata.name.clone().ok_or(Error::MissingName)?;
    let now = Utc::now();

    // decide (no client required)
    let verdict = decide(&window, now)?;

    // publish status
    let previous = window.status.as_ref();
    if previous != Some(&verdict.status) {
        let api: Api<ChangeWindow> = Api::all(ctx.client.clone());
        apply_status(&api, &name, &without_slots(&verdict.status))
            .await
            .map_err(|source| Error::WriteStatus {
                kind: "ChangeWindow",
                name: name.clone(),
                source,
            })?;
    }

    // events on state changes
    let was_ready = previous
        .and_then(|s| conditions::find_ready(&s.conditions))
        .map(|c| (c.status == "True", c.message.clone()));
    let notice = match (&verdict.invalid, was_ready) {
        (Some(text), before) => {
            ctx.metrics.failure(CONTROLLER, "invalid_spec");
            (before.as_ref().is_none_or(|(ready, message)| *ready || message != text)).then(|| Notice {
                warning: true,
                reason: reasons::INVALID_SPEC,
                action: "Validate",
                note: format!("no change can start under this window until its spec is fixed: {text}"),
            })
        }
        (None, Some((true, _))) if previous.map(|s| s.open) != Some(verdict.status.open) => {
            let state = verdict
                .status
                .conditions
                .first()
                .map(|c| c.message.clone())
                .unwrap_or_default();
            Some(if verdict.status.open {
                Notice {
                    warning: false,
                    reason: "Opened",
                    action: "Schedule",
                    note: format!("the window is open: {state}"),
                }
            } else {
                Notice {
                    warning: false,
                    reason: "Closed",
                    action: "Schedule",
                    note: format!("the window closed: {state}"),
                }
            })
        }
        _ => None,
    };
    if let Some(notice) = notice {
        ctx.events.publish(&window.object_ref(&()), notice).await;
    }

    ctx.backoff.succeeded(&format!("{CONTROLLER}/{name}"));
    ctx.metrics
        .reconcile_duration
        .get_or_create(&label("controller", CONTROLLER))
        .observe(started.elapsed().as_secs_f64());
    Ok(match verdict.next_edge {
        Some(edge) => {
            let wait = (edge - Utc::now()).to_std().unwrap_or_default();
            tracing::debug!(window = %name, open = verdict.status.open, next_edge = %edge, "window reconciled");
            Action::requeue(wait.clamp(Duration::from_millis(10), LONGEST_WAIT))
        }
        None => Action::await_change(),
    })
}

/// The status this reconciler writes: everything but `activeChanges` and
/// `activeTickets`, which belong to the scheduler (`cluster::slots`, its
/// own field manager, written with optimistic concurrency). Leaving them
/// out of this apply keeps a stale copy from ever overwriting a slot.
fn without_slots(status: &ChangeWindowStatus) -> serde_json::Value {
    let mut value = serde_json::to_value(status).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("activeChanges");
        fields.remove("activeTickets");
    }
    value
}

/// After a failed reconcile: count it and retry with back-off.
pub fn error_policy(window: Arc<ChangeWindow>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failure(CONTROLLER, error.metric_label());
    let wait = ctx.backoff.failed(&format!("{CONTROLLER}/{}", window.name_any()));
    tracing::warn!(window = %window.name_any(), %error, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn window(spec: serde_json::Value) -> ChangeWindow {
        ChangeWindow::new("nights", serde_json::from_value(spec).expect("spec"))
    }

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).single().expect("valid")
    }

    fn written(at: DateTime<Utc>) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
        time(at).expect("in range")
    }

    #[test]
    fn a_closed_window_comes_back_when_it_opens() {
        let w = window(serde_json::json!({"windows": [{"schedule": "0 22 * * *", "duration": "2h"}]}));
        let verdict = decide(&w, utc(12, 0)).expect("in range");
        assert!(!verdict.status.open);
        assert_eq!(verdict.status.next_open, Some(written(utc(22, 0))));
        assert_eq!(verdict.next_edge, Some(utc(22, 0)));
        assert!(verdict.status.current_window.is_none());
    }

    #[test]
    fn an_open_window_comes_back_when_it_closes() {
        let w = window(serde_json::json!({"windows": [{"schedule": "0 22 * * *", "duration": "2h"}]}));
        let verdict = decide(&w, utc(22, 30)).expect("in range");
        assert!(verdict.status.open);
        let current = verdict.status.current_window.expect("open");
        assert_eq!(
            (current.start, current.end),
            (written(utc(22, 0)), written(utc(22, 0) + TimeDelta::hours(2)))
        );
        assert_eq!(verdict.next_edge, Some(utc(22, 0) + TimeDelta::hours(2)));
        assert_eq!(verdict.status.next_open, Some(written(utc(22, 0) + TimeDelta::days(1))));
    }

    #[test]
    fn a_bad_time_zone_is_an_invalid_spec_naming_the_field() {
        let w = window(
            serde_json::json!({"timezone": "Europe/Berln", "windows": [{"schedule": "0 22 * * *", "duration": "2h"}]}),
        );
        let verdict = decide(&w, utc(12, 0)).expect("in range");
        let ready = &verdict.status.conditions[0];
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "InvalidSpec"));
        assert!(
            ready.message.starts_with("spec.timezone: \"Europe/Berln\""),
            "{}",
            ready.message
        );
        assert_eq!(verdict.next_edge, None);
    }

    #[test]
    fn the_same_instant_twice_gives_the_same_status() {
        let mut w = window(serde_json::json!({"windows": [{"schedule": "0 22 * * *", "duration": "2h"}]}));
        let first = decide(&w, utc(12, 0)).expect("in range");
        w.status = Some(first.status.clone());
        assert_eq!(
            decide(&w, utc(13, 0)).expect("in range").status,
            first.status,
            "nothing changed between noon and one"
        );
    }

    #[test]
    fn an_opening_kubernetes_cannot_store_is_an_error_not_a_status_from_1970() {
        // Kubernetes timestamps end on 9999-12-30 at 22:00 (jiff's range,
        // kept clear of every time zone's offset).
        let w = window(serde_json::json!({"windows": [{"schedule": "0 23 * * *", "duration": "1h"}]}));
        let noon = Utc.with_ymd_and_hms(9999, 12, 30, 12, 0, 0).single().expect("valid");
        let error = decide(&w, noon).expect_err("tonight's opening is past what Kubernetes can store");
        assert_eq!(error.at, noon + TimeDelta::hours(11), "the opening is named");
        assert!(error.to_string().contains("outside the years -9999 to 9999"), "{error}");
    }
}
