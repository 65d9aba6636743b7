//! The JobSettings schema (the parts brickship checks field by field) and the walker that
//! reports unknown fields, wrong types, missing required fields, bad enum values and numbers
//! out of range.
//!
//! Field lists follow the Databricks SDK models (`JobSettings`, `Task`, `ClusterSpec`, ...).
//! Newer or rarely used task types and nested objects are `AnyMap` (type-checked as a mapping,
//! contents passed through) so the schema does not reject fields Databricks adds later.

use serde_json::Value;

use super::Validator;
use crate::diagnostics::{Diagnostic, code, did_you_mean};
use crate::node::value_type_name;

/// A field's type.
#[derive(Debug)]
pub(crate) enum Ty {
    Str,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Num,
    Enum(&'static [&'static str]),
    Obj(&'static Obj),
    List(&'static Ty),
    /// map<string, string>
    StrMap,
    /// any mapping, passed through
    AnyMap,
    /// anything
    Any,
}

#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

#[derive(Debug)]
pub(crate) struct Obj {
    pub fields: &'static [Field],
}

impl Obj {
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().map(|f| f.name)
    }
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}

const I32: i64 = i32::MAX as i64;
const NONNEG: Ty = Ty::Int { min: 0, max: I32 };
const STRS: Ty = Ty::List(&Ty::Str);

/// Task type fields: exactly one per task.
pub(crate) const TASK_TYPES: &[&str] = &[
    "notebook_task",
    "spark_python_task",
    "python_wheel_task",
    "spark_jar_task",
    "spark_submit_task",
    "sql_task",
    "pipeline_task",
    "run_job_task",
    "condition_task",
    "for_each_task",
    "dbt_task",
    "dashboard_task",
    "alert_task",
    "power_bi_task",
    "clean_rooms_notebook_task",
    "dbt_cloud_task",
    "dbt_platform_task",
    "gen_ai_compute_task",
    "genie_task",
    "agentic_task",
    "ai_runtime_task",
    "python_operator_task",
];

pub(crate) const PERMISSION_LEVELS: &[&str] = &["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER"];
const PAUSE: Ty = Ty::Enum(&["PAUSED", "UNPAUSED"]);
const SOURCE: Ty = Ty::Enum(&["WORKSPACE", "GIT"]);

pub(crate) static JOB_SETTINGS: Obj = Obj {
    fields: &[
        f("name", Ty::Str),
        f("description", Ty::Str),
        f("tasks", Ty::List(&Ty::Obj(&TASK))),
        f("job_clusters", Ty::List(&Ty::Obj(&JOB_CLUSTER))),
        f("environments", Ty::List(&Ty::Obj(&JOB_ENVIRONMENT))),
        f("parameters", Ty::List(&Ty::Obj(&JOB_PARAMETER))),
        f("schedule", Ty::Obj(&CRON_SCHEDULE)),
        f("trigger", Ty::Obj(&TRIGGER)),
        f("continuous", Ty::Obj(&CONTINUOUS)),
        f("triggers", Ty::Any),
        f("email_notifications", Ty::Obj(&EMAIL_NOTIFICATIONS)),
        f("webhook_notifications", Ty::Obj(&WEBHOOK_NOTIFICATIONS)),
        f("notification_settings", Ty::Obj(&JOB_NOTIFICATION_SETTINGS)),
        f("timeout_seconds", NONNEG),
        f("max_concurrent_runs", Ty::Int { min: 0, max: 1000 }),
        f("tags", Ty::StrMap),
        f("run_as", Ty::Obj(&RUN_AS)),
        f("queue", Ty::Obj(&QUEUE)),
        f("health", Ty::Obj(&HEALTH)),
        f("git_source", Ty::Obj(&GIT_SOURCE)),
        f("deployment", Ty::Obj(&DEPLOYMENT)),
        f("edit_mode", Ty::Enum(&["UI_LOCKED", "EDITABLE"])),
        f("format", Ty::Enum(&["SINGLE_TASK", "MULTI_TASK"])),
        f("parent_path", Ty::Str),
        f(
            "performance_target",
            Ty::Enum(&["PERFORMANCE_OPTIMIZED", "STANDARD"]),
        ),
        f("budget_policy_id", Ty::Str),
        f("usage_policy_id", Ty::Str),
        f("environment_variables", Ty::Any),
        // checked entry by entry in `checks::acl`
        f("access_control_list", Ty::Any),
    ],
};

