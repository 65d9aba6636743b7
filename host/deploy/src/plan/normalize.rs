//! Normalising job settings so desired and live compare without phantom differences.
//!
//! Both sides get the same treatment:
//! - `null`s and the server-only `format` are dropped;
//! - fields equal to the server default are dropped (reference §3.4): job `max_concurrent_runs:
//!   1`, `timeout_seconds: 0`, `queue: {enabled: true}`, empty `email_notifications` /
//!   `webhook_notifications` / `notification_settings`, `pause_status: UNPAUSED`; per task
//!   `run_if: ALL_SUCCESS`, `timeout_seconds: 0`, `max_retries: 0`, `min_retry_interval_millis:
//!   0`, `retry_on_timeout: false`, `disabled: false`, empty notification blocks,
//!   `notebook_task.source` / `spark_python_task.source` equal to the default (`GIT` when the
//!   job has `git_source`, else `WORKSPACE`); `no_alert_for_skipped_runs: false`;
//! - in cluster specs `apply_policy_default_values` (consumed, never echoed) is dropped, and
//!   `num_workers` is dropped when `autoscale` is set (autoscale wins);
//! - `tasks`, `job_clusters`, `parameters`, `environments` and `depends_on` are sorted by key;
//!   integral floats become integers; empty maps and lists that mean "none" are dropped;
//! - tags matching the ignore list (brickship's own deployment tags) are dropped.
//!
//! The live side additionally loses server enrichment the desired side does not set
//! ([`strip_enrichment`]): `run_as`, `edit_mode`, policy ids and `performance_target` at the
//! job level; cloud attributes, `data_security_mode`, `enable_elastic_disk`,
//! `driver_node_type_id`, `runtime_engine`, `workload_type`... in cluster specs (and the
//! sub-fields of cloud attributes the desired side does not set).

use serde_json::{Map, Value};

/// What normalisation ignores.
#[derive(Clone, Debug, Default)]
pub struct NormalizeOptions {
    /// Job tag keys left out of comparisons; a trailing `*` matches a prefix
    /// (e.g. `brickship-*`).
    pub ignore_tags: Vec<String>,
}

impl NormalizeOptions {
    /// Options ignoring `tags`.
    pub fn ignoring_tags<I: IntoIterator<Item = S>, S: Into<String>>(tags: I) -> Self {
        Self {
            ignore_tags: tags.into_iter().map(Into::into).collect(),
        }
    }

    fn ignores(&self, tag: &str) -> bool {
        self.ignore_tags.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => tag.starts_with(prefix),
            None => tag == p,
        })
    }
}

const JOB_ENRICHMENT: &[&str] = &[
    "run_as",
    "edit_mode",
    "budget_policy_id",
    "usage_policy_id",
    "performance_target",
    "parent_path",
    "deployment",
];
const CLUSTER_ENRICHMENT: &[&str] = &[
    "aws_attributes",
    "azure_attributes",
    "gcp_attributes",
    "data_security_mode",
    "enable_elastic_disk",
    "enable_local_disk_encryption",
    "driver_node_type_id",
    "driver_instance_pool_id",
    "runtime_engine",
    "workload_type",
    "single_user_name",
    "autotermination_minutes",
    "disk_spec",
    "cluster_source",
    "kind",
    "is_single_node",
    "use_ml_runtime",
    "policy_id",
    "effective_spark_version",
];
/// Cluster fields whose own sub-fields are also enrichment when the desired side omits them.
const CLUSTER_ENRICHMENT_OBJECTS: &[&str] = &[
    "aws_attributes",
    "azure_attributes",
    "gcp_attributes",
    "workload_type",
];

fn remove_if(obj: &mut Map<String, Value>, key: &str, default: &Value) {
    if obj.get(key) == Some(default) {
        obj.shift_remove(key);
    }
}

fn remove_if_empty(obj: &mut Map<String, Value>, key: &str) {
    let empty = match obj.get(key) {
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        obj.shift_remove(key);
    }
}

