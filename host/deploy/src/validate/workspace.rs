//! Checks that need the workspace: the notebooks and files the job references exist (counting
//! those the project's `sync` will upload), node types and Spark versions exist, and secret
//! scopes referenced as `{{secrets/<scope>/<key>}}` in `spark_conf` / `spark_env_vars` exist.
//!
//! The workspace is reached through [`WorkspaceProbe`], implemented by the online half with the
//! real client and by tests with a fake. A probe failure is a warning (`W004`), never a crash:
//! offline findings are still reported.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use serde_json::Value;

use crate::diagnostics::{Diagnostic, Diagnostics, code, did_you_mean};
use crate::project::RenderedPipeline;
use crate::project::sync::{normalize_workspace_path, sync_plan, synced_paths};
use crate::source::SourceMap;

/// A probe call failed (network, auth, server error).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProbeError {
    /// What failed (lowercase).
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ProbeError {
    /// An error with a message and no source.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

/// The type of a workspace object (`workspace/get-status` `object_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// `NOTEBOOK`
    Notebook,
    /// `FILE`
    File,
    /// `DIRECTORY`
    Directory,
    /// `LIBRARY`, `REPO`, `DASHBOARD`...
    Other,
}

/// Read-only questions validation asks the workspace.
pub trait WorkspaceProbe {
    /// The type of the object at `path` (with or without the `/Workspace` prefix), `None` when
    /// it does not exist.
    fn object_kind(&self, path: &str) -> impl Future<Output = Result<Option<ObjectKind>, ProbeError>> + Send;
    /// Every node type id (`clusters/list-node-types`).
    fn node_types(&self) -> impl Future<Output = Result<Vec<String>, ProbeError>> + Send;
    /// Every Spark version key (`clusters/spark-versions`).
    fn spark_versions(&self) -> impl Future<Output = Result<Vec<String>, ProbeError>> + Send;
    /// Every secret scope name (`secrets/scopes/list`).
    fn secret_scopes(&self) -> impl Future<Output = Result<Vec<String>, ProbeError>> + Send;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Notebook,
    File,
}

struct Refs {
    paths: Vec<(String, Want, String)>,
    node_types: Vec<(String, String)>,
    spark_versions: Vec<(String, String)>,
    scopes: Vec<(String, String)>,
}

fn is_workspace_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("/Volumes/") && !p.starts_with("/dbfs/")
}

fn secret_scope(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{secrets/")?.strip_suffix("}}")?;
    let (scope, key) = inner.split_once('/')?;
    (!scope.is_empty() && !key.is_empty() && !key.contains('/')).then_some(scope)
}

fn collect_cluster(spec: &Value, ptr: &str, refs: &mut Refs) {
    for key in ["node_type_id", "driver_node_type_id"] {
        if let Some(n) = spec.get(key).and_then(Value::as_str) {
            refs.node_types.push((n.to_string(), format!("{ptr}/{key}")));
        }
    }
    if let Some(v) = spec.get("spark_version").and_then(Value::as_str) {
        refs.spark_versions
            .push((v.to_string(), format!("{ptr}/spark_version")));
    }
    for map in ["spark_conf", "spark_env_vars"] {
        if let Some(m) = spec.get(map).and_then(Value::as_object) {
            for (k, v) in m {
                if let Some(scope) = v.as_str().and_then(secret_scope) {
                    refs.scopes.push((
                        scope.to_string(),
                        format!("{ptr}/{map}/{}", crate::node::escape_pointer(k)),
                    ));
                }
            }
        }
    }
}

