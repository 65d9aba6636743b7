//! Controlled rollouts: durable approvals, resume of an interrupted deployment, and (with the
//! blue-green and canary strategies) analysis, pause, promote and abort.

use serde_json::Value;
use tests::{Project, ServedWorkspace};

const PIPELINE: &str = "customer-360-pipeline";
const CRASH: &str = "BRICKSHIP_CRASH_AFTER_JOURNAL_WRITES";

fn latest_id(project: &Project, workspace: &ServedWorkspace, environment: &str) -> String {
    let history = project
        .brickship(workspace)
        .args(["history", PIPELINE, "-e", environment, "--output", "json"])
        .run();
    let entries: Vec<Value> = serde_json::from_str(&history.stdout).unwrap();
    entries[0]["deployment_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_approval_requested_by_one_process_is_given_by_another() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let seq = workspace.last_seq().await;
    let requested = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--approval-required",
            "--request-approval",
            "--output",
            "json",
        ])
        .run();
    requested.expect_code(0);
    let result = requested
        .json_lines()
        .into_iter()
        .find(|e| e["event"] == "result")
        .unwrap();
    assert_eq!(result["status"], "paused");
    let id = result["deployment_id"].as_str().unwrap().to_owned();
    assert!(
        workspace
            .jobs_named("customer-360-pipeline-staging")
            .await
            .is_empty(),
        "nothing deployed before approval"
    );
    let job_mutations: Vec<Value> = workspace
        .mutating_since(seq)
        .await
        .into_iter()
        .filter(|r| {
            r["path"].as_str().unwrap().contains("/jobs/")
                || r["path"].as_str().unwrap().contains("/permissions/")
        })
        .collect();
    assert!(job_mutations.is_empty(), "{job_mutations:#?}");

    // Another deploy of the same pipeline is held back by the paused deployment's lock.
    let other = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging", "--approve"])
        .run();
    other.expect_code(1);
    assert!(other.stderr.contains("paused deployment"), "{}", other.stderr);

    let status = project
        .brickship(&workspace)
        .args(["status", PIPELINE, "-e", "staging"])
        .run();
    assert!(status.stdout.contains("paused"), "{}", status.stdout);

    // A second process, as another run of the CLI, approves: the deployment goes on.
    let approved = project
        .brickship(&workspace)
        .args(["approve", &id, "-m", "change ticket 42"])
        .run();
    approved.expect_code(0);
    assert!(approved.stdout.contains("succeeded"), "{}", approved.stdout);
    assert_eq!(
        workspace.jobs_named("customer-360-pipeline-staging").await.len(),
        1
    );
    let record_path = format!(
        "/api/2.0/workspace/export?path=/Workspace/Shared/.brickship/customer-360-pipeline/staging/deployments/{id}.json&direct_download=true"
    );
    let response = tests::http()
        .get(format!("{}{record_path}", workspace.url()))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    let record: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(record["approvals"][0]["comment"], "change ticket 42");
    assert_eq!(record["approvals"][0]["by"], "brickship@localhost");
    assert!(record["approvals"][0]["at_ms"].as_i64().unwrap() > 0);
    assert_eq!(latest_id(&project, &workspace, "staging"), id);
}

#[tokio::test]
async fn an_expired_approval_request_cannot_be_approved_only_aborted() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    project.edit(
        "brickship.yaml",
        "  staging:\n    workspace:\n      host: local\n",
        "  staging:\n    approval:\n      required: true\n      expires: 1h\n    workspace:\n      host: local\n",
    );
    let requested = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging", "--request-approval"])
        .run();
    requested.expect_code(0);
    let id = latest_id(&project, &workspace, "staging");
    // Age the request in the journal instead of waiting an hour.
    let path = format!("/Workspace/Shared/.brickship/customer-360-pipeline/staging/deployments/{id}.json");
    let http = tests::http();
    let text = http
        .get(format!(
            "{}/api/2.0/workspace/export?path={path}&direct_download=true",
            workspace.url()
        ))
        .bearer_auth("x")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut record: Value = serde_json::from_str(&text).unwrap();
    let requested_at = record["pending_approval"]["requested_at_ms"].as_i64().unwrap();
    assert_eq!(
        record["pending_approval"]["expires_at_ms"].as_i64().unwrap(),
        requested_at + 3_600_000,
        "expires: 1h"
    );
    record["pending_approval"]["expires_at_ms"] = Value::from(requested_at - 1);
    let written = http
        .post(format!(
            "{}/api/2.0/workspace-files/import-file{path}?overwrite=true",
            workspace.url()
        ))
        .bearer_auth("x")
        .body(serde_json::to_vec(&record).unwrap())
        .send()
        .await
        .unwrap();
    assert!(written.status().is_success());

    let approved = project.brickship(&workspace).args(["approve", &id]).run();
    approved.expect_code(3);
    assert!(approved.stderr.contains("expired"), "{}", approved.stderr);
    project
        .brickship(&workspace)
        .args(["abort", &id])
        .run()
        .expect_code(1);
    assert!(
        workspace
            .jobs_named("customer-360-pipeline-staging")
            .await
            .is_empty()
    );
    let status = project
        .brickship(&workspace)
        .args(["status", PIPELINE, "-e", "staging"])
        .run();
    assert!(status.stdout.contains("lock:         free"), "{}", status.stdout);
}

#[tokio::test]
async fn an_interrupted_direct_deploy_is_resumed_to_the_same_end_state() {
    for n in 1.. {
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
        let crashed = project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev"])
            .env(CRASH, n.to_string())
            .run();
        if crashed.code == Some(0) {
            break;
        }
        assert_eq!(crashed.code, None, "n={n}: {}", crashed.stderr);
        let id = latest_id(&project, &workspace, "dev");
        let resumed = project.brickship(&workspace).args(["resume", &id]).run();
        if resumed.code == Some(2) && resumed.stderr.contains("before it changed anything") {
            continue; // killed before its record existed: nothing to resume, a new deploy converges
        }
        if resumed.code == Some(2) && resumed.stderr.contains("already finished") {
            continue; // killed after recording its result
        }
        resumed.expect_code(0);
        let jobs = workspace.jobs_named("customer-360-pipeline-dev").await;
        assert_eq!(jobs.len(), 1, "n={n}");
        let settings = workspace.job_settings(jobs[0]["job_id"].as_i64().unwrap()).await;
        assert_eq!(settings["timeout_seconds"], 7200, "n={n}");
        let plan = project
            .brickship(&workspace)
            .args(["plan", PIPELINE, "-e", "dev"])
            .run();
        assert!(plan.stdout.contains("up to date"), "n={n}: {}", plan.stdout);
    }
}
