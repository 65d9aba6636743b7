//! Runs: triggering (`run-now`, `runs/submit`), reading (`runs/get`, `runs/list`,
//! `runs/get-output`) and stopping (`runs/cancel`, `runs/cancel-all`, `runs/delete`).
//!
//! Reads render the state a run has *now*, derived by [`super::sim`] from the run's facts: the
//! legacy `state` and the v2 `status` are always both present and paired as in reference §4.4.

use std::collections::{HashMap, HashSet};

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::request::{
    ApiVersion, Query, insert_page_tokens, json_ok, opt_bool, opt_i64, opt_str, page_tokens,
    parse_page_token, req_i64, wrong_type,
};
use super::scripts::{self, CONDITION_RUN_MS, DEFAULT_CLEANUP_MS, DEFAULT_PENDING_MS};
use super::settings::{self, PAGE, objects};
use super::sim::{self, Entry, NEVER, Phase, RunOutcome, TaskResult, Timeline};
use super::store::{Dep, Disposition, Outcome, RunIf, RunRecord, RunStart, RunType, Store, TaskPlan};
use crate::AppState;
use crate::api_error::{ApiError, ApiResult};
use crate::clock::Clock;

/// `max_retries: -1` ("retry forever") is capped at this many retries.
pub const MAX_RETRIES_CAP: i64 = 100;
/// The message of a failed task, as a real workspace words it.
pub const TASK_FAILED_MESSAGE: &str = "Workload failed, see run output for details";
const MULTI_TASK_OUTPUT_ERROR: &str = "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.";
const RUN_OUTPUT_PAGE_KIND: &str = "run";
const RUNS_LIST_KIND: &str = "runs";
const RUNS_LIST_MAX: i64 = 25;
const RUNS_LIST_DEFAULT: i64 = 20;
const LEGACY_PARAMS: [&str; 8] = [
    "notebook_params",
    "python_params",
    "jar_params",
    "spark_submit_params",
    "python_named_params",
    "sql_params",
    "dbt_commands",
    "pipeline_params",
];

// ---------------------------------------------------------------------------------------------
// Triggering

/// Everything needed to lay out a new run.
struct Trigger<'a> {
    job_id: i64,
    /// What script rules' `job_name` globs match (the job name, or a one-time run's name).
    job_name: &'a str,
    run_name: String,
    run_type: RunType,
    creator: &'a str,
    settings: &'a Map<String, Value>,
    selected: HashSet<String>,
    job_parameters: Option<Value>,
    param_values: HashMap<String, String>,
    overriding: Option<Value>,
    token: Option<String>,
    disposition: Disposition,
    max_concurrent_runs: i64,
    now: i64,
}

/// Lays out a run: reserves its ids, applies script rules and scales every duration.
fn build_run(store: &mut Store, clock: &Clock, trigger: Trigger<'_>) -> RunRecord {
    let run_id = store.next_run_id();
    let has_git = trigger.settings.get("git_source").is_some_and(Value::is_object);
    let mut tasks = Vec::new();
    for task in objects(trigger.settings, "tasks") {
        let Some(key) = task.get("task_key").and_then(Value::as_str) else {
            continue;
        };
        if !trigger.selected.contains(key) {
            continue;
        }
        let mut task_settings = task.clone();
        settings::apply_task_defaults(&mut task_settings, has_git);
        let deps = objects(task, "depends_on")
            .filter_map(|dep| {
                let upstream = dep.get("task_key")?.as_str()?;
                trigger.selected.contains(upstream).then(|| Dep {
                    task_key: upstream.to_owned(),
                    outcome: dep.get("outcome").and_then(Value::as_str).map(|o| o == "true"),
                })
            })
            .collect();
        let condition_task = task.get("condition_task").and_then(Value::as_object);
        let is_condition = condition_task.is_some();
        let int = |field: &str| task.get(field).and_then(Value::as_i64);
        let retries = match int("max_retries").unwrap_or(0) {
            _ if is_condition => 0,
            -1 => MAX_RETRIES_CAP,
            n => n.clamp(0, MAX_RETRIES_CAP),
        };
        let max_attempts = u32::try_from(retries + 1).unwrap_or(1);
        let rule = if trigger.disposition == Disposition::Skipped {
            None
        } else {
            scripts::take_rule(
                store,
                trigger.job_name,
                trigger.job_id,
                key,
                &trigger.param_values,
            )
        };
        let (pending, run, cleanup) = if is_condition {
            (0, CONDITION_RUN_MS, 0)
        } else {
            (
                DEFAULT_PENDING_MS,
                scripts::default_run_ms(key),
                DEFAULT_CLEANUP_MS,
            )
        };
        let first_run_id = store.next_run_id();
        store.last_run_id += i64::from(max_attempts) - 1;
        tasks.push(TaskPlan {
            task_key: key.to_owned(),
            settings: task_settings,
            deps,
            run_if: task
                .get("run_if")
                .and_then(Value::as_str)
                .and_then(RunIf::parse)
                .unwrap_or(RunIf::AllSuccess),
            disabled: task.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            condition: condition_task.map(|c| evaluate_condition(c, &trigger.param_values)),
            max_attempts,
            retry_interval_ms: clock.scale(int("min_retry_interval_millis").unwrap_or(0)),
            retry_on_timeout: task
                .get("retry_on_timeout")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            timeout_ms: clock.scale(int("timeout_seconds").unwrap_or(0).saturating_mul(1000)),
            pending_ms: clock.scale(rule.as_ref().and_then(|r| r.pending_ms).unwrap_or(pending)),
            run_ms: clock.scale(rule.as_ref().and_then(|r| r.duration_ms).unwrap_or(run)),
            cleanup_ms: clock.scale(cleanup),
            outcomes: rule
                .as_ref()
                .map(|r| r.outcomes.clone())
                .unwrap_or_else(|| vec![Outcome::Success]),
            output: rule.as_ref().and_then(|r| r.output.clone()),
            error: rule.as_ref().and_then(|r| r.error.clone()),
            script_id: rule.as_ref().map(|r| r.script_id),
            first_run_id,
        });
    }
    let mut echo = Map::new();
    for field in ["description", "git_source", "job_clusters"] {
        if let Some(value) = trigger.settings.get(field).filter(|v| !v.is_null()) {
            echo.insert(field.into(), value.clone());
        }
    }
    let timeout_seconds = trigger
        .settings
        .get("timeout_seconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    RunRecord {
        run_id,
        job_id: trigger.job_id,
        run_name: trigger.run_name,
        run_type: trigger.run_type,
        creator_user_name: trigger.creator.to_owned(),
        created: trigger.now,
        disposition: trigger.disposition,
        max_concurrent_runs: trigger.max_concurrent_runs,
        timeout_ms: clock.scale(timeout_seconds.saturating_mul(1000)),
        tasks,
        echo,
        job_parameters: trigger.job_parameters,
        overriding_parameters: trigger.overriding,
        idempotency_token: trigger.token,
        last_reserved_id: store.last_run_id,
        cancelled_at: None,
        promoted_at: None,
        ended_at: if trigger.disposition == Disposition::Skipped {
            Some(trigger.now)
        } else {
            None
        },
    }
}