fn collect_task(t: &Value, ptr: &str, git: bool, refs: &mut Refs) {
    // The task types whose code is a path, and what must be there. A path in a task whose
    // `source` is GIT (or, without one, in a job with `git_source`) is in the repository.
    for (task_type, field, want) in [
        ("notebook_task", "notebook_path", Want::Notebook),
        ("spark_python_task", "python_file", Want::File),
    ] {
        let Some(task) = t.get(task_type) else {
            continue;
        };
        let from_git = task
            .get("source")
            .and_then(Value::as_str)
            .map_or(git, |s| s == "GIT");
        if let Some(path) = task.get(field).and_then(Value::as_str)
            && !from_git
            && is_workspace_path(path)
        {
            refs.paths
                .push((path.to_string(), want, format!("{ptr}/{task_type}/{field}")));
        }
    }
    if let Some(libs) = t.get("libraries").and_then(Value::as_array) {
        for (i, lib) in libs.iter().enumerate() {
            for kind in ["whl", "jar", "requirements", "egg"] {
                if let Some(path) = lib.get(kind).and_then(Value::as_str)
                    && is_workspace_path(path)
                {
                    refs.paths.push((
                        path.to_string(),
                        Want::File,
                        format!("{ptr}/libraries/{i}/{kind}"),
                    ));
                }
            }
        }
    }
    if let Some(spec) = t.get("new_cluster") {
        collect_cluster(spec, &format!("{ptr}/new_cluster"), refs);
    }
    if let Some(inner) = t.get("for_each_task").and_then(|f| f.get("task")) {
        collect_task(inner, &format!("{ptr}/for_each_task/task"), git, refs);
    }
}

fn collect(settings: &Value) -> Refs {
    let mut refs = Refs {
        paths: vec![],
        node_types: vec![],
        spark_versions: vec![],
        scopes: vec![],
    };
    let git = settings.get("git_source").is_some();
    if let Some(clusters) = settings.get("job_clusters").and_then(Value::as_array) {
        for (i, c) in clusters.iter().enumerate() {
            if let Some(spec) = c.get("new_cluster") {
                collect_cluster(spec, &format!("/job_clusters/{i}/new_cluster"), &mut refs);
            }
        }
    }
    if let Some(tasks) = settings.get("tasks").and_then(Value::as_array) {
        for (i, t) in tasks.iter().enumerate() {
            collect_task(t, &format!("/tasks/{i}"), git, &mut refs);
        }
    }
    refs
}

fn at(sources: &SourceMap, p: &RenderedPipeline, d: Diagnostic, ptr: &str) -> Diagnostic {
    d.at_opt(sources, p.spans.value(ptr))
}

fn sample(names: &[String]) -> String {
    let mut v: Vec<&str> = names.iter().map(String::as_str).take(8).collect();
    if names.len() > 8 {
        v.push("...");
    }
    v.join(", ")
}

/// Checks a named set (node types, Spark versions, scopes) against what the workspace has.
#[expect(
    clippy::too_many_arguments,
    reason = "shared by three checks that differ only in these values"
)]
fn check_set(
    p: &RenderedPipeline,
    diags: &mut Diagnostics,
    refs: &[(String, String)],
    available: Result<Vec<String>, ProbeError>,
    code: &'static str,
    what: &str,
    plural: &str,
    help: &str,
) {
    if refs.is_empty() {
        return;
    }
    let available = match available {
        Ok(a) => a,
        Err(e) => {
            diags.push(
                Diagnostic::warning(
                    code::PROBE_FAILED,
                    format!("could not list the workspace's {plural}: {e}"),
                )
                .help(format!(
                    "{plural} were not checked; retry when the workspace is reachable"
                )),
            );
            return;
        }
    };
    for (name, ptr) in refs {
        if crate::project::vars::has_reference(name) || available.iter().any(|a| a == name) {
            continue;
        }
        let d = Diagnostic::error(code, format!("{what} `{name}` does not exist in this workspace"));
        let d = match did_you_mean(name, available.iter().map(String::as_str)) {
            Some(s) => d.label(format!("did you mean `{s}`?")),
            None => d.label(format!("unknown {what}")),
        };
        let d = if available.is_empty() {
            d.help(help.to_string())
        } else {
            d.help(format!("{plural} in this workspace: {}", sample(&available)))
        };
        diags.push(at(&p.sources, p, d, ptr));
    }
}

