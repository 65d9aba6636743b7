//! Cluster catalogs, secrets, SCIM `Me`, host metadata, OIDC discovery and telemetry.

use local_workspace::Config;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{default_ws, send, start};

#[tokio::test]
async fn catalogs_are_served_on_both_versions() {
    let ws = default_ws().await;
    for version in ["2.0", "2.1"] {
        let (status, body) = ws.get(&format!("/api/{version}/clusters/list-node-types")).await;
        assert_eq!(status, StatusCode::OK);
        let types = body["node_types"].as_array().unwrap();
        let find = |id: &str| {
            types
                .iter()
                .find(|t| t["node_type_id"] == id)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(find("i3.xlarge")["memory_mb"], 31232);
        assert_eq!(find("i3.xlarge")["category"], "Storage Optimized");
        assert_eq!(find("Standard_DS3_v2")["num_cores"], 4.0);
        assert_eq!(find("n2-highmem-4")["memory_mb"], 32768);
        assert_eq!(find("r3.xlarge")["is_deprecated"], true);
        assert!(
            types
                .iter()
                .all(|t| t["instance_type_id"].is_string() && t["node_info"].is_object())
        );

        let (status, body) = ws.get(&format!("/api/{version}/clusters/spark-versions")).await;
        assert_eq!(status, StatusCode::OK);
        let versions = body["versions"].as_array().unwrap();
        let name = |key: &str| {
            versions
                .iter()
                .find(|v| v["key"] == key)
                .map(|v| v["name"].clone())
        };
        assert_eq!(
            name("15.4.x-scala2.12"),
            Some(json!("15.4 LTS (includes Apache Spark 3.5.0, Scala 2.12)"))
        );
        assert_eq!(
            name("14.3.x-cpu-ml-scala2.12"),
            Some(json!("14.3 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)"))
        );
        assert!(name("16.4.x-photon-scala2.12").is_some());
    }
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn secrets_can_be_seeded_and_listed_without_values() {
    let ws = default_ws().await;
    assert_eq!(
        ws.get("/api/2.0/secrets/scopes/list").await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        ws.post("/api/2.0/secrets/scopes/create", json!({"scope": "etl"}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, err) = ws
        .post("/api/2.0/secrets/scopes/create", json!({"scope": "etl"}))
        .await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (StatusCode::BAD_REQUEST, json!("RESOURCE_ALREADY_EXISTS"))
    );
    let (status, _) = ws
        .post("/api/2.0/secrets/scopes/create", json!({"scope": "bad scope"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let put = json!({"scope": "etl", "key": "db-password", "string_value": "hunter2-secret"});
    assert_eq!(ws.post("/api/2.0/secrets/put", put).await.0, StatusCode::OK);
    let put = json!({"scope": "etl", "key": "cert", "bytes_value": "AAEC"});
    assert_eq!(ws.post("/api/2.0/secrets/put", put).await.0, StatusCode::OK);
    let (status, _) = ws
        .post("/api/2.0/secrets/put", json!({"scope": "etl", "key": "k"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a value is required");
    let (status, err) = ws
        .post(
            "/api/2.0/secrets/put",
            json!({"scope": "nope", "key": "k", "string_value": "v"}),
        )
        .await;
    assert_eq!(
        (status, err["message"].clone()),
        (StatusCode::NOT_FOUND, json!("Scope nope does not exist"))
    );

    let response = ws
        .req(Method::GET, "/api/2.0/secrets/list?scope=etl")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("AAEC"),
        "values are never returned: {text}"
    );
    let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = listed["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["cert", "db-password"]);
    assert!(listed["secrets"][0]["last_updated_timestamp"].as_i64().unwrap() > 0);
    let (status, err) = ws.get("/api/2.0/secrets/list?scope=missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(err["message"], "Scope missing does not exist");
    let (_, scopes) = ws.get("/api/2.0/secrets/scopes/list").await;
    assert_eq!(
        scopes,
        json!({"scopes": [{"name": "etl", "backend_type": "DATABRICKS"}]})
    );

    assert_eq!(
        ws.post("/api/2.0/secrets/delete", json!({"scope": "etl", "key": "cert"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        ws.post("/api/2.0/secrets/delete", json!({"scope": "etl", "key": "cert"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ws.post("/api/2.0/secrets/scopes/delete", json!({"scope": "etl"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        ws.post("/api/2.0/secrets/scopes/delete", json!({"scope": "etl"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn identity_and_bootstrap_endpoints() {
    let ws = start(Config {
        user_name: "ana@example.com".to_owned(),
        workspace_id: 4242,
        ..Config::default()
    })
    .await;
    let response = ws
        .req(Method::GET, "/api/2.0/preview/scim/v2/Me")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-databricks-org-id"], "4242");
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["userName"], "ana@example.com");
    assert_eq!(me["active"], true);
    assert_eq!(me["emails"][0]["value"], "ana@example.com");
    assert_eq!(me["groups"][0]["display"], "admins");
    assert!(me["id"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(
        ws.status_of("/Users/ana@example.com").await.0,
        StatusCode::OK,
        "the user's home folder exists"
    );

    let (status, meta) = send(ws.anon(Method::GET, "/.well-known/databricks-config")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        meta,
        json!({"oidc_endpoint": format!("{}/oidc", ws.url), "workspace_id": "4242"})
    );
    let (_, discovery) = send(ws.anon(Method::GET, "/oidc/.well-known/oauth-authorization-server")).await;
    assert_eq!(discovery["token_endpoint"], format!("{}/oidc/v1/token", ws.url));
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{}/oidc/v1/authorize", ws.url)
    );

    let (status, body) = ws
        .post("/telemetry-ext", json!({"protoLogs": ["{}", "{}"]}))
        .await;
    assert_eq!(
        (status, body["numProtoSuccess"].clone()),
        (StatusCode::OK, json!(2))
    );
    ws.workspace.shutdown().await;
}
