//! The plugin sections of `brickship.yaml`: quality gates, notifiers, notification delivery and
//! the cost model, read for one environment with every secret marked.
//!
//! # Shape
//!
//! `gates:` and `notifiers:` are mappings from an **instance name** (shown in reports, and the
//! key an environment uses to change or drop an inherited entry) to its settings. Top-level
//! entries apply to every environment; `environments.<env>.gates` / `.notifiers` are merged over
//! them by name (mappings merge key by key, `config` included; `null` or `enabled: false` drops
//! an entry):
//!
//! ```yaml
//! gates:
//!   tags:                        # instance name
//!     plugin: required-tags      # built-in name or `path/to/gate.wasm[@sha256:<hex>]`; default: the name
//!     mode: enforce              # enforce (default) | monitor: reports, never blocks
//!     points: [pre-deploy]       # pre-deploy (default) | pre-promote | post-deploy
//!     config: {tags: [owner]}    # the plugin's own configuration (checked by its validate-config)
//! notifiers:
//!   oncall:
//!     plugin: slack
//!     events: [failed, rolled-back]        # default: every event
//!     allowed_hosts: [hooks.slack.com]     # added to notifications.allowed_hosts for this one
//!     config: {webhook_url: "${env.SLACK_WEBHOOK_URL}"}
//! notifications:                 # how the host delivers what notifiers render
//!   allowed_hosts: [hooks.slack.com, "*.webhook.office.com", events.pagerduty.com]
//!   max_attempts: 3              # per message: 1 + retries on 429, 5xx and connection errors
//!   timeout: 10s                 # per attempt
//!   ca_file: certs/internal.pem  # extra trusted roots (PEM) for internal receivers and relays
//!   smtp: {host: smtp.company.com, port: 587, from: brickship@company.com, tls: starttls,
//!          username: "${env.SMTP_USER}", password: "${env.SMTP_PASSWORD}"}
//! cost:                          # the host's cost estimate, given to gates (see `cost`)
//!   dbu_price: 0.15              # currency per DBU (default 0.15: jobs compute list price)
//!   currency: USD
//!   dbu_rates: {my-node.xlarge: 1.5}   # DBU per node-hour, over the compiled-in table
//! ```
//!
//! # References and secrets
//!
//! Every string in these sections may use the project's references (`${var.NAME}`,
//! `${env.NAME}`, `${environment}`, `${pipeline}`, `${project}`), substituted here with the
//! same rules as the job. The value of every `${env.NAME}` they use, directly or through a
//! variable, is a **secret**: [`Secrets`] holds them and everything this module, [`super::gates`]
//! and [`super::notify`] return for reports or log (configs, summaries, findings, delivery
//! errors) passes through [`Secrets::redact`]. Plugins themselves receive the real values.
//!
//! The sections are read from `brickship.yaml` as the loader read it (its text is in
//! [`RenderedPipeline::sources`]), with file/line/column on every finding. A `--config-file`'s
//! `environment_overrides` do not change gates or notifiers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plugin_host::types::{EventKind, GatePoint};
use plugin_host::{PluginRef, PluginSource};
use serde::Serialize;
use serde_json::Value;

use super::EngineError;
use crate::diagnostics::{Diagnostic, Diagnostics, code};
use crate::node::{Node, NodeKind, parse};
use crate::project::read::Ctx;
use crate::project::vars::Resolver;
use crate::project::{EnvLookup, PROJECT_FILES, RenderedPipeline};
use crate::source::{SourceMap, Span};

const GATE_FIELDS: &[&str] = &["plugin", "mode", "points", "config", "enabled"];
const NOTIFIER_FIELDS: &[&str] = &["plugin", "events", "allowed_hosts", "config", "enabled"];
const NOTIFICATION_FIELDS: &[&str] = &["allowed_hosts", "max_attempts", "timeout", "ca_file", "smtp"];
const SMTP_FIELDS: &[&str] = &["host", "port", "from", "tls", "username", "password"];
const COST_FIELDS: &[&str] = &["dbu_price", "currency", "dbu_rates"];

/// Default `notifications.max_attempts`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default `notifications.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `cost.dbu_price`: the list price of jobs compute per DBU, in USD.
pub const DEFAULT_DBU_PRICE: f64 = 0.15;

/// What replaces a secret in anything shown to people.
pub const REDACTED: &str = "***";

/// Secret values (from `${env.NAME}`) that must never reach a report or a log.
///
/// `Debug` prints only how many there are. Values shorter than 4 characters are not
/// treated as secrets (redacting them would garble every message and protect nothing).
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret containing another is replaced whole.
    values: Arc<Vec<String>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

