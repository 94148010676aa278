//! ChangeTickets end to end: the real `refit run` proposes them from what
//! the real registry holds, a person approves or rejects them with the real
//! kubectl, and they start only inside their window, within its slots,
//! across restarts of the operator. Carrying a change out is in
//! `execution.rs`; these tests stop looking once a ticket is `InProgress`
//! (the default `verifyFor` of 1m keeps it there long enough).
//!
//! Windows here are either always open (an hourly opening of an hour, so
//! the openings touch), closed until 1 January 03:00 UTC, or always open
//! with a blackout that ends a few seconds into the test: blackouts are
//! exact to the second, where cron openings fall on whole minutes.

use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant},
};

use chrono::{DateTime, Duration as TimeDelta, SubsecRound, Utc};
use k8s_openapi::api::{apps::v1::Deployment, events::v1::Event};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use refit::api::ChangeTicket;
use refit_apiserver::{ApiServer, skip};
use serde_json::{Value, json};

use super::{
    cluster_object,
    fixtures::{namespace, policy, window, workload},
    harness::{ImageSpec, Pusher, TestRegistry},
    operator::{Operator, config},
    report, rfc3339, server_with,
};

/// A shop: the registry with `team/web` 1.25.3 (what runs) and 1.25.4,
/// the API server with the namespace `shop` and a Deployment per name in
/// `apps`, all running 1.25.3, a policy `web` (update `patch`) in `mode`
/// with window `nights` as given, and `policy_extra` merged into the
/// policy's spec.
pub(super) struct Shop {
    pub(super) registry: TestRegistry,
    pub(super) host: String,
    pub(super) server: ApiServer,
    pub(super) client: Client,
    /// The digest of 1.25.3, what runs.
    pub(super) old: String,
    /// The digest of 1.25.4, the candidate.
    pub(super) candidate: String,
}

async fn shop(mode: &str, window_spec: Value, policy_extra: Value, apps: &[&str]) -> Option<Shop> {
    let workloads: Vec<(&str, &str)> = apps.iter().map(|app| ("Deployment", *app)).collect();
    shop_of(mode, window_spec, policy_extra, &workloads).await
}

/// As [`shop`], with workloads of any kind: (kind, name).
pub(super) async fn shop_of(
    mode: &str,
    window_spec: Value,
    policy_extra: Value,
    workloads: &[(&str, &str)],
) -> Option<Shop> {
    let registry = TestRegistry::start()?;
    let host = registry.addr.clone();
    let pusher = Pusher::new(&host);
    let old = pusher.image("team/web", "1.25.3", &ImageSpec::new("web 1.25.3")).await;
    let candidate = pusher.image("team/web", "1.25.4", &ImageSpec::new("web 1.25.4")).await;
    let digests: HashMap<String, String> = [(format!("{host}/team/web:1.25.3"), old.clone())].into();
    let server = server_with(digests).await;
    server
        .create(namespace("shop", json!({"team": "shop"})))
        .expect("namespace");
    for (kind, app) in workloads {
        server
            .create(workload(kind, "shop", app, &format!("{host}/team/web:1.25.3"), "front"))
            .expect("workload");
    }
    let mut spec = json!({
        "images": [{"match": format!("{host}/team/web"), "update": "patch"}],
        "mode": mode,
        "windowRef": "nights",
        "scanInterval": "1h",
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), policy_extra.as_object()) {
        spec.extend(extra.clone());
    }
    server.create(policy("web", spec)).expect("policy");
    server.create(window("nights", window_spec)).expect("window");
    let client = server.client().await.expect("client");
    Some(Shop {
        registry,
        host,
        server,
        client,
        old,
        candidate,
    })
}

impl Shop {
    /// `refit run` against the shop, scanning every 2 s and listing tags
    /// afresh each time (so a tag pushed during a test is seen at once).
    pub(super) fn operator(&self) -> Operator {
        Operator::start(
            self.server.kubeconfig_path(),
            &config(Some(&self.host), "cache:\n  tagListTtl: 1s\n  digestTtl: 1s\n"),
            &["--scan-interval-override", "2s"],
        )
    }

