//! The commands: validate, plan, deploy, status, history, rollback.
//!
//! Every command starts the same way ([`prepare`]): load and render the pipeline, stop on file
//! errors, connect to the environment's workspace. `plan` and `deploy` then read the live job and
//! its journal ([`read_live`]) and plan. `deploy` and `rollback` share the mutating half
//! ([`execute`]): approve, lock, journal, upload, strategy loop, verify, run, record, unlock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use databricks::Client;
use plugin_host::types::{
    Action, EventKind as EventKind2, GatePoint, Outcome, OutcomeKind, Phase, StepResult,
};
use plugin_host::{PluginRef, PluginRuntime};
use serde::Serialize;
use serde_json::{Value, json};

use super::executor::{
    ApprovalDecision, Approver, BoxFuture, ExecContext, Executor, MANAGED_TAGS, Observer, Performed,
};
use super::extensions::{DeploymentGates, Extensions};
use super::journal::{
    Approval, DeploymentKind, DeploymentRecord, Desired, EventKind, Index, IndexEntry, Journal, Manifest,
    PendingApproval, Snapshot, StateLocation, Status,
};
use super::lock::{self, LockGuard, LockInfo};
use super::probe::ClientProbe;
use super::report::{ActionReport, PhaseReport, Report, ReportStatus, RollbackReport};
use super::sync::{self as code_sync, SyncState, Upload};
use super::{EngineError, WorkspaceChoice, connect, format_time_ms, new_deployment_id, now_ms};
use crate::diagnostics::Diagnostics;
use crate::plan::{JobAction, NormalizeOptions, Plan};
use crate::project::{self, EnvLookup, LoadRequest, RenderedPipeline};
use crate::validate;

/// What to do with runs of the live job that are active when a deploy starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActiveRuns {
    Wait,
    Cancel,
    Fail,
}

impl ActiveRuns {
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveRuns::Wait => "wait",
            ActiveRuns::Cancel => "cancel",
            ActiveRuns::Fail => "fail",
        }
    }
}

/// Which pipeline, environment and workspace a command is about.
#[derive(Debug, Clone)]
pub struct Target {
    pub project_dir: PathBuf,
    pub pipeline: String,
    pub environment: String,
    pub config_file: Option<PathBuf>,
    /// `--host`.
    pub host: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    pub strict: bool,
}

/// `brickship deploy`, resolved.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub target: Target,
    pub strategy: Option<String>,
    pub dry_run: bool,
    /// Validate against the workspace (file checks always run).
    pub validate: Option<bool>,
    pub enable_monitoring: Option<bool>,
    pub rollback_on_failure: Option<bool>,
    pub approval_required: Option<bool>,
    pub approve: bool,
    pub active_runs: Option<ActiveRuns>,
    pub active_runs_timeout: Option<Duration>,
    /// Trigger a run after deploying a job without schedule or trigger.
    pub run_after: bool,
    pub force_lock: bool,
    /// When an approval is needed and nobody can answer now, record a pending approval and
    /// pause (for `brickship approve`) instead of refusing.
    pub request_approval: bool,
    /// `--canary-percentage`: the canary's first step.
    pub canary_percentage: Option<u8>,
}

/// `brickship rollback`, resolved.
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    pub target: Target,
    pub to: Option<String>,
    pub approve: bool,
    pub force_lock: bool,
}

