//! JobSettings as the service stores them: validation with the real error codes, the server
//! defaults clients diff against, `jobs/update` merging, and zero-copy views for paged reads.
//!
//! Settings stay `serde_json` maps end to end so fields this emulator does not know round-trip
//! exactly (the API grows every month); only the fields the service itself checks are inspected.

use std::collections::{HashMap, HashSet};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::request::{ApiVersion, opt_bool, opt_i64, opt_str, wrong_type};
use super::store::RunIf;
use crate::api_error::{ApiError, ApiResult};

pub const MAX_TASKS: usize = 1000;
pub const MAX_TAGS: usize = 25;
pub const MAX_JOB_CLUSTERS: usize = 100;
pub const MAX_ENVIRONMENTS: usize = 10;
pub const MAX_NAME_BYTES: usize = 4096;
pub const MAX_DESCRIPTION_CHARS: usize = 27_700;
pub const MAX_TASK_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_CONCURRENT_RUNS: i64 = 1000;
pub const MAX_KEY_CHARS: usize = 100;
/// Arrays that 2.2 reads return at most this many of per page.
pub const PAGE: usize = 100;
/// The arrays 2.2 `jobs/get` pages through.
pub const PAGED_ARRAYS: [&str; 4] = ["tasks", "job_clusters", "environments", "parameters"];
/// Arrays `jobs/update` merges by key instead of replacing.
const KEYED_ARRAYS: [(&str, &str); 4] = [
    ("tasks", "task_key"),
    ("job_clusters", "job_cluster_key"),
    ("environments", "environment_key"),
    ("parameters", "name"),
];
const PAUSE_STATUSES: [&str; 2] = ["UNPAUSED", "PAUSED"];
/// Canonical spellings (clients map unknown enum strings to nothing, so echo these exactly).
const GIT_PROVIDERS: [&str; 8] = [
    "gitHub",
    "bitbucketCloud",
    "azureDevOpsServices",
    "gitHubEnterprise",
    "bitbucketServer",
    "gitLab",
    "gitLabEnterpriseEdition",
    "awsCodeCommit",
];

fn object<'a>(field: &str, value: &'a Value) -> ApiResult<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(field, "an object", value))
}

fn array<'a>(field: &str, value: &'a Value) -> ApiResult<&'a Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| wrong_type(field, "an array", value))
}

fn opt_object<'a>(obj: &'a Map<String, Value>, field: &str) -> ApiResult<Option<&'a Map<String, Value>>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => object(field, value).map(Some),
    }
}

fn opt_array<'a>(obj: &'a Map<String, Value>, field: &str) -> ApiResult<Option<&'a Vec<Value>>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => array(field, value).map(Some),
    }
}

/// `^[\w\-]+$`, 1 to 100 characters.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.chars().count() <= MAX_KEY_CHARS
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn key_field<'a>(obj: &'a Map<String, Value>, field: &str, what: &str) -> ApiResult<&'a str> {
    let key = opt_str(obj, field)?
        .ok_or_else(|| ApiError::invalid(format!("Missing required field: {what}.{field}")))?;
    if !valid_key(key) {
        return Err(ApiError::invalid(format!(
            "Invalid {field} '{key}': it must be 1 to {MAX_KEY_CHARS} characters of letters, digits, '_' and '-'"
        )));
    }
    Ok(key)
}

fn pause_status(obj: &Map<String, Value>, what: &str) -> ApiResult<()> {
    if let Some(status) = opt_str(obj, "pause_status")?
        && !PAUSE_STATUSES.contains(&status)
    {
        return Err(ApiError::invalid(format!(
            "Invalid value for {what}.pause_status: '{status}' (expected one of UNPAUSED, PAUSED)"
        )));
    }
    Ok(())
}