/// Evaluates a condition task's `op` on `left` and `right`, resolving `{{job.parameters.<name>}}`.
fn evaluate_condition(condition: &Map<String, Value>, params: &HashMap<String, String>) -> bool {
    let operand = |field: &str| {
        let raw = condition.get(field).map(scripts::scalar).unwrap_or_default();
        let trimmed = raw.trim();
        trimmed
            .strip_prefix("{{")
            .and_then(|rest| rest.strip_suffix("}}"))
            .and_then(|reference| reference.trim().strip_prefix("job.parameters."))
            .and_then(|name| params.get(name).cloned())
            .unwrap_or(raw)
    };
    let (left, right) = (operand("left"), operand("right"));
    let numbers = || {
        Some((
            left.trim().parse::<f64>().ok()?,
            right.trim().parse::<f64>().ok()?,
        ))
    };
    match condition.get("op").and_then(Value::as_str).unwrap_or("EQUAL_TO") {
        "EQUAL_TO" => left == right,
        "NOT_EQUAL" => left != right,
        "GREATER_THAN" => numbers().is_some_and(|(l, r)| l > r),
        "GREATER_THAN_OR_EQUAL" => numbers().is_some_and(|(l, r)| l >= r),
        "LESS_THAN" => numbers().is_some_and(|(l, r)| l < r),
        "LESS_THAN_OR_EQUAL" => numbers().is_some_and(|(l, r)| l <= r),
        _ => false,
    }
}

