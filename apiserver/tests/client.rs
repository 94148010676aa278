//! The server as the real kube client and kube-runtime see it: every verb,
//! the errors real servers answer with, watches, and the runtime's watcher,
//! reflector and Controller.

use std::{sync::Arc, time::Duration};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Event as CoreEvent, Namespace, Pod},
    events::v1::Event,
};
use kube::{
    Api, Client, Discovery, ResourceExt,
    api::{
        ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
        WatchEvent, WatchParams,
    },
    core::response::Status,
    runtime::{Controller, WatchStreamExt, controller::Action, reflector, watcher},
};
use refit_apiserver::ApiServer;
use serde_json::{Value, json};

async fn start() -> (ApiServer, Client) {
    let server = ApiServer::with_refit_crds().await.expect("server starts");
    let client = server.client().await.expect("client");
    (server, client)
}

fn api_error(error: kube::Error) -> Box<Status> {
    match error {
        kube::Error::Api(status) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn config_map(name: &str, labels: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})).expect("valid")
}

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    {"name": "web", "image": image, "env": [{"name": "A", "value": "1"}]},
                    {"name": "sidecar", "image": "envoy:1"}
                ]}
            }
        }
    }))
    .expect("valid")
}

fn tickets(client: &Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("refit.dev", "v1alpha1", "ChangeTicket"),
        "changetickets",
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}

fn example_ticket() -> DynamicObject {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/changeticket-storefront-web.yaml"
    ))
    .expect("example exists");
    let mut value: Value = serde_saphyr::from_str(&text).expect("valid YAML");
    value["metadata"]["namespace"] = json!("default");
    serde_json::from_value(value).expect("a ChangeTicket")
}

/// Polls `check` every 20 ms for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn discovery_lists_the_builtin_kinds_and_the_refit_crds() {
    let (_server, client) = start().await;
    let discovery = Discovery::new(client).run().await.expect("discovery");
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (resource, _) in group.recommended_resources() {
            found.push(format!("{}/{}", resource.group, resource.plural));
        }
    }
    for wanted in [
        "/pods",
        "/namespaces",
        "/nodes",
        "/events",
        "/configmaps",
        "/secrets",
        "apps/deployments",
        "apps/replicasets",
        "apps/statefulsets",
        "apps/daemonsets",
        "batch/jobs",
        "batch/cronjobs",
        "coordination.k8s.io/leases",
        "events.k8s.io/events",
        "refit.dev/changetickets",
        "refit.dev/changewindows",
        "refit.dev/driftreports",
        "refit.dev/patchpolicies",
    ] {
        assert!(found.contains(&wanted.to_string()), "{wanted} missing from {found:?}");
    }
}

#[tokio::test]
async fn create_sets_uid_timestamps_generation_and_generated_names() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let generated: ConfigMap = serde_json::from_value(json!({"metadata": {"generateName": "cfg-"}})).expect("valid");
    let created = maps.create(&PostParams::default(), &generated).await.expect("created");
    let name = created.name_any();
    assert!(name.starts_with("cfg-") && name.len() == 9, "{name}");
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert!(created.metadata.resource_version.is_some());
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    let created = deployments
        .create(&PostParams::default(), &deployment("web", "nginx:1"))
        .await
        .expect("created");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.status.is_none(), "status cannot be set on create");
}

#[tokio::test]
async fn missing_objects_duplicates_and_unknown_namespaces_get_the_real_status_errors() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let missing = api_error(maps.get("nope").await.expect_err("missing"));
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "configmaps \"nope\" not found");
    maps.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("created");
    let duplicate = api_error(
        maps.create(&PostParams::default(), &config_map("a", json!({})))
            .await
            .expect_err("dup"),
    );
    assert_eq!((duplicate.code, duplicate.reason.as_str()), (409, "AlreadyExists"));
    let elsewhere: Api<ConfigMap> = Api::namespaced(client, "no-such-namespace");
    let error = api_error(
        elsewhere
            .create(&PostParams::default(), &config_map("a", json!({})))
            .await
            .expect_err("no ns"),
    );
    assert_eq!(error.message, "namespaces \"no-such-namespace\" not found");
}

