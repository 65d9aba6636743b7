//! Plain Rust mirrors of the contract's types (`wit/types.wit`), for the rest of the host.
//!
//! They are independent of wasmtime and of the generated bindings, serialise with serde (the
//! deploy engine journals actions and outcomes as JSON) and carry Databricks objects
//! (JobSettings, ACLs, configs) as [`serde_json::Value`] rather than text: the runtime parses
//! what a plugin returns at the boundary, so an action whose settings are not JSON is a
//! [`crate::Error::BadOutput`], never a surprise in the executor.
//!
//! Enums serialise as kebab-case strings, tagged unions as `{"type": "<kebab-case>", ...}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kind of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Drives a rollout step by step.
    Strategy,
    /// Judges a deployment.
    Gate,
    /// Renders deployment events into messages.
    Notifier,
}

impl PluginKind {
    /// `strategy`, `gate` or `notifier`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Strategy => "strategy",
            PluginKind::Gate => "gate",
            PluginKind::Notifier => "notifier",
        }
    }

    /// `strategies`, `gates` or `notifiers`.
    pub fn plural(self) -> &'static str {
        match self {
            PluginKind::Strategy => "strategies",
            PluginKind::Gate => "gates",
            PluginKind::Notifier => "notifiers",
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a plugin says about itself (`describe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Short kebab-case name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Its kind.
    pub kind: PluginKind,
    /// The contract version it was written against (`0.1.0`).
    pub contract: String,
    /// One paragraph for people.
    pub description: String,
    /// JSON Schema of its configuration (JSON text), when published.
    pub config_schema: Option<String>,
    /// An example configuration (JSON text), when published.
    pub config_example: Option<String>,
}

/// One thing wrong with a plugin configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// JSON pointer into the configuration ("" for the whole document).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

/// What the planner decided for the job as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanAction {
    /// No live job: create one.
    Create,
    /// The live job differs from the desired settings or ACL.
    Update,
    /// The live job already equals the desired settings and ACL (normalised).
    Unchanged,
}

/// The kind of one field-level change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeOp {
    /// The field is new.
    Add,
    /// The field goes away.
    Remove,
    /// The field's value changes.
    Replace,
}

/// One field-level difference between the live and the desired job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// JSON pointer into the JobSettings (or `/access_control_list/...`).
    pub path: String,
    /// What happens to the field.
    pub op: ChangeOp,
    /// Previous value; none for `add`.
    pub before: Option<Value>,
    /// New value; none for `remove`.
    pub after: Option<Value>,
}

/// The planner's diff of live vs desired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Create, update or unchanged.
    pub action: PlanAction,
    /// Empty when unchanged; one `add` at "" for create.
    pub changes: Vec<Change>,
}

/// Who and what is being deployed (see `wit/types.wit` `deployment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Unique id of this deployment (the journal key).
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Target environment name.
    pub environment: String,
    /// Content hash of the rendered settings or git commit.
    pub version: String,
    /// Desired JobSettings (a JSON object).
    pub desired: Value,
    /// Desired job ACL (a JSON array in the Permissions API shape), when the project sets one.
    pub acl: Option<Value>,
    /// Live JobSettings before this deployment, when a live job exists.
    pub live: Option<Value>,
    /// Id of the live job, when one exists.
    pub live_job_id: Option<i64>,
    /// The planner's diff.
    pub plan: Plan,
    /// This plugin's configuration (`{}` when none).
    pub config: Value,
    /// Milliseconds since the Unix epoch at the time of the call.
    pub now_ms: u64,
}

/// A job a strategy refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum JobRef {
    /// The live job of this pipeline/environment.
    Live,
    /// A job created earlier in this deployment by `create-job` with this label.
    Created {
        /// The `create-job` label.
        label: String,
    },
    /// Any job by id.
    Id {
        /// The job id.
        job_id: i64,
    },
}

/// A run a strategy refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RunRef {
    /// The run started by the `run-job` action with this id.
    StartedBy {
        /// The `run-job` action's id.
        action_id: String,
    },
    /// Any run by id.
    Id {
        /// The run id.
        run_id: i64,
    },
}

/// Terminal result of a run or task run (Jobs API `result_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    Success,
    Failed,
    TimedOut,
    Canceled,
    Skipped,
    InternalError,
    SuccessWithFailures,
    UpstreamFailed,
    UpstreamCanceled,
    Excluded,
    Disabled,
    MaximumConcurrentRunsReached,
}

