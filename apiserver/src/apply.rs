//! An approximation of server-side apply and `metadata.managedFields`.
//!
//! Each field manager owns a set of leaf fields (scalars, atomic lists, and
//! the fields inside keyed list items such as `containers[name=web]`). An
//! update or patch gives its manager the fields whose values it changed and
//! takes them from the others; an apply gives its manager exactly the fields
//! of its configuration, removes the fields it applied before and no longer
//! applies (when no other manager owns them), and fails with 409 when it
//! would change a value another manager owns, unless `force` is set (then
//! it takes just those fields; fields applied with the value they had are
//! shared).
//! Ownership is recorded as `FieldsV1` in `managedFields`, as real servers
//! record it. What is not modelled: the schema-aware merge of every list type
//! (`set` lists are replaced), ownership of parent maps, and the finer
//! points of versioned field sets.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::patch::{MergeKeys, strategic_merge};

/// Which part of an object an endpoint writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole object (no status subresource).
    All,
    /// Everything but `status` (main endpoint with a status subresource).
    Main,
    /// Only `status` (the status subresource).
    Status,
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    manager: String,
    operation: String,
    subresource: String,
    api_version: String,
    time: String,
    fields: BTreeSet<String>,
}

/// A field path, one JSON value per segment: a string for a field, an
/// object of key fields for an item of a keyed list. Kept as its JSON text
/// so that sets of paths are ordered and comparable.
type Path = Vec<Value>;

fn encode_path(path: &Path) -> String {
    Value::Array(path.clone()).to_string()
}

fn decode_path(text: &str) -> Path {
    serde_json::from_str::<Vec<Value>>(text).unwrap_or_default()
}

/// `.spec.containers[name="web"].image`, as conflict messages show paths.
pub fn display_path(text: &str) -> String {
    decode_path(text)
        .iter()
        .map(|segment| match segment {
            Value::String(field) => format!(".{field}"),
            Value::Object(keys) => format!(
                "[{}]",
                keys.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            other => format!("[{other}]"),
        })
        .collect()
}

/// The leaf fields of `value` within `scope`.
pub fn field_set(value: &Value, scope: Scope, keys: MergeKeys<'_>) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    let Some(map) = value.as_object() else {
        return set;
    };
    for (key, child) in map {
        let in_scope = match key.as_str() {
            "apiVersion" | "kind" => false,
            "status" => scope != Scope::Main,
            _ => scope != Scope::Status,
        };
        if !in_scope {
            continue;
        }
        if key == "metadata" {
            for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                if let Some(sub) = child.get(field) {
                    let mut path = vec![json!("metadata"), json!(field)];
                    let mut names = vec!["metadata".to_string(), field.to_string()];
                    collect(sub, &mut path, &mut names, keys, &mut set);
                }
            }
            continue;
        }
        let mut path = vec![json!(key)];
        let mut names = vec![key.clone()];
        collect(child, &mut path, &mut names, keys, &mut set);
    }
    set
}

fn collect(value: &Value, path: &mut Path, names: &mut Vec<String>, keys: MergeKeys<'_>, set: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(json!(key));
                names.push(key.clone());
                collect(child, path, names, keys, set);
                names.pop();
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match keys(names) {
            Some(key_fields) => {
                for item in items {
                    let key: Map<String, Value> = key_fields
                        .iter()
                        .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
                        .collect();
                    path.push(Value::Object(key));
                    collect(item, path, names, keys, set);
                    path.pop();
                }
            }
            None => {
                set.insert(encode_path(path));
            }
        },
        _ => {
            set.insert(encode_path(path));
        }
    }
}

/// The value at a path.
fn value_at<'a>(value: &'a Value, path: &Path) -> Option<&'a Value> {
    let mut current = value;
    for segment in path {
        current = match segment {
            Value::String(field) => current.get(field)?,
            Value::Object(key) => current
                .as_array()?
                .iter()
                .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?,
            _ => return None,
        };
    }
    Some(current)
}

/// Removes the field at a path; a keyed list item left empty goes too.
fn remove_at(value: &mut Value, path: &[Value]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) = parent_mut(value, parents) else {
        return;
    };
    match (last, parent) {
        (Value::String(field), Value::Object(map)) => {
            map.remove(field);
        }
        (Value::Object(key), Value::Array(items)) => {
            items.retain(|item| !key.iter().all(|(k, v)| item.get(k) == Some(v)));
        }
        _ => {}
    }
    // An item of a keyed list whose only remaining fields are its keys was
    // applied by nobody any more.
    if let Some((Value::Object(key), list_path)) = parents.split_last().filter(|(s, _)| s.is_object())
        && let Some(Value::Array(items)) = parent_mut(value, list_path)
    {
        items.retain(|item| {
            let matches = key.iter().all(|(k, v)| item.get(k) == Some(v));
            !(matches && item.as_object().is_some_and(|m| m.keys().all(|k| key.contains_key(k))))
        });
    }
}

fn parent_mut<'a>(value: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut current = value;
    for segment in path {
        current = match segment {
            Value::String(field) => current.get_mut(field)?,
            Value::Object(key) => current
                .as_array_mut()?
                .iter_mut()
                .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?,
            _ => return None,
        };
    }
    Some(current)
}

