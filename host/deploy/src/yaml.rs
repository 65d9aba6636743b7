//! A small block-style YAML writer for JSON values (monitoring files, plan output).
//!
//! Strings are written plain when that reads back as the same string under the YAML 1.2 core
//! schema, as literal blocks (`|`) when they span lines, and double-quoted otherwise.

use serde_json::Value;

/// Writes `v` as a YAML document (ends with a newline).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// A value on one line: flow style for collections, quoting as needed for strings.
pub fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s),
        Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", scalar_string(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    if !matches!(crate::node::plain_scalar(s), crate::node::NodeKind::Str(_)) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
}

fn scalar_string(s: &str) -> String {
    if needs_quotes(s) {
        Value::String(s.to_string()).to_string()
    } else {
        s.to_string()
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        Value::String(s) if s.contains('\n') => {
            let body = s.strip_suffix('\n').unwrap_or(s);
            let chomp = if s.ends_with('\n') { "" } else { "-" };
            let indicator = if body.starts_with(' ') { "2" } else { "" };
            out.push_str(&format!(" |{indicator}{chomp}\n"));
            for line in body.split('\n') {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_string(k));
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for item in a {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                let mut first = true;
                for (k, v) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&scalar_string(k));
                    out.push(':');
                    write_value_after_key(out, v, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            other => write_value_after_key(out, other, indent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_the_parser() {
        let v = json!({
            "name": "customer-360",
            "n": 3,
            "f": 1.5,
            "flag": true,
            "none": null,
            "looks_like_number": "123",
            "looks_like_bool": "true",
            "colon": "a: b",
            "hash": "x #y",
            "dash": "-x",
            "empty": "",
            "query": "SELECT 1\nFROM t\n",
            "no_newline": "a\nb",
            "list": [1, "two", {"k": "v", "k2": [3]}, [4, 5], {}],
            "nested": {"a": {"b": []}},
            "key with: colon": 1,
        });
        let text = to_yaml(&v);
        let back = crate::node::parse_str(&text).expect("parses").to_value();
        assert_eq!(back, v, "{text}");
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let text = to_yaml(&json!({"q": "SELECT 1\nFROM t\n"}));
        assert_eq!(text, "q: |\n  SELECT 1\n  FROM t\n");
    }

    #[test]
    fn inline_is_flow_style() {
        assert_eq!(
            inline(&json!({"a": [1, "x y"], "b": "1"})),
            "{a: [1, x y], b: \"1\"}"
        );
    }
}
