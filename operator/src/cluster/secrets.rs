//! Registry credentials from the image pull secrets workloads name
//! (`kubernetes.io/dockerconfigjson`, or the older `kubernetes.io/dockercfg`).
//! Only the Secrets named by governed workloads are read, one GET each.
//!
//! A Secret's content never leaves this module except as a
//! [`DockerConfig`], whose `Debug` output is redacted; errors name the
//! Secret, never its content.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::registry::credentials::DockerConfig;

/// The credentials from the named Secrets (namespace, name), merged in
/// order (the first Secret naming a registry wins), and a problem for each
/// Secret that could not be used.
pub async fn pull_credentials(client: &Client, secrets: &BTreeSet<(String, String)>) -> (DockerConfig, Vec<String>) {
    let mut merged = DockerConfig::default();
    let mut problems = Vec::new();
    for (namespace, name) in secrets {
        let shown = format!("pull secret {namespace}/{name}");
        let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let secret = match api.get_opt(name).await {
            Ok(Some(secret)) => secret,
            Ok(None) => {
                problems.push(format!("{shown} does not exist"));
                continue;
            }
            Err(kube::Error::Api(status)) => {
                problems.push(format!("cannot read {shown}: {} ({})", status.reason, status.code));
                continue;
            }
            Err(_) => {
                problems.push(format!("cannot read {shown}: the API server did not answer"));
                continue;
            }
        };
        let data = secret.data.unwrap_or_default();
        let parsed = if let Some(json) = data.get(".dockerconfigjson") {
            DockerConfig::parse(&json.0, &shown)
        } else if let Some(legacy) = data.get(".dockercfg") {
            // The legacy format is the `auths` map itself.
            let wrapped = [b"{\"auths\":".as_slice(), &legacy.0, b"}"].concat();
            DockerConfig::parse(&wrapped, &shown)
        } else {
            problems.push(format!("{shown} has neither .dockerconfigjson nor .dockercfg"));
            continue;
        };
        match parsed {
            Ok(config) => merged.merge(config),
            Err(error) => problems.push(error.to_string()),
        }
    }
    (merged, problems)
}
