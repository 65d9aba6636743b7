//! The executor: performs a strategy's actions against the workspace, one at a time.
//!
//! Strategies return actions as data ([`plugin_host::Action`]); the executor turns each into
//! Databricks API calls and reports an [`Outcome`]. It never fails as a Rust error: an API error
//! becomes `OutcomeKind::Failed` (with the `error_code`, and whether retrying may help), so the
//! strategy decides what a failure means. The deployment loop (see `super::run`) journals each
//! action before and after it runs.
//!
//! Job references resolve through an [`ExecContext`]: `live` is the live job, `created(label)` a
//! job an earlier `create-job` of this deployment made. Jobs the executor creates or resets carry
//! the deployment's tags (`brickship-deployment` …), which is also how a resumed `create-job`
//! finds the job it may already have created before a crash instead of creating a second one.

// Internal helpers fail with the action's outcome itself (`Err(OutcomeKind::Failed{..})`), built
// once per action; boxing it would only add an allocation on the failure path.
#![expect(clippy::result_large_err, reason = "the error type is the action's outcome")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use databricks::{AccessControlRequest, Client, JobSettings, ListRuns, Run, RunNow, WaitForRun};
use plugin_host::types::{
    Action, ActionKind, Difference, JobRef, Outcome, OutcomeKind, RunRef, RunResult, RunSummary, TaskOutput,
    TaskSummary,
};
use serde_json::Value;

/// Tag naming the deployment that last created or reset a job.
pub const TAG_DEPLOYMENT: &str = "brickship-deployment";
/// Tag naming the pipeline a job belongs to.
pub const TAG_PIPELINE: &str = "brickship-pipeline";
/// Tag naming the environment a job belongs to.
pub const TAG_ENVIRONMENT: &str = "brickship-environment";
/// Tag naming the `create-job` label of a job a strategy created (`green`, `canary`).
pub const TAG_LABEL: &str = "brickship-label";

/// The tags brickship adds to jobs; plans ignore them.
pub const MANAGED_TAGS: [&str; 4] = [TAG_DEPLOYMENT, TAG_PIPELINE, TAG_ENVIRONMENT, TAG_LABEL];

/// What the executor knows about the deployment it works for. Journaled with the record, so a
/// resumed deployment resolves the same references.
#[derive(Debug, Clone, Default)]
pub struct ExecContext {
    pub deployment_id: String,
    pub pipeline: String,
    pub environment: String,
    pub live_job_id: Option<i64>,
    /// Jobs created by `create-job`, by label.
    pub created_jobs: BTreeMap<String, i64>,
    /// Runs started by `run-job`, by action id.
    pub started_runs: BTreeMap<String, i64>,
}

impl ExecContext {
    /// The tags every job this deployment writes carries.
    pub fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_DEPLOYMENT.to_owned(), self.deployment_id.clone()),
            (TAG_PIPELINE.to_owned(), self.pipeline.clone()),
            (TAG_ENVIRONMENT.to_owned(), self.environment.clone()),
        ])
    }

    fn job_id(&self, job: &JobRef) -> Result<i64, Outcome2> {
        match job {
            JobRef::Live => self
                .live_job_id
                .ok_or_else(|| fail("no-live-job", "there is no live job", false)),
            JobRef::Created { label } => self.created_jobs.get(label).copied().ok_or_else(|| {
                fail(
                    "unknown-label",
                    &format!("no job was created with label `{label}`"),
                    false,
                )
            }),
            JobRef::Id { job_id } => Ok(*job_id),
        }
    }

    fn run_id(&self, run: &RunRef) -> Result<i64, Outcome2> {
        match run {
            RunRef::StartedBy { action_id } => self.started_runs.get(action_id).copied().ok_or_else(|| {
                fail(
                    "unknown-run",
                    &format!("action `{action_id}` started no run"),
                    false,
                )
            }),
            RunRef::Id { run_id } => Ok(*run_id),
        }
    }
}

/// An outcome without its action id (the executor adds it).
type Outcome2 = OutcomeKind;

/// Attempts of a non-idempotent call whose earlier attempt may or may not have been applied.
const MAX_ATTEMPTS: u32 = 4;

