//! Deployment reports: `deployments/reports/<deployment-id>.json` and `.md` in the project.
//!
//! The seed's report, complete: what was deployed where by whom, the plan, the findings, each
//! phase with its timing, each strategy action with its outcome, every API call made, the run it
//! started, and — when something failed — what was rolled back.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use databricks::CallRecord;
use plugin_host::types::{Action, Outcome};
use serde::Serialize;
use serde_json::Value;

use super::journal::DeploymentKind;
use super::{EngineError, format_time_ms, human_duration_ms};
use crate::project::RenderedPipeline;

/// How a deploy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportStatus {
    Succeeded,
    /// The plan was empty: nothing changed, no mutating call.
    NoOp,
    /// `--dry-run`: nothing changed.
    DryRun,
    /// Parked for a human.
    Paused,
    /// Failed and the snapshot was restored.
    RolledBack,
    /// Failed; not (fully) restored.
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Succeeded => "succeeded",
            ReportStatus::NoOp => "no-op",
            ReportStatus::DryRun => "dry-run",
            ReportStatus::Paused => "paused",
            ReportStatus::RolledBack => "rolled-back",
            ReportStatus::Failed => "failed",
        }
    }
}

/// One phase and its timing.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub ok: bool,
    /// Start, relative to the start of the command.
    pub offset_ms: u64,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One strategy action and its outcome (none in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub step: u32,
    pub action: Action,
    pub outcome: Option<Outcome>,
    pub duration_ms: u64,
}

/// What a failed deploy restored.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub reason: String,
    /// True when the snapshot was fully restored.
    pub restored: bool,
    pub problems: Vec<String>,
}

/// One API call, as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub attempt: u32,
    pub duration_ms: f64,
    pub mutating: bool,
}

/// The report of one deploy or rollback.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub deployment_id: String,
    pub kind: DeploymentKind,
    pub pipeline: String,
    pub environment: String,
    pub strategy: String,
    pub status: ReportStatus,
    pub workspace: String,
    pub user: String,
    pub git_commit: Option<String>,
    pub config_hash: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub duration_ms: i64,
    pub job_id: Option<i64>,
    /// For rollbacks: the deployment restored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restores: Option<String>,
    /// The run started after deploying, when there was one: `{run_id, url}`.
    pub run: Option<Value>,
    pub plan: Value,
    pub uploads: Vec<Value>,
    pub findings: Value,
    pub phases: Vec<PhaseReport>,
    pub actions: Vec<ActionReport>,
    pub rollback: Option<RollbackReport>,
    pub monitoring_file: Option<String>,
    pub error: Option<String>,
    /// Why the deployment paused and how to continue it, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    /// The strategy crashed, timed out or returned garbage.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub plugin_failed: bool,
    /// Every gate report (pre-deploy, strategy gate checks, post-deploy), secrets redacted.
    pub gates: Vec<Value>,
    /// Every notification delivery (target host only, secrets redacted).
    pub notifications: Vec<Value>,
    pub api_call_count: usize,
    pub mutating_call_count: usize,
    pub api_calls: Vec<CallReport>,
}

impl Report {
    pub fn new(
        deployment_id: &str,
        kind: DeploymentKind,
        pipeline: &RenderedPipeline,
        strategy: &str,
        started_at_ms: i64,
    ) -> Self {
        Self {
            deployment_id: deployment_id.to_owned(),
            kind,
            pipeline: pipeline.pipeline.clone(),
            environment: pipeline.environment.name.clone(),
            strategy: strategy.to_owned(),
            status: ReportStatus::Failed,
            workspace: String::new(),
            user: String::new(),
            git_commit: None,
            config_hash: pipeline.content_hash.clone(),
            started_at_ms,
            finished_at_ms: started_at_ms,
            duration_ms: 0,
            job_id: None,
            restores: None,
            run: None,
            plan: Value::Null,
            uploads: Vec::new(),
            findings: Value::Null,
            phases: Vec::new(),
            actions: Vec::new(),
            rollback: None,
            monitoring_file: None,
            error: None,
            paused: None,
            plugin_failed: false,
            gates: Vec::new(),
            notifications: Vec::new(),
            api_call_count: 0,
            mutating_call_count: 0,
            api_calls: Vec::new(),
        }
    }

