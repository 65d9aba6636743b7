//! Endpoint selectors shared by fault rules and rate limits.
//!
//! A selector is `[METHODS ]PATTERN`:
//!
//! * `METHODS` is optional: one method or several joined by `|` (`POST`, `PUT|PATCH`); absent
//!   means any method.
//! * `PATTERN` is `*` (every `/api/` path), a full path starting with `/` whose segments may be
//!   `*` (any one segment) or a final `**` (any rest, including nothing), e.g.
//!   `/api/2.2/jobs/create` or `/api/*/permissions/jobs/*`, or a suffix without a leading `/`
//!   that matches the last segments of any path, e.g. `jobs/create` (every API version) or
//!   `runs/get`.

use std::fmt;

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    text: String,
    methods: Option<Vec<String>>,
    pattern: Pattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// `*`: every `/api/` path.
    AnyApi,
    /// Starts with `/`: the whole path.
    Full(Vec<Segment>),
    /// No leading `/`: the trailing segments of the path.
    Suffix(Vec<Segment>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

/// Why a selector was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "endpoint selector is empty: use `*`, a path such as `/api/2.2/jobs/create` or a suffix such as `jobs/create`"
    )]
    Empty,
    #[error(
        "endpoint selector `{0}` has an invalid method: methods are upper-case words joined by `|`, e.g. `PUT|PATCH`"
    )]
    Method(String),
    #[error("endpoint selector `{0}` uses `**` other than as the last segment of a path starting with `/`")]
    Rest(String),
}

impl Endpoint {
    /// Parses `[METHODS ]PATTERN`.
    pub fn parse(text: &str) -> Result<Self, EndpointError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(EndpointError::Empty);
        }
        let (methods, pattern_text) = match trimmed.split_once(char::is_whitespace) {
            Some((methods, rest)) => {
                let methods: Vec<String> = methods.split('|').map(str::to_owned).collect();
                let valid = methods
                    .iter()
                    .all(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_uppercase()));
                if !valid {
                    return Err(EndpointError::Method(trimmed.to_owned()));
                }
                (Some(methods), rest.trim())
            }
            None => (None, trimmed),
        };
        let pattern = if pattern_text == "*" {
            Pattern::AnyApi
        } else {
            let full = pattern_text.starts_with('/');
            let segments: Vec<Segment> = pattern_text
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s {
                    "*" => Segment::One,
                    "**" => Segment::Rest,
                    literal => Segment::Literal(literal.to_owned()),
                })
                .collect();
            if segments.is_empty() {
                return Err(EndpointError::Empty);
            }
            let rest_misplaced = segments
                .iter()
                .enumerate()
                .any(|(i, s)| *s == Segment::Rest && (!full || i + 1 != segments.len()));
            if rest_misplaced {
                return Err(EndpointError::Rest(trimmed.to_owned()));
            }
            if full {
                Pattern::Full(segments)
            } else {
                Pattern::Suffix(segments)
            }
        };
        Ok(Self {
            text: trimmed.to_owned(),
            methods,
            pattern,
        })
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a request with this method and path (no query) is selected.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(methods) = &self.methods
            && !methods.iter().any(|m| m == method)
        {
            return false;
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match &self.pattern {
            Pattern::AnyApi => path.starts_with("/api/"),
            Pattern::Full(pattern) => match_full(pattern, &segments),
            Pattern::Suffix(pattern) => {
                segments.len() >= pattern.len()
                    && match_full(pattern, &segments[segments.len() - pattern.len()..])
            }
        }
    }

    /// Higher is more specific: a full path beats a suffix beats `*`; more literal segments and
    /// named methods break ties. Used to pick one rate-limit rule for a request.
    pub fn specificity(&self) -> u32 {
        let (kind, literals) = match &self.pattern {
            Pattern::AnyApi => (0, 0),
            Pattern::Suffix(s) => (1, literals(s)),
            Pattern::Full(s) => (2, literals(s)),
        };
        kind * 10_000 + literals * 10 + u32::from(self.methods.is_some())
    }
}

fn literals(segments: &[Segment]) -> u32 {
    segments
        .iter()
        .filter(|s| matches!(s, Segment::Literal(_)))
        .count() as u32
}

fn match_full(pattern: &[Segment], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(Segment::Rest), _) => true,
        (Some(Segment::One), Some(_)) => match_full(&pattern[1..], &path[1..]),
        (Some(Segment::Literal(lit)), Some(seg)) => lit == seg && match_full(&pattern[1..], &path[1..]),
        _ => false,
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(text: &str) -> Endpoint {
        Endpoint::parse(text).unwrap()
    }

    #[test]
    fn full_paths_match_exactly_with_wildcards() {
        assert!(ep("POST /api/2.2/jobs/create").matches("POST", "/api/2.2/jobs/create"));
        assert!(!ep("POST /api/2.2/jobs/create").matches("POST", "/api/2.1/jobs/create"));
        assert!(!ep("POST /api/2.2/jobs/create").matches("GET", "/api/2.2/jobs/create"));
        assert!(ep("/api/*/jobs/create").matches("GET", "/api/2.1/jobs/create"));
        assert!(ep("PUT|PATCH /api/*/permissions/**").matches("PATCH", "/api/2.0/permissions/jobs/12"));
        assert!(!ep("PUT|PATCH /api/*/permissions/**").matches("GET", "/api/2.0/permissions/jobs/12"));
        assert!(ep("/api/*/secrets/**").matches("GET", "/api/2.0/secrets/scopes/list"));
    }

    #[test]
    fn suffixes_match_any_version_and_star_only_api() {
        assert!(ep("jobs/create").matches("POST", "/api/2.0/jobs/create"));
        assert!(ep("jobs/create").matches("POST", "/api/2.2/jobs/create"));
        assert!(ep("runs/get").matches("GET", "/api/2.2/jobs/runs/get"));
        assert!(!ep("jobs/create").matches("POST", "/api/2.2/jobs/create/x"));
        assert!(ep("oidc/v1/token").matches("POST", "/oidc/v1/token"));
        assert!(ep("*").matches("GET", "/api/2.0/workspace/list"));
        assert!(!ep("*").matches("GET", "/oidc/v1/token"));
        assert!(ep("POST *").matches("POST", "/api/2.0/workspace/import"));
        assert!(!ep("POST *").matches("GET", "/api/2.0/workspace/list"));
    }

    #[test]
    fn rejects_bad_selectors_and_orders_by_specificity() {
        assert_eq!(Endpoint::parse("  "), Err(EndpointError::Empty));
        assert!(matches!(
            Endpoint::parse("post jobs/create"),
            Err(EndpointError::Method(_))
        ));
        assert!(matches!(Endpoint::parse("jobs/**"), Err(EndpointError::Rest(_))));
        assert!(matches!(
            Endpoint::parse("/api/**/x"),
            Err(EndpointError::Rest(_))
        ));
        assert!(ep("POST /api/2.2/jobs/create").specificity() > ep("POST jobs/create").specificity());
        assert!(ep("POST jobs/create").specificity() > ep("jobs/create").specificity());
        assert!(ep("jobs/create").specificity() > ep("*").specificity());
    }
}