#[tokio::test]
async fn an_update_with_a_stale_resource_version_is_a_conflict() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = maps
        .create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("created");
    let mut first = created.clone();
    first.data = Some([("k".to_string(), "first".to_string())].into());
    maps.replace("a", &PostParams::default(), &first)
        .await
        .expect("first update wins");
    let mut second = created;
    second.data = Some([("k".to_string(), "second".to_string())].into());
    let conflict = api_error(
        maps.replace("a", &PostParams::default(), &second)
            .await
            .expect_err("stale"),
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("the object has been modified"),
        "{}",
        conflict.message
    );
}

#[tokio::test]
async fn patches_merge_strategically_by_container_name_and_generation_counts_spec_changes_only() {
    let (_server, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    deployments
        .create(&PostParams::default(), &deployment("web", "nginx:1"))
        .await
        .expect("created");
    let strategic = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]}]}}}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&strategic))
        .await
        .expect("strategic patch");
    let containers = patched
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    assert_eq!(containers.len(), 2, "the sidecar is kept");
    assert_eq!(containers[0].image.as_deref(), Some("nginx:2"));
    assert_eq!(containers[0].env.as_ref().map(Vec::len), Some(2), "env merged by name");
    assert_eq!(patched.metadata.generation, Some(2));

    let labelled = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(
        labelled.metadata.generation,
        Some(2),
        "metadata changes do not bump generation"
    );

    let json_patch: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 5}])).expect("patch");
    let scaled = deployments
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(json_patch))
        .await
        .expect("json patch");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(5));
    assert_eq!(scaled.metadata.generation, Some(3));
}

#[tokio::test]
async fn server_side_apply_records_the_manager_and_refuses_another_managers_field_unless_forced() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let config =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"owner": "refit"}});
    let applied = maps
        .patch("applied", &PatchParams::apply("refit"), &Patch::Apply(&config))
        .await
        .expect("apply creates");
    let managers: Vec<String> = applied
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, vec!["refit".to_string()]);
    assert_eq!(applied.managed_fields()[0].operation.as_deref(), Some("Apply"));

    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"owner": "someone-else"}});
    let conflict = api_error(
        maps.patch("applied", &PatchParams::apply("someone-else"), &Patch::Apply(&other))
            .await
            .expect_err("conflict"),
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("conflict with \"refit\""),
        "{}",
        conflict.message
    );
    assert!(conflict.message.contains(".data.owner"), "{}", conflict.message);

    let forced = maps
        .patch(
            "applied",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("forced apply");
    assert_eq!(
        forced.data.and_then(|d| d.get("owner").cloned()).as_deref(),
        Some("someone-else")
    );
    let unchanged = maps
        .patch(
            "applied",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("same apply again");
    assert_eq!(
        unchanged.metadata.resource_version, forced.metadata.resource_version,
        "a no-op apply writes nothing"
    );
}

#[tokio::test]
async fn status_is_written_only_through_the_status_subresource() {
    let (_server, client) = start().await;
    let api = tickets(&client, "default");
    let created = api
        .create(&PostParams::default(), &example_ticket())
        .await
        .expect("the example is admitted");
    assert!(created.data.get("status").is_none(), "create drops status");
    let patched = api
        .patch_status(
            "deployment-web-8x2kq",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Scheduled"}})),
        )
        .await
        .expect("status patch");
    assert_eq!(patched.data["status"]["phase"], "Scheduled");
    assert_eq!(patched.metadata.generation, Some(1), "status does not bump generation");
    let ignored = api
        .patch(
            "deployment-web-8x2kq",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Failed"}})),
        )
        .await
        .expect("main patch");
    assert_eq!(
        ignored.data["status"]["phase"], "Scheduled",
        "the main endpoint ignores status"
    );
}

#[tokio::test]
async fn admission_applies_schema_defaults_and_rejects_schema_and_cel_violations_with_422() {
    let (_server, client) = start().await;
    let windows: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("refit.dev", "v1alpha1", "ChangeWindow"),
            "changewindows",
        ),
    );
    let mut window: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "refit.dev/v1alpha1", "kind": "ChangeWindow", "metadata": {"name": "nights"},
        "spec": {"windows": [{"schedule": "0 22 * * *", "duration": "2h"}]},
    }))
    .expect("a ChangeWindow");
    window.metadata.name = Some("nights".into());
    let created = windows.create(&PostParams::default(), &window).await.expect("admitted");
    assert_eq!(
        (
            &created.data["spec"]["timezone"],
            &created.data["spec"]["maxConcurrentChanges"]
        ),
        (&json!("UTC"), &json!(1)),
        "schema defaults applied"
    );
    let api = tickets(&client, "default");

    let mut bad_enum = example_ticket();
    bad_enum.metadata.name = Some("bad-enum".into());
    bad_enum.data["spec"]["type"] = json!("Teleport");
    let error = api_error(
        api.create(&PostParams::default(), &bad_enum)
            .await
            .expect_err("invalid"),
    );
    assert_eq!((error.code, error.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        error.message,
        "ChangeTicket.refit.dev \"bad-enum\" is invalid: spec.type: Unsupported value: \"Teleport\": supported values: \"Rollout\", \"Rebuild\", \"Restart\""
    );
    let causes = error.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(causes[0].field, "spec.type");

    let mut both = example_ticket();
    both.metadata.name = Some("both".into());
    both.data["spec"]["approval"] = json!({"approved": true, "rejected": true, "by": "jana"});
    let error = api_error(api.create(&PostParams::default(), &both).await.expect_err("CEL rule"));
    assert_eq!(error.code, 422);
    assert!(
        error
            .message
            .contains("an approval cannot be both approved and rejected"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn finalizers_hold_a_deletion_until_the_last_one_is_removed() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut held = config_map("held", json!({}));
    held.metadata.finalizers = Some(vec!["refit.dev/cleanup".into()]);
    maps.create(&PostParams::default(), &held).await.expect("created");
    maps.delete("held", &DeleteParams::default())
        .await
        .expect("delete accepted");
    let terminating = maps.get("held").await.expect("still there");
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let error = api_error(
        maps.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["refit.dev/cleanup", "x/y"]}})),
        )
        .await
        .expect_err("no new finalizers while deleting"),
    );
    assert_eq!(error.code, 422);
    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("finalizer removed");
    assert_eq!(api_error(maps.get("held").await.expect_err("gone")).code, 404);
}

