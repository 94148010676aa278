//! `refit run` end to end: the real binary against the in-memory API
//! server (`refit-apiserver`, with its simulated controllers giving pods
//! the digests the test registry holds) and a real registry (Debian's
//! `docker-registry` on 127.0.0.1, images pushed by the tests). Each test
//! starts its own API server, registry and operator, and waits for what a
//! person would see with `kubectl get`: DriftReports, policy and window
//! status, Events, metrics.

#[allow(dead_code, reason = "shared with the registry tests; not every helper is used here")]
#[path = "../registry/harness.rs"]
mod harness;

mod execution;
mod fixtures;
mod operator;
mod tickets;

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, Duration as TimeDelta, Timelike, Utc};
use fixtures::{namespace, policy, window, workload, workload_with_secret};
use harness::{ImageSpec, Pusher, TestRegistry};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod, events::v1::Event};
use kube::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use operator::{Operator, config};
use refit::api::PatchPolicy;
use refit_apiserver::{ApiServer, Simulation, WriteFault, repo_crds_dir};
use serde_json::{Value, json};

/// A server with refit's CRDs whose simulated kubelet reports `digests`
/// (image as written → manifest digest) as the pods' image IDs.
async fn server_with(digests: HashMap<String, String>) -> ApiServer {
    ApiServer::builder()
        .crds_dir(repo_crds_dir())
        .simulate(Simulation::new().image_ids_sync(move |image| digests.get(image).cloned()))
        .start()
        .await
        .expect("the API server starts")
}

fn report(server: &ApiServer, namespace: &str, name: &str) -> Option<Value> {
    server.get("refit.dev/v1alpha1", "DriftReport", namespace, name)
}

fn cluster_object(server: &ApiServer, kind: &str, name: &str) -> Value {
    server
        .get("refit.dev/v1alpha1", kind, "", name)
        .unwrap_or_else(|| panic!("{kind} {name} exists"))
}