/// The task keys a run-now `only` list selects (`+key` adds its upstream, `key+` its downstream).
fn select_tasks(
    settings: &Map<String, Value>,
    only: Option<&Vec<Value>>,
    job_id: i64,
) -> ApiResult<HashSet<String>> {
    let graph: Vec<(String, Vec<String>)> = objects(settings, "tasks")
        .filter_map(|task| {
            let key = task.get("task_key")?.as_str()?.to_owned();
            let deps = objects(task, "depends_on")
                .filter_map(|dep| dep.get("task_key")?.as_str().map(str::to_owned))
                .collect();
            Some((key, deps))
        })
        .collect();
    let Some(only) = only.filter(|only| !only.is_empty()) else {
        return Ok(graph.into_iter().map(|(key, _)| key).collect());
    };
    let mut selected = HashSet::new();
    for item in only {
        let raw = item
            .as_str()
            .ok_or_else(|| wrong_type("only", "an array of task keys", item))?;
        let (upstream, rest) = raw.strip_prefix('+').map_or((false, raw), |rest| (true, rest));
        let (downstream, key) = rest.strip_suffix('+').map_or((false, rest), |key| (true, key));
        if !graph.iter().any(|(k, _)| k == key) {
            return Err(ApiError::invalid(format!(
                "Task key '{key}' in only does not exist in job {job_id}"
            )));
        }
        let mut stack = vec![key.to_owned()];
        selected.insert(key.to_owned());
        while upstream && let Some(current) = stack.pop() {
            for dep in graph
                .iter()
                .filter(|(k, _)| *k == current)
                .flat_map(|(_, deps)| deps)
            {
                if selected.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        let mut stack = vec![key.to_owned()];
        while downstream && let Some(current) = stack.pop() {
            for (k, _) in graph.iter().filter(|(_, deps)| deps.contains(&current)) {
                if selected.insert(k.clone()) {
                    stack.push(k.clone());
                }
            }
        }
    }
    Ok(selected)
}

/// Every job parameter as `{name, default, value}` (run-now values over the job's defaults).
fn resolve_parameters(
    settings: &Map<String, Value>,
    overrides: &Map<String, Value>,
) -> (Option<Value>, HashMap<String, String>) {
    let mut list = Vec::new();
    let mut values = HashMap::new();
    for parameter in objects(settings, "parameters") {
        let Some(name) = parameter.get("name").and_then(Value::as_str) else {
            continue;
        };
        let default = parameter.get("default").map(scripts::scalar).unwrap_or_default();
        let value = overrides
            .get(name)
            .map(scripts::scalar)
            .unwrap_or_else(|| default.clone());
        values.insert(name.to_owned(), value.clone());
        list.push(json!({"name": name, "default": default, "value": value}));
    }
    for (name, value) in overrides {
        if !values.contains_key(name) {
            let value = scripts::scalar(value);
            values.insert(name.clone(), value.clone());
            list.push(json!({"name": name, "value": value}));
        }
    }
    ((!list.is_empty()).then_some(Value::Array(list)), values)
}

fn idempotency_token(body: &Map<String, Value>) -> ApiResult<Option<String>> {
    match opt_str(body, "idempotency_token")? {
        Some(token) if token.chars().count() > 64 => Err(ApiError::invalid(format!(
            "idempotency_token must be at most 64 characters, got {}",
            token.chars().count()
        ))),
        Some("") | None => Ok(None),
        Some(token) => Ok(Some(token.to_owned())),
    }
}

/// The run an idempotency token already started (`Ok(None)` if the token is new).
fn existing_run(store: &Store, key: &str, token: &str) -> ApiResult<Option<i64>> {
    match store.idempotency.get(key) {
        Some(&run_id) if store.runs.contains_key(&run_id) => Ok(Some(run_id)),
        Some(&run_id) => Err(ApiError::invalid_state(format!(
            "The run {run_id} started with idempotency token '{token}' was deleted; use a new token to start another run"
        ))),
        None => Ok(None),
    }
}

/// `POST /jobs/run-now`.
pub fn run_now(state: &AppState, _version: ApiVersion, body: Map<String, Value>) -> ApiResult<Response> {
    let job_id = req_i64(&body, "job_id")?;
    let token = idempotency_token(&body)?;
    let overrides = match body.get("job_parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => return Err(wrong_type("job_parameters", "an object", other)),
    };
    let only = match body.get("only") {
        None | Some(Value::Null) => None,
        Some(Value::Array(only)) => Some(only),
        Some(other) => return Err(wrong_type("only", "an array", other)),
    };
    let queue_override = match body.get("queue") {
        None | Some(Value::Null) => None,
        Some(Value::Object(queue)) => opt_bool(queue, "enabled")?,
        Some(other) => return Err(wrong_type("queue", "an object", other)),
    };
    let mut legacy = Map::new();
    for field in LEGACY_PARAMS {
        if let Some(value) = body.get(field).filter(|v| !v.is_null()) {
            legacy.insert(field.into(), value.clone());
        }
    }
    let overriding = (!legacy.is_empty()).then_some(Value::Object(legacy));
    let run_id = state.jobs.mutate(&state.clock, |store, now| {
        let job = store
            .jobs
            .get(&job_id)
            .ok_or_else(|| ApiError::job_not_found(job_id))?;
        let key = token.as_ref().map(|token| format!("job:{job_id}:{token}"));
        if let (Some(key), Some(token)) = (&key, &token)
            && let Some(run_id) = existing_run(store, key, token)?
        {
            return Ok(run_id);
        }
        let settings = job.settings.clone();
        let name = settings
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Untitled")
            .to_owned();
        if objects(&settings, "tasks").next().is_none() {
            return Err(ApiError::invalid(format!("Job {job_id} has no tasks to run.")));
        }
        let selected = select_tasks(&settings, only, job_id)?;
        let (job_parameters, param_values) = resolve_parameters(&settings, &overrides);
        let limit = settings
            .get("max_concurrent_runs")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let queue_enabled = queue_override
            .or_else(|| {
                settings
                    .get("queue")
                    .and_then(|q| q.get("enabled"))
                    .and_then(Value::as_bool)
            })
            .unwrap_or(false);
        let disposition = if limit > 0 && store.job_load(job_id, now) < limit {
            Disposition::Started
        } else if limit > 0 && queue_enabled {
            Disposition::Queued
        } else {
            Disposition::Skipped
        };
        let creator = state.config.user_name.as_str();
        let run = build_run(
            store,
            &state.clock,
            Trigger {
                job_id,
                job_name: &name,
                run_name: name.clone(),
                run_type: RunType::JobRun,
                creator,
                settings: &settings,
                selected,
                job_parameters,
                param_values,
                overriding: overriding.clone(),
                token: token.clone(),
                disposition,
                max_concurrent_runs: limit,
                now,
            },
        );
        Ok(store.insert_run(run, key))
    })?;
    json_ok(&json!({ "run_id": run_id, "number_in_job": run_id }))
}

/// `POST /jobs/runs/submit`: a one-time run of the tasks in the body.
pub fn submit(state: &AppState, _version: ApiVersion, mut body: Map<String, Value>) -> ApiResult<Response> {
    // A one-time run's ACL is checked but not kept: no API reads it back.
    super::permissions::parse_acl(body.get("access_control_list"))?;
    body.remove("access_control_list");
    let token = idempotency_token(&body)?;
    body.remove("idempotency_token");
    settings::strip_empty_arrays(&mut body);
    settings::validate(&body, true)?;
    let run_name = opt_str(&body, "run_name")?
        .filter(|name| !name.is_empty())
        .unwrap_or("Untitled")
        .to_owned();
    let run_id = state.jobs.mutate(&state.clock, |store, now| {
        let key = token.as_ref().map(|token| format!("submit:{token}"));
        if let (Some(key), Some(token)) = (&key, &token)
            && let Some(run_id) = existing_run(store, key, token)?
        {
            return Ok(run_id);
        }
        let selected = select_tasks(&body, None, 0)?;
        let job_id = store.next_job_id();
        let run = build_run(
            store,
            &state.clock,
            Trigger {
                job_id,
                job_name: &run_name,
                run_name: run_name.clone(),
                run_type: RunType::SubmitRun,
                creator: state.config.user_name.as_str(),
                settings: &body,
                selected,
                job_parameters: None,
                param_values: HashMap::new(),
                overriding: None,
                token: token.clone(),
                disposition: Disposition::Started,
                max_concurrent_runs: 1,
                now,
            },
        );
        Ok(store.insert_run(run, key))
    })?;
    json_ok(&json!({ "run_id": run_id }))
}

// ---------------------------------------------------------------------------------------------
// Deriving and rendering

/// Whether a run is waiting, going or over at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Queued,
    Active,
    Done,
}

pub fn activity(store: &Store, run: &RunRecord, now: i64) -> Activity {
    if run.ended_at.is_some_and(|end| end <= now) {
        return Activity::Done;
    }
    match store.run_start(run) {
        RunStart::At(start) if start > now => Activity::Queued,
        RunStart::At(start) => {
            if sim::timeline(run, start).end <= now {
                Activity::Done
            } else {
                Activity::Active
            }
        }
        RunStart::Waiting => Activity::Queued,
        RunStart::CancelledInQueue(at) => {
            if at <= now {
                Activity::Done
            } else {
                Activity::Queued
            }
        }
        RunStart::Skipped => Activity::Done,
    }
}

/// What rendering needs besides the run.
struct Ctx<'a> {
    base_url: &'a str,
    workspace_id: u64,
    now: i64,
}

impl Ctx<'_> {
    fn of(state: &AppState, now: i64) -> Ctx<'_> {
        Ctx {
            base_url: &state.base_url,
            workspace_id: state.config.workspace_id,
            now,
        }
    }

    fn page_url(&self, job_id: i64, run_id: i64) -> String {
        format!(
            "{}/?o={}#job/{job_id}/run/{run_id}",
            self.base_url, self.workspace_id
        )
    }
}

/// A run with its derived start and (once started) timeline.
struct Derived<'a> {
    run: &'a RunRecord,
    start: RunStart,
    timeline: Option<Timeline>,
}

fn derive<'a>(store: &Store, run: &'a RunRecord, now: i64) -> Derived<'a> {
    let start = store.run_start(run);
    let timeline = match start {
        RunStart::At(at) if at <= now => Some(sim::timeline(run, at)),
        _ => None,
    };
    Derived { run, start, timeline }
}

/// Legacy `state` plus v2 `status`, always together.
struct StateOut {
    life: &'static str,
    result: Option<&'static str>,
    message: String,
    user_cancelled_or_timedout: bool,
    queue_reason: Option<String>,
    status: &'static str,
    /// (code, type) of `termination_details`.
    termination: Option<(&'static str, &'static str)>,
}

