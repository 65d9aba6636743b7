//! Models: lossless JSON round trips (unknown fields and enum values kept), helpers, conversions.

use databricks::{
    Job, JobSettings, PauseStatus, PermissionLevel, Run, RunLifeCycleState, RunResultState, ScimUser,
};
use serde_json::{Value, json};

const CUSTOMER_360: &str = include_str!("fixtures/customer-360-job.json");

#[test]
fn customer_360_job_round_trips_identically() {
    let original: Value = serde_json::from_str(CUSTOMER_360).expect("fixture json");
    let job: Job = serde_json::from_value(original.clone()).expect("job model");
    let back = serde_json::to_value(&job).expect("serialise");
    assert_eq!(back, original);

    // Typed access works, and unknown fields landed in `extra` at every level.
    assert_eq!(job.job_id, 1029384756);
    let settings = &job.settings;
    assert_eq!(settings.name.as_deref(), Some("customer-360-pipeline-prod"));
    assert_eq!(
        settings.schedule.as_ref().and_then(|s| s.pause_status.clone()),
        Some(PauseStatus::Unpaused)
    );
    let bronze = settings.task("ingest-bronze").expect("task");
    assert_eq!(bronze.max_retries, Some(2));
    assert_eq!(bronze.libraries.as_ref().map(Vec::len), Some(2));
    let silver = settings.task("process-silver").expect("task");
    assert_eq!(
        silver.dependency_keys().collect::<Vec<_>>(),
        vec!["ingest-bronze"]
    );
    assert!(job.extra.contains_key("run_as_owner"));
    assert!(settings.extra.contains_key("triggers"));
    assert!(
        settings
            .task("send-notification")
            .expect("task")
            .extra
            .contains_key("genie_task")
    );
    let cluster = &settings.job_clusters.as_ref().expect("clusters")[0].new_cluster;
    assert!(cluster.extra.contains_key("future_cluster_field"));
}

#[test]
fn settings_convert_to_and_from_raw_json() {
    let original: Value = serde_json::from_str(CUSTOMER_360).expect("fixture json");
    let raw_settings = original["settings"].clone();
    let settings = JobSettings::from_value(raw_settings.clone()).expect("settings");
    assert_eq!(settings.to_value().expect("to value"), raw_settings);
    let via_try: JobSettings = raw_settings.clone().try_into().expect("try_from");
    assert_eq!(via_try, settings);
    let value: Value = (&settings).try_into().expect("into value");
    assert_eq!(value, raw_settings);
    // Absent and empty stay distinct.
    let empty = JobSettings::from_value(json!({ "tasks": [] })).expect("settings");
    assert_eq!(empty.to_value().expect("value"), json!({ "tasks": [] }));
    assert_eq!(JobSettings::default().to_value().expect("value"), json!({}));
}

#[test]
fn run_states_tolerate_unknown_values() {
    let raw = json!({
        "run_id": 5,
        "job_id": 9,
        "state": { "life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED", "state_message": "Task a failed" },
        "status": { "state": "TERMINATED", "termination_details": { "code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR", "message": "m" } },
        "start_time": 1, "end_time": 2, "run_duration": 1, "setup_duration": 0,
        "run_page_url": "http://127.0.0.1/#job/9/run/5",
        "job_parameters": [{ "name": "p", "default": "a", "value": "b" }],
        "tasks": [
            { "task_key": "a", "run_id": 6, "state": { "life_cycle_state": "TERMINATED", "result_state": "FAILED" } },
            { "task_key": "b", "run_id": 7, "state": { "life_cycle_state": "SOMETHING_NEW_2027", "result_state": "ALSO_NEW" }, "notebook_task": { "notebook_path": "/x" } }
        ]
    });
    let run: Run = serde_json::from_value(raw.clone()).expect("run");
    assert_eq!(serde_json::to_value(&run).expect("value"), raw);
    assert!(run.is_terminal());
    assert!(!run.succeeded());
    assert_eq!(run.result_state(), Some(&RunResultState::Failed));
    let b = run.task("b").expect("task b");
    let state = b.state.as_ref().expect("state");
    assert_eq!(
        state.life_cycle_state,
        Some(RunLifeCycleState::Unknown("SOMETHING_NEW_2027".into()))
    );
    assert!(!state.life_cycle_state.as_ref().expect("lcs").is_terminal());
    assert_eq!(state.result_state.as_ref().map(|r| r.as_str()), Some("ALSO_NEW"));
    assert!(RunLifeCycleState::Skipped.is_terminal() && RunLifeCycleState::InternalError.is_terminal());
}

#[test]
fn permission_levels_and_scim_users_round_trip() {
    let levels: Vec<PermissionLevel> =
        serde_json::from_value(json!(["CAN_VIEW", "IS_OWNER", "CAN_TELEPORT"])).expect("levels");
    assert_eq!(
        levels,
        vec![
            PermissionLevel::CanView,
            PermissionLevel::IsOwner,
            PermissionLevel::Unknown("CAN_TELEPORT".into())
        ]
    );
    assert_eq!(
        serde_json::to_value(&levels).expect("value"),
        json!(["CAN_VIEW", "IS_OWNER", "CAN_TELEPORT"])
    );
    let raw = json!({ "id": "1", "userName": "a@b.c", "displayName": "A", "active": true, "emails": [{ "value": "a@b.c", "primary": true, "type": "work" }], "schemas": ["urn:x"] });
    let user: ScimUser = serde_json::from_value(raw.clone()).expect("user");
    assert_eq!(user.user_name.as_deref(), Some("a@b.c"));
    assert_eq!(serde_json::to_value(&user).expect("value"), raw);
}
