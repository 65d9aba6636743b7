//! Starting a workspace and talking to it.

use std::time::Duration;

use local_workspace::{Config, LocalWorkspace};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub const TOKEN: &str = "dapi-test-token";

pub struct Ws {
    pub workspace: LocalWorkspace,
    pub url: String,
    pub client: reqwest::Client,
}

/// A fresh client that never reuses connections, so a dropped connection cannot leak into the
/// next request.
pub fn client() -> reqwest::Client {
    builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("reqwest client")
}

/// A client builder for loopback (rustls needs a process-wide crypto provider even for http).
pub fn builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
}

pub async fn start(config: Config) -> Ws {
    let workspace = LocalWorkspace::start(config)
        .await
        .expect("local workspace starts");
    let url = workspace.url();
    Ws {
        workspace,
        url,
        client: client(),
    }
}

/// A workspace with default settings.
pub async fn default_ws() -> Ws {
    start(Config::default()).await
}

impl Ws {
    /// A request with the test bearer token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
    }

    /// A request without any `Authorization` header.
    pub fn anon(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.req(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        send(self.req(Method::POST, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        send(self.req(Method::DELETE, path)).await
    }

    /// Imports `content` (UTF-8) at `path` through `workspace/import` as base64 JSON.
    pub async fn import(
        &self,
        path: &str,
        format: &str,
        content: &str,
        overwrite: bool,
    ) -> (StatusCode, Value) {
        use base64::Engine as _;
        let body = serde_json::json!({
            "path": path,
            "format": format,
            "content": base64::engine::general_purpose::STANDARD.encode(content),
            "overwrite": overwrite,
        });
        self.post("/api/2.0/workspace/import", body).await
    }

    pub async fn status_of(&self, path: &str) -> (StatusCode, Value) {
        send(
            self.req(Method::GET, "/api/2.0/workspace/get-status")
                .query(&[("path", path)]),
        )
        .await
    }

    /// The request log since `seq`.
    pub async fn requests_since(&self, seq: u64) -> (Vec<Value>, u64) {
        let (status, body) = self.get(&format!("/_local/requests?since={seq}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        (requests, body["last_seq"].as_u64().unwrap_or_default())
    }

    pub async fn last_seq(&self) -> u64 {
        self.requests_since(u64::MAX).await.1
    }

    pub async fn add_fault(&self, rule: Value) -> String {
        let (status, body) = self.post("/_local/faults", rule).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["fault_id"].as_str().expect("fault_id").to_owned()
    }
}

/// Sends a request and reads the JSON body (`Null` when the body is not JSON).
pub async fn send(builder: RequestBuilder) -> (StatusCode, Value) {
    let response = builder.send().await.expect("request is answered");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Writes a raw HTTP/1.1 request on a new connection and reads until the server closes it.
pub async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    match read {
        Ok(Ok(_)) => out,
        // A reset after the server closed is as good as EOF here.
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionReset => out,
        Ok(Err(err)) => panic!("read failed: {err}"),
        Err(_) => panic!("the server neither answered nor closed the connection"),
    }
}

/// A raw `POST` with a JSON body and the test token, asking the server to close afterwards.
pub fn raw_post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
