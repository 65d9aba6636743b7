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
/// Cargo builds a binary only for its own package's tests, so `cargo xtask test` builds it before
/// running the tests; when running them directly (`cargo nextest run -p tests`), build the binary
/// first (`cargo build -p brickship`), or the tests would drive a stale one.
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
        std::mem::replace(&mut self.state, tempfile::tempdir().expect("temp dir"))
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
        self.request_log("").await
    }

    /// The request log's entries for `query` (e.g. `?since=4&mutating=true`).
    async fn request_log(&self, query: &str) -> Vec<Value> {
        let log = self
            .control(reqwest::Method::GET, &format!("/_local/requests{query}"), None)
            .await;
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

/// A copy of a project in a temporary folder (the example by default), so a test can edit it.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A fresh copy of `examples/customer-360` (without local state or reports).
    pub fn example() -> Self {
        Self::copy_of(&repo_root().join("examples/customer-360"))
    }

    /// A fresh copy of any project folder.
    pub fn copy_of(source: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(source, dir.path());
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reads a project file.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    /// Replaces `from` with `to` in a project file (which must contain `from`).
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "`{relative}` does not contain {from:?}");
        std::fs::write(self.path().join(relative), text.replacen(from, to, 1)).expect("write project file");
    }

    /// A `brickship` command run inside this project against `workspace`.
    pub fn brickship(&self, workspace: &ServedWorkspace) -> Brickship {
        let mut cmd = brickship_command();
        cmd.current_dir(self.path());
        Brickship {
            cmd,
            host: Some(workspace.url().to_owned()),
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if matches!(name_str.as_ref(), ".brickship" | "deployments" | "monitoring") {
            continue;
        }
        let path = entry.path();
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy file");
        }
    }
}

/// The `brickship` binary with a hermetic environment: no Databricks config from the machine,
/// a test token, the plugin cache shared by all tests (so each plugin compiles once).
pub fn brickship_command() -> Command {
    let mut cmd = Command::new(brickship_bin());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("DATABRICKS_") || key.starts_with("BRICKSHIP_") || key == "RUST_LOG" {
            cmd.env_remove(&key);
        }
    }
    cmd.env("DATABRICKS_TOKEN", "dapi-e2e-test")
        .env(
            "DATABRICKS_CONFIG_FILE",
            "/nonexistent/brickship-e2e/databrickscfg",
        )
        .env("BRICKSHIP_CACHE_DIR", repo_root().join("target/e2e-plugin-cache"))
        .env("NO_COLOR", "1");
    cmd
}

/// A prepared `brickship` invocation.
pub struct Brickship {
    cmd: Command,
    host: Option<String>,
}

/// What a finished `brickship` invocation did.
#[derive(Debug)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The JSON lines of `--output json` (non-JSON lines skipped).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

