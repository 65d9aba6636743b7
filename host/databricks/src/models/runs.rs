//! Runs: state, status, tasks, output and the run-now / submit requests.

use std::collections::BTreeMap;

use serde_json::Value;

use super::jobs::{GitSource, JobCluster, JobEnvironment, JobRunAs, QueueSettings, Task};
use super::other::AccessControlRequest;

string_enum! {
    /// Legacy `state.life_cycle_state` (still what waiters rely on).
    pub enum RunLifeCycleState {
        Queued = "QUEUED",
        Pending = "PENDING",
        Running = "RUNNING",
        Terminating = "TERMINATING",
        Terminated = "TERMINATED",
        Skipped = "SKIPPED",
        InternalError = "INTERNAL_ERROR",
        Blocked = "BLOCKED",
        WaitingForRetry = "WAITING_FOR_RETRY",
    }
}

impl RunLifeCycleState {
    /// `TERMINATED`, `SKIPPED` or `INTERNAL_ERROR`: the run will not change any more.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Terminated | Self::Skipped | Self::InternalError)
    }
}

string_enum! {
    /// Legacy `state.result_state`, set on terminal states.
    pub enum RunResultState {
        Success = "SUCCESS",
        Failed = "FAILED",
        Timedout = "TIMEDOUT",
        Canceled = "CANCELED",
        MaximumConcurrentRunsReached = "MAXIMUM_CONCURRENT_RUNS_REACHED",
        Excluded = "EXCLUDED",
        SuccessWithFailures = "SUCCESS_WITH_FAILURES",
        UpstreamFailed = "UPSTREAM_FAILED",
        UpstreamCanceled = "UPSTREAM_CANCELED",
        Disabled = "DISABLED",
    }
}

string_enum! {
    /// `status.state` (the v2 status).
    pub enum RunStatusState {
        Queued = "QUEUED",
        Pending = "PENDING",
        Running = "RUNNING",
        Terminating = "TERMINATING",
        Terminated = "TERMINATED",
        Blocked = "BLOCKED",
        Waiting = "WAITING",
    }
}

string_enum! {
    /// `status.termination_details.type`.
    pub enum TerminationType {
        Success = "SUCCESS",
        InternalError = "INTERNAL_ERROR",
        ClientError = "CLIENT_ERROR",
        CloudFailure = "CLOUD_FAILURE",
    }
}

model! {
    /// Legacy run state: always present in practice.
    pub struct RunState {
        opt life_cycle_state: RunLifeCycleState,
        opt result_state: RunResultState,
        opt state_message: String,
        opt user_cancelled_or_timedout: bool,
        opt queue_reason: String,
    }
}

model! {
    /// v2 run status.
    pub struct RunStatus {
        opt state: RunStatusState,
        opt termination_details: TerminationDetails,
        opt queue_details: Value,
    }
}

model! {
    pub struct TerminationDetails {
        /// e.g. `SUCCESS`, `USER_CANCELED`, `RUN_EXECUTION_ERROR`.
        opt code: String,
        #[serde(rename = "type")]
        opt termination_type: TerminationType,
        opt message: String,
    }
}

model! {
    /// A job parameter of a run: its definition and the value used.
    pub struct RunJobParameter {
        req name: String,
        opt default: String,
        opt value: String,
    }
}

model! {
    /// A run (`runs/get`) or, without tasks, a list entry (`runs/list`).
    pub struct Run {
        req run_id: i64,
        opt job_id: i64,
        opt job_run_id: i64,
        opt number_in_job: i64,
        opt original_attempt_run_id: i64,
        opt attempt_number: i64,
        opt run_name: String,
        opt run_type: String,
        opt trigger: String,
        opt state: RunState,
        opt status: RunStatus,
        opt start_time: i64,
        opt end_time: i64,
        opt setup_duration: i64,
        opt execution_duration: i64,
        opt cleanup_duration: i64,
        opt run_duration: i64,
        opt queue_duration: i64,
        opt run_page_url: String,
        opt tasks: Vec<RunTask>,
        opt job_clusters: Vec<JobCluster>,
        opt job_parameters: Vec<RunJobParameter>,
        opt overriding_parameters: Value,
        opt creator_user_name: String,
        opt description: String,
        opt has_more: bool,
        opt next_page_token: String,
    }
}