/// One task run inside a job run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    /// The task's `task_key`.
    pub task_key: String,
    /// The task run's id.
    pub run_id: i64,
    /// None while the task has not finished.
    pub result_state: Option<RunResult>,
    /// Start instant (ms since epoch); 0 when it never started.
    pub start_ms: u64,
    /// Setup + execution + cleanup, in ms.
    pub duration_ms: u64,
    /// Attempts made.
    pub attempts: u32,
}

/// A job run summarised for analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run id.
    pub run_id: i64,
    /// The job id.
    pub job_id: i64,
    /// None while the run is active.
    pub result_state: Option<RunResult>,
    /// The Jobs API state message, may be empty.
    pub state_message: String,
    /// Start instant (ms since epoch).
    pub start_ms: u64,
    /// Wall time (queue excluded), ms.
    pub duration_ms: u64,
    /// Time queued, ms.
    pub queue_ms: u64,
    /// Job parameters used (name, value).
    pub parameters: Vec<(String, String)>,
    /// Per-task summaries.
    pub tasks: Vec<TaskSummary>,
    /// Tasks whose final result is not success, excluded or disabled.
    pub failed_tasks: u32,
    /// Tasks that needed more than one attempt.
    pub retried_tasks: u32,
    /// Link to the run in the workspace UI.
    pub url: Option<String>,
}

/// The output one task run reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOutput {
    /// The task's `task_key`.
    pub task_key: String,
    /// The task run's id.
    pub run_id: i64,
    /// The notebook exit value, when any.
    pub notebook_result: Option<String>,
    /// True when the workspace truncated the output.
    pub truncated: bool,
    /// The task's error message, when it failed.
    pub error: Option<String>,
    /// Tail of stdout/stderr, when available.
    pub logs: Option<String>,
}

/// A job parameter passed to `run-now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Parameter name.
    pub name: String,
    /// Parameter value.
    pub value: String,
}

/// What a strategy asks the host to do (see `wit/types.wit` `action-kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ActionKind {
    /// Create a job; later actions call it `JobRef::Created { label }`.
    CreateJob {
        /// Label unique within the deployment.
        label: String,
        /// JobSettings (a JSON object).
        settings: Value,
    },
    /// Replace a job's settings (`jobs/reset`).
    ResetJob {
        /// Which job.
        job: JobRef,
        /// JobSettings (a JSON object).
        settings: Value,
    },
    /// Delete a job.
    DeleteJob {
        /// Which job.
        job: JobRef,
    },
    /// Change a job's name.
    RenameJob {
        /// Which job.
        job: JobRef,
        /// The new name.
        name: String,
    },
    /// Pause the job's schedule/trigger.
    PauseSchedule {
        /// Which job.
        job: JobRef,
    },
    /// Unpause the job's schedule/trigger.
    UnpauseSchedule {
        /// Which job.
        job: JobRef,
    },
    /// Cancel all active runs (asynchronous: follow with `WaitActiveRuns`).
    CancelActiveRuns {
        /// Which job.
        job: JobRef,
    },
    /// Wait until the job has no active runs.
    WaitActiveRuns {
        /// Which job.
        job: JobRef,
        /// Give up after this long (ms).
        timeout_ms: u64,
    },
    /// List the job's active runs.
    ListActiveRuns {
        /// Which job.
        job: JobRef,
    },
    /// Start a run (`run-now`).
    RunJob {
        /// Which job.
        job: JobRef,
        /// Job parameters.
        parameters: Vec<Parameter>,
        /// 1..=64 characters; at most one run per token.
        idempotency_token: String,
    },
    /// Wait until a run is terminal.
    WaitRun {
        /// Which run.
        run: RunRef,
        /// Give up after this long (ms).
        timeout_ms: u64,
    },
    /// The last N finished runs of a job, newest first.
    RunHistory {
        /// Which job.
        job: JobRef,
        /// 1..=100.
        limit: u32,
        /// Only runs started at or after this instant (ms since epoch).
        since_ms: Option<u64>,
    },
    /// The outputs of every task run of a run.
    RunOutput {
        /// Which run.
        run: RunRef,
    },
    /// Sleep.
    Wait {
        /// How long (ms).
        duration_ms: u64,
    },
    /// Ask a human to approve continuing.
    RequestApproval {
        /// Shown to them.
        message: String,
    },
    /// Replace a job's direct ACL.
    SetPermissions {
        /// Which job.
        job: JobRef,
        /// JSON array in the Permissions API shape.
        acl: Value,
    },
    /// Compare a job's live settings with expected ones (normalised).
    VerifyJob {
        /// Which job.
        job: JobRef,
        /// Expected JobSettings (a JSON object).
        settings: Value,
    },
    /// Run the environment's gates configured for `point` over runs of this deployment and
    /// answer with their combined verdict ([`OutcomeKind::GateVerdict`]); see `wit/types.wit`
    /// `gate-check`. Never `pre-deploy` (the runtime refuses it), at most 100 evidence runs.
    GateCheck {
        /// `pre-promote` or `post-deploy`.
        point: GatePoint,
        /// Runs started earlier in this deployment, oldest first.
        evidence: Vec<RunRef>,
    },
}

