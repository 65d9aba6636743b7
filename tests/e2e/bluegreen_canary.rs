//! Blue-green and canary rollouts through the real binary (issue 5): canary steps, failure and
//! pause/promote/abort, green smoke failure, swap and swap-back, approvals before promotion, a
//! kill at every journal boundary followed by resume, and injected faults during a canary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tests::{Finished, Project, ServedWorkspace};

const PIPELINE: &str = "customer-360-pipeline";
const STAGING_JOB: &str = "customer-360-pipeline-staging";
const PROD_JOB: &str = "customer-360-pipeline-prod";
const JOB_FILE: &str = "pipelines/customer-360-pipeline/job.yaml";
const CRASH: &str = "BRICKSHIP_CRASH_AFTER_JOURNAL_WRITES";
const FRACTION: &str = "brickship_canary_fraction";

/// Settings as a user wrote them: brickship's own tags (which name deployments) removed.
fn comparable(settings: &Value) -> Value {
    let mut settings = settings.clone();
    if let Some(tags) = settings.get_mut("tags").and_then(Value::as_object_mut) {
        tags.retain(|key, _| !key.starts_with("brickship-"));
    }
    settings
}

/// The change every test deploys: the job's timeout.
fn change(project: &Project) {
    project.edit(JOB_FILE, "timeout_seconds: 14400", "timeout_seconds: 7200");
}

/// Adds top-level YAML to `brickship.yaml` (e.g. a `strategies:` section).
fn append_config(project: &Project, yaml: &str) {
    let text = project.read("brickship.yaml");
    std::fs::write(project.path().join("brickship.yaml"), format!("{text}\n{yaml}"))
        .expect("write brickship.yaml");
}

/// Every job in the workspace as `(id, name, schedule pause status)`, by name.
async fn all_jobs(workspace: &ServedWorkspace) -> Vec<(i64, String, String)> {
    let list = workspace
        .api(Method::GET, "/api/2.2/jobs/list?limit=100", None)
        .await;
    let mut jobs: Vec<(i64, String, String)> = list["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|job| {
            (
                job["job_id"].as_i64().expect("job_id"),
                job["settings"]["name"].as_str().unwrap_or_default().to_owned(),
                job["settings"]["schedule"]["pause_status"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            )
        })
        .collect();
    jobs.sort_by(|a, b| a.1.cmp(&b.1));
    jobs
}

async fn job_names(workspace: &ServedWorkspace) -> Vec<String> {
    all_jobs(workspace)
        .await
        .into_iter()
        .map(|(_, name, _)| name)
        .collect()
}

/// The one job named `name`: its id and settings.
async fn only_job(workspace: &ServedWorkspace, name: &str) -> (i64, Value) {
    let jobs = workspace.jobs_named(name).await;
    assert_eq!(jobs.len(), 1, "exactly one job must be named `{name}`: {jobs:#?}");
    let id = jobs[0]["job_id"].as_i64().expect("job_id");
    (id, workspace.job_settings(id).await)
}

/// Runs the live job `count` times (one after the other: `max_concurrent_runs` is 1) and waits
/// until they all finished, so a canary has a baseline.
async fn run_history(workspace: &ServedWorkspace, job_id: i64, count: usize) {
    for _ in 0..count {
        workspace
            .api(
                Method::POST,
                "/api/2.2/jobs/run-now",
                Some(json!({"job_id": job_id})),
            )
            .await;
    }
    let path = format!("/api/2.2/jobs/runs/list?job_id={job_id}&completed_only=true&limit=25");
    ServedWorkspace::eventually("the baseline runs to finish", Duration::from_secs(60), || async {
        let runs = workspace.api(Method::GET, &path, None).await;
        runs["runs"].as_array().map_or(0, Vec::len) >= count
    })
    .await;
}

/// A run as `runs/get` returns it.
async fn run(workspace: &ServedWorkspace, run_id: i64) -> Value {
    workspace
        .api(
            Method::GET,
            &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
            None,
        )
        .await
}

