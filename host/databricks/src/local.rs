//! The host `local`: the local workspace, served on loopback, started in-process on demand.
//!
//! One state directory is served by at most one server. The first client to take the exclusive
//! lock on `<state_dir>/server.lock` starts a [`local_workspace::LocalWorkspace`] on a free
//! loopback port and writes its URL to `<state_dir>/endpoint.json`; the client owns the server,
//! which stops when the last clone of that client is dropped (the lock is released with it, and
//! the endpoint file removed). A client in another process that finds the lock taken reads
//! `endpoint.json` and talks to that server instead. Within one process, clients for the same
//! directory share the running server. Either way the client speaks real HTTP to it: there is
//! one code path for local and cloud workspaces.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::error::{Error, Result};

/// Lock file name inside the state directory.
pub const LOCK_FILE: &str = "server.lock";
/// Endpoint file name inside the state directory: `{"url": "http://127.0.0.1:port", "pid": n}`.
pub const ENDPOINT_FILE: &str = "endpoint.json";
/// How long to wait for another process's server to publish its endpoint.
const ENDPOINT_WAIT: Duration = Duration::from_secs(10);

/// A local workspace a client talks to: one this process started (and owns), or one another
/// process serves.
#[derive(Debug)]
pub(crate) struct LocalServer {
    url: String,
    dir: PathBuf,
    owned: Option<Owned>,
}

#[derive(Debug)]
struct Owned {
    _workspace: local_workspace::LocalWorkspace,
    /// Holds the exclusive lock while the server runs.
    _lock: File,
}

impl LocalServer {
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if self.owned.is_some() {
            // Before the lock is released (fields drop after this), so no other process can
            // mistake our stale endpoint for its own.
            let _ = std::fs::remove_file(self.dir.join(ENDPOINT_FILE));
        }
    }
}

/// Servers this process runs, by canonical state directory.
static RUNNING: Mutex<Vec<(PathBuf, Weak<LocalServer>)>> = Mutex::new(Vec::new());

#[derive(serde::Serialize, serde::Deserialize)]
struct Endpoint {
    url: String,
    pid: u32,
}

fn local_error(
    dir: &Path,
    message: impl Into<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::LocalWorkspace {
        dir: dir.to_path_buf(),
        message: message.into(),
        source,
    }
}

/// Starts the local workspace for `dir`, or connects to the one already serving it.
pub(crate) async fn attach(dir: &Path, run_speed: f64) -> Result<Arc<LocalServer>> {
    std::fs::create_dir_all(dir)
        .map_err(|err| local_error(dir, "cannot create the state directory", Some(Box::new(err))))?;
    let dir = dir
        .canonicalize()
        .map_err(|err| local_error(dir, "cannot resolve the state directory", Some(Box::new(err))))?;
    {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(server) = running
            .iter()
            .find(|(d, _)| *d == dir)
            .and_then(|(_, weak)| weak.upgrade())
        {
            tracing::debug!(url = %server.url, "reusing the local workspace this process runs");
            return Ok(server);
        }
    }
    let lock_path = dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|err| {
            local_error(
                &dir,
                format!("cannot open `{}`", lock_path.display()),
                Some(Box::new(err)),
            )
        })?;
    match lock.try_lock() {
        Ok(()) => {
            let config = local_workspace::Config {
                state_dir: Some(dir.clone()),
                run_speed,
                ..local_workspace::Config::default()
            };
            let workspace = local_workspace::LocalWorkspace::start(config)
                .await
                .map_err(|err| local_error(&dir, "cannot start the local workspace", Some(Box::new(err))))?;
            let url = workspace.url();
            write_endpoint(
                &dir,
                &Endpoint {
                    url: url.clone(),
                    pid: std::process::id(),
                },
            )?;
            tracing::debug!(url = %url, dir = %dir.display(), "started the local workspace");
            let server = Arc::new(LocalServer {
                url,
                dir: dir.clone(),
                owned: Some(Owned {
                    _workspace: workspace,
                    _lock: lock,
                }),
            });
            let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
            running.push((dir, Arc::downgrade(&server)));
            Ok(server)
        }
        Err(TryLockError::WouldBlock) => {
            drop(lock);
            let url = wait_for_endpoint(&dir).await?;
            tracing::debug!(url = %url, dir = %dir.display(), "connecting to the local workspace another process serves");
            Ok(Arc::new(LocalServer {
                url,
                dir,
                owned: None,
            }))
        }
        Err(TryLockError::Error(err)) => Err(local_error(
            &dir,
            format!("cannot lock `{}`", lock_path.display()),
            Some(Box::new(err)),
        )),
    }
}

fn write_endpoint(dir: &Path, endpoint: &Endpoint) -> Result<()> {
    let path = dir.join(ENDPOINT_FILE);
    let tmp = dir.join(format!(".{ENDPOINT_FILE}.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(endpoint)
        .map_err(|err| local_error(dir, "cannot encode the endpoint file", Some(Box::new(err))))?;
    std::fs::write(&tmp, json)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|err| {
            local_error(
                dir,
                format!("cannot write `{}`", path.display()),
                Some(Box::new(err)),
            )
        })
}

/// Waits (bounded) for the server holding the lock to publish its endpoint.
async fn wait_for_endpoint(dir: &Path) -> Result<String> {
    let path = dir.join(ENDPOINT_FILE);
    let deadline = tokio::time::Instant::now() + ENDPOINT_WAIT;
    loop {
        if let Ok(bytes) = std::fs::read(&path)
            && let Ok(endpoint) = serde_json::from_slice::<Endpoint>(&bytes)
        {
            return Ok(endpoint.url);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(local_error(
                dir,
                format!(
                    "another process holds `{LOCK_FILE}` but has not published `{ENDPOINT_FILE}` within {ENDPOINT_WAIT:?}; stop that process (or delete the directory if none is running) and retry"
                ),
                None,
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
