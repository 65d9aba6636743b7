//! Steering deployments that stopped: `brickship resume | promote | abort | approve <id>`.
//!
//! A deployment stops in two ways: it **paused** (a canary analysis was inconclusive, a swap
//! waits for approval) and still holds its lock as a paused deployment; or its process was
//! **interrupted** (killed, lost its machine) and left an `in-progress` record and a stale lock.
//! Either way the journal in the workspace holds everything needed to continue from any machine
//! with the project: the manifest, the snapshot, the desired settings, the strategy and its
//! state, and every action with its outcome.
//!
//! * `resume` continues where it stopped: the actions of the last step that have no recorded
//!   outcome are performed again (creations look for what they may already have made, runs
//!   reuse their idempotency tokens), then the strategy is called again. For a paused
//!   deployment the strategy is told to re-run the paused analysis.
//! * `promote [--full]` tells a paused strategy to go on (or straight to full promotion).
//! * `abort` restores the snapshot: jobs the deployment created are deleted, the live job gets
//!   its previous settings, the code it uploaded is put back.
//! * `approve` records who approved and when, then continues the deployment (unless told to
//!   only record it). An expired request cannot be approved, only aborted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use databricks::Client;
use plugin_host::PluginRef;
use plugin_host::types::{Outcome, Phase};
use serde_json::{Value, json};

use super::executor::ExecContext;
use super::extensions::Extensions;
use super::journal::{Approval, DeploymentRecord, EventKind, Index, Journal, StateLocation, Status};
use super::lock::{self, LockInfo};
use super::report::{Report, ReportStatus, RollbackReport};
use super::run::{
    ControlCommand, DeployOutcome, Drive, EngineEvent, Execution, LoadedStrategy, Phases, Reporter,
    SWAP_BACK, Start, StepFunction, SwapBack, Target, execute_reported, finish_report, load_pipeline,
    restore_snapshot, runtime,
};
use super::sync::{self as code_sync};
use super::{EngineError, WorkspaceChoice, connect, now_ms};
use crate::project::{self, EnvLookup, RenderedPipeline};

/// `brickship resume | promote | abort | approve <deployment-id>`, resolved.
#[derive(Debug, Clone)]
pub struct ControlRequest {
    pub project_dir: PathBuf,
    pub deployment_id: String,
    pub command: ControlCommand,
    /// Narrow the search to one pipeline / environment (else every pipeline × environment).
    pub pipeline: Option<String>,
    pub environment: Option<String>,
    pub host: Option<String>,
    pub profile: Option<String>,
    /// For `approve`: a comment recorded with the approval.
    pub comment: Option<String>,
    /// For `approve`: only record the approval; someone resumes later.
    pub record_only: bool,
}

/// A deployment found in the workspace journal.
struct Located {
    pipeline: RenderedPipeline,
    client: Client,
    location: StateLocation,
    record: DeploymentRecord,
    index: Index,
}

