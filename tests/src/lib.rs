//! Helpers shared by the end-to-end tests (see `e2e/`): the path of the built `brickship` binary,
//! a local workspace served by that binary in its own process, and its `/_local/` control plane.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .expect("tests/ has a parent")
}

/// The `brickship` binary built with this test (`target/<profile>/brickship`).
///
/// Cargo builds every workspace binary before running the workspace's tests; when the tests crate
/// is run alone (`cargo test -p tests`), build the binary first (`cargo build -p brickship`).
pub fn brickship_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/brickship
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("brickship{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "`{}` is missing: run `cargo build -p brickship` (or `cargo xtask test`)",
        bin.display()
    );
    bin
}

/// The Python interpreter of the test virtual environment made by `cargo xtask setup`.
pub fn python() -> PathBuf {
    let python = std::env::var_os("BRICKSHIP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/venv/bin/python"));
    assert!(
        python.exists(),
        "`{}` is missing: run `cargo xtask setup` to create the Python test environment",
        python.display()
    );
    python
}

/// An HTTP client for the tests (rustls with ring, installed once per process).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// A local workspace served by `brickship workspace serve` in its own process; killed on drop.
pub struct ServedWorkspace {
    child: Child,
    url: String,
    state: tempfile::TempDir,
}

impl ServedWorkspace {
    /// Starts a workspace on a free loopback port with runs advancing at `run_speed`.
    pub fn start(run_speed: f64) -> Self {
        Self::start_with(run_speed, &[])
    }

    /// Like [`ServedWorkspace::start`] with extra `serve` arguments (e.g. `--token`).
    pub fn start_with(run_speed: f64, extra: &[&str]) -> Self {
        let state = tempfile::tempdir().expect("temp dir");
        Self::start_in(state, run_speed, extra)
    }

    /// Starts on an existing state directory (for restart tests).
    pub fn start_in(state: tempfile::TempDir, run_speed: f64, extra: &[&str]) -> Self {
        let mut child = Command::new(brickship_bin())
            .args([
                "workspace",
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--run-speed",
                &run_speed.to_string(),
                "--state",
            ])
            .arg(state.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start brickship workspace serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the serve banner");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("serve printed no URL: {line:?}"))
            .to_owned();
        Self { child, url, state }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// Kills the server (SIGKILL: no graceful shutdown) and returns its state directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let state = std::mem::replace(&mut self.state, tempfile::tempdir().expect("temp dir"));
        state
    }

    /// Calls the `/_local/` control plane.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = http().request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control request");
        let status = response.status();
        let text = response.text().await.expect("control body");
        assert!(status.is_success(), "{path} answered {status}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("control JSON")
        }
    }

    /// Requests served so far (the workspace's request log).
    pub async fn requests(&self) -> Vec<Value> {
        let log = self.control(reqwest::Method::GET, "/_local/requests", None).await;
        log.get("requests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `check` holds, polling; panics with `what` after `timeout`.
    pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        while !check().await {
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServedWorkspace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The seed's customer-360 job settings (shared/seed/deploy-workflow.md, without its ACL), named `name`.
pub fn customer_360_job(name: &str) -> Value {
    let mut job: Value =
        serde_json::from_str(include_str!("../fixtures/customer-360-job.json")).expect("fixture is JSON");
    job["name"] = Value::String(name.to_owned());
    job
}
