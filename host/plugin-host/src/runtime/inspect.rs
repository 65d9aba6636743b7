//! Looking at a component without running it: what it is, what it imports and exports, and
//! whether its compiled code is cached (`brickship plugin inspect`).

use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::{ALLOWED_IMPORTS, PluginRuntime};
use crate::builtins;
use crate::error::{Error, Result};
use crate::plugin_ref::{PluginRef, PluginSource};
use crate::types::PluginKind;

/// What [`PluginRuntime::inspect`] finds out about a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// Built-in name or file stem.
    pub name: String,
    /// `built-in`, or the file's path.
    pub source: String,
    /// sha256 (hex) of the component's bytes: what a pin must say.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size_bytes: u64,
    /// The kind its exports make it (`None`: it exports no brickship interface).
    pub kind: Option<PluginKind>,
    /// Every import, with whether the host provides it (`false`: loading will refuse it).
    pub imports: Vec<Import>,
    /// Every export.
    pub exports: Vec<String>,
    /// Whether compiled code for it was cached (in memory or on disk) before this inspection;
    /// inspecting compiles and caches it.
    pub cached: bool,
    /// The disk cache file for it, when the runtime caches on disk.
    pub cache_file: Option<PathBuf>,
}

/// One import of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    /// The import's full name, e.g. `wasi:io/streams@0.2.6`.
    pub name: String,
    /// False when it is outside the allow-list (no network, files or environment for plugins).
    pub allowed: bool,
}

impl PluginRuntime {
    /// Reads (and checks the pin of), compiles or loads from cache, and describes the
    /// component `plugin` names, without instantiating it. A built-in name is looked up among
    /// the built-ins of every kind.
    pub fn inspect(&self, plugin: &PluginRef) -> Result<Inspection> {
        let name = plugin.display_name();
        let (source, bytes): (String, std::borrow::Cow<'static, [u8]>) = match &plugin.source {
            PluginSource::BuiltIn(builtin) => {
                let (_, bytes) = builtins::find_any(builtin).ok_or_else(|| Error::NotFound {
                    kind: "built-in",
                    name: builtin.clone(),
                    remedy: format!(
                        "built-ins are: {}; or give a path to a `.wasm` component",
                        builtins::builtins()
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
                ("built-in".to_owned(), std::borrow::Cow::Borrowed(bytes))
            }
            PluginSource::Path(path) => {
                let bytes = std::fs::read(path).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        Error::NotFound {
                            kind: "plugin",
                            name: path.display().to_string(),
                            remedy: "no such file; check the path".into(),
                        }
                    } else {
                        Error::Load {
                            path: path.clone(),
                            source,
                        }
                    }
                })?;
                (path.display().to_string(), std::borrow::Cow::Owned(bytes))
            }
        };
        let digest = hex::encode(Sha256::digest(&bytes));
        if let Some(pinned) = &plugin.sha256
            && *pinned != digest
        {
            return Err(Error::DigestMismatch {
                plugin: name,
                expected: pinned.clone(),
                actual: digest,
            });
        }
        let shared = &self.shared;
        let in_memory = shared
            .components
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&digest);
        let cache_file = shared.cache.as_ref().map(|c| c.path_for(&digest));
        let cached = in_memory || cache_file.as_ref().is_some_and(|f| f.is_file());
        let component = self.component(&name, &digest, &bytes)?;
        let ty = component.component_type();
        let imports = ty
            .imports(&shared.engine)
            .map(|(n, _)| Import {
                name: n.to_owned(),
                allowed: ALLOWED_IMPORTS.iter().any(|a| n.starts_with(a)),
            })
            .collect();
        let exports: Vec<String> = ty.exports(&shared.engine).map(|(n, _)| n.to_owned()).collect();
        let kind = [PluginKind::Strategy, PluginKind::Gate, PluginKind::Notifier]
            .into_iter()
            .find(|k| {
                let prefix = format!("brickship:plugin/{k}@");
                exports.iter().any(|e| e.starts_with(&prefix))
            });
        Ok(Inspection {
            name,
            source,
            sha256: digest,
            size_bytes: bytes.len() as u64,
            kind,
            imports,
            exports,
            cached,
            cache_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspects_built_ins_and_reports_the_cache_state() {
        let dir = tempfile::tempdir().unwrap();
        let rt = PluginRuntime::builder()
            .cache_dir(dir.path())
            .manual_epoch()
            .build()
            .unwrap();
        let first = rt.inspect(&PluginRef::builtin("required-tags")).unwrap();
        assert_eq!(first.kind, Some(PluginKind::Gate));
        assert_eq!(first.source, "built-in");
        assert!(!first.cached, "nothing compiled yet");
        assert!(
            first
                .exports
                .iter()
                .any(|e| e.starts_with("brickship:plugin/gate@0.1.")),
            "{:?}",
            first.exports
        );
        assert!(first.imports.iter().all(|i| i.allowed), "{:?}", first.imports);
        assert!(
            first
                .imports
                .iter()
                .any(|i| i.name.starts_with("brickship:plugin/types@")),
            "{:?}",
            first.imports
        );
        assert_eq!(first.sha256.len(), 64);
        assert!(first.size_bytes > 1000);
        assert!(
            first.cache_file.as_ref().unwrap().is_file(),
            "inspecting compiled and cached it"
        );
        let again = PluginRuntime::builder()
            .cache_dir(dir.path())
            .manual_epoch()
            .build()
            .unwrap();
        assert!(
            again
                .inspect(&PluginRef::builtin("required-tags"))
                .unwrap()
                .cached
        );
        assert_eq!(
            rt.inspect(&PluginRef::builtin("slack")).unwrap().kind,
            Some(PluginKind::Notifier)
        );
        assert_eq!(
            rt.inspect(&PluginRef::builtin("direct")).unwrap().kind,
            Some(PluginKind::Strategy)
        );
    }

    #[test]
    fn pins_and_unknown_names_are_errors() {
        let rt = PluginRuntime::builder()
            .no_disk_cache()
            .manual_epoch()
            .build()
            .unwrap();
        let digest = rt.inspect(&PluginRef::builtin("naming")).unwrap().sha256;
        assert!(
            rt.inspect(&PluginRef::builtin("naming").pinned(&digest).unwrap())
                .is_ok()
        );
        let wrong = "0".repeat(64);
        let err = rt
            .inspect(&PluginRef::builtin("naming").pinned(&wrong).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        let err = rt.inspect(&PluginRef::builtin("no-such")).unwrap_err();
        assert!(err.to_string().contains("built-ins are:"), "{err}");
        let err = rt.inspect(&PluginRef::path("/nonexistent/x.wasm")).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
    }
}
