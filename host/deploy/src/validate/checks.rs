//! Semantic checks on rendered job settings (after the schema walk).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::Validator;
use super::schema::{EVENTS, PERMISSION_LEVELS, TASK_TYPES};
use crate::diagnostics::{Diagnostic, code, did_you_mean};
use crate::node::escape_pointer;
use crate::project::Principal;

const MAX_TASKS: usize = 1000;
const MAX_JOB_CLUSTERS: usize = 100;
const MAX_TAGS: usize = 25;
const MAX_WEBHOOKS_PER_EVENT: usize = 3;
const MAX_NAME_BYTES: usize = 4096;
const MAX_DESCRIPTION_CHARS: usize = 27_700;
const MAX_TASK_DESCRIPTION_CHARS: usize = 1000;
const COMPUTE_FIELDS: &[&str] = &[
    "job_cluster_key",
    "existing_cluster_id",
    "new_cluster",
    "environment_key",
];
const GIT_PROVIDERS: &[&str] = &[
    "gitHub",
    "gitHubEnterprise",
    "bitbucketCloud",
    "bitbucketServer",
    "azureDevOpsServices",
    "gitLab",
    "gitLabEnterpriseEdition",
    "awsCodeCommit",
];

pub(crate) fn run(v: &mut Validator<'_>) {
    let p = v.p;
    let s = &p.settings;
    let job = p.job_name().to_string();
    limits(v, s);
    let cluster_keys = job_clusters(v, s);
    tasks(v, s, &job, &cluster_keys);
    schedule(v, s);
    triggers(v, s);
    notifications(v, s, "", "");
    if let Some(tags) = s.get("tags").and_then(Value::as_object) {
        if tags.len() > MAX_TAGS {
            v.push(
                Diagnostic::error(
                    code::LIMIT,
                    format!("job `{job}` has {} tags; the limit is {MAX_TAGS}", tags.len()),
                )
                .at_opt(&p.sources, v.key_span("/tags"))
                .label(format!("at most {MAX_TAGS} tags")),
            );
        }
        check_tags(v, tags, "/tags", "tags");
    }
    keyed_list(
        v,
        s,
        "parameters",
        "name",
        "job parameter",
        is_parameter_name,
        "letters, digits, `_`, `-` and `.`",
    );
    keyed_list(
        v,
        s,
        "environments",
        "environment_key",
        "environment",
        is_key,
        "letters, digits, `_` and `-`, 1-100 characters",
    );
    acl(v, &job);
    run_as(v, s);
    git_source(v, s);
}

/// `^[\w\-]+$`, 1-100 characters (task, job cluster and environment keys).
fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `^[\w\-.]+$` (job parameter names).
fn is_parameter_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn limits(v: &mut Validator<'_>, s: &Value) {
    let p = v.p;
    if let Some(name) = s.get("name").and_then(Value::as_str)
        && name.len() > MAX_NAME_BYTES
    {
        v.push(
            Diagnostic::error(
                code::LIMIT,
                format!(
                    "the job name is {} bytes; the limit is {MAX_NAME_BYTES}",
                    name.len()
                ),
            )
            .at_opt(&p.sources, v.span("/name"))
            .label("too long"),
        );
    }
    if let Some(d) = s.get("description").and_then(Value::as_str)
        && d.chars().count() > MAX_DESCRIPTION_CHARS
    {
        v.push(
            Diagnostic::error(
                code::LIMIT,
                format!(
                    "the job description is {} characters; the limit is {MAX_DESCRIPTION_CHARS}",
                    d.chars().count()
                ),
            )
            .at_opt(&p.sources, v.span("/description"))
            .label("too long"),
        );
    }
}

fn key_problem(v: &mut Validator<'_>, ptr: &str, what: &str, key: &str, rule: &str) {
    let p = v.p;
    v.push(
        Diagnostic::error(code::BAD_KEY, format!("{what} key `{key}` is not valid"))
            .at_opt(&p.sources, v.span(ptr))
            .label(format!("use {rule}")),
    );
}

fn duplicate(v: &mut Validator<'_>, ptr: &str, what: &str, key: &str, first_ptr: &str) {
    let p = v.p;
    let first_line = v.span(first_ptr).map(|s| s.start.line);
    let label = match first_line {
        Some(l) => format!("`{key}` is already used on line {l}"),
        None => format!("`{key}` is already used"),
    };
    v.push(
        Diagnostic::error(
            code::DUPLICATE_KEY_VALUE,
            format!("{what} `{key}` is defined more than once"),
        )
        .at_opt(&p.sources, v.span(ptr))
        .label(label)
        .help(format!("give each {what} a unique key")),
    );
}

