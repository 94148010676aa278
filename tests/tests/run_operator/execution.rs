//! Carrying a change out end to end: the real `refit run` applies a
//! ticket's images to its workload (server-side apply, field manager
//! `refit`), follows the simulated controllers' rollout, verifies the new
//! pods, and rolls back a release that fails, against the real registry;
//! killed with SIGKILL between any two of its writes, it resumes without
//! changing the workload twice; a person's change during a rollout is not
//! fought.

use std::time::Duration;

use k8s_openapi::api::{apps::v1::ReplicaSet, core::v1::Pod, events::v1::Event};
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use refit_apiserver::Release;
use serde_json::{Value, json};

use super::{
    harness::{ImageSpec, Pusher},
    operator::Operator,
    report,
    tickets::{Shop, decide, kubectl, last_entry, more_scans, name, open, phases, shop_of},
};

/// Rollouts that are quick to verify, and quick to give up on.
fn quick(verify_for: &str, deadline: &str) -> Value {
    json!({"rollout": {"verifyFor": verify_for, "progressDeadline": deadline}})
}

impl Shop {
    /// A workload of the shop as stored.
    fn object(&self, kind: &str, name: &str) -> Value {
        let api_version = if kind == "CronJob" { "batch/v1" } else { "apps/v1" };
        self.server
            .get(api_version, kind, "shop", name)
            .unwrap_or_else(|| panic!("{kind} {name} exists"))
    }

    /// The image of container `app` in a workload's pod template.
    fn template_image(&self, kind: &str, name: &str) -> String {
        let object = self.object(kind, name);
        let template = if kind == "CronJob" {
            &object["spec"]["jobTemplate"]["spec"]["template"]
        } else {
            &object["spec"]["template"]
        };
        template["spec"]["containers"][0]["image"]
            .as_str()
            .expect("an image")
            .to_owned()
    }

    /// The digests the pods of `app` run (`imageID`), one per pod.
    async fn running(&self, app: &str) -> Vec<String> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), "shop");
        let list = pods
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .expect("pods");
        list.items
            .iter()
            .filter_map(|p| {
                let status = p.status.as_ref()?.container_statuses.as_ref()?.first()?;
                Some(status.image_id.split('@').next_back()?.to_owned())
            })
            .collect()
    }

    /// Waits until the only ticket of `app` satisfies `check`.
    async fn wait_ticket(&self, operator: &Operator, app: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        operator
            .wait_for(&format!("the ticket of {app}: {what}"), 90, || async {
                let tickets = self.tickets_of(app).await;
                tickets.into_iter().find(|t| check(t))
            })
            .await
    }

    /// The Events in the shop as (reason, kind, name, type, note).
    async fn events(&self) -> Vec<(String, String, String, String, String)> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "shop");
        let list = events.list(&ListParams::default()).await.expect("events");
        list.items
            .iter()
            .filter_map(|e| {
                let regarding = e.regarding.as_ref()?;
                Some((
                    e.reason.clone()?,
                    regarding.kind.clone()?,
                    regarding.name.clone()?,
                    e.type_.clone()?,
                    e.note.clone().unwrap_or_default(),
                ))
            })
            .collect()
    }
}

fn execution(ticket: &Value) -> &Value {
    &ticket["status"]["execution"]
}

fn is(phase: &'static str) -> impl Fn(&Value) -> bool {
    move |t: &Value| t["status"]["phase"] == phase
}

