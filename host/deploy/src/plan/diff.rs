//! Field-level differences between two normalised settings documents.
//!
//! Paths read like `tasks[process-silver].timeout_seconds`: list elements that have a key
//! (`tasks` by `task_key`, `job_clusters` by `job_cluster_key`, `depends_on` by `task_key`,
//! `parameters` by `name`, `environments` by `environment_key`, `health.rules` by `metric`)
//! are matched by key; other lists are compared whole. Map keys that are not plain words are
//! quoted: `spark_conf["spark.databricks.delta.preview.enabled"]`.

use serde::Serialize;
use serde_json::Value;

/// One difference. `old: None` is an addition, `new: None` a removal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Field path, e.g. `tasks[process-silver].timeout_seconds`.
    pub path: String,
    /// Live value.
    pub old: Option<Value>,
    /// Desired value.
    pub new: Option<Value>,
}

impl Change {
    /// `+`, `-` or `~`.
    pub fn symbol(&self) -> char {
        match (&self.old, &self.new) {
            (None, _) => '+',
            (_, None) => '-',
            _ => '~',
        }
    }
}

fn list_key(field: &str) -> Option<&'static str> {
    match field {
        "tasks" => Some("task_key"),
        "job_clusters" => Some("job_cluster_key"),
        "depends_on" => Some("task_key"),
        "parameters" => Some("name"),
        "environments" => Some("environment_key"),
        "rules" => Some("metric"),
        _ => None,
    }
}

/// `parent.key`, or `parent["key"]` when the key is not a plain word.
pub(crate) fn field_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", Value::String(key.to_string())),
    }
}

fn keyed(items: &[Value], key: &str) -> Option<Vec<(String, Value)>> {
    items
        .iter()
        .map(|x| {
            x.get(key)
                .and_then(Value::as_str)
                .map(|k| (k.to_string(), x.clone()))
        })
        .collect::<Option<Vec<_>>>()
}

/// The differences from `old` to `new`.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = vec![];
    diff_at("", None, old, new, &mut out);
    out
}

/// One member of an object or keyed list: present on both sides (compared deeper), removed, or
/// added.
fn diff_entry(
    path: String,
    field: Option<&str>,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<Change>,
) {
    match (old, new) {
        (Some(a), Some(b)) => diff_at(&path, field, a, b, out),
        (None, None) => {}
        (old, new) => out.push(Change {
            path,
            old: old.cloned(),
            new: new.cloned(),
        }),
    }
}

fn diff_at(path: &str, field: Option<&str>, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = field_path(path, k);
                diff_entry(p, Some(k), o.get(k), n.get(k), out);
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            let key = field.and_then(list_key);
            let pairs = key.and_then(|k| Some((keyed(o, k)?, keyed(n, k)?)));
            match pairs {
                Some((ok, nk)) => {
                    let mut keys: Vec<&String> = ok
                        .iter()
                        .map(|(k, _)| k)
                        .chain(nk.iter().map(|(k, _)| k))
                        .collect();
                    keys.sort();
                    keys.dedup();
                    for k in keys {
                        let p = format!("{path}[{k}]");
                        let a = ok.iter().find(|(x, _)| x == k).map(|(_, v)| v);
                        let b = nk.iter().find(|(x, _)| x == k).map(|(_, v)| v);
                        diff_entry(p, None, a, b, out);
                    }
                }
                None => out.push(Change {
                    path: path.to_string(),
                    old: Some(old.clone()),
                    new: Some(new.clone()),
                }),
            }
        }
        _ => out.push(Change {
            path: path.to_string(),
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_and_nested_fields() {
        let old = json!({"tasks": [{"task_key": "a", "timeout_seconds": 10}, {"task_key": "gone"}],
            "tags": {"sla": "critical"},
            "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"spark_conf": {"spark.x.y": "1"}}}]});
        let new = json!({"tasks": [{"task_key": "a", "timeout_seconds": 20}, {"task_key": "new"}],
            "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"spark_conf": {"spark.x.y": "2"}}}]});
        let changes = diff(&old, &new);
        let summary: Vec<(char, &str)> = changes.iter().map(|c| (c.symbol(), c.path.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                ('~', "job_clusters[c].new_cluster.spark_conf[\"spark.x.y\"]"),
                ('-', "tags"),
                ('~', "tasks[a].timeout_seconds"),
                ('-', "tasks[gone]"),
                ('+', "tasks[new]"),
            ]
        );
        assert_eq!(changes[2].old, Some(json!(10)));
        assert_eq!(changes[2].new, Some(json!(20)));
    }

    #[test]
    fn unkeyed_lists_compare_whole() {
        let changes = diff(
            &json!({"email": {"on_failure": ["a"]}}),
            &json!({"email": {"on_failure": ["a", "b"]}}),
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "email.on_failure");
        assert_eq!(changes[0].new, Some(json!(["a", "b"])));
    }

    #[test]
    fn depends_on_is_keyed() {
        let changes = diff(
            &json!({"tasks": [{"task_key": "b", "depends_on": [{"task_key": "a"}]}]}),
            &json!({"tasks": [{"task_key": "b", "depends_on": [{"task_key": "a"}, {"task_key": "c"}]}]}),
        );
        assert_eq!(changes[0].path, "tasks[b].depends_on[c]");
        assert_eq!(changes[0].symbol(), '+');
    }

    #[test]
    fn equal_documents_have_no_changes() {
        let v = json!({"a": [1, {"b": 2}]});
        assert!(diff(&v, &v).is_empty());
    }
}
