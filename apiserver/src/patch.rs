//! The patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
//! strategic merge patch, plus the keyed merge that server-side apply uses.
//!
//! Strategic merge knows only the merge keys refit's kinds need: lists of
//! containers, init containers, volumes, env and image pull secrets merge by
//! `name`, ports by `containerPort`, volume mounts by `mountPath`,
//! conditions by `type`, owner references by `uid`, and finalizers as a
//! set; every other list is replaced, as JSON merge patch replaces it. For
//! custom resources the keys come from the schema's
//! `x-kubernetes-list-type: map` and `x-kubernetes-list-map-keys`.

use serde_json::{Map, Value};

/// The merge keys of the list at a field path (field names from the root,
/// list positions left out), or `None` for a list that is replaced whole.
pub type MergeKeys<'a> = &'a dyn Fn(&[String]) -> Option<Vec<String>>;

/// Merge keys of the built-in kinds, by the list's field name.
pub fn builtin_keys(path: &[String]) -> Option<Vec<String>> {
    let field = path.last()?.as_str();
    let key = match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    };
    Some(vec![key.to_string()])
}

/// Lists of scalars that strategic merge treats as sets.
fn is_set(path: &[String]) -> bool {
    path == ["metadata", "finalizers"]
}

/// Merge keys read from a CRD schema (`x-kubernetes-list-type: map`), with
/// the built-in table for `metadata`.
pub fn schema_keys(schema: &Value, path: &[String]) -> Option<Vec<String>> {
    if path.first().map(String::as_str) == Some("metadata") {
        return builtin_keys(path);
    }
    let mut node = schema;
    for field in path {
        // Lists are descended through `items` on the way down.
        if node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = node
            .get("properties")
            .and_then(|p| p.get(field))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
    }
    if node.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
        node.get("x-kubernetes-list-map-keys")?
            .as_array()
            .map(|keys| keys.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
    } else {
        None
    }
}

/// Applies a JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies a JSON patch; the error names the failing operation.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let operations: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| format!("invalid JSON patch: {e}"))?;
    json_patch::patch(target, &operations).map_err(|e| e.to_string())
}

/// Applies a strategic merge patch (or an applied configuration, which
/// merges the same way) to `target`.
pub fn strategic_merge(target: &Value, patch: &Value, keys: MergeKeys<'_>) -> Value {
    merge_value(target, patch, &mut Vec::new(), keys)
}

fn merge_value(target: &Value, patch: &Value, path: &mut Vec<String>, keys: MergeKeys<'_>) -> Value {
    match patch {
        Value::Object(patch_map) => {
            if patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
                return strip_directives(patch);
            }
            let mut result = match target {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            for (key, value) in patch_map {
                if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
                    continue;
                }
                if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
                    if let (Some(Value::Array(items)), Some(remove)) = (result.get_mut(field), value.as_array()) {
                        items.retain(|item| !remove.contains(item));
                    }
                    continue;
                }
                if value.is_null() {
                    result.remove(key);
                    continue;
                }
                path.push(key.clone());
                let current = result.get(key).cloned().unwrap_or(Value::Null);
                let merged = match value {
                    Value::Array(items) => merge_list(&current, items, path, keys),
                    _ => merge_value(&current, value, path, keys),
                };
                path.pop();
                if merged.get("$patch").and_then(Value::as_str) == Some("delete") {
                    result.remove(key);
                } else {
                    result.insert(key.clone(), merged);
                }
            }
            Value::Object(result)
        }
        other => other.clone(),
    }
}

fn merge_list(target: &Value, patch: &[Value], path: &mut Vec<String>, keys: MergeKeys<'_>) -> Value {
    let current: Vec<Value> = target.as_array().cloned().unwrap_or_default();
    if is_set(path) {
        let mut result = current;
        for item in patch {
            if !result.contains(item) {
                result.push(item.clone());
            }
        }
        return Value::Array(result);
    }
    let Some(key_fields) = keys(path) else {
        return Value::Array(patch.iter().map(strip_directives).collect());
    };
    let same = |a: &Value, b: &Value| key_fields.iter().all(|k| a.get(k) == b.get(k));
    let mut result = current;
    for item in patch {
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match result.iter().position(|existing| same(existing, item)) {
            Some(position) if delete => {
                result.remove(position);
            }
            Some(position) => {
                let merged = merge_value(&result[position], item, path, keys);
                result[position] = merged;
            }
            None if delete => {}
            None => result.push(strip_directives(item)),
        }
    }
    Value::Array(result)
}

/// A value without strategic-merge directives (`$patch`, `$setElementOrder/…`).
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_env_and_ports_by_key_and_replaces_other_lists() {
        let target = json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}], "args": ["x"]},
                {"name": "sidecar", "image": "envoy:1"}
            ]
        }}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
            "containers": [{"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}], "args": ["y"]}]
        }}}});
        let merged = strategic_merge(&target, &patch, &builtin_keys);
        let containers = &merged["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(2));
        assert_eq!(containers[0]["image"], "nginx:2");
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
        assert_eq!(containers[0]["ports"], json!([{"containerPort": 80, "name": "http"}]));
        assert_eq!(containers[0]["args"], json!(["y"]));
        assert_eq!(containers[1]["image"], "envoy:1");
    }

    #[test]
    fn strategic_merge_deletes_by_directive_and_null() {
        let target = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]}, "spec": {"volumes": [{"name": "v"}, {"name": "w"}]}});
        let patch = json!({"metadata": {"labels": {"a": null}, "finalizers": ["y"]}, "spec": {"volumes": [{"name": "v", "$patch": "delete"}]}});
        let merged = strategic_merge(&target, &patch, &builtin_keys);
        assert_eq!(merged["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(merged["metadata"]["finalizers"], json!(["x", "y"]));
        assert_eq!(merged["spec"]["volumes"], json!([{"name": "w"}]));
    }

    #[test]
    fn schema_keys_follow_list_map_keys() {
        let schema = json!({"properties": {"status": {"properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object"}
        }}}}});
        assert_eq!(
            schema_keys(&schema, &["status".into(), "conditions".into()]),
            Some(vec!["type".to_string()])
        );
        assert_eq!(schema_keys(&schema, &["status".into()]), None);
    }

    #[test]
    fn json_patch_reports_a_failed_test_operation() {
        let mut target = json!({"a": 1});
        assert!(json_patch(&mut target, &json!([{"op": "test", "path": "/a", "value": 2}])).is_err());
        json_patch(&mut target, &json!([{"op": "replace", "path": "/a", "value": 3}])).expect("applies");
        assert_eq!(target, json!({"a": 3}));
    }
}
