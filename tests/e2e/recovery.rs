//! Nothing is lost: the deploy lock refuses a concurrent deploy, and a deploy killed at any
//! journal boundary leaves a record that the next deploy or a rollback converges from.

use reqwest::Method;
use serde_json::{Value, json};
use tests::{Project, ServedWorkspace, finish};

const PIPELINE: &str = "customer-360-pipeline";
const DEV_JOB: &str = "customer-360-pipeline-dev";
const JOB_FILE: &str = "pipelines/customer-360-pipeline/job.yaml";
const CRASH: &str = "BRICKSHIP_CRASH_AFTER_JOURNAL_WRITES";

fn comparable(settings: &Value) -> Value {
    let mut settings = settings.clone();
    if let Some(tags) = settings.get_mut("tags").and_then(Value::as_object_mut) {
        tags.retain(|key, _| !key.starts_with("brickship-"));
    }
    settings
}

async fn only_job(workspace: &ServedWorkspace) -> (i64, Value) {
    let jobs = workspace.jobs_named(DEV_JOB).await;
    assert_eq!(
        jobs.len(),
        1,
        "exactly one job must hold the pipeline's name: {jobs:?}"
    );
    let id = jobs[0]["job_id"].as_i64().unwrap();
    (id, workspace.job_settings(id).await)
}

#[tokio::test]
async fn a_concurrent_deploy_is_refused_by_the_lock() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    let (job_id, _) = only_job(&workspace).await;
    // A run that never ends keeps the first deploy waiting (--active-runs wait) while holding the lock.
    workspace
        .control(
            Method::POST,
            "/_local/scripts",
            Some(json!({"job_id": job_id, "outcomes": ["HANG"]})),
        )
        .await;
    workspace
        .api(
            Method::POST,
            "/api/2.2/jobs/run-now",
            Some(json!({"job_id": job_id})),
        )
        .await;
    project.edit(JOB_FILE, "timeout_seconds: 14400", "timeout_seconds: 7200");
    let first = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "dev",
            "--active-runs",
            "wait",
            "--active-runs-timeout",
            "2m",
        ])
        .spawn();
    let lock =
        "/api/2.0/workspace/get-status?path=/Workspace/Shared/.brickship/customer-360-pipeline/dev/lock.json";
    ServedWorkspace::eventually(
        "the first deploy to take the lock",
        std::time::Duration::from_secs(30),
        || async {
            let response = tests::http()
                .get(format!("{}{lock}", workspace.url()))
                .bearer_auth("x")
                .send()
                .await
                .unwrap();
            response.status().is_success()
        },
    )
    .await;
    let second = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    second.expect_code(1);
    assert!(second.stderr.contains("is locked by"), "{}", second.stderr);
    assert_eq!(
        workspace.job_settings(job_id).await["timeout_seconds"],
        14400,
        "the refused deploy changed nothing"
    );

    workspace
        .api(
            Method::POST,
            "/api/2.2/jobs/runs/cancel-all",
            Some(json!({"job_id": job_id})),
        )
        .await;
    let first = finish(first);
    first.expect_code(0);
    assert_eq!(workspace.job_settings(job_id).await["timeout_seconds"], 7200);
}

