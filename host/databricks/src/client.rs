//! [`Client`]: transport, auth headers, retries and the call log. The typed API methods live in
//! `crate::api`; every one of them, and [`Client::raw`], goes through one send loop (`Client::send`).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::calls::{CallLog, CallRecord, redact_query};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, Credentials, Host};
use crate::error::{Error, ErrorContext, Result, classify, excerpt};
use crate::retry::{Failure, RetryPolicy, is_idempotent, should_retry};
use crate::secret::Secret;

/// Builds a [`Client`] from a resolved [`Config`].
///
/// Defaults: HTTP timeout and retry deadline from the config (60 s and 5 min unless set);
/// [`RetryPolicy::default`] otherwise (250 ms backoff doubling to 10 s, `Retry-After` capped at
/// 60 s); real time ([`SystemClock`]); product `brickship/<this crate's version>` in the
/// User-Agent; a fresh [`CallLog`].
pub struct ClientBuilder {
    config: Config,
    retry: Option<RetryPolicy>,
    http_timeout: Option<Duration>,
    clock: Arc<dyn Clock>,
    product: (String, String),
    calls: CallLog,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("retry", &self.retry)
            .field("http_timeout", &self.http_timeout)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Retry timing; its `deadline` replaces the config's retry timeout.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Overall deadline of one call including retries.
    pub fn retry_deadline(mut self, deadline: Duration) -> Self {
        let mut policy = self.retry.take().unwrap_or_default();
        policy.deadline = deadline;
        self.retry = Some(policy);
        self
    }
    /// Per-request HTTP timeout.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }
    /// The clock used for retry waits, poll intervals and token expiry.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Product name and version at the start of the User-Agent (default `brickship/<version>`).
    pub fn product(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.product = (name.into(), version.into());
        self
    }
    /// Record calls into this (shared) log instead of a fresh one.
    pub fn call_log(mut self, calls: CallLog) -> Self {
        self.calls = calls;
        self
    }

    /// Builds the client. For the host `local` this starts (or connects to) the local workspace.
    pub async fn build(self) -> Result<Client> {
        let ClientBuilder {
            config,
            retry,
            http_timeout,
            clock,
            product,
            calls,
        } = self;
        let mut retry = retry.unwrap_or_else(|| RetryPolicy {
            deadline: config.retry_timeout,
            ..RetryPolicy::default()
        });
        if retry.deadline.is_zero() {
            retry.deadline = config.retry_timeout;
        }
        let http_timeout = http_timeout.unwrap_or(config.http_timeout);

        #[cfg(feature = "local")]
        let (base, local) = match &config.host {
            Host::Url(url) => (url.clone(), None),
            Host::Local => {
                let dir = config
                    .local
                    .state_dir
                    .clone()
                    .ok_or(ConfigError::LocalStateDirMissing)?;
                let server = crate::local::attach(&dir, config.local.run_speed).await?;
                (server.url().to_owned(), Some(server))
            }
        };
        #[cfg(not(feature = "local"))]
        let base = match &config.host {
            Host::Url(url) => url.clone(),
            Host::Local => return Err(ConfigError::LocalUnavailable.into()),
        };
        check_transport_security(&base)?;

        // reqwest is built with `rustls-no-provider`: install ring as the process default once.
        // `Err` means a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let user_agent = format!(
            "{}/{} databricks-rs/{} os/{os} auth/{}",
            product.0,
            product.1,
            env!("CARGO_PKG_VERSION"),
            config.credentials.auth_type()
        );
        let http = reqwest::Client::builder()
            .user_agent(user_agent.clone())
            .timeout(http_timeout)
            .connect_timeout(http_timeout.min(Duration::from_secs(30)))
            .build()
            .map_err(Error::Build)?;
        let config_description = config.describe();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                config,
                retry,
                clock,
                calls,
                user_agent,
                config_description,
                oauth: OAuthState::default(),
                #[cfg(feature = "local")]
                _local: local,
            }),
        })
    }
}

/// An async Databricks REST client. Cheap to clone: clones share the connection pool, the
/// OAuth token cache, the call log and (for `local`) the local workspace server.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Normalised base URL, e.g. `https://x.cloud.databricks.com` or `http://127.0.0.1:8899`.
    base: String,
    config: Config,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    calls: CallLog,
    user_agent: String,
    config_description: String,
    oauth: OAuthState,
    #[cfg(feature = "local")]
    _local: Option<Arc<crate::local::LocalServer>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("auth_type", &self.inner.config.credentials.auth_type())
            .field("config", &self.inner.config)
            .field("retry", &self.inner.retry)
            .field("user_agent", &self.inner.user_agent)
            .finish_non_exhaustive()
    }
}

