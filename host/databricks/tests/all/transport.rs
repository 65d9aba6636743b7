//! Transport: headers, gzip, query encoding, http refusal, request timeout, the call log.

use std::time::Duration;

use databricks::{Client, Config, Error, ListRuns, RetryPolicy};
use serde_json::json;

use crate::support::{Stub, client, client_with, ok};

#[tokio::test]
async fn headers_user_agent_and_gzip() {
    let big_name = "x".repeat(4096);
    let name = big_name.clone();
    let stub = Stub::start_gzip(move |_, _| ok(json!({ "job_id": 1, "settings": { "name": name } }))).await;
    let (client, _clock) = client(&stub.url).await;
    let job = client.get_job(1).await.expect("job");
    assert_eq!(
        job.settings.name.as_deref(),
        Some(big_name.as_str()),
        "gzip body decoded"
    );

    let hit = stub.hits().pop().expect("hit");
    assert_eq!(hit.header("authorization"), Some("Bearer dapi-test-token"));
    assert!(
        hit.header("accept-encoding").is_some_and(|e| e.contains("gzip")),
        "{:?}",
        hit.headers
    );
    assert_eq!(hit.header("accept"), Some("application/json"));
    let ua = hit.header("user-agent").expect("user agent");
    let version = env!("CARGO_PKG_VERSION");
    let os = if cfg!(target_os = "macos") {
        "darwin"
    } else {
        std::env::consts::OS
    };
    assert_eq!(
        ua,
        format!("brickship/{version} databricks-rs/{version} os/{os} auth/pat")
    );
}

#[tokio::test]
async fn json_bodies_and_query_booleans() {
    let stub = Stub::start(|_, _| ok(json!({ "runs": [] }))).await;
    let (client, _clock) = client(&stub.url).await;
    let query = ListRuns {
        job_id: Some(4),
        active_only: true,
        expand_tasks: true,
        ..ListRuns::default()
    };
    client.list_runs(&query).await.expect("runs");
    let hit = stub.hits().pop().expect("hit");
    assert_eq!(hit.method, "GET");
    assert_eq!(hit.query("active_only"), Some("true"));
    assert_eq!(hit.query("expand_tasks"), Some("true"));
    assert_eq!(hit.query("job_id"), Some("4"));
    assert_eq!(hit.query("completed_only"), None);
    assert!(hit.body.is_empty(), "GET has no body");

    client.cancel_run(8).await.expect("cancel");
    let hit = stub.hits().pop().expect("hit");
    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert_eq!(hit.json(), json!({ "run_id": 8 }));

    client
        .workspace()
        .import_file("/Workspace/Shared/a b.txt", b"hello".to_vec(), false)
        .await
        .expect("import");
    let hit = stub.hits().pop().expect("hit");
    assert_eq!(
        hit.path,
        "/api/2.0/workspace-files/import-file/Workspace/Shared/a%20b.txt"
    );
    assert_eq!(hit.query("overwrite"), Some("false"));
    assert_eq!(&hit.body[..], b"hello");
}

#[tokio::test]
async fn plain_http_refused_unless_loopback() {
    for host in ["http://example.cloud.databricks.com", "http://10.1.2.3:8080"] {
        let error = Client::new(Config::pat(host, "dapi-secret").expect("config"))
            .await
            .expect_err(host);
        assert!(matches!(error, Error::InsecureHost { .. }), "{host}: {error}");
        let message = error.to_string();
        assert!(
            message.contains("refusing plain http") && message.contains("https://"),
            "{message}"
        );
        assert!(!message.contains("dapi-secret"));
    }
    for host in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
        "https://example.cloud.databricks.com",
    ] {
        Client::new(Config::pat(host, "t").expect("config"))
            .await
            .expect(host);
    }
}

#[tokio::test]
async fn request_timeout_is_a_timeout_for_non_idempotent_calls() {
    // A server that accepts but never answers: a bare listener nobody accepts on.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let policy = RetryPolicy {
        deadline: Duration::from_secs(30),
        ..RetryPolicy::default()
    };
    let clock = std::sync::Arc::new(databricks::ManualClock::new());
    let client = Client::builder(Config::pat(&url, "t").expect("config"))
        .retry_policy(policy)
        .http_timeout(Duration::from_millis(200))
        .clock(clock)
        .build()
        .await
        .expect("client");
    let error = client
        .create_job(&Default::default(), None)
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(client.calls().len(), 1, "create is not retried after a timeout");
}

#[tokio::test]
async fn call_log_records_and_resets() {
    let stub = Stub::start(|_, _| ok(json!({}))).await;
    let (client, _clock) = client_with(
        Config::pat(&stub.url, "t").expect("config"),
        RetryPolicy::default(),
    )
    .await;
    let shared = client.call_log();
    client
        .workspace()
        .mkdirs("/Workspace/Shared/x")
        .await
        .expect("mkdirs");
    client
        .raw(
            databricks::Method::GET,
            "/api/2.0/workspace/list",
            &[("path", "/"), ("access_token", "leak")],
            None,
        )
        .await
        .expect("list");
    let calls = client.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].path, "/api/2.0/workspace/mkdirs");
    assert!(calls[0].mutating);
    assert!(!calls[1].mutating);
    assert_eq!(
        calls[1].query,
        vec![
            ("path".to_owned(), "/".to_owned()),
            ("access_token".to_owned(), "***".to_owned())
        ]
    );
    assert_eq!(calls[0].summary(), "POST /api/2.0/workspace/mkdirs -> 200");
    assert_eq!(shared.records().len(), 2, "clones of the log see the records");
    assert_eq!(shared.mutating().len(), 1);
    client.reset_calls();
    assert!(client.calls().is_empty() && shared.records().is_empty());
}
