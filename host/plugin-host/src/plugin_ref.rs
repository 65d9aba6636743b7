//! How a project names a plugin: a built-in name or a path to a `.wasm` component, optionally
//! pinned by sha256.
//!
//! Grammar: `<name-or-path>[@sha256:<64 hex digits>]`. A reference is a path when it contains
//! `/` or `\` or ends with `.wasm`; otherwise it is a built-in name (`direct`, `slack`,
//! `required-tags`: lowercase letters, digits and `-`). Examples: `direct`,
//! `./plugins/my-gate.wasm`, `plugins/canary.wasm@sha256:9f86d0…`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a plugin's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PluginSource {
    /// A plugin embedded in the brickship binary.
    BuiltIn(String),
    /// A component file.
    Path(PathBuf),
}

/// A parsed plugin reference. Serialises as its string form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginRef {
    /// Where the bytes come from.
    pub source: PluginSource,
    /// The pinned sha256 (lowercase hex), when pinned.
    pub sha256: Option<String>,
}

impl PluginRef {
    /// A reference to the built-in `name`, unpinned.
    pub fn builtin(name: &str) -> Self {
        PluginRef {
            source: PluginSource::BuiltIn(name.to_owned()),
            sha256: None,
        }
    }

    /// A reference to the component at `path`, unpinned.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        PluginRef {
            source: PluginSource::Path(path.into()),
            sha256: None,
        }
    }

    /// The same reference pinned to `sha256` (64 hex digits, any case).
    pub fn pinned(mut self, sha256: &str) -> Result<Self> {
        self.sha256 = Some(parse_digest(sha256, &self.to_string())?);
        Ok(self)
    }

    /// A relative path resolved against `base` (the project directory); built-ins and
    /// absolute paths are returned unchanged.
    pub fn resolve_against(&self, base: &Path) -> Self {
        match &self.source {
            PluginSource::Path(p) if p.is_relative() => PluginRef {
                source: PluginSource::Path(base.join(p)),
                sha256: self.sha256.clone(),
            },
            _ => self.clone(),
        }
    }

    /// A short name for logs and errors: the built-in name or the file stem.
    pub fn display_name(&self) -> String {
        match &self.source {
            PluginSource::BuiltIn(name) => name.clone(),
            PluginSource::Path(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
        }
    }
}

fn parse_digest(hex_digits: &str, input: &str) -> Result<String> {
    let bad = |reason: &str| Error::BadRef {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    if hex_digits.len() != 64 {
        return Err(bad(&format!(
            "a sha256 pin has 64 hex digits, this one has {}; copy it from `sha256sum <file>`",
            hex_digits.len()
        )));
    }
    if !hex_digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("a sha256 pin has only hex digits (0-9, a-f)"));
    }
    Ok(hex_digits.to_ascii_lowercase())
}

impl FromStr for PluginRef {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadRef {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(bad(
                "it is empty; name a built-in (e.g. `direct`) or a `.wasm` file",
            ));
        }
        let (location, sha256) = match trimmed.rsplit_once("@sha256:") {
            Some((location, digest)) => (location, Some(parse_digest(digest, input)?)),
            None => {
                if let Some((_, algo)) = trimmed.rsplit_once('@').filter(|(_, a)| a.contains(':')) {
                    return Err(bad(&format!(
                        "only sha256 pins are supported, not `{algo}`; write `@sha256:<64 hex digits>`"
                    )));
                }
                (trimmed, None)
            }
        };
        if location.is_empty() {
            return Err(bad("nothing before the pin; name a built-in or a `.wasm` file"));
        }
        let is_path = location.contains('/') || location.contains('\\') || location.ends_with(".wasm");
        let source = if is_path {
            PluginSource::Path(PathBuf::from(location))
        } else {
            if !location
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(bad(
                    "a built-in name has only lowercase letters, digits and `-`; for a file, give a path ending in `.wasm`",
                ));
            }
            PluginSource::BuiltIn(location.to_owned())
        };
        Ok(PluginRef { source, sha256 })
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            PluginSource::BuiltIn(name) => f.write_str(name)?,
            PluginSource::Path(p) => write!(f, "{}", p.display())?,
        }
        if let Some(d) = &self.sha256 {
            write!(f, "@sha256:{d}")?;
        }
        Ok(())
    }
}

impl Serialize for PluginRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PluginRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn parses_builtins_paths_and_pins() {
        assert_eq!(
            "direct".parse::<PluginRef>().unwrap(),
            PluginRef::builtin("direct")
        );
        assert_eq!(
            "gate.wasm".parse::<PluginRef>().unwrap(),
            PluginRef::path("gate.wasm")
        );
        let r: PluginRef = format!("./plugins/canary.wasm@sha256:{}", D.to_uppercase())
            .parse()
            .unwrap();
        assert_eq!(r.source, PluginSource::Path("./plugins/canary.wasm".into()));
        assert_eq!(r.sha256.as_deref(), Some(D));
        assert_eq!(r.to_string(), format!("./plugins/canary.wasm@sha256:{D}"));
        assert_eq!(r.display_name(), "canary");
        let pinned: PluginRef = format!("slack@sha256:{D}").parse().unwrap();
        assert_eq!(pinned, PluginRef::builtin("slack").pinned(D).unwrap());
    }

    #[test]
    fn explains_what_is_wrong() {
        let msg = |s: &str| s.parse::<PluginRef>().unwrap_err().to_string();
        assert!(msg("").contains("it is empty"), "{}", msg(""));
        assert!(msg("direct@sha256:abc").contains("64 hex digits, this one has 3"));
        assert!(msg(&format!("direct@sha256:{}", "z".repeat(64))).contains("only hex digits"));
        assert!(msg("x.wasm@md5:abc").contains("only sha256 pins"));
        assert!(msg("Direct").contains("lowercase letters"));
    }

    #[test]
    fn serde_round_trips_through_the_string_form() {
        let r: PluginRef = format!("a/b.wasm@sha256:{D}").parse().unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"a/b.wasm@sha256:{D}\""));
        assert_eq!(serde_json::from_str::<PluginRef>(&json).unwrap(), r);
        assert!(serde_json::from_str::<PluginRef>("\"Bad Name\"").is_err());
    }

    #[test]
    fn resolves_relative_paths_only() {
        let base = Path::new("/project");
        assert_eq!(
            PluginRef::path("p/x.wasm").resolve_against(base),
            PluginRef::path("/project/p/x.wasm")
        );
        assert_eq!(
            PluginRef::path("/abs/x.wasm").resolve_against(base),
            PluginRef::path("/abs/x.wasm")
        );
        assert_eq!(
            PluginRef::builtin("direct").resolve_against(base),
            PluginRef::builtin("direct")
        );
    }
}
