//! The pipeline commands: validate, plan, deploy, status, history, rollback.
//!
//! Each converts its raw arguments into the engine's request once (project found, durations
//! parsed, paired flags resolved), runs the engine on a tokio runtime, and prints through the
//! printer: human text or JSON.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use deploy::engine::journal::IndexEntry;
use deploy::engine::report::ReportStatus;
use deploy::engine::run::{DeployRequest, RollbackRequest, Target};
use deploy::engine::{ActiveRuns, EngineError, EngineEvent, Reporter, format_time_ms, human_duration_ms};
use plugin_host::types::{ActionKind, OutcomeKind};
use serde_json::json;

use crate::cli::{self, DeployArgs, HistoryArgs, PipelineArgs, RollbackArgs, ValidateArgs};
use crate::exit;
use crate::printer::{Printer, write_err};

/// Finds the project: `--project`, else the nearest folder upward holding `brickship.yaml`.
fn find_project(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    for dir in cwd.ancestors() {
        if deploy::project::PROJECT_FILES
            .iter()
            .any(|name| dir.join(name).is_file())
        {
            return Ok(dir.to_path_buf());
        }
    }
    Err(EngineError::Usage(format!(
        "no `brickship.yaml` in `{}` or any folder above it; run brickship inside a project or pass `--project DIR`",
        cwd.display()
    ))
    .into())
}

fn target(args: &PipelineArgs, strict: bool) -> anyhow::Result<Target> {
    Ok(Target {
        project_dir: find_project(args.project.as_deref())?,
        pipeline: args.pipeline.clone(),
        environment: args.environment.clone(),
        config_file: args.config_file.clone(),
        host: args.workspace.host.clone(),
        profile: args.workspace.profile.clone(),
        strict,
    })
}

/// `--x` / `--no-x`: `Some(true)`, `Some(false)` or `None` (use the project's setting).
fn paired(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// `90s`, `30m`, `2h`, `1500ms` or plain seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| {
        EngineError::Usage(format!(
            "`{text}` is not a duration: use a number with a unit, e.g. `90s`, `30m`, `2h`"
        ))
    })?;
    let millis = match unit.trim() {
        "" | "s" | "sec" | "secs" => value * 1000,
        "ms" => value,
        "m" | "min" | "mins" => value * 60_000,
        "h" | "hr" | "hours" => value * 3_600_000,
        other => {
            return Err(EngineError::Usage(format!(
                "`{text}`: unknown duration unit `{other}` (use ms, s, m or h)"
            ))
            .into());
        }
    };
    Ok(Duration::from_millis(millis))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

/// Prints the findings of a failed validation, then returns the error (exit code 2).
fn invalid(printer: &Printer, err: EngineError) -> anyhow::Error {
    match err {
        EngineError::Invalid { diagnostics, .. } => {
            printer.progress_done();
            if printer.is_json() {
                printer.json(&json!({"ok": false, "findings": diagnostics.to_json()}));
            } else {
                write_err(&diagnostics.render(std::io::stderr().is_terminal()));
            }
            let summary = format!("validation failed: {}", diagnostics.summary());
            EngineError::Invalid { summary, diagnostics }.into()
        }
        other => {
            printer.progress_done();
            other.into()
        }
    }
}

/// Renders engine events through the printer.
struct CliReporter<'a> {
    printer: &'a Printer,
    /// Show phases, steps and actions (commands that change things); findings always show.
    progress: bool,
}

