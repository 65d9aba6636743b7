//! The direct deploy end to end: create, no-op, change, rollback, history, reports.

use reqwest::Method;
use serde_json::Value;
use tests::{Project, ServedWorkspace};

const PIPELINE: &str = "customer-360-pipeline";
const DEV_JOB: &str = "customer-360-pipeline-dev";

/// The settings a user controls: server defaults and brickship's own tags removed.
fn comparable(settings: &Value) -> Value {
    let mut settings = settings.clone();
    if let Some(tags) = settings.get_mut("tags").and_then(Value::as_object_mut) {
        tags.retain(|key, _| !key.starts_with("brickship-"));
    }
    settings
}

async fn only_job(workspace: &ServedWorkspace, name: &str) -> i64 {
    let jobs = workspace.jobs_named(name).await;
    assert_eq!(jobs.len(), 1, "expected exactly one job named {name}: {jobs:?}");
    jobs[0]["job_id"].as_i64().expect("job_id")
}

#[tokio::test]
async fn first_deploy_creates_the_job_as_specified_with_code_permissions_and_report() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    done.expect_code(0);
    assert!(done.stdout.contains("succeeded"), "{}", done.stdout);

    let job_id = only_job(&workspace, DEV_JOB).await;
    let settings = workspace.job_settings(job_id).await;
    let keys: Vec<&str> = settings["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "ingest-bronze",
            "process-silver",
            "aggregate-gold",
            "validate-quality",
            "send-notification"
        ]
    );
    assert_eq!(settings["job_clusters"].as_array().unwrap().len(), 2);
    assert_eq!(settings["schedule"]["quartz_cron_expression"], "0 0 2 * * ?");
    assert_eq!(settings["tags"]["pipeline"], "customer-360");
    assert!(
        settings["tags"]["brickship-deployment"]
            .as_str()
            .unwrap()
            .starts_with("dep-"),
        "the job names its deployment"
    );
    assert_eq!(
        settings["tasks"][0]["notebook_task"]["base_parameters"]["target_catalog"],
        "dev"
    );
    // Monitoring: SLA tracking through health rules.
    assert_eq!(settings["health"]["rules"][0]["metric"], "RUN_DURATION_SECONDS");

    let permissions = workspace
        .api(Method::GET, &format!("/api/2.0/permissions/jobs/{job_id}"), None)
        .await;
    let owner = permissions["access_control_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["all_permissions"][0]["permission_level"] == "IS_OWNER")
        .expect("an owner");
    assert_eq!(owner["user_name"], "data-engineering@company.com");

    // The notebooks the job references were uploaded.
    let status = workspace
        .api(
            Method::GET,
            "/api/2.0/workspace/get-status?path=/Workspace/pipelines/customer-360/bronze",
            None,
        )
        .await;
    assert_eq!(status["object_type"], "NOTEBOOK");

    // The report and the monitoring definitions were written.
    let reports: Vec<_> = std::fs::read_dir(project.path().join("deployments/reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    let json = reports
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(report["status"], "succeeded");
    assert!(report["mutating_call_count"].as_u64().unwrap() > 0);
    assert!(
        report["phases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "verify" && p["ok"] == true)
    );
    let monitoring = project.read("monitoring/customer-360-pipeline-dev.yaml");
    assert!(
        monitoring.contains("system.lakeflow.job_run_timeline"),
        "{monitoring}"
    );
    assert!(!monitoring.contains("system.jobs.runs"));
}

#[tokio::test]
async fn unchanged_redeploy_makes_no_mutating_call() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    let seq = workspace.last_seq().await;
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev", "--output", "json"])
        .run();
    done.expect_code(0);
    let mutating = workspace.mutating_since(seq).await;
    assert!(
        mutating.is_empty(),
        "an unchanged deploy changed something: {mutating:#?}"
    );
    let result = done
        .json_lines()
        .into_iter()
        .find(|e| e["event"] == "result")
        .expect("a result event");
    assert_eq!(result["status"], "no-op");
    assert_eq!(result["mutating_calls"], 0);
}

#[tokio::test]
async fn a_change_shows_in_the_plan_is_applied_and_rolls_back_exactly() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    let job_id = only_job(&workspace, DEV_JOB).await;
    let before = workspace.job_settings(job_id).await;
    let notebook = "/api/2.0/workspace/export?path=/Workspace/pipelines/customer-360/silver&format=SOURCE";
    let code_before = workspace.api(Method::GET, notebook, None).await["content"].clone();

    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "timeout_seconds: 14400",
        "timeout_seconds: 7200",
    );
    project.edit(
        "notebooks/silver.py",
        "# Databricks notebook source",
        "# Databricks notebook source\n# silver v2",
    );
    let plan = project
        .brickship(&workspace)
        .args(["plan", PIPELINE, "-e", "dev"])
        .run();
    plan.expect_code(0);
    assert!(plan.stdout.contains("timeout_seconds"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("14400") && plan.stdout.contains("7200"),
        "{}",
        plan.stdout
    );

    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    assert_eq!(
        only_job(&workspace, DEV_JOB).await,
        job_id,
        "direct keeps the job id"
    );
    assert_eq!(workspace.job_settings(job_id).await["timeout_seconds"], 7200);
    let plan = project
        .brickship(&workspace)
        .args(["plan", PIPELINE, "-e", "dev"])
        .run();
    assert!(plan.stdout.contains("up to date"), "{}", plan.stdout);

    let rollback = project
        .brickship(&workspace)
        .args(["rollback", PIPELINE, "-e", "dev"])
        .run();
    rollback.expect_code(0);
    let after = workspace.job_settings(job_id).await;
    assert_eq!(
        comparable(&after),
        comparable(&before),
        "rollback restores the previous settings exactly"
    );
    let code_after = workspace.api(Method::GET, notebook, None).await["content"].clone();
    assert_eq!(
        code_after, code_before,
        "rollback puts back the code the undone deployment uploaded"
    );

    let history = project
        .brickship(&workspace)
        .args(["history", PIPELINE, "-e", "dev", "--output", "json"])
        .run();
    history.expect_code(0);
    let entries: Vec<Value> = serde_json::from_str(&history.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("rollback", "succeeded"),
            ("deploy", "succeeded"),
            ("deploy", "succeeded")
        ]
    );
    assert_eq!(
        entries[0]["restores"], entries[2]["deployment_id"],
        "the rollback restores the first deployment"
    );
    let table = project
        .brickship(&workspace)
        .args(["history", PIPELINE, "-e", "dev"])
        .run();
    for column in ["ID", "TIME", "USER", "COMMIT", "STRATEGY", "RESULT", "DURATION"] {
        assert!(table.stdout.contains(column), "{}", table.stdout);
    }
}

