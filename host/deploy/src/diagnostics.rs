//! Findings about a project: what is wrong, where, and how to fix it.
//!
//! Loading and validation never stop at the first problem: every check runs and pushes a
//! [`Diagnostic`] into a [`Diagnostics`] list. Each finding has a stable code (see [`code`]), a
//! severity, a lowercase message with the subject in backticks, an optional source
//! [`Location`] (path relative to the project root, 1-based line and column, and the text of
//! the line for a caret excerpt), a label printed after the carets and an optional help line.
//!
//! [`Diagnostics::render`] prints them the way rustc does:
//!
//! ```text
//! error[E012]: task `process-silver` depends on `ingest-bronz`, which is not a task in this job
//!   --> pipelines/customer-360-pipeline/job.yaml:68:19
//!    |
//! 68 |       - task_key: ingest-bronz
//!    |                   ^^^^^^^^^^^^ did you mean `ingest-bronze`?
//! ```
//!
//! and [`Diagnostics::to_json`] gives the same data for `--output json`.
//!
//! Under `strict`, unknown-field findings (code `W001`) are errors instead of warnings; every
//! other finding keeps its severity.

use std::fmt::Write as _;

use serde::Serialize;

use crate::source::{SourceMap, Span};

/// Stable finding codes. `E` codes are errors, `W` codes warnings (unknown fields become errors
/// under `strict` but keep their code).
pub mod code {
    /// YAML or JSON syntax error.
    pub const SYNTAX: &str = "E001";
    /// A project file could not be read.
    pub const READ: &str = "E002";
    /// The directory is not a brickship project (no `brickship.yaml`).
    pub const NOT_A_PROJECT: &str = "E003";
    /// The environment is not defined in `brickship.yaml`.
    pub const UNKNOWN_ENVIRONMENT: &str = "E004";
    /// The pipeline directory or its `job.yaml` does not exist.
    pub const UNKNOWN_PIPELINE: &str = "E005";
    /// A mapping has the same key twice.
    pub const DUPLICATE_KEY: &str = "E006";
    /// A value has the wrong type.
    pub const WRONG_TYPE: &str = "E007";
    /// A value is not one of the allowed values or is malformed.
    pub const INVALID_VALUE: &str = "E008";
    /// A `${...}` reference cannot be resolved.
    pub const UNRESOLVED_VARIABLE: &str = "E009";
    /// A `${...}` reference is malformed or variables refer to each other in a cycle.
    pub const BAD_REFERENCE: &str = "E010";
    /// A required field is missing.
    pub const MISSING_FIELD: &str = "E011";
    /// `depends_on` names a task that does not exist.
    pub const UNKNOWN_DEPENDENCY: &str = "E012";
    /// The task graph has a cycle.
    pub const DEPENDENCY_CYCLE: &str = "E013";
    /// Two tasks share a `task_key`, or two job clusters a `job_cluster_key`.
    pub const DUPLICATE_KEY_VALUE: &str = "E014";
    /// A task has no task type or more than one.
    pub const TASK_TYPE: &str = "E015";
    /// `job_cluster_key` names a job cluster that is not defined.
    pub const UNKNOWN_JOB_CLUSTER: &str = "E016";
    /// Invalid Quartz cron expression.
    pub const CRON: &str = "E017";
    /// Unknown timezone id.
    pub const TIMEZONE: &str = "E018";
    /// Invalid email address.
    pub const EMAIL: &str = "E019";
    /// A number is out of its allowed range.
    pub const OUT_OF_RANGE: &str = "E020";
    /// A Jobs API limit is exceeded (count or length).
    pub const LIMIT: &str = "E021";
    /// A key (task_key, job_cluster_key, parameter name...) has a bad pattern or length.
    pub const BAD_KEY: &str = "E022";
    /// More than one of `schedule`, `trigger`, `continuous`.
    pub const TRIGGER_CONFLICT: &str = "E023";
    /// The access control list does not have exactly one valid owner.
    pub const ACL_OWNER: &str = "E024";
    /// An access control entry is malformed.
    pub const ACL_ENTRY: &str = "E025";
    /// A task uses more than one kind of compute.
    pub const COMPUTE_CONFLICT: &str = "E026";
    /// A notebook or file the job references does not exist in the workspace.
    pub const WORKSPACE_PATH: &str = "E027";
    /// A node type does not exist in the workspace.
    pub const NODE_TYPE: &str = "E028";
    /// A Spark version does not exist in the workspace.
    pub const SPARK_VERSION: &str = "E029";
    /// A secret scope does not exist in the workspace.
    pub const SECRET_SCOPE: &str = "E030";
    /// A `sync` source folder does not exist.
    pub const SYNC_SOURCE: &str = "E031";
    /// A field not known at this level (warning; error under strict).
    pub const UNKNOWN_FIELD: &str = "W001";
    /// A job cluster no task uses.
    pub const UNUSED_JOB_CLUSTER: &str = "W002";
    /// `autoscale` and `num_workers` are both set.
    pub const AUTOSCALE_AND_NUM_WORKERS: &str = "W003";
    /// A workspace check could not run.
    pub const PROBE_FAILED: &str = "W004";
    /// A deprecated or discouraged value.
    pub const DEPRECATED: &str = "W005";
    /// Configuration for an environment that `brickship.yaml` does not define.
    pub const UNKNOWN_ENVIRONMENT_CONFIG: &str = "W006";
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the deploy.
    Error,
    /// Reported, does not block.
    Warning,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Where a finding points: a file relative to the project root, 1-based line and column
/// (characters), the end of the range, and the text of the first line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Path relative to the project root, `/`-separated.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
    /// Line of the end of the range.
    pub end_line: u32,
    /// Exclusive end column of the range.
    pub end_column: u32,
    /// The text of `line`.
    pub source_line: String,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `E012` (see [`code`]).
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong: lowercase, subject in backticks.
    pub message: String,
    /// Where, when the finding comes from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Text printed after the carets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Further context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A new finding without a location.
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            code,
            severity,
            message: message.into(),
            location: None,
            label: None,
            help: None,
            notes: vec![],
        }
    }

    /// A new error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }

    /// A new warning.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }

    /// Points the finding at `span`.
    pub fn at(mut self, sources: &SourceMap, span: Span) -> Self {
        self.location = Some(sources.locate(span));
        self
    }

    /// Points the finding at `span` when there is one.
    pub fn at_opt(self, sources: &SourceMap, span: Option<Span>) -> Self {
        match span {
            Some(span) => self.at(sources, span),
            None => self,
        }
    }

    /// Sets the label printed after the carets.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line when there is one.
    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The findings of one load/validate pass.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    strict: bool,
}

