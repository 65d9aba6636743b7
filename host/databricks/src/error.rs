//! Typed errors and the classification of API error responses.
//!
//! Classification follows the SDKs' order: message overrides first (the Jobs service long
//! answered "not found" with `400 INVALID_PARAMETER_VALUE` "Job 123 does not exist."), then the
//! `error_code`, then the HTTP status. Bodies in every shape the SDKs parse are accepted: the
//! standard `{error_code, message, details}`, API 1.2 `{"error": ...}`, SCIM `{detail, status,
//! scimType}`, plain text `CODE: message`, and HTML with the message in `<pre>` or `<title>`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error response from the API: what was called and what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `error_code` from the body (numeric codes, as in the invalid-token quirk, as their digits).
    pub error_code: Option<String>,
    /// Message from the body, or the HTTP reason phrase when the body had none.
    pub message: String,
    /// HTTP method of the request.
    pub method: String,
    /// Request path, without the query.
    pub path: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{} {}` returned {}", self.method, self.path, self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist (404, or the 400 "Job 123 does not exist." family).
    #[error("not found: {0}")]
    NotFound(Box<ApiError>),
    /// The object already exists (`RESOURCE_ALREADY_EXISTS` / `ALREADY_EXISTS`).
    #[error("already exists: {0}")]
    AlreadyExists(Box<ApiError>),
    /// Authenticated but not allowed (403, including `{"error_code": 403, "message": "Invalid access token."}`).
    #[error("permission denied: {error}; check the principal's permissions and the token (config: {config})")]
    PermissionDenied { error: Box<ApiError>, config: String },
    /// Not authenticated (401): missing, expired or invalid credentials.
    #[error(
        "not authenticated: {error}; check the token or service principal credentials (config: {config})"
    )]
    Unauthenticated { error: Box<ApiError>, config: String },
    /// The request was invalid (400 `INVALID_PARAMETER_VALUE`, `MALFORMED_REQUEST`, other 400s).
    #[error("invalid request: {0}")]
    InvalidParameter(Box<ApiError>),
    /// Still throttled (429) when the retry deadline ran out.
    #[error(
        "rate limited: {error} (gave up after {attempts} attempts over {elapsed:?}; raise the retry timeout or slow down)"
    )]
    RateLimited {
        error: Box<ApiError>,
        attempts: u32,
        elapsed: Duration,
    },
    /// The service failed or was unavailable (503 after retries, other 5xx).
    #[error("service unavailable: {error} (after {attempts} attempts)")]
    Unavailable { error: Box<ApiError>, attempts: u32 },
    /// Any other error response (e.g. 405, 409 without a known code).
    #[error("request failed: {0}")]
    Api(Box<ApiError>),
    /// A request or a wait took longer than allowed.
    #[error("timed out waiting for {what} after {after:?}")]
    Timeout { what: String, after: Duration },
    /// The connection failed (refused, reset, closed without a response).
    #[error(
        "`{method} {url}` failed after {attempts} attempt(s): {source}{}",
        if *maybe_applied { "; the connection broke after the request was sent, so it may have been applied: check before repeating it" } else { "" }
    )]
    Transport {
        method: String,
        url: String,
        attempts: u32,
        /// The request may have reached the server (the connection broke after sending).
        maybe_applied: bool,
        #[source]
        source: reqwest::Error,
    },
    /// Config resolution failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plain `http://` host that is not loopback.
    #[error(
        "refusing plain http to `{host}`: tokens would travel unencrypted; use `https://`, or a loopback host (127.0.0.1, ::1, localhost) for a local workspace"
    )]
    InsecureHost { host: String },
    /// The response body was not what the endpoint returns.
    #[error("unexpected response from `{method} {path}`: {message}{}", excerpt.as_deref().map(|e| format!("; body starts with: {e}")).unwrap_or_default())]
    Decode {
        method: String,
        path: String,
        message: String,
        excerpt: Option<String>,
    },
    /// The local workspace could not be started or reached.
    #[error("local workspace in `{}`: {message}", dir.display())]
    LocalWorkspace {
        dir: PathBuf,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

impl Error {
    /// The API error behind this error, if the server answered.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::NotFound(e) | Error::AlreadyExists(e) | Error::InvalidParameter(e) | Error::Api(e) => {
                Some(e)
            }
            Error::PermissionDenied { error, .. }
            | Error::Unauthenticated { error, .. }
            | Error::RateLimited { error, .. }
            | Error::Unavailable { error, .. } => Some(error),
            _ => None,
        }
    }
    /// HTTP status of the API error, if any.
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|e| e.status)
    }
    /// `error_code` of the API error, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.error_code.as_deref())
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists(_))
    }
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Error::Unauthenticated { .. })
    }
    pub fn is_invalid_parameter(&self) -> bool {
        matches!(self, Error::InvalidParameter(_))
    }
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
    }
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }
}