impl ActionKind {
    /// True for actions that change the workspace (dry-run refuses them).
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            ActionKind::CreateJob { .. }
                | ActionKind::ResetJob { .. }
                | ActionKind::DeleteJob { .. }
                | ActionKind::RenameJob { .. }
                | ActionKind::PauseSchedule { .. }
                | ActionKind::UnpauseSchedule { .. }
                | ActionKind::CancelActiveRuns { .. }
                | ActionKind::RunJob { .. }
                | ActionKind::SetPermissions { .. }
        )
    }
}

/// The most evidence runs one `gate-check` may name.
pub const MAX_GATE_EVIDENCE: usize = 100;

/// One action with the id that pairs it with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Unique within the deployment; 1..=64 of `[A-Za-z0-9._-]`.
    pub id: String,
    /// What to do.
    #[serde(flatten)]
    pub kind: ActionKind,
}

/// One field that differs between a job's live settings and the expected ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// JSON pointer into the JobSettings.
    pub path: String,
    /// Expected value; none when the field should be absent.
    pub expected: Option<Value>,
    /// Live value; none when absent.
    pub actual: Option<Value>,
}

/// What happened when the host performed an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Completed, nothing to report.
    Done,
    /// `create-job`: the new job's id.
    JobCreated {
        /// The new job's id.
        job_id: i64,
    },
    /// `run-job`: the run's id.
    RunStarted {
        /// The run id.
        run_id: i64,
    },
    /// `wait-run`: the run is terminal.
    RunFinished {
        /// The finished run.
        run: RunSummary,
    },
    /// `run-history` (newest first) and `list-active-runs`.
    Runs {
        /// The runs.
        runs: Vec<RunSummary>,
    },
    /// `run-output`: one entry per task run.
    Outputs {
        /// The outputs.
        outputs: Vec<TaskOutput>,
    },
    /// A wait's deadline passed.
    TimedOut {
        /// The run as last seen (`wait-run`), none for `wait-active-runs`.
        run: Option<RunSummary>,
    },
    /// `request-approval` granted.
    Approved {
        /// Who.
        by: String,
        /// Their comment.
        comment: String,
    },
    /// `request-approval` refused.
    Rejected {
        /// Who.
        by: String,
        /// Their comment.
        comment: String,
    },
    /// `verify-job`: differences found (empty: matches).
    Verified {
        /// The differences.
        differences: Vec<Difference>,
    },
    /// `gate-check`: the combined verdict of the gates at that point. A `fail` or
    /// `inconclusive` decision ends the step like a failed action (the rest are skipped).
    GateVerdict {
        /// The combined verdict.
        verdict: Verdict,
    },
    /// The action failed.
    Failed {
        /// Databricks `error_code` or a host code.
        code: String,
        /// What went wrong.
        message: String,
        /// True when retrying later might succeed.
        retryable: bool,
    },
    /// Not performed because an earlier action of the same step failed or timed out.
    Skipped,
}

impl OutcomeKind {
    /// True when this outcome ends its step: the host marks the step's remaining actions
    /// [`OutcomeKind::Skipped`] and calls the strategy again. That is a failed, timed-out or
    /// rejected action, or a gate verdict of `fail` or `inconclusive`.
    pub fn stops_step(&self) -> bool {
        match self {
            OutcomeKind::Failed { .. } | OutcomeKind::TimedOut { .. } | OutcomeKind::Rejected { .. } => true,
            OutcomeKind::GateVerdict { verdict } => {
                matches!(verdict.decision, Decision::Fail | Decision::Inconclusive)
            }
            _ => false,
        }
    }
}

