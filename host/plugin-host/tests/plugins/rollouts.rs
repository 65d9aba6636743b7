//! The `blue-green` and `canary` components through the runtime: step sequences with gate
//! checks, gate verdicts, pauses steered by `control`, and cleanup.

use plugin_host::types::*;
use plugin_host::{PluginRef, Strategy};
use serde_json::{Value, json};

use super::*;

const NAME: &str = "customer-360-pipeline-prod";

fn load(name: &str) -> Strategy {
    runtime().load_strategy(&PluginRef::builtin(name)).unwrap()
}

fn ids(r: &StepResult) -> Vec<&str> {
    r.actions.iter().map(|a| a.id.as_str()).collect()
}

fn outcome(id: &str, kind: OutcomeKind) -> Outcome {
    Outcome {
        action_id: id.into(),
        kind,
    }
}

fn done(id: &str) -> Outcome {
    outcome(id, OutcomeKind::Done)
}

/// A finished run of `job_id` with one task that reported `output`.
fn finished(run_id: i64, job_id: i64, result: RunResult, duration_ms: u64) -> RunSummary {
    RunSummary {
        run_id,
        job_id,
        result_state: Some(result),
        state_message: String::new(),
        start_ms: MONDAY_NOON_MS,
        duration_ms,
        queue_ms: 0,
        parameters: vec![],
        tasks: vec![TaskSummary {
            task_key: "aggregate-gold".into(),
            run_id: run_id * 10,
            result_state: Some(result),
            start_ms: MONDAY_NOON_MS,
            duration_ms,
            attempts: 1,
        }],
        failed_tasks: u32::from(result != RunResult::Success),
        retried_tasks: 0,
        url: Some(format!(
            "https://example.cloud.databricks.com/jobs/{job_id}/runs/{run_id}"
        )),
    }
}

fn verdict(decision: Decision, summary: &str) -> OutcomeKind {
    OutcomeKind::GateVerdict {
        verdict: Verdict {
            decision,
            summary: summary.into(),
            findings: vec![Finding {
                code: "freshness".into(),
                message: "freshness: no data yet".into(),
                severity: Severity::Warning,
                path: None,
            }],
        },
    }
}

fn with_control(d: &Deployment, command: &str, at_ms: u64) -> Deployment {
    let mut d = d.clone();
    d.config["control"] = json!({"command": command, "by": "alice", "at-ms": at_ms});
    d
}

#[test]
fn blue_green_pauses_on_inconclusive_gates_and_swaps_when_promoted() {
    let s = load("blue-green");
    let d = update("prod", json!({"smoke_parameters": {"target_schema": "shadow"}}));
    s.validate_config(&d.config).unwrap();

    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(ids(&r1), ["create-green", "green-permissions"]);
    let ActionKind::CreateJob { label, settings } = &r1.actions[0].kind else {
        panic!("{:?}", r1.actions[0])
    };
    assert_eq!(label, "green");
    assert_eq!(settings["name"], json!(format!("{NAME}-green")));
    assert_eq!(settings["schedule"]["pause_status"], json!("PAUSED"));
    assert!(r1.actions[0].kind.is_mutation());

    let r2 = s
        .step(
            &d,
            Some(&r1.state),
            &[
                outcome("create-green", OutcomeKind::JobCreated { job_id: 981 }),
                done("green-permissions"),
            ],
        )
        .unwrap();
    assert_eq!(
        r2.actions[0].kind,
        ActionKind::RunJob {
            job: JobRef::Created {
                label: "green".into()
            },
            parameters: vec![Parameter {
                name: "target_schema".into(),
                value: "shadow".into()
            }],
            idempotency_token: "dep-20260105-120000-ab12-smoke-1".into(),
        }
    );
    assert_eq!(ids(&r2), ["smoke-1-run", "smoke-1-wait"]);

    let r3 = s
        .step(
            &d,
            Some(&r2.state),
            &[
                outcome("smoke-1-run", OutcomeKind::RunStarted { run_id: 77 }),
                outcome(
                    "smoke-1-wait",
                    OutcomeKind::RunFinished {
                        run: finished(77, 981, RunResult::Success, 52_000),
                    },
                ),
            ],
        )
        .unwrap();
    assert_eq!(
        r3.actions,
        [Action {
            id: "gate-pre-promote".into(),
            kind: ActionKind::GateCheck {
                point: GatePoint::PrePromote,
                evidence: vec![RunRef::StartedBy {
                    action_id: "smoke-1-run".into()
                }],
            },
        }]
    );
    assert!(!r3.actions[0].kind.is_mutation());

    // The gate verdict crosses into the guest; inconclusive parks the deployment.
    let r4 = s
        .step(
            &d,
            Some(&r3.state),
            &[outcome(
                "gate-pre-promote",
                verdict(Decision::Inconclusive, "no freshness data"),
            )],
        )
        .unwrap();
    assert_eq!(r4.phase, Phase::Paused);
    assert!(r4.actions.is_empty());
    assert!(
        r4.message
            .contains("`brickship promote dep-20260105-120000-ab12` swaps anyway"),
        "{}",
        r4.message
    );

    // `brickship promote`: the host calls again with no outcomes and a control.
    let promoted = with_control(&d, "promote", MONDAY_NOON_MS + 60_000);
    s.validate_config(&promoted.config).unwrap();
    let r5 = s.step(&promoted, Some(&r4.state), &[]).unwrap();
    assert_eq!(ids(&r5), ["drain-blue"]);
    let r6 = s.step(&promoted, Some(&r5.state), &[done("drain-blue")]).unwrap();
    assert_eq!(
        ids(&r6),
        ["pause-blue", "settle-blue", "rename-blue", "reset-green"]
    );
    assert_eq!(
        r6.actions[2].kind,
        ActionKind::RenameJob {
            job: JobRef::Live,
            name: format!("{NAME}-blue")
        }
    );
    assert_eq!(
        r6.actions[3].kind,
        ActionKind::ResetJob {
            job: JobRef::Created {
                label: "green".into()
            },
            settings: d.desired.clone()
        }
    );
    let r7 = s
        .step(
            &promoted,
            Some(&r6.state),
            &[
                done("pause-blue"),
                done("settle-blue"),
                done("rename-blue"),
                done("reset-green"),
            ],
        )
        .unwrap();
    assert_eq!(r7.phase, Phase::Succeeded, "{}", r7.message);
    let state: Value = serde_json::from_str(&r7.state).unwrap();
    assert_eq!(state["live_job_id"], json!(981));
    assert_eq!(state["blue"]["job_id"], json!(4242));
    assert_eq!(state["blue"]["pause_status_before"], json!("unpaused"));
    assert_eq!(state["blue"]["expires_ms"], json!(MONDAY_NOON_MS + 86_400_000));
}