/// What the engine tells the user while it works.
#[derive(Debug)]
pub enum EngineEvent<'a> {
    /// A phase started (`done: None`) or ended.
    Phase {
        name: &'a str,
        done: Option<bool>,
        detail: Option<&'a str>,
    },
    /// Validation warnings (errors end the command with [`EngineError::Invalid`]).
    Findings(&'a Diagnostics),
    /// The plan, before anything changes.
    Plan { plan: &'a Plan, uploads: &'a [Upload] },
    /// A strategy step was decided.
    Step {
        step: u32,
        phase: Phase,
        message: &'a str,
    },
    /// An action is about to run (or, in a dry run, would run).
    Action {
        step: u32,
        action: &'a Action,
        dry_run: bool,
    },
    /// An action finished.
    Outcome {
        step: u32,
        action: &'a Action,
        outcome: &'a Outcome,
        duration: Duration,
    },
    /// Gates answered at a point.
    Gates {
        point: &'a str,
        decision: &'a str,
        rendered: &'a str,
    },
    /// Something is being waited for.
    Waiting { message: &'a str },
    /// Worth saying.
    Note { message: &'a str },
}

/// Where the engine's events go, and how it asks a human.
pub trait Reporter: Sync {
    fn event(&self, event: EngineEvent<'_>);
    /// Asks a yes/no question; `None` when nobody can answer (not a terminal).
    fn confirm(&self, question: &str) -> Option<bool>;
}

/// The end of a deploy or rollback.
#[derive(Debug)]
pub struct DeployOutcome {
    pub report: Report,
    /// Where the report was written (JSON and Markdown).
    pub report_paths: Vec<PathBuf>,
}

impl DeployOutcome {
    /// 0 ok (including no-op, dry run and paused), 1 failed or rolled back, 4 when the
    /// strategy crashed, timed out or returned garbage (after rolling back).
    pub fn exit_code(&self) -> u8 {
        if self.report.plugin_failed {
            return 4;
        }
        match self.report.status {
            ReportStatus::Succeeded | ReportStatus::NoOp | ReportStatus::DryRun | ReportStatus::Paused => 0,
            ReportStatus::RolledBack | ReportStatus::Failed => 1,
        }
    }
}

/// A loaded pipeline with its workspace client.
struct Prepared {
    pipeline: RenderedPipeline,
    client: Client,
    location: StateLocation,
    choice: WorkspaceChoice,
    warnings: Diagnostics,
}

pub(crate) fn load_pipeline(
    target: &Target,
    env: EnvLookup<'_>,
    enable_monitoring: Option<bool>,
) -> Result<(RenderedPipeline, Diagnostics), EngineError> {
    let request = LoadRequest {
        project_dir: &target.project_dir,
        pipeline: &target.pipeline,
        environment: &target.environment,
        config_file: target.config_file.as_deref(),
        variables: &[],
        env,
        enable_monitoring,
        strict: target.strict,
    };
    let loaded = validate::load_and_validate(&request);
    if loaded.diagnostics.has_errors() || loaded.pipeline.is_none() {
        let summary = loaded.diagnostics.summary();
        return Err(EngineError::Invalid {
            summary,
            diagnostics: Box::new(loaded.diagnostics),
        });
    }
    let pipeline = loaded
        .pipeline
        .ok_or_else(|| EngineError::Internal("rendering produced no pipeline".into()))?;
    Ok((pipeline, loaded.diagnostics))
}

async fn prepare(
    target: &Target,
    env: EnvLookup<'_>,
    enable_monitoring: Option<bool>,
    reporter: &dyn Reporter,
) -> Result<Prepared, EngineError> {
    let (pipeline, warnings) = load_reported(target, env, enable_monitoring, reporter)?;
    connect_prepared(pipeline, warnings, target, reporter).await
}

/// The `load` phase: the project rendered and checked offline; warnings are reported.
fn load_reported(
    target: &Target,
    env: EnvLookup<'_>,
    enable_monitoring: Option<bool>,
    reporter: &dyn Reporter,
) -> Result<(RenderedPipeline, Diagnostics), EngineError> {
    reporter.event(EngineEvent::Phase {
        name: "load",
        done: None,
        detail: None,
    });
    let (pipeline, warnings) = load_pipeline(target, env, enable_monitoring)?;
    if !warnings.is_empty() {
        reporter.event(EngineEvent::Findings(&warnings));
    }
    reporter.event(EngineEvent::Phase {
        name: "load",
        done: Some(true),
        detail: None,
    });
    Ok((pipeline, warnings))
}

/// The `connect` phase for a loaded pipeline.
async fn connect_prepared(
    pipeline: RenderedPipeline,
    warnings: Diagnostics,
    target: &Target,
    reporter: &dyn Reporter,
) -> Result<Prepared, EngineError> {
    let choice = WorkspaceChoice::pick(
        &pipeline.environment.workspace,
        target.host.as_deref(),
        target.profile.as_deref(),
    );
    reporter.event(EngineEvent::Phase {
        name: "connect",
        done: None,
        detail: Some(&choice.describe()),
    });
    let client = connect(&choice, &target.project_dir, &target.environment).await?;
    reporter.event(EngineEvent::Phase {
        name: "connect",
        done: Some(true),
        detail: Some(client.base_url()),
    });
    let location = StateLocation::new(
        &pipeline.project.state_root,
        &pipeline.pipeline,
        &pipeline.environment.name,
    );
    Ok(Prepared {
        pipeline,
        client,
        location,
        choice,
        warnings,
    })
}

async fn validate_workspace(prepared: &Prepared, reporter: &dyn Reporter) -> Result<(), EngineError> {
    reporter.event(EngineEvent::Phase {
        name: "validate",
        done: None,
        detail: Some("workspace"),
    });
    let mut diags = Diagnostics::new(prepared.pipeline.environment.name.is_empty());
    validate::workspace::check_workspace(&prepared.pipeline, &ClientProbe(&prepared.client), &mut diags)
        .await;
    if diags.has_errors() {
        let summary = diags.summary();
        return Err(EngineError::Invalid {
            summary,
            diagnostics: Box::new(diags),
        });
    }
    if !diags.is_empty() {
        reporter.event(EngineEvent::Findings(&diags));
    }
    reporter.event(EngineEvent::Phase {
        name: "validate",
        done: Some(true),
        detail: None,
    });
    Ok(())
}

/// The live job of a pipeline/environment and what the journal says about it.
#[derive(Debug, Clone)]
pub struct Live {
    pub index: Index,
    pub job_id: Option<i64>,
    /// `settings` of the live job as the workspace returns it.
    pub settings: Option<Value>,
    /// The permissions document of the live job (when the project manages permissions).
    pub permissions: Option<Value>,
    /// Why the journal's job was not used, when it was not.
    pub note: Option<String>,
}

/// Finds the live job: the journal's, else by name (server-side filter; several matches are an
/// error), and reads its settings and (when `with_permissions`) permissions.
async fn read_live(
    client: &Client,
    journal: &Journal<'_>,
    job_name: &str,
    with_permissions: bool,
) -> Result<Live, EngineError> {
    let index = journal.index().await?;
    let mut note = None;
    let mut job = None;
    if let Some(job_id) = index.live_job_id {
        match client.get_job_value(job_id).await {
            Ok(value) => job = Some((job_id, value)),
            Err(err) if err.is_not_found() => {
                note = Some(format!(
                    "the journal's job {job_id} no longer exists (deleted outside brickship); it will be re-created"
                ));
            }
            Err(source) => return Err(EngineError::workspace(format!("read job {job_id}"), source)),
        }
    }
    if job.is_none() {
        let found = client
            .find_jobs_by_name(job_name)
            .await
            .map_err(|source| EngineError::workspace(format!("look up jobs named `{job_name}`"), source))?;
        match found.len() {
            0 => {}
            1 => {
                let job_id = found[0].job_id;
                let value = client
                    .get_job_value(job_id)
                    .await
                    .map_err(|source| EngineError::workspace(format!("read job {job_id}"), source))?;
                job = Some((job_id, value));
            }
            count => {
                let ids = found
                    .iter()
                    .map(|j| j.job_id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(EngineError::AmbiguousJob {
                    name: job_name.to_owned(),
                    count,
                    ids,
                });
            }
        }
    }
    let (job_id, settings) = match job {
        Some((id, value)) => (Some(id), value.get("settings").cloned()),
        None => (None, None),
    };
    let permissions = match (job_id, with_permissions) {
        (Some(id), true) => Some(
            client
                .get_job_permissions(id)
                .await
                .map_err(|source| EngineError::workspace(format!("read the permissions of job {id}"), source))
                .and_then(|p| serde_json::to_value(p).map_err(|e| EngineError::Internal(e.to_string())))?,
        ),
        _ => None,
    };
    Ok(Live {
        index,
        job_id,
        settings,
        permissions,
        note,
    })
}

impl Live {
    /// The live job as a deployment's snapshot: what a rollback restores.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            job_id: self.job_id,
            settings: self.settings.clone(),
            acl: self.permissions.as_ref().map(direct_acl),
        }
    }
}

fn normalize_options() -> NormalizeOptions {
    NormalizeOptions::ignoring_tags(MANAGED_TAGS)
}

/// The direct ACL of a permissions document in request shape (inherited entries dropped).
fn direct_acl(permissions: &Value) -> Value {
    let entries = permissions
        .get("access_control_list")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for entry in entries {
        let principal = ["user_name", "group_name", "service_principal_name"]
            .into_iter()
            .find_map(|key| {
                entry
                    .get(key)
                    .and_then(Value::as_str)
                    .map(|name| (key, name.to_owned()))
            });
        let Some((key, name)) = principal else { continue };
        for permission in entry
            .get("all_permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if permission
                .get("inherited")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                continue;
            }
            if let Some(level) = permission.get("permission_level").and_then(Value::as_str) {
                out.push(json!({ key: name, "permission_level": level }));
            }
        }
    }
    Value::Array(out)
}

/// `brickship validate`: file checks, then (unless `offline`) workspace checks.
pub async fn validate(
    target: &Target,
    offline: bool,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<Diagnostics, EngineError> {
    if offline {
        let (_, warnings) = load_pipeline(target, env, None)?;
        return Ok(warnings);
    }
    let prepared = prepare(target, env, None, reporter).await?;
    let (_, mut plugin_warnings) = Extensions::load(&prepared.pipeline, env, target.strict, true)?;
    validate_workspace(&prepared, reporter).await?;
    let mut warnings = prepared.warnings;
    warnings.extend(std::mem::replace(&mut plugin_warnings, Diagnostics::new(false)));
    Ok(warnings)
}

/// What `brickship plan` shows.
#[derive(Debug, Serialize)]
pub struct PlanView {
    pub pipeline: String,
    pub environment: String,
    pub workspace: String,
    pub job_id: Option<i64>,
    pub plan: Plan,
    pub uploads: Vec<String>,
    #[serde(skip)]
    pub rendered: String,
}

/// `brickship plan`.
pub async fn plan(
    target: &Target,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<PlanView, EngineError> {
    let prepared = prepare(target, env, None, reporter).await?;
    let journal = Journal::new(&prepared.client, prepared.location.clone());
    let p = &prepared.pipeline;
    let Observed {
        live, plan, uploads, ..
    } = observe(&prepared, &journal).await?;
    let rendered = render_plan(&plan, &uploads);
    Ok(PlanView {
        pipeline: p.pipeline.clone(),
        environment: p.environment.name.clone(),
        workspace: prepared.client.base_url().to_owned(),
        job_id: live.job_id,
        uploads: uploads.iter().map(|u| u.entry.remote.clone()).collect(),
        plan,
        rendered,
    })
}

/// What the workspace holds for a pipeline, and the change that would bring it to the project.
struct Observed {
    live: Live,
    plan: Plan,
    sync_state: SyncState,
    uploads: Vec<Upload>,
}

/// Reads the live job, its permissions (when the project manages them) and the uploaded code's
/// hashes, and plans the change.
async fn observe(prepared: &Prepared, journal: &Journal<'_>) -> Result<Observed, EngineError> {
    let p = &prepared.pipeline;
    let live = read_live(
        &prepared.client,
        journal,
        p.job_name(),
        !p.access_control_list.is_empty(),
    )
    .await?;
    let plan = Plan::compute(
        &p.settings,
        &p.acl(),
        live.settings.as_ref(),
        live.permissions.as_ref(),
        &normalize_options(),
    );
    let entries =
        project::sync::sync_plan(&p.project.root, &p.project.sync).map_err(|source| EngineError::Io {
            action: "read",
            path: "sync sources".into(),
            source,
        })?;
    let (sync_state, uploads) =
        code_sync::plan_uploads(&prepared.client, &prepared.location, &entries).await?;
    Ok(Observed {
        live,
        plan,
        sync_state,
        uploads,
    })
}

/// The plan as text, with the code uploads.
pub fn render_plan(plan: &Plan, uploads: &[Upload]) -> String {
    let mut out = plan.render(false);
    if !uploads.is_empty() {
        out.push_str(&format!("{} file(s) will be uploaded:\n", uploads.len()));
        for upload in uploads {
            let verb = if upload.replaces { "~" } else { "+" };
            out.push_str(&format!(
                "  {verb} {} -> {}\n",
                upload.entry.relative, upload.entry.remote
            ));
        }
    }
    out
}

/// The plugin runtime shared by the commands of one process.
pub(crate) fn runtime() -> Result<&'static PluginRuntime, EngineError> {
    static RUNTIME: std::sync::OnceLock<PluginRuntime> = std::sync::OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = PluginRuntime::new().map_err(|source| EngineError::plugin("runtime", source))?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// The strategy and its configuration for a deploy.
pub(crate) struct LoadedStrategy {
    pub name: String,
    pub handle: Box<dyn StepFunction>,
    pub config: Value,
}

/// A strategy's step function: a plugin component, or one of the host's own (the blue-green
/// swap back of a rollback).
pub(crate) trait StepFunction: Send + Sync {
    fn step(
        &self,
        deployment: &plugin_host::types::Deployment,
        state: Option<&str>,
        outcomes: &[Outcome],
    ) -> Result<StepResult, plugin_host::Error>;
}

impl StepFunction for plugin_host::Strategy {
    fn step(
        &self,
        deployment: &plugin_host::types::Deployment,
        state: Option<&str>,
        outcomes: &[Outcome],
    ) -> Result<StepResult, plugin_host::Error> {
        plugin_host::Strategy::step(self, deployment, state, outcomes)
    }
}

/// The host's own strategy for rolling a blue-green deployment back within its bake window: the
/// previous version (blue) is still there, paused, so the rollback is a swap back in three
/// mutating calls, ordered so a job always holds the name: green steps aside (renamed
/// `<name>-green`, schedule paused), blue takes the name back with exactly the settings it had,
/// green is deleted.
pub(crate) struct SwapBack {
    pub green: i64,
    pub blue: i64,
    /// Green's settings, renamed and paused.
    pub green_aside: Value,
    /// The settings blue gets back (the restored deployment's).
    pub blue_settings: Value,
}

/// Name of [`SwapBack`] in the journal.
pub(crate) const SWAP_BACK: &str = "swap-back";

impl SwapBack {
    fn config(&self) -> Value {
        json!({"green": self.green, "blue": self.blue, "green_aside": self.green_aside, "blue_settings": self.blue_settings})
    }

    /// Rebuilds it from its journaled configuration (for `brickship resume`).
    pub(crate) fn from_config(config: &Value) -> Option<Self> {
        Some(Self {
            green: config.get("green")?.as_i64()?,
            blue: config.get("blue")?.as_i64()?,
            green_aside: config.get("green_aside")?.clone(),
            blue_settings: config.get("blue_settings")?.clone(),
        })
    }
}

impl StepFunction for SwapBack {
    fn step(
        &self,
        _: &plugin_host::types::Deployment,
        state: Option<&str>,
        outcomes: &[Outcome],
    ) -> Result<StepResult, plugin_host::Error> {
        use plugin_host::types::{ActionKind, JobRef};
        if state.is_none() {
            let actions = vec![
                Action {
                    id: "demote-green".into(),
                    kind: ActionKind::ResetJob {
                        job: JobRef::Id { job_id: self.green },
                        settings: self.green_aside.clone(),
                    },
                },
                Action {
                    id: "restore-blue".into(),
                    kind: ActionKind::ResetJob {
                        job: JobRef::Id { job_id: self.blue },
                        settings: self.blue_settings.clone(),
                    },
                },
                Action {
                    id: "delete-green".into(),
                    kind: ActionKind::DeleteJob {
                        job: JobRef::Id { job_id: self.green },
                    },
                },
            ];
            return Ok(StepResult {
                actions,
                state: "swapping".into(),
                phase: Phase::Running,
                message: format!(
                    "swapping back: blue (job {}) takes the name again, green (job {}) goes",
                    self.blue, self.green
                ),
            });
        }
        let failure = outcomes
            .iter()
            .find(|o| !matches!(o.kind, OutcomeKind::Done))
            .map(|o| format!("`{}`: {:?}", o.action_id, o.kind));
        Ok(StepResult {
            actions: vec![],
            state: "swapped".into(),
            phase: if failure.is_some() {
                Phase::Failed
            } else {
                Phase::Succeeded
            },
            message: failure.unwrap_or_else(|| format!("swapped back to job {}", self.blue)),
        })
    }
}

/// Sets the pause status of every schedule, trigger and continuous block.
fn with_pause(mut settings: Value, status: &str) -> Value {
    for field in ["schedule", "trigger", "continuous"] {
        if let Some(block) = settings.get_mut(field).and_then(Value::as_object_mut) {
            block.insert("pause_status".into(), json!(status));
        }
    }
    settings
}

/// When the current deployment is a blue-green swap still inside its bake window and the
/// rollback restores the version its blue job holds, the swap back that rolls it back.
async fn swap_back_plan(
    client: &Client,
    journal: &Journal<'_>,
    index: &Index,
    target: &RollbackTarget,
    live: &Live,
) -> Result<Option<SwapBack>, EngineError> {
    let Some(current) = index
        .deployments
        .iter()
        .rev()
        .find(|e| e.status == Status::Succeeded)
    else {
        return Ok(None);
    };
    if current.kind != DeploymentKind::Deploy
        || current.strategy != "blue-green"
        || index.unfinished().next().is_some()
    {
        return Ok(None);
    }
    let Some(record) = journal.record(&current.deployment_id).await? else {
        return Ok(None);
    };
    let Some(state) = record
        .strategy_state
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    else {
        return Ok(None);
    };
    let blue = &state["blue"];
    let (Some(blue_id), Some(expires)) = (blue["job_id"].as_i64(), blue["expires_ms"].as_i64()) else {
        return Ok(None);
    };
    let green_id = state["live_job_id"].as_i64();
    // Blue holds the version before the current deployment: the swap back is right only when the
    // rollback undoes exactly the current deployment.
    let restores_blue = blue["deployment_id"]
        .as_str()
        .is_none_or(|id| id == current.deployment_id)
        && target.undo == [current.deployment_id.clone()];
    if state["variant"] != "swap" || now_ms() >= expires || green_id != live.job_id || !restores_blue {
        return Ok(None);
    }
    match client.get_job(blue_id).await {
        Ok(_) => {}
        Err(err) if err.is_not_found() => return Ok(None),
        Err(source) => {
            return Err(EngineError::workspace(
                format!("read the blue job {blue_id}"),
                source,
            ));
        }
    }
    let (Some(green), Some(live_settings)) = (green_id, live.settings.clone()) else {
        return Ok(None);
    };
    let name = target
        .settings
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut green_aside = with_pause(live_settings, "PAUSED");
    green_aside["name"] = json!(format!("{name}-green"));
    Ok(Some(SwapBack {
        green,
        blue: blue_id,
        green_aside,
        blue_settings: target.settings.clone(),
    }))
}

fn load_strategy(
    pipeline: &RenderedPipeline,
    request: &DeployRequest,
) -> Result<LoadedStrategy, EngineError> {
    // Which setting chose it, for errors about it.
    let (configured, chosen_by) = match (&request.strategy, &pipeline.deploy.strategy) {
        (Some(name), _) => (name.clone(), "--strategy".to_owned()),
        (None, Some(s)) => (s.name.clone(), "strategy in the --config-file".to_owned()),
        (None, None) => (
            pipeline.environment.strategy.name.clone(),
            format!(
                "the strategy of environment {} in brickship.yaml",
                pipeline.environment.name
            ),
        ),
    };
    let mut config = if configured == pipeline.environment.strategy.name {
        pipeline.environment.strategy.config.clone()
    } else {
        pipeline
            .project
            .strategies
            .as_ref()
            .and_then(|s| s.get(&configured))
            .cloned()
            .unwrap_or_else(|| json!({}))
    };
    if !config.is_object() {
        config = json!({});
    }
    // Flags (then the config file) win over the project's strategy configuration.
    let active_runs = request
        .active_runs
        .map(ActiveRuns::as_str)
        .or(pipeline.deploy.active_runs.map(|policy| match policy {
            crate::project::ActiveRunsPolicy::Wait => "wait",
            crate::project::ActiveRunsPolicy::Cancel => "cancel",
            crate::project::ActiveRunsPolicy::Fail => "fail",
        }));
    if matches!(configured.as_str(), "direct" | "blue-green") {
        if let Some(mode) = active_runs {
            config["active_runs"] = json!(mode);
        }
        if configured == "direct"
            && let Some(timeout) = request.active_runs_timeout
        {
            config["wait_timeout_seconds"] = json!(timeout.as_secs().max(1));
        }
    }
    if pipeline.environment.approval_before_promotion {
        match configured.as_str() {
            "blue-green" => config["require_approval_before_swap"] = json!(true),
            "canary" => config["require_approval_before_promotion"] = json!(true),
            _ => {}
        }
    }
    if let Some(percentage) = request.canary_percentage {
        if configured != "canary" {
            return Err(EngineError::Usage(format!(
                "`--canary-percentage` applies to the `canary` strategy, not `{configured}`; add `--strategy canary`"
            )));
        }
        config["first_step"] = json!(percentage);
    }
    let label = format!("{configured} ({chosen_by})");
    let reference: PluginRef = configured
        .parse()
        .map_err(|source| EngineError::plugin(label.clone(), source))?;
    let reference = reference.resolve_against(&pipeline.project.root);
    let handle = runtime()?
        .load_strategy(&reference)
        .map_err(|source| EngineError::plugin(label.clone(), source))?;
    handle
        .validate_config(&config)
        .map_err(|source| EngineError::plugin(label, source))?;
    Ok(LoadedStrategy {
        name: configured,
        handle: Box::new(handle),
        config,
    })
}

/// The strategy's configuration plus `previous`: for blue-green, the final state of the most
/// recent successful blue-green deployment (it names the blue job kept for the bake window), so
/// the new deployment can delete that blue when its window has passed. A rollback after it means
/// its blue was swapped back in: nothing is passed then.
async fn with_previous(
    journal: &Journal<'_>,
    index: &Index,
    strategy: &LoadedStrategy,
) -> Result<Value, EngineError> {
    let mut config = strategy.config.clone();
    if strategy.name != "blue-green" {
        return Ok(config);
    }
    let previous = index
        .deployments
        .iter()
        .rev()
        .filter(|e| e.status == Status::Succeeded)
        .take_while(|e| e.kind == DeploymentKind::Deploy)
        .find(|e| e.strategy == "blue-green");
    if let Some(entry) = previous
        && let Some(record) = journal.record(&entry.deployment_id).await?
        && let Some(state) = record
            .strategy_state
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        config["previous"] =
            json!({"strategy": "blue-green", "deployment-id": entry.deployment_id, "state": state});
    }
    Ok(config)
}

fn plugin_plan(plan: &Plan) -> plugin_host::types::Plan {
    use plugin_host::types::{Change, ChangeOp, PlanAction};
    match &plan.job {
        JobAction::Create { settings } => plugin_host::types::Plan {
            action: PlanAction::Create,
            changes: vec![Change {
                path: String::new(),
                op: ChangeOp::Add,
                before: None,
                after: Some(settings.clone()),
            }],
        },
        JobAction::NoChange if plan.permissions.is_empty() => plugin_host::types::Plan {
            action: PlanAction::Unchanged,
            changes: vec![],
        },
        JobAction::NoChange | JobAction::Update { .. } => {
            let mut changes: Vec<Change> = match &plan.job {
                JobAction::Update { changes } => changes
                    .iter()
                    .map(|c| Change {
                        path: c.path.clone(),
                        op: match (&c.old, &c.new) {
                            (None, _) => ChangeOp::Add,
                            (_, None) => ChangeOp::Remove,
                            _ => ChangeOp::Replace,
                        },
                        before: c.old.clone(),
                        after: c.new.clone(),
                    })
                    .collect(),
                _ => vec![],
            };
            for change in &plan.permissions {
                changes.push(Change {
                    path: "/access_control_list".into(),
                    op: ChangeOp::Replace,
                    before: None,
                    after: serde_json::to_value(change).ok(),
                });
            }
            plugin_host::types::Plan {
                action: PlanAction::Update,
                changes,
            }
        }
    }
}

/// The git commit of the project, and whether the checkout has uncommitted changes.
fn git_state(dir: &Path) -> (Option<String>, bool) {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = run(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
    let dirty = commit.is_some() && run(&["status", "--porcelain", "--", "."]).is_some_and(|s| !s.is_empty());
    (commit, dirty)
}

fn machine() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{}", lock::machine_name())
}

/// Timing of the phases of one command, for the report.
pub(crate) struct Phases {
    started: Instant,
    list: Mutex<Vec<PhaseReport>>,
}

impl Phases {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            list: Mutex::new(Vec::new()),
        }
    }

    pub fn begin(&self, reporter: &dyn Reporter, name: &str, detail: Option<&str>) -> Instant {
        reporter.event(EngineEvent::Phase {
            name,
            done: None,
            detail,
        });
        Instant::now()
    }

    pub fn end(&self, reporter: &dyn Reporter, name: &str, since: Instant, ok: bool, detail: Option<String>) {
        reporter.event(EngineEvent::Phase {
            name,
            done: Some(ok),
            detail: detail.as_deref(),
        });
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.push(PhaseReport {
            name: name.to_owned(),
            ok,
            offset_ms: since.duration_since(self.started).as_millis() as u64,
            duration_ms: since.elapsed().as_millis() as u64,
            detail,
        });
    }

    fn take(&self) -> Vec<PhaseReport> {
        std::mem::take(&mut *self.list.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The approval rule for a deploy or rollback: `Ok((how it was approved, wait))`. When nobody
/// can answer (no terminal, no `--approve`) and `park` is set, `wait` is true: the caller records
/// a pending approval and pauses; otherwise that is a refusal (exit code 3).
fn approve(
    required: bool,
    approve_flag: bool,
    park: bool,
    what: &str,
    environment: &str,
    reporter: &dyn Reporter,
) -> Result<(Option<String>, bool), EngineError> {
    if !required {
        return Ok((None, false));
    }
    if approve_flag {
        return Ok((Some("--approve".into()), false));
    }
    match reporter.confirm(&format!("{what} to `{environment}` requires approval. Proceed?")) {
        Some(true) => Ok((Some("interactive".into()), false)),
        Some(false) => Err(EngineError::ApprovalRefused(format!(
            "{what} to `{environment}` was not approved; nothing was changed"
        ))),
        None if park => Ok((Some("pending".into()), true)),
        None => Err(EngineError::ApprovalRefused(format!(
            "{what} to `{environment}` requires approval and no terminal can ask for it; pass `--approve` (or set BRICKSHIP_APPROVE=1) after reviewing `brickship plan`, or `--request-approval` to record a request that `brickship approve` grants"
        ))),
    }
}

struct ReporterObserver<'a>(&'a dyn Reporter);

impl Observer for ReporterObserver<'_> {
    fn progress(&self, _action: &Action, message: &str) {
        self.0.event(EngineEvent::Waiting { message });
    }
}

/// The verifier the executor uses for `verify-job`: the plan's normalisation and diff.
fn verify_differences(expected: &Value, live: &Value) -> Vec<plugin_host::types::Difference> {
    let (d, l) = crate::plan::normalize_pair(expected, live, &normalize_options());
    crate::plan::diff(&l, &d)
        .into_iter()
        .map(|c| plugin_host::types::Difference {
            path: c.path,
            expected: c.new,
            actual: c.old,
        })
        .collect()
}

/// Everything the mutating half needs.
pub(crate) struct Execution<'a> {
    /// The strategy crashed, timed out or returned garbage (the deployment then rolls back and
    /// the command exits 4).
    pub plugin_failed: bool,
    pub client: &'a Client,
    pub journal: Journal<'a>,
    pub record: DeploymentRecord,
    pub index: Index,
    pub reporter: &'a dyn Reporter,
    pub phases: &'a Phases,
    pub actions: Vec<ActionReport>,
    pub mutated: bool,
}

