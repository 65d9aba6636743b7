//! The generated monitoring file: health rules and system-table queries for the example.

use deploy::monitoring::{MonitoringIds, monitoring_file};
use deploy::node::parse_str;

use crate::support::rendered_example;

#[test]
fn monitoring_file_reads_the_lakeflow_timeline_tables() {
    let p = rendered_example("prod");
    let file = monitoring_file(&p, &MonitoringIds::default());
    assert_eq!(file.path, "monitoring/customer-360-pipeline-prod.yaml");
    let back = parse_str(&file.content).expect("valid YAML").to_value();
    assert_eq!(back, file.definition);
    let m = &file.definition["monitoring"];
    assert_eq!(m["sla_seconds"], 10_800);
    assert_eq!(m["dashboards"][0]["name"], "customer-360-pipeline-prod-health");
    assert_eq!(m["dashboards"][0]["widgets"].as_array().map(Vec::len), Some(3));
    let alerts = m["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[1]["condition"]["threshold"], 10_800);
    assert!(file.content.contains("system.lakeflow.job_run_timeline"));
    assert!(file.content.contains("system.lakeflow.job_task_run_timeline"));
    assert!(file.content.contains("MAX_BY(result_state, period_end_time)"));
    assert!(
        !file.content.contains("system.jobs.runs"),
        "the seed's table does not exist"
    );
    assert!(!file.content.contains("execution_duration_ms"));
    let emails = &alerts[0]["notifications"][0]["recipients"];
    assert_eq!(
        emails,
        &serde_json::json!(["data-engineering@company.com", "data-platform-oncall@company.com"])
    );
    assert_eq!(
        alerts[0]["notifications"][1],
        serde_json::json!({"type": "webhook", "destination_id": "slack-webhook-failure"})
    );
}

#[test]
fn ids_bind_the_query_parameters() {
    let p = rendered_example("dev");
    let ids = MonitoringIds {
        job_id: Some("123".into()),
        workspace_id: Some("456".into()),
    };
    let file = monitoring_file(&p, &ids);
    let params = &file.definition["monitoring"]["parameters"];
    assert_eq!(
        params[0],
        serde_json::json!({"name": "workspace_id", "type": "STRING", "value": "456"})
    );
    assert_eq!(
        params[1],
        serde_json::json!({"name": "job_id", "type": "STRING", "value": "123"})
    );
    assert_eq!(file.definition["monitoring"]["sla_seconds"], 14_400);
}
