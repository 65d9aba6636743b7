//! The host `local`: an in-process local workspace over real HTTP, shared state directories,
//! and the client's calls (and fault handling) against the real emulator.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::Duration;

use databricks::{
    AccessControlRequest, Client, Config, ExportFormat, JobSettings, ListJobs, ListRuns, Method,
    PermissionLevel, RetryPolicy, RunLifeCycleState, RunNow, RunResultState, WaitForRun,
};
use serde_json::{Value, json};

async fn local_client(dir: &Path) -> Client {
    let config = Config::builder()
        .host("local")
        .local_state_dir(dir)
        .local_run_speed(2000.0)
        .resolve_with(&|_| None, None)
        .expect("config");
    Client::builder(config)
        .retry_policy(RetryPolicy {
            deadline: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .await
        .expect("local client")
}

fn endpoint_url(dir: &Path) -> Option<String> {
    let bytes = std::fs::read(dir.join("endpoint.json")).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["url"].as_str().map(str::to_owned)
}

fn lock_is_held(dir: &Path) -> bool {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("server.lock"))
        .expect("lock file");
    match file.try_lock() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(err)) => panic!("lock check: {err}"),
    }
}

fn two_task_job(name: &str) -> JobSettings {
    JobSettings::from_value(json!({
        "name": name,
        "tasks": [
            { "task_key": "ingest", "notebook_task": { "notebook_path": "/Workspace/p/ingest" } },
            { "task_key": "publish", "depends_on": [{ "task_key": "ingest" }], "notebook_task": { "notebook_path": "/Workspace/p/publish" } }
        ],
        "tags": { "pipeline": "p" },
        "some_future_field": { "kept": true }
    }))
    .expect("settings")
}

#[tokio::test]
async fn local_host_serves_the_api_in_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = local_client(dir.path()).await;
    assert!(
        client.base_url().starts_with("http://127.0.0.1:"),
        "{}",
        client.base_url()
    );
    assert_eq!(endpoint_url(dir.path()).as_deref(), Some(client.base_url()));
    assert!(lock_is_held(dir.path()));

    // Jobs.
    let job_id = client
        .create_job(&two_task_job("local-e2e"), None)
        .await
        .expect("create");
    let job = client.get_job(job_id).await.expect("get");
    assert_eq!(job.settings.name.as_deref(), Some("local-e2e"));
    assert_eq!(
        job.settings.format.as_deref(),
        Some("MULTI_TASK"),
        "server defaults come back"
    );
    assert_eq!(
        job.settings.extra.get("some_future_field"),
        Some(&json!({ "kept": true }))
    );
    let found = client.find_jobs_by_name("LOCAL-E2E").await.expect("find");
    assert_eq!(found.iter().map(|j| j.job_id).collect::<Vec<_>>(), vec![job_id]);
    let mut changed = two_task_job("local-e2e");
    changed.max_concurrent_runs = Some(2);
    client.reset_job(job_id, &changed).await.expect("reset");
    client.update_job(job_id, None, &["tags"]).await.expect("update");
    let job = client.get_job(job_id).await.expect("get");
    assert_eq!(job.settings.max_concurrent_runs, Some(2));
    assert_eq!(job.settings.tags, None);

    // Runs.
    let started = client
        .run_now(&RunNow::new(job_id).param("run_date", "2026-01-01"))
        .await
        .expect("run");
    let options = WaitForRun::timeout(Duration::from_secs(60))
        .poll(Duration::from_millis(20), Duration::from_millis(50));
    let mut polls = 0;
    let run = client
        .wait_for_run(started.run_id, &options, |_| polls += 1)
        .await
        .expect("finished");
    assert_eq!(run.life_cycle_state(), Some(&RunLifeCycleState::Terminated));
    assert_eq!(run.result_state(), Some(&RunResultState::Success));
    assert!(polls >= 1);
    let task_run = run.task("publish").and_then(|t| t.run_id).expect("task run id");
    client.get_run_output(task_run).await.expect("output");
    let runs = client.list_runs(&ListRuns::for_job(job_id)).await.expect("runs");
    assert_eq!(runs.len(), 1);

    // Permissions.
    let me = client
        .current_user()
        .await
        .expect("me")
        .user_name
        .expect("user name");
    let acl = [
        AccessControlRequest::user(me.as_str(), PermissionLevel::IsOwner),
        AccessControlRequest::group("data-analysts", PermissionLevel::CanView),
    ];
    let perms = client.set_job_permissions(job_id, &acl).await.expect("put");
    let entries = perms.access_control_list.expect("acl");
    assert!(
        entries
            .iter()
            .any(|e| e.group_name.as_deref() == Some("data-analysts"))
    );
    assert!(
        !client
            .get_job_permission_levels(job_id)
            .await
            .expect("levels")
            .is_empty()
    );

    // Workspace files: the deploy lock primitive.
    let ws = client.workspace();
    ws.mkdirs("/Workspace/Shared/.brickship/p/dev")
        .await
        .expect("mkdirs");
    let lock = "/Workspace/Shared/.brickship/p/dev/deploy.lock";
    ws.import_file(lock, b"holder-1".to_vec(), false)
        .await
        .expect("first writer wins");
    let lost = ws
        .import_file(lock, b"holder-2".to_vec(), false)
        .await
        .expect_err("second writer loses");
    assert!(lost.is_already_exists(), "{lost}");
    assert_eq!(
        ws.export(lock, ExportFormat::Auto).await.expect("export"),
        b"holder-1"
    );
    assert!(
        ws.get_status("/Workspace/Shared/nope")
            .await
            .expect_err("missing")
            .is_not_found()
    );

    // Catalogs.
    assert!(!client.list_node_types().await.expect("node types").is_empty());
    assert!(!client.spark_versions().await.expect("spark versions").is_empty());

    client.delete_job(job_id).await.expect("delete");
    assert!(client.get_job(job_id).await.expect_err("deleted").is_not_found());
    assert!(
        client
            .calls()
            .iter()
            .any(|c| c.mutating && c.path == "/api/2.2/jobs/delete")
    );
}

