//! The `/_local/` control plane and the middleware every request passes through.
//!
//! # Middleware, outermost first
//!
//! 1. **gzip**: responses are compressed when the client sends `Accept-Encoding: gzip`.
//! 2. **Request log** ([`log`]): every request, refused, faulted and `/_local/` ones included, is
//!    recorded with its status, fault and duration in a ring of the last 50,000.
//! 3. **Auth** ([`auth`]): everything except `/.well-known/`, `/oidc/` and `/_local/` needs a
//!    bearer token.
//! 4. **Body limit**: request bodies over 10 MiB get 413.
//! 5. **Rate limits** ([`limits`]): per-endpoint token buckets; a throttled request gets 429 and
//!    never reaches its handler.
//! 6. **Faults** ([`faults`]): injected errors, latency and dropped connections.
//!
//! `/_local/` requests skip 3–6. Unknown paths (and known paths with the wrong method) get 404
//! `ENDPOINT_NOT_FOUND` as JSON.
//!
//! # The control API
//!
//! | request | effect |
//! |---|---|
//! | `GET /_local/requests?since=<seq>&mutating=true\|false` | `{"requests": [entry...], "last_seq": n}` |
//! | `DELETE /_local/requests` | clears the log (sequence numbers keep increasing) |
//! | `POST /_local/faults` `{endpoint, kind, rate, retry_after_s, latency_ms, count, seed}` | adds a rule, `{"fault_id": "f-1"}` |
//! | `GET /_local/faults` | `{"faults": [rule...]}` with `injected` counts |
//! | `DELETE /_local/faults/{id}`, `DELETE /_local/faults` | removes one rule / all rules |
//! | `GET /_local/rate-limits` | `{"enabled": bool, "limits": [{endpoint, requests, per_seconds, source, throttled}]}` |
//! | `POST /_local/rate-limits` `{"enabled"?: bool, "reset"?: bool, "limits"?: {selector: n \| {"requests", "per_seconds"} \| null}}` | switches limits, restores defaults, overrides rules |
//! | `GET /_local/oauth` | `{"token_ttl_s": n}` |
//! | `POST /_local/oauth` `{"token_ttl_s"?: n, "expire_issued"?: bool}` | sets the lifetime of new tokens / expires all issued tokens now |
//!
//! Endpoint selectors are described in [`endpoint`].

pub mod auth;
pub mod endpoint;
pub mod faults;
pub mod limits;
pub mod log;
pub(crate) mod serve;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use futures::StreamExt as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

use crate::api_error::{ApiError, ApiResult};
use crate::{AppState, Config};

use self::auth::{Auth, Verdict};
use self::faults::{FaultKind, FaultSpec, Faults};
use self::limits::{LimitSpec, RateLimits};
use self::log::{Entry, RequestLog};

/// The largest request body accepted (the Jobs API documents 10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How much of an oversized body is read (and discarded) before answering 413.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// The control plane's state: request log, auth, rate limits and faults.
#[derive(Debug)]
pub struct Control {
    pub(crate) log: RequestLog,
    pub(crate) auth: Auth,
    pub(crate) limits: RateLimits,
    pub(crate) faults: Faults,
}

impl Control {
    pub fn new(config: &Config) -> Self {
        Self {
            log: RequestLog::default(),
            auth: Auth::new(config),
            limits: RateLimits::new(config.rate_limits),
            faults: Faults::default(),
        }
    }
}

/// Marks a response whose connection must be closed without sending it (see [`serve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DropConnection {
    /// True for `drop` (no handler ran), false for `drop-after`.
    pub before_handler: bool,
}

/// Marks a response affected by an injected fault, for the request log.
#[derive(Debug, Clone)]
struct InjectedFault {
    id: String,
    kind: FaultKind,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_local/requests", get(list_requests).delete(clear_requests))
        .route(
            "/_local/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_local/faults/{id}", delete(remove_fault))
        .route("/_local/rate-limits", get(rate_limits).post(set_rate_limits))
        .route("/_local/oauth", get(oauth).post(set_oauth))
}

/// Adds the JSON 404 fallbacks and the middleware stack (see the module docs) around `api`.
pub fn wrap(api: Router<AppState>, state: AppState) -> Router<AppState> {
    api.fallback(no_endpoint)
        .method_not_allowed_fallback(no_endpoint)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), gate))
        .layer(from_fn_with_state(state, record))
        .layer(
            // Gzip only bodies worth it: compressing every small JSON answer cost about half of
            // a loopback call (0.11 of 0.2 ms, measured in BENCHMARKS.md) and cut throughput 2–7×.
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .compress_when(
                    SizeAbove::new(16 * 1024)
                        .and(NotForContentType::GRPC)
                        .and(NotForContentType::IMAGES),
                ),
        )
}

