//! What a test does when something it needs from the machine is missing: a
//! program (`kubectl`, `skopeo`, `docker-registry`, `kubernetes-validate`)
//! or a device (`/dev/full`). On a developer's machine it prints
//! `SKIPPED: …` and passes, so the rest of the suite still runs; when the
//! environment variable `CI` is set (`.ci/run` sets it, as CI services do)
//! it fails, so the gate never passes without the check.
//!
//! It lives here because this is the one crate both test crates use: the
//! `refit-tests` crate depends on it, and its own tests are in it. (The
//! other way round, this crate's tests depending on `refit-tests`, would be
//! a dependency cycle.)

use std::io;

/// Whether the tests run under CI (the `CI` environment variable is set).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// `what` (e.g. "skopeo is not installed") keeps this test from running
/// here; `hint` says how to get it. Outside CI it prints `SKIPPED` and
/// returns, and the caller returns at once.
///
/// # Panics
/// Under CI, naming `what` and `hint`.
pub fn unless_ci(what: &str, hint: &str) {
    assert!(
        !in_ci(),
        "{what} ({hint}); CI is set, so this test fails instead of skipping"
    );
    eprintln!("SKIPPED: {what} ({hint}); CI runs this test.");
}

/// The result of starting `program` (`Command::output`, `spawn`, or
/// tokio's): its value, or `None` when the program is not installed and
/// [`unless_ci`] lets the test skip.
///
/// # Panics
/// When the program is not installed under CI, or cannot be started for
/// another reason (that is a broken machine, not a missing tool).
pub fn when_not_installed<T>(started: io::Result<T>, program: &str, hint: &str) -> Option<T> {
    match started {
        Ok(value) => Some(value),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            unless_ci(&format!("{program} is not installed"), hint);
            None
        }
        Err(error) => panic!("cannot run {program} ({hint}): {error}"),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    // These tests read `CI` but never set it: the variable is process-wide
    // and other tests run in parallel. Each asserts what the environment it
    // finds requires.

    #[test]
    fn a_program_that_is_installed_runs() {
        let output = when_not_installed(Command::new("sh").args(["-c", "echo ok"]).output(), "sh", "POSIX")
            .expect("sh is installed");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "ok\n");
    }

    #[test]
    fn a_missing_program_skips_outside_ci_and_fails_under_ci() {
        let outcome = std::panic::catch_unwind(|| {
            let started = Command::new("refit-no-such-tool-7c9d8f6b5").output();
            when_not_installed(started, "refit-no-such-tool-7c9d8f6b5", "apt-get install nothing")
        });
        match outcome {
            Ok(skipped) => {
                assert!(!in_ci(), "under CI a missing program must fail the test");
                assert!(skipped.is_none());
            }
            Err(panic) => {
                assert!(in_ci(), "outside CI a missing program must skip, not fail");
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                assert!(
                    message.starts_with("refit-no-such-tool-7c9d8f6b5 is not installed (apt-get install nothing)"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "cannot run / (not a program): Permission denied")]
    fn a_program_that_cannot_be_started_for_another_reason_fails_everywhere() {
        // A directory: permission denied, not "not found".
        let _ = when_not_installed(Command::new("/").output(), "/", "not a program");
    }
}
