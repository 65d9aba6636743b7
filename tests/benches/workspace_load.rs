//! Throughput of the local workspace and latency of one client call over loopback.
//!
//! Run with `cargo xtask bench workspace` (builds the release binary first). Starts the real
//! `brickship workspace serve` binary, creates the customer-360 job and one finished run, turns the
//! workspace's rate limits off, then for `jobs/get` and `runs/get` keeps `CONNECTIONS` keep-alive
//! HTTP/1.1 connections busy for `SECONDS` and reports requests per second. Finally it times
//! sequential `Client::get_job` calls of brickship's own client and reports p50/p99.
//! Prints a Markdown table for BENCHMARKS.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};
use tests::ServedWorkspace;

const CONNECTIONS: usize = 32;
const SECONDS: u64 = 5;
const CLIENT_CALLS: usize = 2000;

#[tokio::main]
async fn main() {
    let workspace = ServedWorkspace::start(1000.0);
    let url = workspace.url().to_owned();
    workspace
        .control(
            reqwest::Method::POST,
            "/_local/rate-limits",
            Some(json!({"enabled": false})),
        )
        .await;
    let http = tests::http();
    let auth = "Bearer dapi-bench";
    let job: Value = http
        .post(format!("{url}/api/2.2/jobs/create"))
        .header("authorization", auth)
        .json(&tests::customer_360_job("bench-customer-360"))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("create json");
    let job_id = job["job_id"].as_i64().expect("job_id");
    let run: Value = http
        .post(format!("{url}/api/2.2/jobs/run-now"))
        .header("authorization", auth)
        .json(&json!({"job_id": job_id}))
        .send()
        .await
        .expect("run-now")
        .json()
        .await
        .expect("run-now json");
    let run_id = run["run_id"].as_i64().expect("run_id");

    println!("| endpoint | connections | requests/s | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, path) in [
        (
            "GET /api/2.2/jobs/get",
            format!("/api/2.2/jobs/get?job_id={job_id}"),
        ),
        (
            "GET /api/2.2/jobs/runs/get",
            format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
        ),
    ] {
        let (rps, p50, p99) = load(workspace.url(), &path, auth).await;
        println!("| {name} | {CONNECTIONS} | {rps:.0} | {p50:?} | {p99:?} |");
    }

    let client = databricks::Client::new(
        databricks::Config::builder()
            .host(&url)
            .token("dapi-bench")
            .build()
            .expect("client config"),
    )
    .expect("client");
    let mut latencies = Vec::with_capacity(CLIENT_CALLS);
    for _ in 0..100 {
        client.get_job(job_id).await.expect("warm-up get_job");
    }
    for _ in 0..CLIENT_CALLS {
        let start = Instant::now();
        client.get_job(job_id).await.expect("get_job");
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!();
    println!(
        "brickship client `get_job` over loopback, {CLIENT_CALLS} sequential calls: p50 {:?}, p99 {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100]
    );
}

/// Keeps `CONNECTIONS` connections busy on `path` for `SECONDS`; returns requests/s, p50, p99.
async fn load(base: &str, path: &str, auth: &str) -> (f64, Duration, Duration) {
    let addr = base.trim_start_matches("http://").to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (addr, path, auth, stop, count) = (
            addr.clone(),
            path.to_owned(),
            auth.to_owned(),
            stop.clone(),
            count.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let io = hyper_util::rt::TokioIo::new(stream);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::get(&path)
                    .header("host", &addr)
                    .header("authorization", &auth)
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                let start = Instant::now();
                let response = sender.send_request(request).await.expect("send");
                assert!(response.status().is_success(), "{path}: {}", response.status());
                response.into_body().collect().await.expect("body");
                latencies.push(start.elapsed());
                count.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    // Warm up for one second, then measure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = count.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    let done = count.load(Ordering::Relaxed) - before;
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("load task"));
    }
    latencies.sort();
    let rps = done as f64 / elapsed.as_secs_f64();
    (
        rps,
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
    )
}