/// The workspace may have applied the request although the client saw an error (a lost
/// response, or a server error the client does not retry for a non-idempotent call).
fn maybe_applied(err: &databricks::Error) -> bool {
    err.is_transport() || err.is_timeout() || err.is_unavailable()
}

fn fail(code: &str, message: &str, retryable: bool) -> OutcomeKind {
    OutcomeKind::Failed {
        code: code.to_owned(),
        message: message.to_owned(),
        retryable,
    }
}

fn api_failure(err: &databricks::Error) -> OutcomeKind {
    let code = err.error_code().map(str::to_owned).unwrap_or_else(|| {
        if err.is_transport() {
            "TRANSPORT".to_owned()
        } else if err.is_timeout() {
            "TIMEOUT".to_owned()
        } else {
            "ERROR".to_owned()
        }
    });
    let retryable = err.is_rate_limited() || err.is_unavailable() || err.is_transport() || err.is_timeout();
    OutcomeKind::Failed {
        code,
        message: err.to_string(),
        retryable,
    }
}

/// Progress the executor reports while it waits (runs, active runs, approvals).
pub trait Observer: Send + Sync {
    /// A one-line status of the action in progress.
    fn progress(&self, action: &Action, message: &str);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn progress(&self, _: &Action, _: &str) {}
}

/// What an approval request resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalDecision {
    Approved {
        by: String,
        comment: String,
    },
    Rejected {
        by: String,
        comment: String,
    },
    /// Nobody decided yet: the deployment parks until someone does.
    Pending,
}

/// A boxed future, for the object-safe async traits here.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Decides `request-approval` actions (a terminal prompt, a flag, or a durable approval record).
pub trait Approver: Send + Sync {
    fn decide<'a>(
        &'a self,
        deployment_id: &'a str,
        action: &'a Action,
        message: &'a str,
    ) -> BoxFuture<'a, ApprovalDecision>;
}

/// Compares a job's live settings with expected ones (both normalised by the planner).
pub type Verifier = dyn Fn(&Value, &Value) -> Vec<Difference> + Send + Sync;

/// Answers a strategy's `gate-check`: the environment's gates for that point over the evidence.
pub trait GateChecker: Send + Sync {
    fn check(
        &self,
        point: plugin_host::types::GatePoint,
        evidence: &[RunSummary],
    ) -> plugin_host::types::Verdict;
}

/// The result of performing one action.
#[derive(Debug, Clone, PartialEq)]
pub enum Performed {
    /// The action ran (or failed) and has an outcome.
    Done(Outcome),
    /// An approval is pending: park the deployment; the action runs again on resume.
    Parked { message: String },
}

/// Performs actions through a [`Client`].
pub struct Executor<'a> {
    pub client: &'a Client,
    pub verifier: &'a Verifier,
    pub observer: &'a dyn Observer,
    pub approver: &'a dyn Approver,
    pub gates: &'a dyn GateChecker,
    /// How often waits poll the workspace.
    pub poll: Duration,
}