pub(crate) static TASK: Obj = Obj {
    fields: &[
        req("task_key", Ty::Str),
        f("description", Ty::Str),
        f("depends_on", Ty::List(&Ty::Obj(&DEPENDENCY))),
        f(
            "run_if",
            Ty::Enum(&[
                "ALL_SUCCESS",
                "ALL_DONE",
                "NONE_FAILED",
                "AT_LEAST_ONE_SUCCESS",
                "ALL_FAILED",
                "AT_LEAST_ONE_FAILED",
            ]),
        ),
        f("job_cluster_key", Ty::Str),
        f("existing_cluster_id", Ty::Str),
        f("new_cluster", Ty::Obj(&CLUSTER_SPEC)),
        f("environment_key", Ty::Str),
        f("compute", Ty::AnyMap),
        f("libraries", Ty::List(&Ty::Obj(&LIBRARY))),
        f("timeout_seconds", NONNEG),
        f("max_retries", Ty::Int { min: -1, max: I32 }),
        f("min_retry_interval_millis", NONNEG),
        f("retry_on_timeout", Ty::Bool),
        f("disabled", Ty::Bool),
        f("disable_auto_optimization", Ty::Bool),
        f("email_notifications", Ty::Obj(&EMAIL_NOTIFICATIONS)),
        f("webhook_notifications", Ty::Obj(&WEBHOOK_NOTIFICATIONS)),
        f("notification_settings", Ty::Obj(&TASK_NOTIFICATION_SETTINGS)),
        f("health", Ty::Obj(&HEALTH)),
        f("notebook_task", Ty::Obj(&NOTEBOOK_TASK)),
        f("spark_python_task", Ty::Obj(&SPARK_PYTHON_TASK)),
        f("python_wheel_task", Ty::Obj(&PYTHON_WHEEL_TASK)),
        f("spark_jar_task", Ty::Obj(&SPARK_JAR_TASK)),
        f("spark_submit_task", Ty::Obj(&SPARK_SUBMIT_TASK)),
        f("sql_task", Ty::Obj(&SQL_TASK)),
        f("pipeline_task", Ty::Obj(&PIPELINE_TASK)),
        f("run_job_task", Ty::Obj(&RUN_JOB_TASK)),
        f("condition_task", Ty::Obj(&CONDITION_TASK)),
        f("for_each_task", Ty::Obj(&FOR_EACH_TASK)),
        f("dbt_task", Ty::Obj(&DBT_TASK)),
        f("dashboard_task", Ty::AnyMap),
        f("alert_task", Ty::AnyMap),
        f("power_bi_task", Ty::AnyMap),
        f("clean_rooms_notebook_task", Ty::AnyMap),
        f("dbt_cloud_task", Ty::AnyMap),
        f("dbt_platform_task", Ty::AnyMap),
        f("gen_ai_compute_task", Ty::AnyMap),
        f("genie_task", Ty::AnyMap),
        f("agentic_task", Ty::AnyMap),
        f("ai_runtime_task", Ty::AnyMap),
        f("python_operator_task", Ty::AnyMap),
    ],
};

static DEPENDENCY: Obj = Obj {
    fields: &[
        req("task_key", Ty::Str),
        f("outcome", Ty::Enum(&["true", "false"])),
    ],
};

static NOTEBOOK_TASK: Obj = Obj {
    fields: &[
        req("notebook_path", Ty::Str),
        f("base_parameters", Ty::StrMap),
        f("source", SOURCE),
        f("warehouse_id", Ty::Str),
    ],
};

static SPARK_PYTHON_TASK: Obj = Obj {
    fields: &[
        req("python_file", Ty::Str),
        f("parameters", STRS),
        f("source", SOURCE),
    ],
};

