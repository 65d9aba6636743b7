//! `brickship.yaml`: the project, its environments, shared variables and synced folders.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::read::{Ctx, duration};
use crate::diagnostics::{Diagnostic, code};
use crate::node::{Node, NodeKind};
use crate::source::Span;

/// Default `state_root`: where journals, snapshots and locks live in the workspace.
pub const DEFAULT_STATE_ROOT: &str = "/Workspace/Shared/.brickship";
/// Default strategy name.
pub const DEFAULT_STRATEGY: &str = "direct";

const TOP_LEVEL: &[&str] = &[
    "project",
    "state_root",
    "environments",
    "variables",
    "sync",
    "monitoring",
    "gates",
    "notifiers",
    "plugins",
    "strategies",
    "notifications",
    "cost",
];
const ENVIRONMENT: &[&str] = &[
    "workspace",
    "variables",
    "approval",
    "strategy",
    "monitoring",
    "gates",
    "notifiers",
    "description",
];
const WORKSPACE: &[&str] = &["host", "profile"];
const APPROVAL: &[&str] = &["required", "expires", "before_promotion"];
const MONITORING: &[&str] = &["enabled", "sla", "recipients"];
const SYNC: &[&str] = &["source", "dest"];

/// The parsed `brickship.yaml`. Environments keep their raw nodes: the one being deployed is
/// parsed into an [`EnvironmentConfig`] after `--config-file` overrides and variables apply.
#[derive(Clone, Debug)]
pub struct ProjectConfig {
    /// `project:` name.
    pub name: String,
    /// `state_root:` (default [`DEFAULT_STATE_ROOT`]).
    pub state_root: String,
    /// Top-level `variables:` shared by all environments.
    pub variables: Vec<(String, Node)>,
    /// Environment names and their raw nodes, in file order.
    pub environments: Vec<(String, Node)>,
    /// Folders uploaded to the workspace by a deploy.
    pub sync: Vec<SyncMapping>,
    /// Top-level `monitoring:` defaults (merged under each environment's).
    pub monitoring: Option<Node>,
    /// Opaque `gates:` config (a mapping), passed through.
    pub gates: Option<Value>,
    /// Opaque `notifiers:` config (a mapping), passed through.
    pub notifiers: Option<Value>,
    /// Opaque `plugins:` config (a mapping), passed through.
    pub plugins: Option<Value>,
    /// Opaque `strategies:` config (a mapping), passed through.
    pub strategies: Option<Value>,
}

impl ProjectConfig {
    /// Names of the environments, in file order.
    pub fn environment_names(&self) -> Vec<&str> {
        self.environments.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The raw node of environment `name`.
    pub fn environment(&self, name: &str) -> Option<&Node> {
        self.environments
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, node)| node)
    }
}

/// A project folder uploaded to the workspace: notebooks become notebooks, other files files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncMapping {
    /// Folder relative to the project root.
    pub source: String,
    /// Workspace folder, absolute (e.g. `/Workspace/pipelines/customer-360`).
    pub dest: String,
}

/// Which workspace an environment deploys to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkspaceTarget {
    /// `host: local`: the embedded local workspace.
    Local,
    /// `profile: NAME`: a `.databrickscfg` profile.
    Profile {
        /// Profile name.
        profile: String,
    },
    /// `host: https://...` (optionally with a `profile` for credentials).
    Host {
        /// Workspace URL.
        host: String,
        /// Profile supplying credentials.
        profile: Option<String>,
    },
}

/// The strategy an environment deploys with: a name plus opaque config for the strategy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrategyRef {
    /// Built-in name or plugin reference.
    pub name: String,
    /// Everything else under `strategy:` (validated by the strategy itself).
    pub config: Value,
}

impl Default for StrategyRef {
    fn default() -> Self {
        Self {
            name: DEFAULT_STRATEGY.to_string(),
            config: Value::Object(Default::default()),
        }
    }
}

/// Monitoring of the deployed job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonitoringSettings {
    /// Add health rules and alert definitions (default true).
    pub enabled: bool,
    /// Run-duration SLA in seconds.
    pub sla_seconds: Option<u64>,
    /// Who is emailed when the SLA is exceeded.
    pub recipients: Vec<String>,
    /// Where `sla` is written.
    #[serde(skip)]
    pub sla_span: Option<Span>,
    /// Where `recipients` is written.
    #[serde(skip)]
    pub recipients_span: Option<Span>,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            sla_seconds: None,
            recipients: vec![],
            sla_span: None,
            recipients_span: None,
        }
    }
}

