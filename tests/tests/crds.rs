//! The committed `crds/` are exactly what the Rust types generate, and they
//! have the shape `kubectl` users rely on: names, short names, the `refit`
//! category, printer columns, descriptions, conditions as a list-map.

use std::collections::BTreeSet;

use refit::cli::crd::{REGENERATE_COMMAND, render_all, render_stream};
use refit_tests::{committed_crd, repo_root, run_refit};
use serde_json::Value;

#[test]
fn committed_crds_match_the_rust_types() {
    let crds_dir = repo_root().join("crds");
    let mut stale = Vec::new();
    for crd in render_all().expect("CRDs render") {
        let path = crds_dir.join(&crd.file_name);
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == crd.yaml => {}
            Ok(_) => stale.push(format!("crds/{} differs from the Rust types", crd.file_name)),
            Err(_) => stale.push(format!("crds/{} is missing", crd.file_name)),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nThe CRDs in crds/ are out of date. Regenerate them with:\n\n    {REGENERATE_COMMAND}\n",
        stale.join("\n")
    );
}

#[test]
fn crds_holds_no_file_the_types_do_not_generate() {
    let generated: BTreeSet<String> = render_all()
        .expect("CRDs render")
        .into_iter()
        .map(|crd| crd.file_name)
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(repo_root().join("crds"))
        .expect("crds/ exists")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let extra: Vec<&String> = on_disk.difference(&generated).collect();
    assert!(extra.is_empty(), "crds/ holds files no refit kind generates: {extra:?}");
}

#[test]
fn refit_crd_prints_every_crd_as_one_yaml_stream() {
    let (code, stdout, stderr) = run_refit(&["crd"]);
    assert_eq!(code, 0, "refit crd failed: {stderr}");
    assert_eq!(stdout, render_stream().expect("CRDs render"));

    let committed: Vec<String> = ["changetickets", "changewindows", "driftreports", "patchpolicies"]
        .iter()
        .map(|plural| {
            std::fs::read_to_string(repo_root().join(format!("crds/refit.dev_{plural}.yaml"))).expect("committed CRD")
        })
        .collect();
    assert_eq!(stdout, committed.join("---\n"), "refit crd output differs from crds/");

    let documents: Vec<Value> = serde_saphyr::from_multiple(&stdout).expect("a multi-document YAML stream");
    let names: Vec<&str> = documents
        .iter()
        .filter_map(|doc| doc["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "changetickets.refit.dev",
            "changewindows.refit.dev",
            "driftreports.refit.dev",
            "patchpolicies.refit.dev"
        ]
    );
}

#[test]
fn refit_crd_output_dir_writes_one_file_per_kind() {
    let dir = std::env::temp_dir().join(format!("refit-crd-test-{}", std::process::id()));
    let (code, _, stderr) = run_refit(&["crd", "--output-dir", dir.to_str().expect("utf-8 temp dir")]);
    assert_eq!(code, 0, "refit crd --output-dir failed: {stderr}");
    for crd in render_all().expect("CRDs render") {
        let written = std::fs::read_to_string(dir.join(&crd.file_name)).expect("file written");
        assert_eq!(written, crd.yaml);
    }
    std::fs::remove_dir_all(&dir).ok();
}

struct Expected {
    plural: &'static str,
    kind: &'static str,
    short_name: &'static str,
    scope: &'static str,
    columns: &'static [&'static str],
}

/// Scopes, short names and printer columns, as the README's "The API at a
/// glance" and `kubectl get` users rely on them.
const EXPECTED: [Expected; 4] = [
    Expected {
        plural: "changewindows",
        kind: "ChangeWindow",
        short_name: "cw",
        scope: "Cluster",
        columns: &["Open", "Next-Open", "Timezone", "Active", "Age"],
    },
    Expected {
        plural: "patchpolicies",
        kind: "PatchPolicy",
        short_name: "pp",
        scope: "Cluster",
        columns: &["Mode", "Window", "Workloads", "Outdated", "Tickets", "Last-Scan", "Age"],
    },
    Expected {
        plural: "driftreports",
        kind: "DriftReport",
        short_name: "drift",
        scope: "Namespaced",
        columns: &[
            "Workload", "Kind", "Outdated", "Drift", "Base", "Ticket", "Opt-Out", "Checked",
        ],
    },
    Expected {
        plural: "changetickets",
        kind: "ChangeTicket",
        short_name: "ct",
        scope: "Namespaced",
        columns: &[
            "Workload",
            "Type",
            "Change",
            "Phase",
            "Window",
            "External",
            "Age",
            "Scheduled-For",
        ],
    },
];