fn encode_fields(fields: &BTreeSet<String>) -> Value {
    let mut root = Map::new();
    for text in fields {
        let mut node = &mut root;
        for segment in decode_path(text) {
            let key = match segment {
                Value::String(field) => format!("f:{field}"),
                other => format!("k:{other}"),
            };
            let entry = node.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else {
                break;
            };
            node = next;
        }
    }
    Value::Object(root)
}

fn decode_fields(fields: &Value, path: &mut Path, out: &mut BTreeSet<String>) {
    let Some(map) = fields.as_object() else {
        return;
    };
    let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if children.is_empty() {
        if !path.is_empty() {
            out.insert(encode_path(path));
        }
        return;
    }
    for (key, child) in children {
        let segment = if let Some(field) = key.strip_prefix("f:") {
            json!(field)
        } else if let Some(item) = key.strip_prefix("k:") {
            serde_json::from_str(item).unwrap_or(Value::Null)
        } else {
            continue;
        };
        path.push(segment);
        decode_fields(child, path, out);
        path.pop();
    }
}

fn read_entries(object: &Value) -> Vec<Entry> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let mut fields = BTreeSet::new();
                    decode_fields(&e["fieldsV1"], &mut Vec::new(), &mut fields);
                    Entry {
                        manager: e["manager"].as_str().unwrap_or_default().to_string(),
                        operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                        subresource: e["subresource"].as_str().unwrap_or_default().to_string(),
                        api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                        time: e["time"].as_str().unwrap_or_default().to_string(),
                        fields,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write_entries(object: &mut Value, entries: &[Entry]) {
    let rendered: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": encode_fields(&e.fields),
            });
            if !e.subresource.is_empty() {
                entry["subresource"] = json!(e.subresource);
            }
            entry
        })
        .collect();
    if rendered.is_empty() {
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("managedFields");
        }
    } else if object.is_object() {
        object["metadata"]["managedFields"] = Value::Array(rendered);
    }
}

/// Who is writing, for `managedFields`.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// `""` or `status`.
    pub subresource: &'a str,
    /// The apiVersion the write used.
    pub api_version: &'a str,
    /// Now, RFC 3339.
    pub time: &'a str,
    /// The part of the object the endpoint writes.
    pub scope: Scope,
}

/// Records an update (create, PUT or a non-apply patch) from `old` to `new`
/// in `new`'s `managedFields`: the writer owns what it changed.
pub fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>, keys: MergeKeys<'_>) {
    let mut entries = old.map(read_entries).unwrap_or_default();
    let new_fields = field_set(new, writer.scope, keys);
    let changed: BTreeSet<String> = new_fields
        .iter()
        .filter(|path| old.and_then(|o| value_at(o, &decode_path(path))) != value_at(new, &decode_path(path)))
        .cloned()
        .collect();
    if !changed.is_empty() {
        for entry in &mut entries {
            entry.fields.retain(|f| !changed.contains(f));
        }
        upsert(&mut entries, writer, "Update", |fields| {
            fields.extend(changed.iter().cloned())
        });
    }
    let all_fields = field_set(new, Scope::All, keys);
    for entry in &mut entries {
        entry.fields.retain(|f| all_fields.contains(f));
    }
    write_entries(new, &entries);
}

fn upsert(entries: &mut Vec<Entry>, writer: &Writer<'_>, operation: &str, update: impl FnOnce(&mut BTreeSet<String>)) {
    let position = entries
        .iter()
        .position(|e| e.manager == writer.manager && e.operation == operation && e.subresource == writer.subresource);
    let index = match position {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: writer.manager.to_string(),
                operation: operation.to_string(),
                subresource: writer.subresource.to_string(),
                api_version: writer.api_version.to_string(),
                time: writer.time.to_string(),
                fields: BTreeSet::new(),
            });
            entries.len() - 1
        }
    };
    let entry = &mut entries[index];
    entry.time = writer.time.to_string();
    entry.api_version = writer.api_version.to_string();
    update(&mut entry.fields);
}

/// A field another manager owns that an apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager.
    pub manager: String,
    /// The field, as `.spec.replicas`.
    pub field: String,
}

