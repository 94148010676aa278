//! The validation the API server does for refit's CRDs by itself: every CEL
//! rule with an object it admits and one it rejects (and the message the user
//! sees), plus the schema checks that catch the common typos. Objects start
//! from the committed examples, so each test changes one thing.

use refit::{
    api::change_ticket::TicketPhase,
    core::ticket::{TicketEvent, transition},
};
use refit_tests::{Admission, read_yaml};
use serde_json::{Value, json};

fn window() -> Value {
    read_yaml("examples/changewindow-weekend-nights.yaml")
}

fn policy() -> Value {
    read_yaml("examples/patchpolicy-storefront-web.yaml")
}

fn ticket() -> Value {
    read_yaml("examples/changeticket-storefront-web.yaml")
}

fn windows() -> Admission {
    Admission::for_plural("changewindows")
}

fn policies() -> Admission {
    Admission::for_plural("patchpolicies")
}

fn tickets() -> Admission {
    Admission::for_plural("changetickets")
}

#[track_caller]
fn assert_admitted(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "expected the object to be admitted, got:\n{}",
        problems.join("\n")
    );
}

/// The object is rejected, and one of the messages is exactly `expected`
/// (`path: message`, as `kubectl` prints it).
#[track_caller]
fn assert_rejected_with(problems: Vec<String>, expected: &str) {
    assert!(
        problems.iter().any(|problem| problem == expected),
        "expected the rejection `{expected}`, got:\n{}",
        if problems.is_empty() {
            "(admitted)".to_owned()
        } else {
            problems.join("\n")
        }
    );
}

/// The object is rejected by the OpenAPI schema at `path`.
#[track_caller]
fn assert_schema_rejects_at(problems: Vec<String>, path: &str) {
    assert!(
        problems.iter().any(|problem| problem.starts_with(&format!("{path}: "))),
        "expected a schema error at {path}, got:\n{}",
        if problems.is_empty() {
            "(admitted)".to_owned()
        } else {
            problems.join("\n")
        }
    );
}

// ChangeWindow

#[test]
fn a_blackout_that_ends_after_it_starts_is_admitted() {
    assert_admitted(windows().create(&window()));
}

#[test]
fn a_blackout_that_ends_when_it_starts_is_rejected() {
    let mut cw = window();
    cw["spec"]["blackouts"][0]["end"] = cw["spec"]["blackouts"][0]["start"].clone();
    assert_rejected_with(
        windows().create(&cw),
        "spec.blackouts[0]: a blackout must end after it starts",
    );
}

#[test]
fn a_blackout_that_ends_before_it_starts_is_rejected() {
    let mut cw = window();
    cw["spec"]["blackouts"][0]["start"] = json!("2027-01-05T00:00:00Z");
    cw["spec"]["blackouts"][0]["end"] = json!("2026-12-19T00:00:00+01:00");
    assert_rejected_with(
        windows().create(&cw),
        "spec.blackouts[0]: a blackout must end after it starts",
    );
}

#[test]
fn a_window_that_lasts_one_and_a_half_hours_is_admitted() {
    let mut cw = window();
    cw["spec"]["windows"][0]["duration"] = json!("1h30m");
    assert_admitted(windows().create(&cw));
}

#[test]
fn a_window_of_zero_length_is_rejected() {
    let mut cw = window();
    cw["spec"]["windows"][0]["duration"] = json!("0h");
    assert_rejected_with(
        windows().create(&cw),
        "spec.windows[0].duration: duration must be greater than zero",
    );
}

#[test]
fn durations_are_written_with_units_not_words() {
    for bad in ["4 hours", "4", "PT4H", "-1h", "1.5h"] {
        let mut cw = window();
        cw["spec"]["windows"][0]["duration"] = json!(bad);
        assert_schema_rejects_at(windows().create(&cw), "/spec/windows/0/duration");
    }
}

#[test]
fn a_schedule_needs_five_cron_fields() {
    let mut cw = window();
    cw["spec"]["windows"][0]["schedule"] = json!("0 0 22 * * FRI");
    assert_schema_rejects_at(windows().create(&cw), "/spec/windows/0/schedule");
}

#[test]
fn at_least_one_change_must_be_allowed_at_a_time() {
    let mut cw = window();
    cw["spec"]["maxConcurrentChanges"] = json!(0);
    assert_schema_rejects_at(windows().create(&cw), "/spec/maxConcurrentChanges");
}