/// The effective value of a run's job parameter.
fn parameter(run: &Value, name: &str) -> Option<String> {
    run["job_parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| {
            p.get("value")
                .or_else(|| p.get("default"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

/// A deployment's record in the workspace journal.
async fn record(workspace: &ServedWorkspace, environment: &str, id: &str) -> Value {
    let path = format!(
        "/api/2.0/workspace/export?path=/Workspace/Shared/.brickship/{PIPELINE}/{environment}/deployments/{id}.json&direct_download=true"
    );
    let response = tests::http()
        .get(format!("{}{path}", workspace.url()))
        .bearer_auth("x")
        .send()
        .await
        .expect("export");
    assert!(response.status().is_success(), "no journal record for {id}");
    serde_json::from_str(&response.text().await.expect("record body")).expect("record JSON")
}

fn history(project: &Project, workspace: &ServedWorkspace, environment: &str) -> Vec<Value> {
    let history = project
        .brickship(workspace)
        .args(["history", PIPELINE, "-e", environment, "--output", "json"])
        .run();
    history.expect_code(0);
    serde_json::from_str(&history.stdout).expect("history JSON")
}

/// The `result` event of a `--output json` command.
fn result_event(done: &Finished) -> Value {
    done.json_lines()
        .into_iter()
        .find(|e| e["event"] == "result")
        .unwrap_or_else(|| {
            panic!(
                "no result event\n--- stdout\n{}\n--- stderr\n{}",
                done.stdout, done.stderr
            )
        })
}

fn status_text(project: &Project, workspace: &ServedWorkspace, environment: &str) -> String {
    let status = project
        .brickship(workspace)
        .args(["status", PIPELINE, "-e", environment])
        .run();
    status.expect_code(0);
    status.stdout
}

async fn script(workspace: &ServedWorkspace, rule: Value) {
    workspace
        .control(Method::POST, "/_local/scripts", Some(rule))
        .await;
}

/// Mutating Jobs and Permissions API calls served after `seq` (journal and lock writes excluded).
async fn job_mutations_since(workspace: &ServedWorkspace, seq: u64) -> Vec<String> {
    workspace
        .mutating_since(seq)
        .await
        .iter()
        .filter_map(|r| {
            let path = r["path"].as_str()?;
            let jobs = path.starts_with("/api/2.") && path.contains("/jobs/") && !path.contains("/workspace");
            (jobs || path.starts_with("/api/2.0/permissions/"))
                .then(|| format!("{} {path}", r["method"].as_str().unwrap_or("?")))
        })
        .collect()
}

/// A loopback HTTP receiver for webhook notifications: records each request body as JSON.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("receiver address"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&bodies);
        // The thread ends with the test process (it blocks in accept).
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok() {
                    sink.lock()
                        .expect("receiver lock")
                        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                }
                let _ =
                    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Self { url, bodies }
    }

    fn events(&self) -> Vec<Value> {
        self.bodies.lock().expect("receiver lock").clone()
    }
}

/// A project whose staging environment already runs the live job (deployed directly), with
/// `baseline` finished runs of it, and the change to deploy edited in.
async fn staging_with_history(workspace: &ServedWorkspace, baseline: usize) -> (Project, i64, Value) {
    let project = Project::example();
    project
        .brickship(workspace)
        .args(["deploy", PIPELINE, "-e", "staging"])
        .run()
        .expect_code(0);
    let (live_id, before) = only_job(workspace, STAGING_JOB).await;
    if baseline > 0 {
        run_history(workspace, live_id, baseline).await;
    }
    change(&project);
    (project, live_id, before)
}

/// A project whose prod environment (blue-green) already runs the live job, with the change
/// edited in.
async fn prod_deployed(workspace: &ServedWorkspace) -> (Project, i64, Value) {
    let project = Project::example();
    project
        .brickship(workspace)
        .args(["deploy", PIPELINE, "-e", "prod", "--approve"])
        .run()
        .expect_code(0);
    let (blue_id, before) = only_job(workspace, PROD_JOB).await;
    change(&project);
    (project, blue_id, before)
}

#[tokio::test]
async fn a_canary_that_passes_every_step_promotes_the_live_job_in_place() {
    let workspace = ServedWorkspace::start(1000.0);
    let (project, live_id, _) = staging_with_history(&workspace, 3).await;
    let deployed = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--strategy",
            "canary",
            "--output",
            "json",
        ])
        .run();
    deployed.expect_code(0);
    let result = result_event(&deployed);
    assert_eq!(result["status"], "succeeded", "{result:#}");
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();

    // Every step ran the canary job with its share of the work, the post-promotion check ran
    // the live job in full.
    let rec = record(&workspace, "staging", &id).await;
    let canary_id = rec["created_jobs"]["canary"]
        .as_i64()
        .expect("the canary job is recorded");
    assert_ne!(canary_id, live_id);
    let runs = rec["started_runs"].as_object().expect("started runs");
    for (step, fraction) in [(1, "0.1"), (2, "0.25"), (3, "0.5")] {
        let run_id = runs[&format!("s{step}-run-1")]
            .as_i64()
            .unwrap_or_else(|| panic!("step {step} started a run: {runs:?}"));
        let canary_run = run(&workspace, run_id).await;
        assert_eq!(canary_run["job_id"], canary_id, "step {step} runs the canary job");
        assert_eq!(
            parameter(&canary_run, FRACTION).as_deref(),
            Some(fraction),
            "step {step}: {canary_run:#}"
        );
        assert_eq!(canary_run["state"]["result_state"], "SUCCESS");
    }
    assert_eq!(
        runs.keys().filter(|k| k.starts_with('s')).count(),
        3,
        "one run per step below 100%: {runs:?}"
    );
    let post = run(&workspace, runs["post-run"].as_i64().expect("post-promotion run")).await;
    assert_eq!(
        post["job_id"], live_id,
        "the post-promotion check runs the live job"
    );
    assert_eq!(
        parameter(&post, FRACTION),
        None,
        "the live job's run is not a canary share"
    );
    let state: Value =
        serde_json::from_str(rec["strategy_state"].as_str().expect("state")).expect("state JSON");
    let verdicts: Vec<&str> = state["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(verdicts, ["pass", "pass", "pass"]);
    assert_eq!(
        state["baseline"].as_array().map(Vec::len),
        Some(3),
        "the baseline is the live job's 3 runs"
    );
    assert_eq!(
        run_count(&workspace).await,
        3 + 3 + 1,
        "3 baseline runs, one per step, one post-promotion check"
    );

    // The canary is gone and the live job (same id) has the new settings.
    assert_eq!(job_names(&workspace).await, [STAGING_JOB]);
    let (id_after, settings) = only_job(&workspace, STAGING_JOB).await;
    assert_eq!(id_after, live_id, "the live job keeps its id");
    assert_eq!(settings["timeout_seconds"], 7200);
    assert_eq!(settings["schedule"]["pause_status"], "UNPAUSED");
    assert_eq!(settings["tags"]["brickship-deployment"], id.as_str());
    let entries = history(&project, &workspace, "staging");
    assert_eq!(
        (
            entries[0]["deployment_id"].as_str(),
            entries[0]["status"].as_str()
        ),
        (Some(id.as_str()), Some("succeeded"))
    );
    assert_eq!(entries[0]["strategy"], "canary");
    let plan = project
        .brickship(&workspace)
        .args(["plan", PIPELINE, "-e", "staging"])
        .run();
    assert!(plan.stdout.contains("up to date"), "{}", plan.stdout);
}

#[tokio::test]
async fn a_canary_failing_at_step_2_is_deleted_and_the_live_job_untouched() {
    let workspace = ServedWorkspace::start(1000.0);
    let receiver = Receiver::start();
    let (project, live_id, before) = staging_with_history(&workspace, 3).await;
    append_config(
        &project,
        &format!(
            "notifiers:\n  hook:\n    plugin: webhook\n    events: [rolled-back, failed]\n    config: {{url: \"{}\"}}\nnotifications:\n  allowed_hosts: [\"127.0.0.1\"]\n",
            receiver.url
        ),
    );
    // The canary's run at 25% (step 2) fails in its gold task; at 10% it succeeds.
    script(
        &workspace,
        json!({"job_name": "*-canary", "task_key": "aggregate-gold", "parameters": {FRACTION: "0.25"}, "outcomes": ["FAILED"]}),
    )
    .await;
    let seq = workspace.last_seq().await;
    let deployed = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--strategy",
            "canary",
            "--output",
            "json",
        ])
        .run();
    deployed.expect_code(1);
    let result = result_event(&deployed);
    assert_eq!(result["status"], "rolled-back", "{result:#}");
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();

    let rec = record(&workspace, "staging", &id).await;
    let runs = rec["started_runs"].as_object().expect("started runs");
    assert_eq!(
        run(&workspace, runs["s1-run-1"].as_i64().expect("step 1 run")).await["state"]["result_state"],
        "SUCCESS"
    );
    assert_eq!(
        run(&workspace, runs["s2-run-1"].as_i64().expect("step 2 run")).await["state"]["result_state"],
        "FAILED"
    );
    assert!(
        !runs.contains_key("s3-run-1"),
        "no step after the failed one: {runs:?}"
    );
    assert!(!runs.contains_key("post-run"), "no promotion: {runs:?}");
    let state: Value =
        serde_json::from_str(rec["strategy_state"].as_str().expect("state")).expect("state JSON");
    let verdicts: Vec<&str> = state["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(verdicts, ["pass", "fail"]);

    // No canary left, nothing else created, the live job as it was (same id, same settings).
    assert_eq!(job_names(&workspace).await, [STAGING_JOB], "no orphan");
    let (id_after, after) = only_job(&workspace, STAGING_JOB).await;
    assert_eq!(id_after, live_id);
    assert_eq!(
        comparable(&after),
        comparable(&before),
        "the live job keeps its settings"
    );
    // The deployment only ever touched the canary: the live job was neither reset (not even
    // back to its own settings by the rollback) nor given new permissions.
    let calls = job_mutations_since(&workspace, seq).await;
    let touching_live: Vec<&String> = calls
        .iter()
        .filter(|c| {
            c.ends_with("/jobs/reset")
                || c.ends_with("/jobs/update")
                || c.ends_with(&format!("/permissions/jobs/{live_id}"))
        })
        .collect();
    assert!(touching_live.is_empty(), "the live job was touched: {calls:#?}");
    assert_eq!(
        calls.iter().filter(|c| c.ends_with("/jobs/create")).count(),
        1,
        "one canary: {calls:#?}"
    );
    assert_eq!(
        calls.iter().filter(|c| c.ends_with("/jobs/run-now")).count(),
        2,
        "one run per step: {calls:#?}"
    );
    let entries = history(&project, &workspace, "staging");
    assert_eq!(entries[0]["status"], "rolled-back");
    assert!(status_text(&project, &workspace, "staging").contains("lock:         free"));

    // The rollback was notified to the loopback receiver.
    let events = receiver.events();
    let rolled_back: Vec<&Value> = events.iter().filter(|e| e["event"] == "rolled-back").collect();
    assert_eq!(rolled_back.len(), 1, "one rolled-back notification: {events:#?}");
    assert_eq!(rolled_back[0]["deployment_id"], id.as_str());
    assert_eq!(rolled_back[0]["strategy"], "canary");
}

