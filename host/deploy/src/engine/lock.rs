//! The deploy lock: one deployment at a time per pipeline/environment, across machines.
//!
//! The lock is the workspace file `<state>/lock.json`, created with
//! `workspace-files/import-file?overwrite=false`: the workspace lets exactly one concurrent
//! creator win and answers the others `RESOURCE_ALREADY_EXISTS`. The file names its holder
//! ([`LockInfo`]: deployment, user, machine, process, lease expiry).
//!
//! A lock is **stale** when its lease expired, or when its holder ran on this machine and that
//! process is gone. A stale lock is reported with its holder and broken only when the caller
//! asks (`--force-lock`); a live lock can be forced too, with a warning that the other deployment
//! may still be running. Long operations renew the lease ([`LockGuard::renew`]).
//!
//! A create whose response was lost (the connection dropped after the workspace applied it) is
//! not retried by the client; acquiring re-reads the file, and if it names this deployment the
//! lock was won.

use std::time::Duration;

use databricks::Client;
use serde::{Deserialize, Serialize};

use super::EngineError;
use super::journal::{parent_of, read_json};

/// Default lease: long enough for a direct deploy, renewed by long waits.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);

/// Who holds the lock (the content of `lock.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub deployment_id: String,
    /// The workspace user.
    pub owner: String,
    /// The machine's host name.
    pub machine: String,
    /// The holder's process id on that machine.
    pub pid: u32,
    /// What it is doing (`deploy`, `rollback`, `resume`).
    pub command: String,
    pub acquired_at_ms: i64,
    pub expires_at_ms: i64,
    /// Held by a paused deployment (waiting for promote, abort or approval) rather than by a
    /// process: no process needs to be alive, the lease alone decides.
    #[serde(default)]
    pub paused: bool,
}

impl LockInfo {
    /// A lock for `deployment_id` held by this process, with the default lease from `now_ms`.
    pub fn new(deployment_id: &str, owner: &str, command: &str, now_ms: i64) -> Self {
        Self {
            deployment_id: deployment_id.to_owned(),
            owner: owner.to_owned(),
            machine: machine_name(),
            pid: std::process::id(),
            command: command.to_owned(),
            acquired_at_ms: now_ms,
            expires_at_ms: now_ms + DEFAULT_LEASE.as_millis() as i64,
            paused: false,
        }
    }

    /// Why this lock is stale, if it is: its lease expired, or its process is gone from this machine.
    pub fn stale_reason(&self, now_ms: i64) -> Option<String> {
        if now_ms >= self.expires_at_ms {
            return Some(format!(
                "its lease expired {} ago",
                super::human_duration_ms(now_ms - self.expires_at_ms)
            ));
        }
        if !self.paused && self.machine == machine_name() && !process_alive(self.pid) {
            return Some(format!("process {} on `{}` is gone", self.pid, self.machine));
        }
        None
    }

    /// One line for messages: `deployment dep-… by alice@x on ci-42 (pid 123), since …`.
    pub fn describe(&self) -> String {
        if self.paused {
            return format!(
                "paused deployment `{}` by `{}` (waiting for `brickship promote`, `abort`, `approve` or `resume`), since {}",
                self.deployment_id,
                self.owner,
                super::format_time_ms(self.acquired_at_ms)
            );
        }
        format!(
            "deployment `{}` ({}) by `{}` on `{}` (pid {}), acquired {}",
            self.deployment_id,
            self.command,
            self.owner,
            self.machine,
            self.pid,
            super::format_time_ms(self.acquired_at_ms)
        )
    }
}

/// Problems taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "`{path}` is locked by {}; it expires {} — wait for that deployment to finish, or pass `--force-lock` if you are sure it is not running",
        info.describe(), super::format_time_ms(info.expires_at_ms)
    )]
    Held { path: String, info: LockInfo },
    #[error(
        "`{path}` holds a stale lock: {} ({reason}); that deployment was interrupted — `brickship resume {id}` finishes it, `brickship abort {id}` undoes it, `--force-lock` breaks the lock and supersedes it",
        info.describe(), id = info.deployment_id
    )]
    Stale {
        path: String,
        info: LockInfo,
        reason: String,
    },
}

/// A held lock; release it with [`LockGuard::release`].
#[derive(Debug)]
pub struct LockGuard {
    path: String,
    info: LockInfo,
    /// The lock this one replaced (when forced), for the journal.
    broke: Option<LockInfo>,
}

