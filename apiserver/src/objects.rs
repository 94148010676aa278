//! The write path every create, update, patch and apply takes, with the
//! rules kube-apiserver's registry strategies apply: server-set metadata
//! (uid, creationTimestamp, generation, resourceVersion), `generateName`,
//! spec and status written through separate endpoints, admission for custom
//! resources, `409` on a stale resourceVersion, no new resourceVersion for a
//! write that changes nothing, `managedFields`, and the removal of an object
//! whose deletion was waiting for its last finalizer.
//!
//! Objects are handled here in the served version's shape; [`conversion`]
//! turns them into the stored shape at the store's door.
//!
//! [`conversion`]: crate::conversion

use serde_json::{Value, json};

use crate::{
    apply::{self, Scope, Writer},
    conversion::{from_storage, to_storage},
    gc,
    patch::{self, builtin_keys, schema_keys},
    resources::ResourceType,
    status::{ApiError, Cause, Subject},
    store::Store,
};

/// `fieldValidation`: what happens to fields a schema does not declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Dropped silently.
    Ignore,
    /// Dropped with a `Warning` header (the server default).
    Warn,
    /// Refused with 400.
    Strict,
}

impl FieldValidation {
    /// From the query parameter.
    pub fn parse(value: Option<&str>) -> FieldValidation {
        match value {
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            _ => FieldValidation::Warn,
        }
    }
}

/// Who writes what, through which endpoint.
#[derive(Clone, Debug)]
pub struct Write<'a> {
    /// The resource type of the endpoint.
    pub resource: &'a ResourceType,
    /// The namespace of the URL (`""` for cluster-scoped).
    pub namespace: &'a str,
    /// `Some("status")` for the status subresource.
    pub subresource: Option<&'a str>,
    /// The field manager.
    pub manager: &'a str,
    /// Unknown-field handling.
    pub field_validation: FieldValidation,
    /// `dryRun=All`: everything but storing.
    pub dry_run: bool,
}

/// A successful write.
#[derive(Clone, Debug)]
pub struct Written {
    /// The object as stored (served shape).
    pub object: Value,
    /// `Warning` headers for the client.
    pub warnings: Vec<String>,
    /// Whether the object was created (201) rather than changed (200).
    pub created: bool,
}

impl Write<'_> {
    fn subject<'b>(&'b self, name: &'b str) -> Subject<'b> {
        Subject {
            group: &self.resource.group,
            plural: &self.resource.plural,
            name,
        }
    }

    fn scope(&self) -> Scope {
        match (self.resource.status_subresource, self.subresource) {
            (true, Some("status")) => Scope::Status,
            (true, _) => Scope::Main,
            (false, _) => Scope::All,
        }
    }

    fn keys(&self) -> impl Fn(&[String]) -> Option<Vec<String>> + '_ {
        move |path: &[String]| match &self.resource.schema {
            Some(schema) => schema_keys(schema.openapi(), path),
            None => builtin_keys(path),
        }
    }

    fn invalid(&self, name: &str, causes: Vec<Cause>) -> ApiError {
        ApiError::invalid(&self.resource.kind, &self.resource.group, name, causes)
    }
}

/// The stored object, in the served shape.
pub fn read(store: &Store, resource: &ResourceType, namespace: &str, name: &str) -> Option<Value> {
    store
        .get(&resource.storage, namespace, name)
        .map(|o| from_storage(resource, o))
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

/// Whether a name is a DNS subdomain (RFC 1123), as most kinds require.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A random v4 UUID.
pub fn new_uid() -> String {
    let hex = format!("{:032x}", fastrand::u128(..));
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][fastrand::usize(..4)],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The five characters kube-apiserver appends to a `generateName`.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// Checks the body's apiVersion and kind against the endpoint, filling them
/// in when missing.
fn check_type(write: &Write<'_>, object: &mut Value) -> Result<(), ApiError> {
    let resource = write.resource;
    if !object.is_object() {
        return Err(ApiError::bad_request("the body of the request is not a JSON object"));
    }
    let api_version = resource.api_version();
    match object["apiVersion"].as_str() {
        None => object["apiVersion"] = json!(api_version),
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match object["kind"].as_str() {
        None => object["kind"] = json!(resource.kind),
        Some(k) if k == resource.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                resource.kind
            )));
        }
    }
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let body_namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    if resource.namespaced {
        if !body_namespace.is_empty() && body_namespace != write.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        object["metadata"]["namespace"] = json!(write.namespace);
    } else if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.remove("namespace");
    }
    Ok(())
}

