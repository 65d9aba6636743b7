//! The Jobs service: Jobs API 2.0 (`get`), 2.1 and 2.2, runs, job permissions, and the run
//! scripting part of the `/_local/` control plane.
//!
//! # Concepts
//!
//! * **Jobs** keep their settings as the exact JSON they were written with, plus the server
//!   defaults real workspaces add (`format: MULTI_TASK`, `max_concurrent_runs: 1`,
//!   `timeout_seconds: 0`, `email_notifications: {}`, `webhook_notifications: {}`, 2.2
//!   `queue: {enabled: true}`, per task `run_if: ALL_SUCCESS`, `timeout_seconds: 0`,
//!   `email_notifications: {}`, `notebook_task.source`), so unknown fields round-trip and clients
//!   diffing against a real workspace see the same thing here. Paths `/api/2.1/jobs/*` and
//!   `/api/2.2/jobs/*` are served (2.2 semantics: arrays over 100 entries are paged), and
//!   `/api/2.0/jobs/get`.
//! * **Runs are derived, not stepped.** A run stores what was triggered (a snapshot of the tasks,
//!   parameters, the scripted outcome of each task attempt, every duration already scaled to wall
//!   milliseconds by the run speed) and the events since (a cancel). Its state at any instant is a
//!   pure function of those facts and the clock ([`sim`]): reads never write, a restarted server
//!   derives the same history, and there is no background task. Queued runs leave the queue in
//!   trigger order when a slot under the `max_concurrent_runs` they were triggered with frees up.
//!   Each mutation first records the facts the past has fixed (queue promotions, run ends).
//! * **State pairing.** Every run and task run carries both the legacy `state` and the v2 `status`,
//!   paired as in the reference (§4.4): a failed task is `TERMINATED/FAILED`, its job run
//!   `INTERNAL_ERROR/FAILED` with `"Task <key> failed with message: ..."` and status
//!   `TERMINATED`/`RUN_EXECUTION_ERROR`.
//! * **Persistence.** The whole service state is one JSON document (`jobs.json` in the state
//!   directory) replaced atomically before each mutation responds.
//!
//! # Run timing
//!
//! Unless a script says otherwise, each task attempt spends 10 s (simulated) in `PENDING`
//! (cluster setup), 30–90 s in `RUNNING` (deterministic per task key: 30 000 ms plus an FNV-1a
//! hash of the key modulo 60 001) and 2 s in `TERMINATING`, then succeeds. Condition tasks take
//! 1 s with no setup or cleanup. Retries wait `min_retry_interval_millis` from the start of the
//! failed attempt (`WAITING_FOR_RETRY`). All of these, and `timeout_seconds`, are divided by the
//! run speed: at speed 1000 a three-task chain takes about a third of a second.
//!
//! # Scripting run outcomes (`/_local/`)
//!
//! * `POST /_local/scripts` with a rule → `{"script_id": <number>}`:
//!   ```json
//!   { "job_name": "customer-360*",          // optional glob (* and ?), case-sensitive; for
//!                                            // one-time runs it matches run_name
//!     "job_id": 123,                         // optional
//!     "task_key": "ingest-bronze",           // optional: only this task (else every task)
//!     "parameters": {"brickship_canary": "true"}, // optional: only runs whose job parameters
//!                                            // include these values
//!     "outcomes": ["FAILED", "SUCCESS"],     // per attempt (default ["SUCCESS"]); the last
//!                                            // repeats: SUCCESS | FAILED | TIMEDOUT |
//!                                            // INTERNAL_ERROR | HANG (runs until cancelled or
//!                                            // timed out)
//!     "duration_ms": 45000,                  // simulated RUNNING time per attempt
//!     "pending_ms": 5000,                    // simulated PENDING time per attempt
//!     "output": "{\"rows\": 1000}",          // notebook_output.result (logs for python tasks)
//!     "error": "AnalysisException: ...",     // error of failed attempts in runs/get-output
//!     "remaining": 3 }                       // optional: expires after this many task runs
//!   ```
//!   The newest matching rule decides each task when a run is triggered (one use of `remaining`
//!   per task it decides; skipped runs use none).
//! * `GET /_local/scripts` → `{"scripts": [rule with script_id, ...]}` (oldest first);
//!   `DELETE /_local/scripts/{id}` → `{}` (404 if unknown); `DELETE /_local/scripts` →
//!   `{"deleted": n}`. Scripts are persisted with the rest of the state.
//! * `GET /_local/config` / `POST /_local/config {"run_speed": 500}` → `{"run_speed": 500.0}`:
//!   the speed of runs triggered from then on (not persisted; a restart uses `Config::run_speed`).
//! * `GET /_local/state` → `{"jobs", "runs", "active_runs", "queued_runs", "scripts", "run_speed"}`.

