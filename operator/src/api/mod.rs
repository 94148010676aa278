//! The refit API: the four custom resources of group `refit.dev`, version
//! `v1alpha1`, as Rust types. Nothing here decides or does anything; the
//! types exist so that the CRDs (`refit crd`, `crds/`), the controllers and
//! `refit scan` share one definition. Field doc comments are what
//! `kubectl explain` shows, so they are written for cluster operators.
//!
//! Validation that the API server can do by itself (enums, patterns,
//! minimums, CEL rules) is declared here; what only Rust can check (cron
//! syntax, time zone names, semver ranges, regexes) is checked by the
//! controllers, which report `Ready=False` with reason `InvalidSpec`.

pub mod change_ticket;
pub mod change_window;
pub mod conditions;
pub mod drift_report;
pub mod patch_policy;
pub mod workload;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use change_ticket::{ChangeTicket, ChangeTicketSpec, ChangeTicketStatus};
pub use change_window::{ChangeWindow, ChangeWindowSpec, ChangeWindowStatus};
pub use drift_report::{DriftReport, DriftReportSpec, DriftReportStatus};
pub use patch_policy::{PatchPolicy, PatchPolicySpec, PatchPolicyStatus};

/// The API group of every refit kind.
pub const GROUP: &str = "refit.dev";
/// The only served (and stored) version so far.
pub const VERSION: &str = "v1alpha1";
/// `kubectl get refit` lists every refit kind through this category.
pub const CATEGORY: &str = "refit";

/// Durations in refit specs: one or more `<integer><unit>` pairs with the
/// units `s`, `m`, `h` and `d` (24 hours), e.g. `30m`, `4h`, `1h30m`, `3d`.
/// A duration is always elapsed time: `4h` across a daylight-saving change is
/// four real hours.
pub const DURATION_PATTERN: &str = r"^([0-9]{1,6}[smhd]){1,4}$";

/// Duration fields that must be positive carry this CEL rule: the pattern
/// already allows only digits and units, so a value is zero exactly when it
/// has no non-zero digit.
pub(crate) const POSITIVE_DURATION_RULE: &str = "self.matches('[1-9]')";

/// Object names that refit fields refer to (windows, policies, workloads,
/// tickets): Kubernetes DNS subdomain names.
pub const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";

/// Every CRD refit installs, in a stable order (alphabetical by plural, the
/// order of the files in `crds/`).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        ChangeTicket::crd(),
        ChangeWindow::crd(),
        DriftReport::crd(),
        PatchPolicy::crd(),
    ]
}