fn clean(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m)
                .into_iter()
                .filter(|(_, x)| !x.is_null())
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, x) in entries.iter_mut() {
                clean(x);
            }
            *m = entries.into_iter().collect();
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                clean(x);
            }
        }
        Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && !n.is_i64()
                && !n.is_u64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "integral and within i64 range, checked above"
                )]
                let i = f as i64;
                *v = Value::from(i);
            }
        }
        _ => {}
    }
}

fn sort_by_key(v: Option<&mut Value>, key: &str) {
    if let Some(Value::Array(a)) = v
        && a.iter().all(|x| x.get(key).and_then(Value::as_str).is_some())
    {
        a.sort_by(|x, y| {
            let kx = x.get(key).and_then(Value::as_str).unwrap_or_default();
            let ky = y.get(key).and_then(Value::as_str).unwrap_or_default();
            kx.cmp(ky)
        });
    }
}

fn notifications(obj: &mut Map<String, Value>) {
    if let Some(Value::Object(en)) = obj.get_mut("email_notifications") {
        remove_if(en, "no_alert_for_skipped_runs", &Value::Bool(false));
        for k in en.keys().cloned().collect::<Vec<_>>() {
            remove_if_empty(en, &k);
        }
    }
    if let Some(Value::Object(wn)) = obj.get_mut("webhook_notifications") {
        for k in wn.keys().cloned().collect::<Vec<_>>() {
            remove_if_empty(wn, &k);
        }
    }
    if let Some(Value::Object(ns)) = obj.get_mut("notification_settings") {
        for k in [
            "no_alert_for_skipped_runs",
            "no_alert_for_canceled_runs",
            "alert_on_last_attempt",
        ] {
            remove_if(ns, k, &Value::Bool(false));
        }
    }
    for k in [
        "email_notifications",
        "webhook_notifications",
        "notification_settings",
    ] {
        remove_if_empty(obj, k);
    }
}

fn cluster(spec: &mut Value) {
    let Some(obj) = spec.as_object_mut() else { return };
    obj.shift_remove("apply_policy_default_values");
    if obj.contains_key("autoscale") {
        obj.shift_remove("num_workers");
    }
    for k in [
        "spark_conf",
        "spark_env_vars",
        "custom_tags",
        "init_scripts",
        "ssh_public_keys",
    ] {
        remove_if_empty(obj, k);
    }
}

fn task(t: &mut Value, git: bool) {
    let Some(obj) = t.as_object_mut() else { return };
    remove_if(obj, "run_if", &Value::from("ALL_SUCCESS"));
    for k in ["timeout_seconds", "max_retries", "min_retry_interval_millis"] {
        remove_if(obj, k, &Value::from(0));
    }
    for k in ["retry_on_timeout", "disabled", "disable_auto_optimization"] {
        remove_if(obj, k, &Value::Bool(false));
    }
    notifications(obj);
    sort_by_key(obj.get_mut("depends_on"), "task_key");
    for k in ["depends_on", "libraries"] {
        remove_if_empty(obj, k);
    }
    let default_source = Value::from(if git { "GIT" } else { "WORKSPACE" });
    for kind in ["notebook_task", "spark_python_task", "dbt_task"] {
        if let Some(Value::Object(tt)) = obj.get_mut(kind) {
            remove_if(tt, "source", &default_source);
            for k in ["base_parameters", "parameters"] {
                remove_if_empty(tt, k);
            }
        }
    }
    if let Some(Value::Object(w)) = obj.get_mut("python_wheel_task") {
        remove_if_empty(w, "parameters");
        remove_if_empty(w, "named_parameters");
    }
    if let Some(spec) = obj.get_mut("new_cluster") {
        cluster(spec);
    }
    if let Some(inner) = obj.get_mut("for_each_task").and_then(|f| f.get_mut("task")) {
        task(inner, git);
    }
}