/// `strategies: {canary: ...}` for the pause tests: three steps and a metric from the quality
/// task's output.
const CANARY_WITH_METRIC: &str =
    "strategies:\n  canary:\n    steps: [10, 50, 100]\n    metrics:\n      - {name: null_rate, max: 0.05}\n";

#[tokio::test]
async fn an_inconclusive_canary_pauses_holding_the_lock_until_promoted_from_another_process() {
    let workspace = ServedWorkspace::start(1000.0);
    // Every run of the live job and the canary reports its null rate, except the canary's first
    // step (10%): a missing metric is inconclusive.
    script(&workspace, json!({"job_name": "customer-360-pipeline-staging*", "task_key": "validate-quality", "output": "{\"null_rate\": 0.01}"}))
        .await;
    script(
        &workspace,
        json!({"job_name": "*-canary", "task_key": "validate-quality", "parameters": {FRACTION: "0.1"}, "output": "{\"checked\": true}"}),
    )
    .await;
    let (project, live_id, before) = staging_with_history(&workspace, 3).await;
    append_config(&project, CANARY_WITH_METRIC);
    let deployed = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--strategy",
            "canary",
            "--output",
            "json",
        ])
        .run();
    deployed.expect_code(0);
    let result = result_event(&deployed);
    assert_eq!(result["status"], "paused", "{result:#}");
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();

    // Paused at step 1 with the canary still there and the live job untouched.
    assert_eq!(
        job_names(&workspace).await,
        [STAGING_JOB, "customer-360-pipeline-staging-canary"]
    );
    let (_, live) = only_job(&workspace, STAGING_JOB).await;
    assert_eq!(comparable(&live), comparable(&before));
    let status = status_text(&project, &workspace, "staging");
    assert!(status.contains("paused") && status.contains(&id), "{status}");
    let entries = history(&project, &workspace, "staging");
    assert_eq!(
        (
            entries[0]["deployment_id"].as_str(),
            entries[0]["status"].as_str()
        ),
        (Some(id.as_str()), Some("paused"))
    );
    let other = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging"])
        .run();
    other.expect_code(1);
    assert!(
        other.stderr.contains("paused deployment"),
        "the paused deployment holds the lock: {}",
        other.stderr
    );

    // A human promotes from another process: the next steps pass and the canary promotes.
    let promoted = project
        .brickship(&workspace)
        .args(["promote", &id, "--output", "json"])
        .run();
    promoted.expect_code(0);
    assert_eq!(
        result_event(&promoted)["status"],
        "succeeded",
        "{}",
        promoted.stdout
    );
    assert_eq!(job_names(&workspace).await, [STAGING_JOB], "the canary is gone");
    let (id_after, settings) = only_job(&workspace, STAGING_JOB).await;
    assert_eq!(id_after, live_id);
    assert_eq!(settings["timeout_seconds"], 7200);
    let rec = record(&workspace, "staging", &id).await;
    let state: Value =
        serde_json::from_str(rec["strategy_state"].as_str().expect("state")).expect("state JSON");
    let steps: Vec<(u64, &str)> = state["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["weight"].as_u64().unwrap_or(0),
                r["status"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(steps[0], (10, "inconclusive"), "{steps:?}");
    assert_eq!(steps.last(), Some(&(50, "pass")), "{steps:?}");
    assert_eq!(
        state["results"][0]["promoted_by"], "brickship@localhost",
        "who promoted is recorded"
    );
    assert_eq!(history(&project, &workspace, "staging")[0]["status"], "succeeded");
    assert!(status_text(&project, &workspace, "staging").contains("lock:         free"));
}

#[tokio::test]
async fn an_inconclusive_canary_aborted_from_another_process_restores_everything() {
    let workspace = ServedWorkspace::start(1000.0);
    // No run history: the baseline is too small to judge, so the first step is inconclusive.
    let (project, live_id, before) = staging_with_history(&workspace, 0).await;
    let deployed = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--strategy",
            "canary",
            "--output",
            "json",
        ])
        .run();
    deployed.expect_code(0);
    let result = result_event(&deployed);
    assert_eq!(result["status"], "paused", "{result:#}");
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();
    assert!(
        result_event(&deployed).to_string().contains("baseline"),
        "the pause says why: {result:#}"
    );
    assert_eq!(
        job_names(&workspace).await,
        [STAGING_JOB, "customer-360-pipeline-staging-canary"]
    );
    let status = status_text(&project, &workspace, "staging");
    assert!(status.contains("paused") && status.contains(&id), "{status}");
    let other = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging", "--strategy", "canary"])
        .run();
    other.expect_code(1);
    assert!(other.stderr.contains("paused deployment"), "{}", other.stderr);

    let aborted = project.brickship(&workspace).args(["abort", &id]).run();
    aborted.expect_code(1);
    assert_eq!(job_names(&workspace).await, [STAGING_JOB], "the canary is gone");
    let (id_after, after) = only_job(&workspace, STAGING_JOB).await;
    assert_eq!(id_after, live_id);
    assert_eq!(
        comparable(&after),
        comparable(&before),
        "the live job keeps its settings"
    );
    assert_eq!(
        history(&project, &workspace, "staging")[0]["status"],
        "rolled-back"
    );
    assert!(status_text(&project, &workspace, "staging").contains("lock:         free"));
    // The lock is free: the next deploy goes through.
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging"])
        .run()
        .expect_code(0);
}

