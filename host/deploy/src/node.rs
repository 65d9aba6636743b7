//! Positioned values: a YAML/JSON document as a tree of [`Node`]s that each carry the [`Span`]
//! of the text that produced them.
//!
//! Files are parsed with `saphyr-parser` (a YAML 1.2 event parser with spans); JSON is read by
//! the same parser, since JSON is YAML 1.2. Plain scalars are typed with the YAML 1.2 core
//! schema (`true`/`false`, `null`/`~`, integers, floats; `yes`/`no`/`on`/`off` stay strings);
//! quoted and block scalars are strings. Anchors and aliases are resolved; a duplicate key is
//! a finding (`E006`) and the first value is kept.
//!
//! After substitution and merging, [`Node::to_json`] turns the tree into a
//! [`serde_json::Value`] and a [`SpanMap`] from JSON pointer to source span.

use std::collections::{BTreeMap, HashMap};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YSpan};
use serde_json::{Map, Number, Value};

use crate::diagnostics::{Diagnostic, Diagnostics, code};
use crate::source::{FileId, Pos, SourceMap, Span};

/// A value with the span of the text that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: NodeKind,
    /// Where it came from.
    pub span: Span,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in file order.
    Map(Vec<Entry>),
}

/// A key/value pair of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Node {
    /// A node of `kind` at `span`.
    pub fn new(kind: NodeKind, span: Span) -> Self {
        Self { kind, span }
    }

    /// A string node.
    pub fn string(s: impl Into<String>, span: Span) -> Self {
        Self::new(NodeKind::Str(s.into()), span)
    }

    /// The type name used in findings: `a string`, `a mapping`...
    pub fn type_name(&self) -> &'static str {
        kind_name(&self.kind)
    }

    /// The entries when this is a mapping.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The entries when this is a mapping (mutable).
    pub fn as_map_mut(&mut self) -> Option<&mut Vec<Entry>> {
        match &mut self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items when this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The text when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry for `key` when this is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// The value for `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The value for `key` when this is a mapping (mutable).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|e| e.key == key)
            .map(|e| &mut e.value)
    }

    /// Converts to JSON without spans.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Number((*i).into()),
            NodeKind::Float(f) => Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => {
                let mut m = Map::new();
                for e in entries {
                    m.insert(e.key.clone(), e.value.to_value());
                }
                Value::Object(m)
            }
        }
    }

    /// Converts to JSON and records the span of every value (and key) by JSON pointer.
    pub fn to_json(&self) -> (Value, SpanMap) {
        let mut spans = SpanMap::default();
        let mut ptr = String::new();
        let v = self.to_json_at(&mut ptr, None, &mut spans);
        (v, spans)
    }

    fn to_json_at(&self, ptr: &mut String, key: Option<Span>, spans: &mut SpanMap) -> Value {
        spans.insert(
            ptr.clone(),
            SpanInfo {
                value: self.span,
                key,
            },
        );
        match &self.kind {
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&i.to_string());
                    out.push(item.to_json_at(ptr, None, spans));
                    ptr.truncate(len);
                }
                Value::Array(out)
            }
            NodeKind::Map(entries) => {
                let mut m = Map::new();
                for e in entries {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&escape_pointer(&e.key));
                    m.insert(e.key.clone(), e.value.to_json_at(ptr, Some(e.key_span), spans));
                    ptr.truncate(len);
                }
                Value::Object(m)
            }
            _ => self.to_value(),
        }
    }

    /// Builds a node tree from JSON, giving every node `span`.
    pub fn from_value(v: &Value, span: Span) -> Node {
        let kind = match v {
            Value::Null => NodeKind::Null,
            Value::Bool(b) => NodeKind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeKind::Int(i),
                None => NodeKind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => NodeKind::Str(s.clone()),
            Value::Array(a) => NodeKind::Seq(a.iter().map(|x| Node::from_value(x, span)).collect()),
            Value::Object(o) => NodeKind::Map(
                o.iter()
                    .map(|(k, x)| Entry {
                        key: k.clone(),
                        key_span: span,
                        value: Node::from_value(x, span),
                    })
                    .collect(),
            ),
        };
        Node::new(kind, span)
    }
}