#[test]
fn blue_green_smoke_failure_cleans_up_green() {
    let s = load("blue-green");
    let d = update("prod", json!({}));
    let r1 = s.step(&d, None, &[]).unwrap();
    let r2 = s
        .step(
            &d,
            Some(&r1.state),
            &[
                outcome("create-green", OutcomeKind::JobCreated { job_id: 981 }),
                done("green-permissions"),
            ],
        )
        .unwrap();
    let r3 = s
        .step(
            &d,
            Some(&r2.state),
            &[
                outcome("smoke-1-run", OutcomeKind::RunStarted { run_id: 77 }),
                outcome(
                    "smoke-1-wait",
                    OutcomeKind::RunFinished {
                        run: finished(77, 981, RunResult::Failed, 5_000),
                    },
                ),
            ],
        )
        .unwrap();
    assert_eq!(
        r3.actions,
        [
            Action {
                id: "cleanup-cancel-green".into(),
                kind: ActionKind::CancelActiveRuns {
                    job: JobRef::Created {
                        label: "green".into()
                    }
                },
            },
            Action {
                id: "cleanup-delete-green".into(),
                kind: ActionKind::DeleteJob {
                    job: JobRef::Created {
                        label: "green".into()
                    }
                },
            },
        ]
    );
    let r4 = s
        .step(
            &d,
            Some(&r3.state),
            &[done("cleanup-cancel-green"), done("cleanup-delete-green")],
        )
        .unwrap();
    assert_eq!(r4.phase, Phase::Failed);
    assert!(
        r4.message
            .starts_with("smoke run 77 of green job 981 ended `failed` (https://"),
        "{}",
        r4.message
    );
    assert!(r4.message.ends_with("; green deleted"), "{}", r4.message);
}

#[test]
fn blue_green_deletes_the_expired_previous_blue_first() {
    let s = load("blue-green");
    let mut d = update("prod", json!({"in_place": true}));
    d.config["previous"] = json!({"strategy": "blue-green", "deployment-id": "dep-old",
        "state": {"blue": {"job_id": 17, "name": format!("{NAME}-blue"), "pause_status_before": "unpaused",
                           "expires_ms": MONDAY_NOON_MS - 1, "deployment_id": "dep-old"}}});
    s.validate_config(&d.config).unwrap();
    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(ids(&r1), ["create-green", "delete-expired-blue"]);
    assert_eq!(
        r1.actions[1].kind,
        ActionKind::DeleteJob {
            job: JobRef::Id { job_id: 17 }
        }
    );
}

