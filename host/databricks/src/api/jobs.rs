//! Jobs API 2.2: jobs and runs.

use std::time::Duration;

use futures::{Stream, StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};

use super::{Page, from_value, merge_arrays, paginate, take_page_token};
use crate::client::{Client, Query};
use crate::error::{Error, Result};
use crate::models::{
    AccessControlRequest, BaseJob, BaseRun, CreateJobResponse, Job, JobSettings, Run, RunNow, RunOutput,
    RunStarted, SubmitRun,
};

const JOBS: &str = "/api/2.2/jobs";

/// Query of `jobs/list`.
///
/// Defaults: no name filter, `expand_tasks` off, page size 100 (the API's maximum).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListJobs {
    /// Exact, case-insensitive name filter (server side).
    pub name: Option<String>,
    /// Include `tasks` and `job_clusters` in each job (cut at 100; the client then fetches the
    /// full job, as the SDKs do).
    pub expand_tasks: bool,
    /// Page size, 1–100 (default 100).
    pub limit: Option<u32>,
}

impl ListJobs {
    /// Jobs named `name` (case-insensitive).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

/// Query of `jobs/runs/list`.
///
/// Defaults: all jobs, active and completed runs, any start time, no task arrays, page size 25.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRuns {
    pub job_id: Option<i64>,
    pub active_only: bool,
    pub completed_only: bool,
    /// Epoch milliseconds, inclusive.
    pub start_time_from: Option<i64>,
    /// Epoch milliseconds, inclusive.
    pub start_time_to: Option<i64>,
    /// Page size, 1–25 (default 25).
    pub limit: Option<u32>,
    pub expand_tasks: bool,
    /// `JOB_RUN`, `WORKFLOW_RUN` or `SUBMIT_RUN`.
    pub run_type: Option<String>,
}

impl ListRuns {
    /// Runs of `job_id`.
    pub fn for_job(job_id: i64) -> Self {
        Self {
            job_id: Some(job_id),
            ..Self::default()
        }
    }
}

/// How often [`Client::wait_for_run`] polls: after the n-th poll it waits `n × initial`, capped
/// at `max` (the SDK waiters' linear schedule). Defaults: 1 s, capped at 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
        }
    }
}

impl PollPolicy {
    /// The wait after poll number `poll` (1-based).
    pub fn interval(&self, poll: u32) -> Duration {
        self.initial.saturating_mul(poll.max(1)).min(self.max)
    }
}

/// Options of [`Client::wait_for_run`]. Defaults: 20 min timeout (the SDKs' waiter default),
/// [`PollPolicy::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitForRun {
    pub timeout: Duration,
    pub poll: PollPolicy,
}

impl Default for WaitForRun {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20 * 60),
            poll: PollPolicy::default(),
        }
    }
}

impl WaitForRun {
    /// Wait at most `timeout`.
    pub fn timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }
    /// Poll every `initial`, `2 × initial`, … up to `max`.
    pub fn poll(mut self, initial: Duration, max: Duration) -> Self {
        self.poll = PollPolicy { initial, max };
        self
    }
}

