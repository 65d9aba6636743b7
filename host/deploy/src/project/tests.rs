//! Loading whole projects from disk: the example project and small temporary ones.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::validate::load_and_validate;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/customer-360")
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn request<'a>(dir: &'a Path, env: &'a str) -> LoadRequest<'a> {
    LoadRequest {
        env: &no_env,
        ..LoadRequest::new(dir, "customer-360-pipeline", env)
    }
}

#[test]
fn example_renders_for_every_environment() {
    let dir = example();
    for env in ["dev", "staging", "prod"] {
        let loaded = load_and_validate(&request(&dir, env));
        assert!(
            !loaded.diagnostics.has_errors(),
            "{env}:\n{}",
            loaded.diagnostics.render(false)
        );
        let p = loaded.pipeline.expect("rendered");
        assert_eq!(p.job_name(), format!("customer-360-pipeline-{env}"));
        assert_eq!(
            p.settings["tags"]["environment"],
            json!(match env {
                "dev" => "development",
                "staging" => "staging",
                _ => "production",
            })
        );
        assert_eq!(
            p.settings["tasks"][0]["notebook_task"]["base_parameters"]["target_catalog"],
            json!(env)
        );
        assert_eq!(
            p.settings["tasks"][4]["python_wheel_task"]["parameters"],
            json!(["customer-360-pipeline", env])
        );
        assert!(p.settings.get("access_control_list").is_none());
        assert_eq!(p.acl().len(), 3);
        assert_eq!(p.content_hash.len(), 64);
        // The seed sets both num_workers and autoscale on both clusters: two warnings.
        let warnings: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            warnings,
            vec![crate::diagnostics::code::AUTOSCALE_AND_NUM_WORKERS; 2],
            "{env}"
        );
    }
}