mod api;
mod permissions;
mod request;
mod runs;
mod scripts;
mod settings;
mod sim;
mod store;

use std::io;
use std::path::Path;
use std::sync::RwLockReadGuard;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use serde_json::{Map, Value};

use self::request::{ApiVersion, Query, parse_body};
use self::store::Store;
use crate::api_error::{ApiError, ApiResult};
use crate::clock::Clock;
use crate::persist::Persisted;
use crate::{AppState, Config};

/// Largest request body the Jobs API accepts.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The Jobs service state: one persisted document.
#[derive(Debug)]
pub struct JobsState {
    store: Persisted<Store>,
}

impl JobsState {
    /// Loads `dir/jobs.json` (or starts empty; in memory only without a directory).
    pub fn load(dir: Option<&Path>, _config: &Config) -> io::Result<Self> {
        Ok(Self {
            store: Persisted::open(dir, "jobs")?,
        })
    }

    /// Shared read access for handlers.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read()
    }

    /// Runs `change` under the write lock at `now` (read from `clock` under the lock, so
    /// mutations see time move forward in the order they apply), after settling the past up to
    /// `now`, and persists the result before returning. `change` must validate before it mutates:
    /// its error is returned to the client and whatever it changed is kept.
    pub(crate) fn mutate<R>(
        &self,
        clock: &Clock,
        change: impl FnOnce(&mut Store, i64) -> ApiResult<R>,
    ) -> ApiResult<R> {
        self.store
            .update_in_place(|store| {
                let now = clock.now_ms().max(store.clock_floor);
                store.clock_floor = now;
                store.settle(now);
                change(store, now)
            })
            .map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    format!("cannot persist the jobs state: {err}"),
                )
            })?
    }
}

/// Runs a mutation (which may fsync) off the async workers.
pub(crate) async fn blocking<R: Send + 'static>(
    change: impl FnOnce() -> ApiResult<R> + Send + 'static,
) -> ApiResult<R> {
    tokio::task::spawn_blocking(change).await.unwrap_or_else(|err| {
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("request handler failed: {err}"),
        ))
    })
}

type ReadHandler = fn(&AppState, ApiVersion, &Query) -> ApiResult<Response>;
type WriteHandler = fn(&AppState, ApiVersion, Map<String, Value>) -> ApiResult<Response>;

fn reader(version: ApiVersion, handler: ReadHandler) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, RawQuery(query): RawQuery| async move {
            Query::parse(query.as_deref())
                .and_then(|query| handler(&state, version, &query))
                .unwrap_or_else(IntoResponse::into_response)
        },
    )
}

fn writer(version: ApiVersion, handler: WriteHandler) -> MethodRouter<AppState> {
    post(move |State(state): State<AppState>, body: Bytes| async move {
        blocking(move || handler(&state, version, parse_body(&body)?))
            .await
            .unwrap_or_else(IntoResponse::into_response)
    })
}

/// Every route of the Jobs service.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/api/2.0/jobs/get", reader(ApiVersion::V20, api::get));
    for (prefix, version) in [
        ("/api/2.1/jobs", ApiVersion::V21),
        ("/api/2.2/jobs", ApiVersion::V22),
    ] {
        let reads: [(&str, ReadHandler); 4] = [
            ("get", api::get),
            ("list", api::list),
            ("runs/get", runs::get),
            ("runs/list", runs::list),
        ];
        for (path, handler) in reads {
            router = router.route(&format!("{prefix}/{path}"), reader(version, handler));
        }
        router = router.route(
            &format!("{prefix}/runs/get-output"),
            reader(version, runs::get_output),
        );
        let writes: [(&str, WriteHandler); 9] = [
            ("create", api::create),
            ("reset", api::reset),
            ("update", api::update),
            ("delete", api::delete),
            ("run-now", runs::run_now),
            ("runs/submit", runs::submit),
            ("runs/cancel", runs::cancel),
            ("runs/cancel-all", runs::cancel_all),
            ("runs/delete", runs::delete),
        ];
        for (path, handler) in writes {
            router = router.route(&format!("{prefix}/{path}"), writer(version, handler));
        }
    }
    router
        .route(
            "/api/2.0/permissions/jobs/{job_id}",
            get(permissions::get)
                .put(permissions::put)
                .patch(permissions::patch),
        )
        .route(
            "/api/2.0/permissions/jobs/{job_id}/permissionLevels",
            get(permissions::levels),
        )
        .route(
            "/_local/scripts",
            post(scripts::add).get(scripts::list).delete(scripts::clear),
        )
        .route("/_local/scripts/{id}", delete(scripts::remove))
        .route(
            "/_local/config",
            get(scripts::get_config).post(scripts::set_config),
        )
        .route("/_local/state", get(scripts::summary))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