/// Applies `config` for `writer` to `live` (or to nothing, for a create).
/// Returns the new object with its `managedFields`, or the conflicts.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    writer: &Writer<'_>,
    force: bool,
    keys: MergeKeys<'_>,
) -> Result<Value, Vec<Conflict>> {
    let applied = field_set(config, writer.scope, keys);
    let mut entries = live.map(read_entries).unwrap_or_default();
    let mine = |e: &Entry| e.manager == writer.manager && e.operation == "Apply" && e.subresource == writer.subresource;

    // Conflicts: fields another manager owns whose value would change.
    let mut conflicts = Vec::new();
    let mut conflicting = BTreeSet::new();
    if let Some(live) = live {
        for entry in entries
            .iter()
            .filter(|e| !mine(e) && e.subresource == writer.subresource)
        {
            for field in entry.fields.intersection(&applied) {
                let path = decode_path(field);
                if value_at(live, &path) != value_at(config, &path) {
                    conflicting.insert(field.clone());
                    conflicts.push(Conflict {
                        manager: entry.manager.clone(),
                        field: display_path(field),
                    });
                }
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }

    // Fields this manager applied before and no longer applies, and that
    // nobody else owns, are removed.
    let mut object = live.cloned().unwrap_or_else(|| json!({}));
    let previous: BTreeSet<String> = entries
        .iter()
        .filter(|e| mine(e))
        .flat_map(|e| e.fields.clone())
        .collect();
    let others: BTreeSet<String> = entries
        .iter()
        .filter(|e| !mine(e))
        .flat_map(|e| e.fields.clone())
        .collect();
    for field in previous.difference(&applied) {
        if !others.contains(field) {
            remove_at(&mut object, &decode_path(field));
        }
    }
    let mut merged = strategic_merge(&object, config, keys);

    // The applier now owns what it applied. A forced apply takes the
    // fields whose values it changed from their owners; a field it applied
    // with the value it had is shared, as real servers share it.
    for entry in entries.iter_mut().filter(|e| !mine(e)) {
        entry.fields.retain(|f| !conflicting.contains(f));
    }
    upsert(&mut entries, writer, "Apply", |fields| *fields = applied.clone());
    let all_fields = field_set(&merged, Scope::All, keys);
    for entry in &mut entries {
        entry.fields.retain(|f| all_fields.contains(f));
    }
    write_entries(&mut merged, &entries);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::builtin_keys;

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            subresource: "",
            api_version: "apps/v1",
            time: "2026-01-01T00:00:00Z",
            scope: Scope::Main,
        }
    }

    #[test]
    fn a_forced_apply_takes_only_the_fields_it_changes_and_shares_the_rest() {
        let deployment = |image: &str| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
        };
        let created = apply(None, &deployment("web:1"), &writer("gitops"), false, &builtin_keys).expect("created");
        let image_only = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                                "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}}});
        let changed = apply(Some(&created), &image_only, &writer("refit"), true, &builtin_keys).expect("forced");
        let fields = |manager: &str| {
            let entries = read_entries(&changed);
            let entry = entries.iter().find(|e| e.manager == manager).expect("an entry").clone();
            entry.fields.iter().map(|f| display_path(f)).collect::<Vec<_>>()
        };
        assert_eq!(
            fields("gitops"),
            [".spec.replicas", ".spec.template.spec.containers[name=\"app\"].name"]
        );
        assert_eq!(
            fields("refit"),
            [
                ".spec.template.spec.containers[name=\"app\"].image",
                ".spec.template.spec.containers[name=\"app\"].name"
            ]
        );
    }

    #[test]
    fn applying_a_value_another_manager_set_conflicts_unless_forced() {
        let config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}});
        let created = apply(None, &config, &writer("a"), false, &builtin_keys).expect("no conflicts on create");
        let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}});
        let conflicts = apply(Some(&created), &other, &writer("b"), false, &builtin_keys).expect_err("conflict");
        assert_eq!(
            conflicts,
            vec![Conflict {
                manager: "a".into(),
                field: ".spec.replicas".into()
            }]
        );
        let forced = apply(Some(&created), &other, &writer("b"), true, &builtin_keys).expect("forced");
        assert_eq!(forced["spec"]["replicas"], 5);
        let managers: Vec<&str> = forced["metadata"]["managedFields"]
            .as_array()
            .map(|e| e.iter().filter_map(|m| m["manager"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(managers, vec!["b"]);
    }

    #[test]
    fn fields_a_manager_stops_applying_are_removed() {
        let first = json!({"metadata": {"name": "web", "labels": {"a": "1", "b": "2"}}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x"}, {"name": "side", "image": "y"}]}}}});
        let created = apply(None, &first, &writer("a"), false, &builtin_keys).expect("created");
        let second = json!({"metadata": {"name": "web", "labels": {"a": "1"}}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x"}]}}}});
        let applied = apply(Some(&created), &second, &writer("a"), false, &builtin_keys).expect("applied");
        assert_eq!(applied["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(
            applied["spec"]["template"]["spec"]["containers"],
            json!([{"name": "web", "image": "x"}])
        );
        let fields = &applied["metadata"]["managedFields"][0]["fieldsV1"];
        assert!(
            fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:image"].is_object()
        );
    }

    #[test]
    fn an_update_takes_ownership_of_what_it_changed() {
        let created = apply(
            None,
            &json!({"spec": {"replicas": 2, "paused": false}}),
            &writer("a"),
            false,
            &builtin_keys,
        )
        .expect("created");
        let mut updated = created.clone();
        updated["spec"]["replicas"] = json!(3);
        record_update(Some(&created), &mut updated, &writer("kubectl-edit"), &builtin_keys);
        let conflicts = apply(
            Some(&updated),
            &json!({"spec": {"replicas": 2, "paused": false}}),
            &writer("a"),
            false,
            &builtin_keys,
        )
        .expect_err("kubectl-edit owns replicas now");
        assert_eq!(conflicts[0].manager, "kubectl-edit");
    }
}
