//! The middleware and the `/_local/` control plane: request log, faults, rate limits, 404s,
//! gzip, body limit, keep-alive and graceful shutdown.

use std::time::{Duration, Instant};

use base64::Engine as _;
use local_workspace::Config;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TOKEN, builder, default_ws, raw_exchange, raw_post, send, start};

#[tokio::test]
async fn request_log_records_every_request_and_the_mutating_flag() {
    let ws = default_ws().await;
    let since = ws.last_seq().await;
    ws.status_of("/Shared").await;
    ws.post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/logged"}))
        .await;
    send(
        ws.anon(Method::POST, "/api/2.0/workspace/mkdirs")
            .json(&json!({"path": "/Shared/x"})),
    )
    .await;
    send(
        ws.anon(Method::GET, "/.well-known/databricks-config")
            .header("user-agent", "probe/1.0"),
    )
    .await;
    let (entries, last) = ws.requests_since(since).await;
    // The `GET /_local/requests` that read `since` is logged too, after its own response.
    let api: Vec<_> = entries
        .iter()
        .filter(|e| !e["path"].as_str().unwrap().starts_with("/_local"))
        .collect();
    assert_eq!(api.len(), 4, "{entries:#?}");
    assert_eq!(api[0]["method"], "GET");
    assert_eq!(api[0]["path"], "/api/2.0/workspace/get-status");
    assert_eq!(api[0]["query"], "path=%2FShared");
    assert_eq!(api[0]["mutating"], false);
    assert_eq!(api[1]["mutating"], true);
    assert_eq!(api[1]["status"], 200);
    assert_eq!(api[2]["status"], 401, "refused requests are logged");
    assert_eq!(api[2]["mutating"], true);
    assert_eq!(api[3]["mutating"], false);
    assert_eq!(api[3]["user_agent"], "probe/1.0");
    assert!(
        api.windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    assert!(last >= api[3]["seq"].as_u64().unwrap());

    let (mutating, _) = {
        let (status, body) = ws
            .get(&format!("/_local/requests?since={since}&mutating=true"))
            .await;
        assert_eq!(status, StatusCode::OK);
        (body["requests"].as_array().cloned().unwrap(), ())
    };
    assert_eq!(mutating.len(), 2);
    assert!(mutating.iter().all(|e| e["method"] == "POST"));

    assert_eq!(ws.delete("/_local/requests").await.0, StatusCode::OK);
    let (entries, after_clear) = ws.requests_since(0).await;
    assert!(
        entries.iter().all(|e| e["path"] == "/_local/requests"),
        "{entries:#?}"
    );
    assert!(
        after_clear > last,
        "sequence numbers keep increasing after a clear"
    );
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn status_faults_have_real_bodies_and_no_side_effect() {
    let ws = default_ws().await;
    let id = ws.add_fault(json!({"endpoint": "POST /api/2.0/workspace/import", "kind": "429", "retry_after_s": 2, "count": 1})).await;
    let since = ws.last_seq().await;
    let response = ws
        .req(Method::POST, "/api/2.0/workspace/import")
        .json(&json!({"path": "/Shared/f.txt", "format": "RAW", "content": "eA=="}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(
        ws.status_of("/Shared/f.txt").await.0,
        StatusCode::NOT_FOUND,
        "a faulted import creates nothing"
    );
    // The count is used up: the retry succeeds.
    assert_eq!(
        ws.import("/Shared/f.txt", "RAW", "x", false).await.0,
        StatusCode::OK
    );
    let (entries, _) = ws.requests_since(since).await;
    let faulted: Vec<_> = entries.iter().filter(|e| !e["fault"].is_null()).collect();
    assert_eq!(faulted.len(), 1);
    assert_eq!(faulted[0]["fault"], "429");
    assert_eq!(faulted[0]["fault_id"], id);
    assert_eq!(faulted[0]["status"], 429);

    ws.add_fault(json!({"endpoint": "workspace/mkdirs", "kind": 503, "count": 1}))
        .await;
    let response = ws
        .req(Method::POST, "/api/2.0/workspace/mkdirs")
        .json(&json!({"path": "/Shared/d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error_code"],
        "TEMPORARILY_UNAVAILABLE"
    );
    assert_eq!(ws.status_of("/Shared/d").await.0, StatusCode::NOT_FOUND);

    ws.add_fault(json!({"endpoint": "workspace/mkdirs", "kind": "500", "count": 1}))
        .await;
    let (status, body) = ws
        .post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/d"}))
        .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (StatusCode::INTERNAL_SERVER_ERROR, json!("INTERNAL_ERROR"))
    );
    assert_eq!(ws.status_of("/Shared/d").await.0, StatusCode::NOT_FOUND);

    let (_, listed) = ws.get("/_local/faults").await;
    let faults = listed["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 3);
    assert!(faults.iter().all(|f| f["injected"] == 1));
    assert_eq!(ws.delete(&format!("/_local/faults/{id}")).await.0, StatusCode::OK);
    let (status, err) = ws.delete(&format!("/_local/faults/{id}")).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (StatusCode::NOT_FOUND, json!("RESOURCE_DOES_NOT_EXIST"))
    );
    assert_eq!(ws.delete("/_local/faults").await.0, StatusCode::OK);
    assert_eq!(ws.get("/_local/faults").await.1["faults"], json!([]));
    let (status, err) = ws.post("/_local/faults", json!({"kind": "418"})).await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_PARAMETER_VALUE"))
    );
    let (status, _) = ws
        .post("/_local/faults", json!({"kind": "500", "endpoint": "post x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn drop_closes_without_response_and_without_side_effect() {
    let ws = default_ws().await;
    ws.add_fault(json!({"endpoint": "workspace/mkdirs", "kind": "drop", "count": 1}))
        .await;
    let since = ws.last_seq().await;
    let out = raw_exchange(
        ws.workspace.addr(),
        &raw_post("/api/2.0/workspace/mkdirs", r#"{"path":"/Shared/dropped"}"#),
    )
    .await;
    assert!(
        out.is_empty(),
        "no response bytes: {:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(
        ws.status_of("/Shared/dropped").await.0,
        StatusCode::NOT_FOUND,
        "the handler never ran"
    );
    let (entries, _) = ws.requests_since(since).await;
    let dropped = entries
        .iter()
        .find(|e| e["fault"] == "drop")
        .expect("the drop is logged");
    assert!(dropped["status"].is_null());
    // The next request is served normally.
    let out = raw_exchange(
        ws.workspace.addr(),
        &raw_post("/api/2.0/workspace/mkdirs", r#"{"path":"/Shared/dropped"}"#),
    )
    .await;
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn drop_after_applies_the_side_effect_then_closes() {
    let ws = default_ws().await;
    ws.add_fault(json!({"endpoint": "POST workspace/import", "kind": "drop-after"}))
        .await;
    let error = ws
        .req(Method::POST, "/api/2.0/workspace/import")
        .json(&json!({"path": "/Shared/applied.txt", "format": "RAW", "content": "eA=="}))
        .send()
        .await
        .expect_err("the client sees a dropped connection");
    assert!(!error.is_status(), "{error}");
    ws.delete("/_local/faults").await;
    let (status, info) = ws.status_of("/Shared/applied.txt").await;
    assert_eq!(status, StatusCode::OK, "the import happened: {info}");
    let (entries, _) = ws.requests_since(0).await;
    let entry = entries
        .iter()
        .find(|e| e["fault"] == "drop-after")
        .expect("logged");
    assert_eq!(entry["status"], 200, "the status the handler produced");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn latency_delays_then_serves() {
    let ws = default_ws().await;
    ws.add_fault(
        json!({"endpoint": "GET workspace/get-status", "kind": "latency", "latency_ms": 150, "count": 1}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(ws.status_of("/Shared").await.0, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    let (entries, _) = ws.requests_since(0).await;
    let entry = entries.iter().find(|e| e["fault"] == "latency").expect("logged");
    assert!(entry["duration_us"].as_u64().unwrap() >= 150_000);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn seeded_faults_are_reproducible_over_http() {
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let ws = default_ws().await;
        ws.add_fault(json!({"endpoint": "get-status", "kind": "500", "rate": 0.5, "seed": 7}))
            .await;
        let mut pattern = Vec::new();
        for _ in 0..24 {
            pattern.push(ws.status_of("/Shared").await.0 == StatusCode::INTERNAL_SERVER_ERROR);
        }
        patterns.push(pattern);
        ws.workspace.shutdown().await;
    }
    assert_eq!(patterns[0], patterns[1]);
    assert!(
        patterns[0].contains(&true) && patterns[0].contains(&false),
        "{:?}",
        patterns[0]
    );
}

#[tokio::test]
async fn rate_limits_throttle_bursts_without_side_effects_and_can_be_switched() {
    let ws = default_ws().await;
    let (_, limits) = ws.get("/_local/rate-limits").await;
    assert_eq!(limits["enabled"], true);
    let rules = limits["limits"].as_array().unwrap();
    let rule = |endpoint: &str| {
        rules
            .iter()
            .find(|r| r["endpoint"] == endpoint)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(rule("POST jobs/create")["requests"], 20);
    assert_eq!(rule("GET jobs/runs/get")["requests"], 100);
    assert_eq!(rule("/api/*/secrets/**")["per_seconds"], 60);

    let change = json!({"limits": {"POST workspace/mkdirs": {"requests": 3, "per_seconds": 60}}});
    assert_eq!(ws.post("/_local/rate-limits", change).await.0, StatusCode::OK);
    for i in 0..3 {
        let (status, _) = ws
            .post(
                "/api/2.0/workspace/mkdirs",
                json!({"path": format!("/Shared/r{i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = ws
        .req(Method::POST, "/api/2.0/workspace/mkdirs")
        .json(&json!({"path": "/Shared/r3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error_code"],
        "REQUEST_LIMIT_EXCEEDED"
    );
    assert_eq!(
        ws.status_of("/Shared/r3").await.0,
        StatusCode::NOT_FOUND,
        "a throttled request has no side effect"
    );

    let (_, limits) = ws.post("/_local/rate-limits", json!({"enabled": false})).await;
    assert_eq!(limits["enabled"], false);
    assert_eq!(
        ws.post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/r3"}))
            .await
            .0,
        StatusCode::OK
    );
    let (_, limits) = ws
        .post("/_local/rate-limits", json!({"enabled": true, "reset": true}))
        .await;
    assert!(
        limits["limits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["source"] == "default")
    );
    let (status, _) = ws
        .post("/_local/rate-limits", json!({"limits": {"POST x": 0}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    ws.workspace.shutdown().await;
}

/// The default workspace import limit (30/s) throttles a burst; every success created exactly
/// one object and no throttled import created anything.
#[tokio::test]
async fn default_limits_throttle_a_concurrent_burst() {
    for enabled in [true, false] {
        let ws = start(Config {
            rate_limits: enabled,
            ..Config::default()
        })
        .await;
        const N: usize = 80;
        let mut tasks = Vec::new();
        for i in 0..N {
            let request = ws.req(Method::POST, "/api/2.0/workspace/import").json(&json!({
                "path": format!("/Shared/burst-{i}"), "format": "RAW", "content": "eA==",
            }));
            tasks.push(tokio::spawn(async move { (i, send(request).await.0) }));
        }
        let mut ok = Vec::new();
        let mut throttled = 0;
        for task in tasks {
            match task.await.unwrap() {
                (i, StatusCode::OK) => ok.push(i),
                (_, StatusCode::TOO_MANY_REQUESTS) => throttled += 1,
                (_, other) => panic!("unexpected {other}"),
            }
        }
        let (_, listing) = ws.get("/api/2.0/workspace/list?path=/Shared").await;
        let created = listing["objects"].as_array().map_or(0, Vec::len);
        assert_eq!(created, ok.len(), "one object per successful import");
        if enabled {
            assert!(throttled > 0, "a burst of {N} imports exceeds 30/s");
        } else {
            assert_eq!(throttled, 0);
        }
        ws.workspace.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_404() {
    let ws = default_ws().await;
    let (status, body) = ws.get("/api/2.0/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");
    assert_eq!(body["message"], "No API found for 'GET /api/2.0/nothing/here'");
    let (status, body) = send(ws.req(Method::DELETE, "/api/2.0/workspace/get-status")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");
    let (status, body) = send(
        ws.req(Method::POST, "/api/2.0/workspace/mkdirs")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "MALFORMED_REQUEST");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn gzip_responses_and_the_body_limit() {
    let ws = default_ws().await;
    let plain = builder().no_gzip().build().unwrap();
    let response = plain
        .get(format!("{}/api/2.1/clusters/list-node-types", ws.url))
        .bearer_auth(TOKEN)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");
    // reqwest's transparent decompression reads it back.
    let (status, body) = ws.get("/api/2.1/clusters/list-node-types").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["node_types"].as_array().unwrap().len() > 10);

    let big = base64::engine::general_purpose::STANDARD.encode(vec![b'x'; 8 * 1024 * 1024]);
    let (status, body) = ws
        .post(
            "/api/2.0/workspace/import",
            json!({"path": "/Shared/big", "format": "RAW", "content": big}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(ws.status_of("/Shared/big").await.0, StatusCode::NOT_FOUND);
    let nine_mb = "y".repeat(9 * 1024 * 1024);
    let response = ws
        .req(
            Method::POST,
            "/api/2.0/workspace-files/import-file/Shared/nine.bin?overwrite=false",
        )
        .body(nine_mb)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "bodies up to 10 MiB are accepted"
    );
    assert_eq!(ws.status_of("/Shared/nine.bin").await.1["size"], 9 * 1024 * 1024);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn keep_alive_connections_serve_several_requests_and_shutdown_is_graceful() {
    let ws = default_ws().await;
    let request = |close: bool| {
        format!(
            "GET /api/2.0/workspace/get-status?path=/Shared HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n{}\r\n",
            if close { "Connection: close\r\n" } else { "" }
        )
    };
    let both = format!("{}{}", request(false), request(true));
    let out = raw_exchange(ws.workspace.addr(), &both).await;
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");

    // An idle keep-alive connection does not hold up shutdown.
    let idle = builder().build().unwrap();
    let response = idle
        .get(format!("{}/.well-known/databricks-config", ws.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let addr = ws.workspace.addr();
    tokio::time::timeout(Duration::from_secs(10), ws.workspace.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