fn first_container(report: &Value) -> &Value {
    &report["status"]["containers"][0]
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_reports_show_outdated_drifted_and_current_workloads_of_every_kind() {
    let Some(registry) = TestRegistry::start() else { return };
    let host = registry.addr.clone();
    let pusher = Pusher::new(&host);
    let web_old = pusher.image("team/web", "1.25.3", &ImageSpec::new("web 1.25.3")).await;
    pusher.image("team/web", "1.25.4", &ImageSpec::new("web 1.25.4")).await;
    let web_new = pusher.image("team/web", "1.26.0", &ImageSpec::new("web 1.26.0")).await;
    let api_running = pusher
        .image("team/api", "2.0", &ImageSpec::new("api 2.0 first build"))
        .await;
    let agent = pusher
        .image("team/agent", "1.0.0", &ImageSpec::new("agent 1.0.0"))
        .await;
    let batch = pusher
        .image("team/batch", "3.1.0", &ImageSpec::new("batch 3.1.0"))
        .await;
    // The pods run what the tags pointed at when they started…
    let digests: HashMap<String, String> = [
        (format!("{host}/team/web:1.25.3"), web_old.clone()),
        (format!("{host}/team/api:2.0"), api_running.clone()),
        (format!("{host}/team/agent:1.0.0"), agent.clone()),
        (format!("{host}/team/batch:3.1.0"), batch),
    ]
    .into();
    // …and then `2.0` is rebuilt: the StatefulSet's pods drift.
    let api_rebuilt = pusher
        .image("team/api", "2.0", &ImageSpec::new("api 2.0 rebuilt"))
        .await;

    let server = server_with(digests).await;
    server
        .create(namespace("shop", json!({"team": "shop"})))
        .expect("namespace");
    let web = server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            &format!("{host}/team/web:1.25.3"),
            "front",
        ))
        .expect("deployment");
    server
        .create(workload(
            "StatefulSet",
            "shop",
            "api",
            &format!("{host}/team/api:2.0"),
            "back",
        ))
        .expect("statefulset");
    server
        .create(workload(
            "DaemonSet",
            "shop",
            "agent",
            &format!("{host}/team/agent:1.0.0"),
            "infra",
        ))
        .expect("daemonset");
    server
        .create(workload(
            "CronJob",
            "shop",
            "batch",
            &format!("{host}/team/batch:3.1.0"),
            "jobs",
        ))
        .expect("cronjob");
    server
        .create(policy(
            "shop",
            json!({
                "namespaceSelector": {"matchLabels": {"team": "shop"}},
                "images": [
                    {"match": format!("{host}/team/web"), "update": "minor"},
                    {"match": format!("{host}/team/api"), "update": "digest"},
                    {"match": format!("{host}/**"), "update": "patch"},
                ],
                "scanInterval": "1h",
            }),
        ))
        .expect("policy");
    let hour = Utc::now().hour();
    server
        .create(window(
            "open-now",
            json!({"windows": [{"schedule": format!("0 {hour} * * *"), "duration": "2h"}]}),
        ))
        .expect("window");
    server
        .create(window(
            "later",
            json!({"windows": [{"schedule": format!("0 {} * * *", (hour + 12) % 24), "duration": "1h"}]}),
        ))
        .expect("window");
    server
        .create(window(
            "broken",
            json!({"timezone": "Europe/Berln", "windows": [{"schedule": "0 22 * * *", "duration": "1h"}]}),
        ))
        .expect("window");

    let operator = Operator::start(server.kubeconfig_path(), &config(Some(&host), ""), &[]);
    operator.wait_ready().await;

    // DriftReports: one per workload, named <kind>-<name>, owned by it.
    let web_report = operator
        .wait_for(
            "deployment-web to be Outdated with the digest its pods run",
            30,
            || async {
                let report = report(&server, "shop", "deployment-web")?;
                let container = first_container(&report);
                (container["state"] == "Outdated" && container["runningDigests"] == json!([web_old])).then_some(report)
            },
        )
        .await;
    assert_eq!(
        first_container(&web_report)["candidate"],
        json!(format!("{host}/team/web:1.26.0@{web_new}")),
        "minor allows 1.26.0, pinned to its digest"
    );
    assert_eq!(
        web_report["spec"],
        json!({"workload": {"kind": "Deployment", "name": "web"}, "policy": "shop"})
    );
    let owner = &web_report["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["name"], &owner["uid"], &owner["controller"]),
        (
            &json!("Deployment"),
            &json!("web"),
            &web["metadata"]["uid"],
            &json!(true)
        )
    );
    assert_eq!(
        web_report["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "refit"
    );
    assert_eq!(web_report["status"]["outdated"], 1);
    assert_eq!(web_report["status"]["conditions"][0]["reason"], "Reconciled");
    assert!(web_report["status"]["checkedAt"].is_string());

    let api_report = operator
        .wait_for("statefulset-api to show digest drift", 30, || async {
            let report = report(&server, "shop", "statefulset-api")?;
            (first_container(&report)["state"] == "DigestDrift"
                && first_container(&report)["runningDigests"] == json!([api_running]))
            .then_some(report)
        })
        .await;
    assert_eq!(
        first_container(&api_report)["candidate"],
        json!(format!("{host}/team/api:2.0@{api_rebuilt}"))
    );
    assert_eq!(api_report["status"]["drifted"], 1);
    operator
        .wait_for("daemonset-agent to be UpToDate with its pod's digest", 30, || async {
            let report = report(&server, "shop", "daemonset-agent")?;
            (first_container(&report)["state"] == "UpToDate"
                && first_container(&report)["runningDigests"] == json!([agent]))
            .then_some(())
        })
        .await;
    operator
        .wait_for("cronjob-batch (no pods) to be UpToDate", 30, || async {
            let report = report(&server, "shop", "cronjob-batch")?;
            (first_container(&report)["state"] == "UpToDate").then_some(())
        })
        .await;

    // PatchPolicy status: counts, last scan, Ready.
    let status = operator
        .wait_for("the policy to count its workloads", 30, || async {
            let status = cluster_object(&server, "PatchPolicy", "shop")["status"].clone();
            (status["matchedWorkloads"] == 4 && status["driftedWorkloads"] == 1).then_some(status)
        })
        .await;
    assert_eq!(status["outdatedWorkloads"], 1);
    assert_eq!(status["openTickets"], 0);
    assert!(status["lastScan"].is_string(), "{status}");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(
        (&status["conditions"][0]["type"], &status["conditions"][0]["status"]),
        (&json!("Ready"), &json!("True"))
    );

    // ChangeWindow status: open now until the opening ends; the next
    // openings; an invalid spec named by its field.
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .expect("valid")
        .and_utc();
    let open = operator
        .wait_for("window open-now to be open", 30, || async {
            let status = cluster_object(&server, "ChangeWindow", "open-now")["status"].clone();
            (status["open"] == true).then_some(status)
        })
        .await;
    assert_eq!(open["currentWindow"]["start"], json!(rfc3339(today)));
    assert_eq!(
        open["currentWindow"]["end"],
        json!(rfc3339(today + TimeDelta::hours(2)))
    );
    assert_eq!(open["nextOpen"], json!(rfc3339(today + TimeDelta::days(1))));
    let later = cluster_object(&server, "ChangeWindow", "later")["status"].clone();
    assert_eq!(later["open"], false);
    assert!(later.get("currentWindow").is_none(), "{later}");
    // `later` opens twelve hours after `open-now` did (today or tomorrow).
    assert_eq!(later["nextOpen"], json!(rfc3339(today + TimeDelta::hours(12))));
    let broken = cluster_object(&server, "ChangeWindow", "broken")["status"]["conditions"][0].clone();
    assert_eq!(
        (&broken["status"], &broken["reason"]),
        (&json!("False"), &json!("InvalidSpec"))
    );
    assert!(
        broken["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("spec.timezone: \"Europe/Berln\"")),
        "{broken}"
    );

    // Events on the workloads whose findings changed.
    let client = server.client().await.expect("client");
    let events: Api<Event> = Api::namespaced(client.clone(), "shop");
    let reasons = operator
        .wait_for("events for the outdated and drifted workloads", 30, || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            let reasons: Vec<(String, String)> = list
                .items
                .iter()
                .filter_map(|e| Some((e.reason.clone()?, e.regarding.as_ref()?.name.clone()?)))
                .collect();
            (reasons.len() >= 2).then_some(reasons)
        })
        .await;
    assert!(reasons.contains(&("Outdated".into(), "web".into())), "{reasons:?}");
    assert!(reasons.contains(&("DigestDrift".into(), "api".into())), "{reasons:?}");
    assert_eq!(
        reasons.len(),
        2,
        "one event per change, none for what is up to date: {reasons:?}"
    );

    // Metrics and health.
    assert_eq!(operator.get("/healthz").map(|(status, _)| status), Some(200));
    let tag_lists = format!("refit_registry_requests_total{{registry=\"{host}\",kind=\"tag_list\",outcome=\"ok\"}}");
    assert!(
        operator.metric(&tag_lists).is_some_and(|n| n >= 1.0),
        "{:?}",
        operator.get("/metrics")
    );
    assert_eq!(operator.metric("refit_findings{state=\"Outdated\"}"), Some(1.0));
    assert_eq!(operator.metric("refit_findings{state=\"DigestDrift\"}"), Some(1.0));
    assert_eq!(operator.metric("refit_governed_workloads"), Some(4.0));
    assert_eq!(
        operator.metric(&format!("refit_registry_up{{registry=\"{host}\"}}")),
        Some(1.0)
    );
    assert!(
        operator
            .metric("refit_reconciles_total{controller=\"changewindow\"}")
            .is_some_and(|n| n >= 3.0)
    );

    // SIGTERM: a graceful exit with code 0; the logs are JSON lines.
    let (code, logs) = operator.terminate();
    assert_eq!(code, Some(0), "logs:\n{logs}");
    assert!(logs.contains("refit run stopped"), "{logs}");
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
}