impl<'a> Execution<'a> {
    /// A deployment about to be driven (nothing changed yet by this process).
    pub fn new(
        client: &'a Client,
        journal: Journal<'a>,
        record: DeploymentRecord,
        index: Index,
        reporter: &'a dyn Reporter,
        phases: &'a Phases,
    ) -> Self {
        Self {
            plugin_failed: false,
            client,
            journal,
            record,
            index,
            reporter,
            phases,
            actions: Vec::new(),
            mutated: false,
        }
    }

    pub fn event(&mut self, kind: EventKind) {
        self.record.push(now_ms(), kind);
    }

    pub async fn save(&mut self) -> Result<(), EngineError> {
        self.journal.write_record(&self.record).await
    }

    pub async fn save_index(&mut self) -> Result<(), EngineError> {
        self.index.upsert(self.record.entry());
        self.journal.write_index(&self.index).await
    }
}

/// `brickship deploy`.
pub async fn deploy(
    request: &DeployRequest,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<DeployOutcome, EngineError> {
    let phases = Phases::new();
    let started_at_ms = now_ms();
    let (pipeline, warnings) = load_reported(&request.target, env, request.enable_monitoring, reporter)?;
    // The strategy, gates and notifiers are loaded and their configurations checked before the
    // workspace is even contacted.
    let strategy = load_strategy(&pipeline, request)?;
    let (extensions, plugin_warnings) = Extensions::load(&pipeline, env, request.target.strict, true)?;
    if !plugin_warnings.is_empty() {
        reporter.event(EngineEvent::Findings(&plugin_warnings));
    }
    let prepared = connect_prepared(pipeline, warnings, &request.target, reporter).await?;
    let client = &prepared.client;
    let p = &prepared.pipeline;
    if request.validate.or(p.deploy.validate).unwrap_or(true) {
        validate_workspace(&prepared, reporter).await?;
    }

    let since = phases.begin(reporter, "plan", None);
    let journal = Journal::new(client, prepared.location.clone());
    let Observed {
        mut live,
        mut plan,
        mut sync_state,
        mut uploads,
    } = observe(&prepared, &journal).await?;
    if let Some(note) = &live.note {
        reporter.event(EngineEvent::Note { message: note });
    }
    reporter.event(EngineEvent::Plan {
        plan: &plan,
        uploads: &uploads,
    });
    phases.end(reporter, "plan", since, true, Some(plan_summary(&plan, &uploads)));

    let deployment_id = new_deployment_id();
    let user = client
        .current_user()
        .await
        .map_err(|source| EngineError::workspace("read the current user", source))?
        .user_name
        .unwrap_or_else(|| "unknown".into());
    let (git_commit, git_dirty) = git_state(&p.project.root);
    let unchanged = plan.is_empty() && uploads.is_empty();
    let mut deployment = plugin_host::types::Deployment {
        id: deployment_id.clone(),
        pipeline: p.pipeline.clone(),
        environment: p.environment.name.clone(),
        version: git_commit.clone().unwrap_or_else(|| p.content_hash.clone()),
        desired: p.settings.clone(),
        acl: (!p.access_control_list.is_empty()).then(|| Value::Array(p.access_control_list.clone())),
        live: live.settings.clone(),
        live_job_id: live.job_id,
        plan: plugin_plan(&plan),
        config: with_previous(&journal, &live.index, &strategy).await?,
        now_ms: now_ms() as u64,
    };
    let mut report = Report::new(
        &deployment_id,
        DeploymentKind::Deploy,
        p,
        &strategy.name,
        started_at_ms,
    );
    report.workspace = client.base_url().to_owned();
    report.user = user.clone();
    report.git_commit = git_commit.clone();
    report.plan = plan.to_json();
    report.uploads = uploads
        .iter()
        .map(|u| json!({"local": u.entry.relative, "remote": u.entry.remote}))
        .collect();
    report.findings = prepared.warnings.to_json();
    report.job_id = live.job_id;

    // Pre-deploy gates, before anything changes (a dry run shows what they would say).
    if !unchanged || request.dry_run {
        let gate_report = extensions.evaluate(GatePoint::PreDeploy, &deployment, &[]);
        if let Some(gate_report) = gate_report {
            let gate_report = gate_report.check()?;
            let rendered = extensions.redact(&gate_report.render());
            reporter.event(EngineEvent::Gates {
                point: "pre-deploy",
                decision: gate_decision(gate_report.decision),
                rendered: &rendered,
            });
            if gate_report.refuses() {
                let message = gate_report.refusal_message();
                extensions
                    .notify(
                        EventKind2::GateFailed,
                        &deployment,
                        &strategy.name,
                        &message,
                        gate_report.findings(),
                        live.job_id,
                        None,
                    )
                    .await;
                let (gates, deliveries) = extensions.finish().await;
                report.gates = gates;
                report.notifications = deliveries;
                report.status = ReportStatus::Failed;
                report.error = Some(message.clone());
                let _ = finish_report(report, &phases, client, &p.project.root, None);
                return Err(EngineError::GateRefused(format!(
                    "{message}; nothing was changed"
                )));
            }
        }
    }
    if request.dry_run {
        let first = strategy
            .handle
            .step(&deployment, None, &[])
            .map_err(|source| EngineError::plugin(strategy.name.clone(), source))?;
        for action in &first.actions {
            reporter.event(EngineEvent::Action {
                step: 1,
                action,
                dry_run: true,
            });
            report.actions.push(ActionReport {
                step: 1,
                action: action.clone(),
                outcome: None,
                duration_ms: 0,
            });
        }
        reporter.event(EngineEvent::Step {
            step: 1,
            phase: first.phase,
            message: &first.message,
        });
        report.status = ReportStatus::DryRun;
        return finish_report(report, &phases, client, &p.project.root, None);
    }
    if unchanged && live.index.unfinished().next().is_none() {
        report.status = ReportStatus::NoOp;
        reporter.event(EngineEvent::Note {
            message: "the live job already matches the project: nothing to do",
        });
        return finish_report(report, &phases, client, &p.project.root, None);
    }

    let required = request
        .approval_required
        .or(p.deploy.approval_required)
        .unwrap_or(p.environment.approval_required);
    // With --request-approval, a deploy nobody can approve now is recorded and paused for
    // `brickship approve` instead of refused.
    let (approval, wait_for_approval) = approve(
        required,
        request.approve,
        request.request_approval,
        "this deploy",
        &p.environment.name,
        reporter,
    )?;

    let since = phases.begin(reporter, "lock", None);
    let info = LockInfo::new(&deployment_id, &user, "deploy", now_ms());
    let finished = |id: &str| live.index.find(id).is_some_and(|e| e.status.is_final());
    let guard = lock::acquire(
        client,
        &prepared.location.lock_path(),
        info,
        request.force_lock,
        &finished,
        now_ms(),
    )
    .await?;
    if let Some(broke) = guard.broke() {
        reporter.event(EngineEvent::Note {
            message: &format!("broke the lock of {}", broke.describe()),
        });
    }
    phases.end(reporter, "lock", since, true, None);

    // Re-read under the lock: another deployment may have finished between plan and lock.
    let mut index = journal.index().await?;
    // A deployment whose process died (or that was paused) is aborted first: its snapshot is
    // restored, so this one starts from a known state, never from a half-done swap.
    let superseded =
        abort_unfinished(client, &journal, &mut index, &deployment_id, reporter, &phases).await?;
    if !superseded.is_empty() {
        // The workspace changed under the lock: look again before planning the change.
        Observed {
            live,
            plan,
            sync_state,
            uploads,
        } = observe(&prepared, &journal).await?;
        index = live.index.clone();
        deployment.live = live.settings.clone();
        deployment.live_job_id = live.job_id;
        deployment.plan = plugin_plan(&plan);
        deployment.config = with_previous(&journal, &live.index, &strategy).await?;
        reporter.event(EngineEvent::Plan {
            plan: &plan,
            uploads: &uploads,
        });
        report.plan = plan.to_json();
        report.uploads = uploads
            .iter()
            .map(|u| json!({"local": u.entry.relative, "remote": u.entry.remote}))
            .collect();
        report.job_id = live.job_id;
    }
    let options = json!({
        "strategy": strategy.name,
        "strategy_config": deployment.config,
        "validate": request.validate.or(p.deploy.validate).unwrap_or(true),
        "rollback_on_failure": request.rollback_on_failure.or(p.deploy.rollback_on_failure).unwrap_or(true),
        "monitoring": p.monitoring_enabled,
        "approval": approval,
        "run_after": request.run_after,
        "workspace": prepared.choice.describe(),
    });
    let record = DeploymentRecord::new(
        Manifest {
            deployment_id: deployment_id.clone(),
            kind: DeploymentKind::Deploy,
            pipeline: p.pipeline.clone(),
            environment: p.environment.name.clone(),
            strategy: strategy.name.clone(),
            config_hash: p.content_hash.clone(),
            git_commit,
            git_dirty,
            user: user.clone(),
            machine: machine(),
            brickship_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at_ms,
            restores: None,
            options: options.clone(),
        },
        live.snapshot(),
        Desired {
            settings: p.settings.clone(),
            acl: (!p.access_control_list.is_empty()).then(|| Value::Array(p.access_control_list.clone())),
        },
    );
    let mut exec = Execution::new(client, journal, record, index, reporter, &phases);
    for message in superseded {
        reporter.event(EngineEvent::Note { message: &message });
        exec.event(EventKind::Note { message });
    }
    exec.record.plan = Some(deployment.plan.clone());
    exec.record.planned_uploads = uploads
        .iter()
        .map(|u| (u.entry.remote.clone(), u.sha256.clone()))
        .collect();
    if wait_for_approval {
        let requested_at_ms = now_ms();
        let expiry = p.environment.approval_expiry;
        exec.record.pending_approval = Some(PendingApproval {
            action_id: DEPLOY_APPROVAL.into(),
            message: format!("deploy `{}` to `{}`", p.pipeline, p.environment.name),
            requested_at_ms,
            expires_at_ms: expiry.map(|d| requested_at_ms + d.as_millis() as i64),
        });
        exec.record.status = Status::Paused;
        exec.event(EventKind::Note {
            message: "waiting for approval before the first change".into(),
        });
        exec.save_index().await?;
        exec.save().await?;
        guard
            .park(client, now_ms(), expiry.unwrap_or(PAUSE_LEASE))
            .await?;
        report.status = ReportStatus::Paused;
        report.paused = Some(format!(
            "waiting for approval before the first change; run `brickship approve {deployment_id}` (from any machine with the project), or `brickship abort {deployment_id}`"
        ));
        return finish_report(report, &phases, client, &p.project.root, None);
    }
    let rollback_on_failure = request
        .rollback_on_failure
        .or(p.deploy.rollback_on_failure)
        .unwrap_or(true);
    let ctx = ExecContext {
        deployment_id: deployment_id.clone(),
        pipeline: p.pipeline.clone(),
        environment: p.environment.name.clone(),
        live_job_id: live.job_id,
        ..ExecContext::default()
    };
    let drive = Drive {
        deployment,
        uploads: &uploads,
        sync_state,
        location: prepared.location.clone(),
        run_after: request.run_after,
        rollback_on_failure,
        user: user.clone(),
        preapproved: request.approve,
        park_for_approval: request.request_approval,
        approval_expiry: p.environment.approval_expiry,
        start: Start::Fresh,
        ctx,
        extensions: &extensions,
    };
    let report = execute_reported(&mut exec, &strategy, drive, guard, report, &p.project.root).await?;
    let monitoring = if p.monitoring_enabled && report.status == ReportStatus::Succeeded {
        let ids = crate::monitoring::MonitoringIds {
            job_id: report.job_id.map(|id| id.to_string()),
            workspace_id: None,
        };
        let file = crate::monitoring::monitoring_file(p, &ids);
        let path = p.project.root.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| EngineError::Io {
                action: "create",
                path: dir.display().to_string(),
                source,
            })?;
        }
        std::fs::write(&path, &file.content).map_err(|source| EngineError::Io {
            action: "write",
            path: file.path.clone(),
            source,
        })?;
        Some(file.path)
    } else {
        None
    };
    finish_report(report, &phases, client, &p.project.root, monitoring)
}