impl Secrets {
    /// Secrets made of `values`.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|v| v.chars().count() >= 4)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Secrets {
            values: Arc::new(values),
        }
    }

    /// No secrets at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.values.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// A copy of `value` with every secret in its strings (and keys) replaced.
    pub fn redact_value(&self, value: &Value) -> Value {
        if self.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact_value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Whether a gate can stop a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateMode {
    /// A `fail` stops the deployment (exit code 3 at pre-deploy), `inconclusive` pauses at
    /// pre-promote.
    Enforce,
    /// Report-only: the verdict is recorded and shown, and never blocks.
    Monitor,
}

impl GateMode {
    /// `enforce` or `monitor`.
    pub fn as_str(self) -> &'static str {
        match self {
            GateMode::Enforce => "enforce",
            GateMode::Monitor => "monitor",
        }
    }
}

/// One configured gate instance.
#[derive(Debug, Clone)]
pub struct GateSpec {
    /// Instance name (the key under `gates:`).
    pub name: String,
    /// The component, relative paths resolved against the project.
    pub plugin: PluginRef,
    /// Enforce or monitor.
    pub mode: GateMode,
    /// Where the host asks it, in lifecycle order, without duplicates.
    pub points: Vec<GatePoint>,
    /// Its configuration with references substituted (holds real secret values).
    pub config: Value,
    pub(crate) config_node: Option<Node>,
    pub(crate) span: Span,
}

impl GateSpec {
    /// True when the gate is asked at `point`.
    pub fn runs_at(&self, point: GatePoint) -> bool {
        self.points.contains(&point)
    }
}

/// One configured notifier instance.
#[derive(Debug, Clone)]
pub struct NotifierSpec {
    /// Instance name (the key under `notifiers:`).
    pub name: String,
    /// The component, relative paths resolved against the project.
    pub plugin: PluginRef,
    /// The events it is called for (every event by default).
    pub events: Vec<EventKind>,
    /// Hosts this notifier may reach besides `notifications.allowed_hosts`.
    pub allowed_hosts: Vec<HostPattern>,
    /// Its configuration with references substituted (holds real secret values).
    pub config: Value,
    pub(crate) config_node: Option<Node>,
    pub(crate) span: Span,
}

/// A configured gate or notifier, as findings about its configuration name it.
pub(crate) struct Instance<'a> {
    /// `gate` or `notifier`.
    pub kind: &'static str,
    pub name: &'a str,
    pub plugin: &'a PluginRef,
    pub config_node: Option<&'a Node>,
    pub span: Span,
}

impl GateSpec {
    pub(crate) fn instance(&self) -> Instance<'_> {
        Instance {
            kind: "gate",
            name: &self.name,
            plugin: &self.plugin,
            config_node: self.config_node.as_ref(),
            span: self.span,
        }
    }
}

impl NotifierSpec {
    pub(crate) fn instance(&self) -> Instance<'_> {
        Instance {
            kind: "notifier",
            name: &self.name,
            plugin: &self.plugin,
            config_node: self.config_node.as_ref(),
            span: self.span,
        }
    }
}

/// An allowed destination host: `hooks.slack.com`, `*.webhook.office.com` (any subdomain, not
/// the domain itself), or `127.0.0.1:8080` (that port only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    /// Parses a pattern; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() {
            return Err("a host is empty".into());
        }
        if t.contains("://") || t.contains('/') {
            return Err(format!(
                "`{text}` is not a host: write the host name only (e.g. `hooks.slack.com`), without scheme or path"
            ));
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("`{text}` has an invalid port `{p}`"))?;
                (h.to_owned(), Some(port))
            }
            _ => (t.clone(), None),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_owned(), true),
            None => (host, false),
        };
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':'))
            && !host.contains('*');
        if !valid {
            return Err(format!(
                "`{text}` is not a host name or address (a leading `*.` is the only wildcard)"
            ));
        }
        Ok(HostPattern { host, wildcard, port })
    }

    /// True when `host` (and `port`, the URL's effective port) is allowed by this pattern.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host_ok = if self.wildcard {
            host.len() > self.host.len() + 1
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// How the SMTP session is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (default; port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on loopback (port 25).
    None,
}

/// The mail relay emails go through.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Relay host name.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Sender address.
    pub from: String,
    /// Transport security.
    pub tls: SmtpTls,
    /// User name, when the relay needs credentials.
    pub username: Option<String>,
    /// Password (only from `${env.NAME}`).
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("username", &self.username.as_ref().map(|_| REDACTED))
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .finish()
    }
}

/// `notifications:`: how messages are delivered.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// Hosts every notifier may send HTTP requests to.
    pub allowed_hosts: Vec<HostPattern>,
    /// Attempts per message (1 = no retry).
    pub max_attempts: u32,
    /// Time limit of one attempt.
    pub timeout: Duration,
    /// Extra trusted root certificates (PEM file), resolved against the project.
    pub ca_file: Option<PathBuf>,
    /// The mail relay, when emails are configured.
    pub smtp: Option<SmtpSettings>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        NotificationSettings {
            allowed_hosts: Vec::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            smtp: None,
        }
    }
}