/// The fields of `manager`'s managedFields entry on `object`.
fn fields_of<'a>(object: &'a Value, manager: &str) -> Option<&'a Value> {
    object["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
        .map(|e| &e["fieldsV1"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_change_rolls_out_in_its_window_and_succeeds_touching_only_the_image() {
    let Some(shop) = shop_of("Approve", open(), quick("3s", "1m"), &[("Deployment", "web")]).await else {
        return;
    };
    // The workload belongs to a GitOps tool that applies it whole.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(shop.client.clone(), "shop");
    let mut applied = shop.object("Deployment", "web");
    for field in [
        "managedFields",
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "generation",
    ] {
        applied["metadata"].as_object_mut().expect("metadata").remove(field);
    }
    applied.as_object_mut().expect("an object").remove("status");
    applied["spec"]["template"]["metadata"]["labels"]["team"] = json!("shop");
    deployments
        .patch(
            "web",
            &PatchParams::apply("argocd-controller").force(),
            &Patch::Apply(&applied),
        )
        .await
        .expect("the GitOps apply");
    let operator = shop.operator();
    operator.wait_ready().await;

    let waiting = shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await;
    let ticket = name(&waiting);
    decide(&shop.server, &ticket, true).expect("kubectl patch");

    let done = shop.wait_ticket(&operator, "web", "Succeeded", is("Succeeded")).await;
    assert_eq!(
        phases(&done),
        ["Pending", "AwaitingApproval", "Scheduled", "InProgress", "Succeeded"]
    );
    assert_eq!(
        last_entry(&done)["message"],
        "rolled out: 2 pods stayed ready without restarts for rollout.verifyFor (3s)"
    );
    assert_eq!(execution(&done)["step"], "Verify");
    assert_eq!(execution(&done)["target"], "Candidate");
    assert!(done["status"]["finishedAt"].is_string());

    // The workload runs the candidate, pinned, and names the ticket.
    let web = shop.object("Deployment", "web");
    assert_eq!(shop.template_image("Deployment", "web"), shop.pinned_candidate());
    assert_eq!(
        web["spec"]["template"]["metadata"]["annotations"]["refit.dev/ticket"],
        json!(ticket)
    );
    assert_eq!(
        web["metadata"]["generation"], 3,
        "one change by the GitOps tool, one by refit"
    );
    assert_eq!(
        shop.running("web").await,
        [shop.candidate.clone(), shop.candidate.clone()]
    );
    // Only the image and the annotation changed hands.
    let refit = fields_of(&web, "refit").expect("refit's entry");
    let mut owned = refit["f:spec"]["f:template"].clone();
    // A real server also records the list item itself as `.`.
    if let Some(app) = owned["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"].as_object_mut() {
        app.remove(".");
    }
    assert_eq!(
        owned,
        json!({
            "f:metadata": {"f:annotations": {"f:refit.dev/ticket": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}, "f:name": {}}}},
        })
    );
    assert_eq!(
        refit.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["f:spec".to_owned()]),
        "{refit}"
    );
    let gitops = fields_of(&web, "argocd-controller").expect("the GitOps tool's entry");
    assert!(gitops["f:spec"]["f:replicas"].is_object(), "{gitops}");
    assert!(
        gitops["f:spec"]["f:template"]["f:metadata"]["f:labels"]["f:team"].is_object(),
        "{gitops}"
    );
    let gitops_app = &gitops["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
    assert!(
        gitops_app["f:name"].is_object() && gitops_app["f:image"].is_null(),
        "{gitops}"
    );
    assert_eq!(web["spec"]["template"]["metadata"]["labels"]["team"], "shop");

    // The report is up to date; the slot is given back; people were told.
    operator
        .wait_for("the report to be up to date", 30, || async {
            let report = report(&shop.server, "shop", "deployment-web")?;
            let container = &report["status"]["containers"][0];
            (container["state"] == "UpToDate" && report["status"]["ticket"].is_null()).then_some(())
        })
        .await;
    operator
        .wait_for("the window's slot to be given back", 30, || async {
            let window = shop.server.get("refit.dev/v1alpha1", "ChangeWindow", "", "nights")?;
            (window["status"]["activeChanges"] == 0
                && window["status"]["activeTickets"].as_array().is_none_or(Vec::is_empty))
            .then_some(())
        })
        .await;
    let events = shop.events().await;
    assert!(
        events
            .iter()
            .any(|(reason, kind, name, _, note)| reason == "ImagesApplied"
                && kind == "Deployment"
                && name == "web"
                && *note == format!("refit set app={} for ChangeTicket {ticket}", shop.pinned_candidate())),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|(reason, kind, _, kind_of_event, _)| reason == "Succeeded"
                && kind == "ChangeTicket"
                && kind_of_event == "Normal"),
        "{events:?}"
    );
    operator
        .wait_for("the ticket metrics", 30, || async {
            (operator.metric("refit_tickets{phase=\"Succeeded\",type=\"Rollout\"}")? == 1.0).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_crash_loops_is_rolled_back_remembered_and_a_newer_one_proposed() {
    let Some(shop) = shop_of("Auto", open(), quick("6s", "1m"), &[("Deployment", "web")]).await else {
        return;
    };
    let simulation = shop.server.simulation().expect("simulated");
    simulation.crash_image(&shop.pinned_candidate());
    let operator = shop.operator();
    operator.wait_ready().await;

    let rolled_back = shop.wait_ticket(&operator, "web", "RolledBack", is("RolledBack")).await;
    let ticket = name(&rolled_back);
    assert_eq!(
        phases(&rolled_back),
        ["Pending", "Scheduled", "InProgress", "RolledBack"]
    );
    let message = last_entry(&rolled_back)["message"]
        .as_str()
        .expect("a message")
        .to_owned();
    assert!(message.starts_with("rolled back: "), "{message}");
    assert!(message.contains("restarted"), "{message}");
    assert_eq!(execution(&rolled_back)["target"], "Previous");
    // Back on the old digest, pinned.
    assert_eq!(shop.template_image("Deployment", "web"), shop.pinned_old());
    operator
        .wait_for("the pods to run the old digest again", 30, || async {
            let running = shop.running("web").await;
            (running == [shop.old.clone(), shop.old.clone()]).then_some(())
        })
        .await;
    let events = shop.events().await;
    for kind in ["ChangeTicket", "Deployment"] {
        assert!(
            events
                .iter()
                .any(|(reason, k, _, t, _)| reason == "RollingBack" && k == kind && t == "Warning"),
            "{kind}: {events:?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|(reason, k, _, t, _)| reason == "RolledBack" && k == "ChangeTicket" && t == "Warning"),
        "{events:?}"
    );

    // The bad candidate is remembered: the report says so, and no ticket
    // proposes it again.
    let reported = operator
        .wait_for("the report to say it was rolled back", 30, || async {
            let report = report(&shop.server, "shop", "deployment-web")?;
            let reason = report["status"]["containers"][0]["reason"].as_str()?.to_owned();
            reason.contains("rolled back on").then_some(reason)
        })
        .await;
    assert!(
        reported.contains("1.25.4 (rolled back on ") && reported.contains(&format!("by ticket {ticket})")),
        "{reported}"
    );
    more_scans(&operator, 2.0).await;
    assert_eq!(shop.tickets().await.len(), 1);

    // A newer release is proposed, and rolls out.
    let pusher = Pusher::new(&shop.host);
    let fixed = pusher.image("team/web", "1.25.5", &ImageSpec::new("web 1.25.5")).await;
    let next = shop
        .wait_ticket(&operator, "web", "the newer release succeeds", |t| {
            t["spec"]["changes"][0]["to"]
                .as_str()
                .is_some_and(|to| to.contains(":1.25.5@"))
                && is("Succeeded")(t)
        })
        .await;
    assert_eq!(next["spec"]["changes"][0]["from"], json!(shop.pinned_old()));
    assert_eq!(shop.running("web").await, [fixed.clone(), fixed]);
}

/// Waits until `count` writes of `plural` (`subresource`) are held.
async fn held(shop: &Shop, operator: &Operator, plural: &str, subresource: Option<&str>) {
    operator
        .wait_for(&format!("a write of {plural} to be held"), 60, || async {
            (shop.server.faults().held_writes(plural, subresource) >= 1).then_some(())
        })
        .await;
}

/// The revisions of the shop's ReplicaSets: one per template rolled out.
async fn revisions(shop: &Shop) -> Vec<String> {
    let sets: Api<ReplicaSet> = Api::namespaced(shop.client.clone(), "shop");
    let list = sets.list(&ListParams::default()).await.expect("replica sets");
    let mut revisions: Vec<String> = list
        .items
        .iter()
        .filter_map(|rs| rs.annotations().get("deployment.kubernetes.io/revision").cloned())
        .collect();
    revisions.sort();
    revisions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_any_two_writes_of_a_rollout_refit_resumes_and_changes_the_workload_once() {
    let Some(shop) = shop_of("Auto", open(), quick("4s", "1m"), &[("Deployment", "web")]).await else {
        return;
    };
    let faults = shop.server.faults();

    // 1. Killed after recording `Apply`, before the apply reached the
    //    API server.
    faults.hold_writes("deployments", None);
    let operator = shop.operator();
    let applying = shop
        .wait_ticket(&operator, "web", "InProgress, about to apply", |t| {
            is("InProgress")(t) && execution(t)["step"] == "Apply"
        })
        .await;
    held(&shop, &operator, "deployments", None).await;
    operator.kill();
    faults.release_writes("deployments", None, Release::Fail);
    assert_eq!(
        shop.template_image("Deployment", "web"),
        format!("{}/team/web:1.25.3", shop.host)
    );
    assert_eq!(execution(&applying)["target"], "Candidate");

    // 2. Killed after the apply, before recording `Follow`.
    faults.hold_writes("changetickets", Some("status"));
    let operator = shop.operator();
    held(&shop, &operator, "changetickets", Some("status")).await;
    assert_eq!(shop.template_image("Deployment", "web"), shop.pinned_candidate());
    operator.kill();
    faults.release_writes("changetickets", Some("status"), Release::Fail);
    let ticket = shop.tickets_of("web").await.remove(0);
    assert_eq!(execution(&ticket)["step"], "Apply", "the record still says Apply");

    // 3. Killed while verifying.
    let operator = shop.operator();
    shop.wait_ticket(&operator, "web", "verifying", |t| execution(t)["step"] == "Verify")
        .await;
    operator.kill();

    // 4. Started again, it finishes.
    let operator = shop.operator();
    let done = shop.wait_ticket(&operator, "web", "Succeeded", is("Succeeded")).await;
    assert_eq!(phases(&done), ["Pending", "Scheduled", "InProgress", "Succeeded"]);
    let web = shop.object("Deployment", "web");
    assert_eq!(web["metadata"]["generation"], 2, "the workload was changed once");
    assert_eq!(revisions(&shop).await, ["1", "2"], "one rollout");
    assert_eq!(
        shop.running("web").await,
        [shop.candidate.clone(), shop.candidate.clone()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_any_two_writes_of_a_rollback_refit_resumes_and_rolls_back_once() {
    let Some(shop) = shop_of("Auto", open(), quick("2s", "6s"), &[("Deployment", "web")]).await else {
        return;
    };
    let faults = shop.server.faults();
    // The candidate cannot be pulled: the rollout stalls, and misses its
    // deadline.
    shop.server
        .simulation()
        .expect("simulated")
        .fail_image(&shop.pinned_candidate());
    let operator = shop.operator();
    shop.wait_ticket(&operator, "web", "following the candidate", |t| {
        execution(t)["step"] == "Follow" && execution(t)["target"] == "Candidate"
    })
    .await;

    // 1. Killed after recording the rollback, before applying it.
    faults.hold_writes("deployments", None);
    let rolling_back = shop
        .wait_ticket(&operator, "web", "about to roll back", |t| {
            execution(t)["target"] == "Previous" && execution(t)["step"] == "Apply"
        })
        .await;
    held(&shop, &operator, "deployments", None).await;
    operator.kill();
    faults.release_writes("deployments", None, Release::Fail);
    assert_eq!(shop.template_image("Deployment", "web"), shop.pinned_candidate());
    let failure = execution(&rolling_back)["failure"].as_str().expect("why").to_owned();
    assert!(
        failure.starts_with("the rollout did not finish within rollout.progressDeadline (6s): "),
        "{failure}"
    );

    // 2. Killed after applying the rollback, before recording it.
    faults.hold_writes("changetickets", Some("status"));
    let operator = shop.operator();
    held(&shop, &operator, "changetickets", Some("status")).await;
    assert_eq!(shop.template_image("Deployment", "web"), shop.pinned_old());
    operator.kill();
    faults.release_writes("changetickets", Some("status"), Release::Fail);

    // 3. Started again, it finishes the rollback.
    let operator = shop.operator();
    let done = shop.wait_ticket(&operator, "web", "RolledBack", is("RolledBack")).await;
    assert_eq!(
        last_entry(&done)["message"],
        json!(format!(
            "rolled back: {failure}; the previous images are restored and rolled out"
        ))
    );
    let web = shop.object("Deployment", "web");
    assert_eq!(
        web["metadata"]["generation"], 3,
        "changed once to the candidate and once back"
    );
    assert_eq!(shop.template_image("Deployment", "web"), shop.pinned_old());
    operator
        .wait_for("the old pods to run", 30, || async {
            (shop.running("web").await == [shop.old.clone(), shop.old.clone()]).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_change_during_a_rollout_ends_the_ticket_naming_who_and_is_not_rolled_back() {
    let Some(shop) = shop_of("Auto", open(), quick("2s", "5m"), &[("Deployment", "web")]).await else {
        return;
    };
    // The rollout hangs (the candidate cannot be pulled) while a person
    // steps in.
    shop.server
        .simulation()
        .expect("simulated")
        .fail_image(&shop.pinned_candidate());
    let operator = shop.operator();
    shop.wait_ticket(&operator, "web", "following", |t| execution(t)["step"] == "Follow")
        .await;
    let theirs = format!("{}/team/web:1.25.3", shop.host);
    let Some(_) = kubectl(
        &shop.server,
        &["set", "image", "deployment/web", &format!("app={theirs}"), "-n", "shop"],
    ) else {
        return;
    };
    let interrupted = shop
        .wait_ticket(&operator, "web", "Interrupted", is("Interrupted"))
        .await;
    let message = last_entry(&interrupted)["message"]
        .as_str()
        .expect("a message")
        .to_owned();
    assert!(
        message.starts_with(&format!(
            "Deployment web: container app's image was set to {theirs} by field manager kubectl-set (Update at "
        )),
        "{message}"
    );
    assert!(
        message.ends_with("while the change was under way; refit stopped and rolled nothing back over it"),
        "{message}"
    );
    // Their image stays; nothing was rolled back over it.
    more_scans(&operator, 1.0).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(shop.template_image("Deployment", "web"), theirs);
    let events = shop.events().await;
    assert!(
        events
            .iter()
            .any(|(reason, kind, _, t, _)| reason == "Interrupted" && kind == "Deployment" && t == "Warning"),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|(reason, ..)| reason == "RollbackApplied"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statefulset_a_daemonset_and_a_cronjob_each_go_through_one_ticket() {
    let policy = json!({"rollout": {"verifyFor": "2s", "progressDeadline": "1m", "maxConcurrent": 3}});
    let window = json!({"windows": [{"schedule": "0 * * * *", "duration": "1h"}], "maxConcurrentChanges": 3});
    let workloads = [("StatefulSet", "db"), ("DaemonSet", "agent"), ("CronJob", "report")];
    let Some(shop) = shop_of("Auto", window, policy, &workloads).await else {
        return;
    };
    let operator = shop.operator();
    for (kind, app) in workloads {
        let done = shop.wait_ticket(&operator, app, "Succeeded", is("Succeeded")).await;
        assert_eq!(done["spec"]["workload"]["kind"], kind);
        assert_eq!(shop.template_image(kind, app), shop.pinned_candidate(), "{kind}");
        let message = last_entry(&done)["message"].as_str().expect("a message").to_owned();
        match kind {
            "CronJob" => assert!(
                message.starts_with(
                    "rolled out: the CronJob's template now has the new images; its next run (schedule `0 3 * * *`) at "
                ) && message.ends_with("T03:00:00Z uses them"),
                "{message}"
            ),
            "StatefulSet" => {
                assert_eq!(
                    message,
                    "rolled out: 2 pods stayed ready without restarts for rollout.verifyFor (2s)"
                );
                assert_eq!(
                    shop.running(app).await,
                    [shop.candidate.clone(), shop.candidate.clone()]
                );
            }
            _ => {
                assert_eq!(
                    message,
                    "rolled out: 1 pod stayed ready without restarts for rollout.verifyFor (2s)"
                );
                assert_eq!(shop.running(app).await, std::slice::from_ref(&shop.candidate));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_changed_outside_refit_is_recorded_with_who_and_when_and_not_reverted() {
    let closed = json!({"windows": [{"schedule": "0 3 1 1 *", "duration": "1h"}]});
    let Some(shop) = shop_of("Approve", closed, json!({}), &[("Deployment", "web")]).await else {
        return;
    };
    let operator = shop.operator();
    let proposed = shop.wait_phase(&operator, "web", "AwaitingApproval", 30).await;
    operator
        .wait_for("the report to record the image", 30, || async {
            let report = report(&shop.server, "shop", "deployment-web")?;
            (report["status"]["containers"][0]["image"] == json!(format!("{}/team/web:1.25.3", shop.host)))
                .then_some(())
        })
        .await;

    // Someone upgrades the workload by hand, without a ticket.
    let theirs = format!("{}/team/web:1.25.4", shop.host);
    let Some(_) = kubectl(
        &shop.server,
        &["set", "image", "deployment/web", &format!("app={theirs}"), "-n", "shop"],
    ) else {
        return;
    };
    let record = shop
        .wait_ticket(&operator, "web", "a record of the change", is("Recorded"))
        .await;
    let ticket = name(&record);
    assert_eq!(record["spec"]["type"], "Rollout");
    assert_eq!(record["spec"]["summary"], "web 1.25.3→1.25.4 (outside refit)");
    assert_eq!(
        record["spec"]["changes"][0],
        json!({"container": "app", "from": format!("{}/team/web:1.25.3", shop.host), "to": theirs, "reason": "UnauthorizedChange"})
    );
    assert_eq!(phases(&record), ["Pending", "Recorded"]);
    let why = record["status"]["history"][0]["message"]
        .as_str()
        .expect("why")
        .to_owned();
    assert!(
        why.starts_with(&format!(
            "recorded: container app's image was changed from {}/team/web:1.25.3 to {theirs} outside refit by field \
             manager kubectl-set at ",
            shop.host
        )),
        "{why}"
    );
    // The report shows it; the workload keeps their image; the proposal
    // for the version they installed is withdrawn.
    let reported = operator
        .wait_for("the report to list the change", 30, || async {
            let report = report(&shop.server, "shop", "deployment-web")?;
            let change = report["status"]["unauthorizedChanges"][0].clone();
            (change["ticket"] == json!(ticket)).then_some(change)
        })
        .await;
    assert_eq!(reported["manager"], "kubectl-set");
    assert!(reported["changedAt"].is_string(), "{reported}");
    assert_eq!(reported["to"], json!(theirs));
    let withdrawn = shop
        .wait_ticket(&operator, "web", "the proposal withdrawn", |t| {
            name(t) == name(&proposed) && is("Cancelled")(t)
        })
        .await;
    assert!(last_entry(&withdrawn)["message"].is_string());
    assert_eq!(shop.template_image("Deployment", "web"), theirs);
    let events = shop.events().await;
    assert!(
        events
            .iter()
            .any(|(reason, kind, _, t, note)| reason == "UnauthorizedChange"
                && kind == "Deployment"
                && t == "Warning"
                && note.ends_with(&format!("recorded as ChangeTicket {ticket} (not reverted)"))),
        "{events:?}"
    );
    operator
        .wait_for("the metric", 30, || async {
            (operator.metric("refit_unauthorized_changes_total{kind=\"Deployment\"}")? == 1.0).then_some(())
        })
        .await;
    // Found again on later scans, it is not recorded twice.
    more_scans(&operator, 2.0).await;
    let records = shop
        .tickets_of("web")
        .await
        .into_iter()
        .filter(|t| t["status"]["phase"] == "Recorded")
        .count();
    assert_eq!(records, 1);
}
