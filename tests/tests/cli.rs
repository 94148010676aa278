//! The `refit` command line as a user meets it: the commands that exist do
//! their job, and the ones not built yet say so and fail instead of
//! pretending.

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
fn commands_not_built_yet_say_so_and_exit_2_with_no_output() {
    for (args, issue) in [
        (&["run"][..], "#7"),
        (&["run", "--config", "/etc/refit/config.yaml"][..], "#7"),
    ] {
        let (code, stdout, stderr) = run_refit(args);
        assert_eq!(code, 2, "refit {args:?} must fail");
        assert!(
            stdout.is_empty(),
            "refit {args:?} printed output it cannot stand behind: {stdout}"
        );
        assert!(
            stderr.contains(&format!("refit {}` is not implemented yet", args[0])) && stderr.contains(issue),
            "refit {args:?} does not say it is missing: {stderr}"
        );
    }
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
