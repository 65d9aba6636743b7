//! The `/_local/` run scripting API: rules, matching, expiry, run speed and state counts.

use reqwest::Method;
use serde_json::json;

use crate::support::{entries, job, nb, result, start};

#[tokio::test]
async fn rules_are_added_listed_and_deleted() {
    let ws = start().await;
    let first = ws
        .script(json!({"job_name": "customer-360*", "outcomes": ["FAILED", "SUCCESS"], "remaining": 3}))
        .await;
    let second = ws
        .script(json!({"task_key": "ingest", "outcomes": ["HANG"]}))
        .await;
    assert!(second > first);
    let listed = ws.get("/_local/scripts").await;
    let rules = listed["scripts"].as_array().expect("scripts");
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["script_id"], first);
    assert_eq!(rules[0]["job_name"], "customer-360*");
    assert_eq!(rules[0]["outcomes"], json!(["FAILED", "SUCCESS"]));
    assert_eq!(rules[0]["remaining"], 3);
    assert_eq!(
        ws.call(Method::DELETE, &format!("/_local/scripts/{first}"), None)
            .await
            .0
            .as_u16(),
        200
    );
    ws.fails(
        Method::DELETE,
        &format!("/_local/scripts/{first}"),
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
    assert_eq!(
        ws.get("/_local/scripts").await["scripts"]
            .as_array()
            .expect("scripts")
            .len(),
        1
    );
    let (status, cleared) = ws.call(Method::DELETE, "/_local/scripts", None).await;
    assert_eq!((status.as_u16(), cleared), (200, json!({"deleted": 1})));
    for bad in [
        json!({"outcomes": ["EXPLODE"]}),
        json!({"outcomes": []}),
        json!({"duration_ms": -1}),
        json!({"remaining": 0}),
        json!({"colour": "blue"}),
    ] {
        ws.fails(
            Method::POST,
            "/_local/scripts",
            Some(bad),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    }
}

#[tokio::test]
async fn the_newest_matching_rule_decides_each_task_until_it_runs_out() {
    let ws = start().await;
    let canary = ws
        .create(job(
            "customer-360-canary",
            vec![nb("ingest", &[]), nb("report", &["ingest"])],
        ))
        .await;
    let other = ws.create(job("billing", vec![nb("ingest", &[])])).await;
    ws.script(json!({"job_name": "customer-360*", "outcomes": ["FAILED"]}))
        .await;
    ws.script(
        json!({"job_name": "customer-360-????ry", "task_key": "ingest", "outcomes": ["SUCCESS"],
        "output": "{\"rows\": 5}", "remaining": 1}),
    )
    .await;

    // First run: the newer, narrower rule decides ingest; the older one still decides report.
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": canary})).await)
        .await;
    assert_eq!(result(entries(&run, "ingest")[0]), "SUCCESS");
    assert_eq!(result(entries(&run, "report")[0]), "FAILED");
    let output = ws
        .get(&format!(
            "/api/2.2/jobs/runs/get-output?run_id={}",
            entries(&run, "ingest")[0]["run_id"]
        ))
        .await;
    assert_eq!(output["notebook_output"]["result"], "{\"rows\": 5}");
    assert_eq!(
        ws.get("/_local/scripts").await["scripts"]
            .as_array()
            .expect("scripts")
            .len(),
        1,
        "the one-use rule expired"
    );
    // Second run: only the glob rule is left.
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": canary})).await)
        .await;
    assert_eq!(result(entries(&run, "ingest")[0]), "FAILED");
    assert_eq!(result(entries(&run, "report")[0]), "UPSTREAM_FAILED");
    // Other jobs are untouched (names are case-sensitive globs).
    assert_eq!(
        result(&ws.wait_terminal(ws.run_now(json!({"job_id": other})).await).await),
        "SUCCESS"
    );
}

#[tokio::test]
async fn rules_can_match_job_parameters_and_set_durations() {
    let ws = start().await;
    let job_id = ws
        .create(
            json!({"name": "params", "parameters": [{"name": "brickship_canary", "default": "false"}],
            "tasks": [nb("a", &[])]}),
        )
        .await;
    ws.script(json!({"parameters": {"brickship_canary": "true"}, "outcomes": ["FAILED"], "duration_ms": 7000, "pending_ms": 3000}))
        .await;
    let plain = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    assert_eq!(result(&plain), "SUCCESS");
    let canary = ws
        .wait_terminal(
            ws.run_now(json!({"job_id": job_id, "job_parameters": {"brickship_canary": "true"}}))
                .await,
        )
        .await;
    let task = entries(&canary, "a")[0];
    assert_eq!(result(task), "FAILED");
    assert_eq!(task["setup_duration"], 3, "3 simulated seconds at speed 1000");
    assert_eq!(task["execution_duration"], 7);
}

#[tokio::test]
async fn run_speed_changes_at_runtime_and_state_counts_runs() {
    let ws = start().await;
    assert_eq!(ws.get("/_local/config").await["run_speed"], 1000.0);
    assert_eq!(
        ws.post("/_local/config", json!({"run_speed": 500})).await["run_speed"],
        500.0
    );
    ws.fails(
        Method::POST,
        "/_local/config",
        Some(json!({"run_speed": 0})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.fails(
        Method::POST,
        "/_local/config",
        Some(json!({"speed": 2})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    let job_id = ws.create(job("speed", vec![nb("a", &[])])).await;
    let run = ws
        .wait_terminal(ws.run_now(json!({"job_id": job_id})).await)
        .await;
    assert_eq!(
        entries(&run, "a")[0]["setup_duration"],
        20,
        "10 simulated seconds at speed 500"
    );
    ws.script(json!({"outcomes": ["HANG"]})).await;
    ws.run_now(json!({"job_id": job_id})).await;
    let state = ws.get("/_local/state").await;
    assert_eq!(state["jobs"], 1);
    assert_eq!(state["runs"], 2);
    assert_eq!(state["active_runs"], 1);
    assert_eq!(state["queued_runs"], 0);
    assert_eq!(state["scripts"], 1);
}