/// The type name of a node kind, for findings.
pub fn kind_name(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Null => "null",
        NodeKind::Bool(_) => "a boolean",
        NodeKind::Int(_) => "an integer",
        NodeKind::Float(_) => "a number",
        NodeKind::Str(_) => "a string",
        NodeKind::Seq(_) => "a list",
        NodeKind::Map(_) => "a mapping",
    }
}

/// The type name of a JSON value, for findings.
pub fn value_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Escapes a key for a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer(key: &str) -> String {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1")
    } else {
        key.to_string()
    }
}

/// Where the value at a JSON pointer came from, and where its key is when it is a mapping value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanInfo {
    /// The value's span.
    pub value: Span,
    /// The key's span, for mapping values.
    pub key: Option<Span>,
}

/// JSON pointer (`/tasks/0/task_key`) → source span.
#[derive(Clone, Debug, Default)]
pub struct SpanMap {
    map: HashMap<String, SpanInfo>,
}

impl SpanMap {
    /// Records `info` for `pointer`.
    pub fn insert(&mut self, pointer: String, info: SpanInfo) {
        self.map.insert(pointer, info);
    }

    /// The spans recorded for exactly `pointer`.
    pub fn get(&self, pointer: &str) -> Option<SpanInfo> {
        self.map.get(pointer).copied()
    }

    /// The value span of `pointer`, or of its closest recorded ancestor.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        let mut p = pointer;
        loop {
            if let Some(info) = self.map.get(p) {
                return Some(info.value);
            }
            let idx = p.rfind('/')?;
            p = &p[..idx];
        }
    }

    /// The key span of `pointer` (falling back to its value span, then to an ancestor).
    pub fn key(&self, pointer: &str) -> Option<Span> {
        match self.map.get(pointer) {
            Some(info) => Some(info.key.unwrap_or(info.value)),
            None => self.value(pointer),
        }
    }

    /// Number of recorded pointers.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Moves every pointer under `from` to `to` (used to split the ACL out of the settings).
    pub fn extract_prefix(&mut self, from: &str) -> SpanMap {
        let keys: Vec<String> = self
            .map
            .keys()
            .filter(|k| *k == from || k.starts_with(&format!("{from}/")))
            .cloned()
            .collect();
        let mut out = SpanMap::default();
        for k in keys {
            if let Some(v) = self.map.remove(&k) {
                out.map.insert(k, v);
            }
        }
        out
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: SpanMap) {
        self.map.extend(other.map);
    }
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos::new(
        u32::try_from(m.line()).unwrap_or(u32::MAX),
        u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    )
}

fn span_of(file: FileId, s: &YSpan) -> Span {
    Span::new(file, pos(&s.start), pos(&s.end))
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<(String, Span)>,
        start: Span,
        anchor: usize,
    },
}

