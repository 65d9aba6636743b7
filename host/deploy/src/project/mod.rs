//! Loading a pipeline project: `brickship.yaml`, a pipeline's `job.yaml`, its environment
//! overlay and an optional `--config-file`, rendered into the job settings to deploy.
//!
//! [`load`] never stops at the first problem: every finding goes into
//! [`Loaded::diagnostics`], and [`Loaded::pipeline`] is `Some` when rendering got far enough
//! to produce settings (it may still have errors; check
//! [`Diagnostics::has_errors`](crate::diagnostics::Diagnostics::has_errors)).
//! The rendering steps are:
//!
//! 1. read `brickship.yaml` ([`ProjectConfig`]), check every environment;
//! 2. read the `--config-file` ([`DeployOptions`], variables, environment overrides, job overlay);
//! 3. resolve the environment: `environments.<env>` + `environment_overrides.<env>` + top-level
//!    `monitoring` defaults, references substituted ([`EnvironmentConfig`]);
//! 4. read `pipelines/<name>/job.yaml` (or `.yml`/`.json`), merge
//!    `pipelines/<name>/environments/<env>.yaml` and the config file's `job:` over it
//!    ([`merge`]), default `name` to `<pipeline>-<environment>`;
//! 5. substitute `${...}` references ([`vars`]);
//! 6. add monitoring health rules when enabled ([`crate::monitoring`]);
//! 7. convert to JSON with a span for every value, split out `access_control_list`, hash.

pub mod config;
pub mod deploy_config;
pub mod merge;
pub(crate) mod read;
pub mod sync;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use config::{
    EnvironmentConfig, MonitoringSettings, ProjectConfig, StrategyRef, SyncMapping, WorkspaceTarget,
};
pub use deploy_config::{ActiveRunsPolicy, DeployOptions};
pub use vars::{EnvLookup, process_env};

use crate::diagnostics::{Diagnostic, Diagnostics, code, did_you_mean};
use crate::node::{Node, NodeKind, SpanMap, parse};
use crate::source::{FileId, Pos, SourceMap, Span, display_path};
use read::Ctx;

/// File names accepted for the project file, in order of preference.
pub const PROJECT_FILES: &[&str] = &["brickship.yaml", "brickship.yml"];
/// File names accepted for a pipeline's job spec, in order of preference.
pub const JOB_FILES: &[&str] = &["job.yaml", "job.yml", "job.json"];
const OVERLAY_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// What to load.
#[derive(Clone, Copy)]
pub struct LoadRequest<'a> {
    /// Project root (the folder holding `brickship.yaml`).
    pub project_dir: &'a Path,
    /// Pipeline name: a folder under `pipelines/`.
    pub pipeline: &'a str,
    /// Environment name from `brickship.yaml`.
    pub environment: &'a str,
    /// `--config-file`, relative to the current directory or absolute.
    pub config_file: Option<&'a Path>,
    /// `--var NAME=VALUE` overrides (values read as YAML scalars: `7200` is a number, quote
    /// for a string).
    pub variables: &'a [(String, String)],
    /// Environment variable lookup for `${env.NAME}`.
    pub env: EnvLookup<'a>,
    /// `--enable-monitoring` / `--no-enable-monitoring`: wins over the config file and the
    /// environment.
    pub enable_monitoring: Option<bool>,
    /// Unknown fields are errors.
    pub strict: bool,
}

impl<'a> LoadRequest<'a> {
    /// A request with no config file, no overrides, the real process environment, not strict.
    pub fn new(project_dir: &'a Path, pipeline: &'a str, environment: &'a str) -> Self {
        Self {
            project_dir,
            pipeline,
            environment,
            config_file: None,
            variables: &[],
            env: &process_env,
            enable_monitoring: None,
            strict: false,
        }
    }
}

/// Project-level settings carried with a rendered pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct ProjectSettings {
    /// Project root on disk.
    pub root: PathBuf,
    /// `project:` name.
    pub name: String,
    /// Workspace folder for journals, snapshots and locks.
    pub state_root: String,
    /// Folders the deploy uploads.
    pub sync: Vec<SyncMapping>,
    /// Opaque `gates:`.
    pub gates: Option<Value>,
    /// Opaque `notifiers:`.
    pub notifiers: Option<Value>,
    /// Opaque `plugins:`.
    pub plugins: Option<Value>,
    /// Opaque `strategies:`.
    pub strategies: Option<Value>,
}

/// A principal in an access control list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// `user_name`
    User(String),
    /// `group_name`
    Group(String),
    /// `service_principal_name`
    ServicePrincipal(String),
}

