//! Job settings, tasks, clusters and the `Job` read shape.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

string_enum! {
    /// `pause_status` of a schedule, trigger or continuous job.
    pub enum PauseStatus {
        Paused = "PAUSED",
        Unpaused = "UNPAUSED",
    }
}

string_enum! {
    /// When a task runs relative to its dependencies.
    pub enum RunIf {
        AllSuccess = "ALL_SUCCESS",
        AllDone = "ALL_DONE",
        NoneFailed = "NONE_FAILED",
        AtLeastOneSuccess = "AT_LEAST_ONE_SUCCESS",
        AllFailed = "ALL_FAILED",
        AtLeastOneFailed = "AT_LEAST_ONE_FAILED",
    }
}

string_enum! {
    /// Where a task's source lives.
    pub enum Source {
        Workspace = "WORKSPACE",
        Git = "GIT",
    }
}

model! {
    /// The settings of a job: the body of `jobs/create`, `new_settings` of reset/update, `settings` in a [`Job`].
    pub struct JobSettings {
        opt name: String,
        opt description: String,
        opt tasks: Vec<Task>,
        opt job_clusters: Vec<JobCluster>,
        opt environments: Vec<JobEnvironment>,
        opt parameters: Vec<JobParameterDefinition>,
        opt schedule: CronSchedule,
        opt trigger: TriggerSettings,
        opt continuous: Continuous,
        opt email_notifications: JobEmailNotifications,
        opt webhook_notifications: WebhookNotifications,
        opt notification_settings: JobNotificationSettings,
        opt timeout_seconds: i64,
        opt max_concurrent_runs: i64,
        opt tags: BTreeMap<String, String>,
        opt run_as: JobRunAs,
        opt queue: QueueSettings,
        opt health: JobsHealthRules,
        opt git_source: GitSource,
        opt deployment: JobDeployment,
        /// `UI_LOCKED` or `EDITABLE`.
        opt edit_mode: String,
        /// Always `MULTI_TASK` on read; ignored on write.
        opt format: String,
        opt performance_target: String,
        opt budget_policy_id: String,
        opt usage_policy_id: String,
        opt parent_path: String,
    }
}

impl JobSettings {
    /// The settings as raw JSON (the API's own shape, unknown fields included).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Settings from raw JSON.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The task with `task_key`, if any.
    pub fn task(&self, task_key: &str) -> Option<&Task> {
        self.tasks.as_ref()?.iter().find(|t| t.task_key == task_key)
    }
}

impl TryFrom<Value> for JobSettings {
    type Error = serde_json::Error;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(value)
    }
}

impl TryFrom<&JobSettings> for Value {
    type Error = serde_json::Error;
    fn try_from(settings: &JobSettings) -> Result<Self, Self::Error> {
        settings.to_value()
    }
}

model! {
    /// One task of a job.
    pub struct Task {
        req task_key: String,
        opt description: String,
        opt depends_on: Vec<TaskDependency>,
        opt run_if: RunIf,
        opt job_cluster_key: String,
        opt existing_cluster_id: String,
        opt new_cluster: ClusterSpec,
        opt environment_key: String,
        opt libraries: Vec<Library>,
        opt timeout_seconds: i64,
        opt max_retries: i64,
        opt min_retry_interval_millis: i64,
        opt retry_on_timeout: bool,
        opt disabled: bool,
        opt email_notifications: JobEmailNotifications,
        opt webhook_notifications: WebhookNotifications,
        opt notification_settings: JobNotificationSettings,
        opt health: JobsHealthRules,
        opt notebook_task: NotebookTask,
        opt spark_python_task: SparkPythonTask,
        opt python_wheel_task: PythonWheelTask,
        opt spark_jar_task: SparkJarTask,
        opt run_job_task: RunJobTask,
        opt pipeline_task: PipelineTask,
        opt condition_task: ConditionTask,
        opt for_each_task: ForEachTask,
        /// `sql_task` (query / file / alert / dashboard), kept as JSON.
        opt sql_task: Value,
        /// `dbt_task`, kept as JSON.
        opt dbt_task: Value,
        /// Legacy `spark_submit_task`, kept as JSON.
        opt spark_submit_task: Value,
    }
}

impl Task {
    /// The keys of the tasks this one depends on.
    pub fn dependency_keys(&self) -> impl Iterator<Item = &str> {
        self.depends_on.iter().flatten().map(|d| d.task_key.as_str())
    }
}

model! {
    /// An edge of the task graph.
    pub struct TaskDependency {
        req task_key: String,
        /// `"true"`/`"false"` when depending on a condition task.
        opt outcome: String,
    }
}

model! {
    pub struct NotebookTask {
        req notebook_path: String,
        opt base_parameters: BTreeMap<String, String>,
        opt source: Source,
        opt warehouse_id: String,
    }
}

model! {
    pub struct SparkPythonTask {
        req python_file: String,
        opt parameters: Vec<String>,
        opt source: Source,
    }
}

model! {
    pub struct PythonWheelTask {
        req package_name: String,
        req entry_point: String,
        opt parameters: Vec<String>,
        opt named_parameters: BTreeMap<String, String>,
    }
}

model! {
    pub struct SparkJarTask {
        opt main_class_name: String,
        opt parameters: Vec<String>,
        opt jar_uri: String,
    }
}

model! {
    pub struct RunJobTask {
        req job_id: i64,
        opt job_parameters: BTreeMap<String, String>,
    }
}

model! {
    pub struct PipelineTask {
        req pipeline_id: String,
        opt full_refresh: bool,
    }
}

model! {
    pub struct ConditionTask {
        req op: String,
        req left: String,
        req right: String,
    }
}

