//! Admission for custom resources, in the order kube-apiserver runs it:
//! prune fields the schema does not declare (or refuse them under
//! `fieldValidation=Strict`), apply the schema's defaults, then validate
//! against the `openAPIV3Schema` and its CEL rules (`x-kubernetes-validations`,
//! through kube's `cel` feature, with the old object for transition rules).
//! Problems come back as [`Cause`]s worded like the real server's.

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value, json};

use crate::status::Cause;

/// A CRD version's schema, ready to admit objects.
#[derive(Debug)]
pub struct Schema {
    /// `openAPIV3Schema` as written in the CRD (CEL rules and defaults are
    /// read from it).
    openapi: Value,
    /// The same schema as draft-4 JSON Schema.
    validator: jsonschema::Validator,
}

impl Schema {
    /// Compiles a CRD version's `openAPIV3Schema`.
    pub fn new(openapi: Value) -> Result<Schema, String> {
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&json_schema(&openapi, UnknownFields::Allow))
            .map_err(|e| format!("the openAPIV3Schema is not a valid JSON schema: {e}"))?;
        Ok(Schema { openapi, validator })
    }

    /// The schema as the CRD declares it.
    pub fn openapi(&self) -> &Value {
        &self.openapi
    }

    /// Removes fields the schema does not declare; returns their paths
    /// (`spec.foo`), which `fieldValidation=Strict` turns into an error and
    /// `Warn` into warnings.
    pub fn prune(&self, object: &mut Value) -> Vec<String> {
        let mut unknown = Vec::new();
        if let Value::Object(map) = object {
            let keep = ["apiVersion", "kind", "metadata"];
            let mut root = map.clone();
            for key in keep {
                root.remove(key);
            }
            let mut root = Value::Object(root);
            prune(&self.openapi, &mut root, "", &mut unknown);
            if let Value::Object(pruned) = root {
                map.retain(|key, _| keep.contains(&key.as_str()) || pruned.contains_key(key));
                for (key, value) in pruned {
                    map.insert(key, value);
                }
            }
        }
        unknown
    }

    /// The object with the schema's defaults filled in.
    pub fn apply_defaults(&self, object: &Value) -> Value {
        kube::core::cel::apply_defaults(&self.openapi, object)
    }

    /// Validates an object (and, on update, the transition from `old`).
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes: Vec<Cause> = self.validator.iter_errors(object).map(|e| schema_cause(&e)).collect();
        if let Err(errors) = kube::core::cel::Validator::new().validate(&self.openapi, object, old) {
            for error in errors.iter() {
                let value = lookup(object, &error.field_path);
                causes.push(Cause {
                    reason: error.reason.clone().unwrap_or_else(|| "FieldValueInvalid".into()),
                    message: format!("Invalid value: {}: {}", describe(value), error.message),
                    field: error.field_path.clone(),
                });
            }
        }
        causes
    }
}

/// The value at a dotted path (`spec.approval`), for messages.
fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = object;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        current = current.get(name)?;
        if let Some(i) = index {
            current = current.get(i)?;
        }
    }
    Some(current)
}

/// How kube-apiserver shows a value in `Invalid value: …`: objects and lists
/// by their type, scalars as JSON.
fn describe(value: Option<&Value>) -> String {
    match value {
        Some(Value::Object(_)) | None => "\"object\"".into(),
        Some(Value::Array(_)) => "\"array\"".into(),
        Some(other) => other.to_string(),
    }
}