#[test]
fn canary_steps_with_analysis_and_a_failing_step() {
    let s = load("canary");
    let d = update(
        "prod",
        json!({"steps": [10, 50, 100], "parameter_overrides": {"target_schema": "canary"},
               "min_baseline_runs": 2}),
    );
    s.validate_config(&d.config).unwrap();
    let r1 = s.step(&d, None, &[]).unwrap();
    assert_eq!(ids(&r1), ["baseline-history", "create-canary"]);
    assert_eq!(
        r1.actions[0].kind,
        ActionKind::RunHistory {
            job: JobRef::Live,
            limit: 5,
            since_ms: None
        }
    );
    let history: Vec<RunSummary> = (1..=3)
        .map(|i| finished(100 + i, 4242, RunResult::Success, 60_000))
        .collect();
    let r2 = s
        .step(
            &d,
            Some(&r1.state),
            &[
                outcome("baseline-history", OutcomeKind::Runs { runs: history }),
                outcome("create-canary", OutcomeKind::JobCreated { job_id: 990 }),
            ],
        )
        .unwrap();
    assert_eq!(ids(&r2), ["s1-run-1", "s1-wait-1", "s1-output-1", "s1-gate"]);
    let ActionKind::RunJob {
        parameters,
        idempotency_token,
        ..
    } = &r2.actions[0].kind
    else {
        panic!()
    };
    assert_eq!(idempotency_token, "dep-20260105-120000-ab12-s1-r1");
    assert_eq!(
        parameters,
        &[
            Parameter {
                name: "brickship_canary_fraction".into(),
                value: "0.1".into()
            },
            Parameter {
                name: "target_schema".into(),
                value: "canary".into()
            }
        ]
    );

    let step_outcomes = |p: &str, run: RunSummary, gate: OutcomeKind| {
        vec![
            outcome(
                &format!("{p}-run-1"),
                OutcomeKind::RunStarted { run_id: run.run_id },
            ),
            outcome(&format!("{p}-wait-1"), OutcomeKind::RunFinished { run }),
            outcome(&format!("{p}-output-1"), OutcomeKind::Outputs { outputs: vec![] }),
            outcome(&format!("{p}-gate"), gate),
        ]
    };
    let r3 = s
        .step(
            &d,
            Some(&r2.state),
            &step_outcomes(
                "s1",
                finished(201, 990, RunResult::Success, 20_000),
                verdict(Decision::Warn, "1 warning"),
            ),
        )
        .unwrap();
    assert_eq!(ids(&r3), ["s2-run-1", "s2-wait-1", "s2-output-1", "s2-gate"]);
    assert!(
        r3.message.starts_with("step 1/3 (10%): pass — 1/1 run succeeded"),
        "{}",
        r3.message
    );

    let r4 = s
        .step(
            &d,
            Some(&r3.state),
            &step_outcomes(
                "s2",
                finished(202, 990, RunResult::Success, 200_000),
                verdict(Decision::Pass, "ok"),
            ),
        )
        .unwrap();
    assert_eq!(ids(&r4), ["cleanup-cancel-canary", "cleanup-delete-canary"]);
    assert!(
        r4.message
            .starts_with("step 2/3 (50%): fail — duration 3m 20s vs p90 1m (+50% allowed)"),
        "{}",
        r4.message
    );
    let r5 = s
        .step(
            &d,
            Some(&r4.state),
            &[done("cleanup-cancel-canary"), done("cleanup-delete-canary")],
        )
        .unwrap();
    assert_eq!(r5.phase, Phase::Failed);
    assert!(
        r5.message
            .ends_with("; canary deleted; the live job was not changed"),
        "{}",
        r5.message
    );
}

#[test]
fn canary_abort_while_paused() {
    let s = load("canary");
    let d = update("prod", json!({"steps": [25, 100], "gates": false}));
    let r1 = s.step(&d, None, &[]).unwrap();
    // No baseline runs: the first step cannot be judged and pauses.
    let r2 = s
        .step(
            &d,
            Some(&r1.state),
            &[
                outcome("baseline-history", OutcomeKind::Runs { runs: vec![] }),
                outcome("create-canary", OutcomeKind::JobCreated { job_id: 990 }),
            ],
        )
        .unwrap();
    assert_eq!(ids(&r2), ["s1-run-1", "s1-wait-1", "s1-output-1"]);
    let r3 = s
        .step(
            &d,
            Some(&r2.state),
            &[
                outcome("s1-run-1", OutcomeKind::RunStarted { run_id: 5 }),
                outcome(
                    "s1-wait-1",
                    OutcomeKind::RunFinished {
                        run: finished(5, 990, RunResult::Success, 1_000),
                    },
                ),
                outcome("s1-output-1", OutcomeKind::Outputs { outputs: vec![] }),
            ],
        )
        .unwrap();
    assert_eq!(r3.phase, Phase::Paused, "{}", r3.message);
    let aborted = with_control(&d, "abort", MONDAY_NOON_MS + 1);
    let r4 = s.step(&aborted, Some(&r3.state), &[]).unwrap();
    assert_eq!(ids(&r4), ["cleanup-cancel-canary", "cleanup-delete-canary"]);
    assert_eq!(r4.message, "aborted by alice; deleting canary job 990");
}