    /// Every ChangeTicket in `shop`, by name.
    pub(super) async fn tickets(&self) -> Vec<ChangeTicket> {
        let api: Api<ChangeTicket> = Api::namespaced(self.client.clone(), "shop");
        let mut tickets = api.list(&ListParams::default()).await.expect("tickets").items;
        tickets.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        tickets
    }

    /// The ticket of Deployment `app`, once there is exactly one in `phase`.
    pub(super) async fn wait_phase(&self, operator: &Operator, app: &str, phase: &str, seconds: u64) -> Value {
        operator
            .wait_for(&format!("the ticket of {app} to be {phase}"), seconds, || async {
                let tickets = self.tickets_of(app).await;
                let ticket = tickets.iter().find(|t| t["status"]["phase"] == phase)?;
                Some(ticket.clone())
            })
            .await
    }

    /// The tickets of Deployment `app`, as JSON (what kubectl shows).
    pub(super) async fn tickets_of(&self, app: &str) -> Vec<Value> {
        self.tickets()
            .await
            .into_iter()
            .filter(|t| t.spec.workload.name == app)
            .map(|t| serde_json::to_value(t).expect("serializes"))
            .collect()
    }

    /// The candidate as a ticket names it: `repo:tag@digest`.
    pub(super) fn pinned_candidate(&self) -> String {
        format!("{}/team/web:1.25.4@{}", self.host, self.candidate)
    }

    /// What runs, as a ticket's `from` names it.
    pub(super) fn pinned_old(&self) -> String {
        format!("{}/team/web:1.25.3@{}", self.host, self.old)
    }
}

/// A window that is always open.
pub(super) fn open() -> Value {
    json!({"windows": [{"schedule": "0 * * * *", "duration": "1h"}]})
}

/// A window that is closed until 1 January, 03:00 UTC.
fn closed() -> Value {
    json!({"windows": [{"schedule": "0 3 1 1 *", "duration": "1h"}]})
}

/// A window that is always open but for a freeze that ends at `until`.
fn frozen_until(until: DateTime<Utc>) -> Value {
    json!({
        "windows": [{"schedule": "0 * * * *", "duration": "1h"}],
        "blackouts": [{"start": rfc3339(until - TimeDelta::hours(1)), "end": rfc3339(until), "reason": "release freeze"}],
    })
}

/// The next 1 January, 03:00 UTC.
fn new_year() -> String {
    let year = chrono::Datelike::year(&Utc::now()) + 1;
    format!("{year}-01-01T03:00:00Z")
}