/// The digests of `team/web` 1.25.3 and 1.25.4 in a fresh registry.
async fn web_images(registry: &TestRegistry) -> (String, String) {
    let pusher = Pusher::new(&registry.addr);
    let old = pusher.image("team/web", "1.25.3", &ImageSpec::new("web 1.25.3")).await;
    let new = pusher.image("team/web", "1.25.4", &ImageSpec::new("web 1.25.4")).await;
    (old, new)
}

fn patch_policy(host: &str) -> Value {
    policy(
        "web",
        json!({"images": [{"match": format!("{host}/team/web"), "update": "patch"}], "scanInterval": "1h"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_scan_of_a_steady_cluster_writes_no_drift_report() {
    let Some(registry) = TestRegistry::start() else { return };
    let host = registry.addr.clone();
    let (old, _) = web_images(&registry).await;
    let server = server_with([(format!("{host}/team/web:1.25.3"), old.clone())].into()).await;
    server.create_namespace("shop").expect("namespace");
    server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            &format!("{host}/team/web:1.25.3"),
            "front",
        ))
        .expect("deployment");
    server.create(patch_policy(&host)).expect("policy");
    // Every policy is scanned every 2 s instead of every hour.
    let operator = Operator::start(
        server.kubeconfig_path(),
        &config(Some(&host), ""),
        &["--scan-interval-override", "2s"],
    );
    operator.wait_ready().await;
    let steady = operator
        .wait_for("the report to show the finished rollout", 30, || async {
            let report = report(&server, "shop", "deployment-web")?;
            let container = first_container(&report);
            (container["state"] == "Outdated" && container["runningDigests"] == json!([old])).then_some(report)
        })
        .await;
    let interval_scans = "refit_scans_total{trigger=\"interval\"}";
    // The report can be seen before the operator has counted the write
    // that produced it: let one more scan finish, so every counter of the
    // scans before it is settled.
    let settled = operator.metric(interval_scans).unwrap_or(0.0) + 1.0;
    operator
        .wait_for("one more interval scan", 30, || async {
            (operator.metric(interval_scans)? >= settled).then_some(())
        })
        .await;
    let scans_before = operator.metric(interval_scans).unwrap_or(0.0);
    let writes = |operator: &Operator| {
        ["apply", "status", "delete"]
            .iter()
            .filter_map(|op| operator.metric(&format!("refit_drift_report_writes_total{{operation=\"{op}\"}}")))
            .sum::<f64>()
    };
    let writes_before = writes(&operator);
    operator
        .wait_for("three more interval scans", 30, || async {
            (operator.metric(interval_scans)? >= scans_before + 3.0).then_some(())
        })
        .await;
    let after = report(&server, "shop", "deployment-web").expect("report");
    assert_eq!(
        after["metadata"]["resourceVersion"], steady["metadata"]["resourceVersion"],
        "the report was not rewritten"
    );
    assert_eq!(
        after["status"]["checkedAt"], steady["status"]["checkedAt"],
        "checkedAt did not move"
    );
    assert_eq!(writes(&operator), writes_before, "no DriftReport writes");
    // And the registry was asked for the tag list once, however many scans.
    let tag_lists = format!("refit_registry_requests_total{{registry=\"{host}\",kind=\"tag_list\",outcome=\"ok\"}}");
    assert_eq!(operator.metric(&tag_lists), Some(1.0));
    // The policy's lastScan moves with every scan.
    let status = cluster_object(&server, "PatchPolicy", "web")["status"].clone();
    assert!(status["lastScan"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_workload_is_rescanned_without_waiting_for_its_interval() {
    let Some(registry) = TestRegistry::start() else { return };
    let host = registry.addr.clone();
    let (old, new) = web_images(&registry).await;
    let server = server_with(
        [
            (format!("{host}/team/web:1.25.3"), old.clone()),
            (format!("{host}/team/web:1.25.4"), new.clone()),
        ]
        .into(),
    )
    .await;
    server.create_namespace("shop").expect("namespace");
    server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            &format!("{host}/team/web:1.25.3"),
            "front",
        ))
        .expect("deployment");
    server.create(patch_policy(&host)).expect("policy");
    let operator = Operator::start(server.kubeconfig_path(), &config(Some(&host), ""), &[]);
    operator.wait_ready().await;
    let before = operator
        .wait_for("the report to show 1.25.3 outdated", 30, || async {
            let report = report(&server, "shop", "deployment-web")?;
            (first_container(&report)["runningDigests"] == json!([old])).then_some(report)
        })
        .await;
    assert_eq!(first_container(&before)["state"], "Outdated");

    // Someone moves the Deployment to 1.25.4; the scan interval is an hour.
    let client = server.client().await.expect("client");
    let deployments: Api<Deployment> = Api::namespaced(client, "shop");
    let image = format!("{host}/team/web:1.25.4");
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}),
            ),
        )
        .await
        .expect("patch");
    let after = operator
        .wait_for("the report to show 1.25.4 up to date after the rollout", 30, || async {
            let report = report(&server, "shop", "deployment-web")?;
            let container = first_container(&report);
            (container["state"] == "UpToDate" && container["runningDigests"] == json!([new])).then_some(report)
        })
        .await;
    assert_ne!(after["status"]["checkedAt"], json!(null));
    assert!(
        operator.metric("refit_scans_total{trigger=\"interval\"}").is_none(),
        "no interval scan ran"
    );
}

