//! Monitoring: SLA health rules on the job, and dashboard/alert definitions over the Lakeflow
//! system tables.
//!
//! When monitoring is enabled for the environment (`environments.<env>.monitoring.enabled`,
//! default true; the config file's `enable_monitoring` and the CLI flag override it):
//!
//! - rendering adds `health.rules: [{metric: RUN_DURATION_SECONDS, op: GREATER_THAN, value:
//!   <sla seconds>}]` when the environment has an `sla` and the job has no run-duration rule
//!   of its own, and adds the environment's `recipients` to
//!   `email_notifications.on_duration_warning_threshold_exceeded` whenever the job has a
//!   run-duration rule. Injected values point at `brickship.yaml` in findings.
//! - [`monitoring_file`] produces `monitoring/<pipeline>-<env>.yaml`: dashboards and alerts
//!   whose queries read `system.lakeflow.job_run_timeline` and
//!   `system.lakeflow.job_task_run_timeline`.
//!
//! The timeline tables split long runs into hourly slices (`period_start_time`,
//! `period_end_time`) and set `result_state` (`SUCCEEDED`, `FAILED`, `ERROR`, `TIMED_OUT`,
//! `CANCELLED`, `SKIPPED`...) only on a run's final slice, so every query first folds slices
//! into runs (`MIN(period_start_time)`, `MAX(period_end_time)`, `MAX_BY(result_state,
//! period_end_time)` grouped by `run_id`). `job_id` and `workspace_id` are strings there; the
//! queries take them as named parameters `:job_id` and `:workspace_id` (a job id is unique only
//! within a workspace, the tables are account-wide).

use serde_json::{Value, json};

use crate::node::{Entry, Node, NodeKind};
use crate::project::{MonitoringSettings, RenderedPipeline};
use crate::source::Span;

/// Adds the SLA health rule and duration-warning recipients to a job tree.
pub(crate) fn inject(job: &mut Node, m: &MonitoringSettings) {
    let has_duration_rule = |job: &Node| {
        job.get("health")
            .and_then(|h| h.get("rules"))
            .and_then(Node::as_seq)
            .is_some_and(|rules| {
                rules
                    .iter()
                    .any(|r| r.get("metric").and_then(Node::as_str) == Some("RUN_DURATION_SECONDS"))
            })
    };
    if let Some(sla) = m.sla_seconds
        && !has_duration_rule(job)
    {
        let span = m.sla_span.unwrap_or(job.span);
        let rule = map_node(
            vec![
                ("metric", Node::string("RUN_DURATION_SECONDS", span)),
                ("op", Node::string("GREATER_THAN", span)),
                (
                    "value",
                    Node::new(NodeKind::Int(i64::try_from(sla).unwrap_or(i64::MAX)), span),
                ),
            ],
            span,
        );
        match job.get_mut("health") {
            None => {
                let health = map_node(vec![("rules", Node::new(NodeKind::Seq(vec![rule]), span))], span);
                crate::project::merge::set(job, "health", health);
            }
            Some(health) if health.as_map().is_some() => match health.get_mut("rules") {
                Some(Node {
                    kind: NodeKind::Seq(rules),
                    ..
                }) => rules.push(rule),
                Some(_) => {}
                None => {
                    crate::project::merge::set(health, "rules", Node::new(NodeKind::Seq(vec![rule]), span))
                }
            },
            Some(_) => {}
        }
    }
    if m.recipients.is_empty() || !has_duration_rule(job) {
        return;
    }
    let span = m.recipients_span.unwrap_or(job.span);
    let recipients: Vec<Node> = m
        .recipients
        .iter()
        .map(|r| Node::string(r.clone(), span))
        .collect();
    match job.get_mut("email_notifications") {
        None => {
            let en = map_node(
                vec![(
                    "on_duration_warning_threshold_exceeded",
                    Node::new(NodeKind::Seq(recipients), span),
                )],
                span,
            );
            crate::project::merge::set(job, "email_notifications", en);
        }
        Some(en) if en.as_map().is_some() => match en.get_mut("on_duration_warning_threshold_exceeded") {
            Some(Node {
                kind: NodeKind::Seq(existing),
                ..
            }) => {
                for r in recipients {
                    if !existing.iter().any(|e| e.as_str() == r.as_str()) {
                        existing.push(r);
                    }
                }
            }
            Some(_) => {}
            None => crate::project::merge::set(
                en,
                "on_duration_warning_threshold_exceeded",
                Node::new(NodeKind::Seq(recipients), span),
            ),
        },
        Some(_) => {}
    }
}

fn map_node(entries: Vec<(&str, Node)>, span: Span) -> Node {
    Node::new(
        NodeKind::Map(
            entries
                .into_iter()
                .map(|(k, value)| Entry {
                    key: k.to_string(),
                    key_span: span,
                    value,
                })
                .collect(),
        ),
        span,
    )
}

