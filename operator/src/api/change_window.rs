//! `ChangeWindow`: when changes may start.
//!
//! A window is a set of recurring openings (a 5-field cron in a named time
//! zone plus a duration), minus absolute blackouts, with limits on how many
//! changes run at once and how little time may be left when one starts. The
//! arithmetic lives in `core`; this module only describes the object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DURATION_PATTERN, conditions::conditions_schema};

/// Schedules in UTC unless a spec names another zone.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// When changes may start: recurring openings in a time zone, minus
/// blackouts.
#[allow(
    clippy::duplicated_attributes,
    reason = "every printcolumn(...) repeats the same keys; the lint mistakes them for duplicates"
)]
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "refit.dev",
    version = "v1alpha1",
    kind = "ChangeWindow",
    plural = "changewindows",
    shortname = "cw",
    category = "refit",
    status = "ChangeWindowStatus",
    derive = "PartialEq",
    doc = "When changes may start: recurring openings in a time zone (a 5-field cron and a duration), minus blackout periods, with a limit on concurrent changes.",
    printcolumn(
        name = "Open",
        type_ = "boolean",
        json_path = ".status.open",
        description = "Whether a change may start now"
    ),
    printcolumn(
        name = "Next-Open",
        type_ = "string",
        json_path = ".status.nextOpen",
        description = "The next opening after now (an instant: kubectl shows date columns as ages, and a future one as <invalid>)"
    ),
    printcolumn(name = "Timezone", type_ = "string", json_path = ".spec.timezone"),
    printcolumn(
        name = "Active",
        type_ = "integer",
        json_path = ".status.activeChanges",
        description = "Changes in progress under this window"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ChangeWindowSpec {
    /// IANA time zone in which `windows[].schedule` is read, e.g.
    /// `Europe/Berlin` or `America/New_York`. Daylight-saving changes follow
    /// the zone's rules. Default `UTC`.
    #[serde(default = "default_timezone")]
    #[schemars(length(min = 1, max = 64), pattern(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"))]
    pub timezone: String,

    /// Recurring openings. A change may start while any of them is open
    /// (and no blackout covers the instant); overlapping or adjacent openings
    /// form one window.
    #[schemars(length(min = 1, max = 32))]
    pub windows: Vec<RecurringWindow>,

    /// Absolute periods in which no change may start, whatever `windows`
    /// says: freezes for year-end, Black Friday, audits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    pub blackouts: Vec<Blackout>,

    /// How many changes may be in progress at once under this window, across
    /// all policies that use it. Default 1.
    #[serde(default = "default_max_concurrent_changes")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_concurrent_changes: i32,

    /// Do not start a change when less than this is left of the current
    /// opening (or before the next blackout), e.g. `30m`. A duration of
    /// `s`, `m`, `h` and `d` parts. Default `0m`: any time left is enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub min_remaining: Option<String>,
}

/// One recurring opening.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecurringWindow {
    /// A label shown in previews and ticket history, e.g. `weekend-nights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub name: Option<String>,

    /// When the window opens, as a standard 5-field cron expression
    /// (minute hour day-of-month month day-of-week) read in `timezone`,
    /// e.g. `0 22 * * FRI,SAT` for 22:00 every Friday and Saturday. Names
    /// (`MON`, `JAN`), ranges, steps and lists are allowed. An opening at a
    /// local time skipped by a daylight-saving change opens at the end of the
    /// gap; one in a repeated hour opens once, at the first occurrence.
    #[schemars(length(min = 9, max = 128), pattern(r"^\S+(\s+\S+){4}$"))]
    pub schedule: String,

    /// How long each opening lasts, as elapsed time, e.g. `4h` or `1h30m`.
    #[x_kube(validation = Rule::new(super::POSITIVE_DURATION_RULE).message("duration must be greater than zero"))]
    #[schemars(length(max = 32), pattern(DURATION_PATTERN))]
    pub duration: String,
}

/// A period in which no change may start.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.end > self.start").message("a blackout must end after it starts"))]
pub struct Blackout {
    /// Start of the blackout (RFC 3339, e.g. `2026-12-20T00:00:00Z`).
    pub start: Time,
    /// End of the blackout (exclusive). Must be after `start`.
    pub end: Time,
    /// Why changes are frozen; shown when a change is held back.
    #[schemars(length(min = 1, max = 256))]
    pub reason: String,
}

/// Observed state of a ChangeWindow.
#[derive(JsonSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeWindowStatus {
    /// Whether a change may start now.
    #[serde(default)]
    pub open: bool,

    /// The opening in effect now, clipped by blackouts; absent while closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_window: Option<TimeRange>,

    /// Start of the next opening after the current one (or after now, while
    /// closed), blackouts already taken into account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_open: Option<Time>,

    /// Changes in progress under this window now: the size of
    /// `activeTickets`.
    #[serde(default)]
    pub active_changes: i32,

    /// The ChangeTickets (`namespace/name`) holding one of this window's
    /// `maxConcurrentChanges` slots: in progress, or being started. refit
    /// takes a slot by writing this list with optimistic concurrency before
    /// it starts a change, so restarts and several replicas never start
    /// more changes at once than the window allows; a slot is given back
    /// when its ticket finishes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_tickets: Vec<String>,

    /// The generation of the spec these status fields describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Conditions: `Ready` (`False` with reason `InvalidSpec` when the cron
    /// expression or time zone cannot be used).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// A half-open interval `[start, end)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeRange {
    /// First instant of the interval.
    pub start: Time,
    /// First instant after the interval.
    pub end: Time,
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.to_owned()
}

fn default_max_concurrent_changes() -> i32 {
    1
}
