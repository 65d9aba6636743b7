//! The official Python SDK against the periphery (see `tests/python/periphery_sdk.py`).
//!
//! Needs a Python with `databricks-sdk`: `BRICKSHIP_TEST_PYTHON`, else the repository's
//! `target/venv/bin/python` that `cargo xtask setup` creates.

use std::path::PathBuf;

use local_workspace::Config;

use crate::support::start;

fn python() -> PathBuf {
    let python = std::env::var_os("BRICKSHIP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/venv/bin/python"));
    assert!(
        python.exists(),
        "no Python with databricks-sdk at `{}`: run `cargo xtask setup` or set BRICKSHIP_TEST_PYTHON",
        python.display()
    );
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_uses_the_periphery() {
    let ws = start(Config {
        token: Some("dapi-periphery".to_owned()),
        oauth_client: Some(("sp-periphery".to_owned(), "sp-secret".to_owned())),
        user_name: "sdk@example.com".to_owned(),
        workspace_id: 7_001_234_567_890,
        ..Config::default()
    })
    .await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/periphery_sdk.py");
    let mut command = tokio::process::Command::new(python());
    command.arg(&script);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DATABRICKS_") {
            command.env_remove(key);
        }
    }
    let output = command
        .env("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg")
        .env("LW_HOST", &ws.url)
        .env("LW_TOKEN", "dapi-periphery")
        .env("LW_CLIENT_ID", "sp-periphery")
        .env("LW_CLIENT_SECRET", "sp-secret")
        .env("LW_WORKSPACE_ID", "7001234567890")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the periphery SDK script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "periphery_sdk.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("periphery sdk compatibility: all steps passed"),
        "{stdout}"
    );
    ws.workspace.shutdown().await;
}