/// `cost:`: the price model of [`super::cost::estimate`].
#[derive(Debug, Clone, PartialEq)]
pub struct CostSettings {
    /// Price of one DBU.
    pub dbu_price: f64,
    /// ISO 4217 currency code of `dbu_price`.
    pub currency: String,
    /// DBU per node-hour for node types missing from (or priced differently than) the
    /// compiled-in table.
    pub dbu_rates: BTreeMap<String, f64>,
}

impl Default for CostSettings {
    fn default() -> Self {
        CostSettings {
            dbu_price: DEFAULT_DBU_PRICE,
            currency: "USD".into(),
            dbu_rates: BTreeMap::new(),
        }
    }
}

/// Everything the plugin sections say for one environment.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// Gates, in file order (top-level first, then the environment's additions).
    pub gates: Vec<GateSpec>,
    /// Notifiers, in file order.
    pub notifiers: Vec<NotifierSpec>,
    /// Delivery settings.
    pub notifications: NotificationSettings,
    /// The cost model.
    pub cost: CostSettings,
    /// Values to redact from everything shown.
    pub secrets: Secrets,
    /// The sources spans point into (for findings about configs).
    pub(crate) sources: SourceMap,
}

impl PluginSettings {
    /// Reads the plugin sections for `pipeline`'s environment. Findings (unknown fields are
    /// warnings, errors under `strict`) point into `brickship.yaml`; any error is
    /// [`EngineError::Invalid`] (exit code 2). Warnings are returned with the settings.
    pub fn load(
        pipeline: &RenderedPipeline,
        env: EnvLookup<'_>,
        strict: bool,
    ) -> Result<(PluginSettings, Diagnostics), EngineError> {
        let mut diags = Diagnostics::new(strict);
        let settings = read(pipeline, env, &mut diags);
        match settings {
            Some(s) if !diags.has_errors() => Ok((s, diags)),
            _ => Err(EngineError::Invalid {
                summary: format!("invalid plugin configuration: {}", diags.summary()),
                diagnostics: Box::new(diags),
            }),
        }
    }

    /// No gates and no notifiers.
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty() && self.notifiers.is_empty()
    }

    /// What a gate or notifier said of its configuration (its `validate-config` result): `true`
    /// when it accepts it; `false` when it refuses it, with one finding per problem pushed to
    /// `diags`, at the value the problem names, with the plugin's example configuration as help
    /// (secrets redacted in both); the error when the call itself failed.
    pub(crate) fn config_accepted(
        &self,
        instance: Instance<'_>,
        validated: Result<(), plugin_host::Error>,
        example: Option<&str>,
        diags: &mut Diagnostics,
    ) -> Result<bool, plugin_host::Error> {
        let problems = match validated {
            Ok(()) => return Ok(true),
            Err(plugin_host::Error::Config { problems, .. }) => problems,
            Err(other) => return Err(other),
        };
        let Instance {
            kind,
            name,
            plugin,
            config_node,
            span,
        } = instance;
        for p in problems {
            let message = format!(
                "{kind} `{name}` (`{}`) refuses its configuration: {}",
                plugin.display_name(),
                self.secrets.redact(&p.to_string())
            );
            diags.push(
                self.config_finding(config_node, span, &p.path, message)
                    .label(format!("refused by the {kind}"))
                    .help_opt(
                        example.map(|e| {
                            format!("the {kind}'s example configuration: {}", self.secrets.redact(e))
                        }),
                    ),
            );
        }
        Ok(false)
    }

    /// A finding about a plugin's configuration, at the value `pointer` names inside the
    /// config node (or its closest ancestor), else at `fallback`.
    pub(crate) fn config_finding(
        &self,
        config_node: Option<&Node>,
        fallback: Span,
        pointer: &str,
        message: String,
    ) -> Diagnostic {
        let span = config_node
            .map(|n| span_at_pointer(n, pointer))
            .unwrap_or(fallback);
        Diagnostic::error(code::INVALID_VALUE, message).at(&self.sources, span)
    }
}

/// The closest node to `pointer` (RFC 6901) inside `node`.
fn span_at_pointer(node: &Node, pointer: &str) -> Span {
    let mut current = node;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = match &current.kind {
            NodeKind::Map(_) => current.get(&token),
            NodeKind::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => current = n,
            None => break,
        }
    }
    current.span
}

