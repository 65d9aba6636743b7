//! Parse a plugin configuration (JSON text) into a serde type, reporting problems with JSON
//! pointers as `validate-config` wants them.

use serde::de::DeserializeOwned;

use crate::types::{ConfigProblem, PluginError};

/// A problem at `path` (a JSON pointer, "" for the whole document).
pub fn problem(path: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        path: path.into(),
        message: message.into(),
    }
}

/// Parse `config` into `T`. An empty or whitespace-only string means `{}`.
///
/// The error names the JSON pointer of the offending field (`/environments/prod/0`), from
/// `serde_path_to_error`.
pub fn parse<T: DeserializeOwned>(config: &str) -> Result<T, Vec<ConfigProblem>> {
    let text = if config.trim().is_empty() { "{}" } else { config };
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = pointer_of(err.path());
        let message = err.inner().to_string();
        vec![problem(path, strip_position(&message))]
    })
}

/// The `bad-config` error of a call other than `validate-config` whose configuration does not
/// parse, naming the first problem and where it is. (The host validated the configuration at
/// load, so this means the host and the plugin disagree; it is still an error, not a panic.)
pub fn refused(problems: Vec<ConfigProblem>) -> PluginError {
    let message = match problems.first() {
        Some(p) if p.path.is_empty() => format!("invalid configuration: {}", p.message),
        Some(p) => format!("invalid configuration at `{}`: {}", p.path, p.message),
        None => "invalid configuration".to_owned(),
    };
    PluginError::new("bad-config", message)
}

/// Turn a `serde_path_to_error` path into a JSON pointer.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape(key))),
            Segment::Enum { variant } => out.push_str(&format!("/{}", escape(variant))),
            Segment::Unknown => {}
        }
    }
    out
}

/// Escape one JSON pointer reference token (RFC 6901).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// serde_json appends " at line 1 column 12"; the pointer already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Config {
        tags: Vec<String>,
        #[serde(default)]
        per_environment: std::collections::BTreeMap<String, Vec<String>>,
    }

    #[test]
    fn reports_the_pointer_of_a_bad_field() {
        let problems =
            parse::<Config>(r#"{"tags": ["a"], "per_environment": {"prod": ["x", 3]}}"#).unwrap_err();
        assert_eq!(problems[0].path, "/per_environment/prod/1");
        assert!(
            problems[0].message.contains("invalid type"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_refused_configuration_is_a_bad_config_error_naming_the_first_problem() {
        let err = refused(vec![problem("/tags/0", "invalid type"), problem("", "second")]);
        assert_eq!(err.code, "bad-config");
        assert_eq!(err.message, "invalid configuration at `/tags/0`: invalid type");
        assert_eq!(
            refused(vec![problem("", "not JSON")]).message,
            "invalid configuration: not JSON"
        );
        assert_eq!(refused(Vec::new()).message, "invalid configuration");
    }

    #[test]
    fn reports_unknown_fields_and_empty_means_empty_object() {
        let problems = parse::<Config>(r#"{"tags": [], "tagz": 1}"#).unwrap_err();
        assert!(
            problems[0].message.contains("unknown field `tagz`"),
            "{}",
            problems[0].message
        );
        let problems = parse::<Config>("  ").unwrap_err();
        assert!(problems[0].message.contains("missing field `tags`"));
    }
}
