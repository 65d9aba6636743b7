//! Uploading the project's code (`sync`) with a record that can undo it.
//!
//! The workspace keeps `<state>/sync.json`: the sha256 of every file brickship uploaded, by
//! workspace path. A deploy uploads only files whose local hash differs, so an unchanged project
//! uploads nothing. Before overwriting a file it exports the previous content into the
//! deployment record, so a rollback puts the old code back (or deletes a file that did not exist
//! before). Files removed from the project are left in the workspace and reported.

use std::collections::BTreeMap;

use base64::Engine as _;
use databricks::{Client, ExportFormat, Language};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::EngineError;
use super::journal::{StateLocation, parent_of, read_json, write_json};
use crate::project::sync::{NotebookLanguage, SyncEntry, SyncKind};

/// Largest previous content kept for rollback; bigger files are noted as not restorable.
const MAX_RESTORE_BYTES: usize = 2 * 1024 * 1024;

/// `sync.json`: hashes of uploaded files by workspace path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    pub files: BTreeMap<String, String>,
}

/// One file the deploy will upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upload {
    pub entry: SyncEntry,
    pub sha256: String,
    #[serde(skip)]
    pub content: Vec<u8>,
    /// True when the workspace already has a file there from an earlier deploy.
    pub replaces: bool,
}

/// What a rollback needs to undo one upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replaced {
    pub remote: String,
    /// The previous object was a notebook (else a file).
    pub notebook: bool,
    /// The previous notebook's language (`PYTHON`, `SQL`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The previous content (base64), `None` when the path did not exist before.
    pub previous: Option<String>,
    /// The previous content was too large to keep: rollback cannot restore it.
    #[serde(default)]
    pub not_kept: bool,
}

pub fn sync_path(location: &StateLocation) -> String {
    format!("{}/sync.json", location.dir())
}

/// The uploads needed to bring the workspace to the local files.
pub async fn plan_uploads(
    client: &Client,
    location: &StateLocation,
    entries: &[SyncEntry],
) -> Result<(SyncState, Vec<Upload>), EngineError> {
    let state: SyncState = read_json(client, &sync_path(location)).await?.unwrap_or_default();
    let mut uploads = Vec::new();
    for entry in entries {
        let content = std::fs::read(&entry.local).map_err(|source| EngineError::Io {
            action: "read",
            path: entry.relative.clone(),
            source,
        })?;
        let sha256 = hex::encode(Sha256::digest(&content));
        let previous = state.files.get(&entry.remote);
        if previous != Some(&sha256) {
            uploads.push(Upload {
                entry: entry.clone(),
                sha256,
                content,
                replaces: previous.is_some(),
            });
        }
    }
    Ok((state, uploads))
}

/// Reads what each upload will replace, so a rollback can put it back. Call before
/// [`apply_uploads`] and journal the result first: a process killed mid-upload then still knows
/// what to restore.
pub async fn capture_replaced(client: &Client, uploads: &[Upload]) -> Result<Vec<Replaced>, EngineError> {
    let remotes: Vec<String> = uploads.iter().map(|u| u.entry.remote.clone()).collect();
    capture_paths(client, &remotes).await
}

/// What is at each workspace path now (for a later restore).
pub async fn capture_paths(client: &Client, remotes: &[String]) -> Result<Vec<Replaced>, EngineError> {
    let mut replaced = Vec::new();
    for remote in remotes {
        let remote = remote.clone();
        let read_err =
            |source| EngineError::workspace(format!("read `{remote}` before replacing it"), source);
        let info = match client.workspace().get_status(&remote).await {
            Ok(info) => info,
            Err(err) if err.is_not_found() => {
                replaced.push(Replaced {
                    remote,
                    notebook: false,
                    language: None,
                    previous: None,
                    not_kept: false,
                });
                continue;
            }
            Err(source) => return Err(read_err(source)),
        };
        let notebook = info.object_type == Some(databricks::ObjectType::Notebook);
        let language = info.language.as_ref().map(|l| l.as_str().to_owned());
        let format = if notebook {
            ExportFormat::Source
        } else {
            ExportFormat::Auto
        };
        replaced.push(match client.workspace().export(&remote, format).await {
            Ok(bytes) if bytes.len() <= MAX_RESTORE_BYTES => Replaced {
                remote,
                notebook,
                language,
                previous: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                not_kept: false,
            },
            Ok(_) => Replaced {
                remote,
                notebook,
                language,
                previous: None,
                not_kept: true,
            },
            Err(err) if err.is_not_found() => Replaced {
                remote,
                notebook,
                language,
                previous: None,
                not_kept: false,
            },
            Err(source) => return Err(read_err(source)),
        });
    }
    Ok(replaced)
}