/// A plugin a project refers to, for `brickship plugin list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferencedPlugin {
    /// The reference as written (paths relative to the project).
    pub reference: String,
    /// `strategy`, `gate` or `notifier`.
    pub kind: &'static str,
    /// Where: `gates.tags`, `environments.prod.strategy`, ...
    pub used_by: String,
}

/// Every plugin `brickship.yaml` refers to, in every environment (strategies, gates,
/// notifiers), sorted by kind and reference. Unreadable files give an empty list.
pub fn referenced_plugins(project_file_text: &str) -> Vec<ReferencedPlugin> {
    let Ok(root) = crate::node::parse_str(project_file_text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let entries =
        |out: &mut Vec<ReferencedPlugin>, section: Option<&Node>, kind: &'static str, prefix: &str| {
            for e in section.and_then(Node::as_map).unwrap_or_default() {
                let plugin = e.value.get("plugin").and_then(Node::as_str).unwrap_or(&e.key);
                out.push(ReferencedPlugin {
                    reference: plugin.to_owned(),
                    kind,
                    used_by: format!("{prefix}.{}", e.key),
                });
            }
        };
    entries(&mut out, root.get("gates"), "gate", "gates");
    entries(&mut out, root.get("notifiers"), "notifier", "notifiers");
    for env in root
        .get("environments")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        entries(
            &mut out,
            env.value.get("gates"),
            "gate",
            &format!("environments.{}.gates", env.key),
        );
        entries(
            &mut out,
            env.value.get("notifiers"),
            "notifier",
            &format!("environments.{}.notifiers", env.key),
        );
        let strategy = env.value.get("strategy").and_then(|s| match &s.kind {
            NodeKind::Str(name) => Some(name.as_str()),
            NodeKind::Map(_) => s.get("name").and_then(Node::as_str),
            _ => None,
        });
        if let Some(name) = strategy {
            out.push(ReferencedPlugin {
                reference: name.to_owned(),
                kind: "strategy",
                used_by: format!("environments.{}.strategy", env.key),
            });
        }
    }
    for e in root.get("strategies").and_then(Node::as_map).unwrap_or_default() {
        out.push(ReferencedPlugin {
            reference: e.key.clone(),
            kind: "strategy",
            used_by: format!("strategies.{}", e.key),
        });
    }
    out.retain(|p| !p.reference.contains("${"));
    out.sort_by(|a, b| (a.kind, &a.reference, &a.used_by).cmp(&(b.kind, &b.reference, &b.used_by)));
    out
}

// ---------------------------------------------------------------------------------------------

/// The project file's text as the loader read it, with its sources.
fn project_source(pipeline: &RenderedPipeline, diags: &mut Diagnostics) -> Option<(SourceMap, Node)> {
    let mut sources = pipeline.sources.clone();
    let found = sources.files().find_map(|(id, f)| {
        let name = f.path.file_name()?.to_str()?;
        (PROJECT_FILES.contains(&name) && f.path.parent() == Some(pipeline.project.root.as_path()))
            .then(|| (id, f.text.clone()))
    });
    let (id, text) = match found {
        Some(found) => found,
        None => {
            // A pipeline rendered elsewhere (tests): read the file from disk.
            let path = PROJECT_FILES
                .iter()
                .map(|n| pipeline.project.root.join(n))
                .find(|p| p.is_file())?;
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(Diagnostic::error(
                        code::READ,
                        format!("cannot read `{}`: {e}", path.display()),
                    ));
                    return None;
                }
            };
            let display = crate::source::display_path(&pipeline.project.root, &path);
            let id = sources.add(display, &path, text.clone());
            (id, text)
        }
    };
    let node = parse(&text, id, &sources, diags)?;
    Some((sources, node))
}

