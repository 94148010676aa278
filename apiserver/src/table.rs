//! Server-side printing: the `meta.k8s.io/v1` `Table` answer to
//! `Accept: application/json;as=Table;…`, which is what `kubectl get` prints.
//! Custom resources get NAME and their CRD's `additionalPrinterColumns`
//! (date columns shown as ages, as the real CRD table convertor does); pods,
//! deployments, namespaces and nodes get the columns kubectl users know;
//! every other built-in kind gets NAME and AGE.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::resources::{PrinterColumn, ResourceType};

/// How much of each object a row carries (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    /// No object.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl Include {
    /// From the `includeObject` parameter.
    pub fn parse(value: Option<&str>) -> Include {
        match value {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.contains("as=Table"))
}

fn column(name: &str, type_: &str, format: &str, description: &str) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        format: format.into(),
        description: description.into(),
        priority: 0,
        json_path: String::new(),
    }
}

fn age_column() -> PrinterColumn {
    PrinterColumn {
        json_path: ".metadata.creationTimestamp".into(),
        ..column(
            "Age",
            "date",
            "",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        )
    }
}

/// The columns after NAME, and how to fill them.
fn columns(resource: &ResourceType) -> Vec<PrinterColumn> {
    if resource.custom {
        return resource.columns.clone();
    }
    let extra: Vec<PrinterColumn> = match resource.kind.as_str() {
        "Pod" => vec![
            column(
                "Ready",
                "string",
                "",
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            column(
                "Status",
                "string",
                "",
                "The aggregate status of the containers in this pod.",
            ),
            column(
                "Restarts",
                "string",
                "",
                "The number of times the containers in this pod have been restarted.",
            ),
        ],
        "Deployment" => vec![
            column("Ready", "string", "", "Number of the pod with ready state"),
            column(
                "Up-to-date",
                "integer",
                "",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            column(
                "Available",
                "integer",
                "",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
        ],
        "Namespace" => vec![column("Status", "string", "", "The status of the namespace")],
        "Node" => vec![column("Status", "string", "", "The status of the node")],
        _ => Vec::new(),
    };
    let mut all = extra;
    all.push(age_column());
    if resource.kind == "Node" {
        all.push(column("Version", "string", "", "Kubelet Version reported by the node."));
    }
    all
}

/// The cell of a built-in column without a JSONPath.
fn builtin_cell(kind: &str, name: &str, object: &Value) -> Value {
    let status = &object["status"];
    match (kind, name) {
        ("Pod", "Ready") => {
            let statuses = status["containerStatuses"].as_array().cloned().unwrap_or_default();
            let total = object["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses.iter().filter(|s| s["ready"] == true).count();
            json!(format!("{ready}/{total}"))
        }
        ("Pod", "Status") => {
            if object["metadata"]["deletionTimestamp"].is_string() {
                return json!("Terminating");
            }
            let waiting = status["containerStatuses"]
                .as_array()
                .and_then(|s| s.iter().find_map(|c| c["state"]["waiting"]["reason"].as_str()));
            json!(waiting.or(status["phase"].as_str()).unwrap_or("Pending"))
        }
        ("Pod", "Restarts") => {
            let restarts: i64 = status["containerStatuses"]
                .as_array()
                .map(|s| s.iter().filter_map(|c| c["restartCount"].as_i64()).sum())
                .unwrap_or(0);
            json!(restarts.to_string())
        }
        ("Deployment", "Ready") => json!(format!(
            "{}/{}",
            status["readyReplicas"].as_i64().unwrap_or(0),
            object["spec"]["replicas"].as_i64().unwrap_or(1)
        )),
        ("Deployment", "Up-to-date") => json!(status["updatedReplicas"].as_i64().unwrap_or(0)),
        ("Deployment", "Available") => json!(status["availableReplicas"].as_i64().unwrap_or(0)),
        ("Namespace", "Status") => json!(status["phase"].as_str().unwrap_or("Active")),
        ("Node", "Status") => {
            let ready = status["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
                .map(|c| c["status"] == "True");
            json!(match ready {
                Some(true) => "Ready",
                Some(false) => "NotReady",
                None => "Unknown",
            })
        }
        ("Node", "Version") => status["nodeInfo"]["kubeletVersion"].clone(),
        _ => Value::Null,
    }
}

/// Builds the Table for `objects`.
pub fn table(
    resource: &ResourceType,
    objects: &[Value],
    list_metadata: Value,
    include: Include,
    now: DateTime<Utc>,
) -> Value {
    let columns = columns(resource);
    let mut definitions = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    })];
    definitions.extend(columns.iter().map(|c| {
        json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
    }));
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut cells = vec![object["metadata"]["name"].clone()];
            for c in &columns {
                let raw = if c.json_path.is_empty() {
                    builtin_cell(&resource.kind, &c.name, object)
                } else {
                    json_path(object, &c.json_path)
                };
                cells.push(cell(&raw, &c.type_, now));
            }
            let mut row = json!({"cells": cells});
            match include {
                Include::None => {}
                Include::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": object["metadata"],
                    });
                }
                Include::Object => row["object"] = object.clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// A cell as the CRD table convertor renders it.
fn cell(value: &Value, type_: &str, now: DateTime<Utc>) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    match type_ {
        "date" => match value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
            Some(time) => json!(human_duration((now - time.with_timezone(&Utc)).num_seconds())),
            None => json!("<unknown>"),
        },
        "string" => match value {
            Value::String(_) => value.clone(),
            other => json!(other.to_string()),
        },
        _ => value.clone(),
    }
}

