//! Starting a workspace at run speed 1000 and calling it; polling helpers with deadlines.

use std::time::{Duration, Instant};

use local_workspace::{Config, LocalWorkspace};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const TOKEN: &str = "dapi-jobs-test";
/// Runs at this speed take milliseconds (a simulated minute is 60 ms).
pub const SPEED: f64 = 1000.0;
/// How long a poll waits before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Ws {
    pub workspace: LocalWorkspace,
    pub url: String,
    pub client: reqwest::Client,
}

/// A workspace at [`SPEED`] with the API rate limits off (bulk tests create many jobs quickly;
/// the limits are not under test here).
pub async fn start() -> Ws {
    start_with(Config {
        run_speed: SPEED,
        rate_limits: false,
        ..Config::default()
    })
    .await
}

pub async fn start_with(config: Config) -> Ws {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let workspace = LocalWorkspace::start(config)
        .await
        .expect("local workspace starts");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    Ws {
        url: workspace.url(),
        workspace,
        client,
    }
}

impl Ws {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let text = response.text().await.expect("response body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, value)
    }

    pub async fn raw_post(&self, path: &str, body: &'static str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request is answered");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// GET that must succeed.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POST that must succeed.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::OK, "POST {path} {body}: {answer}");
        answer
    }

    /// A request that must fail with `status` and `error_code`; returns the message.
    pub async fn fails(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> String {
        let (got, answer) = self.call(method.clone(), path, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{method} {path} {body:?}: {answer}");
        assert_eq!(answer["error_code"], code, "{method} {path} {body:?}: {answer}");
        answer["message"].as_str().expect("message").to_owned()
    }

    pub async fn create(&self, settings: Value) -> i64 {
        self.post("/api/2.2/jobs/create", settings).await["job_id"]
            .as_i64()
            .expect("job_id is a number")
    }

    pub async fn job(&self, job_id: i64) -> Value {
        self.get(&format!("/api/2.2/jobs/get?job_id={job_id}")).await
    }

    pub async fn run_now(&self, body: Value) -> i64 {
        self.post("/api/2.2/jobs/run-now", body).await["run_id"]
            .as_i64()
            .expect("run_id is a number")
    }

    pub async fn run(&self, run_id: i64) -> Value {
        self.get(&format!("/api/2.2/jobs/runs/get?run_id={run_id}")).await
    }

    pub async fn script(&self, rule: Value) -> i64 {
        self.post("/_local/scripts", rule).await["script_id"]
            .as_i64()
            .expect("script_id")
    }

    /// Polls `runs/get` until `done` holds for the run, failing after [`DEADLINE`].
    pub async fn wait_for(&self, run_id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let run = self.run(run_id).await;
            if done(&run) {
                return run;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "run {run_id} never became {what}; last: {run:#}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Polls until the run reaches a terminal life-cycle state (as the SDK waiters do).
    pub async fn wait_terminal(&self, run_id: i64) -> Value {
        self.wait_for(run_id, "terminal", |run| {
            matches!(life(run), "TERMINATED" | "SKIPPED" | "INTERNAL_ERROR")
        })
        .await
    }
}

pub fn life(run: &Value) -> &str {
    run["state"]["life_cycle_state"].as_str().unwrap_or("")
}

pub fn result(run: &Value) -> &str {
    run["state"]["result_state"].as_str().unwrap_or("")
}

/// A notebook task, optionally depending on others.
pub fn nb(key: &str, deps: &[&str]) -> Value {
    let mut task =
        json!({"task_key": key, "notebook_task": {"notebook_path": format!("/Workspace/p/{key}")}});
    if !deps.is_empty() {
        task["depends_on"] = deps.iter().map(|d| json!({"task_key": d})).collect();
    }
    task
}

/// A job of notebook tasks.
pub fn job(name: &str, tasks: Vec<Value>) -> Value {
    json!({"name": name, "tasks": tasks})
}

/// The task entries of a run with this key, by attempt.
pub fn entries<'a>(run: &'a Value, key: &str) -> Vec<&'a Value> {
    let mut found: Vec<&Value> = run["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["task_key"] == key)
        .collect();
    found.sort_by_key(|t| t["attempt_number"].as_i64());
    found
}
