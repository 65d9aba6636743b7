//! Typed reading of positioned config nodes with findings for unknown fields and wrong types.

use crate::diagnostics::{Diagnostic, Diagnostics, code, did_you_mean};
use crate::node::{Entry, Node, NodeKind};
use crate::source::SourceMap;

/// Findings sink plus the sources their spans point into.
pub(crate) struct Ctx<'a> {
    pub sources: &'a SourceMap,
    pub diags: &'a mut Diagnostics,
}

impl Ctx<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Reports every key of `node` not in `known` as an unknown field of `what`.
    pub fn unknown_fields(&mut self, node: &Node, what: &str, known: &[&str]) {
        let Some(entries) = node.as_map() else { return };
        for e in entries {
            if known.contains(&e.key.as_str()) {
                continue;
            }
            let d = Diagnostic::warning(
                code::UNKNOWN_FIELD,
                format!("unknown field `{}` in {what}", e.key),
            )
            .at(self.sources, e.key_span);
            let d = match did_you_mean(&e.key, known.iter().copied()) {
                Some(s) => d.label(format!("did you mean `{s}`?")),
                None => d
                    .label("unknown field")
                    .help(format!("known fields: {}", known.join(", "))),
            };
            self.push(d);
        }
    }

    /// Reports that `node` (at `path`) should be `expected`.
    pub fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let d = Diagnostic::error(
            code::WRONG_TYPE,
            format!("`{path}` must be {expected}, found {}", node.type_name()),
        )
        .at(self.sources, node.span)
        .label(format!("expected {expected}"));
        let d = match (&node.kind, expected) {
            (NodeKind::Str(s), "a boolean")
                if matches!(s.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") =>
            {
                d.help("YAML 1.2 booleans are `true` and `false`")
            }
            (NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_), "a string") => {
                d.help("quote the value to make it a string")
            }
            _ => d,
        };
        self.push(d);
    }

    pub fn map<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &node.kind {
            NodeKind::Map(m) => Some(m),
            _ => {
                self.wrong_type(node, path, "a mapping");
                None
            }
        }
    }

    /// A mapping, treating `null` (an empty YAML value) as empty.
    pub fn map_or_null<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &node.kind {
            NodeKind::Null => Some(&[]),
            _ => self.map(node, path),
        }
    }

    pub fn str<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n str> {
        match &node.kind {
            NodeKind::Str(s) => Some(s),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.kind {
            NodeKind::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(node, path, "a boolean");
                None
            }
        }
    }

    pub fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(s) => Some(s),
            NodeKind::Null => Some(&[]),
            _ => {
                self.wrong_type(node, path, "a list");
                None
            }
        }
    }

    pub fn invalid(&mut self, node: &Node, message: String, label: &str, help: Option<String>) {
        self.push(
            Diagnostic::error(code::INVALID_VALUE, message)
                .at(self.sources, node.span)
                .label(label)
                .help_opt(help),
        );
    }
}

/// Parses a duration: an integer number of seconds, or units `d`, `h`, `m`, `s` combined
/// (`3h`, `1h30m`, `90s`). Returns seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = num.parse().ok()?;
        num.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !num.is_empty() {
        return None;
    }
    Some(total)
}

/// Reads a duration node (integer seconds or a duration string) at `path`.
pub(crate) fn duration(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<u64> {
    let secs = match &node.kind {
        NodeKind::Int(i) if *i >= 0 => u64::try_from(*i).ok(),
        NodeKind::Str(s) => parse_duration(s),
        NodeKind::Int(_) => None,
        _ => {
            ctx.wrong_type(node, path, "a duration");
            return None;
        }
    };
    match secs {
        Some(s) if s > 0 => Some(s),
        _ => {
            ctx.invalid(
                node,
                format!("`{path}` is not a positive duration"),
                "expected a duration such as `3h`, `90m` or a number of seconds",
                Some("combine units d, h, m and s, e.g. `1h30m`".to_string()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3h"), Some(10_800));
        assert_eq!(parse_duration("1h30m"), Some(5_400));
        assert_eq!(parse_duration("45s"), Some(45));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("600"), Some(600));
        assert_eq!(parse_duration("3x"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("3h5"), None);
        assert_eq!(parse_duration(""), None);
    }
}
