//! Runs through the simulated task DAG: success, failure and retries, run_if, timeouts,
//! cancellation, queueing, idempotency, one-time runs, outputs, listing and deleting.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Ws, entries, job, life, nb, result, start};

const FAILED_MESSAGE: &str = "Workload failed, see run output for details";

fn task_result(run: &Value, key: &str) -> String {
    let attempts = entries(run, key);
    let last = attempts
        .last()
        .unwrap_or_else(|| panic!("no task {key} in {run:#}"));
    format!("{}/{}", life(last), result(last))
}

async fn running(ws: &Ws, run_id: i64) -> Value {
    ws.wait_for(run_id, "RUNNING", |run| life(run) == "RUNNING").await
}

#[tokio::test]
async fn a_successful_run_pairs_state_and_status_and_reports_timings() {
    let ws = start().await;
    let mut settings = json!({
        "name": "daily",
        "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"num_workers": 2}}],
        "parameters": [{"name": "env", "default": "dev"}, {"name": "rows", "default": "1"}],
        "tasks": [nb("a", &[]), nb("b", &["a"])],
    });
    settings["tasks"][0]["job_cluster_key"] = json!("c");
    let job_id = ws.create(settings).await;
    let answer = ws
        .post(
            "/api/2.2/jobs/run-now",
            json!({"job_id": job_id, "job_parameters": {"env": "prod"}}),
        )
        .await;
    let run_id = answer["run_id"].as_i64().expect("run_id is a number");
    assert_eq!(answer["number_in_job"], run_id);

    let first = ws.run(run_id).await;
    assert!(
        first["state"].is_object() && first["status"].is_object(),
        "{first}"
    );
    if life(&first) != "TERMINATED" {
        assert_eq!(first["end_time"], 0, "end_time is 0 while the run is going");
        assert!(first["state"].get("result_state").is_none());
    }

    let run = ws.wait_terminal(run_id).await;
    assert_eq!(run["state"]["life_cycle_state"], "TERMINATED");
    assert_eq!(run["state"]["result_state"], "SUCCESS");
    assert_eq!(run["state"]["user_cancelled_or_timedout"], false);
    assert_eq!(
        run["status"],
        json!({"state": "TERMINATED", "termination_details": {"code": "SUCCESS", "type": "SUCCESS", "message": ""}})
    );
    assert_eq!(run["job_id"], job_id);
    assert_eq!(run["number_in_job"], run_id);
    assert_eq!(run["run_type"], "JOB_RUN");
    assert_eq!(run["trigger"], "ONE_TIME");
    assert_eq!(run["run_name"], "daily");
    assert_eq!(run["creator_user_name"], "brickship@localhost");
    assert_eq!(
        run["run_page_url"],
        format!("{}/?o=1234567890123456#job/{job_id}/run/{run_id}", ws.url)
    );
    for field in ["setup_duration", "execution_duration", "cleanup_duration"] {
        assert_eq!(run[field], 0, "{field} is 0 on a multi-task run");
    }
    let (start, end) = (
        run["start_time"].as_i64().expect("start"),
        run["end_time"].as_i64().expect("end"),
    );
    assert!(end > start);
    assert_eq!(run["run_duration"], end - start);
    assert_eq!(
        run["job_parameters"],
        json!([{"name": "env", "default": "dev", "value": "prod"}, {"name": "rows", "default": "1", "value": "1"}])
    );
    assert_eq!(run["job_clusters"].as_array().expect("job_clusters").len(), 1);

    let tasks = run["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 2);
    let (a, b) = (&tasks[0], &tasks[1]);
    for task in tasks {
        let task_run = task["run_id"].as_i64().expect("task run id");
        assert_ne!(task_run, run_id);
        assert_eq!(task["state"]["life_cycle_state"], "TERMINATED");
        assert_eq!(task["status"]["state"], "TERMINATED");
        assert_eq!(task["attempt_number"], 0);
        assert_eq!(
            task["run_page_url"],
            format!("{}/?o=1234567890123456#job/{job_id}/run/{task_run}", ws.url)
        );
        assert_eq!(
            task["setup_duration"], 10,
            "10 simulated seconds of setup at speed 1000"
        );
        assert_eq!(task["cleanup_duration"], 2);
        let sum = ["setup_duration", "execution_duration", "cleanup_duration"]
            .iter()
            .map(|f| task[*f].as_i64().expect("duration"))
            .sum::<i64>();
        assert_eq!(task["run_duration"], sum);
        assert_eq!(
            task["end_time"].as_i64().expect("end") - task["start_time"].as_i64().expect("start"),
            sum
        );
        let execution = task["execution_duration"].as_i64().expect("execution");
        assert!(
            (30..=90).contains(&execution),
            "30-90 simulated seconds: {execution}"
        );
    }
    assert!(
        b["start_time"].as_i64() >= a["end_time"].as_i64(),
        "b waits for a"
    );
    assert_eq!(a["job_cluster_key"], "c", "task settings are echoed");
    assert!(a["cluster_instance"]["cluster_id"].is_string());
    assert_eq!(a["run_if"], "ALL_SUCCESS");

    // A task run id reads as a run of its own.
    let task_run_id = b["run_id"].as_i64().expect("id");
    let task_run = ws.run(task_run_id).await;
    assert_eq!(task_run["run_id"], task_run_id);
    assert_eq!(task_run["job_run_id"], run_id);
    assert_eq!(task_run["tasks"][0]["task_key"], "b");
    assert_eq!(task_run["state"]["result_state"], "SUCCESS");
}

#[tokio::test]
async fn a_run_is_cancelled_asynchronously_and_cancel_on_a_finished_run_is_a_no_op() {
    let ws = start().await;
    let job_id = ws.create(job("hang", vec![nb("a", &[]), nb("b", &["a"])])).await;
    ws.script(json!({"job_id": job_id, "task_key": "a", "outcomes": ["HANG"]}))
        .await;
    let run_id = ws.run_now(json!({"job_id": job_id})).await;
    let run = running(&ws, run_id).await;
    assert_eq!(run["end_time"], 0);
    assert_eq!(run["run_duration"], 0);
    assert_eq!(run["status"], json!({"state": "RUNNING"}));
    assert_eq!(task_result(&run, "b"), "BLOCKED/");
    assert_eq!(entries(&run, "b")[0]["status"]["state"], "BLOCKED");
    assert_eq!(entries(&run, "b")[0]["start_time"], 0);

    assert_eq!(
        ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": run_id}))
            .await,
        json!({})
    );
    let after = ws.run(run_id).await;
    assert!(matches!(life(&after), "TERMINATING" | "TERMINATED"), "{after}");
    let run = ws.wait_terminal(run_id).await;
    assert_eq!(run["state"]["life_cycle_state"], "TERMINATED");
    assert_eq!(run["state"]["result_state"], "CANCELED");
    assert_eq!(run["state"]["user_cancelled_or_timedout"], true);
    assert_eq!(run["status"]["termination_details"]["code"], "USER_CANCELED");
    assert_eq!(task_result(&run, "a"), "TERMINATED/CANCELED");
    assert_eq!(task_result(&run, "b"), "TERMINATED/CANCELED");
    assert_eq!(
        entries(&run, "a")[0]["cleanup_duration"],
        2,
        "a cancelled task still cleans up"
    );

    assert_eq!(
        ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": run_id}))
            .await,
        json!({})
    );
    assert_eq!(
        ws.run(run_id).await,
        run,
        "cancelling a finished run changes nothing"
    );
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/runs/cancel",
        Some(json!({"run_id": 5})),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
}

#[tokio::test]
async fn failed_attempts_are_retried_with_new_run_ids() {
    let ws = start().await;
    let mut ingest = nb("ingest", &[]);
    ingest["max_retries"] = json!(2);
    let job_id = ws
        .create(job("retry", vec![ingest, nb("silver", &["ingest"])]))
        .await;
    ws.script(json!({"job_id": job_id, "task_key": "ingest", "outcomes": ["FAILED", "FAILED", "SUCCESS"]}))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    let attempts = entries(&run, "ingest");
    assert_eq!(attempts.len(), 3, "{run:#}");
    let ids: Vec<i64> = attempts
        .iter()
        .map(|t| t["run_id"].as_i64().expect("id"))
        .collect();
    assert!(ids[0] < ids[1] && ids[1] < ids[2]);
    for (n, attempt) in attempts.iter().enumerate() {
        assert_eq!(attempt["attempt_number"], n);
    }
    assert_eq!(result(attempts[0]), "FAILED");
    assert_eq!(result(attempts[1]), "FAILED");
    assert_eq!(result(attempts[2]), "SUCCESS");
    assert!(attempts[1]["start_time"].as_i64() >= attempts[0]["end_time"].as_i64());
    assert_eq!(task_result(&run, "silver"), "TERMINATED/SUCCESS");
    assert_eq!(result(&run), "SUCCESS");
}

#[tokio::test]
async fn a_task_that_keeps_failing_fails_the_run_like_a_real_workspace() {
    let ws = start().await;
    let mut ingest = nb("ingest", &[]);
    ingest["max_retries"] = json!(1);
    let job_id = ws
        .create(job("fails", vec![ingest, nb("silver", &["ingest"])]))
        .await;
    ws.script(json!({"job_id": job_id, "task_key": "ingest", "outcomes": ["FAILED"], "error": "AnalysisException: no table"}))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    let attempts = entries(&run, "ingest");
    assert_eq!(attempts.len(), 2);
    for attempt in &attempts {
        assert_eq!(attempt["state"]["life_cycle_state"], "TERMINATED");
        assert_eq!(attempt["state"]["result_state"], "FAILED");
        assert_eq!(attempt["state"]["state_message"], FAILED_MESSAGE);
        assert_eq!(
            attempt["status"]["termination_details"]["code"],
            "RUN_EXECUTION_ERROR"
        );
    }
    assert_eq!(task_result(&run, "silver"), "TERMINATED/UPSTREAM_FAILED");
    assert_eq!(run["state"]["life_cycle_state"], "INTERNAL_ERROR");
    assert_eq!(run["state"]["result_state"], "FAILED");
    assert_eq!(
        run["state"]["state_message"],
        format!("Task ingest failed with message: {FAILED_MESSAGE}.")
    );
    assert_eq!(run["status"]["state"], "TERMINATED");
    assert_eq!(
        run["status"]["termination_details"]["code"],
        "RUN_EXECUTION_ERROR"
    );

    let output = ws
        .get(&format!(
            "/api/2.2/jobs/runs/get-output?run_id={}",
            attempts[1]["run_id"]
        ))
        .await;
    assert_eq!(output["error"], "AnalysisException: no table");
    assert!(
        output["error_trace"]
            .as_str()
            .expect("trace")
            .contains("AnalysisException: no table")
    );
    assert_eq!(output["metadata"]["run_id"], attempts[1]["run_id"]);
    assert_eq!(output["metadata"]["attempt_number"], 1);
}

#[tokio::test]
async fn a_retry_waits_for_its_interval_in_waiting_for_retry() {
    let ws = start().await;
    let mut task = nb("flaky", &[]);
    task["max_retries"] = json!(1);
    task["min_retry_interval_millis"] = json!(5_000_000);
    let job_id = ws.create(job("wait", vec![task])).await;
    ws.script(json!({"job_id": job_id, "outcomes": ["FAILED", "SUCCESS"]}))
        .await;
    let run_id = ws.run_now(json!({"job_id": job_id})).await;
    let run = ws
        .wait_for(run_id, "waiting for a retry", |run| {
            entries(run, "flaky")
                .last()
                .is_some_and(|t| life(t) == "WAITING_FOR_RETRY")
        })
        .await;
    let waiting = entries(&run, "flaky")[1];
    assert_eq!(waiting["attempt_number"], 1);
    assert_eq!(waiting["status"]["state"], "WAITING");
    assert_eq!(
        life(&run),
        "RUNNING",
        "the job run keeps going while a task waits"
    );
    ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": run_id}))
        .await;
    assert_eq!(result(&ws.wait_terminal(run_id).await), "CANCELED");
}

#[tokio::test]
async fn run_if_decides_what_runs_after_a_failure_and_leaves_decide_the_result() {
    let ws = start().await;
    let with_run_if = |key: &str, run_if: &str| {
        let mut task = nb(key, &["a"]);
        task["run_if"] = json!(run_if);
        task
    };
    let mut disabled = nb("off", &[]);
    disabled["disabled"] = json!(true);
    let job_id = ws
        .create(job(
            "run-if",
            vec![
                nb("a", &[]),
                with_run_if("cleanup", "ALL_DONE"),
                with_run_if("alert", "AT_LEAST_ONE_FAILED"),
                with_run_if("all-failed", "ALL_FAILED"),
                disabled,
            ],
        ))
        .await;
    ws.script(json!({"job_id": job_id, "task_key": "a", "outcomes": ["FAILED"]}))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    assert_eq!(task_result(&run, "a"), "TERMINATED/FAILED");
    assert_eq!(task_result(&run, "cleanup"), "TERMINATED/SUCCESS");
    assert_eq!(task_result(&run, "alert"), "TERMINATED/SUCCESS");
    assert_eq!(task_result(&run, "all-failed"), "TERMINATED/SUCCESS");
    assert_eq!(task_result(&run, "off"), "TERMINATED/DISABLED");
    assert_eq!(
        run["state"]["result_state"], "SUCCESS_WITH_FAILURES",
        "every leaf succeeded"
    );
    assert_eq!(
        run["status"]["termination_details"]["code"],
        "SUCCESS_WITH_FAILURES"
    );

    // Without a failure, failure-only tasks are excluded.
    let job_id = ws
        .create(job(
            "no-failure",
            vec![nb("a", &[]), with_run_if("alert", "AT_LEAST_ONE_FAILED")],
        ))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    assert_eq!(task_result(&run, "alert"), "TERMINATED/EXCLUDED");
    assert_eq!(result(&run), "SUCCESS");
}

#[tokio::test]
async fn condition_tasks_choose_a_branch_from_job_parameters() {
    let ws = start().await;
    let branch = |key: &str, outcome: &str| {
        json!({"task_key": key, "depends_on": [{"task_key": "check", "outcome": outcome}],
        "notebook_task": {"notebook_path": "/x"}})
    };
    let job_id = ws
        .create(json!({"name": "cond", "parameters": [{"name": "mode", "default": "incremental"}], "tasks": [
            {"task_key": "check", "condition_task": {"op": "EQUAL_TO", "left": "{{job.parameters.mode}}", "right": "full"}},
            branch("full", "true"), branch("incremental", "false"),
        ]}))
        .await;
    let run = ws
        .wait_terminal(
            ws.run_now(json!({"job_id": job_id, "job_parameters": {"mode": "full"}}))
                .await,
        )
        .await;
    assert_eq!(task_result(&run, "full"), "TERMINATED/SUCCESS");
    assert_eq!(task_result(&run, "incremental"), "TERMINATED/EXCLUDED");
    assert_eq!(entries(&run, "check")[0]["condition_task"]["outcome"], "true");
    assert_eq!(result(&run), "SUCCESS");
}

#[tokio::test]
async fn task_and_job_timeouts_time_runs_out() {
    let ws = start().await;
    let mut task = nb("slow", &[]);
    task["timeout_seconds"] = json!(30);
    task["max_retries"] = json!(1);
    task["retry_on_timeout"] = json!(true);
    let job_id = ws.create(job("task-timeout", vec![task])).await;
    ws.script(json!({"job_id": job_id, "outcomes": ["HANG"]})).await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    let attempts = entries(&run, "slow");
    assert_eq!(attempts.len(), 2, "retry_on_timeout retries a timed-out attempt");
    assert!(attempts.iter().all(|t| result(t) == "TIMEDOUT"));
    assert_eq!(result(&run), "TIMEDOUT");
    assert_eq!(run["state"]["user_cancelled_or_timedout"], true);
    assert_eq!(run["status"]["state"], "TERMINATED");

    let job_id = ws
        .create(
            json!({"name": "job-timeout", "timeout_seconds": 20, "tasks": [nb("a", &[]), nb("b", &["a"])]}),
        )
        .await;
    ws.script(json!({"job_id": job_id, "task_key": "a", "outcomes": ["HANG"]}))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    assert_eq!(result(&run), "TIMEDOUT");
    assert_eq!(task_result(&run, "a"), "TERMINATED/TIMEDOUT");
    assert_eq!(task_result(&run, "b"), "TERMINATED/TIMEDOUT");
}

#[tokio::test]
async fn runs_queue_beyond_max_concurrent_runs_and_start_in_order() {
    let ws = start().await;
    let job_id = ws.create(job("queued", vec![nb("a", &[])])).await;
    ws.script(json!({"job_id": job_id, "outcomes": ["HANG"], "remaining": 1}))
        .await;
    let first = ws.run_now(json!({"job_id": job_id})).await;
    running(&ws, first).await;
    let second = ws.run_now(json!({"job_id": job_id})).await;
    let third = ws.run_now(json!({"job_id": job_id})).await;
    for run_id in [second, third] {
        let run = ws.run(run_id).await;
        assert_eq!(run["state"]["life_cycle_state"], "QUEUED", "{run:#}");
        assert_eq!(
            run["state"]["queue_reason"],
            "Queued due to reaching maximum concurrent runs of 1."
        );
        assert_eq!(run["status"]["state"], "QUEUED");
        assert_eq!(
            run["status"]["queue_details"]["code"],
            "MAX_CONCURRENT_RUNS_REACHED"
        );
        assert_eq!(run["end_time"], 0);
        assert_eq!(run["tasks"][0]["state"]["life_cycle_state"], "QUEUED");
    }
    let active = ws
        .get(&format!(
            "/api/2.2/jobs/runs/list?job_id={job_id}&active_only=true"
        ))
        .await;
    assert_eq!(active["runs"].as_array().expect("runs").len(), 3);
    assert_eq!(ws.get("/_local/state").await["queued_runs"], 2);

    ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": first}))
        .await;
    let second_run = ws.wait_terminal(second).await;
    let third_run = ws.wait_terminal(third).await;
    assert_eq!(result(&second_run), "SUCCESS");
    assert_eq!(result(&third_run), "SUCCESS");
    assert!(second_run["queue_duration"].as_i64().expect("queue_duration") > 0);
    let second_end = second_run["end_time"].as_i64().expect("end");
    let third_task_start = third_run["tasks"][0]["start_time"].as_i64().expect("start");
    assert!(
        third_task_start >= second_end,
        "one run at a time, in trigger order"
    );
}

#[tokio::test]
async fn without_queueing_a_run_over_the_limit_is_skipped() {
    let ws = start().await;
    let job_id = ws
        .create(json!({"name": "no-queue", "queue": {"enabled": false}, "tasks": [nb("a", &[])]}))
        .await;
    ws.script(json!({"job_id": job_id, "outcomes": ["HANG"], "remaining": 1}))
        .await;
    let first = ws.run_now(json!({"job_id": job_id})).await;
    let second = ws.post("/api/2.2/jobs/run-now", json!({"job_id": job_id})).await;
    assert!(
        second["run_id"].is_i64() && second["number_in_job"].is_i64(),
        "a skipped run still has ids: {second}"
    );
    let skipped = ws.run(second["run_id"].as_i64().expect("id")).await;
    assert_eq!(skipped["state"]["life_cycle_state"], "SKIPPED");
    assert_eq!(
        skipped["state"]["result_state"],
        "MAXIMUM_CONCURRENT_RUNS_REACHED"
    );
    assert_eq!(skipped["status"]["state"], "TERMINATED");
    assert_eq!(
        skipped["status"]["termination_details"]["code"],
        "MAX_CONCURRENT_RUNS_EXCEEDED"
    );
    // run-now can turn queueing on for one run.
    let queued = ws
        .run_now(json!({"job_id": job_id, "queue": {"enabled": true}}))
        .await;
    assert_eq!(life(&ws.run(queued).await), "QUEUED");
    ws.post("/api/2.2/jobs/runs/cancel-all", json!({"job_id": job_id}))
        .await;
    assert_eq!(result(&ws.wait_terminal(first).await), "CANCELED");
    assert_eq!(result(&ws.wait_terminal(queued).await), "CANCELED");

    let never = ws
        .create(json!({"name": "zero", "max_concurrent_runs": 0, "tasks": [nb("a", &[])]}))
        .await;
    let run = ws.run(ws.run_now(json!({"job_id": never})).await).await;
    assert_eq!(life(&run), "SKIPPED", "max_concurrent_runs 0 skips every run");
}

#[tokio::test]
async fn cancel_all_stops_a_jobs_runs_or_every_queued_run() {
    let ws = start().await;
    let a = ws.create(job("a", vec![nb("t", &[])])).await;
    let b = ws.create(job("b", vec![nb("t", &[])])).await;
    ws.script(json!({"outcomes": ["HANG"]})).await;
    let a1 = ws.run_now(json!({"job_id": a})).await;
    let a2 = ws.run_now(json!({"job_id": a})).await;
    let b1 = ws.run_now(json!({"job_id": b})).await;
    let b2 = ws.run_now(json!({"job_id": b})).await;
    assert_eq!(life(&ws.run(b2).await), "QUEUED");
    // Only queued runs, in every job.
    ws.post("/api/2.2/jobs/runs/cancel-all", json!({"all_queued_runs": true}))
        .await;
    assert_eq!(result(&ws.wait_terminal(a2).await), "CANCELED");
    assert_eq!(result(&ws.wait_terminal(b2).await), "CANCELED");
    assert!(matches!(life(&ws.run(a1).await), "RUNNING" | "PENDING"));
    // Every active run of one job.
    ws.post("/api/2.2/jobs/runs/cancel-all", json!({"job_id": a}))
        .await;
    assert_eq!(result(&ws.wait_terminal(a1).await), "CANCELED");
    assert!(matches!(life(&ws.run(b1).await), "RUNNING" | "PENDING"));
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/runs/cancel-all",
        Some(json!({})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/runs/cancel-all",
        Some(json!({"job_id": 9})),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
    // Deleting a job cancels its active runs.
    ws.post("/api/2.2/jobs/delete", json!({"job_id": b})).await;
    assert_eq!(result(&ws.wait_terminal(b1).await), "CANCELED");
}

#[tokio::test]
async fn an_idempotency_token_starts_exactly_one_run() {
    let ws = start().await;
    let job_id = ws.create(job("idem", vec![nb("a", &[])])).await;
    let body = json!({"job_id": job_id, "idempotency_token": "deploy-42"});
    let first = ws.run_now(body.clone()).await;
    let again = ws.run_now(body.clone()).await;
    assert_eq!(first, again);
    assert_eq!(ws.get("/_local/state").await["runs"], 1);
    let long = "x".repeat(65);
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/run-now",
        Some(json!({"job_id": job_id, "idempotency_token": long})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.wait_terminal(first).await;
    ws.post("/api/2.2/jobs/runs/delete", json!({"run_id": first}))
        .await;
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/run-now",
        Some(body),
        400,
        "INVALID_STATE",
    )
    .await;

    let submit = json!({"run_name": "once", "idempotency_token": "s-1", "tasks": [nb("a", &[])]});
    let s1 = ws.post("/api/2.2/jobs/runs/submit", submit.clone()).await["run_id"].clone();
    let s2 = ws.post("/api/2.2/jobs/runs/submit", submit).await["run_id"].clone();
    assert_eq!(s1, s2);
}

#[tokio::test]
async fn one_time_runs_run_their_tasks() {
    let ws = start().await;
    let answer = ws
        .post(
            "/api/2.2/jobs/runs/submit",
            json!({"tasks": [nb("a", &[]), nb("b", &["a"])], "access_control_list": []}),
        )
        .await;
    let run_id = answer["run_id"].as_i64().expect("run_id");
    let run = ws.wait_terminal(run_id).await;
    assert_eq!(run["run_type"], "SUBMIT_RUN");
    assert_eq!(run["run_name"], "Untitled");
    assert!(run["job_id"].is_i64());
    assert_eq!(result(&run), "SUCCESS");
    assert_eq!(run["tasks"].as_array().expect("tasks").len(), 2);
    let listed = ws.get("/api/2.2/jobs/runs/list?run_type=SUBMIT_RUN").await;
    assert_eq!(listed["runs"][0]["run_id"], run_id);
    assert_eq!(
        ws.get("/api/2.2/jobs/runs/list?run_type=JOB_RUN").await,
        json!({"has_more": false})
    );
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/runs/submit",
        Some(json!({"tasks": []})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn get_output_returns_the_scripted_output_of_one_task_run() {
    let ws = start().await;
    let single = ws.create(job("single", vec![nb("report", &[])])).await;
    ws.script(json!({"job_id": single, "output": "{\"rows\": 1000, \"null_rate\": 0.01}"}))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": single})).await)
        .await;
    let task_run = run["tasks"][0]["run_id"].as_i64().expect("id");
    let output = ws
        .get(&format!("/api/2.2/jobs/runs/get-output?run_id={task_run}"))
        .await;
    assert_eq!(
        output["notebook_output"],
        json!({"result": "{\"rows\": 1000, \"null_rate\": 0.01}", "truncated": false})
    );
    assert_eq!(output["metadata"]["run_id"], task_run);
    assert_eq!(output["metadata"]["state"]["result_state"], "SUCCESS");
    assert!(output.get("error").is_none());
    // A single-task job run id reads that task's output.
    let by_parent = ws
        .get(&format!("/api/2.2/jobs/runs/get-output?run_id={}", run["run_id"]))
        .await;
    assert_eq!(by_parent["notebook_output"], output["notebook_output"]);

    let python = ws
        .create(json!({"name": "py", "tasks": [
            {"task_key": "a", "spark_python_task": {"python_file": "a.py"}}, nb("b", &["a"])]}))
        .await;
    ws.script(json!({"job_id": python, "task_key": "a", "output": "printed 3 lines\n"}))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": python})).await)
        .await;
    let output = ws
        .get(&format!(
            "/api/2.2/jobs/runs/get-output?run_id={}",
            run["tasks"][0]["run_id"]
        ))
        .await;
    assert_eq!(output["logs"], "printed 3 lines\n");
    assert_eq!(output["logs_truncated"], false);
    let message = ws
        .fails(
            Method::GET,
            &format!("/api/2.2/jobs/runs/get-output?run_id={}", run["run_id"]),
            None,
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    assert_eq!(
        message,
        "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead."
    );
    ws.fails(
        Method::GET,
        "/api/2.2/jobs/runs/get-output?run_id=3",
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
}

#[tokio::test]
async fn runs_list_filters_pages_and_orders_newest_first() {
    let ws = start().await;
    let job_id = ws.create(job("listed", vec![nb("a", &[])])).await;
    let other = ws.create(job("other", vec![nb("a", &[])])).await;
    let mut done = Vec::new();
    for _ in 0..3 {
        let run_id = ws.run_now(json!({"job_id": job_id})).await;
        ws.wait_terminal(run_id).await;
        done.push(run_id);
    }
    ws.wait_terminal(ws.run_now(json!({"job_id": other})).await).await;
    ws.script(json!({"job_id": job_id, "outcomes": ["HANG"]})).await;
    let active = ws.run_now(json!({"job_id": job_id})).await;

    let ids = |page: &Value| -> Vec<i64> {
        page["runs"]
            .as_array()
            .map(|runs| runs.iter().map(|r| r["run_id"].as_i64().unwrap_or(0)).collect())
            .unwrap_or_default()
    };
    let all = ws.get(&format!("/api/2.2/jobs/runs/list?job_id={job_id}")).await;
    assert_eq!(ids(&all), [active, done[2], done[1], done[0]]);
    assert_eq!(all["has_more"], false);
    assert!(
        all["runs"][0].get("tasks").is_none(),
        "no tasks without expand_tasks"
    );
    assert!(all["runs"][0]["state"].is_object() && all["runs"][0]["status"].is_object());
    assert_eq!(
        ids(&ws
            .get(&format!(
                "/api/2.2/jobs/runs/list?job_id={job_id}&active_only=true"
            ))
            .await),
        [active]
    );
    let completed = ws
        .get(&format!(
            "/api/2.2/jobs/runs/list?job_id={job_id}&completed_only=true"
        ))
        .await;
    assert_eq!(ids(&completed), [done[2], done[1], done[0]]);
    ws.fails(
        Method::GET,
        &format!("/api/2.2/jobs/runs/list?job_id={job_id}&active_only=true&completed_only=true"),
        None,
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    assert_eq!(ids(&ws.get("/api/2.2/jobs/runs/list").await).len(), 5);

    // page_token and offset paging.
    let first = ws
        .get(&format!("/api/2.2/jobs/runs/list?job_id={job_id}&limit=3"))
        .await;
    assert_eq!(ids(&first), [active, done[2], done[1]]);
    assert_eq!(first["has_more"], true);
    let token = first["next_page_token"].as_str().expect("next page");
    let second = ws
        .get(&format!(
            "/api/2.2/jobs/runs/list?job_id={job_id}&limit=3&page_token={token}"
        ))
        .await;
    assert_eq!(ids(&second), [done[0]]);
    assert!(second.get("next_page_token").is_none());
    assert!(second.get("prev_page_token").is_some());
    assert_eq!(
        ids(&ws
            .get(&format!(
                "/api/2.2/jobs/runs/list?job_id={job_id}&offset=2&limit=1"
            ))
            .await),
        [done[1]]
    );
    for limit in [26, -1] {
        ws.fails(
            Method::GET,
            &format!("/api/2.2/jobs/runs/list?limit={limit}"),
            None,
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    }

    // start_time bounds are inclusive.
    let start = ws.run(done[1]).await["start_time"].as_i64().expect("start");
    let window = ws
        .get(&format!(
            "/api/2.2/jobs/runs/list?job_id={job_id}&start_time_from={start}&start_time_to={start}"
        ))
        .await;
    assert!(ids(&window).contains(&done[1]), "{window}");
    assert!(ids(&window).iter().all(|id| ws_start_equals(&all, *id, start)));

    let expanded = ws
        .get(&format!(
            "/api/2.2/jobs/runs/list?job_id={job_id}&expand_tasks=true&limit=1"
        ))
        .await;
    assert_eq!(expanded["runs"][0]["tasks"][0]["task_key"], "a");
    assert_eq!(expanded["runs"][0]["has_more"], false);
    ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": active}))
        .await;
}

fn ws_start_equals(page: &Value, run_id: i64, start: i64) -> bool {
    page["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["run_id"] == run_id && r["start_time"] == start)
}

#[tokio::test]
async fn only_active_runs_cannot_be_deleted() {
    let ws = start().await;
    let job_id = ws.create(job("del", vec![nb("a", &[])])).await;
    ws.script(json!({"job_id": job_id, "outcomes": ["HANG"], "remaining": 1}))
        .await;
    let run_id = ws.run_now(json!({"job_id": job_id})).await;
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/runs/delete",
        Some(json!({"run_id": run_id})),
        400,
        "INVALID_STATE",
    )
    .await;
    ws.post("/api/2.2/jobs/runs/cancel", json!({"run_id": run_id}))
        .await;
    ws.wait_terminal(run_id).await;
    assert_eq!(
        ws.post("/api/2.2/jobs/runs/delete", json!({"run_id": run_id}))
            .await,
        json!({})
    );
    ws.fails(
        Method::GET,
        &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
}

#[tokio::test]
async fn runs_get_pages_a_run_of_150_tasks_on_2_2() {
    let ws = start().await;
    let tasks: Vec<Value> = (0..150).map(|i| nb(&format!("t{i:03}"), &[])).collect();
    let job_id = ws.create(job("wide", tasks)).await;
    let run_id = ws.run_now(json!({"job_id": job_id})).await;
    ws.wait_terminal(run_id).await;
    let first = ws.run(run_id).await;
    assert_eq!(first["tasks"].as_array().expect("tasks").len(), 100);
    let token = first["next_page_token"].as_str().expect("next page").to_owned();
    let second = ws
        .get(&format!(
            "/api/2.2/jobs/runs/get?run_id={run_id}&page_token={token}"
        ))
        .await;
    assert_eq!(second["tasks"].as_array().expect("tasks").len(), 50);
    assert_eq!(second["run_id"], run_id);
    assert!(second["state"].is_object());
    assert!(
        second.get("next_page_token").is_none(),
        "{}",
        second["next_page_token"]
    );
    let whole = ws.get(&format!("/api/2.1/jobs/runs/get?run_id={run_id}")).await;
    assert_eq!(whole["tasks"].as_array().expect("tasks").len(), 150);
    assert!(whole.get("next_page_token").is_none());
}

#[tokio::test]
async fn run_now_only_runs_a_subset_of_tasks() {
    let ws = start().await;
    let job_id = ws
        .create(job(
            "subset",
            vec![nb("a", &[]), nb("b", &["a"]), nb("c", &["b"])],
        ))
        .await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id, "only": ["b"]})).await)
        .await;
    let keys: Vec<&str> = run["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["task_key"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(keys, ["b"]);
    assert_eq!(result(&run), "SUCCESS");
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/run-now",
        Some(json!({"job_id": job_id, "only": ["zz"]})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}
