//! The resource types the server knows: the built-in kinds refit uses and
//! the custom resources defined by CRD objects (loaded from `crds/` or
//! created through the API at run time). Each type carries what discovery,
//! storage, admission and table printing need to know about it.

use std::sync::Arc;

use serde_json::Value;

use crate::admission::Schema;

/// How a served version maps onto its storage (only events need this: core
/// `v1` Events and `events.k8s.io/v1` Events are one set of objects in a real
/// server, converted between the two shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// Served as stored.
    None,
    /// `events.k8s.io/v1`, stored as core `v1` Events.
    EventsV1,
}

/// A column of `kubectl get` output (a CRD's `additionalPrinterColumns`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header as the CRD spells it (kubectl upper-cases it).
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// Optional OpenAPI format (`name` for the NAME column).
    pub format: String,
    /// Shown in the column's description.
    pub description: String,
    /// 0 for `kubectl get`, more for `-o wide` only.
    pub priority: i64,
    /// The simple JSONPath the cell is read from.
    pub json_path: String,
}

/// One served resource (a group, version and plural).
#[derive(Clone, Debug)]
pub struct ResourceType {
    /// API group, `""` for core.
    pub group: String,
    /// Version (`v1`, `v1alpha1`).
    pub version: String,
    /// Plural, as it appears in paths.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`ct`, `deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`, `refit`).
    pub categories: Vec<String>,
    /// Whether `/status` is a separate subresource (spec and status written
    /// separately).
    pub status_subresource: bool,
    /// Whether `metadata.generation` is kept.
    pub has_generation: bool,
    /// A custom resource (no strategic merge patch, no unconditional PUT,
    /// admission by schema).
    pub custom: bool,
    /// Printer columns (after NAME); empty means the kind's default.
    pub columns: Vec<PrinterColumn>,
    /// Admission schema, for custom resources.
    pub schema: Option<Arc<Schema>>,
    /// Storage key shared by all versions of the same objects.
    pub storage: String,
    /// Conversion between this version and storage.
    pub conversion: Conversion,
}

impl ResourceType {
    /// `refit.dev/v1alpha1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `…List` kind of list responses.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The verbs discovery advertises.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// A built-in kind: group, version, plural, kind, namespaced, short names,
/// status subresource, generation.
struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    status: bool,
    generation: bool,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        group: "",
        version: "v1",
        plural: "namespaces",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        status: true,
        generation: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "pods",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        status: true,
        generation: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "nodes",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        status: true,
        generation: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "events",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        status: false,
        generation: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "configmaps",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        status: false,
        generation: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "secrets",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        status: false,
        generation: false,
    },
    Builtin {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        status: false,
        generation: false,
    },
    Builtin {
        group: "apps",
        version: "v1",
        plural: "deployments",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        status: true,
        generation: true,
    },
    Builtin {
        group: "apps",
        version: "v1",
        plural: "replicasets",
        kind: "ReplicaSet",
        namespaced: true,
        short_names: &["rs"],
        status: true,
        generation: true,
    },
    Builtin {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        kind: "StatefulSet",
        namespaced: true,
        short_names: &["sts"],
        status: true,
        generation: true,
    },
    Builtin {
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        kind: "DaemonSet",
        namespaced: true,
        short_names: &["ds"],
        status: true,
        generation: true,
    },
    Builtin {
        group: "apps",
        version: "v1",
        plural: "controllerrevisions",
        kind: "ControllerRevision",
        namespaced: true,
        short_names: &[],
        status: false,
        generation: false,
    },
    Builtin {
        group: "batch",
        version: "v1",
        plural: "jobs",
        kind: "Job",
        namespaced: true,
        short_names: &[],
        status: true,
        generation: true,
    },
    Builtin {
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        kind: "CronJob",
        namespaced: true,
        short_names: &["cj"],
        status: true,
        generation: true,
    },
    Builtin {
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        kind: "Lease",
        namespaced: true,
        short_names: &[],
        status: false,
        generation: false,
    },
    Builtin {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        status: false,
        generation: false,
    },
    Builtin {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition",
        namespaced: false,
        short_names: &["crd", "crds"],
        status: true,
        generation: true,
    },
];

/// The kinds `kubectl get all` lists (category `all`), as real servers
/// declare it.
const CATEGORY_ALL: &[&str] = &[
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
];

