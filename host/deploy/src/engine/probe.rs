//! The validator's [`WorkspaceProbe`] backed by the Databricks client.

use databricks::{Client, ObjectType};

use crate::validate::workspace::{ObjectKind, ProbeError, WorkspaceProbe};

/// Answers the workspace checks of validation with real API calls.
#[derive(Debug, Clone, Copy)]
pub struct ClientProbe<'a>(pub &'a Client);

fn probe_error(err: databricks::Error) -> ProbeError {
    ProbeError::new(err.to_string())
}

impl WorkspaceProbe for ClientProbe<'_> {
    async fn object_kind(&self, path: &str) -> Result<Option<ObjectKind>, ProbeError> {
        match self.0.workspace().get_status(path).await {
            Ok(info) => Ok(Some(match info.object_type {
                Some(ObjectType::Notebook) => ObjectKind::Notebook,
                Some(ObjectType::Directory) => ObjectKind::Directory,
                Some(ObjectType::File) => ObjectKind::File,
                _ => ObjectKind::Other,
            })),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(probe_error(err)),
        }
    }

    async fn node_types(&self) -> Result<Vec<String>, ProbeError> {
        let types = self.0.list_node_types().await.map_err(probe_error)?;
        Ok(types.into_iter().map(|t| t.node_type_id).collect())
    }

    async fn spark_versions(&self) -> Result<Vec<String>, ProbeError> {
        let versions = self.0.spark_versions().await.map_err(probe_error)?;
        Ok(versions.into_iter().map(|v| v.key).collect())
    }

    async fn secret_scopes(&self) -> Result<Vec<String>, ProbeError> {
        let scopes = self.0.list_scopes().await.map_err(probe_error)?;
        Ok(scopes.into_iter().map(|s| s.name).collect())
    }
}