/// One environment, after overrides and variable substitution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvironmentConfig {
    /// Environment name.
    pub name: String,
    /// Target workspace.
    pub workspace: WorkspaceTarget,
    /// Whether a deploy needs an approval before its first change (default: true for `prod`,
    /// else false).
    pub approval_required: bool,
    /// How long an approval request stays open (`approval.expires`, e.g. `24h`); none: 7 days.
    pub approval_expiry: Option<std::time::Duration>,
    /// Whether promotion (blue-green swap, canary full rollout) needs an approval too
    /// (`approval.before_promotion`, default false).
    pub approval_before_promotion: bool,
    /// Default strategy.
    pub strategy: StrategyRef,
    /// Monitoring settings.
    pub monitoring: MonitoringSettings,
    /// Opaque per-environment `gates:`.
    pub gates: Option<Value>,
    /// Opaque per-environment `notifiers:`.
    pub notifiers: Option<Value>,
}

fn opaque_map(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<Value> {
    ctx.map_or_null(node, path)?;
    Some(node.to_value())
}

/// Parses the root node of `brickship.yaml`; `root_dir` is used to check `sync` sources.
pub(crate) fn parse_project(ctx: &mut Ctx<'_>, root: &Node, root_dir: &Path) -> Option<ProjectConfig> {
    ctx.map(root, "brickship.yaml")?;
    ctx.unknown_fields(root, "`brickship.yaml`", TOP_LEVEL);
    let mut ok = true;
    let name = match root.get("project") {
        Some(n) => match ctx.str(n, "project") {
            Some(s) if valid_name(s) => s.to_string(),
            Some(s) => {
                ctx.invalid(
                    n,
                    format!("project name `{s}` is not valid"),
                    "use letters, digits, `-`, `_` and `.`",
                    None,
                );
                s.to_string()
            }
            None => {
                ok = false;
                String::new()
            }
        },
        None => {
            ctx.push(
                Diagnostic::error(code::MISSING_FIELD, "`brickship.yaml` has no `project` name")
                    .at(ctx.sources, Span::point(root.span.file, root.span.start))
                    .label("`project` is required")
                    .help("add `project: <name>` at the top of brickship.yaml"),
            );
            ok = false;
            String::new()
        }
    };
    let state_root = match root.get("state_root") {
        Some(n) => match ctx.str(n, "state_root") {
            Some(s) if s.starts_with('/') => s.trim_end_matches('/').to_string(),
            Some(s) => {
                ctx.invalid(
                    n,
                    format!("`state_root` `{s}` is not an absolute workspace path"),
                    "must start with `/`",
                    Some(format!("e.g. `{DEFAULT_STATE_ROOT}`")),
                );
                DEFAULT_STATE_ROOT.to_string()
            }
            None => DEFAULT_STATE_ROOT.to_string(),
        },
        None => DEFAULT_STATE_ROOT.to_string(),
    };
    let variables = match root.get("variables") {
        Some(n) => variables(ctx, n, "variables"),
        None => vec![],
    };
    let mut environments = vec![];
    match root.get("environments") {
        Some(n) => {
            if let Some(entries) = ctx.map(n, "environments") {
                for e in entries {
                    if !valid_name(&e.key) {
                        ctx.push(
                            Diagnostic::error(
                                code::BAD_KEY,
                                format!("environment name `{}` is not valid", e.key),
                            )
                            .at(ctx.sources, e.key_span)
                            .label("use letters, digits, `-`, `_` and `.`"),
                        );
                    }
                    let path = format!("environments.{}", e.key);
                    // Check the raw environment now so every environment's mistakes are reported.
                    check_environment(ctx, &e.key, &e.value, &path);
                    environments.push((e.key.clone(), e.value.clone()));
                }
                if entries.is_empty() {
                    ctx.push(
                        Diagnostic::error(code::MISSING_FIELD, "`environments` is empty")
                            .at(ctx.sources, n.span)
                            .help("define at least one environment, e.g. `dev: {workspace: {host: local}}`"),
                    );
                }
            }
        }
        None => {
            ctx.push(
                Diagnostic::error(code::MISSING_FIELD, "`brickship.yaml` has no `environments`")
                    .at(ctx.sources, Span::point(root.span.file, root.span.start))
                    .label("`environments` is required")
                    .help("add `environments: {dev: {workspace: {host: local}}}`"),
            );
            ok = false;
        }
    }
    let mut sync = vec![];
    if let Some(n) = root.get("sync")
        && let Some(items) = ctx.seq(n, "sync")
    {
        for (i, item) in items.iter().enumerate() {
            let path = format!("sync[{i}]");
            if ctx.map(item, &path).is_none() {
                continue;
            }
            ctx.unknown_fields(item, &format!("`{path}`"), SYNC);
            let source = required_str(ctx, item, "source", &path);
            let dest = required_str(ctx, item, "dest", &path);
            if let (Some((source, sspan)), Some((dest, dspan))) = (source, dest) {
                let dir = root_dir.join(&source);
                if source.starts_with('/') || source.split('/').any(|p| p == "..") {
                    ctx.invalid(
                        sspan,
                        format!("sync source `{source}` must be a folder inside the project"),
                        "relative path expected",
                        None,
                    );
                } else if !dir.is_dir() {
                    ctx.push(
                        Diagnostic::error(
                            code::SYNC_SOURCE,
                            format!("sync source folder `{source}` does not exist"),
                        )
                        .at(ctx.sources, sspan.span)
                        .label("no such folder in the project")
                        .help(format!("create `{source}/` or remove this `sync` entry")),
                    );
                }
                if !dest.starts_with('/') {
                    ctx.invalid(
                        dspan,
                        format!("sync destination `{dest}` is not an absolute workspace path"),
                        "must start with `/`",
                        Some("e.g. `/Workspace/pipelines/<name>`".to_string()),
                    );
                }
                sync.push(SyncMapping {
                    source,
                    dest: dest.trim_end_matches('/').to_string(),
                });
            }
        }
    }
    let monitoring = root.get("monitoring").cloned();
    if let Some(m) = &monitoring {
        check_monitoring(ctx, m, "monitoring");
    }
    let gates = root.get("gates").and_then(|n| opaque_map(ctx, n, "gates"));
    let notifiers = root
        .get("notifiers")
        .and_then(|n| opaque_map(ctx, n, "notifiers"));
    let plugins = root.get("plugins").and_then(|n| opaque_map(ctx, n, "plugins"));
    let strategies = root
        .get("strategies")
        .and_then(|n| opaque_map(ctx, n, "strategies"));
    if !ok {
        return None;
    }
    Some(ProjectConfig {
        name,
        state_root,
        variables,
        environments,
        sync,
        monitoring,
        gates,
        notifiers,
        plugins,
        strategies,
    })
}

fn required_str<'n>(ctx: &mut Ctx<'_>, node: &'n Node, key: &str, path: &str) -> Option<(String, &'n Node)> {
    match node.get(key) {
        Some(v) => ctx.str(v, &format!("{path}.{key}")).map(|s| (s.to_string(), v)),
        None => {
            ctx.push(
                Diagnostic::error(code::MISSING_FIELD, format!("`{path}` has no `{key}`"))
                    .at(ctx.sources, node.span)
                    .label(format!("`{key}` is required")),
            );
            None
        }
    }
}