fn read(pipeline: &RenderedPipeline, env: EnvLookup<'_>, diags: &mut Diagnostics) -> Option<PluginSettings> {
    let (sources, root) = project_source(pipeline, diags)?;
    let environment = pipeline.environment.name.as_str();
    let env_node = root.get("environments").and_then(|e| e.get(environment)).cloned();

    // Raw sections, merged for this environment.
    let merged = |key: &str| -> Option<Node> {
        let top = root.get(key).cloned();
        let own = env_node.as_ref().and_then(|e| e.get(key)).cloned();
        match (top, own) {
            (Some(mut top), Some(own)) => {
                if matches!(top.kind, NodeKind::Null) {
                    return Some(own);
                }
                if own.as_map().is_some() && top.as_map().is_some() {
                    crate::project::merge::merge_plain(&mut top, own);
                    Some(top)
                } else {
                    Some(own)
                }
            }
            (top, own) => own.or(top),
        }
    };
    let mut gates_node = merged("gates");
    let mut notifiers_node = merged("notifiers");
    let mut notifications_node = root.get("notifications").cloned();
    let mut cost_node = root.get("cost").cloned();

    // Secrets: every `${env.NAME}` these sections use, directly or through variables.
    let mut var_defs: BTreeMap<String, Vec<&Node>> = BTreeMap::new();
    for vars in [
        root.get("variables"),
        env_node.as_ref().and_then(|e| e.get("variables")),
    ]
    .into_iter()
    .flatten()
    {
        for e in vars.as_map().unwrap_or_default() {
            var_defs.entry(e.key.clone()).or_default().push(&e.value);
        }
    }
    let mut env_names = BTreeSet::new();
    let mut var_names = BTreeSet::new();
    for node in [&gates_node, &notifiers_node, &notifications_node, &cost_node]
        .into_iter()
        .flatten()
    {
        collect_refs(node, &mut env_names, &mut var_names);
    }
    let mut seen_vars = BTreeSet::new();
    while let Some(name) = var_names.iter().find(|v| !seen_vars.contains(*v)).cloned() {
        seen_vars.insert(name.clone());
        for def in var_defs.get(&name).into_iter().flatten() {
            collect_refs(def, &mut env_names, &mut var_names);
        }
    }
    let secrets = Secrets::new(env_names.iter().filter_map(|name| env(name)));

    // Substitute with the loader's rules.
    let vars: BTreeMap<String, Node> = pipeline
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), Node::from_value(v, root.span)))
        .collect();
    let mut resolver = Resolver::new(
        vars,
        env,
        &pipeline.project.name,
        &pipeline.pipeline,
        environment,
        &sources,
    );
    for node in [
        &mut gates_node,
        &mut notifiers_node,
        &mut notifications_node,
        &mut cost_node,
    ]
    .into_iter()
    .flatten()
    {
        resolver.substitute(node, diags);
    }

    let mut ctx = Ctx {
        sources: &sources,
        diags,
    };
    let root_dir = &pipeline.project.root;
    let gates = gates_node
        .as_ref()
        .map(|n| read_gates(&mut ctx, n, root_dir))
        .unwrap_or_default();
    let notifiers = notifiers_node
        .as_ref()
        .map(|n| read_notifiers(&mut ctx, n, root_dir))
        .unwrap_or_default();
    let notifications = notifications_node
        .as_ref()
        .map(|n| {
            read_notifications(
                &mut ctx,
                n,
                root_dir,
                &raw_string_at(&root, &["notifications", "smtp", "password"]),
            )
        })
        .unwrap_or_default();
    let cost = cost_node
        .as_ref()
        .map(|n| read_cost(&mut ctx, n))
        .unwrap_or_default();
    Some(PluginSettings {
        gates,
        notifiers,
        notifications,
        cost,
        secrets,
        sources,
    })
}

/// The raw (unsubstituted) string at `path` under `root`, if any.
fn raw_string_at(root: &Node, path: &[&str]) -> Option<String> {
    let mut n = root;
    for key in path {
        n = n.get(key)?;
    }
    n.as_str().map(str::to_owned)
}

/// Adds the names of `${env.NAME}` and `${var.NAME}` references in `node`'s strings.
fn collect_refs(node: &Node, env: &mut BTreeSet<String>, vars: &mut BTreeSet<String>) {
    match &node.kind {
        NodeKind::Str(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find("${") {
                if i > 0 && rest.as_bytes()[i - 1] == b'$' {
                    rest = &rest[i + 2..];
                    continue;
                }
                let body = &rest[i + 2..];
                let Some(end) = body.find('}') else { break };
                let inner = body[..end].trim();
                if let Some(name) = inner.strip_prefix("env.") {
                    env.insert(name.to_owned());
                } else if let Some(name) = inner.strip_prefix("var.") {
                    vars.insert(name.to_owned());
                }
                rest = &body[end + 1..];
            }
        }
        NodeKind::Seq(items) => items.iter().for_each(|n| collect_refs(n, env, vars)),
        NodeKind::Map(entries) => entries.iter().for_each(|e| collect_refs(&e.value, env, vars)),
        _ => {}
    }
}

/// Common reading of one `gates:`/`notifiers:` entry: enabled, plugin, config.
struct EntryBase {
    plugin: PluginRef,
    config: Value,
    config_node: Option<Node>,
}

