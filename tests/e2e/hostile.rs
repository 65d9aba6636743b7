//! Hostile plugins cannot hurt the host or the workspace: each fails the deploy with a clear
//! error naming the plugin and the documented exit code (4 for run-time misbehaviour, 2 for a
//! plugin refused before it runs), and no job is touched.

use std::path::PathBuf;

use tests::{Project, ServedWorkspace, repo_root};

const PIPELINE: &str = "customer-360-pipeline";

fn fixture(name: &str) -> PathBuf {
    let path = repo_root().join(format!(
        "target/wasm-plugins/wasm32-wasip2/release/fixture_{name}.wasm"
    ));
    assert!(
        path.exists(),
        "`{}` is missing: build the plugins (cargo build -p plugin-host)",
        path.display()
    );
    path
}

/// Deploys with `args` and checks the exit code, that the message names `needle`, and that no
/// Jobs or Permissions API call changed anything.
async fn refused(workspace: &ServedWorkspace, project: &Project, args: &[&str], code: i32, needle: &str) {
    let seq = workspace.last_seq().await;
    let mut all = vec!["deploy", PIPELINE, "-e", "dev"];
    all.extend_from_slice(args);
    let done = project.brickship(workspace).args(&all).run();
    done.expect_code(code);
    let text = format!("{}{}", done.stdout, done.stderr);
    assert!(text.contains(needle), "the error names `{needle}`:\n{text}");
    let touched: Vec<_> = workspace
        .mutating_since(seq)
        .await
        .into_iter()
        .filter(|r| {
            let path = r["path"].as_str().unwrap_or("");
            path.contains("/jobs/") || path.contains("/permissions/")
        })
        .collect();
    assert!(touched.is_empty(), "a hostile plugin changed jobs: {touched:#?}");
}

fn with_gate(project: &Project, plugin: &std::path::Path) {
    let text = project.read("brickship.yaml");
    std::fs::write(
        project.path().join("brickship.yaml"),
        format!(
            "{text}\ngates:\n  hostile:\n    plugin: {}\n    mode: enforce\n",
            plugin.display()
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn hostile_strategies() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "timeout_seconds: 14400",
        "timeout_seconds: 7200",
    );
    let panic = fixture("panic");
    refused(
        &workspace,
        &project,
        &["--strategy", panic.to_str().unwrap()],
        4,
        "fixture_panic",
    )
    .await;
    let bad_json = fixture("bad_json");
    refused(
        &workspace,
        &project,
        &["--strategy", bad_json.to_str().unwrap()],
        4,
        "fixture_bad_json",
    )
    .await;
    let wrong_version = fixture("wrong_version");
    refused(
        &workspace,
        &project,
        &["--strategy", wrong_version.to_str().unwrap()],
        2,
        "9.0.0",
    )
    .await;
    let wrong_interface = fixture("wrong_interface");
    refused(
        &workspace,
        &project,
        &["--strategy", wrong_interface.to_str().unwrap()],
        2,
        "fixture_wrong_interface",
    )
    .await;
    // An unknown strategy is refused naming the setting that chose it, before the workspace is
    // contacted at all.
    let before = workspace.last_seq().await;
    refused(
        &workspace,
        &project,
        &["--strategy", "rolling"],
        2,
        "plugin `rolling (--strategy)`: no strategy plugin `rolling`; built-in strategies are: blue-green, canary, direct",
    )
    .await;
    let config_file = project.path().join("deploy-settings.yaml");
    std::fs::write(&config_file, "strategy: rolling\n").unwrap();
    refused(
        &workspace,
        &project,
        &["--config-file", config_file.to_str().unwrap()],
        2,
        "plugin `rolling (strategy in the --config-file)`",
    )
    .await;
    let api_calls: Vec<_> = workspace
        .requests_since(before)
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/api/")))
        .collect();
    assert!(
        api_calls.is_empty(),
        "an unknown strategy made requests: {api_calls:#?}"
    );
    // A pin that does not match the file's bytes refuses to run it.
    let direct_pin = format!("{}@sha256:{}", panic.display(), "0".repeat(64));
    refused(&workspace, &project, &["--strategy", &direct_pin], 2, "sha256").await;
    // The host is fine: the next deploy, with the built-in strategy, goes through.
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    let jobs = workspace.jobs_named("customer-360-pipeline-dev").await;
    assert_eq!(jobs.len(), 1);
}

#[tokio::test]
async fn hostile_gates() {
    let workspace = ServedWorkspace::start(1000.0);
    for (name, code, needle) in [
        ("infinite_loop", 4, "hostile"),
        ("memory_bomb", 4, "hostile"),
        ("forbidden_import", 2, "evil:net"),
        ("std_net", 2, "wasi:sockets"),
    ] {
        let project = Project::example();
        with_gate(&project, &fixture(name));
        refused(&workspace, &project, &[], code, needle).await;
        assert!(
            workspace.jobs_named("customer-360-pipeline-dev").await.is_empty(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_notifier_with_enormous_output_never_fails_a_deploy() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let text = project.read("brickship.yaml");
    std::fs::write(
        project.path().join("brickship.yaml"),
        format!(
            "{text}\nnotifiers:\n  noisy:\n    plugin: {}\n",
            fixture("huge_output").display()
        ),
    )
    .unwrap();
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev", "--output", "json"])
        .run();
    done.expect_code(0);
    let result = done
        .json_lines()
        .into_iter()
        .find(|e| e["event"] == "result")
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join(format!(
            "deployments/reports/{}.json",
            result["deployment_id"].as_str().unwrap()
        )))
        .unwrap(),
    )
    .unwrap();
    let noisy: Vec<_> = report["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["notifier"] == "noisy")
        .collect();
    assert!(
        !noisy.is_empty() && noisy.iter().all(|d| d["outcome"] == "failed"),
        "{noisy:#?}"
    );
    assert!(
        noisy[0]["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("output"),
        "{noisy:#?}"
    );
}
