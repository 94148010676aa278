//! The operator's way to the registries: one [`Resolver`] (caches,
//! single-flight, budgets) for every scan, with the credentials of the
//! config file and of the image pull secrets the governed workloads name.
//! When those credentials change, a new resolver replaces the old one; the
//! request counts carry over (they are shared), the caches start afresh.
//!
//! Pull secrets are read with one GET per Secret at interval and policy
//! scans, and at workload scans only when a workload names a Secret not
//! read before. Only the hosts they hold credentials for are ever logged.

use std::{collections::BTreeSet, sync::Arc};

use kube::Client;
use tokio::sync::Mutex;

use crate::{
    cluster::secrets::pull_credentials,
    registry::{RegistryError, Resolver, credentials::DockerConfig, settings::Settings, stats::RegistryStats},
};

/// A pull secret: (namespace, name).
pub type SecretRef = (String, String);

/// The resolver and how to rebuild it.
#[derive(Debug)]
pub struct RegistryAccess {
    settings: Settings,
    file_credentials: DockerConfig,
    read_pull_secrets: bool,
    stats: Arc<RegistryStats>,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    resolver: Resolver,
    credentials: DockerConfig,
    secrets: BTreeSet<SecretRef>,
}

impl RegistryAccess {
    /// Access with the config file's settings and credentials.
    pub fn new(
        settings: Settings,
        file_credentials: DockerConfig,
        read_pull_secrets: bool,
    ) -> Result<RegistryAccess, RegistryError> {
        let stats = Arc::new(RegistryStats::default());
        let resolver = Resolver::remote_with_stats(settings.clone(), file_credentials.clone(), stats.clone())?;
        Ok(RegistryAccess {
            settings,
            file_credentials: file_credentials.clone(),
            read_pull_secrets,
            stats,
            current: Mutex::new(Current {
                resolver,
                credentials: file_credentials,
                secrets: BTreeSet::new(),
            }),
        })
    }

    /// Request counts and health of every registry, for metrics.
    pub fn stats(&self) -> Arc<RegistryStats> {
        self.stats.clone()
    }

    /// The resolver for a scan of workloads that name `secrets`. With
    /// `refresh`, the Secrets are read again (an interval or policy scan);
    /// otherwise only when one of them was not read before.
    pub async fn resolver(&self, client: &Client, secrets: BTreeSet<SecretRef>, refresh: bool) -> Resolver {
        let mut current = self.current.lock().await;
        if !self.read_pull_secrets || (!refresh && secrets.is_subset(&current.secrets)) {
            return current.resolver.clone();
        }
        let (mut credentials, problems) = pull_credentials(client, &secrets).await;
        for problem in problems {
            tracing::warn!(%problem, "an image pull secret cannot be used");
        }
        // Pull secrets first (as the kubelet uses them), then the file.
        credentials.merge(self.file_credentials.clone());
        current.secrets = secrets;
        if credentials != current.credentials {
            match Resolver::remote_with_stats(self.settings.clone(), credentials.clone(), self.stats.clone()) {
                Ok(resolver) => {
                    let hosts: Vec<&str> = credentials.hosts().collect();
                    tracing::info!(?hosts, "registry credentials changed; registry caches start afresh");
                    current.resolver = resolver;
                    current.credentials = credentials;
                }
                Err(error) => tracing::warn!(%error, "cannot build a registry client with the new credentials"),
            }
        }
        current.resolver.clone()
    }
}