/// Every built-in resource type.
pub fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|b| {
            let events_v1 = b.group == "events.k8s.io";
            ResourceType {
                group: b.group.into(),
                version: b.version.into(),
                plural: b.plural.into(),
                singular: b.kind.to_lowercase(),
                kind: b.kind.into(),
                namespaced: b.namespaced,
                short_names: if events_v1 {
                    // kubectl resolves `ev` to the core kind; only one group may
                    // claim a short name.
                    Vec::new()
                } else {
                    b.short_names.iter().map(|s| (*s).to_string()).collect()
                },
                categories: if CATEGORY_ALL.contains(&b.plural) {
                    vec!["all".into()]
                } else {
                    Vec::new()
                },
                status_subresource: b.status,
                has_generation: b.generation,
                custom: false,
                columns: Vec::new(),
                schema: None,
                storage: if events_v1 {
                    "/events".into()
                } else {
                    format!("{}/{}", b.group, b.plural)
                },
                conversion: if events_v1 {
                    Conversion::EventsV1
                } else {
                    Conversion::None
                },
            }
        })
        .collect()
}

/// The resource types a CRD object defines (one per served version).
pub fn from_crd(crd: &Value) -> Result<Vec<ResourceType>, String> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().ok_or("spec.group is required")?;
    let names = &spec["names"];
    let plural = names["plural"].as_str().ok_or("spec.names.plural is required")?;
    let kind = names["kind"].as_str().ok_or("spec.names.kind is required")?;
    let singular = names["singular"]
        .as_str()
        .map_or_else(|| kind.to_lowercase(), str::to_string);
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let namespaced = match spec["scope"].as_str() {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        other => return Err(format!("spec.scope must be Namespaced or Cluster, not {other:?}")),
    };
    let versions = spec["versions"].as_array().ok_or("spec.versions is required")?;
    let mut types = Vec::new();
    for version in versions {
        if version["served"] == Value::Bool(false) {
            continue;
        }
        let name = version["name"].as_str().ok_or("spec.versions[].name is required")?;
        let columns = version["additionalPrinterColumns"]
            .as_array()
            .map(|cols| {
                cols.iter()
                    .map(|c| PrinterColumn {
                        name: c["name"].as_str().unwrap_or_default().to_string(),
                        type_: c["type"].as_str().unwrap_or("string").to_string(),
                        format: c["format"].as_str().unwrap_or_default().to_string(),
                        description: c["description"].as_str().unwrap_or_default().to_string(),
                        priority: c["priority"].as_i64().unwrap_or(0),
                        json_path: c["jsonPath"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_else(|| {
                // A CRD without printer columns prints NAME and AGE.
                vec![PrinterColumn {
                    name: "Age".into(),
                    type_: "date".into(),
                    format: String::new(),
                    description: String::new(),
                    priority: 0,
                    json_path: ".metadata.creationTimestamp".into(),
                }]
            });
        let schema = &version["schema"]["openAPIV3Schema"];
        let schema = if schema.is_object() {
            Some(Arc::new(
                Schema::new(schema.clone()).map_err(|e| format!("version {name}: {e}"))?,
            ))
        } else {
            None
        };
        types.push(ResourceType {
            group: group.into(),
            version: name.into(),
            plural: plural.into(),
            singular: singular.clone(),
            kind: kind.into(),
            namespaced,
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status_subresource: version["subresources"]["status"].is_object(),
            has_generation: true,
            custom: true,
            columns,
            schema,
            storage: format!("{group}/{plural}"),
            conversion: Conversion::None,
        });
    }
    Ok(types)
}

/// All served resource types.
#[derive(Debug, Default)]
pub struct Registry {
    types: Vec<Arc<ResourceType>>,
}

impl Registry {
    /// The built-in kinds only.
    pub fn with_builtins() -> Registry {
        Registry {
            types: builtins().into_iter().map(Arc::new).collect(),
        }
    }

    /// Adds (or replaces) the types of a CRD.
    pub fn add_crd(&mut self, crd: &Value) -> Result<(), String> {
        let types = from_crd(crd)?;
        if let Some(first) = types.first() {
            let storage = first.storage.clone();
            self.types.retain(|t| t.storage != storage);
        }
        self.types.extend(types.into_iter().map(Arc::new));
        Ok(())
    }

    /// Removes the types of a CRD (by group and plural).
    pub fn remove_crd(&mut self, group: &str, plural: &str) {
        let storage = format!("{group}/{plural}");
        self.types.retain(|t| t.storage != storage || !t.custom);
    }

    /// The type served at group/version/plural.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// The type of a kind in an apiVersion (`apps/v1`, `Deployment`).
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    /// Every type, in registration order.
    pub fn all(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    /// Every type stored under `storage`.
    pub fn by_storage(&self, storage: &str) -> Vec<Arc<ResourceType>> {
        self.types.iter().filter(|t| t.storage == storage).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_crd_without_printer_columns_gets_an_age_column() {
        let crd = json!({"spec": {
            "group": "example.dev", "scope": "Cluster",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true}]
        }});
        let types = from_crd(&crd).expect("valid CRD");
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].columns[0].json_path, ".metadata.creationTimestamp");
        assert!(!types[0].namespaced);
        assert_eq!(types[0].singular, "widget");
    }
}