impl LockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The lock broken to take this one, if any.
    pub fn broke(&self) -> Option<&LockInfo> {
        self.broke.as_ref()
    }

    /// Keeps the lock for a paused deployment: no process holds it any more, the lease does.
    pub async fn park(mut self, client: &Client, now_ms: i64, lease: Duration) -> Result<(), EngineError> {
        self.check_ours(client).await?;
        self.info.paused = true;
        self.info.expires_at_ms = now_ms + lease.as_millis() as i64;
        write(client, &self.path, &self.info, true).await
    }

    /// Extends the lease to `lease` from `now_ms`, after checking the lock is still ours.
    pub async fn renew(&mut self, client: &Client, now_ms: i64, lease: Duration) -> Result<(), EngineError> {
        self.check_ours(client).await?;
        self.info.expires_at_ms = now_ms + lease.as_millis() as i64;
        write(client, &self.path, &self.info, true).await
    }

    /// Deletes the lock if it is still ours; a lock someone else took over is left alone.
    pub async fn release(self, client: &Client) -> Result<(), EngineError> {
        match read_json::<LockInfo>(client, &self.path).await? {
            Some(current) if current.deployment_id == self.info.deployment_id => {
                // `workspace/delete` is not idempotent for the client; it is for us (gone is gone).
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match client.workspace().delete(&self.path, false).await {
                        Ok(()) => return Ok(()),
                        Err(err) if err.is_not_found() => return Ok(()),
                        Err(err)
                            if attempt < 4
                                && (err.is_transport() || err.is_timeout() || err.is_unavailable()) => {}
                        Err(source) => {
                            return Err(EngineError::workspace(format!("release `{}`", self.path), source));
                        }
                    }
                }
            }
            Some(current) => {
                tracing::warn!(lock = %self.path, holder = %current.deployment_id, "the lock was taken over; leaving it");
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn check_ours(&self, client: &Client) -> Result<(), EngineError> {
        match read_json::<LockInfo>(client, &self.path).await? {
            Some(current) if current.deployment_id == self.info.deployment_id => Ok(()),
            Some(current) => Err(EngineError::LockLost {
                path: self.path.clone(),
                holder: current.describe(),
            }),
            None => Err(EngineError::LockLost {
                path: self.path.clone(),
                holder: "nobody (it was deleted)".to_owned(),
            }),
        }
    }
}

/// Takes the lock at `path` for `info.deployment_id`.
///
/// With `force`, a lock held by another deployment is deleted and taken; the guard reports it.
/// A lock whose deployment the journal already records as finished (`finished(id)`: its process
/// died between recording the result and deleting the lock) is garbage and is taken over
/// without `force`.
pub async fn acquire(
    client: &Client,
    path: &str,
    info: LockInfo,
    force: bool,
    finished: &(dyn Fn(&str) -> bool + Sync),
    now_ms: i64,
) -> Result<LockGuard, EngineError> {
    let mut broke = None;
    // Bounded: a create can lose to a competitor at most a few times before we report it.
    for _ in 0..4 {
        match write(client, path, &info, false).await {
            Ok(()) => {
                return Ok(LockGuard {
                    path: path.to_owned(),
                    info,
                    broke,
                });
            }
            Err(EngineError::Workspace { source, .. })
                if source.is_already_exists()
                    || source.is_transport()
                    || source.is_timeout()
                    || source.is_unavailable() =>
            {
                match read_json::<LockInfo>(client, path).await? {
                    // Our own create was applied (its response was lost), or a retry raced it.
                    Some(current) if current.deployment_id == info.deployment_id => {
                        return Ok(LockGuard {
                            path: path.to_owned(),
                            info,
                            broke,
                        });
                    }
                    Some(current) => {
                        let stale = current.stale_reason(now_ms);
                        if !force && !finished(&current.deployment_id) {
                            return Err(match stale {
                                Some(reason) => LockError::Stale {
                                    path: path.to_owned(),
                                    info: current,
                                    reason,
                                },
                                None => LockError::Held {
                                    path: path.to_owned(),
                                    info: current,
                                },
                            }
                            .into());
                        }
                        if stale.is_none() {
                            tracing::warn!(lock = %path, holder = %current.describe(), "breaking a lock that is not provably stale");
                        }
                        client
                            .workspace()
                            .delete(path, false)
                            .await
                            .or_else(|err| if err.is_not_found() { Ok(()) } else { Err(err) })
                            .map_err(|source| {
                                EngineError::workspace(format!("break the lock `{path}`"), source)
                            })?;
                        broke = Some(current);
                    }
                    // Deleted between our create and our read: try again.
                    None => {}
                }
            }
            Err(err) => return Err(err),
        }
    }
    Err(EngineError::Internal(format!(
        "could not take the lock `{path}`: it kept changing hands"
    )))
}

/// Reads the lock without taking it.
pub async fn peek(client: &Client, path: &str) -> Result<Option<LockInfo>, EngineError> {
    read_json(client, path).await
}

async fn write(client: &Client, path: &str, info: &LockInfo, overwrite: bool) -> Result<(), EngineError> {
    let bytes = serde_json::to_vec_pretty(info).map_err(|err| EngineError::Internal(err.to_string()))?;
    let workspace = client.workspace();
    let first = workspace.import_file(path, bytes.clone(), overwrite).await;
    let result = match first {
        Err(err) if err.is_not_found() => {
            let parent = parent_of(path);
            workspace
                .mkdirs(parent)
                .await
                .map_err(|source| EngineError::workspace(format!("create `{parent}`"), source))?;
            workspace.import_file(path, bytes, overwrite).await
        }
        other => other,
    };
    result.map_err(|source| EngineError::workspace(format!("write the lock `{path}`"), source))
}

/// This machine's host name.
pub fn machine_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
        })
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// Whether a process with this id runs on this machine. Where that cannot be told (no `/proc`),
/// assume it does: a lock is then stale only once its lease expires.
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    if pid == std::process::id() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // A zombie (state Z) has exited; it only waits for its parent to reap it.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