/// The pods a DriftReport lists as off their template, by pod name.
fn drifted_pods(report: &Value) -> Vec<Value> {
    let mut pods = report["status"]["pods"].as_array().cloned().unwrap_or_default();
    pods.sort_by_key(|pod| pod["pod"].as_str().map(str::to_owned));
    pods
}

/// The names of the pods of `app`, sorted.
async fn pod_names(pods: &Api<Pod>, app: &str) -> Vec<String> {
    let mut names: Vec<String> = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("pods")
        .items
        .iter()
        .filter_map(|pod| pod.metadata.name.clone())
        .collect();
    names.sort();
    names
}

/// A pod changed by hand gets "changed outside its template"; the old pods
/// of a rollout that has not finished (one stalled on an image that cannot
/// be pulled, one paused before its new ReplicaSet was made) get "belongs
/// to an earlier revision", though they too run something else than their
/// Deployment's template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edited_pod_is_told_from_a_rollout_that_has_not_finished() {
    let Some(registry) = TestRegistry::start() else { return };
    let host = registry.addr.clone();
    let (old, new) = web_images(&registry).await;
    let debug = Pusher::new(&host)
        .image(
            "team/web",
            "1.25.4-debug",
            &ImageSpec::new("web 1.25.4 with debug tools"),
        )
        .await;
    let image = |tag: &str| format!("{host}/team/web:{tag}");
    let server = server_with(
        [
            (image("1.25.3"), old.clone()),
            (image("1.25.4"), new),
            (image("1.25.4-debug"), debug.clone()),
        ]
        .into(),
    )
    .await;
    server.create_namespace("shop").expect("namespace");
    for name in ["api", "web", "worker"] {
        server
            .create(workload("Deployment", "shop", name, &image("1.25.3"), "front"))
            .expect("deployment");
    }
    server.create(patch_policy(&host)).expect("policy");
    let client = server.client().await.expect("client");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    for name in ["api", "web", "worker"] {
        let mut waited = 0;
        while deployments
            .get(name)
            .await
            .ok()
            .and_then(|d| d.status?.available_replicas)
            != Some(2)
        {
            assert!(waited < 300, "{name} did not roll out within 30s");
            waited += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let api_pods = pod_names(&pods, "api").await;
    let web_pods = pod_names(&pods, "web").await;
    let worker_pods = pod_names(&pods, "worker").await;

    // `kubectl set image pod/<api pod> app=…:1.25.4-debug`: by hand.
    let edit = json!({"spec": {"containers": [{"name": "app", "image": image("1.25.4-debug")}]}});
    pods.patch(&api_pods[0], &PatchParams::default(), &Patch::Strategic(edit))
        .await
        .expect("pod image changed");
    // web rolls out 1.25.4, which cannot be pulled: its new pods wait and
    // its old pods stay.
    server
        .simulation()
        .expect("the simulation runs")
        .fail_image(&image("1.25.4"));
    let set_image = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image("1.25.4")}]}}}}),
    );
    deployments
        .patch("web", &PatchParams::default(), &set_image)
        .await
        .expect("web's image changed");
    // `kubectl rollout pause deploy/worker`, then its image changes: no new
    // ReplicaSet until it is resumed.
    deployments
        .patch(
            "worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .expect("worker paused");
    deployments
        .patch("worker", &PatchParams::default(), &set_image)
        .await
        .expect("worker's image changed");

    let operator = Operator::start(server.kubeconfig_path(), &config(Some(&host), ""), &[]);
    operator.wait_ready().await;
    let edited = json!([{
        "pod": api_pods[0],
        "container": "app",
        "image": image("1.25.4-debug"),
        "runningDigest": debug,
        "reason": format!(
            "changed outside its template: runs {} where the template says {}",
            image("1.25.4-debug"),
            image("1.25.3")
        ),
    }]);
    operator
        .wait_for("api's report to name the edited pod, and only it", 30, || async {
            let report = report(&server, "shop", "deployment-api")?;
            (drifted_pods(&report) == edited.as_array()?.clone()).then_some(())
        })
        .await;
    let earlier = |names: &[String]| -> Vec<Value> {
        names
            .iter()
            .map(|pod| {
                json!({
                    "pod": pod,
                    "container": "app",
                    "image": image("1.25.3"),
                    "runningDigest": old,
                    "reason": format!(
                        "belongs to an earlier revision (a rollout has not finished): template says {}",
                        image("1.25.4")
                    ),
                })
            })
            .collect()
    };
    for (name, old_pods) in [("web", &web_pods), ("worker", &worker_pods)] {
        let expected = earlier(old_pods);
        operator
            .wait_for(
                &format!("{name}'s report to name its old pods as an earlier revision"),
                30,
                || async {
                    let report = report(&server, "shop", &format!("deployment-{name}"))?;
                    (drifted_pods(&report) == expected).then_some(())
                },
            )
            .await;
    }
    // web's rollout is still under way: besides its two old pods, two new
    // ones wait for an image that cannot be pulled (and, running what the
    // template says, are not listed).
    let waiting = operator
        .wait_for("web's new pods to wait for their image", 30, || async {
            let listed = pods.list(&ListParams::default().labels("app=web")).await.ok()?;
            let waiting: Vec<String> = listed
                .items
                .iter()
                .filter(|pod| {
                    pod.status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref())
                        .and_then(|c| c.first()?.state.as_ref()?.waiting.as_ref()?.reason.clone())
                        .as_deref()
                        == Some("ImagePullBackOff")
                })
                .filter_map(|pod| pod.metadata.name.clone())
                .collect();
            (listed.items.len() == 4 && waiting.len() == 2).then_some(waiting)
        })
        .await;
    assert!(waiting.iter().all(|pod| !web_pods.contains(pod)), "{waiting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_report_the_api_server_refuses_is_counted_and_written_at_the_retry() {
    let server = server_with(HashMap::new()).await;
    server.create_namespace("shop").expect("namespace");
    server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            "127.0.0.1:1/team/web:1.25.3",
            "front",
        ))
        .expect("deployment");
    server.create(policy("all", json!({}))).expect("policy");
    let operator = Operator::start(server.kubeconfig_path(), &config(None, ""), &[]);
    operator.wait_ready().await;
    let web = operator
        .wait_for("web's report and the policy's count", 30, || async {
            let report = report(&server, "shop", "deployment-web")?;
            let status = cluster_object(&server, "PatchPolicy", "all")["status"].clone();
            (status["matchedWorkloads"] == 1).then_some(report)
        })
        .await;

    // The cluster is steady; the next write refit makes, the new worker's
    // report, fails as it does while etcd struggles. (The test server's
    // own objects and simulated controllers do not count as writes.)
    server.faults().fail_next_writes(1, WriteFault::InternalError);
    server
        .create(workload(
            "Deployment",
            "shop",
            "worker",
            "127.0.0.1:1/team/worker:1.0.0",
            "back",
        ))
        .expect("deployment");
    let refused = "refit_failures_total{controller=\"scanner\",reason=\"write_report\"}";
    operator
        .wait_for("the refused write to be counted", 30, || async {
            (operator.metric(refused)? >= 1.0).then_some(())
        })
        .await;
    operator
        .wait_for("worker's report, written at the retry a second later", 30, || async {
            report(&server, "shop", "deployment-worker").map(|_| ())
        })
        .await;
    assert_eq!(operator.metric(refused), Some(1.0), "one refusal, one failure");
    assert_eq!(
        report(&server, "shop", "deployment-web").expect("web's report")["metadata"]["resourceVersion"],
        web["metadata"]["resourceVersion"],
        "the retry writes only what was refused"
    );
    operator
        .wait_for("the policy to count both workloads", 30, || async {
            let status = cluster_object(&server, "PatchPolicy", "all")["status"].clone();
            (status["matchedWorkloads"] == 2).then_some(())
        })
        .await;
    let logs = operator.logs();
    let failed = logs
        .lines()
        .find(|line| line.contains("a scan step failed"))
        .unwrap_or_else(|| panic!("no line for the failed step in\n{logs}"));
    let failed: Value = serde_json::from_str(failed).expect("a JSON line");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["fields"]["reason"], "write_report");
    assert_eq!(failed["fields"]["retry"], true);
    assert!(
        failed["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cannot write DriftReport shop/deployment-worker: ")),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_policy_is_reported_and_never_acted_on() {
    let server = server_with(HashMap::new()).await;
    server.create_namespace("shop").expect("namespace");
    server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            "127.0.0.1:1/team/web:1.25.3",
            "front",
        ))
        .expect("deployment");
    server
        .create(policy(
            "broken",
            json!({"selector": {"matchLabels": {"tier": "front"}}, "images": [{"match": "**", "allowTags": "^(1"}]}),
        ))
        .expect("policy");
    let operator = Operator::start(server.kubeconfig_path(), &config(None, ""), &[]);
    operator.wait_ready().await;
    let ready = operator
        .wait_for("the policy to be InvalidSpec", 30, || async {
            let status = cluster_object(&server, "PatchPolicy", "broken")["status"].clone();
            let ready = status["conditions"][0].clone();
            (ready["reason"] == "InvalidSpec").then_some(ready)
        })
        .await;
    assert_eq!(ready["status"], "False");
    assert!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("spec.images[0].allowTags: `^(1` is not a valid regular expression")),
        "{ready}"
    );
    operator
        .wait_for("a policy scan", 30, || async {
            (operator.metric("refit_scans_total{trigger=\"policy\"}")? >= 1.0).then_some(())
        })
        .await;
    assert!(
        report(&server, "shop", "deployment-web").is_none(),
        "nothing is done for an invalid policy"
    );
    assert!(
        operator
            .metric("refit_failures_total{controller=\"patchpolicy\",reason=\"invalid_spec\"}")
            .is_some_and(|n| n >= 1.0)
    );
    let client = server.client().await.expect("client");
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let warning = operator
        .wait_for("a Warning event about the policy", 30, || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("InvalidSpec"))
        })
        .await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert!(
        warning
            .note
            .as_deref()
            .is_some_and(|n| n.contains("spec.images[0].allowTags"))
    );

    // Fixed: the policy is Ready and its workload gets a report.
    let policies: Api<PatchPolicy> = Api::all(client);
    policies
        .patch(
            "broken",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"images": [{"match": "**", "allowTags": "^1\\."}]}})),
        )
        .await
        .expect("patch");
    operator
        .wait_for("the fixed policy's workload to get a report", 30, || async {
            report(&server, "shop", "deployment-web").map(|_| ())
        })
        .await;
    operator
        .wait_for("the fixed policy to be Ready for generation 2", 30, || async {
            let ready = cluster_object(&server, "PatchPolicy", "broken")["status"]["conditions"][0].clone();
            (ready["status"] == "True" && ready["reason"] == "Reconciled" && ready["observedGeneration"] == 2)
                .then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_highest_priority_policy_governs_and_both_report_the_overlap() {
    let server = server_with(HashMap::new()).await;
    server.create_namespace("shop").expect("namespace");
    server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            "127.0.0.1:1/team/web:1.25.3",
            "front",
        ))
        .expect("deployment");
    server
        .create(workload(
            "Deployment",
            "shop",
            "worker",
            "127.0.0.1:1/team/worker:1.0.0",
            "back",
        ))
        .expect("deployment");
    server.create(policy("all", json!({}))).expect("policy");
    server
        .create(policy(
            "front",
            json!({"selector": {"matchLabels": {"tier": "front"}}, "priority": 10}),
        ))
        .expect("policy");
    let operator = Operator::start(server.kubeconfig_path(), &config(None, ""), &[]);
    operator.wait_ready().await;
    let governor =
        |name: &str| report(&server, "shop", name).and_then(|r| r["spec"]["policy"].as_str().map(str::to_owned));
    operator
        .wait_for("both reports", 30, || async {
            (governor("deployment-web")? == "front" && governor("deployment-worker")? == "all").then_some(())
        })
        .await;
    let overlaps = |name: &str| cluster_object(&server, "PatchPolicy", name)["status"]["overlaps"].clone();
    operator
        .wait_for("the overlap in both statuses", 30, || async {
            (overlaps("front").is_array() && overlaps("all").is_array()).then_some(())
        })
        .await;
    assert_eq!(
        overlaps("front"),
        json!([{"policy": "all", "workloads": 1, "governedHere": 1}])
    );
    assert_eq!(
        overlaps("all"),
        json!([{"policy": "front", "workloads": 1, "governedHere": 0}])
    );
    assert_eq!(
        cluster_object(&server, "PatchPolicy", "all")["status"]["matchedWorkloads"],
        1
    );
    assert_eq!(
        cluster_object(&server, "PatchPolicy", "front")["status"]["matchedWorkloads"],
        1
    );

    // Without `front`, `all` governs both; without any policy, no report stays.
    let policies: Api<PatchPolicy> = Api::all(server.client().await.expect("client"));
    policies
        .delete("front", &DeleteParams::default())
        .await
        .expect("delete");
    operator
        .wait_for("web to move to policy all", 30, || async {
            (governor("deployment-web")? == "all").then_some(())
        })
        .await;
    policies.delete("all", &DeleteParams::default()).await.expect("delete");
    operator
        .wait_for("the reports to go", 30, || async {
            (report(&server, "shop", "deployment-web").is_none()
                && report(&server, "shop", "deployment-worker").is_none())
            .then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_crds_end_refit_run_with_the_command_that_installs_them() {
    let server = ApiServer::start().await.expect("a server without refit's CRDs");
    let operator = Operator::start(server.kubeconfig_path(), &config(None, ""), &["--log-format", "text"]);
    let mut waited = 0;
    let logs = loop {
        let logs = operator.logs();
        if logs.contains("error:") || waited > 200 {
            break logs;
        }
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let (code, logs) = (operator.terminate().0, logs);
    assert_eq!(code, Some(1), "{logs}");
    assert!(logs.contains("patchpolicies.refit.dev"), "{logs}");
    assert!(logs.contains("refit crd | kubectl apply --server-side -f -"), "{logs}");
}

#[test]
fn a_config_file_with_mistakes_is_refused_naming_each_key() {
    let scratch = harness::Scratch::new("refit-config");
    let file = scratch.0.join("refit.yaml");
    std::fs::write(
        &file,
        "registries:\n  - host: https://ghcr.io\noperator:\n  metricsAddress: everywhere\n  logFormat: xml\n",
    )
    .expect("config");
    let (code, _, stderr) = refit_tests::run_refit(&["run", "--config", file.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("operator: unknown variant `xml`"), "{stderr}");
    std::fs::write(
        &file,
        "registries:\n  - host: https://ghcr.io\noperator:\n  metricsAddress: everywhere\n",
    )
    .expect("config");
    let (code, _, stderr) = refit_tests::run_refit(&["run", "--config", file.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("registries[0].host: `https://ghcr.io` must be a host[:port]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("operator.metricsAddress: \"everywhere\" is not an address"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_secret_contents_never_appear_in_the_logs() {
    let server = server_with(HashMap::new()).await;
    server.create_namespace("shop").expect("namespace");
    let secret_password = "s3cr3t-pa55w0rd-from-the-pull-secret";
    let file_password = "f1le-pa55w0rd-from-the-credentials-file";
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let secret_auth = b64(&format!("robot:{secret_password}"));
    let dockerconfig = json!({"auths": {"127.0.0.1:1": {"auth": secret_auth}}}).to_string();
    server
        .create(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "registry-login", "namespace": "shop"},
            "data": {".dockerconfigjson": b64(&dockerconfig)},
        }))
        .expect("secret");
    server
        .create(workload_with_secret(
            "Deployment",
            "shop",
            "web",
            "127.0.0.1:1/team/web:1.25.3",
            "front",
            Some("registry-login"),
        ))
        .expect("deployment");
    server.create(policy("all", json!({}))).expect("policy");
    let scratch = harness::Scratch::new("refit-credentials");
    let file_auth = b64(&format!("ci:{file_password}"));
    let credentials = scratch.0.join("config.json");
    std::fs::write(
        &credentials,
        json!({"auths": {"127.0.0.2:1": {"auth": file_auth}}}).to_string(),
    )
    .expect("credentials file");
    let config = format!(
        "credentials:\n  dockerConfigPath: {}\n{}",
        credentials.display(),
        config(None, "")
    );
    // Everything refit and its libraries log, at the most verbose level.
    let operator = Operator::start(server.kubeconfig_path(), &config, &["--log-level", "trace"]);
    operator.wait_ready().await;
    operator
        .wait_for("the workload's report (its pull secret read)", 30, || async {
            report(&server, "shop", "deployment-web").map(|_| ())
        })
        .await;
    let (code, logs) = operator.terminate();
    assert_eq!(code, Some(0));
    assert!(
        logs.contains("registry credentials changed"),
        "the secret was read and used"
    );
    for secret in [
        secret_password,
        secret_auth.as_str(),
        file_password,
        file_auth.as_str(),
        b64(&dockerconfig).as_str(),
    ] {
        assert!(!logs.contains(secret), "the logs contain a credential ({secret})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rereads_the_log_level_from_the_config_file() {
    let server = server_with(HashMap::new()).await;
    let operator = Operator::start(server.kubeconfig_path(), &config(None, ""), &[]);
    operator.wait_ready().await;
    let debug_lines = |logs: &str| logs.lines().filter(|l| l.contains("\"level\":\"DEBUG\"")).count();
    assert_eq!(debug_lines(&operator.logs()), 0, "operator.logLevel is info");
    operator.rewrite_config(&config(None, "").replace("logLevel: info", "logLevel: info,refit=debug"));
    operator.signal("-HUP");
    operator
        .wait_for("the new filter", 30, || async {
            operator.logs().contains("log filter changed").then_some(())
        })
        .await;
    server
        .create(window(
            "nights",
            json!({"windows": [{"schedule": "0 22 * * *", "duration": "2h"}]}),
        ))
        .expect("window");
    operator
        .wait_for("refit's debug lines", 30, || async {
            let logs = operator.logs();
            (debug_lines(&logs) > 0 && logs.contains("window reconciled")).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_scope_leaves_other_namespaces_alone() {
    let server = server_with(HashMap::new()).await;
    for name in ["shop", "other"] {
        server.create_namespace(name).expect("namespace");
        server
            .create(workload(
                "Deployment",
                name,
                "web",
                "127.0.0.1:1/team/web:1.25.3",
                "front",
            ))
            .expect("deployment");
    }
    server.create(policy("all", json!({}))).expect("policy");
    let operator = Operator::start(server.kubeconfig_path(), &config(None, ""), &["--namespace", "shop"]);
    operator.wait_ready().await;
    operator
        .wait_for("the report in shop", 30, || async {
            report(&server, "shop", "deployment-web").map(|_| ())
        })
        .await;
    let status = operator
        .wait_for("the policy's count", 30, || async {
            let status = cluster_object(&server, "PatchPolicy", "all")["status"].clone();
            status["lastScan"].is_string().then_some(status)
        })
        .await;
    assert_eq!(status["matchedWorkloads"], 1, "only shop's workload is seen");
    assert!(report(&server, "other", "deployment-web").is_none());
}

#[test]
fn the_config_file_example_in_the_docs_is_valid() {
    let text = std::fs::read_to_string(refit_tests::repo_root().join("docs/CONFIG.md")).expect("docs/CONFIG.md");
    let example = text
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a YAML example");
    let config = refit::config::OperatorConfig::parse(example, "docs/CONFIG.md").expect("the example is valid");
    assert_eq!(config.operator.namespace.as_deref(), Some("storefront"));
    assert!(config.registry_settings.is_insecure("registry.internal:5000"));
    // Every key of the example is in the tables below it.
    for key in [
        "metricsAddress",
        "logFormat",
        "logLevel",
        "namespace",
        "readPullSecrets",
        "workloadDebounce",
        "dockerConfigPath",
        "tagListTtl",
        "digestTtl",
        "contentCacheBytes",
        "maxConcurrent",
        "timeout",
        "retries",
        "rateLimit",
        "mirrors",
        "insecure",
    ] {
        assert!(text.matches(key).count() >= 2, "{key} is not documented");
    }
}

/// The `team/web` entry of a policy's `status.firstSeen`.
fn first_seen_of_web(server: &ApiServer, host: &str) -> Option<Value> {
    let status = cluster_object(server, "PatchPolicy", "web")["status"].clone();
    status["firstSeen"]
        .as_array()?
        .iter()
        .find(|entry| entry["repository"] == json!(format!("{host}/team/web")))
        .cloned()
}

fn instant(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .unwrap_or_else(|| panic!("an RFC 3339 instant: {value}"))
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epoch_dated_new_tag_soaks_from_its_first_sighting_across_restarts() {
    let Some(registry) = TestRegistry::start() else { return };
    let host = registry.addr.clone();
    let pusher = Pusher::new(&host);
    let running = pusher
        .image(
            "team/web",
            "1.25.3-alpine3.20",
            &ImageSpec::new("web 1.25.3").created("2026-01-12T09:00:00Z"),
        )
        .await;
    let server = server_with([(format!("{host}/team/web:1.25.3-alpine3.20"), running)].into()).await;
    server.create_namespace("shop").expect("namespace");
    server
        .create(workload(
            "Deployment",
            "shop",
            "web",
            &format!("{host}/team/web:1.25.3-alpine3.20"),
            "front",
        ))
        .expect("deployment");
    server
        .create(policy(
            "web",
            json!({"images": [{"match": format!("{host}/team/web"), "update": "minor", "minAge": "3d"}]}),
        ))
        .expect("policy");
    // Scans every 2 s, each listing the tags afresh.
    let config = config(Some(&host), "cache:\n  tagListTtl: 0s\n");
    let args = ["--scan-interval-override", "2s"];
    let operator = Operator::start(server.kubeconfig_path(), &config, &args);
    operator.wait_ready().await;
    let listed = operator
        .wait_for("the policy to record its first listing of team/web", 30, || async {
            first_seen_of_web(&server, &host).map(|entry| entry["firstListed"].clone())
        })
        .await;

    // A reproducible build of 1.26.0 is pushed: its config says 1970.
    pusher
        .image(
            "team/web",
            "1.26.0-alpine3.20",
            &ImageSpec::new("web 1.26.0").created("1970-01-01T00:00:00Z"),
        )
        .await;
    let passed_over = operator
        .wait_for("1.26.0-alpine3.20 to be passed over as too young", 30, || async {
            let report = report(&server, "shop", "deployment-web")?;
            let reason = first_container(&report)["reason"].as_str()?.to_owned();
            reason
                .contains("passed over 1.26.0-alpine3.20 (first seen")
                .then_some(report)
        })
        .await;
    let container = first_container(&passed_over);
    assert_eq!(container["state"], "UpToDate", "{container}");
    assert_eq!(container["candidate"], Value::Null);
    // Too young whenever it was built: its build time is not even read.
    assert_eq!(
        container["reason"],
        "no newer tag allowed for 1.25.3-alpine3.20; passed over 1.26.0-alpine3.20 (first seen just now, minAge 3d)"
    );
    // The report is written before the scan publishes the policy's
    // status: wait for the record there.
    let entry = operator
        .wait_for("the policy to record 1.26.0-alpine3.20", 30, || async {
            let entry = first_seen_of_web(&server, &host)?;
            entry["tags"]["1.26.0-alpine3.20"].is_string().then_some(entry)
        })
        .await;
    assert_eq!(entry["firstListed"], listed, "the first listing never moves");
    let seen = entry["tags"]["1.26.0-alpine3.20"].clone();
    assert!(
        instant(&seen) > instant(&listed),
        "a tag that appeared after the first listing: {entry}"
    );
    let (code, _) = operator.terminate();
    assert_eq!(code, Some(0));

    // A restart: the record is read back, not made again.
    let restarted = Operator::start(server.kubeconfig_path(), &config, &args);
    restarted.wait_ready().await;
    restarted
        .wait_for("two interval scans after the restart", 30, || async {
            (restarted.metric("refit_scans_total{trigger=\"interval\"}")? >= 2.0).then_some(())
        })
        .await;
    let entry = first_seen_of_web(&server, &host).expect("kept");
    assert_eq!(entry["firstListed"], listed);
    assert_eq!(entry["tags"]["1.26.0-alpine3.20"], seen, "the soak did not restart");
    let after_restart = report(&server, "shop", "deployment-web").expect("report");
    assert!(
        first_container(&after_restart)["reason"]
            .as_str()
            .is_some_and(|r| r.contains("passed over 1.26.0-alpine3.20 (first seen")),
        "{after_restart}"
    );
    let (code, _) = restarted.terminate();
    assert_eq!(code, Some(0));

    // While refit is stopped, let four days pass for the record: the next
    // start counts the soak from it, and 1.26.0 has soaked.
    let four_days_earlier = |value: &Value| rfc3339(instant(value) - TimeDelta::days(4));
    let client = server.client().await.expect("client");
    let policies: Api<PatchPolicy> = Api::all(client);
    policies
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"firstSeen": [{
                "repository": format!("{host}/team/web"),
                "firstListed": four_days_earlier(&listed),
                "tags": {"1.26.0-alpine3.20": four_days_earlier(&seen)},
            }]}})),
        )
        .await
        .expect("status patch");
    let later = Operator::start(server.kubeconfig_path(), &config, &args);
    later.wait_ready().await;
    let soaked = later
        .wait_for("1.26.0-alpine3.20 to be the candidate", 30, || async {
            let report = report(&server, "shop", "deployment-web")?;
            (first_container(&report)["state"] == "Outdated").then_some(report)
        })
        .await;
    let candidate = first_container(&soaked)["candidate"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        candidate.starts_with(&format!("{host}/team/web:1.26.0-alpine3.20@sha256:")),
        "{soaked}"
    );
    let entry = first_seen_of_web(&server, &host).expect("kept");
    assert_eq!(
        entry["tags"]["1.26.0-alpine3.20"],
        json!(four_days_earlier(&seen)),
        "the record read back is kept as it was"
    );
}