/// The parts of an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedBody {
    pub error_code: Option<String>,
    pub message: String,
}

/// Parses an error body in any of the shapes the SDKs accept.
pub(crate) fn parse_error_body(body: &[u8], reason: &str) -> ParsedBody {
    let fallback = || ParsedBody {
        error_code: None,
        message: reason.to_owned(),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return fallback();
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let mut error_code = match map.get("error_code") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let mut message = match map.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => "request failed".to_owned(),
        };
        // API 1.2: {"error": "..."}; OAuth: {"error": "invalid_client", "error_description": "..."}.
        if let Some(serde_json::Value::String(err)) = map.get("error") {
            message = match map.get("error_description") {
                Some(serde_json::Value::String(desc)) => format!("{err}: {desc}"),
                _ => err.clone(),
            };
        }
        // SCIM: {"detail": "...", "status": "404", "scimType": "..."}.
        if let Some(detail) = map
            .get("detail")
            .and_then(|d| d.as_str())
            .filter(|d| !d.is_empty())
        {
            let detail = if detail == "null" {
                "SCIM API Internal Error"
            } else {
                detail
            };
            let scim_type = map.get("scimType").and_then(|s| s.as_str()).unwrap_or("");
            message = format!("{scim_type} {detail}").trim().to_owned();
            let status = match map.get("status") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            error_code = Some(format!("SCIM_{status}"));
        }
        return ParsedBody { error_code, message };
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    // Plain text `ERROR_CODE: message`.
    if let Some((code, message)) = text.split_once(": ")
        && !code.is_empty()
        && code.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    {
        return ParsedBody {
            error_code: Some(code.to_owned()),
            message: message.to_owned(),
        };
    }
    // HTML: the message is in <pre>…</pre>, else <title>…</title>.
    for (open, close) in [("<pre>", "</pre>"), ("<title>", "</title>")] {
        if let Some(start) = text.find(open)
            && let Some(len) = text[start + open.len()..].find(close)
        {
            let inner = text[start + open.len()..start + open.len() + len].trim();
            let message = if inner.is_empty() {
                reason.to_owned()
            } else {
                inner.to_owned()
            };
            return ParsedBody {
                error_code: Some(reason.to_uppercase().replace(' ', "_")),
                message,
            };
        }
    }
    ParsedBody {
        error_code: None,
        message: excerpt(text.as_bytes(), 200),
    }
}

/// Whether a message is one of the "does not exist" messages the services send with a 400.
fn is_missing_message(message: &str) -> bool {
    let words: Vec<&str> = message.split_whitespace().collect();
    let starts = |w: &str| words.first().is_some_and(|f| f.trim_end_matches(':') == w);
    let has = |s: &str| message.contains(s);
    ((starts("Job") || starts("Run") || starts("Cluster") || starts("Scope")) && has(" does not exist"))
        || (starts("Run") && has(" in job: ") && has(" doesn't exist"))
        || (message.starts_with("Path (") && has(") doesn't exist"))
}

/// What was called, for building an error.
pub(crate) struct ErrorContext<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub attempts: u32,
    pub elapsed: Duration,
    /// [`crate::Config::describe`], appended to 401/403 messages.
    pub config: &'a str,
}

