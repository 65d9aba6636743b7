//! `${...}` substitution in every string of a positioned tree.
//!
//! References:
//! - `${var.NAME}`: a project variable (top-level `variables`, then the environment's, then the
//!   `--config-file`'s, then `--var NAME=VALUE`; later layers win);
//! - `${env.NAME}`: a process environment variable (looked up through a function so tests stay
//!   hermetic); its value is always a string;
//! - `${environment}`, `${pipeline}`, `${project}`: the names being deployed;
//! - `$${` is a literal `${`.
//!
//! A string that is exactly one reference takes the referenced value with its type (a number
//! stays a number, a mapping a mapping); references inside a longer string must be scalars and
//! are spliced in as text. Variable values may themselves contain references; cycles are
//! reported. An unresolved reference is an `E009` finding pointing at the reference itself and
//! the string is left as written.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostics::{Diagnostic, Diagnostics, code, did_you_mean};
use crate::node::{Node, NodeKind};
use crate::source::{SourceMap, Span};

/// Looks up a process environment variable.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The real process environment, for [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A variable's value and where it was defined (for findings).
#[derive(Clone, Debug)]
pub struct VarDef {
    /// The value as written.
    pub node: Node,
}

/// Resolves references against variables, the environment and the built-in names.
pub struct Resolver<'a> {
    vars: BTreeMap<String, VarDef>,
    env: EnvLookup<'a>,
    builtins: BTreeMap<&'static str, String>,
    memo: HashMap<String, Option<Node>>,
    sources: &'a SourceMap,
    environment: String,
}

enum Part {
    Text(String),
    Ref { raw: String, inner: String },
}

