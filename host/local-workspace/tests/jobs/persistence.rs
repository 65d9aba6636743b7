//! Restarting on the same state directory keeps jobs, runs, permissions, scripts, id counters and
//! idempotency tokens.

use local_workspace::Config;
use serde_json::json;

use crate::support::{SPEED, job, life, nb, result, start_with};

#[tokio::test]
async fn a_restarted_workspace_has_the_same_jobs_runs_and_scripts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = || Config {
        run_speed: SPEED,
        rate_limits: false,
        state_dir: Some(dir.path().to_owned()),
        ..Config::default()
    };

    let ws = start_with(config()).await;
    let job_id = ws.create(job("kept", vec![nb("a", &[]), nb("b", &["a"])])).await;
    ws.call(
        reqwest::Method::PATCH,
        &format!("/api/2.0/permissions/jobs/{job_id}"),
        Some(json!({"access_control_list": [{"group_name": "eng", "permission_level": "CAN_VIEW"}]})),
    )
    .await;
    let finished = ws
        .run_now(json!({"job_id": job_id, "idempotency_token": "t-1"}))
        .await;
    let finished_run = ws.wait_terminal(finished).await;
    ws.script(json!({"job_id": job_id, "task_key": "a", "outcomes": ["HANG"]}))
        .await;
    let hanging = ws.run_now(json!({"job_id": job_id})).await;
    let queued = ws.run_now(json!({"job_id": job_id})).await;
    let permissions = ws.get(&format!("/api/2.0/permissions/jobs/{job_id}")).await;
    let settings = ws.job(job_id).await;
    let scripts = ws.get("/_local/scripts").await;
    ws.workspace.shutdown().await;

    let ws = start_with(config()).await;
    assert_eq!(ws.job(job_id).await, settings);
    assert_eq!(
        ws.get(&format!("/api/2.0/permissions/jobs/{job_id}")).await,
        permissions
    );
    assert_eq!(ws.get("/_local/scripts").await, scripts);
    let mut reread = ws.run(finished).await;
    let mut before = finished_run.clone();
    // Only the host part of the page URLs differs between the two servers.
    for run in [&mut reread, &mut before] {
        run["run_page_url"] = json!(null);
        for task in run["tasks"].as_array_mut().expect("tasks") {
            task["run_page_url"] = json!(null);
        }
    }
    assert_eq!(reread, before, "a finished run reads the same after a restart");
    ws.wait_for(hanging, "RUNNING", |run| life(run) == "RUNNING")
        .await;
    assert_eq!(life(&ws.run(queued).await), "QUEUED");
    assert_eq!(
        ws.run_now(json!({"job_id": job_id, "idempotency_token": "t-1"}))
            .await,
        finished,
        "tokens survive"
    );
    let next_job = ws.create(job("new", vec![nb("a", &[])])).await;
    assert!(next_job > job_id, "id counters survive");

    // The queue still works across the restart: the queued run starts (and hangs, as scripted
    // when it was triggered) once the hanging one is cancelled.
    ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": hanging}))
        .await;
    assert_eq!(result(&ws.wait_terminal(hanging).await), "CANCELED");
    let started = ws.wait_for(queued, "RUNNING", |run| life(run) == "RUNNING").await;
    assert!(started["queue_duration"].as_i64().expect("queue_duration") > 0);
    ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": queued}))
        .await;
    assert_eq!(result(&ws.wait_terminal(queued).await), "CANCELED");
    ws.workspace.shutdown().await;
}
