//! Retries: 429/503 with Retry-After or backoff, connect errors, lost connections and idempotency, deadlines.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use databricks::{Clock, Config, Error, JobSettings, ManualClock, RetryPolicy, RunNow, clock::Sleep};
use serde_json::json;

use crate::support::{Reply, Stub, client, client_with, err, ok};

fn settings() -> JobSettings {
    JobSettings {
        name: Some("retry-me".into()),
        ..JobSettings::default()
    }
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let stub = Stub::start(|hit, n| match (hit.path.as_str(), n) {
        ("/api/2.2/jobs/create", 0) => Reply::Raw(
            429,
            vec![
                ("retry-after", "7".into()),
                ("content-type", "application/json".into()),
            ],
            br#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}"#.to_vec(),
        ),
        ("/api/2.2/jobs/create", _) => ok(json!({ "job_id": 42 })),
        ("/api/2.2/jobs/get", 0) => Reply::Raw(429, vec![("retry-after", "3600".into())], Vec::new()),
        ("/api/2.2/jobs/get", _) => ok(json!({ "job_id": 42, "settings": { "name": "retry-me" } })),
        _ => err(404, "NOT_FOUND", "no"),
    })
    .await;
    let policy = RetryPolicy {
        deadline: Duration::from_secs(600),
        max_retry_after: Duration::from_secs(60),
        ..RetryPolicy::default()
    };
    let (client, clock) = client_with(Config::pat(&stub.url, "dapi-x").expect("config"), policy).await;

    // create is not idempotent, but a 429 means nothing happened: it is retried.
    assert_eq!(client.create_job(&settings(), None).await.expect("created"), 42);
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(7)],
        "waited exactly Retry-After"
    );

    client.get_job(42).await.expect("job");
    assert_eq!(clock.sleeps()[1], Duration::from_secs(60), "Retry-After capped");

    let calls = client.calls();
    assert_eq!(calls.len(), 4);
    assert_eq!((calls[0].status, calls[0].attempt), (Some(429), 1));
    assert_eq!((calls[1].status, calls[1].attempt), (Some(200), 2));
    assert!(calls[0].mutating && calls[1].mutating && !calls[2].mutating);
    assert_eq!(stub.hits_to("/api/2.2/jobs/create").len(), 2);
}