impl StateOut {
    fn active(life: &'static str, status: &'static str) -> Self {
        Self {
            life,
            result: None,
            message: String::new(),
            user_cancelled_or_timedout: false,
            queue_reason: None,
            status,
            termination: None,
        }
    }

    fn terminal(
        life: &'static str,
        result: &'static str,
        message: String,
        stopped: bool,
        code: &'static str,
        kind: &'static str,
    ) -> Self {
        Self {
            life,
            result: Some(result),
            message,
            user_cancelled_or_timedout: stopped,
            queue_reason: None,
            status: "TERMINATED",
            termination: Some((code, kind)),
        }
    }

    fn queued(limit: i64) -> Self {
        let reason = format!("Queued due to reaching maximum concurrent runs of {limit}.");
        Self {
            life: "QUEUED",
            result: None,
            message: reason.clone(),
            user_cancelled_or_timedout: false,
            queue_reason: Some(reason),
            status: "QUEUED",
            termination: None,
        }
    }

    fn skipped(limit: i64) -> Self {
        Self::terminal(
            "SKIPPED",
            "MAXIMUM_CONCURRENT_RUNS_REACHED",
            format!(
                "Skipping this run because the limit of {limit} maximum concurrent runs has been reached."
            ),
            false,
            "MAX_CONCURRENT_RUNS_EXCEEDED",
            "CLIENT_ERROR",
        )
    }

    fn cancelled() -> Self {
        Self::terminal(
            "TERMINATED",
            "CANCELED",
            "Run cancelled.".into(),
            true,
            "USER_CANCELED",
            "SUCCESS",
        )
    }

    fn insert_into(self, out: &mut Map<String, Value>) {
        let mut state = Map::new();
        state.insert("life_cycle_state".into(), json!(self.life));
        if let Some(result) = self.result {
            state.insert("result_state".into(), json!(result));
        }
        state.insert("state_message".into(), json!(self.message));
        state.insert(
            "user_cancelled_or_timedout".into(),
            json!(self.user_cancelled_or_timedout),
        );
        let mut status = Map::new();
        status.insert("state".into(), json!(self.status));
        if let Some(reason) = self.queue_reason {
            state.insert("queue_reason".into(), json!(reason));
            status.insert(
                "queue_details".into(),
                json!({"code": "MAX_CONCURRENT_RUNS_REACHED", "message": reason}),
            );
        }
        if let Some((code, kind)) = self.termination {
            status.insert(
                "termination_details".into(),
                json!({"code": code, "type": kind, "message": self.message}),
            );
        }
        out.insert("state".into(), Value::Object(state));
        out.insert("status".into(), Value::Object(status));
    }
}

fn task_done_state(plan: &TaskPlan, result: TaskResult) -> StateOut {
    match result {
        TaskResult::Success => StateOut::terminal(
            "TERMINATED",
            "SUCCESS",
            String::new(),
            false,
            "SUCCESS",
            "SUCCESS",
        ),
        TaskResult::Failed => StateOut::terminal(
            "TERMINATED",
            "FAILED",
            TASK_FAILED_MESSAGE.into(),
            false,
            "RUN_EXECUTION_ERROR",
            "CLIENT_ERROR",
        ),
        TaskResult::TimedOut => StateOut::terminal(
            "TERMINATED",
            "TIMEDOUT",
            "Task timed out.".into(),
            true,
            "CANCELED",
            "CLIENT_ERROR",
        ),
        TaskResult::JobTimedOut => StateOut::terminal(
            "TERMINATED",
            "TIMEDOUT",
            "Run timed out.".into(),
            true,
            "CANCELED",
            "CLIENT_ERROR",
        ),
        TaskResult::InternalError => StateOut::terminal(
            "INTERNAL_ERROR",
            "FAILED",
            plan.error
                .clone()
                .unwrap_or_else(|| "An internal error occurred while running the task.".into()),
            false,
            "INTERNAL_ERROR",
            "INTERNAL_ERROR",
        ),
        TaskResult::Canceled => StateOut::cancelled(),
        TaskResult::UpstreamFailed => StateOut::terminal(
            "TERMINATED",
            "UPSTREAM_FAILED",
            "An upstream task failed.".into(),
            false,
            "SKIPPED",
            "SUCCESS",
        ),
        TaskResult::UpstreamCanceled => StateOut::terminal(
            "TERMINATED",
            "UPSTREAM_CANCELED",
            "An upstream task was cancelled.".into(),
            false,
            "SKIPPED",
            "SUCCESS",
        ),
        TaskResult::Excluded => StateOut::terminal(
            "TERMINATED",
            "EXCLUDED",
            "The task was excluded because its run_if condition was not met.".into(),
            false,
            "SKIPPED",
            "SUCCESS",
        ),
        TaskResult::Disabled => StateOut::terminal(
            "TERMINATED",
            "DISABLED",
            "This task is disabled.".into(),
            false,
            "DISABLED",
            "SUCCESS",
        ),
        TaskResult::Unfinished => StateOut::active("RUNNING", "RUNNING"),
    }
}

fn run_done_state(run: &RunRecord, outcome: RunOutcome) -> StateOut {
    let key = |task: usize| {
        run.tasks
            .get(task)
            .map(|t| t.task_key.as_str())
            .unwrap_or("unknown")
    };
    match outcome {
        RunOutcome::Success => StateOut::terminal(
            "TERMINATED",
            "SUCCESS",
            String::new(),
            false,
            "SUCCESS",
            "SUCCESS",
        ),
        RunOutcome::SuccessWithFailures => StateOut::terminal(
            "TERMINATED",
            "SUCCESS_WITH_FAILURES",
            String::new(),
            false,
            "SUCCESS_WITH_FAILURES",
            "SUCCESS",
        ),
        RunOutcome::Failed { task } => StateOut::terminal(
            "INTERNAL_ERROR",
            "FAILED",
            format!("Task {} failed with message: {TASK_FAILED_MESSAGE}.", key(task)),
            false,
            "RUN_EXECUTION_ERROR",
            "CLIENT_ERROR",
        ),
        RunOutcome::InternalError { task } => {
            let detail = task_done_state(
                &run.tasks[task.min(run.tasks.len().saturating_sub(1))],
                TaskResult::InternalError,
            );
            StateOut::terminal(
                "INTERNAL_ERROR",
                "FAILED",
                format!("Task {} failed with message: {}", key(task), detail.message),
                false,
                "INTERNAL_ERROR",
                "INTERNAL_ERROR",
            )
        }
        RunOutcome::TimedOut { task } => StateOut::terminal(
            "TERMINATED",
            "TIMEDOUT",
            format!("Task {} timed out.", key(task)),
            true,
            "CANCELED",
            "CLIENT_ERROR",
        ),
        RunOutcome::JobTimedOut => StateOut::terminal(
            "TERMINATED",
            "TIMEDOUT",
            "Run timed out.".into(),
            true,
            "CANCELED",
            "CLIENT_ERROR",
        ),
        RunOutcome::Canceled => StateOut::cancelled(),
        RunOutcome::Unfinished => StateOut::active("RUNNING", "RUNNING"),
    }
}

