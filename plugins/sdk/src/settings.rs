//! Read Databricks JobSettings, which cross the plugin boundary as JSON text in the Jobs API's
//! own shape (see the Jobs API `JobSettings`, `Task`, `ClusterSpec`; the Permissions API ACL).
//!
//! These are read-only views over a [`serde_json::Value`]: unknown fields are kept, missing
//! optional fields read as `None`, and every accessor that points at a field also gives the
//! JSON pointer of that field (for findings).

use serde_json::{Map, Value};

use crate::types::PluginError;

/// A parsed JobSettings document.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    value: Value,
}

impl JobSettings {
    /// Parse JobSettings JSON text; it must be an object.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| PluginError::new("bad-settings", format!("job settings are not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(PluginError::new(
                "bad-settings",
                "job settings must be a JSON object",
            ));
        }
        Ok(JobSettings { value })
    }

    /// The whole document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// `name`, when set.
    pub fn name(&self) -> Option<&str> {
        self.value.get("name").and_then(Value::as_str)
    }

    /// `tasks`, in order.
    pub fn tasks(&self) -> Vec<Task<'_>> {
        array(&self.value, "tasks")
            .iter()
            .enumerate()
            .map(|(index, value)| Task {
                index,
                value,
                pointer: format!("/tasks/{index}"),
            })
            .collect()
    }

    /// `job_clusters`, in order.
    pub fn job_clusters(&self) -> Vec<JobCluster<'_>> {
        array(&self.value, "job_clusters")
            .iter()
            .enumerate()
            .map(|(index, value)| JobCluster { index, value })
            .collect()
    }

    /// `tags` (job-level), key → value. Missing `tags` is an empty map.
    pub fn tags(&self) -> Vec<(&str, &str)> {
        self.value
            .get("tags")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value of job tag `key`, when present.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.value
            .get("tags")
            .and_then(|t| t.get(key))
            .and_then(Value::as_str)
    }

    /// `schedule`, when set.
    pub fn schedule(&self) -> Option<Schedule<'_>> {
        self.value
            .get("schedule")
            .and_then(Value::as_object)
            .map(|value| Schedule { value })
    }

    /// `timeout_seconds` of the job, when set.
    pub fn timeout_seconds(&self) -> Option<i64> {
        self.value.get("timeout_seconds").and_then(Value::as_i64)
    }

    /// `max_concurrent_runs`, when set.
    pub fn max_concurrent_runs(&self) -> Option<i64> {
        self.value.get("max_concurrent_runs").and_then(Value::as_i64)
    }

    /// `access_control_list` embedded in the settings (create-time ACL), when present.
    pub fn embedded_acl(&self) -> Option<Acl> {
        self.value.get("access_control_list").map(Acl::from_value)
    }
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// One element of `tasks`.
#[derive(Debug, Clone)]
pub struct Task<'a> {
    /// Position in `tasks`.
    pub index: usize,
    /// The task object.
    pub value: &'a Value,
    pointer: String,
}

impl<'a> Task<'a> {
    /// `task_key` ("" when missing).
    pub fn key(&self) -> &'a str {
        self.value.get("task_key").and_then(Value::as_str).unwrap_or("")
    }
    /// JSON pointer of this task (`/tasks/3`), or of a field of it when `field` is not empty.
    pub fn pointer(&self, field: &str) -> String {
        if field.is_empty() {
            self.pointer.clone()
        } else {
            format!("{}/{field}", self.pointer)
        }
    }
    /// A field of the task.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.value.get(field)
    }
    /// `existing_cluster_id` (an all-purpose cluster), when set.
    pub fn existing_cluster_id(&self) -> Option<&'a str> {
        self.value.get("existing_cluster_id").and_then(Value::as_str)
    }
    /// `job_cluster_key`, when set.
    pub fn job_cluster_key(&self) -> Option<&'a str> {
        self.value.get("job_cluster_key").and_then(Value::as_str)
    }
    /// `new_cluster`, when set.
    pub fn new_cluster(&self) -> Option<&'a Map<String, Value>> {
        self.value.get("new_cluster").and_then(Value::as_object)
    }
    /// `timeout_seconds`, when set.
    pub fn timeout_seconds(&self) -> Option<i64> {
        self.value.get("timeout_seconds").and_then(Value::as_i64)
    }
    /// `max_retries`, when set.
    pub fn max_retries(&self) -> Option<i64> {
        self.value.get("max_retries").and_then(Value::as_i64)
    }
    /// The task type key present (`notebook_task`, `python_wheel_task`, ...), if any.
    pub fn task_type(&self) -> Option<&'a str> {
        self.value
            .as_object()?
            .keys()
            .find(|k| k.ends_with("_task"))
            .map(String::as_str)
    }
}

/// One element of `job_clusters`.
#[derive(Debug, Clone)]
pub struct JobCluster<'a> {
    /// Position in `job_clusters`.
    pub index: usize,
    /// The job cluster object.
    pub value: &'a Value,
}