#[tokio::test]
async fn deleting_an_owner_cascades_in_background_and_orphans_on_request() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    for owner in ["owner-a", "owner-b"] {
        let created = maps
            .create(&PostParams::default(), &config_map(owner, json!({})))
            .await
            .expect("owner");
        let mut dependent = config_map(&format!("{owner}-dependent"), json!({}));
        dependent.metadata.owner_references =
            Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: owner.into(),
                uid: created.uid().expect("uid"),
                ..Default::default()
            }]);
        maps.create(&PostParams::default(), &dependent)
            .await
            .expect("dependent");
    }
    maps.delete("owner-a", &DeleteParams::background())
        .await
        .expect("deleted");
    assert_eq!(
        api_error(maps.get("owner-a-dependent").await.expect_err("cascaded")).code,
        404
    );
    maps.delete("owner-b", &DeleteParams::orphan()).await.expect("deleted");
    let orphan = maps.get("owner-b-dependent").await.expect("kept");
    assert!(orphan.metadata.owner_references.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn deleting_a_namespace_removes_everything_in_it() {
    let (server, client) = start().await;
    server.create_namespace("doomed").expect("namespace");
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    maps.create(&PostParams::default(), &config_map("a", json!({})))
        .await
        .expect("created");
    let namespaces: Api<Namespace> = Api::all(client);
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("deleted");
    assert_eq!(api_error(maps.get("a").await.expect_err("gone")).code, 404);
    assert_eq!(api_error(namespaces.get("doomed").await.expect_err("gone")).code, 404);
}

#[tokio::test]
async fn lists_paginate_with_limit_and_continue_and_filter_by_selectors() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    for (name, tier) in [
        ("a", "front"),
        ("b", "back"),
        ("c", "front"),
        ("d", "front"),
        ("e", "back"),
    ] {
        maps.create(&PostParams::default(), &config_map(name, json!({"tier": tier})))
            .await
            .expect("created");
    }
    let first = maps.list(&ListParams::default().limit(2)).await.expect("page 1");
    assert_eq!(
        first.items.iter().map(ResourceExt::name_any).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let token = first.metadata.continue_.clone().expect("more pages");
    let second = maps
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(
        second.items.iter().map(ResourceExt::name_any).collect::<Vec<_>>(),
        ["c", "d"]
    );
    assert_eq!(
        second.metadata.resource_version, first.metadata.resource_version,
        "pages share the list's resourceVersion"
    );
    let front = maps
        .list(&ListParams::default().labels("tier=front,!canary"))
        .await
        .expect("labels");
    assert_eq!(front.items.len(), 3);
    let in_set = maps
        .list(&ListParams::default().labels("tier in (back)"))
        .await
        .expect("set");
    assert_eq!(in_set.items.len(), 2);
    let named = maps
        .list(&ListParams::default().fields("metadata.name=c"))
        .await
        .expect("fields");
    assert_eq!(named.items.iter().map(ResourceExt::name_any).collect::<Vec<_>>(), ["c"]);
    let refused = api_error(
        maps.list(&ListParams::default().fields("data.k=v"))
            .await
            .expect_err("unsupported field"),
    );
    assert_eq!(refused.code, 400);
}

#[tokio::test]
async fn a_watch_resumes_from_a_resource_version_with_added_modified_and_deleted() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let before = maps
        .create(&PostParams::default(), &config_map("before", json!({})))
        .await
        .expect("created");
    let start = before.resource_version().expect("rv");
    maps.create(&PostParams::default(), &config_map("w", json!({})))
        .await
        .expect("created");
    maps.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "changed"}})),
    )
    .await
    .expect("patched");
    maps.delete("w", &DeleteParams::default()).await.expect("deleted");
    let events: Vec<String> = maps
        .watch(&WatchParams::default().timeout(1), &start)
        .await
        .expect("watch")
        .take(3)
        .map(|event| match event.expect("event") {
            WatchEvent::Added(o) => format!("ADDED {}", o.name_any()),
            WatchEvent::Modified(o) => format!("MODIFIED {}", o.name_any()),
            WatchEvent::Deleted(o) => format!("DELETED {}", o.name_any()),
            WatchEvent::Bookmark(_) => "BOOKMARK".into(),
            WatchEvent::Error(e) => format!("ERROR {}", e.code),
        })
        .collect()
        .await;
    assert_eq!(events, ["ADDED w", "MODIFIED w", "DELETED w"]);
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_410_expired() {
    let (server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let old = maps
        .create(&PostParams::default(), &config_map("old", json!({})))
        .await
        .expect("created");
    maps.create(&PostParams::default(), &config_map("new", json!({})))
        .await
        .expect("created");
    server.compact();
    let mut stream = maps
        .watch(&WatchParams::default().timeout(5), &old.resource_version().expect("rv"))
        .await
        .expect("watch")
        .boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(status))) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
}

