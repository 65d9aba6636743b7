//! Quality gates: loading the configured gate components and asking them at a point.
//!
//! # Concepts
//!
//! A **gate** is a component that judges a deployment (`wit/gate.wit`); the project configures
//! **instances** of gates under `gates:` (see [`super::plugin_config`] for the shape): which
//! component, its config, at which **points** (pre-deploy, pre-promote, post-deploy) and in
//! which **mode** — `enforce` (a failure stops the deployment) or `monitor` (the verdict is
//! reported and never blocks, Kubewarden's monitor mode).
//!
//! [`Gates::load`] loads every instance and calls its `validate-config` before anything touches
//! the workspace: a refused config is a finding at the config's line in `brickship.yaml`
//! (exit code 2). [`Gates::evaluate`] asks every instance configured for a point, in file order,
//! and combines the verdicts into a [`GateReport`] (the rule of `wit/types.wit` `gate-check`):
//!
//! 1. any `fail` of an enforcing gate → `fail` (at pre-deploy: exit code 3, nothing changed);
//! 2. else any `inconclusive` of an enforcing gate → `inconclusive` (a pause for a human at
//!    pre-promote, treated as a warning elsewhere);
//! 3. else any `warn`, or any non-pass of a monitor gate → `warn`;
//! 4. else `pass` (also when no gate runs at the point).
//!
//! A gate that answers with its own `plugin-error` counts as `fail` (`inconclusive` when
//! monitoring). A gate that crashes, times out or returns garbage counts as `fail` when
//! enforcing and `warn` when monitoring, and the report keeps the error:
//! [`GateReport::check`] turns an enforcing gate's crash into [`EngineError::Plugin`] (exit
//! code 4) for the pre-deploy path, while a strategy's `gate-check` uses the combined
//! [`GateReport::verdict`].
//!
//! Everything in a report (summaries, findings) has the project's secrets redacted.
//!
//! # Calls are synchronous
//!
//! A gate call instantiates the component in a fresh sandbox and returns in microseconds for a
//! Rust gate (about 1.5 ms for the Python example), far below the cost of moving the call to
//! a blocking thread and back, so [`Gates::evaluate`] calls directly, also from async code.
//! The epoch deadline (2 s by default) bounds a misbehaving gate.

use std::time::Instant;

use plugin_host::PluginRuntime;
use plugin_host::types::{
    CostEstimate, Decision, Deployment, Finding, GateInput, GatePoint, RunSummary, Severity, Verdict,
};
use serde::Serialize;

use super::EngineError;
use super::plugin_config::{GateMode, GateSpec, PluginSettings, Secrets};
use crate::diagnostics::Diagnostics;

/// The loaded gates of one deployment. Cheap to share: handles are reference-counted.
#[derive(Debug, Clone)]
pub struct Gates {
    gates: Vec<LoadedGate>,
    secrets: Secrets,
}

#[derive(Debug, Clone)]
struct LoadedGate {
    spec: GateSpec,
    handle: plugin_host::Gate,
}

/// A gate's answer as recorded in a report.
#[derive(Debug, Serialize)]
pub struct GateVerdict {
    /// Instance name (`gates.<name>`).
    pub gate: String,
    /// The component (built-in name or path, with its pin).
    pub plugin: String,
    /// Its sha256.
    pub sha256: String,
    /// Enforce or monitor.
    pub mode: GateMode,
    /// What the gate said (`fail` when it crashed or refused).
    pub decision: Decision,
    /// What it counts for in the combined decision (a monitor gate's `fail` counts as `warn`).
    pub counts_as: Decision,
    /// Its one-line summary (redacted).
    pub summary: String,
    /// Its findings (redacted).
    pub findings: Vec<Finding>,
    /// The error, when the gate crashed, timed out, returned garbage or refused (redacted).
    pub error: Option<String>,
    /// How long the call took.
    pub duration_ms: u64,
    /// The plugin error, kept for [`GateReport::check`].
    #[serde(skip)]
    failure: Option<plugin_host::Error>,
}

/// The combined judgement of the gates at one point.
#[derive(Debug, Serialize)]
pub struct GateReport {
    /// The point asked.
    pub point: GatePoint,
    /// The combined decision (see the module docs).
    pub decision: Decision,
    /// One line for people.
    pub summary: String,
    /// Each gate's verdict, in configuration order.
    pub gates: Vec<GateVerdict>,
}

