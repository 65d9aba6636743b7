//! Throughput of the local workspace and latency of one client call over loopback (issue 2).
//!
//! Run with `cargo xtask bench workspace` (it builds the release binary first), or after
//! `cargo build --release -p brickship` with `cargo bench -p tests --bench workspace_load`.
//!
//! What it does:
//!
//! 1. Starts the real `brickship workspace serve` binary (release, state in a temp folder, run
//!    speed 10 000) in its own process, creates the customer-360 job and runs it to a terminal
//!    state, and turns the workspace's rate limits off (`POST /_local/rate-limits
//!    {"enabled": false}`): with them on, `runs/get` is capped at 100 requests/s like a real
//!    workspace, and the point here is the server's own capacity.
//! 2. Throughput: for `jobs/get` and `runs/get`, keeps `CONNECTIONS` keep-alive HTTP/1.1
//!    connections (hyper, no client-side retries or JSON parsing) busy for one warm-up second
//!    and then `SECONDS`, `ROUNDS` times, and reports requests per second (median, min, max) and
//!    the median over rounds of each round's p50/p99 latency. Every response must be a 200, and
//!    the workspace's own request log must count as many requests as the generator. Each
//!    endpoint is loaded twice: plain, and accepting gzip as real clients do.
//! 3. Client latency: `ROUNDS` rounds of `CLIENT_CALLS` sequential `databricks::Client::get_job`
//!    (and `get_run`) calls, brickship's own client as a deploy uses it (JSON decoded into the
//!    typed models, call log, retry wrapper), after 200 warm-up calls; reports p50/p99 per round.
//!    A raw hyper `GET` on one connection is measured the same way as a floor, once plain and
//!    once accepting gzip as brickship's client does.
//!
//! The load generator and the server share the machine's cores; the generator's tokio runtime
//! has `LOADGEN_THREADS` worker threads. Settings can be changed through environment variables
//! (see the constants below). The output is Markdown for BENCHMARKS.md.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};
use tests::ServedWorkspace;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Keep-alive connections of the throughput load (`BRICKSHIP_BENCH_CONNECTIONS`).
const CONNECTIONS: (&str, u64) = ("BRICKSHIP_BENCH_CONNECTIONS", 32);
/// Measured seconds per throughput round (`BRICKSHIP_BENCH_SECONDS`).
const SECONDS: (&str, u64) = ("BRICKSHIP_BENCH_SECONDS", 5);
/// Rounds of every measurement (`BRICKSHIP_BENCH_ROUNDS`).
const ROUNDS: (&str, u64) = ("BRICKSHIP_BENCH_ROUNDS", 5);
/// Sequential client calls per latency round (`BRICKSHIP_BENCH_CLIENT_CALLS`).
const CLIENT_CALLS: (&str, u64) = ("BRICKSHIP_BENCH_CLIENT_CALLS", 2000);
/// Worker threads of the load generator's runtime (`BRICKSHIP_BENCH_LOADGEN_THREADS`). One, because
/// the generator shares 2 cores with the server: with two threads it took CPU from the server, which
/// then served fewer `jobs/get` (38,000-54,000/s against 64,000/s in trials on the 2-core machine).
const LOADGEN_THREADS: (&str, u64) = ("BRICKSHIP_BENCH_LOADGEN_THREADS", 1);

const TOKEN: &str = "dapi-bench";
const RUN_SPEED: f64 = 10_000.0;

fn setting((name, default): (&str, u64)) -> BenchResult<u64> {
    match std::env::var(name) {
        Ok(text) => Ok(text
            .parse()
            .map_err(|_| format!("`{name}` must be a whole number, not `{text}`"))?),
        Err(_) => Ok(default),
    }
}

struct Settings {
    connections: usize,
    seconds: u64,
    rounds: usize,
    client_calls: usize,
    loadgen_threads: usize,
}

