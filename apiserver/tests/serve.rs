//! `refit-apiserver serve` as a person starts it: the CRDs loaded, the
//! simulated controllers running, `--fail-image` making an image unpullable
//! from the command line, and options that cannot work refused with exit 2.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::{
    Api, Client, Config,
    api::PostParams,
    config::{KubeConfigOptions, Kubeconfig},
};
use refit_apiserver::fixtures::{deployment, first_container_status};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `serve` with `args`, its kubeconfig in a temporary file.
struct Served {
    child: Child,
    kubeconfig: PathBuf,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let kubeconfig = std::env::temp_dir().join(format!("refit-apiserver-serve-{}.yaml", std::process::id()));
        let _ = std::fs::remove_file(&kubeconfig);
        let child = Command::new(env!("CARGO_BIN_EXE_refit-apiserver"))
            .args(["serve", "--crds", "crds", "--tick-ms", "20", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(args)
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("refit-apiserver starts");
        Served { child, kubeconfig }
    }

    async fn client(&self) -> Client {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(kubeconfig) = Kubeconfig::read_from(&self.kubeconfig)
                && let Ok(config) = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await
                && let Ok(client) = Client::try_from(config)
                && client.apiserver_version().await.is_ok()
            {
                return client;
            }
            assert!(Instant::now() < deadline, "serve did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

/// The waiting reason (or `Running`) of `app`'s first pod, once it has one.
async fn pod_state(pods: &Api<Pod>, app: &str) -> Option<String> {
    let status = first_container_status(pods, app).await?;
    let state = status.state?;
    match (state.running, state.waiting) {
        (Some(_), _) => Some("Running".into()),
        (_, Some(waiting)) => waiting.reason,
        _ => None,
    }
}

#[tokio::test]
async fn fail_image_and_crash_image_on_the_command_line_break_those_images() {
    let served = Served::start(&["--fail-image", "nginx:1.25", "--crash-image", "nginx:1.27"]);
    let client = served.client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    for (name, image) in [
        ("broken", "nginx:1.25"),
        ("fine", "nginx:1.26"),
        ("crashing", "nginx:1.27"),
    ] {
        deployments
            .create(&PostParams::default(), &deployment(name, image))
            .await
            .expect("created");
    }
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let deadline = Instant::now() + Duration::from_secs(20);
    let states = loop {
        let states = (pod_state(&pods, "broken").await, pod_state(&pods, "fine").await);
        if states.0.is_some() && states.1.is_some() {
            break states;
        }
        assert!(Instant::now() < deadline, "no pod status: {states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(states, (Some("ImagePullBackOff".into()), Some("Running".into())));
    let deadline = Instant::now() + Duration::from_secs(20);
    while pod_state(&pods, "crashing").await.as_deref() != Some("CrashLoopBackOff") {
        assert!(Instant::now() < deadline, "the crashing image never crashed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn registry_and_fail_image_without_the_controllers_are_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_refit-apiserver"))
        .args(["serve", "--no-controllers", "--registry", "127.0.0.1:5000"])
        .current_dir(repo())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: --registry, --fail-image and --crash-image need the simulated controllers; drop --no-controllers"
    );
}
