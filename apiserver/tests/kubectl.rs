//! kubectl against the server: `apply -f`, `get` with the CRD's printer
//! columns, `patch --type merge` (main resource and status subresource),
//! and a rejection printed the way kubectl prints a real server's.
//!
//! kubectl is installed by `.ci/run`; without it the test says SKIPPED and
//! passes, or fails under CI (`refit_apiserver::skip`).

use std::path::Path;

use refit_apiserver::{ApiServer, skip};

/// Runs kubectl; `None` when it is not installed outside CI.
async fn kubectl(server: &ApiServer, args: &[&str]) -> Option<(bool, String, String)> {
    let output = tokio::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", server.kubeconfig_path())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .await;
    let output = skip::when_not_installed(output, "kubectl", ".ci/run installs it")?;
    Some((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Runs kubectl and requires success; returns stdout.
async fn ok(server: &ApiServer, args: &[&str]) -> Option<String> {
    let (success, stdout, stderr) = kubectl(server, args).await?;
    assert!(success, "kubectl {args:?} failed:\n{stdout}{stderr}");
    Some(stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_gets_with_printer_columns_and_patches_a_change_ticket() {
    let server = ApiServer::with_refit_crds().await.expect("server starts");
    let namespace = std::env::temp_dir().join(format!("refit-apiserver-ns-{}.yaml", std::process::id()));
    std::fs::write(
        &namespace,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: storefront\n",
    )
    .expect("temp file");
    let namespace_arg = namespace.to_string_lossy().into_owned();
    let Some(created) = ok(&server, &["apply", "--validate=false", "-f", &namespace_arg]).await else {
        return;
    };
    assert_eq!(created.trim(), "namespace/storefront created");
    let _ = std::fs::remove_file(&namespace);

    let Some(applied) = ok(
        &server,
        &[
            "apply",
            "--validate=false",
            "-f",
            "examples/changeticket-storefront-web.yaml",
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(applied.trim(), "changeticket.refit.dev/deployment-web-8x2kq created");

    let status =
        r#"{"status":{"phase":"Scheduled","external":{"sink":"servicenow","system":"ServiceNow","id":"CHG0031234"}}}"#;
    let Some(patched) = ok(
        &server,
        &[
            "patch",
            "changeticket",
            "deployment-web-8x2kq",
            "-n",
            "storefront",
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            status,
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(patched.trim(), "changeticket.refit.dev/deployment-web-8x2kq patched");

    let Some(table) = ok(&server, &["get", "ct", "-n", "storefront"]).await else {
        return;
    };
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        lines[0],
        [
            "NAME", "WORKLOAD", "TYPE", "CHANGE", "PHASE", "WINDOW", "EXTERNAL", "AGE"
        ],
        "{table}"
    );
    assert_eq!(
        lines[1],
        [
            "deployment-web-8x2kq",
            "web",
            "Rollout",
            "nginx",
            "1.29.8-alpine→1.31.4-alpine",
            "Scheduled",
            "weekend-nights",
            "CHG0031234",
            lines[1][8]
        ],
        "{table}"
    );
    assert!(lines[1][8].ends_with('s'), "AGE is an age: {table}");

    let reason = r#"{"spec":{"approval":{"reason":"approved again at CAB"}}}"#;
    let Some(patched) = ok(
        &server,
        &[
            "patch",
            "ct",
            "deployment-web-8x2kq",
            "-n",
            "storefront",
            "--type",
            "merge",
            "-p",
            reason,
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(patched.trim(), "changeticket.refit.dev/deployment-web-8x2kq patched");
    let Some(read_back) = ok(
        &server,
        &[
            "get",
            "ct",
            "deployment-web-8x2kq",
            "-n",
            "storefront",
            "-o",
            "jsonpath={.spec.approval.reason}",
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(read_back, "approved again at CAB");

    let Some((success, _, stderr)) = kubectl(
        &server,
        &[
            "patch",
            "ct",
            "deployment-web-8x2kq",
            "-n",
            "storefront",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"type":"Teleport"}}"#,
        ],
    )
    .await
    else {
        return;
    };
    assert!(!success);
    assert!(
        stderr.contains("The ChangeTicket \"deployment-web-8x2kq\" is invalid"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.type: Unsupported value: \"Teleport\""),
        "{stderr}"
    );
}
