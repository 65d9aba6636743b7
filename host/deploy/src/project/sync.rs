//! What a deploy uploads: the files under each `sync` source folder and the workspace path each
//! one gets.
//!
//! Like the Databricks CLI's sync, a source file whose first line is the notebook header
//! (`# Databricks notebook source` for `.py`/`.r`, `-- Databricks notebook source` for `.sql`,
//! `// Databricks notebook source` for `.scala`) or any `.ipynb` becomes a **notebook** at the
//! destination path *without* its extension (`notebooks/bronze.py` →
//! `/Workspace/pipelines/customer-360/bronze`); every other file is uploaded as a **file**
//! with its full name. Hidden files and folders (`.git`, `.DS_Store`) and `__pycache__` are
//! skipped.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::config::SyncMapping;

/// Language of a notebook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NotebookLanguage {
    /// `.py`, `.ipynb`
    Python,
    /// `.sql`
    Sql,
    /// `.scala`
    Scala,
    /// `.r`
    R,
}

/// How a synced file is uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncKind {
    /// Imported as a notebook (source format, or Jupyter for `.ipynb`).
    Notebook {
        /// Notebook language.
        language: NotebookLanguage,
        /// True for `.ipynb` files.
        jupyter: bool,
    },
    /// Uploaded as a workspace file.
    File,
}

/// One file to upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncEntry {
    /// Path on disk.
    pub local: PathBuf,
    /// Path relative to the project root, `/`-separated.
    pub relative: String,
    /// Workspace path it is uploaded to.
    pub remote: String,
    /// Notebook or file.
    #[serde(flatten)]
    pub kind: SyncKind,
}

/// The upload plan for `mappings` of the project at `root`, sorted by remote path. Missing
/// source folders are skipped (validation reports them).
pub fn sync_plan(root: &Path, mappings: &[SyncMapping]) -> std::io::Result<Vec<SyncEntry>> {
    let mut out = vec![];
    for m in mappings {
        let base = root.join(&m.source);
        if !base.is_dir() {
            continue;
        }
        let mut files = vec![];
        walk(&base, &mut files)?;
        for file in files {
            let rel_in_source = file.strip_prefix(&base).unwrap_or(&file);
            let rel_parts: Vec<String> = rel_in_source
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let kind = classify(&file)?;
            let mut remote_rel = rel_parts.join("/");
            if matches!(kind, SyncKind::Notebook { .. })
                && let Some(dot) = remote_rel.rfind('.')
                && !remote_rel[dot..].contains('/')
            {
                remote_rel.truncate(dot);
            }
            out.push(SyncEntry {
                relative: crate::source::display_path(root, &file),
                remote: format!("{}/{}", m.dest.trim_end_matches('/'), remote_rel),
                local: file,
                kind,
            });
        }
    }
    out.sort_by(|a, b| a.remote.cmp(&b.remote));
    Ok(out)
}

/// The workspace paths the sync will create, without the `/Workspace` prefix (so
/// `/Workspace/a/b` and `/a/b` compare equal), including parent folders.
pub fn synced_paths(entries: &[SyncEntry]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in entries {
        let p = normalize_workspace_path(&e.remote);
        let mut cur = p.as_str();
        out.insert(p.clone());
        while let Some(i) = cur.rfind('/') {
            cur = &cur[..i];
            if cur.is_empty() {
                break;
            }
            out.insert(cur.to_string());
        }
    }
    out
}

/// Strips a leading `/Workspace` and trailing slashes: workspace APIs accept both forms.
pub fn normalize_workspace_path(p: &str) -> String {
    let p = p.trim_end_matches('/');
    match p.strip_prefix("/Workspace") {
        Some("") => "/".to_string(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => p.to_string(),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        let path = e.path();
        if e.file_type()?.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn classify(path: &Path) -> std::io::Result<SyncKind> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (language, header) = match ext.as_str() {
        "ipynb" => {
            return Ok(SyncKind::Notebook {
                language: NotebookLanguage::Python,
                jupyter: true,
            });
        }
        "py" => (NotebookLanguage::Python, "# Databricks notebook source"),
        "r" => (NotebookLanguage::R, "# Databricks notebook source"),
        "sql" => (NotebookLanguage::Sql, "-- Databricks notebook source"),
        "scala" => (NotebookLanguage::Scala, "// Databricks notebook source"),
        _ => return Ok(SyncKind::File),
    };
    let mut first = String::new();
    BufReader::new(std::fs::File::open(path)?).read_line(&mut first)?;
    if first.trim_start_matches('\u{feff}').trim_end() == header {
        Ok(SyncKind::Notebook {
            language,
            jupyter: false,
        })
    } else {
        Ok(SyncKind::File)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notebooks_lose_their_extension_and_files_keep_it() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("notebooks/sub"))?;
        std::fs::create_dir_all(root.join("notebooks/.hidden"))?;
        std::fs::create_dir_all(root.join("libs"))?;
        std::fs::write(
            root.join("notebooks/bronze.py"),
            "# Databricks notebook source\nprint(1)\n",
        )?;
        std::fs::write(root.join("notebooks/helper.py"), "def f(): pass\n")?;
        std::fs::write(
            root.join("notebooks/sub/q.sql"),
            "-- Databricks notebook source\nSELECT 1\n",
        )?;
        std::fs::write(
            root.join("notebooks/.hidden/x.py"),
            "# Databricks notebook source\n",
        )?;
        std::fs::write(root.join("libs/n-1.0-py3-none-any.whl"), "PK")?;
        let mappings = vec![
            SyncMapping {
                source: "notebooks".into(),
                dest: "/Workspace/pipelines/c".into(),
            },
            SyncMapping {
                source: "libs".into(),
                dest: "/Workspace/libs".into(),
            },
            SyncMapping {
                source: "missing".into(),
                dest: "/Workspace/x".into(),
            },
        ];
        let plan = sync_plan(root, &mappings)?;
        let got: Vec<(&str, &str, bool)> = plan
            .iter()
            .map(|e| {
                (
                    e.relative.as_str(),
                    e.remote.as_str(),
                    matches!(e.kind, SyncKind::Notebook { .. }),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "libs/n-1.0-py3-none-any.whl",
                    "/Workspace/libs/n-1.0-py3-none-any.whl",
                    false
                ),
                ("notebooks/bronze.py", "/Workspace/pipelines/c/bronze", true),
                ("notebooks/helper.py", "/Workspace/pipelines/c/helper.py", false),
                ("notebooks/sub/q.sql", "/Workspace/pipelines/c/sub/q", true),
            ]
        );
        let paths = synced_paths(&plan);
        assert!(paths.contains("/pipelines/c/bronze"));
        assert!(paths.contains("/pipelines/c"));
        assert!(paths.contains("/libs/n-1.0-py3-none-any.whl"));
        Ok(())
    }

    #[test]
    fn workspace_paths_normalise() {
        assert_eq!(normalize_workspace_path("/Workspace/a/b/"), "/a/b");
        assert_eq!(normalize_workspace_path("/a/b"), "/a/b");
        assert_eq!(normalize_workspace_path("/WorkspaceX/a"), "/WorkspaceX/a");
    }
}