static PYTHON_WHEEL_TASK: Obj = Obj {
    fields: &[
        req("package_name", Ty::Str),
        req("entry_point", Ty::Str),
        f("parameters", STRS),
        f("named_parameters", Ty::StrMap),
    ],
};

static SPARK_JAR_TASK: Obj = Obj {
    fields: &[
        f("main_class_name", Ty::Str),
        f("parameters", STRS),
        f("jar_uri", Ty::Str),
        f("run_as_repl", Ty::Bool),
    ],
};

static SPARK_SUBMIT_TASK: Obj = Obj {
    fields: &[f("parameters", STRS)],
};

static SQL_TASK: Obj = Obj {
    fields: &[
        req("warehouse_id", Ty::Str),
        f("query", Ty::AnyMap),
        f("file", Ty::AnyMap),
        f("alert", Ty::AnyMap),
        f("dashboard", Ty::AnyMap),
        f("parameters", Ty::StrMap),
    ],
};

static PIPELINE_TASK: Obj = Obj {
    fields: &[req("pipeline_id", Ty::Str), f("full_refresh", Ty::Bool)],
};

static RUN_JOB_TASK: Obj = Obj {
    fields: &[
        req(
            "job_id",
            Ty::Int {
                min: 0,
                max: i64::MAX,
            },
        ),
        f("job_parameters", Ty::StrMap),
        f("notebook_params", Ty::StrMap),
        f("python_params", STRS),
        f("jar_params", STRS),
        f("spark_submit_params", STRS),
        f("python_named_params", Ty::StrMap),
        f("sql_params", Ty::StrMap),
        f("dbt_commands", STRS),
        f("pipeline_params", Ty::AnyMap),
    ],
};

static CONDITION_TASK: Obj = Obj {
    fields: &[
        req(
            "op",
            Ty::Enum(&[
                "EQUAL_TO",
                "NOT_EQUAL",
                "GREATER_THAN",
                "GREATER_THAN_OR_EQUAL",
                "LESS_THAN",
                "LESS_THAN_OR_EQUAL",
            ]),
        ),
        req("left", Ty::Str),
        req("right", Ty::Str),
    ],
};

static FOR_EACH_TASK: Obj = Obj {
    fields: &[
        req("inputs", Ty::Str),
        req("task", Ty::Obj(&TASK)),
        f("concurrency", Ty::Int { min: 1, max: 100 }),
    ],
};

static DBT_TASK: Obj = Obj {
    fields: &[
        req("commands", STRS),
        f("project_directory", Ty::Str),
        f("profiles_directory", Ty::Str),
        f("warehouse_id", Ty::Str),
        f("catalog", Ty::Str),
        f("schema", Ty::Str),
        f("source", SOURCE),
    ],
};

static LIBRARY: Obj = Obj {
    fields: &[
        f("whl", Ty::Str),
        f("jar", Ty::Str),
        f("egg", Ty::Str),
        f("requirements", Ty::Str),
        f("pypi", Ty::Obj(&PYPI)),
        f("maven", Ty::Obj(&MAVEN)),
        f("cran", Ty::Obj(&CRAN)),
    ],
};

static PYPI: Obj = Obj {
    fields: &[req("package", Ty::Str), f("repo", Ty::Str)],
};
static MAVEN: Obj = Obj {
    fields: &[
        req("coordinates", Ty::Str),
        f("repo", Ty::Str),
        f("exclusions", STRS),
    ],
};
static CRAN: Obj = Obj {
    fields: &[req("package", Ty::Str), f("repo", Ty::Str)],
};

static JOB_CLUSTER: Obj = Obj {
    fields: &[
        req("job_cluster_key", Ty::Str),
        req("new_cluster", Ty::Obj(&CLUSTER_SPEC)),
    ],
};

