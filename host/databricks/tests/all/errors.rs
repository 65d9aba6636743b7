//! Error classification end to end: every body shape and status through real HTTP responses.

use databricks::{Error, Method};
use serde_json::json;

use crate::support::{Reply, Stub, client};

/// (status, body, content type) the stub returns for `/case/<i>`.
fn cases() -> Vec<(u16, &'static str, &'static str)> {
    vec![
        (
            404,
            r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Job 12 does not exist."}"#,
            "application/json",
        ),
        (
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Job 12 does not exist."}"#,
            "application/json",
        ),
        (
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Run 7 does not exist."}"#,
            "application/json",
        ),
        (
            404,
            r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Path (/x) doesn't exist."}"#,
            "application/json",
        ),
        (
            404,
            r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Scope s does not exist"}"#,
            "application/json",
        ),
        (
            400,
            r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Path (/a) already exists."}"#,
            "application/json",
        ),
        (
            409,
            r#"{"error_code":"ALREADY_EXISTS","message":"exists"}"#,
            "application/json",
        ),
        (
            403,
            r#"{"error_code":403,"message":"Invalid access token."}"#,
            "application/json",
        ),
        (
            403,
            r#"{"error_code":"PERMISSION_DENIED","message":"no"}"#,
            "application/json",
        ),
        (
            401,
            r#"{"error_code":"UNAUTHENTICATED","message":"who?"}"#,
            "application/json",
        ),
        (
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad cron"}"#,
            "application/json",
        ),
        (
            400,
            r#"{"error_code":"MALFORMED_REQUEST","message":"bad json"}"#,
            "application/json",
        ),
        (400, r#"{"error":"API 1.2 style failure"}"#, "application/json"),
        (
            404,
            r#"{"detail":"User not found","status":"404","scimType":"invalidValue"}"#,
            "application/scim+json",
        ),
        (400, "INVALID_PARAMETER_VALUE: plain text failure", "text/plain"),
        (
            502,
            "<html><head><title>Bad Gateway</title></head><body><pre>upstream broke</pre></body></html>",
            "text/html",
        ),
        (405, "", "text/plain"),
    ]
}

#[tokio::test]
async fn classifies_every_shape_and_keeps_details() {
    let stub = Stub::start(|hit, _| {
        let index: usize = hit
            .path
            .trim_start_matches("/case/")
            .parse()
            .unwrap_or(usize::MAX);
        let cases = cases();
        let (status, body, content_type) = cases.get(index).copied().unwrap_or((500, "", "text/plain"));
        Reply::Raw(
            status,
            vec![("content-type", content_type.to_owned())],
            body.as_bytes().to_vec(),
        )
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let mut errors = Vec::new();
    for index in 0..cases().len() {
        // POST so 5xx are not retried.
        let error = client
            .raw(Method::POST, &format!("/case/{index}"), &[], Some(&json!({})))
            .await
            .expect_err("error");
        errors.push(error);
    }
    let kind = |e: &Error| -> &'static str {
        match e {
            Error::NotFound(_) => "not_found",
            Error::AlreadyExists(_) => "already_exists",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::Unauthenticated { .. } => "unauthenticated",
            Error::InvalidParameter(_) => "invalid_parameter",
            Error::Unavailable { .. } => "unavailable",
            Error::Api(_) => "api",
            _ => "other",
        }
    };
    let kinds: Vec<&str> = errors.iter().map(kind).collect();
    assert_eq!(
        kinds,
        vec![
            "not_found",
            "not_found",
            "not_found",
            "not_found",
            "not_found",
            "already_exists",
            "already_exists",
            "permission_denied",
            "permission_denied",
            "unauthenticated",
            "invalid_parameter",
            "invalid_parameter",
            "invalid_parameter",
            "not_found",
            "invalid_parameter",
            "unavailable",
            "api",
        ]
    );
    let details = |i: usize| errors[i].api_error().cloned().expect("api error");
    assert_eq!(details(7).error_code.as_deref(), Some("403"));
    assert_eq!(details(7).message, "Invalid access token.");
    assert_eq!(details(12).message, "API 1.2 style failure");
    assert_eq!(details(13).error_code.as_deref(), Some("SCIM_404"));
    assert_eq!(details(14).message, "plain text failure");
    assert_eq!(details(15).message, "upstream broke");
    assert_eq!(details(16).message, "Method Not Allowed");
    let first = details(0);
    assert_eq!(
        (first.status, first.method.as_str(), first.path.as_str()),
        (404, "POST", "/case/0")
    );
    assert!(errors[0].is_not_found() && errors[5].is_already_exists() && errors[9].is_unauthenticated());
    // 401/403 messages carry the config (never the token) to help fix auth.
    let message = errors[7].to_string();
    assert!(
        message.contains("host=") && message.contains("token=***"),
        "{message}"
    );
    assert!(!message.contains("dapi-test-token"), "{message}");
}

#[tokio::test]
async fn typed_calls_report_not_found() {
    let stub = Stub::start(|hit, _| match hit.path.as_str() {
        "/api/2.2/jobs/get" => Reply::Json(
            400,
            json!({"error_code": "INVALID_PARAMETER_VALUE", "message": format!("Job {} does not exist.", hit.query("job_id").unwrap_or("?"))}),
        ),
        "/api/2.0/workspace/get-status" => Reply::Json(
            404,
            json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": format!("Path ({}) doesn't exist.", hit.query("path").unwrap_or("?"))}),
        ),
        _ => Reply::Json(404, json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Scope nope does not exist"})),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let error = client.get_job(12).await.expect_err("missing job");
    assert!(error.is_not_found(), "{error}");
    assert_eq!(
        error.to_string(),
        "not found: `GET /api/2.2/jobs/get` returned 400 INVALID_PARAMETER_VALUE: Job 12 does not exist."
    );
    assert!(
        client
            .workspace()
            .get_status("/nope")
            .await
            .expect_err("missing")
            .is_not_found()
    );
    assert!(
        client
            .list_secrets("nope")
            .await
            .expect_err("missing")
            .is_not_found()
    );
    assert_eq!(stub.hits().len(), 3, "not-found is never retried");
}

#[tokio::test]
async fn unexpected_bodies_are_decode_errors_with_an_excerpt() {
    let stub = Stub::start(|_, _| {
        Reply::Raw(
            200,
            vec![("content-type", "text/html".into())],
            b"<html>login page</html>".to_vec(),
        )
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    let error = client.get_job(1).await.expect_err("html is not a job");
    match &error {
        Error::Decode { path, excerpt, .. } => {
            assert_eq!(path, "/api/2.2/jobs/get");
            assert_eq!(excerpt.as_deref(), Some("<html>login page</html>"));
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}