/// Checks the keys of a keyed list (`parameters`, `environments`): pattern and uniqueness.
fn keyed_list(
    v: &mut Validator<'_>,
    s: &Value,
    list: &str,
    key: &str,
    what: &str,
    valid: fn(&str) -> bool,
    rule: &str,
) {
    let Some(items) = s.get(list).and_then(Value::as_array) else {
        return;
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(k) = item.get(key).and_then(Value::as_str) else {
            continue;
        };
        let ptr = format!("/{list}/{i}/{key}");
        if !valid(k) {
            key_problem(v, &ptr, what, k, rule);
        }
        match seen.get(k) {
            Some(first) => {
                let first = first.clone();
                duplicate(v, &ptr, what, k, &first);
            }
            None => {
                seen.insert(k.to_string(), ptr);
            }
        }
    }
}

/// Checks job clusters and returns their keys.
fn job_clusters(v: &mut Validator<'_>, s: &Value) -> Vec<String> {
    let p = v.p;
    let Some(items) = s.get("job_clusters").and_then(Value::as_array) else {
        return vec![];
    };
    if items.len() > MAX_JOB_CLUSTERS {
        v.push(
            Diagnostic::error(
                code::LIMIT,
                format!(
                    "the job has {} job clusters; the limit is {MAX_JOB_CLUSTERS}",
                    items.len()
                ),
            )
            .at_opt(&p.sources, v.key_span("/job_clusters"))
            .label(format!("at most {MAX_JOB_CLUSTERS}")),
        );
    }
    let mut keys = vec![];
    let mut seen: HashMap<String, String> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let key = item.get("job_cluster_key").and_then(Value::as_str);
        if let Some(k) = key {
            let ptr = format!("/job_clusters/{i}/job_cluster_key");
            if !is_key(k) {
                key_problem(
                    v,
                    &ptr,
                    "job cluster",
                    k,
                    "letters, digits, `_` and `-`, 1-100 characters",
                );
            }
            match seen.get(k) {
                Some(first) => {
                    let first = first.clone();
                    duplicate(v, &ptr, "job cluster", k, &first);
                }
                None => {
                    seen.insert(k.to_string(), ptr);
                    keys.push(k.to_string());
                }
            }
        }
        if let Some(spec) = item.get("new_cluster") {
            let label = key.map(str::to_string).unwrap_or_else(|| i.to_string());
            cluster_spec(
                v,
                spec,
                &format!("/job_clusters/{i}/new_cluster"),
                &format!("job_clusters[{label}].new_cluster"),
            );
        }
    }
    keys
}

fn is_secret_reference(s: &str) -> bool {
    let Some(inner) = s.strip_prefix("{{secrets/").and_then(|r| r.strip_suffix("}}")) else {
        return false;
    };
    let mut parts = inner.split('/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty())
}

fn cluster_spec(v: &mut Validator<'_>, spec: &Value, ptr: &str, path: &str) {
    let p = v.p;
    let Some(obj) = spec.as_object() else { return };
    if obj.contains_key("num_workers") && obj.contains_key("autoscale") {
        v.push(
            Diagnostic::warning(
                code::AUTOSCALE_AND_NUM_WORKERS,
                format!("`{path}` sets both `num_workers` and `autoscale`"),
            )
            .at_opt(&p.sources, v.key_span(&format!("{ptr}/num_workers")))
            .label("ignored: `autoscale` wins")
            .help("remove `num_workers`; the cluster scales between `min_workers` and `max_workers`"),
        );
    }
    if let Some(a) = obj.get("autoscale")
        && let (Some(min), Some(max)) = (
            a.get("min_workers").and_then(Value::as_i64),
            a.get("max_workers").and_then(Value::as_i64),
        )
        && min > max
    {
        v.push(
            Diagnostic::error(
                code::OUT_OF_RANGE,
                format!("`{path}.autoscale` has `min_workers` {min} above `max_workers` {max}"),
            )
            .at_opt(&p.sources, v.span(&format!("{ptr}/autoscale/min_workers")))
            .label(format!("must be at most {max}")),
        );
    }
    let has_policy = obj.contains_key("policy_id");
    if !has_policy && !obj.contains_key("spark_version") {
        v.push(
            Diagnostic::error(
                code::MISSING_FIELD,
                format!("`{path}` is missing required field `spark_version`"),
            )
            .at_opt(&p.sources, v.key_span(ptr))
            .label("`spark_version` is required here")
            .help("e.g. `spark_version: 15.4.x-scala2.12`, or set a `policy_id` that provides it"),
        );
    }
    if !has_policy && !obj.contains_key("node_type_id") && !obj.contains_key("instance_pool_id") {
        v.push(
            Diagnostic::error(
                code::MISSING_FIELD,
                format!("`{path}` needs `node_type_id` or `instance_pool_id`"),
            )
            .at_opt(&p.sources, v.key_span(ptr))
            .label("no node type")
            .help("e.g. `node_type_id: i3.xlarge`"),
        );
    }
    for map in ["spark_conf", "spark_env_vars"] {
        let Some(m) = obj.get(map).and_then(Value::as_object) else {
            continue;
        };
        for (k, val) in m {
            let Some(s) = val.as_str() else { continue };
            if s.contains("{{secrets/") && !is_secret_reference(s.trim()) {
                v.push(
                    Diagnostic::error(
                        code::INVALID_VALUE,
                        format!(
                            "`{}` has a malformed secret reference",
                            crate::plan::diff::field_path(&format!("{path}.{map}"), k)
                        ),
                    )
                    .at_opt(&p.sources, v.span(&format!("{ptr}/{map}/{}", escape_pointer(k))))
                    .label("expected `{{secrets/<scope>/<key>}}`"),
                );
            }
        }
    }
    if let Some(tags) = obj.get("custom_tags").and_then(Value::as_object) {
        check_tags(
            v,
            tags,
            &format!("{ptr}/custom_tags"),
            &format!("{path}.custom_tags"),
        );
    }
}

fn check_tags(v: &mut Validator<'_>, tags: &serde_json::Map<String, Value>, ptr: &str, path: &str) {
    let p = v.p;
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c);
    for (k, val) in tags {
        let key_ptr = format!("{ptr}/{}", escape_pointer(k));
        let mut problem = None;
        if k.is_empty() || k.chars().count() > 127 {
            problem = Some(("key must be 1-127 characters", true));
        } else if !k.chars().all(allowed) {
            problem = Some((
                "key may contain letters, digits, spaces and `+ - = . _ : / @`",
                true,
            ));
        } else if ["aws:", "azure", "microsoft", "windows"]
            .iter()
            .any(|r| k.to_ascii_lowercase().starts_with(r))
        {
            problem = Some(("key starts with a reserved cloud prefix", true));
        } else if let Some(s) = val.as_str() {
            if s.chars().count() > 255 {
                problem = Some(("value must be at most 255 characters", false));
            } else if !s.chars().all(allowed) {
                problem = Some((
                    "value may contain letters, digits, spaces and `+ - = . _ : / @`",
                    false,
                ));
            }
        }
        if let Some((label, on_key)) = problem {
            let span = if on_key {
                v.key_span(&key_ptr)
            } else {
                v.span(&key_ptr)
            };
            v.push(
                Diagnostic::error(code::INVALID_VALUE, format!("tag `{k}` in `{path}` is not valid"))
                    .at_opt(&p.sources, span)
                    .label(label),
            );
        }
    }
}

