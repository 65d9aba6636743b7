//! Workspace objects and files (`/api/2.0/workspace/*`, `/api/2.0/workspace-files/*`).

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::client::{Body, Client, Query, decode};
use crate::error::{Error, Result};
use crate::models::{ExportFormat, ImportFormat, Language, ObjectInfo};

/// Workspace calls, from [`Client::workspace`].
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceApi<'a> {
    client: &'a Client,
}

#[derive(serde::Deserialize)]
struct ListResponse {
    #[serde(default)]
    objects: Vec<ObjectInfo>,
}

#[derive(serde::Deserialize)]
struct ExportResponse {
    #[serde(default)]
    content: String,
}

impl Client {
    /// Workspace objects and files.
    pub fn workspace(&self) -> WorkspaceApi<'_> {
        WorkspaceApi { client: self }
    }
}

impl WorkspaceApi<'_> {
    /// An object's metadata; a missing path is [`Error::NotFound`].
    pub async fn get_status(&self, path: &str) -> Result<ObjectInfo> {
        self.client
            .get("/api/2.0/workspace/get-status", Query::new().push("path", path))
            .await
    }

    /// Creates a directory and its parents; no error if it exists. Idempotent.
    pub async fn mkdirs(&self, path: &str) -> Result<()> {
        let _: Value = self
            .client
            .post("/api/2.0/workspace/mkdirs", &json!({ "path": path }))
            .await?;
        Ok(())
    }

    /// The objects directly inside a directory.
    pub async fn list(&self, path: &str) -> Result<Vec<ObjectInfo>> {
        let resp: ListResponse = self
            .client
            .get("/api/2.0/workspace/list", Query::new().push("path", path))
            .await?;
        Ok(resp.objects)
    }

    /// Imports content (`workspace/import`, base64 in JSON). `language` is needed for `SOURCE`
    /// notebooks. With `overwrite=false` an existing object is [`Error::AlreadyExists`] and the
    /// call is not retried after a possibly-applied attempt; with `overwrite=true` it is.
    pub async fn import(
        &self,
        path: &str,
        content: &[u8],
        format: ImportFormat,
        language: Option<Language>,
        overwrite: bool,
    ) -> Result<()> {
        let mut body = json!({
            "path": path,
            "content": base64::engine::general_purpose::STANDARD.encode(content),
            "format": format.as_str(),
            "overwrite": overwrite,
        });
        if let Some(language) = language {
            body["language"] = json!(language.as_str());
        }
        let _: Value = self.client.post("/api/2.0/workspace/import", &body).await?;
        Ok(())
    }

    /// Exports an object's content (`workspace/export`), decoded from base64.
    pub async fn export(&self, path: &str, format: ExportFormat) -> Result<Vec<u8>> {
        let resp: ExportResponse = self
            .client
            .get(
                "/api/2.0/workspace/export",
                Query::new().push("path", path).push("format", format.as_str()),
            )
            .await?;
        base64::engine::general_purpose::STANDARD
            .decode(resp.content.as_bytes())
            .map_err(|err| Error::Decode {
                method: "GET".to_owned(),
                path: "/api/2.0/workspace/export".to_owned(),
                message: format!("`content` is not base64: {err}"),
                excerpt: None,
            })
    }

    /// Deletes an object; a non-empty directory needs `recursive`.
    pub async fn delete(&self, path: &str, recursive: bool) -> Result<()> {
        let _: Value = self
            .client
            .post(
                "/api/2.0/workspace/delete",
                &json!({ "path": path, "recursive": recursive }),
            )
            .await?;
        Ok(())
    }

    /// Writes a workspace file from raw bytes (`workspace-files/import-file/{path}`). With
    /// `overwrite=false` an existing file is [`Error::AlreadyExists`] — the primitive behind
    /// the deploy lock — and a possibly-applied attempt is not retried.
    pub async fn import_file(&self, path: &str, content: impl Into<Bytes>, overwrite: bool) -> Result<()> {
        let request_path = import_file_path(path);
        let query = Query::new().flag("overwrite", Some(overwrite));
        let body = Body::Raw {
            bytes: content.into(),
            content_type: "application/octet-stream",
        };
        let req = self.client.request(Method::POST, &request_path, query, body);
        let resp = self.client.send(&req).await?;
        let _: Value = decode(&req, &resp.body)?;
        Ok(())
    }
}

/// `/api/2.0/workspace-files/import-file/` + the workspace path, each segment percent-encoded.
fn import_file_path(path: &str) -> String {
    let mut url = match url::Url::parse("http://x/api/2.0/workspace-files/import-file") {
        Ok(url) => url,
        Err(_) => return format!("/api/2.0/workspace-files/import-file{path}"),
    };
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
    }
    url.path().to_owned()
}

#[cfg(test)]
mod tests {
    use super::import_file_path;

    #[test]
    fn encodes_import_file_paths() {
        assert_eq!(
            import_file_path("/Workspace/Shared/.brickship/p/dev/deploy.lock"),
            "/api/2.0/workspace-files/import-file/Workspace/Shared/.brickship/p/dev/deploy.lock"
        );
        assert_eq!(
            import_file_path("/Users/a b/x#1"),
            "/api/2.0/workspace-files/import-file/Users/a%20b/x%231"
        );
    }
}