/// Uploads every file (creating each folder once); `state` gains the new hashes (write it with
/// [`save_state`]).
pub async fn apply_uploads(
    client: &Client,
    uploads: &[Upload],
    state: &mut SyncState,
) -> Result<(), EngineError> {
    let mut folders = std::collections::BTreeSet::new();
    for upload in uploads {
        let parent = parent_of(&upload.entry.remote).to_owned();
        if folders.insert(parent.clone()) {
            client
                .workspace()
                .mkdirs(&parent)
                .await
                .map_err(|source| EngineError::workspace(format!("create `{parent}`"), source))?;
        }
        upload_one(client, &upload.entry, &upload.content).await?;
        state
            .files
            .insert(upload.entry.remote.clone(), upload.sha256.clone());
    }
    Ok(())
}

/// The contents to restore to undo `records`' uploads, newest first: per path, the content from
/// before the oldest of them wins. The sync state to write back is the oldest one's.
pub fn undo_uploads<'a>(
    records: impl IntoIterator<Item = &'a super::journal::DeploymentRecord>,
) -> (Vec<Replaced>, Option<SyncState>) {
    let mut by_path: BTreeMap<String, Replaced> = BTreeMap::new();
    let mut sync = None;
    for record in records {
        for item in &record.replaced_files {
            by_path.insert(item.remote.clone(), item.clone());
        }
        if record.previous_sync.is_some() {
            sync = record.previous_sync.clone();
        }
    }
    (by_path.into_values().collect(), sync)
}

/// Reads `sync.json`.
pub async fn load_state(client: &Client, location: &StateLocation) -> Result<SyncState, EngineError> {
    Ok(read_json(client, &sync_path(location)).await?.unwrap_or_default())
}

pub async fn save_state(
    client: &Client,
    location: &StateLocation,
    state: &SyncState,
) -> Result<(), EngineError> {
    write_json(client, &sync_path(location), state).await
}

/// Puts back what [`apply_uploads`] replaced: old contents re-imported, new files deleted.
pub async fn restore(client: &Client, replaced: &[Replaced]) -> Vec<String> {
    let mut problems = Vec::new();
    for item in replaced.iter().rev() {
        let result = match (&item.previous, item.not_kept) {
            (_, true) => {
                problems.push(format!(
                    "`{}` was too large to keep; its previous content is not restored",
                    item.remote
                ));
                continue;
            }
            (Some(previous), _) => match base64::engine::general_purpose::STANDARD.decode(previous) {
                Ok(bytes) => {
                    if item.notebook {
                        let language = item
                            .language
                            .as_deref()
                            .map(Language::from)
                            .unwrap_or(Language::Python);
                        client
                            .workspace()
                            .import(&item.remote, &bytes, ExportFormat::Source, Some(language), true)
                            .await
                    } else {
                        client.workspace().import_file(&item.remote, bytes, true).await
                    }
                }
                Err(err) => {
                    problems.push(format!(
                        "`{}`: the kept content is not base64 ({err})",
                        item.remote
                    ));
                    continue;
                }
            },
            (None, _) => client
                .workspace()
                .delete(&item.remote, false)
                .await
                .or_else(|e| if e.is_not_found() { Ok(()) } else { Err(e) }),
        };
        if let Err(err) = result {
            problems.push(format!("`{}`: {err}", item.remote));
        }
    }
    problems
}

async fn upload_one(client: &Client, entry: &SyncEntry, content: &[u8]) -> Result<(), EngineError> {
    let workspace = client.workspace();
    let result = match entry.kind {
        SyncKind::Notebook { language, jupyter } => {
            let (format, language) = if jupyter {
                (ExportFormat::Jupyter, None)
            } else {
                (ExportFormat::Source, Some(language_of(language)))
            };
            workspace
                .import(&entry.remote, content, format, language, true)
                .await
        }
        SyncKind::File => workspace.import_file(&entry.remote, content.to_vec(), true).await,
    };
    result.map_err(|source| {
        EngineError::workspace(
            format!("upload `{}` to `{}`", entry.relative, entry.remote),
            source,
        )
    })
}

fn language_of(language: NotebookLanguage) -> Language {
    match language {
        NotebookLanguage::Python => Language::Python,
        NotebookLanguage::Sql => Language::Sql,
        NotebookLanguage::Scala => Language::Scala,
        NotebookLanguage::R => Language::R,
    }
}