/// A run as `runs/list` returns it.
pub type BaseRun = Run;

impl Run {
    /// `state.life_cycle_state`, if present.
    pub fn life_cycle_state(&self) -> Option<&RunLifeCycleState> {
        self.state.as_ref()?.life_cycle_state.as_ref()
    }
    /// `state.result_state`, if present.
    pub fn result_state(&self) -> Option<&RunResultState> {
        self.state.as_ref()?.result_state.as_ref()
    }
    /// Whether the run reached a terminal life-cycle state.
    pub fn is_terminal(&self) -> bool {
        self.life_cycle_state()
            .is_some_and(RunLifeCycleState::is_terminal)
    }
    /// Whether the run finished with `SUCCESS`.
    pub fn succeeded(&self) -> bool {
        matches!(self.result_state(), Some(RunResultState::Success))
    }
    /// The task run with `task_key`.
    pub fn task(&self, task_key: &str) -> Option<&RunTask> {
        self.tasks.as_ref()?.iter().find(|t| t.task_key == task_key)
    }
}

model! {
    /// A task of a run: the task settings echoed plus its own run id, state and timings.
    pub struct RunTask {
        req task_key: String,
        opt run_id: i64,
        opt state: RunState,
        opt status: RunStatus,
        opt start_time: i64,
        opt end_time: i64,
        opt setup_duration: i64,
        opt execution_duration: i64,
        opt cleanup_duration: i64,
        opt run_duration: i64,
        opt queue_duration: i64,
        opt attempt_number: i64,
        opt run_page_url: String,
        opt depends_on: Vec<super::jobs::TaskDependency>,
        opt cluster_instance: Value,
    }
}

model! {
    /// The output of one task run (`runs/get-output`).
    pub struct RunOutput {
        opt metadata: Box<Run>,
        opt notebook_output: NotebookOutput,
        opt logs: String,
        opt logs_truncated: bool,
        opt error: String,
        opt error_trace: String,
        opt sql_output: Value,
        opt dbt_output: Value,
        opt run_job_output: Value,
    }
}

model! {
    /// The value a notebook passed to `dbutils.notebook.exit`.
    pub struct NotebookOutput {
        opt result: String,
        opt truncated: bool,
    }
}

model! {
    /// The body of `jobs/run-now`. Builder-style defaults: no parameters, no token (the client
    /// adds a UUID), all tasks, the job's queue setting.
    pub struct RunNow {
        req job_id: i64,
        opt job_parameters: BTreeMap<String, String>,
        /// Up to 64 characters; one run per token. The client sets a UUID when this is `None`.
        opt idempotency_token: String,
        /// Task keys to run (`+key` adds upstream, `key+` downstream).
        opt only: Vec<String>,
        opt queue: QueueSettings,
        opt performance_target: String,
    }
}

impl RunNow {
    /// Run `job_id` with its defaults.
    pub fn new(job_id: i64) -> Self {
        Self {
            job_id,
            ..Self::default()
        }
    }
    /// Sets a job parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.job_parameters
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), value.into());
        self
    }
    /// Sets the idempotency token.
    pub fn idempotency_token(mut self, token: impl Into<String>) -> Self {
        self.idempotency_token = Some(token.into());
        self
    }
}

model! {
    /// The body of `jobs/runs/submit` (a one-time run without a job).
    pub struct SubmitRun {
        opt run_name: String,
        opt tasks: Vec<Task>,
        opt idempotency_token: String,
        opt git_source: GitSource,
        opt environments: Vec<JobEnvironment>,
        opt timeout_seconds: i64,
        opt run_as: JobRunAs,
        opt queue: QueueSettings,
        opt tags: BTreeMap<String, String>,
        opt access_control_list: Vec<AccessControlRequest>,
    }
}

/// A run that was started: its id and the idempotency token it was started with (journal it
/// to retry the same start later without starting a second run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStarted {
    pub run_id: i64,
    pub number_in_job: Option<i64>,
    pub idempotency_token: String,
}