/// The parent run's state at `now`.
fn run_state(d: &Derived<'_>, now: i64) -> StateOut {
    match (d.start, &d.timeline) {
        (RunStart::Skipped, _) => StateOut::skipped(d.run.max_concurrent_runs),
        (RunStart::CancelledInQueue(at), _) if at <= now => StateOut::cancelled(),
        (_, None) => StateOut::queued(d.run.max_concurrent_runs),
        (_, Some(tl)) => {
            if now >= tl.end {
                run_done_state(d.run, tl.outcome)
            } else if tl.interrupt <= now {
                StateOut::active("TERMINATING", "TERMINATING")
            } else {
                let mut all_finishing = true;
                for &last in &tl.last_entry {
                    let phase = tl.entries[last].phase(now);
                    if !matches!(phase, Phase::Done(_) | Phase::Terminating) {
                        all_finishing = false;
                    }
                }
                if all_finishing && !tl.entries.is_empty() {
                    StateOut::active("TERMINATING", "TERMINATING")
                } else if now < tl.first_running {
                    StateOut::active("PENDING", "PENDING")
                } else {
                    StateOut::active("RUNNING", "RUNNING")
                }
            }
        }
    }
}

/// One rendered entry of a run's `tasks`.
struct RenderedTask {
    task: usize,
    run_id: i64,
    attempt: u32,
    /// The entry, when the run has started.
    entry: Option<usize>,
    json: Map<String, Value>,
}

fn has_cluster(task: &TaskPlan) -> bool {
    ["new_cluster", "job_cluster_key", "existing_cluster_id"]
        .iter()
        .any(|field| task.settings.contains_key(*field))
}

fn cluster_instance(run: &RunRecord, task: &TaskPlan) -> Value {
    let cluster_id = match task.settings.get("existing_cluster_id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            let key = task
                .settings
                .get("job_cluster_key")
                .and_then(Value::as_str)
                .unwrap_or(&task.task_key);
            let suffix: String = key.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
            format!(
                "0101-{:06}-{}",
                run.run_id % 1_000_000,
                suffix.to_ascii_lowercase()
            )
        }
    };
    json!({"cluster_id": cluster_id, "spark_context_id": format!("{}", run.run_id.wrapping_mul(7919) % 1_000_000_007)})
}

/// One entry of `tasks`: the task's settings plus `(run_id, attempt)`, state and `times`
/// (`[start, end, setup, execution, cleanup, run_duration]`).
fn task_json(
    ctx: &Ctx<'_>,
    run: &RunRecord,
    plan: &TaskPlan,
    (run_id, attempt): (i64, u32),
    state: StateOut,
    times: [i64; 6],
    running: bool,
) -> Map<String, Value> {
    let [start, end, setup, execution, cleanup, duration] = times;
    let mut out = plan.settings.clone();
    if let (Some(outcome), true) = (plan.condition, state.result == Some("SUCCESS"))
        && let Some(Value::Object(condition)) = out.get_mut("condition_task")
    {
        condition.insert("outcome".into(), json!(if outcome { "true" } else { "false" }));
    }
    out.insert("run_id".into(), json!(run_id));
    out.insert("attempt_number".into(), json!(attempt));
    state.insert_into(&mut out);
    out.insert("start_time".into(), json!(start));
    out.insert("setup_duration".into(), json!(setup));
    out.insert("execution_duration".into(), json!(execution));
    out.insert("cleanup_duration".into(), json!(cleanup));
    out.insert("end_time".into(), json!(end));
    out.insert("run_duration".into(), json!(duration));
    out.insert("queue_duration".into(), json!(0));
    out.insert("run_page_url".into(), json!(ctx.page_url(run.job_id, run_id)));
    if running && has_cluster(plan) {
        out.insert("cluster_instance".into(), cluster_instance(run, plan));
    }
    out
}

/// The visible entries of a run's `tasks` at `now`.
fn rendered_tasks(ctx: &Ctx<'_>, d: &Derived<'_>) -> Vec<RenderedTask> {
    let run = d.run;
    let now = ctx.now;
    let Some(tl) = &d.timeline else {
        // Not started: every task shows the run's own waiting or terminal state.
        return run
            .tasks
            .iter()
            .enumerate()
            .map(|(task, plan)| {
                let (state, end) = match d.start {
                    RunStart::Skipped => (
                        StateOut {
                            result: None,
                            termination: None,
                            ..StateOut::skipped(run.max_concurrent_runs)
                        },
                        run.created,
                    ),
                    RunStart::CancelledInQueue(at) if at <= now => (StateOut::cancelled(), at),
                    _ => (StateOut::queued(run.max_concurrent_runs), 0),
                };
                let json = task_json(
                    ctx,
                    run,
                    plan,
                    (plan.first_run_id, 0),
                    state,
                    [0, end, 0, 0, 0, 0],
                    false,
                );
                RenderedTask {
                    task,
                    run_id: plan.first_run_id,
                    attempt: 0,
                    entry: None,
                    json,
                }
            })
            .collect();
    };
    tl.entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| {
            let phase = entry.phase(now);
            let plan = &run.tasks[entry.task];
            let state = match phase {
                Phase::Hidden => return None,
                Phase::Blocked => StateOut::active("BLOCKED", "BLOCKED"),
                Phase::WaitingForRetry => StateOut::active("WAITING_FOR_RETRY", "WAITING"),
                Phase::Pending => StateOut::active("PENDING", "PENDING"),
                Phase::Running => StateOut::active("RUNNING", "RUNNING"),
                Phase::Terminating => StateOut::active("TERMINATING", "TERMINATING"),
                Phase::Done(result) => task_done_state(plan, result),
            };
            let times = entry_times(entry, phase, now);
            let running = entry.executed && now >= entry.running_from;
            let json = task_json(
                ctx,
                run,
                plan,
                (entry.run_id, entry.attempt),
                state,
                times,
                running,
            );
            Some(RenderedTask {
                task: entry.task,
                run_id: entry.run_id,
                attempt: entry.attempt,
                entry: Some(index),
                json,
            })
        })
        .collect()
}