#[tokio::test]
async fn watches_get_bookmarks_when_they_allow_them_and_end_at_their_timeout() {
    let server = ApiServer::builder()
        .bookmark_interval(Duration::from_millis(50))
        .start()
        .await
        .expect("server");
    let maps: Api<ConfigMap> = Api::namespaced(server.client().await.expect("client"), "default");
    let current = server.resource_version().to_string();
    let started = std::time::Instant::now();
    let events: Vec<_> = maps
        .watch(&WatchParams::default().timeout(1), &current)
        .await
        .expect("watch")
        .try_collect()
        .await
        .expect("events");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "timeoutSeconds ends the watch"
    );
    assert!(events.iter().filter(|e| matches!(e, WatchEvent::Bookmark(_))).count() >= 5);
    let no_bookmarks = WatchParams {
        bookmarks: false,
        ..WatchParams::default().timeout(1)
    };
    let events: Vec<_> = maps
        .watch(&no_bookmarks, &current)
        .await
        .expect("watch")
        .try_collect()
        .await
        .expect("events");
    assert!(events.is_empty(), "{events:?}");
}

#[tokio::test]
async fn a_reflector_fed_by_the_runtime_watcher_follows_every_change() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    maps.create(&PostParams::default(), &config_map("first", json!({"app": "x"})))
        .await
        .expect("created");
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector(
        writer,
        watcher(maps.clone(), watcher::Config::default().labels("app=x")),
    )
    .applied_objects()
    .for_each(|_| async {});
    let task = tokio::spawn(stream);
    reader.wait_until_ready().await.expect("initial list");
    maps.create(&PostParams::default(), &config_map("second", json!({"app": "x"})))
        .await
        .expect("created");
    maps.create(&PostParams::default(), &config_map("other", json!({"app": "y"})))
        .await
        .expect("created");
    maps.delete("first", &DeleteParams::default()).await.expect("deleted");
    eventually("the reflector to hold exactly `second`", || {
        let names: Vec<String> = reader.state().iter().map(|o| o.name_any()).collect();
        async move { names == ["second"] }
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn a_runtime_controller_reconciles_each_object_and_its_patches_are_seen() {
    let (_server, client) = start().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    for name in ["one", "two"] {
        maps.create(&PostParams::default(), &config_map(name, json!({"reconcile": "me"})))
            .await
            .expect("created");
    }
    let context = Arc::new(maps.clone());
    let controller = Controller::new(maps.clone(), watcher::Config::default().labels("reconcile=me"))
        .run(
            |object: Arc<ConfigMap>, api: Arc<Api<ConfigMap>>| async move {
                let patch = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": object.name_any(), "annotations": {"reconciled": "yes"}}});
                api.patch(&object.name_any(), &PatchParams::apply("test-controller"), &Patch::Apply(&patch)).await?;
                Ok::<_, kube::Error>(Action::await_change())
            },
            |_, _, _| Action::requeue(Duration::from_millis(50)),
            context,
        )
        .for_each(|_| async {});
    let task = tokio::spawn(controller);
    for name in ["one", "two"] {
        eventually(&format!("{name} to be reconciled"), || {
            let maps = maps.clone();
            async move {
                maps.get(name)
                    .await
                    .is_ok_and(|o| o.annotations().get("reconciled").map(String::as_str) == Some("yes"))
            }
        })
        .await;
    }
    task.abort();
}

#[tokio::test]
async fn events_recorded_through_events_k8s_io_are_listed_as_core_events() {
    let (_server, client) = start().await;
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "web.1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "refit.dev/operator", "reportingInstance": "refit-0",
        "action": "Rollout", "reason": "Started", "type": "Normal", "note": "rolling out nginx 1.25.4",
        "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "default"}
    }))
    .expect("valid");
    events.create(&PostParams::default(), &event).await.expect("recorded");
    let core: Api<CoreEvent> = Api::namespaced(client, "default");
    let listed = core
        .list(&ListParams::default().fields("involvedObject.name=web"))
        .await
        .expect("listed");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].message.as_deref(), Some("rolling out nginx 1.25.4"));
}