/// The phases in a ticket's history, oldest first.
pub(super) fn phases(ticket: &Value) -> Vec<String> {
    ticket["status"]["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|e| e["phase"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn last_entry(ticket: &Value) -> &Value {
    ticket["status"]["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("a history entry")
}

pub(super) fn name(ticket: &Value) -> String {
    ticket["metadata"]["name"].as_str().expect("a name").to_owned()
}

/// Runs kubectl against the shop's API server; `None` when kubectl is not
/// installed outside CI.
pub(super) fn kubectl(server: &ApiServer, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", server.kubeconfig_path())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output();
    let output = skip::when_not_installed(output, "kubectl", ".ci/run installs it")?;
    assert!(
        output.status.success(),
        "kubectl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `kubectl patch ct NAME -n shop --type merge` with Jana's decision, as
/// docs/TICKETS.md tells people to write it.
pub(super) fn decide(server: &ApiServer, ticket: &str, approved: bool) -> Option<String> {
    let patch = json!({"spec": {"approval": {"approved": approved, "by": "jana", "reason": "CAB 2026-12-03"}}});
    kubectl(
        server,
        &[
            "patch",
            "ct",
            ticket,
            "-n",
            "shop",
            "--type",
            "merge",
            "-p",
            &patch.to_string(),
        ],
    )
}

/// Waits until the operator has finished `scans` more scans triggered by
/// its interval.
pub(super) async fn more_scans(operator: &Operator, scans: f64) {
    let series = "refit_scans_total{trigger=\"interval\"}";
    let before = operator.metric(series).unwrap_or(0.0);
    operator
        .wait_for(&format!("{scans} more interval scans"), 30, || async {
            (operator.metric(series)? >= before + scans).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_ticket_starts_only_when_the_freeze_on_its_window_ends() {
    let freeze_ends = Utc::now().trunc_subsecs(0) + TimeDelta::seconds(40);
    let Some(shop) = shop("Approve", frozen_until(freeze_ends), json!({}), &["web"]).await else {
        return;
    };
    let operator = shop.operator();
    operator.wait_ready().await;

    // Proposed, pinned to the candidate's digest, waiting for a person.
    let waiting = shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await;
    let ticket = name(&waiting);
    assert!(ticket.starts_with("deployment-web-"), "{ticket}");
    assert_eq!(waiting["spec"]["type"], "Rollout");
    assert_eq!(waiting["spec"]["changes"][0]["to"], json!(shop.pinned_candidate()));
    assert_eq!(waiting["spec"]["changes"][0]["reason"], "NewerVersion");
    assert_eq!(waiting["spec"]["summary"], "web 1.25.3→1.25.4");
    assert_eq!(waiting["metadata"]["labels"]["refit.dev/policy"], "web");
    assert_eq!(waiting["metadata"]["labels"]["refit.dev/window"], "nights");
    assert!(
        waiting["metadata"]["ownerReferences"].is_null(),
        "tickets outlive their workload"
    );
    assert_eq!(phases(&waiting), ["Pending", "AwaitingApproval"]);
    let proposed = &waiting["status"]["history"][0];
    assert_eq!(proposed["actor"], "refit");
    assert!(
        proposed["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("proposed by policy web: app: 1.25.4 is the newest allowed")),
        "{proposed}"
    );
    assert_eq!(
        last_entry(&waiting)["message"],
        "policy web is in Approve mode: waiting for a person's approval"
    );
    // The start it could have, once approved, follows the move.
    operator
        .wait_for("the ticket to show when it could start", 30, || async {
            let ticket = shop.tickets_of("web").await.into_iter().next()?;
            (ticket["status"]["scheduledFor"] == json!(rfc3339(freeze_ends))).then_some(())
        })
        .await;

    // The DriftReport links it; the policy counts it.
    let linked = operator
        .wait_for("the report to link the ticket", 30, || async {
            let report = report(&shop.server, "shop", "deployment-web")?;
            (report["status"]["ticket"] == json!(ticket)).then_some(report)
        })
        .await;
    assert_eq!(linked["status"]["containers"][0]["ticket"], json!(ticket));
    operator
        .wait_for("the policy to count one open ticket", 30, || async {
            (cluster_object(&shop.server, "PatchPolicy", "web")["status"]["openTickets"] == 1).then_some(())
        })
        .await;

    // `kubectl get ct` fills its columns.
    let Some(table) = kubectl(&shop.server, &["get", "ct", "-A"]) else {
        return;
    };
    let header: Vec<&str> = table.lines().next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "WORKLOAD",
            "TYPE",
            "CHANGE",
            "PHASE",
            "WINDOW",
            "EXTERNAL",
            "AGE"
        ]
    );
    let row: Vec<&str> = table.lines().nth(1).expect("a row").split_whitespace().collect();
    assert_eq!(
        row[..8],
        [
            "shop",
            ticket.as_str(),
            "web",
            "Rollout",
            "web",
            "1.25.3→1.25.4",
            "AwaitingApproval",
            "nights"
        ],
        "{table}"
    );

    // Jana approves; the freeze still holds the start.
    decide(&shop.server, &ticket, true).expect("kubectl patch");
    let scheduled = shop.wait_phase(&operator, "web", "Scheduled", 30).await;
    assert!(
        Utc::now() < freeze_ends,
        "the test took too long to see the freeze hold"
    );
    let approved = last_entry(&scheduled);
    assert_eq!(
        (&approved["actor"], &approved["message"]),
        (&json!("jana"), &json!("approved by jana: CAB 2026-12-03"))
    );
    let ready = operator
        .wait_for("the ticket to say why it waits", 30, || async {
            let ticket = shop.tickets_of("web").await.into_iter().next()?;
            let ready = ticket["status"]["conditions"][0].clone();
            (ready["reason"] == "WaitingForWindow").then_some(ready)
        })
        .await;
    assert_eq!(
        ready["message"],
        json!(format!(
            "waiting for window nights: blackout \"release freeze\" (spec.blackouts[0]) is in effect until {}; it can start at {}",
            rfc3339(freeze_ends),
            rfc3339(freeze_ends)
        ))
    );
    assert_eq!(
        shop.tickets()
            .await
            .iter()
            .filter(|t| t.status.as_ref().is_some_and(|s| s.phase.is_waiting()))
            .count(),
        1
    );

    // It starts when the freeze ends, not before.
    let started = shop.wait_phase(&operator, "web", "InProgress", 40).await;
    let start = started["status"]["startedAt"].as_str().expect("startedAt");
    let start: DateTime<Utc> = start.parse().expect("a time");
    assert!(
        start >= freeze_ends,
        "started at {start}, the freeze ended at {freeze_ends}"
    );
    assert_eq!(
        phases(&started),
        ["Pending", "AwaitingApproval", "Scheduled", "InProgress"]
    );
    assert!(started["status"].get("scheduledFor").is_none(), "{started}");
    let window_status = operator
        .wait_for("the window to count the change", 30, || async {
            let status = cluster_object(&shop.server, "ChangeWindow", "nights")["status"].clone();
            (status["activeChanges"] == 1).then_some(status)
        })
        .await;
    assert_eq!(window_status["activeTickets"], json!([format!("shop/{ticket}")]));
    // Events on the ticket and on the workload, and the metrics.
    let events: Api<Event> = Api::namespaced(shop.client.clone(), "shop");
    let seen = operator
        .wait_for("events for each phase change", 30, || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            let seen: Vec<(String, String, String)> = list
                .items
                .iter()
                .filter_map(|e| {
                    let regarding = e.regarding.as_ref()?;
                    Some((e.reason.clone()?, regarding.kind.clone()?, regarding.name.clone()?))
                })
                .collect();
            seen.contains(&("InProgress".into(), "Deployment".into(), "web".into()))
                .then_some(seen)
        })
        .await;
    for phase in ["AwaitingApproval", "Scheduled", "InProgress"] {
        assert!(
            seen.contains(&(phase.into(), "ChangeTicket".into(), ticket.clone())),
            "{phase} on the ticket: {seen:?}"
        );
        assert!(
            seen.contains(&(phase.into(), "Deployment".into(), "web".into())),
            "{phase} on the workload: {seen:?}"
        );
    }
    assert_eq!(
        operator.metric("refit_ticket_transitions_total{phase=\"Scheduled\",type=\"Rollout\"}"),
        Some(1.0)
    );
    operator
        .wait_for("refit_tickets to count the started ticket", 30, || async {
            (operator.metric("refit_tickets{phase=\"InProgress\",type=\"Rollout\"}")? == 1.0).then_some(())
        })
        .await;
    drop(shop.registry);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_policy_approves_its_tickets_and_they_start_in_the_open_window() {
    let Some(shop) = shop("Auto", open(), json!({}), &["web"]).await else {
        return;
    };
    let operator = shop.operator();
    operator.wait_ready().await;
    let started = shop.wait_phase(&operator, "web", "InProgress", 30).await;
    assert_eq!(phases(&started), ["Pending", "Scheduled", "InProgress"]);
    let approved = &started["status"]["history"][1];
    assert_eq!(
        (&approved["actor"], &approved["message"]),
        (&json!("refit"), &json!("approved: policy web is in Auto mode"))
    );
    assert_eq!(started["spec"]["approval"]["by"], "policy/web");
    assert_eq!(started["spec"]["approval"]["approved"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_change_ends_and_is_not_proposed_again() {
    let Some(shop) = shop("Approve", closed(), json!({}), &["web"]).await else {
        return;
    };
    let operator = shop.operator();
    operator.wait_ready().await;
    let waiting = shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await;
    let ticket = name(&waiting);
    operator
        .wait_for("the ticket to show the new year's opening", 30, || async {
            let ticket = shop.tickets_of("web").await.into_iter().next()?;
            (ticket["status"]["scheduledFor"] == json!(new_year())).then_some(())
        })
        .await;

    // The window moves to 1 February: the ticket shows it at once.
    let windows: Api<refit::api::ChangeWindow> = Api::all(shop.client.clone());
    let moved = json!({"spec": {"windows": [{"schedule": "0 3 1 2 *", "duration": "1h"}]}});
    windows
        .patch("nights", &PatchParams::default(), &Patch::Merge(&moved))
        .await
        .expect("window patched");
    let february = new_year().replace("-01-01T", "-02-01T");
    operator
        .wait_for("the ticket to show the new opening", 30, || async {
            let ticket = shop.tickets_of("web").await.into_iter().next()?;
            (ticket["status"]["scheduledFor"] == json!(february)).then_some(())
        })
        .await;

    decide(&shop.server, &ticket, false).expect("kubectl patch");
    let rejected = shop.wait_phase(&operator, "web", "Rejected", 30).await;
    let entry = last_entry(&rejected);
    assert_eq!(
        (&entry["actor"], &entry["message"]),
        (&json!("jana"), &json!("rejected by jana: CAB 2026-12-03"))
    );
    assert!(rejected["status"]["finishedAt"].is_string());
    more_scans(&operator, 3.0).await;
    assert_eq!(
        shop.tickets().await.len(),
        1,
        "the rejected change is not proposed again"
    );
    operator
        .wait_for(
            "the report to link no ticket and the policy to count none",
            30,
            || async {
                let report = report(&shop.server, "shop", "deployment-web")?;
                let open = cluster_object(&shop.server, "PatchPolicy", "web")["status"]["openTickets"].clone();
                (report["status"].get("ticket").is_none() && open == 0).then_some(())
            },
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_tag_supersedes_a_waiting_ticket_and_its_approval_is_not_carried_over() {
    let Some(shop) = shop("Approve", closed(), json!({}), &["web"]).await else {
        return;
    };
    let operator = shop.operator();
    operator.wait_ready().await;
    let first = name(&shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await);
    decide(&shop.server, &first, true).expect("kubectl patch");
    let scheduled = shop.wait_phase(&operator, "web", "Scheduled", 30).await;
    assert_eq!(name(&scheduled), first);

    // 1.25.5 is pushed: the next scan proposes it and supersedes 1.25.4.
    let newer = Pusher::new(&shop.host)
        .image("team/web", "1.25.5", &ImageSpec::new("web 1.25.5"))
        .await;
    let superseded = shop.wait_phase(&operator, "web", "Superseded", 30).await;
    assert_eq!(name(&superseded), first);
    let fresh = shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await;
    let second = name(&fresh);
    assert_ne!(second, first);
    assert_eq!(
        last_entry(&superseded)["message"],
        json!(format!("superseded by ticket {second}: web 1.25.3→1.25.5"))
    );
    assert_eq!(
        fresh["spec"]["changes"][0]["to"],
        json!(format!("{}/team/web:1.25.5@{newer}", shop.host))
    );
    assert!(
        fresh["spec"].get("approval").is_none(),
        "Jana approved 1.25.4, not 1.25.5"
    );
    let proposed = fresh["status"]["history"][0]["message"].as_str().expect("a message");
    assert!(
        proposed.ends_with(&format!(
            "supersedes ticket {first}, which jana approved: an approval is given for one change, so this one needs \
             its own"
        )),
        "{proposed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_not_started_in_time_expires_and_the_change_is_proposed_again() {
    let Some(shop) = shop("Approve", closed(), json!({"ticketExpiry": "8s"}), &["web"]).await else {
        return;
    };
    let operator = shop.operator();
    operator.wait_ready().await;
    let first = name(&shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await);
    let expired = shop.wait_phase(&operator, "web", "Expired", 30).await;
    assert_eq!(name(&expired), first);
    let message = last_entry(&expired)["message"].as_str().expect("a message").to_owned();
    assert!(
        message.starts_with("not started within ticketExpiry (8s) of its creation at "),
        "{message}"
    );
    let again = operator
        .wait_for("the change to be proposed again", 30, || async {
            shop.tickets_of("web")
                .await
                .into_iter()
                .find(|t| name(t) == format!("{first}-2"))
        })
        .await;
    assert_eq!(again["spec"]["changes"], expired["spec"]["changes"]);

    // The policy is deleted: no policy governs the workload, and its
    // waiting ticket is cancelled (and kept).
    let policies: Api<refit::api::PatchPolicy> = Api::all(shop.client.clone());
    policies.delete("web", &DeleteParams::default()).await.expect("deleted");
    let orphaned = operator
        .wait_for("the new ticket to be cancelled", 30, || async {
            shop.tickets_of("web")
                .await
                .into_iter()
                .find(|t| name(t) == format!("{first}-2") && t["status"]["phase"] == "Cancelled")
        })
        .await;
    assert_eq!(
        last_entry(&orphaned)["message"],
        "no valid policy governs the workload any more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slot_means_one_change_at_a_time_across_a_restart() {
    let mut one_slot = open();
    one_slot["maxConcurrentChanges"] = json!(1);
    let Some(shop) = shop(
        "Auto",
        one_slot,
        json!({"rollout": {"maxConcurrent": 3}}),
        &["web", "api", "worker"],
    )
    .await
    else {
        return;
    };
    let check = |tickets: &[ChangeTicket]| {
        let in_progress = tickets
            .iter()
            .filter(|t| t.status.as_ref().is_some_and(|s| s.phase.as_str() == "InProgress"))
            .count();
        assert!(in_progress <= 1, "{in_progress} changes in progress at once");
        in_progress
    };
    let mut operator = shop.operator();
    operator.wait_ready().await;
    operator
        .wait_for("three tickets, one started", 40, || async {
            let tickets = shop.tickets().await;
            (tickets.len() == 3 && check(&tickets) == 1).then_some(())
        })
        .await;
    for restart in [false, true] {
        if restart {
            operator.terminate();
            operator = shop.operator();
            operator.wait_ready().await;
        }
        let until = Instant::now() + Duration::from_secs(6);
        while Instant::now() < until {
            assert_eq!(check(&shop.tickets().await), 1);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let waiting: Vec<Value> = shop
        .tickets()
        .await
        .iter()
        .map(|t| serde_json::to_value(t).expect("serializes"))
        .filter(|t| t["status"]["phase"] == "Scheduled")
        .collect();
    assert_eq!(waiting.len(), 2);
    for ticket in &waiting {
        let ready = &ticket["status"]["conditions"][0];
        assert_eq!(ready["reason"], "WaitingForSlot", "{ticket}");
        assert_eq!(
            ready["message"],
            "window nights has no free slot: 1 of its maxConcurrentChanges (1) are in use"
        );
    }
    let window_status = cluster_object(&shop.server, "ChangeWindow", "nights")["status"].clone();
    assert_eq!(window_status["activeChanges"], 1, "{window_status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_every_step_makes_no_second_ticket_and_no_second_entry() {
    // Long enough for three restarts before the freeze ends.
    let freeze_ends = Utc::now().trunc_subsecs(0) + TimeDelta::seconds(60);
    let Some(shop) = shop("Approve", frozen_until(freeze_ends), json!({}), &["web"]).await else {
        return;
    };
    let only_ticket = || async {
        let tickets = shop.tickets().await;
        assert_eq!(tickets.len(), 1, "{tickets:?}");
        serde_json::to_value(&tickets[0]).expect("serializes")
    };
    let operator = shop.operator();
    operator.wait_ready().await;
    let ticket = name(&shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await);
    operator.terminate();

    let operator = shop.operator();
    operator.wait_ready().await;
    more_scans(&operator, 2.0).await;
    assert_eq!(phases(&only_ticket().await), ["Pending", "AwaitingApproval"]);
    operator.terminate();

    // Approved while refit is down: the next one schedules it.
    decide(&shop.server, &ticket, true).expect("kubectl patch");
    let operator = shop.operator();
    operator.wait_ready().await;
    shop.wait_phase(&operator, "web", "Scheduled", 30).await;
    operator.terminate();

    let operator = shop.operator();
    operator.wait_ready().await;
    more_scans(&operator, 1.0).await;
    // Still waiting for the freeze to end, or just started: either way
    // each step once.
    let so_far = phases(&only_ticket().await);
    let all = ["Pending", "AwaitingApproval", "Scheduled", "InProgress"];
    assert!(so_far == all[..3] || so_far == all, "{so_far:?}");
    let started = shop.wait_phase(&operator, "web", "InProgress", 70).await;
    assert_eq!(name(&started), ticket);
    operator.terminate();

    let operator = shop.operator();
    operator.wait_ready().await;
    more_scans(&operator, 2.0).await;
    assert_eq!(
        phases(&only_ticket().await),
        ["Pending", "AwaitingApproval", "Scheduled", "InProgress"]
    );
    let window_status = cluster_object(&shop.server, "ChangeWindow", "nights")["status"].clone();
    assert_eq!(window_status["activeTickets"], json!([format!("shop/{ticket}")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_ignored_and_deleted_workloads_end_their_waiting_tickets_and_keep_them() {
    let Some(shop) = shop("Approve", closed(), json!({}), &["web", "api", "worker"]).await else {
        return;
    };
    let deployments: Api<Deployment> = Api::namespaced(shop.client.clone(), "shop");
    let annotate = |app: &'static str, key: &'static str| {
        let deployments = deployments.clone();
        async move {
            let patch = json!({"metadata": {"annotations": {key: "true"}}});
            deployments
                .patch(app, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .expect("annotated");
        }
    };
    let operator = shop.operator();
    operator.wait_ready().await;
    for app in ["web", "api", "worker"] {
        shop.wait_phase(&operator, app, "AwaitingApproval", 30).await;
    }

    annotate("web", "refit.dev/pin").await;
    let pinned = shop.wait_phase(&operator, "web", "Cancelled", 30).await;
    assert_eq!(
        last_entry(&pinned)["message"],
        "the workload is pinned (refit.dev/pin: \"true\"): its findings are reported, no change is proposed"
    );
    let report_of_web = operator
        .wait_for("web's report to show the pin", 30, || async {
            let report = report(&shop.server, "shop", "deployment-web")?;
            (report["status"]["optOut"] == "Pinned").then_some(report)
        })
        .await;
    assert_eq!(
        report_of_web["status"]["containers"][0]["state"], "Outdated",
        "findings are still reported"
    );
    assert!(report_of_web["status"].get("ticket").is_none());

    annotate("api", "refit.dev/ignore").await;
    let ignored = shop.wait_phase(&operator, "api", "Cancelled", 30).await;
    assert_eq!(
        last_entry(&ignored)["message"],
        "the workload is ignored (refit.dev/ignore: \"true\"): refit does not check it"
    );
    let report_of_api = operator
        .wait_for("api's report to show it is ignored", 30, || async {
            let report = report(&shop.server, "shop", "deployment-api")?;
            (report["status"]["optOut"] == "Ignored").then_some(report)
        })
        .await;
    assert!(report_of_api["status"].get("containers").is_none(), "{report_of_api}");

    deployments
        .delete("worker", &DeleteParams::default())
        .await
        .expect("deleted");
    let deleted = shop.wait_phase(&operator, "worker", "Cancelled", 30).await;
    assert_eq!(last_entry(&deleted)["message"], "the workload was deleted");
    more_scans(&operator, 2.0).await;
    assert_eq!(
        shop.tickets().await.len(),
        3,
        "refit deletes no ticket: they are the audit trail"
    );
    assert_eq!(
        cluster_object(&shop.server, "PatchPolicy", "web")["status"]["openTickets"],
        0
    );
}