#[test]
fn a_window_without_openings_is_rejected() {
    let mut cw = window();
    cw["spec"]["windows"] = json!([]);
    assert_schema_rejects_at(windows().create(&cw), "/spec/windows");
}

#[test]
fn a_misspelled_field_is_rejected() {
    let mut cw = window();
    cw["spec"]["timeZone"] = json!("Europe/Berlin");
    assert_schema_rejects_at(windows().create(&cw), "/spec");
}

// PatchPolicy

#[test]
fn a_report_only_policy_needs_no_window() {
    let mut pp = policy();
    pp["spec"]["mode"] = json!("Report");
    pp["spec"].as_object_mut().expect("spec").remove("windowRef");
    assert_admitted(policies().create(&pp));
}

#[test]
fn a_policy_that_changes_workloads_needs_a_window() {
    for mode in ["Approve", "Auto"] {
        let mut pp = policy();
        pp["spec"]["mode"] = json!(mode);
        pp["spec"].as_object_mut().expect("spec").remove("windowRef");
        assert_rejected_with(
            policies().create(&pp),
            "spec.windowRef: windowRef is required when mode is Approve or Auto: changes only start inside a ChangeWindow",
        );
    }
}

#[test]
fn a_policy_without_mode_reports_only_and_needs_no_window() {
    let mut pp = policy();
    let spec = pp["spec"].as_object_mut().expect("spec");
    spec.remove("mode");
    spec.remove("windowRef");
    assert_admitted(policies().create(&pp));
}

#[test]
fn a_semver_constraint_is_admitted_for_version_updates() {
    let mut pp = policy();
    pp["spec"]["images"][0]["constraint"] = json!(">=1.29, <1.32");
    assert_admitted(policies().create(&pp));
}

#[test]
fn a_semver_constraint_is_rejected_when_only_digests_are_followed() {
    let mut pp = policy();
    pp["spec"]["images"][1]["constraint"] = json!(">=2.0");
    assert_rejected_with(
        policies().create(&pp),
        "spec.images[1].constraint: constraint applies only when update is patch, minor or major",
    );
}

#[test]
fn image_patterns_that_can_match_are_admitted() {
    // `ngin?` and `nginx-*` are read as Docker Hub official images; `**`
    // crosses segments.
    for pattern in [
        "**",
        "nginx",
        "ngin?",
        "nginx-*",
        "*/library/*",
        "docker.io/**",
        "docker.io/library/*",
    ] {
        let mut pp = policy();
        pp["spec"]["images"][1]["match"] = json!(pattern);
        assert_admitted(policies().create(&pp));
    }
}

#[test]
fn a_one_segment_pattern_that_starts_with_a_glob_is_rejected() {
    for pattern in ["*", "*-exporter", "?"] {
        let mut pp = policy();
        pp["spec"]["images"][1]["match"] = json!(pattern);
        assert_rejected_with(
            policies().create(&pp),
            "spec.images[1].match: a pattern of one path segment that starts with * or ? matches no image, because every repository has at least two (docker.io/library/nginx): use ** for every image or docker.io/library/* for Docker Hub's official images",
        );
    }
}

#[test]
fn a_docker_hub_pattern_of_one_globbed_segment_is_rejected() {
    for pattern in ["docker.io/*", "index.docker.io/*", "docker.io/ngin?"] {
        let mut pp = policy();
        pp["spec"]["images"][1]["match"] = json!(pattern);
        assert_rejected_with(
            policies().create(&pp),
            "spec.images[1].match: a Docker Hub pattern with one globbed path segment matches no image, because every Docker Hub repository has two (docker.io/library/nginx, docker.io/bitnami/redis): use docker.io/** for every Docker Hub image or docker.io/library/* for the official images",
        );
    }
}