/// Runs every workspace check for `p` against `probe`, pushing findings into `diags`.
pub async fn check_workspace<P: WorkspaceProbe>(p: &RenderedPipeline, probe: &P, diags: &mut Diagnostics) {
    let refs = collect(&p.settings);
    let synced: BTreeSet<String> = match sync_plan(&p.project.root, &p.project.sync) {
        Ok(entries) => synced_paths(&entries),
        Err(e) => {
            diags.push(Diagnostic::warning(
                code::PROBE_FAILED,
                format!("could not read the project's sync folders: {e}"),
            ));
            BTreeSet::new()
        }
    };
    let mut cache: HashMap<String, Result<Option<ObjectKind>, String>> = HashMap::new();
    for (path, want, ptr) in &refs.paths {
        if crate::project::vars::has_reference(path) {
            continue;
        }
        let norm = normalize_workspace_path(path);
        if synced.contains(&norm) {
            continue;
        }
        let result = match cache.get(&norm) {
            Some(r) => r.clone(),
            None => {
                let r = probe.object_kind(path).await.map_err(|e| e.to_string());
                cache.insert(norm.clone(), r.clone());
                r
            }
        };
        let noun = if *want == Want::Notebook {
            "notebook"
        } else {
            "file"
        };
        match result {
            Err(e) => diags.push(at(
                &p.sources,
                p,
                Diagnostic::warning(
                    code::PROBE_FAILED,
                    format!("could not check {noun} `{path}`: {e}"),
                ),
                ptr,
            )),
            Ok(None) => {
                let help = if p.project.sync.is_empty() {
                    "upload it first, or add its folder to `sync:` in brickship.yaml so the deploy uploads it"
                        .to_string()
                } else {
                    format!(
                        "`sync` uploads to {}; put the {noun} in a synced folder or fix the path",
                        p.project
                            .sync
                            .iter()
                            .map(|s| format!("`{}`", s.dest))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                diags.push(at(
                    &p.sources,
                    p,
                    Diagnostic::error(
                        code::WORKSPACE_PATH,
                        format!("{noun} `{path}` does not exist in the workspace"),
                    )
                    .label(format!("no such {noun}"))
                    .help(help),
                    ptr,
                ));
            }
            Ok(Some(kind)) => {
                let ok = match want {
                    Want::Notebook => kind == ObjectKind::Notebook,
                    Want::File => kind == ObjectKind::File || kind == ObjectKind::Other,
                };
                if !ok {
                    let is = match kind {
                        ObjectKind::Notebook => "a notebook",
                        ObjectKind::File => "a file",
                        ObjectKind::Directory => "a folder",
                        ObjectKind::Other => "another kind of object",
                    };
                    diags.push(at(
                        &p.sources,
                        p,
                        Diagnostic::error(code::WORKSPACE_PATH, format!("`{path}` is {is}, not a {noun}"))
                            .label(format!("expected a {noun}")),
                        ptr,
                    ));
                }
            }
        }
    }
    let node_types = if refs.node_types.is_empty() {
        Ok(vec![])
    } else {
        probe.node_types().await
    };
    check_set(
        p,
        diags,
        &refs.node_types,
        node_types,
        code::NODE_TYPE,
        "node type",
        "node types",
        "the workspace lists no node types",
    );
    let versions = if refs.spark_versions.is_empty() {
        Ok(vec![])
    } else {
        probe.spark_versions().await
    };
    check_set(
        p,
        diags,
        &refs.spark_versions,
        versions,
        code::SPARK_VERSION,
        "Spark version",
        "Spark versions",
        "the workspace lists no Spark versions",
    );
    let scopes = if refs.scopes.is_empty() {
        Ok(vec![])
    } else {
        probe.secret_scopes().await
    };
    check_set(
        p,
        diags,
        &refs.scopes,
        scopes,
        code::SECRET_SCOPE,
        "secret scope",
        "secret scopes",
        "create the scope (`databricks secrets create-scope <name>`) before deploying",
    );
}