/// `[start_time, end_time, setup, execution, cleanup, run_duration]` of an entry at `now`:
/// a phase's duration appears once the phase is over.
fn entry_times(entry: &Entry, phase: Phase, now: i64) -> [i64; 6] {
    if matches!(phase, Phase::Hidden | Phase::Blocked | Phase::WaitingForRetry) {
        return [0; 6];
    }
    let start = entry.start();
    if !entry.executed {
        return [start, entry.end, 0, 0, 0, 0];
    }
    let setup = if now >= entry.running_from {
        entry.running_from - start
    } else {
        0
    };
    let execution = if now >= entry.stop && entry.stop != NEVER {
        entry.stop - entry.running_from
    } else {
        0
    };
    let done = matches!(phase, Phase::Done(_));
    let cleanup = if done { entry.end - entry.stop } else { 0 };
    let (end, duration) = if done {
        (entry.end, entry.end - start)
    } else {
        (0, 0)
    };
    [start, end, setup, execution, cleanup, duration]
}

/// How much of the `tasks`, `job_clusters` and `job_parameters` arrays to render.
#[derive(Clone, Copy)]
enum TasksOut {
    None,
    All,
    /// 2.2 paging: `(offset, len)`.
    Window(usize, usize),
}

/// A job run as `Run`/`BaseRun`; returns the JSON and whether arrays were cut short.
fn run_json(ctx: &Ctx<'_>, d: &Derived<'_>, tasks: TasksOut) -> (Map<String, Value>, bool) {
    let run = d.run;
    let now = ctx.now;
    let mut out = Map::new();
    out.insert("job_id".into(), json!(run.job_id));
    out.insert("run_id".into(), json!(run.run_id));
    out.insert("creator_user_name".into(), json!(run.creator_user_name));
    out.insert("number_in_job".into(), json!(run.run_id));
    out.insert("original_attempt_run_id".into(), json!(run.run_id));
    let state = run_state(d, now);
    let terminal = state.result.is_some();
    state.insert_into(&mut out);
    let (started, end) = match (d.start, &d.timeline) {
        (RunStart::At(at), Some(tl)) => (Some(at), if now >= tl.end { tl.end } else { 0 }),
        (RunStart::CancelledInQueue(at), _) if at <= now => (None, at),
        (RunStart::Skipped, _) => (None, run.created),
        _ => (None, 0),
    };
    let queue_duration = match (started, d.start) {
        (Some(at), _) => at - run.created,
        (None, RunStart::CancelledInQueue(at)) if at <= now => at - run.created,
        _ => 0,
    };
    out.insert("start_time".into(), json!(run.created));
    out.insert("setup_duration".into(), json!(0));
    out.insert("execution_duration".into(), json!(0));
    out.insert("cleanup_duration".into(), json!(0));
    out.insert("end_time".into(), json!(end));
    out.insert(
        "run_duration".into(),
        json!(if terminal { end - run.created } else { 0 }),
    );
    out.insert("queue_duration".into(), json!(queue_duration));
    out.insert("trigger".into(), json!("ONE_TIME"));
    out.insert("run_name".into(), json!(run.run_name));
    out.insert("run_page_url".into(), json!(ctx.page_url(run.job_id, run.run_id)));
    out.insert("run_type".into(), json!(run.run_type.as_str()));
    out.insert("format".into(), json!("MULTI_TASK"));
    out.insert("attempt_number".into(), json!(0));
    for (field, value) in &run.echo {
        if field != "job_clusters" {
            out.insert(field.clone(), value.clone());
        }
    }
    if let Some(overriding) = &run.overriding_parameters {
        out.insert("overriding_parameters".into(), overriding.clone());
    }
    let window = |items: &[Value]| -> (Vec<Value>, bool) {
        match tasks {
            TasksOut::None => (Vec::new(), false),
            TasksOut::All => (items.to_vec(), false),
            TasksOut::Window(offset, len) => {
                let lo = offset.min(items.len());
                let hi = offset.saturating_add(len).min(items.len());
                (items[lo..hi].to_vec(), hi < items.len())
            }
        }
    };
    let mut more = false;
    if !matches!(tasks, TasksOut::None) {
        let rendered: Vec<Value> = rendered_tasks(ctx, d)
            .into_iter()
            .map(|t| Value::Object(t.json))
            .collect();
        let (page, cut) = window(&rendered);
        more |= cut;
        out.insert("tasks".into(), Value::Array(page));
        if let Some(Value::Array(clusters)) = run.echo.get("job_clusters") {
            let (page, cut) = window(clusters);
            more |= cut;
            out.insert("job_clusters".into(), Value::Array(page));
        }
    }
    if let Some(Value::Array(parameters)) = &run.job_parameters {
        let (page, cut) = match tasks {
            TasksOut::None => (parameters.clone(), false),
            _ => window(parameters),
        };
        more |= cut;
        out.insert("job_parameters".into(), Value::Array(page));
    }
    (out, more)
}

/// A task run (one attempt) as a `Run`: `runs/get` with a task run id, and get-output metadata.
fn task_run_json(d: &Derived<'_>, task: &RenderedTask) -> Map<String, Value> {
    let run = d.run;
    let plan = &run.tasks[task.task];
    let mut out = Map::new();
    out.insert("job_id".into(), json!(run.job_id));
    out.insert("run_id".into(), json!(task.run_id));
    out.insert("job_run_id".into(), json!(run.run_id));
    out.insert("creator_user_name".into(), json!(run.creator_user_name));
    out.insert("number_in_job".into(), json!(task.run_id));
    out.insert("original_attempt_run_id".into(), json!(plan.first_run_id));
    out.insert("attempt_number".into(), json!(task.attempt));
    for field in [
        "state",
        "status",
        "start_time",
        "setup_duration",
        "execution_duration",
        "cleanup_duration",
        "end_time",
        "run_duration",
        "queue_duration",
        "run_page_url",
        "cluster_instance",
    ] {
        if let Some(value) = task.json.get(field) {
            out.insert(field.into(), value.clone());
        }
    }
    out.insert("trigger".into(), json!("ONE_TIME"));
    out.insert("run_name".into(), json!(plan.task_key));
    out.insert("run_type".into(), json!(run.run_type.as_str()));
    out.insert("format".into(), json!("MULTI_TASK"));
    if let Some(parameters) = &run.job_parameters {
        out.insert("job_parameters".into(), parameters.clone());
    }
    if let Some(overriding) = &run.overriding_parameters {
        out.insert("overriding_parameters".into(), overriding.clone());
    }
    out.insert("tasks".into(), json!([Value::Object(task.json.clone())]));
    out
}