#[tokio::test]
async fn clients_share_the_server_and_state_survives_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = local_client(dir.path()).await;
    let second = local_client(dir.path()).await;
    assert_eq!(
        first.base_url(),
        second.base_url(),
        "one server per state directory"
    );
    let job_id = first
        .create_job(&two_task_job("shared"), None)
        .await
        .expect("create");
    drop(first);
    assert_eq!(second.get_job(job_id).await.expect("still served").job_id, job_id);
    let url = second.base_url().to_owned();
    drop(second);
    assert_eq!(
        endpoint_url(dir.path()),
        None,
        "endpoint removed when the server stops"
    );
    assert!(!lock_is_held(dir.path()), "lock released");

    let restarted = local_client(dir.path()).await;
    assert_ne!(restarted.base_url(), url, "a new server on a new port");
    let jobs = restarted
        .list_jobs(&ListJobs::named("shared"))
        .await
        .expect("list");
    assert_eq!(jobs.len(), 1, "state persisted in the directory");
}

#[tokio::test]
async fn a_server_of_another_process_is_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Play the other process: hold the lock, serve the directory, publish the endpoint.
    let lock = File::create(dir.path().join("server.lock")).expect("lock file");
    lock.try_lock().expect("take the lock");
    let other = local_workspace::LocalWorkspace::start(local_workspace::Config {
        state_dir: Some(dir.path().to_path_buf()),
        ..local_workspace::Config::default()
    })
    .await
    .expect("other server");
    std::fs::write(
        dir.path().join("endpoint.json"),
        json!({ "url": other.url(), "pid": 1 }).to_string(),
    )
    .expect("endpoint");

    let client = local_client(dir.path()).await;
    assert_eq!(client.base_url(), other.url(), "connected to the running server");
    let job_id = client
        .create_job(&two_task_job("other"), None)
        .await
        .expect("create");
    assert_eq!(client.get_job(job_id).await.expect("get").job_id, job_id);
    drop(client);
    assert_eq!(
        endpoint_url(dir.path()).as_deref(),
        Some(other.url().as_str()),
        "not ours to remove"
    );
    other.shutdown().await;
}

/// Adds a fault rule through the emulator's control plane.
async fn add_fault(client: &Client, rule: Value) {
    client
        .raw(Method::POST, "/_local/faults", &[], Some(&rule))
        .await
        .expect("add fault");
}

#[tokio::test]
async fn lost_responses_against_the_emulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = local_client(dir.path()).await;

    // create: the server created the job, then the connection broke. Not retried: one job.
    add_fault(
        &client,
        json!({ "endpoint": "POST jobs/create", "kind": "drop-after", "count": 1 }),
    )
    .await;
    let error = client
        .create_job(&two_task_job("dropped"), None)
        .await
        .expect_err("lost response");
    assert!(
        matches!(
            error,
            databricks::Error::Transport {
                maybe_applied: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        client
            .list_jobs(&ListJobs::named("dropped"))
            .await
            .expect("list")
            .len(),
        1,
        "created exactly once"
    );

    // run-now: same situation, retried with the same token: still exactly one run.
    let job_id = client
        .create_job(&two_task_job("idempotent"), None)
        .await
        .expect("create");
    add_fault(
        &client,
        json!({ "endpoint": "POST jobs/run-now", "kind": "drop-after", "count": 1 }),
    )
    .await;
    client.reset_calls();
    let started = client.run_now(&RunNow::new(job_id)).await.expect("retried");
    let attempts: Vec<_> = client
        .calls()
        .into_iter()
        .filter(|c| c.path == "/api/2.2/jobs/run-now")
        .collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let runs = client.list_runs(&ListRuns::for_job(job_id)).await.expect("runs");
    assert_eq!(
        runs.iter().map(|r| r.run_id).collect::<Vec<_>>(),
        vec![started.run_id],
        "one run per token"
    );

    // Throttling: retried after Retry-After.
    add_fault(
        &client,
        json!({ "endpoint": "GET jobs/get", "kind": "429", "retry_after_s": 0, "count": 2 }),
    )
    .await;
    client.reset_calls();
    client.get_job(job_id).await.expect("after throttling");
    let statuses: Vec<Option<u16>> = client.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![Some(429), Some(429), Some(200)]);
}