impl Diagnostics {
    /// An empty list; `strict` turns unknown-field warnings into errors.
    pub fn new(strict: bool) -> Self {
        Self {
            items: vec![],
            strict,
        }
    }

    /// Whether unknown fields are errors.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Adds a finding. Unknown-field warnings become errors under strict.
    pub fn push(&mut self, mut d: Diagnostic) {
        if self.strict && d.code == code::UNKNOWN_FIELD {
            d.severity = Severity::Error;
        }
        if !self.items.contains(&d) {
            self.items.push(d);
        }
    }

    /// Adds every finding of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        for d in other.items {
            self.push(d);
        }
    }

    /// The findings in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Number of findings.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no findings.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// True when some finding has `code`.
    pub fn contains_code(&self, code: &str) -> bool {
        self.items.iter().any(|d| d.code == code)
    }

    /// Findings sorted for display: those without a location first (in the order found), then
    /// by file, line and column.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut v: Vec<&Diagnostic> = self.items.iter().collect();
        v.sort_by(|a, b| {
            let ka = a.location.as_ref().map(|l| (l.file.as_str(), l.line, l.column));
            let kb = b.location.as_ref().map(|l| (l.file.as_str(), l.line, l.column));
            ka.cmp(&kb)
        });
        v
    }

    /// `2 errors, 1 warning` (or `no problems found`).
    pub fn summary(&self) -> String {
        let (e, w) = (self.error_count(), self.warning_count());
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        match (e, w) {
            (0, 0) => "no problems found".to_string(),
            (e, 0) => plural(e, "error"),
            (0, w) => plural(w, "warning"),
            (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
        }
    }

    /// Renders every finding like rustc, with ANSI colours when `color` is set.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in self.sorted() {
            render_one(&mut out, d, color);
            out.push('\n');
        }
        out
    }

    /// The findings as JSON: `{"diagnostics": [...], "errors": n, "warnings": n}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "diagnostics": self.sorted(),
            "errors": self.error_count(),
            "warnings": self.warning_count(),
        })
    }

    /// Consumes the list into its findings.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

