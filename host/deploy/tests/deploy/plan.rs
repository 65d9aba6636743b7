//! Plans of the example against live jobs shaped like the Jobs API returns them.

use deploy::plan::{JobAction, NormalizeOptions, Plan};
use serde_json::{Value, json};

use crate::support::rendered_example;

/// What `jobs/get` returns for a job created from `desired`: server defaults filled in, task
/// order changed, enrichment added, brickship's own tags present, `num_workers` dropped where
/// `autoscale` is set.
fn as_live(desired: &Value) -> Value {
    let mut live = desired.clone();
    let obj = live.as_object_mut().expect("object");
    obj.insert("format".into(), json!("MULTI_TASK"));
    obj.insert("queue".into(), json!({"enabled": true}));
    obj.entry("timeout_seconds").or_insert(json!(0));
    obj.entry("max_concurrent_runs").or_insert(json!(1));
    obj.insert("run_as".into(), json!({"user_name": "deployer@company.com"}));
    if let Some(Value::Object(tags)) = obj.get_mut("tags") {
        tags.insert("brickship-deployment".into(), json!("d-20260101-000000"));
        tags.insert("brickship-hash".into(), json!("abc"));
    }
    if let Some(Value::Object(en)) = obj.get_mut("email_notifications") {
        en.remove("no_alert_for_skipped_runs");
    }
    if let Some(Value::Array(tasks)) = obj.get_mut("tasks") {
        tasks.reverse();
        for t in tasks.iter_mut() {
            let t = t.as_object_mut().expect("task");
            t.entry("run_if").or_insert(json!("ALL_SUCCESS"));
            t.entry("timeout_seconds").or_insert(json!(0));
            t.entry("email_notifications").or_insert(json!({}));
            if let Some(Value::Object(nb)) = t.get_mut("notebook_task") {
                nb.insert("source".into(), json!("WORKSPACE"));
            }
        }
    }
    if let Some(Value::Array(clusters)) = obj.get_mut("job_clusters") {
        for c in clusters.iter_mut() {
            let spec = c
                .get_mut("new_cluster")
                .and_then(Value::as_object_mut)
                .expect("spec");
            spec.remove("num_workers");
            spec.insert("enable_elastic_disk".into(), json!(false));
            spec.insert("data_security_mode".into(), json!("SINGLE_USER"));
            if let Some(Value::Object(aws)) = spec.get_mut("aws_attributes") {
                aws.insert("first_on_demand".into(), json!(1));
            }
        }
    }
    live
}

fn options() -> NormalizeOptions {
    NormalizeOptions::ignoring_tags(["brickship-*"])
}

fn live_permissions(p: &deploy::project::RenderedPipeline) -> Value {
    let entries: Vec<Value> = p
        .acl()
        .iter()
        .map(|e| {
            let mut v = json!({"all_permissions": [{"permission_level": e.permission_level, "inherited": false}]});
            v[e.principal.field()] = json!(e.principal.name());
            v
        })
        .chain([json!({"group_name": "admins", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/jobs/"]}]})])
        .collect();
    json!({"object_id": "/jobs/1", "object_type": "job", "access_control_list": entries})
}

#[test]
fn redeploying_the_same_settings_plans_nothing() {
    for env in ["dev", "staging", "prod"] {
        let p = rendered_example(env);
        let live = as_live(&p.settings);
        let perms = live_permissions(&p);
        let plan = Plan::compute(&p.settings, &p.acl(), Some(&live), Some(&perms), &options());
        assert!(plan.is_empty(), "{env}: phantom diff\n{}", plan.render(false));
    }
}

#[test]
fn a_changed_field_is_a_single_precise_change() {
    let p = rendered_example("prod");
    let mut live = as_live(&p.settings);
    let tasks = live["tasks"].as_array_mut().expect("tasks");
    let silver = tasks
        .iter_mut()
        .find(|t| t["task_key"] == "process-silver")
        .expect("silver");
    silver["timeout_seconds"] = json!(7200);
    live["tags"]["sla"] = json!("high");
    let plan = Plan::compute(
        &p.settings,
        &p.acl(),
        Some(&live),
        Some(&live_permissions(&p)),
        &options(),
    );
    let JobAction::Update { changes } = &plan.job else {
        panic!("expected an update: {plan:?}")
    };
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["tags.sla", "tasks[process-silver].timeout_seconds"]);
    let text = plan.render(false);
    assert!(
        text.contains("  ~ tasks[process-silver].timeout_seconds: 7200 -> 5400\n"),
        "{text}"
    );
    assert!(
        text.contains("  ~ tags.sla: \"high\" -> \"critical\"\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 2 job fields to change, 0 permission changes.\n"),
        "{text}"
    );
}

#[test]
fn first_deploy_is_a_create_with_every_task() {
    let p = rendered_example("dev");
    let plan = Plan::compute(&p.settings, &p.acl(), None, None, &options());
    let JobAction::Create { settings } = &plan.job else {
        panic!("expected create")
    };
    assert_eq!(settings["tasks"].as_array().map(Vec::len), Some(5));
    let text = plan.render(false);
    assert!(
        text.starts_with("job `customer-360-pipeline-dev` will be created\n"),
        "{text}"
    );
    assert!(text.contains("  + tasks[send-notification]: "), "{text}");
    assert!(text.contains("  + group:data-analysts: CAN_VIEW\n"), "{text}");
    assert_eq!(plan.permissions.len(), 3);
    assert_eq!(plan.to_json()["action"], "create");
}

#[test]
fn permission_drift_is_planned() {
    let p = rendered_example("dev");
    let live = as_live(&p.settings);
    let perms = json!({"access_control_list": [
        {"user_name": "data-engineering@company.com", "all_permissions": [{"permission_level": "IS_OWNER", "inherited": false}]},
        {"group_name": "data-analysts", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": false}]},
        {"user_name": "intruder@company.com", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": false}]}
    ]});
    let plan = Plan::compute(&p.settings, &p.acl(), Some(&live), Some(&perms), &options());
    assert!(matches!(plan.job, JobAction::NoChange));
    let text = plan.render(false);
    assert!(
        text.contains("  ~ group:data-analysts: CAN_MANAGE -> CAN_VIEW\n"),
        "{text}"
    );
    assert!(
        text.contains("  + service_principal:dev-deployment-sp: CAN_MANAGE_RUN\n"),
        "{text}"
    );
    assert!(
        text.contains("  - user:intruder@company.com: CAN_MANAGE\n"),
        "{text}"
    );
}
