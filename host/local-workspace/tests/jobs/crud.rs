//! Job definitions: create/get/list/reset/update/delete, defaults, validation and paging.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{job, nb, start};

#[tokio::test]
async fn create_stores_settings_with_server_defaults_and_round_trips_unknown_fields() {
    let ws = start().await;
    let settings = json!({
        "name": "customer-360",
        "tasks": [nb("ingest", &[]), {"task_key": "score", "depends_on": [{"task_key": "ingest"}],
            "spark_python_task": {"python_file": "score.py"}, "some_future_field": {"nested": [1, 2]}}],
        "a_field_from_2030": {"x": true},
        "tags": {"team": "data"},
        "access_control_list": [{"group_name": "analysts", "permission_level": "CAN_VIEW"}],
    });
    let job_id = ws.create(settings).await;
    assert!(job_id > 10_i64.pow(13), "realistic ids: {job_id}");
    let job = ws.job(job_id).await;
    assert_eq!(job["job_id"], job_id);
    assert_eq!(job["creator_user_name"], "brickship@localhost");
    assert_eq!(job["run_as_user_name"], "brickship@localhost");
    assert!(job["created_time"].as_i64().expect("created_time is a number") > 1_600_000_000_000);
    assert!(
        job.get("next_page_token").is_none(),
        "no next_page_token key without a next page"
    );
    let s = &job["settings"];
    assert_eq!(s["format"], "MULTI_TASK");
    assert_eq!(s["max_concurrent_runs"], 1);
    assert_eq!(s["timeout_seconds"], 0);
    assert_eq!(s["email_notifications"], json!({}));
    assert_eq!(s["webhook_notifications"], json!({}));
    assert_eq!(s["queue"], json!({"enabled": true}));
    assert_eq!(s["a_field_from_2030"], json!({"x": true}));
    assert!(
        s.get("access_control_list").is_none(),
        "the ACL is not part of the settings"
    );
    let task = &s["tasks"][0];
    assert_eq!(task["run_if"], "ALL_SUCCESS");
    assert_eq!(task["timeout_seconds"], 0);
    assert_eq!(task["email_notifications"], json!({}));
    assert_eq!(task["notebook_task"]["source"], "WORKSPACE");
    assert_eq!(s["tasks"][1]["some_future_field"], json!({"nested": [1, 2]}));

    // 2.1 create: no queue default; git_source makes notebook sources GIT; a missing name is "Untitled".
    let job_id = ws
        .post(
            "/api/2.1/jobs/create",
            json!({"tasks": [nb("a", &[])], "git_source": {"git_url": "https://github.com/x/y", "git_provider": "github", "git_branch": "main"}}),
        )
        .await["job_id"]
        .as_i64()
        .expect("job_id");
    let job = ws.get(&format!("/api/2.1/jobs/get?job_id={job_id}")).await;
    assert!(job["settings"].get("queue").is_none(), "{job}");
    assert_eq!(job["settings"]["name"], "Untitled");
    assert_eq!(
        job["settings"]["git_source"]["git_provider"], "gitHub",
        "canonical enum spelling"
    );
    assert_eq!(job["settings"]["tasks"][0]["notebook_task"]["source"], "GIT");
    // Terraform's legacy path.
    assert_eq!(
        ws.get(&format!("/api/2.0/jobs/get?job_id={job_id}")).await["job_id"],
        job_id
    );
}