/// Builds the typed error for an error response that will not be retried any more.
pub(crate) fn classify(status: u16, body: &[u8], reason: &str, ctx: &ErrorContext<'_>) -> Error {
    let parsed = parse_error_body(body, reason);
    let (attempts, elapsed, config) = (ctx.attempts, ctx.elapsed, ctx.config);
    let error = Box::new(ApiError {
        status,
        error_code: parsed.error_code,
        message: parsed.message,
        method: ctx.method.to_owned(),
        path: ctx.path.to_owned(),
    });
    // 1. message overrides
    if matches!(status, 400 | 404) && is_missing_message(&error.message) {
        return Error::NotFound(error);
    }
    // 2. error_code
    match error.error_code.as_deref() {
        Some("RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND") => return Error::NotFound(error),
        Some("RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS") => return Error::AlreadyExists(error),
        Some("INVALID_PARAMETER_VALUE" | "MALFORMED_REQUEST" | "INVALID_STATE" | "BAD_REQUEST")
            if status < 500 =>
        {
            return Error::InvalidParameter(error);
        }
        Some("PERMISSION_DENIED") if status < 500 => {
            return Error::PermissionDenied {
                error,
                config: config.to_owned(),
            };
        }
        Some("UNAUTHENTICATED") => {
            return Error::Unauthenticated {
                error,
                config: config.to_owned(),
            };
        }
        Some("REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED") => {
            return Error::RateLimited {
                error,
                attempts,
                elapsed,
            };
        }
        Some("TEMPORARILY_UNAVAILABLE") => return Error::Unavailable { error, attempts },
        _ => {}
    }
    // 3. status
    match status {
        400 => Error::InvalidParameter(error),
        401 => Error::Unauthenticated {
            error,
            config: config.to_owned(),
        },
        403 => Error::PermissionDenied {
            error,
            config: config.to_owned(),
        },
        404 => Error::NotFound(error),
        429 => Error::RateLimited {
            error,
            attempts,
            elapsed,
        },
        500..=599 => Error::Unavailable { error, attempts },
        _ => Error::Api(error),
    }
}