impl Executor<'_> {
    /// Performs `action`. `resumed` is true when the journal shows this action started before an
    /// interruption and never finished: creations then look for what they may already have made.
    pub async fn perform(&self, ctx: &mut ExecContext, action: &Action, resumed: bool) -> Performed {
        let kind = match self.perform_kind(ctx, action, resumed).await {
            Ok(Some(kind)) | Err(kind) => kind,
            Ok(None) => {
                let message = match &action.kind {
                    ActionKind::RequestApproval { message } => message.clone(),
                    _ => "waiting".to_owned(),
                };
                return Performed::Parked { message };
            }
        };
        Performed::Done(Outcome {
            action_id: action.id.clone(),
            kind,
        })
    }

    async fn perform_kind(
        &self,
        ctx: &mut ExecContext,
        action: &Action,
        resumed: bool,
    ) -> Result<Option<OutcomeKind>, OutcomeKind> {
        let client = self.client;
        let kind = match &action.kind {
            ActionKind::CreateJob { label, settings } => {
                let mut settings = settings.clone();
                let mut tags = ctx.tags();
                tags.insert(TAG_LABEL.to_owned(), label.clone());
                add_tags(&mut settings, &tags);
                let name = settings
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("Untitled")
                    .to_owned();
                if resumed && let Some(job_id) = self.find_created(ctx, &name, label).await? {
                    ctx.created_jobs.insert(label.clone(), job_id);
                    return Ok(Some(OutcomeKind::JobCreated { job_id }));
                }
                let (settings, acl) = split_acl(settings);
                let typed = typed_settings(settings)?;
                // `jobs/create` is not idempotent, so the client does not retry it once the
                // request may have reached the workspace. Look for the job (it carries this
                // deployment's tags) before trying again: never two jobs for one action.
                let mut attempt = 0;
                let job_id = loop {
                    attempt += 1;
                    match client.create_job(&typed, acl.as_deref()).await {
                        Ok(job_id) => break job_id,
                        Err(err) if attempt < MAX_ATTEMPTS && maybe_applied(&err) => {
                            if let Some(job_id) = self.find_created(ctx, &name, label).await? {
                                break job_id;
                            }
                        }
                        Err(err) => return Err(api_failure(&err)),
                    }
                };
                ctx.created_jobs.insert(label.clone(), job_id);
                OutcomeKind::JobCreated { job_id }
            }
            ActionKind::ResetJob { job, settings } => {
                let job_id = ctx.job_id(job)?;
                let mut settings = settings.clone();
                add_tags(&mut settings, &ctx.tags());
                if let Some(label) = ctx
                    .created_jobs
                    .iter()
                    .find(|(_, id)| **id == job_id)
                    .map(|(label, _)| label.clone())
                {
                    add_tags(&mut settings, &BTreeMap::from([(TAG_LABEL.to_owned(), label)]));
                }
                let (settings, _) = split_acl(settings);
                let typed = typed_settings(settings)?;
                client
                    .reset_job(job_id, &typed)
                    .await
                    .map_err(|e| api_failure(&e))?;
                OutcomeKind::Done
            }
            ActionKind::DeleteJob { job } => {
                let job_id = ctx.job_id(job)?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match client.delete_job(job_id).await {
                        // Already gone (deleted by a lost attempt, or before a crash): done.
                        Ok(()) => break OutcomeKind::Done,
                        Err(err) if err.is_not_found() => break OutcomeKind::Done,
                        Err(err) if attempt < MAX_ATTEMPTS && maybe_applied(&err) => {}
                        Err(err) => return Err(api_failure(&err)),
                    }
                }
            }
            ActionKind::RenameJob { job, name } => {
                let job_id = ctx.job_id(job)?;
                let settings = JobSettings {
                    name: Some(name.clone()),
                    ..JobSettings::default()
                };
                client
                    .update_job(job_id, Some(&settings), &[])
                    .await
                    .map_err(|e| api_failure(&e))?;
                OutcomeKind::Done
            }
            ActionKind::PauseSchedule { job } => self.set_pause(ctx.job_id(job)?, "PAUSED").await?,
            ActionKind::UnpauseSchedule { job } => self.set_pause(ctx.job_id(job)?, "UNPAUSED").await?,
            ActionKind::CancelActiveRuns { job } => {
                let job_id = ctx.job_id(job)?;
                client
                    .cancel_all_runs(job_id)
                    .await
                    .map_err(|e| api_failure(&e))?;
                OutcomeKind::Done
            }
            ActionKind::WaitActiveRuns { job, timeout_ms } => {
                let job_id = ctx.job_id(job)?;
                let deadline = Instant::now() + Duration::from_millis(*timeout_ms);
                loop {
                    let active = self.active_runs(job_id).await?;
                    if active.is_empty() {
                        break OutcomeKind::Done;
                    }
                    self.observer.progress(
                        action,
                        &format!("waiting for {} active run(s) of job {job_id}", active.len()),
                    );
                    if Instant::now() >= deadline {
                        break OutcomeKind::TimedOut {
                            run: active.into_iter().next(),
                        };
                    }
                    tokio::time::sleep(self.poll.min(deadline.saturating_duration_since(Instant::now())))
                        .await;
                }
            }
            ActionKind::ListActiveRuns { job } => {
                let job_id = ctx.job_id(job)?;
                OutcomeKind::Runs {
                    runs: self.active_runs(job_id).await?,
                }
            }
            ActionKind::RunJob {
                job,
                parameters,
                idempotency_token,
            } => {
                let job_id = ctx.job_id(job)?;
                let mut request = RunNow::new(job_id);
                if !parameters.is_empty() {
                    request.job_parameters = Some(
                        parameters
                            .iter()
                            .map(|p| (p.name.clone(), p.value.clone()))
                            .collect(),
                    );
                }
                request.idempotency_token = Some(idempotency_token.clone());
                let started = client.run_now(&request).await.map_err(|e| api_failure(&e))?;
                ctx.started_runs.insert(action.id.clone(), started.run_id);
                OutcomeKind::RunStarted {
                    run_id: started.run_id,
                }
            }
            ActionKind::WaitRun { run, timeout_ms } => {
                let run_id = ctx.run_id(run)?;
                let options =
                    WaitForRun::timeout(Duration::from_millis(*timeout_ms)).poll(self.poll, self.poll * 10);
                let observer = self.observer;
                let waited = client
                    .wait_for_run(run_id, &options, |run| {
                        let state = run
                            .life_cycle_state()
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default();
                        observer.progress(action, &format!("run {run_id}: {state}"));
                    })
                    .await;
                match waited {
                    Ok(run) => OutcomeKind::RunFinished { run: summarize(&run) },
                    Err(err) if err.is_timeout() => {
                        let last = client.get_run(run_id).await.ok().map(|run| summarize(&run));
                        OutcomeKind::TimedOut { run: last }
                    }
                    Err(err) => return Err(api_failure(&err)),
                }
            }
            ActionKind::RunHistory { job, limit, since_ms } => {
                let job_id = ctx.job_id(job)?;
                let query = ListRuns {
                    completed_only: true,
                    expand_tasks: true,
                    start_time_from: since_ms.map(|ms| ms as i64),
                    limit: Some((*limit).clamp(1, 25)),
                    ..ListRuns::for_job(job_id)
                };
                let runs = client
                    .recent_runs(&query, (*limit).clamp(1, 100) as usize)
                    .await
                    .map_err(|e| api_failure(&e))?;
                OutcomeKind::Runs {
                    runs: runs.iter().map(summarize).collect(),
                }
            }
            ActionKind::RunOutput { run } => {
                let run_id = ctx.run_id(run)?;
                let run = client.get_run(run_id).await.map_err(|e| api_failure(&e))?;
                let mut outputs = Vec::new();
                for task in run.tasks.iter().flatten() {
                    let Some(task_run_id) = task.run_id else { continue };
                    let output = client
                        .get_run_output(task_run_id)
                        .await
                        .map_err(|e| api_failure(&e))?;
                    outputs.push(TaskOutput {
                        task_key: task.task_key.clone(),
                        run_id: task_run_id,
                        notebook_result: output.notebook_output.as_ref().and_then(|n| n.result.clone()),
                        truncated: output
                            .notebook_output
                            .as_ref()
                            .and_then(|n| n.truncated)
                            .unwrap_or(false),
                        error: output.error.clone(),
                        logs: output.logs.clone(),
                    });
                }
                OutcomeKind::Outputs { outputs }
            }
            ActionKind::Wait { duration_ms } => {
                self.observer.progress(
                    action,
                    &format!("waiting {}", super::human_duration_ms(*duration_ms as i64)),
                );
                tokio::time::sleep(Duration::from_millis(*duration_ms)).await;
                OutcomeKind::Done
            }
            ActionKind::RequestApproval { message } => {
                match self.approver.decide(&ctx.deployment_id, action, message).await {
                    ApprovalDecision::Approved { by, comment } => OutcomeKind::Approved { by, comment },
                    ApprovalDecision::Rejected { by, comment } => OutcomeKind::Rejected { by, comment },
                    ApprovalDecision::Pending => return Ok(None),
                }
            }
            ActionKind::SetPermissions { job, acl } => {
                let job_id = ctx.job_id(job)?;
                let acl: Vec<AccessControlRequest> = serde_json::from_value(acl.clone()).map_err(|err| {
                    fail(
                        "bad-acl",
                        &format!("the ACL is not a list of permission entries: {err}"),
                        false,
                    )
                })?;
                client
                    .set_job_permissions(job_id, &acl)
                    .await
                    .map_err(|e| api_failure(&e))?;
                OutcomeKind::Done
            }
            ActionKind::VerifyJob { job, settings } => {
                let job_id = ctx.job_id(job)?;
                let live = client.get_job_value(job_id).await.map_err(|e| api_failure(&e))?;
                let live_settings = live.get("settings").cloned().unwrap_or(Value::Null);
                OutcomeKind::Verified {
                    differences: (self.verifier)(settings, &live_settings),
                }
            }
            ActionKind::GateCheck { point, evidence } => {
                // The evidence: the runs named, as they are now.
                let mut runs = Vec::with_capacity(evidence.len());
                for run in evidence {
                    let run_id = ctx.run_id(run)?;
                    let run = client.get_run(run_id).await.map_err(|e| api_failure(&e))?;
                    runs.push(summarize(&run));
                }
                OutcomeKind::GateVerdict {
                    verdict: self.gates.check(*point, &runs),
                }
            }
        };
        Ok(Some(kind))
    }

    /// A job this deployment may have created under `label` before an interruption.
    async fn find_created(
        &self,
        ctx: &ExecContext,
        name: &str,
        label: &str,
    ) -> Result<Option<i64>, OutcomeKind> {
        let jobs = self
            .client
            .find_jobs_by_name(name)
            .await
            .map_err(|e| api_failure(&e))?;
        Ok(jobs.into_iter().find_map(|job| {
            let tags = job.settings.tags.as_ref()?;
            (tags.get(TAG_DEPLOYMENT).map(String::as_str) == Some(ctx.deployment_id.as_str())
                && tags.get(TAG_LABEL).map(String::as_str) == Some(label))
            .then_some(job.job_id)
        }))
    }

    async fn active_runs(&self, job_id: i64) -> Result<Vec<RunSummary>, OutcomeKind> {
        let query = ListRuns {
            active_only: true,
            ..ListRuns::for_job(job_id)
        };
        let runs = self.client.list_runs(&query).await.map_err(|e| api_failure(&e))?;
        Ok(runs.iter().map(summarize).collect())
    }

    /// Sets the pause status of whichever of schedule / trigger / continuous the job has.
    async fn set_pause(&self, job_id: i64, status: &str) -> Result<OutcomeKind, OutcomeKind> {
        let job = self
            .client
            .get_job_value(job_id)
            .await
            .map_err(|e| api_failure(&e))?;
        let settings = job.get("settings").cloned().unwrap_or(Value::Null);
        let mut update = serde_json::Map::new();
        for field in ["schedule", "trigger", "continuous"] {
            if let Some(Value::Object(block)) = settings.get(field) {
                let mut block = block.clone();
                block.insert("pause_status".to_owned(), Value::String(status.to_owned()));
                update.insert(field.to_owned(), Value::Object(block));
            }
        }
        if update.is_empty() {
            // Nothing to pause: a job without schedule or trigger only runs when asked.
            return Ok(OutcomeKind::Done);
        }
        let typed = typed_settings(Value::Object(update))?;
        self.client
            .update_job(job_id, Some(&typed), &[])
            .await
            .map_err(|e| api_failure(&e))?;
        Ok(OutcomeKind::Done)
    }
}