#[test]
fn each_kind_has_its_scope_short_name_category_and_columns() {
    for expected in &EXPECTED {
        let crd = committed_crd(expected.plural);
        let spec = &crd["spec"];
        assert_eq!(spec["group"], "refit.dev");
        assert_eq!(spec["names"]["kind"], expected.kind);
        assert_eq!(spec["scope"], expected.scope, "{}", expected.kind);
        assert_eq!(spec["names"]["shortNames"], serde_json::json!([expected.short_name]));
        assert_eq!(
            spec["names"]["categories"],
            serde_json::json!(["refit"]),
            "kubectl get refit lists {}",
            expected.kind
        );

        let version = &spec["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["served"], true);
        assert_eq!(version["storage"], true);
        assert_eq!(
            version["subresources"]["status"],
            serde_json::json!({}),
            "{} has a status subresource",
            expected.kind
        );
        let columns: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .expect("printer columns")
            .iter()
            .filter_map(|column| column["name"].as_str())
            .collect();
        assert_eq!(columns, expected.columns, "{} columns", expected.kind);
    }
}

#[test]
fn printer_columns_point_at_fields_that_exist() {
    for expected in &EXPECTED {
        let crd = committed_crd(expected.plural);
        let version = &crd["spec"]["versions"][0];
        let schema = &version["schema"]["openAPIV3Schema"];
        for column in version["additionalPrinterColumns"].as_array().expect("columns") {
            let path = column["jsonPath"].as_str().expect("jsonPath");
            if path == ".metadata.creationTimestamp" {
                continue;
            }
            let mut node = schema;
            for segment in path.trim_start_matches('.').split('.') {
                node = &node["properties"][segment];
                assert!(
                    node.is_object(),
                    "{}: column {} points at {path}, which the schema lacks",
                    expected.kind,
                    column["name"]
                );
            }
        }
    }
}

#[test]
fn status_has_conditions_keyed_by_type_and_an_observed_generation() {
    for expected in &EXPECTED {
        let crd = committed_crd(expected.plural);
        let status = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
        let conditions = &status["conditions"];
        assert_eq!(conditions["x-kubernetes-list-type"], "map", "{}", expected.kind);
        assert_eq!(
            conditions["x-kubernetes-list-map-keys"],
            serde_json::json!(["type"]),
            "{}",
            expected.kind
        );
        assert_eq!(status["observedGeneration"]["type"], "integer", "{}", expected.kind);
    }
}

/// `kubectl explain` shows these descriptions; a field without one is a
/// field a user has to guess about.
#[test]
fn every_field_has_a_description() {
    fn walk(node: &Value, path: &str, missing: &mut Vec<String>) {
        if let Some(properties) = node["properties"].as_object() {
            for (name, child) in properties {
                let child_path = format!("{path}.{name}");
                if child
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    missing.push(child_path.clone());
                }
                walk(child, &child_path, missing);
            }
        }
        if node["items"].is_object() {
            walk(&node["items"], &format!("{path}[]"), missing);
        }
    }
    for expected in &EXPECTED {
        let crd = committed_crd(expected.plural);
        let mut missing = Vec::new();
        walk(
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            expected.kind,
            &mut missing,
        );
        assert!(missing.is_empty(), "fields without a description: {missing:?}");
    }
}

/// The CRDs are valid `apiextensions.k8s.io/v1` objects for the oldest and
/// the newest Kubernetes minor refit supports (README), checked by an
/// independent validator with unknown fields rejected.
#[test]
fn crds_are_valid_for_every_supported_kubernetes_minor() {
    for version in ["1.33.0", "1.37.0"] {
        let mut args = vec!["--strict", "--kubernetes-version", version];
        let files: Vec<String> = EXPECTED
            .iter()
            .map(|e| format!("crds/refit.dev_{}.yaml", e.plural))
            .collect();
        args.extend(files.iter().map(String::as_str));
        let Some(output) = refit_tests::run_tool("kubernetes-validate", &args, "pip install kubernetes-validate")
        else {
            return;
        };
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "kubernetes-validate rejects the CRDs for {version}:\n{report}"
        );
        assert_eq!(
            report.matches(" passed ").count(),
            files.len(),
            "every CRD was checked:\n{report}"
        );
    }
}
