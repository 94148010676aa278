//! Whether refit's CRDs are installed: `refit run` asks once at start and
//! exits with the command that installs them when they are not, instead of
//! retrying watches that can never succeed.

use kube::{Api, Client, CustomResourceExt, api::ListParams};
use serde::de::DeserializeOwned;

use crate::api::{ChangeTicket, ChangeWindow, DriftReport, PatchPolicy};

/// The command that installs the CRDs, for messages.
pub const INSTALL_COMMAND: &str = "refit crd | kubectl apply --server-side -f -";

/// Why refit cannot start against this cluster.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// Some CRDs are not served.
    #[error(
        "refit's CustomResourceDefinitions are not installed in this cluster ({} missing); install them with `{INSTALL_COMMAND}` (or the Helm chart), then start refit again",
        missing.join(", ")
    )]
    Missing {
        /// The missing CRDs by name (`patchpolicies.refit.dev`).
        missing: Vec<String>,
    },
    /// The API server could not be asked.
    #[error("cannot ask the Kubernetes API server whether refit's CRDs are installed: {0}")]
    Api(#[source] kube::Error),
}

/// Checks that every refit CRD is served (a list of at most one object of
/// each kind succeeds).
pub async fn check_crds(client: &Client) -> Result<(), InstallError> {
    let mut missing = Vec::new();
    for (name, found) in [
        (PatchPolicy::crd_name(), served::<PatchPolicy>(client).await?),
        (ChangeWindow::crd_name(), served::<ChangeWindow>(client).await?),
        (DriftReport::crd_name(), served::<DriftReport>(client).await?),
        (ChangeTicket::crd_name(), served::<ChangeTicket>(client).await?),
    ] {
        if !found {
            missing.push(name.to_owned());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(InstallError::Missing { missing })
    }
}

async fn served<K>(client: &Client) -> Result<bool, InstallError>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    match Api::<K>::all(client.clone())
        .list(&ListParams::default().limit(1))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(InstallError::Api(error)),
    }
}