struct Palette {
    sev: &'static str,
    blue: &'static str,
    bold: &'static str,
    reset: &'static str,
}

fn render_one(out: &mut String, d: &Diagnostic, color: bool) {
    let p = if color {
        Palette {
            sev: if d.is_error() { "\x1b[1;31m" } else { "\x1b[1;33m" },
            blue: "\x1b[1;34m",
            bold: "\x1b[1m",
            reset: "\x1b[0m",
        }
    } else {
        Palette {
            sev: "",
            blue: "",
            bold: "",
            reset: "",
        }
    };
    let _ = writeln!(
        out,
        "{}{}[{}]{}{}: {}{}",
        p.sev,
        d.severity.as_str(),
        d.code,
        p.reset,
        p.bold,
        d.message,
        p.reset
    );
    let Some(loc) = &d.location else {
        if let Some(label) = &d.label {
            let _ = writeln!(out, "  {}={} {label}", p.blue, p.reset);
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  {}={} help: {help}", p.blue, p.reset);
        }
        for note in &d.notes {
            let _ = writeln!(out, "  {}={} note: {note}", p.blue, p.reset);
        }
        return;
    };
    let num = loc.line.to_string();
    let pad = " ".repeat(num.len());
    let _ = writeln!(
        out,
        "{pad}{}-->{} {}:{}:{}",
        p.blue, p.reset, loc.file, loc.line, loc.column
    );
    let _ = writeln!(out, "{pad} {}|{}", p.blue, p.reset);
    let line: String = loc
        .source_line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let _ = writeln!(out, "{}{num} |{} {}", p.blue, p.reset, line.trim_end());
    let line_len = u32::try_from(line.trim_end().chars().count()).unwrap_or(u32::MAX);
    let start = loc.column.max(1).min(line_len + 1);
    let width = if loc.end_line == loc.line && loc.end_column > loc.column {
        loc.end_column - loc.column
    } else {
        line_len.saturating_sub(start - 1)
    };
    let width = width.min((line_len + 1).saturating_sub(start)).max(1);
    let spaces = " ".repeat((start - 1) as usize);
    let carets = "^".repeat(width as usize);
    let label = d.label.as_deref().map(|l| format!(" {l}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad} {}|{} {spaces}{}{carets}{label}{}",
        p.blue, p.reset, p.sev, p.reset
    );
    if d.help.is_some() || !d.notes.is_empty() {
        let _ = writeln!(out, "{pad} {}|{}", p.blue, p.reset);
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} {}={} help: {help}", p.blue, p.reset);
    }
    for note in &d.notes {
        let _ = writeln!(out, "{pad} {}={} note: {note}", p.blue, p.reset);
    }
}