impl Gates {
    /// Loads every gate of `settings` and checks its configuration.
    ///
    /// Errors: a config the gate refuses is [`EngineError::Invalid`] with one finding per
    /// problem, at the config value in `brickship.yaml` (exit code 2); a component that
    /// cannot be found, is pinned to another digest or breaks the contract is
    /// [`EngineError::Plugin`] naming the instance.
    pub fn load(runtime: &PluginRuntime, settings: &PluginSettings) -> Result<Gates, EngineError> {
        let mut diags = Diagnostics::new(false);
        let mut gates = Vec::with_capacity(settings.gates.len());
        for spec in &settings.gates {
            let label = format!("gates.{} ({})", spec.name, spec.plugin.display_name());
            let handle = runtime
                .load_gate(&spec.plugin)
                .map_err(|source| EngineError::plugin(label.clone(), source))?;
            let validated = handle.validate_config(&spec.config);
            let example = handle.info().config_example.as_deref();
            if !settings
                .config_accepted(spec.instance(), validated, example, &mut diags)
                .map_err(|source| EngineError::plugin(label, source))?
            {
                continue;
            }
            gates.push(LoadedGate {
                spec: spec.clone(),
                handle,
            });
        }
        if diags.has_errors() {
            return Err(EngineError::Invalid {
                summary: format!("invalid gate configuration: {}", diags.summary()),
                diagnostics: Box::new(diags),
            });
        }
        Ok(Gates {
            gates,
            secrets: settings.secrets.clone(),
        })
    }

    /// No gates configured.
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// The instance names of the gates asked at `point`, in order.
    pub fn names_at(&self, point: GatePoint) -> Vec<&str> {
        self.gates
            .iter()
            .filter(|g| g.spec.runs_at(point))
            .map(|g| g.spec.name.as_str())
            .collect()
    }

    /// Asks every gate configured for `point` about `deployment` (its `config` is replaced by
    /// each gate's own), with the cost estimate and the runs observed so far (oldest first).
    pub fn evaluate(
        &self,
        point: GatePoint,
        deployment: &Deployment,
        cost: Option<&CostEstimate>,
        evidence: &[RunSummary],
    ) -> GateReport {
        let mut input = GateInput {
            deployment: deployment.clone(),
            point,
            cost: cost.cloned(),
            evidence: evidence.to_vec(),
        };
        let mut verdicts = Vec::new();
        for gate in self.gates.iter().filter(|g| g.spec.runs_at(point)) {
            input.deployment.config = gate.spec.config.clone();
            let started = Instant::now();
            let result = gate.handle.evaluate(&input);
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let verdict = self.record(gate, result, duration_ms);
            tracing::info!(
                gate = %verdict.gate,
                point = ?point,
                decision = ?verdict.decision,
                mode = verdict.mode.as_str(),
                duration_ms,
                "{}",
                verdict.summary
            );
            verdicts.push(verdict);
        }
        combine(point, verdicts)
    }

    fn record(
        &self,
        gate: &LoadedGate,
        result: Result<Verdict, plugin_host::Error>,
        duration_ms: u64,
    ) -> GateVerdict {
        let spec = &gate.spec;
        let redact_finding = |f: Finding| Finding {
            code: f.code,
            message: self.secrets.redact(&f.message),
            severity: f.severity,
            path: f.path.map(|p| self.secrets.redact(&p)),
        };
        let (decision, summary, findings, error, failure) = match result {
            Ok(v) => (
                v.decision,
                self.secrets.redact(&v.summary),
                v.findings.into_iter().map(redact_finding).collect(),
                None,
                None,
            ),
            Err(plugin_host::Error::Refused { code, message, .. }) => {
                let message = self.secrets.redact(&message);
                let decision = match spec.mode {
                    GateMode::Enforce => Decision::Fail,
                    GateMode::Monitor => Decision::Inconclusive,
                };
                (
                    decision,
                    format!("the gate could not judge: {message}"),
                    vec![Finding {
                        code,
                        message: message.clone(),
                        severity: Severity::Error,
                        path: None,
                    }],
                    Some(message),
                    None,
                )
            }
            Err(err) => {
                let message = self.secrets.redact(&err.to_string());
                (
                    Decision::Fail,
                    format!("the gate failed: {message}"),
                    vec![Finding {
                        code: "gate-crashed".into(),
                        message: message.clone(),
                        severity: Severity::Error,
                        path: None,
                    }],
                    Some(message),
                    Some(err),
                )
            }
        };
        let counts_as = match (spec.mode, decision) {
            (GateMode::Enforce, d) => d,
            (GateMode::Monitor, Decision::Pass) => Decision::Pass,
            (GateMode::Monitor, _) => Decision::Warn,
        };
        GateVerdict {
            gate: spec.name.clone(),
            plugin: spec.plugin.to_string(),
            sha256: gate.handle.sha256().to_owned(),
            mode: spec.mode,
            decision,
            counts_as,
            summary,
            findings,
            error,
            duration_ms,
            failure,
        }
    }
}