/// Names usable in workspace paths and job names.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads a `variables:` mapping into (name, value) pairs.
pub(crate) fn variables(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Vec<(String, Node)> {
    let Some(entries) = ctx.map_or_null(node, path) else {
        return vec![];
    };
    let mut out = vec![];
    for e in entries {
        if !valid_variable_name(&e.key) {
            ctx.push(
                Diagnostic::error(code::BAD_KEY, format!("variable name `{}` is not valid", e.key))
                    .at(ctx.sources, e.key_span)
                    .label("use letters, digits, `_` and `-`, starting with a letter or `_`"),
            );
            continue;
        }
        out.push((e.key.clone(), e.value.clone()));
    }
    out
}

/// `[A-Za-z_][A-Za-z0-9_-]*`
pub(crate) fn valid_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_monitoring(ctx: &mut Ctx<'_>, node: &Node, path: &str) {
    if ctx.map_or_null(node, path).is_none() {
        return;
    }
    ctx.unknown_fields(node, &format!("`{path}`"), MONITORING);
    if let Some(n) = node.get("enabled") {
        ctx.bool(n, &format!("{path}.enabled"));
    }
    if let Some(n) = node.get("sla")
        && !contains_reference(n)
    {
        duration(ctx, n, &format!("{path}.sla"));
    }
    if let Some(n) = node.get("recipients")
        && let Some(items) = ctx.seq(n, &format!("{path}.recipients"))
    {
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = ctx.str(item, &format!("{path}.recipients[{i}]"))
                && !s.contains("${")
                && !crate::validate::email::is_valid_email(s)
            {
                ctx.push(
                    Diagnostic::error(code::EMAIL, format!("`{s}` is not a valid email address"))
                        .at(ctx.sources, item.span)
                        .label("invalid email address"),
                );
            }
        }
    }
}