pub(crate) static CLUSTER_SPEC: Obj = Obj {
    fields: &[
        f("spark_version", Ty::Str),
        f("node_type_id", Ty::Str),
        f("driver_node_type_id", Ty::Str),
        f("num_workers", NONNEG),
        f("autoscale", Ty::Obj(&AUTOSCALE)),
        f("spark_conf", Ty::StrMap),
        f("spark_env_vars", Ty::StrMap),
        f("custom_tags", Ty::StrMap),
        f("aws_attributes", Ty::Obj(&AWS_ATTRIBUTES)),
        f("azure_attributes", Ty::Obj(&AZURE_ATTRIBUTES)),
        f("gcp_attributes", Ty::Obj(&GCP_ATTRIBUTES)),
        f("instance_pool_id", Ty::Str),
        f("driver_instance_pool_id", Ty::Str),
        f("policy_id", Ty::Str),
        f("apply_policy_default_values", Ty::Bool),
        f(
            "data_security_mode",
            Ty::Enum(&[
                "DATA_SECURITY_MODE_AUTO",
                "DATA_SECURITY_MODE_STANDARD",
                "DATA_SECURITY_MODE_DEDICATED",
                "NONE",
                "SINGLE_USER",
                "USER_ISOLATION",
                "LEGACY_TABLE_ACL",
                "LEGACY_PASSTHROUGH",
                "LEGACY_SINGLE_USER",
                "LEGACY_SINGLE_USER_STANDARD",
            ]),
        ),
        f("single_user_name", Ty::Str),
        f("runtime_engine", Ty::Enum(&["NULL", "STANDARD", "PHOTON"])),
        f("init_scripts", Ty::List(&Ty::AnyMap)),
        f("cluster_log_conf", Ty::AnyMap),
        f("enable_elastic_disk", Ty::Bool),
        f("enable_local_disk_encryption", Ty::Bool),
        f("kind", Ty::Enum(&["CLASSIC_PREVIEW"])),
        f("is_single_node", Ty::Bool),
        f("use_ml_runtime", Ty::Bool),
        f("workload_type", Ty::AnyMap),
        f("docker_image", Ty::AnyMap),
        f("ssh_public_keys", STRS),
        f("autotermination_minutes", NONNEG),
        f("cluster_name", Ty::Str),
        f("total_initial_remote_disk_size", NONNEG),
        f("remote_disk_throughput", NONNEG),
        f("worker_node_type_flexibility", Ty::AnyMap),
        f("driver_node_type_flexibility", Ty::AnyMap),
    ],
};

static AUTOSCALE: Obj = Obj {
    fields: &[
        f("min_workers", NONNEG),
        f("max_workers", Ty::Int { min: 1, max: I32 }),
    ],
};

static AWS_ATTRIBUTES: Obj = Obj {
    fields: &[
        f(
            "availability",
            Ty::Enum(&["SPOT", "ON_DEMAND", "SPOT_WITH_FALLBACK"]),
        ),
        f("zone_id", Ty::Str),
        f("spot_bid_price_percent", Ty::Int { min: 0, max: 10_000 }),
        f("first_on_demand", NONNEG),
        f("instance_profile_arn", Ty::Str),
        f(
            "ebs_volume_type",
            Ty::Enum(&["GENERAL_PURPOSE_SSD", "THROUGHPUT_OPTIMIZED_HDD"]),
        ),
        f("ebs_volume_count", NONNEG),
        f("ebs_volume_size", NONNEG),
        f("ebs_volume_iops", NONNEG),
        f("ebs_volume_throughput", NONNEG),
    ],
};

static AZURE_ATTRIBUTES: Obj = Obj {
    fields: &[
        f(
            "availability",
            Ty::Enum(&["SPOT_AZURE", "ON_DEMAND_AZURE", "SPOT_WITH_FALLBACK_AZURE"]),
        ),
        f("first_on_demand", NONNEG),
        f("spot_bid_max_price", Ty::Num),
        f("log_analytics_info", Ty::AnyMap),
    ],
};

static GCP_ATTRIBUTES: Obj = Obj {
    fields: &[
        f(
            "availability",
            Ty::Enum(&[
                "PREEMPTIBLE_GCP",
                "ON_DEMAND_GCP",
                "PREEMPTIBLE_WITH_FALLBACK_GCP",
            ]),
        ),
        f("boot_disk_size", NONNEG),
        f("google_service_account", Ty::Str),
        f("local_ssd_count", NONNEG),
        f("use_preemptible_executors", Ty::Bool),
        f("zone_id", Ty::Str),
        f("first_on_demand", NONNEG),
    ],
};