impl Principal {
    /// Reads the principal of an ACL entry object (exactly one principal field).
    pub fn from_entry(v: &Value) -> Option<Principal> {
        let mut found = vec![];
        for (key, make) in [
            ("user_name", Principal::User as fn(String) -> Principal),
            ("group_name", Principal::Group),
            ("service_principal_name", Principal::ServicePrincipal),
        ] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                found.push(make(s.to_string()));
            }
        }
        if found.len() == 1 { found.pop() } else { None }
    }

    /// The JSON field name (`user_name`...).
    pub fn field(&self) -> &'static str {
        match self {
            Principal::User(_) => "user_name",
            Principal::Group(_) => "group_name",
            Principal::ServicePrincipal(_) => "service_principal_name",
        }
    }

    /// The principal's name.
    pub fn name(&self) -> &str {
        match self {
            Principal::User(s) | Principal::Group(s) | Principal::ServicePrincipal(s) => s,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Principal::User(_) => "user",
            Principal::Group(_) => "group",
            Principal::ServicePrincipal(_) => "service_principal",
        };
        write!(f, "{kind}:{}", self.name())
    }
}

/// One desired permission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AclEntry {
    /// Who.
    pub principal: Principal,
    /// `CAN_VIEW`, `CAN_MANAGE_RUN`, `CAN_MANAGE` or `IS_OWNER`.
    pub permission_level: String,
}

impl AclEntry {
    /// The entry as the Permissions API expects it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ self.principal.field(): self.principal.name(), "permission_level": self.permission_level })
    }
}

/// A pipeline rendered for one environment: the settings to deploy and everything the deploy
/// needs to know about the project and environment.
#[derive(Clone, Debug)]
pub struct RenderedPipeline {
    /// Project-level settings.
    pub project: ProjectSettings,
    /// Pipeline name (folder under `pipelines/`).
    pub pipeline: String,
    /// The environment being deployed.
    pub environment: EnvironmentConfig,
    /// Options from the `--config-file` (the CLI merges its flags over them).
    pub deploy: DeployOptions,
    /// Job settings in the Jobs API shape, without `access_control_list`.
    pub settings: Value,
    /// The desired `access_control_list` entries as written (JSON objects).
    pub access_control_list: Vec<Value>,
    /// JSON pointer → span for `settings` (e.g. `/tasks/0/task_key`) and the ACL
    /// (`/access_control_list/0/user_name`).
    pub spans: SpanMap,
    /// Every file read, for locating spans.
    pub sources: SourceMap,
    /// Resolved variables.
    pub variables: BTreeMap<String, Value>,
    /// Whether monitoring is on for this deploy (after flag and config file).
    pub monitoring_enabled: bool,
    /// sha256 (hex) of the canonical JSON of `{"access_control_list", "settings"}`.
    pub content_hash: String,
}

impl RenderedPipeline {
    /// The job name.
    pub fn job_name(&self) -> &str {
        self.settings
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The well-formed ACL entries (malformed ones are validation findings).
    pub fn acl(&self) -> Vec<AclEntry> {
        self.access_control_list
            .iter()
            .filter_map(|v| {
                Some(AclEntry {
                    principal: Principal::from_entry(v)?,
                    permission_level: v.get("permission_level")?.as_str()?.to_string(),
                })
            })
            .collect()
    }

    /// The span of the value at `pointer` (or its closest ancestor).
    pub fn span(&self, pointer: &str) -> Option<Span> {
        self.spans.value(pointer)
    }

    /// The settings plus the ACL, as sent to `jobs/create`.
    pub fn create_request(&self) -> Value {
        let mut v = self.settings.clone();
        if let Some(obj) = v.as_object_mut()
            && !self.access_control_list.is_empty()
        {
            obj.insert(
                "access_control_list".into(),
                Value::Array(self.access_control_list.clone()),
            );
        }
        v
    }
}

/// The result of [`load`]: findings, and the rendered pipeline when rendering got that far.
#[derive(Debug)]
pub struct Loaded {
    /// Every finding.
    pub diagnostics: Diagnostics,
    /// The rendered pipeline.
    pub pipeline: Option<RenderedPipeline>,
}

/// Canonical JSON: object keys sorted at every level, no whitespace.
pub fn canonical_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// sha256 (hex) of the canonical JSON of `{"access_control_list": acl, "settings": settings}`.
pub fn content_hash(settings: &Value, acl: &[Value]) -> String {
    let doc = serde_json::json!({ "access_control_list": acl, "settings": settings });
    hex::encode(Sha256::digest(canonical_json(&doc).as_bytes()))
}

/// Pipelines of the project at `root`: folders under `pipelines/` holding a job spec, sorted.
pub fn list_pipelines(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join("pipelines")) else {
        return vec![];
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| JOB_FILES.iter().any(|f| e.path().join(f).is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn read_file(sources: &mut SourceMap, root: &Path, path: &Path, diags: &mut Diagnostics) -> Option<FileId> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(sources.add(display_path(root, path), path, text)),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    code::READ,
                    format!("cannot read `{}`: {e}", display_path(root, path)),
                )
                .help("check that the file exists and is readable"),
            );
            None
        }
    }
}