model! {
    pub struct ForEachTask {
        req inputs: String,
        req task: Box<Task>,
        opt concurrency: i64,
    }
}

model! {
    /// A cluster definition (`new_cluster`).
    pub struct ClusterSpec {
        opt spark_version: String,
        opt node_type_id: String,
        opt driver_node_type_id: String,
        opt num_workers: i64,
        opt autoscale: AutoScale,
        opt spark_conf: Map<String, Value>,
        opt spark_env_vars: Map<String, Value>,
        opt custom_tags: Map<String, Value>,
        opt aws_attributes: Value,
        opt azure_attributes: Value,
        opt gcp_attributes: Value,
        opt instance_pool_id: String,
        opt driver_instance_pool_id: String,
        opt policy_id: String,
        opt apply_policy_default_values: bool,
        opt data_security_mode: String,
        opt single_user_name: String,
        opt runtime_engine: String,
        opt init_scripts: Vec<Value>,
        opt cluster_log_conf: Value,
        opt enable_elastic_disk: bool,
    }
}

model! {
    pub struct AutoScale {
        opt min_workers: i64,
        opt max_workers: i64,
    }
}

model! {
    /// A cluster shared by tasks of one job run.
    pub struct JobCluster {
        req job_cluster_key: String,
        req new_cluster: ClusterSpec,
    }
}

model! {
    /// A library to install: exactly one of the fields is set.
    pub struct Library {
        opt whl: String,
        opt jar: String,
        opt egg: String,
        opt requirements: String,
        opt pypi: PythonPyPiLibrary,
        opt maven: MavenLibrary,
        opt cran: RCranLibrary,
    }
}

model! {
    pub struct PythonPyPiLibrary {
        req package: String,
        opt repo: String,
    }
}

model! {
    pub struct MavenLibrary {
        req coordinates: String,
        opt repo: String,
        opt exclusions: Vec<String>,
    }
}

model! {
    pub struct RCranLibrary {
        req package: String,
        opt repo: String,
    }
}

model! {
    /// A Quartz cron schedule.
    pub struct CronSchedule {
        req quartz_cron_expression: String,
        req timezone_id: String,
        opt pause_status: PauseStatus,
    }
}

model! {
    /// File-arrival, table-update or periodic trigger.
    pub struct TriggerSettings {
        opt pause_status: PauseStatus,
        opt periodic: Value,
        opt file_arrival: Value,
        opt table_update: Value,
        opt table: Value,
        opt model: Value,
    }
}

model! {
    pub struct Continuous {
        opt pause_status: PauseStatus,
        opt task_retry_mode: String,
    }
}

model! {
    /// E-mail recipients per run event.
    pub struct JobEmailNotifications {
        opt on_start: Vec<String>,
        opt on_success: Vec<String>,
        opt on_failure: Vec<String>,
        opt on_duration_warning_threshold_exceeded: Vec<String>,
        opt on_streaming_backlog_exceeded: Vec<String>,
        opt no_alert_for_skipped_runs: bool,
    }
}

model! {
    /// Notification destinations (by id) per run event.
    pub struct WebhookNotifications {
        opt on_start: Vec<Webhook>,
        opt on_success: Vec<Webhook>,
        opt on_failure: Vec<Webhook>,
        opt on_duration_warning_threshold_exceeded: Vec<Webhook>,
        opt on_streaming_backlog_exceeded: Vec<Webhook>,
    }
}

model! {
    pub struct Webhook {
        req id: String,
    }
}

model! {
    pub struct JobNotificationSettings {
        opt no_alert_for_skipped_runs: bool,
        opt no_alert_for_canceled_runs: bool,
        /// Task level only.
        opt alert_on_last_attempt: bool,
    }
}

model! {
    /// The identity runs execute as: exactly one field is set.
    pub struct JobRunAs {
        opt user_name: String,
        opt service_principal_name: String,
        opt group_name: String,
    }
}

model! {
    pub struct QueueSettings {
        req enabled: bool,
    }
}

model! {
    pub struct JobsHealthRules {
        opt rules: Vec<JobsHealthRule>,
    }
}

model! {
    pub struct JobsHealthRule {
        req metric: String,
        req op: String,
        req value: i64,
    }
}

model! {
    pub struct GitSource {
        req git_url: String,
        req git_provider: String,
        opt git_branch: String,
        opt git_tag: String,
        opt git_commit: String,
        opt sparse_checkout: Value,
        opt job_source: Value,
    }
}

model! {
    pub struct JobDeployment {
        req kind: String,
        opt metadata_file_path: String,
    }
}

model! {
    /// A job-level parameter with its default.
    pub struct JobParameterDefinition {
        req name: String,
        req default: String,
    }
}

model! {
    /// A serverless environment referenced by tasks' `environment_key`.
    pub struct JobEnvironment {
        req environment_key: String,
        opt spec: Value,
    }
}

model! {
    /// A job as `jobs/get` returns it (and, without `run_as_user_name`, as `jobs/list` does).
    pub struct Job {
        req job_id: i64,
        req settings: JobSettings,
        opt created_time: i64,
        opt creator_user_name: String,
        opt run_as_user_name: String,
        /// `jobs/list` with `expand_tasks`: the task arrays were cut at 100.
        opt has_more: bool,
        /// `jobs/get` (2.2): more array elements on the next page. The client follows it.
        opt next_page_token: String,
        opt trigger_state: Value,
        opt path: String,
        opt effective_budget_policy_id: String,
    }
}

/// A job as `jobs/list` returns it: the same shape as [`Job`].
pub type BaseJob = Job;

model! {
    /// The response of `jobs/create`.
    pub struct CreateJobResponse {
        req job_id: i64,
    }
}