/// Parses the first document of `text` (file `file`) into a node tree. Syntax errors and
/// duplicate keys are pushed to `diags`; a syntax error returns `None`. An empty document is
/// a `Null` node.
pub fn parse(text: &str, file: FileId, sources: &SourceMap, diags: &mut Diagnostics) -> Option<Node> {
    let json = sources.get(file).is_some_and(|f| f.display.ends_with(".json"));
    if json && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let p = Pos::new(
            u32::try_from(e.line()).unwrap_or(1),
            u32::try_from(e.column()).unwrap_or(1).max(1),
        );
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        diags.push(
            Diagnostic::error(code::SYNTAX, format!("invalid JSON: {msg}"))
                .at(sources, Span::new(file, p, Pos::new(p.line, p.col + 1)))
                .label(msg),
        );
        return None;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let syntax = |e: ScanError, diags: &mut Diagnostics| {
        let p = pos(e.marker());
        let kind = if json { "JSON" } else { "YAML" };
        diags.push(
            Diagnostic::error(code::SYNTAX, format!("invalid {kind}: {}", e.info()))
                .at(sources, Span::new(file, p, Pos::new(p.line, p.col + 1)))
                .label(e.info().to_string()),
        );
    };
    while let Some(ev) = parser.next_event() {
        let (event, yspan) = match ev {
            Ok(x) => x,
            Err(e) => {
                syntax(e, diags);
                return None;
            }
        };
        let span = span_of(file, &yspan);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    diags.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            "invalid YAML: a file must hold exactly one document",
                        )
                        .at(sources, span)
                        .help("remove the second `---` document or move it to its own file"),
                    );
                    return None;
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Some((n.clone(), 0)),
                None => {
                    diags.push(
                        Diagnostic::error(code::SYNTAX, "invalid YAML: unknown alias").at(sources, span),
                    );
                    return None;
                }
            },
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| t.suffix.clone());
                let span = scalar_span(&lines, span, style, &value);
                Some((
                    Node::new(scalar_kind(&value, style, tag.as_deref()), span),
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    items: vec![],
                    start: span,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    entries: vec![],
                    key: None,
                    start: span,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, start, anchor }) => {
                    let end = items.last().map(|n| n.span.end).unwrap_or(span.end);
                    Some((
                        Node::new(NodeKind::Seq(items), Span::new(file, start.start, end)),
                        anchor,
                    ))
                }
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    start,
                    anchor,
                    ..
                }) => {
                    let end = entries.last().map(|e| e.value.span.end).unwrap_or(span.end);
                    Some((
                        Node::new(NodeKind::Map(entries), Span::new(file, start.start, end)),
                        anchor,
                    ))
                }
                _ => None,
            },
        };
        let Some((node, anchor)) = finished else { continue };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let k = match &node.kind {
                        NodeKind::Str(s) => s.clone(),
                        NodeKind::Int(i) => i.to_string(),
                        NodeKind::Bool(b) => b.to_string(),
                        NodeKind::Float(f) => f.to_string(),
                        NodeKind::Null => "null".to_string(),
                        NodeKind::Seq(_) | NodeKind::Map(_) => {
                            diags.push(
                                Diagnostic::error(code::SYNTAX, "invalid YAML: mapping keys must be strings")
                                    .at(sources, node.span),
                            );
                            return None;
                        }
                    };
                    *key = Some((k, node.span));
                }
                Some((k, key_span)) => {
                    if let Some(first) = entries.iter().find(|e| e.key == k) {
                        let first_line = first.key_span.start.line;
                        diags.push(
                            Diagnostic::error(code::DUPLICATE_KEY, format!("duplicate key `{k}`"))
                                .at(sources, key_span)
                                .label(format!("`{k}` is already set on line {first_line}"))
                                .help("remove one of the two entries; the first one is used"),
                        );
                    } else {
                        entries.push(Entry {
                            key: k,
                            key_span,
                            value: node,
                        });
                    }
                }
            },
        }
    }
    Some(root.unwrap_or_else(|| Node::new(NodeKind::Null, Span::point(file, Pos::new(1, 1)))))
}

/// The parser's scalar spans can run past the token (over trailing spaces and comments); narrow
/// single-line scalars to the token's own text.
fn scalar_span(lines: &[&str], span: Span, style: ScalarStyle, value: &str) -> Span {
    let Some(line) = lines.get(span.start.line.saturating_sub(1) as usize) else {
        return span;
    };
    let rest: Vec<char> = line
        .chars()
        .skip(span.start.col.saturating_sub(1) as usize)
        .collect();
    let len = match style {
        ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
            let quote = if style == ScalarStyle::DoubleQuoted {
                '"'
            } else {
                '\''
            };
            if rest.first() != Some(&quote) {
                return span;
            }
            let mut i = 1;
            let mut end = None;
            while i < rest.len() {
                let c = rest[i];
                if quote == '"' && c == '\\' {
                    i += 2;
                    continue;
                }
                if c == quote {
                    if quote == '\'' && rest.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    end = Some(i + 1);
                    break;
                }
                i += 1;
            }
            match end {
                Some(e) => e,
                None => return span,
            }
        }
        ScalarStyle::Plain => {
            let n = value.chars().count();
            if value.contains('\n') || rest.len() < n || !rest[..n].iter().copied().eq(value.chars()) {
                return span;
            }
            n
        }
        _ => return span,
    };
    let len = u32::try_from(len).unwrap_or(0);
    Span::new(
        span.file,
        span.start,
        Pos::new(span.start.line, span.start.col + len),
    )
}

