//! Stub Databricks servers (axum on 127.0.0.1:0) that record every request and answer from a closure.

#![allow(
    dead_code,
    reason = "shared with the redaction test binary, which uses a subset"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use databricks::{Client, Config, ManualClock, RetryPolicy};
use serde_json::Value;

/// A request the stub received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the stub answers.
pub enum Reply {
    /// Status and JSON body.
    Json(u16, Value),
    /// Status, extra headers and a raw body.
    Raw(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Accept the request, then break the connection without a complete response.
    Drop,
}

pub fn ok(value: Value) -> Reply {
    Reply::Json(200, value)
}

pub fn err(status: u16, code: &str, message: &str) -> Reply {
    Reply::Json(
        status,
        serde_json::json!({ "error_code": code, "message": message }),
    )
}

type Responder = dyn Fn(&Hit, usize) -> Reply + Send + Sync;

struct StubState {
    hits: Mutex<Vec<Hit>>,
    per_path: Mutex<HashMap<String, usize>>,
    responder: Box<Responder>,
}

/// A running stub. Stops when dropped.
pub struct Stub {
    pub url: String,
    state: Arc<StubState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stub")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    /// Starts a stub; `respond(hit, n)` gets the request and how many earlier requests hit the same path.
    pub async fn start(respond: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stub");
        Self::serve(listener, respond, false)
    }

    /// Like [`Stub::start`] with gzip response compression.
    pub async fn start_gzip(respond: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stub");
        Self::serve(listener, respond, true)
    }

    /// Serves on an already bound listener.
    pub fn serve(
        listener: tokio::net::TcpListener,
        respond: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static,
        gzip: bool,
    ) -> Stub {
        let addr = listener.local_addr().expect("stub addr");
        let state = Arc::new(StubState {
            hits: Mutex::new(Vec::new()),
            per_path: Mutex::new(HashMap::new()),
            responder: Box::new(respond),
        });
        let mut app = axum::Router::new().fallback(handle).with_state(state.clone());
        if gzip {
            app = app.layer(tower_http::compression::CompressionLayer::new());
        }
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().expect("hits").clone()
    }

    /// Requests to `path`.
    pub fn hits_to(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }
}

async fn handle(State(state): State<Arc<StubState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let query = parts
        .uri
        .query()
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default();
    let hit = Hit {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        headers: parts.headers.clone(),
        body,
    };
    let n = {
        let mut per_path = state.per_path.lock().expect("per path");
        let n = per_path.entry(hit.path.clone()).or_insert(0);
        *n += 1;
        *n - 1
    };
    state.hits.lock().expect("hits").push(hit.clone());
    match (state.responder)(&hit, n) {
        Reply::Json(status, value) => {
            let status = StatusCode::from_u16(status).expect("status");
            (status, [("content-type", "application/json")], value.to_string()).into_response()
        }
        Reply::Raw(status, headers, body) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).expect("status");
            for (name, value) in headers {
                response
                    .headers_mut()
                    .insert(name, value.parse().expect("header value"));
            }
            response
        }
        Reply::Drop => {
            // The body fails before its first byte: hyper aborts the connection, so the client
            // sees the request accepted and the connection closed without a complete response.
            let failing = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped",
                ))
            });
            Response::new(Body::from_stream(failing))
        }
    }
}

/// A test client for `url` with a PAT, a manual clock and a small retry deadline.
pub async fn client(url: &str) -> (Client, Arc<ManualClock>) {
    client_with(
        Config::pat(url, "dapi-test-token").expect("config"),
        RetryPolicy {
            deadline: Duration::from_secs(30),
            ..RetryPolicy::default()
        },
    )
    .await
}

/// A test client for a config with a manual clock and `policy`.
pub async fn client_with(config: Config, policy: RetryPolicy) -> (Client, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let client = Client::builder(config)
        .retry_policy(policy)
        .http_timeout(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .await
        .expect("client");
    (client, clock)
}
