//! API surface: request shapes of every typed call and wait_for_run.

use std::time::Duration;

use databricks::{
    AccessControlRequest, Error, ExportFormat, JobSettings, Language, ObjectType, PermissionLevel,
    RunResultState, SubmitRun, Task, WaitForRun,
};
use serde_json::json;

use crate::support::{Stub, client, err, ok};

#[tokio::test]
async fn job_calls_send_the_documented_bodies() {
    let stub = Stub::start(|hit, _| match hit.path.as_str() {
        "/api/2.2/jobs/create" => ok(json!({ "job_id": 11 })),
        "/api/2.2/jobs/runs/submit" => ok(json!({ "run_id": 12 })),
        "/api/2.2/jobs/runs/get-output" => ok(json!({ "notebook_output": { "result": "42", "truncated": false }, "metadata": { "run_id": 13 } })),
        _ => ok(json!({})),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let settings = JobSettings {
        name: Some("j".into()),
        max_concurrent_runs: Some(1),
        ..JobSettings::default()
    };
    let acl = [AccessControlRequest::group(
        "data-analysts",
        PermissionLevel::CanView,
    )];
    assert_eq!(
        client.create_job(&settings, Some(&acl)).await.expect("create"),
        11
    );
    client.reset_job(11, &settings).await.expect("reset");
    client
        .update_job(11, Some(&settings), &["schedule", "tasks/old"])
        .await
        .expect("update");
    client
        .update_job(11, None, &["email_notifications"])
        .await
        .expect("update");
    client.delete_job(11).await.expect("delete");
    client.cancel_all_runs(11).await.expect("cancel all");
    client.delete_run(14).await.expect("delete run");
    let task = Task {
        task_key: "t".into(),
        ..Task::default()
    };
    let submitted = client
        .submit_run(&SubmitRun {
            run_name: Some("once".into()),
            tasks: Some(vec![task]),
            ..SubmitRun::default()
        })
        .await
        .expect("submit");
    assert_eq!(submitted.run_id, 12);
    let output = client.get_run_output(13).await.expect("output");
    assert_eq!(
        output.notebook_output.and_then(|o| o.result).as_deref(),
        Some("42")
    );

    let bodies: Vec<(String, serde_json::Value)> =
        stub.hits().iter().map(|h| (h.path.clone(), h.json())).collect();
    assert_eq!(
        bodies[0],
        (
            "/api/2.2/jobs/create".into(),
            json!({
                "name": "j", "max_concurrent_runs": 1,
                "access_control_list": [{ "group_name": "data-analysts", "permission_level": "CAN_VIEW" }]
            })
        )
    );
    assert_eq!(
        bodies[1],
        (
            "/api/2.2/jobs/reset".into(),
            json!({ "job_id": 11, "new_settings": { "name": "j", "max_concurrent_runs": 1 } })
        )
    );
    assert_eq!(
        bodies[2].1,
        json!({ "job_id": 11, "new_settings": { "name": "j", "max_concurrent_runs": 1 }, "fields_to_remove": ["schedule", "tasks/old"] })
    );
    assert_eq!(
        bodies[3].1,
        json!({ "job_id": 11, "fields_to_remove": ["email_notifications"] })
    );
    assert_eq!(
        bodies[4],
        ("/api/2.2/jobs/delete".into(), json!({ "job_id": 11 }))
    );
    assert_eq!(
        bodies[5],
        ("/api/2.2/jobs/runs/cancel-all".into(), json!({ "job_id": 11 }))
    );
    assert_eq!(
        bodies[6],
        ("/api/2.2/jobs/runs/delete".into(), json!({ "run_id": 14 }))
    );
    assert_eq!(bodies[7].1["run_name"], "once");
    assert!(
        bodies[7].1["idempotency_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(stub.hits()[8].query("run_id"), Some("13"));
}

#[tokio::test]
async fn wait_for_run_returns_failed_runs_and_reports_progress() {
    let stub = Stub::start(|_, n| {
        let (lcs, result) = match n {
            0 => ("PENDING", None),
            1 => ("RUNNING", None),
            _ => ("INTERNAL_ERROR", Some("FAILED")),
        };
        let mut state = json!({ "life_cycle_state": lcs, "state_message": "" });
        if let Some(result) = result {
            state["result_state"] = json!(result);
        }
        ok(json!({ "run_id": 3, "state": state, "status": { "state": "RUNNING" } }))
    })
    .await;
    let (client, clock) = client(&stub.url).await;
    let mut seen = Vec::new();
    let options =
        WaitForRun::timeout(Duration::from_secs(600)).poll(Duration::from_secs(2), Duration::from_secs(3));
    let run = client
        .wait_for_run(3, &options, |run| {
            seen.push(run.life_cycle_state().map(|s| s.as_str().to_owned()))
        })
        .await
        .expect("a failed run is returned, not raised");
    assert_eq!(run.result_state(), Some(&RunResultState::Failed));
    assert_eq!(
        seen,
        vec![
            Some("PENDING".into()),
            Some("RUNNING".into()),
            Some("INTERNAL_ERROR".into())
        ]
    );
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(2), Duration::from_secs(3)],
        "linear poll, capped"
    );
}

#[tokio::test]
async fn wait_for_run_times_out() {
    let stub =
        Stub::start(|_, _| ok(json!({ "run_id": 3, "state": { "life_cycle_state": "RUNNING" } }))).await;
    let (client, clock) = client(&stub.url).await;
    let error = client
        .wait_for_run(3, &WaitForRun::timeout(Duration::from_secs(60)), |_| {})
        .await
        .expect_err("never finishes");
    match error {
        Error::Timeout { what, after } => {
            assert!(what.contains("run `3`") && what.contains("RUNNING"), "{what}");
            assert!(after >= Duration::from_secs(60));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(clock.elapsed() >= Duration::from_secs(60) && clock.elapsed() < Duration::from_secs(61));
}

#[tokio::test]
async fn permissions_calls() {
    let stub = Stub::start(|hit, _| {
        if hit.path.ends_with("/permissionLevels") {
            return ok(json!({ "permission_levels": [{ "permission_level": "CAN_VIEW", "description": "view" }, { "permission_level": "IS_OWNER", "description": "own" }] }));
        }
        ok(json!({
            "object_id": "/jobs/5", "object_type": "job",
            "access_control_list": [
                { "user_name": "me@x", "display_name": "Me", "all_permissions": [{ "permission_level": "IS_OWNER", "inherited": false }] },
                { "group_name": "admins", "all_permissions": [{ "permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/jobs/"] }] }
            ]
        }))
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let perms = client.get_job_permissions(5).await.expect("get");
    let acl = perms.access_control_list.expect("acl");
    assert_eq!(acl[0].principal(), Some("me@x"));
    assert_eq!(
        acl[0].direct_levels().collect::<Vec<_>>(),
        vec![&PermissionLevel::IsOwner]
    );
    assert_eq!(acl[1].direct_levels().count(), 0);
    let desired = [
        AccessControlRequest::user("me@x", PermissionLevel::IsOwner),
        AccessControlRequest::service_principal("sp-1", PermissionLevel::CanManageRun),
    ];
    client.set_job_permissions(5, &desired).await.expect("put");
    client
        .update_job_permissions(5, &desired[1..])
        .await
        .expect("patch");
    let levels = client.get_job_permission_levels(5).await.expect("levels");
    assert_eq!(levels.len(), 2);
    let hits = stub.hits();
    assert_eq!(
        (hits[1].method.as_str(), hits[1].path.as_str()),
        ("PUT", "/api/2.0/permissions/jobs/5")
    );
    assert_eq!(
        hits[1].json(),
        json!({ "access_control_list": [
        { "user_name": "me@x", "permission_level": "IS_OWNER" },
        { "service_principal_name": "sp-1", "permission_level": "CAN_MANAGE_RUN" }
    ] })
    );
    assert_eq!(hits[2].method, "PATCH");
    assert_eq!(hits[3].path, "/api/2.0/permissions/jobs/5/permissionLevels");
}

#[tokio::test]
async fn workspace_calls() {
    let stub = Stub::start(|hit, _| match hit.path.as_str() {
        "/api/2.0/workspace/get-status" => ok(json!({ "object_type": "NOTEBOOK", "path": "/n", "language": "PYTHON", "object_id": 1 })),
        "/api/2.0/workspace/list" => ok(json!({ "objects": [{ "object_type": "DIRECTORY", "path": "/a" }, { "object_type": "FILE", "path": "/b", "size": 3 }] })),
        "/api/2.0/workspace/export" => ok(json!({ "content": "aGVsbG8=", "file_type": "py" })),
        "/api/2.0/workspace/import" | "/api/2.0/workspace/mkdirs" | "/api/2.0/workspace/delete" => ok(json!({})),
        _ => err(404, "RESOURCE_DOES_NOT_EXIST", "no"),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let ws = client.workspace();
    let info = ws.get_status("/n").await.expect("status");
    assert_eq!(
        (info.object_type, info.language),
        (Some(ObjectType::Notebook), Some(Language::Python))
    );
    assert_eq!(ws.list("/").await.expect("list").len(), 2);
    assert_eq!(
        ws.export("/n", ExportFormat::Source).await.expect("export"),
        b"hello"
    );
    ws.import(
        "/n",
        b"print(1)",
        ExportFormat::Source,
        Some(Language::Python),
        true,
    )
    .await
    .expect("import");
    ws.mkdirs("/a/b").await.expect("mkdirs");
    ws.delete("/a", true).await.expect("delete");
    let hits = stub.hits();
    assert_eq!(hits[2].query("format"), Some("SOURCE"));
    assert_eq!(
        hits[3].json(),
        json!({ "path": "/n", "content": "cHJpbnQoMSk=", "format": "SOURCE", "overwrite": true, "language": "PYTHON" })
    );
    assert_eq!(hits[4].json(), json!({ "path": "/a/b" }));
    assert_eq!(hits[5].json(), json!({ "path": "/a", "recursive": true }));
}

#[tokio::test]
async fn catalog_secrets_and_current_user() {
    let stub = Stub::start(|hit, _| match hit.path.as_str() {
        "/api/2.1/clusters/list-node-types" => ok(
            json!({ "node_types": [{ "node_type_id": "i3.xlarge", "memory_mb": 31232, "num_cores": 4.0 }] }),
        ),
        "/api/2.1/clusters/spark-versions" => {
            ok(json!({ "versions": [{ "key": "15.4.x-scala2.12", "name": "15.4 LTS" }] }))
        }
        "/api/2.0/secrets/scopes/list" => {
            ok(json!({ "scopes": [{ "name": "prod", "backend_type": "DATABRICKS" }] }))
        }
        "/api/2.0/secrets/list" => {
            ok(json!({ "secrets": [{ "key": "api-key", "last_updated_timestamp": 1 }] }))
        }
        "/api/2.0/preview/scim/v2/Me" => ok(json!({ "id": "7", "userName": "me@x", "active": true })),
        _ => err(404, "NOT_FOUND", "no"),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    assert_eq!(
        client.list_node_types().await.expect("nodes")[0].node_type_id,
        "i3.xlarge"
    );
    assert_eq!(
        client.spark_versions().await.expect("versions")[0].key,
        "15.4.x-scala2.12"
    );
    assert_eq!(client.list_scopes().await.expect("scopes")[0].name, "prod");
    assert_eq!(
        client.list_secrets("prod").await.expect("secrets")[0].key,
        "api-key"
    );
    assert_eq!(stub.hits()[3].query("scope"), Some("prod"));
    assert_eq!(
        client.current_user().await.expect("me").user_name.as_deref(),
        Some("me@x")
    );
    assert!(client.calls().iter().all(|c| !c.mutating));
}