#[test]
fn example_overlays_and_monitoring_apply() {
    let dir = example();
    let dev = load(&request(&dir, "dev")).pipeline.expect("dev");
    assert_eq!(dev.settings["schedule"]["pause_status"], "PAUSED");
    assert_eq!(
        dev.settings["job_clusters"][0]["new_cluster"]["autoscale"],
        json!({"min_workers": 1, "max_workers": 2})
    );
    assert_eq!(
        dev.settings["job_clusters"][0]["new_cluster"]["aws_attributes"]["availability"],
        "SPOT"
    );
    assert_eq!(
        dev.settings["job_clusters"][0]["new_cluster"]["aws_attributes"]["zone_id"],
        "auto"
    );
    assert_eq!(dev.settings["email_notifications"]["on_start"], json!([]));
    assert_eq!(dev.settings["tags"]["sla"], "best-effort");
    assert_eq!(
        dev.settings["health"],
        json!({"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 14400}]})
    );
    assert_eq!(
        dev.settings["email_notifications"]["on_duration_warning_threshold_exceeded"],
        json!(["data-engineering@company.com"])
    );
    assert!(!dev.environment.approval_required);
    assert_eq!(dev.environment.workspace, WorkspaceTarget::Local);
    assert_eq!(dev.environment.strategy.name, "direct");

    let prod = load(&request(&dir, "prod")).pipeline.expect("prod");
    assert!(prod.environment.approval_required);
    assert_eq!(prod.environment.strategy.name, "blue-green");
    assert_eq!(prod.settings["schedule"]["pause_status"], "UNPAUSED");
    assert_eq!(prod.settings["tasks"][2]["max_retries"], 1);
    assert_eq!(prod.settings["health"]["rules"][0]["value"], 10_800);
    assert_eq!(
        prod.settings["email_notifications"]["on_duration_warning_threshold_exceeded"],
        json!(["data-engineering@company.com", "data-platform-oncall@company.com"])
    );
    assert_eq!(prod.project.sync.len(), 2);
    assert_eq!(prod.project.state_root, "/Workspace/Shared/.brickship");
}

#[test]
fn spans_point_into_the_file_that_produced_the_value() {
    let dir = example();
    let p = load(&request(&dir, "dev")).pipeline.expect("dev");
    let loc = |ptr: &str| {
        let span = p.span(ptr).expect(ptr);
        let l = p.sources.locate(span);
        (l.file, l.line)
    };
    assert_eq!(
        loc("/schedule/pause_status"),
        (
            "pipelines/customer-360-pipeline/environments/dev.yaml".to_string(),
            19
        )
    );
    assert_eq!(
        loc("/schedule/quartz_cron_expression").0,
        "pipelines/customer-360-pipeline/job.yaml"
    );
    assert_eq!(loc("/health/rules/0/value"), ("brickship.yaml".to_string(), 34));
    assert_eq!(
        loc("/access_control_list/0/user_name").0,
        "pipelines/customer-360-pipeline/job.yaml"
    );
}

#[test]
fn config_file_overrides_variables_environment_and_job() {
    let dir = example();
    let config = dir.join("custom-deploy-config.yaml");
    let req = LoadRequest {
        config_file: Some(&config),
        ..request(&dir, "prod")
    };
    let loaded = load(&req);
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.diagnostics.render(false)
    );
    let p = loaded.pipeline.expect("prod");
    assert_eq!(
        p.deploy.strategy.as_ref().map(|s| s.name.as_str()),
        Some("direct")
    );
    assert_eq!(p.deploy.active_runs, Some(ActiveRunsPolicy::Wait));
    assert_eq!(p.deploy.rollback_on_failure, Some(true));
    assert_eq!(p.environment.monitoring.sla_seconds, Some(7200));
    assert_eq!(p.settings["health"]["rules"][0]["value"], 7200);
    assert_eq!(
        p.settings["tasks"][0]["notebook_task"]["base_parameters"]["checkpoint_path"],
        "/mnt/checkpoints-hotfix/bronze/customer-360"
    );
    assert_eq!(p.settings["tags"]["change"], "hotfix");
    assert_eq!(p.settings["tags"]["sla"], "critical");
}

#[test]
fn cli_variables_win_and_keep_yaml_types() {
    let dir = example();
    let vars = vec![
        ("catalog".to_string(), "hotfix".to_string()),
        ("extra".to_string(), "7".to_string()),
    ];
    let req = LoadRequest {
        variables: &vars,
        ..request(&dir, "prod")
    };
    let p = load(&req).pipeline.expect("prod");
    assert_eq!(
        p.settings["tasks"][0]["notebook_task"]["base_parameters"]["target_catalog"],
        "hotfix"
    );
    assert_eq!(p.variables["extra"], json!(7));
}

#[test]
fn monitoring_flag_wins() {
    let dir = example();
    let req = LoadRequest {
        enable_monitoring: Some(false),
        ..request(&dir, "dev")
    };
    let p = load(&req).pipeline.expect("dev");
    assert!(p.settings.get("health").is_none());
    assert!(!p.monitoring_enabled);
}

#[test]
fn content_hash_is_stable_and_sensitive() {
    let dir = example();
    let a = load(&request(&dir, "dev")).pipeline.expect("a");
    let b = load(&request(&dir, "dev")).pipeline.expect("b");
    let c = load(&request(&dir, "staging")).pipeline.expect("c");
    assert_eq!(a.content_hash, b.content_hash);
    assert_ne!(a.content_hash, c.content_hash);
    assert_eq!(
        canonical_json(&json!({"b": 1, "a": [{"d": 1, "c": 2}]})),
        r#"{"a":[{"c":2,"d":1}],"b":1}"#
    );
}

#[test]
fn sync_plan_of_the_example_covers_the_job_references() {
    let dir = example();
    let p = load(&request(&dir, "dev")).pipeline.expect("dev");
    let entries = sync::sync_plan(&p.project.root, &p.project.sync).expect("plan");
    let remotes: Vec<&str> = entries.iter().map(|e| e.remote.as_str()).collect();
    assert_eq!(
        remotes,
        vec![
            "/Workspace/libs/notifications-1.0.0-py3-none-any.whl",
            "/Workspace/pipelines/customer-360/bronze",
            "/Workspace/pipelines/customer-360/gold",
            "/Workspace/pipelines/customer-360/quality-checks",
            "/Workspace/pipelines/customer-360/silver",
        ]
    );
}

#[test]
fn unknown_environment_and_pipeline_are_reported_together() {
    let dir = example();
    let req = LoadRequest {
        pipeline: "customer-360-pipelin",
        environment: "qa",
        ..request(&dir, "dev")
    };
    let loaded = load(&req);
    assert!(loaded.pipeline.is_none());
    let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        vec![
            crate::diagnostics::code::UNKNOWN_ENVIRONMENT,
            crate::diagnostics::code::UNKNOWN_PIPELINE
        ]
    );
    let text = loaded.diagnostics.render(false);
    assert!(text.contains("did you mean `customer-360-pipeline`?"), "{text}");
    assert!(text.contains("environments: dev, staging, prod"), "{text}");
}

