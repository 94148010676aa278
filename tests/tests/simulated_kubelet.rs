//! The test API server's simulated kubelet against the real Distribution
//! registry (`Simulation::registries`, what `refit-apiserver serve
//! --registry` turns on): a pod runs the digest its tag points at when it
//! starts, a reference pinned by digest runs exactly that digest, and a tag
//! the registry does not have cannot be pulled.

#[allow(dead_code, reason = "shared with the registry tests; not every helper is used here")]
#[path = "registry/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::{ImageSpec, Pusher, TestRegistry};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::{Api, api::PostParams};
use refit_apiserver::{
    ApiServer, Simulation,
    fixtures::{deployment, first_container_status},
};

/// `imageID` and waiting reason of `app`'s pod, once it has a status.
async fn pod_of(pods: &Api<Pod>, app: &str) -> Option<(String, Option<String>)> {
    let status = first_container_status(pods, app).await?;
    let waiting = status.state.and_then(|s| s.waiting).and_then(|w| w.reason);
    Some((status.image_id, waiting))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_kubelet_pulls_tags_from_the_real_registry_and_pinned_digests_as_written() {
    let Some(registry) = TestRegistry::start() else { return };
    let host = registry.addr.clone();
    let pusher = Pusher::new(&host);
    let first = pusher.image("team/web", "1.25.3", &ImageSpec::new("web 1.25.3")).await;
    let other = pusher.image("team/web", "1.25.4", &ImageSpec::new("web 1.25.4")).await;
    let server = ApiServer::builder()
        .simulate(
            Simulation::new()
                .tick(Duration::from_millis(20))
                .registries(std::slice::from_ref(&host))
                .expect("the registry can be used"),
        )
        .start()
        .await
        .expect("the API server starts");
    let client = server.client().await.expect("client");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    for (app, image) in [
        ("tagged", format!("{host}/team/web:1.25.3")),
        ("pinned", format!("{host}/team/web:1.25.3@{other}")),
        ("missing", format!("{host}/team/web:9.9.9")),
    ] {
        deployments
            .create(&PostParams::default(), &deployment(app, &image))
            .await
            .expect("created");
    }
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen = (
            pod_of(&pods, "tagged").await,
            pod_of(&pods, "pinned").await,
            pod_of(&pods, "missing").await,
        );
        if seen.0.is_some() && seen.1.is_some() && seen.2.is_some() {
            break seen;
        }
        assert!(Instant::now() < deadline, "no pod status: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let repository = format!("{host}/team/web");
    assert_eq!(
        seen.0,
        Some((format!("{repository}@{first}"), None)),
        "the tag's digest"
    );
    assert_eq!(
        seen.1,
        Some((format!("{repository}@{other}"), None)),
        "the pinned digest, not the tag's"
    );
    assert_eq!(
        seen.2,
        Some((String::new(), Some("ImagePullBackOff".into()))),
        "a tag the registry does not have"
    );
}
