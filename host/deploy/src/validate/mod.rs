//! Validation of rendered job settings: every finding at once.
//!
//! [`validate`] runs offline: the schema walk (unknown fields, types, required fields, enum
//! values, ranges; `schema`), then the semantic checks ([`checks`]): unique keys and key
//! patterns, the task graph (targets exist, no cycles), exactly one task type, job cluster
//! references, Quartz cron syntax ([`cron`]) and timezone ids ([`tz`]), emails ([`email`]),
//! Jobs API limits, trigger exclusivity, tags and the access control list.
//!
//! [`workspace::check_workspace`] runs the checks that need the workspace (notebooks and files
//! exist, node types, Spark versions, secret scopes) against a [`workspace::WorkspaceProbe`].

pub mod checks;
pub mod cron;
pub mod email;
pub(crate) mod schema;
pub mod tz;
pub mod workspace;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::project::{LoadRequest, Loaded, RenderedPipeline};
use crate::source::Span;

/// Validates a rendered pipeline offline, pushing every finding into `diags`.
pub fn validate(p: &RenderedPipeline, diags: &mut Diagnostics) {
    let mut v = Validator { p, diags };
    v.check_type(&p.settings, &schema::Ty::Obj(&schema::JOB_SETTINGS), "", "");
    checks::run(&mut v);
}

/// Loads and renders a pipeline, then validates it offline when rendering succeeded.
pub fn load_and_validate(request: &LoadRequest<'_>) -> Loaded {
    let mut loaded = crate::project::load(request);
    if let Some(p) = &loaded.pipeline {
        validate(p, &mut loaded.diagnostics);
    }
    loaded
}

/// Walks the rendered settings with access to their spans.
pub(crate) struct Validator<'a> {
    pub p: &'a RenderedPipeline,
    pub diags: &'a mut Diagnostics,
}

impl Validator<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The span of the value at `ptr`.
    pub fn span(&self, ptr: &str) -> Option<Span> {
        self.p.spans.value(ptr)
    }

    /// The span of the key of `ptr` (its value span when it is a list item).
    pub fn key_span(&self, ptr: &str) -> Option<Span> {
        self.p.spans.key(ptr)
    }

    /// A span `len` characters long, `offset` characters into the string `value` at `ptr`,
    /// when the source text there is `value` itself (plain or quoted without escapes);
    /// otherwise the whole value span.
    pub fn inner_span(&self, ptr: &str, value: &str, offset: usize, len: usize) -> Option<Span> {
        let span = self.span(ptr)?;
        let file = self.p.sources.get(span.file)?;
        if span.start.line != span.end.line {
            return Some(span);
        }
        let text: String = file
            .line(span.start.line)
            .chars()
            .skip(span.start.col.saturating_sub(1) as usize)
            .take(span.end.col.saturating_sub(span.start.col) as usize)
            .collect();
        let quote = usize::from(text.starts_with(['"', '\'']));
        let inner = if quote == 1 && text.len() >= 2 {
            &text[1..text.len() - 1]
        } else {
            text.as_str()
        };
        if inner != value {
            return Some(span);
        }
        Some(span.sub(u32::try_from(offset + quote).ok()?, u32::try_from(len).ok()?))
    }
}
