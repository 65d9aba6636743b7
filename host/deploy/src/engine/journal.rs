//! The deployment journal: records kept in the workspace so every machine sees the same history.
//!
//! Under `<state_root>/<pipeline>/<environment>/`:
//!
//! * `index.json` ([`Index`]): one [`IndexEntry`] per deployment, oldest first, plus the id of the
//!   live job. `history` reads only this file.
//! * `deployments/<id>.json` ([`DeploymentRecord`]): the manifest, the snapshot of the live job
//!   before the deployment, the desired settings, the strategy's state and every event (phases,
//!   each action before and after it runs). Rewritten whole on every event; the workspace
//!   replaces a file atomically, so a reader sees the previous or the next version, never a mix.
//! * `lock.json`: see [`super::lock`].
//!
//! Journal writes are workspace-file imports with `overwrite=true`, which the client may retry.

use std::collections::BTreeMap;

use databricks::Client;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::EngineError;
use plugin_host::types::{Action, Outcome, Phase};

/// Where a pipeline/environment keeps its state in the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLocation {
    dir: String,
}

impl StateLocation {
    /// `<state_root>/<pipeline>/<environment>`.
    pub fn new(state_root: &str, pipeline: &str, environment: &str) -> Self {
        Self {
            dir: format!("{}/{pipeline}/{environment}", state_root.trim_end_matches('/')),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    pub fn lock_path(&self) -> String {
        format!("{}/lock.json", self.dir)
    }

    pub fn index_path(&self) -> String {
        format!("{}/index.json", self.dir)
    }

    pub fn deployments_dir(&self) -> String {
        format!("{}/deployments", self.dir)
    }

    pub fn record_path(&self, deployment_id: &str) -> String {
        format!("{}/deployments/{deployment_id}.json", self.dir)
    }
}

/// What a deployment was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentKind {
    /// `brickship deploy`.
    Deploy,
    /// `brickship rollback`: re-applies an earlier deployment's settings.
    Rollback,
}

/// Where a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Running (or interrupted, if its lock is stale).
    InProgress,
    /// Parked for a human: approval, promote or abort.
    Paused,
    /// Finished; the job has the desired settings.
    Succeeded,
    /// Failed after the first mutation and the snapshot was restored.
    RolledBack,
    /// Failed; the workspace was left as the failure left it (rollback off or failed too).
    Failed,
    /// Its process died; a later deployment or rollback superseded it.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in-progress",
            Status::Paused => "paused",
            Status::Succeeded => "succeeded",
            Status::RolledBack => "rolled-back",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }

    /// True when the deployment will not change anything any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::RolledBack | Status::Failed | Status::Interrupted
        )
    }
}

/// Facts about a deployment fixed when it starts (the seed's "deployment manifest").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub deployment_id: String,
    pub kind: DeploymentKind,
    pub pipeline: String,
    pub environment: String,
    pub strategy: String,
    /// sha256 of the canonical rendered settings and ACL.
    pub config_hash: String,
    /// `git rev-parse HEAD` of the project, when it is a git checkout.
    pub git_commit: Option<String>,
    /// True when the checkout had uncommitted changes.
    #[serde(default)]
    pub git_dirty: bool,
    /// The workspace identity that deployed (SCIM `userName`).
    pub user: String,
    /// The machine and OS user it ran from.
    pub machine: String,
    pub brickship_version: String,
    pub started_at_ms: i64,
    /// For rollbacks: the deployment whose settings are restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<String>,
    /// The options the deploy ran with (flags and project settings, resolved).
    #[serde(default)]
    pub options: Value,
}

/// The live job before a deployment: what rollback restores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// None when there was no live job (rollback then deletes the job the deployment created).
    pub job_id: Option<i64>,
    /// The live settings as the workspace returned them.
    pub settings: Option<Value>,
    /// The live direct ACL (inherited entries excluded) in the Permissions API request shape.
    pub acl: Option<Value>,
}

/// The settings and ACL a deployment applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub settings: Value,
    pub acl: Option<Value>,
}

/// One thing that happened during a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEvent {
    pub seq: u32,
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// A phase began or ended.
    Phase {
        phase: String,
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The strategy returned a step (before any of its actions ran). The actions are kept whole
    /// so a resumed deployment performs exactly what the strategy asked for.
    Step {
        step: u32,
        phase: Phase,
        message: String,
        state: String,
        actions: Vec<Action>,
    },
    /// A human steered the deployment (`promote`, `abort`, `resume`, `approve`).
    Control { command: String, by: String },
    /// An action is about to run.
    ActionStarted { step: u32, action: Action },
    /// An action ran.
    ActionFinished {
        step: u32,
        outcome: Outcome,
        duration_ms: u64,
    },
    /// Anything else worth recording (rollback steps, lock breaks, warnings).
    Note { message: String },
}

