//! Overlays: deep-merging one positioned tree over another.
//!
//! Rules (the same as Databricks bundles' target overrides, plus `null` to delete):
//! - mappings merge key by key, recursively;
//! - at the top level of a job, `tasks` merge by `task_key`, `job_clusters` by
//!   `job_cluster_key`, `parameters` by `name`, `environments` by `environment_key`, and
//!   `access_control_list` by principal (`user_name` / `group_name` / `service_principal_name`):
//!   a matching element is merged recursively (an ACL entry is replaced), others are appended;
//! - scalars and every other list are replaced by the overlay's value;
//! - an overlay value of `null` removes the key.
//!
//! Every merged value keeps the span of the file that supplied it, so a finding about an
//! overlaid value points into the overlay.

use crate::node::{Entry, Node, NodeKind};

/// Which field identifies an element of a top-level job list, if the list merges by key.
fn merge_key(field: &str) -> Option<&'static [&'static str]> {
    match field {
        "tasks" => Some(&["task_key"]),
        "job_clusters" => Some(&["job_cluster_key"]),
        "parameters" => Some(&["name"]),
        "environments" => Some(&["environment_key"]),
        "access_control_list" => Some(&["user_name", "group_name", "service_principal_name"]),
        _ => None,
    }
}

/// Merges `overlay` over the job-settings tree `base` (keyed lists at the top level).
pub fn merge_job(base: &mut Node, overlay: Node) {
    merge(base, overlay, true);
}

/// Merges `overlay` over `base` with mapping/replace rules only (no keyed lists).
pub fn merge_plain(base: &mut Node, overlay: Node) {
    merge(base, overlay, false);
}

fn merge(base: &mut Node, overlay: Node, keyed: bool) {
    let NodeKind::Map(overlay_entries) = overlay.kind else {
        // An overlay restating the same value leaves it attributed to the base file.
        if base.kind != overlay.kind {
            *base = overlay;
        }
        return;
    };
    let NodeKind::Map(base_entries) = &mut base.kind else {
        *base = Node::new(NodeKind::Map(overlay_entries), overlay.span);
        return;
    };
    for entry in overlay_entries {
        let existing = base_entries.iter().position(|e| e.key == entry.key);
        if matches!(entry.value.kind, NodeKind::Null) {
            if let Some(i) = existing {
                base_entries.remove(i);
            }
            continue;
        }
        match existing {
            None => base_entries.push(entry),
            Some(i) => {
                let target = &mut base_entries[i];
                let keys = if keyed { merge_key(&entry.key) } else { None };
                match keys {
                    Some(keys) if is_keyed_list(&target.value, keys) && is_keyed_list(&entry.value, keys) => {
                        merge_keyed_list(
                            &mut target.value,
                            entry.value,
                            keys,
                            entry.key == "access_control_list",
                        );
                    }
                    _ => merge(&mut target.value, entry.value, false),
                }
            }
        }
    }
}

fn element_key(node: &Node, keys: &[&str]) -> Option<(String, String)> {
    keys.iter().find_map(|k| {
        node.get(k)
            .and_then(Node::as_str)
            .map(|v| ((*k).to_string(), v.to_string()))
    })
}

fn is_keyed_list(node: &Node, keys: &[&str]) -> bool {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().all(|i| element_key(i, keys).is_some()),
        _ => false,
    }
}

fn merge_keyed_list(base: &mut Node, overlay: Node, keys: &[&str], replace: bool) {
    let NodeKind::Seq(overlay_items) = overlay.kind else {
        return;
    };
    let NodeKind::Seq(base_items) = &mut base.kind else {
        return;
    };
    for item in overlay_items {
        let Some(key) = element_key(&item, keys) else {
            base_items.push(item);
            continue;
        };
        match base_items
            .iter_mut()
            .find(|b| element_key(b, keys).as_ref() == Some(&key))
        {
            Some(existing) if replace => *existing = item,
            Some(existing) => merge(existing, item, false),
            None => base_items.push(item),
        }
    }
}