fn find(store: &Store, run_id: i64) -> ApiResult<(&RunRecord, Option<(usize, u32)>)> {
    store
        .find_run(run_id)
        .ok_or_else(|| ApiError::run_not_found(run_id))
}

/// `GET /jobs/runs/get`.
pub fn get(state: &AppState, version: ApiVersion, query: &Query) -> ApiResult<Response> {
    let run_id = query.req_i64("run_id")?;
    let now = state.clock.now_ms();
    let ctx = Ctx::of(state, now);
    let store = state.jobs.read();
    let (run, task) = find(&store, run_id)?;
    let d = derive(&store, run, now);
    if let Some((task, attempt)) = task {
        let rendered = rendered_tasks(&ctx, &d);
        let entry = rendered
            .iter()
            .find(|t| t.task == task && t.attempt == attempt)
            .ok_or_else(|| ApiError::run_not_found(run_id))?;
        return json_ok(&task_run_json(&d, entry));
    }
    let offset = match query.get("page_token").filter(|t| !t.is_empty()) {
        Some(token) => parse_page_token(RUN_OUTPUT_PAGE_KIND, token)?,
        None => 0,
    };
    let tasks = if version >= ApiVersion::V22 {
        TasksOut::Window(offset, PAGE)
    } else {
        TasksOut::All
    };
    let (mut out, more) = run_json(&ctx, &d, tasks);
    insert_page_tokens(&mut out, page_tokens(RUN_OUTPUT_PAGE_KIND, offset, PAGE, more));
    json_ok(&out)
}

/// `GET /jobs/runs/list`.
pub fn list(state: &AppState, version: ApiVersion, query: &Query) -> ApiResult<Response> {
    let job_id = query.opt_i64("job_id")?;
    let active_only = query.bool("active_only")?;
    let completed_only = query.bool("completed_only")?;
    if active_only && completed_only {
        return Err(ApiError::invalid(
            "active_only and completed_only cannot both be true",
        ));
    }
    let limit = match query.opt_i64("limit")?.unwrap_or(RUNS_LIST_DEFAULT) {
        0 => RUNS_LIST_MAX,
        limit if (1..=RUNS_LIST_MAX).contains(&limit) => limit,
        limit => {
            return Err(ApiError::invalid(format!(
                "limit must be between 0 and {RUNS_LIST_MAX} (0 means {RUNS_LIST_MAX}), got {limit}"
            )));
        }
    };
    let limit = usize::try_from(limit).unwrap_or(RUNS_LIST_DEFAULT as usize);
    let offset = match query.get("page_token").filter(|t| !t.is_empty()) {
        Some(token) => parse_page_token(RUNS_LIST_KIND, token)?,
        None => match query.opt_i64("offset")? {
            Some(offset) if offset < 0 => {
                return Err(ApiError::invalid(format!(
                    "offset must be non-negative, got {offset}"
                )));
            }
            Some(offset) => usize::try_from(offset).unwrap_or(0),
            None => 0,
        },
    };
    let run_type = match query.get("run_type").filter(|t| !t.is_empty()) {
        None => None,
        Some("JOB_RUN") => Some(RunType::JobRun),
        Some("SUBMIT_RUN") => Some(RunType::SubmitRun),
        // Runs started by dbutils.notebook.run never happen here.
        Some("WORKFLOW_RUN") => return list_response(Vec::new(), false, offset, limit),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid run_type '{other}' (expected one of JOB_RUN, WORKFLOW_RUN, SUBMIT_RUN)"
            )));
        }
    };
    let from = query.opt_i64("start_time_from")?;
    let to = query.opt_i64("start_time_to")?;
    let expand = query.bool("expand_tasks")?;
    let now = state.clock.now_ms();
    let ctx = Ctx::of(state, now);
    let store = state.jobs.read();
    let matching = store.runs.values().rev().filter(|run| {
        job_id.is_none_or(|id| run.job_id == id)
            && run_type.is_none_or(|t| run.run_type == t)
            && from.is_none_or(|from| run.created >= from)
            && to.is_none_or(|to| run.created <= to)
            && (!(active_only || completed_only) || {
                let done = activity(&store, run, now) == Activity::Done;
                if active_only { !done } else { done }
            })
    });
    let mut page = Vec::with_capacity(limit);
    let mut has_more = false;
    for run in matching.skip(offset) {
        if page.len() == limit {
            has_more = true;
            break;
        }
        let d = derive(&store, run, now);
        let tasks = match (expand, version >= ApiVersion::V22) {
            (false, _) => TasksOut::None,
            (true, true) => TasksOut::Window(0, PAGE),
            (true, false) => TasksOut::All,
        };
        let (mut out, more) = run_json(&ctx, &d, tasks);
        if expand && version >= ApiVersion::V22 {
            out.insert("has_more".into(), json!(more));
        }
        page.push(Value::Object(out));
    }
    list_response(page, has_more, offset, limit)
}

fn list_response(runs: Vec<Value>, has_more: bool, offset: usize, limit: usize) -> ApiResult<Response> {
    let mut out = Map::new();
    if !runs.is_empty() {
        out.insert("runs".into(), Value::Array(runs));
    }
    out.insert("has_more".into(), json!(has_more));
    insert_page_tokens(&mut out, page_tokens(RUNS_LIST_KIND, offset, limit, has_more));
    json_ok(&out)
}