#[tokio::test]
async fn a_failed_green_smoke_run_deletes_green_and_leaves_blue_live() {
    let workspace = ServedWorkspace::start(1000.0);
    let (project, blue_id, before) = prod_deployed(&workspace).await;
    script(
        &workspace,
        json!({"job_name": "*-green", "task_key": "aggregate-gold", "outcomes": ["FAILED"]}),
    )
    .await;
    let seq = workspace.last_seq().await;
    let deployed = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "prod", "--approve", "--output", "json"])
        .run();
    deployed.expect_code(1);
    let result = result_event(&deployed);
    assert_eq!(result["status"], "rolled-back", "{result:#}");
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();

    let rec = record(&workspace, "prod", &id).await;
    let green_id = rec["created_jobs"]["green"].as_i64().expect("green was created");
    let smoke = run(
        &workspace,
        rec["started_runs"]["smoke-1-run"].as_i64().expect("a smoke run"),
    )
    .await;
    assert_eq!(smoke["job_id"], green_id);
    assert_eq!(smoke["state"]["result_state"], "FAILED");
    assert_eq!(
        job_names(&workspace).await,
        [PROD_JOB],
        "green is deleted, no blue was made"
    );
    let (id_after, after) = only_job(&workspace, PROD_JOB).await;
    assert_eq!(id_after, blue_id, "blue still holds the name");
    assert_eq!(comparable(&after), comparable(&before), "blue keeps its settings");
    assert_eq!(
        after["schedule"]["pause_status"], "UNPAUSED",
        "blue is still scheduled"
    );
    // Only green was touched: blue was neither paused, renamed nor reset (not even back to its
    // own settings by the rollback), nor given new permissions.
    let calls = job_mutations_since(&workspace, seq).await;
    let touching_blue: Vec<&String> = calls
        .iter()
        .filter(|c| {
            c.ends_with("/jobs/reset")
                || c.ends_with("/jobs/update")
                || c.ends_with(&format!("/permissions/jobs/{blue_id}"))
        })
        .collect();
    assert!(touching_blue.is_empty(), "blue was touched: {calls:#?}");
    assert_eq!(history(&project, &workspace, "prod")[0]["status"], "rolled-back");
}