/// Normalises one side (desired or live). See the module docs.
pub fn normalize(settings: &Value, opts: &NormalizeOptions) -> Value {
    let mut v = settings.clone();
    clean(&mut v);
    let Some(obj) = v.as_object_mut() else { return v };
    let git = obj.contains_key("git_source");
    obj.shift_remove("format");
    obj.shift_remove("access_control_list");
    remove_if(obj, "max_concurrent_runs", &Value::from(1));
    remove_if(obj, "timeout_seconds", &Value::from(0));
    remove_if(obj, "queue", &serde_json::json!({"enabled": true}));
    notifications(obj);
    for k in ["schedule", "trigger", "continuous"] {
        if let Some(Value::Object(s)) = obj.get_mut(k) {
            remove_if(s, "pause_status", &Value::from("UNPAUSED"));
        }
    }
    if let Some(Value::Object(tags)) = obj.get_mut("tags") {
        tags.retain(|k, _| !opts.ignores(k));
    }
    for k in ["tags", "parameters", "environments", "job_clusters", "tasks"] {
        remove_if_empty(obj, k);
    }
    sort_by_key(obj.get_mut("tasks"), "task_key");
    sort_by_key(obj.get_mut("job_clusters"), "job_cluster_key");
    sort_by_key(obj.get_mut("parameters"), "name");
    sort_by_key(obj.get_mut("environments"), "environment_key");
    if let Some(Value::Array(tasks)) = obj.get_mut("tasks") {
        for t in tasks {
            task(t, git);
        }
    }
    if let Some(Value::Array(clusters)) = obj.get_mut("job_clusters") {
        for c in clusters {
            if let Some(spec) = c.get_mut("new_cluster") {
                cluster(spec);
            }
        }
    }
    v
}

fn strip_cluster(live: &mut Value, desired: Option<&Value>) {
    let Some(l) = live.as_object_mut() else { return };
    let d = desired.and_then(Value::as_object);
    for k in CLUSTER_ENRICHMENT {
        match d.and_then(|d| d.get(*k)) {
            None => {
                l.shift_remove(*k);
            }
            Some(Value::Object(dsub)) if CLUSTER_ENRICHMENT_OBJECTS.contains(k) => {
                if let Some(Value::Object(lsub)) = l.get_mut(*k) {
                    lsub.retain(|sk, _| dsub.contains_key(sk));
                }
            }
            Some(_) => {}
        }
    }
}

fn find_by<'a>(list: Option<&'a Value>, key: &str, value: &str) -> Option<&'a Value> {
    list?
        .as_array()?
        .iter()
        .find(|x| x.get(key).and_then(Value::as_str) == Some(value))
}

