//! Durable state: each store is one JSON document, replaced atomically on every change.
//!
//! A write goes to a temporary file in the same directory, is fsynced, renamed over the old file
//! and the directory is fsynced, so a server killed at any instant leaves either the old or the
//! new document, never a torn one. Without a state directory the store lives in memory only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value of type `T` kept in memory and, when a path is set, mirrored to a JSON file.
#[derive(Debug)]
pub struct Persisted<T> {
    path: Option<PathBuf>,
    value: RwLock<T>,
}

impl<T: Serialize + DeserializeOwned + Default> Persisted<T> {
    /// Loads `dir/<name>.json` if it exists (or starts from `T::default()`); `None` keeps state in memory.
    pub fn open(dir: Option<&Path>, name: &str) -> io::Result<Self> {
        let path = dir.map(|dir| dir.join(format!("{name}.json")));
        let value = match &path {
            Some(path) if path.exists() => {
                let bytes = fs::read(path)?;
                serde_json::from_slice(&bytes).map_err(|err| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("`{}` is not valid state: {err}", path.display()),
                    )
                })?
            }
            _ => T::default(),
        };
        Ok(Self {
            path,
            value: RwLock::new(value),
        })
    }

    /// Shared read access.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` and persists the result before returning, under the write lock so
    /// concurrent changes are serialised. The change is kept in memory only if it succeeds and
    /// was persisted; a failed change (`Err`) is discarded, leaving no side effect.
    pub fn update<R, E>(&self, change: impl FnOnce(&mut T) -> Result<R, E>) -> Result<R, E>
    where
        T: Clone,
        E: From<io::Error>,
    {
        let mut guard = self
            .value
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut next = guard.clone();
        let out = change(&mut next)?;
        if let Some(path) = &self.path {
            write_atomic(path, &next)?;
        }
        *guard = next;
        Ok(out)
    }

    /// Like [`Persisted::update`] without cloning: for changes that cannot fail half-way.
    pub fn update_in_place<R>(&self, change: impl FnOnce(&mut T) -> R) -> io::Result<R> {
        let mut guard = self
            .value
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let out = change(&mut guard);
        if let Some(path) = &self.path {
            write_atomic(path, &*guard)?;
        }
        Ok(out)
    }
}

/// Writes `value` as JSON to `path` atomically (temp file, fsync, rename, fsync of the directory).
pub fn write_atomic(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|name| name.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    {
        let mut file = fs::File::create(&tmp)?;
        let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(dir) = fs::File::open(dir) {
        // Directory fsync makes the rename durable; not supported on every platform.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_discards_failed_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store: Persisted<Vec<u32>> = Persisted::open(Some(dir.path()), "numbers").unwrap();
        store
            .update(|v| {
                v.push(1);
                Ok::<_, io::Error>(())
            })
            .unwrap();
        let failed: Result<(), io::Error> = store.update(|v| {
            v.push(2);
            Err(io::Error::other("refused"))
        });
        assert!(failed.is_err());
        assert_eq!(*store.read(), vec![1]);
        let reopened: Persisted<Vec<u32>> = Persisted::open(Some(dir.path()), "numbers").unwrap();
        assert_eq!(*reopened.read(), vec![1]);
    }
}