async fn no_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::no_endpoint(method.as_str(), uri.path())
}

fn is_control(path: &str) -> bool {
    path == "/_local" || path.starts_with("/_local/")
}

fn is_public(path: &str) -> bool {
    is_control(path) || path.starts_with("/.well-known/") || path.starts_with("/oidc/")
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The request-log middleware (outermost but for gzip).
async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let seq = state.control.log.next_seq();
    let ts_ms = now_ms();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let dropped = response.extensions().get::<DropConnection>().copied();
    let fault = response.extensions().get::<InjectedFault>().cloned();
    let status = match dropped {
        Some(DropConnection { before_handler: true }) => None,
        _ => Some(response.status().as_u16()),
    };
    state.control.log.push(Entry {
        seq,
        ts_ms,
        mutating: log::is_mutating(&method, &path),
        method,
        path,
        query,
        status,
        fault: fault.as_ref().map(|f| f.kind.as_str().to_owned()),
        fault_id: fault.map(|f| f.id),
        duration_us: started.elapsed().as_micros() as u64,
        user_agent,
    });
    response
}

/// Auth, body limit, rate limits and faults, in that order.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_control(&path) {
        return next.run(request).await;
    }
    if !is_public(&path) {
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match state.control.auth.check(authorization) {
            Verdict::Allowed => {}
            Verdict::Missing => {
                return ApiError::unauthenticated(
                    "Credential was not sent or was of an unsupported type for this API. Send `Authorization: Bearer <token>`.",
                )
                .into_response();
            }
            Verdict::Invalid => return invalid_token(),
        }
    }
    let request = match buffer_body(request).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let method = request.method().as_str().to_owned();
    if let Some(rule) = state.control.limits.check(&method, &path) {
        return ApiError::rate_limited(
            format!("Too many requests: the rate limit for `{rule}` is exceeded. Please retry after the Retry-After delay."),
            1,
        )
        .into_response();
    }
    let decision = state.control.faults.decide(&method, &path);
    if let Some(delay) = decision.latency {
        tokio::time::sleep(delay).await;
    }
    let Some(action) = decision.action else {
        let mut response = next.run(request).await;
        if let Some(id) = decision.latency_id {
            response.extensions_mut().insert(InjectedFault {
                id,
                kind: FaultKind::Latency,
            });
        }
        return response;
    };
    let note = format!("(injected fault {})", action.fault_id);
    let mut response = match action.kind {
        FaultKind::TooManyRequests => ApiError::rate_limited(
            format!("Too many requests. Please retry later. {note}"),
            action.retry_after_s,
        )
        .into_response(),
        FaultKind::InternalError => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("Internal server error. {note}"),
        )
        .into_response(),
        FaultKind::Unavailable => ApiError {
            retry_after: Some(action.retry_after_s),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                format!("The service is temporarily unavailable. {note}"),
            )
        }
        .into_response(),
        FaultKind::Drop => {
            let mut response = Response::new(Body::empty());
            response
                .extensions_mut()
                .insert(DropConnection { before_handler: true });
            response
        }
        FaultKind::DropAfter => {
            let mut response = next.run(request).await;
            response.extensions_mut().insert(DropConnection {
                before_handler: false,
            });
            response
        }
        // Latency rules never decide a request (see `Faults::decide`).
        FaultKind::Latency => next.run(request).await,
    };
    response.extensions_mut().insert(InjectedFault {
        id: action.fault_id,
        kind: action.kind,
    });
    response
}

/// The real response to a token that is not accepted: 403 with a numeric `error_code`.
fn invalid_token() -> Response {
    let mut response = (
        StatusCode::FORBIDDEN,
        Json(json!({ "error_code": 403, "message": "Invalid access token." })),
    )
        .into_response();
    response.headers_mut().insert(
        "x-databricks-reason-phrase",
        HeaderValue::from_static("Invalid access token."),
    );
    response
}