fn find_file(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// Reads and checks `brickship.yaml` alone.
pub fn load_project(project_dir: &Path, strict: bool) -> (Option<ProjectConfig>, SourceMap, Diagnostics) {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new(strict);
    let config = read_project(project_dir, &mut sources, &mut diags);
    (config, sources, diags)
}

fn read_project(root: &Path, sources: &mut SourceMap, diags: &mut Diagnostics) -> Option<ProjectConfig> {
    let Some(path) = find_file(root, PROJECT_FILES) else {
        diags.push(not_a_project(root));
        return None;
    };
    read_project_file(root, &path, sources, diags)
}

/// Reads and checks the project file `path` of the project at `root`.
fn read_project_file(
    root: &Path,
    path: &Path,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<ProjectConfig> {
    let id = read_file(sources, root, path, diags)?;
    let text = sources.get(id).map(|f| f.text.clone()).unwrap_or_default();
    let node = parse(&text, id, sources, diags)?;
    let mut ctx = Ctx { sources, diags };
    config::parse_project(&mut ctx, &node, root)
}

/// The finding for a project directory that does not exist or has no `brickship.yaml`.
fn not_a_project(root: &Path) -> Diagnostic {
    if root.is_dir() {
        Diagnostic::error(
            code::NOT_A_PROJECT,
            format!(
                "`{}` is not a brickship project: it has no `brickship.yaml`",
                root.display()
            ),
        )
        .help("run brickship from the project root, or pass the project directory")
    } else {
        Diagnostic::error(
            code::NOT_A_PROJECT,
            format!("the project directory `{}` does not exist", root.display()),
        )
        .help("check the path given to `--project`")
    }
}

fn parse_file(
    sources: &mut SourceMap,
    root: &Path,
    path: &Path,
    diags: &mut Diagnostics,
) -> Option<(FileId, Node)> {
    let id = read_file(sources, root, path, diags)?;
    let text = sources.get(id).map(|f| f.text.clone()).unwrap_or_default();
    let node = parse(&text, id, sources, diags)?;
    Some((id, node))
}

/// Loads and renders `request.pipeline` for `request.environment`. See the module docs.
pub fn load(request: &LoadRequest<'_>) -> Loaded {
    let mut diags = Diagnostics::new(request.strict);
    let mut sources = SourceMap::new();
    let pipeline = render(request, &mut sources, &mut diags);
    Loaded {
        diagnostics: diags,
        pipeline,
    }
}

fn render(
    req: &LoadRequest<'_>,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Option<RenderedPipeline> {
    let root = req.project_dir;
    let Some(project_file) = find_file(root, PROJECT_FILES) else {
        // Not a project at all: what else could be said about it would only be noise.
        diags.push(not_a_project(root));
        return None;
    };
    let project = read_project_file(root, &project_file, sources, diags);

    // The config file is read even when brickship.yaml is broken, so all its findings show.
    let deploy_config = match req.config_file {
        Some(path) => match parse_file(sources, root, path, diags) {
            Some((_, node)) => {
                let mut ctx = Ctx { sources, diags };
                Some(deploy_config::parse_deploy_config(&mut ctx, &node))
            }
            None => None,
        },
        None => None,
    };
    let deploy_config = deploy_config.unwrap_or_default();

    // Environment.
    let mut env_node = None;
    if let Some(project) = &project {
        match project.environment(req.environment) {
            Some(n) => env_node = Some(n.clone()),
            None => {
                let names = project.environment_names();
                let d = Diagnostic::error(
                    code::UNKNOWN_ENVIRONMENT,
                    format!(
                        "environment `{}` is not defined in `brickship.yaml`",
                        req.environment
                    ),
                );
                let d = match did_you_mean(req.environment, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`? environments: {}", names.join(", "))),
                    None => d.help(format!(
                        "environments: {}; add `{}` under `environments:` to deploy there",
                        names.join(", "),
                        req.environment
                    )),
                };
                diags.push(d);
            }
        }
        for (name, key_span, _) in &deploy_config.environment_overrides {
            if project.environment(name).is_none() {
                diags.push(
                    Diagnostic::warning(
                        code::UNKNOWN_ENVIRONMENT_CONFIG,
                        format!(
                            "`environment_overrides` has an entry for `{name}`, which is not an environment"
                        ),
                    )
                    .at(sources, *key_span)
                    .label("not defined in `brickship.yaml`")
                    .help(format!(
                        "environments: {}",
                        project.environment_names().join(", ")
                    )),
                );
            }
        }
    }

    // Pipeline.
    let pipeline_dir = root.join("pipelines").join(req.pipeline);
    let valid_pipeline_name = config::valid_name(req.pipeline);
    let job_path = if valid_pipeline_name {
        find_file(&pipeline_dir, JOB_FILES)
    } else {
        None
    };
    if job_path.is_none() {
        let available = list_pipelines(root);
        let msg = if valid_pipeline_name && pipeline_dir.is_dir() {
            format!(
                "pipeline `{}` has no `job.yaml` in `pipelines/{}/`",
                req.pipeline, req.pipeline
            )
        } else {
            format!("pipeline `{}` does not exist", req.pipeline)
        };
        let help = if available.is_empty() {
            "this project has no pipelines yet: create `pipelines/<name>/job.yaml`".to_string()
        } else {
            match did_you_mean(req.pipeline, available.iter().map(String::as_str)) {
                Some(s) => format!(
                    "did you mean `{s}`? pipelines in this project: {}",
                    available.join(", ")
                ),
                None => format!("pipelines in this project: {}", available.join(", ")),
            }
        };
        diags.push(Diagnostic::error(code::UNKNOWN_PIPELINE, msg).help(help));
    }
    let job = job_path.and_then(|p| parse_file(sources, root, &p, diags));

    // Overlays for this environment, and a warning for overlays of unknown environments.
    let mut overlay = None;
    let overlay_dir = pipeline_dir.join("environments");
    if job.is_some()
        && let Ok(entries) = std::fs::read_dir(&overlay_dir)
    {
        let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !OVERLAY_EXTENSIONS.contains(&ext.as_str()) {
                continue;
            }
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if stem == req.environment {
                if overlay.is_none() {
                    overlay = parse_file(sources, root, &path, diags);
                }
            } else if let Some(project) = &project
                && project.environment(&stem).is_none()
            {
                diags.push(
                    Diagnostic::warning(
                        code::UNKNOWN_ENVIRONMENT_CONFIG,
                        format!(
                            "overlay `{}` is for environment `{stem}`, which `brickship.yaml` does not define",
                            display_path(root, &path)
                        ),
                    )
                    .help(format!(
                        "rename it to one of: {}, or add `{stem}` under `environments:`",
                        project.environment_names().join(", ")
                    )),
                );
            }
        }
    }

    let project = project?;
    let mut env_node = env_node?;
    let (_, mut job) = job?;

    // Resolve the environment node: overrides from the config file and top-level monitoring.
    if let Some((_, _, o)) = deploy_config
        .environment_overrides
        .iter()
        .find(|(n, _, _)| n == req.environment)
    {
        merge::merge_plain(&mut env_node, o.clone());
    }
    if let Some(defaults) = &project.monitoring {
        let mut m = defaults.clone();
        if let Some(own) = env_node.get("monitoring") {
            merge::merge_plain(&mut m, own.clone());
        }
        if matches!(env_node.kind, NodeKind::Null) {
            env_node = Node::new(NodeKind::Map(vec![]), env_node.span);
        }
        merge::set(&mut env_node, "monitoring", m);
    }

    // Variables: project < environment < config file < --var.
    let env_vars = match env_node.get("variables") {
        Some(n) => {
            let mut ctx = Ctx { sources, diags };
            config::variables(
                &mut ctx,
                n,
                &format!("environments.{}.variables", req.environment),
            )
        }
        None => vec![],
    };
    let cli_vars = cli_variables(sources, req.variables, diags);
    let vars = config::layer_variables(&[&project.variables, &env_vars, &deploy_config.variables, &cli_vars]);

    let mut resolver = vars::Resolver::new(
        vars,
        req.env,
        &project.name,
        req.pipeline,
        req.environment,
        sources,
    );
    let mut env_for_settings = env_node.clone();
    if let Some(entries) = env_for_settings.as_map_mut() {
        entries.retain(|e| e.key != "variables");
    }
    resolver.substitute(&mut env_for_settings, diags);
    let environment = {
        let mut ctx = Ctx { sources, diags };
        config::parse_environment(&mut ctx, req.environment, &env_for_settings)
    };

    // Job: overlays, default name, substitution.
    match &job.kind {
        NodeKind::Map(_) => {}
        NodeKind::Null => {
            diags.push(
                Diagnostic::error(
                    code::MISSING_FIELD,
                    format!("the job spec of pipeline `{}` is empty", req.pipeline),
                )
                .at(sources, job.span)
                .help(
                    "describe the job in the Jobs API shape: `name`, `tasks`, `job_clusters`, `schedule`...",
                ),
            );
            return None;
        }
        _ => {
            diags.push(
                Diagnostic::error(
                    code::WRONG_TYPE,
                    format!("the job spec must be a mapping, found {}", job.type_name()),
                )
                .at(sources, job.span),
            );
            return None;
        }
    }
    if let Some((_, o)) = overlay {
        if o.as_map().is_some() {
            merge::merge_job(&mut job, o);
        } else if !matches!(o.kind, NodeKind::Null) {
            diags.push(
                Diagnostic::error(
                    code::WRONG_TYPE,
                    format!("an overlay must be a mapping, found {}", o.type_name()),
                )
                .at(sources, o.span),
            );
        }
    }
    if let Some(o) = &deploy_config.job {
        merge::merge_job(&mut job, o.clone());
    }
    if job.get("name").is_none() {
        let span = Span::point(job.span.file, job.span.start);
        merge::set(
            &mut job,
            "name",
            Node::string(format!("{}-{}", req.pipeline, req.environment), span),
        );
    }
    resolver.substitute(&mut job, diags);
    let variables = resolver.resolved_variables(&mut Diagnostics::new(false));

    let monitoring_enabled = req
        .enable_monitoring
        .or(deploy_config.options.enable_monitoring)
        .unwrap_or(environment.monitoring.enabled);
    if monitoring_enabled {
        crate::monitoring::inject(&mut job, &environment.monitoring);
    }

    let (mut settings, spans) = job.to_json();
    let mut access_control_list = vec![];
    if let Some(obj) = settings.as_object_mut()
        && let Some(acl) = obj.shift_remove("access_control_list")
    {
        match acl {
            Value::Array(items) => access_control_list = items,
            Value::Null => {}
            other => diags.push(
                Diagnostic::error(
                    code::WRONG_TYPE,
                    format!(
                        "`access_control_list` must be a list, found {}",
                        crate::node::value_type_name(&other)
                    ),
                )
                .at_opt(sources, spans.value("/access_control_list")),
            ),
        }
    }
    let content_hash = content_hash(&settings, &access_control_list);
    Some(RenderedPipeline {
        project: ProjectSettings {
            root: root.to_path_buf(),
            name: project.name.clone(),
            state_root: project.state_root.clone(),
            sync: project.sync.clone(),
            gates: project.gates.clone(),
            notifiers: project.notifiers.clone(),
            plugins: project.plugins.clone(),
            strategies: project.strategies.clone(),
        },
        pipeline: req.pipeline.to_string(),
        environment,
        deploy: deploy_config.options,
        settings,
        access_control_list,
        spans,
        sources: sources.clone(),
        variables,
        monitoring_enabled,
        content_hash,
    })
}

/// `--var NAME=VALUE` pairs as variable nodes pointing into a synthetic `<command line>` file.
fn cli_variables(
    sources: &mut SourceMap,
    vars: &[(String, String)],
    diags: &mut Diagnostics,
) -> Vec<(String, Node)> {
    if vars.is_empty() {
        return vec![];
    }
    let text: String = vars.iter().map(|(k, v)| format!("--var {k}={v}\n")).collect();
    let id = sources.add("<command line>", "<command line>", text);
    let mut out = vec![];
    for (i, (k, v)) in vars.iter().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let start = u32::try_from("--var ".len() + k.chars().count() + 2).unwrap_or(1);
        let len = u32::try_from(v.chars().count()).unwrap_or(0);
        let span = Span::new(id, Pos::new(line, start), Pos::new(line, start + len));
        if !config::valid_variable_name(k) {
            diags.push(
                Diagnostic::error(code::BAD_KEY, format!("variable name `{k}` is not valid"))
                    .at(
                        sources,
                        Span::new(id, Pos::new(line, 7), Pos::new(line, start - 1)),
                    )
                    .label("use letters, digits, `_` and `-`, starting with a letter or `_`"),
            );
            continue;
        }
        out.push((k.clone(), Node::new(crate::node::plain_scalar(v), span)));
    }
    out
}

#[cfg(test)]
mod tests;
