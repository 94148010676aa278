//! The simulated controllers and the fault switches, through the real kube
//! client.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::{
    apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    core::v1::{ConfigMap, Pod},
};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams, PostParams},
    runtime::{WatchStreamExt, watcher},
};
use refit_apiserver::{ApiServer, Simulation, WriteFault, fixtures::first_container_status};
use serde_json::{Value, json};

/// The digest the test "registry" reports for every image.
fn digest_of(image: &str) -> Option<String> {
    (!image.starts_with("missing")).then(|| format!("sha256:{:0>64}", image.len()))
}

async fn start() -> (ApiServer, Client) {
    let server = ApiServer::builder()
        .simulate(
            Simulation::new()
                .tick(Duration::from_millis(10))
                .nodes(2)
                .image_ids_sync(digest_of),
        )
        .start()
        .await
        .expect("server starts");
    let client = server.client().await.expect("client");
    (server, client)
}

fn workload(kind: &str, name: &str, image: &str, extra: Value) -> Value {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "main", "image": image}]}},
    });
    if kind != "DaemonSet" {
        spec["replicas"] = json!(2);
    }
    if let (Value::Object(spec), Value::Object(extra)) = (&mut spec, extra) {
        spec.extend(extra);
    }
    json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// Polls `check` every 20 ms for up to 15 s; returns its last value.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..750 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn set_image() -> Patch<Value> {
    Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}}))
}

async fn pod_image_ids(client: &Client, app: &str) -> Vec<String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let listed = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("pods");
    listed
        .items
        .iter()
        .flat_map(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.clone())
                .unwrap_or_default()
        })
        .map(|c| c.image_id)
        .collect()
}

