//! `refit window` as a person planning a change meets it: the example
//! ChangeWindow (Berlin, Friday and Saturday nights from 22:00 for 6h, a
//! year-end freeze, 45m minRemaining, two changes at once) previewed as text
//! and JSON, and every kind of bad input refused with exit code 2 and a
//! message that names the file, the field and the problem.

use std::{path::PathBuf, process::Command};

use k8s_openapi::jiff::Timestamp;
use pretty_assertions::assert_eq;
use refit_tests::{refit_binary, run_refit};
use serde_json::{Value, json};

const EXAMPLE: &str = "examples/changewindow-weekend-nights.yaml";

/// A ChangeWindow file of one test's own, removed when the test ends.
struct SpecFile(PathBuf);

impl SpecFile {
    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for SpecFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn spec_file(name: &str, yaml: &str) -> SpecFile {
    let path = std::env::temp_dir().join(format!("refit-window-cli-{}-{name}.yaml", std::process::id()));
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    SpecFile(path)
}

fn json_preview(args: &[&str]) -> Value {
    let (code, stdout, stderr) = run_refit(args);
    assert_eq!(code, 0, "refit {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// Runs `refit window` on a spec that must be refused; returns stderr.
fn refused(args: &[&str]) -> String {
    let (code, stdout, stderr) = run_refit(args);
    assert_eq!(code, 2, "refit {args:?} must exit 2; stderr: {stderr}");
    assert!(stdout.is_empty(), "refit {args:?} printed: {stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn on_a_friday_night_the_example_is_open_and_json_lists_the_next_openings() {
    let preview = json_preview(&[
        "window",
        "--file",
        EXAMPLE,
        "--from",
        "2026-11-27T22:30:00+01:00",
        "--count",
        "3",
        "--output",
        "json",
    ]);
    assert_eq!(
        preview,
        json!({
            "open": true,
            "reason": "window \"friday-and-saturday-night\" opened at 2026-11-27T21:00:00Z; open until 2026-11-28T03:00:00Z",
            "current": {"start": "2026-11-27T21:00:00Z", "end": "2026-11-28T03:00:00Z"},
            "openings": [
                {"start": "2026-11-28T21:00:00Z", "end": "2026-11-29T03:00:00Z"},
                {"start": "2026-12-04T21:00:00Z", "end": "2026-12-05T03:00:00Z"},
                {"start": "2026-12-05T21:00:00Z", "end": "2026-12-06T03:00:00Z"},
            ],
        })
    );
}

#[test]
fn json_openings_are_already_cut_by_the_year_end_freeze() {
    let preview = json_preview(&[
        "window",
        "--file",
        EXAMPLE,
        "--from",
        "2026-12-10T00:00:00Z",
        "--count",
        "4",
        "--output",
        "json",
    ]);
    assert_eq!(preview["open"], false);
    assert_eq!(preview["reason"], "no window is open");
    assert_eq!(preview["current"], Value::Null);
    assert_eq!(
        preview["openings"],
        json!([
            {"start": "2026-12-11T21:00:00Z", "end": "2026-12-12T03:00:00Z"},
            {"start": "2026-12-12T21:00:00Z", "end": "2026-12-13T03:00:00Z"},
            {"start": "2026-12-18T21:00:00Z", "end": "2026-12-18T23:00:00Z"},
            {"start": "2027-01-08T21:00:00Z", "end": "2027-01-09T03:00:00Z"},
        ])
    );
}

#[test]
fn inside_the_freeze_the_reason_names_the_blackout() {
    let preview = json_preview(&[
        "window",
        "--file",
        EXAMPLE,
        "--from",
        "2027-01-02T23:00:00+01:00",
        "--count",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(preview["open"], false);
    assert_eq!(
        preview["reason"],
        "blackout \"Year-end change freeze (CAB decision 2026-10-14)\" (spec.blackouts[0]) from 2026-12-18T23:00:00Z until 2027-01-04T23:00:00Z"
    );
    assert_eq!(
        preview["openings"],
        json!([{"start": "2027-01-08T21:00:00Z", "end": "2027-01-09T03:00:00Z"}])
    );
}

#[test]
fn text_output_shows_why_and_each_opening_in_local_time_and_utc() {
    let (code, stdout, stderr) = run_refit(&[
        "window",
        "--file",
        EXAMPLE,
        "--from",
        "2026-11-27T21:30:00Z",
        "--count",
        "3",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "\
ChangeWindow weekend-nights (Europe/Berlin)
at Fri 2026-11-27 22:30 CET (+01:00) = 2026-11-27T21:30:00Z

open: window \"friday-and-saturday-night\" opened at 2026-11-27T21:00:00Z; open until 2026-11-28T03:00:00Z
current opening:
  Fri 2026-11-27 22:00 CET (+01:00) → Sat 2026-11-28 04:00 CET (+01:00)   2026-11-27T21:00:00Z → 2026-11-28T03:00:00Z
changes may start until Sat 2026-11-28 03:15 CET (+01:00) = 2026-11-28T02:15:00Z (minRemaining 45m); at most 2 changes at a time

next 3 openings:
  Sat 2026-11-28 22:00 CET (+01:00) → Sun 2026-11-29 04:00 CET (+01:00)   2026-11-28T21:00:00Z → 2026-11-29T03:00:00Z
  Fri 2026-12-04 22:00 CET (+01:00) → Sat 2026-12-05 04:00 CET (+01:00)   2026-12-04T21:00:00Z → 2026-12-05T03:00:00Z
  Sat 2026-12-05 22:00 CET (+01:00) → Sun 2026-12-06 04:00 CET (+01:00)   2026-12-05T21:00:00Z → 2026-12-06T03:00:00Z
"
    );
}

#[test]
fn text_output_says_when_too_little_of_the_opening_is_left() {
    let (code, stdout, _) = run_refit(&[
        "window",
        "--file",
        EXAMPLE,
        "--from",
        "2026-11-28T02:30:00Z",
        "--count",
        "0",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "no change may start now: only 30m is left before the opening ends at 2026-11-28T03:00:00Z; minRemaining is 45m"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("next"), "--count 0 lists no openings:\n{stdout}");
}

#[test]
fn local_times_carry_the_zone_abbreviation_and_offset_across_a_dst_change() {
    // Saturday 24 October opens at 22:00 CEST and closes six real hours
    // later, at 03:00 CET, after the clocks went back.
    let (code, stdout, _) = run_refit(&[
        "window",
        "--file",
        EXAMPLE,
        "--from",
        "2026-10-24T12:00:00Z",
        "--count",
        "1",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "  Sat 2026-10-24 22:00 CEST (+02:00) → Sun 2026-10-25 03:00 CET (+01:00)   2026-10-24T20:00:00Z → 2026-10-25T02:00:00Z"
        ),
        "{stdout}"
    );
}

#[test]
fn from_defaults_to_now() {
    let before = Timestamp::now();
    let preview = json_preview(&["window", "--file", EXAMPLE, "--output", "json"]);
    let openings = preview["openings"].as_array().expect("openings");
    assert!(!openings.is_empty() && openings.len() <= 5, "{preview}");
    for opening in openings {
        let start: Timestamp = opening["start"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an instant");
        assert!(start > before, "{start} is not after now ({before})");
    }
}

#[test]
fn an_unreadable_file_is_named() {
    let stderr = refused(&["window", "--file", "does-not-exist.yaml"]);
    assert!(stderr.contains("cannot read does-not-exist.yaml"), "{stderr}");
}

#[test]
fn an_invalid_spec_names_every_field_and_problem() {
    let file = spec_file(
        "invalid",
        "\
apiVersion: refit.dev/v1alpha1
kind: ChangeWindow
metadata:
  name: typos
spec:
  timezone: Europe/Berln
  windows:
    - schedule: \"0 22 * * FRI\"
      duration: 6h
    - schedule: \"0 0 31-30 * *\"
      duration: 1h
",
    );
    let path = file.path();
    let stderr = refused(&["window", "--file", &path]);
    assert_eq!(
        stderr,
        format!(
            "error: {path}: 2 problems: spec.timezone: \"Europe/Berln\" is not an IANA time zone (write a name such as Europe/Berlin, America/New_York or UTC); spec.windows[1].schedule: day-of-month field \"31-30\": the range runs backwards (31 is after 30); write the smaller value first\n"
        )
    );
}

#[test]
fn a_cron_with_seconds_is_refused_with_the_reason() {
    let file = spec_file(
        "seconds",
        "kind: ChangeWindow\nmetadata: {name: s}\nspec:\n  windows:\n    - {schedule: \"0 0 22 * * FRI\", duration: 6h}\n",
    );
    let stderr = refused(&["window", "--file", &file.path()]);
    assert!(
        stderr.contains("spec.windows[0].schedule: \"0 0 22 * * FRI\" has 6 fields; expected 5"),
        "{stderr}"
    );
}

#[test]
fn a_window_that_never_opens_is_an_error() {
    let file = spec_file(
        "never",
        "kind: ChangeWindow\nmetadata: {name: feb30}\nspec:\n  windows:\n    - {schedule: \"0 0 30 2 *\", duration: 4h}\n",
    );
    let stderr = refused(&["window", "--file", &file.path(), "--from", "2026-06-01T00:00:00Z"]);
    assert!(
        stderr.contains(
            "the window never opens: no opening starts after 2026-06-01T00:00:00Z and before 2028-06-01T00:00:00Z (refit looks 731 days ahead): spec.windows[0].schedule \"0 0 30 2 *\" matches no date in any year"
        ),
        "{stderr}"
    );
}

#[test]
fn a_file_of_another_kind_is_named_as_such() {
    let stderr = refused(&["window", "--file", "examples/patchpolicy-storefront-web.yaml"]);
    assert!(
        stderr.contains(
            "examples/patchpolicy-storefront-web.yaml: kind is \"PatchPolicy\"; refit window reads a ChangeWindow"
        ),
        "{stderr}"
    );
}

#[test]
fn yaml_errors_name_the_file_and_the_line() {
    let file = spec_file(
        "wrong-type",
        "kind: ChangeWindow\nmetadata: {name: x}\nspec:\n  windows:\n    - {schedule: \"0 22 * * *\", duration: 6h}\n  maxConcurrentChanges: lots\n",
    );
    let path = file.path();
    let stderr = refused(&["window", "--file", &path]);
    assert!(
        stderr.starts_with(&format!("error: {path}: ")) && stderr.contains("line 6"),
        "{stderr}"
    );

    let file = spec_file(
        "no-windows",
        "kind: ChangeWindow\nmetadata: {name: x}\nspec:\n  timezone: UTC\n",
    );
    let stderr = refused(&["window", "--file", &file.path()]);
    assert!(stderr.contains("missing field `windows`"), "{stderr}");
}

#[test]
fn a_from_that_is_not_rfc_3339_is_a_usage_error() {
    let (code, _, stderr) = run_refit(&["window", "--file", EXAMPLE, "--from", "tomorrow"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("\"tomorrow\" is not an RFC 3339 instant such as 2026-11-27T22:30:00Z"),
        "{stderr}"
    );
}

#[test]
fn an_output_that_cannot_be_written_exits_1() {
    let full = match std::fs::OpenOptions::new().write(true).open("/dev/full") {
        Ok(full) => full,
        Err(error) => {
            refit_apiserver::skip::unless_ci(&format!("/dev/full cannot be opened ({error})"), "Linux provides it");
            return;
        }
    };
    let output = Command::new(refit_binary())
        .args(["window", "--file", EXAMPLE, "--from", "2026-11-27T21:30:00Z"])
        .current_dir(refit_tests::repo_root())
        .stdout(full)
        .output()
        .expect("refit runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("error: cannot write standard output"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