/// The full record of one deployment (`deployments/<id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub manifest: Manifest,
    pub snapshot: Snapshot,
    pub desired: Desired,
    pub status: Status,
    /// Jobs created by this deployment, by label.
    #[serde(default)]
    pub created_jobs: BTreeMap<String, i64>,
    /// Runs started by this deployment, by the id of the action that started them.
    #[serde(default)]
    pub started_runs: BTreeMap<String, i64>,
    /// The live job after the deployment (when it finished).
    #[serde(default)]
    pub job_id: Option<i64>,
    /// The strategy's state after its last step.
    #[serde(default)]
    pub strategy_state: Option<String>,
    #[serde(default)]
    pub events: Vec<JournalEvent>,
    #[serde(default)]
    pub finished_at_ms: Option<i64>,
    /// Why it failed, when it did.
    #[serde(default)]
    pub error: Option<String>,
    /// What the code upload replaced, journaled before the upload (rollback restores it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_files: Vec<super::sync::Replaced>,
    /// `sync.json` before the upload (rollback writes it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sync: Option<super::sync::SyncState>,
    /// The plan the strategy was given (so a resumed strategy sees the same one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<plugin_host::types::Plan>,
    /// An approval the deployment waits for, when paused for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_approval: Option<PendingApproval>,
    /// Approvals given, with who and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    /// The code the deployment uploads (workspace path, sha256), so a resume from another
    /// checkout can check it uploads the same code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_uploads: Vec<(String, String)>,
}

/// What a paused deployment waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The `request-approval` action (or `deploy` for the approval before the first mutation).
    pub action_id: String,
    pub message: String,
    pub requested_at_ms: i64,
    /// After this instant the request expires: approving it is refused and the deployment can
    /// only be aborted.
    pub expires_at_ms: Option<i64>,
}

/// A recorded decision on an approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub action_id: String,
    pub approved: bool,
    pub by: String,
    pub at_ms: i64,
    #[serde(default)]
    pub comment: String,
}

impl DeploymentRecord {
    /// A new record, `in-progress`, with no events yet.
    pub fn new(manifest: Manifest, snapshot: Snapshot, desired: Desired) -> Self {
        Self {
            manifest,
            snapshot,
            desired,
            status: Status::InProgress,
            created_jobs: BTreeMap::new(),
            started_runs: BTreeMap::new(),
            job_id: None,
            strategy_state: None,
            events: Vec::new(),
            finished_at_ms: None,
            error: None,
            replaced_files: Vec::new(),
            previous_sync: None,
            plan: None,
            pending_approval: None,
            approvals: Vec::new(),
            planned_uploads: Vec::new(),
        }
    }

    /// Appends an event stamped `at_ms`.
    pub fn push(&mut self, at_ms: i64, kind: EventKind) {
        let seq = self.events.last().map_or(1, |last| last.seq + 1);
        self.events.push(JournalEvent { seq, at_ms, kind });
    }

    /// The summary line `history` shows.
    pub fn entry(&self) -> IndexEntry {
        IndexEntry {
            deployment_id: self.manifest.deployment_id.clone(),
            kind: self.manifest.kind,
            status: self.status,
            strategy: self.manifest.strategy.clone(),
            user: self.manifest.user.clone(),
            git_commit: self.manifest.git_commit.clone(),
            config_hash: self.manifest.config_hash.clone(),
            started_at_ms: self.manifest.started_at_ms,
            finished_at_ms: self.finished_at_ms,
            job_id: self.job_id.or(self.snapshot.job_id),
            restores: self.manifest.restores.clone(),
        }
    }
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub deployment_id: String,
    pub kind: DeploymentKind,
    pub status: Status,
    pub strategy: String,
    pub user: String,
    pub git_commit: Option<String>,
    pub config_hash: String,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub job_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<String>,
}

impl IndexEntry {
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at_ms.map(|end| end - self.started_at_ms)
    }
}

/// `index.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// The job this pipeline/environment deploys to, as of the last finished deployment.
    pub live_job_id: Option<i64>,
    /// Oldest first.
    pub deployments: Vec<IndexEntry>,
}

impl Index {
    /// Inserts or replaces the entry with the same deployment id.
    pub fn upsert(&mut self, entry: IndexEntry) {
        match self
            .deployments
            .iter_mut()
            .find(|e| e.deployment_id == entry.deployment_id)
        {
            Some(existing) => *existing = entry,
            None => self.deployments.push(entry),
        }
    }

    pub fn find(&self, deployment_id: &str) -> Option<&IndexEntry> {
        self.deployments.iter().find(|e| e.deployment_id == deployment_id)
    }

    /// The most recent deployment that left the job in a known good state (succeeded).
    pub fn last_succeeded(&self) -> Option<&IndexEntry> {
        self.deployments
            .iter()
            .rev()
            .find(|e| e.status == Status::Succeeded)
    }