fn main() -> BenchResult<()> {
    let settings = Settings {
        connections: setting(CONNECTIONS)? as usize,
        seconds: setting(SECONDS)?,
        rounds: setting(ROUNDS)?.max(1) as usize,
        client_calls: setting(CLIENT_CALLS)?.max(1) as usize,
        loadgen_threads: setting(LOADGEN_THREADS)?.max(1) as usize,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.loadgen_threads)
        .enable_all()
        .build()?;
    runtime.block_on(bench(settings))
}

async fn bench(settings: Settings) -> BenchResult<()> {
    println!("{}", machine_line());
    let load_before = load_average();
    // `--quiet`: the fixture reads only the banner line and closes the pipe, so a second line on
    // stdout ("press Ctrl-C to stop") could kill the server with a broken pipe.
    let workspace = ServedWorkspace::start_with(RUN_SPEED, &["--quiet"]);
    let url = workspace.url().to_owned();
    workspace
        .control(
            reqwest::Method::POST,
            "/_local/rate-limits",
            Some(json!({"enabled": false})),
        )
        .await;

    let http = tests::http();
    let auth = format!("Bearer {TOKEN}");
    let job: Value = http
        .post(format!("{url}/api/2.2/jobs/create"))
        .header("authorization", &auth)
        .json(&tests::customer_360_job("bench-customer-360"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let job_id = job["job_id"]
        .as_i64()
        .ok_or("jobs/create answered without a `job_id`")?;
    let run: Value = http
        .post(format!("{url}/api/2.2/jobs/run-now"))
        .header("authorization", &auth)
        .json(&json!({"job_id": job_id}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let run_id = run["run_id"]
        .as_i64()
        .ok_or("jobs/run-now answered without a `run_id`")?;

    let config = databricks::Config::builder().host(&url).token(TOKEN).resolve()?;
    let client = databricks::Client::builder(config).build().await?;
    let wait = databricks::WaitForRun {
        timeout: Duration::from_secs(60),
        poll: databricks::PollPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
    };
    let finished = client.wait_for_run(run_id, &wait, |_| {}).await?;
    let run_tasks = finished.tasks.as_ref().map_or(0, Vec::len);

    println!(
        "\nserver: `brickship workspace serve` (release), rate limits off; job {job_id} (customer-360, 5 tasks, \
         2 job clusters), run {run_id} terminal ({run_tasks} task runs)"
    );
    println!(
        "load generator: {} keep-alive HTTP/1.1 connections (hyper), {} tokio worker thread(s), {} rounds \
         of 1 s warm-up + {} s\n",
        settings.connections, settings.loadgen_threads, settings.rounds, settings.seconds
    );
    println!(
        "| endpoint | response | requests/s (median) | min–max over rounds | p50 latency | p99 latency | \
         served per round (workspace log) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let jobs_get = format!("/api/2.2/jobs/get?job_id={job_id}");
    let runs_get = format!("/api/2.2/jobs/runs/get?run_id={run_id}");
    // Plain, then accepting gzip as real clients do (brickship's, the Python SDK's requests).
    for (name, path, gzip) in [
        ("GET /api/2.2/jobs/get", &jobs_get, false),
        ("GET /api/2.2/jobs/runs/get", &runs_get, false),
        ("GET /api/2.2/jobs/get, `accept-encoding: gzip`", &jobs_get, true),
        (
            "GET /api/2.2/jobs/runs/get, `accept-encoding: gzip`",
            &runs_get,
            true,
        ),
    ] {
        let body = RawConnection::open(&url).await?.get(path, &auth, gzip).await?;
        let mut rates = Vec::new();
        let mut p50s = Vec::new();
        let mut p99s = Vec::new();
        let mut served = Vec::new();
        for _ in 0..settings.rounds {
            let round = load(&workspace, path, &auth, gzip, &settings).await?;
            served.push(round.served.to_string());
            rates.push(round.rate);
            p50s.push(round.p50);
            p99s.push(round.p99);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} bytes | {:.0} | {:.0}–{:.0} | {} | {} | {} |",
            body.len(),
            median(&rates),
            rates[0],
            rates[rates.len() - 1],
            ms(median_duration(&mut p50s)),
            ms(median_duration(&mut p99s)),
            served.join(", "),
        );
    }

    println!(
        "\none call over loopback, sequential, {} rounds of {} calls (after 200 warm-up calls):\n",
        settings.rounds, settings.client_calls
    );
    println!("| call | p50 (median over rounds) | p50 min–max | p99 (median over rounds) | p99 min–max |");
    println!("|---|---|---|---|---|");
    let mut rows: Vec<(&str, Vec<Duration>, Vec<Duration>)> = Vec::new();

    let (p50s, p99s) = latency_rounds(
        &settings,
        || async { client.get_job(job_id).await.map(drop).map_err(Into::into) },
        || client.reset_calls(),
    )
    .await?;
    rows.push(("`databricks::Client::get_job` (brickship client)", p50s, p99s));

    let (p50s, p99s) = latency_rounds(
        &settings,
        || async { client.get_run(run_id).await.map(drop).map_err(Into::into) },
        || client.reset_calls(),
    )
    .await?;
    rows.push(("`databricks::Client::get_run` (brickship client)", p50s, p99s));

    let path = format!("/api/2.2/jobs/get?job_id={job_id}");
    let connection = tokio::sync::Mutex::new(RawConnection::open(&url).await?);
    let (p50s, p99s) = latency_rounds(
        &settings,
        || async { connection.lock().await.get(&path, &auth, false).await.map(drop) },
        || {},
    )
    .await?;
    rows.push(("raw hyper `GET jobs/get`, one connection (floor)", p50s, p99s));

    // brickship's client accepts gzip (for cloud workspaces); this row shows what compressing
    // the response costs on loopback, without the client's decoding and JSON parsing.
    let (p50s, p99s) = latency_rounds(
        &settings,
        || async { connection.lock().await.get(&path, &auth, true).await.map(drop) },
        || {},
    )
    .await?;
    rows.push((
        "raw hyper `GET jobs/get` with `accept-encoding: gzip`, one connection",
        p50s,
        p99s,
    ));

    for (name, mut p50s, mut p99s) in rows {
        let (p50_min, p50_max) = min_max(&p50s);
        let (p99_min, p99_max) = min_max(&p99s);
        println!(
            "| {name} | {} | {}–{} | {} | {}–{} |",
            ms(median_duration(&mut p50s)),
            ms(p50_min),
            ms(p50_max),
            ms(median_duration(&mut p99s)),
            ms(p99_min),
            ms(p99_max),
        );
    }
    let load_after = load_average();
    println!("\nload average before: {load_before}; after: {load_after}");
    if [&load_before, &load_after].iter().any(|load| busy(load)) {
        println!(
            "WARNING: other work shared the CPUs (1-minute load average above 1): these numbers are low; \
             run again on a quiet machine"
        );
    }
    Ok(())
}

/// One throughput round.
struct Round {
    /// Requests the workspace's own log numbered during the measured window.
    served: u64,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// Keeps `connections` connections busy on `path` for a warm-up second and then `seconds`.
async fn load(
    workspace: &ServedWorkspace,
    path: &str,
    auth: &str,
    gzip: bool,
    settings: &Settings,
) -> BenchResult<Round> {
    let base = workspace.url();
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..settings.connections {
        let mut connection = RawConnection::open(base).await?;
        let (path, auth, stop, measuring, count) = (
            path.to_owned(),
            auth.to_owned(),
            stop.clone(),
            measuring.clone(),
            count.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                connection.get(&path, &auth, gzip).await?;
                if measuring.load(Ordering::Relaxed) {
                    latencies.push(start.elapsed());
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            BenchResult::Ok(latencies)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seq_before = last_seq(workspace).await?;
    measuring.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(settings.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let done = count.load(Ordering::Relaxed);
    // The workspace numbers every request it receives: its count (less the one control request)
    // must agree with ours, or the load generator is miscounting.
    let served = last_seq(workspace).await? - seq_before - 1;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    if latencies.is_empty() {
        return Err(format!("no `{path}` request finished in {elapsed:?}").into());
    }
    latencies.sort();
    // The two counts cover slightly different windows (a control call takes a few milliseconds
    // under load), so they agree to within 2 %.
    let slack = done / 50 + settings.connections as u64 * 2;
    if served.abs_diff(done) > slack {
        return Err(
            format!("the workspace counted {served} `{path}` requests, the load generator {done}").into(),
        );
    }
    Ok(Round {
        served,
        rate: done as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

/// `rounds` rounds of `calls` sequential calls after 200 warm-up calls: each round's p50 and p99.
async fn latency_rounds<F, Fut>(
    settings: &Settings,
    mut call: F,
    mut between_rounds: impl FnMut(),
) -> BenchResult<(Vec<Duration>, Vec<Duration>)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = BenchResult<()>>,
{
    for _ in 0..200 {
        call().await?;
    }
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    for _ in 0..settings.rounds {
        // The client keeps a log of every call (for deploy reports); clear it so it does not grow.
        between_rounds();
        let mut latencies = Vec::with_capacity(settings.client_calls);
        for _ in 0..settings.client_calls {
            let start = Instant::now();
            call().await?;
            latencies.push(start.elapsed());
        }
        latencies.sort();
        p50s.push(percentile(&latencies, 0.50));
        p99s.push(percentile(&latencies, 0.99));
    }
    Ok((p50s, p99s))
}

/// One keep-alive HTTP/1.1 connection (hyper's low-level client: no pool, no retries).
struct RawConnection {
    host: String,
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl RawConnection {
    async fn open(base: &str) -> BenchResult<Self> {
        let host = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let stream = tokio::net::TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { host, sender })
    }

    /// `GET path`; fails unless the answer is a 200. Reads the whole body (compressed as sent
    /// when `accept_gzip`).
    async fn get(&mut self, path: &str, auth: &str, accept_gzip: bool) -> BenchResult<Bytes> {
        let mut request = http::Request::get(path)
            .header("host", &self.host)
            .header("authorization", auth);
        if accept_gzip {
            request = request.header("accept-encoding", "gzip");
        }
        let request = request.body(Empty::<Bytes>::new())?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != http::StatusCode::OK {
            return Err(format!(
                "`GET {path}` answered {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        Ok(body)
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn median_duration(values: &mut [Duration]) -> Duration {
    values.sort();
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    }
}

fn min_max(values: &[Duration]) -> (Duration, Duration) {
    let min = values.iter().min().copied().unwrap_or_default();
    let max = values.iter().max().copied().unwrap_or_default();
    (min, max)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// `nproc`, CPU model, rustc version and the date, for the record.
fn machine_line() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let rustc = command_output("rustc", &["--version"]);
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    format!("machine: {cpus} CPUs ({model}), {rustc}, {date}")
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| format!("(`{program}` unavailable)"))
}

/// The 1/5/15-minute load averages: other work on the machine skews every number here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The sequence number of the last request the workspace received (its request log).
async fn last_seq(workspace: &ServedWorkspace) -> BenchResult<u64> {
    let log = workspace
        .control(
            reqwest::Method::GET,
            &format!("/_local/requests?since={}", u64::MAX),
            None,
        )
        .await;
    Ok(log["last_seq"]
        .as_u64()
        .ok_or("`/_local/requests` answered without `last_seq`")?)
}

/// Whether a `/proc/loadavg`-style line shows a 1-minute load above 1 (another busy process).
fn busy(load: &str) -> bool {
    load.split_whitespace()
        .next()
        .and_then(|first| first.parse::<f64>().ok())
        .is_some_and(|first| first > 1.0)
}
