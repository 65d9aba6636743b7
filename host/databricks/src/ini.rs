//! A small INI reader with the semantics of Python's `configparser` as the Databricks SDKs use it
//! for `~/.databrickscfg`: `[section]` headers, `key = value` or `key: value`, full-line `#`/`;`
//! comments, keys lower-cased, values trimmed, indented continuation lines joined with `\n`,
//! duplicate sections or keys rejected. Errors carry the line number so the message can point at it.

/// One section: its name, the line it starts on and its key/value pairs in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub name: String,
    pub line: usize,
    pub entries: Vec<(String, String)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A syntax error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub message: String,
    pub text: String,
}

/// Parses INI text into its sections, in file order.
pub(crate) fn parse(text: &str) -> Result<Vec<Section>, SyntaxError> {
    let mut sections: Vec<Section> = Vec::new();
    // (section index, entry index) of the last key, for continuation lines.
    let mut last_key: Option<(usize, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let err = |message: String| SyntaxError {
            line: line_no,
            message,
            text: raw.to_owned(),
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            // configparser keeps empty lines inside multi-line values but strips trailing ones;
            // ending the value here gives the same result for every realistic file.
            last_key = None;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        if indented && let Some((s, e)) = last_key {
            let value = &mut sections[s].entries[e].1;
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(trimmed);
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(err("section header is missing its closing `]`".to_owned()));
            };
            let name = name.trim().to_owned();
            if sections.iter().any(|s| s.name == name) {
                return Err(err(format!(
                    "section `[{name}]` appears twice; merge the two sections"
                )));
            }
            sections.push(Section {
                name,
                line: line_no,
                entries: Vec::new(),
            });
            last_key = None;
            continue;
        }
        let Some(current) = sections.len().checked_sub(1) else {
            return Err(err(
                "key outside any section: put it under a `[profile]` header".to_owned()
            ));
        };
        let split = trimmed.find(['=', ':']);
        let Some(split) = split else {
            return Err(err("expected `key = value`".to_owned()));
        };
        let key = trimmed[..split].trim().to_lowercase();
        let value = trimmed[split + 1..].trim().to_owned();
        if key.is_empty() {
            return Err(err("empty key before `=`".to_owned()));
        }
        let section = &mut sections[current];
        if section.entries.iter().any(|(k, _)| *k == key) {
            return Err(err(format!(
                "key `{key}` appears twice in section `[{}]`",
                section.name
            )));
        }
        section.entries.push((key, value));
        last_key = Some((current, section.entries.len() - 1));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_sections_keys_comments_and_continuations() {
        let text = "# comment\n[DEFAULT]\nHost = https://a\n; other\n[dev]\ntoken: x\nscopes = a\n  b\n";
        let sections = parse(text).expect("valid ini");
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].name, "DEFAULT");
        assert_eq!(sections[0].get("host"), Some("https://a"));
        assert_eq!(sections[1].get("token"), Some("x"));
        assert_eq!(sections[1].get("scopes"), Some("a\nb"));
        assert_eq!(sections[1].line, 5);
    }

    #[test]
    fn rejects_keys_outside_sections_and_duplicates() {
        let err = parse("host = x\n").expect_err("no section");
        assert_eq!(err.line, 1);
        let err = parse("[a]\nx=1\n[a]\n").expect_err("duplicate section");
        assert_eq!(err.line, 3);
        let err = parse("[a]\nx=1\nX=2\n").expect_err("duplicate key");
        assert_eq!(err.line, 3);
        let err = parse("[a]\njunk\n").expect_err("no equals");
        assert!(err.message.contains("key = value"));
    }
}