/// The CEL rules on `match` and `refit::core::policy` (which `refit scan`
/// and the operator use) must refuse exactly the same patterns as matching
/// nothing: every pattern of up to three characters from `a.*?` after each
/// kind of prefix is checked by both.
#[test]
fn the_api_server_and_refit_refuse_the_same_patterns_as_matching_nothing() {
    let admission = policies();
    let alphabet = ['a', '.', '*', '?'];
    let mut segments: Vec<String> = alphabet.iter().map(char::to_string).collect();
    for _ in 0..2 {
        let longer: Vec<String> = segments
            .iter()
            .filter(|s| s.len() == segments.last().map_or(0, String::len))
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        segments.extend(longer);
    }
    let prefixes = [
        "",
        "docker.io/",
        "index.docker.io/",
        "registry-1.docker.io/",
        "ghcr.io/",
        "*/",
        "a/",
    ];
    let mut refused = 0;
    for prefix in prefixes {
        for segment in &segments {
            let pattern = format!("{prefix}{segment}");
            let mut pp = policy();
            pp["spec"]["images"][1]["match"] = json!(pattern);
            let by_api_server = admission
                .create(&pp)
                .iter()
                .any(|problem| problem.starts_with("spec.images[1].match: ") && problem.contains("matches no image"));
            let spec: refit::api::PatchPolicySpec =
                serde_json::from_value(pp["spec"].clone()).expect("a valid spec shape");
            let by_refit = refit::core::policy::ImageRules::compile(&spec)
                .err()
                .is_some_and(|errors| {
                    errors
                        .iter()
                        .any(|e| e.field == "spec.images[1].match" && e.problem.contains("matches no image"))
                });
            assert_eq!(
                by_api_server, by_refit,
                "`{pattern}`: API server refuses: {by_api_server}, refit: {by_refit}"
            );
            refused += usize::from(by_refit);
        }
    }
    assert!(
        refused > 50,
        "only {refused} patterns were refused: the check compares too little"
    );
}

#[test]
fn an_unknown_update_strategy_is_rejected() {
    let mut pp = policy();
    pp["spec"]["images"][0]["update"] = json!("latest");
    assert_schema_rejects_at(policies().create(&pp), "/spec/images/0/update");
}

#[test]
fn a_scan_interval_of_a_minute_or_more_is_admitted() {
    for interval in ["1m", "90s", "60s", "2h", "1d"] {
        let mut pp = policy();
        pp["spec"]["scanInterval"] = json!(interval);
        assert_admitted(policies().create(&pp));
    }
}

#[test]
fn a_scan_interval_under_a_minute_is_rejected() {
    for interval in ["30s", "59s", "0m", "0s"] {
        let mut pp = policy();
        pp["spec"]["scanInterval"] = json!(interval);
        assert_rejected_with(
            policies().create(&pp),
            "spec.scanInterval: scanInterval must be at least 1m",
        );
    }
}

#[test]
fn a_zero_ticket_expiry_is_rejected() {
    let mut pp = policy();
    pp["spec"]["ticketExpiry"] = json!("0d");
    assert_rejected_with(
        policies().create(&pp),
        "spec.ticketExpiry: ticketExpiry must be greater than zero",
    );
    pp["spec"]["ticketExpiry"] = json!("7d");
    assert_admitted(policies().create(&pp));
}

#[test]
fn a_zero_progress_deadline_is_rejected() {
    let mut pp = policy();
    pp["spec"]["rollout"]["progressDeadline"] = json!("0m");
    assert_rejected_with(
        policies().create(&pp),
        "spec.rollout.progressDeadline: progressDeadline must be greater than zero",
    );
}

#[test]
fn a_rebuild_job_alone_is_admitted() {
    let mut pp = policy();
    pp["spec"]["baseImages"]["rebuild"] = json!({"job": {"namespace": "ci", "cronJobName": "rebuild-image"}});
    assert_admitted(policies().create(&pp));
}

#[test]
fn a_rebuild_target_needs_exactly_one_of_webhook_or_job() {
    let mut both = policy();
    both["spec"]["baseImages"]["rebuild"]["job"] = json!({"namespace": "ci", "cronJobName": "rebuild-image"});
    assert_rejected_with(
        policies().create(&both),
        "spec.baseImages.rebuild: set exactly one of webhook or job",
    );

    let mut neither = policy();
    neither["spec"]["baseImages"]["rebuild"] = json!({});
    assert_rejected_with(
        policies().create(&neither),
        "spec.baseImages.rebuild: set exactly one of webhook or job",
    );
}

#[test]
fn a_rebuild_webhook_must_use_https() {
    let mut pp = policy();
    pp["spec"]["baseImages"]["rebuild"]["webhook"]["url"] = json!("http://ci.acme.example/hooks/rebuild");
    assert_rejected_with(
        policies().create(&pp),
        "spec.baseImages.rebuild.webhook.url: url must be an https:// URL",
    );
}