/// Drops empty arrays everywhere in `settings`, as the service does: its settings are protobuf
/// messages, where an empty repeated field is the same as an absent one (and the official Python
/// SDK sends `[]` for every list it was not given, e.g. `triggers: []`).
pub fn strip_empty_arrays(settings: &mut Map<String, Value>) {
    settings.retain(|_, value| !matches!(value, Value::Array(items) if items.is_empty()));
    for value in settings.values_mut() {
        strip_value(value);
    }
}

fn strip_value(value: &mut Value) {
    match value {
        Value::Object(map) => strip_empty_arrays(map),
        Value::Array(items) => items.iter_mut().for_each(strip_value),
        _ => {}
    }
}

/// Checks job settings (`submit`: a one-time run's body, which must have tasks).
pub fn validate(settings: &Map<String, Value>, submit: bool) -> ApiResult<()> {
    if let Some(name) = opt_str(settings, "name")?
        && name.len() > MAX_NAME_BYTES
    {
        return Err(ApiError::invalid(format!(
            "The job name is {} bytes long; the maximum is {MAX_NAME_BYTES} bytes",
            name.len()
        )));
    }
    if let Some(description) = opt_str(settings, "description")?
        && description.chars().count() > MAX_DESCRIPTION_CHARS
    {
        return Err(ApiError::invalid(format!(
            "The job description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if let Some(timeout) = opt_i64(settings, "timeout_seconds")?
        && timeout < 0
    {
        return Err(ApiError::invalid(format!(
            "timeout_seconds must be non-negative, got {timeout}"
        )));
    }
    if let Some(max) = opt_i64(settings, "max_concurrent_runs")?
        && !(0..=MAX_CONCURRENT_RUNS).contains(&max)
    {
        return Err(ApiError::invalid(format!(
            "max_concurrent_runs must be between 0 and {MAX_CONCURRENT_RUNS}, got {max}"
        )));
    }
    if let Some(tags) = opt_object(settings, "tags")? {
        if tags.len() > MAX_TAGS {
            return Err(ApiError::invalid(format!(
                "A job can have at most {MAX_TAGS} tags, got {}",
                tags.len()
            )));
        }
        for (key, value) in tags {
            if !value.is_string() {
                return Err(wrong_type(&format!("tags.{key}"), "a string", value));
            }
        }
    }
    if let Some(queue) = opt_object(settings, "queue")? {
        opt_bool(queue, "enabled")?
            .ok_or_else(|| ApiError::invalid("Missing required field: queue.enabled"))?;
    }
    if let Some(run_as) = opt_object(settings, "run_as")? {
        let mut given = 0;
        for field in ["user_name", "service_principal_name", "group_name"] {
            given += usize::from(opt_str(run_as, field)?.is_some());
        }
        if given != 1 {
            return Err(ApiError::invalid(
                "run_as must specify exactly one of user_name, service_principal_name or group_name",
            ));
        }
    }
    let mut triggers = Vec::new();
    if let Some(schedule) = opt_object(settings, "schedule")? {
        for field in ["quartz_cron_expression", "timezone_id"] {
            opt_str(schedule, field)?
                .ok_or_else(|| ApiError::invalid(format!("Missing required field: schedule.{field}")))?;
        }
        pause_status(schedule, "schedule")?;
        triggers.push("schedule");
    }
    for field in ["trigger", "continuous"] {
        if let Some(value) = opt_object(settings, field)? {
            pause_status(value, field)?;
            triggers.push(field);
        }
    }
    if settings
        .get("triggers")
        .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
    {
        triggers.push("triggers");
    }
    if triggers.len() > 1 {
        return Err(ApiError::invalid(format!(
            "A job can have only one of schedule, trigger, triggers and continuous; got {}",
            triggers.join(" and ")
        )));
    }
    if let Some(git) = opt_object(settings, "git_source")? {
        opt_str(git, "git_url")?
            .ok_or_else(|| ApiError::invalid("Missing required field: git_source.git_url"))?;
        let provider = opt_str(git, "git_provider")?;
        if provider.and_then(canonical_git_provider).is_none() {
            return Err(ApiError::invalid(
                "git_source.git_provider must be one of: github,gitlab,bitbucketcloud,gitlabenterpriseedition,bitbucketserver,azuredevopsservices,githubenterprise,awscodecommit",
            ));
        }
    }
    for field in [
        "email_notifications",
        "webhook_notifications",
        "notification_settings",
        "health",
    ] {
        opt_object(settings, field)?;
    }

    let mut cluster_keys = HashSet::new();
    if let Some(clusters) = opt_array(settings, "job_clusters")? {
        if clusters.len() > MAX_JOB_CLUSTERS {
            return Err(ApiError::invalid(format!(
                "A job can have at most {MAX_JOB_CLUSTERS} job clusters, got {}",
                clusters.len()
            )));
        }
        for cluster in clusters {
            let cluster = object("job_clusters", cluster)?;
            let key = key_field(cluster, "job_cluster_key", "job_clusters")?;
            if !cluster_keys.insert(key) {
                return Err(ApiError::invalid(format!(
                    "Duplicate job_cluster_key '{key}': job cluster keys must be unique"
                )));
            }
            opt_object(cluster, "new_cluster")?.ok_or_else(|| {
                ApiError::invalid(format!(
                    "Missing required field: job_clusters.new_cluster (job cluster '{key}')"
                ))
            })?;
        }
    }
    let mut environment_keys = HashSet::new();
    if let Some(environments) = opt_array(settings, "environments")? {
        if environments.len() > MAX_ENVIRONMENTS {
            return Err(ApiError::invalid(format!(
                "A job can have at most {MAX_ENVIRONMENTS} environments, got {}",
                environments.len()
            )));
        }
        for environment in environments {
            let environment = object("environments", environment)?;
            let key = key_field(environment, "environment_key", "environments")?;
            if !environment_keys.insert(key) {
                return Err(ApiError::invalid(format!(
                    "Duplicate environment_key '{key}': environment keys must be unique"
                )));
            }
        }
    }
    if let Some(parameters) = opt_array(settings, "parameters")? {
        let mut names = HashSet::new();
        for parameter in parameters {
            let parameter = object("parameters", parameter)?;
            let name = opt_str(parameter, "name")?
                .ok_or_else(|| ApiError::invalid("Missing required field: parameters.name"))?;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                return Err(ApiError::invalid(format!(
                    "Invalid parameter name '{name}': use letters, digits, '_', '-' and '.'"
                )));
            }
            if !names.insert(name) {
                return Err(ApiError::invalid(format!(
                    "Duplicate job parameter name '{name}'"
                )));
            }
            match parameter.get("default") {
                Some(Value::String(_)) => {}
                None | Some(Value::Null) => {
                    return Err(ApiError::invalid(format!(
                        "Missing required field: parameters.default (parameter '{name}')"
                    )));
                }
                Some(other) => return Err(wrong_type("parameters.default", "a string", other)),
            }
        }
    }

    let tasks = opt_array(settings, "tasks")?;
    let tasks = match tasks {
        Some(tasks) => tasks,
        None if submit => return Err(ApiError::invalid("Missing required field: tasks")),
        None => return Ok(()),
    };
    if submit && tasks.is_empty() {
        return Err(ApiError::invalid("A run must have at least one task"));
    }
    if tasks.len() > MAX_TASKS {
        return Err(ApiError::invalid(format!(
            "A job can have at most {MAX_TASKS} tasks, got {}",
            tasks.len()
        )));
    }
    let mut graph: Vec<(&str, Vec<&str>)> = Vec::with_capacity(tasks.len());
    let mut keys = HashSet::new();
    for task in tasks {
        let task = object("tasks", task)?;
        let key = key_field(task, "task_key", "tasks")?;
        if !keys.insert(key) {
            return Err(ApiError::invalid(format!(
                "Duplicate task_key '{key}': task keys must be unique within a job"
            )));
        }
        graph.push((key, validate_task(task, key, &cluster_keys, &environment_keys)?));
    }
    for (key, deps) in &graph {
        for dep in deps {
            if dep == key {
                return Err(ApiError::invalid(format!("Task '{key}' cannot depend on itself")));
            }
            if !keys.contains(dep) {
                return Err(ApiError::invalid(format!(
                    "Task '{key}' depends on task '{dep}', which does not exist in the job"
                )));
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        return Err(ApiError::invalid(format!(
            "The task dependency graph has a cycle: {}",
            cycle.join(" -> ")
        )));
    }
    Ok(())
}

/// Checks one task; returns the keys it depends on.
fn validate_task<'a>(
    task: &'a Map<String, Value>,
    key: &str,
    cluster_keys: &HashSet<&str>,
    environment_keys: &HashSet<&str>,
) -> ApiResult<Vec<&'a str>> {
    if let Some(description) = opt_str(task, "description")?
        && description.chars().count() > MAX_TASK_DESCRIPTION_CHARS
    {
        return Err(ApiError::invalid(format!(
            "The description of task '{key}' must be at most {MAX_TASK_DESCRIPTION_CHARS} characters"
        )));
    }
    if let Some(run_if) = opt_str(task, "run_if")?
        && RunIf::parse(run_if).is_none()
    {
        return Err(ApiError::invalid(format!(
            "Invalid run_if '{run_if}' for task '{key}' (expected one of {})",
            RunIf::NAMES.join(", ")
        )));
    }
    for (field, min) in [
        ("timeout_seconds", 0),
        ("max_retries", -1),
        ("min_retry_interval_millis", 0),
    ] {
        if let Some(value) = opt_i64(task, field)?
            && value < min
        {
            return Err(ApiError::invalid(format!(
                "Invalid {field} {value} for task '{key}': must be at least {min}"
            )));
        }
    }
    opt_bool(task, "retry_on_timeout")?;
    opt_bool(task, "disabled")?;
    if let Some(cluster) = opt_str(task, "job_cluster_key")?
        && !cluster_keys.contains(cluster)
    {
        return Err(ApiError::invalid(format!(
            "Task '{key}' uses job_cluster_key '{cluster}', which is not defined in job_clusters"
        )));
    }
    if let Some(environment) = opt_str(task, "environment_key")?
        && !environment_keys.contains(environment)
    {
        return Err(ApiError::invalid(format!(
            "Task '{key}' uses environment_key '{environment}', which is not defined in environments"
        )));
    }
    let kinds: Vec<&String> = task
        .keys()
        .filter(|k| k.ends_with("_task") && !task[k.as_str()].is_null())
        .collect();
    if kinds.len() != 1 {
        return Err(ApiError::invalid(format!(
            "Task '{key}' must specify exactly one task type (such as notebook_task or spark_python_task), got {}",
            kinds.len()
        )));
    }
    if !task[kinds[0].as_str()].is_object() {
        return Err(wrong_type(
            &format!("tasks.{}", kinds[0]),
            "an object",
            &task[kinds[0].as_str()],
        ));
    }
    let mut deps = Vec::new();
    if let Some(depends_on) = opt_array(task, "depends_on")? {
        for dep in depends_on {
            let dep = object("depends_on", dep)?;
            let upstream = opt_str(dep, "task_key")?
                .ok_or_else(|| ApiError::invalid("Missing required field: depends_on.task_key"))?;
            if let Some(outcome) = opt_str(dep, "outcome")?
                && outcome != "true"
                && outcome != "false"
            {
                return Err(ApiError::invalid(format!(
                    "Invalid depends_on.outcome '{outcome}' for task '{key}' (expected \"true\" or \"false\")"
                )));
            }
            deps.push(upstream);
        }
    }
    Ok(deps)
}

/// A dependency cycle, as task keys from the first repeated task back to itself.
fn find_cycle<'a>(graph: &[(&'a str, Vec<&'a str>)]) -> Option<Vec<&'a str>> {
    let index: HashMap<&str, usize> = graph.iter().enumerate().map(|(i, (key, _))| (*key, i)).collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; graph.len()];
    for root in 0..graph.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(dep) = graph[node].1.get(*next) {
                *next += 1;
                let Some(&child) = index.get(dep) else { continue };
                match state[child] {
                    0 => {
                        state[child] = 1;
                        stack.push((child, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(n, _)| n == child).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[from..].iter().map(|&(n, _)| graph[n].0).collect();
                        cycle.push(graph[child].0);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

fn canonical_git_provider(provider: &str) -> Option<&'static str> {
    GIT_PROVIDERS
        .iter()
        .copied()
        .find(|p| p.eq_ignore_ascii_case(provider))
}

/// Applies the defaults a real workspace returns on read. `fresh`: create/reset (full settings),
/// where 2.2 also turns queueing on when `queue` is absent.
pub fn apply_defaults(settings: &mut Map<String, Value>, version: ApiVersion, fresh: bool) {
    settings.remove("access_control_list");
    if !settings.get("name").is_some_and(Value::is_string) {
        settings.insert("name".into(), json!("Untitled"));
    }
    settings.insert("format".into(), json!("MULTI_TASK"));
    for (field, default) in [
        ("email_notifications", json!({})),
        ("webhook_notifications", json!({})),
        ("timeout_seconds", json!(0)),
        ("max_concurrent_runs", json!(1)),
    ] {
        if settings.get(field).is_none_or(Value::is_null) {
            settings.insert(field.into(), default);
        }
    }
    if fresh && version >= ApiVersion::V22 && settings.get("queue").is_none_or(Value::is_null) {
        settings.insert("queue".into(), json!({"enabled": true}));
    }
    let has_git = settings.get("git_source").is_some_and(Value::is_object);
    if let Some(Value::Object(git)) = settings.get_mut("git_source")
        && let Some(provider) = git
            .get("git_provider")
            .and_then(Value::as_str)
            .and_then(canonical_git_provider)
    {
        git.insert("git_provider".into(), json!(provider));
    }
    if let Some(Value::Array(tasks)) = settings.get_mut("tasks") {
        for task in tasks.iter_mut().filter_map(Value::as_object_mut) {
            apply_task_defaults(task, has_git);
        }
    }
    if let Some(Value::Array(clusters)) = settings.get_mut("job_clusters") {
        for cluster in clusters.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(Value::Object(spec)) = cluster.get_mut("new_cluster") {
                spec.remove("apply_policy_default_values");
            }
        }
    }
}

/// Per-task defaults: `run_if`, `timeout_seconds`, `email_notifications`, notebook `source`.
pub fn apply_task_defaults(task: &mut Map<String, Value>, has_git: bool) {
    for (field, default) in [
        ("run_if", json!("ALL_SUCCESS")),
        ("timeout_seconds", json!(0)),
        ("email_notifications", json!({})),
    ] {
        if task.get(field).is_none_or(Value::is_null) {
            task.insert(field.into(), default);
        }
    }
    if let Some(Value::Object(notebook)) = task.get_mut("notebook_task")
        && notebook.get("source").is_none_or(Value::is_null)
    {
        notebook.insert("source".into(), json!(if has_git { "GIT" } else { "WORKSPACE" }));
    }
    if let Some(Value::Object(spec)) = task.get_mut("new_cluster") {
        spec.remove("apply_policy_default_values");
    }
}

/// `jobs/update`: removes `fields_to_remove` (top-level names, or `tasks/<key>`-style array
/// entries), then sets every top-level field of `new_settings`, merging the keyed arrays entry by
/// entry (a matching key replaces the entry, a new key is appended).
pub fn merge_update(
    current: &mut Map<String, Value>,
    new_settings: Map<String, Value>,
    remove: &[String],
) -> ApiResult<()> {
    for field in remove {
        match field.split_once('/') {
            Some((name, key)) => {
                let Some(&(_, key_field)) = KEYED_ARRAYS.iter().find(|(array, _)| *array == name) else {
                    return Err(ApiError::invalid(format!(
                        "Invalid field to remove '{field}': only tasks/<task_key>, job_clusters/<job_cluster_key>, environments/<environment_key> and parameters/<name> can be removed by key"
                    )));
                };
                if let Some(Value::Array(items)) = current.get_mut(name) {
                    items.retain(|item| item.get(key_field).and_then(Value::as_str) != Some(key));
                }
            }
            None => {
                current.remove(field.as_str());
            }
        }
    }
    for (field, value) in new_settings {
        let keyed = KEYED_ARRAYS
            .iter()
            .find(|(array, _)| *array == field)
            .map(|&(_, key)| key);
        match (keyed, value, current.get_mut(&field)) {
            (Some(key_field), Value::Array(entries), Some(Value::Array(existing))) => {
                for entry in entries {
                    let key = entry
                        .get(key_field)
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            ApiError::invalid(format!("Missing required field: {field}.{key_field}"))
                        })?
                        .to_owned();
                    match existing
                        .iter_mut()
                        .find(|item| item.get(key_field).and_then(Value::as_str) == Some(&key))
                    {
                        Some(slot) => *slot = entry,
                        None => existing.push(entry),
                    }
                }
            }
            (_, value, _) => {
                current.insert(field, value);
            }
        }
    }
    Ok(())
}

/// The longest of the paged arrays.
pub fn max_paged_len(settings: &Map<String, Value>) -> usize {
    PAGED_ARRAYS
        .iter()
        .filter_map(|field| settings.get(*field)?.as_array().map(Vec::len))
        .max()
        .unwrap_or(0)
}

/// Serialises settings without copying: optionally only a window of the paged arrays, optionally
/// without some top-level fields.
pub struct SettingsView<'a> {
    pub settings: &'a Map<String, Value>,
    /// `(offset, len)` applied to each of [`PAGED_ARRAYS`].
    pub window: Option<(usize, usize)>,
    pub omit: &'a [&'a str],
}

impl Serialize for SettingsView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.settings {
            if self.omit.contains(&key.as_str()) {
                continue;
            }
            match (self.window, value) {
                (Some((offset, len)), Value::Array(items)) if PAGED_ARRAYS.contains(&key.as_str()) => {
                    let lo = offset.min(items.len());
                    let hi = offset.saturating_add(len).min(items.len());
                    map.serialize_entry(key, &items[lo..hi])?;
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

/// The value of `field` if it is an array of objects, for error-free iteration.
pub fn objects<'a>(
    settings: &'a Map<String, Value>,
    field: &str,
) -> impl Iterator<Item = &'a Map<String, Value>> {
    settings
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn nb(key: &str) -> Value {
        json!({"task_key": key, "notebook_task": {"notebook_path": "/x"}})
    }

    #[test]
    fn validation_catches_bad_graphs_and_limits() {
        let err = |v: Value| validate(&settings(v), false).unwrap_err().message;
        assert!(err(json!({"tasks": [nb("a"), nb("a")]})).contains("Duplicate task_key 'a'"));
        let mut b = nb("b");
        b["depends_on"] = json!([{"task_key": "zz"}]);
        assert!(err(json!({"tasks": [nb("a"), b]})).contains("'zz', which does not exist"));
        let mut a = nb("a");
        a["depends_on"] = json!([{"task_key": "b"}]);
        let mut b = nb("b");
        b["depends_on"] = json!([{"task_key": "a"}]);
        assert!(err(json!({"tasks": [a, b]})).contains("cycle: a -> b -> a"));
        assert!(
            err(json!({"schedule": {"quartz_cron_expression": "x", "timezone_id": "UTC"}, "continuous": {}}))
                .contains("only one of")
        );
        assert!(err(json!({"schedule": {"quartz_cron_expression": "x", "timezone_id": "UTC", "pause_status": "NOPE"}}))
            .contains("pause_status"));
        let mut t = nb("a");
        t["run_if"] = json!("SOMETIMES");
        assert!(err(json!({"tasks": [t]})).contains("run_if"));
        let mut t = nb("a");
        t["job_cluster_key"] = json!("missing");
        assert!(err(json!({"tasks": [t]})).contains("not defined in job_clusters"));
        assert!(err(json!({"max_concurrent_runs": 1001})).contains("between 0 and 1000"));
        let tags: Map<String, Value> = (0..26).map(|i| (format!("t{i}"), json!("v"))).collect();
        assert!(err(json!({"tags": tags})).contains("at most 25 tags"));
        assert!(err(json!({"name": "x".repeat(4097)})).contains("4096 bytes"));
        let tasks: Vec<Value> = (0..1001).map(|i| nb(&format!("t{i}"))).collect();
        assert!(err(json!({"tasks": tasks})).contains("at most 1000 tasks"));
        assert!(err(json!({"timeout_seconds": "soon"})).contains("timeout_seconds"));
        assert!(validate(&settings(json!({"tasks": [nb("a")]})), false).is_ok());
        assert!(validate(&settings(json!({})), true).is_err());
    }

    #[test]
    fn empty_arrays_are_absent_fields() {
        let mut s = settings(
            json!({"triggers": [], "tasks": [{"task_key": "a", "depends_on": [], "libraries": [{"whl": "x"}]}]}),
        );
        strip_empty_arrays(&mut s);
        assert_eq!(
            Value::Object(s),
            json!({"tasks": [{"task_key": "a", "libraries": [{"whl": "x"}]}]})
        );
    }

    #[test]
    fn defaults_are_the_ones_clients_diff_against() {
        let mut s =
            settings(json!({"tasks": [nb("a")], "git_source": {"git_url": "u", "git_provider": "GITHUB"}}));
        apply_defaults(&mut s, ApiVersion::V22, true);
        assert_eq!(s["name"], "Untitled");
        assert_eq!(s["format"], "MULTI_TASK");
        assert_eq!(s["max_concurrent_runs"], 1);
        assert_eq!(s["queue"], json!({"enabled": true}));
        assert_eq!(s["git_source"]["git_provider"], "gitHub");
        assert_eq!(s["tasks"][0]["run_if"], "ALL_SUCCESS");
        assert_eq!(s["tasks"][0]["notebook_task"]["source"], "GIT");
        let mut s = settings(json!({}));
        apply_defaults(&mut s, ApiVersion::V21, true);
        assert!(s.get("queue").is_none());
    }

    #[test]
    fn update_merges_keyed_arrays_and_removes_fields() {
        let mut s =
            settings(json!({"tasks": [nb("a"), nb("b")], "schedule": {"x": 1}, "timeout_seconds": 5}));
        let mut a2 = nb("a");
        a2["notebook_task"]["notebook_path"] = json!("/y");
        merge_update(
            &mut s,
            settings(json!({"tasks": [a2, nb("c")]})),
            &["schedule".to_owned(), "tasks/b".to_owned()],
        )
        .unwrap();
        let keys: Vec<&str> = objects(&s, "tasks")
            .map(|t| t["task_key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(s["tasks"][0]["notebook_task"]["notebook_path"], "/y");
        assert!(s.get("schedule").is_none());
        assert_eq!(s["timeout_seconds"], 5);
    }

    #[test]
    fn views_page_arrays_without_copying() {
        let tasks: Vec<Value> = (0..150).map(|i| nb(&format!("t{i}"))).collect();
        let s = settings(json!({"name": "n", "tasks": tasks, "job_clusters": []}));
        let page = serde_json::to_value(SettingsView {
            settings: &s,
            window: Some((100, PAGE)),
            omit: &[],
        })
        .unwrap();
        assert_eq!(page["tasks"].as_array().unwrap().len(), 50);
        assert_eq!(page["tasks"][0]["task_key"], "t100");
        let listed = serde_json::to_value(SettingsView {
            settings: &s,
            window: None,
            omit: &["tasks"],
        })
        .unwrap();
        assert!(listed.get("tasks").is_none());
        assert_eq!(max_paged_len(&s), 150);
    }
}