/// The combined report of `verdicts` at `point`.
fn combine(point: GatePoint, gates: Vec<GateVerdict>) -> GateReport {
    let decision = gates.iter().map(|g| g.counts_as).max().unwrap_or(Decision::Pass);
    let summary = if gates.is_empty() {
        format!("no gate runs at {}", point_name(point))
    } else {
        let not_passing: Vec<String> = gates
            .iter()
            .filter(|g| g.decision != Decision::Pass)
            .map(|g| format!("`{}` {}: {}", g.gate, decision_name(g.decision), g.summary))
            .collect();
        if not_passing.is_empty() {
            format!("{} gate(s) passed at {}", gates.len(), point_name(point))
        } else {
            not_passing.join("; ")
        }
    };
    GateReport {
        point,
        decision,
        summary,
        gates,
    }
}

/// `pre-deploy`, `pre-promote` or `post-deploy`.
pub fn point_name(point: GatePoint) -> &'static str {
    match point {
        GatePoint::PreDeploy => "pre-deploy",
        GatePoint::PrePromote => "pre-promote",
        GatePoint::PostDeploy => "post-deploy",
    }
}

/// `pass`, `warn`, `inconclusive` or `fail`.
pub fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Pass => "pass",
        Decision::Warn => "warn",
        Decision::Inconclusive => "inconclusive",
        Decision::Fail => "fail",
    }
}

impl GateReport {
    /// True when the gates refuse: the combined decision is `fail`. At pre-deploy the engine
    /// stops before any mutation with exit code 3.
    pub fn refuses(&self) -> bool {
        self.decision == Decision::Fail
    }

    /// The message for a refusal: which enforcing gates failed and why.
    pub fn refusal_message(&self) -> String {
        let failed: Vec<String> = self
            .gates
            .iter()
            .filter(|g| g.counts_as == Decision::Fail)
            .map(|g| format!("`{}` ({}): {}", g.gate, g.plugin, g.summary))
            .collect();
        format!(
            "{} refused the deployment: {}",
            point_name(self.point),
            failed.join("; ")
        )
    }

    /// `Err` with the first enforcing gate's crash or timeout ([`EngineError::Plugin`], exit
    /// code 4), else the report unchanged. The pre-deploy path uses this; a plugin-error
    /// answer (`refused`) is a verdict, not a crash.
    pub fn check(mut self) -> Result<GateReport, EngineError> {
        let crashed = self
            .gates
            .iter_mut()
            .find(|g| g.mode == GateMode::Enforce && g.failure.is_some());
        if let Some(g) = crashed
            && let Some(source) = g.failure.take()
        {
            return Err(EngineError::plugin(format!("gates.{}", g.gate), source));
        }
        Ok(self)
    }

    /// The combined verdict, as a strategy's `gate-check` outcome: the combined decision, the
    /// summary, and every gate's findings with the message prefixed by the gate's name.
    pub fn verdict(&self) -> Verdict {
        Verdict {
            decision: self.decision,
            summary: self.summary.clone(),
            findings: self
                .gates
                .iter()
                .flat_map(|g| {
                    g.findings.iter().map(move |f| Finding {
                        message: format!("{}: {}", g.gate, f.message),
                        ..f.clone()
                    })
                })
                .collect(),
        }
    }

    /// Every finding of every gate, for a `gate-failed` event (messages prefixed by gate).
    pub fn findings(&self) -> Vec<Finding> {
        self.verdict().findings
    }

    /// Human-readable lines: one per gate, then its findings indented.
    pub fn render(&self) -> String {
        let mut out = format!(
            "gates at {}: {}\n",
            point_name(self.point),
            decision_name(self.decision)
        );
        for g in &self.gates {
            let monitor = if g.mode == GateMode::Monitor {
                " (monitor)"
            } else {
                ""
            };
            out.push_str(&format!(
                "  {} {}{monitor}: {}\n",
                decision_name(g.decision),
                g.gate,
                g.summary
            ));
            for f in &g.findings {
                let at = f.path.as_deref().map(|p| format!(" at {p}")).unwrap_or_default();
                out.push_str(&format!("    - [{}] {}{at}\n", f.code, f.message));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