#[test]
fn a_rebuild_webhook_secret_names_a_token_or_an_hmac_key() {
    let mut token = policy();
    token["spec"]["baseImages"]["rebuild"]["webhook"]["secretRef"] = json!({"name": "ci", "tokenKey": "token"});
    assert_admitted(policies().create(&token));

    let mut neither = policy();
    neither["spec"]["baseImages"]["rebuild"]["webhook"]["secretRef"] = json!({"name": "ci"});
    assert_rejected_with(
        policies().create(&neither),
        "spec.baseImages.rebuild.webhook.secretRef: set tokenKey, hmacKey or both",
    );
}

#[test]
fn a_sidecar_baseline_names_exactly_one_source() {
    let mut pp = policy();
    pp["spec"]["runtime"] = json!({"sidecars": [
        {"container": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.3"},
        {"container": "linkerd-proxy", "configMapRef": {"namespace": "linkerd", "name": "linkerd-config", "key": "proxyImage"}},
    ]});
    assert_admitted(policies().create(&pp));

    pp["spec"]["runtime"]["sidecars"][0]["workloadRef"] =
        json!({"kind": "Deployment", "namespace": "istio-system", "name": "istiod"});
    assert_rejected_with(
        policies().create(&pp),
        "spec.runtime.sidecars[0]: set exactly one of image, configMapRef or workloadRef",
    );

    pp["spec"]["runtime"]["sidecars"][1] = json!({"container": "linkerd-proxy"});
    assert_rejected_with(
        policies().create(&pp),
        "spec.runtime.sidecars[1]: set exactly one of image, configMapRef or workloadRef",
    );
}

// ChangeTicket

#[test]
fn a_ticket_can_be_approved_after_creation() {
    let mut old = ticket();
    old["spec"].as_object_mut().expect("spec").remove("approval");
    let new = ticket();
    assert_admitted(tickets().update(&old, &new));
}

#[test]
fn an_approved_ticket_can_still_be_rejected() {
    let old = ticket();
    let mut new = ticket();
    new["spec"]["approval"] = json!({"approved": false, "by": "cab@acme.example", "reason": "freeze"});
    assert_admitted(tickets().update(&old, &new));
    new["spec"]["approval"] =
        json!({"approved": false, "rejected": true, "by": "cab@acme.example", "reason": "freeze"});
    assert_admitted(tickets().update(&old, &new));
}

#[test]
fn the_change_of_a_ticket_cannot_be_edited() {
    let old = ticket();
    let mut new = ticket();
    new["spec"]["changes"][0]["to"] = json!(
        "docker.io/library/nginx:1.31.4-alpine3.24-slim@sha256:e7f03bfaba159f9541833d6f7bb988676c6d687f1a6963419a7c4a3a0088157b"
    );
    assert_rejected_with(
        tickets().update(&old, &new),
        "spec: spec is immutable except spec.approval: create a new ChangeTicket instead",
    );
}

#[test]
fn no_other_spec_field_of_a_ticket_can_be_edited() {
    let edits: [(&str, Value); 6] = [
        ("workload", json!({"kind": "Deployment", "name": "api"})),
        ("type", json!("Restart")),
        ("summary", json!("nginx 1.29.8-alpine→1.30.4-alpine")),
        ("policy", json!("other-policy")),
        ("window", json!("any-time")),
        ("changes", json!([])),
    ];
    for (field, value) in edits {
        let old = ticket();
        let mut new = ticket();
        new["spec"][field] = value;
        let problems = tickets().update(&old, &new);
        assert!(
            problems.contains(
                &"spec: spec is immutable except spec.approval: create a new ChangeTicket instead".to_owned()
            ),
            "editing spec.{field} was admitted: {problems:?}"
        );
    }
}

#[test]
fn an_approval_cannot_be_withdrawn_by_deleting_it() {
    let old = ticket();
    let mut new = ticket();
    new["spec"].as_object_mut().expect("spec").remove("approval");
    assert_rejected_with(
        tickets().update(&old, &new),
        "spec.approval: spec.approval cannot be removed once given; set approved: false to withdraw it",
    );
}

#[test]
fn an_approval_cannot_be_both_approved_and_rejected() {
    let mut ct = ticket();
    ct["spec"]["approval"]["rejected"] = json!(true);
    assert_rejected_with(
        tickets().create(&ct),
        "spec.approval: an approval cannot be both approved and rejected: set approved: false to reject",
    );
}

#[test]
fn an_approval_must_say_whether_it_approves() {
    let mut ct = ticket();
    ct["spec"]["approval"] = json!({"by": "jana.novak@acme.example"});
    assert_schema_rejects_at(tickets().create(&ct), "/spec/approval");
}

#[test]
fn a_scheduled_ticket_can_start() {
    let old = ticket();
    let mut new = ticket();
    new["status"]["phase"] = json!("InProgress");
    new["status"]["history"]
        .as_array_mut()
        .expect("history")
        .push(json!({"time": "2026-11-27T21:00:04Z", "phase": "InProgress", "message": "window weekend-nights opened", "actor": "refit"}));
    assert_admitted(tickets().update(&old, &new));
}

#[test]
fn a_finished_ticket_cannot_change_phase() {
    let mut old = ticket();
    old["status"]["phase"] = json!("Succeeded");
    let mut new = old.clone();
    new["status"]["phase"] = json!("InProgress");
    assert_rejected_with(
        tickets().update(&old, &new),
        "status.phase: a ticket in phase Succeeded cannot move to InProgress: it is finished",
    );
}

/// The example ticket moved from `from` to `to` in one status write, its
/// history recording both.
fn moved(from: TicketPhase, to: TicketPhase) -> (Value, Value) {
    let mut old = ticket();
    old["status"]["phase"] = json!(from.as_str());
    old["status"]["history"] =
        json!([{"time": "2026-11-24T09:12:40Z", "phase": from.as_str(), "message": "before", "actor": "refit"}]);
    let mut new = old.clone();
    new["status"]["phase"] = json!(to.as_str());
    new["status"]["history"]
        .as_array_mut()
        .expect("history")
        .push(json!({"time": "2026-11-24T09:12:41Z", "phase": to.as_str(), "message": "after", "actor": "refit"}));
    (old, new)
}

#[test]
fn the_api_server_admits_exactly_the_transitions_of_the_state_machine() {
    for from in TicketPhase::ALL {
        for to in TicketPhase::ALL.into_iter().filter(|to| *to != from) {
            let legal = TicketEvent::ALL.iter().any(|event| transition(from, *event) == Ok(to));
            let (old, new) = moved(from, to);
            let problems = tickets().update(&old, &new);
            if legal {
                assert!(problems.is_empty(), "{from} → {to} is a transition, but: {problems:?}");
            } else {
                let finished = if from.is_terminal() { ": it is finished" } else { "" };
                assert_rejected_with(
                    problems,
                    &format!("status.phase: a ticket in phase {from} cannot move to {to}{finished}"),
                );
            }
        }
    }
}

#[test]
fn a_phase_change_must_be_recorded_in_the_history() {
    let (old, mut new) = moved(TicketPhase::Scheduled, TicketPhase::InProgress);
    new["status"]["history"].as_array_mut().expect("history").pop();
    assert_rejected_with(
        tickets().update(&old, &new),
        "status.history: the newest status.history entry must record the phase the ticket is in",
    );
}

#[test]
fn the_audit_trail_cannot_lose_entries() {
    let old = ticket();
    let mut new = ticket();
    new["status"]["history"].as_array_mut().expect("history").remove(0);
    assert_rejected_with(
        tickets().update(&old, &new),
        "status.history: status.history is an audit trail: entries cannot be removed",
    );
}

#[test]
fn an_unknown_phase_or_change_reason_is_rejected() {
    let mut ct = ticket();
    ct["status"]["phase"] = json!("Done");
    assert_schema_rejects_at(tickets().create(&ct), "/status/phase");

    let mut ct = ticket();
    ct["spec"]["changes"][0]["reason"] = json!("Newer");
    assert_schema_rejects_at(tickets().create(&ct), "/spec/changes/0/reason");
}

#[test]
fn a_misspelt_field_is_rejected_as_kubectl_validate_strict_does() {
    let mut cw = window();
    let zone = cw["spec"]["timezone"].take();
    cw["spec"]["timeZone"] = zone;
    let problems = windows().create(&cw);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("/spec:") && p.contains("timeZone")),
        "expected `timeZone` to be refused at /spec, got:\n{}",
        problems.join("\n")
    );
}