/// Creates an object. `managed` says the caller (apply) already wrote
/// `managedFields`.
pub fn create(store: &mut Store, write: &Write<'_>, mut object: Value, managed: bool) -> Result<Written, ApiError> {
    let resource = write.resource;
    check_type(write, &mut object)?;
    let metadata = &mut object["metadata"];
    if metadata["name"].as_str().unwrap_or_default().is_empty() {
        match metadata["generateName"].as_str() {
            Some(prefix) if !prefix.is_empty() => {
                metadata["name"] = json!(format!("{prefix}{}", random_suffix()));
            }
            _ => {
                return Err(write.invalid(
                    "",
                    vec![Cause {
                        reason: "FieldValueRequired".into(),
                        message: "Required value: name or generateName is required".into(),
                        field: "metadata.name".into(),
                    }],
                ));
            }
        }
    }
    let name = name_of(&object);
    if !valid_name(&name) {
        return Err(write.invalid(
            &name,
            vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
                field: "metadata.name".into(),
            }],
        ));
    }
    if resource.namespaced {
        match store.get("/namespaces", "", write.namespace) {
            None => {
                return Err(ApiError::not_found(Subject {
                    group: "",
                    plural: "namespaces",
                    name: write.namespace,
                }));
            }
            Some(ns) if ns["metadata"]["deletionTimestamp"].is_string() => {
                return Err(ApiError::new(
                    403,
                    "Forbidden",
                    format!(
                        "{} \"{name}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                        write.subject(&name).qualified(),
                        write.namespace
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if store.get(&resource.storage, write.namespace, &name).is_some() {
        return Err(ApiError::already_exists(write.subject(&name)));
    }
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for field in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            metadata.remove(field);
        }
        if !managed {
            metadata.remove("managedFields");
        }
        metadata.insert("uid".into(), json!(new_uid()));
        metadata.insert("creationTimestamp".into(), json!(gc::now()));
    }
    // Status is the controllers' to write; a create cannot set it (nodes
    // are the exception: kubelets register them with their status).
    if resource.status_subresource
        && resource.kind != "Node"
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    if resource.kind == "Namespace" && resource.group.is_empty() {
        object["status"] = json!({"phase": "Active"});
        object["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    let mut written = commit(store, write, None, object, managed)?;
    written.created = true;
    Ok(written)
}

/// Replaces an object (PUT).
pub fn update(store: &mut Store, write: &Write<'_>, name: &str, mut object: Value) -> Result<Written, ApiError> {
    check_type(write, &mut object)?;
    let old =
        read(store, write.resource, write.namespace, name).ok_or_else(|| ApiError::not_found(write.subject(name)))?;
    let body_name = name_of(&object);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    match object["metadata"]["resourceVersion"].as_str() {
        Some(rv) if Some(rv) != old["metadata"]["resourceVersion"].as_str() => {
            return Err(ApiError::conflict(write.subject(name)));
        }
        None if write.resource.custom => {
            return Err(write.invalid(
                name,
                vec![Cause {
                    reason: "FieldValueInvalid".into(),
                    message: "Invalid value: 0: must be specified for an update".into(),
                    field: "metadata.resourceVersion".into(),
                }],
            ));
        }
        _ => {}
    }
    commit(store, write, Some(&old), object, false)
}

/// The patch formats, by Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml`.
    Apply,
}

impl PatchType {
    /// From the request's Content-Type.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match media {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// Patches an object (or, for apply, creates it).
pub fn patch(
    store: &mut Store,
    write: &Write<'_>,
    name: &str,
    patch_type: PatchType,
    body: &Value,
    force: bool,
) -> Result<Written, ApiError> {
    let resource = write.resource;
    if patch_type == PatchType::Strategic && resource.custom {
        return Err(ApiError::unsupported_media_type(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ));
    }
    let old = read(store, resource, write.namespace, name);
    if patch_type == PatchType::Apply {
        return apply_patch(store, write, name, old, body, force);
    }
    let old = old.ok_or_else(|| ApiError::not_found(write.subject(name)))?;
    let mut new = old.clone();
    match patch_type {
        PatchType::Merge => patch::merge_patch(&mut new, body),
        PatchType::Json => patch::json_patch(&mut new, body).map_err(|e| {
            write.invalid(
                name,
                vec![Cause {
                    reason: "FieldValueInvalid".into(),
                    message: e,
                    field: String::new(),
                }],
            )
        })?,
        PatchType::Strategic => new = patch::strategic_merge(&old, body, &write.keys()),
        PatchType::Apply => {}
    }
    if let Some(rv) = body["metadata"]["resourceVersion"].as_str()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(write.subject(name)));
    }
    // A patch cannot rename or move an object.
    new["metadata"]["name"] = json!(name);
    check_type(write, &mut new)?;
    commit(store, write, Some(&old), new, false)
}

fn apply_patch(
    store: &mut Store,
    write: &Write<'_>,
    name: &str,
    old: Option<Value>,
    body: &Value,
    force: bool,
) -> Result<Written, ApiError> {
    let mut config = body.clone();
    check_type(write, &mut config)?;
    if name_of(&config) != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            name_of(&config)
        )));
    }
    let time = gc::now();
    let api_version = write.resource.api_version();
    let writer = Writer {
        manager: write.manager,
        subresource: write.subresource.unwrap_or_default(),
        api_version: &api_version,
        time: &time,
        scope: write.scope(),
    };
    let merged = apply::apply(old.as_ref(), &config, &writer, force, &write.keys()).map_err(|conflicts| {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|c| {
                json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{}\" using {api_version}", c.manager), "field": c.field})
            })
            .collect();
        let listed: Vec<String> = conflicts
            .iter()
            .map(|c| format!("conflict with \"{}\" using {api_version}: {}", c.manager, c.field))
            .collect();
        let plural = if conflicts.len() == 1 { "" } else { "s" };
        ApiError {
            code: 409,
            reason: "Conflict",
            message: format!("Apply failed with {} conflict{plural}: {}", conflicts.len(), listed.join("\n")),
            details: Some(json!({"causes": causes})),
        }
    })?;
    match old {
        None => create(store, write, merged, true),
        Some(old) => commit(store, write, Some(&old), merged, true),
    }
}