/// The first `max` characters of a body, on one line, for error messages.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_simple(status: u16, body: &str, method: &str, path: &str) -> Error {
        let ctx = ErrorContext {
            method,
            path,
            attempts: 1,
            elapsed: Duration::ZERO,
            config: "host=x",
        };
        classify(status, body.as_bytes(), "Reason", &ctx)
    }

    #[test]
    fn parses_every_body_shape() {
        let standard = parse_error_body(
            br#"{"error_code":"INVALID_STATE","message":"m","details":[]}"#,
            "Bad Request",
        );
        assert_eq!(
            standard,
            ParsedBody {
                error_code: Some("INVALID_STATE".into()),
                message: "m".into()
            }
        );
        let numeric = parse_error_body(
            br#"{"error_code":403,"message":"Invalid access token."}"#,
            "Forbidden",
        );
        assert_eq!(numeric.error_code.as_deref(), Some("403"));
        let api12 = parse_error_body(br#"{"error":"Bad thing"}"#, "Bad Request");
        assert_eq!(
            api12,
            ParsedBody {
                error_code: None,
                message: "Bad thing".into()
            }
        );
        let scim = parse_error_body(
            br#"{"detail":"User not found","status":"404","scimType":"invalidValue"}"#,
            "x",
        );
        assert_eq!(
            scim,
            ParsedBody {
                error_code: Some("SCIM_404".into()),
                message: "invalidValue User not found".into()
            }
        );
        let text = parse_error_body(b"INVALID_PARAMETER_VALUE: bad field", "x");
        assert_eq!(
            text,
            ParsedBody {
                error_code: Some("INVALID_PARAMETER_VALUE".into()),
                message: "bad field".into()
            }
        );
        let html = parse_error_body(
            b"<html><body><pre>Something broke</pre></body></html>",
            "Bad Gateway",
        );
        assert_eq!(
            html,
            ParsedBody {
                error_code: Some("BAD_GATEWAY".into()),
                message: "Something broke".into()
            }
        );
        let empty = parse_error_body(b"", "Service Unavailable");
        assert_eq!(
            empty,
            ParsedBody {
                error_code: None,
                message: "Service Unavailable".into()
            }
        );
    }

    #[test]
    fn classifies_not_found_shapes() {
        let modern = r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Job 12 does not exist."}"#;
        assert!(classify_simple(404, modern, "GET", "/api/2.2/jobs/get").is_not_found());
        let legacy = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Job 12 does not exist."}"#;
        assert!(classify_simple(400, legacy, "GET", "/api/2.2/jobs/get").is_not_found());
        assert!(classify_simple(400, legacy, "POST", "/api/2.2/jobs/reset").is_not_found());
        let run = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Run 5 does not exist."}"#;
        assert!(classify_simple(400, run, "GET", "/api/2.2/jobs/runs/get").is_not_found());
        let run_in_job =
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Run: 5 in job: 7 doesn't exist"}"#;
        assert!(classify_simple(400, run_in_job, "GET", "/api/2.2/jobs/runs/get").is_not_found());
        let path = r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Path (/x) doesn't exist."}"#;
        assert!(classify_simple(404, path, "GET", "/api/2.0/workspace/get-status").is_not_found());
        let path400 = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Path (/x) doesn't exist."}"#;
        assert!(classify_simple(400, path400, "GET", "/api/2.0/workspace/get-status").is_not_found());
        let scope = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Scope missing does not exist"}"#;
        assert!(classify_simple(400, scope, "GET", "/api/2.0/secrets/list").is_not_found());
        assert!(classify_simple(404, "", "GET", "/api/2.0/x").is_not_found());
        let other = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid quartz_cron_expression"}"#;
        assert!(classify_simple(400, other, "POST", "/api/2.2/jobs/create").is_invalid_parameter());
    }

    #[test]
    fn classifies_by_code_then_status() {
        let exists = r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Path (/a) already exists."}"#;
        assert!(classify_simple(400, exists, "POST", "/api/2.0/workspace/import").is_already_exists());
        let exists2 = r#"{"error_code":"ALREADY_EXISTS","message":"x"}"#;
        assert!(classify_simple(409, exists2, "POST", "/p").is_already_exists());
        let token = r#"{"error_code":403,"message":"Invalid access token."}"#;
        let err = classify_simple(403, token, "GET", "/api/2.2/jobs/list");
        assert!(err.is_permission_denied());
        assert_eq!(err.error_code(), Some("403"));
        assert!(
            classify_simple(
                401,
                r#"{"error_code":"UNAUTHORIZED","message":"no"}"#,
                "GET",
                "/p"
            )
            .is_unauthenticated()
        );
        assert!(
            classify_simple(
                400,
                r#"{"error_code":"MALFORMED_REQUEST","message":"x"}"#,
                "POST",
                "/p"
            )
            .is_invalid_parameter()
        );
        assert!(classify_simple(400, "{}", "POST", "/p").is_invalid_parameter());
        assert!(
            classify_simple(
                429,
                r#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"x"}"#,
                "POST",
                "/p"
            )
            .is_rate_limited()
        );
        assert!(classify_simple(503, "", "GET", "/p").is_unavailable());
        assert!(
            classify_simple(
                500,
                r#"{"error_code":"INTERNAL_ERROR","message":"x"}"#,
                "GET",
                "/p"
            )
            .is_unavailable()
        );
        assert!(classify_simple(502, "<html><pre>bad gateway</pre></html>", "GET", "/p").is_unavailable());
        assert!(matches!(classify_simple(405, "", "GET", "/p"), Error::Api(_)));
        let err = classify_simple(
            404,
            r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Job 1 does not exist."}"#,
            "GET",
            "/api/2.2/jobs/get",
        );
        let api = err.api_error().expect("api error");
        assert_eq!(
            (api.status, api.method.as_str(), api.path.as_str()),
            (404, "GET", "/api/2.2/jobs/get")
        );
        assert_eq!(
            err.to_string(),
            "not found: `GET /api/2.2/jobs/get` returned 404 RESOURCE_DOES_NOT_EXIST: Job 1 does not exist."
        );
    }
}