/// Cached OAuth state: the discovered token endpoint and the current access token.
#[derive(Default)]
struct OAuthState {
    token_endpoint: tokio::sync::Mutex<Option<String>>,
    /// Held across a token fetch, so concurrent callers wait for one fetch (single flight).
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

#[derive(Clone)]
struct CachedToken {
    access_token: Secret,
    refresh_at: Instant,
}

/// Longest head start before expiry at which a cached token is refreshed.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Who authenticates a request.
#[derive(Clone)]
pub(crate) enum AuthMode {
    /// The configured credentials (bearer token).
    Api,
    /// No `Authorization` header (discovery endpoints).
    Anonymous,
    /// A preset header (the token request's Basic auth).
    Preset(HeaderValue),
}

/// A request body.
#[derive(Clone)]
pub(crate) enum Body {
    Empty,
    Json(Bytes),
    Form(Bytes),
    Raw {
        bytes: Bytes,
        content_type: &'static str,
    },
}

/// One logical call, possibly sent several times.
#[derive(Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// Absolute URL without the query.
    pub url: String,
    /// Path, for the call log and errors.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub idempotent: bool,
    pub auth: AuthMode,
    /// The response may contain secrets (token endpoint): never quote it in errors.
    pub sensitive_response: bool,
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct Response {
    pub body: Bytes,
}

/// Query pairs with the API's conventions (booleans as `true`/`false`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.0.push((key.to_owned(), value.to_string()));
        self
    }
    pub fn opt(self, key: &str, value: Option<impl fmt::Display>) -> Self {
        match value {
            Some(value) => self.push(key, value),
            None => self,
        }
    }
    pub fn flag(self, key: &str, value: Option<bool>) -> Self {
        self.opt(key, value.map(|b| if b { "true" } else { "false" }))
    }
}