/// `GET /jobs/runs/get-output`: the output of one task run.
pub fn get_output(state: &AppState, _version: ApiVersion, query: &Query) -> ApiResult<Response> {
    let run_id = query.req_i64("run_id")?;
    let now = state.clock.now_ms();
    let ctx = Ctx::of(state, now);
    let store = state.jobs.read();
    let (run, task) = find(&store, run_id)?;
    let d = derive(&store, run, now);
    let rendered = rendered_tasks(&ctx, &d);
    let chosen = match task {
        Some((task, attempt)) => rendered.iter().find(|t| t.task == task && t.attempt == attempt),
        None if run.tasks.len() == 1 => rendered.iter().rev().find(|t| t.task == 0),
        None => return Err(ApiError::invalid(MULTI_TASK_OUTPUT_ERROR)),
    };
    let chosen = chosen.ok_or_else(|| ApiError::run_not_found(run_id))?;
    let plan = &run.tasks[chosen.task];
    let mut out = Map::new();
    out.insert("metadata".into(), Value::Object(task_run_json(&d, chosen)));
    let result = match (chosen.entry, &d.timeline) {
        (Some(index), Some(tl)) => match tl.entries[index].phase(now) {
            Phase::Done(result) => Some(result),
            _ => None,
        },
        _ => None,
    };
    let is_python = ["spark_python_task", "python_wheel_task"]
        .iter()
        .any(|k| plan.settings.contains_key(*k));
    match result {
        Some(TaskResult::Success) => {
            if is_python {
                let logs = plan
                    .output
                    .clone()
                    .unwrap_or_else(|| format!("task {} finished\n", plan.task_key));
                out.insert("logs".into(), json!(logs));
                out.insert("logs_truncated".into(), json!(false));
            } else if let Some(output) = &plan.output {
                out.insert(
                    "notebook_output".into(),
                    json!({"result": output, "truncated": false}),
                );
            }
        }
        Some(
            result @ (TaskResult::Failed
            | TaskResult::InternalError
            | TaskResult::TimedOut
            | TaskResult::JobTimedOut),
        ) => {
            let error = match result {
                TaskResult::TimedOut | TaskResult::JobTimedOut => "Run timed out".to_owned(),
                _ => plan.error.clone().unwrap_or_else(|| {
                    format!(
                        "Exception: task {} failed (scripted by the local workspace)",
                        plan.task_key
                    )
                }),
            };
            if is_python {
                out.insert("logs".into(), json!(format!("{error}\n")));
                out.insert("logs_truncated".into(), json!(false));
            }
            out.insert(
                "error_trace".into(),
                json!(format!(
                    "Traceback (most recent call last):\n  File \"{}\", line 1, in <module>\n{error}",
                    plan.task_key
                )),
            );
            out.insert("error".into(), json!(error));
        }
        _ => {}
    }
    json_ok(&out)
}

// ---------------------------------------------------------------------------------------------
// Stopping and deleting

/// `POST /jobs/runs/cancel`: asynchronous; a finished run is left as it is.
pub fn cancel(state: &AppState, _version: ApiVersion, body: Map<String, Value>) -> ApiResult<Response> {
    let run_id = req_i64(&body, "run_id")?;
    state.jobs.mutate(&state.clock, |store, now| {
        let parent = find(store, run_id)?.0.run_id;
        cancel_runs(store, &[parent], now);
        Ok(())
    })?;
    super::request::empty_ok()
}

/// Records a cancel event on each of `run_ids` that is not over yet.
pub fn cancel_runs(store: &mut Store, run_ids: &[i64], now: i64) {
    let active: Vec<i64> = run_ids
        .iter()
        .copied()
        .filter(|id| {
            store
                .runs
                .get(id)
                .is_some_and(|run| run.cancelled_at.is_none() && activity(store, run, now) != Activity::Done)
        })
        .collect();
    for id in active {
        if let Some(run) = store.runs.get_mut(&id) {
            run.cancelled_at = Some(now);
        }
    }
}

/// `POST /jobs/runs/cancel-all`: every active run of a job, or every queued run.
pub fn cancel_all(state: &AppState, _version: ApiVersion, body: Map<String, Value>) -> ApiResult<Response> {
    let job_id = opt_i64(&body, "job_id")?;
    let queued_only = opt_bool(&body, "all_queued_runs")?.unwrap_or(false);
    if job_id.is_none() && !queued_only {
        return Err(ApiError::invalid(
            "Either job_id or all_queued_runs must be specified",
        ));
    }
    state.jobs.mutate(&state.clock, |store, now| {
        if let Some(job_id) = job_id
            && !store.jobs.contains_key(&job_id)
        {
            return Err(ApiError::job_not_found(job_id));
        }
        let ids: Vec<i64> = store
            .runs
            .values()
            .filter(|run| job_id.is_none_or(|id| run.job_id == id))
            .filter(|run| match activity(store, run, now) {
                Activity::Queued => true,
                Activity::Active => !queued_only,
                Activity::Done => false,
            })
            .map(|run| run.run_id)
            .collect();
        cancel_runs(store, &ids, now);
        Ok(())
    })?;
    super::request::empty_ok()
}

/// `POST /jobs/runs/delete`: only runs that are over.
pub fn delete(state: &AppState, _version: ApiVersion, body: Map<String, Value>) -> ApiResult<Response> {
    let run_id = req_i64(&body, "run_id")?;
    state.jobs.mutate(&state.clock, |store, now| {
        let (run, task) = find(store, run_id)?;
        if task.is_some() {
            return Err(ApiError::invalid(format!(
                "Run {run_id} is a task run; delete its job run {} instead.",
                run.run_id
            )));
        }
        if activity(store, run, now) != Activity::Done {
            return Err(ApiError::invalid_state(format!(
                "Run {run_id} is still active and cannot be deleted. Cancel it first and delete it once it has terminated."
            )));
        }
        store.runs.remove(&run_id);
        Ok(())
    })?;
    super::request::empty_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_compare_strings_and_numbers_and_resolve_parameters() {
        let params = HashMap::from([("rows".to_owned(), "1000".to_owned())]);
        let cond = |v: Value| evaluate_condition(v.as_object().unwrap(), &params);
        assert!(cond(json!({"op": "EQUAL_TO", "left": "a", "right": "a"})));
        assert!(cond(
            json!({"op": "GREATER_THAN", "left": "{{job.parameters.rows}}", "right": "10"})
        ));
        assert!(!cond(json!({"op": "LESS_THAN", "left": "x", "right": "10"})));
        assert!(cond(json!({"op": "NOT_EQUAL", "left": "1", "right": "2"})));
    }

    #[test]
    fn only_selects_tasks_with_their_upstream_or_downstream() {
        let settings = json!({"tasks": [
            {"task_key": "a", "notebook_task": {}},
            {"task_key": "b", "depends_on": [{"task_key": "a"}], "notebook_task": {}},
            {"task_key": "c", "depends_on": [{"task_key": "b"}], "notebook_task": {}},
        ]});
        let settings = settings.as_object().unwrap();
        let pick = |only: Value| {
            let mut keys: Vec<String> = select_tasks(settings, only.as_array(), 1)
                .unwrap()
                .into_iter()
                .collect();
            keys.sort();
            keys
        };
        assert_eq!(pick(json!(["b"])), ["b"]);
        assert_eq!(pick(json!(["+b"])), ["a", "b"]);
        assert_eq!(pick(json!(["b+"])), ["b", "c"]);
        assert_eq!(pick(json!([])), ["a", "b", "c"]);
        assert!(select_tasks(settings, json!(["zz"]).as_array(), 1).is_err());
    }
}