fn entry_base(
    ctx: &mut Ctx<'_>,
    section: &str,
    name: &str,
    node: &Node,
    fields: &[&str],
    root_dir: &std::path::Path,
) -> Option<EntryBase> {
    let path = format!("{section}.{name}");
    ctx.map_or_null(node, &path)?;
    ctx.unknown_fields(node, &format!("`{path}`"), fields);
    if let Some(e) = node.get("enabled")
        && ctx.bool(e, &format!("{path}.enabled")) == Some(false)
    {
        return None;
    }
    let plugin_node = node.get("plugin");
    let text = match plugin_node {
        Some(p) => ctx.str(p, &format!("{path}.plugin"))?.to_owned(),
        None => name.to_owned(),
    };
    let plugin = match text.parse::<PluginRef>() {
        Ok(r) => r.resolve_against(root_dir),
        Err(e) => {
            let at = plugin_node.map(|p| p.span).unwrap_or(node.span);
            ctx.push(
                Diagnostic::error(code::INVALID_VALUE, format!("`{path}.plugin`: {e}"))
                    .at(ctx.sources, at)
                    .label("not a plugin reference")
                    .help(if plugin_node.is_none() {
                        "without `plugin:` the entry's name is the built-in to use; add `plugin: <built-in or path.wasm>`".to_owned()
                    } else {
                        "name a built-in (`brickship plugin list`) or a `.wasm` file, optionally `@sha256:<hex>`".to_owned()
                    }),
            );
            return None;
        }
    };
    if let PluginSource::Path(p) = &plugin.source
        && !p.is_file()
    {
        let at = plugin_node.map(|p| p.span).unwrap_or(node.span);
        ctx.push(
            Diagnostic::error(
                code::INVALID_VALUE,
                format!("`{path}.plugin`: no component at `{}`", p.display()),
            )
            .at(ctx.sources, at)
            .label("file not found")
            .help("paths are relative to the project folder; build the plugin first"),
        );
        return None;
    }
    let config_node = node.get("config").cloned();
    let config = match &config_node {
        None => Value::Object(Default::default()),
        Some(c) => match &c.kind {
            NodeKind::Null => Value::Object(Default::default()),
            NodeKind::Map(_) => c.to_value(),
            _ => {
                ctx.wrong_type(c, &format!("{path}.config"), "a mapping");
                return None;
            }
        },
    };
    Some(EntryBase {
        plugin,
        config,
        config_node,
    })
}

fn read_gates(ctx: &mut Ctx<'_>, node: &Node, root_dir: &std::path::Path) -> Vec<GateSpec> {
    let Some(entries) = ctx.map_or_null(node, "gates") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        let path = format!("gates.{}", e.key);
        let Some(base) = entry_base(ctx, "gates", &e.key, &e.value, GATE_FIELDS, root_dir) else {
            continue;
        };
        let mode = match e.value.get("mode") {
            None => GateMode::Enforce,
            Some(m) => match ctx.str(m, &format!("{path}.mode")) {
                Some("enforce") => GateMode::Enforce,
                Some("monitor") => GateMode::Monitor,
                Some(other) => {
                    ctx.invalid(
                        m,
                        format!("`{path}.mode` is `{other}`"),
                        "not a gate mode",
                        Some(
                            "use `enforce` (a failing gate stops the deploy) or `monitor` (report only)"
                                .into(),
                        ),
                    );
                    continue;
                }
                None => continue,
            },
        };
        let points = match e.value.get("points") {
            None => vec![GatePoint::PreDeploy],
            Some(p) => {
                let Some(items) = ctx.seq(p, &format!("{path}.points")) else {
                    continue;
                };
                let mut points = Vec::new();
                let mut ok = true;
                for item in items {
                    let Some(s) = ctx.str(item, &format!("{path}.points")) else {
                        ok = false;
                        continue;
                    };
                    match serde_json::from_value::<GatePoint>(Value::String(s.to_owned())) {
                        Ok(point) if !points.contains(&point) => points.push(point),
                        Ok(_) => {}
                        Err(_) => {
                            ok = false;
                            ctx.invalid(
                                item,
                                format!("`{s}` is not a gate point"),
                                "unknown point",
                                Some("points are `pre-deploy`, `pre-promote` and `post-deploy`".into()),
                            );
                        }
                    }
                }
                if points.is_empty() && ok {
                    ctx.invalid(
                        p,
                        format!("`{path}.points` is empty"),
                        "no point",
                        Some("list at least one point, or set `enabled: false` to turn the gate off".into()),
                    );
                    continue;
                }
                if !ok {
                    continue;
                }
                points.sort_by_key(|p| match p {
                    GatePoint::PreDeploy => 0,
                    GatePoint::PrePromote => 1,
                    GatePoint::PostDeploy => 2,
                });
                points
            }
        };
        out.push(GateSpec {
            name: e.key.clone(),
            plugin: base.plugin,
            mode,
            points,
            config: base.config,
            config_node: base.config_node,
            span: e.key_span,
        });
    }
    out
}