/// The outcome of one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The action's id.
    pub action_id: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: OutcomeKind,
}

/// Where a rollout stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Perform the actions and call `step` again.
    Running,
    /// Park until a human resumes or aborts (no actions).
    Paused,
    /// Done (no actions).
    Succeeded,
    /// Given up; roll back (no actions).
    Failed,
}

impl Phase {
    /// True for `succeeded` and `failed`.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

/// What `step` returned, validated by the runtime: unique well-formed action ids, JSON
/// settings, no actions with a paused or final phase, state within its size limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Perform in order; after a failure the rest are skipped.
    pub actions: Vec<Action>,
    /// Opaque state to journal and hand back.
    pub state: String,
    /// Where the rollout stands.
    pub phase: Phase,
    /// For people.
    pub message: String,
}

/// The named points at which the host asks gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatePoint {
    /// Before any mutation.
    PreDeploy,
    /// Before a rollout widens.
    PrePromote,
    /// After the strategy succeeded.
    PostDeploy,
}

impl GatePoint {
    /// `pre-deploy`, `pre-promote` or `post-deploy`.
    pub fn as_str(self) -> &'static str {
        match self {
            GatePoint::PreDeploy => "pre-deploy",
            GatePoint::PrePromote => "pre-promote",
            GatePoint::PostDeploy => "post-deploy",
        }
    }
}

impl std::fmt::Display for GatePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gate's judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Nothing wrong.
    Pass,
    /// Proceed, look at the findings.
    Warn,
    /// The gate could not judge.
    Inconclusive,
    /// Stop.
    Fail,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// For information.
    Info,
    /// Worth a look.
    Warning,
    /// A problem.
    Error,
}

/// One observation of a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case code.
    pub code: String,
    /// For people.
    pub message: String,
    /// How serious.
    pub severity: Severity,
    /// JSON pointer into the desired settings (or ACL), when about one field.
    pub path: Option<String>,
}

/// Estimated cost of the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// ISO 4217 code.
    pub currency: String,
    /// Cost of one run.
    pub per_run: f64,
    /// Runs per month implied by the schedule.
    pub runs_per_month: f64,
    /// `per_run * runs_per_month`.
    pub per_month: f64,
    /// DBUs per run.
    pub dbu_per_run: f64,
    /// How it was estimated.
    pub basis: String,
}

/// Everything a gate judges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateInput {
    /// The deployment.
    pub deployment: Deployment,
    /// Where in the deployment.
    pub point: GatePoint,
    /// The cost estimate, when there is one.
    pub cost: Option<CostEstimate>,
    /// Runs observed so far, oldest first.
    pub evidence: Vec<RunSummary>,
}

/// A gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// One line for people.
    pub summary: String,
    /// The findings.
    pub findings: Vec<Finding>,
}

/// What happened to a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// Execution began.
    Started,
    /// A strategy step finished.
    StepDone,
    /// Waiting for a human.
    PausedForApproval,
    /// A gate refused.
    GateFailed,
    /// Deployed.
    Succeeded,
    /// Failed and restored.
    RolledBack,
    /// Failed and not (fully) restored.
    Failed,
}

/// A deployment event for notifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The deployment.
    pub deployment: Deployment,
    /// Strategy name.
    pub strategy: String,
    /// One line.
    pub message: String,
    /// Extra detail for long formats, may be empty.
    pub detail: String,
    /// Relevant gate findings.
    pub findings: Vec<Finding>,
    /// The job's id, when known.
    pub job_id: Option<i64>,
    /// Link to the job or run, when known.
    pub url: Option<String>,
    /// When (ms since epoch).
    pub at_ms: u64,
}

/// An HTTP request for the host to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `POST`, `PUT`, ...
    pub method: String,
    /// Destination.
    pub url: String,
    /// Header (name, value) pairs.
    pub headers: Vec<(String, String)>,
    /// Body, when any.
    pub body: Option<String>,
}

/// An email for the host to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Recipients.
    pub to: Vec<String>,
    /// Copied recipients.
    pub cc: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML alternative.
    pub html: Option<String>,
}

/// A message a notifier produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Message {
    /// An HTTP request.
    Http(HttpRequest),
    /// An email.
    Email(Email),
}