/// The closest of `candidates` to `word` (Jaro-Winkler ≥ 0.8, or a small edit distance),
/// for "did you mean" hints.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        if cand == word {
            continue;
        }
        let c = cand.to_ascii_lowercase();
        let jw = strsim::jaro_winkler(&lower, &c);
        let lev = strsim::levenshtein(&lower, &c);
        let close_enough = jw >= 0.85 || (lev <= 2 && c.len() > 3) || lower == c;
        if close_enough && best.is_none_or(|(s, _)| jw > s) {
            best = Some((jw, cand));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Pos, SourceMap, Span};

    fn sources() -> (SourceMap, crate::source::FileId) {
        let mut map = SourceMap::new();
        let text = "tasks:\n  - task_key: a\n    depends_on:\n      - task_key: ingest-bronz\n".to_string();
        let id = map.add("pipelines/p/job.yaml", "/x/pipelines/p/job.yaml", text);
        (map, id)
    }

    #[test]
    fn renders_like_rustc() {
        let (map, id) = sources();
        let mut diags = Diagnostics::new(false);
        diags.push(
            Diagnostic::error(
                code::UNKNOWN_DEPENDENCY,
                "task `a` depends on `ingest-bronz`, which is not a task in this job",
            )
            .at(&map, Span::new(id, Pos::new(4, 19), Pos::new(4, 31)))
            .label("did you mean `ingest-bronze`?"),
        );
        let expected = "\
error[E012]: task `a` depends on `ingest-bronz`, which is not a task in this job
 --> pipelines/p/job.yaml:4:19
  |
4 |       - task_key: ingest-bronz
  |                   ^^^^^^^^^^^^ did you mean `ingest-bronze`?

";
        assert_eq!(diags.render(false), expected);
    }

    #[test]
    fn help_and_notes_follow_the_excerpt() {
        let (map, id) = sources();
        let mut diags = Diagnostics::new(false);
        diags.push(
            Diagnostic::warning(code::UNUSED_JOB_CLUSTER, "job cluster `x` is not used")
                .at(&map, Span::new(id, Pos::new(1, 1), Pos::new(1, 6)))
                .help("remove it")
                .note("a note"),
        );
        let out = diags.render(false);
        assert!(
            out.contains("  |\n  = help: remove it\n  = note: a note\n"),
            "{out}"
        );
        assert!(out.starts_with("warning[W002]"));
    }

    #[test]
    fn multi_line_spans_underline_the_rest_of_the_first_line() {
        let (map, id) = sources();
        let mut diags = Diagnostics::new(false);
        diags.push(
            Diagnostic::error(code::MISSING_FIELD, "m")
                .at(&map, Span::new(id, Pos::new(2, 5), Pos::new(4, 1))),
        );
        let out = diags.render(false);
        assert!(
            out.contains("2 |   - task_key: a\n  |     ^^^^^^^^^^^\n"),
            "{out}"
        );
    }

    #[test]
    fn strict_promotes_unknown_fields_only() {
        let mut diags = Diagnostics::new(true);
        diags.push(Diagnostic::warning(code::UNKNOWN_FIELD, "unknown field `x`"));
        diags.push(Diagnostic::warning(code::UNUSED_JOB_CLUSTER, "unused"));
        assert_eq!(diags.error_count(), 1);
        assert_eq!(diags.warning_count(), 1);
        assert_eq!(diags.summary(), "1 error, 1 warning");
    }

    #[test]
    fn json_form_has_counts_and_locations() {
        let (map, id) = sources();
        let mut diags = Diagnostics::new(false);
        diags.push(
            Diagnostic::error(code::CRON, "bad").at(&map, Span::new(id, Pos::new(1, 1), Pos::new(1, 2))),
        );
        let v = diags.to_json();
        assert_eq!(v["errors"], 1);
        assert_eq!(v["diagnostics"][0]["code"], "E017");
        assert_eq!(v["diagnostics"][0]["location"]["file"], "pipelines/p/job.yaml");
        assert_eq!(v["diagnostics"][0]["severity"], "error");
    }

    #[test]
    fn did_you_mean_finds_close_names() {
        let c = ["ingest-bronze", "process-silver"];
        assert_eq!(did_you_mean("ingest-bronz", c).as_deref(), Some("ingest-bronze"));
        assert_eq!(did_you_mean("zzz", c), None);
        assert_eq!(
            did_you_mean("timeout_second", ["timeout_seconds", "tags"]).as_deref(),
            Some("timeout_seconds")
        );
    }
}