#[tokio::test]
async fn a_blue_green_swap_is_rolled_back_within_the_window_in_three_job_calls() {
    let workspace = ServedWorkspace::start(1000.0);
    let (project, blue_id, before) = prod_deployed(&workspace).await;
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "prod", "--approve"])
        .run()
        .expect_code(0);

    // Green holds the name under a new id; blue is kept paused; one schedule runs.
    let (green_id, green) = only_job(&workspace, PROD_JOB).await;
    assert_ne!(green_id, blue_id, "green is a new job");
    assert_eq!(green["timeout_seconds"], 7200);
    assert_eq!(green["schedule"]["pause_status"], "UNPAUSED");
    let (kept_id, kept) = only_job(&workspace, "customer-360-pipeline-prod-blue").await;
    assert_eq!(kept_id, blue_id);
    assert_eq!(kept["schedule"]["pause_status"], "PAUSED");
    let jobs = all_jobs(&workspace).await;
    assert_eq!(
        jobs.iter().filter(|(_, _, pause)| pause == "UNPAUSED").count(),
        1,
        "exactly one unpaused schedule: {jobs:?}"
    );
    assert_eq!(jobs.len(), 2, "{jobs:?}");

    let seq = workspace.last_seq().await;
    let started = Instant::now();
    let rolled_back = project
        .brickship(&workspace)
        .args(["rollback", PIPELINE, "-e", "prod", "--approve"])
        .run();
    let took = started.elapsed();
    rolled_back.expect_code(0);
    let calls = job_mutations_since(&workspace, seq).await;
    assert!(
        calls.len() <= 3,
        "a swap back makes at most 3 mutating job calls: {calls:#?}"
    );
    assert!(
        took < Duration::from_secs(20),
        "a swap back takes seconds, took {took:?}"
    );

    assert_eq!(job_names(&workspace).await, [PROD_JOB], "no green left");
    let (id_after, after) = only_job(&workspace, PROD_JOB).await;
    assert_eq!(id_after, blue_id, "blue holds the name again");
    assert_eq!(after["schedule"]["pause_status"], "UNPAUSED");
    assert_eq!(
        comparable(&after),
        comparable(&before),
        "blue has the settings it had before the swap"
    );
    let entries = history(&project, &workspace, "prod");
    assert_eq!(
        (entries[0]["kind"].as_str(), entries[0]["status"].as_str()),
        (Some("rollback"), Some("succeeded"))
    );
    let plan = project
        .brickship(&workspace)
        .args(["plan", PIPELINE, "-e", "prod"])
        .run();
    assert!(
        plan.stdout.contains("timeout_seconds: 14400 -> 7200"),
        "the change is undone: {}",
        plan.stdout
    );
}

/// Deploys with `--request-approval` to an environment asking before promotion; a second
/// process approves. Returns the deployment id.
async fn approved_from_a_second_process(
    workspace: &ServedWorkspace,
    project: &Project,
    environment: &str,
    job: &str,
    strategy: &[&str],
) -> String {
    let mut args = vec![
        "deploy",
        PIPELINE,
        "-e",
        environment,
        "--request-approval",
        "--output",
        "json",
    ];
    args.extend_from_slice(strategy);
    let requested = project.brickship(workspace).args(&args).run();
    requested.expect_code(0);
    let result = result_event(&requested);
    assert_eq!(result["status"], "paused", "{result:#}");
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();
    let rec = record(workspace, environment, &id).await;
    assert_eq!(rec["status"], "paused");
    let pending = rec["pending_approval"]["action_id"]
        .as_str()
        .expect("a pending approval")
        .to_owned();
    // Nothing went live yet: the live job still has the old timeout.
    assert_eq!(only_job(workspace, job).await.1["timeout_seconds"], 14400);
    let status = status_text(project, workspace, environment);
    assert!(status.contains("paused"), "{status}");
    let promote = project.brickship(workspace).args(["promote", &id]).run();
    promote.expect_code(2);
    assert!(
        promote.stderr.contains("brickship approve"),
        "an approval is not a promotion: {}",
        promote.stderr
    );

    let approved = project
        .brickship(workspace)
        .args(["approve", &id, "-m", "change 7", "--output", "json"])
        .run();
    approved.expect_code(0);
    assert_eq!(
        result_event(&approved)["status"],
        "succeeded",
        "{}",
        approved.stdout
    );
    let rec = record(workspace, environment, &id).await;
    assert_eq!(rec["status"], "succeeded");
    assert_eq!(rec["approvals"][0]["action_id"], pending.as_str());
    assert_eq!(rec["approvals"][0]["comment"], "change 7");
    assert_eq!(rec["approvals"][0]["by"], "brickship@localhost");
    assert_eq!(only_job(workspace, job).await.1["timeout_seconds"], 7200);
    assert!(status_text(project, workspace, environment).contains("lock:         free"));
    pending
}