#[tokio::test]
async fn dry_run_and_plan_change_nothing() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let seq = workspace.last_seq().await;
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev", "--dry-run"])
        .run();
    done.expect_code(0);
    assert!(done.stdout.contains("would create job"), "{}", done.stdout);
    project
        .brickship(&workspace)
        .args(["plan", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    assert!(workspace.mutating_since(seq).await.is_empty());
    assert!(workspace.jobs_named(DEV_JOB).await.is_empty());
}

#[tokio::test]
async fn approval_is_required_where_configured_and_refused_without_a_terminal() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let seq = workspace.last_seq().await;
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging", "--approval-required"])
        .run();
    done.expect_code(3);
    assert!(
        done.stderr.contains("requires approval") && done.stderr.contains("--approve"),
        "{}",
        done.stderr
    );
    assert!(workspace.mutating_since(seq).await.is_empty());
    project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--approval-required",
            "--approve",
        ])
        .run()
        .expect_code(0);
}

#[tokio::test]
async fn a_job_without_schedule_gets_a_run_unless_no_run() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let job = project.read("pipelines/customer-360-pipeline/job.yaml");
    let start = job.find("\nschedule:").expect("the example has a schedule");
    let end = job[start + 1..]
        .find("\n\n")
        .map(|i| start + 1 + i)
        .expect("schedule block ends");
    std::fs::write(
        project.path().join("pipelines/customer-360-pipeline/job.yaml"),
        format!("{}{}", &job[..start], &job[end..]),
    )
    .unwrap();
    project.edit(
        "pipelines/customer-360-pipeline/environments/dev.yaml",
        "schedule:\n  pause_status: PAUSED\n",
        "",
    );
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
    let run_id = result["run"]["run_id"].as_i64().expect("a run was started");
    let run = workspace
        .api(
            Method::GET,
            &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
            None,
        )
        .await;
    assert_eq!(run["job_id"].as_i64(), result["job_id"].as_i64());

    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "timeout_seconds: 14400",
        "timeout_seconds: 7200",
    );
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev", "--no-run", "--output", "json"])
        .run();
    done.expect_code(0);
    let result = done
        .json_lines()
        .into_iter()
        .find(|e| e["event"] == "result")
        .unwrap();
    assert!(result["run"].is_null(), "--no-run starts no run: {result}");
}

#[tokio::test]
async fn json_output_streams_events_and_ends_with_the_result() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev", "--output", "json"])
        .run();
    done.expect_code(0);
    let events = done.json_lines();
    assert!(events.len() > 5, "{}", done.stdout);
    assert!(events.iter().any(|e| e["event"] == "plan"));
    assert!(events.iter().any(|e| e["event"] == "action"));
    assert_eq!(events.last().unwrap()["event"], "result");
    assert!(
        done.stdout
            .lines()
            .all(|line| serde_json::from_str::<Value>(line).is_ok()),
        "stdout is only JSON lines:\n{}",
        done.stdout
    );
}

#[tokio::test]
async fn rollback_follows_the_versions_in_force() {
    let workspace = ServedWorkspace::start(1000.0);
    let project = Project::example();
    let file = "pipelines/customer-360-pipeline/job.yaml";
    let timeout = |settings: Value| settings["timeout_seconds"].as_i64().unwrap();
    let deploy = || {
        project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "dev"])
            .run()
            .expect_code(0)
            .code
    };
    let rollback = || {
        project
            .brickship(&workspace)
            .args(["rollback", PIPELINE, "-e", "dev"])
            .run()
            .expect_code(0)
            .code
    };
    deploy(); // v0: 14400
    let job_id = only_job(&workspace, DEV_JOB).await;
    project.edit(file, "timeout_seconds: 14400", "timeout_seconds: 7201");
    deploy(); // v1
    rollback(); // back to v0
    assert_eq!(timeout(workspace.job_settings(job_id).await), 14400);
    project.edit(file, "timeout_seconds: 7201", "timeout_seconds: 7202");
    deploy(); // v2
    rollback(); // the version in force before v2 is v0, not the undone v1
    assert_eq!(timeout(workspace.job_settings(job_id).await), 14400);

    project.edit(file, "timeout_seconds: 7202", "timeout_seconds: 7203");
    deploy(); // v3 (over v0)
    project.edit(file, "timeout_seconds: 7203", "timeout_seconds: 7204");
    deploy(); // v4
    rollback(); // v3
    assert_eq!(timeout(workspace.job_settings(job_id).await), 7203);
    rollback(); // twice: v0
    assert_eq!(timeout(workspace.job_settings(job_id).await), 14400);
}