impl Reporter for CliReporter<'_> {
    fn event(&self, event: EngineEvent<'_>) {
        let printer = self.printer;
        if !self.progress && !matches!(event, EngineEvent::Findings(_)) {
            return;
        }
        match event {
            EngineEvent::Phase { name, done, detail } => {
                printer.event(&json!({"event": "phase", "phase": name, "done": done, "detail": detail}));
                match done {
                    None => printer.progress(format!(
                        "{name}{}",
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    )),
                    Some(ok) => {
                        printer.progress_done();
                        let mark = if ok { "✓" } else { "✗" };
                        printer.info(format!(
                            "{mark} {name}{}",
                            detail.map(|d| format!(": {d}")).unwrap_or_default()
                        ));
                    }
                }
            }
            EngineEvent::Findings(diagnostics) => {
                printer.event(&json!({"event": "findings", "findings": diagnostics.to_json()}));
                if !printer.is_json() {
                    printer.progress_done();
                    write_err(&diagnostics.render(std::io::stderr().is_terminal()));
                }
            }
            EngineEvent::Plan { plan, uploads } => {
                printer.event(&json!({"event": "plan", "plan": plan.to_json(), "uploads": uploads.iter().map(|u| &u.entry.remote).collect::<Vec<_>>()}));
                printer.progress_done();
                printer.info(indent(&deploy::engine::run::render_plan(plan, uploads)));
            }
            EngineEvent::Step { step, phase, message } => {
                printer.event(&json!({"event": "step", "step": step, "phase": phase, "message": message}));
                printer.info(format!("  step {step}: {message}"));
            }
            EngineEvent::Action {
                step,
                action,
                dry_run,
            } => {
                printer
                    .event(&json!({"event": "action", "step": step, "action": action, "dry_run": dry_run}));
                let what = describe_action(&action.kind);
                if dry_run {
                    printer.info(format!("  would {what}"));
                } else {
                    printer.progress(what);
                }
            }
            EngineEvent::Outcome {
                step,
                action,
                outcome,
                duration,
            } => {
                printer.event(&json!({"event": "outcome", "step": step, "outcome": outcome, "duration_ms": duration.as_millis()}));
                printer.progress_done();
                let (mark, detail) = match &outcome.kind {
                    OutcomeKind::Failed { message, .. } => ("✗", format!(": {message}")),
                    OutcomeKind::TimedOut { .. } => ("✗", ": timed out".to_owned()),
                    OutcomeKind::Rejected { comment, .. } => ("✗", format!(": rejected ({comment})")),
                    OutcomeKind::JobCreated { job_id } => ("✓", format!(": job {job_id}")),
                    OutcomeKind::RunStarted { run_id } => ("✓", format!(": run {run_id}")),
                    _ => ("✓", String::new()),
                };
                printer.info(format!(
                    "  {mark} {}{detail} ({} ms)",
                    describe_action(&action.kind),
                    duration.as_millis()
                ));
            }
            EngineEvent::Gates {
                point,
                decision,
                rendered,
            } => {
                printer.event(
                    &json!({"event": "gates", "point": point, "decision": decision, "report": rendered}),
                );
                printer.progress_done();
                printer.info(format!("  gates at {point}: {decision}"));
                printer.info(indent(rendered.trim_end()));
            }
            EngineEvent::Waiting { message } => {
                printer.event(&json!({"event": "waiting", "message": message}));
                printer.progress(message.to_owned());
            }
            EngineEvent::Note { message } => {
                printer.event(&json!({"event": "note", "message": message}));
                printer.info(format!("  {message}"));
            }
        }
    }

    fn confirm(&self, question: &str) -> Option<bool> {
        if !self.printer.is_interactive() || !std::io::stdin().is_terminal() {
            return None;
        }
        self.printer.progress_done();
        write_err(&format!("{question} [y/N] "));
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok()?;
        Some(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn job_ref(job: &plugin_host::types::JobRef) -> String {
    use plugin_host::types::JobRef;
    match job {
        JobRef::Live => "the live job".into(),
        JobRef::Created { label } => format!("job `{label}`"),
        JobRef::Id { job_id } => format!("job {job_id}"),
    }
}

fn describe_action(kind: &ActionKind) -> String {
    match kind {
        ActionKind::CreateJob { label, settings } => {
            format!(
                "create job `{}` ({label})",
                settings.get("name").and_then(|n| n.as_str()).unwrap_or("?")
            )
        }
        ActionKind::ResetJob { job, .. } => format!("reset {} to the new settings", job_ref(job)),
        ActionKind::DeleteJob { job } => format!("delete {}", job_ref(job)),
        ActionKind::RenameJob { job, name } => format!("rename {} to `{name}`", job_ref(job)),
        ActionKind::PauseSchedule { job } => format!("pause the schedule of {}", job_ref(job)),
        ActionKind::UnpauseSchedule { job } => format!("unpause the schedule of {}", job_ref(job)),
        ActionKind::CancelActiveRuns { job } => format!("cancel the active runs of {}", job_ref(job)),
        ActionKind::WaitActiveRuns { job, timeout_ms } => {
            format!(
                "wait up to {} for the active runs of {}",
                human_duration_ms(*timeout_ms as i64),
                job_ref(job)
            )
        }
        ActionKind::ListActiveRuns { job } => format!("list the active runs of {}", job_ref(job)),
        ActionKind::RunJob { job, .. } => format!("run {}", job_ref(job)),
        ActionKind::WaitRun { timeout_ms, .. } => {
            format!("wait up to {} for the run", human_duration_ms(*timeout_ms as i64))
        }
        ActionKind::RunHistory { job, limit, .. } => {
            format!("read the last {limit} runs of {}", job_ref(job))
        }
        ActionKind::RunOutput { .. } => "read the run's output".into(),
        ActionKind::Wait { duration_ms } => format!("wait {}", human_duration_ms(*duration_ms as i64)),
        ActionKind::RequestApproval { message } => format!("ask for approval: {message}"),
        ActionKind::SetPermissions { job, .. } => format!("set the permissions of {}", job_ref(job)),
        ActionKind::VerifyJob { job, .. } => format!("verify {}", job_ref(job)),
        ActionKind::GateCheck { point, evidence } => {
            format!("check the {point} gates over {} run(s)", evidence.len())
        }
    }
}

pub fn validate(args: ValidateArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let target = target(&args.target, args.strict)?;
    let reporter = CliReporter {
        printer,
        progress: false,
    };
    let result = runtime()?.block_on(deploy::engine::validate(
        &target,
        args.offline,
        &deploy::project::process_env,
        &reporter,
    ));
    let warnings = result.map_err(|err| invalid(printer, err))?;
    printer.progress_done();
    if printer.is_json() {
        printer.json(&json!({"ok": true, "findings": warnings.to_json()}));
    } else {
        printer.line(format!(
            "`{}` is valid for `{}`{} ({})",
            target.pipeline,
            target.environment,
            if args.offline { " (files only)" } else { "" },
            warnings.summary()
        ));
    }
    Ok(ExitCode::from(exit::OK))
}

pub fn plan(args: PipelineArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let target = target(&args, false)?;
    let quiet_reporter = CliReporter {
        printer,
        progress: false,
    };
    let view = runtime()?
        .block_on(deploy::engine::plan(
            &target,
            &deploy::project::process_env,
            &quiet_reporter,
        ))
        .map_err(|err| invalid(printer, err))?;
    printer.progress_done();
    if printer.is_json() {
        printer.json(&view);
    } else {
        printer.line(format!(
            "plan for `{}` in `{}` ({}{})",
            view.pipeline,
            view.environment,
            view.workspace,
            view.job_id.map(|id| format!(", job {id}")).unwrap_or_default()
        ));
        printer.line(view.rendered.trim_end());
    }
    Ok(ExitCode::from(exit::OK))
}

pub fn deploy(args: DeployArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let target = target(&args.target, args.strict)?;
    let request = DeployRequest {
        target,
        strategy: args.strategy.clone(),
        dry_run: args.dry_run,
        validate: paired(args.validate, args.no_validate),
        enable_monitoring: paired(args.enable_monitoring, args.no_enable_monitoring),
        rollback_on_failure: paired(args.rollback_on_failure, args.no_rollback_on_failure),
        approval_required: paired(args.approval_required, args.no_approval_required),
        approve: args.approve,
        active_runs: args.active_runs.map(|mode| match mode {
            cli::ActiveRuns::Wait => ActiveRuns::Wait,
            cli::ActiveRuns::Cancel => ActiveRuns::Cancel,
            cli::ActiveRuns::Fail => ActiveRuns::Fail,
        }),
        active_runs_timeout: args
            .active_runs_timeout
            .as_deref()
            .map(parse_duration)
            .transpose()?,
        run_after: !args.no_run,
        force_lock: args.force_lock,
        request_approval: args.request_approval,
        canary_percentage: args.canary_percentage,
    };
    printer.info(format!(
        "deploying `{}` to `{}`{}",
        request.target.pipeline,
        request.target.environment,
        if request.dry_run { " (dry run)" } else { "" }
    ));
    let reporter = CliReporter {
        printer,
        progress: true,
    };
    let outcome = runtime()?
        .block_on(deploy::engine::deploy(
            &request,
            &deploy::project::process_env,
            &reporter,
        ))
        .map_err(|err| invalid(printer, err))?;
    print_outcome(printer, &outcome)
}

pub fn rollback(args: RollbackArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let request = RollbackRequest {
        target: target(&args.target, false)?,
        to: args.to,
        approve: args.approve,
        force_lock: args.force_lock,
    };
    let reporter = CliReporter {
        printer,
        progress: true,
    };
    let outcome = runtime()?
        .block_on(deploy::engine::rollback(
            &request,
            &deploy::project::process_env,
            &reporter,
        ))
        .map_err(|err| invalid(printer, err))?;
    print_outcome(printer, &outcome)
}

/// `brickship resume | promote | abort | approve <deployment-id>`.
pub fn control(
    args: cli::ControlArgs,
    command: deploy::engine::ControlCommand,
    comment: Option<String>,
    record_only: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let request = deploy::engine::ControlRequest {
        project_dir: find_project(args.project.as_deref())?,
        deployment_id: args.deployment_id,
        command,
        pipeline: args.pipeline,
        environment: args.environment,
        host: args.workspace.host,
        profile: args.workspace.profile,
        comment,
        record_only,
    };
    let reporter = CliReporter {
        printer,
        progress: true,
    };
    let outcome = runtime()?
        .block_on(deploy::engine::control(
            &request,
            &deploy::project::process_env,
            &reporter,
        ))
        .map_err(|err| invalid(printer, err))?;
    print_outcome(printer, &outcome)
}

fn print_outcome(printer: &Printer, outcome: &deploy::engine::DeployOutcome) -> anyhow::Result<ExitCode> {
    printer.progress_done();
    let report = &outcome.report;
    let paths: Vec<String> = outcome
        .report_paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    printer.event(&json!({
        "event": "result",
        "deployment_id": report.deployment_id,
        "status": report.status,
        "job_id": report.job_id,
        "run": report.run,
        "error": report.error,
        "paused": report.paused,
        "rollback": report.rollback,
        "duration_ms": report.duration_ms,
        "api_calls": report.api_call_count,
        "mutating_calls": report.mutating_call_count,
        "report": paths,
    }));
    let what = match report.kind {
        deploy::engine::journal::DeploymentKind::Deploy => "deploy",
        deploy::engine::journal::DeploymentKind::Rollback => "rollback",
    };
    let job = report
        .job_id
        .map(|id| format!("job {id}"))
        .unwrap_or_else(|| "no job".into());
    let line = match report.status {
        ReportStatus::Succeeded => format!("{what} `{}` succeeded: {job}", report.deployment_id),
        ReportStatus::NoOp => format!("nothing to {what}: {job} already matches (no mutating call)"),
        ReportStatus::DryRun => format!("dry run: nothing was changed ({job})"),
        ReportStatus::Paused => format!(
            "{what} `{}` is paused: {}",
            report.deployment_id,
            report.paused.as_deref().unwrap_or("waiting for a decision")
        ),
        ReportStatus::RolledBack => format!(
            "{what} `{}` failed and was rolled back: {}",
            report.deployment_id,
            report.error.as_deref().unwrap_or("unknown error")
        ),
        ReportStatus::Failed => format!(
            "{what} `{}` failed: {}",
            report.deployment_id,
            report.error.as_deref().unwrap_or("unknown error")
        ),
    };
    printer.line(line);
    if let Some(run) = &report.run {
        printer.line(format!(
            "started run {} {}",
            run["run_id"],
            run["url"].as_str().unwrap_or("")
        ));
    }
    printer.info(format!(
        "{} · {} API calls ({} mutating) · report {}",
        human_duration_ms(report.duration_ms),
        report.api_call_count,
        report.mutating_call_count,
        paths
            .iter()
            .find(|p| p.ends_with(".md"))
            .cloned()
            .unwrap_or_default()
    ));
    Ok(ExitCode::from(outcome.exit_code()))
}

pub fn status(args: PipelineArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let target = target(&args, false)?;
    let reporter = Silent;
    let view = runtime()?
        .block_on(deploy::engine::status(
            &target,
            &deploy::project::process_env,
            &reporter,
        ))
        .map_err(|err| invalid(printer, err))?;
    if printer.is_json() {
        printer.json(&view);
        return Ok(ExitCode::from(exit::OK));
    }
    printer.line(format!(
        "`{}` in `{}` ({})",
        view.pipeline, view.environment, view.workspace
    ));
    match &view.job {
        Some(job) => printer.line(format!(
            "  job:          {} `{}`{}",
            job["job_id"],
            job["name"].as_str().unwrap_or(""),
            job["schedule"]
                .get("quartz_cron_expression")
                .and_then(|c| c.as_str())
                .map(|cron| format!(
                    ", schedule `{cron}` {}",
                    job["schedule"]["pause_status"].as_str().unwrap_or("UNPAUSED")
                ))
                .unwrap_or_default()
        )),
        None => printer.line("  job:          not deployed"),
    }
    match &view.last_deployment {
        Some(entry) => printer.line(format!(
            "  last deploy:  {} {} by {} at {}",
            entry.deployment_id,
            entry.status.as_str(),
            entry.user,
            format_time_ms(entry.started_at_ms)
        )),
        None => printer.line("  last deploy:  none"),
    }
    for entry in &view.unfinished {
        let hint = if entry.status == deploy::engine::journal::Status::Paused {
            format!(
                "paused — `brickship promote {id}`, `approve {id}`, `resume {id}` or `abort {id}`",
                id = entry.deployment_id
            )
        } else {
            format!(
                "interrupted — `brickship resume {}`, deploy again, or `brickship rollback` (with --force-lock if its lock is stale)",
                entry.deployment_id
            )
        };
        printer.line(format!(
            "  unfinished:   {} started {} by {}: {hint}",
            entry.deployment_id,
            format_time_ms(entry.started_at_ms),
            entry.user
        ));
    }
    if view.active_runs.is_empty() {
        printer.line("  active runs:  none");
    }
    for run in &view.active_runs {
        printer.line(format!(
            "  active run:   {} {} {}",
            run["run_id"],
            run["state"].as_str().unwrap_or(""),
            run["url"].as_str().unwrap_or("")
        ));
    }
    match (&view.lock, &view.lock_stale) {
        (Some(lock), Some(reason)) => {
            printer.line(format!("  lock:         STALE ({reason}): {}", lock.describe()))
        }
        (Some(lock), None) => printer.line(format!("  lock:         held: {}", lock.describe())),
        (None, _) => printer.line("  lock:         free"),
    }
    Ok(ExitCode::from(exit::OK))
}

pub fn history(args: HistoryArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let target = target(&args.target, false)?;
    let entries = runtime()?
        .block_on(deploy::engine::history(
            &target,
            &deploy::project::process_env,
            &Silent,
        ))
        .map_err(|err| invalid(printer, err))?;
    let entries: Vec<IndexEntry> = entries.into_iter().take(args.limit).collect();
    if printer.is_json() {
        printer.json(&entries);
        return Ok(ExitCode::from(exit::OK));
    }
    if entries.is_empty() {
        printer.line(format!(
            "no deployments of `{}` to `{}` yet",
            target.pipeline, target.environment
        ));
        return Ok(ExitCode::from(exit::OK));
    }
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            [
                e.deployment_id.clone(),
                format_time_ms(e.started_at_ms),
                e.user.clone(),
                e.git_commit
                    .as_deref()
                    .map(|c| c.chars().take(8).collect())
                    .unwrap_or_else(|| "-".into()),
                match &e.restores {
                    Some(restored) => format!("rollback to {restored}"),
                    None => e.strategy.clone(),
                },
                e.status.as_str().to_owned(),
                e.duration_ms()
                    .map(human_duration_ms)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["ID", "TIME", "USER", "COMMIT", "STRATEGY", "RESULT", "DURATION"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let format_row = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    printer.line(format_row(&header.map(str::to_owned)));
    for row in &rows {
        printer.line(format_row(row));
    }
    Ok(ExitCode::from(exit::OK))
}

/// A reporter that shows nothing (read-only commands print their result at the end).
struct Silent;

impl Reporter for Silent {
    fn event(&self, _: EngineEvent<'_>) {}
    fn confirm(&self, _: &str) -> Option<bool> {
        None
    }
}
