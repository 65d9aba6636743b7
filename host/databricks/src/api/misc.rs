//! Cluster catalogs, secrets and the current user.

use crate::client::{Client, Query};
use crate::error::Result;
use crate::models::{NodeType, ScimUser, SecretMetadata, SecretScope, SparkVersion};

#[derive(serde::Deserialize)]
struct NodeTypes {
    #[serde(default)]
    node_types: Vec<NodeType>,
}

#[derive(serde::Deserialize)]
struct SparkVersions {
    #[serde(default)]
    versions: Vec<SparkVersion>,
}

#[derive(serde::Deserialize)]
struct Scopes {
    #[serde(default)]
    scopes: Vec<SecretScope>,
}

#[derive(serde::Deserialize)]
struct Secrets {
    #[serde(default)]
    secrets: Vec<SecretMetadata>,
}

impl Client {
    /// Node types clusters can use (`clusters/list-node-types`).
    pub async fn list_node_types(&self) -> Result<Vec<NodeType>> {
        let resp: NodeTypes = self
            .get("/api/2.1/clusters/list-node-types", Query::new())
            .await?;
        Ok(resp.node_types)
    }

    /// Databricks Runtime versions (`clusters/spark-versions`).
    pub async fn spark_versions(&self) -> Result<Vec<SparkVersion>> {
        let resp: SparkVersions = self.get("/api/2.1/clusters/spark-versions", Query::new()).await?;
        Ok(resp.versions)
    }

    /// Secret scopes (`secrets/scopes/list`).
    pub async fn list_scopes(&self) -> Result<Vec<SecretScope>> {
        let resp: Scopes = self.get("/api/2.0/secrets/scopes/list", Query::new()).await?;
        Ok(resp.scopes)
    }

    /// Keys of the secrets in `scope` (`secrets/list`); a missing scope is [`crate::Error::NotFound`].
    pub async fn list_secrets(&self, scope: &str) -> Result<Vec<SecretMetadata>> {
        let resp: Secrets = self
            .get("/api/2.0/secrets/list", Query::new().push("scope", scope))
            .await?;
        Ok(resp.secrets)
    }

    /// The authenticated principal (SCIM `Me`).
    pub async fn current_user(&self) -> Result<ScimUser> {
        self.get("/api/2.0/preview/scim/v2/Me", Query::new()).await
    }
}