struct TaskInfo {
    key: String,
    index: usize,
    deps: Vec<(String, usize)>,
}

fn tasks(v: &mut Validator<'_>, s: &Value, job: &str, cluster_keys: &[String]) {
    let p = v.p;
    let items = match s.get("tasks") {
        Some(Value::Array(items)) => items,
        Some(_) => return,
        None => {
            v.push(
                Diagnostic::error(code::MISSING_FIELD, format!("job `{job}` has no tasks"))
                    .at_opt(&p.sources, v.span(""))
                    .label("`tasks` is required")
                    .help("add a `tasks:` list with at least one task"),
            );
            return;
        }
    };
    if items.is_empty() {
        v.push(
            Diagnostic::error(code::MISSING_FIELD, format!("job `{job}` has no tasks"))
                .at_opt(&p.sources, v.span("/tasks"))
                .label("empty")
                .help("add at least one task"),
        );
    }
    if items.len() > MAX_TASKS {
        v.push(
            Diagnostic::error(
                code::LIMIT,
                format!("job `{job}` has {} tasks; the limit is {MAX_TASKS}", items.len()),
            )
            .at_opt(&p.sources, v.key_span("/tasks"))
            .label(format!("at most {MAX_TASKS} tasks")),
        );
    }
    let env_keys: Vec<String> = s
        .get("environments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    e.get("environment_key")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let git = s.get("git_source").is_some();
    let mut infos: Vec<TaskInfo> = vec![];
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut used_clusters: Vec<String> = vec![];
    for (i, t) in items.iter().enumerate() {
        let ptr = format!("/tasks/{i}");
        let Some(obj) = t.as_object() else { continue };
        let key = obj.get("task_key").and_then(Value::as_str).map(str::to_string);
        let label = key.clone().unwrap_or_else(|| i.to_string());
        if let Some(k) = &key {
            if !is_key(k) {
                key_problem(
                    v,
                    &format!("{ptr}/task_key"),
                    "task",
                    k,
                    "letters, digits, `_` and `-`, 1-100 characters",
                );
            }
            match seen.get(k) {
                Some(&first) => duplicate(
                    v,
                    &format!("{ptr}/task_key"),
                    "task",
                    k,
                    &format!("/tasks/{first}/task_key"),
                ),
                None => {
                    seen.insert(k.clone(), i);
                }
            }
        }
        task_body(
            v,
            t,
            &ptr,
            &format!("tasks[{label}]"),
            cluster_keys,
            &env_keys,
            git,
            &mut used_clusters,
        );
        let mut deps = vec![];
        if let Some(list) = obj.get("depends_on").and_then(Value::as_array) {
            for (j, d) in list.iter().enumerate() {
                if let Some(target) = d.get("task_key").and_then(Value::as_str) {
                    deps.push((target.to_string(), j));
                }
            }
        }
        if let Some(k) = key {
            infos.push(TaskInfo {
                key: k,
                index: i,
                deps,
            });
        }
    }
    let all_keys: Vec<&str> = infos.iter().map(|t| t.key.as_str()).collect();
    for t in &infos {
        for (target, j) in &t.deps {
            let ptr = format!("/tasks/{}/depends_on/{j}/task_key", t.index);
            if target == &t.key {
                v.push(
                    Diagnostic::error(
                        code::DEPENDENCY_CYCLE,
                        format!("task `{}` depends on itself", t.key),
                    )
                    .at_opt(&p.sources, v.span(&ptr))
                    .label("a task cannot depend on itself")
                    .help("remove this `depends_on` entry"),
                );
            } else if !all_keys.contains(&target.as_str()) {
                let d = Diagnostic::error(
                    code::UNKNOWN_DEPENDENCY,
                    format!(
                        "task `{}` depends on `{target}`, which is not a task in this job",
                        t.key
                    ),
                )
                .at_opt(&p.sources, v.span(&ptr));
                let d = match did_you_mean(target, all_keys.iter().copied()) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d
                        .label("no such task")
                        .help(format!("tasks in this job: {}", all_keys.join(", "))),
                };
                v.push(d);
            }
        }
    }
    cycles(v, job, &infos);
    if let Some(clusters) = s.get("job_clusters").and_then(Value::as_array) {
        for (i, c) in clusters.iter().enumerate() {
            let Some(k) = c.get("job_cluster_key").and_then(Value::as_str) else {
                continue;
            };
            if !used_clusters.iter().any(|u| u == k) {
                v.push(
                    Diagnostic::warning(
                        code::UNUSED_JOB_CLUSTER,
                        format!("job cluster `{k}` is not used by any task"),
                    )
                    .at_opt(&p.sources, v.span(&format!("/job_clusters/{i}/job_cluster_key")))
                    .label("unused")
                    .help(format!(
                        "remove it, or run a task on it with `job_cluster_key: {k}`"
                    )),
                );
            }
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the task's context"
)]
fn task_body(
    v: &mut Validator<'_>,
    t: &Value,
    ptr: &str,
    path: &str,
    cluster_keys: &[String],
    env_keys: &[String],
    git: bool,
    used_clusters: &mut Vec<String>,
) {
    let p = v.p;
    let Some(obj) = t.as_object() else { return };
    if let Some(d) = obj.get("description").and_then(Value::as_str)
        && d.chars().count() > MAX_TASK_DESCRIPTION_CHARS
    {
        v.push(
            Diagnostic::error(
                code::LIMIT,
                format!(
                    "`{path}.description` is {} characters; the limit is {MAX_TASK_DESCRIPTION_CHARS}",
                    d.chars().count()
                ),
            )
            .at_opt(&p.sources, v.span(&format!("{ptr}/description")))
            .label("too long"),
        );
    }
    let types: Vec<&str> = TASK_TYPES
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    match types.len() {
        0 => v.push(
            Diagnostic::error(code::TASK_TYPE, format!("`{path}` has no task type"))
                .at_opt(&p.sources, v.key_span(ptr))
                .label("no task type")
                .help("add exactly one of `notebook_task`, `spark_python_task`, `python_wheel_task`, `spark_jar_task`, `sql_task`, `pipeline_task`, `run_job_task`, `condition_task`, `for_each_task`, `dbt_task`"),
        ),
        1 => {}
        _ => v.push(
            Diagnostic::error(
                code::TASK_TYPE,
                format!(
                    "`{path}` has more than one task type: {}",
                    types.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .at_opt(&p.sources, v.key_span(&format!("{ptr}/{}", types[1])))
            .label("second task type")
            .help("a task runs exactly one thing: split it into separate tasks"),
        ),
    }
    let compute: Vec<&str> = COMPUTE_FIELDS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if compute.len() > 1 {
        v.push(
            Diagnostic::error(
                code::COMPUTE_CONFLICT,
                format!(
                    "`{path}` sets more than one kind of compute: {}",
                    compute
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .at_opt(&p.sources, v.key_span(&format!("{ptr}/{}", compute[1])))
            .label("conflicting compute")
            .help(
                "keep one of `job_cluster_key`, `existing_cluster_id`, `new_cluster` and `environment_key`",
            ),
        );
    }
    if let Some(k) = obj.get("job_cluster_key").and_then(Value::as_str) {
        used_clusters.push(k.to_string());
        if !cluster_keys.iter().any(|c| c == k) {
            let d = Diagnostic::error(
                code::UNKNOWN_JOB_CLUSTER,
                format!("`{path}` runs on job cluster `{k}`, which is not defined"),
            )
            .at_opt(&p.sources, v.span(&format!("{ptr}/job_cluster_key")));
            let d = match did_you_mean(k, cluster_keys.iter().map(String::as_str)) {
                Some(s) => {
                    // The task surely meant this cluster: don't also call it unused.
                    used_clusters.push(s.clone());
                    d.label(format!("did you mean `{s}`?"))
                }
                None if cluster_keys.is_empty() => d
                    .label("no such job cluster")
                    .help("define it under `job_clusters:` with this `job_cluster_key`"),
                None => d
                    .label("no such job cluster")
                    .help(format!("job clusters: {}", cluster_keys.join(", "))),
            };
            v.push(d);
        }
    }
    if let Some(k) = obj.get("environment_key").and_then(Value::as_str)
        && !env_keys.iter().any(|e| e == k)
    {
        v.push(
            Diagnostic::error(
                code::INVALID_VALUE,
                format!("`{path}` uses environment `{k}`, which is not defined"),
            )
            .at_opt(&p.sources, v.span(&format!("{ptr}/environment_key")))
            .label("no such environment")
            .help("define it under `environments:` with this `environment_key`"),
        );
    }
    if let Some(nb) = obj.get("notebook_task")
        && let Some(path_str) = nb.get("notebook_path").and_then(Value::as_str)
    {
        let source_git = match nb.get("source").and_then(Value::as_str) {
            Some(s) => s == "GIT",
            None => git,
        };
        if !source_git && !path_str.starts_with('/') && !crate::project::vars::has_reference(path_str) {
            v.push(
                Diagnostic::error(
                    code::INVALID_VALUE,
                    format!("notebook path `{path_str}` is not absolute"),
                )
                .at_opt(&p.sources, v.span(&format!("{ptr}/notebook_task/notebook_path")))
                .label("workspace notebook paths start with `/`")
                .help("use the synced workspace path, e.g. `/Workspace/pipelines/<name>/<notebook>`"),
            );
        }
    }
    if let Some(w) = obj.get("python_wheel_task")
        && w.get("parameters").is_some()
        && w.get("named_parameters").is_some()
    {
        v.push(
            Diagnostic::error(
                code::INVALID_VALUE,
                format!("`{path}.python_wheel_task` sets both `parameters` and `named_parameters`"),
            )
            .at_opt(
                &p.sources,
                v.key_span(&format!("{ptr}/python_wheel_task/named_parameters")),
            )
            .label("choose one")
            .help("use either positional `parameters` or `named_parameters`"),
        );
    }
    if let Some(libs) = obj.get("libraries").and_then(Value::as_array) {
        for (i, lib) in libs.iter().enumerate() {
            let Some(l) = lib.as_object() else { continue };
            if l.len() != 1 {
                v.push(
                    Diagnostic::error(
                        code::INVALID_VALUE,
                        format!("`{path}.libraries[{i}]` must name exactly one library (`whl`, `jar`, `requirements`, `pypi`, `maven` or `cran`)"),
                    )
                    .at_opt(&p.sources, v.key_span(&format!("{ptr}/libraries/{i}")))
                    .label(if l.is_empty() { "no library" } else { "more than one library" }),
                );
            }
        }
    }
    if let Some(spec) = obj.get("new_cluster") {
        cluster_spec(
            v,
            spec,
            &format!("{ptr}/new_cluster"),
            &format!("{path}.new_cluster"),
        );
    }
    notifications(v, t, ptr, path);
    if let Some(inner) = obj.get("for_each_task").and_then(|f| f.get("task")) {
        task_body(
            v,
            inner,
            &format!("{ptr}/for_each_task/task"),
            &format!("{path}.for_each_task.task"),
            cluster_keys,
            env_keys,
            git,
            used_clusters,
        );
    }
}

fn cycles(v: &mut Validator<'_>, job: &str, infos: &[TaskInfo]) {
    let p = v.p;
    let index: HashMap<&str, usize> = infos
        .iter()
        .enumerate()
        .map(|(i, t)| (t.key.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; infos.len()];
    let mut reported: Vec<Vec<String>> = vec![];
    for start in 0..infos.len() {
        if state[start] != 0 {
            continue;
        }
        // Iterative DFS: (node, next dependency index)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let deps = &infos[node].deps;
            if *next >= deps.len() {
                state[node] = 2;
                stack.pop();
                continue;
            }
            let (target, dep_idx) = &deps[*next];
            *next += 1;
            let Some(&t) = index.get(target.as_str()) else {
                continue;
            };
            if t == node {
                continue; // self-dependency, reported separately
            }
            match state[t] {
                0 => {
                    state[t] = 1;
                    stack.push((t, 0));
                }
                1 => {
                    let pos = stack.iter().position(|(n, _)| *n == t).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[pos..].iter().map(|(n, _)| infos[*n].key.clone()).collect();
                    let mut canon = cycle.clone();
                    canon.sort();
                    if reported.contains(&canon) {
                        continue;
                    }
                    reported.push(canon);
                    cycle.push(infos[t].key.clone());
                    let ptr = format!("/tasks/{}/depends_on/{dep_idx}/task_key", infos[node].index);
                    v.push(
                        Diagnostic::error(
                            code::DEPENDENCY_CYCLE,
                            format!("job `{job}` has a dependency cycle: {}", cycle.join(" -> ")),
                        )
                        .at_opt(&p.sources, v.span(&ptr))
                        .label("this dependency closes the cycle")
                        .help("remove one of the dependencies in the cycle"),
                    );
                }
                _ => {}
            }
        }
    }
}

fn schedule(v: &mut Validator<'_>, s: &Value) {
    let p = v.p;
    let Some(sched) = s.get("schedule") else { return };
    let cron_errors = match sched.get("quartz_cron_expression").and_then(Value::as_str) {
        Some(expr) if !crate::project::vars::has_reference(expr) => super::cron::check_quartz(expr)
            .into_iter()
            .map(|e| (expr, e))
            .collect(),
        _ => vec![],
    };
    for (expr, e) in cron_errors {
        let ptr = "/schedule/quartz_cron_expression";
        let span = match e.field {
            Some((_, off, len)) => v.inner_span(ptr, expr, off, len),
            None => v.span(ptr),
        };
        let label = match e.field {
            Some((idx, _, _)) => format!(
                "in the {} field",
                [
                    "seconds",
                    "minutes",
                    "hours",
                    "day-of-month",
                    "month",
                    "day-of-week",
                    "year"
                ][idx]
            ),
            None => "not a Quartz cron expression".to_string(),
        };
        v.push(
            Diagnostic::error(code::CRON, format!("invalid cron expression: {}", e.message))
                .at_opt(&p.sources, span)
                .label(label)
                .help_opt(e.help),
        );
    }
    if let Some(tz) = sched.get("timezone_id").and_then(Value::as_str)
        && !crate::project::vars::has_reference(tz)
    {
        let span = v.span("/schedule/timezone_id");
        use super::tz::TimezoneCheck;
        match super::tz::check_timezone(tz) {
            TimezoneCheck::Valid => {}
            TimezoneCheck::WrongCase(c) => v.push(
                Diagnostic::error(
                    code::TIMEZONE,
                    format!("timezone `{tz}` is not spelled like a timezone id"),
                )
                .at_opt(&p.sources, span)
                .label(format!("did you mean `{c}`?"))
                .help("timezone ids are case-sensitive"),
            ),
            TimezoneCheck::ShortId(zone) => v.push(
                Diagnostic::warning(
                    code::DEPRECATED,
                    format!("timezone `{tz}` is a deprecated three-letter id"),
                )
                .at_opt(&p.sources, span)
                .label(format!("means `{zone}`"))
                .help(format!("use `{zone}`")),
            ),
            TimezoneCheck::Unknown(suggestion) => {
                let d = Diagnostic::error(
                    code::TIMEZONE,
                    format!("timezone `{tz}` is not a known timezone id"),
                )
                .at_opt(&p.sources, span);
                let d = match suggestion {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d
                        .label("unknown timezone")
                        .help("use an IANA id such as `UTC` or `Europe/London`"),
                };
                v.push(d);
            }
        }
    }
}

fn triggers(v: &mut Validator<'_>, s: &Value) {
    let p = v.p;
    let set: Vec<&str> = ["schedule", "trigger", "continuous", "triggers"]
        .into_iter()
        .filter(|k| s.get(*k).is_some())
        .collect();
    if set.len() > 1 {
        v.push(
            Diagnostic::error(
                code::TRIGGER_CONFLICT,
                format!(
                    "only one of `schedule`, `trigger` and `continuous` may be set; this job sets {}",
                    set.iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )
            .at_opt(&p.sources, v.key_span(&format!("/{}", set[1])))
            .label("conflicts with `".to_string() + set[0] + "`")
            .help("keep one way of starting runs"),
        );
    }
}

/// Email syntax and webhook counts for the `email_notifications` / `webhook_notifications` of
/// the job (`ptr` = "") or a task.
fn notifications(v: &mut Validator<'_>, owner: &Value, ptr: &str, path: &str) {
    let p = v.p;
    let prefix = |x: &str| {
        if path.is_empty() {
            x.to_string()
        } else {
            format!("{path}.{x}")
        }
    };
    if let Some(en) = owner.get("email_notifications").and_then(Value::as_object) {
        for event in EVENTS {
            let Some(list) = en.get(*event).and_then(Value::as_array) else {
                continue;
            };
            for (i, e) in list.iter().enumerate() {
                let Some(addr) = e.as_str() else { continue };
                if !crate::project::vars::has_reference(addr) && !super::email::is_valid_email(addr) {
                    v.push(
                        Diagnostic::error(code::EMAIL, format!("`{addr}` is not a valid email address"))
                            .at_opt(
                                &p.sources,
                                v.span(&format!("{ptr}/email_notifications/{event}/{i}")),
                            )
                            .label(format!(
                                "in `{}`",
                                prefix(&format!("email_notifications.{event}"))
                            )),
                    );
                }
            }
        }
    }
    if let Some(wn) = owner.get("webhook_notifications").and_then(Value::as_object) {
        for event in EVENTS {
            let Some(list) = wn.get(*event).and_then(Value::as_array) else {
                continue;
            };
            if list.len() > MAX_WEBHOOKS_PER_EVENT {
                v.push(
                    Diagnostic::error(
                        code::LIMIT,
                        format!(
                            "`{}` has {} webhooks; the limit is {MAX_WEBHOOKS_PER_EVENT} per event",
                            prefix(&format!("webhook_notifications.{event}")),
                            list.len()
                        ),
                    )
                    .at_opt(
                        &p.sources,
                        v.key_span(&format!("{ptr}/webhook_notifications/{event}")),
                    )
                    .label(format!("at most {MAX_WEBHOOKS_PER_EVENT}")),
                );
            }
        }
    }
}

fn acl(v: &mut Validator<'_>, job: &str) {
    let p = v.p;
    if p.access_control_list.is_empty() {
        return;
    }
    let mut owners: Vec<usize> = vec![];
    let mut seen: BTreeMap<Principal, usize> = BTreeMap::new();
    for (i, entry) in p.access_control_list.iter().enumerate() {
        let ptr = format!("/access_control_list/{i}");
        let Some(obj) = entry.as_object() else {
            v.push(
                Diagnostic::error(
                    code::WRONG_TYPE,
                    format!(
                        "`access_control_list[{i}]` must be a mapping, found {}",
                        crate::node::value_type_name(entry)
                    ),
                )
                .at_opt(&p.sources, v.span(&ptr))
                .label("expected a mapping"),
            );
            continue;
        };
        const FIELDS: &[&str] = &[
            "user_name",
            "group_name",
            "service_principal_name",
            "permission_level",
        ];
        for k in obj.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            let d = Diagnostic::warning(
                code::UNKNOWN_FIELD,
                format!("unknown field `{k}` in `access_control_list[{i}]`"),
            )
            .at_opt(&p.sources, v.key_span(&format!("{ptr}/{}", escape_pointer(k))));
            let d = match did_you_mean(k, FIELDS.iter().copied()) {
                Some(s) => d.label(format!("did you mean `{s}`?")),
                None => d.label("unknown field"),
            };
            v.push(d);
        }
        for k in [
            "user_name",
            "group_name",
            "service_principal_name",
            "permission_level",
        ] {
            if let Some(x) = obj.get(k)
                && !x.is_string()
            {
                v.push(
                    Diagnostic::error(
                        code::WRONG_TYPE,
                        format!(
                            "`access_control_list[{i}].{k}` must be a string, found {}",
                            crate::node::value_type_name(x)
                        ),
                    )
                    .at_opt(&p.sources, v.span(&format!("{ptr}/{k}")))
                    .label("expected a string"),
                );
            }
        }
        let principal = Principal::from_entry(entry);
        let count = ["user_name", "group_name", "service_principal_name"]
            .iter()
            .filter(|k| obj.contains_key(**k))
            .count();
        if count != 1 {
            v.push(
                Diagnostic::error(
                    code::ACL_ENTRY,
                    format!("`access_control_list[{i}]` must name exactly one of `user_name`, `group_name` or `service_principal_name`"),
                )
                .at_opt(&p.sources, v.span(&ptr))
                .label(if count == 0 { "no principal" } else { "more than one principal" }),
            );
        }
        if let Some(Principal::User(u)) = &principal
            && u.contains('@')
            && !super::email::is_valid_email(u)
        {
            v.push(
                Diagnostic::error(code::EMAIL, format!("`{u}` is not a valid email address"))
                    .at_opt(&p.sources, v.span(&format!("{ptr}/user_name")))
                    .label("user names are email addresses"),
            );
        }
        let level = obj.get("permission_level").and_then(Value::as_str);
        match level {
            None if !obj.contains_key("permission_level") => v.push(
                Diagnostic::error(
                    code::MISSING_FIELD,
                    format!("`access_control_list[{i}]` is missing required field `permission_level`"),
                )
                .at_opt(&p.sources, v.span(&ptr))
                .label("`permission_level` is required here")
                .help(format!("one of: {}", PERMISSION_LEVELS.join(", "))),
            ),
            None => {}
            Some(l) if PERMISSION_LEVELS.contains(&l) => {}
            Some(l) => {
                let d = Diagnostic::error(code::ACL_ENTRY, format!("`{l}` is not a job permission level"))
                    .at_opt(&p.sources, v.span(&format!("{ptr}/permission_level")));
                let d = match did_you_mean(l, PERMISSION_LEVELS.iter().copied()) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d.label("not a permission level"),
                };
                v.push(d.help(format!("job permission levels: {}", PERMISSION_LEVELS.join(", "))));
            }
        }
        if level == Some("IS_OWNER") {
            owners.push(i);
            if let Some(Principal::Group(g)) = &principal {
                v.push(
                    Diagnostic::error(code::ACL_OWNER, format!("group `{g}` cannot own job `{job}`"))
                        .at_opt(&p.sources, v.span(&format!("{ptr}/permission_level")))
                        .label("groups cannot be `IS_OWNER`")
                        .help("make a user or service principal the owner and give the group `CAN_MANAGE`"),
                );
            }
        }
        if let Some(pr) = principal {
            if let Some(&first) = seen.get(&pr) {
                let line = v
                    .span(&format!("/access_control_list/{first}"))
                    .map(|s| s.start.line);
                v.push(
                    Diagnostic::error(code::ACL_ENTRY, format!("`{}` has more than one access control entry", pr.name()))
                        .at_opt(&p.sources, v.span(&format!("{ptr}/{}", pr.field())))
                        .label(match line {
                            Some(l) => format!("also listed on line {l}"),
                            None => "listed twice".to_string(),
                        })
                        .help("give each principal one entry: the API keeps only the last, which can leave the job without an owner"),
                );
            } else {
                seen.insert(pr, i);
            }
        }
    }
    match owners.len() {
        1 => {}
        0 => v.push(
            Diagnostic::error(
                code::ACL_OWNER,
                format!("the access control list of job `{job}` has no owner"),
            )
            .at_opt(&p.sources, v.key_span("/access_control_list"))
            .label("no `IS_OWNER` entry")
            .help("add `permission_level: IS_OWNER` for exactly one user or service principal"),
        ),
        n => v.push(
            Diagnostic::error(
                code::ACL_OWNER,
                format!("the access control list of job `{job}` has {n} owners"),
            )
            .at_opt(
                &p.sources,
                v.span(&format!("/access_control_list/{}/permission_level", owners[1])),
            )
            .label("second `IS_OWNER`")
            .help("a job has exactly one owner; give the others `CAN_MANAGE`"),
        ),
    }
}

fn run_as(v: &mut Validator<'_>, s: &Value) {
    let p = v.p;
    let Some(obj) = s.get("run_as").and_then(Value::as_object) else {
        return;
    };
    let set = ["user_name", "service_principal_name", "group_name"]
        .iter()
        .filter(|k| obj.contains_key(**k))
        .count();
    if set != 1 {
        v.push(
            Diagnostic::error(
                code::INVALID_VALUE,
                "`run_as` must name exactly one of `user_name`, `service_principal_name` or `group_name`",
            )
            .at_opt(&p.sources, v.key_span("/run_as"))
            .label(if set == 0 {
                "no principal"
            } else {
                "more than one principal"
            }),
        );
    }
    if let Some(u) = obj.get("user_name").and_then(Value::as_str)
        && !crate::project::vars::has_reference(u)
        && !super::email::is_valid_email(u)
    {
        v.push(
            Diagnostic::error(code::EMAIL, format!("`{u}` is not a valid email address"))
                .at_opt(&p.sources, v.span("/run_as/user_name"))
                .label("user names are email addresses"),
        );
    }
}

fn git_source(v: &mut Validator<'_>, s: &Value) {
    let p = v.p;
    let Some(obj) = s.get("git_source").and_then(Value::as_object) else {
        return;
    };
    if let Some(provider) = obj.get("git_provider").and_then(Value::as_str)
        && !GIT_PROVIDERS.iter().any(|g| g.eq_ignore_ascii_case(provider))
    {
        let d = Diagnostic::error(code::INVALID_VALUE, format!("`{provider}` is not a git provider"))
            .at_opt(&p.sources, v.span("/git_source/git_provider"));
        let d = match did_you_mean(provider, GIT_PROVIDERS.iter().copied()) {
            Some(x) => d.label(format!("did you mean `{x}`?")),
            None => d.label("unknown provider"),
        };
        v.push(d.help(format!("providers: {}", GIT_PROVIDERS.join(", "))));
    }
    let refs = ["git_branch", "git_tag", "git_commit"]
        .iter()
        .filter(|k| obj.contains_key(**k))
        .count();
    if refs != 1 {
        v.push(
            Diagnostic::error(
                code::INVALID_VALUE,
                "`git_source` must set exactly one of `git_branch`, `git_tag` or `git_commit`",
            )
            .at_opt(&p.sources, v.key_span("/git_source"))
            .label(if refs == 0 {
                "no git reference"
            } else {
                "more than one git reference"
            }),
        );
    }
}
