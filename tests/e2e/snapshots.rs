//! What the user sees, snapshotted: plans, history, status and the deployment report.

use tests::{Project, ServedWorkspace, brickship_snapshot};

const PIPELINE: &str = "customer-360-pipeline";

#[tokio::test]
async fn plan_history_status_and_report() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    brickship_snapshot!(
        "plan_create",
        &project,
        &workspace,
        ["plan", PIPELINE, "-e", "dev"]
    );
    let deployed = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    deployed.expect_code(0);

    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "timeout_seconds: 14400",
        "timeout_seconds: 7200",
    );
    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "max_retries: 2\n    min_retry_interval_millis",
        "max_retries: 3\n    min_retry_interval_millis",
    );
    brickship_snapshot!(
        "plan_update",
        &project,
        &workspace,
        ["plan", PIPELINE, "-e", "dev"]
    );
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    brickship_snapshot!(
        "plan_unchanged",
        &project,
        &workspace,
        ["plan", PIPELINE, "-e", "dev"]
    );
    project
        .brickship(&workspace)
        .args(["rollback", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);

    brickship_snapshot!(
        "history",
        &project,
        &workspace,
        ["history", PIPELINE, "-e", "dev"]
    );
    brickship_snapshot!("status", &project, &workspace, ["status", PIPELINE, "-e", "dev"]);

    // The Markdown report of the first deploy (the earliest by its JSON twin's start time).
    let first = std::fs::read_dir(project.path().join("deployments/reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .min_by_key(|p| {
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            report["started_at_ms"].as_i64().unwrap()
        })
        .unwrap();
    let first = std::fs::read_to_string(first.with_extension("md")).unwrap();
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in tests::snapshot_filters(Some(project.path())) {
        settings.add_filter(&pattern, replacement);
    }
    settings.bind(|| insta::assert_snapshot!("report_first_deploy", first));
}
