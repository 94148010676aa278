//! `refit scan` as CI meets it: the quickstart's three outputs against
//! golden files, SARIF checked against the SARIF 2.1.0 schema, exit codes,
//! stdin and lists, policies, and errors that name the file and line.
//!
//! Golden files live in `tests/golden/scan/`; after an intended change,
//! regenerate them with `REFIT_BLESS=1 cargo test -p refit-tests --test scan`
//! and review the diff.

use std::{io::Write, path::Path, process::Stdio};

use refit_tests::{refit_binary, repo_root, run_refit};
use serde_json::Value;

/// The instant the golden files were made at: ages in reasons depend on it.
const AT: &str = "2026-11-28T12:00:00Z";

fn quickstart(extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "scan",
        "examples/quickstart/manifests",
        "--oci-layout",
        "examples/quickstart/registry",
        "--at",
        AT,
    ];
    args.extend_from_slice(extra);
    run_refit(&args)
}

/// Compares with a golden file, or writes it when `REFIT_BLESS` is set.
fn assert_golden(name: &str, actual: &str) {
    let path = repo_root().join("tests/golden/scan").join(name);
    if std::env::var_os("REFIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("golden directory");
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with REFIT_BLESS=1 to create it", path.display()));
    pretty_assertions::assert_eq!(
        expected,
        actual,
        "{} differs (REFIT_BLESS=1 regenerates it)",
        path.display()
    );
}

#[test]
fn the_quickstart_table_shows_an_outdated_tag_a_moved_base_an_up_to_date_image_and_an_unknown() {
    let (code, stdout, stderr) = quickstart(&[]);
    assert_eq!(code, 0, "findings alone do not fail without --fail-on: {stderr}");
    assert_golden("quickstart.txt", &stdout);
    for expected in ["Outdated", "BaseOutdated", "UpToDate", "Unknown"] {
        assert!(stdout.contains(expected), "the quickstart shows {expected}");
    }
}

#[test]
fn the_quickstart_json_keeps_the_documented_schema() {
    let (code, stdout, _) = quickstart(&["--output", "json"]);
    assert_eq!(code, 0);
    assert_golden("quickstart.json", &stdout);
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["schemaVersion"], 1);
    let web = report["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["name"] == "web")
        .expect("the web Deployment");
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["namespace"], "storefront");
    assert_eq!(web["file"], "examples/quickstart/manifests/web.yaml");
    let containers = web["containers"].as_array().expect("containers");
    let state = |name: &str| {
        containers
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"].clone())
    };
    assert_eq!(state("web"), Some("Outdated".into()));
    assert_eq!(state("app"), Some("BaseOutdated".into()));
    assert_eq!(state("exporter"), Some("Unknown".into()));
    let web_container = &containers[0];
    assert!(
        web_container["candidate"]
            .as_str()
            .is_some_and(|c| c.starts_with("docker.io/library/nginx:1.31.4-alpine@sha256:")),
        "{web_container}"
    );
    assert_eq!(containers[2]["candidate"], Value::Null);
    for container in containers {
        for field in ["name", "image", "state", "candidate", "reason"] {
            assert!(container.get(field).is_some(), "{field} is part of schema version 1");
        }
    }
}

#[test]
fn the_quickstart_sarif_is_valid_sarif_2_1_0_pointing_at_image_lines() {
    let (code, stdout, _) = quickstart(&["--output", "sarif"]);
    assert_eq!(code, 0);
    assert_golden("quickstart.sarif", &stdout);
    let log: Value = serde_json::from_str(&stdout).expect("JSON");
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/data/sarif-schema-2.1.0.json")).expect("schema file"),
    )
    .expect("schema JSON");
    // The published schema's pattern for `language` has a stray `]`
    // (`…{2}]?$`), which the validator's meta-schema check rejects as a
    // regex; the file stays verbatim and the one pattern is mended here.
    let mut mended = 0;
    for definition in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][definition]["properties"]["language"]["pattern"];
        if *language == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
            *language = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
            mended += 1;
        }
    }
    assert_eq!(
        mended, 2,
        "the known erratum is in run.language and toolComponent.language"
    );
    let validator = jsonschema::draft7::new(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not valid SARIF 2.1.0:\n{}", errors.join("\n"));

    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        3,
        "Outdated, BaseOutdated and Unknown; UpToDate is no result"
    );
    let web_yaml =
        std::fs::read_to_string(repo_root().join("examples/quickstart/manifests/web.yaml")).expect("manifest");
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        let line = region["startLine"].as_u64().expect("line") as usize;
        let column = region["startColumn"].as_u64().expect("column") as usize;
        let text = web_yaml.lines().nth(line - 1).expect("the line exists");
        assert!(
            text[column - 1..].starts_with(|c: char| c.is_ascii_alphanumeric()),
            "{text}"
        );
        assert!(
            text.trim_start().starts_with("image:"),
            "result points at an image field: {text}"
        );
    }
    let outdated = results
        .iter()
        .find(|r| r["ruleId"] == "Outdated")
        .expect("an Outdated result");
    assert_eq!(outdated["level"], "warning");
    assert_eq!(
        outdated["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "examples/quickstart/manifests/web.yaml"
    );
}