fn contains_reference(n: &Node) -> bool {
    n.as_str().is_some_and(|s| s.contains("${"))
}

/// Checks the raw environment node (types and unknown fields) without resolving it.
fn check_environment(ctx: &mut Ctx<'_>, name: &str, node: &Node, path: &str) {
    if ctx.map_or_null(node, path).is_none() {
        return;
    }
    ctx.unknown_fields(node, &format!("environment `{name}`"), ENVIRONMENT);
    if let Some(v) = node.get("variables") {
        variables(ctx, v, &format!("{path}.variables"));
    }
    if let Some(m) = node.get("monitoring") {
        check_monitoring(ctx, m, &format!("{path}.monitoring"));
    }
    if let Some(w) = node.get("workspace")
        && ctx.map(w, &format!("{path}.workspace")).is_some()
    {
        ctx.unknown_fields(w, &format!("`{path}.workspace`"), WORKSPACE);
        let has_refs = w
            .as_map()
            .is_some_and(|m| m.iter().any(|e| contains_reference(&e.value)));
        if !has_refs {
            workspace(ctx, w, path);
        }
    }
    if let Some(a) = node.get("approval") {
        match &a.kind {
            NodeKind::Bool(_) => {}
            NodeKind::Map(_) => {
                ctx.unknown_fields(a, &format!("`{path}.approval`"), APPROVAL);
                if let Some(r) = a.get("required") {
                    ctx.bool(r, &format!("{path}.approval.required"));
                }
                if let Some(r) = a.get("before_promotion") {
                    ctx.bool(r, &format!("{path}.approval.before_promotion"));
                }
            }
            _ => ctx.wrong_type(a, &format!("{path}.approval"), "a mapping or a boolean"),
        }
    }
    if let Some(s) = node.get("strategy") {
        match &s.kind {
            NodeKind::Str(_) => {}
            NodeKind::Map(_) => match s.get("name") {
                Some(n) => {
                    ctx.str(n, &format!("{path}.strategy.name"));
                }
                None => ctx.push(
                    Diagnostic::error(code::MISSING_FIELD, format!("`{path}.strategy` has no `name`"))
                        .at(ctx.sources, s.span)
                        .label("`name` is required")
                        .help("e.g. `strategy: {name: canary, steps: [10, 50, 100]}`"),
                ),
            },
            _ => ctx.wrong_type(s, &format!("{path}.strategy"), "a strategy name or a mapping"),
        }
    }
    for key in ["gates", "notifiers"] {
        if let Some(n) = node.get(key) {
            ctx.map_or_null(n, &format!("{path}.{key}"));
        }
    }
}