impl Client {
    /// Starts a [`ClientBuilder`] for `config`.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            retry: None,
            http_timeout: None,
            clock: Arc::new(SystemClock),
            product: ("brickship".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            calls: CallLog::new(),
        }
    }

    /// A client with the builder's defaults.
    pub async fn new(config: Config) -> Result<Client> {
        Self::builder(config).build().await
    }

    /// The base URL requests go to (for `local`, the local workspace's loopback URL).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The resolved config.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The User-Agent header sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    /// Every HTTP attempt so far, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.inner.calls.records()
    }

    /// Forgets the recorded calls.
    pub fn reset_calls(&self) {
        self.inner.calls.clear();
    }

    /// The shared call log (clones see new records).
    pub fn call_log(&self) -> CallLog {
        self.inner.calls.clone()
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// A request to `path` (starting with `/`) on the workspace, authenticated, idempotency
    /// derived from [`is_idempotent`].
    pub(crate) fn request(&self, method: Method, path: &str, query: Query, body: Body) -> Request {
        let json = match &body {
            Body::Json(bytes) => serde_json::from_slice::<serde_json::Value>(bytes).ok(),
            _ => None,
        };
        let idempotent = is_idempotent(&method, path, &query.0, json.as_ref());
        Request {
            url: format!("{}{}", self.inner.base, path),
            path: path.to_owned(),
            method,
            query: query.0,
            body,
            idempotent,
            auth: AuthMode::Api,
            sensitive_response: false,
        }
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, query: Query) -> Result<T> {
        let req = self.request(Method::GET, path, query, Body::Empty);
        let resp = self.send(&req).await?;
        decode(&req, &resp.body)
    }

    pub(crate) async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        self.with_json(Method::POST, path, body).await
    }

    pub(crate) async fn with_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        let bytes = encode(&method, path, body)?;
        let req = self.request(method, path, Query::new(), Body::Json(bytes));
        let resp = self.send(&req).await?;
        decode(&req, &resp.body)
    }

    /// Any API call, through the same auth, retries and call log as the typed methods: `path`
    /// starts with `/` (e.g. `/api/2.2/jobs/list`); the response is JSON (`{}` when empty).
    /// Whether a failed attempt is retried follows [`crate::retry::is_idempotent`].
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let query = Query(
            query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        let body = match body {
            Some(value) => Body::Json(encode(&method, path, value)?),
            None => Body::Empty,
        };
        let req = self.request(method, path, query, body);
        let resp = self.send(&req).await?;
        decode(&req, &resp.body)
    }

    /// Sends `req`, retrying as [`crate::retry`] describes, recording every attempt.
    pub(crate) async fn send(&self, req: &Request) -> Result<Response> {
        let clock = &self.inner.clock;
        let policy = &self.inner.retry;
        let start = clock.now();
        let deadline = start + policy.deadline;
        let method = req.method.as_str();
        let mutating = req.method != Method::GET && req.path.starts_with("/api/");
        let mut attempt: u32 = 0;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let (auth, oauth_token) = match &req.auth {
                AuthMode::Api => {
                    let (header, token) = self.auth_header().await?;
                    (Some(header), token)
                }
                AuthMode::Anonymous => (None, None),
                AuthMode::Preset(value) => (Some(value.clone()), None),
            };
            let mut builder = self.inner.http.request(req.method.clone(), &req.url);
            if !req.query.is_empty() {
                builder = builder.query(&req.query);
            }
            if let Some(auth) = auth {
                builder = builder.header(AUTHORIZATION, auth);
            }
            builder = builder.header(ACCEPT, "application/json");
            builder = match &req.body {
                Body::Empty => builder,
                Body::Json(bytes) => builder
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.clone()),
                Body::Form(bytes) => builder
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(bytes.clone()),
                Body::Raw { bytes, content_type } => {
                    builder.header(CONTENT_TYPE, *content_type).body(bytes.clone())
                }
            };
            let started_at = SystemTime::now();
            let sent = Instant::now();
            let outcome = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(err) => Err(err),
                    }
                }
                Err(err) => Err(err),
            };
            let duration = sent.elapsed();
            self.inner.calls.push(CallRecord {
                method: method.to_owned(),
                path: req.path.clone(),
                query: redact_query(&req.query),
                status: outcome.as_ref().ok().map(|(s, _, _)| s.as_u16()),
                error: outcome.as_ref().err().map(transport_summary),
                attempt,
                duration,
                mutating,
                started_at,
            });
            let elapsed = clock.now().saturating_duration_since(start);
            let ctx = ErrorContext {
                method,
                path: &req.path,
                attempts: attempt,
                elapsed,
                config: &self.inner.config_description,
            };
            let (failure, wait, give_up) = match outcome {
                Ok((status, headers, body)) => {
                    tracing::debug!(
                        method,
                        path = %req.path,
                        status = status.as_u16(),
                        attempt,
                        duration_ms = duration.as_millis() as u64,
                        bytes = body.len(),
                        "databricks api call"
                    );
                    if status.is_success() {
                        return Ok(Response { body });
                    }
                    let code = status.as_u16();
                    // An OAuth token the server no longer accepts (expired early, revoked): drop
                    // it and try once more with a fresh one. Nothing was done, so any call may
                    // repeat.
                    if token_rejected(code, &body)
                        && !reauthenticated
                        && let Some(used) = &oauth_token
                    {
                        reauthenticated = true;
                        tracing::debug!(method, path = %req.path, attempt, "oauth token rejected, fetching a new one");
                        self.invalidate_token(used).await;
                        continue;
                    }
                    let failure = Failure::Status(code);
                    let reason = status.canonical_reason().unwrap_or("Error");
                    let final_error = classify(code, &body, reason, &ctx);
                    if !should_retry(failure, req.idempotent) {
                        return Err(final_error);
                    }
                    let retry_after = match code {
                        429 | 503 => policy.retry_after(header_str(&headers, RETRY_AFTER.as_str())),
                        _ => None,
                    };
                    let wait = retry_after.unwrap_or_else(|| policy.backoff(attempt));
                    (format!("http {code}"), wait, final_error)
                }
                Err(err) => {
                    let failure = if err.is_connect() {
                        Failure::Connect
                    } else {
                        Failure::AfterSend
                    };
                    tracing::debug!(
                        method,
                        path = %req.path,
                        attempt,
                        duration_ms = duration.as_millis() as u64,
                        error = %transport_summary(&err),
                        "databricks api call failed"
                    );
                    let final_error = if err.is_timeout() {
                        Error::Timeout {
                            what: format!("`{method} {}` (attempt {attempt})", req.path),
                            after: duration,
                        }
                    } else {
                        Error::Transport {
                            method: method.to_owned(),
                            url: format!("{}{}", self.inner.base, req.path),
                            attempts: attempt,
                            maybe_applied: failure == Failure::AfterSend,
                            source: err,
                        }
                    };
                    if !should_retry(failure, req.idempotent) {
                        if failure == Failure::AfterSend {
                            tracing::debug!(method, path = %req.path, "not retried: the call is not idempotent and may have been applied");
                        }
                        return Err(final_error);
                    }
                    let reason = if failure == Failure::Connect {
                        "connect error"
                    } else {
                        "connection lost after send"
                    };
                    (reason.to_owned(), policy.backoff(attempt), final_error)
                }
            };
            let now = clock.now();
            if now + wait > deadline {
                tracing::debug!(method, path = %req.path, attempt, reason = %failure, "retry deadline reached, giving up");
                return Err(give_up);
            }
            tracing::debug!(
                method,
                path = %req.path,
                attempt,
                reason = %failure,
                wait_ms = wait.as_millis() as u64,
                "retrying databricks api call"
            );
            clock.sleep(wait).await;
        }
    }

    /// The `Authorization` header for API calls.
    /// With OAuth, also the access token it carries.
    async fn auth_header(&self) -> Result<(HeaderValue, Option<Secret>)> {
        match &self.inner.config.credentials {
            Credentials::Pat { token } => Ok((bearer(token)?, None)),
            Credentials::OAuthM2m {
                client_id,
                client_secret,
            } => {
                let token = self.oauth_token(client_id, client_secret).await?;
                Ok((bearer(&token)?, Some(token)))
            }
        }
    }

    /// A valid OAuth access token: the cached one, or a fresh one when it is close to expiry.
    /// The cache lock is held across the fetch, so concurrent callers share one token request.
    async fn oauth_token(&self, client_id: &str, client_secret: &Secret) -> Result<Secret> {
        let mut cached = self.inner.oauth.token.lock().await;
        if let Some(token) = cached.as_ref()
            && self.inner.clock.now() < token.refresh_at
        {
            return Ok(token.access_token.clone());
        }
        let endpoint = self.token_endpoint().await?;
        let fresh = Box::pin(self.fetch_token(&endpoint, client_id, client_secret)).await?;
        let token = fresh.access_token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token if it is still `used` (another caller may have refreshed it).
    async fn invalidate_token(&self, used: &Secret) {
        let mut cached = self.inner.oauth.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.access_token == *used) {
            *cached = None;
        }
    }

    async fn fetch_token(
        &self,
        endpoint: &str,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<CachedToken> {
        check_transport_security(endpoint)?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", client_secret.expose()));
        let mut header = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
            Error::Config(ConfigError::InvalidValue {
                setting: "client_id",
                value: client_id.to_owned(),
                origin: crate::config::Origin::Default,
                reason: "contains characters not allowed in an HTTP header".to_owned(),
            })
        })?;
        header.set_sensitive(true);
        let form = serde_urlencoded::to_string([("grant_type", "client_credentials"), ("scope", "all-apis")])
            .map_err(|err| Error::Decode {
                method: "POST".to_owned(),
                path: endpoint.to_owned(),
                message: format!("cannot encode the token request: {err}"),
                excerpt: None,
            })?;
        let req = Request {
            method: Method::POST,
            url: endpoint.to_owned(),
            path: url_path(endpoint),
            query: Vec::new(),
            body: Body::Form(Bytes::from(form)),
            // A token request has no side effect: safe to repeat.
            idempotent: true,
            auth: AuthMode::Preset(header),
            sensitive_response: true,
        };
        let requested_at = self.inner.clock.now();
        let resp = self.send(&req).await?;
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: String,
            #[serde(default)]
            expires_in: Option<serde_json::Value>,
        }
        let parsed: TokenResponse = decode(&req, &resp.body)?;
        let lifetime = match parsed.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(3600));
        let margin = TOKEN_REFRESH_MARGIN.min(lifetime / 2);
        tracing::debug!(lifetime_s = lifetime.as_secs(), "fetched oauth access token");
        Ok(CachedToken {
            access_token: Secret::new(parsed.access_token),
            refresh_at: requested_at + lifetime - margin,
        })
    }

    /// The OIDC token endpoint: discovered once through `/.well-known/databricks-config` →
    /// `{oidc_endpoint}/.well-known/oauth-authorization-server` (or `DATABRICKS_DISCOVERY_URL`),
    /// falling back to `{host}/oidc/v1/token`.
    async fn token_endpoint(&self) -> Result<String> {
        let mut cached = self.inner.oauth.token_endpoint.lock().await;
        if let Some(endpoint) = cached.as_ref() {
            return Ok(endpoint.clone());
        }
        let endpoint = match Box::pin(self.discover_token_endpoint()).await {
            Ok(endpoint) => endpoint,
            Err(err) => {
                tracing::debug!(error = %err, "oidc discovery failed, using the default token endpoint");
                format!("{}/oidc/v1/token", self.inner.base)
            }
        };
        *cached = Some(endpoint.clone());
        Ok(endpoint)
    }

    async fn discover_token_endpoint(&self) -> Result<String> {
        let discovery_url = match &self.inner.config.discovery_url {
            Some(url) => url.clone(),
            None => {
                let meta: serde_json::Value = self
                    .anonymous_get(&format!("{}/.well-known/databricks-config", self.inner.base))
                    .await?;
                let oidc = meta
                    .get("oidc_endpoint")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| Error::Decode {
                        method: "GET".to_owned(),
                        path: "/.well-known/databricks-config".to_owned(),
                        message: "no `oidc_endpoint`".to_owned(),
                        excerpt: None,
                    })?;
                format!(
                    "{}/.well-known/oauth-authorization-server",
                    oidc.trim_end_matches('/')
                )
            }
        };
        let doc: serde_json::Value = self.anonymous_get(&discovery_url).await?;
        doc.get("token_endpoint")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| Error::Decode {
                method: "GET".to_owned(),
                path: url_path(&discovery_url),
                message: "no `token_endpoint`".to_owned(),
                excerpt: None,
            })
    }

    async fn anonymous_get<T: DeserializeOwned>(&self, url: &str) -> Result<T> {
        let req = Request {
            method: Method::GET,
            url: url.to_owned(),
            path: url_path(url),
            query: Vec::new(),
            body: Body::Empty,
            idempotent: true,
            auth: AuthMode::Anonymous,
            sensitive_response: false,
        };
        let resp = self.send(&req).await?;
        decode(&req, &resp.body)
    }
}

