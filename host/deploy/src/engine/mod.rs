//! The online half of the deploy engine: from a rendered pipeline to a changed workspace.
//!
//! # Concepts
//!
//! A **deployment** moves one pipeline/environment from its live state to the desired one, in
//! phases: connect, validate against the workspace, read the live job, plan, approve, lock,
//! journal the manifest and snapshot, upload code, run the strategy's actions, verify, trigger a
//! run, record, unlock ([`deploy`]). Every phase's timing, every API call and every finding goes
//! into a report ([`report`]) written to the project's `deployments/reports/`.
//!
//! **Strategies** decide, the executor acts: a strategy component (`direct`, `blue-green`,
//! `canary`, or a team's own) is a step function returning actions as data; the
//! [`executor`] performs each through the Databricks client and hands the outcomes back.
//!
//! **State lives in the workspace** ([`journal`], [`lock`]): the journal under the project's
//! `state_root` records every deployment (manifest, snapshot of the live job before it, every
//! action before and after it ran), so history, rollback and resume work from any machine.
//!
//! **Nothing is lost**: the snapshot is journaled before the first mutation; with rollback on
//! failure (the default) any failure after it restores the snapshot; a killed process leaves an
//! `in-progress` record and a lock that the next deploy or rollback (with `--force-lock`) uses to
//! converge. A deploy whose plan is empty makes no mutating call at all.

pub mod connect;
pub mod control;
pub mod cost;
pub mod executor;
pub mod extensions;
pub mod gates;
pub mod journal;
pub mod lock;
pub mod notify;
pub mod plugin_config;
pub mod probe;
pub mod report;
pub mod run;
pub mod sync;

use crate::diagnostics::Diagnostics;

pub use connect::{WorkspaceChoice, connect};
pub use control::{ControlRequest, control};
pub use run::{
    ActiveRuns, ControlCommand, DeployOutcome, DeployRequest, EngineEvent, Reporter, RollbackRequest, deploy,
    history, plan, rollback, status, validate,
};

/// Why a command could not do its job. [`EngineError::exit_code`] maps each to the documented
/// exit codes (2 bad input, 3 refused by a gate or approval, 4 plugin failure, 1 otherwise).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The project has errors; the findings are rendered in `rendered`.
    #[error("{summary}")]
    Invalid {
        summary: String,
        diagnostics: Box<Diagnostics>,
    },
    /// Bad input that is not a file finding (an unknown environment, a bad flag value).
    #[error("{0}")]
    Usage(String),
    /// The workspace could not be configured or reached.
    #[error("cannot use the workspace of environment `{environment}`")]
    Connect {
        environment: String,
        #[source]
        source: Box<databricks::Error>,
    },
    /// A workspace call failed.
    #[error("cannot {action}")]
    Workspace {
        action: String,
        #[source]
        source: Box<databricks::Error>,
    },
    #[error(transparent)]
    Lock(Box<lock::LockError>),
    #[error(
        "lost the lock `{path}`: it is now held by {holder}; stopping so two deployments never interleave"
    )]
    LockLost { path: String, holder: String },
    /// Approval required and not given.
    #[error("{0}")]
    ApprovalRefused(String),
    /// An enforcing gate refused the deployment before it changed anything.
    #[error("{0}")]
    GateRefused(String),
    /// A plugin could not be loaded or failed.
    #[error("plugin `{plugin}`")]
    Plugin {
        plugin: String,
        #[source]
        source: Box<plugin_host::Error>,
    },
    /// A journal file is not what brickship writes.
    #[error(
        "the journal file `{path}` is damaged ({message}); inspect it in the workspace, fix or delete it"
    )]
    CorruptState { path: String, message: String },
    /// Several jobs carry the pipeline's name and the journal does not say which is live.
    #[error(
        "{count} jobs are named `{name}` ({ids}); brickship cannot tell which one this pipeline deploys to — delete or rename the extra ones"
    )]
    AmbiguousJob { name: String, count: usize, ids: String },
    /// A local file could not be read or written.
    #[error("cannot {action} `{path}`")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<lock::LockError> for EngineError {
    fn from(err: lock::LockError) -> Self {
        EngineError::Lock(Box::new(err))
    }
}

impl EngineError {
    /// A failed workspace call while trying to `action`.
    pub fn workspace(action: impl Into<String>, source: databricks::Error) -> Self {
        EngineError::Workspace {
            action: action.into(),
            source: Box::new(source),
        }
    }

    /// A plugin that could not be loaded or failed.
    pub fn plugin(plugin: impl Into<String>, source: plugin_host::Error) -> Self {
        EngineError::Plugin {
            plugin: plugin.into(),
            source: Box::new(source),
        }
    }

    /// The process exit code for this error (see CONVENTIONS.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            EngineError::Invalid { .. } | EngineError::Usage(_) => 2,
            EngineError::Connect { source, .. } if source.is_config() => 2,
            EngineError::ApprovalRefused(_) | EngineError::GateRefused(_) => 3,
            // A plugin that misbehaved at run time (crash, timeout, memory, output) is 4; one
            // refused before it ran (not found, wrong pin, contract, imports, config) is bad input.
            EngineError::Plugin { source, .. } => {
                if source.is_plugin_failure() {
                    4
                } else {
                    2
                }
            }
            _ => 1,
        }
    }
}

/// An error and its causes on one line (`a: b: c`), each cause once: a message that already
/// contains its cause's text (some errors embed it) is not repeated.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// `2026-11-26 14:02:33 UTC`.
pub fn format_time_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

/// `850 ms`, `12.4 s`, `3 min 20 s`, `2 h 5 min`.
pub fn human_duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A new deployment id: `dep-<UTC date>-<time>-<4 random hex>`, sortable by start time.
pub fn new_deployment_id() -> String {
    let now = jiff::Timestamp::now();
    format!("dep-{}-{:04x}", now.strftime("%Y%m%d-%H%M%S"), fastrand::u16(..))
}
