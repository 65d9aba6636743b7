//! Jobs API 2.0/2.1/2.2, runs and job permissions. (Stub: being written.)

use std::path::Path;

use axum::Router;

use crate::{AppState, Config};

#[derive(Debug, Default)]
pub struct JobsState {}

impl JobsState {
    pub fn load(_dir: Option<&Path>, _config: &Config) -> std::io::Result<Self> {
        Ok(Self {})
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
}
