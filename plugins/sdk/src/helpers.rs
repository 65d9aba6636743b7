//! Small constructors for the contract's types.

use crate::CONTRACT_VERSION;
use crate::types::{
    Action, ActionKind, Decision, Finding, PluginError, PluginInfo, PluginKind, Severity, StepResult, Verdict,
};

/// A [`PluginInfo`] with the SDK's contract version and no schema or example.
pub fn info(name: &str, version: &str, kind: PluginKind, description: &str) -> PluginInfo {
    PluginInfo {
        name: name.to_owned(),
        version: version.to_owned(),
        kind,
        contract: CONTRACT_VERSION.to_owned(),
        description: description.to_owned(),
        config_schema: None,
        config_example: None,
    }
}

impl PluginError {
    /// An error with a kebab-case `code` and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        PluginError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl Finding {
    fn with(severity: Severity, code: &str, message: impl Into<String>) -> Self {
        Finding {
            code: code.to_owned(),
            message: message.into(),
            severity,
            path: None,
        }
    }
    /// An `error` finding.
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self::with(Severity::Error, code, message)
    }
    /// A `warning` finding.
    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Self::with(Severity::Warning, code, message)
    }
    /// An `info` finding.
    pub fn info(code: &str, message: impl Into<String>) -> Self {
        Self::with(Severity::Info, code, message)
    }
    /// Attach the JSON pointer the finding is about.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

impl Verdict {
    /// `pass` with no findings.
    pub fn pass(summary: impl Into<String>) -> Self {
        Verdict {
            decision: Decision::Pass,
            summary: summary.into(),
            findings: Vec::new(),
        }
    }

    /// The decision implied by the findings: `fail` if any is an error, `warn` if any is a
    /// warning, else `pass`. `ok_summary` is used when there are no errors or warnings.
    pub fn from_findings(findings: Vec<Finding>, ok_summary: &str) -> Self {
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        let warnings = findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        let (decision, summary) = if errors > 0 {
            (
                Decision::Fail,
                format!("{errors} problem{} found", plural(errors)),
            )
        } else if warnings > 0 {
            (Decision::Warn, format!("{warnings} warning{}", plural(warnings)))
        } else {
            (Decision::Pass, ok_summary.to_owned())
        };
        Verdict {
            decision,
            summary,
            findings,
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl Action {
    /// An action with an id.
    pub fn new(id: impl Into<String>, kind: ActionKind) -> Self {
        Action { id: id.into(), kind }
    }
}

impl StepResult {
    /// A `running` step that asks for `actions`.
    pub fn running(actions: Vec<Action>, state: impl Into<String>, message: impl Into<String>) -> Self {
        StepResult {
            actions,
            state: state.into(),
            phase: crate::types::Phase::Running,
            message: message.into(),
        }
    }
    /// A final `succeeded` step.
    pub fn succeeded(state: impl Into<String>, message: impl Into<String>) -> Self {
        StepResult {
            actions: Vec::new(),
            state: state.into(),
            phase: crate::types::Phase::Succeeded,
            message: message.into(),
        }
    }
    /// A final `failed` step.
    pub fn failed(state: impl Into<String>, message: impl Into<String>) -> Self {
        StepResult {
            actions: Vec::new(),
            state: state.into(),
            phase: crate::types::Phase::Failed,
            message: message.into(),
        }
    }
}