fn plan_summary(plan: &Plan, uploads: &[Upload]) -> String {
    let job = match &plan.job {
        JobAction::Create { .. } => "create the job".to_owned(),
        JobAction::Update { changes } => format!("update {} field(s)", changes.len()),
        JobAction::NoChange => "no job change".to_owned(),
    };
    let mut parts = vec![job];
    if !plan.permissions.is_empty() {
        parts.push(format!("{} permission change(s)", plan.permissions.len()));
    }
    if !uploads.is_empty() {
        parts.push(format!("{} file upload(s)", uploads.len()));
    }
    parts.join(", ")
}

/// How the mutating half ended.
pub(crate) struct Executed {
    pub status: ReportStatus,
    pub run: Option<Value>,
    pub rollback: Option<RollbackReport>,
    /// Why the deployment paused, when it did.
    pub paused: Option<String>,
}

/// What a human asked of a paused deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlCommand {
    /// Treat the paused analysis as passed and go on.
    Promote,
    /// Skip to full promotion.
    PromoteFull,
    /// Clean up and fail (the host then rolls back).
    Abort,
    /// Continue an interrupted or paused deployment where it stopped.
    Resume,
    /// Grant the approval the deployment waits for.
    Approve,
}

impl ControlCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlCommand::Promote => "promote",
            ControlCommand::PromoteFull => "promote-full",
            ControlCommand::Abort => "abort",
            ControlCommand::Resume => "resume",
            ControlCommand::Approve => "approve",
        }
    }
}

/// Where the strategy loop (re)starts.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// A new deployment: the strategy's first call.
    Fresh,
    /// After step `step` (journaled with its actions): perform the actions without an outcome
    /// (re-performing those that started before an interruption), then call the strategy again.
    Continue {
        step: u32,
        state: String,
        actions: Vec<Action>,
        outcomes: BTreeMap<String, Outcome>,
        started: BTreeSet<String>,
    },
    /// A paused deployment steered by a human: call the strategy with the control input.
    Control {
        step: u32,
        state: String,
        command: ControlCommand,
        by: String,
    },
    /// The strategy already finished with this phase (only verify/record, or rollback, remain).
    Finished { phase: Phase, message: String },
}

/// The action id of the approval asked before a deployment's first change.
pub const DEPLOY_APPROVAL: &str = "deploy";

/// How long a paused deployment keeps its lock (and the default approval expiry).
pub const PAUSE_LEASE: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the mutating half needs besides the execution and the strategy.
pub(crate) struct Drive<'a> {
    pub deployment: plugin_host::types::Deployment,
    pub uploads: &'a [Upload],
    pub sync_state: SyncState,
    pub location: StateLocation,
    pub run_after: bool,
    pub rollback_on_failure: bool,
    pub user: String,
    /// `--approve`: approval requests are granted up front.
    pub preapproved: bool,
    /// Approval requests nobody can answer now park the deployment (durable approvals) instead
    /// of being refused.
    pub park_for_approval: bool,
    pub approval_expiry: Option<Duration>,
    pub start: Start,
    pub ctx: ExecContext,
    pub extensions: &'a Extensions,
}

/// [`execute`], then what it did and how it ended copied into `report` (gate reports,
/// deliveries, actions, the job, status, run, rollback, pause). A failure is reported (the report
/// written with its error) before it is returned, so every deployment that reached the journal
/// leaves a report, whichever command drove it.
pub(crate) async fn execute_reported(
    exec: &mut Execution<'_>,
    strategy: &LoadedStrategy,
    drive: Drive<'_>,
    guard: LockGuard,
    mut report: Report,
    project_root: &Path,
) -> Result<Report, EngineError> {
    let extensions = drive.extensions;
    let result = execute(exec, strategy, drive, guard).await;
    let (gates, deliveries) = extensions.finish().await;
    report.gates = gates;
    report.notifications = deliveries;
    report.plugin_failed = exec.plugin_failed;
    report.actions = std::mem::take(&mut exec.actions);
    report.job_id = exec.record.job_id.or(report.job_id);
    match result {
        Ok(done) => {
            report.status = done.status;
            report.run = done.run;
            report.rollback = done.rollback;
            report.paused = done.paused;
            report.error = exec.record.error.clone();
            Ok(report)
        }
        Err(err) => {
            report.status = ReportStatus::Failed;
            report.error = Some(super::error_chain(&err));
            let _ = finish_report(report, exec.phases, exec.client, project_root, None);
            Err(err)
        }
    }
}