/// Drops from normalised `live` the server enrichment that normalised `desired` does not set.
pub fn strip_enrichment(live: &mut Value, desired: &Value) {
    let Some(l) = live.as_object_mut() else { return };
    for k in JOB_ENRICHMENT {
        if desired.get(*k).is_none() {
            l.shift_remove(*k);
        }
    }
    if let Some(Value::Array(clusters)) = l.get_mut("job_clusters") {
        for c in clusters {
            let key = c
                .get("job_cluster_key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let d = find_by(desired.get("job_clusters"), "job_cluster_key", &key)
                .and_then(|d| d.get("new_cluster"));
            if let Some(spec) = c.get_mut("new_cluster") {
                strip_cluster(spec, d);
            }
        }
    }
    if let Some(Value::Array(tasks)) = l.get_mut("tasks") {
        for t in tasks {
            let key = t
                .get("task_key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let d = find_by(desired.get("tasks"), "task_key", &key);
            if let Some(spec) = t.get_mut("new_cluster") {
                strip_cluster(spec, d.and_then(|d| d.get("new_cluster")));
            }
        }
    }
}

/// Normalises both sides for comparison: `(desired, live)`.
pub fn normalize_pair(desired: &Value, live: &Value, opts: &NormalizeOptions) -> (Value, Value) {
    let d = normalize(desired, opts);
    let mut l = normalize(live, opts);
    strip_enrichment(&mut l, &d);
    (d, l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_defaults_and_order_do_not_differ() {
        let desired = json!({
            "name": "j",
            "tags": {"team": "x"},
            "tasks": [
                {"task_key": "b", "depends_on": [{"task_key": "a"}], "notebook_task": {"notebook_path": "/n"}},
                {"task_key": "a", "notebook_task": {"notebook_path": "/m"}, "max_retries": 0}
            ],
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
            "email_notifications": {"on_failure": ["a@x.com"], "no_alert_for_skipped_runs": false}
        });
        let live = json!({
            "name": "j",
            "format": "MULTI_TASK",
            "max_concurrent_runs": 1,
            "timeout_seconds": 0,
            "queue": {"enabled": true},
            "webhook_notifications": {},
            "tags": {"team": "x", "brickship-deployment": "d-1"},
            "run_as": {"user_name": "me@x.com"},
            "tasks": [
                {"task_key": "a", "run_if": "ALL_SUCCESS", "timeout_seconds": 0, "email_notifications": {},
                 "notebook_task": {"notebook_path": "/m", "source": "WORKSPACE"}},
                {"task_key": "b", "run_if": "ALL_SUCCESS", "timeout_seconds": 0, "email_notifications": {},
                 "depends_on": [{"task_key": "a"}], "notebook_task": {"notebook_path": "/n", "source": "WORKSPACE"}}
            ],
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC", "pause_status": "UNPAUSED"},
            "email_notifications": {"on_failure": ["a@x.com"]}
        });
        let (d, l) = normalize_pair(&desired, &live, &NormalizeOptions::ignoring_tags(["brickship-*"]));
        assert_eq!(d, l);
    }

    #[test]
    fn cluster_enrichment_and_autoscale() {
        let desired = json!({"job_clusters": [{"job_cluster_key": "c", "new_cluster": {
            "spark_version": "13.3.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 4,
            "autoscale": {"min_workers": 2, "max_workers": 8},
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK"}, "apply_policy_default_values": true}}]});
        let live = json!({"job_clusters": [{"job_cluster_key": "c", "new_cluster": {
            "spark_version": "13.3.x-scala2.12", "node_type_id": "i3.xlarge",
            "autoscale": {"min_workers": 2, "max_workers": 8},
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "us-west-2a", "spot_bid_price_percent": 100},
            "data_security_mode": "SINGLE_USER", "enable_elastic_disk": false, "driver_node_type_id": "i3.xlarge"}}]});
        let (d, l) = normalize_pair(&desired, &live, &NormalizeOptions::default());
        assert_eq!(d, l);
    }

    #[test]
    fn real_differences_survive() {
        let desired = json!({"max_concurrent_runs": 2, "tasks": [{"task_key": "a", "timeout_seconds": 60}]});
        let live = json!({"max_concurrent_runs": 1, "tasks": [{"task_key": "a", "timeout_seconds": 0}]});
        let (d, l) = normalize_pair(&desired, &live, &NormalizeOptions::default());
        assert_ne!(d, l);
        assert_eq!(d["max_concurrent_runs"], 2);
        assert!(l.get("max_concurrent_runs").is_none());
    }

    #[test]
    fn git_jobs_default_to_git_sources() {
        let desired = json!({"git_source": {"git_url": "u", "git_provider": "gitHub", "git_branch": "main"},
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb"}}]});
        let live = json!({"git_source": {"git_url": "u", "git_provider": "gitHub", "git_branch": "main"},
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb", "source": "GIT"}}]});
        let (d, l) = normalize_pair(&desired, &live, &NormalizeOptions::default());
        assert_eq!(d, l);
    }

    #[test]
    fn keys_come_out_sorted_even_after_removals() {
        let v = normalize(
            &json!({"tasks": [], "name": "j", "format": "MULTI_TASK", "job_clusters": [{"job_cluster_key": "c",
                "new_cluster": {"spark_version": "s", "num_workers": 1, "autoscale": {"min_workers": 1, "max_workers": 2}, "runtime_engine": "PHOTON"}}],
                "timeout_seconds": 1}),
            &NormalizeOptions::default(),
        );
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["job_clusters", "name", "timeout_seconds"]);
        let spec: Vec<&String> = v["job_clusters"][0]["new_cluster"]
            .as_object()
            .expect("spec")
            .keys()
            .collect();
        assert_eq!(spec, ["autoscale", "runtime_engine", "spark_version"]);
    }

    #[test]
    fn integral_floats_become_integers() {
        let (d, l) = normalize_pair(
            &json!({"timeout_seconds": 60.0}),
            &json!({"timeout_seconds": 60}),
            &NormalizeOptions::default(),
        );
        assert_eq!(d, l);
    }
}
