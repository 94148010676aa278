//! Conversion between a served version and storage. Only Events need it: a
//! real server keeps core `v1` Events and `events.k8s.io/v1` Events as one
//! set of objects, so an event a controller records through
//! `events.k8s.io/v1` (as kube-runtime's recorder does) is what
//! `kubectl get events` lists. The field mapping is kube-apiserver's.

use serde_json::{Map, Value};

use crate::resources::{Conversion, ResourceType};

/// `events.k8s.io/v1` field ↔ core `v1` field.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("note", "message"),
    ("regarding", "involvedObject"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(object: &Value, forward: bool, api_version: &str) -> Value {
    let Value::Object(map) = object else {
        return object.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let renamed = EVENT_FIELDS
            .iter()
            .find_map(|(v1, core)| {
                if forward {
                    (key == v1).then_some(*core)
                } else {
                    (key == core).then_some(*v1)
                }
            })
            .unwrap_or(key.as_str());
        out.insert(renamed.to_string(), value.clone());
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    Value::Object(out)
}

/// The stored form of an object written through `resource`.
pub fn to_storage(resource: &ResourceType, object: &Value) -> Value {
    match resource.conversion {
        Conversion::None => object.clone(),
        Conversion::EventsV1 => rename(object, true, "v1"),
    }
}

/// How `resource` shows a stored object.
pub fn from_storage(resource: &ResourceType, object: &Value) -> Value {
    match resource.conversion {
        Conversion::None => {
            let mut object = object.clone();
            object["apiVersion"] = Value::String(resource.api_version());
            object["kind"] = Value::String(resource.kind.clone());
            object
        }
        Conversion::EventsV1 => rename(object, false, "events.k8s.io/v1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;
    use serde_json::json;

    #[test]
    fn an_events_v1_event_reads_back_as_a_core_event_and_round_trips() {
        let types = builtins();
        let Some(events_v1) = types.iter().find(|t| t.group == "events.k8s.io") else {
            panic!("events.k8s.io is built in");
        };
        let written = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "note": "rolled out", "regarding": {"kind": "Deployment", "name": "web"}, "reason": "Updated"});
        let stored = to_storage(events_v1, &written);
        assert_eq!(stored["message"], "rolled out");
        assert_eq!(stored["involvedObject"]["name"], "web");
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(from_storage(events_v1, &stored), written);
    }
}
