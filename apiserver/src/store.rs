//! The object store: every object as JSON, keyed by storage (group and
//! plural), namespace and name, with one global resourceVersion counter like
//! etcd's revision. Every change is appended to a bounded history, which is
//! what watches resume from; a resourceVersion older than the history is
//! answered with `410 Gone` (reason `Expired`), as a compacted etcd does.
//! Changes are also broadcast to the open watches.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
};

use serde_json::Value;
use tokio::sync::broadcast;

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch event type (`ADDED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as stored in the history.
#[derive(Debug)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// The storage the object lives in.
    pub storage: String,
    /// What happened.
    pub type_: EventType,
    /// The object after the change (for deletions: as last stored, with the
    /// deletion's resourceVersion).
    pub object: Value,
    /// The object before the change (for label-selector watches, which turn
    /// an object leaving the selection into DELETED).
    pub previous: Option<Value>,
}

/// Namespace ("" for cluster-scoped objects) and name.
pub type Key = (String, String);

/// The key of an object.
pub fn key_of(object: &Value) -> Key {
    let metadata = &object["metadata"];
    (
        metadata["namespace"].as_str().unwrap_or_default().to_string(),
        metadata["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// All objects and their history.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    objects: HashMap<String, BTreeMap<Key, Value>>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    /// Events up to this resourceVersion are no longer in the history.
    compacted: u64,
    tx: broadcast::Sender<Arc<Event>>,
}

impl Store {
    /// An empty store keeping the last `history_limit` changes.
    pub fn new(history_limit: usize) -> Store {
        // Watches that fall this far behind are ended with 410, as real
        // servers end watchers that cannot keep up.
        let (tx, _) = broadcast::channel(history_limit.max(16));
        Store {
            // Real servers never hand out resourceVersion 0 (it means "any").
            rv: 1,
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 1,
            tx,
        }
    }

    /// The latest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The highest resourceVersion no longer in the history.
    pub fn compacted_rv(&self) -> u64 {
        self.compacted
    }

    /// One object.
    pub fn get(&self, storage: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(storage)?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// The objects of a storage in key order, optionally of one namespace.
    pub fn list<'a>(&'a self, storage: &str, namespace: Option<&'a str>) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .get(storage)
            .into_iter()
            .flat_map(|objects| objects.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|wanted| ns == wanted))
            .map(|(_, object)| object)
    }

    /// Every storage key that holds objects.
    pub fn storages(&self) -> Vec<String> {
        self.objects.keys().cloned().collect()
    }

    /// Stores an object (created or changed), assigning the next
    /// resourceVersion; returns the stored object.
    pub fn put(&mut self, storage: &str, mut object: Value) -> Value {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let key = key_of(&object);
        let previous = self
            .objects
            .entry(storage.to_string())
            .or_default()
            .insert(key, object.clone());
        let type_ = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(storage, type_, object.clone(), previous);
        object
    }

    /// Removes an object; returns it with the deletion's resourceVersion.
    pub fn remove(&mut self, storage: &str, namespace: &str, name: &str) -> Option<Value> {
        let mut object = self
            .objects
            .get_mut(storage)?
            .remove(&(namespace.to_string(), name.to_string()))?;
        self.rv += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        self.record(storage, EventType::Deleted, object.clone(), None);
        Some(object)
    }

    /// Removes every object of a storage (when its CRD is deleted).
    pub fn drop_storage(&mut self, storage: &str) {
        let keys: Vec<Key> = self
            .objects
            .get(storage)
            .map(|objects| objects.keys().cloned().collect())
            .unwrap_or_default();
        for (namespace, name) in keys {
            self.remove(storage, &namespace, &name);
        }
    }

    fn record(&mut self, storage: &str, type_: EventType, object: Value, previous: Option<Value>) {
        let event = Arc::new(Event {
            rv: self.rv,
            storage: storage.to_string(),
            type_,
            object,
            previous,
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    /// The changes after `rv`, or `Err(compacted)` when some of them are no
    /// longer kept.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, u64> {
        if rv < self.compacted {
            return Err(self.compacted);
        }
        Ok(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// A receiver of every future change.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Forgets the history up to now, so any earlier resourceVersion is
    /// too old (what a compaction on a real cluster does).
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(name: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "default"}})
    }

    #[test]
    fn resource_versions_grow_and_old_history_is_reported_as_compacted() {
        let mut store = Store::new(2);
        let a = store.put("/configmaps", object("a"));
        let b = store.put("/configmaps", object("b"));
        assert!(b["metadata"]["resourceVersion"].as_str() > a["metadata"]["resourceVersion"].as_str());
        store.put("/configmaps", object("c"));
        let start: u64 = a["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|rv| rv.parse().ok())
            .unwrap_or_default();
        assert_eq!(store.events_since(start - 1).err(), Some(start));
        let since_a = store.events_since(start).expect("kept");
        assert_eq!(since_a.len(), 2);
        assert_eq!(store.list("/configmaps", Some("default")).count(), 3);
        let removed = store.remove("/configmaps", "default", "a").expect("exists");
        assert_eq!(
            removed["metadata"]["resourceVersion"],
            json!(store.current_rv().to_string())
        );
        assert!(store.get("/configmaps", "default", "a").is_none());
    }
}
