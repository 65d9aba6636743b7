//! A deploy-shaped sequence survives injected faults: 20% of every API call fails with each
//! fault kind, and the deploys still succeed with no duplicate side effect.

use serde_json::json;
use tests::{Project, ServedWorkspace};

const PIPELINE: &str = "customer-360-pipeline";

async fn survives(kind: &str) {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    workspace
        .control(
            reqwest::Method::POST,
            "/_local/faults",
            Some(json!({"endpoint": "*", "kind": kind, "rate": 0.2, "retry_after_s": 0, "latency_ms": 50, "seed": 20261126})),
        )
        .await;
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
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    project
        .brickship(&workspace)
        .args(["rollback", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);

    let faults = workspace
        .control(reqwest::Method::GET, "/_local/faults", None)
        .await;
    let injected = faults["faults"][0]["injected"].as_u64().unwrap();
    assert!(injected >= 5, "{kind}: only {injected} faults were injected");
    workspace
        .control(reqwest::Method::DELETE, "/_local/faults", None)
        .await;

    let jobs = workspace.jobs_named("customer-360-pipeline-dev").await;
    assert_eq!(
        jobs.len(),
        1,
        "{kind}: exactly one job despite lost responses: {jobs:?}"
    );
    let settings = workspace.job_settings(jobs[0]["job_id"].as_i64().unwrap()).await;
    assert_eq!(settings["timeout_seconds"], 14400, "{kind}: the rollback applied");
    let history = project
        .brickship(&workspace)
        .args(["history", PIPELINE, "-e", "dev", "--output", "json"])
        .run();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&history.stdout).unwrap();
    assert!(
        entries.iter().all(|e| e["status"] == "succeeded"),
        "{kind}: {entries:#?}"
    );
    assert_eq!(entries.len(), 3, "{kind}");
    // The lock was released every time.
    let status = project
        .brickship(&workspace)
        .args(["status", PIPELINE, "-e", "dev"])
        .run();
    assert!(
        status.stdout.contains("lock:         free"),
        "{kind}: {}",
        status.stdout
    );
}

#[tokio::test]
async fn throttling_429() {
    survives("429").await;
}

#[tokio::test]
async fn unavailable_503() {
    survives("503").await;
}

#[tokio::test]
async fn server_error_500() {
    survives("500").await;
}

#[tokio::test]
async fn latency() {
    survives("latency").await;
}

#[tokio::test]
async fn connection_dropped_before_handling() {
    survives("drop").await;
}

#[tokio::test]
async fn connection_dropped_after_handling() {
    survives("drop-after").await;
}
