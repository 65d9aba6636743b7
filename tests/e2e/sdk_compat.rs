//! The official Python SDK (`databricks-sdk` from PyPI) against `brickship workspace serve`.

use std::process::Command;

use tests::{ServedWorkspace, python, repo_root};

#[test]
fn official_python_sdk_drives_the_local_workspace() {
    let workspace = ServedWorkspace::start(1000.0);
    let script = repo_root().join("tests/python/sdk_compat.py");
    let output = Command::new(python())
        .arg(&script)
        .env("DATABRICKS_HOST", workspace.url())
        .env("DATABRICKS_TOKEN", "dapi-local-compat")
        .env_remove("DATABRICKS_CONFIG_PROFILE")
        .env("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg")
        .output()
        .expect("run the SDK compatibility script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sdk_compat.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("sdk compatibility: all steps passed"), "{stdout}");
}
