//! Bearer tokens (401, the numeric 403 quirk) and OAuth M2M tokens that work and expire.

use base64::Engine as _;
use local_workspace::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TOKEN, default_ws, send, start};

#[tokio::test]
async fn missing_token_is_401_and_bootstrap_paths_are_open() {
    let ws = default_ws().await;
    let (status, body) = send(ws.anon(Method::GET, "/api/2.0/workspace/get-status?path=/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], "UNAUTHORIZED");
    let (status, _) = send(
        ws.anon(Method::GET, "/api/2.0/workspace/get-status?path=/")
            .header("authorization", "Basic eDp5"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a non-bearer scheme is not a token"
    );
    let (status, body) = send(ws.anon(Method::GET, "/api/2.0/nothing")).await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("UNAUTHORIZED"))
    );
    for open in [
        "/.well-known/databricks-config",
        "/oidc/.well-known/oauth-authorization-server",
        "/_local/faults",
    ] {
        assert_eq!(send(ws.anon(Method::GET, open)).await.0, StatusCode::OK, "{open}");
    }
    // Without Config::token any bearer token works.
    let (status, _) = send(
        ws.anon(Method::GET, "/api/2.0/workspace/get-status?path=/")
            .bearer_auth("whatever"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn wrong_token_gets_the_numeric_403() {
    let ws = start(Config {
        token: Some(TOKEN.to_owned()),
        ..Config::default()
    })
    .await;
    assert_eq!(ws.status_of("/").await.0, StatusCode::OK);
    let response = ws
        .anon(Method::GET, "/api/2.0/workspace/get-status?path=/")
        .bearer_auth("dapi-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["x-databricks-reason-phrase"],
        "Invalid access token."
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error_code": 403, "message": "Invalid access token."})
    );
    ws.workspace.shutdown().await;
}

async fn token_request(
    ws: &crate::support::Ws,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, Value) {
    let mut request = ws.anon(Method::POST, "/oidc/v1/token").form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn oauth_tokens_work_until_they_expire() {
    let ws = start(Config {
        token: Some(TOKEN.to_owned()),
        oauth_client: Some(("sp-id".to_owned(), "sp-secret".to_owned())),
        ..Config::default()
    })
    .await;
    let grant = [("grant_type", "client_credentials"), ("scope", "all-apis")];

    let (status, content_type, body) = token_request(&ws, Some(("sp-id", "wrong")), &grant).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        content_type.unwrap().starts_with("application/json"),
        "the Python SDK reads Content-Type"
    );
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());
    let (status, _, body) =
        token_request(&ws, Some(("sp-id", "sp-secret")), &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("unsupported_grant_type"))
    );
    let (status, _, _) = token_request(&ws, None, &grant).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "credentials are required");

    let (status, _, issued) = token_request(&ws, Some(("sp-id", "sp-secret")), &grant).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 3600);
    assert_eq!(issued["scope"], "all-apis");
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let with = |token: &str| {
        ws.anon(Method::GET, "/api/2.0/preview/scim/v2/Me")
            .bearer_auth(token.to_owned())
    };
    assert_eq!(
        send(with(&access)).await.0,
        StatusCode::OK,
        "an issued token is accepted besides Config::token"
    );

    // Form-field credentials work too, and the lifetime is adjustable.
    let (_, settings) = {
        let (status, body) = ws.post("/_local/oauth", json!({"token_ttl_s": 5})).await;
        assert_eq!(status, StatusCode::OK);
        (status, body)
    };
    assert_eq!(settings["token_ttl_s"], 5);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "sp-id"),
        ("client_secret", "sp-secret"),
    ];
    let (status, _, second) = token_request(&ws, None, &form).await;
    assert_eq!((status, second["expires_in"].clone()), (StatusCode::OK, json!(5)));

    let (_, expired) = ws.post("/_local/oauth", json!({"expire_issued": true})).await;
    assert_eq!(expired["expired"], 2);
    let (status, body) = send(with(&access)).await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (StatusCode::FORBIDDEN, json!(403)),
        "an expired token is refused"
    );
    let (status, _, third) = token_request(&ws, Some(("sp-id", "sp-secret")), &grant).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        send(with(third["access_token"].as_str().unwrap())).await.0,
        StatusCode::OK,
        "a refreshed token works"
    );
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn any_client_pair_is_accepted_without_a_configured_client() {
    let ws = default_ws().await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("anyone:anything")
    );
    let response = ws
        .anon(Method::POST, "/oidc/v1/token")
        .header("authorization", basic)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=all-apis")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, _, empty) = token_request(&ws, Some(("", "")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(empty["error"], "invalid_client", "an empty pair is refused");
    ws.workspace.shutdown().await;
}