    /// Stamps the end and the API calls made.
    pub fn finish(&mut self, finished_at_ms: i64, calls: Vec<CallRecord>) {
        self.finished_at_ms = finished_at_ms;
        self.duration_ms = finished_at_ms - self.started_at_ms;
        self.api_calls = calls
            .into_iter()
            .map(|c| CallReport {
                method: c.method,
                path: c.path,
                status: c.status,
                error: c.error,
                attempt: c.attempt,
                duration_ms: (c.duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
                mutating: c.mutating,
            })
            .collect();
        self.api_call_count = self.api_calls.len();
        self.mutating_call_count = self.api_calls.iter().filter(|c| c.mutating).count();
    }

    /// Writes `<project>/deployments/reports/<id>.json` and `.md`.
    pub fn write(&self, project_root: &Path) -> Result<Vec<PathBuf>, EngineError> {
        let dir = project_root.join("deployments").join("reports");
        let io = |action, path: &Path, source| EngineError::Io {
            action,
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        let json_path = dir.join(format!("{}.json", self.deployment_id));
        let json = serde_json::to_vec_pretty(self).map_err(|e| EngineError::Internal(e.to_string()))?;
        std::fs::write(&json_path, json).map_err(|e| io("write", &json_path, e))?;
        let md_path = dir.join(format!("{}.md", self.deployment_id));
        std::fs::write(&md_path, self.markdown()).map_err(|e| io("write", &md_path, e))?;
        Ok(vec![json_path, md_path])
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let kind = match self.kind {
            DeploymentKind::Deploy => "Deployment",
            DeploymentKind::Rollback => "Rollback",
        };
        let _ = writeln!(
            md,
            "# {kind} `{}`: {}\n",
            self.deployment_id,
            self.status.as_str()
        );
        let _ = writeln!(md, "| | |\n|---|---|");
        let rows: Vec<(&str, String)> = vec![
            ("pipeline", format!("`{}`", self.pipeline)),
            ("environment", format!("`{}`", self.environment)),
            ("strategy", format!("`{}`", self.strategy)),
            ("workspace", self.workspace.clone()),
            ("user", self.user.clone()),
            (
                "git commit",
                self.git_commit.clone().unwrap_or_else(|| "—".into()),
            ),
            (
                "config hash",
                format!("`{}`", &self.config_hash[..self.config_hash.len().min(16)]),
            ),
            ("started", format_time_ms(self.started_at_ms)),
            ("duration", human_duration_ms(self.duration_ms)),
            ("job", self.job_id.map_or_else(|| "—".into(), |id| id.to_string())),
            (
                "API calls",
                format!("{} ({} mutating)", self.api_call_count, self.mutating_call_count),
            ),
        ];
        for (key, value) in rows {
            let _ = writeln!(md, "| {key} | {value} |");
        }
        if let Some(restores) = &self.restores {
            let _ = writeln!(md, "| restores | `{restores}` |");
        }
        if let Some(run) = &self.run {
            let _ = writeln!(
                md,
                "| run | {} {} |",
                run["run_id"],
                run["url"].as_str().unwrap_or("")
            );
        }
        if let Some(error) = &self.error {
            let _ = writeln!(md, "\n## Error\n\n```\n{error}\n```");
        }
        if let Some(rollback) = &self.rollback {
            let _ = writeln!(
                md,
                "\n## Rollback\n\nReason: {}\n\nRestored: {}",
                rollback.reason,
                if rollback.restored { "yes" } else { "no" }
            );
            for problem in &rollback.problems {
                let _ = writeln!(md, "- {problem}");
            }
        }
        let _ = writeln!(
            md,
            "\n## Plan\n\n```json\n{}\n```",
            serde_json::to_string_pretty(&self.plan).unwrap_or_default()
        );
        if !self.uploads.is_empty() {
            let _ = writeln!(md, "\n## Code uploaded\n");
            for upload in &self.uploads {
                let _ = writeln!(
                    md,
                    "- `{}` → `{}`",
                    upload["local"].as_str().unwrap_or(""),
                    upload["remote"].as_str().unwrap_or("")
                );
            }
        }
        let findings = self
            .findings
            .get("diagnostics")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let _ = writeln!(md, "\n## Findings\n\n{findings} finding(s).");
        for finding in self
            .findings
            .get("diagnostics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let _ = writeln!(
                md,
                "- {} {}: {}",
                finding.get("severity").and_then(Value::as_str).unwrap_or(""),
                finding.get("code").and_then(Value::as_str).unwrap_or(""),
                finding.get("message").and_then(Value::as_str).unwrap_or("")
            );
        }
        let _ = writeln!(
            md,
            "\n## Phases\n\n| phase | result | start | duration | detail |\n|---|---|---|---|---|"
        );
        for phase in &self.phases {
            let _ = writeln!(
                md,
                "| {} | {} | +{} ms | {} ms | {} |",
                phase.name,
                if phase.ok { "ok" } else { "failed" },
                phase.offset_ms,
                phase.duration_ms,
                phase.detail.as_deref().unwrap_or("")
            );
        }
        if !self.actions.is_empty() {
            let _ = writeln!(
                md,
                "\n## Actions\n\n| step | action | outcome | duration |\n|---|---|---|---|"
            );
            for action in &self.actions {
                let kind = serde_json::to_value(&action.action.kind).ok();
                let kind = kind
                    .as_ref()
                    .and_then(|k| k.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                let outcome = action
                    .outcome
                    .as_ref()
                    .and_then(|o| serde_json::to_value(&o.kind).ok())
                    .and_then(|k| k.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "(dry run)".into());
                let _ = writeln!(
                    md,
                    "| {} | `{}` {kind} | {outcome} | {} ms |",
                    action.step, action.action.id, action.duration_ms
                );
            }
        }
        if let Some(file) = &self.monitoring_file {
            let _ = writeln!(md, "\n## Monitoring\n\nDashboards and alerts: `{file}`.");
        }
        let _ = writeln!(
            md,
            "\n## API calls\n\n| # | call | status | attempt | ms |\n|---|---|---|---|---|"
        );
        for (i, call) in self.api_calls.iter().enumerate() {
            let status = call
                .status
                .map_or_else(|| call.error.clone().unwrap_or_default(), |s| s.to_string());
            let _ = writeln!(
                md,
                "| {} | `{} {}`{} | {status} | {} | {:.1} |",
                i + 1,
                call.method,
                call.path,
                if call.mutating { " ✎" } else { "" },
                call.attempt,
                call.duration_ms
            );
        }
        md
    }
}