async fn locate(
    request: &ControlRequest,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<Located, EngineError> {
    let pipelines = match &request.pipeline {
        Some(p) => vec![p.clone()],
        None => project::list_pipelines(&request.project_dir),
    };
    let environments: Vec<String> = match &request.environment {
        Some(e) => vec![e.clone()],
        None => {
            let (config, _, _) = project::load_project(&request.project_dir, false);
            config
                .map(|c| c.environment_names().into_iter().map(str::to_owned).collect())
                .unwrap_or_default()
        }
    };
    let mut searched = Vec::new();
    for environment in &environments {
        for pipeline in &pipelines {
            let target = Target {
                project_dir: request.project_dir.clone(),
                pipeline: pipeline.clone(),
                environment: environment.clone(),
                config_file: None,
                host: request.host.clone(),
                profile: request.profile.clone(),
                strict: false,
            };
            let Ok((rendered, _)) = load_pipeline(&target, env, None) else {
                continue;
            };
            let choice = WorkspaceChoice::pick(
                &rendered.environment.workspace,
                request.host.as_deref(),
                request.profile.as_deref(),
            );
            let client = connect(&choice, &request.project_dir, environment).await?;
            let location = StateLocation::new(&rendered.project.state_root, pipeline, environment);
            let journal = Journal::new(&client, location.clone());
            let index = journal.index().await?;
            searched.push(format!("{pipeline}/{environment}"));
            if index.find(&request.deployment_id).is_none() {
                continue;
            }
            let record = journal.record(&request.deployment_id).await?;
            reporter.event(EngineEvent::Note {
                message: &format!("found `{}` in {pipeline}/{environment}", request.deployment_id),
            });
            let Some(record) = record else {
                return Err(EngineError::Usage(format!(
                    "deployment `{}` was interrupted before it changed anything (its record was never written); deploy again",
                    request.deployment_id
                )));
            };
            return Ok(Located {
                pipeline: rendered,
                client,
                location,
                record,
                index,
            });
        }
    }
    Err(EngineError::Usage(format!(
        "no deployment `{}` in the journal of {} — check the id with `brickship history <pipeline> -e <env>`{}",
        request.deployment_id,
        if searched.is_empty() {
            "any pipeline of this project".to_owned()
        } else {
            searched.join(", ")
        },
        if request.pipeline.is_none() {
            ""
        } else {
            ", or drop --pipeline/--environment"
        }
    )))
}

/// Where to restart the strategy from, read off the journal.
fn start_point(record: &DeploymentRecord, command: ControlCommand, by: &str) -> Start {
    let last_step = record.events.iter().rev().find_map(|event| match &event.kind {
        EventKind::Step {
            step,
            phase,
            message,
            state,
            actions,
        } => Some((*step, *phase, message.clone(), state.clone(), actions.clone())),
        _ => None,
    });
    let Some((step, phase, message, state, actions)) = last_step else {
        return Start::Fresh;
    };
    match phase {
        Phase::Running => {
            let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
            let mut started = BTreeSet::new();
            for event in &record.events {
                match &event.kind {
                    EventKind::ActionStarted { step: s, action } if *s == step => {
                        started.insert(action.id.clone());
                    }
                    EventKind::ActionFinished { step: s, outcome, .. } if *s == step => {
                        outcomes.insert(outcome.action_id.clone(), outcome.clone());
                    }
                    _ => {}
                }
            }
            Start::Continue {
                step,
                state,
                actions,
                outcomes,
                started,
            }
        }
        Phase::Paused => Start::Control {
            step,
            state,
            command,
            by: by.to_owned(),
        },
        Phase::Succeeded | Phase::Failed => Start::Finished { phase, message },
    }
}

/// Runs `request.command` on a paused or interrupted deployment.
pub async fn control(
    request: &ControlRequest,
    env: EnvLookup<'_>,
    reporter: &dyn Reporter,
) -> Result<DeployOutcome, EngineError> {
    let phases = Phases::new();
    let located = locate(request, env, reporter).await?;
    let Located {
        pipeline: p,
        client,
        location,
        mut record,
        index,
    } = located;
    let (extensions, _) = Extensions::load(&p, env, false, request.command != ControlCommand::Abort)?;
    let client = &client;
    let id = request.deployment_id.clone();
    let user = client
        .current_user()
        .await
        .map_err(|source| EngineError::workspace("read the current user", source))?
        .user_name
        .unwrap_or_else(|| "unknown".into());
    if record.status.is_final() {
        // Killed after recording its result and before its bookkeeping: the index (read back
        // from the records by `Journal::index`) is written and the lock it still holds freed,
        // so `status` and the next deploy see it finished.
        let lock_path = location.lock_path();
        if lock::peek(client, &lock_path)
            .await?
            .is_some_and(|held| held.deployment_id == id)
        {
            Journal::new(client, location.clone()).write_index(&index).await?;
            let info = LockInfo::new(&id, &user, request.command.as_str(), now_ms());
            let guard = lock::acquire(
                client,
                &lock_path,
                info,
                false,
                &|holder: &str| holder == id,
                now_ms(),
            )
            .await?;
            guard.release(client).await?;
            reporter.event(EngineEvent::Note {
                message: &format!("released the lock deployment `{id}` still held after it had finished"),
            });
        }
        return Err(EngineError::Usage(format!(
            "deployment `{id}` already finished ({}); nothing to {}",
            record.status.as_str(),
            request.command.as_str()
        )));
    }

    // The lock: held by this deployment (paused, or its process is gone), or free.
    let lock_path = location.lock_path();
    if let Some(current) = lock::peek(client, &lock_path).await? {
        if current.deployment_id == id && !current.paused && current.stale_reason(now_ms()).is_none() {
            return Err(EngineError::Usage(format!(
                "deployment `{id}` is running ({}); wait for it, or stop that process first",
                current.describe()
            )));
        }
        if current.deployment_id != id {
            return Err(EngineError::Usage(format!(
                "deployment `{id}` no longer holds the lock: {} does — it was superseded",
                current.describe()
            )));
        }
    }

    let journal = Journal::new(client, location.clone());
    match request.command {
        ControlCommand::Approve => {
            let Some(pending) = record.pending_approval.clone() else {
                return Err(EngineError::Usage(format!(
                    "deployment `{id}` is not waiting for an approval"
                )));
            };
            if pending.expires_at_ms.is_some_and(|expiry| now_ms() > expiry) {
                return Err(EngineError::ApprovalRefused(format!(
                    "the approval request of `{id}` expired at {}; abort it with `brickship abort {id}` and deploy again",
                    super::format_time_ms(pending.expires_at_ms.unwrap_or_default())
                )));
            }
            record.approvals.push(Approval {
                action_id: pending.action_id.clone(),
                approved: true,
                by: user.clone(),
                at_ms: now_ms(),
                comment: request.comment.clone().unwrap_or_default(),
            });
            record.push(
                now_ms(),
                EventKind::Control {
                    command: "approve".into(),
                    by: user.clone(),
                },
            );
            journal.write_record(&record).await?;
            reporter.event(EngineEvent::Note {
                message: &format!("approved `{}` as {user}", pending.message),
            });
            if request.record_only {
                let mut report =
                    Report::new(&id, record.manifest.kind, &p, &record.manifest.strategy, now_ms());
                report.status = ReportStatus::Paused;
                report.paused = Some(format!("approved; run `brickship resume {id}` to continue"));
                return finish_report(report, &phases, client, &p.project.root, None);
            }
        }
        ControlCommand::Promote | ControlCommand::PromoteFull
            if record.status != Status::Paused || record.pending_approval.is_some() =>
        {
            return Err(EngineError::Usage(format!(
                "deployment `{id}` is not paused for a decision ({}); {}",
                record.status.as_str(),
                if record.pending_approval.is_some() {
                    "it waits for `brickship approve`"
                } else {
                    "use `brickship resume` for an interrupted one"
                }
            )));
        }
        _ => {
            record.push(
                now_ms(),
                EventKind::Control {
                    command: request.command.as_str().into(),
                    by: user.clone(),
                },
            );
        }
    }

    let since = phases.begin(reporter, "lock", None);
    let info = LockInfo::new(&id, &user, request.command.as_str(), now_ms());
    let finished = |_: &str| false;
    let mut guard = lock::acquire(client, &lock_path, info, false, &finished, now_ms()).await?;
    // Take the lock over from the paused deployment or the dead process: this process holds it now.
    guard.renew(client, now_ms(), lock::DEFAULT_LEASE).await?;
    phases.end(reporter, "lock", since, true, None);

    let strategy_name = record.manifest.strategy.clone();
    let strategy_config = record
        .manifest
        .options
        .get("strategy_config")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let handle: Box<dyn StepFunction> = if strategy_name == SWAP_BACK {
        Box::new(
            SwapBack::from_config(&strategy_config).ok_or_else(|| EngineError::CorruptState {
                path: location.record_path(&id),
                message: "the swap-back configuration is incomplete".into(),
            })?,
        )
    } else {
        let reference: PluginRef = strategy_name
            .parse()
            .map_err(|source| EngineError::plugin(strategy_name.clone(), source))?;
        Box::new(
            runtime()?
                .load_strategy(&reference.resolve_against(&p.project.root))
                .map_err(|source| EngineError::plugin(strategy_name.clone(), source))?,
        )
    };
    let strategy = LoadedStrategy {
        name: strategy_name.clone(),
        handle,
        config: strategy_config.clone(),
    };

    let mut report = Report::new(&id, record.manifest.kind, &p, &strategy_name, now_ms());
    report.workspace = client.base_url().to_owned();
    report.user = user.clone();
    report.git_commit = record.manifest.git_commit.clone();
    report.job_id = record.snapshot.job_id;
    let start = if request.command == ControlCommand::Abort {
        None
    } else {
        Some(start_point(&record, request.command, &user))
    };

    // A deployment approved before its first change uploads its code now, from this checkout:
    // it must be the code that was approved.
    let mut uploads = Vec::new();
    let mut sync_state = code_sync::SyncState::default();
    if matches!(start, Some(Start::Fresh)) && !record.planned_uploads.is_empty() {
        let entries =
            project::sync::sync_plan(&p.project.root, &p.project.sync).map_err(|source| EngineError::Io {
                action: "read",
                path: "sync sources".into(),
                source,
            })?;
        let (state, planned) = code_sync::plan_uploads(client, &location, &entries).await?;
        let wanted: BTreeSet<&(String, String)> = record.planned_uploads.iter().collect();
        let have: Vec<(String, String)> = planned
            .iter()
            .map(|u| (u.entry.remote.clone(), u.sha256.clone()))
            .collect();
        if have.iter().any(|pair| !wanted.contains(pair)) || wanted.len() != have.len() {
            guard.park(client, now_ms(), super::run::PAUSE_LEASE).await?;
            return Err(EngineError::Usage(format!(
                "the code in this checkout differs from the code deployment `{id}` was requested with; run it from that commit ({}), or abort it and deploy again",
                record.manifest.git_commit.as_deref().unwrap_or("unknown commit")
            )));
        }
        uploads = planned;
        sync_state = state;
    }

    let ctx = ExecContext {
        deployment_id: id.clone(),
        pipeline: record.manifest.pipeline.clone(),
        environment: record.manifest.environment.clone(),
        live_job_id: SwapBack::from_config(&strategy_config)
            .map(|s| s.blue)
            .or(record.snapshot.job_id),
        created_jobs: record.created_jobs.clone(),
        started_runs: record.started_runs.clone(),
    };
    let plan = record.plan.clone().unwrap_or(plugin_host::types::Plan {
        action: if record.snapshot.job_id.is_some() {
            plugin_host::types::PlanAction::Update
        } else {
            plugin_host::types::PlanAction::Create
        },
        changes: vec![],
    });
    let deployment = plugin_host::types::Deployment {
        id: id.clone(),
        pipeline: record.manifest.pipeline.clone(),
        environment: record.manifest.environment.clone(),
        version: record
            .manifest
            .git_commit
            .clone()
            .unwrap_or_else(|| record.manifest.config_hash.clone()),
        desired: record.desired.settings.clone(),
        acl: record.desired.acl.clone(),
        live: record.snapshot.settings.clone(),
        live_job_id: record.snapshot.job_id,
        plan,
        config: strategy_config,
        now_ms: now_ms() as u64,
    };
    let run_after = record
        .manifest
        .options
        .get("run_after")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let rollback_on_failure = record
        .manifest
        .options
        .get("rollback_on_failure")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut exec = Execution::new(client, journal, record, index, reporter, &phases);

    let Some(start) = start else {
        // Abort: restore the snapshot without asking the strategy again.
        exec.mutated = true;
        let since = phases.begin(reporter, "abort", None);
        exec.record.status = Status::InProgress;
        exec.save().await?;
        let problems = restore_snapshot(&mut exec).await;
        let restored = problems.is_empty();
        phases.end(reporter, "abort", since, true, None);
        exec.record.status = if restored {
            Status::RolledBack
        } else {
            Status::Failed
        };
        exec.record.error = Some(format!("aborted by {user}"));
        exec.record.pending_approval = None;
        exec.record.job_id = exec.record.snapshot.job_id;
        exec.record.finished_at_ms = Some(now_ms());
        exec.event(EventKind::Note {
            message: format!(
                "aborted by {user}; snapshot {}restored",
                if restored { "" } else { "not fully " }
            ),
        });
        exec.save().await?;
        exec.save_index().await?;
        if let Err(err) = guard.release(client).await {
            reporter.event(EngineEvent::Note {
                message: &format!("warning: {}", super::error_chain(&err)),
            });
        }
        report.status = if restored {
            ReportStatus::RolledBack
        } else {
            ReportStatus::Failed
        };
        report.error = exec.record.error.clone();
        report.rollback = Some(RollbackReport {
            reason: format!("aborted by {user}"),
            restored,
            problems,
        });
        return finish_report(report, &phases, client, &p.project.root, None);
    };

    let drive = Drive {
        deployment,
        uploads: &uploads,
        sync_state,
        location: location.clone(),
        run_after,
        rollback_on_failure,
        user: user.clone(),
        preapproved: false,
        park_for_approval: true,
        approval_expiry: p.environment.approval_expiry,
        start,
        ctx,
        extensions: &extensions,
    };
    let report = execute_reported(&mut exec, &strategy, drive, guard, report, &p.project.root).await?;
    finish_report(report, &phases, client, &p.project.root, None)
}