fn host_patterns(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Vec<HostPattern> {
    let Some(items) = ctx.seq(node, path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(s) = ctx.str(item, path) else { continue };
        match HostPattern::parse(s) {
            Ok(p) => out.push(p),
            Err(message) => ctx.invalid(item, format!("`{path}`: {message}"), "not a host", None),
        }
    }
    out
}

fn read_notifiers(ctx: &mut Ctx<'_>, node: &Node, root_dir: &std::path::Path) -> Vec<NotifierSpec> {
    let Some(entries) = ctx.map_or_null(node, "notifiers") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        let path = format!("notifiers.{}", e.key);
        let Some(base) = entry_base(ctx, "notifiers", &e.key, &e.value, NOTIFIER_FIELDS, root_dir) else {
            continue;
        };
        let events = match e.value.get("events") {
            None => ALL_EVENTS.to_vec(),
            Some(list) => {
                let Some(items) = ctx.seq(list, &format!("{path}.events")) else {
                    continue;
                };
                let mut events = Vec::new();
                for item in items {
                    let Some(s) = ctx.str(item, &format!("{path}.events")) else {
                        continue;
                    };
                    match serde_json::from_value::<EventKind>(Value::String(s.to_owned())) {
                        Ok(k) if !events.contains(&k) => events.push(k),
                        Ok(_) => {}
                        Err(_) => ctx.invalid(
                            item,
                            format!("`{s}` is not an event"),
                            "unknown event",
                            Some(format!(
                                "events are {}",
                                ALL_EVENTS
                                    .iter()
                                    .map(|k| event_name(*k))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        ),
                    }
                }
                events
            }
        };
        let allowed_hosts = e
            .value
            .get("allowed_hosts")
            .map(|n| host_patterns(ctx, n, &format!("{path}.allowed_hosts")))
            .unwrap_or_default();
        out.push(NotifierSpec {
            name: e.key.clone(),
            plugin: base.plugin,
            events,
            allowed_hosts,
            config: base.config,
            config_node: base.config_node,
            span: e.key_span,
        });
    }
    out
}

/// Every event kind, in lifecycle order.
pub const ALL_EVENTS: [EventKind; 7] = [
    EventKind::Started,
    EventKind::StepDone,
    EventKind::PausedForApproval,
    EventKind::GateFailed,
    EventKind::Succeeded,
    EventKind::RolledBack,
    EventKind::Failed,
];

/// The kebab-case name of an event kind.
pub fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Started => "started",
        EventKind::StepDone => "step-done",
        EventKind::PausedForApproval => "paused-for-approval",
        EventKind::GateFailed => "gate-failed",
        EventKind::Succeeded => "succeeded",
        EventKind::RolledBack => "rolled-back",
        EventKind::Failed => "failed",
    }
}

fn int_in(ctx: &mut Ctx<'_>, node: &Node, path: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    match node.kind {
        NodeKind::Int(i) if range.contains(&i) => Some(i),
        NodeKind::Int(i) => {
            ctx.push(
                Diagnostic::error(
                    code::OUT_OF_RANGE,
                    format!("`{path}` is {i}, outside {}..={}", range.start(), range.end()),
                )
                .at(ctx.sources, node.span),
            );
            None
        }
        _ => {
            ctx.wrong_type(node, path, "an integer");
            None
        }
    }
}

