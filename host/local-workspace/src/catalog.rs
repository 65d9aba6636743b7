//! Clusters catalogs, secrets, SCIM Me, host metadata and OIDC. (Stub: being written.)

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