impl Brickship {
    /// Adds arguments; `--host <workspace>` is appended for commands that take it.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Runs a pipeline command (`deploy`, `plan`, …) against the test workspace and waits.
    pub fn run(mut self) -> Finished {
        if let Some(host) = self.host.take() {
            self.cmd.args(["--host", &host]);
        }
        let output = self.cmd.output().expect("run brickship");
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts it without waiting (for concurrency tests).
    pub fn spawn(mut self) -> Child {
        if let Some(host) = self.host.take() {
            self.cmd.args(["--host", &host]);
        }
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn brickship")
    }
}

/// Reads a finished child's output.
pub fn finish(child: Child) -> Finished {
    let output = child.wait_with_output().expect("wait for brickship");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl ServedWorkspace {
    /// Calls a REST API of the workspace with the test token.
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = http()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth("dapi-e2e-test");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("api request");
        let status = response.status();
        let text = response.text().await.expect("api body");
        assert!(status.is_success(), "{path} answered {status}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("api JSON")
        }
    }

    /// The jobs named `name` (server-side filter).
    pub async fn jobs_named(&self, name: &str) -> Vec<Value> {
        let list = self
            .api(
                reqwest::Method::GET,
                &format!("/api/2.2/jobs/list?name={name}"),
                None,
            )
            .await;
        list.get("jobs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// A job's settings.
    pub async fn job_settings(&self, job_id: i64) -> Value {
        self.api(
            reqwest::Method::GET,
            &format!("/api/2.2/jobs/get?job_id={job_id}"),
            None,
        )
        .await["settings"]
            .clone()
    }

    /// The sequence number of the last request served so far.
    pub async fn last_seq(&self) -> u64 {
        let log = self.control(reqwest::Method::GET, "/_local/requests", None).await;
        log.get("last_seq").and_then(Value::as_u64).unwrap_or(0)
    }

    /// Requests served after `seq` that change state.
    pub async fn mutating_since(&self, seq: u64) -> Vec<Value> {
        self.request_log(&format!("?since={seq}&mutating=true")).await
    }

    /// All requests served after `seq`.
    pub async fn requests_since(&self, seq: u64) -> Vec<Value> {
        self.request_log(&format!("?since={seq}")).await
    }
}

/// The insta filters every snapshot of `brickship` output uses: temporary paths, deployment,
/// job and run ids, ports, timestamps, durations and hashes vary between runs.
pub fn snapshot_filters(project: Option<&Path>) -> Vec<(String, String)> {
    let mut filters = Vec::new();
    if let Some(project) = project {
        filters.push((
            regex_escape(&project.display().to_string()),
            "[PROJECT]".to_owned(),
        ));
    }
    for (pattern, replacement) in [
        (r"dep-\d{8}-\d{6}-[0-9a-f]{4}", "[DEPLOYMENT]"),
        (r"snapshot-of-\[DEPLOYMENT\]", "snapshot-of-[DEPLOYMENT]"),
        (r"\b1000000000\d{5}\b", "[ID]"),
        (r"http://127\.0\.0\.1:\d+", "[WORKSPACE]"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "[TIME]"),
        (
            r"\b\d+ h \d+ min\b|\b\d+ min \d+ s\b|\b\d+(\.\d+)? (ms|s)\b",
            "[DURATION]",
        ),
        (r"\+\d+ ms", "+[DURATION]"),
        (r"`[0-9a-f]{16}`", "`[HASH]`"),
        (r"\| \d+\.\d \|", "| [MS] |"),
    ] {
        filters.push((pattern.to_owned(), replacement.to_owned()));
    }
    filters
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Runs `brickship` and snapshots what the user sees (stdout, then stderr, then the exit code)
/// through the shared filters: `brickship_snapshot!(name, project, workspace, [args...])`.
#[macro_export]
macro_rules! brickship_snapshot {
    ($name:expr, $project:expr, $workspace:expr, [$($arg:expr),* $(,)?]) => {{
        let done = $project.brickship($workspace).args([$($arg),*]).run();
        let shown = format!(
            "exit code: {:?}\n----- stdout -----\n{}----- stderr -----\n{}",
            done.code, done.stdout, done.stderr
        );
        let mut settings = insta::Settings::clone_current();
        for (pattern, replacement) in $crate::snapshot_filters(Some($project.path())) {
            settings.add_filter(&pattern, replacement);
        }
        settings.bind(|| insta::assert_snapshot!($name, shown));
        done
    }};
}

/// What a loopback receiver got: an HTTP request (`path`, body) or an email (`smtp`, data).
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: String,
}

/// A loopback HTTP receiver, the same over HTTPS (a test CA: write [`Receivers::ca_pem`] where
/// the project's `notifications.ca_file` points), both answering 200 to every request, and a
/// minimal loopback SMTP server (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), for notifier
/// deliveries.
pub struct Receivers {
    pub http: std::net::SocketAddr,
    pub https: std::net::SocketAddr,
    pub smtp: std::net::SocketAddr,
    pub ca_pem: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

type Store = std::sync::Arc<std::sync::Mutex<Vec<Received>>>;

/// Serves HTTP/1.1 requests on one connection, recording each.
async fn serve_http<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S, store: Store) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut reader = tokio::io::BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        store.lock().expect("store").push(Received {
            path,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        if reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .is_err()
        {
            return;
        }
        let _ = reader.get_mut().flush().await;
    }
}

impl Receivers {
    pub async fn start() -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let got: Store = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind http receiver");
        let http_addr = http.local_addr().expect("addr");
        let store = got.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = http.accept().await {
                tokio::spawn(serve_http(tcp, store.clone()));
            }
        });

        // HTTPS: a throwaway CA signs a certificate for 127.0.0.1.
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "brickship e2e CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("leaf params")
            .signed_by(&leaf_key, &ca)
            .expect("leaf");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .expect("tls config");
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
        let https = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind https receiver");
        let https_addr = https.local_addr().expect("addr");
        let store = got.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = https.accept().await {
                let (acceptor, store) = (acceptor.clone(), store.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve_http(tls, store).await;
                    }
                });
            }
        });

        let smtp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp");
        let smtp_addr = smtp.local_addr().expect("addr");
        let store = got.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = smtp.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = tcp.into_split();
                    let mut lines = tokio::io::BufReader::new(read);
                    let _ = write.write_all(b"220 test.local ESMTP ready\r\n").await;
                    let mut data = String::new();
                    loop {
                        let mut line = String::new();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let upper = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                            b"250-test.local\r\n250 8BITMIME\r\n"
                        } else if upper == "DATA" {
                            let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
                            data.clear();
                            loop {
                                let mut body = String::new();
                                if lines.read_line(&mut body).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if body == ".\r\n" {
                                    break;
                                }
                                data.push_str(&body);
                            }
                            store.lock().expect("store").push(Received {
                                path: "smtp".into(),
                                body: data.clone(),
                            });
                            b"250 OK queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else if upper.starts_with("MAIL")
                            || upper.starts_with("RCPT")
                            || upper == "RSET"
                            || upper == "NOOP"
                        {
                            b"250 OK\r\n"
                        } else {
                            b"502 not implemented\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self {
            http: http_addr,
            https: https_addr,
            smtp: smtp_addr,
            ca_pem: ca.pem(),
            got,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("store").clone()
    }
}