fn split_refs(s: &str) -> Result<Vec<Part>, String> {
    let mut parts = vec![];
    let mut text = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(after_escape) = after.strip_prefix("$${") {
            text.push_str("${");
            rest = after_escape;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                return Err(after.to_string());
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Ref {
                raw: format!("${{{}}}", &body[..end]),
                inner: body[..end].to_string(),
            });
            rest = &body[end + 1..];
        } else {
            text.push('$');
            rest = &after[1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

/// True when `s` has an unescaped `${` reference.
pub fn has_reference(s: &str) -> bool {
    matches!(split_refs(s), Ok(parts) if parts.iter().any(|p| matches!(p, Part::Ref { .. })))
        || split_refs(s).is_err()
}

impl<'a> Resolver<'a> {
    /// A resolver for `environment` of `pipeline` in `project`.
    pub fn new(
        vars: BTreeMap<String, Node>,
        env: EnvLookup<'a>,
        project: &str,
        pipeline: &str,
        environment: &str,
        sources: &'a SourceMap,
    ) -> Self {
        let mut builtins = BTreeMap::new();
        builtins.insert("environment", environment.to_string());
        builtins.insert("pipeline", pipeline.to_string());
        builtins.insert("project", project.to_string());
        Self {
            vars: vars.into_iter().map(|(k, node)| (k, VarDef { node })).collect(),
            env,
            builtins,
            memo: HashMap::new(),
            sources,
            environment: environment.to_string(),
        }
    }

    /// Substitutes every reference in `node`, in place.
    pub fn substitute(&mut self, node: &mut Node, diags: &mut Diagnostics) {
        let mut stack = vec![];
        self.walk(node, &mut stack, diags);
    }

    /// The fully resolved value of every variable (for reports), skipping unresolvable ones.
    pub fn resolved_variables(&mut self, diags: &mut Diagnostics) -> BTreeMap<String, serde_json::Value> {
        let names: Vec<String> = self.vars.keys().cloned().collect();
        let mut out = BTreeMap::new();
        for name in names {
            let mut stack = vec![];
            if let Some(n) = self.var(&name, None, &mut stack, diags) {
                out.insert(name, n.to_value());
            }
        }
        out
    }

    fn walk(&mut self, node: &mut Node, stack: &mut Vec<String>, diags: &mut Diagnostics) {
        match &mut node.kind {
            NodeKind::Str(_) => self.substitute_string(node, stack, diags),
            NodeKind::Seq(items) => {
                for item in items {
                    self.walk(item, stack, diags);
                }
            }
            NodeKind::Map(entries) => {
                for e in entries {
                    self.walk(&mut e.value, stack, diags);
                }
            }
            _ => {}
        }
    }

    fn ref_span(&self, span: Span, raw: &str) -> Span {
        let Some(file) = self.sources.get(span.file) else {
            return span;
        };
        if span.start.line != span.end.line {
            return span;
        }
        let line = file.line(span.start.line);
        let start = span.start.col.saturating_sub(1) as usize;
        let chars: Vec<char> = line.chars().collect();
        let needle: Vec<char> = raw.chars().collect();
        if needle.is_empty() || start >= chars.len() {
            return span;
        }
        let limit = (span.end.col.saturating_sub(1) as usize).min(chars.len());
        (start..limit.saturating_sub(needle.len() - 1))
            .find(|&i| chars[i..].starts_with(&needle))
            .map(|i| {
                span.sub(
                    u32::try_from(i - start).unwrap_or(0),
                    u32::try_from(needle.len()).unwrap_or(0),
                )
            })
            .unwrap_or(span)
    }

    fn substitute_string(&mut self, node: &mut Node, stack: &mut Vec<String>, diags: &mut Diagnostics) {
        let NodeKind::Str(s) = &node.kind else { return };
        if !s.contains('$') {
            return;
        }
        let parts = match split_refs(s) {
            Ok(p) => p,
            Err(raw) => {
                let span = self.ref_span(node.span, &raw);
                diags.push(
                    Diagnostic::error(code::BAD_REFERENCE, "unterminated `${` reference")
                        .at(self.sources, span)
                        .label("missing `}`")
                        .help("close the reference with `}`, or write `$${` for a literal `${`"),
                );
                return;
            }
        };
        if let [Part::Ref { raw, inner }] = parts.as_slice() {
            let span = self.ref_span(node.span, raw);
            if let Some(value) = self.reference(inner, raw, span, stack, diags) {
                node.kind = value.kind;
            }
            return;
        }
        let mut out = String::new();
        let mut ok = true;
        for part in &parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Ref { raw, inner } => {
                    let span = self.ref_span(node.span, raw);
                    match self.reference(inner, raw, span, stack, diags) {
                        Some(v) => match &v.kind {
                            NodeKind::Str(x) => out.push_str(x),
                            NodeKind::Int(i) => out.push_str(&i.to_string()),
                            NodeKind::Float(f) => out.push_str(&f.to_string()),
                            NodeKind::Bool(b) => out.push_str(&b.to_string()),
                            other => {
                                diags.push(
                                    Diagnostic::error(
                                        code::WRONG_TYPE,
                                        format!(
                                            "`{raw}` is {} and cannot be used inside a longer string",
                                            crate::node::kind_name(other)
                                        ),
                                    )
                                    .at(self.sources, span)
                                    .label("not a scalar")
                                    .help("use the reference as the whole value, or give the variable a scalar value"),
                                );
                                ok = false;
                            }
                        },
                        None => ok = false,
                    }
                }
            }
        }
        if ok {
            node.kind = NodeKind::Str(out);
        }
    }

    fn reference(
        &mut self,
        inner: &str,
        raw: &str,
        span: Span,
        stack: &mut Vec<String>,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        if let Some(name) = inner.strip_prefix("var.") {
            if !crate::project::config::valid_variable_name(name) {
                diags.push(
                    Diagnostic::error(
                        code::BAD_REFERENCE,
                        format!("`{raw}` is not a valid variable reference"),
                    )
                    .at(self.sources, span)
                    .label("expected `${var.NAME}`")
                    .help("variable names use letters, digits, `_` and `-`, starting with a letter or `_`"),
                );
                return None;
            }
            return self.var(name, Some(span), stack, diags);
        }
        if let Some(name) = inner.strip_prefix("env.") {
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                diags.push(
                    Diagnostic::error(
                        code::BAD_REFERENCE,
                        format!("`{raw}` is not a valid environment variable name"),
                    )
                    .at(self.sources, span)
                    .label("invalid name"),
                );
                return None;
            }
            return match (self.env)(name) {
                Some(v) => Some(Node::string(v, span)),
                None => {
                    diags.push(
                        Diagnostic::error(code::UNRESOLVED_VARIABLE, format!("environment variable `{name}` is not set"))
                            .at(self.sources, span)
                            .label(format!("`{name}` is not set in the environment of this deploy"))
                            .help(format!(
                                "export `{name}` before deploying, or use `${{var.NAME}}` with a value per environment"
                            )),
                    );
                    None
                }
            };
        }
        if let Some(v) = self.builtins.get(inner) {
            return Some(Node::string(v.clone(), span));
        }
        let suggestion = did_you_mean(inner, ["environment", "pipeline", "project"]);
        let help = match suggestion {
            Some(s) => format!("did you mean `${{{s}}}`? references are `${{var.NAME}}`, `${{env.NAME}}`, `${{environment}}`, `${{pipeline}}` and `${{project}}`"),
            None => "references are `${var.NAME}`, `${env.NAME}`, `${environment}`, `${pipeline}` and `${project}`; write `$${` for a literal `${`".to_string(),
        };
        diags.push(
            Diagnostic::error(code::BAD_REFERENCE, format!("unknown reference `{raw}`"))
                .at(self.sources, span)
                .label("not a known reference")
                .help(help),
        );
        None
    }

    fn var(
        &mut self,
        name: &str,
        span: Option<Span>,
        stack: &mut Vec<String>,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        if let Some(done) = self.memo.get(name) {
            return done.clone();
        }
        if let Some(pos) = stack.iter().position(|s| s == name) {
            let mut cycle: Vec<&str> = stack[pos..].iter().map(String::as_str).collect();
            cycle.push(name);
            diags.push(
                Diagnostic::error(
                    code::BAD_REFERENCE,
                    format!("variables refer to each other in a cycle: {}", cycle.join(" -> ")),
                )
                .at_opt(self.sources, span)
                .label("this reference closes the cycle")
                .help("give one of these variables a value that does not refer back"),
            );
            return None;
        }
        let Some(def) = self.vars.get(name).cloned() else {
            let known: Vec<&str> = self.vars.keys().map(String::as_str).collect();
            let d = Diagnostic::error(
                code::UNRESOLVED_VARIABLE,
                format!("variable `{name}` is not defined"),
            )
            .at_opt(self.sources, span);
            let d = match did_you_mean(name, known.iter().copied()) {
                Some(s) => d.label(format!("did you mean `${{var.{s}}}`?")),
                None => d.label(format!("no value for environment `{}`", self.environment)),
            };
            diags.push(d.help(format!(
                "define `{name}` under `variables:` in brickship.yaml (all environments) or under `environments.{}.variables`, \
                 in the --config-file `variables:`, or pass `--var {name}=VALUE`",
                self.environment
            )));
            return None;
        };
        stack.push(name.to_string());
        let mut node = def.node.clone();
        let before = diags.error_count();
        self.walk(&mut node, stack, diags);
        stack.pop();
        let result = if diags.error_count() > before {
            None
        } else {
            Some(node)
        };
        // Only memoise at the top of a resolution chain, so a cycle reported inside is not cached.
        if stack.is_empty() {
            self.memo.insert(name.to_string(), result.clone());
        }
        result.map(|mut n| {
            if let Some(span) = span {
                n.span = span;
            }
            n
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse;
    use serde_json::json;

    struct Fixture {
        sources: SourceMap,
        vars: BTreeMap<String, Node>,
    }

    fn fixture(vars_yaml: &str) -> (Fixture, Diagnostics) {
        let mut sources = SourceMap::new();
        let mut diags = Diagnostics::new(false);
        let id = sources.add("brickship.yaml", "brickship.yaml", vars_yaml.to_string());
        let node = parse(vars_yaml, id, &sources, &mut diags).expect("vars");
        let vars = node
            .as_map()
            .map(|m| m.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
            .unwrap_or_default();
        (Fixture { sources, vars }, diags)
    }

    fn run(
        vars_yaml: &str,
        doc: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (serde_json::Value, Diagnostics) {
        let (mut fx, mut diags) = fixture(vars_yaml);
        let id = fx.sources.add("job.yaml", "job.yaml", doc.to_string());
        let mut node = parse(doc, id, &fx.sources, &mut diags).expect("doc");
        let mut r = Resolver::new(
            std::mem::take(&mut fx.vars),
            env,
            "proj",
            "pipe",
            "dev",
            &fx.sources,
        );
        r.substitute(&mut node, &mut diags);
        (node.to_value(), diags)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn whole_string_references_keep_their_type() {
        let (v, d) = run(
            "t: 3600\nflag: true\ncfg: {a: 1}\n",
            "a: ${var.t}\nb: ${var.flag}\nc: ${var.cfg}\n",
            &no_env,
        );
        assert!(d.is_empty(), "{}", d.render(false));
        assert_eq!(v, json!({"a": 3600, "b": true, "c": {"a": 1}}));
    }

    #[test]
    fn partial_references_splice_text() {
        let env = |n: &str| (n == "USER").then(|| "ann".to_string());
        let (v, d) = run(
            "cat: main\nn: 2\n",
            "name: job-${environment}-${var.cat}-${var.n}-${env.USER}-${pipeline}-${project}\nlit: $${var.cat}\nprice: $5\n",
            &env,
        );
        assert!(d.is_empty(), "{}", d.render(false));
        assert_eq!(v["name"], "job-dev-main-2-ann-pipe-proj");
        assert_eq!(v["lit"], "${var.cat}");
        assert_eq!(v["price"], "$5");
    }

    #[test]
    fn variables_may_refer_to_variables() {
        let (v, d) = run("a: ${var.b}-x\nb: ${environment}\n", "x: ${var.a}\n", &no_env);
        assert!(d.is_empty(), "{}", d.render(false));
        assert_eq!(v["x"], "dev-x");
    }

    #[test]
    fn unresolved_variables_point_at_the_reference() {
        let (v, d) = run("catalog: x\n", "name: \"job-${var.catalg}\"\n", &no_env);
        assert_eq!(v["name"], "job-${var.catalg}");
        let diag = d.iter().next().expect("finding");
        assert_eq!(diag.code, code::UNRESOLVED_VARIABLE);
        assert_eq!(diag.label.as_deref(), Some("did you mean `${var.catalog}`?"));
        let loc = diag.location.as_ref().expect("location");
        assert_eq!((loc.line, loc.column, loc.end_column), (1, 12, 25));
    }

    #[test]
    fn cycles_are_reported() {
        let (_, d) = run("a: ${var.b}\nb: ${var.a}\n", "x: ${var.a}\n", &no_env);
        assert!(
            d.iter().any(|x| x.message.contains("a -> b -> a")),
            "{}",
            d.render(false)
        );
    }

    #[test]
    fn bad_references() {
        let (_, d) = run(
            "",
            "a: ${foo}\nb: ${var.x\nc: ${env.1X}\nd: ${enviroment}\ne: ${var.}\n",
            &no_env,
        );
        assert_eq!(
            d.iter().filter(|x| x.code == code::BAD_REFERENCE).count(),
            5,
            "{}",
            d.render(false)
        );
        assert!(d.iter().any(|x| {
            x.help
                .as_deref()
                .is_some_and(|h| h.contains("did you mean `${environment}`"))
        }));
    }

    #[test]
    fn unset_environment_variables() {
        let (_, d) = run("", "a: ${env.NOPE}\n", &no_env);
        assert!(
            d.iter()
                .any(|x| x.code == code::UNRESOLVED_VARIABLE && x.message.contains("`NOPE`"))
        );
    }

    #[test]
    fn structured_values_cannot_be_spliced() {
        let (_, d) = run("m: {a: 1}\n", "a: x-${var.m}\n", &no_env);
        assert!(d.contains_code(code::WRONG_TYPE));
    }

    #[test]
    fn has_reference_detects_refs() {
        assert!(has_reference("a ${var.x}"));
        assert!(!has_reference("a $${var.x}"));
        assert!(!has_reference("plain"));
    }
}
