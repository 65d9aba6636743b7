//! The `/_local/` control plane and the middleware: auth, faults, rate limits, request log. (Stub.)

use axum::Router;

use crate::{AppState, Config};

#[derive(Debug, Default)]
pub struct Control {}

impl Control {
    pub fn new(_config: &Config) -> Self {
        Self {}
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
}

pub fn wrap(api: Router<AppState>, _state: AppState) -> Router<AppState> {
    api
}