fn read_notifications(
    ctx: &mut Ctx<'_>,
    node: &Node,
    root_dir: &std::path::Path,
    raw_password: &Option<String>,
) -> NotificationSettings {
    let mut out = NotificationSettings::default();
    if ctx.map_or_null(node, "notifications").is_none() {
        return out;
    }
    ctx.unknown_fields(node, "`notifications`", NOTIFICATION_FIELDS);
    if let Some(h) = node.get("allowed_hosts") {
        out.allowed_hosts = host_patterns(ctx, h, "notifications.allowed_hosts");
    }
    if let Some(m) = node.get("max_attempts")
        && let Some(n) = int_in(ctx, m, "notifications.max_attempts", 1..=10)
    {
        out.max_attempts = u32::try_from(n).unwrap_or(DEFAULT_MAX_ATTEMPTS);
    }
    if let Some(t) = node.get("timeout")
        && let Some(secs) = crate::project::read::duration(ctx, t, "notifications.timeout")
    {
        out.timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(c) = node.get("ca_file")
        && let Some(path) = ctx.str(c, "notifications.ca_file")
    {
        let full = root_dir.join(path);
        if full.is_file() {
            out.ca_file = Some(full);
        } else {
            ctx.invalid(
                c,
                format!("`notifications.ca_file`: no file at `{path}`"),
                "file not found",
                Some("give a PEM file of root certificates, relative to the project".into()),
            );
        }
    }
    if let Some(s) = node.get("smtp") {
        out.smtp = read_smtp(ctx, s, raw_password);
    }
    out
}

fn read_smtp(ctx: &mut Ctx<'_>, node: &Node, raw_password: &Option<String>) -> Option<SmtpSettings> {
    ctx.map(node, "notifications.smtp")?;
    ctx.unknown_fields(node, "`notifications.smtp`", SMTP_FIELDS);
    let string = |ctx: &mut Ctx<'_>, key: &str| -> Option<String> {
        node.get(key)
            .and_then(|n| ctx.str(n, &format!("notifications.smtp.{key}")))
            .map(str::to_owned)
    };
    let Some(host) = string(ctx, "host") else {
        ctx.push(
            Diagnostic::error(code::MISSING_FIELD, "`notifications.smtp` has no `host`")
                .at(ctx.sources, node.span)
                .help("name the mail relay: `host: smtp.company.com`"),
        );
        return None;
    };
    let Some(from) = string(ctx, "from") else {
        ctx.push(
            Diagnostic::error(code::MISSING_FIELD, "`notifications.smtp` has no `from`")
                .at(ctx.sources, node.span)
                .help("give the sender address: `from: brickship@company.com`"),
        );
        return None;
    };
    if !from.contains('@') {
        if let Some(n) = node.get("from") {
            ctx.invalid(n, format!("`{from}` is not an email address"), "sender", None);
        }
        return None;
    }
    let tls = match node.get("tls") {
        None => SmtpTls::Starttls,
        Some(t) => match ctx.str(t, "notifications.smtp.tls")? {
            "starttls" => SmtpTls::Starttls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            other => {
                ctx.invalid(
                    t,
                    format!("`notifications.smtp.tls` is `{other}`"),
                    "not a TLS mode",
                    Some("use `starttls` (default), `tls` (implicit, port 465) or `none` (loopback relays only)".into()),
                );
                return None;
            }
        },
    };
    if tls == SmtpTls::None && !is_loopback_host(&host) {
        if let Some(t) = node.get("tls") {
            ctx.invalid(
                t,
                format!("`tls: none` sends mail in clear text to `{host}`"),
                "only for a relay on loopback",
                Some("use `starttls` or `tls` for a relay on the network".into()),
            );
        }
        return None;
    }
    let default_port = match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    };
    let port = match node.get("port") {
        None => default_port,
        Some(p) => u16::try_from(int_in(ctx, p, "notifications.smtp.port", 1..=65535)?).ok()?,
    };
    let username = string(ctx, "username");
    let password = string(ctx, "password");
    if password.is_some()
        && !raw_password
            .as_deref()
            .is_some_and(|raw| raw.trim().starts_with("${env."))
    {
        if let Some(p) = node.get("password") {
            ctx.push(
                Diagnostic::error(
                    code::INVALID_VALUE,
                    "`notifications.smtp.password` must come from the environment",
                )
                .at(ctx.sources, p.span)
                .label("a password written in the project file")
                .help("write `password: ${env.SMTP_PASSWORD}` and set the variable where brickship runs"),
            );
        }
        return None;
    }
    if password.is_some() != username.is_some() {
        ctx.push(
            Diagnostic::error(
                code::MISSING_FIELD,
                "`notifications.smtp` needs both `username` and `password`, or neither",
            )
            .at(ctx.sources, node.span),
        );
        return None;
    }
    Some(SmtpSettings {
        host,
        port,
        from,
        tls,
        username,
        password,
    })
}

/// True for `localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn positive_number(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Option<f64> {
    let v = match node.kind {
        NodeKind::Int(i) => i as f64,
        NodeKind::Float(f) => f,
        _ => {
            ctx.wrong_type(node, path, "a number");
            return None;
        }
    };
    if v.is_finite() && v > 0.0 {
        Some(v)
    } else {
        ctx.invalid(node, format!("`{path}` must be positive"), "not positive", None);
        None
    }
}

fn read_cost(ctx: &mut Ctx<'_>, node: &Node) -> CostSettings {
    let mut out = CostSettings::default();
    if ctx.map_or_null(node, "cost").is_none() {
        return out;
    }
    ctx.unknown_fields(node, "`cost`", COST_FIELDS);
    if let Some(p) = node.get("dbu_price")
        && let Some(v) = positive_number(ctx, p, "cost.dbu_price")
    {
        out.dbu_price = v;
    }
    if let Some(c) = node.get("currency")
        && let Some(s) = ctx.str(c, "cost.currency")
    {
        if s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase()) {
            out.currency = s.to_owned();
        } else {
            ctx.invalid(
                c,
                format!("`{s}` is not a currency code"),
                "not ISO 4217",
                Some("e.g. `USD`, `EUR`".into()),
            );
        }
    }
    if let Some(r) = node.get("dbu_rates")
        && let Some(entries) = ctx.map_or_null(r, "cost.dbu_rates")
    {
        for e in entries {
            if let Some(v) = positive_number(ctx, &e.value, &format!("cost.dbu_rates.{}", e.key)) {
                out.dbu_rates.insert(e.key.clone(), v);
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
