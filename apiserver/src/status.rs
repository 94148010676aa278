//! Errors as the Kubernetes API reports them: a `meta/v1` `Status` object
//! with `status: Failure`, a machine-readable `reason`, the HTTP `code` and a
//! message worded like kube-apiserver's, so clients (kube's `ErrorResponse`,
//! kubectl's error printer) treat them exactly as they treat a real server's.

use serde_json::{Value, json};

/// One field-level problem (`details.causes[]` of a `Status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldManagerConflict`, …
    pub reason: String,
    /// The problem, without the field path.
    pub message: String,
    /// The field path (`spec.changes[0].to`).
    pub field: String,
}

/// An API error, rendered as a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code (also `Status.code`).
    pub code: u16,
    /// `Status.reason` (`NotFound`, `AlreadyExists`, `Conflict`, …).
    pub reason: &'static str,
    /// `Status.message`.
    pub message: String,
    /// `Status.details`: name, group, kind and causes, when known.
    pub details: Option<Value>,
}

/// What an error is about, for `Status.details` and messages.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// API group (`""` for core).
    pub group: &'a str,
    /// The plural resource (`changetickets`); real servers put it in
    /// `details.kind` for NotFound/AlreadyExists/Conflict.
    pub plural: &'a str,
    /// The object name.
    pub name: &'a str,
}

impl Subject<'_> {
    /// `changetickets.refit.dev` or `pods`, as messages spell a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self) -> Value {
        let mut details = json!({"name": self.name, "kind": self.plural});
        if !self.group.is_empty() {
            details["group"] = json!(self.group);
        }
        details
    }
}

impl ApiError {
    /// An error with just a code, reason and message.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 for an object that does not exist.
    pub fn not_found(subject: Subject<'_>) -> ApiError {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{}\" not found", subject.qualified(), subject.name),
            details: Some(subject.details()),
        }
    }

    /// 404 for a path the server does not serve.
    pub fn no_route(path: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409 for a create of a name that exists.
    pub fn already_exists(subject: Subject<'_>) -> ApiError {
        ApiError {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} \"{}\" already exists", subject.qualified(), subject.name),
            details: Some(subject.details()),
        }
    }

    /// 409 for an update against a stale resourceVersion.
    pub fn conflict(subject: Subject<'_>) -> ApiError {
        ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                subject.qualified(),
                subject.name
            ),
            details: Some(subject.details()),
        }
    }

    /// 422 with field causes, worded like kube-apiserver's validation errors.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> ApiError {
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let rendered: Vec<String> = causes
            .iter()
            .map(|cause| {
                if cause.field.is_empty() {
                    cause.message.clone()
                } else {
                    format!("{}: {}", cause.field, cause.message)
                }
            })
            .collect();
        let list = if rendered.len() == 1 {
            rendered.join("")
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let mut details = json!({
            "name": name,
            "kind": kind,
            "causes": causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect::<Vec<_>>(),
        });
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{qualified_kind} \"{name}\" is invalid: {list}"),
            details: Some(details),
        }
    }

    /// 400 for a request the server cannot interpret.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// 405 for a verb a resource does not support.
    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    /// 410 for a resourceVersion or continue token older than the history.
    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    /// 415 for a patch type the resource does not accept.
    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(415, "UnsupportedMediaType", message)
    }

    /// 500, for injected faults and broken invariants.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cause_is_written_without_brackets_and_several_with() {
        let cause = |field: &str| Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: field.into(),
        };
        let one = ApiError::invalid("ChangeTicket", "refit.dev", "t", vec![cause("spec.type")]);
        assert_eq!(
            one.message,
            "ChangeTicket.refit.dev \"t\" is invalid: spec.type: Required value"
        );
        let two = ApiError::invalid("ChangeTicket", "refit.dev", "t", vec![cause("spec.a"), cause("spec.b")]);
        assert_eq!(
            two.message,
            "ChangeTicket.refit.dev \"t\" is invalid: [spec.a: Required value, spec.b: Required value]"
        );
        assert_eq!(two.to_status()["details"]["causes"][1]["field"], "spec.b");
    }
}