/// The type a plain (unquoted) scalar `value` has under the YAML 1.2 core schema.
pub(crate) fn plain_scalar(value: &str) -> NodeKind {
    scalar_kind(value, ScalarStyle::Plain, None)
}

fn scalar_kind(value: &str, style: ScalarStyle, tag: Option<&str>) -> NodeKind {
    if let Some(tag) = tag {
        match tag {
            "str" => return NodeKind::Str(value.to_string()),
            "int" => {
                if let Some(i) = parse_int(value) {
                    return NodeKind::Int(i);
                }
            }
            "float" => {
                if let Some(f) = parse_float(value) {
                    return NodeKind::Float(f);
                }
            }
            "bool" => match value {
                "true" | "True" | "TRUE" => return NodeKind::Bool(true),
                "false" | "False" | "FALSE" => return NodeKind::Bool(false),
                _ => {}
            },
            "null" => return NodeKind::Null,
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return NodeKind::Str(value.to_string());
    }
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        _ => {}
    }
    if let Some(i) = parse_int(value) {
        return NodeKind::Int(i);
    }
    if let Some(f) = parse_float(value) {
        return NodeKind::Float(f);
    }
    NodeKind::Str(value.to_string())
}

fn parse_int(s: &str) -> Option<i64> {
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = {
        let (int, frac) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
            None => (mantissa, None),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        match frac {
            Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
            None => !int.is_empty() && digits(int),
        }
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        }
    };
    if mantissa_ok && exp_ok {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses `text` as a standalone document for tests and small inputs, with its own source map.
pub fn parse_str(text: &str) -> Result<Node, Diagnostics> {
    let mut sources = SourceMap::new();
    let id = sources.add("<input>", "<input>", text.to_string());
    let mut diags = Diagnostics::new(false);
    match parse(text, id, &sources, &mut diags) {
        Some(n) if !diags.has_errors() => Ok(n),
        _ => Err(diags),
    }
}

/// Collects the keys of a mapping node into a map (first occurrence wins).
pub fn map_entries(node: &Node) -> BTreeMap<&str, &Entry> {
    let mut out = BTreeMap::new();
    if let Some(entries) = node.as_map() {
        for e in entries {
            out.entry(e.key.as_str()).or_insert(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (Node, Diagnostics, SourceMap) {
        let mut sources = SourceMap::new();
        let id = sources.add("job.yaml", "job.yaml", text.to_string());
        let mut diags = Diagnostics::new(false);
        let node = parse(text, id, &sources, &mut diags)
            .unwrap_or_else(|| Node::new(NodeKind::Null, Span::default()));
        (node, diags, sources)
    }

    #[test]
    fn scalars_follow_the_yaml_1_2_core_schema() {
        let (n, d, _) =
            load("a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: yes\ng: '1'\nh: 0x1F\ni: 1e3\nj: \"x\"\nk:\n");
        assert!(d.is_empty());
        let v = n.to_value();
        assert_eq!(
            v,
            serde_json::json!({"a":1,"b":-2,"c":1.5,"d":true,"e":null,"f":"yes","g":"1","h":31,"i":1000.0,"j":"x","k":null})
        );
    }

    #[test]
    fn spans_point_at_scalars_and_keys() {
        let text = "tasks:\n  - task_key: ingest-bronz\n    timeout_seconds: 60\n";
        let (n, _, _) = load(text);
        let (_, spans) = n.to_json();
        let info = spans.get("/tasks/0/task_key").expect("span");
        assert_eq!(
            (info.value.start.line, info.value.start.col, info.value.end.col),
            (2, 15, 27)
        );
        let key = info.key.expect("key span");
        assert_eq!((key.start.line, key.start.col), (2, 5));
        let t = spans.get("/tasks/0/timeout_seconds").expect("span");
        assert_eq!((t.value.start.line, t.value.start.col), (3, 22));
    }

    #[test]
    fn quoted_scalars_span_includes_quotes() {
        let (n, _, _) = load("cron: \"0 0 2 * * ?\"  # daily\n");
        let (_, spans) = n.to_json();
        let info = spans.get("/cron").expect("span");
        assert_eq!((info.value.start.col, info.value.end.col), (7, 20));
    }

    #[test]
    fn plain_scalar_spans_stop_before_comments() {
        let (n, _, _) = load("timeout_seconds: 14400  # 4 hours\nname: 'it''s'  # c\n");
        let (_, spans) = n.to_json();
        let t = spans.get("/timeout_seconds").expect("span").value;
        assert_eq!((t.start.col, t.end.col), (18, 23));
        let q = spans.get("/name").expect("span").value;
        assert_eq!((q.start.col, q.end.col), (7, 14));
    }

    #[test]
    fn duplicate_keys_are_reported_and_first_wins() {
        let (n, d, _) = load("a: 1\nb: 2\na: 3\n");
        assert_eq!(
            n.get("a").and_then(|x| if let NodeKind::Int(i) = x.kind {
                Some(i)
            } else {
                None
            }),
            Some(1)
        );
        assert!(d.contains_code(code::DUPLICATE_KEY));
        let loc = d
            .iter()
            .next()
            .and_then(|x| x.location.clone())
            .expect("location");
        assert_eq!((loc.line, loc.column), (3, 1));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (_, d, _) = load("a: [1, 2\nb: 3\n");
        assert!(d.contains_code(code::SYNTAX));
        let first = d.iter().next().expect("finding");
        assert!(first.location.is_some());
    }

    #[test]
    fn aliases_resolve_to_the_anchor_value() {
        let (n, d, _) = load("base: &b {x: 1}\ncopy: *b\n");
        assert!(d.is_empty());
        assert_eq!(n.to_value()["copy"]["x"], 1);
    }

    #[test]
    fn json_documents_parse() {
        let mut sources = SourceMap::new();
        let text = "{\"name\": \"x\", \"tasks\": [{\"task_key\": \"a\", \"n\": 3}]}";
        let id = sources.add("job.json", "job.json", text.to_string());
        let mut diags = Diagnostics::new(false);
        let n = parse(text, id, &sources, &mut diags).expect("parsed");
        assert_eq!(n.to_value()["tasks"][0]["n"], 3);
        let bad = "{\"name\": \n }";
        let id = sources.add("bad.json", "bad.json", bad.to_string());
        assert!(parse(bad, id, &sources, &mut diags).is_none());
        let loc = diags
            .iter()
            .next()
            .and_then(|d| d.location.clone())
            .expect("location");
        assert_eq!(loc.line, 2);
    }

    #[test]
    fn empty_documents_are_null() {
        let (n, d, _) = load("");
        assert!(d.is_empty());
        assert_eq!(n.kind, NodeKind::Null);
    }

    #[test]
    fn multiple_documents_are_rejected() {
        let (_, d, _) = load("a: 1\n---\nb: 2\n");
        assert!(d.contains_code(code::SYNTAX));
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(escape_pointer("spark.conf/x~y"), "spark.conf~1x~0y");
        let (n, _, _) = load("spark_conf:\n  a/b: x\n");
        let (_, spans) = n.to_json();
        assert!(spans.get("/spark_conf/a~1b").is_some());
    }
}