static CRON_SCHEDULE: Obj = Obj {
    fields: &[
        req("quartz_cron_expression", Ty::Str),
        req("timezone_id", Ty::Str),
        f("pause_status", PAUSE),
    ],
};

static TRIGGER: Obj = Obj {
    fields: &[
        f("pause_status", PAUSE),
        f("periodic", Ty::Obj(&PERIODIC)),
        f("file_arrival", Ty::Obj(&FILE_ARRIVAL)),
        f("table", Ty::AnyMap),
        f("table_update", Ty::AnyMap),
        f("model", Ty::AnyMap),
    ],
};

static PERIODIC: Obj = Obj {
    fields: &[
        req("interval", Ty::Int { min: 1, max: I32 }),
        req("unit", Ty::Enum(&["MINUTES", "HOURS", "DAYS", "WEEKS"])),
    ],
};

static FILE_ARRIVAL: Obj = Obj {
    fields: &[
        req("url", Ty::Str),
        f("min_time_between_triggers_seconds", Ty::Int { min: 60, max: I32 }),
        f("wait_after_last_change_seconds", Ty::Int { min: 60, max: I32 }),
    ],
};

static CONTINUOUS: Obj = Obj {
    fields: &[
        f("pause_status", PAUSE),
        f("task_retry_mode", Ty::Enum(&["NEVER", "ON_FAILURE"])),
    ],
};

/// Notification events shared by email and webhook notifications.
pub(crate) const EVENTS: &[&str] = &[
    "on_start",
    "on_success",
    "on_failure",
    "on_duration_warning_threshold_exceeded",
    "on_streaming_backlog_exceeded",
];

static EMAIL_NOTIFICATIONS: Obj = Obj {
    fields: &[
        f("on_start", STRS),
        f("on_success", STRS),
        f("on_failure", STRS),
        f("on_duration_warning_threshold_exceeded", STRS),
        f("on_streaming_backlog_exceeded", STRS),
        f("no_alert_for_skipped_runs", Ty::Bool),
    ],
};

static WEBHOOK_NOTIFICATIONS: Obj = Obj {
    fields: &[
        f("on_start", Ty::List(&Ty::Obj(&WEBHOOK))),
        f("on_success", Ty::List(&Ty::Obj(&WEBHOOK))),
        f("on_failure", Ty::List(&Ty::Obj(&WEBHOOK))),
        f(
            "on_duration_warning_threshold_exceeded",
            Ty::List(&Ty::Obj(&WEBHOOK)),
        ),
        f("on_streaming_backlog_exceeded", Ty::List(&Ty::Obj(&WEBHOOK))),
    ],
};

static WEBHOOK: Obj = Obj {
    fields: &[req("id", Ty::Str)],
};

static JOB_NOTIFICATION_SETTINGS: Obj = Obj {
    fields: &[
        f("no_alert_for_skipped_runs", Ty::Bool),
        f("no_alert_for_canceled_runs", Ty::Bool),
    ],
};

static TASK_NOTIFICATION_SETTINGS: Obj = Obj {
    fields: &[
        f("no_alert_for_skipped_runs", Ty::Bool),
        f("no_alert_for_canceled_runs", Ty::Bool),
        f("alert_on_last_attempt", Ty::Bool),
    ],
};

static RUN_AS: Obj = Obj {
    fields: &[
        f("user_name", Ty::Str),
        f("service_principal_name", Ty::Str),
        f("group_name", Ty::Str),
    ],
};

static QUEUE: Obj = Obj {
    fields: &[req("enabled", Ty::Bool)],
};

static HEALTH: Obj = Obj {
    fields: &[f("rules", Ty::List(&Ty::Obj(&HEALTH_RULE)))],
};

