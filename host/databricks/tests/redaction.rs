//! Secrets never leak: TRACE-level logs (tracing and `log` records) of full PAT and OAuth call
//! sequences, `Debug` of every public type involved, and error messages contain no token or
//! client secret. Its own test binary because it installs the global subscriber.

#[path = "all/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use databricks::{Client, Config, JobSettings, RetryPolicy, RunNow};
use serde_json::json;
use support::{Reply, Stub, ok};

const PAT: &str = "dapi-PAT-SECRET-1234";
const CLIENT_SECRET: &str = "M2M-CLIENT-SECRET-5678";
const ACCESS_TOKEN: &str = "ACCESS-TOKEN-ABCD";

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        // `try_init` also bridges `log` records (reqwest, rustls) into tracing.
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("install the global subscriber");
        buffer
    })
    .clone()
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_secs(30),
        initial_backoff: Duration::from_millis(1),
        ..RetryPolicy::default()
    }
}

#[tokio::test]
async fn no_secret_in_logs_debug_or_errors() {
    let logs = capture();
    let mut texts: Vec<String> = Vec::new();

    // PAT: success, a throttled retry, a lost connection, auth errors.
    let stub = Stub::start(|hit, n| match (hit.path.as_str(), n) {
        ("/api/2.2/jobs/get", 0) => Reply::Raw(429, vec![("retry-after", "0".into())], Vec::new()),
        ("/api/2.2/jobs/get", _) => ok(json!({ "job_id": 1, "settings": { "name": "j" } })),
        ("/api/2.2/jobs/run-now", 0) => Reply::Drop,
        ("/api/2.2/jobs/run-now", _) => ok(json!({ "run_id": 2 })),
        ("/api/2.2/jobs/create", _) => Reply::Json(
            403,
            json!({ "error_code": 403, "message": "Invalid access token." }),
        ),
        _ => Reply::Json(
            401,
            json!({ "error_code": "UNAUTHENTICATED", "message": "expired" }),
        ),
    })
    .await;
    let config = Config::pat(&stub.url, PAT).expect("config");
    texts.push(format!("{config:?} {}", config.describe()));
    let client = Client::builder(config)
        .retry_policy(policy())
        .build()
        .await
        .expect("client");
    texts.push(format!("{client:?}"));
    client.get_job(1).await.expect("job after retry");
    client
        .run_now(&RunNow::new(1))
        .await
        .expect("run after lost connection");
    for error in [
        client
            .create_job(&JobSettings::default(), None)
            .await
            .expect_err("403"),
        client.current_user().await.expect_err("401"),
    ] {
        texts.push(format!("{error} | {error:?}"));
    }
    texts.push(format!("{:?}", client.calls()));
    assert!(
        stub.hits()
            .iter()
            .all(|h| h.header("authorization") == Some(&format!("Bearer {PAT}"))),
        "token was sent"
    );

    // OAuth M2M: discovery, a garbled token response (must not be quoted), then a good one.
    let base = Arc::new(OnceLock::<String>::new());
    let base_in = base.clone();
    let stub = Stub::start(move |hit, n| {
        let url = base_in.get().cloned().unwrap_or_default();
        match (hit.path.as_str(), n) {
            ("/.well-known/databricks-config", _) => ok(json!({ "oidc_endpoint": format!("{url}/oidc") })),
            ("/oidc/.well-known/oauth-authorization-server", _) => {
                ok(json!({ "token_endpoint": format!("{url}/oidc/v1/token") }))
            }
            ("/oidc/v1/token", 0) => Reply::Raw(200, vec![], format!("garbled {ACCESS_TOKEN}").into_bytes()),
            ("/oidc/v1/token", _) => {
                ok(json!({ "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600 }))
            }
            _ => ok(json!({ "userName": "sp" })),
        }
    })
    .await;
    let _ = base.set(stub.url.clone());
    let config = Config::builder()
        .host(stub.url.as_str())
        .client_id("sp-app")
        .client_secret(CLIENT_SECRET)
        .resolve_with(&|_| None, None)
        .expect("config");
    texts.push(format!("{config:?} {}", config.describe()));
    let client = Client::builder(config)
        .retry_policy(policy())
        .build()
        .await
        .expect("client");
    let garbled = client.current_user().await.expect_err("garbled token response");
    texts.push(format!("{garbled} | {garbled:?}"));
    client.current_user().await.expect("me");
    texts.push(format!("{client:?}"));
    assert!(
        stub.hits_to("/api/2.0/preview/scim/v2/Me")
            .iter()
            .all(|h| h.header("authorization") == Some(&format!("Bearer {ACCESS_TOKEN}"))),
        "access token was used"
    );

    let logged = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    assert!(
        logged.contains("databricks api call") && logged.contains("retrying"),
        "the capture works:\n{logged}"
    );
    assert!(
        logged.contains("TRACE") || logged.contains("DEBUG"),
        "low levels are captured"
    );
    for secret in [PAT, CLIENT_SECRET, ACCESS_TOKEN] {
        assert!(!logged.contains(secret), "`{secret}` in logs:\n{logged}");
        for text in &texts {
            assert!(!text.contains(secret), "`{secret}` in {text}");
        }
    }
    // Basic auth of the token request is base64 of id:secret: that must not appear either.
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("sp-app:{CLIENT_SECRET}"));
    assert!(!logged.contains(&basic));
}