impl<'a> JobCluster<'a> {
    /// `job_cluster_key` ("" when missing).
    pub fn key(&self) -> &'a str {
        self.value
            .get("job_cluster_key")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    /// `new_cluster`, when set.
    pub fn new_cluster(&self) -> Option<&'a Map<String, Value>> {
        self.value.get("new_cluster").and_then(Value::as_object)
    }
}

/// The `schedule` object.
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    value: &'a Map<String, Value>,
}

impl<'a> Schedule<'a> {
    /// `quartz_cron_expression`.
    pub fn cron(&self) -> Option<&'a str> {
        self.value.get("quartz_cron_expression").and_then(Value::as_str)
    }
    /// `timezone_id`.
    pub fn timezone_id(&self) -> Option<&'a str> {
        self.value.get("timezone_id").and_then(Value::as_str)
    }
    /// True when `pause_status` is `PAUSED`.
    pub fn paused(&self) -> bool {
        self.value.get("pause_status").and_then(Value::as_str) == Some("PAUSED")
    }
}

/// Who an ACL entry is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `user_name`.
    User(String),
    /// `group_name`.
    Group(String),
    /// `service_principal_name` (an application id or name).
    ServicePrincipal(String),
    /// None of the three keys was present.
    Unknown,
}

/// One ACL entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// Position in the list.
    pub index: usize,
    /// Who.
    pub principal: Principal,
    /// `permission_level` (`IS_OWNER`, `CAN_MANAGE`, `CAN_MANAGE_RUN`, `CAN_VIEW`).
    pub permission_level: String,
}

/// A job ACL (`access_control_list`): the JSON array the Permissions API takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    /// The entries, in order.
    pub entries: Vec<AclEntry>,
}

impl Acl {
    /// Parse ACL JSON text (an array).
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| PluginError::new("bad-acl", format!("the ACL is not valid JSON: {e}")))?;
        if !value.is_array() {
            return Err(PluginError::new("bad-acl", "the ACL must be a JSON array"));
        }
        Ok(Self::from_value(&value))
    }

    fn from_value(value: &Value) -> Self {
        let entries = value
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(index, e)| {
                let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
                let principal = if let Some(u) = s("user_name") {
                    Principal::User(u)
                } else if let Some(g) = s("group_name") {
                    Principal::Group(g)
                } else if let Some(sp) = s("service_principal_name") {
                    Principal::ServicePrincipal(sp)
                } else {
                    Principal::Unknown
                };
                AclEntry {
                    index,
                    principal,
                    permission_level: s("permission_level").unwrap_or_default(),
                }
            })
            .collect();
        Acl { entries }
    }

    /// The entries with `IS_OWNER`.
    pub fn owners(&self) -> Vec<&AclEntry> {
        self.entries
            .iter()
            .filter(|e| e.permission_level == "IS_OWNER")
            .collect()
    }
}

/// True when two JSON texts hold equal values (object key order ignored).
pub fn json_equal(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(a), Ok(b)) => sort_keys(a) == sort_keys(b),
        _ => false,
    }
}

fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{CUSTOMER_360_ACL, CUSTOMER_360_SETTINGS};

    #[test]
    fn reads_the_customer_360_job() {
        let s = JobSettings::parse(CUSTOMER_360_SETTINGS).unwrap();
        assert_eq!(s.name(), Some("customer-360-pipeline-prod"));
        let tasks = s.tasks();
        assert_eq!(tasks.len(), 5);
        assert_eq!(tasks[0].key(), "ingest-bronze");
        assert_eq!(tasks[0].timeout_seconds(), Some(3600));
        assert_eq!(tasks[2].max_retries(), None);
        assert_eq!(tasks[4].task_type(), Some("python_wheel_task"));
        assert_eq!(tasks[1].pointer("max_retries"), "/tasks/1/max_retries");
        assert_eq!(s.job_clusters().len(), 2);
        assert_eq!(s.tag("sla"), Some("critical"));
        let schedule = s.schedule().unwrap();
        assert_eq!(schedule.timezone_id(), Some("UTC"));
        assert!(!schedule.paused());
    }

    #[test]
    fn reads_an_acl_and_finds_the_owner() {
        let acl = Acl::parse(CUSTOMER_360_ACL).unwrap();
        assert_eq!(acl.entries.len(), 3);
        let owners = acl.owners();
        assert_eq!(owners.len(), 1);
        assert_eq!(
            owners[0].principal,
            Principal::User("data-engineering@company.com".into())
        );
        assert_eq!(
            acl.entries[2].principal,
            Principal::ServicePrincipal("prod-deployment-sp".into())
        );
    }

    #[test]
    fn rejects_non_objects_and_compares_json_semantically() {
        assert_eq!(JobSettings::parse("[1]").unwrap_err().code, "bad-settings");
        assert!(JobSettings::parse("{").is_err());
        assert!(json_equal(
            r#"{"a":1,"b":[1,{"c":2,"d":3}]}"#,
            r#"{"b":[1,{"d":3,"c":2}],"a":1}"#
        ));
        assert!(!json_equal(r#"{"a":1}"#, r#"{"a":2}"#));
    }
}