/// A JSON pointer (`/spec/changes/0/to`) as a field path (`spec.changes[0].to`).
pub fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            path.push_str(&format!("[{segment}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

fn schema_cause(error: &jsonschema::ValidationError<'_>) -> Cause {
    let field = field_path(error.instance_path().as_str());
    let instance = error.instance().to_string();
    match error.kind() {
        ValidationErrorKind::Required { property } => Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: if field.is_empty() {
                property.as_str().unwrap_or_default().to_string()
            } else {
                format!("{field}.{}", property.as_str().unwrap_or_default())
            },
        },
        ValidationErrorKind::Enum { options } => {
            let supported: Vec<String> = options
                .as_array()
                .map(|o| o.iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            Cause {
                reason: "FieldValueNotSupported".into(),
                message: format!(
                    "Unsupported value: {instance}: supported values: {}",
                    supported.join(", ")
                ),
                field,
            }
        }
        ValidationErrorKind::MaxLength { limit } => Cause {
            reason: "FieldValueTooLong".into(),
            message: format!("Too long: may not be more than {limit} bytes"),
            field,
        },
        ValidationErrorKind::MaxItems { limit } => Cause {
            reason: "FieldValueTooMany".into(),
            message: format!("Too many: {}: must have at most {limit} items", count(error.instance())),
            field,
        },
        _ => Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {instance}: {field} in body {}", error_text(error)),
            field,
        },
    }
}

fn count(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

/// jsonschema's text for an error, without the instance it repeats.
fn error_text(error: &jsonschema::ValidationError<'_>) -> String {
    match error.kind() {
        ValidationErrorKind::Pattern { pattern } => format!("should match '{pattern}'"),
        ValidationErrorKind::MinLength { limit } => format!("should be at least {limit} chars long"),
        ValidationErrorKind::Minimum { limit } => format!("should be greater than or equal to {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("should be less than or equal to {limit}"),
        ValidationErrorKind::MinItems { limit } => format!("should have at least {limit} items"),
        _ => error.to_string(),
    }
}

/// Removes undeclared fields below `schema`, collecting their paths.
fn prune(schema: &Value, value: &mut Value, path: &str, unknown: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        && schema.get("properties").is_none()
    {
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
                match child_schema {
                    Some(child_schema) => {
                        if let Some(child) = map.get_mut(&key) {
                            prune(child_schema, child, &child_path, unknown);
                        }
                    }
                    None if preserve || (properties.is_none() && schema.get("type") != Some(&json!("object"))) => {}
                    None => {
                        map.remove(&key);
                        unknown.push(child_path);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item_schema, item, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

/// What a converted schema does with fields it does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownFields {
    /// Allows them: admission prunes them before validating, so the schema
    /// itself need not reject them.
    Allow,
    /// Rejects them, as `kubectl --validate=strict` does (unless the schema
    /// says `x-kubernetes-preserve-unknown-fields`).
    Reject,
}

/// Turns a CRD's OpenAPI v3 schema into a draft-4 JSON Schema that allows the
/// `nullable` values OpenAPI allows and treats undeclared fields as asked.
pub fn json_schema(schema: &Value, unknown: UnknownFields) -> Value {
    convert(schema, true, unknown)
}

fn convert(schema: &Value, root: bool, unknown: UnknownFields) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "properties" => Value::Object(
                value
                    .as_object()
                    .map(|props| {
                        props
                            .iter()
                            .map(|(name, sub)| (name.clone(), convert(sub, false, unknown)))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            "items" | "additionalProperties" if value.is_object() => convert(value, false, unknown),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .map(|subs| subs.iter().map(|sub| convert(sub, false, unknown)).collect())
                    .unwrap_or_default(),
            ),
            "not" => convert(value, false, unknown),
            k if k.starts_with("x-kubernetes-") || k == "nullable" => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if map.get("nullable") == Some(&Value::Bool(true))
        && let Some(Value::String(ty)) = out.get("type").cloned()
    {
        out.insert("type".into(), json!([ty, "null"]));
    }
    if root && let Some(Value::Object(props)) = out.get_mut("properties") {
        props.insert("apiVersion".into(), json!({"type": "string"}));
        props.insert("kind".into(), json!({"type": "string"}));
        props.insert("metadata".into(), json!({"type": "object"}));
    }
    let preserves_unknown = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if unknown == UnknownFields::Reject
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !preserves_unknown
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["mode"],
                    "properties": {
                        "mode": {"type": "string", "enum": ["A", "B"]},
                        "count": {"type": "integer", "default": 3},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }
            }
        }))
        .expect("valid schema")
    }

    #[test]
    fn undeclared_fields_are_pruned_and_reported_but_maps_and_free_form_fields_are_kept() {
        let mut object = json!({
            "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a", "whatever": 1},
            "spec": {"mode": "A", "bogus": 1, "labels": {"k": "v"}, "free": {"any": {"thing": 1}}},
            "extra": true
        });
        let unknown = schema().prune(&mut object);
        assert_eq!(unknown, vec!["extra".to_string(), "spec.bogus".to_string()]);
        assert_eq!(object["spec"]["labels"]["k"], "v");
        assert_eq!(object["spec"]["free"]["any"]["thing"], 1);
        assert_eq!(object["metadata"]["whatever"], 1);
        assert!(object.get("extra").is_none());
    }

    #[test]
    fn defaults_fill_missing_fields() {
        let object = schema().apply_defaults(&json!({"spec": {"mode": "A"}}));
        assert_eq!(object["spec"]["count"], 3);
    }

    #[test]
    fn problems_are_worded_like_kube_apiserver() {
        let causes = schema().validate(&json!({"spec": {"mode": "C"}}), None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.mode");
        assert_eq!(
            causes[0].message,
            r#"Unsupported value: "C": supported values: "A", "B""#
        );
        let causes = schema().validate(&json!({"spec": {}}), None);
        assert_eq!(causes[0].field, "spec.mode");
        assert_eq!(causes[0].message, "Required value");
    }

    #[test]
    fn json_pointers_become_field_paths() {
        assert_eq!(field_path("/spec/changes/0/to"), "spec.changes[0].to");
        assert_eq!(field_path(""), "");
    }
}