#[tokio::test]
async fn a_canary_waits_before_promotion_for_an_approval_given_by_another_process() {
    let workspace = ServedWorkspace::start(1000.0);
    let (project, live_id, _) = staging_with_history(&workspace, 3).await;
    project.edit(
        "brickship.yaml",
        "  staging:\n    workspace:\n      host: local\n",
        "  staging:\n    approval: {required: false, before_promotion: true}\n    strategy: {name: canary, steps: [50, 100]}\n    workspace:\n      host: local\n",
    );
    let pending = approved_from_a_second_process(&workspace, &project, "staging", STAGING_JOB, &[]).await;
    assert_eq!(pending, "approve-promotion");
    assert_eq!(job_names(&workspace).await, [STAGING_JOB]);
    assert_eq!(only_job(&workspace, STAGING_JOB).await.0, live_id);
}

#[tokio::test]
async fn a_blue_green_swap_waits_for_an_approval_given_by_another_process() {
    let workspace = ServedWorkspace::start(1000.0);
    let (project, blue_id, _) = prod_deployed(&workspace).await;
    project.edit(
        "brickship.yaml",
        "    approval:\n      required: true\n",
        "    approval: {required: false, before_promotion: true}\n",
    );
    let pending = approved_from_a_second_process(&workspace, &project, "prod", PROD_JOB, &[]).await;
    assert_eq!(pending, "approve-swap");
    assert_eq!(
        job_names(&workspace).await,
        [PROD_JOB, "customer-360-pipeline-prod-blue"]
    );
    assert_eq!(
        only_job(&workspace, "customer-360-pipeline-prod-blue").await.0,
        blue_id
    );
}

/// Copies a stopped workspace's state directory, so each crash starts from the same state.
fn copy_state(from: &std::path::Path) -> tempfile::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("create state dir");
        for entry in std::fs::read_dir(from).expect("read state dir") {
            let entry = entry.expect("state entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy state file");
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    copy(from, dir.path());
    dir
}

/// What a rollout leaves behind, comparable across runs: each job's name, schedule pause
/// status and settings without brickship's tags (which hold deployment ids).
async fn end_state(workspace: &ServedWorkspace) -> Vec<(String, String, Value)> {
    let mut state = Vec::new();
    for (id, name, pause) in all_jobs(workspace).await {
        state.push((name, pause, comparable(&workspace.job_settings(id).await)));
    }
    state
}

/// How many runs the workspace has started, of any job.
async fn run_count(workspace: &ServedWorkspace) -> u64 {
    workspace.control(Method::GET, "/_local/state", None).await["runs"]
        .as_u64()
        .expect("run count")
}

/// Names of the jobs a rollout stands up beside the live one.
fn side_jobs(names: &[String]) -> Vec<&String> {
    names
        .iter()
        .filter(|n| n.ends_with("-canary") || n.ends_with("-green"))
        .collect()
}

/// One kill-and-resume scenario: a prepared workspace state and the deploy to interrupt.
struct Interrupted<'a> {
    /// The state directory of a stopped workspace the deploy starts from.
    state: &'a std::path::Path,
    project: &'a Project,
    environment: &'a str,
    deploy: &'a [&'a str],
}

impl Interrupted<'_> {
    fn start(&self) -> ServedWorkspace {
        ServedWorkspace::start_in(copy_state(self.state), 10_000.0, &[])
    }

    fn deploy(&self, workspace: &ServedWorkspace, crash_after: Option<u32>) -> Finished {
        let mut args = vec!["deploy", PIPELINE, "-e", self.environment];
        args.extend_from_slice(self.deploy);
        let command = self.project.brickship(workspace).args(&args);
        match crash_after {
            Some(n) => command.env(CRASH, n.to_string()).run(),
            None => command.run(),
        }
    }

    /// Kills the deploy after each journal write in turn, resumes it, and checks the workspace
    /// ends as after an uninterrupted deploy. Returns the number of boundaries tried.
    async fn at_every_boundary(&self) -> u32 {
        let (reference, reference_runs) = {
            let workspace = self.start();
            self.deploy(&workspace, None).expect_code(0);
            (end_state(&workspace).await, run_count(&workspace).await)
        };
        let mut boundaries = 0;
        for n in 1.. {
            let workspace = self.start();
            let crashed = self.deploy(&workspace, Some(n));
            if crashed.code == Some(0) {
                break;
            }
            boundaries += 1;
            assert_eq!(
                crashed.code, None,
                "n={n}: the deploy was to be killed\n{}",
                crashed.stderr
            );
            let names = job_names(&workspace).await;
            assert!(side_jobs(&names).len() <= 1, "n={n}: {names:?}");

            let entries = history(self.project, &workspace, self.environment);
            let id = entries[0]["deployment_id"]
                .as_str()
                .expect("deployment id")
                .to_owned();
            let resumed = self.project.brickship(&workspace).args(["resume", &id]).run();
            let converged =
                if resumed.code == Some(2) && resumed.stderr.contains("before it changed anything") {
                    // Killed before its record existed: the next deploy notices and converges.
                    let mut args = vec!["deploy", PIPELINE, "-e", self.environment, "--force-lock"];
                    args.extend_from_slice(self.deploy);
                    self.project.brickship(&workspace).args(&args).run()
                } else if resumed.code == Some(2) && resumed.stderr.contains("already finished") {
                    // Killed after recording its result: nothing left to do.
                    Finished {
                        code: Some(0),
                        stdout: String::new(),
                        stderr: String::new(),
                    }
                } else {
                    resumed
                };
            assert_eq!(
                converged.code,
                Some(0),
                "n={n}: resume failed\n--- stdout\n{}\n--- stderr\n{}",
                converged.stdout,
                converged.stderr
            );
            let names = job_names(&workspace).await;
            assert!(
                side_jobs(&names).is_empty(),
                "n={n}: the resumed rollout left {names:?}"
            );
            let state = end_state(&workspace).await;
            assert_eq!(
                state
                    .iter()
                    .map(|(name, pause, _)| (name, pause))
                    .collect::<Vec<_>>(),
                reference
                    .iter()
                    .map(|(name, pause, _)| (name, pause))
                    .collect::<Vec<_>>(),
                "n={n}: the jobs differ from an uninterrupted deploy's"
            );
            assert_eq!(
                state, reference,
                "n={n}: the settings differ from an uninterrupted deploy's"
            );
            // Re-performed run-now calls reuse their idempotency tokens: no extra run.
            assert_eq!(run_count(&workspace).await, reference_runs, "n={n}: runs started");
            // The journal agrees: the deployment that went live is recorded as such, and the
            // next plan finds the live job up to date.
            let entries = history(self.project, &workspace, self.environment);
            assert_eq!(entries[0]["status"], "succeeded", "n={n}: {entries:#?}");
            let plan = self
                .project
                .brickship(&workspace)
                .args(["plan", PIPELINE, "-e", self.environment])
                .run();
            assert!(plan.stdout.contains("up to date"), "n={n}: {}", plan.stdout);
            let status = status_text(self.project, &workspace, self.environment);
            assert!(status.contains("lock:         free"), "n={n}: {status}");
        }
        boundaries
    }
}