#[test]
fn fail_on_turns_findings_into_exit_code_1() {
    let (code, _, stderr) = quickstart(&["--fail-on", "outdated"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("1 container(s) matched --fail-on"), "{stderr}");
    let (code, _, _) = quickstart(&["--fail-on", "any"]);
    assert_eq!(code, 1);
    let (code, _, _) = quickstart(&["--fail-on", "drift,runtime"]);
    assert_eq!(code, 0, "nothing drifted and no sidecar baseline is set");
    let (code, _, _) = quickstart(&["--fail-on", "unknown"]);
    assert_eq!(code, 1, "the exporter could not be checked");
}

#[test]
fn a_policy_file_sets_the_rules() {
    let (code, stdout, stderr) = quickstart(&[
        "--policy",
        "examples/patchpolicy-storefront-web.yaml",
        "--output",
        "json",
        "--verbose",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let web = report["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["name"] == "web")
        .cloned()
        .expect("web");
    let containers = web["containers"].as_array().expect("containers");
    // The exporter's registry is not governed by the storefront policy.
    assert_eq!(
        containers
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["web", "app"]
    );
    assert!(
        stderr.contains("not checked: quay.io/prometheus/nginx-exporter:1.4.2 (no rule of the policy matches it)"),
        "{stderr}"
    );
    // allowTags keeps nginx on plain `-alpine` tags; the soak time (3d) is
    // long past for 1.31.4-alpine.
    assert!(
        containers[0]["candidate"]
            .as_str()
            .is_some_and(|c| c.contains(":1.31.4-alpine@")),
        "{}",
        containers[0]
    );
    assert_eq!(containers[1]["state"], "BaseOutdated");
}

#[test]
fn other_kinds_are_skipped_and_said_so_in_verbose_mode() {
    let (code, _, stderr) = quickstart(&["--verbose"]);
    assert_eq!(code, 0);
    assert!(
        stderr
            .contains("skipped Service cache in examples/quickstart/manifests/cache.yaml: not a workload refit checks"),
        "{stderr}"
    );
}

fn scan_stdin(input: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["scan", "-", "--oci-layout", "examples/quickstart/registry", "--at", AT];
    args.extend_from_slice(extra);
    let mut child = std::process::Command::new(refit_binary())
        .args(&args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("refit runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("written");
    let output = child.wait_with_output().expect("refit finishes");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn helm_template_output_on_stdin_and_kubectl_lists_are_read() {
    let input = "\
---
# Source: storefront/templates/jobs.yaml
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cache-warmup
spec:
  schedule: \"*/30 * * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: warmup
              image: redis:8.2.2-alpine
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: debug, namespace: storefront}
    spec:
      containers:
        - {name: shell, image: \"nginx:1.31.4-alpine\"}
";
    let (code, stdout, stderr) = scan_stdin(input, &["--output", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let workloads = report["workloads"].as_array().expect("workloads");
    assert_eq!(workloads.len(), 2);
    assert_eq!(workloads[0]["kind"], "CronJob");
    assert_eq!(workloads[0]["file"], "-");
    assert_eq!(
        workloads[0]["containers"][0]["state"], "Outdated",
        "8.2.3-alpine exists"
    );
    assert_eq!(workloads[0]["containers"][0]["line"], 16);
    assert_eq!(workloads[1]["kind"], "Pod");
    assert_eq!(workloads[1]["containers"][0]["state"], "UpToDate");
}

#[test]
fn broken_yaml_names_the_file_and_line_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("refit-scan-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let file = dir.join("broken.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [web\n",
    )
    .expect("written");
    let (code, stdout, stderr) = run_refit(&[
        "scan",
        file.to_str().expect("utf-8"),
        "--oci-layout",
        "examples/quickstart/registry",
    ]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with(&format!("error: {}:4: ", file.display())),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_and_input_errors_exit_2_with_a_message_naming_the_problem() {
    let (code, _, stderr) = run_refit(&["scan", "no/such/dir"]);
    assert_eq!(code, 2);
    assert_eq!(stderr, "error: no/such/dir: no such file or directory\n");

    let (code, _, stderr) = run_refit(&[
        "scan",
        "examples/quickstart/manifests",
        "--policy",
        "examples/changewindow-weekend-nights.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is a ChangeWindow, not a PatchPolicy"), "{stderr}");

    let (code, _, stderr) = run_refit(&[
        "scan",
        "examples/quickstart/manifests",
        "--oci-layout",
        "no/such/layout",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("OCI layout no/such/layout: not a directory"),
        "{stderr}"
    );

    let (code, _, stderr) = run_refit(&["scan"]);
    assert_eq!(code, 2, "a path is required");
    assert!(stderr.contains("<PATH>"), "{stderr}");
}

#[test]
fn an_invalid_policy_names_the_field() {
    let dir = std::env::temp_dir().join(format!("refit-scan-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: refit.dev/v1alpha1\nkind: PatchPolicy\nmetadata: {name: ci}\nspec:\n  images:\n    - match: \"**\"\n      allowTags: \"^(1\\\\.\"\n",
    )
    .expect("written");
    let (code, _, stderr) = run_refit(&[
        "scan",
        "examples/quickstart/manifests",
        "--oci-layout",
        "examples/quickstart/registry",
        "--policy",
        policy.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: spec.images[0].allowTags: `^(1\\.` is not a valid regular expression",
            policy.display()
        )),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Writes a one-rule policy for nginx with this constraint and scans the
/// quickstart with it.
fn scan_with_nginx_constraint(constraint: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "refit-scan-constraint-{}-{}",
        std::process::id(),
        constraint.len()
    ));
    std::fs::create_dir_all(&dir).expect("scratch");
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "apiVersion: refit.dev/v1alpha1\nkind: PatchPolicy\nmetadata: {{name: ci}}\nspec:\n  images:\n    - match: nginx\n      update: minor\n      constraint: {constraint:?}\n"
        ),
    )
    .expect("written");
    let result = quickstart(&["--policy", policy.to_str().expect("utf-8"), "--output", "json"]);
    std::fs::remove_dir_all(&dir).ok();
    result
}

#[test]
fn a_policy_constraint_is_read_as_flux_and_helm_write_it() {
    // `!=` and `||` are Masterminds syntax (Cargo's, used before, had neither).
    let (code, stdout, stderr) = scan_with_nginx_constraint("!=1.31.4, <1.32 || >=2");
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let nginx = report["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .flat_map(|w| w["containers"].as_array().cloned().unwrap_or_default())
        .find(|c| c["image"].as_str().is_some_and(|i| i.starts_with("nginx:")))
        .expect("the nginx container");
    assert!(
        nginx["candidate"]
            .as_str()
            .is_some_and(|c| c.contains(":1.31.3-alpine@")),
        "{nginx}"
    );

    let (code, _, stderr) = scan_with_nginx_constraint("> one");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("spec.images[0].constraint: `> one` is not a semver range (`one` is not a version"),
        "{stderr}"
    );
}

#[test]
fn a_policy_whose_pattern_matches_no_image_is_refused_with_the_patterns_to_use() {
    let dir = std::env::temp_dir().join(format!("refit-scan-star-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let policy = dir.join("policy.yaml");
    // `*` looks like "every image", but it is one path segment and would
    // silently govern nothing.
    std::fs::write(
        &policy,
        "apiVersion: refit.dev/v1alpha1\nkind: PatchPolicy\nmetadata: {name: ci}\nspec:\n  images:\n    - match: \"*\"\n      update: patch\n",
    )
    .expect("written");
    let (code, stdout, stderr) = run_refit(&[
        "scan",
        "examples/quickstart/manifests",
        "--oci-layout",
        "examples/quickstart/registry",
        "--policy",
        policy.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "error: {}: spec.images[0].match: `*` matches no image: `*` and `?` stay within one path segment, and every repository has at least two (`docker.io/library/nginx`); use `**` for every image or `docker.io/library/*` for Docker Hub's official images\n",
            policy.display()
        )
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_quickstart_registry_is_small_and_every_blob_matches_its_digest() {
    let root = repo_root().join("examples/quickstart/registry");
    let mut total = 0u64;
    let mut blobs = 0;
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("readable");
            total += bytes.len() as u64;
            if path.parent().and_then(Path::file_name).is_some_and(|n| n == "sha256") {
                blobs += 1;
                use sha2::{Digest as _, Sha256};
                let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(
                    Some(hex.as_str()),
                    path.file_name().and_then(|n| n.to_str()),
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert!(blobs > 0);
    assert!(
        total < 16 * 1024,
        "the quickstart registry stays a few KB, is {total} bytes"
    );
}

#[test]
fn the_readme_shows_the_first_command_and_its_real_output() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let section = readme.split("## Two commands").nth(1).expect("the section");
    assert!(
        section.contains(
            "cargo run -p refit -- scan examples/quickstart/manifests --oci-layout examples/quickstart/registry\n"
        ),
        "the first command is the quickstart scan"
    );
    let shown = section
        .split("```text\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("an output block");
    let (code, stdout, _) = run_refit(&[
        "scan",
        "examples/quickstart/manifests",
        "--oci-layout",
        "examples/quickstart/registry",
    ]);
    assert_eq!(code, 0);
    pretty_assertions::assert_eq!(shown, stdout, "README.md shows what the command prints");
}
