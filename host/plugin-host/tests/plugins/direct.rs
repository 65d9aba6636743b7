//! The `direct` strategy's step sequences through the runtime: create, update, no-op, and the
//! three ways of handling active runs.

use plugin_host::types::*;
use plugin_host::{PluginRef, Strategy};
use serde_json::{Value, json};

use super::*;

fn direct() -> Strategy {
    runtime().load_strategy(&PluginRef::builtin("direct")).unwrap()
}

fn done(id: &str) -> Outcome {
    Outcome {
        action_id: id.into(),
        kind: OutcomeKind::Done,
    }
}

fn ids(r: &StepResult) -> Vec<&str> {
    r.actions.iter().map(|a| a.id.as_str()).collect()
}

fn acl() -> Value {
    serde_json::from_str(CUSTOMER_360_ACL).unwrap()
}

#[test]
fn create_then_permissions_then_success() {
    let s = direct();
    let d = deployment("prod", json!({}));
    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(r1.phase, Phase::Running);
    assert_eq!(
        r1.actions,
        [
            Action {
                id: "create-job".into(),
                kind: ActionKind::CreateJob {
                    label: "job".into(),
                    settings: d.desired.clone()
                }
            },
            Action {
                id: "set-permissions".into(),
                kind: ActionKind::SetPermissions {
                    job: JobRef::Created { label: "job".into() },
                    acl: acl()
                },
            },
        ]
    );
    let outcomes = [
        Outcome {
            action_id: "create-job".into(),
            kind: OutcomeKind::JobCreated { job_id: 981 },
        },
        done("set-permissions"),
    ];
    let r2 = s.step(&d, Some(&r1.state), &outcomes).unwrap();
    assert_eq!(
        (r2.phase, r2.message.as_str()),
        (Phase::Succeeded, "created job 981")
    );
    assert!(r2.actions.is_empty());
}

#[test]
fn update_waits_for_active_runs_by_default() {
    let s = direct();
    let d = update("prod", json!({}));
    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(
        r1.actions,
        [Action {
            id: "wait-active-runs".into(),
            kind: ActionKind::WaitActiveRuns {
                job: JobRef::Live,
                timeout_ms: 3_600_000
            }
        }]
    );
    let r2 = s.step(&d, Some(&r1.state), &[done("wait-active-runs")]).unwrap();
    assert_eq!(ids(&r2), ["reset-job", "set-permissions"]);
    assert_eq!(
        r2.actions[0].kind,
        ActionKind::ResetJob {
            job: JobRef::Live,
            settings: d.desired.clone()
        }
    );
    let r3 = s
        .step(&d, Some(&r2.state), &[done("reset-job"), done("set-permissions")])
        .unwrap();
    assert_eq!(
        (r3.phase, r3.message.as_str()),
        (Phase::Succeeded, "updated job 4242")
    );
}

#[test]
fn update_without_acl_only_resets() {
    let s = direct();
    let mut d = update("dev", json!({"active_runs": "cancel"}));
    d.acl = None;
    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(ids(&r1), ["cancel-active-runs", "wait-active-runs"]);
    assert_eq!(
        r1.actions[0].kind,
        ActionKind::CancelActiveRuns { job: JobRef::Live }
    );
    let r2 = s
        .step(
            &d,
            Some(&r1.state),
            &[done("cancel-active-runs"), done("wait-active-runs")],
        )
        .unwrap();
    assert_eq!(ids(&r2), ["reset-job"]);
}

#[test]
fn unchanged_plan_makes_no_mutating_call() {
    let s = direct();
    let mut d = update("prod", json!({}));
    d.live = Some(d.desired.clone());
    d.plan = Plan {
        action: PlanAction::Unchanged,
        changes: vec![],
    };
    let r = s.step(&d, None, &[]).unwrap();
    assert!(r.actions.is_empty());
    assert_eq!(r.phase, Phase::Succeeded);
}

#[test]
fn active_runs_fail_mode() {
    let s = direct();
    let d = update("prod", json!({"active_runs": "fail"}));
    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(
        r1.actions,
        [Action {
            id: "list-active-runs".into(),
            kind: ActionKind::ListActiveRuns { job: JobRef::Live }
        }]
    );
    let running = RunSummary {
        run_id: 5001,
        job_id: 4242,
        result_state: None,
        state_message: "In run".into(),
        start_ms: MONDAY_NOON_MS - 600_000,
        duration_ms: 600_000,
        queue_ms: 0,
        parameters: vec![],
        tasks: vec![TaskSummary {
            task_key: "ingest-bronze".into(),
            run_id: 5002,
            result_state: None,
            start_ms: MONDAY_NOON_MS - 600_000,
            duration_ms: 600_000,
            attempts: 1,
        }],
        failed_tasks: 0,
        retried_tasks: 0,
        url: None,
    };
    let busy = [Outcome {
        action_id: "list-active-runs".into(),
        kind: OutcomeKind::Runs { runs: vec![running] },
    }];
    let r2 = s.step(&d, Some(&r1.state), &busy).unwrap();
    assert_eq!(r2.phase, Phase::Failed);
    assert!(r2.message.contains("1 active run(s) (5001)"), "{}", r2.message);
    let idle = [Outcome {
        action_id: "list-active-runs".into(),
        kind: OutcomeKind::Runs { runs: vec![] },
    }];
    let r3 = s.step(&d, Some(&r1.state), &idle).unwrap();
    assert_eq!(ids(&r3), ["reset-job", "set-permissions"]);
}

#[test]
fn a_wait_timeout_fails_the_deployment() {
    let s = direct();
    let d = update("prod", json!({"wait_timeout_seconds": 60}));
    let r1 = s.step(&d, None, &[]).unwrap();
    let timed_out = [Outcome {
        action_id: "wait-active-runs".into(),
        kind: OutcomeKind::TimedOut { run: None },
    }];
    let r2 = s.step(&d, Some(&r1.state), &timed_out).unwrap();
    assert_eq!(r2.phase, Phase::Failed);
    assert!(
        r2.message.contains("raise `wait_timeout_seconds`"),
        "{}",
        r2.message
    );
}

#[test]
fn step_results_round_trip_through_json_for_the_journal() {
    let s = direct();
    let r = s.step(&deployment("prod", json!({})), None, &[]).unwrap();
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        text.contains(r#""id":"create-job","type":"create-job","label":"job""#),
        "{text}"
    );
    let back: StepResult = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}

#[test]
fn update_with_unchanged_permissions_does_not_set_them_again() {
    let s = direct();
    let mut d = update("dev", json!({}));
    d.plan
        .changes
        .retain(|c| !c.path.starts_with("/access_control_list"));
    let r1 = s.step(&d, None, &[]).unwrap();
    let r2 = s.step(&d, Some(&r1.state), &[done("wait-active-runs")]).unwrap();
    assert_eq!(ids(&r2), ["reset-job"]);
}
