//! A real registry for tests: Debian's `docker-registry` (Distribution
//! 2.8.2) in the foreground on 127.0.0.1 with its own storage, plus image
//! building (configs, layers, manifests and indexes written by hand, so each
//! test controls annotations, labels and build times) and pushing through
//! oci-client.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
};
use serde_json::json;
use sha2::{Digest as _, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "refit-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).expect("scratch directory");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `docker-registry`.
pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _storage: Scratch,
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl TestRegistry {
    /// Starts a registry, or `None` when `docker-registry` is not installed
    /// and this is not CI (CI installs it; there a missing binary fails).
    pub fn start() -> Option<TestRegistry> {
        let storage = Scratch::new("registry");
        let port = free_port();
        let config = storage.0.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.0.join("data").display()
            ),
        )
        .expect("registry config");
        let log = std::fs::File::create(storage.0.join("registry.log")).expect("log file");
        let started = Command::new("docker-registry")
            .args(["serve", config.to_str().expect("utf-8 path")])
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn();
        let child =
            refit_apiserver::skip::when_not_installed(started, "docker-registry", "apt-get install docker-registry")?;
        let registry = TestRegistry {
            child,
            addr: format!("127.0.0.1:{port}"),
            _storage: storage,
        };
        registry.wait_until_ready();
        Some(registry)
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if http_status(&self.addr, "/v2/") == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry on {} did not answer within 20s", self.addr);
    }
}

/// The status of a plain `GET path` on `addr`, if anything answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// What one image (one platform) is made of.
#[derive(Clone, Default)]
pub struct ImageSpec {
    /// Config `created` (RFC 3339).
    pub created: Option<String>,
    /// Config labels.
    pub labels: BTreeMap<String, String>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Makes the layer (and so the digest) unique.
    pub content: String,
    /// `os/architecture`.
    pub platform: Option<(String, String)>,
}

impl ImageSpec {
    pub fn new(content: &str) -> ImageSpec {
        ImageSpec {
            content: content.to_owned(),
            ..ImageSpec::default()
        }
    }

    pub fn created(mut self, created: &str) -> ImageSpec {
        self.created = Some(created.to_owned());
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> ImageSpec {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> ImageSpec {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn platform(mut self, os: &str, architecture: &str) -> ImageSpec {
        self.platform = Some((os.to_owned(), architecture.to_owned()));
        self
    }
}

/// The blobs and manifest of a built image.
pub struct BuiltImage {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
}

impl BuiltImage {
    pub fn digest(&self) -> String {
        sha256(&self.manifest)
    }

    pub fn config_digest(&self) -> String {
        sha256(&self.config)
    }
}

pub fn build(spec: &ImageSpec) -> BuiltImage {
    let (os, architecture) = spec
        .platform
        .clone()
        .unwrap_or_else(|| ("linux".into(), "amd64".into()));
    let layer = format!("refit test layer: {}", spec.content).into_bytes();
    let mut config = json!({
        "architecture": architecture,
        "os": os,
        "config": {"Labels": spec.labels},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
    });
    if let Some(created) = &spec.created {
        config["created"] = json!(created);
    }
    let config = serde_json::to_vec(&config).expect("config JSON");
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(&layer), "size": layer.len()}],
    });
    if !spec.annotations.is_empty() {
        manifest["annotations"] = json!(spec.annotations);
    }
    let manifest = serde_json::to_vec(&manifest).expect("manifest JSON");
    BuiltImage {
        config,
        layer,
        manifest,
    }
}

/// An index over built images, with index annotations.
pub fn build_index(images: &[(&BuiltImage, &ImageSpec)], annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|(image, spec)| {
            let (os, architecture) = spec
                .platform
                .clone()
                .unwrap_or_else(|| ("linux".into(), "amd64".into()));
            json!({
                "mediaType": OCI_MANIFEST,
                "digest": image.digest(),
                "size": image.manifest.len(),
                "platform": {"os": os, "architecture": architecture},
            })
        })
        .collect();
    let mut index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    if !annotations.is_empty() {
        index["annotations"] = json!(annotations);
    }
    serde_json::to_vec(&index).expect("index JSON")
}

/// Pushes images with oci-client (a client independent of refit's).
pub struct Pusher {
    client: Client,
    addr: String,
}

impl Pusher {
    pub fn new(addr: &str) -> Pusher {
        refit::tls::install_crypto_provider();
        let config = ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        };
        Pusher {
            client: Client::new(config),
            addr: addr.to_owned(),
        }
    }

    fn reference(&self, repository: &str, tag: &str) -> Reference {
        format!("{}/{repository}:{tag}", self.addr)
            .parse()
            .expect("valid reference")
    }

    /// Pushes an image's blobs and its manifest under `tag`; returns the
    /// manifest digest.
    pub async fn push(&self, repository: &str, tag: &str, image: &BuiltImage) -> String {
        let reference = self.reference(repository, tag);
        for blob in [&image.config, &image.layer] {
            self.client
                .push_blob(&reference, blob.clone(), &sha256(blob))
                .await
                .unwrap_or_else(|e| panic!("push blob to {repository}: {e}"));
        }
        self.push_manifest(repository, tag, &image.manifest, OCI_MANIFEST).await
    }

    pub async fn push_manifest(&self, repository: &str, tag: &str, body: &[u8], media_type: &str) -> String {
        let reference = self.reference(repository, tag);
        self.client
            .push_manifest_raw(&reference, body.to_vec(), media_type.parse().expect("header value"))
            .await
            .unwrap_or_else(|e| panic!("push manifest {repository}:{tag}: {e}"));
        sha256(body)
    }

    /// Builds and pushes one image.
    pub async fn image(&self, repository: &str, tag: &str, spec: &ImageSpec) -> String {
        self.push(repository, tag, &build(spec)).await
    }

    /// Pushes platform images and an index over them under `tag`; returns
    /// (index digest, platform digests).
    pub async fn index(
        &self,
        repository: &str,
        tag: &str,
        platforms: &[ImageSpec],
        annotations: &BTreeMap<String, String>,
    ) -> (String, Vec<String>) {
        let built: Vec<BuiltImage> = platforms.iter().map(build).collect();
        let mut digests = Vec::new();
        for (image, spec) in built.iter().zip(platforms) {
            let (os, architecture) = spec.platform.clone().unwrap_or_default();
            digests.push(
                self.push(repository, &format!("{tag}-{os}-{architecture}"), image)
                    .await,
            );
        }
        let pairs: Vec<(&BuiltImage, &ImageSpec)> = built.iter().zip(platforms).collect();
        let index = build_index(&pairs, annotations);
        let digest = self.push_manifest(repository, tag, &index, OCI_INDEX).await;
        (digest, digests)
    }
}

/// Writes an OCI image layout (what `skopeo copy … oci:DIR:tag` writes) for
/// built images, tags named by `org.opencontainers.image.ref.name`.
pub fn write_layout(dir: &Path, images: &[(&str, &BuiltImage)]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout directories");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    let mut manifests = Vec::new();
    for (tag, image) in images {
        for blob in [&image.config, &image.layer, &image.manifest] {
            let digest = sha256(blob);
            let hex = digest.trim_start_matches("sha256:");
            std::fs::write(dir.join("blobs/sha256").join(hex), blob).expect("blob");
        }
        manifests.push(json!({
            "mediaType": OCI_MANIFEST,
            "digest": image.digest(),
            "size": image.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
    }
    let index = json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("index JSON")).expect("index.json");
}
