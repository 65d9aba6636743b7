//! Job permissions (`/api/2.0/permissions/jobs/{job_id}`).

use http::Method;
use serde_json::json;

use crate::client::{Client, Query};
use crate::error::Result;
use crate::models::{AccessControlRequest, ObjectPermissions, PermissionLevelDescription};

#[derive(serde::Deserialize)]
struct LevelsResponse {
    #[serde(default)]
    permission_levels: Vec<PermissionLevelDescription>,
}

impl Client {
    /// The job's permissions: direct entries, the owner, and inherited ones (e.g. `admins`).
    pub async fn get_job_permissions(&self, job_id: i64) -> Result<ObjectPermissions> {
        self.get(&format!("/api/2.0/permissions/jobs/{job_id}"), Query::new())
            .await
    }

    /// Replaces the job's direct permissions (`PUT`). The list must name exactly one `IS_OWNER`.
    /// Idempotent.
    pub async fn set_job_permissions(
        &self,
        job_id: i64,
        acl: &[AccessControlRequest],
    ) -> Result<ObjectPermissions> {
        self.with_json(
            Method::PUT,
            &format!("/api/2.0/permissions/jobs/{job_id}"),
            &json!({ "access_control_list": acl }),
        )
        .await
    }

    /// Adds or changes entries of the job's permissions (`PATCH`). Idempotent.
    pub async fn update_job_permissions(
        &self,
        job_id: i64,
        acl: &[AccessControlRequest],
    ) -> Result<ObjectPermissions> {
        self.with_json(
            Method::PATCH,
            &format!("/api/2.0/permissions/jobs/{job_id}"),
            &json!({ "access_control_list": acl }),
        )
        .await
    }

    /// The permission levels a job supports.
    pub async fn get_job_permission_levels(&self, job_id: i64) -> Result<Vec<PermissionLevelDescription>> {
        let resp: LevelsResponse = self
            .get(
                &format!("/api/2.0/permissions/jobs/{job_id}/permissionLevels"),
                Query::new(),
            )
            .await?;
        Ok(resp.permission_levels)
    }
}