/// Adds `tags` to the settings' `tags` map (keeping the job's own tags).
pub fn add_tags(settings: &mut Value, tags: &BTreeMap<String, String>) {
    if let Value::Object(map) = settings {
        let entry = map
            .entry("tags")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(existing) = entry {
            for (key, value) in tags {
                existing.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
}

/// Splits `access_control_list` out of settings (it is a create-time field, not a setting).
fn split_acl(mut settings: Value) -> (Value, Option<Vec<AccessControlRequest>>) {
    let acl = settings
        .as_object_mut()
        .and_then(|map| map.remove("access_control_list"))
        .and_then(|acl| serde_json::from_value(acl).ok());
    (settings, acl)
}

fn typed_settings(settings: Value) -> Result<JobSettings, OutcomeKind> {
    JobSettings::from_value(settings).map_err(|err| {
        fail(
            "bad-settings",
            &format!("the job settings are not valid JobSettings: {err}"),
            false,
        )
    })
}

/// Maps the Jobs API `result_state` to the contract's [`RunResult`].
pub fn run_result(state: &databricks::RunResultState) -> Option<RunResult> {
    use databricks::RunResultState as S;
    Some(match state {
        S::Success => RunResult::Success,
        S::Failed => RunResult::Failed,
        S::Timedout => RunResult::TimedOut,
        S::Canceled => RunResult::Canceled,
        S::MaximumConcurrentRunsReached => RunResult::MaximumConcurrentRunsReached,
        S::Excluded => RunResult::Excluded,
        S::SuccessWithFailures => RunResult::SuccessWithFailures,
        S::UpstreamFailed => RunResult::UpstreamFailed,
        S::UpstreamCanceled => RunResult::UpstreamCanceled,
        S::Disabled => RunResult::Disabled,
        S::Unknown(_) => return None,
    })
}

/// A run as strategies and gates see it.
pub fn summarize(run: &Run) -> RunSummary {
    let terminal = run.is_terminal();
    let result = if terminal {
        run.result_state().and_then(run_result).or_else(|| {
            // INTERNAL_ERROR without a result state, or SKIPPED.
            run.life_cycle_state().map(|state| match state {
                databricks::RunLifeCycleState::Skipped => RunResult::Skipped,
                _ => RunResult::InternalError,
            })
        })
    } else {
        None
    };
    let tasks: Vec<TaskSummary> = run
        .tasks
        .iter()
        .flatten()
        .map(|task| {
            let task_terminal = task
                .state
                .as_ref()
                .and_then(|s| s.life_cycle_state.as_ref())
                .is_some_and(databricks::RunLifeCycleState::is_terminal);
            let duration = task.run_duration.filter(|d| *d > 0).unwrap_or_else(|| {
                task.setup_duration.unwrap_or(0)
                    + task.execution_duration.unwrap_or(0)
                    + task.cleanup_duration.unwrap_or(0)
            });
            TaskSummary {
                task_key: task.task_key.clone(),
                run_id: task.run_id.unwrap_or(0),
                result_state: if task_terminal {
                    task.state
                        .as_ref()
                        .and_then(|s| s.result_state.as_ref())
                        .and_then(run_result)
                } else {
                    None
                },
                start_ms: task.start_time.unwrap_or(0).max(0) as u64,
                duration_ms: duration.max(0) as u64,
                attempts: task
                    .attempt_number
                    .map_or(if task.start_time.unwrap_or(0) > 0 { 1 } else { 0 }, |a| {
                        a as u32 + 1
                    }),
            }
        })
        .collect();
    let failed_tasks = tasks
        .iter()
        .filter(|t| {
            t.result_state
                .is_some_and(|r| !matches!(r, RunResult::Success | RunResult::Excluded | RunResult::Disabled))
        })
        .count() as u32;
    let retried_tasks = tasks.iter().filter(|t| t.attempts > 1).count() as u32;
    let start = run.start_time.unwrap_or(0);
    let duration = match (run.run_duration, run.end_time) {
        (Some(d), _) if d > 0 => d,
        (_, Some(end)) if end > 0 && start > 0 => end - start,
        _ => 0,
    };
    let state_message = run
        .state
        .as_ref()
        .and_then(|s| s.state_message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| run.status.as_ref()?.termination_details.as_ref()?.message.clone())
        .unwrap_or_default();
    RunSummary {
        run_id: run.run_id,
        job_id: run.job_id.unwrap_or(0),
        result_state: result,
        state_message,
        start_ms: start.max(0) as u64,
        duration_ms: duration.max(0) as u64,
        queue_ms: run.queue_duration.unwrap_or(0).max(0) as u64,
        parameters: run
            .job_parameters
            .iter()
            .flatten()
            .map(|p| {
                (
                    p.name.clone(),
                    p.value.clone().or_else(|| p.default.clone()).unwrap_or_default(),
                )
            })
            .collect(),
        tasks,
        failed_tasks,
        retried_tasks,
        url: run.run_page_url.clone(),
    }
}