/// Whether two versions differ in what bumps `metadata.generation`: all but
/// metadata, and but status when status has its own endpoint.
fn spec_changed(resource: &ResourceType, old: &Value, new: &Value) -> bool {
    let strip = |object: &Value| {
        let mut object = object.clone();
        if let Some(map) = object.as_object_mut() {
            map.remove("metadata");
            if resource.status_subresource {
                map.remove("status");
            }
        }
        object
    };
    strip(old) != strip(new)
}

/// The object without what changes on every write (resourceVersion and
/// managedFields times), to recognise writes that change nothing.
fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.remove("resourceVersion");
        if let Some(Value::Array(entries)) = metadata.get_mut("managedFields") {
            for entry in entries {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
        }
    }
    object
}

/// The common end of every write.
fn commit(
    store: &mut Store,
    write: &Write<'_>,
    old: Option<&Value>,
    mut new: Value,
    managed: bool,
) -> Result<Written, ApiError> {
    let resource = write.resource;
    let name = name_of(&new);
    if let Some(old) = old {
        if resource.status_subresource {
            if write.subresource == Some("status") {
                let status = new.get("status").cloned();
                let managed_fields = new["metadata"].get("managedFields").cloned();
                new = old.clone();
                match status {
                    Some(status) => new["status"] = status,
                    None => {
                        if let Some(map) = new.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
                if let (true, Some(fields)) = (managed, managed_fields) {
                    new["metadata"]["managedFields"] = fields;
                }
            } else {
                match old.get("status") {
                    Some(status) => new["status"] = status.clone(),
                    None => {
                        if let Some(map) = new.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
            }
        }
        // Metadata only the server sets.
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
        ] {
            match old["metadata"].get(field) {
                Some(value) => new["metadata"][field] = value.clone(),
                None => {
                    if let Some(metadata) = new["metadata"].as_object_mut() {
                        metadata.remove(field);
                    }
                }
            }
        }
        if !managed {
            match old["metadata"].get("managedFields") {
                Some(fields) => new["metadata"]["managedFields"] = fields.clone(),
                None => {
                    if let Some(metadata) = new["metadata"].as_object_mut() {
                        metadata.remove("managedFields");
                    }
                }
            }
        }
        if old["metadata"]["deletionTimestamp"].is_string() {
            let before: Vec<&Value> = old["metadata"]["finalizers"]
                .as_array()
                .map(|f| f.iter().collect())
                .unwrap_or_default();
            let added = new["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|after| after.iter().any(|f| !before.contains(&f)));
            if added {
                return Err(write.invalid(
                    &name,
                    vec![Cause {
                        reason: "FieldValueForbidden".into(),
                        message: "Forbidden: no new finalizers can be added if the object is being deleted".into(),
                        field: "metadata.finalizers".into(),
                    }],
                ));
            }
        }
    }

    // Admission: prune, default, validate.
    let mut warnings = Vec::new();
    if let Some(schema) = &resource.schema {
        let unknown = schema.prune(&mut new);
        if !unknown.is_empty() {
            match write.field_validation {
                FieldValidation::Strict => {
                    let fields: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
                    return Err(ApiError::bad_request(format!(
                        "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                        fields.join(", "),
                        kind = resource.kind,
                        version = resource.version
                    )));
                }
                FieldValidation::Warn => warnings.extend(unknown.iter().map(|f| format!("unknown field \"{f}\""))),
                FieldValidation::Ignore => {}
            }
        }
        new = schema.apply_defaults(&new);
        let causes = schema.validate(&new, old);
        if !causes.is_empty() {
            return Err(write.invalid(&name, causes));
        }
    }

    if resource.has_generation {
        let generation = match old {
            None => 1,
            Some(old) => {
                let current = old["metadata"]["generation"].as_i64().unwrap_or(1);
                if spec_changed(resource, old, &new) {
                    current + 1
                } else {
                    current
                }
            }
        };
        new["metadata"]["generation"] = json!(generation);
    }

    if !managed {
        let time = gc::now();
        let api_version = resource.api_version();
        let writer = Writer {
            manager: write.manager,
            subresource: write.subresource.unwrap_or_default(),
            api_version: &api_version,
            time: &time,
            scope: write.scope(),
        };
        apply::record_update(old, &mut new, &writer, &write.keys());
    }
    // After field ownership: what the server sets belongs to no manager.
    crate::strategy::prepare(resource, old, &mut new);

    if let Some(old) = old
        && comparable(old) == comparable(&new)
    {
        return Ok(Written {
            object: old.clone(),
            warnings,
            created: false,
        });
    }
    if write.dry_run {
        return Ok(Written {
            object: new,
            warnings,
            created: old.is_none(),
        });
    }

    let finalized = new["metadata"]["deletionTimestamp"].is_string()
        && new["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
    let stored = if finalized {
        // The last finalizer is gone: the deletion completes.
        store.put(&resource.storage, to_storage(resource, &new));
        let removed = store.remove(&resource.storage, write.namespace, &name);
        removed.unwrap_or_default()
    } else {
        store.put(&resource.storage, to_storage(resource, &new))
    };
    gc::sweep(store);
    Ok(Written {
        object: from_storage(resource, &stored),
        warnings,
        created: false,
    })
}

/// Deletes an object through the API, honouring preconditions.
pub fn delete(
    store: &mut Store,
    write: &Write<'_>,
    name: &str,
    options: &Value,
    propagation: gc::Propagation,
) -> Result<Value, ApiError> {
    let resource = write.resource;
    let old = read(store, resource, write.namespace, name).ok_or_else(|| ApiError::not_found(write.subject(name)))?;
    let preconditions = &options["preconditions"];
    for field in ["uid", "resourceVersion"] {
        if let Some(wanted) = preconditions[field].as_str()
            && Some(wanted) != old["metadata"][field].as_str()
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {field}: {wanted}, {field} in object meta: {}",
                    write.subject(name).qualified(),
                    old["metadata"][field].as_str().unwrap_or_default()
                ),
            ));
        }
    }
    if write.dry_run {
        return Ok(old);
    }
    let deleted = gc::delete(store, &resource.storage, write.namespace, name, propagation)
        .ok_or_else(|| ApiError::not_found(write.subject(name)))?;
    Ok(from_storage(resource, &deleted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_uids_look_like_version_4_uuids() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.as_bytes()[14], b'4');
        assert_ne!(uid, new_uid());
    }

    #[test]
    fn names_must_be_dns_subdomains() {
        assert!(valid_name("web-1.example"));
        assert!(!valid_name("Web"));
        assert!(!valid_name("-web"));
        assert!(!valid_name(""));
    }
}