fn bearer(token: &Secret) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        Error::Config(ConfigError::InvalidValue {
            setting: "token",
            value: "***".to_owned(),
            origin: crate::config::Origin::Default,
            reason: "contains characters not allowed in an HTTP header (check for a stray newline)"
                .to_owned(),
        })
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// 401, or the 403 "Invalid access token." quirk (numeric `error_code` 403): the bearer token
/// itself was refused, as opposed to a permission the principal lacks.
fn token_rejected(status: u16, body: &[u8]) -> bool {
    match status {
        401 => true,
        403 => {
            let parsed = crate::error::parse_error_body(body, "Forbidden");
            parsed.error_code.as_deref() == Some("403") || parsed.message.contains("Invalid access token")
        }
        _ => false,
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A short, secret-free description of a transport error.
fn transport_summary(err: &reqwest::Error) -> String {
    let kind = if err.is_connect() {
        "connect"
    } else if err.is_timeout() {
        "timeout"
    } else if err.is_body() || err.is_decode() {
        "body"
    } else {
        "request"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The path of an absolute URL, for records and errors.
fn url_path(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.path().to_owned(),
        Err(_) => url.to_owned(),
    }
}

pub(crate) fn encode(method: &Method, path: &str, body: &impl Serialize) -> Result<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|err| Error::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            message: format!("cannot encode the request body: {err}"),
            excerpt: None,
        })
}