#[tokio::test]
async fn a_deployment_rolls_out_a_new_image_and_its_pods_report_the_resolved_digest() {
    let (_server, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let created: Deployment =
        serde_json::from_value(workload("Deployment", "web", "nginx:1", json!({}))).expect("valid");
    deployments
        .create(&PostParams::default(), &created)
        .await
        .expect("created");
    let done = |generation: i64| {
        let deployments = deployments.clone();
        move || {
            let deployments = deployments.clone();
            async move {
                let d = deployments.get("web").await.ok()?;
                let status = d.status?;
                let progressing = status.conditions?.into_iter().find(|c| c.type_ == "Progressing")?;
                (status.observed_generation == Some(generation)
                    && status.updated_replicas == Some(2)
                    && status.available_replicas == Some(2)
                    && status.replicas == Some(2)
                    && progressing.reason.as_deref() == Some("NewReplicaSetAvailable"))
                .then_some(())
            }
        }
    };
    eventually("the first rollout", done(1)).await;
    assert_eq!(
        pod_image_ids(&client, "web").await,
        vec![format!("nginx@sha256:{:0>64}", 7); 2]
    );

    deployments
        .patch("web", &PatchParams::default(), &set_image())
        .await
        .expect("image changed");
    eventually("the second rollout", done(2)).await;
    assert_eq!(
        pod_image_ids(&client, "web").await,
        vec![format!("nginx@sha256:{:0>64}", 7); 2]
    );
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let images: Vec<String> = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("pods")
        .items
        .iter()
        .filter_map(|p| p.spec.as_ref()?.containers.first()?.image.clone())
        .collect();
    assert_eq!(images, ["nginx:2", "nginx:2"], "old pods are gone");
}

#[tokio::test]
async fn a_failing_image_stalls_the_rollout_until_the_progress_deadline_is_exceeded() {
    let (server, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let created: Deployment = serde_json::from_value(workload(
        "Deployment",
        "api",
        "nginx:1",
        json!({"progressDeadlineSeconds": 1}),
    ))
    .expect("valid");
    deployments
        .create(&PostParams::default(), &created)
        .await
        .expect("created");
    eventually("the first rollout", || {
        let deployments = deployments.clone();
        async move { (deployments.get("api").await.ok()?.status?.available_replicas == Some(2)).then_some(()) }
    })
    .await;
    server.simulation().expect("simulation runs").fail_image("nginx:2");
    deployments
        .patch("api", &PatchParams::default(), &set_image())
        .await
        .expect("image changed");
    let condition = eventually("ProgressDeadlineExceeded", || {
        let deployments = deployments.clone();
        async move {
            let status = deployments.get("api").await.ok()?.status?;
            status
                .conditions?
                .into_iter()
                .find(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
        }
    })
    .await;
    assert_eq!(condition.status, "False");
    let status = deployments
        .get("api")
        .await
        .expect("deployment")
        .status
        .expect("status");
    assert_eq!(status.available_replicas, Some(2), "the old pods keep serving");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let waiting: Vec<String> = pods
        .list(&ListParams::default().labels("app=api"))
        .await
        .expect("pods")
        .items
        .iter()
        .flat_map(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.clone())
                .unwrap_or_default()
        })
        .filter_map(|c| c.state?.waiting?.reason)
        .collect();
    assert!(
        waiting.iter().all(|r| r == "ImagePullBackOff") && !waiting.is_empty(),
        "{waiting:?}"
    );
}

#[tokio::test]
async fn statefulset_and_daemonset_rollouts_replace_every_pod() {
    let (_server, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let daemons: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    sets.create(
        &PostParams::default(),
        &serde_json::from_value(workload("StatefulSet", "db", "nginx:1", json!({}))).expect("valid"),
    )
    .await
    .expect("created");
    daemons
        .create(
            &PostParams::default(),
            &serde_json::from_value(workload("DaemonSet", "agent", "nginx:1", json!({}))).expect("valid"),
        )
        .await
        .expect("created");
    sets.patch("db", &PatchParams::default(), &set_image())
        .await
        .expect("patched");
    daemons
        .patch("agent", &PatchParams::default(), &set_image())
        .await
        .expect("patched");
    eventually("the StatefulSet rollout", || {
        let sets = sets.clone();
        async move {
            let status = sets.get("db").await.ok()?.status?;
            (status.observed_generation == Some(2)
                && status.updated_replicas == Some(2)
                && status.ready_replicas == Some(2)
                && status.current_revision == status.update_revision)
                .then_some(())
        }
    })
    .await;
    eventually("the DaemonSet rollout", || {
        let daemons = daemons.clone();
        async move {
            let status = daemons.get("agent").await.ok()?.status?;
            (status.observed_generation == Some(2)
                && status.desired_number_scheduled == 2
                && status.updated_number_scheduled == Some(2)
                && status.number_ready == 2
                && status.current_number_scheduled == 2)
                .then_some(())
        }
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let names: Vec<String> = pods
        .list(&ListParams::default().labels("app=db"))
        .await
        .expect("pods")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, ["db-0", "db-1"]);
}

/// Each pod of `app` as (name, the value of label `key`).
async fn pod_labels(client: &Client, app: &str, key: &str) -> Vec<(String, Option<String>)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut listed: Vec<(String, Option<String>)> = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("pods")
        .items
        .iter()
        .map(|p| (p.name_any(), p.labels().get(key).cloned()))
        .collect();
    listed.sort();
    listed
}

#[tokio::test]
async fn a_daemon_sets_template_generation_moves_with_its_template_only_and_labels_its_pods() {
    const GENERATION: &str = "deprecated.daemonset.template.generation";
    let (_server, client) = start().await;
    let daemons: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let created = daemons
        .create(
            &PostParams::default(),
            &serde_json::from_value(workload("DaemonSet", "agent", "nginx:1", json!({}))).expect("valid"),
        )
        .await
        .expect("created");
    assert_eq!(created.annotations().get(GENERATION).map(String::as_str), Some("1"));
    let labelled = |generation: &'static str| {
        let client = client.clone();
        move || {
            let client = client.clone();
            async move {
                let pods = pod_labels(&client, "agent", "pod-template-generation").await;
                (pods.len() == 2 && pods.iter().all(|(_, g)| g.as_deref() == Some(generation))).then_some(())
            }
        }
    };
    eventually("a pod of template generation 1 on each node", labelled("1")).await;

    // A change outside the template moves the generation, not the
    // template generation.
    let strategy =
        json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}}});
    let patched = daemons
        .patch("agent", &PatchParams::default(), &Patch::Merge(strategy))
        .await
        .expect("patched");
    assert_eq!(patched.metadata.generation, Some(2));
    assert_eq!(patched.annotations().get(GENERATION).map(String::as_str), Some("1"));

    // A template change moves both; clients cannot set it themselves.
    let patched = daemons
        .patch("agent", &PatchParams::default(), &set_image())
        .await
        .expect("patched");
    assert_eq!(patched.metadata.generation, Some(3));
    assert_eq!(patched.annotations().get(GENERATION).map(String::as_str), Some("2"));
    let forged = json!({"metadata": {"annotations": {GENERATION: "7"}}});
    let patched = daemons
        .patch("agent", &PatchParams::default(), &Patch::Merge(forged))
        .await
        .expect("patched");
    assert_eq!(patched.annotations().get(GENERATION).map(String::as_str), Some("2"));
    eventually("both pods replaced from template generation 2", labelled("2")).await;
}