#[test]
fn missing_project_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let loaded = load(&LoadRequest::new(dir.path(), "p", "dev"));
    assert!(
        loaded
            .diagnostics
            .contains_code(crate::diagnostics::code::NOT_A_PROJECT)
    );
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn json_job_files_and_default_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "brickship.yaml",
        "project: p\nenvironments:\n  dev: {workspace: {host: local}}\n",
    );
    write(
        dir.path(),
        "pipelines/etl/job.json",
        "{\"tasks\": [{\"task_key\": \"a\", \"notebook_task\": {\"notebook_path\": \"/Workspace/a\"}}]}",
    );
    let loaded = load_and_validate(&LoadRequest {
        env: &no_env,
        ..LoadRequest::new(dir.path(), "etl", "dev")
    });
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.diagnostics.render(false)
    );
    let p = loaded.pipeline.expect("rendered");
    assert_eq!(p.job_name(), "etl-dev");
    assert_eq!(p.environment.monitoring, MonitoringSettings::default());
    assert_eq!(list_pipelines(dir.path()), vec!["etl".to_string()]);
}

#[test]
fn environment_settings_and_opaque_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "brickship.yaml",
        "project: p\ngates: {cost: {max_usd: 10}}\nnotifiers: {slack: {channel: x}}\nplugins: {my: {path: x.wasm}}\n\
         strategies: {canary: {steps: [10, 50]}}\nenvironments:\n  prod:\n    workspace: {host: 'https://${env.HOST}/'}\n\
         \x20   strategy: {name: canary, steps: [10, 100]}\n    approval: false\n  qa:\n    workspace: {profile: QA}\n",
    );
    write(
        dir.path(),
        "pipelines/p/job.yaml",
        "tasks: [{task_key: a, notebook_task: {notebook_path: /x}}]\n",
    );
    let env = |n: &str| (n == "HOST").then(|| "dbc.example.com".to_string());
    let loaded = load(&LoadRequest {
        env: &env,
        ..LoadRequest::new(dir.path(), "p", "prod")
    });
    assert!(
        loaded.diagnostics.is_empty(),
        "{}",
        loaded.diagnostics.render(false)
    );
    let p = loaded.pipeline.expect("rendered");
    assert_eq!(
        p.environment.workspace,
        WorkspaceTarget::Host {
            host: "https://dbc.example.com".into(),
            profile: None
        }
    );
    assert_eq!(p.environment.strategy.name, "canary");
    assert_eq!(p.environment.strategy.config, json!({"steps": [10, 100]}));
    assert!(!p.environment.approval_required);
    assert_eq!(p.project.gates, Some(json!({"cost": {"max_usd": 10}})));
    assert_eq!(p.project.strategies, Some(json!({"canary": {"steps": [10, 50]}})));
    let qa = load(&LoadRequest {
        env: &env,
        ..LoadRequest::new(dir.path(), "p", "qa")
    })
    .pipeline
    .expect("qa");
    assert_eq!(
        qa.environment.workspace,
        WorkspaceTarget::Profile { profile: "QA".into() }
    );
}

#[test]
fn a_directory_that_is_not_a_project_gets_one_finding_saying_so() {
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("nope");
    for (dir, says) in [
        (
            empty.path(),
            "is not a brickship project: it has no `brickship.yaml`",
        ),
        (missing.as_path(), "does not exist"),
    ] {
        let loaded = load(&request(dir, "dev"));
        assert!(loaded.pipeline.is_none());
        let findings: Vec<_> = loaded.diagnostics.iter().collect();
        assert_eq!(findings.len(), 1, "{}", loaded.diagnostics.render(false));
        assert_eq!(findings[0].code, crate::diagnostics::code::NOT_A_PROJECT);
        assert!(findings[0].message.contains(says), "{}", findings[0].message);
    }
}