static HEALTH_RULE: Obj = Obj {
    fields: &[
        req(
            "metric",
            Ty::Enum(&[
                "RUN_DURATION_SECONDS",
                "STREAMING_BACKLOG_BYTES",
                "STREAMING_BACKLOG_RECORDS",
                "STREAMING_BACKLOG_SECONDS",
                "STREAMING_BACKLOG_FILES",
            ]),
        ),
        req("op", Ty::Enum(&["GREATER_THAN"])),
        req(
            "value",
            Ty::Int {
                min: 0,
                max: i64::MAX,
            },
        ),
    ],
};

static GIT_SOURCE: Obj = Obj {
    fields: &[
        req("git_url", Ty::Str),
        // case-insensitive enum: checked in `checks`
        req("git_provider", Ty::Str),
        f("git_branch", Ty::Str),
        f("git_tag", Ty::Str),
        f("git_commit", Ty::Str),
        f("sparse_checkout", Ty::AnyMap),
        f("job_source", Ty::AnyMap),
        f("git_snapshot", Ty::AnyMap),
    ],
};

static DEPLOYMENT: Obj = Obj {
    fields: &[
        req("kind", Ty::Enum(&["BUNDLE", "SYSTEM_MANAGED"])),
        f("metadata_file_path", Ty::Str),
        f("deployment_id", Ty::Str),
        f("version_id", Ty::Str),
    ],
};

static JOB_PARAMETER: Obj = Obj {
    fields: &[req("name", Ty::Str), req("default", Ty::Str)],
};

static JOB_ENVIRONMENT: Obj = Obj {
    fields: &[req("environment_key", Ty::Str), f("spec", Ty::AnyMap)],
};

fn is_unresolved(v: &Value) -> bool {
    v.as_str().is_some_and(crate::project::vars::has_reference)
}

fn expected_name(ty: &Ty) -> &'static str {
    match ty {
        Ty::Str | Ty::Enum(_) => "a string",
        Ty::Bool => "a boolean",
        Ty::Int { .. } => "an integer",
        Ty::Num => "a number",
        Ty::Obj(_) | Ty::StrMap | Ty::AnyMap => "a mapping",
        Ty::List(_) => "a list",
        Ty::Any => "any value",
    }
}

/// A human path element for list items: the item's key when it has one.
fn item_label(v: &Value, index: usize) -> String {
    for k in ["task_key", "job_cluster_key", "name", "environment_key"] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            return s.to_string();
        }
    }
    index.to_string()
}

