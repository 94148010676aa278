//! Writing the status of refit's own objects: server-side apply on the
//! `status` subresource with the field manager `refit`, the whole status in
//! every apply (so fields refit stops setting are removed), forced (refit
//! owns its objects' status).

use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

/// refit's field manager for everything it writes.
pub const FIELD_MANAGER: &str = "refit";

/// Applies `status` to the status subresource of the named object.
pub async fn apply_status<K, S>(api: &Api<K>, name: &str, status: &S) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {"name": name},
        "status": status,
    });
    api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&body))
        .await
}