#[tokio::test]
async fn pods_created_without_the_simulation_keep_the_status_they_are_given() {
    // Without simulated controllers nothing writes pod status: a test that
    // wants running pods either enables the simulation or writes status.
    let (_server, client) = start().await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod: Pod = serde_json::from_value(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .expect("valid");
    pods.create(&PostParams::default(), &pod).await.expect("created");
    let status = json!({"status": {"phase": "Running"}});
    let patched = pods
        .patch_status("p", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("status");
    assert_eq!(patched.status.and_then(|s| s.phase).as_deref(), Some("Running"));
}

#[tokio::test]
async fn without_an_e2e_kubeconfig_the_cluster_is_a_fresh_local_server_with_the_refit_crds() {
    if std::env::var_os(refit_apiserver::E2E_KUBECONFIG).is_some() {
        eprintln!("SKIPPED: REFIT_E2E_KUBECONFIG is set; this checks the local fallback");
        return;
    }
    let cluster = refit_apiserver::Cluster::from_env(None).await.expect("local server");
    assert!(!cluster.is_real());
    assert!(cluster.kubeconfig_path().exists());
    let client = cluster.client().await.expect("client");
    let api = tickets(&client, "default");
    assert!(
        api.list(&ListParams::default())
            .await
            .expect("CRDs served")
            .items
            .is_empty()
    );
}