/// Ids the queries are bound to, when known (after a deploy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonitoringIds {
    /// The deployed job's id.
    pub job_id: Option<String>,
    /// The workspace id.
    pub workspace_id: Option<String>,
}

/// The generated monitoring definitions for one pipeline and environment.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitoringFile {
    /// Path relative to the project root: `monitoring/<pipeline>-<env>.yaml`.
    pub path: String,
    /// The definitions as data.
    pub definition: Value,
    /// The YAML text to write.
    pub content: String,
}

const RUNS_CTE: &str = "WITH runs AS (
  SELECT
    run_id,
    MIN(period_start_time) AS run_start,
    MAX(period_end_time) AS run_end,
    MAX_BY(result_state, period_end_time) AS result_state,
    MAX_BY(termination_code, period_end_time) AS termination_code
  FROM system.lakeflow.job_run_timeline
  WHERE workspace_id = :workspace_id
    AND job_id = :job_id
    AND period_start_time >= current_timestamp() - INTERVAL {window}
  GROUP BY run_id
)
";

fn runs_cte(window: &str) -> String {
    RUNS_CTE.replace("{window}", window)
}

/// Builds the monitoring file for a rendered pipeline; `ids` bind the query parameters.
pub fn monitoring_file(p: &RenderedPipeline, ids: &MonitoringIds) -> MonitoringFile {
    let job_name = p.job_name().to_string();
    let env = &p.environment.monitoring;
    let sla = p
        .settings
        .get("health")
        .and_then(|h| h.get("rules"))
        .and_then(Value::as_array)
        .and_then(|rules| {
            rules
                .iter()
                .find(|r| r.get("metric").and_then(Value::as_str) == Some("RUN_DURATION_SECONDS"))
                .and_then(|r| r.get("value"))
                .and_then(Value::as_u64)
        })
        .or(env.sla_seconds);

    let mut emails: Vec<String> = env.recipients.clone();
    if let Some(list) = p
        .settings
        .pointer("/email_notifications/on_failure")
        .and_then(Value::as_array)
    {
        for e in list.iter().filter_map(Value::as_str) {
            if !emails.iter().any(|x| x == e) {
                emails.push(e.to_string());
            }
        }
    }
    let webhooks: Vec<String> = p
        .settings
        .pointer("/webhook_notifications/on_failure")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|w| w.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut notifications = vec![];
    if !emails.is_empty() {
        notifications.push(json!({"type": "email", "recipients": emails}));
    }
    for id in &webhooks {
        notifications.push(json!({"type": "webhook", "destination_id": id}));
    }

    let success_rate = format!(
        "{}SELECT
  date_trunc('HOUR', run_start) AS hour,
  COUNT(*) AS total_runs,
  COUNT_IF(result_state = 'SUCCEEDED') AS successful_runs,
  ROUND(100.0 * COUNT_IF(result_state = 'SUCCEEDED') / COUNT(*), 1) AS success_rate
FROM runs
WHERE result_state IS NOT NULL
GROUP BY 1
ORDER BY 1
",
        runs_cte("7 DAYS")
    );
    let avg_runtime = format!(
        "{}SELECT ROUND(AVG(timestampdiff(SECOND, run_start, run_end)) / 60.0, 1) AS avg_runtime_minutes
FROM runs
WHERE result_state IS NOT NULL
  AND run_end >= current_timestamp() - INTERVAL 24 HOURS
",
        runs_cte("2 DAYS")
    );
    let tasks = "SELECT
  task_key,
  COUNT(*) AS task_runs,
  COUNT_IF(result_state IN ('FAILED', 'ERROR', 'TIMED_OUT')) AS failures,
  ROUND(AVG(duration_seconds) / 60.0, 1) AS avg_minutes
FROM (
  SELECT
    task_key,
    run_id,
    timestampdiff(SECOND, MIN(period_start_time), MAX(period_end_time)) AS duration_seconds,
    MAX_BY(result_state, period_end_time) AS result_state
  FROM system.lakeflow.job_task_run_timeline
  WHERE workspace_id = :workspace_id
    AND job_id = :job_id
    AND period_start_time >= current_timestamp() - INTERVAL 7 DAYS
  GROUP BY task_key, run_id
)
WHERE result_state IS NOT NULL
GROUP BY task_key
ORDER BY failures DESC, task_key
"
    .to_string();
    let failures = format!(
        "{}SELECT COUNT(*) AS failure_count
FROM runs
WHERE result_state IN ('FAILED', 'ERROR', 'TIMED_OUT')
  AND run_end >= current_timestamp() - INTERVAL 1 HOUR
",
        runs_cte("1 DAY")
    );

    let mut alerts = vec![json!({
        "name": format!("{job_name}-failure"),
        "description": "a run of the job failed, errored or timed out in the last hour",
        "query": failures,
        "condition": {"column": "failure_count", "op": "GREATER_THAN", "threshold": 0},
        "severity": "critical",
        "notifications": notifications,
    })];
    if let Some(sla) = sla {
        let latest = format!(
            "{}SELECT run_id, timestampdiff(SECOND, run_start, run_end) AS runtime_seconds
FROM runs
WHERE result_state IS NOT NULL
ORDER BY run_end DESC
LIMIT 1
",
            runs_cte("7 DAYS")
        );
        alerts.push(json!({
            "name": format!("{job_name}-sla-breach"),
            "description": format!("the latest completed run took longer than the {sla} s SLA"),
            "query": latest,
            "condition": {"column": "runtime_seconds", "op": "GREATER_THAN", "threshold": sla},
            "severity": "high",
            "notifications": notifications,
        }));
    }
    let param = |name: &str, value: &Option<String>| json!({"name": name, "type": "STRING", "value": value});
    let definition = json!({
        "monitoring": {
            "pipeline": p.pipeline,
            "environment": p.environment.name,
            "job_name": job_name,
            "sla_seconds": sla,
            "parameters": [param("workspace_id", &ids.workspace_id), param("job_id", &ids.job_id)],
            "dashboards": [{
                "name": format!("{job_name}-health"),
                "widgets": [
                    {"type": "line_chart", "title": "Run success rate by hour (7 days)", "query": success_rate},
                    {"type": "counter", "title": "Average run time, minutes (last 24 h)", "query": avg_runtime},
                    {"type": "table", "title": "Task failures and durations (7 days)", "query": tasks},
                ],
            }],
            "alerts": alerts,
        }
    });
    let header = format!(
        "# Generated by brickship for pipeline `{}` in `{}`; regenerated on every deploy.\n\
         # Queries read system.lakeflow.job_run_timeline and job_task_run_timeline; bind the\n\
         # :workspace_id and :job_id parameters (strings) to the deployed job.\n",
        p.pipeline, p.environment.name
    );
    MonitoringFile {
        path: format!("monitoring/{}-{}.yaml", p.pipeline, p.environment.name),
        content: format!("{header}{}", crate::yaml::to_yaml(&definition)),
        definition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_str;

    fn settings(sla: Option<u64>, recipients: &[&str]) -> MonitoringSettings {
        MonitoringSettings {
            enabled: true,
            sla_seconds: sla,
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            sla_span: None,
            recipients_span: None,
        }
    }

    #[test]
    fn adds_health_rule_and_duration_recipients() {
        let mut job = parse_str("name: j\nemail_notifications:\n  on_failure: [a@x.com]\n").expect("job");
        inject(&mut job, &settings(Some(10_800), &["oncall@x.com"]));
        let v = job.to_value();
        assert_eq!(
            v["health"],
            json!({"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 10800}]})
        );
        assert_eq!(
            v["email_notifications"]["on_duration_warning_threshold_exceeded"],
            json!(["oncall@x.com"])
        );
        assert_eq!(v["email_notifications"]["on_failure"], json!(["a@x.com"]));
    }

    #[test]
    fn keeps_the_jobs_own_duration_rule_and_dedupes_recipients() {
        let text = "health:\n  rules:\n    - {metric: RUN_DURATION_SECONDS, op: GREATER_THAN, value: 60}\nemail_notifications:\n  on_duration_warning_threshold_exceeded: [a@x.com]\n";
        let mut job = parse_str(text).expect("job");
        inject(&mut job, &settings(Some(10_800), &["a@x.com", "b@x.com"]));
        let v = job.to_value();
        assert_eq!(v["health"]["rules"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["health"]["rules"][0]["value"], 60);
        assert_eq!(
            v["email_notifications"]["on_duration_warning_threshold_exceeded"],
            json!(["a@x.com", "b@x.com"])
        );
    }

    #[test]
    fn streaming_rules_get_a_duration_rule_appended() {
        let text = "health:\n  rules:\n    - {metric: STREAMING_BACKLOG_BYTES, op: GREATER_THAN, value: 1}\n";
        let mut job = parse_str(text).expect("job");
        inject(&mut job, &settings(Some(60), &[]));
        assert_eq!(
            job.to_value()["health"]["rules"].as_array().map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn no_sla_and_no_rule_means_no_changes() {
        let mut job = parse_str("name: j\n").expect("job");
        inject(&mut job, &settings(None, &["a@x.com"]));
        assert_eq!(job.to_value(), json!({"name": "j"}));
    }
}
