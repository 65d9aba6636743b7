//! Plugins embedded in the binary, built by `build.rs` from the `plugins/` workspace.

use crate::types::PluginKind;

struct Builtin {
    name: &'static str,
    kind: PluginKind,
    wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The component bytes of the built-in `name` of `kind`.
pub(crate) fn find(kind: PluginKind, name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|b| b.kind == kind && b.name == name)
        .map(|b| b.wasm)
}

/// The built-in `name` of any kind, with its kind.
pub(crate) fn find_any(name: &str) -> Option<(PluginKind, &'static [u8])> {
    BUILTINS.iter().find(|b| b.name == name).map(|b| (b.kind, b.wasm))
}

/// Names of the built-ins of `kind`, sorted.
pub(crate) fn names(kind: PluginKind) -> Vec<&'static str> {
    let mut names: Vec<_> = BUILTINS
        .iter()
        .filter(|b| b.kind == kind)
        .map(|b| b.name)
        .collect();
    names.sort_unstable();
    names
}

/// Every built-in plugin: (name, kind), sorted by kind then name.
pub fn builtins() -> Vec<(&'static str, PluginKind)> {
    let mut all: Vec<_> = BUILTINS.iter().map(|b| (b.name, b.kind)).collect();
    all.sort_unstable_by_key(|(name, kind)| (kind.as_str(), *name));
    all
}