#[tokio::test]
async fn a_canary_killed_at_every_journal_boundary_resumes_to_the_same_end_state() {
    let workspace = ServedWorkspace::start(10_000.0);
    let (project, _, _) = staging_with_history(&workspace, 3).await;
    append_config(&project, "strategies:\n  canary:\n    steps: [50, 100]\n");
    let state = workspace.kill();
    let scenario = Interrupted {
        state: state.path(),
        project: &project,
        environment: "staging",
        deploy: &["--strategy", "canary"],
    };
    let boundaries = scenario.at_every_boundary().await;
    assert!(
        boundaries >= 20,
        "a canary has many journal boundaries, saw {boundaries}"
    );
}

#[tokio::test]
async fn a_blue_green_deploy_killed_at_every_journal_boundary_resumes_to_the_same_end_state() {
    let workspace = ServedWorkspace::start(10_000.0);
    let (project, _, _) = prod_deployed(&workspace).await;
    let state = workspace.kill();
    let scenario = Interrupted {
        state: state.path(),
        project: &project,
        environment: "prod",
        deploy: &["--approve"],
    };
    let boundaries = scenario.at_every_boundary().await;
    assert!(
        boundaries >= 15,
        "a blue-green deploy has many journal boundaries, saw {boundaries}"
    );
}