    /// Deployments that never finished.
    pub fn unfinished(&self) -> impl Iterator<Item = &IndexEntry> {
        self.deployments.iter().filter(|e| !e.status.is_final())
    }
}

/// Reads and writes the journal of one pipeline/environment.
#[derive(Debug, Clone)]
pub struct Journal<'a> {
    client: &'a Client,
    location: StateLocation,
}

impl<'a> Journal<'a> {
    pub fn new(client: &'a Client, location: StateLocation) -> Self {
        Self { client, location }
    }

    pub fn location(&self) -> &StateLocation {
        &self.location
    }

    /// The index; empty when nothing was deployed yet.
    ///
    /// A deployment writes its record before the index at every change of status after the
    /// first, so a process killed between the two leaves an index entry behind its record (a
    /// deployment that finished still `in-progress`, the live job still the one before it). The
    /// record is authoritative: entries that are not final are brought up to their record's
    /// status, and the live job to the one a succeeded deployment left live. Without that, the
    /// next deploy would take the previous job for the live one and supersede the finished
    /// deployment, deleting the jobs it created — after a blue-green swap, the live job.
    pub async fn index(&self) -> Result<Index, EngineError> {
        let mut index: Index = read_json(self.client, &self.location.index_path())
            .await?
            .unwrap_or_default();
        let behind: Vec<String> = index.unfinished().map(|e| e.deployment_id.clone()).collect();
        for id in behind {
            let Some(record) = self.record(&id).await? else {
                continue;
            };
            if index.find(&id).is_some_and(|e| e.status != record.status) {
                if record.status == Status::Succeeded && record.job_id.is_some() {
                    index.live_job_id = record.job_id;
                }
                index.upsert(record.entry());
            }
        }
        Ok(index)
    }

    pub async fn write_index(&self, index: &Index) -> Result<(), EngineError> {
        write_json(self.client, &self.location.index_path(), index).await?;
        crash_point();
        Ok(())
    }

    /// One deployment's record.
    pub async fn record(&self, deployment_id: &str) -> Result<Option<DeploymentRecord>, EngineError> {
        read_json(self.client, &self.location.record_path(deployment_id)).await
    }

    pub async fn write_record(&self, record: &DeploymentRecord) -> Result<(), EngineError> {
        write_json(
            self.client,
            &self.location.record_path(&record.manifest.deployment_id),
            record,
        )
        .await?;
        crash_point();
        Ok(())
    }
}

/// Test hook: with `BRICKSHIP_CRASH_AFTER_JOURNAL_WRITES=N` the process dies abruptly (SIGABRT,
/// no cleanup, like `kill -9`) right after its N-th journal write. The end-to-end tests use it
/// to interrupt a deployment at every journal boundary and check that the next deploy, resume or
/// rollback converges.
pub const CRASH_ENV: &str = "BRICKSHIP_CRASH_AFTER_JOURNAL_WRITES";

fn crash_point() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static WRITES: AtomicU32 = AtomicU32::new(0);
    static CRASH_AT: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    let crash_at = *CRASH_AT.get_or_init(|| std::env::var(CRASH_ENV).ok().and_then(|v| v.parse().ok()));
    let done = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    if crash_at == Some(done) {
        eprintln!("brickship: {CRASH_ENV}={done}: stopping abruptly after journal write {done}");
        std::process::abort();
    }
}

/// Reads a JSON workspace file; `None` when it does not exist.
pub async fn read_json<T: for<'de> Deserialize<'de>>(
    client: &Client,
    path: &str,
) -> Result<Option<T>, EngineError> {
    match client
        .workspace()
        .export(path, databricks::ExportFormat::Auto)
        .await
    {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| EngineError::CorruptState {
                path: path.to_owned(),
                message: err.to_string(),
            }),
        Err(err) if err.is_not_found() => Ok(None),
        Err(source) => Err(EngineError::workspace(format!("read `{path}`"), source)),
    }
}

/// Writes a JSON workspace file (overwriting), creating its folder when missing.
pub async fn write_json<T: Serialize>(client: &Client, path: &str, value: &T) -> Result<(), EngineError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|err| EngineError::Internal(err.to_string()))?;
    let workspace = client.workspace();
    match workspace.import_file(path, bytes.clone(), true).await {
        Ok(()) => Ok(()),
        Err(err) if err.is_not_found() => {
            let parent = parent_of(path);
            workspace
                .mkdirs(parent)
                .await
                .map_err(|source| EngineError::workspace(format!("create `{parent}`"), source))?;
            workspace
                .import_file(path, bytes, true)
                .await
                .map_err(|source| EngineError::workspace(format!("write `{path}`"), source))
        }
        Err(source) => Err(EngineError::workspace(format!("write `{path}`"), source)),
    }
}

/// The folder of a workspace path.
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/')
        .map_or("/", |(parent, _)| if parent.is_empty() { "/" } else { parent })
}