/// Inserts `key: value` into a mapping node, replacing an existing value.
pub fn set(node: &mut Node, key: &str, value: Node) {
    if let NodeKind::Map(entries) = &mut node.kind {
        if let Some(e) = entries.iter_mut().find(|e| e.key == key) {
            e.value = value;
        } else {
            let key_span = value.span;
            entries.push(Entry {
                key: key.to_string(),
                key_span,
                value,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_str;
    use serde_json::json;

    fn merged(base: &str, overlay: &str) -> serde_json::Value {
        let mut b = parse_str(base).expect("base");
        let o = parse_str(overlay).expect("overlay");
        merge_job(&mut b, o);
        b.to_value()
    }

    #[test]
    fn maps_merge_recursively_and_scalars_replace() {
        let v = merged("a: {x: 1, y: 2}\nb: 1\n", "a: {y: 3, z: 4}\nb: 2\n");
        assert_eq!(v, json!({"a": {"x": 1, "y": 3, "z": 4}, "b": 2}));
    }

    #[test]
    fn tasks_merge_by_task_key() {
        let base = "tasks:\n  - task_key: a\n    timeout_seconds: 1\n    notebook_task: {notebook_path: /x}\n  - task_key: b\n";
        let overlay = "tasks:\n  - task_key: a\n    timeout_seconds: 9\n  - task_key: c\n";
        let v = merged(base, overlay);
        assert_eq!(
            v["tasks"],
            json!([
                {"task_key": "a", "timeout_seconds": 9, "notebook_task": {"notebook_path": "/x"}},
                {"task_key": "b"},
                {"task_key": "c"}
            ])
        );
    }

    #[test]
    fn job_clusters_parameters_and_acl_merge_by_key() {
        let base = "job_clusters:\n  - {job_cluster_key: k, new_cluster: {num_workers: 1, node_type_id: i3.xlarge}}\nparameters:\n  - {name: p, default: a}\naccess_control_list:\n  - {user_name: u@x.com, permission_level: IS_OWNER}\n  - {group_name: g, permission_level: CAN_VIEW}\n";
        let overlay = "job_clusters:\n  - {job_cluster_key: k, new_cluster: {num_workers: 4}}\nparameters:\n  - {name: p, default: b}\naccess_control_list:\n  - {group_name: g, permission_level: CAN_MANAGE_RUN}\n";
        let v = merged(base, overlay);
        assert_eq!(
            v["job_clusters"][0]["new_cluster"],
            json!({"num_workers": 4, "node_type_id": "i3.xlarge"})
        );
        assert_eq!(v["parameters"], json!([{"name": "p", "default": "b"}]));
        assert_eq!(
            v["access_control_list"][1],
            json!({"group_name": "g", "permission_level": "CAN_MANAGE_RUN"})
        );
        assert_eq!(v["access_control_list"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn other_lists_are_replaced_and_null_deletes() {
        let base = "tags: {a: 1}\nemail_notifications: {on_failure: [a@x.com, b@x.com]}\nschedule: {quartz_cron_expression: x}\n";
        let overlay = "email_notifications: {on_failure: [c@x.com]}\nschedule: null\n";
        let v = merged(base, overlay);
        assert_eq!(
            v,
            json!({"tags": {"a": 1}, "email_notifications": {"on_failure": ["c@x.com"]}})
        );
    }

    #[test]
    fn nested_lists_named_like_keyed_lists_are_replaced() {
        let base = "tasks:\n  - task_key: a\n    python_wheel_task: {parameters: [x, y]}\n";
        let overlay = "tasks:\n  - task_key: a\n    python_wheel_task: {parameters: [z]}\n";
        assert_eq!(
            merged(base, overlay)["tasks"][0]["python_wheel_task"]["parameters"],
            json!(["z"])
        );
    }

    #[test]
    fn overlay_values_keep_overlay_spans() {
        let mut sources = crate::source::SourceMap::new();
        let mut diags = crate::diagnostics::Diagnostics::new(false);
        let b_text = "tasks:\n  - task_key: a\n    timeout_seconds: 1\n";
        let o_text = "tasks:\n  - task_key: a\n    timeout_seconds: 2\n";
        let b_id = sources.add("job.yaml", "job.yaml", b_text.to_string());
        let o_id = sources.add("environments/dev.yaml", "dev.yaml", o_text.to_string());
        let mut b = crate::node::parse(b_text, b_id, &sources, &mut diags).expect("b");
        let o = crate::node::parse(o_text, o_id, &sources, &mut diags).expect("o");
        merge_job(&mut b, o);
        let (_, spans) = b.to_json();
        assert_eq!(
            spans.get("/tasks/0/timeout_seconds").map(|s| s.value.file),
            Some(o_id)
        );
        assert_eq!(spans.get("/tasks/0/task_key").map(|s| s.value.file), Some(b_id));
    }
}
