//! Job permissions: one owner, inherited admins, PUT replaces, PATCH merges.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Ws, job, nb, start};

const OWNER_MESSAGE: &str = "The job must have exactly one owner.";

fn levels_of<'a>(acl: &'a Value, field: &str, name: &str) -> Vec<&'a Value> {
    acl["access_control_list"]
        .as_array()
        .expect("access_control_list")
        .iter()
        .filter(|entry| entry[field] == name)
        .flat_map(|entry| entry["all_permissions"].as_array().expect("all_permissions"))
        .collect()
}

fn owners(acl: &Value) -> Vec<&Value> {
    acl["access_control_list"]
        .as_array()
        .expect("access_control_list")
        .iter()
        .filter(|entry| {
            entry["all_permissions"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["permission_level"] == "IS_OWNER"))
        })
        .collect()
}

async fn change(ws: &Ws, method: Method, job_id: i64, acl: Value) -> Value {
    let (status, body) = ws
        .call(
            method,
            &format!("/api/2.0/permissions/jobs/{job_id}"),
            Some(json!({"access_control_list": acl})),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    body
}

#[tokio::test]
async fn the_creator_owns_a_new_job_and_admins_inherit_manage() {
    let ws = start().await;
    let job_id = ws.create(job("p", vec![nb("a", &[])])).await;
    let acl = ws.get(&format!("/api/2.0/permissions/jobs/{job_id}")).await;
    assert_eq!(acl["object_id"], format!("/jobs/{job_id}"));
    assert_eq!(acl["object_type"], "job");
    let owner = owners(&acl);
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0]["user_name"], "brickship@localhost");
    assert_eq!(owner[0]["display_name"], "brickship");
    assert_eq!(
        owner[0]["all_permissions"],
        json!([{"permission_level": "IS_OWNER", "inherited": false}])
    );
    assert_eq!(
        levels_of(&acl, "group_name", "admins"),
        [&json!({"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/jobs/"]})]
    );
    let levels = ws
        .get(&format!("/api/2.0/permissions/jobs/{job_id}/permissionLevels"))
        .await;
    let names: Vec<&str> = levels["permission_levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| l["permission_level"].as_str().unwrap_or(""))
        .collect();
    for level in ["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER"] {
        assert!(names.contains(&level), "{names:?}");
    }
    ws.fails(
        Method::GET,
        "/api/2.0/permissions/jobs/123/permissionLevels",
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
    ws.fails(
        Method::GET,
        "/api/2.0/permissions/jobs/not-a-number",
        None,
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn create_with_an_acl_can_name_another_owner() {
    let ws = start().await;
    let mut settings = job("p", vec![nb("a", &[])]);
    settings["access_control_list"] = json!([
        {"service_principal_name": "6f1e-sp", "permission_level": "IS_OWNER"},
        {"group_name": "analysts", "permission_level": "CAN_VIEW"},
    ]);
    let job_id = ws.create(settings).await;
    let acl = ws.get(&format!("/api/2.0/permissions/jobs/{job_id}")).await;
    let owner = owners(&acl);
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0]["service_principal_name"], "6f1e-sp");
    assert_eq!(
        levels_of(&acl, "group_name", "analysts")[0]["permission_level"],
        "CAN_VIEW"
    );
    // A group can never own a job.
    let mut bad = job("p", vec![nb("a", &[])]);
    bad["access_control_list"] = json!([{"group_name": "g", "permission_level": "IS_OWNER"}]);
    ws.fails(
        Method::POST,
        "/api/2.2/jobs/create",
        Some(bad),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn put_replaces_patch_merges_and_both_keep_exactly_one_owner() {
    let ws = start().await;
    let job_id = ws.create(job("p", vec![nb("a", &[])])).await;
    let path = format!("/api/2.0/permissions/jobs/{job_id}");
    let me = "brickship@localhost";

    let acl = change(
        &ws,
        Method::PUT,
        job_id,
        json!([{"user_name": me, "permission_level": "IS_OWNER"}, {"group_name": "eng", "permission_level": "CAN_MANAGE_RUN"}]),
    )
    .await;
    assert_eq!(
        levels_of(&acl, "group_name", "eng")[0]["permission_level"],
        "CAN_MANAGE_RUN"
    );
    let acl = change(
        &ws,
        Method::PATCH,
        job_id,
        json!([{"group_name": "analysts", "permission_level": "CAN_VIEW"}]),
    )
    .await;
    assert_eq!(
        levels_of(&acl, "group_name", "eng").len(),
        1,
        "PATCH keeps other entries"
    );
    assert_eq!(
        levels_of(&acl, "group_name", "analysts")[0]["permission_level"],
        "CAN_VIEW"
    );
    let acl = change(
        &ws,
        Method::PUT,
        job_id,
        json!([{"user_name": me, "permission_level": "IS_OWNER"}]),
    )
    .await;
    assert!(
        levels_of(&acl, "group_name", "eng").is_empty(),
        "PUT replaces the direct ACL"
    );
    assert_eq!(ws.get(&path).await, acl, "GET shows what PUT answered");

    let refused = [
        (
            Method::PUT,
            json!([{"group_name": "eng", "permission_level": "CAN_VIEW"}]),
        ),
        (
            Method::PUT,
            json!([{"user_name": me, "permission_level": "IS_OWNER"}, {"user_name": me, "permission_level": "CAN_MANAGE"}]),
        ),
        (
            Method::PUT,
            json!([{"user_name": me, "permission_level": "IS_OWNER"}, {"user_name": "b@x", "permission_level": "IS_OWNER"}]),
        ),
        (
            Method::PATCH,
            json!([{"user_name": "b@x", "permission_level": "IS_OWNER"}]),
        ),
        (
            Method::PATCH,
            json!([{"user_name": me, "permission_level": "CAN_VIEW"}]),
        ),
    ];
    for (method, acl) in refused {
        let message = ws
            .fails(
                method.clone(),
                &path,
                Some(json!({"access_control_list": acl.clone()})),
                400,
                "INVALID_PARAMETER_VALUE",
            )
            .await;
        assert_eq!(message, OWNER_MESSAGE, "{method} {acl}");
    }
    ws.fails(
        Method::PUT,
        &path,
        Some(json!({"access_control_list": [{"group_name": "g", "permission_level": "IS_OWNER"}]})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    ws.fails(
        Method::PUT,
        &path,
        Some(json!({"access_control_list": [{"user_name": me, "permission_level": "CAN_EVERYTHING"}]})),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    // Ownership can move in one PATCH when the old owner is demoted in the same request.
    let acl = change(
        &ws,
        Method::PATCH,
        job_id,
        json!([{"user_name": me, "permission_level": "CAN_MANAGE"}, {"user_name": "b@x", "permission_level": "IS_OWNER"}]),
    )
    .await;
    assert_eq!(owners(&acl)[0]["user_name"], "b@x");
    assert_eq!(acl, ws.get(&path).await);
    ws.fails(
        Method::PUT,
        "/api/2.0/permissions/jobs/404",
        Some(json!({"access_control_list": []})),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
}
