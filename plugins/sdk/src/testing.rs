//! Realistic inputs for unit-testing plugins natively (`cargo test`), built around the
//! customer-360 pipeline from brickship's seed: a five-task prod job with two job clusters,
//! a daily schedule, tags, notifications and an ACL.

pub mod harness;

use crate::types::{
    Deployment, Event, EventKind, GateInput, GatePoint, Plan, PlanAction, RunResult, RunSummary, TaskSummary,
};

/// The customer-360 prod JobSettings (JSON), as the seed's deployment YAML describes it.
pub const CUSTOMER_360_SETTINGS: &str = include_str!("../testdata/customer-360-prod.json");

/// The customer-360 prod ACL (JSON array): a user owner, a viewer group, a run-manager SP.
pub const CUSTOMER_360_ACL: &str = include_str!("../testdata/customer-360-acl.json");

/// 2026-01-05T12:00:00Z (a Monday), a fixed "now" for tests.
pub const MONDAY_NOON_MS: u64 = 1_767_614_400_000;

/// A first deployment of `desired` to `environment`: no live job, plan `create`, config `{}`.
pub fn deployment(environment: &str, desired: &str) -> Deployment {
    Deployment {
        id: "dep-test-0001".to_owned(),
        pipeline: "customer-360".to_owned(),
        environment: environment.to_owned(),
        version: "sha256:0000".to_owned(),
        desired: desired.to_owned(),
        acl: None,
        live: None,
        live_job_id: None,
        plan: Plan {
            action: PlanAction::Create,
            changes: Vec::new(),
        },
        config: "{}".to_owned(),
        now_ms: MONDAY_NOON_MS,
    }
}

/// The customer-360 job going to prod for the first time, with its ACL.
pub fn customer_360_prod() -> Deployment {
    let mut d = deployment("prod", CUSTOMER_360_SETTINGS);
    d.acl = Some(CUSTOMER_360_ACL.to_owned());
    d
}

/// A gate input at `point` with no cost estimate and no evidence.
pub fn gate_input(deployment: Deployment, point: GatePoint) -> GateInput {
    GateInput {
        deployment,
        point,
        cost: None,
        evidence: Vec::new(),
    }
}

/// An event of `kind` for `deployment`.
pub fn event(kind: EventKind, deployment: Deployment, message: &str) -> Event {
    Event {
        kind,
        deployment,
        strategy: "direct".to_owned(),
        message: message.to_owned(),
        detail: String::new(),
        findings: Vec::new(),
        job_id: Some(1234),
        url: Some("https://example.cloud.databricks.com/jobs/1234".to_owned()),
        at_ms: MONDAY_NOON_MS,
    }
}

/// A finished run of job 1234 with one task per key, all with `result`.
pub fn run_summary(run_id: i64, result: RunResult, task_keys: &[&str]) -> RunSummary {
    let tasks: Vec<TaskSummary> = task_keys
        .iter()
        .enumerate()
        .map(|(i, key)| TaskSummary {
            task_key: (*key).to_owned(),
            run_id: run_id * 100 + i as i64,
            result_state: Some(result),
            start_ms: MONDAY_NOON_MS,
            duration_ms: 60_000,
            attempts: 1,
        })
        .collect();
    let failed = if result == RunResult::Success {
        0
    } else {
        tasks.len() as u32
    };
    RunSummary {
        run_id,
        job_id: 1234,
        result_state: Some(result),
        state_message: String::new(),
        start_ms: MONDAY_NOON_MS,
        duration_ms: 60_000 * tasks.len() as u64,
        queue_ms: 0,
        parameters: Vec::new(),
        tasks,
        failed_tasks: failed,
        retried_tasks: 0,
        url: None,
    }
}