/// Decodes a JSON response; an empty body decodes as `{}`.
pub(crate) fn decode<T: DeserializeOwned>(req: &Request, body: &[u8]) -> Result<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|err| Error::Decode {
        method: req.method.to_string(),
        path: req.path.clone(),
        message: err.to_string(),
        excerpt: if req.sensitive_response {
            None
        } else {
            Some(excerpt(body, 200))
        },
    })
}

/// Refuses plain `http://` unless the host is loopback.
pub fn check_transport_security(url: &str) -> Result<()> {
    let parsed = url::Url::parse(url).map_err(|err| {
        Error::Config(ConfigError::InvalidHost {
            host: url.to_owned(),
            origin: crate::config::Origin::Default,
            reason: err.to_string(),
        })
    })?;
    if parsed.scheme() == "https" {
        return Ok(());
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if parsed.scheme() == "http" && loopback {
        return Ok(());
    }
    Err(Error::InsecureHost {
        host: parsed.host_str().unwrap_or(url).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::check_transport_security;

    #[test]
    fn http_only_on_loopback() {
        for ok in [
            "https://x.cloud.databricks.com",
            "http://127.0.0.1:8080",
            "http://127.3.2.1",
            "http://[::1]:9000",
            "http://localhost:1",
            "http://LOCALHOST",
        ] {
            assert!(check_transport_security(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://x.cloud.databricks.com",
            "http://10.0.0.1",
            "http://192.168.1.1:80",
            "http://[::2]",
        ] {
            let err = check_transport_security(bad).expect_err(bad);
            assert!(matches!(err, crate::Error::InsecureHost { .. }), "{bad}: {err}");
        }
    }
}
