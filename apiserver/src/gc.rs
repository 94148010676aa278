//! Deletion and garbage collection: finalizers (an object with finalizers
//! gets a `deletionTimestamp` and stays until the last one is removed),
//! ownerReference cascade (background, foreground with the
//! `foregroundDeletion` finalizer, and orphan), and namespace termination
//! (a deleted namespace is `Terminating` until everything in it is gone).
//!
//! Unlike kube-apiserver's garbage collector, which runs asynchronously,
//! [`sweep`] runs inside the write that made it necessary, so dependents are
//! gone (or marked for deletion) by the time the owner's deletion answers.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::store::Store;

/// `propagationPolicy` of a deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Delete the owner now, dependents right after.
    Background,
    /// Delete dependents first; the owner waits with `foregroundDeletion`.
    Foreground,
    /// Keep dependents, removing their ownerReferences to the owner.
    Orphan,
}

impl Propagation {
    /// From the `propagationPolicy` value (default Background).
    pub fn parse(value: Option<&str>) -> Propagation {
        match value {
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            _ => Propagation::Background,
        }
    }
}

const FOREGROUND: &str = "foregroundDeletion";
const NAMESPACES: &str = "/namespaces";

/// Now, as Kubernetes writes timestamps.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn uid(object: &Value) -> &str {
    object["metadata"]["uid"].as_str().unwrap_or_default()
}

fn owner_uids(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r["uid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn deleting(object: &Value) -> bool {
    object["metadata"]["deletionTimestamp"].is_string()
}

/// Every object, with its storage.
fn snapshot(store: &Store) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for storage in store.storages() {
        for object in store.list(&storage, None) {
            all.push((storage.clone(), object.clone()));
        }
    }
    all
}

/// Deletes a stored object; returns it as stored afterwards (with a
/// `deletionTimestamp` while finalizers remain, or as removed).
pub fn delete(store: &mut Store, storage: &str, namespace: &str, name: &str, policy: Propagation) -> Option<Value> {
    let object = store.get(storage, namespace, name)?.clone();
    if deleting(&object) {
        return Some(object);
    }
    let owner = uid(&object).to_string();
    if policy == Propagation::Orphan {
        for (dependent_storage, mut dependent) in snapshot(store) {
            if owner_uids(&dependent).contains(&owner) {
                if let Some(refs) = dependent["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"].as_str() != Some(owner.as_str()));
                }
                store.put(&dependent_storage, dependent);
            }
        }
    }
    let mut remaining = finalizers(&object);
    let has_dependents = snapshot(store).iter().any(|(_, o)| owner_uids(o).contains(&owner));
    if policy == Propagation::Foreground && has_dependents && !remaining.iter().any(|f| f == FOREGROUND) {
        remaining.push(FOREGROUND.into());
    }
    let result = if storage == NAMESPACES || !remaining.is_empty() {
        let mut marked = object;
        marked["metadata"]["deletionTimestamp"] = json!(now());
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if !remaining.is_empty() {
            marked["metadata"]["finalizers"] = json!(remaining);
        }
        if let Some(generation) = marked["metadata"]["generation"].as_i64() {
            marked["metadata"]["generation"] = json!(generation + 1);
        }
        if storage == NAMESPACES {
            marked["status"]["phase"] = json!("Terminating");
        }
        Some(store.put(storage, marked))
    } else {
        store.remove(storage, namespace, name)
    };
    sweep(store);
    result
}

/// Runs garbage collection until nothing more changes: dependents whose
/// owners are all gone are deleted, foreground deletions finish when their
/// dependents are gone, and terminating namespaces are emptied and removed.
pub fn sweep(store: &mut Store) {
    // Each round deletes at least one object or stops; the bound guards
    // against a bug turning into a hang.
    for _ in 0..10_000 {
        if !sweep_once(store) {
            return;
        }
    }
}

fn sweep_once(store: &mut Store) -> bool {
    let all = snapshot(store);
    let live: HashSet<&str> = all.iter().map(|(_, o)| uid(o)).collect();
    let foreground: HashSet<&str> = all
        .iter()
        .filter(|(_, o)| deleting(o) && finalizers(o).iter().any(|f| f == FOREGROUND))
        .map(|(_, o)| uid(o))
        .collect();
    let terminating: HashSet<&str> = all
        .iter()
        .filter(|(s, o)| s == NAMESPACES && deleting(o))
        .filter_map(|(_, o)| o["metadata"]["name"].as_str())
        .collect();

    for (storage, object) in &all {
        if deleting(object) {
            continue;
        }
        let owners = owner_uids(object);
        let orphaned = !owners.is_empty() && owners.iter().all(|o| !live.contains(o.as_str()));
        let owner_in_foreground = owners.iter().any(|o| foreground.contains(o.as_str()));
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let in_terminating_namespace = storage != NAMESPACES && terminating.contains(namespace);
        if orphaned || owner_in_foreground || in_terminating_namespace {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            delete(store, storage, namespace, name, Propagation::Background);
            return true;
        }
    }

    for (storage, object) in &all {
        if !deleting(object) {
            continue;
        }
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let mut remaining = finalizers(object);
        if remaining.iter().any(|f| f == FOREGROUND)
            && !all.iter().any(|(_, o)| owner_uids(o).iter().any(|u| u == uid(object)))
        {
            remaining.retain(|f| f != FOREGROUND);
            if remaining.is_empty() {
                store.remove(storage, namespace, name);
            } else {
                let mut updated = object.clone();
                updated["metadata"]["finalizers"] = json!(remaining);
                store.put(storage, updated);
            }
            return true;
        }
        if storage == NAMESPACES && remaining.is_empty() {
            let empty = !all
                .iter()
                .any(|(s, o)| s != NAMESPACES && o["metadata"]["namespace"].as_str() == Some(name));
            if empty {
                store.remove(storage, "", name);
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, uid: &str, owners: &[&str]) -> Value {
        let refs: Vec<Value> = owners
            .iter()
            .map(|o| json!({"uid": o, "kind": "X", "name": o, "apiVersion": "v1"}))
            .collect();
        json!({"metadata": {"name": name, "namespace": "ns", "uid": uid, "ownerReferences": refs}})
    }

    #[test]
    fn background_deletion_removes_dependents_transitively() {
        let mut store = Store::new(100);
        store.put("apps/deployments", object("d", "u1", &[]));
        store.put("apps/replicasets", object("r", "u2", &["u1"]));
        store.put("/pods", object("p", "u3", &["u2"]));
        delete(&mut store, "apps/deployments", "ns", "d", Propagation::Background);
        assert_eq!(store.list("/pods", None).count(), 0);
        assert_eq!(store.list("apps/replicasets", None).count(), 0);
    }

    #[test]
    fn orphan_deletion_keeps_dependents_without_the_owner_reference() {
        let mut store = Store::new(100);
        store.put("apps/replicasets", object("r", "u2", &[]));
        store.put("/pods", object("p", "u3", &["u2"]));
        delete(&mut store, "apps/replicasets", "ns", "r", Propagation::Orphan);
        let pod = store.get("/pods", "ns", "p").expect("kept");
        assert_eq!(pod["metadata"]["ownerReferences"], json!([]));
    }

    #[test]
    fn an_object_with_finalizers_waits_for_them() {
        let mut store = Store::new(100);
        let mut held = object("h", "u1", &[]);
        held["metadata"]["finalizers"] = json!(["example.dev/cleanup"]);
        store.put("/configmaps", held);
        let marked = delete(&mut store, "/configmaps", "ns", "h", Propagation::Background).expect("exists");
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        assert!(store.get("/configmaps", "ns", "h").is_some());
    }
}