#[derive(serde::Deserialize)]
struct ListJobsResponse {
    #[serde(default)]
    jobs: Vec<BaseJob>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct ListRunsResponse {
    #[serde(default)]
    runs: Vec<BaseRun>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct RunIdResponse {
    run_id: i64,
    #[serde(default)]
    number_in_job: Option<i64>,
}

impl Client {
    /// Creates a job (`jobs/create`) and returns its id. `acl` is applied at creation.
    /// Not retried after a possibly-applied attempt (a retry could create a duplicate).
    pub async fn create_job(
        &self,
        settings: &JobSettings,
        acl: Option<&[AccessControlRequest]>,
    ) -> Result<i64> {
        let mut body = settings_object(settings, "POST", "/api/2.2/jobs/create")?;
        if let Some(acl) = acl {
            body.insert(
                "access_control_list".to_owned(),
                to_json(acl, "/api/2.2/jobs/create")?,
            );
        }
        let created: CreateJobResponse = self.post(&format!("{JOBS}/create"), &Value::Object(body)).await?;
        Ok(created.job_id)
    }

    /// Reads a job (`jobs/get`), following 2.2 `next_page_token`s and merging the paginated
    /// arrays (`tasks`, `job_clusters`, `environments`, `parameters`) into one [`Job`].
    pub async fn get_job(&self, job_id: i64) -> Result<Job> {
        let value = self.get_job_value(job_id).await?;
        from_value(value, "GET", "/api/2.2/jobs/get")
    }

    /// Like [`Client::get_job`], as raw JSON (all pages merged).
    pub async fn get_job_value(&self, job_id: i64) -> Result<Value> {
        let path = format!("{JOBS}/get");
        let mut job: Value = self.get(&path, Query::new().push("job_id", job_id)).await?;
        let mut token = take_page_token(&mut job);
        let mut pages = 1usize;
        while let Some(current) = token {
            let mut page: Value = self
                .get(
                    &path,
                    Query::new().push("job_id", job_id).push("page_token", &current),
                )
                .await?;
            token = take_page_token(&mut page);
            pages += 1;
            if token.as_ref() == Some(&current) || pages > super::MAX_PAGES {
                return Err(pagination_loop("/api/2.2/jobs/get", &current));
            }
            if let (Some(Value::Object(settings)), Some(Value::Object(more))) =
                (job.get_mut("settings"), page.get_mut("settings").map(Value::take))
            {
                merge_arrays(settings, more);
            }
        }
        Ok(job)
    }

    /// One page of `jobs/list`.
    pub async fn list_jobs_page(&self, query: &ListJobs, page_token: Option<&str>) -> Result<Page<BaseJob>> {
        let q = Query::new()
            .push("limit", query.limit.unwrap_or(100))
            .opt("name", query.name.as_deref())
            .flag("expand_tasks", query.expand_tasks.then_some(true))
            .opt("page_token", page_token);
        let resp: ListJobsResponse = self.get(&format!("{JOBS}/list"), q).await?;
        Ok(Page {
            items: resp.jobs,
            next_page_token: resp.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// All jobs matching `query`, as a stream over pages. With `expand_tasks`, a job whose task
    /// arrays were cut (`has_more`) is replaced by the full [`Client::get_job`].
    pub fn list_jobs_stream<'a>(
        &'a self,
        query: &'a ListJobs,
    ) -> impl Stream<Item = Result<BaseJob>> + Send + 'a {
        paginate("/api/2.2/jobs/list", move |token| async move {
            let mut page = self.list_jobs_page(query, token.as_deref()).await?;
            if query.expand_tasks {
                for job in &mut page.items {
                    if job.has_more == Some(true) {
                        *job = self.get_job(job.job_id).await?;
                    }
                }
            }
            Ok(page)
        })
    }

    /// All jobs matching `query` (every page).
    pub async fn list_jobs(&self, query: &ListJobs) -> Result<Vec<BaseJob>> {
        self.list_jobs_stream(query).try_collect().await
    }

    /// Jobs named exactly `name` (case-insensitive), via the server-side `name` filter — never
    /// by listing every job. Names are not unique: there may be several.
    pub async fn find_jobs_by_name(&self, name: &str) -> Result<Vec<BaseJob>> {
        let jobs = self.list_jobs(&ListJobs::named(name)).await?;
        let wanted = name.to_lowercase();
        Ok(jobs
            .into_iter()
            .filter(|job| {
                job.settings
                    .name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase() == wanted)
            })
            .collect())
    }

    /// Replaces all settings of a job (`jobs/reset`). Idempotent.
    pub async fn reset_job(&self, job_id: i64, settings: &JobSettings) -> Result<()> {
        let body = json!({ "job_id": job_id, "new_settings": to_json(settings, "/api/2.2/jobs/reset")? });
        let _: Value = self.post(&format!("{JOBS}/reset"), &body).await?;
        Ok(())
    }

    /// Partially updates a job (`jobs/update`): top-level fields of `new_settings` replace the
    /// old ones (arrays merge by key), `fields_to_remove` deletes fields (`"schedule"`,
    /// `"tasks/<task_key>"`). Idempotent.
    pub async fn update_job(
        &self,
        job_id: i64,
        new_settings: Option<&JobSettings>,
        fields_to_remove: &[&str],
    ) -> Result<()> {
        let mut body = json!({ "job_id": job_id });
        if let Some(settings) = new_settings {
            body["new_settings"] = to_json(settings, "/api/2.2/jobs/update")?;
        }
        if !fields_to_remove.is_empty() {
            body["fields_to_remove"] = json!(fields_to_remove);
        }
        let _: Value = self.post(&format!("{JOBS}/update"), &body).await?;
        Ok(())
    }

    /// Deletes a job (`jobs/delete`).
    pub async fn delete_job(&self, job_id: i64) -> Result<()> {
        let _: Value = self
            .post(&format!("{JOBS}/delete"), &json!({ "job_id": job_id }))
            .await?;
        Ok(())
    }

    /// Starts a run of a job (`jobs/run-now`). When `request.idempotency_token` is `None` the
    /// client sets a fresh UUID, so the call is always safe to retry: the server starts at most
    /// one run per token. The token used is returned.
    pub async fn run_now(&self, request: &RunNow) -> Result<RunStarted> {
        let mut request = request.clone();
        let token = request
            .idempotency_token
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        let resp: RunIdResponse = self.post(&format!("{JOBS}/run-now"), &request).await?;
        Ok(RunStarted {
            run_id: resp.run_id,
            number_in_job: resp.number_in_job,
            idempotency_token: token,
        })
    }

    /// Submits a one-time run (`jobs/runs/submit`); idempotency token as for [`Client::run_now`].
    pub async fn submit_run(&self, request: &SubmitRun) -> Result<RunStarted> {
        let mut request = request.clone();
        let token = request
            .idempotency_token
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        let resp: RunIdResponse = self.post(&format!("{JOBS}/runs/submit"), &request).await?;
        Ok(RunStarted {
            run_id: resp.run_id,
            number_in_job: resp.number_in_job,
            idempotency_token: token,
        })
    }

    /// Reads a run (`jobs/runs/get`), following `next_page_token` and merging `tasks`,
    /// `job_clusters`, `job_parameters`, `repair_history` and `iterations`.
    pub async fn get_run(&self, run_id: i64) -> Result<Run> {
        let value = self.get_run_value(run_id).await?;
        from_value(value, "GET", "/api/2.2/jobs/runs/get")
    }

    /// Like [`Client::get_run`], as raw JSON (all pages merged).
    pub async fn get_run_value(&self, run_id: i64) -> Result<Value> {
        let path = format!("{JOBS}/runs/get");
        let mut run: Value = self.get(&path, Query::new().push("run_id", run_id)).await?;
        let mut token = take_page_token(&mut run);
        let mut pages = 1usize;
        while let Some(current) = token {
            let mut page: Value = self
                .get(
                    &path,
                    Query::new().push("run_id", run_id).push("page_token", &current),
                )
                .await?;
            token = take_page_token(&mut page);
            pages += 1;
            if token.as_ref() == Some(&current) || pages > super::MAX_PAGES {
                return Err(pagination_loop("/api/2.2/jobs/runs/get", &current));
            }
            if let (Value::Object(run_map), Value::Object(page_map)) = (&mut run, page) {
                merge_arrays(run_map, page_map);
            }
        }
        Ok(run)
    }

    /// One page of `jobs/runs/list`.
    pub async fn list_runs_page(&self, query: &ListRuns, page_token: Option<&str>) -> Result<Page<BaseRun>> {
        let q = Query::new()
            .opt("job_id", query.job_id)
            .flag("active_only", query.active_only.then_some(true))
            .flag("completed_only", query.completed_only.then_some(true))
            .opt("start_time_from", query.start_time_from)
            .opt("start_time_to", query.start_time_to)
            .push("limit", query.limit.unwrap_or(25))
            .flag("expand_tasks", query.expand_tasks.then_some(true))
            .opt("run_type", query.run_type.as_deref())
            .opt("page_token", page_token);
        let resp: ListRunsResponse = self.get(&format!("{JOBS}/runs/list"), q).await?;
        Ok(Page {
            items: resp.runs,
            next_page_token: resp.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// All runs matching `query`, newest first, as a stream over pages.
    pub fn list_runs_stream<'a>(
        &'a self,
        query: &'a ListRuns,
    ) -> impl Stream<Item = Result<BaseRun>> + Send + 'a {
        paginate("/api/2.2/jobs/runs/list", move |token| async move {
            self.list_runs_page(query, token.as_deref()).await
        })
    }

    /// All runs matching `query` (every page).
    pub async fn list_runs(&self, query: &ListRuns) -> Result<Vec<BaseRun>> {
        self.list_runs_stream(query).try_collect().await
    }

    /// The newest `n` runs matching `query` (stops paging once it has them).
    pub async fn recent_runs(&self, query: &ListRuns, n: usize) -> Result<Vec<BaseRun>> {
        self.list_runs_stream(query).take(n).try_collect().await
    }

    /// Cancels a run (`jobs/runs/cancel`); asynchronous: the run may still be running. Idempotent.
    pub async fn cancel_run(&self, run_id: i64) -> Result<()> {
        let _: Value = self
            .post(&format!("{JOBS}/runs/cancel"), &json!({ "run_id": run_id }))
            .await?;
        Ok(())
    }

    /// Cancels every active run of a job (`jobs/runs/cancel-all`). Idempotent.
    pub async fn cancel_all_runs(&self, job_id: i64) -> Result<()> {
        let _: Value = self
            .post(&format!("{JOBS}/runs/cancel-all"), &json!({ "job_id": job_id }))
            .await?;
        Ok(())
    }

    /// The output of a **task** run (`jobs/runs/get-output`; use `run.tasks[i].run_id`).
    pub async fn get_run_output(&self, task_run_id: i64) -> Result<RunOutput> {
        self.get(
            &format!("{JOBS}/runs/get-output"),
            Query::new().push("run_id", task_run_id),
        )
        .await
    }

    /// Deletes a finished run (`jobs/runs/delete`).
    pub async fn delete_run(&self, run_id: i64) -> Result<()> {
        let _: Value = self
            .post(&format!("{JOBS}/runs/delete"), &json!({ "run_id": run_id }))
            .await?;
        Ok(())
    }

    /// Polls `runs/get` until the run reaches a terminal life-cycle state (`TERMINATED`,
    /// `SKIPPED`, `INTERNAL_ERROR`) and returns it — also when it failed: inspect
    /// [`Run::result_state`]. `progress` sees every polled state. Fails with
    /// [`Error::Timeout`] after `options.timeout`.
    pub async fn wait_for_run(
        &self,
        run_id: i64,
        options: &WaitForRun,
        mut progress: impl FnMut(&Run) + Send,
    ) -> Result<Run> {
        let clock = self.clock().clone();
        let start = clock.now();
        let deadline = start + options.timeout;
        let mut poll = 0u32;
        loop {
            poll += 1;
            let run = self.get_run(run_id).await?;
            progress(&run);
            if run.is_terminal() {
                return Ok(run);
            }
            let wait = options.poll.interval(poll);
            let now = clock.now();
            if now >= deadline {
                let state = run
                    .life_cycle_state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "unknown".to_owned());
                return Err(Error::Timeout {
                    what: format!("run `{run_id}` to finish (last state {state})"),
                    after: now.saturating_duration_since(start),
                });
            }
            clock
                .sleep(wait.min(deadline.saturating_duration_since(now)))
                .await;
        }
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T, path: &str) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| Error::Decode {
        method: "POST".to_owned(),
        path: path.to_owned(),
        message: format!("cannot encode the request body: {err}"),
        excerpt: None,
    })
}

fn settings_object(
    settings: &JobSettings,
    method: &str,
    path: &str,
) -> Result<serde_json::Map<String, Value>> {
    match to_json(settings, path)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::Decode {
            method: method.to_owned(),
            path: path.to_owned(),
            message: "job settings did not encode as a JSON object".to_owned(),
            excerpt: None,
        }),
    }
}

fn pagination_loop(path: &str, token: &str) -> Error {
    Error::Decode {
        method: "GET".to_owned(),
        path: path.to_owned(),
        message: format!("pagination does not end (page token `{token}` repeated)"),
        excerpt: None,
    }
}
