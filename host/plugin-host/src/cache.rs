//! Compiled-code cache on disk, so a second process does not compile a plugin again.
//!
//! A compiled component is stored as `<dir>/<component sha256>-<engine key>.cwasm`, where the
//! engine key hashes wasmtime's own compatibility hash (its version, target and every setting
//! that affects compiled code). A different wasmtime or configuration therefore never reads a
//! stale file; a file that fails to load is deleted and the component compiled again. Files
//! are written to a unique temporary name and renamed, so a crash never leaves half a file.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The on-disk cache of one engine.
pub(crate) struct DiskCache {
    dir: PathBuf,
    engine_key: String,
}

impl DiskCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(hasher.0.finalize());
        DiskCache {
            dir,
            engine_key: engine_key[..16].to_owned(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn path_for(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The cached compilation of the component with `digest`, if there is a usable one.
    pub(crate) fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        if !path.is_file() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), "ignoring unusable compiled plugin cache entry: {err}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store a compilation; failures are logged, never fatal (the cache is an optimisation).
    pub(crate) fn store(&self, digest: &str, component: &Component) {
        let path = self.path_for(digest);
        let result = (|| -> Result<(), String> {
            let bytes = component.serialize().map_err(|e| e.to_string())?;
            std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
            static WRITES: AtomicU64 = AtomicU64::new(0);
            let n = WRITES.fetch_add(1, Ordering::Relaxed);
            let tmp = self.dir.join(format!(".{digest}.{}.{n}.tmp", std::process::id()));
            std::fs::write(&tmp, &bytes).map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                e.to_string()
            })
        })();
        if let Err(err) = result {
            tracing::warn!(dir = %self.dir.display(), "cannot write the compiled plugin cache: {err}");
        }
    }
}

/// Load compiled code written by [`DiskCache::store`].
///
/// Wasmtime marks deserialization `unsafe` because the bytes are trusted to be its own output:
/// they are machine code. The file lives in the user's own cache directory, is named by the
/// component's sha256 and the engine's compatibility key, and wasmtime checks its header,
/// version and configuration before use: the same trust model as wasmtime's built-in cache.
#[expect(
    unsafe_code,
    reason = "loading compiled code this engine wrote to the user's cache directory"
)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: see the function docs: the file was produced by `Component::serialize` for an
    // engine with the same compatibility hash, and is written atomically.
    unsafe { Component::deserialize_file(engine, path) }
}

struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