/// Parses the environment being deployed (after overrides and substitution).
pub(crate) fn parse_environment(ctx: &mut Ctx<'_>, name: &str, node: &Node) -> EnvironmentConfig {
    let path = format!("environments.{name}");
    check_environment(ctx, name, node, &path);
    let workspace = match node.get("workspace") {
        Some(w) => workspace(ctx, w, &path),
        None => WorkspaceTarget::Local,
    };
    let approval_required = match node.get("approval").map(|a| &a.kind) {
        Some(NodeKind::Bool(b)) => *b,
        Some(NodeKind::Map(_)) => match node
            .get("approval")
            .and_then(|a| a.get("required"))
            .map(|r| &r.kind)
        {
            Some(NodeKind::Bool(b)) => *b,
            _ => name == "prod",
        },
        _ => name == "prod",
    };
    let approval_node = node.get("approval");
    let approval_expiry = approval_node
        .and_then(|a| a.get("expires"))
        .and_then(|e| super::read::duration(ctx, e, &format!("{path}.approval.expires")))
        .map(std::time::Duration::from_secs);
    let approval_before_promotion = matches!(
        approval_node
            .and_then(|a| a.get("before_promotion"))
            .map(|b| &b.kind),
        Some(NodeKind::Bool(true))
    );
    let strategy = match node.get("strategy") {
        Some(s) => match &s.kind {
            NodeKind::Str(n) => StrategyRef {
                name: n.clone(),
                config: Value::Object(Default::default()),
            },
            NodeKind::Map(entries) => {
                let name = s
                    .get("name")
                    .and_then(Node::as_str)
                    .unwrap_or(DEFAULT_STRATEGY)
                    .to_string();
                let mut config = serde_json::Map::new();
                for e in entries.iter().filter(|e| e.key != "name") {
                    config.insert(e.key.clone(), e.value.to_value());
                }
                StrategyRef {
                    name,
                    config: Value::Object(config),
                }
            }
            _ => StrategyRef::default(),
        },
        None => StrategyRef::default(),
    };
    let monitoring = monitoring(ctx, node.get("monitoring"), &path);
    EnvironmentConfig {
        name: name.to_string(),
        workspace,
        approval_required,
        approval_expiry,
        approval_before_promotion,
        strategy,
        monitoring,
        gates: node.get("gates").map(Node::to_value),
        notifiers: node.get("notifiers").map(Node::to_value),
    }
}

fn workspace(ctx: &mut Ctx<'_>, w: &Node, path: &str) -> WorkspaceTarget {
    let host = w.get("host").and_then(|h| {
        ctx.str(h, &format!("{path}.workspace.host"))
            .map(|s| (s.to_string(), h))
    });
    let profile = w.get("profile").and_then(|p| {
        ctx.str(p, &format!("{path}.workspace.profile"))
            .map(str::to_string)
    });
    match (host, profile) {
        (Some((h, _)), None) if h == "local" => WorkspaceTarget::Local,
        (Some((h, node)), Some(_)) if h == "local" => {
            ctx.invalid(
                node,
                format!("`{path}.workspace` sets both `host: local` and a `profile`"),
                "the local workspace needs no profile",
                Some("remove `profile`, or set `host` to the workspace URL".to_string()),
            );
            WorkspaceTarget::Local
        }
        (Some((h, node)), profile) => {
            let ok = (h.starts_with("https://") || h.starts_with("http://"))
                && h.split("://")
                    .nth(1)
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '));
            if !ok {
                ctx.invalid(
                    node,
                    format!("workspace host `{h}` is not a URL"),
                    "expected `local` or `https://<workspace>`",
                    Some("e.g. `host: https://dbc-1234.cloud.databricks.com`".to_string()),
                );
            }
            WorkspaceTarget::Host {
                host: h.trim_end_matches('/').to_string(),
                profile,
            }
        }
        (None, Some(p)) => WorkspaceTarget::Profile { profile: p },
        (None, None) => {
            if w.as_map().is_some() {
                ctx.push(
                    Diagnostic::error(
                        code::MISSING_FIELD,
                        format!("`{path}.workspace` has neither `host` nor `profile`"),
                    )
                    .at(ctx.sources, w.span)
                    .help("use `host: local`, `profile: <name>` or `host: https://...`"),
                );
            }
            WorkspaceTarget::Local
        }
    }
}

fn monitoring(ctx: &mut Ctx<'_>, node: Option<&Node>, path: &str) -> MonitoringSettings {
    let mut m = MonitoringSettings::default();
    let Some(node) = node else { return m };
    if let Some(NodeKind::Bool(b)) = node.get("enabled").map(|n| &n.kind) {
        m.enabled = *b;
    }
    if let Some(sla) = node.get("sla") {
        m.sla_seconds = duration(ctx, sla, &format!("{path}.monitoring.sla"));
        m.sla_span = Some(sla.span);
    }
    if let Some(r) = node.get("recipients") {
        m.recipients_span = Some(r.span);
        if let Some(items) = r.as_seq() {
            m.recipients = items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect();
        }
    }
    m
}

/// Names and values of variables, later ones overriding earlier ones.
pub(crate) fn layer_variables(layers: &[&[(String, Node)]]) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    for layer in layers {
        for (k, v) in *layer {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}
