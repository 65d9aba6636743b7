//! Throughput of `jobs/get` and `runs/get` (ignored by default; run it optimised):
//! `cargo test --release -p local-workspace --test jobs -- --ignored --nocapture throughput`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TOKEN, nb, start};

const CONNECTIONS: usize = 32;
const MEASURE: Duration = Duration::from_secs(3);

/// Sends keep-alive HTTP/1.1 GETs for `path` on one connection until `stop`; counts responses.
async fn hammer(addr: String, path: String, stop: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TOKEN}\r\n\r\n");
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(request.as_bytes()).await.expect("write");
        buffer.clear();
        loop {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed");
            buffer.extend_from_slice(&chunk[..n]);
            let Some(head_end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            if buffer.len() >= head_end + 4 + length {
                break;
            }
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
}

async fn requests_per_second(addr: &str, path: &str) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            tokio::spawn(hammer(
                addr.to_owned(),
                path.to_owned(),
                stop.clone(),
                count.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, start) = (count.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(MEASURE).await;
    let done = count.load(Ordering::Relaxed) - before;
    let rate = done as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }
    rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run optimised with --ignored --nocapture"]
async fn throughput_of_jobs_get_and_runs_get() {
    let ws = start().await;
    // A customer-360-sized job: five chained tasks on two job clusters.
    let cluster = |key: &str| {
        json!({"job_cluster_key": key, "new_cluster": {"spark_version": "13.3.x-scala2.12",
        "node_type_id": "i3.xlarge", "autoscale": {"min_workers": 2, "max_workers": 8},
        "spark_conf": {"spark.databricks.delta.preview.enabled": "true"}, "custom_tags": {"Pipeline": "customer-360"}}})
    };
    let keys = [
        "ingest-bronze",
        "process-silver",
        "aggregate-gold",
        "validate-quality",
        "send-notification",
    ];
    let tasks: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let mut task = nb(key, if i == 0 { &[] } else { &keys[i - 1..i] });
            task["job_cluster_key"] = json!(if i == 0 { "bronze" } else { "silver" });
            task["libraries"] = json!([{"pypi": {"package": "great-expectations==0.18.0"}}]);
            task["timeout_seconds"] = json!(3600);
            task
        })
        .collect();
    let job_id = ws
        .create(json!({"name": "customer-360-pipeline-prod", "job_clusters": [cluster("bronze"), cluster("silver")],
            "tasks": tasks, "tags": {"environment": "production"}, "timeout_seconds": 14400,
            "email_notifications": {"on_failure": ["oncall@company.com"]}}))
        .await;
    let run_id = ws.run_now(json!({"job_id": job_id})).await;
    ws.wait_terminal(run_id).await;
    let addr = ws.workspace.addr().to_string();
    for (name, path) in [
        ("jobs/get", format!("/api/2.2/jobs/get?job_id={job_id}")),
        ("runs/get", format!("/api/2.2/jobs/runs/get?run_id={run_id}")),
    ] {
        let rate = requests_per_second(&addr, &path).await;
        println!("{name}: {rate:.0} requests/s over {CONNECTIONS} connections");
    }
}