#[tokio::test]
async fn request_errors_have_the_real_codes_and_messages() {
    let ws = start().await;
    let message = ws
        .fails(
            Method::GET,
            "/api/2.2/jobs/get?job_id=123",
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )
        .await;
    assert_eq!(message, "Job 123 does not exist.");
    ws.fails(
        Method::GET,
        "/api/2.2/jobs/get",
        None,
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.fails(
        Method::GET,
        "/api/2.2/jobs/get?job_id=abc",
        None,
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    let message = ws
        .fails(
            Method::GET,
            "/api/2.2/jobs/runs/get?run_id=42",
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )
        .await;
    assert_eq!(message, "Run 42 does not exist.");
    for path in ["reset", "update", "delete", "run-now"] {
        let body = json!({"job_id": 77, "new_settings": {}});
        let message = ws
            .fails(
                Method::POST,
                &format!("/api/2.2/jobs/{path}"),
                Some(body),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            )
            .await;
        assert_eq!(message, "Job 77 does not exist.", "{path}");
    }
    let (status, body) = ws.raw_post("/api/2.2/jobs/create", "{\"name\": ").await;
    assert_eq!(
        (status.as_u16(), body["error_code"].as_str()),
        (400, Some("MALFORMED_REQUEST")),
        "{body}"
    );
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/delete",
        Some(json!({"job_id": {"id": 1}})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/delete",
        Some(json!({})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/create",
        Some(json!({"name": 5})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn validation_rejects_bad_task_graphs_enums_and_limits() {
    let ws = start().await;
    let mut dangling = nb("b", &["nope"]);
    dangling["run_if"] = json!("ALL_SUCCESS");
    let mut bad_run_if = nb("a", &[]);
    bad_run_if["run_if"] = json!("WHENEVER");
    let mut undefined_cluster = nb("a", &[]);
    undefined_cluster["job_cluster_key"] = json!("big");
    let schedule = json!({"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"});
    let tags: serde_json::Map<String, Value> = (0..26).map(|i| (format!("t{i}"), json!("v"))).collect();
    let cases = [
        (job("dup", vec![nb("a", &[]), nb("a", &[])]), "Duplicate task_key"),
        (
            job("dangling", vec![nb("a", &[]), dangling]),
            "does not exist in the job",
        ),
        (
            job("cycle", vec![nb("a", &["c"]), nb("b", &["a"]), nb("c", &["b"])]),
            "cycle",
        ),
        (
            json!({"schedule": schedule, "continuous": {"pause_status": "UNPAUSED"}}),
            "only one of",
        ),
        (
            json!({"schedule": schedule, "trigger": {"periodic": {"interval": 1, "unit": "HOURS"}}}),
            "only one of",
        ),
        (
            json!({"schedule": {"quartz_cron_expression": "x", "timezone_id": "UTC", "pause_status": "STOPPED"}}),
            "pause_status",
        ),
        (job("run_if", vec![bad_run_if]), "run_if"),
        (
            job("cluster", vec![undefined_cluster]),
            "not defined in job_clusters",
        ),
        (
            json!({"tasks": (0..1001).map(|i| nb(&format!("t{i}"), &[])).collect::<Vec<_>>()}),
            "at most 1000 tasks",
        ),
        (json!({"tags": tags}), "at most 25 tags"),
        (json!({"max_concurrent_runs": 1001}), "between 0 and 1000"),
        (json!({"max_concurrent_runs": -1}), "between 0 and 1000"),
        (json!({"name": "n".repeat(4097)}), "4096 bytes"),
        (
            json!({"tasks": [{"task_key": "no-type"}]}),
            "exactly one task type",
        ),
        (json!({"git_source": {"git_url": "https://x"}}), "git_provider"),
    ];
    for (settings, expected) in cases {
        let message = ws
            .fails(
                Method::POST,
                "/api/2.2/jobs/create",
                Some(settings.clone()),
                400,
                "INVALID_PARAMETER_VALUE",
            )
            .await;
        assert!(message.contains(expected), "{settings}: {message}");
    }
    // Boundaries are accepted.
    let tags: serde_json::Map<String, Value> = (0..25).map(|i| (format!("t{i}"), json!("v"))).collect();
    ws.create(json!({"name": "n".repeat(4096), "tags": tags, "max_concurrent_runs": 0}))
        .await;
    assert_eq!(ws.get("/_local/state").await["jobs"], 1);
}

#[tokio::test]
async fn get_pages_arrays_over_100_on_2_2_only() {
    let ws = start().await;
    let tasks: Vec<Value> = (0..150).map(|i| nb(&format!("t{i:03}"), &[])).collect();
    let job_id = ws
        .create(json!({"name": "wide", "tasks": tasks, "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"num_workers": 1}}]}))
        .await;
    let first = ws.job(job_id).await;
    assert_eq!(first["settings"]["tasks"].as_array().expect("tasks").len(), 100);
    assert_eq!(
        first["settings"]["job_clusters"]
            .as_array()
            .expect("clusters")
            .len(),
        1
    );
    let token = first["next_page_token"].as_str().expect("a next page").to_owned();
    assert!(!token.is_empty());
    let second = ws
        .get(&format!("/api/2.2/jobs/get?job_id={job_id}&page_token={token}"))
        .await;
    assert_eq!(second["job_id"], job_id, "every page carries job_id");
    assert_eq!(second["settings"]["name"], "wide", "every page carries settings");
    let keys: Vec<&str> = second["settings"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["task_key"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(keys.len(), 50);
    assert_eq!(keys[0], "t100");
    assert_eq!(
        second["settings"]["job_clusters"],
        json!([]),
        "exhausted arrays come back empty"
    );
    assert!(
        second.get("next_page_token").is_none(),
        "the last page has no next_page_token key: {second}"
    );
    let whole = ws.get(&format!("/api/2.1/jobs/get?job_id={job_id}")).await;
    assert_eq!(whole["settings"]["tasks"].as_array().expect("tasks").len(), 150);
    assert!(whole.get("next_page_token").is_none());
    ws.fails(
        Method::GET,
        &format!("/api/2.2/jobs/get?job_id={job_id}&page_token=garbage"),
        None,
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn list_pages_newest_first_filters_by_name_and_expands_tasks() {
    let ws = start().await;
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(
            ws.create(job(&format!("bulk-{i:03}"), vec![nb("main", &[])]))
                .await,
        );
    }
    let wide: Vec<Value> = (0..150).map(|i| nb(&format!("t{i}"), &[])).collect();
    let wide_id = ws.create(job("Wide-Job", wide)).await;
    ids.push(wide_id);

    // page_token pagination sees every job once, newest first.
    let mut seen = Vec::new();
    let mut path = "/api/2.2/jobs/list?limit=25".to_owned();
    loop {
        let page = ws.get(&path).await;
        for job in page["jobs"].as_array().expect("jobs") {
            assert!(
                job["settings"]["name"].is_string(),
                "every BaseJob carries settings"
            );
            assert!(
                job["settings"].get("tasks").is_none(),
                "no tasks without expand_tasks"
            );
            seen.push(job["job_id"].as_i64().expect("id"));
        }
        match page.get("next_page_token") {
            Some(token) => {
                assert_eq!(page["has_more"], true);
                path = format!(
                    "/api/2.2/jobs/list?limit=25&page_token={}",
                    token.as_str().expect("token")
                );
            }
            None => {
                assert_eq!(page["has_more"], false);
                break;
            }
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    // Deprecated offset paging, as old SDKs do it.
    let page = ws.get("/api/2.2/jobs/list?limit=10&offset=115").await;
    let got: Vec<i64> = page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["job_id"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(got, newest_first[115..]);
    assert_eq!(page["has_more"], false);
    assert!(page.get("prev_page_token").is_some());

    // Exact, case-insensitive name filter; no match leaves no `jobs` key.
    let found = ws.get("/api/2.2/jobs/list?name=WIDE-job&expand_tasks=true").await;
    let jobs = found["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["job_id"], wide_id);
    assert_eq!(
        jobs[0]["settings"]["tasks"].as_array().expect("tasks").len(),
        100,
        "capped at 100"
    );
    assert_eq!(jobs[0]["has_more"], true);
    let bulk = ws.get("/api/2.2/jobs/list?name=bulk-000&expand_tasks=true").await;
    assert_eq!(bulk["jobs"][0]["has_more"], false);
    assert_eq!(bulk["jobs"][0]["settings"]["tasks"][0]["task_key"], "main");
    let none = ws.get("/api/2.2/jobs/list?name=bulk").await;
    assert_eq!(none, json!({"has_more": false}));

    for limit in [0, 101] {
        ws.fails(
            Method::GET,
            &format!("/api/2.2/jobs/list?limit={limit}"),
            None,
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    }
    assert_eq!(
        ws.get("/api/2.2/jobs/list").await["jobs"]
            .as_array()
            .expect("jobs")
            .len(),
        20,
        "default limit"
    );
}

#[tokio::test]
async fn reset_replaces_everything_but_an_omitted_run_as() {
    let ws = start().await;
    let job_id = ws
        .create(json!({"name": "a", "tasks": [nb("x", &[])], "run_as": {"service_principal_name": "sp-123"},
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"}, "queue": {"enabled": false}}))
        .await;
    assert_eq!(ws.job(job_id).await["run_as_user_name"], "sp-123");
    ws.post(
        "/api/2.2/jobs/reset",
        json!({"job_id": job_id, "new_settings": {"name": "b", "tasks": [nb("y", &[])]}}),
    )
    .await;
    let job = ws.job(job_id).await;
    let s = &job["settings"];
    assert_eq!(s["name"], "b");
    assert!(s.get("schedule").is_none(), "reset is a full replace");
    assert_eq!(s["tasks"].as_array().expect("tasks").len(), 1);
    assert_eq!(
        s["run_as"],
        json!({"service_principal_name": "sp-123"}),
        "an omitted run_as is kept"
    );
    assert_eq!(job["run_as_user_name"], "sp-123");
    assert_eq!(
        s["queue"],
        json!({"enabled": true}),
        "2.2 reset without queue turns queueing on"
    );
    ws.post(
        "/api/2.1/jobs/reset",
        json!({"job_id": job_id, "new_settings": {"name": "c", "run_as": {"user_name": "u@x"}}}),
    )
    .await;
    let job = ws.job(job_id).await;
    assert!(job["settings"].get("queue").is_none(), "2.1 reset adds no queue");
    assert_eq!(job["run_as_user_name"], "u@x");
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/reset",
        Some(json!({"job_id": job_id})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn update_merges_arrays_by_key_and_removes_fields() {
    let ws = start().await;
    let cluster =
        |key: &str, workers: i64| json!({"job_cluster_key": key, "new_cluster": {"num_workers": workers}});
    let job_id = ws
        .create(json!({
            "name": "u", "timeout_seconds": 60, "tags": {"a": "1"},
            "job_clusters": [cluster("small", 1), cluster("big", 8)],
            "tasks": [nb("a", &[]), nb("b", &["a"]), nb("c", &["b"])],
            "parameters": [{"name": "p", "default": "1"}],
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
        }))
        .await;
    let mut b2 = nb("b", &["a"]);
    b2["notebook_task"]["notebook_path"] = json!("/v2");
    ws.post(
        "/api/2.2/jobs/update",
        json!({"job_id": job_id,
               "new_settings": {"tasks": [b2, nb("d", &["a"])], "job_clusters": [cluster("big", 16)], "tags": {"b": "2"},
                                "parameters": [{"name": "q", "default": "2"}]},
               "fields_to_remove": ["schedule", "tasks/c", "job_clusters/small"]}),
    )
    .await;
    let s = ws.job(job_id).await["settings"].clone();
    let keys: Vec<&str> = s["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["task_key"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(keys, ["a", "b", "d"]);
    assert_eq!(s["tasks"][1]["notebook_task"]["notebook_path"], "/v2");
    assert_eq!(
        s["tasks"][2]["run_if"], "ALL_SUCCESS",
        "defaults apply to merged tasks"
    );
    assert_eq!(s["job_clusters"], json!([cluster("big", 16)]));
    assert_eq!(
        s["tags"],
        json!({"b": "2"}),
        "other top-level fields are replaced wholesale"
    );
    assert_eq!(
        s["parameters"],
        json!([{"name": "p", "default": "1"}, {"name": "q", "default": "2"}])
    );
    assert!(s.get("schedule").is_none());
    assert_eq!(s["timeout_seconds"], 60, "fields not given are kept");

    // An update that leaves the job invalid is refused and changes nothing.
    let message = ws
        .fails(
            Method::POST,
            "/api/2.2/jobs/update",
            Some(json!({"job_id": job_id, "fields_to_remove": ["tasks/a"]})),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    assert!(message.contains("'a'"), "{message}");
    assert_eq!(
        ws.job(job_id).await["settings"]["tasks"]
            .as_array()
            .expect("tasks")
            .len(),
        3
    );
    // Removing a defaulted field brings the default back.
    ws.post(
        "/api/2.2/jobs/update",
        json!({"job_id": job_id, "fields_to_remove": ["email_notifications"]}),
    )
    .await;
    assert_eq!(ws.job(job_id).await["settings"]["email_notifications"], json!({}));
}

#[tokio::test]
async fn delete_removes_the_job_and_its_permissions() {
    let ws = start().await;
    let job_id = ws.create(job("gone", vec![nb("a", &[])])).await;
    assert_eq!(
        ws.post("/api/2.2/jobs/delete", json!({"job_id": job_id})).await,
        json!({})
    );
    ws.fails(
        Method::GET,
        &format!("/api/2.2/jobs/get?job_id={job_id}"),
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/delete",
        Some(json!({"job_id": job_id})),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
    ws.fails(
        Method::GET,
        &format!("/api/2.0/permissions/jobs/{job_id}"),
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
}
