//! OAuth M2M: discovery, token request shape, caching, refresh before expiry, single flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use databricks::{Config, RetryPolicy};
use serde_json::json;

use crate::support::{Reply, Stub, client_with, err, ok};

/// A workspace with OIDC discovery and a token endpoint issuing `tok-1`, `tok-2`, … that live
/// `expires_in` seconds; API calls succeed only with the latest token.
async fn oauth_stub(discovery: bool, expires_in: serde_json::Value) -> (Stub, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let base_in = base.clone();
    let stub = Stub::start(move |hit, _| {
        let url = base_in.get().cloned().unwrap_or_default();
        match (hit.method.as_str(), hit.path.as_str()) {
            ("GET", "/.well-known/databricks-config") if discovery => {
                ok(json!({ "oidc_endpoint": format!("{url}/oidc"), "workspace_id": "1" }))
            }
            ("GET", "/oidc/.well-known/oauth-authorization-server") if discovery => ok(json!({
                "authorization_endpoint": format!("{url}/oidc/v1/authorize"),
                "token_endpoint": format!("{url}/oidc/v1/token"),
            })),
            ("POST", "/oidc/v1/token") => {
                let basic = base64::engine::general_purpose::STANDARD.encode("sp-app-id:sp-secret-value");
                if hit.header("authorization") != Some(&format!("Basic {basic}")) {
                    return Reply::Json(401, json!({ "error": "invalid_client", "error_description": "bad credentials" }));
                }
                let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&hit.body).unwrap_or_default();
                let want = vec![
                    ("grant_type".to_owned(), "client_credentials".to_owned()),
                    ("scope".to_owned(), "all-apis".to_owned()),
                ];
                if form != want || hit.header("content-type") != Some("application/x-www-form-urlencoded") {
                    return Reply::Json(400, json!({ "error": "invalid_request" }));
                }
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                ok(json!({ "access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": expires_in }))
            }
            ("GET", "/api/2.0/preview/scim/v2/Me") => {
                let latest = format!("Bearer tok-{}", counter.load(Ordering::SeqCst));
                if hit.header("authorization") == Some(latest.as_str()) {
                    ok(json!({ "id": "1", "userName": "sp@x" }))
                } else {
                    Reply::Json(403, json!({ "error_code": 403, "message": "Invalid access token." }))
                }
            }
            _ => err(404, "ENDPOINT_NOT_FOUND", "no such endpoint"),
        }
    })
    .await;
    let _ = base.set(stub.url.clone());
    (stub, issued)
}

fn m2m_config(url: &str) -> Config {
    Config::builder()
        .host(url)
        .client_id("sp-app-id")
        .client_secret("sp-secret-value")
        .resolve_with(&|_| None, None)
        .expect("config")
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_secs(30),
        ..RetryPolicy::default()
    }
}

#[tokio::test]
async fn token_is_fetched_once_cached_and_refreshed_before_expiry() {
    let (stub, issued) = oauth_stub(true, json!(3600)).await;
    let (client, clock) = client_with(m2m_config(&stub.url), policy()).await;
    assert!(
        client.user_agent().ends_with("auth/oauth-m2m"),
        "{}",
        client.user_agent()
    );

    for _ in 0..3 {
        client.current_user().await.expect("me");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1, "one token for three calls");
    assert_eq!(stub.hits_to("/.well-known/databricks-config").len(), 1);
    assert_eq!(
        stub.hits_to("/oidc/.well-known/oauth-authorization-server").len(),
        1
    );

    // 58 minutes later the token is still fresh (refresh margin is one minute).
    clock.advance(Duration::from_secs(58 * 60));
    client.current_user().await.expect("me");
    assert_eq!(issued.load(Ordering::SeqCst), 1);

    // Within the last minute it is refreshed, without a second discovery.
    clock.advance(Duration::from_secs(90));
    client.current_user().await.expect("me with a fresh token");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    assert_eq!(
        stub.hits_to("/.well-known/databricks-config").len(),
        1,
        "discovery is cached"
    );
    let token_calls: Vec<_> = client
        .calls()
        .into_iter()
        .filter(|c| c.path == "/oidc/v1/token")
        .collect();
    assert_eq!(token_calls.len(), 2, "token requests are in the call log");
    assert!(
        token_calls.iter().all(|c| !c.mutating),
        "token requests are not API mutations"
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_token_request() {
    let (stub, issued) = oauth_stub(true, json!("3600")).await;
    let (client, _clock) = client_with(m2m_config(&stub.url), policy()).await;
    let calls = (0..16).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.current_user().await })
    });
    for call in futures::future::join_all(calls).await {
        call.expect("task").expect("me");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1, "single flight");
    assert_eq!(stub.hits_to("/oidc/v1/token").len(), 1);
}

