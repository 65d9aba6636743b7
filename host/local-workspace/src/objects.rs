//! Workspace objects and files. (Stub: being written.)

use std::path::Path;

use axum::Router;

use crate::{AppState, Config};

#[derive(Debug, Default)]
pub struct ObjectsState {}

impl ObjectsState {
    pub fn load(_dir: Option<&Path>, _config: &Config) -> std::io::Result<Self> {
        Ok(Self {})
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
}
