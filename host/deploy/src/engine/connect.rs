//! From an environment's `workspace` (or `--host` / `--profile`) to a connected client.

use std::path::Path;

use databricks::{Client, Config};

use super::EngineError;
use crate::project::WorkspaceTarget;

/// Folder of the local workspace's state inside a project.
pub const LOCAL_STATE_DIR: &str = ".brickship/workspace";

/// The workspace a command talks to: the environment's, unless overridden on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceChoice {
    /// The environment's `workspace` setting.
    Environment(WorkspaceTarget),
    /// `--host URL` (or `--host local`).
    Host(String),
    /// `--profile NAME`.
    Profile(String),
}

impl WorkspaceChoice {
    /// `--host`/`--profile` if given, else the environment's target.
    pub fn pick(environment: &WorkspaceTarget, host: Option<&str>, profile: Option<&str>) -> Self {
        match (host, profile) {
            (Some(host), _) => WorkspaceChoice::Host(host.to_owned()),
            (None, Some(profile)) => WorkspaceChoice::Profile(profile.to_owned()),
            (None, None) => WorkspaceChoice::Environment(environment.clone()),
        }
    }

    /// A short description for output: `local`, `profile prod`, `https://…`.
    pub fn describe(&self) -> String {
        match self {
            WorkspaceChoice::Environment(WorkspaceTarget::Local) => "local".to_owned(),
            WorkspaceChoice::Environment(WorkspaceTarget::Profile { profile })
            | WorkspaceChoice::Profile(profile) => {
                format!("profile `{profile}`")
            }
            WorkspaceChoice::Environment(WorkspaceTarget::Host { host, .. })
            | WorkspaceChoice::Host(host) => host.clone(),
        }
    }
}

/// Resolves the configuration (explicit settings, then `DATABRICKS_*`, then `~/.databrickscfg`)
/// and connects. The host `local` starts (or joins) the project's local workspace, with state in
/// `<project>/.brickship/workspace/`.
pub async fn connect(
    choice: &WorkspaceChoice,
    project_dir: &Path,
    environment: &str,
) -> Result<Client, EngineError> {
    let mut builder = Config::builder();
    match choice {
        WorkspaceChoice::Environment(WorkspaceTarget::Local) => builder = builder.host("local"),
        WorkspaceChoice::Environment(WorkspaceTarget::Profile { profile })
        | WorkspaceChoice::Profile(profile) => builder = builder.profile(profile.clone()),
        WorkspaceChoice::Environment(WorkspaceTarget::Host { host, profile }) => {
            builder = builder.host(host.clone());
            if let Some(profile) = profile {
                builder = builder.profile(profile.clone());
            }
        }
        WorkspaceChoice::Host(host) => builder = builder.host(host.clone()),
    }
    builder = builder.local_state_dir(project_dir.join(LOCAL_STATE_DIR));
    let err = |source| EngineError::Connect {
        environment: environment.to_owned(),
        source: Box::new(source),
    };
    let config = builder.resolve().map_err(|e| err(e.into()))?;
    Client::builder(config)
        .product("brickship", env!("CARGO_PKG_VERSION"))
        .build()
        .await
        .map_err(err)
}
