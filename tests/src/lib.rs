//! Shared helpers for refit's integration tests: where the repository is,
//! the committed CRDs and a stand-in for the API server's admission checks,
//! and the `refit` binary.
//!
//! [`Admission`] validates objects the way a Kubernetes API server does for
//! refit's CRDs: the OpenAPI schema (types, enums, patterns, limits, required
//! fields, unknown fields rejected as `kubectl --validate=strict` does) and
//! the CEL rules (`x-kubernetes-validations`, through kube's `cel` feature),
//! with and without an old object for transition rules.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use refit_apiserver::admission::{UnknownFields, json_schema};
use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives one level below the repository root")
        .to_path_buf()
}

/// Reads a YAML file of the repository (one document) into JSON.
pub fn read_yaml(relative: &str) -> Value {
    let path = repo_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// The committed CRD for a plural (`changetickets`), as JSON.
pub fn committed_crd(plural: &str) -> Value {
    read_yaml(&format!("crds/refit.dev_{plural}.yaml"))
}

/// Admission checks for one CRD version, as an API server runs them.
#[derive(Debug)]
pub struct Admission {
    /// `openAPIV3Schema` exactly as committed (what CEL rules are read from).
    schema: Value,
    /// The same schema as strict JSON Schema (draft 4).
    json_schema: jsonschema::Validator,
}

impl Admission {
    /// Admission for the committed CRD of `plural`.
    pub fn for_plural(plural: &str) -> Admission {
        let crd = committed_crd(plural);
        let schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
        assert!(
            schema.is_object(),
            "crds/refit.dev_{plural}.yaml has no openAPIV3Schema"
        );
        let json_schema = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&json_schema(&schema, UnknownFields::Reject))
            .unwrap_or_else(|e| panic!("the openAPIV3Schema of {plural} is not a valid JSON schema: {e}"));
        Admission { schema, json_schema }
    }

    /// Validates a new object. Returns every problem as `path: message`,
    /// empty when the object would be admitted.
    pub fn create(&self, object: &Value) -> Vec<String> {
        self.check(object, None)
    }

    /// Validates an update of `old` to `new` (transition rules included).
    pub fn update(&self, old: &Value, new: &Value) -> Vec<String> {
        self.check(new, Some(old))
    }

    fn check(&self, object: &Value, old: Option<&Value>) -> Vec<String> {
        let mut problems: Vec<String> = self
            .json_schema
            .iter_errors(object)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect();
        if let Err(errors) = kube::core::cel::Validator::new().validate(&self.schema, object, old) {
            problems.extend(errors.iter().map(ToString::to_string));
        }
        problems
    }
}

/// The `refit` binary, built once per test process with the same cargo and
/// profile that runs the tests.
pub fn refit_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let output = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "refit",
                "--bin",
                "refit",
                "--message-format=json",
            ])
            .current_dir(repo_root())
            .output()
            .expect("cargo can be run");
        assert!(
            output.status.success(),
            "cargo build -p refit failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "refit")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported the refit executable")
    })
}

/// Runs `refit` with `args`; returns (exit code, stdout, stderr).
pub fn run_refit(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(refit_binary())
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("the refit binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs an external tool the tests need (installed by `.ci/run`). Returns
/// `None` when the tool is not installed and this is not CI, so a developer
/// without it can still run the suite; under `CI` a missing tool fails the
/// test, so the gate never passes without the check (see
/// [`refit_apiserver::skip`]).
pub fn run_tool(program: &str, args: &[&str], install_hint: &str) -> Option<std::process::Output> {
    let started = Command::new(program).args(args).current_dir(repo_root()).output();
    refit_apiserver::skip::when_not_installed(started, program, install_hint)
}