#[tokio::test]
async fn unavailable_is_retried_with_backoff() {
    let stub = Stub::start(|_, n| {
        if n < 2 {
            Reply::Raw(503, vec![], b"<html><pre>busy</pre></html>".to_vec())
        } else {
            ok(json!({ "run_id": 9 }))
        }
    })
    .await;
    let (client, clock) = client(&stub.url).await;
    let started = client.run_now(&RunNow::new(1)).await.expect("run");
    assert_eq!(started.run_id, 9);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps[0] >= Duration::from_millis(125) && sleeps[0] <= Duration::from_millis(250),
        "{sleeps:?}"
    );
    assert!(
        sleeps[1] >= Duration::from_millis(250) && sleeps[1] <= Duration::from_millis(500),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn deadline_exhausted_is_rate_limited() {
    let stub = Stub::start(|_, _| {
        Reply::Raw(
            429,
            vec![("retry-after", "1".into())],
            br#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"throttled"}"#.to_vec(),
        )
    })
    .await;
    let policy = RetryPolicy {
        deadline: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    let (client, clock) = client_with(Config::pat(&stub.url, "dapi-x").expect("config"), policy).await;
    let error = client
        .create_job(&settings(), None)
        .await
        .expect_err("throttled forever");
    match &error {
        Error::RateLimited {
            error: api, attempts, ..
        } => {
            assert_eq!(
                *attempts, 6,
                "attempts at t=0..5 s, then the next wait would pass the deadline"
            );
            assert_eq!(api.error_code.as_deref(), Some("REQUEST_LIMIT_EXCEEDED"));
            assert_eq!(api.path, "/api/2.2/jobs/create");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(error.is_rate_limited());
    assert_eq!(clock.elapsed(), Duration::from_secs(5));
    assert_eq!(client.calls().len(), 6);
}

#[tokio::test]
async fn server_errors_retried_for_idempotent_calls_only() {
    let stub = Stub::start(|hit, n| match (hit.path.as_str(), n) {
        ("/api/2.2/jobs/get", 0) => err(500, "INTERNAL_ERROR", "oops"),
        ("/api/2.2/jobs/get", _) => ok(json!({ "job_id": 1, "settings": {} })),
        ("/api/2.2/jobs/reset", 0) => err(502, "BAD_GATEWAY", "oops"),
        ("/api/2.2/jobs/reset", _) => ok(json!({})),
        _ => err(502, "BAD_GATEWAY", "oops"),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;
    client.get_job(1).await.expect("GET retried after 500");
    client
        .reset_job(1, &settings())
        .await
        .expect("reset (idempotent) retried after 502");
    assert_eq!(stub.hits_to("/api/2.2/jobs/reset").len(), 2);
    let error = client
        .create_job(&settings(), None)
        .await
        .expect_err("create (not idempotent) not retried after 502");
    assert!(error.is_unavailable(), "{error}");
    assert_eq!(stub.hits_to("/api/2.2/jobs/create").len(), 1);
}

/// A clock whose first sleep starts the stub on the port that refused the first attempt.
#[derive(Debug)]
struct StartOnFirstSleep {
    inner: ManualClock,
    port: Mutex<Option<u16>>,
    started: Mutex<Option<Stub>>,
}

impl Clock for StartOnFirstSleep {
    fn now(&self) -> std::time::Instant {
        self.inner.now()
    }
    fn sleep(&self, duration: Duration) -> Sleep {
        if let Some(port) = self.port.lock().expect("port").take() {
            let listener =
                std::net::TcpListener::bind(("127.0.0.1", port)).expect("re-bind the reserved port");
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let stub = Stub::serve(listener, |_, _| ok(json!({ "job_id": 77 })), false);
            *self.started.lock().expect("started") = Some(stub);
        }
        self.inner.sleep(duration)
    }
}

#[tokio::test]
async fn connection_refused_then_success_even_for_create() {
    // Reserve a free port and release it: connecting to it is refused until the first retry wait.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let clock = Arc::new(StartOnFirstSleep {
        inner: ManualClock::new(),
        port: Mutex::new(Some(port)),
        started: Mutex::new(None),
    });
    let url = format!("http://127.0.0.1:{port}");
    let client = databricks::Client::builder(Config::pat(&url, "dapi-x").expect("config"))
        .retry_policy(RetryPolicy {
            deadline: Duration::from_secs(30),
            ..RetryPolicy::default()
        })
        .clock(clock.clone())
        .build()
        .await
        .expect("client");

    let job_id = client
        .create_job(&settings(), None)
        .await
        .expect("created after a refused connect");
    assert_eq!(job_id, 77);
    let calls = client.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[0].status.is_none()
            && calls[0]
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("connect")),
        "{:?}",
        calls[0]
    );
    assert_eq!((calls[1].status, calls[1].attempt), (Some(200), 2));
    assert!(clock.started.lock().expect("started").is_some());
}

#[tokio::test]
async fn dropped_connection_after_send_not_retried_for_create_but_for_run_now() {
    let stub = Stub::start(|hit, n| match (hit.path.as_str(), n) {
        ("/api/2.2/jobs/create", _) => Reply::Drop,
        ("/api/2.2/jobs/run-now", 0) => Reply::Drop,
        ("/api/2.2/jobs/run-now", _) => ok(json!({ "run_id": 5, "number_in_job": 5 })),
        _ => err(404, "NOT_FOUND", "no"),
    })
    .await;
    let (client, _clock) = client(&stub.url).await;

    let error = client
        .create_job(&settings(), None)
        .await
        .expect_err("create must not be retried");
    assert!(
        matches!(
            error,
            Error::Transport {
                maybe_applied: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("may have been applied"), "{error}");
    assert_eq!(
        stub.hits_to("/api/2.2/jobs/create").len(),
        1,
        "exactly one create reached the server"
    );

    let started = client.run_now(&RunNow::new(3)).await.expect("run-now retried");
    assert_eq!(started.run_id, 5);
    let hits = stub.hits_to("/api/2.2/jobs/run-now");
    assert_eq!(hits.len(), 2);
    let tokens: Vec<String> = hits
        .iter()
        .map(|h| h.json()["idempotency_token"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(!tokens[0].is_empty(), "client adds a token");
    assert_eq!(tokens[0], tokens[1], "the retry carries the same token");
    assert_eq!(started.idempotency_token, tokens[0]);

    // A caller-provided token is kept.
    let started = client
        .run_now(&RunNow::new(3).idempotency_token("deploy-123-smoke"))
        .await
        .expect("run-now");
    assert_eq!(started.idempotency_token, "deploy-123-smoke");
    let last = stub.hits_to("/api/2.2/jobs/run-now").pop().expect("hit");
    assert_eq!(last.json()["idempotency_token"], "deploy-123-smoke");
}

#[tokio::test]
async fn connect_errors_give_up_at_the_deadline() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let policy = RetryPolicy {
        deadline: Duration::from_secs(20),
        ..RetryPolicy::default()
    };
    let (client, clock) = client_with(
        Config::pat(&format!("http://127.0.0.1:{port}"), "t").expect("config"),
        policy,
    )
    .await;
    let error = client.get_job(1).await.expect_err("nobody listens");
    match &error {
        Error::Transport {
            attempts,
            maybe_applied,
            ..
        } => {
            assert!(*attempts > 3, "retried: {attempts}");
            assert!(!maybe_applied, "a refused connection sent nothing");
            assert_eq!(client.calls().len() as u32, *attempts);
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(clock.elapsed() <= Duration::from_secs(20));
    assert!(!error.to_string().contains("may have been applied"), "{error}");
}