/// The mutating half: journal, upload, strategy loop, verify, run, record, unlock (or park).
pub(crate) async fn execute(
    exec: &mut Execution<'_>,
    strategy: &LoadedStrategy,
    mut drive: Drive<'_>,
    guard: LockGuard,
) -> Result<Executed, EngineError> {
    let reporter = exec.reporter;
    if matches!(drive.start, Start::Fresh) {
        // The manifest and snapshot reach the journal before anything changes. The index first:
        // a process killed between the two writes leaves an entry whose record is missing,
        // which the next deploy or rollback recognises as interrupted before any change.
        let since = exec.phases.begin(reporter, "journal", None);
        exec.record.plan = Some(drive.deployment.plan.clone());
        exec.event(EventKind::Phase {
            phase: "manifest".into(),
            status: "written".into(),
            detail: None,
        });
        exec.save_index().await?;
        exec.save().await?;
        exec.phases.end(reporter, "journal", since, true, None);
        let message = format!(
            "deploying `{}` to `{}` with `{}`",
            drive.deployment.pipeline, drive.deployment.environment, strategy.name
        );
        drive
            .extensions
            .notify(
                EventKind2::Started,
                &drive.deployment,
                &strategy.name,
                &message,
                vec![],
                drive.deployment.live_job_id,
                None,
            )
            .await;
    } else {
        exec.record.status = Status::InProgress;
        exec.record.pending_approval = None;
        exec.save_index().await?;
    }

    let outcome = run_strategy(exec, strategy, &mut drive).await;
    let rollback_on_failure = drive.rollback_on_failure;
    let (status, run, rollback, paused) = match outcome {
        Ok(Driven::Done { job_id, run }) => {
            exec.record.status = Status::Succeeded;
            exec.record.job_id = Some(job_id);
            exec.index.live_job_id = Some(job_id);
            (ReportStatus::Succeeded, run, None, None)
        }
        Ok(Driven::Paused { message }) => {
            exec.record.status = Status::Paused;
            exec.event(EventKind::Note {
                message: format!("paused: {message}"),
            });
            (ReportStatus::Paused, None, None, Some(message))
        }
        Err(failure) => {
            exec.record.error = Some(failure.clone());
            exec.event(EventKind::Note {
                message: format!("failed: {failure}"),
            });
            if exec.mutated && rollback_on_failure {
                let since = exec.phases.begin(reporter, "rollback", None);
                let problems = restore_snapshot(exec).await;
                let restored = problems.is_empty();
                exec.phases.end(
                    reporter,
                    "rollback",
                    since,
                    restored,
                    (!restored).then(|| problems.join("; ")),
                );
                exec.record.status = if restored {
                    Status::RolledBack
                } else {
                    Status::Failed
                };
                exec.record.job_id = exec.record.snapshot.job_id;
                let report = RollbackReport {
                    reason: failure,
                    restored,
                    problems,
                };
                (
                    if restored {
                        ReportStatus::RolledBack
                    } else {
                        ReportStatus::Failed
                    },
                    None,
                    Some(report),
                    None,
                )
            } else {
                exec.record.status = Status::Failed;
                let note = if exec.mutated {
                    "rollback on failure is off: the workspace is left as the failure left it; `brickship rollback` restores the snapshot"
                } else {
                    "nothing was changed"
                };
                exec.event(EventKind::Note { message: note.into() });
                (ReportStatus::Failed, None, None, None)
            }
        }
    };
    let (kind, message) = match status {
        ReportStatus::Succeeded => (
            EventKind2::Succeeded,
            format!("deployed job {}", exec.record.job_id.unwrap_or_default()),
        ),
        ReportStatus::Paused => (EventKind2::PausedForApproval, paused.clone().unwrap_or_default()),
        ReportStatus::RolledBack => (
            EventKind2::RolledBack,
            exec.record.error.clone().unwrap_or_default(),
        ),
        _ => (EventKind2::Failed, exec.record.error.clone().unwrap_or_default()),
    };
    let job_url = run.as_ref().and_then(|r| r["url"].as_str().map(str::to_owned));
    drive
        .extensions
        .notify(
            kind,
            &drive.deployment,
            &strategy.name,
            &message,
            vec![],
            exec.record.job_id,
            job_url,
        )
        .await;
    let since = exec.phases.begin(reporter, "record", None);
    if status != ReportStatus::Paused {
        exec.record.finished_at_ms = Some(now_ms());
    }
    exec.save().await?;
    exec.save_index().await?;
    if status == ReportStatus::Paused {
        // A paused deployment keeps the lock (held by the deployment, not this process), so no
        // other deploy interleaves before a human promotes, aborts or approves it.
        guard
            .park(
                exec.client,
                now_ms(),
                drive.approval_expiry.unwrap_or(PAUSE_LEASE),
            )
            .await?;
    } else if let Err(err) = guard.release(exec.client).await {
        // The deployment is recorded; a lock that cannot be deleted only delays the next deploy
        // until the journal shows it finished, so it is reported, not fatal.
        reporter.event(EngineEvent::Note {
            message: &format!(
                "warning: {}; the next deploy will take the lock over",
                super::error_chain(&err)
            ),
        });
    }
    exec.phases.end(reporter, "record", since, true, None);
    Ok(Executed {
        status,
        run,
        rollback,
        paused,
    })
}

/// How the strategy loop ended (failures are `Err(message)`).
enum Driven {
    Done { job_id: i64, run: Option<Value> },
    Paused { message: String },
}

/// `pass`, `warn`, `fail`, `inconclusive`.
fn gate_decision(decision: plugin_host::types::Decision) -> &'static str {
    super::gates::decision_name(decision)
}

/// True for outcomes that stop the rest of a step.
fn stops_step(outcome: &Outcome) -> bool {
    outcome.kind.stops_step()
}

/// Approvals asked of the strategy (`request-approval`): granted up front by `--approve`, asked
/// at the terminal, found in the journal (`brickship approve`), or — when nobody can answer and
/// durable approvals are on — left pending so the deployment parks.
struct JournalApprover<'a> {
    reporter: &'a dyn Reporter,
    preapproved: bool,
    park: bool,
    user: String,
    recorded: Vec<Approval>,
    expires_at_ms: Option<i64>,
}

impl Approver for JournalApprover<'_> {
    fn decide<'a>(
        &'a self,
        _deployment_id: &'a str,
        action: &'a Action,
        message: &'a str,
    ) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            if let Some(recorded) = self.recorded.iter().rev().find(|a| a.action_id == action.id) {
                if self.expires_at_ms.is_some_and(|expiry| recorded.at_ms > expiry) {
                    return ApprovalDecision::Rejected {
                        by: recorded.by.clone(),
                        comment: "the approval request had expired".into(),
                    };
                }
                return if recorded.approved {
                    ApprovalDecision::Approved {
                        by: recorded.by.clone(),
                        comment: recorded.comment.clone(),
                    }
                } else {
                    ApprovalDecision::Rejected {
                        by: recorded.by.clone(),
                        comment: recorded.comment.clone(),
                    }
                };
            }
            if self.preapproved {
                return ApprovalDecision::Approved {
                    by: self.user.clone(),
                    comment: "--approve".into(),
                };
            }
            match self.reporter.confirm(message) {
                Some(true) => ApprovalDecision::Approved { by: self.user.clone(), comment: "interactive".into() },
                Some(false) => ApprovalDecision::Rejected { by: self.user.clone(), comment: "interactive".into() },
                None if self.park => ApprovalDecision::Pending,
                None => ApprovalDecision::Rejected {
                    by: "brickship".into(),
                    comment: "approval needed and no terminal can ask: pass --approve, or --request-approval to wait for `brickship approve`".into(),
                },
            }
        })
    }
}

/// A step whose actions are to be performed: the strategy state after it, its actions, the
/// outcomes already recorded and the ids of actions that started before an interruption.
type PendingStep = (String, Vec<Action>, BTreeMap<String, Outcome>, BTreeSet<String>);