/// Reads the whole body (so a faulted or throttled request is refused before its handler sees
/// it) and refuses bodies over [`MAX_BODY_BYTES`], whether declared or streamed.
async fn buffer_body(request: Request) -> ApiResult<Request> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            format!("The request body exceeds the limit of {MAX_BODY_BYTES} bytes."),
        )
    };
    let (parts, body) = request.into_parts();
    let declared = content_length(&parts.headers).filter(|len| *len <= MAX_BODY_BYTES);
    let mut buffer = Vec::with_capacity(declared.unwrap_or(0));
    let mut seen = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|err| ApiError::malformed(format!("Cannot read the request body: {err}")))?;
        seen += chunk.len();
        // An oversized body is drained (up to a bound) rather than answered mid-upload: a client
        // still writing when the server closes sees a reset instead of the 413.
        if seen > MAX_BODY_BYTES {
            buffer = Vec::new();
            if seen > DRAIN_LIMIT_BYTES {
                break;
            }
            continue;
        }
        buffer.extend_from_slice(&chunk);
    }
    if seen > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(Request::from_parts(parts, Body::from(buffer)))
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the API handlers.

/// Parses a JSON request body; an empty body reads as `{}`.
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|err| ApiError::malformed(format!("Could not parse request object: {err}")))
}

/// Parses a query string (`a=1&b=true`).
pub(crate) fn query<T: DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|err| ApiError::invalid(format!("Invalid query parameters: {err}")))
}

/// Accepts `true`, `false` and their string forms (multipart and query fields are strings).
pub(crate) fn lenient_bool<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Bool(b) => Ok(b),
        Value::Null => Ok(false),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "expected a boolean, got {other}"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// /_local/ handlers.

#[derive(Debug, Deserialize)]
struct RequestsQuery {
    #[serde(default)]
    since: u64,
    #[serde(default)]
    mutating: Option<bool>,
}

async fn list_requests(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    let q: RequestsQuery = query(raw.as_deref())?;
    let (requests, last_seq) = state.control.log.since(q.since, q.mutating);
    Ok(Json(json!({ "requests": requests, "last_seq": last_seq })))
}

async fn clear_requests(State(state): State<AppState>) -> Json<Value> {
    state.control.log.clear();
    Json(json!({}))
}

async fn add_fault(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let spec: FaultSpec = serde_json::from_slice(&body)
        .map_err(|err| ApiError::invalid(format!("Invalid fault rule: {err}")))?;
    let id = state
        .control
        .faults
        .add(spec)
        .map_err(|err| ApiError::invalid(err.to_string()))?;
    Ok(Json(json!({ "fault_id": id })))
}

async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "faults": state.control.faults.list() }))
}

async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    state.control.faults.clear();
    Json(json!({}))
}

async fn remove_fault(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    if state.control.faults.remove(&id) {
        Ok(Json(json!({})))
    } else {
        Err(ApiError::not_found(format!("Fault {id} does not exist.")))
    }
}

fn rate_limits_view(state: &AppState) -> Value {
    json!({ "enabled": state.control.limits.enabled(), "limits": state.control.limits.rules() })
}

async fn rate_limits(State(state): State<AppState>) -> Json<Value> {
    Json(rate_limits_view(&state))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitChange {
    enabled: Option<bool>,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    limits: serde_json::Map<String, Value>,
}

async fn set_rate_limits(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let change: RateLimitChange = json_body(&body).map_err(|err| ApiError::invalid(err.message))?;
    let mut overrides = Vec::with_capacity(change.limits.len());
    for (selector, value) in change.limits {
        let spec: Option<LimitSpec> = serde_json::from_value(value).map_err(|err| {
            ApiError::invalid(format!(
                "Invalid limit for `{selector}`: {err}. Use a number per second, {{\"requests\": n, \"per_seconds\": s}} or null."
            ))
        })?;
        overrides.push((selector, spec));
    }
    if change.reset {
        state.control.limits.reset();
    }
    state
        .control
        .limits
        .apply(&overrides)
        .map_err(|err| ApiError::invalid(err.to_string()))?;
    if let Some(enabled) = change.enabled {
        state.control.limits.set_enabled(enabled);
    }
    Ok(Json(rate_limits_view(&state)))
}

async fn oauth(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "token_ttl_s": state.control.auth.token_ttl().as_secs() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthChange {
    token_ttl_s: Option<u64>,
    #[serde(default)]
    expire_issued: bool,
}

async fn set_oauth(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let change: OAuthChange = json_body(&body).map_err(|err| ApiError::invalid(err.message))?;
    if let Some(ttl) = change.token_ttl_s {
        state.control.auth.set_token_ttl(Duration::from_secs(ttl));
    }
    let expired = if change.expire_issued {
        state.control.auth.expire_issued()
    } else {
        0
    };
    Ok(Json(
        json!({ "token_ttl_s": state.control.auth.token_ttl().as_secs(), "expired": expired }),
    ))
}