/// Kills `deploy` after its `n`-th journal write; `None` when it finished first (n is past the end).
fn crashed_deploy(project: &Project, workspace: &ServedWorkspace, n: u32) -> Option<()> {
    let done = project
        .brickship(workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .env(CRASH, n.to_string())
        .run();
    match done.code {
        None => Some(()),
        Some(0) => None,
        other => panic!("deploy with {CRASH}={n} ended with {other:?}\n{}", done.stderr),
    }
}

#[tokio::test]
async fn a_deploy_killed_at_any_journal_boundary_converges_on_the_next_deploy() {
    let mut boundaries = 0;
    for n in 1.. {
        let workspace = ServedWorkspace::start(1000.0);
        let project = Project::example();
        project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev"])
            .run()
            .expect_code(0);
        project.edit(JOB_FILE, "timeout_seconds: 14400", "timeout_seconds: 7200");
        project.edit(
            "notebooks/bronze.py",
            "# Databricks notebook source",
            "# Databricks notebook source\n# v2",
        );
        if crashed_deploy(&project, &workspace, n).is_none() {
            break;
        }
        boundaries += 1;
        let history = project
            .brickship(&workspace)
            .args(["history", PIPELINE, "-e", "dev", "--output", "json"])
            .run();
        let recorded_done =
            serde_json::from_str::<Vec<Value>>(&history.stdout).unwrap()[0]["status"] == "succeeded";
        if recorded_done {
            // Killed after recording its result: the work is done, only the lock was left,
            // and the journal shows it is garbage: the next deploy is a plain no-op.
            let next = project
                .brickship(&workspace)
                .args(["deploy", PIPELINE, "-e", "dev"])
                .run();
            next.expect_code(0);
            assert!(
                next.stdout.contains("nothing to deploy"),
                "n={n}: {}",
                next.stdout
            );
            continue;
        }
        let refused = project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev"])
            .run();
        refused.expect_code(1);
        assert!(refused.stderr.contains("stale lock"), "n={n}: {}", refused.stderr);

        project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev", "--force-lock"])
            .run()
            .expect_code(0);
        let (_, settings) = only_job(&workspace).await;
        assert_eq!(settings["timeout_seconds"], 7200, "n={n}");
        let plan = project
            .brickship(&workspace)
            .args(["plan", PIPELINE, "-e", "dev"])
            .run();
        assert!(
            plan.stdout.contains("up to date") && !plan.stdout.contains("will be uploaded"),
            "n={n}: {}",
            plan.stdout
        );
        let history = project
            .brickship(&workspace)
            .args(["history", PIPELINE, "-e", "dev", "--output", "json"])
            .run();
        let statuses: Vec<String> = serde_json::from_str::<Vec<Value>>(&history.stdout)
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(statuses, ["succeeded", "interrupted", "succeeded"], "n={n}");
    }
    assert!(
        boundaries >= 5,
        "expected several journal boundaries, saw {boundaries}"
    );
}

#[tokio::test]
async fn a_deploy_killed_at_any_journal_boundary_is_undone_by_rollback() {
    let mut boundaries = 0;
    for n in 1.. {
        let workspace = ServedWorkspace::start(1000.0);
        let project = Project::example();
        project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev"])
            .run()
            .expect_code(0);
        let (_, baseline) = only_job(&workspace).await;
        let notebook =
            "/api/2.0/workspace/export?path=/Workspace/pipelines/customer-360/bronze&format=SOURCE";
        let code_before = workspace.api(Method::GET, notebook, None).await["content"].clone();
        project.edit(JOB_FILE, "timeout_seconds: 14400", "timeout_seconds: 7200");
        project.edit(
            "notebooks/bronze.py",
            "# Databricks notebook source",
            "# Databricks notebook source\n# v2",
        );
        if crashed_deploy(&project, &workspace, n).is_none() {
            break;
        }
        boundaries += 1;
        project
            .brickship(&workspace)
            .args(["rollback", PIPELINE, "-e", "dev", "--force-lock"])
            .run()
            .expect_code(0);
        let (_, settings) = only_job(&workspace).await;
        assert_eq!(
            comparable(&settings),
            comparable(&baseline),
            "n={n}: rollback restores the settings before the killed deploy"
        );
        let code_after = workspace.api(Method::GET, notebook, None).await["content"].clone();
        assert_eq!(
            code_after, code_before,
            "n={n}: rollback restores the code the killed deploy replaced"
        );
    }
    assert!(
        boundaries >= 5,
        "expected several journal boundaries, saw {boundaries}"
    );
}

#[tokio::test]
async fn a_first_deploy_killed_at_any_boundary_never_leaves_two_jobs() {
    for n in 1.. {
        let workspace = ServedWorkspace::start(1000.0);
        let project = Project::example();
        if crashed_deploy(&project, &workspace, n).is_none() {
            break;
        }
        project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev", "--force-lock"])
            .run()
            .expect_code(0);
        only_job(&workspace).await;
    }
}
