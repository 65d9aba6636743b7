//! The shared state behind every handler.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::{Config, Error, clock::Clock, control::Control, jobs::JobsState, objects::ObjectsState};

/// Cheap to clone: everything lives behind one `Arc`.
#[derive(Debug, Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

#[derive(Debug)]
#[doc(hidden)]
pub struct Inner {
    pub(crate) config: Config,
    /// `http://<addr>`: the host used in run page URLs and OIDC endpoints.
    pub(crate) base_url: String,
    pub(crate) clock: Clock,
    pub(crate) jobs: JobsState,
    pub(crate) objects: ObjectsState,
    pub(crate) control: Control,
}

impl AppState {
    pub(crate) fn load(config: Config, addr: SocketAddr) -> Result<Self, Error> {
        let dir = config.state_dir.clone();
        let state_err = |source| Error::State {
            dir: dir.clone().unwrap_or_default(),
            source,
        };
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(state_err)?;
        }
        let clock = Clock::new(config.run_speed);
        let jobs = JobsState::load(dir.as_deref(), &config).map_err(state_err)?;
        let objects = ObjectsState::load(dir.as_deref(), &config).map_err(state_err)?;
        let control = Control::new(&config);
        Ok(Self(Arc::new(Inner {
            base_url: format!("http://{addr}"),
            config,
            clock,
            jobs,
            objects,
            control,
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
