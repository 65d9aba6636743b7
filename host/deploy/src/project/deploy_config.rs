//! `--config-file FILE`: per-deploy settings layered over the project.
//!
//! ```yaml
//! strategy: blue-green          # or {name: canary, steps: [10, 50, 100]}
//! validate: true
//! rollback_on_failure: true
//! enable_monitoring: true
//! approval_required: true
//! active_runs: wait             # wait | cancel | fail
//! variables:                    # override project and environment variables
//!   catalog: prod_hotfix
//! environment_overrides:        # merged over environments.<name> in brickship.yaml
//!   prod:
//!     monitoring: {sla: 2h}
//! job:                          # an overlay applied after environments/<env>.yaml
//!   max_concurrent_runs: 2
//! ```
//!
//! Every deploy option is optional; the CLI merges them with its flags (flags win).

use serde::Serialize;

use super::config::StrategyRef;
use super::read::Ctx;
use crate::diagnostics::{Diagnostic, code};
use crate::node::{Node, NodeKind};

const FIELDS: &[&str] = &[
    "strategy",
    "validate",
    "rollback_on_failure",
    "enable_monitoring",
    "approval_required",
    "active_runs",
    "variables",
    "environment_overrides",
    "job",
];

/// What to do with runs of the live job that are active when the deploy changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActiveRunsPolicy {
    /// Wait for them to finish before changing the job.
    Wait,
    /// Cancel them before changing the job.
    Cancel,
    /// Refuse to deploy while runs are active.
    Fail,
}

impl ActiveRunsPolicy {
    /// Parses `wait`, `cancel` or `fail` (the CLI's `--active-runs` values).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wait" => Some(Self::Wait),
            "cancel" => Some(Self::Cancel),
            "fail" => Some(Self::Fail),
            _ => None,
        }
    }
}

/// Deploy options from a `--config-file`; `None` means "not set here".
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeployOptions {
    /// Strategy to use instead of the environment's.
    pub strategy: Option<StrategyRef>,
    /// Run pre-deployment validation.
    pub validate: Option<bool>,
    /// Roll back automatically on failure.
    pub rollback_on_failure: Option<bool>,
    /// Set up monitoring (health rules, alert definitions).
    pub enable_monitoring: Option<bool>,
    /// Require approval.
    pub approval_required: Option<bool>,
    /// What to do with active runs.
    pub active_runs: Option<ActiveRunsPolicy>,
}

/// The parsed config file.
#[derive(Clone, Debug, Default)]
pub(crate) struct DeployConfig {
    pub options: DeployOptions,
    pub variables: Vec<(String, Node)>,
    pub environment_overrides: Vec<(String, crate::source::Span, Node)>,
    pub job: Option<Node>,
}

fn opt_bool(ctx: &mut Ctx<'_>, root: &Node, key: &str) -> Option<bool> {
    root.get(key).and_then(|n| ctx.bool(n, key))
}

pub(crate) fn parse_deploy_config(ctx: &mut Ctx<'_>, root: &Node) -> DeployConfig {
    let mut out = DeployConfig::default();
    if ctx.map_or_null(root, "config file").is_none() {
        return out;
    }
    ctx.unknown_fields(root, "the config file", FIELDS);
    out.options.validate = opt_bool(ctx, root, "validate");
    out.options.rollback_on_failure = opt_bool(ctx, root, "rollback_on_failure");
    out.options.enable_monitoring = opt_bool(ctx, root, "enable_monitoring");
    out.options.approval_required = opt_bool(ctx, root, "approval_required");
    if let Some(n) = root.get("active_runs")
        && let Some(s) = ctx.str(n, "active_runs")
    {
        match ActiveRunsPolicy::parse(s) {
            Some(p) => out.options.active_runs = Some(p),
            None => ctx.push(
                Diagnostic::error(
                    code::INVALID_VALUE,
                    format!("`active_runs` `{s}` is not a policy"),
                )
                .at(ctx.sources, n.span)
                .label("expected `wait`, `cancel` or `fail`"),
            ),
        }
    }
    if let Some(n) = root.get("strategy") {
        match &n.kind {
            NodeKind::Str(s) => {
                out.options.strategy = Some(StrategyRef {
                    name: s.clone(),
                    config: serde_json::Value::Object(Default::default()),
                });
            }
            NodeKind::Map(entries) => match n.get("name").and_then(Node::as_str) {
                Some(name) => {
                    let mut config = serde_json::Map::new();
                    for e in entries.iter().filter(|e| e.key != "name") {
                        config.insert(e.key.clone(), e.value.to_value());
                    }
                    out.options.strategy = Some(StrategyRef {
                        name: name.to_string(),
                        config: serde_json::Value::Object(config),
                    });
                }
                None => ctx.push(
                    Diagnostic::error(code::MISSING_FIELD, "`strategy` has no `name`")
                        .at(ctx.sources, n.span)
                        .label("`name` is required"),
                ),
            },
            _ => ctx.wrong_type(n, "strategy", "a strategy name or a mapping"),
        }
    }
    if let Some(n) = root.get("variables") {
        out.variables = super::config::variables(ctx, n, "variables");
    }
    if let Some(n) = root.get("environment_overrides")
        && let Some(entries) = ctx.map_or_null(n, "environment_overrides")
    {
        for e in entries {
            if ctx
                .map_or_null(&e.value, &format!("environment_overrides.{}", e.key))
                .is_some()
            {
                out.environment_overrides
                    .push((e.key.clone(), e.key_span, e.value.clone()));
            }
        }
    }
    if let Some(n) = root.get("job")
        && ctx.map_or_null(n, "job").is_some()
    {
        out.job = Some(n.clone());
    }
    out
}