#[tokio::test]
async fn falls_back_to_the_default_token_endpoint_without_discovery() {
    let (stub, issued) = oauth_stub(false, json!(3600)).await;
    let (client, _clock) = client_with(m2m_config(&stub.url), policy()).await;
    client.current_user().await.expect("me");
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    assert_eq!(
        stub.hits_to("/.well-known/databricks-config").len(),
        1,
        "discovery attempted once"
    );
}

#[tokio::test]
async fn short_lived_tokens_refresh_at_half_life() {
    let (stub, issued) = oauth_stub(true, json!(40)).await;
    let (client, clock) = client_with(m2m_config(&stub.url), policy()).await;
    client.current_user().await.expect("me");
    clock.advance(Duration::from_secs(19));
    client.current_user().await.expect("me");
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(2));
    client.current_user().await.expect("me");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bad_client_secret_is_unauthenticated_without_leaking() {
    let (stub, _issued) = oauth_stub(true, json!(3600)).await;
    let config = Config::builder()
        .host(stub.url.as_str())
        .client_id("sp-app-id")
        .client_secret("wrong-secret-value")
        .resolve_with(&|_| None, None)
        .expect("config");
    let (client, _clock) = client_with(config, policy()).await;
    let error = client.current_user().await.expect_err("bad secret");
    assert!(error.is_unauthenticated(), "{error}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("wrong-secret-value"), "{text}");
}

#[tokio::test]
async fn a_rejected_token_is_replaced_once_per_call() {
    let issued = Arc::new(AtomicUsize::new(0));
    let revoked_up_to = Arc::new(AtomicUsize::new(0));
    let (issued_in, revoked_in) = (issued.clone(), revoked_up_to.clone());
    let stub = Stub::start(move |hit, _| match hit.path.as_str() {
        "/oidc/v1/token" => {
            let n = issued_in.fetch_add(1, Ordering::SeqCst) + 1;
            ok(json!({ "access_token": format!("tok-{n}"), "expires_in": 3600 }))
        }
        "/api/2.0/preview/scim/v2/Me" => {
            let n: usize = hit
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer tok-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if n > revoked_in.load(Ordering::SeqCst) {
                ok(json!({ "userName": "sp" }))
            } else {
                Reply::Json(
                    403,
                    json!({ "error_code": 403, "message": "Invalid access token." }),
                )
            }
        }
        _ => err(404, "ENDPOINT_NOT_FOUND", "no"),
    })
    .await;
    let (client, _clock) = client_with(m2m_config(&stub.url), policy()).await;
    client.current_user().await.expect("me");
    revoked_up_to.store(1, Ordering::SeqCst);
    client.current_user().await.expect("me after re-auth");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    assert_eq!(stub.hits_to("/api/2.0/preview/scim/v2/Me").len(), 3);

    // A server that refuses every token: one fresh token, then the error.
    revoked_up_to.store(usize::MAX, Ordering::SeqCst);
    let error = client.current_user().await.expect_err("refused");
    assert!(error.is_permission_denied(), "{error}");
    assert_eq!(issued.load(Ordering::SeqCst), 3, "only one re-auth per call");
}

#[cfg(feature = "local")]
#[tokio::test]
async fn m2m_against_the_local_workspace() {
    let workspace = local_workspace::LocalWorkspace::start(local_workspace::Config {
        token: Some("dapi-only-this".into()),
        oauth_client: Some(("sp-app-id".into(), "sp-secret-value".into())),
        ..local_workspace::Config::default()
    })
    .await
    .expect("local workspace");
    let (client, _clock) = client_with(m2m_config(&workspace.url()), policy()).await;
    client
        .current_user()
        .await
        .expect("me via discovered token endpoint");
    let calls: Vec<String> = client.calls().iter().map(|c| c.path.clone()).collect();
    assert!(
        calls.contains(&"/.well-known/databricks-config".to_owned()),
        "{calls:?}"
    );
    assert!(calls.contains(&"/oidc/v1/token".to_owned()), "{calls:?}");

    // The workspace expires every issued token: the client fetches a new one and carries on.
    client
        .raw(
            databricks::Method::POST,
            "/_local/oauth",
            &[],
            Some(&json!({ "expire_issued": true })),
        )
        .await
        .expect("expire tokens");
    client.reset_calls();
    client.current_user().await.expect("me after the token expired");
    let statuses: Vec<(String, Option<u16>)> = client
        .calls()
        .iter()
        .map(|c| (c.path.clone(), c.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("/api/2.0/preview/scim/v2/Me".to_owned(), Some(403)),
            ("/oidc/v1/token".to_owned(), Some(200)),
            ("/api/2.0/preview/scim/v2/Me".to_owned(), Some(200)),
        ]
    );

    let wrong = Config::builder()
        .host(workspace.url())
        .client_id("sp-app-id")
        .client_secret("not-the-secret")
        .resolve_with(&|_| None, None)
        .expect("config");
    let (client, _clock) = client_with(wrong, policy()).await;
    let error = client.current_user().await.expect_err("wrong secret");
    assert!(error.is_unauthenticated(), "{error}");
    workspace.shutdown().await;
}
