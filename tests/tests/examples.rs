//! Every object in `examples/` is admitted by the committed CRDs (schema and
//! CEL rules, unknown fields rejected) and reads into refit's Rust types
//! without losing anything.

use refit::api::{ChangeTicket, ChangeWindow, DriftReport, PatchPolicy};
use refit_tests::{Admission, read_yaml, repo_root};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Each example and the CRD plural it belongs to.
const EXAMPLES: [(&str, &str); 4] = [
    ("examples/changewindow-weekend-nights.yaml", "changewindows"),
    ("examples/patchpolicy-storefront-web.yaml", "patchpolicies"),
    ("examples/driftreport-storefront-web.yaml", "driftreports"),
    ("examples/changeticket-storefront-web.yaml", "changetickets"),
];

#[test]
fn every_example_is_admitted_by_its_crd() {
    for (path, plural) in EXAMPLES {
        let object = read_yaml(path);
        let problems = Admission::for_plural(plural).create(&object);
        assert!(
            problems.is_empty(),
            "{path} would be rejected:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn every_example_file_is_listed_here() {
    let mut on_disk: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/ exists")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "yaml"))
        .map(|entry| format!("examples/{}", entry.file_name().to_string_lossy()))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|(path, _)| (*path).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "add new examples to EXAMPLES so they are validated");
}

/// Reads an example into `T` and back; nothing the example says may be lost.
fn round_trip<T: DeserializeOwned + Serialize>(path: &str) -> T {
    let original = read_yaml(path);
    let typed: T = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{path}: {e}"));
    let written = serde_json::to_value(&typed).expect("serializes");
    assert_subset(&original, &written, path);
    typed
}

/// Everything in `expected` appears, equal, in `actual` (which may add
/// defaults).
fn assert_subset(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let child = format!("{at}.{key}");
                let found = have.get(key).unwrap_or_else(|| panic!("{child} was lost"));
                assert_subset(value, found, &child);
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            assert_eq!(want.len(), have.len(), "{at}: list length changed");
            for (index, (w, h)) in want.iter().zip(have).enumerate() {
                assert_subset(w, h, &format!("{at}[{index}]"));
            }
        }
        _ => assert_eq!(expected, actual, "{at} changed"),
    }
}

#[test]
fn the_weekend_window_reads_into_the_rust_type() {
    let window: ChangeWindow = round_trip("examples/changewindow-weekend-nights.yaml");
    assert_eq!(window.spec.timezone, "Europe/Berlin");
    assert_eq!(window.spec.windows[0].schedule, "0 22 * * FRI,SAT");
    assert_eq!(
        window.spec.blackouts[0].reason,
        "Year-end change freeze (CAB decision 2026-10-14)"
    );
    assert_eq!(window.spec.max_concurrent_changes, 2);
}

#[test]
fn the_web_tier_policy_reads_into_the_rust_type() {
    let policy: PatchPolicy = round_trip("examples/patchpolicy-storefront-web.yaml");
    assert_eq!(policy.spec.images[0].repository, "docker.io/library/nginx");
    assert_eq!(policy.spec.images[0].min_age.as_deref(), Some("3d"));
    assert_eq!(policy.spec.window_ref.as_deref(), Some("weekend-nights"));
    // Fields the example leaves out take their documented defaults.
    assert!(policy.spec.images[0].pin_digest);
    assert_eq!(policy.spec.priority, 0);
}

#[test]
fn the_drift_report_and_ticket_read_into_the_rust_types() {
    let report: DriftReport = round_trip("examples/driftreport-storefront-web.yaml");
    let status = report.status.expect("the example has findings");
    assert_eq!(status.containers.len(), 3);
    assert_eq!(status.ticket.as_deref(), Some("deployment-web-8x2kq"));

    let ticket: ChangeTicket = round_trip("examples/changeticket-storefront-web.yaml");
    assert_eq!(
        ticket.metadata.name, status.ticket,
        "the report names the example ticket"
    );
    assert_eq!(ticket.spec.changes[0].container, "web");
}