#[tokio::test]
async fn a_rolled_back_deployment_makes_its_earlier_replica_set_the_newest_revision() {
    let (_server, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(workload("Deployment", "web", "nginx:1", json!({}))).expect("valid"),
        )
        .await
        .expect("created");
    let revisions = || {
        let sets = sets.clone();
        async move {
            let mut revisions: Vec<(String, String)> = sets
                .list(&ListParams::default().labels("app=web"))
                .await
                .ok()?
                .items
                .iter()
                .map(|set| {
                    let image = set.spec.as_ref()?.template.as_ref()?.spec.as_ref()?.containers[0]
                        .image
                        .clone()?;
                    Some((
                        image,
                        set.annotations().get("deployment.kubernetes.io/revision")?.clone(),
                    ))
                })
                .collect::<Option<_>>()?;
            revisions.sort();
            Some(revisions)
        }
    };
    eventually("revision 1", || async {
        (revisions().await? == [("nginx:1".into(), "1".into())]).then_some(())
    })
    .await;
    deployments
        .patch("web", &PatchParams::default(), &set_image())
        .await
        .expect("image changed");
    eventually("revision 2", || async { (revisions().await?.len() == 2).then_some(()) }).await;
    // `kubectl rollout undo deploy/web`
    let undo = json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1"}]}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(undo))
        .await
        .expect("rolled back");
    let expected: Vec<(String, String)> = vec![("nginx:1".into(), "3".into()), ("nginx:2".into(), "2".into())];
    eventually("the nginx:1 ReplicaSet to be revision 3", || async {
        (revisions().await? == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn changing_a_running_pods_image_restarts_that_container_with_the_new_image() {
    let (_server, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(workload("Deployment", "web", "nginx:1", json!({}))).expect("valid"),
        )
        .await
        .expect("created");
    eventually("the rollout", || {
        let deployments = deployments.clone();
        async move { (deployments.get("web").await.ok()?.status?.available_replicas == Some(2)).then_some(()) }
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let before = pod_labels(&client, "web", "pod-template-hash").await;
    let edited = before[0].0.clone();
    // `kubectl set image pod/<edited> main=nginx:1.1`
    let set_image = json!({"spec": {"containers": [{"name": "main", "image": "nginx:1.1"}]}});
    pods.patch(&edited, &PatchParams::default(), &Patch::Strategic(set_image))
        .await
        .expect("pod image changed");
    let status = eventually("the container to restart with nginx:1.1", || {
        let pods = pods.clone();
        let edited = edited.clone();
        async move {
            let container = pods.get(&edited).await.ok()?.status?.container_statuses?.pop()?;
            (container.image == "nginx:1.1").then_some(container)
        }
    })
    .await;
    assert_eq!(status.image_id, format!("nginx@sha256:{:0>64}", 9));
    assert_eq!(status.restart_count, 1);
    assert!(status.ready);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        pod_labels(&client, "web", "pod-template-hash").await,
        before,
        "the ReplicaSet keeps the edited pod"
    );
}

#[tokio::test]
async fn injected_write_failures_answer_409_then_500_and_then_stop() {
    let server = ApiServer::start().await.expect("server");
    let maps: Api<ConfigMap> = Api::namespaced(server.client().await.expect("client"), "default");
    let map: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("valid");
    server.faults().fail_next_writes(1, WriteFault::Conflict);
    let code = |e: kube::Error| match e {
        kube::Error::Api(status) => status.code,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        code(maps.create(&PostParams::default(), &map).await.expect_err("injected")),
        409
    );
    server.faults().fail_next_writes(2, WriteFault::InternalError);
    assert_eq!(
        code(maps.create(&PostParams::default(), &map).await.expect_err("injected")),
        500
    );
    maps.list(&ListParams::default()).await.expect("reads are not affected");
    assert_eq!(
        code(maps.create(&PostParams::default(), &map).await.expect_err("injected")),
        500
    );
    maps.create(&PostParams::default(), &map).await.expect("faults used up");
}

#[tokio::test]
async fn the_runtime_watcher_recovers_from_dropped_watches() {
    let server = ApiServer::start().await.expect("server");
    let maps: Api<ConfigMap> = Api::namespaced(server.client().await.expect("client"), "default");
    let mut events = watcher(maps.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    let create = |name: &str| {
        let maps = maps.clone();
        let map: ConfigMap = serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid");
        async move { maps.create(&PostParams::default(), &map).await.expect("created") }
    };
    create("before").await;
    let first = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("in time");
    assert_eq!(
        first.and_then(Result::ok).map(|o| o.name_any()).as_deref(),
        Some("before")
    );
    server.faults().drop_watches();
    create("after").await;
    let mut seen = Vec::new();
    while !seen.contains(&"after".to_string()) {
        match tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the watcher comes back")
        {
            Some(Ok(object)) => seen.push(object.name_any()),
            Some(Err(_)) => {} // the dropped connection surfaces as one error
            None => panic!("the stream ended"),
        }
    }
}

#[tokio::test]
async fn a_delay_slows_every_answer() {
    let server = ApiServer::start().await.expect("server");
    let maps: Api<ConfigMap> = Api::namespaced(server.client().await.expect("client"), "default");
    server.faults().set_delay(Duration::from_millis(300));
    let started = std::time::Instant::now();
    maps.list(&ListParams::default()).await.expect("listed");
    assert!(started.elapsed() >= Duration::from_millis(300));
    server.faults().set_delay(Duration::ZERO);
    let started = std::time::Instant::now();
    maps.list(&ListParams::default()).await.expect("listed");
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn a_pod_of_a_reference_pinned_by_digest_runs_exactly_that_digest() {
    let (_server, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    // The test's resolver cannot pull `missing…` by tag, and would report
    // another digest for anything else: a pinned reference is pulled by
    // its digest all the same, as a kubelet does.
    let pinned = format!("sha256:{}", "3f".repeat(32));
    for (app, image) in [
        ("pinned", format!("missing/web:1.25.4@{pinned}")),
        ("tagged", "missing/web:1.25.4".to_owned()),
    ] {
        let created: Deployment =
            serde_json::from_value(workload("Deployment", app, &image, json!({}))).expect("valid");
        deployments
            .create(&PostParams::default(), &created)
            .await
            .expect("created");
    }
    let ids = eventually("the pinned pods to run", || {
        let client = client.clone();
        async move {
            let ids = pod_image_ids(&client, "pinned").await;
            (ids.len() == 2 && ids.iter().all(|id| !id.is_empty())).then_some(ids)
        }
    })
    .await;
    assert_eq!(ids, vec![format!("missing/web@{pinned}"); 2]);
    assert!(
        pod_image_ids(&client, "tagged").await.iter().all(String::is_empty),
        "the tag itself still cannot be pulled"
    );
}

#[tokio::test]
async fn a_crashing_image_is_ready_now_and_then_and_its_restarts_climb() {
    let (server, client) = start().await;
    server.simulation().expect("simulated").crash_image("web:1.26.0");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let created: Deployment =
        serde_json::from_value(workload("Deployment", "web", "web:1.26.0", json!({}))).expect("valid");
    deployments
        .create(&PostParams::default(), &created)
        .await
        .expect("created");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let seen = std::sync::Arc::new(std::sync::Mutex::new((false, false)));
    let restarts = eventually("restarts to climb past 3, ready and crashing in turn", || {
        let pods = pods.clone();
        let seen = seen.clone();
        async move {
            let status = first_container_status(&pods, "web").await?;
            let crashing = status
                .state
                .and_then(|s| s.waiting)
                .is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff"));
            let mut seen = seen.lock().expect("not poisoned");
            seen.0 |= status.ready;
            seen.1 |= crashing;
            (status.restart_count > 3 && seen.0 && seen.1).then_some(status.restart_count)
        }
    })
    .await;
    assert!(restarts > 3);
}

/// Each pod of `app` as (name, its first container's image).
async fn pod_images(client: &Client, app: &str) -> Vec<(String, String)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut listed: Vec<(String, String)> = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("pods")
        .items
        .iter()
        .map(|p| {
            let image = p.spec.as_ref().and_then(|s| s.containers[0].image.clone());
            (p.name_any(), image.unwrap_or_default())
        })
        .collect();
    listed.sort();
    listed
}

#[tokio::test]
async fn a_statefulset_partition_keeps_the_lower_ordinals_and_on_delete_replaces_nothing() {
    let (_server, client) = start().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let partitioned = workload(
        "StatefulSet",
        "db",
        "nginx:1",
        json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
    );
    let on_delete = workload(
        "StatefulSet",
        "cache",
        "nginx:1",
        json!({"updateStrategy": {"type": "OnDelete"}}),
    );
    for set in [partitioned, on_delete] {
        sets.create(&PostParams::default(), &serde_json::from_value(set).expect("valid"))
            .await
            .expect("created");
    }
    eventually("every pod to run", || {
        let sets = sets.clone();
        async move {
            let db = sets.get("db").await.ok()?.status?;
            let cache = sets.get("cache").await.ok()?.status?;
            (db.ready_replicas == Some(3) && cache.ready_replicas == Some(2)).then_some(())
        }
    })
    .await;
    for name in ["db", "cache"] {
        sets.patch(name, &PatchParams::default(), &set_image())
            .await
            .expect("patched");
    }
    eventually("the partitioned rollout", || {
        let sets = sets.clone();
        async move {
            let status = sets.get("db").await.ok()?.status?;
            (status.updated_replicas == Some(1) && status.ready_replicas == Some(3)).then_some(())
        }
    })
    .await;
    // Given time, the partition and OnDelete still hold.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let nginx = |n: &str, i: &str| (n.to_owned(), i.to_owned());
    assert_eq!(
        pod_images(&client, "db").await,
        [
            nginx("db-0", "nginx:1"),
            nginx("db-1", "nginx:1"),
            nginx("db-2", "nginx:2")
        ]
    );
    assert_eq!(
        pod_images(&client, "cache").await,
        [nginx("cache-0", "nginx:1"), nginx("cache-1", "nginx:1")]
    );
    let cache = sets.get("cache").await.expect("cache").status.expect("a status");
    assert_eq!((cache.observed_generation, cache.updated_replicas), (Some(2), Some(0)));
}

#[tokio::test]
async fn held_writes_wait_until_released_and_then_proceed_or_fail_unapplied() {
    use refit_apiserver::Release;
    let server = ApiServer::start().await.expect("server starts");
    let client = server.client().await.expect("client");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    maps.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "settings"}, "data": {"mode": "a"}})).expect("valid"),
    )
    .await
    .expect("created");
    server.faults().hold_writes("configmaps", None);
    let write = |mode: &'static str| {
        let maps = maps.clone();
        tokio::spawn(async move {
            maps.patch(
                "settings",
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"mode": mode}})),
            )
            .await
        })
    };
    let first = write("b");
    eventually("the write to be held", || async {
        (server.faults().held_writes("configmaps", None) == 1).then_some(())
    })
    .await;
    // Reads are not held, and the write has not happened.
    let data = maps.get("settings").await.expect("read").data.expect("data");
    assert_eq!(data["mode"], "a");
    server.faults().release_writes("configmaps", None, Release::Fail);
    let error = first.await.expect("joined").expect_err("failed");
    assert!(matches!(&error, kube::Error::Api(s) if s.code == 500), "{error}");
    assert_eq!(
        maps.get("settings").await.expect("read").data.expect("data")["mode"],
        "a"
    );

    server.faults().hold_writes("configmaps", None);
    let second = write("c");
    eventually("the write to be held", || async {
        (server.faults().held_writes("configmaps", None) == 1).then_some(())
    })
    .await;
    server.faults().release_writes("configmaps", None, Release::Proceed);
    second.await.expect("joined").expect("written");
    assert_eq!(
        maps.get("settings").await.expect("read").data.expect("data")["mode"],
        "c"
    );
    // With no hold, writes go through at once.
    write("d").await.expect("joined").expect("written");
}