/// Uploads code (fresh deployments), runs the strategy from `drive.start` to a final or paused
/// phase, verifies and triggers a run. `Err` is a failure message (the caller rolls back);
/// journal write failures are failures too.
async fn run_strategy(
    exec: &mut Execution<'_>,
    strategy: &LoadedStrategy,
    drive: &mut Drive<'_>,
) -> Result<Driven, String> {
    let reporter = exec.reporter;
    let client = exec.client;
    let uploads = drive.uploads;
    if !uploads.is_empty() && matches!(drive.start, Start::Fresh) {
        let since = exec
            .phases
            .begin(reporter, "upload", Some(&format!("{} file(s)", uploads.len())));
        // What the upload replaces reaches the journal before the first file changes.
        let replaced = match code_sync::capture_replaced(client, uploads).await {
            Ok(replaced) => replaced,
            Err(err) => {
                exec.phases
                    .end(reporter, "upload", since, false, Some(super::error_chain(&err)));
                return Err(super::error_chain(&err));
            }
        };
        exec.record.replaced_files = replaced;
        exec.record.previous_sync = Some(drive.sync_state.clone());
        exec.event(EventKind::Note {
            message: format!("uploading {} file(s)", uploads.len()),
        });
        exec.save().await.map_err(|e| super::error_chain(&e))?;
        exec.mutated = true;
        let uploaded = match code_sync::apply_uploads(client, uploads, &mut drive.sync_state).await {
            Ok(()) => code_sync::save_state(client, &drive.location, &drive.sync_state).await,
            Err(err) => Err(err),
        };
        if let Err(err) = uploaded {
            exec.phases
                .end(reporter, "upload", since, false, Some(super::error_chain(&err)));
            return Err(super::error_chain(&err));
        }
        exec.event(EventKind::Phase {
            phase: "upload".into(),
            status: "done".into(),
            detail: None,
        });
        exec.phases.end(reporter, "upload", since, true, None);
    }
    if !matches!(drive.start, Start::Fresh) && !exec.record.replaced_files.is_empty() {
        // A resumed deployment may have uploaded: a rollback must put the code back.
        exec.mutated = true;
    }

    let since = exec.phases.begin(reporter, "rollout", Some(&strategy.name));
    let observer = ReporterObserver(reporter);
    let approver = JournalApprover {
        reporter,
        preapproved: drive.preapproved,
        park: drive.park_for_approval,
        user: drive.user.clone(),
        recorded: exec.record.approvals.clone(),
        expires_at_ms: exec
            .record
            .pending_approval
            .as_ref()
            .and_then(|p| p.expires_at_ms),
    };
    let gate_checker = DeploymentGates {
        extensions: drive.extensions,
        deployment: drive.deployment.clone(),
    };
    let executor = Executor {
        client,
        verifier: &verify_differences,
        observer: &observer,
        approver: &approver,
        gates: &gate_checker,
        poll: Duration::from_millis(250),
    };
    let extensions = drive.extensions;
    let ctx = &mut drive.ctx;
    let deployment = &mut drive.deployment;
    // The first strategy call, or the pending actions of a journaled step.
    let (mut step_no, mut pending): (u32, Option<PendingStep>) =
        match std::mem::replace(&mut drive.start, Start::Fresh) {
            Start::Fresh => (0, None),
            Start::Continue {
                step,
                state,
                actions,
                outcomes,
                started,
            } => (step, Some((state, actions, outcomes, started))),
            Start::Control {
                step,
                state,
                command,
                by,
            } => {
                if let Value::Object(config) = &mut deployment.config {
                    config.insert(
                        "control".into(),
                        json!({"command": command.as_str(), "by": by, "at-ms": now_ms()}),
                    );
                }
                (step, Some((state, Vec::new(), BTreeMap::new(), BTreeSet::new())))
            }
            Start::Finished { phase, message } => {
                let result = StepResult {
                    actions: vec![],
                    state: exec.record.strategy_state.clone().unwrap_or_default(),
                    phase,
                    message,
                };
                return finish_rollout(
                    exec,
                    strategy,
                    deployment,
                    ctx,
                    result,
                    since,
                    drive.run_after,
                    drive.extensions,
                )
                .await;
            }
        };
    let mut state: Option<String> = None;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let final_result: StepResult = loop {
        if let Some((pending_state, actions, done, started)) = pending.take() {
            // Perform this step's actions (those not already done), then ask the strategy.
            outcomes = Vec::with_capacity(actions.len());
            let mut skipping = false;
            for action in &actions {
                if let Some(outcome) = done.get(&action.id) {
                    skipping |= stops_step(outcome);
                    outcomes.push(outcome.clone());
                    continue;
                }
                if skipping {
                    outcomes.push(Outcome {
                        action_id: action.id.clone(),
                        kind: OutcomeKind::Skipped,
                    });
                    continue;
                }
                let resumed = started.contains(&action.id);
                if !resumed {
                    exec.event(EventKind::ActionStarted {
                        step: step_no,
                        action: action.clone(),
                    });
                    exec.save().await.map_err(|e| super::error_chain(&e))?;
                }
                if action.kind.is_mutation() {
                    exec.mutated = true;
                }
                reporter.event(EngineEvent::Action {
                    step: step_no,
                    action,
                    dry_run: false,
                });
                let started_at = Instant::now();
                let outcome = match executor.perform(ctx, action, resumed).await {
                    Performed::Done(outcome) => outcome,
                    Performed::Parked { message } => {
                        let requested_at_ms = now_ms();
                        exec.record.pending_approval = Some(PendingApproval {
                            action_id: action.id.clone(),
                            message: message.clone(),
                            requested_at_ms,
                            expires_at_ms: drive
                                .approval_expiry
                                .map(|d| requested_at_ms + d.as_millis() as i64),
                        });
                        exec.record.created_jobs = ctx.created_jobs.clone();
                        exec.record.started_runs = ctx.started_runs.clone();
                        exec.phases.end(
                            reporter,
                            "rollout",
                            since,
                            true,
                            Some(format!("waiting for approval: {message}")),
                        );
                        return Ok(Driven::Paused {
                            message: format!(
                                "waiting for approval ({message}); run `brickship approve {}` (or `abort`)",
                                deployment.id
                            ),
                        });
                    }
                };
                let duration = started_at.elapsed();
                reporter.event(EngineEvent::Outcome {
                    step: step_no,
                    action,
                    outcome: &outcome,
                    duration,
                });
                exec.record.created_jobs = ctx.created_jobs.clone();
                exec.record.started_runs = ctx.started_runs.clone();
                exec.event(EventKind::ActionFinished {
                    step: step_no,
                    outcome: outcome.clone(),
                    duration_ms: duration.as_millis() as u64,
                });
                exec.save().await.map_err(|e| super::error_chain(&e))?;
                exec.actions.push(ActionReport {
                    step: step_no,
                    action: action.clone(),
                    outcome: Some(outcome.clone()),
                    duration_ms: duration.as_millis() as u64,
                });
                if let OutcomeKind::GateVerdict { verdict } = &outcome.kind {
                    let rendered = format!("{}: {}", gate_decision(verdict.decision), verdict.summary);
                    reporter.event(EngineEvent::Gates {
                        point: "strategy gate check",
                        decision: gate_decision(verdict.decision),
                        rendered: &rendered,
                    });
                    if stops_step(&outcome) {
                        extensions
                            .notify(
                                EventKind2::GateFailed,
                                deployment,
                                &strategy.name,
                                &verdict.summary,
                                verdict.findings.clone(),
                                ctx.live_job_id,
                                None,
                            )
                            .await;
                    }
                }
                skipping |= stops_step(&outcome);
                outcomes.push(outcome);
            }
            if !actions.is_empty() {
                let message = exec
                    .record
                    .events
                    .iter()
                    .rev()
                    .find_map(|e| match &e.kind {
                        EventKind::Step { step, message, .. } if *step == step_no => Some(message.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                extensions
                    .notify(
                        EventKind2::StepDone,
                        deployment,
                        &strategy.name,
                        &message,
                        vec![],
                        ctx.live_job_id,
                        None,
                    )
                    .await;
            }
            state = Some(pending_state);
        }
        step_no += 1;
        deployment.now_ms = now_ms() as u64;
        let result = match strategy.handle.step(deployment, state.as_deref(), &outcomes) {
            Ok(result) => result,
            Err(err) => {
                exec.plugin_failed = err.is_plugin_failure();
                exec.phases
                    .end(reporter, "rollout", since, false, Some(super::error_chain(&err)));
                return Err(format!(
                    "strategy `{}` failed: {}",
                    strategy.name,
                    super::error_chain(&err)
                ));
            }
        };
        // The control input applies to the one call after a human acted.
        if let Value::Object(config) = &mut deployment.config {
            config.remove("control");
        }
        reporter.event(EngineEvent::Step {
            step: step_no,
            phase: result.phase,
            message: &result.message,
        });
        exec.event(EventKind::Step {
            step: step_no,
            phase: result.phase,
            message: result.message.clone(),
            state: result.state.clone(),
            actions: result.actions.clone(),
        });
        exec.record.strategy_state = Some(result.state.clone());
        if result.phase != Phase::Running {
            break result;
        }
        exec.save().await.map_err(|e| super::error_chain(&e))?;
        pending = Some((
            result.state.clone(),
            result.actions.clone(),
            BTreeMap::new(),
            BTreeSet::new(),
        ));
    };
    finish_rollout(
        exec,
        strategy,
        deployment,
        ctx,
        final_result,
        since,
        drive.run_after,
        extensions,
    )
    .await
}

/// After the strategy's last step: pause, fail, or verify, ask the post-deploy gates and
/// trigger a run.
#[allow(clippy::too_many_arguments)]
async fn finish_rollout(
    exec: &mut Execution<'_>,
    strategy: &LoadedStrategy,
    deployment: &plugin_host::types::Deployment,
    ctx: &ExecContext,
    final_result: StepResult,
    since: Instant,
    run_after: bool,
    extensions: &Extensions,
) -> Result<Driven, String> {
    let reporter = exec.reporter;
    let client = exec.client;
    match final_result.phase {
        Phase::Succeeded => exec.phases.end(
            reporter,
            "rollout",
            since,
            true,
            Some(final_result.message.clone()),
        ),
        Phase::Failed | Phase::Running => {
            exec.phases.end(
                reporter,
                "rollout",
                since,
                false,
                Some(final_result.message.clone()),
            );
            return Err(if final_result.message.is_empty() {
                format!("strategy `{}` failed", strategy.name)
            } else {
                final_result.message
            });
        }
        Phase::Paused => {
            exec.phases.end(
                reporter,
                "rollout",
                since,
                true,
                Some(format!("paused: {}", final_result.message)),
            );
            return Ok(Driven::Paused {
                message: format!(
                    "{}; run `brickship promote {id}` to continue, `brickship promote {id} --full` to finish, or `brickship abort {id}`",
                    final_result.message,
                    id = deployment.id
                ),
            });
        }
    }

    // Verify: the job holding the pipeline's name now has the desired settings and ACL.
    let since = exec.phases.begin(reporter, "verify", None);
    let job_id = match live_job_after(client, ctx, deployment).await {
        Ok(id) => id,
        Err(err) => {
            exec.phases
                .end(reporter, "verify", since, false, Some(err.clone()));
            return Err(err);
        }
    };
    let verified = verify_job(client, job_id, deployment).await;
    exec.phases.end(
        reporter,
        "verify",
        since,
        verified.is_ok(),
        verified.as_ref().err().cloned(),
    );
    verified?;
    exec.event(EventKind::Phase {
        phase: "verify".into(),
        status: "passed".into(),
        detail: Some(format!("job {job_id}")),
    });

    // Post-deploy gates judge the result with the runs this deployment made as evidence.
    if !extensions.gates_at(GatePoint::PostDeploy).is_empty() {
        let since = exec.phases.begin(reporter, "gates", Some("post-deploy"));
        let mut evidence = Vec::new();
        for run_id in ctx.started_runs.values() {
            if let Ok(run) = client.get_run(*run_id).await {
                evidence.push(super::executor::summarize(&run));
            }
        }
        let report = extensions.evaluate(GatePoint::PostDeploy, deployment, &evidence);
        if let Some(report) = report {
            let rendered = extensions.redact(&report.render());
            reporter.event(EngineEvent::Gates {
                point: "post-deploy",
                decision: gate_decision(report.decision),
                rendered: &rendered,
            });
            exec.event(EventKind::Note {
                message: format!("post-deploy gates: {}", report.summary),
            });
            if report.refuses() {
                exec.phases
                    .end(reporter, "gates", since, false, Some(report.summary.clone()));
                extensions
                    .notify(
                        EventKind2::GateFailed,
                        deployment,
                        &strategy.name,
                        &report.summary,
                        report.findings(),
                        Some(job_id),
                        None,
                    )
                    .await;
                return Err(format!("post-deploy gates refused: {}", report.refusal_message()));
            }
            exec.phases
                .end(reporter, "gates", since, true, Some(report.summary.clone()));
        }
    }

    // The seed's "start jobs with new configuration": only for jobs nothing else triggers.
    let mut run = None;
    let triggered = ["schedule", "trigger", "continuous", "triggers"]
        .iter()
        .any(|k| deployment.desired.get(*k).is_some());
    if run_after && !triggered {
        let since = exec.phases.begin(reporter, "run", None);
        let mut request = databricks::RunNow::new(job_id);
        request.idempotency_token = Some(format!("{}-run", deployment.id));
        match client.run_now(&request).await {
            Ok(started) => {
                let url = client
                    .get_run(started.run_id)
                    .await
                    .ok()
                    .and_then(|r| r.run_page_url);
                exec.event(EventKind::Note {
                    message: format!("started run {}", started.run_id),
                });
                run = Some(json!({"run_id": started.run_id, "url": url}));
                exec.phases.end(
                    reporter,
                    "run",
                    since,
                    true,
                    Some(format!("run {}", started.run_id)),
                );
            }
            Err(err) => {
                exec.phases
                    .end(reporter, "run", since, false, Some(err.to_string()));
                return Err(format!("the job was deployed but its run could not start: {err}"));
            }
        }
    }
    Ok(Driven::Done { job_id, run })
}

/// The job that holds the pipeline's name after the rollout: the live job or one the strategy
/// created (e.g. green after a swap).
async fn live_job_after(
    client: &Client,
    ctx: &ExecContext,
    deployment: &plugin_host::types::Deployment,
) -> Result<i64, String> {
    let name = deployment
        .desired
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut candidates: Vec<i64> = ctx.created_jobs.values().copied().collect();
    if let Some(live) = ctx.live_job_id {
        candidates.push(live);
    }
    let mut holding = Vec::new();
    for id in candidates {
        match client.get_job(id).await {
            Ok(job) if job.settings.name.as_deref() == Some(name) => holding.push(id),
            Ok(_) => {}
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(format!("cannot read job {id}: {err}")),
        }
    }
    holding.sort_unstable();
    holding.dedup();
    match holding.as_slice() {
        [id] => Ok(*id),
        [] => Err(format!("after the rollout no job is named `{name}`")),
        many => Err(format!(
            "after the rollout {} jobs are named `{name}` ({}); the strategy left a duplicate",
            many.len(),
            many.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Checks the job's settings and (when managed) permissions equal the desired ones.
async fn verify_job(
    client: &Client,
    job_id: i64,
    deployment: &plugin_host::types::Deployment,
) -> Result<(), String> {
    let live = client
        .get_job_value(job_id)
        .await
        .map_err(|e| format!("cannot read job {job_id}: {e}"))?;
    let settings = live.get("settings").cloned().unwrap_or(Value::Null);
    let differences = verify_differences(&deployment.desired, &settings);
    if !differences.is_empty() {
        let fields: Vec<String> = differences.iter().take(5).map(|d| d.path.clone()).collect();
        return Err(format!(
            "job {job_id} does not have the deployed settings: {} field(s) differ ({})",
            differences.len(),
            fields.join(", ")
        ));
    }
    if let Some(acl) = &deployment.acl {
        let permissions = client
            .get_job_permissions(job_id)
            .await
            .map_err(|e| format!("cannot read the permissions of job {job_id}: {e}"))?;
        let live = serde_json::to_value(permissions).unwrap_or(Value::Null);
        let desired: Vec<project::AclEntry> = acl
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                Some(project::AclEntry {
                    principal: project::Principal::from_entry(v)?,
                    permission_level: v.get("permission_level")?.as_str()?.to_owned(),
                })
            })
            .collect();
        let changes = crate::plan::diff_acl(&desired, Some(&live));
        if !changes.is_empty() {
            return Err(format!(
                "job {job_id} does not have the deployed permissions: {} entry(ies) differ",
                changes.len()
            ));
        }
    }
    Ok(())
}

/// Restores the snapshot after a failure: the live job's settings and ACL, no job this
/// deployment created, the previous code. Returns the problems (empty when fully restored).
pub(crate) async fn restore_snapshot(exec: &mut Execution<'_>) -> Vec<String> {
    let client = exec.client;
    let mut problems = Vec::new();
    let snapshot = exec.record.snapshot.clone();
    for (label, job_id) in exec.record.created_jobs.clone() {
        if Some(job_id) == snapshot.job_id {
            continue;
        }
        match client.delete_job(job_id).await {
            Ok(()) => exec.event(EventKind::Note {
                message: format!("rollback: deleted job {job_id} (`{label}`)"),
            }),
            Err(err) if err.is_not_found() => {}
            Err(err) => problems.push(format!("cannot delete job {job_id} (`{label}`): {err}")),
        }
    }
    if let (Some(job_id), Some(settings)) = (snapshot.job_id, snapshot.settings.clone()) {
        // A live job the deployment never changed (a failed canary, a green that failed its
        // smoke run) is left alone: resetting it to the same settings would still be a write to
        // the production job. When it cannot be read, it is restored regardless.
        let current = client.get_job_value(job_id).await.ok();
        if current.as_ref().and_then(|job| job.get("settings")) == Some(&settings) {
            exec.event(EventKind::Note {
                message: format!("rollback: job {job_id} still has its previous settings"),
            });
        } else {
            match databricks::JobSettings::from_value(settings) {
                Ok(settings) => match client.reset_job(job_id, &settings).await {
                    Ok(()) => exec.event(EventKind::Note {
                        message: format!("rollback: restored the settings of job {job_id}"),
                    }),
                    Err(err) => problems.push(format!("cannot restore the settings of job {job_id}: {err}")),
                },
                Err(err) => problems.push(format!(
                    "the snapshot of job {job_id} is not valid settings: {err}"
                )),
            }
        }
        if exec.record.desired.acl.is_some()
            && let Some(acl) = &snapshot.acl
        {
            let current = client
                .get_job_permissions(job_id)
                .await
                .ok()
                .and_then(|p| serde_json::to_value(p).ok())
                .map(|p| sorted_acl(direct_acl(&p)));
            if current == Some(sorted_acl(acl.clone())) {
                exec.event(EventKind::Note {
                    message: format!("rollback: job {job_id} still has its previous permissions"),
                });
            } else {
                match serde_json::from_value::<Vec<databricks::AccessControlRequest>>(acl.clone()) {
                    Ok(acl) if !acl.is_empty() => match client.set_job_permissions(job_id, &acl).await {
                        Ok(_) => exec.event(EventKind::Note {
                            message: format!("rollback: restored the permissions of job {job_id}"),
                        }),
                        Err(err) => {
                            problems.push(format!("cannot restore the permissions of job {job_id}: {err}"))
                        }
                    },
                    Ok(_) => {}
                    Err(err) => problems.push(format!("the snapshot ACL is not valid: {err}")),
                }
            }
        }
    }
    let location = exec.journal.location().clone();
    problems.extend(restore_files(client, &location, &exec.record).await);
    problems
}

/// An ACL (from [`direct_acl`]) in a canonical order, for comparing two of them.
fn sorted_acl(acl: Value) -> Value {
    let mut entries = acl.as_array().cloned().unwrap_or_default();
    entries.sort_by_key(|entry| entry.to_string());
    Value::Array(entries)
}

/// Puts back the code a deployment's upload replaced, and the sync state before it.
async fn restore_files(client: &Client, location: &StateLocation, record: &DeploymentRecord) -> Vec<String> {
    let mut problems = code_sync::restore(client, &record.replaced_files).await;
    if let Some(previous) = &record.previous_sync
        && let Err(err) = code_sync::save_state(client, location, previous).await
    {
        problems.push(format!(
            "cannot restore `sync.json`: {}",
            super::error_chain(&err)
        ));
    }
    problems
}

pub(crate) fn finish_report(
    mut report: Report,
    phases: &Phases,
    client: &Client,
    project_root: &Path,
    monitoring_file: Option<String>,
) -> Result<DeployOutcome, EngineError> {
    report.phases = phases.take();
    report.monitoring_file = monitoring_file;
    report.finish(now_ms(), client.calls());
    let report_paths = report.write(project_root)?;
    Ok(DeployOutcome { report, report_paths })
}

/// What `brickship status` shows.
#[derive(Debug, Serialize)]
pub struct StatusView {
    pub pipeline: String,
    pub environment: String,
    pub workspace: String,
    pub job: Option<Value>,
    pub last_deployment: Option<IndexEntry>,
    pub unfinished: Vec<IndexEntry>,
    pub active_runs: Vec<Value>,
    pub lock: Option<LockInfo>,
    pub lock_stale: Option<String>,
}

/// `brickship status`.
pub async fn status(
    target: &Target,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<StatusView, EngineError> {
    let prepared = prepare(target, env, None, reporter).await?;
    let client = &prepared.client;
    let journal = Journal::new(client, prepared.location.clone());
    let live = read_live(client, &journal, prepared.pipeline.job_name(), false).await?;
    let lock = lock::peek(client, &prepared.location.lock_path()).await?;
    let active_runs = match live.job_id {
        Some(job_id) => client
            .list_runs(&databricks::ListRuns {
                active_only: true,
                ..databricks::ListRuns::for_job(job_id)
            })
            .await
            .map_err(|source| {
                EngineError::workspace(format!("list the active runs of job {job_id}"), source)
            })?
            .iter()
            .map(|run| {
                json!({
                    "run_id": run.run_id,
                    "state": run.life_cycle_state().map(|s| s.as_str().to_owned()),
                    "start_time": run.start_time.map(format_time_ms),
                    "url": run.run_page_url,
                })
            })
            .collect(),
        None => vec![],
    };
    let job = live.job_id.map(|id| {
        let settings = live.settings.clone().unwrap_or(Value::Null);
        json!({
            "job_id": id,
            "name": settings.get("name"),
            "schedule": settings.get("schedule"),
            "deployment": settings.get("tags").and_then(|t| t.get(super::executor::TAG_DEPLOYMENT)),
        })
    });
    Ok(StatusView {
        pipeline: prepared.pipeline.pipeline.clone(),
        environment: prepared.pipeline.environment.name.clone(),
        workspace: client.base_url().to_owned(),
        job,
        last_deployment: live.index.deployments.last().cloned(),
        unfinished: live.index.unfinished().cloned().collect(),
        active_runs,
        lock_stale: lock.as_ref().and_then(|l| l.stale_reason(now_ms())),
        lock,
    })
}

/// `brickship history`: the journal's index, newest first.
pub async fn history(
    target: &Target,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<Vec<IndexEntry>, EngineError> {
    let prepared = prepare(target, env, None, reporter).await?;
    let journal = Journal::new(&prepared.client, prepared.location.clone());
    let mut entries = journal.index().await?.deployments;
    entries.reverse();
    Ok(entries)
}

/// `brickship rollback`: re-applies the settings of the previous (or a chosen) deployment.
pub async fn rollback(
    request: &RollbackRequest,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<DeployOutcome, EngineError> {
    let phases = Phases::new();
    let started_at_ms = now_ms();
    let prepared = prepare(&request.target, env, None, reporter).await?;
    let client = &prepared.client;
    let p = &prepared.pipeline;
    // Notifiers only: a rollback restores a known state and is never held back by gates.
    let (extensions, _) = Extensions::load(p, env, false, false)?;
    let journal = Journal::new(client, prepared.location.clone());
    let index = journal.index().await?;

    // What to restore: --to, an interrupted deployment's snapshot, or the deployment before the current one.
    let target = pick_rollback_target(&journal, &index, request.to.as_deref()).await?;
    let (restores, desired_settings, desired_acl) = (
        target.restores.clone(),
        target.settings.clone(),
        target.acl.clone(),
    );
    // The code the undone deployments uploaded goes back too, so settings and code stay a pair.
    let mut undone_records = Vec::new();
    for id in &target.undo {
        if let Some(record) = journal.record(id).await? {
            undone_records.push(record);
        }
    }
    let (code_undo, sync_before) = code_sync::undo_uploads(undone_records.iter().rev());
    let live = read_live(client, &journal, p.job_name(), desired_acl.is_some()).await?;
    let desired_name = desired_settings
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(p.job_name())
        .to_owned();
    let live = if live.job_id.is_none() && desired_name != p.job_name() {
        read_live(client, &journal, &desired_name, desired_acl.is_some()).await?
    } else {
        live
    };
    let acl_entries: Vec<project::AclEntry> = desired_acl
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some(project::AclEntry {
                principal: project::Principal::from_entry(v)?,
                permission_level: v.get("permission_level")?.as_str()?.to_owned(),
            })
        })
        .collect();
    let plan = Plan::compute(
        &desired_settings,
        &acl_entries,
        live.settings.as_ref(),
        live.permissions.as_ref(),
        &normalize_options(),
    );
    reporter.event(EngineEvent::Plan {
        plan: &plan,
        uploads: &[],
    });
    let deployment_id = new_deployment_id();
    let user = client
        .current_user()
        .await
        .map_err(|source| EngineError::workspace("read the current user", source))?
        .user_name
        .unwrap_or_else(|| "unknown".into());
    let mut report = Report::new(
        &deployment_id,
        DeploymentKind::Rollback,
        p,
        "rollback",
        started_at_ms,
    );
    report.workspace = client.base_url().to_owned();
    report.user = user.clone();
    report.plan = plan.to_json();
    report.restores = Some(restores.clone());
    report.job_id = live.job_id;
    if plan.is_empty() && code_undo.is_empty() && index.unfinished().next().is_none() {
        report.status = ReportStatus::NoOp;
        reporter.event(EngineEvent::Note {
            message: &format!("the live job already has the settings of `{restores}`: nothing to do"),
        });
        return finish_report(report, &phases, client, &p.project.root, None);
    }
    approve(
        p.environment.approval_required,
        request.approve,
        false,
        "this rollback",
        &p.environment.name,
        reporter,
    )?;

    let since = phases.begin(reporter, "lock", None);
    let info = LockInfo::new(&deployment_id, &user, "rollback", now_ms());
    let finished = |id: &str| index.find(id).is_some_and(|e| e.status.is_final());
    let guard = lock::acquire(
        client,
        &prepared.location.lock_path(),
        info,
        request.force_lock,
        &finished,
        now_ms(),
    )
    .await?;
    phases.end(reporter, "lock", since, true, None);

    let mut index = journal.index().await?;
    // Deployments that never finished are superseded by this rollback, which puts back the
    // code they replaced and (below) the settings they found.
    let superseded =
        abort_unfinished(client, &journal, &mut index, &deployment_id, reporter, &phases).await?;
    let (git_commit, git_dirty) = git_state(&p.project.root);
    let record = DeploymentRecord::new(
        Manifest {
            deployment_id: deployment_id.clone(),
            kind: DeploymentKind::Rollback,
            pipeline: p.pipeline.clone(),
            environment: p.environment.name.clone(),
            strategy: "direct".into(),
            config_hash: project::content_hash(
                &desired_settings,
                desired_acl
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            ),
            git_commit,
            git_dirty,
            user: user.clone(),
            machine: machine(),
            brickship_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at_ms,
            restores: Some(restores.clone()),
            options: json!({}),
        },
        live.snapshot(),
        Desired {
            settings: desired_settings.clone(),
            acl: desired_acl.clone(),
        },
    );
    // Within a blue-green bake window the rollback is a swap back to the kept blue job;
    // otherwise the restored settings are applied in place (the direct strategy).
    let swap = swap_back_plan(client, &journal, &index, &target, &live).await?;
    let swap_blue = swap.as_ref().map(|s| s.blue);
    let strategy = match swap {
        Some(swap) => {
            reporter.event(EngineEvent::Note {
                message: &format!("within the bake window: swapping back to blue job {}", swap.blue),
            });
            let config = swap.config();
            LoadedStrategy {
                name: SWAP_BACK.into(),
                handle: Box::new(swap),
                config,
            }
        }
        None => LoadedStrategy {
            name: "direct".into(),
            handle: Box::new(
                runtime()?
                    .load_strategy(&PluginRef::builtin("direct"))
                    .map_err(|source| EngineError::plugin("direct", source))?,
            ),
            config: json!({ "active_runs": "wait" }),
        },
    };
    let mut record = record;
    record.manifest.strategy = strategy.name.clone();
    record.manifest.options = json!({"strategy_config": strategy.config, "rollback_on_failure": true});
    let deployment = plugin_host::types::Deployment {
        id: deployment_id.clone(),
        pipeline: p.pipeline.clone(),
        environment: p.environment.name.clone(),
        version: restores.clone(),
        desired: desired_settings,
        acl: desired_acl,
        live: live.settings.clone(),
        live_job_id: live.job_id,
        plan: plugin_plan(&plan),
        config: strategy.config.clone(),
        now_ms: now_ms() as u64,
    };
    let mut exec = Execution::new(client, journal, record, index, reporter, &phases);
    for message in superseded {
        exec.event(EventKind::Note { message });
    }
    if !code_undo.is_empty() {
        // Journal what is there now (so this rollback can itself be undone), then restore.
        let remotes: Vec<String> = code_undo.iter().map(|r| r.remote.clone()).collect();
        exec.record.replaced_files = code_sync::capture_paths(client, &remotes).await?;
        exec.record.previous_sync = Some(code_sync::load_state(client, &prepared.location).await?);
        exec.event(EventKind::Note {
            message: format!(
                "restoring {} file(s) the undone deployments uploaded",
                code_undo.len()
            ),
        });
        exec.save_index().await?;
        exec.save().await?;
        exec.mutated = true;
        let problems = code_sync::restore(client, &code_undo).await;
        if let Some(sync) = &sync_before {
            code_sync::save_state(client, &prepared.location, sync).await?;
        }
        if !problems.is_empty() {
            exec.event(EventKind::Note {
                message: format!("code restore problems: {}", problems.join("; ")),
            });
        }
    }
    let ctx = ExecContext {
        deployment_id: deployment_id.clone(),
        pipeline: p.pipeline.clone(),
        environment: p.environment.name.clone(),
        // After a swap back the job holding the name is blue.
        live_job_id: swap_blue.or(live.job_id),
        ..ExecContext::default()
    };
    let drive = Drive {
        deployment,
        uploads: &[],
        sync_state: SyncState::default(),
        location: prepared.location.clone(),
        run_after: false,
        rollback_on_failure: true,
        user: user.clone(),
        preapproved: true,
        park_for_approval: false,
        approval_expiry: None,
        start: Start::Fresh,
        ctx,
        extensions: &extensions,
    };
    let report = execute_reported(&mut exec, &strategy, drive, guard, report, &p.project.root).await?;
    finish_report(report, &phases, client, &p.project.root, None)
}

/// Aborts every unfinished deployment (its process died, or it was paused) other than `by`,
/// newest first: its snapshot is restored exactly as `brickship abort` would (jobs it created
/// deleted — green, canary — the live job's settings and permissions and the code it replaced put
/// back), and it is marked interrupted, superseded by `by`. The next deployment then starts from
/// the state before it, never from a half-done swap, and nothing it made is orphaned. Returns
/// notes for the journal.
async fn abort_unfinished(
    client: &Client,
    journal: &Journal<'_>,
    index: &mut Index,
    by: &str,
    reporter: &dyn Reporter,
    phases: &Phases,
) -> Result<Vec<String>, EngineError> {
    let mut notes = Vec::new();
    let mut unfinished: Vec<IndexEntry> = index
        .unfinished()
        .filter(|e| e.deployment_id != by)
        .cloned()
        .collect();
    unfinished.reverse();
    for entry in unfinished {
        let Some(record) = journal.record(&entry.deployment_id).await? else {
            // Killed before its record was written: it changed nothing.
            let mut entry = entry.clone();
            entry.status = Status::Interrupted;
            index.upsert(entry);
            continue;
        };
        let mut exec = Execution::new(
            client,
            Journal::new(client, journal.location().clone()),
            record,
            index.clone(),
            reporter,
            phases,
        );
        exec.mutated = true;
        let problems = restore_snapshot(&mut exec).await;
        let mut old = exec.record;
        old.status = Status::Interrupted;
        old.finished_at_ms = Some(now_ms());
        old.pending_approval = None;
        let outcome = if problems.is_empty() {
            "its snapshot was restored".to_owned()
        } else {
            format!("restoring its snapshot met problems: {}", problems.join("; "))
        };
        old.push(
            now_ms(),
            EventKind::Note {
                message: format!("interrupted; superseded by `{by}`, {outcome}"),
            },
        );
        journal.write_record(&old).await?;
        index.upsert(old.entry());
        if let Some(job_id) = old.snapshot.job_id {
            index.live_job_id = Some(job_id);
        }
        let note = format!(
            "aborted unfinished deployment `{}`: {outcome}",
            entry.deployment_id
        );
        reporter.event(EngineEvent::Note { message: &note });
        notes.push(note);
    }
    Ok(notes)
}

/// What a rollback restores.
struct RollbackTarget {
    /// The deployment whose settings are restored (or `snapshot-of-<id>`).
    restores: String,
    settings: Value,
    acl: Option<Value>,
    /// Succeeded deployments after the restored one, whose code uploads are undone (oldest first).
    undo: Vec<String>,
}

impl RollbackTarget {
    fn new(restores: String, settings: Value, acl: Option<Value>) -> Self {
        Self {
            restores,
            settings,
            acl,
            undo: Vec::new(),
        }
    }
}

/// The succeeded deployments after position `after` (exclusive) in the index.
fn succeeded_after(index: &Index, after: Option<usize>) -> Vec<String> {
    let start = after.map_or(0, |i| i + 1);
    index.deployments[start.min(index.deployments.len())..]
        .iter()
        .filter(|e| e.status == Status::Succeeded)
        .map(|e| e.deployment_id.clone())
        .collect()
}

/// The deployment a rollback restores.
async fn pick_rollback_target(
    journal: &Journal<'_>,
    index: &Index,
    to: Option<&str>,
) -> Result<RollbackTarget, EngineError> {
    let position = |id: &str| index.deployments.iter().position(|e| e.deployment_id == id);
    let missing = |what: String| EngineError::Usage(what);
    if let Some(id) = to {
        let entry = index.find(id).ok_or_else(|| {
            missing(format!(
                "no deployment `{id}` in this pipeline's history; run `brickship history` to see the deployment ids"
            ))
        })?;
        if entry.status != Status::Succeeded {
            return Err(missing(format!(
                "deployment `{id}` {}; roll back to a deployment that succeeded",
                match entry.status {
                    Status::RolledBack => "was rolled back".to_owned(),
                    other => format!("is {}", other.as_str()),
                }
            )));
        }
        let record = journal.record(id).await?.ok_or_else(|| {
            missing(format!(
                "the record of deployment `{id}` is missing from the journal"
            ))
        })?;
        let mut target = RollbackTarget::new(id.to_owned(), record.desired.settings, record.desired.acl);
        target.undo = succeeded_after(index, position(id));
        return Ok(target);
    }
    let succeeded: Vec<&IndexEntry> = index
        .deployments
        .iter()
        .filter(|e| e.status == Status::Succeeded)
        .collect();
    // An interrupted deployment: restore what it found.
    if let Some(entry) = index.unfinished().last() {
        let Some(record) = journal.record(&entry.deployment_id).await? else {
            // Killed before its record was written: it changed nothing, so the configuration in
            // force is the last successful deployment's.
            let current = succeeded.last().ok_or_else(|| {
                missing(format!("deployment `{}` was interrupted before changing anything and nothing was deployed before it", entry.deployment_id))
            })?;
            let current_id = current
                .restores
                .clone()
                .unwrap_or_else(|| current.deployment_id.clone());
            let record = journal
                .record(&current_id)
                .await?
                .ok_or_else(|| missing(format!("the record of deployment `{current_id}` is missing")))?;
            return Ok(RollbackTarget::new(
                current_id,
                record.desired.settings,
                record.desired.acl,
            ));
        };
        let Some(settings) = record.snapshot.settings.clone() else {
            return Err(missing(format!(
                "deployment `{}` was interrupted while creating the job, so there is no earlier version; deploy again to finish it",
                entry.deployment_id
            )));
        };
        return Ok(RollbackTarget::new(
            format!("snapshot-of-{}", entry.deployment_id),
            settings,
            record.snapshot.acl.clone(),
        ));
    }
    let lineage = lineage(index);
    let Some((current_id, current_position)) = lineage.last().cloned() else {
        return Err(missing(
            "nothing to roll back: this pipeline has no successful deployment in this environment".into(),
        ));
    };
    match lineage.len().checked_sub(2).map(|i| lineage[i].clone()) {
        // The version in force before the current one; undo what came after it became current.
        Some((previous_id, previous_position)) => {
            let record = journal
                .record(&previous_id)
                .await?
                .ok_or_else(|| missing(format!("the record of deployment `{previous_id}` is missing")))?;
            let label = index
                .find(&previous_id)
                .and_then(|e| e.restores.clone())
                .unwrap_or_else(|| previous_id.clone());
            let mut target = RollbackTarget::new(label, record.desired.settings, record.desired.acl);
            target.undo = succeeded_after(index, Some(previous_position));
            Ok(target)
        }
        // Only one version: restore what the first deployment found.
        None => {
            let record = journal
                .record(&current_id)
                .await?
                .ok_or_else(|| missing(format!("the record of deployment `{current_id}` is missing")))?;
            match record.snapshot.settings {
                Some(settings) => {
                    let mut target = RollbackTarget::new(
                        format!("snapshot-of-{current_id}"),
                        settings,
                        record.snapshot.acl,
                    );
                    // Undo the current deployment itself and everything after it.
                    target.undo = succeeded_after(index, current_position.checked_sub(1));
                    if current_position == 0 {
                        target.undo = succeeded_after(index, None);
                    }
                    Ok(target)
                }
                None => Err(missing(format!(
                    "nothing to roll back to: `{current_id}` is the first deployment and it created the job; deploy an earlier version instead"
                ))),
            }
        }
    }
}

/// The versions in force, oldest first: `(deployment whose record holds the settings, index
/// position where it became the version in force)`. A deploy pushes a version; a rollback to an
/// earlier version pops back to it (it is in force again from the rollback's position), so
/// rolling back twice goes back two versions, and a version a rollback undid is never restored
/// by accident.
fn lineage(index: &Index) -> Vec<(String, usize)> {
    let mut stack: Vec<(String, usize)> = Vec::new();
    for (position, entry) in index.deployments.iter().enumerate() {
        if entry.status != Status::Succeeded {
            continue;
        }
        match (entry.kind, entry.restores.as_deref()) {
            (DeploymentKind::Rollback, Some(restored)) if stack.iter().any(|(id, _)| id == restored) => {
                while stack.last().is_some_and(|(id, _)| id != restored) {
                    stack.pop();
                }
                if let Some(top) = stack.last_mut() {
                    top.1 = position;
                }
            }
            // A deploy, or a rollback to a version no longer in the lineage (a snapshot): its own
            // record holds the settings it applied.
            _ => stack.push((entry.deployment_id.clone(), position)),
        }
    }
    stack
}