impl Validator<'_> {
    fn wrong_type(&mut self, v: &Value, ptr: &str, path: &str, ty: &Ty) {
        let expected = expected_name(ty);
        let mut d = Diagnostic::error(
            code::WRONG_TYPE,
            format!("`{path}` must be {expected}, found {}", value_type_name(v)),
        )
        .at_opt(&self.p.sources, self.span(ptr))
        .label(format!("expected {expected}"));
        if matches!(ty, Ty::Str | Ty::Enum(_)) && matches!(v, Value::Number(_) | Value::Bool(_)) {
            d = d.help("quote the value to make it a string");
        }
        if let (Ty::Bool, Value::String(s)) = (ty, v)
            && matches!(s.as_str(), "yes" | "no" | "on" | "off" | "y" | "n")
        {
            d = d.help("YAML 1.2 booleans are `true` and `false`");
        }
        if let (Ty::Int { .. }, Value::String(s)) = (ty, v)
            && s.parse::<i64>().is_ok()
        {
            d = d.help("remove the quotes to make it a number");
        }
        self.push(d);
    }

    /// Checks `v` at JSON pointer `ptr` (display path `path`) against `ty`.
    pub(crate) fn check_type(&mut self, v: &Value, ty: &Ty, ptr: &str, path: &str) {
        if is_unresolved(v) {
            return;
        }
        match ty {
            Ty::Any => {}
            Ty::Str => {
                if !v.is_string() {
                    self.wrong_type(v, ptr, path, ty);
                }
            }
            Ty::Bool => {
                if !v.is_boolean() {
                    self.wrong_type(v, ptr, path, ty);
                }
            }
            Ty::Num => {
                if !v.is_number() {
                    self.wrong_type(v, ptr, path, ty);
                }
            }
            Ty::Int { min, max } => match v.as_i64() {
                Some(n) if n < *min || n > *max => {
                    let range = if *max == i64::MAX || *max == I32 {
                        format!("at least {min}")
                    } else {
                        format!("between {min} and {max}")
                    };
                    let help = (path.ends_with("max_retries") && n < -1)
                        .then(|| "use -1 to retry forever or 0 to never retry".to_string());
                    self.push(
                        Diagnostic::error(code::OUT_OF_RANGE, format!("`{path}` must be {range}, found {n}"))
                            .at_opt(&self.p.sources, self.span(ptr))
                            .label(format!("must be {range}"))
                            .help_opt(help),
                    );
                }
                Some(_) => {}
                None => self.wrong_type(v, ptr, path, ty),
            },
            Ty::Enum(values) => match v.as_str() {
                Some(s) if values.contains(&s) => {}
                Some(s) => {
                    let d = Diagnostic::error(
                        code::INVALID_VALUE,
                        format!("`{path}` `{s}` is not a valid value"),
                    )
                    .at_opt(&self.p.sources, self.span(ptr));
                    let d = match did_you_mean(s, values.iter().copied()) {
                        Some(x) => d.label(format!("did you mean `{x}`?")),
                        None => d.label("not a valid value"),
                    };
                    self.push(d.help(format!("expected one of: {}", values.join(", "))));
                }
                None => self.wrong_type(v, ptr, path, ty),
            },
            Ty::List(item) => match v.as_array() {
                Some(items) => {
                    for (i, x) in items.iter().enumerate() {
                        let label = item_label(x, i);
                        self.check_type(x, item, &format!("{ptr}/{i}"), &format!("{path}[{label}]"));
                    }
                }
                None => self.wrong_type(v, ptr, path, ty),
            },
            Ty::StrMap => match v.as_object() {
                Some(m) => {
                    for (k, x) in m {
                        if !x.is_string() && !is_unresolved(x) {
                            let child = format!("{ptr}/{}", crate::node::escape_pointer(k));
                            self.wrong_type(x, &child, &crate::plan::diff::field_path(path, k), &Ty::Str);
                        }
                    }
                }
                None => self.wrong_type(v, ptr, path, ty),
            },
            Ty::AnyMap => {
                if !v.is_object() {
                    self.wrong_type(v, ptr, path, ty);
                }
            }
            Ty::Obj(obj) => match v.as_object() {
                Some(m) => {
                    for (k, x) in m {
                        let child_ptr = format!("{ptr}/{}", crate::node::escape_pointer(k));
                        let child_path = crate::plan::diff::field_path(path, k);
                        match obj.fields.iter().find(|f| f.name == k) {
                            Some(field) => self.check_type(x, &field.ty, &child_ptr, &child_path),
                            None => {
                                let what = if path.is_empty() {
                                    "the job settings".to_string()
                                } else {
                                    format!("`{path}`")
                                };
                                let d = Diagnostic::warning(
                                    code::UNKNOWN_FIELD,
                                    format!("unknown field `{k}` in {what}"),
                                )
                                .at_opt(&self.p.sources, self.key_span(&child_ptr));
                                let d = match did_you_mean(k, obj.names()) {
                                    Some(s) => d.label(format!("did you mean `{s}`?")),
                                    None => d.label("unknown field"),
                                };
                                self.push(d);
                            }
                        }
                    }
                    for field in obj.fields.iter().filter(|f| f.required) {
                        if !m.contains_key(field.name) {
                            let what = if path.is_empty() {
                                "the job settings".to_string()
                            } else {
                                format!("`{path}`")
                            };
                            self.push(
                                Diagnostic::error(
                                    code::MISSING_FIELD,
                                    format!("{what} is missing required field `{}`", field.name),
                                )
                                .at_opt(&self.p.sources, self.key_span(ptr))
                                .label(format!("`{}` is required here", field.name)),
                            );
                        }
                    }
                }
                None => self.wrong_type(v, ptr, path, ty),
            },
        }
    }
}