#[tokio::test]
async fn a_canary_under_20_percent_injected_faults_still_promotes() {
    let workspace = ServedWorkspace::start(1000.0);
    let (project, live_id, _) = staging_with_history(&workspace, 3).await;
    append_config(&project, "strategies:\n  canary:\n    steps: [25, 50, 100]\n");
    // Five kinds, tried in order, each firing with probability r: 1 - (1 - r)^5 = 20%.
    let rate = 1.0 - 0.8f64.powf(1.0 / 5.0);
    for (i, kind) in ["429", "503", "500", "drop", "drop-after"]
        .into_iter()
        .enumerate()
    {
        workspace
            .control(
                Method::POST,
                "/_local/faults",
                Some(json!({"endpoint": "*", "kind": kind, "rate": rate, "retry_after_s": 0, "seed": 20_261_126 + i as u64})),
            )
            .await;
    }
    let deployed = project
        .brickship(&workspace)
        .args([
            "deploy",
            PIPELINE,
            "-e",
            "staging",
            "--strategy",
            "canary",
            "--output",
            "json",
        ])
        .run();
    let faults = workspace.control(Method::GET, "/_local/faults", None).await;
    workspace.control(Method::DELETE, "/_local/faults", None).await;
    deployed.expect_code(0);
    let result = result_event(&deployed);
    assert_eq!(result["status"], "succeeded", "{result:#}");
    let injected: Vec<u64> = faults["faults"]
        .as_array()
        .expect("fault rules")
        .iter()
        .map(|f| f["injected"].as_u64().unwrap_or(0))
        .collect();
    assert!(
        injected.iter().all(|&n| n >= 1),
        "every kind was injected: {injected:?}"
    );
    assert!(injected.iter().sum::<u64>() >= 15, "{injected:?}");

    assert_eq!(
        job_names(&workspace).await,
        [STAGING_JOB],
        "one live job, no canary left"
    );
    let (id_after, settings) = only_job(&workspace, STAGING_JOB).await;
    assert_eq!(id_after, live_id);
    assert_eq!(settings["timeout_seconds"], 7200);
    // Lost responses to run-now were retried with the same idempotency token: one run per step.
    let id = result["deployment_id"]
        .as_str()
        .expect("deployment id")
        .to_owned();
    let rec = record(&workspace, "staging", &id).await;
    let canary_id = rec["created_jobs"]["canary"].as_i64().expect("canary job");
    let runs = rec["started_runs"].as_object().expect("started runs");
    for (step, fraction) in [(1, "0.25"), (2, "0.5")] {
        let canary_run = run(
            &workspace,
            runs[&format!("s{step}-run-1")].as_i64().expect("a step run"),
        )
        .await;
        assert_eq!(
            (canary_run["job_id"].as_i64(), parameter(&canary_run, FRACTION)),
            (Some(canary_id), Some(fraction.to_owned()))
        );
    }
    assert_eq!(
        run_count(&workspace).await,
        3 + 2 + 1,
        "3 baseline runs, one per step, one post-promotion check: no duplicate"
    );
    let state: Value =
        serde_json::from_str(rec["strategy_state"].as_str().expect("state")).expect("state JSON");
    let verdicts: Vec<&str> = state["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(verdicts, ["pass", "pass"]);
    let entries = history(&project, &workspace, "staging");
    assert_eq!(entries[0]["status"], "succeeded");
    assert!(status_text(&project, &workspace, "staging").contains("lock:         free"));
}

/// A deploy that supersedes a blue-green deploy killed mid-swap (`--force-lock`) first aborts it
/// (its snapshot restored: blue live, green gone), so when the new deploy then fails its rollback
/// leaves the job live under its name.
#[tokio::test]
async fn a_deploy_superseding_an_interrupted_swap_and_failing_leaves_the_job_live() {
    let workspace = ServedWorkspace::start(10_000.0);
    let (project, _, _) = prod_deployed(&workspace).await;
    let state = workspace.kill();
    let scenario = Interrupted {
        state: state.path(),
        project: &project,
        environment: "prod",
        deploy: &["--approve"],
    };
    for n in 1.. {
        let workspace = scenario.start();
        if scenario.deploy(&workspace, Some(n)).code == Some(0) {
            break;
        }
        // The next deploy breaks the stale lock, as the lock error suggests, and its green fails.
        script(
            &workspace,
            json!({"job_name": "*-green", "task_key": "aggregate-gold", "outcomes": ["FAILED"]}),
        )
        .await;
        let next = project
            .brickship(&workspace)
            .args(["deploy", PIPELINE, "-e", "prod", "--approve", "--force-lock"])
            .run();
        assert_ne!(next.code, None, "n={n}");
        let jobs = all_jobs(&workspace).await;
        let live: Vec<&(i64, String, String)> = jobs.iter().filter(|(_, name, _)| name == PROD_JOB).collect();
        assert_eq!(
            live.len(),
            1,
            "n={n}: one job must hold the name after a rollback: {jobs:?}"
        );
        assert_eq!(
            live[0].2, "UNPAUSED",
            "n={n}: the live job must be scheduled after a rollback: {jobs:?}"
        );
    }
}

impl Interrupted<'_> {
    /// Kills the deploy after each journal write in turn and aborts it: the live job `job_id`
    /// must be back as it was (`before`), alone, scheduled, and the lock free. Returns the number
    /// of boundaries that left something to undo.
    async fn aborted_at_every_boundary(&self, job_id: i64, name: &str, before: &Value) -> u32 {
        let mut undone = 0;
        for n in 1.. {
            let workspace = self.start();
            if self.deploy(&workspace, Some(n)).code == Some(0) {
                break;
            }
            let entries = history(self.project, &workspace, self.environment);
            let id = entries[0]["deployment_id"]
                .as_str()
                .expect("deployment id")
                .to_owned();
            let aborted = self.project.brickship(&workspace).args(["abort", &id]).run();
            if aborted.code == Some(2) && aborted.stderr.contains("already finished") {
                continue; // killed after recording its success: nothing to undo
            }
            if aborted.code == Some(2) && aborted.stderr.contains("before it changed anything") {
                assert_eq!(job_names(&workspace).await, [name], "n={n}");
                continue;
            }
            aborted.expect_code(1);
            undone += 1;
            // The live job is back exactly as it was; nothing the deployment made is left.
            let jobs = all_jobs(&workspace).await;
            assert_eq!(jobs, [(job_id, name.to_owned(), "UNPAUSED".to_owned())], "n={n}");
            assert_eq!(
                comparable(&workspace.job_settings(job_id).await),
                comparable(before),
                "n={n}"
            );
            let entries = history(self.project, &workspace, self.environment);
            assert_eq!(entries[0]["status"], "rolled-back", "n={n}");
            let status = status_text(self.project, &workspace, self.environment);
            assert!(status.contains("lock:         free"), "n={n}: {status}");
        }
        undone
    }
}

#[tokio::test]
async fn a_blue_green_deploy_killed_at_every_journal_boundary_is_undone_by_abort() {
    let workspace = ServedWorkspace::start(10_000.0);
    let (project, blue_id, before) = prod_deployed(&workspace).await;
    let state = workspace.kill();
    let scenario = Interrupted {
        state: state.path(),
        project: &project,
        environment: "prod",
        deploy: &["--approve"],
    };
    let undone = scenario
        .aborted_at_every_boundary(blue_id, PROD_JOB, &before)
        .await;
    assert!(
        undone >= 15,
        "most boundaries leave something to undo, saw {undone}"
    );
}

#[tokio::test]
async fn a_canary_killed_at_every_journal_boundary_is_undone_by_abort() {
    let workspace = ServedWorkspace::start(10_000.0);
    let (project, live_id, before) = staging_with_history(&workspace, 3).await;
    append_config(&project, "strategies:\n  canary:\n    steps: [50, 100]\n");
    let state = workspace.kill();
    let scenario = Interrupted {
        state: state.path(),
        project: &project,
        environment: "staging",
        deploy: &["--strategy", "canary"],
    };
    let undone = scenario
        .aborted_at_every_boundary(live_id, STAGING_JOB, &before)
        .await;
    assert!(
        undone >= 20,
        "most boundaries leave something to undo, saw {undone}"
    );
}
