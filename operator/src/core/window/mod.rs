//! Change windows: when a change may start. Pure arithmetic over a
//! `ChangeWindow` spec; time is always a parameter, never read from a clock.
//!
//! The pipeline: [`Schedule::compile`] validates a
//! [`ChangeWindowSpec`](crate::api::ChangeWindowSpec) (every problem named by
//! its field), then the queries answer from the compiled schedule:
//! [`Schedule::state_at`] (open or not, the current opening, and why),
//! [`Schedule::next_opening`], [`Schedule::upcoming`] and
//! [`Schedule::preview`] (openings after an instant), and
//! [`Schedule::may_start`] (the rule for starting one change).
//!
//! Semantics, decided once here and documented for users in
//! `docs/WINDOWS.md`:
//! - each `windows[]` entry opens when its cron fires, read in `timezone`,
//!   and stays open for `duration` of elapsed time;
//! - a firing at a wall-clock time skipped by a spring-forward change opens
//!   at the first instant after the gap; one in a repeated hour opens once,
//!   at the first occurrence;
//! - openings that overlap or touch, of one window or several, merge into
//!   one opening;
//! - blackouts are half-open `[start, end)` and always win: they are cut out
//!   of openings, which can split one opening into two;
//! - "the next opening after T" is the first opening, blackouts cut out,
//!   that starts strictly after T; while open, that is the one after the
//!   current opening;
//! - searches look [`HORIZON`] (two years) ahead, further only to see a rare
//!   schedule (29 February) fire once; a spec with no opening in that time
//!   "never opens" ([`WindowError::NeverOpens`]).

mod cron;
mod decision;
mod error;
mod occurrences;
mod schedule;
mod search;
mod state;
mod zone;

#[cfg(test)]
mod tests;

pub use cron::{Cron, CronField, CronProblem};
pub use decision::{Decision, Refusal, StartSpan};
pub use error::{NeverOpensWhy, Rfc3339, WindowError};
pub use schedule::{LONGEST_OPENING, Schedule};
pub use search::{HORIZON, SEARCH_LIMIT};
pub use state::{BlackoutRef, Interval, Opening, Preview, State};
