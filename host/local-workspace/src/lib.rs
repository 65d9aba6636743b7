//! A local Databricks workspace: the REST APIs a deploy tool uses, served on loopback.
//!
//! # Concepts
//!
//! The local workspace is an emulator faithful to the wire: the official SDKs (Python, Go, the
//! CLI) and brickship's own client talk to it exactly as they talk to a cloud workspace. It
//! serves the Jobs API (2.0 get, 2.1 and 2.2), job permissions, workspace objects and files,
//! cluster catalogs, secret scopes, SCIM `Me`, and the OAuth bootstrap endpoints.
//!
//! * **Runs** move through `QUEUED → PENDING → RUNNING → TERMINATING → TERMINATED` across the
//!   task DAG by wall time, scaled by the run speed (`Config::run_speed`): at speed 1000 a task
//!   the workspace would run for a minute takes 60 ms.
//! * **Test control** lives under `/_local/`, a prefix no Databricks API uses: scripted run
//!   outcomes, injected faults, rate limits and the log of requests served (see `control`).
//! * **State** is persisted as JSON documents replaced atomically (see [`persist`]), so a killed
//!   server restarts with its jobs, runs, permissions and files intact.
//!
//! # Starting one
//!
//! ```no_run
//! # async fn demo() -> Result<(), local_workspace::Error> {
//! let workspace = local_workspace::LocalWorkspace::start(local_workspace::Config::default()).await?;
//! println!("serving on {}", workspace.url());
//! workspace.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api_error;
mod catalog;
mod clock;
mod control;
mod jobs;
mod objects;
pub mod persist;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::AppState;

/// Errors starting or running the local workspace.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{addr}` is not a loopback address: the local workspace only listens on loopback (use 127.0.0.1 or [::1])"
    )]
    NotLoopback { addr: SocketAddr },
    #[error(
        "`--run-speed {run_speed}` must be a positive number (1 is real time, 1000 makes a minute take 60 ms)"
    )]
    RunSpeed { run_speed: f64 },
    #[error("cannot load workspace state from `{dir}`: {source}")]
    State {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the local workspace stopped: {0}")]
    Serve(#[source] std::io::Error),
}

impl Error {
    /// The configuration asked for something the local workspace cannot do (a bad argument,
    /// not a failure).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::NotLoopback { .. } | Error::RunSpeed { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How to run a local workspace.
///
/// Defaults: `127.0.0.1:0` (a free port), state in memory, run speed 1.0, any bearer token accepted,
/// workspace id `1234567890123456`, current user `brickship@localhost`, rate limits on, any
/// non-empty OAuth client accepted, OAuth tokens valid for an hour.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on; must be loopback. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// Directory for persistent state; `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// How much faster than real time runs advance (1.0 = real time, 1000 = a minute in 60 ms).
    pub run_speed: f64,
    /// When set, only this bearer token is accepted; others get the real 401/403 errors.
    pub token: Option<String>,
    /// The workspace id reported by `/.well-known/databricks-config` and in run page URLs.
    pub workspace_id: u64,
    /// The user name of the (single) principal: job creator and SCIM `Me`.
    pub user_name: String,
    /// Whether the per-endpoint API rate limits apply (switchable at run time through
    /// `POST /_local/rate-limits`). Benchmarks and bulk tests turn them off.
    pub rate_limits: bool,
    /// OAuth machine-to-machine client `(client_id, client_secret)`: when set, `/oidc/v1/token`
    /// accepts only this pair; otherwise any non-empty pair.
    pub oauth_client: Option<(String, String)>,
    /// Lifetime of the access tokens `/oidc/v1/token` issues (`expires_in`); also settable at
    /// run time through `POST /_local/oauth`.
    pub oauth_token_ttl: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: None,
            run_speed: 1.0,
            token: None,
            workspace_id: 1234567890123456,
            user_name: "brickship@localhost".to_owned(),
            rate_limits: true,
            oauth_client: None,
            oauth_token_ttl: std::time::Duration::from_secs(3600),
        }
    }
}

impl std::fmt::Debug for Config {
    /// Redacts the token and the OAuth client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("state_dir", &self.state_dir)
            .field("run_speed", &self.run_speed)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("workspace_id", &self.workspace_id)
            .field("user_name", &self.user_name)
            .field("rate_limits", &self.rate_limits)
            .field(
                "oauth_client",
                &self.oauth_client.as_ref().map(|(id, _)| (id, "<redacted>")),
            )
            .field("oauth_token_ttl", &self.oauth_token_ttl)
            .finish()
    }
}

/// A running local workspace. Dropping it without [`LocalWorkspace::shutdown`] stops it too.
#[derive(Debug)]
pub struct LocalWorkspace {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl LocalWorkspace {
    /// Binds the listener, loads state and starts serving on the current tokio runtime.
    pub async fn start(config: Config) -> Result<Self> {
        if !config.addr.ip().is_loopback() {
            return Err(Error::NotLoopback { addr: config.addr });
        }
        if !(config.run_speed.is_finite() && config.run_speed > 0.0) {
            return Err(Error::RunSpeed {
                run_speed: config.run_speed,
            });
        }
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| Error::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.addr,
            source,
        })?;
        let state = AppState::load(config, addr)?;
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        // A hand-rolled accept loop rather than `axum::serve`: injected `drop` faults must close
        // connections without a response (see `control::serve`).
        let task = tokio::spawn(control::serve::serve(listener, app, rx));
        Ok(Self {
            addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use as their host, e.g. `http://127.0.0.1:8899`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state, for in-process inspection by tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Waits until the server stops (it only stops on shutdown or a fatal error).
    pub async fn wait(mut self) -> Result<()> {
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(Error::Serve),
                Err(join) => Err(Error::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }

    /// Stops accepting connections, finishes in-flight requests and waits for the server to stop.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalWorkspace {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The full application: every API plus the `/_local/` control plane, behind the auth, fault,
/// rate-limit and request-log middleware.
pub fn router(state: AppState) -> axum::Router {
    let api = axum::Router::new()
        .merge(jobs::routes())
        .merge(objects::routes())
        .merge(catalog::routes())
        .merge(control::routes());
    control::wrap(api, state.clone()).with_state(state)
}