/// Kubernetes' `duration.HumanDuration` (`5m`, `3h12m`, `2d`).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    let minutes = seconds / 60;
    let hours = minutes / 60;
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        if seconds % 60 == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{}s", seconds % 60)
        }
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        if minutes % 60 == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{}m", minutes % 60)
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        if hours % 24 == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, hours % 24)
        }
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let days = hours / 24;
        if days % 365 == 0 {
            format!("{}y", days / 365)
        } else {
            format!("{}y{}d", days / 365, days % 365)
        }
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `.a[0].b`,
/// `.a[?(@.type=="Ready")].status`. Missing values are `null`.
pub fn json_path(object: &Value, path: &str) -> Value {
    let mut current = object.clone();
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let field = &after[..end];
            current = current.get(field).cloned().unwrap_or(Value::Null);
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Value::Null;
            };
            let inside = &after[..end];
            rest = &after[end + 1..];
            if let Ok(index) = inside.parse::<usize>() {
                current = current.get(index).cloned().unwrap_or(Value::Null);
            } else if let Some(filter) = inside.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let Some((field, wanted)) = filter.split_once("==") else {
                    return Value::Null;
                };
                let wanted = wanted.trim().trim_matches(|c| c == '"' || c == '\'');
                current = current
                    .as_array()
                    .and_then(|items| {
                        items.iter().find(|item| match &item[field.trim()] {
                            Value::String(s) => s == wanted,
                            other => serde_json::from_str::<Value>(wanted).ok().as_ref() == Some(other),
                        })
                    })
                    .cloned()
                    .unwrap_or(Value::Null);
            } else {
                return Value::Null;
            }
        } else {
            return Value::Null;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_read_fields_indexes_and_filters() {
        let object =
            json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(
            json_path(&object, ".status.conditions[?(@.type==\"Ready\")].status"),
            json!("True")
        );
        assert_eq!(json_path(&object, ".status.conditions[0].type"), json!("A"));
        assert_eq!(json_path(&object, ".status.missing"), Value::Null);
    }

    #[test]
    fn ages_read_like_kubectl_prints_them() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600 * 5 + 60 * 7), "5h7m");
        assert_eq!(human_duration(86400 * 3), "3d");
        assert_eq!(human_duration(86400 * 400), "400d");
    }
}
