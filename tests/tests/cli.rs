//! The `refit` command line as a user meets it: every command does its job
//! or fails with a message that names what is wrong.

use refit_tests::run_refit;

#[test]
fn version_names_the_release_and_the_api_version() {
    let (code, stdout, _) = run_refit(&["version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!("refit {} (refit.dev/v1alpha1)\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn version_as_json_is_for_scripts() {
    let (code, stdout, _) = run_refit(&["version", "--output", "json"]);
    assert_eq!(code, 0);
    let parsed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(parsed["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(parsed["apiVersion"], "refit.dev/v1alpha1");
}

#[test]
fn run_with_a_config_file_that_does_not_exist_names_it_and_exits_2() {
    let (code, stdout, stderr) = run_refit(&["run", "--config", "/etc/refit/no-such-config.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("cannot read the config file /etc/refit/no-such-config.yaml"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let (code, _, stderr) = run_refit(&["approve"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unrecognized subcommand 'approve'"), "{stderr}");
}

#[test]
fn help_lists_every_command() {
    let (code, stdout, _) = run_refit(&["--help"]);
    assert_eq!(code, 0);
    for command in ["run", "scan", "window", "crd", "version"] {
        assert!(
            stdout.contains(&format!("  {command} ")),
            "--help does not list {command}:\n{stdout}"
        );
    }
}

#[test]
fn crd_output_dir_that_cannot_be_created_names_the_path() {
    let (code, _, stderr) = run_refit(&["crd", "--output-dir", "/proc/refit-cannot-write-here"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot write /proc/refit-cannot-write-here"),
        "{stderr}"
    );
}
