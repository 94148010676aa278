//! The real `refit run` binary as a child process: started against a
//! kubeconfig with a config file in a scratch directory, its logs (JSON,
//! standard output and error) captured to a file the test can read at any
//! time, its `/metrics`, `/healthz` and `/readyz` asked over plain HTTP,
//! and stopped with SIGTERM.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::harness::{Scratch, free_port};

/// A running `refit run`.
pub struct Operator {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of the metrics server.
    pub metrics_address: String,
    scratch: Scratch,
}

impl Operator {
    /// Starts `refit run` with `config` as its config file and `args`
    /// added to the command line.
    pub fn start(kubeconfig: &Path, config: &str, args: &[&str]) -> Operator {
        let scratch = Scratch::new("refit-run");
        let config_path = scratch.0.join("refit.yaml");
        std::fs::write(&config_path, config).expect("config file");
        let log = std::fs::File::create(scratch.0.join("refit.log")).expect("log file");
        let metrics_address = format!("127.0.0.1:{}", free_port());
        let child = Command::new(refit_tests::refit_binary())
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .args(["--metrics-address", &metrics_address])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("REFIT_LOG_LEVEL")
            .env_remove("REFIT_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("refit run starts");
        Operator {
            child: Some(child),
            metrics_address,
            scratch,
        }
    }

    /// Everything the operator wrote so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.scratch.0.join("refit.log")).unwrap_or_default()
    }

    /// Rewrites the config file (for SIGHUP).
    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(self.scratch.0.join("refit.yaml"), config).expect("config file");
    }

    /// `GET path` on the metrics server: (status, body), or `None` while
    /// nothing answers.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(&self.metrics_address).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.metrics_address
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let status = answer.split_whitespace().nth(1)?.parse().ok()?;
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((status, body))
    }

    /// The value of one metric series (`name{labels}` exactly as exposed).
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics")?;
        body.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        self.wait_for("/readyz to answer 200", 30, || async {
            (self.get("/readyz")?.0 == 200).then_some(())
        })
        .await;
    }

    /// Polls `check` every 100 ms until it gives a value; fails the test
    /// with the operator's logs after `seconds`.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, seconds: u64, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if let Some(child) = self.child_exited() {
                panic!(
                    "refit run exited ({child}) while waiting for {what}; logs:\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {seconds}s waiting for {what}; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn child_exited(&self) -> Option<String> {
        // `try_wait` needs `&mut`; the pid's /proc entry tells without it.
        let child = self.child.as_ref()?;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).ok()?;
        stat.split_whitespace()
            .nth(2)
            .filter(|state| *state == "Z")
            .map(|_| "a zombie".to_owned())
    }

    /// Sends `signal` (e.g. `-HUP`) to the operator.
    pub fn signal(&self, signal: &str) {
        let Some(child) = &self.child else { return };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Kills the operator with SIGKILL, as a node failure or the OOM
    /// killer would: nothing runs after it. Returns the logs.
    pub fn kill(mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.logs()
    }

    /// Sends SIGTERM and waits (at most 20 s) for the exit; returns the
    /// exit code and the logs.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        self.signal("-TERM");
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            match child.try_wait().expect("wait") {
                Some(status) => break status.code(),
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("refit run did not stop within 20s of SIGTERM; logs:\n{}", self.logs());
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        (code, self.logs())
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The config file the tests use: the test registry over plain HTTP, a
/// budget that does not slow the tests, short waits for workload changes,
/// and `extra` lines appended (e.g. an `operator:` key).
pub fn config(registry: Option<&str>, extra: &str) -> String {
    let registries = match registry {
        Some(host) => format!("registries:\n  - host: {host}\n    insecure: true\n"),
        None => String::new(),
    };
    format!(
        "{registries}requests:\n  retries: 0\n  timeout: 5s\n  rateLimit: {{requestsPerSecond: 1000, burst: 1000}}\noperator:\n  logLevel: info\n  workloadDebounce: 1s\n{extra}"
    )
}
