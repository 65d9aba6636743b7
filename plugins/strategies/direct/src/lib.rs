//! The `direct` strategy: replace the live job's settings in place.
//!
//! Steps:
//! 1. Plan `unchanged` (the host compared the normalised live and desired settings and ACL):
//!    succeed with no actions, so re-deploying an unchanged spec makes no mutating call. The
//!    host decides this, not the plugin, because only the host knows the server defaults to
//!    normalise away.
//! 2. No live job: `create-job` (label `job`), then `set-permissions` when the project gives an
//!    ACL, in one step; succeed when both are done.
//! 3. A live job: first handle its active runs per `active_runs`:
//!    `wait` (default) waits up to `wait_timeout_seconds` for them to finish; `cancel` cancels
//!    them and waits for the cancellation to land; `fail` lists them and fails the deployment
//!    if there are any. Then `reset-job` with the desired settings and `set-permissions` when an
//!    ACL is given; succeed when both are done.
//!
//! Any failed or timed-out action fails the deployment (the host rolls back from its snapshot).

use brickship_plugin_sdk::types::{
    Action, ActionKind, ConfigProblem, CreateJob, Deployment, JobRef, Outcome, OutcomeKind, PlanAction,
    PluginError, PluginInfo, PluginKind, ResetJob, SetPermissions, StepResult, WaitActiveRuns,
};
use brickship_plugin_sdk::{config, rollout};
use serde::{Deserialize, Serialize};

/// Label of the job created when there is no live job.
const CREATED: &str = "job";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum ActiveRuns {
    #[default]
    Wait,
    Cancel,
    Fail,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    active_runs: ActiveRuns,
    #[serde(default = "default_wait")]
    wait_timeout_seconds: u64,
}

fn default_wait() -> u64 {
    3600
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "stage", rename_all = "kebab-case")]
enum State {
    /// Listed active runs (`active_runs: fail`).
    CheckActive,
    /// Waited for (or cancelled) active runs.
    Drain,
    /// Created or reset the job and applied permissions.
    Apply { created: bool },
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let c: Config = config::parse(text)?;
    if c.wait_timeout_seconds == 0 {
        return Err(vec![config::problem(
            "/wait_timeout_seconds",
            "must be at least 1 second",
        )]);
    }
    Ok(c)
}

struct Direct;

impl brickship_plugin_sdk::Strategy for Direct {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "direct",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Strategy,
            "Replace the live job's settings in place: wait for, cancel or refuse active runs, reset the job \
             (create it if absent), apply permissions. An unchanged spec makes no mutating call.",
        );
        info.config_schema = Some(
            r#"{"type":"object","additionalProperties":false,"properties":{"active_runs":{"enum":["wait","cancel","fail"],"default":"wait"},"wait_timeout_seconds":{"type":"integer","minimum":1,"default":3600}}}"#
                .to_owned(),
        );
        info.config_example = Some(r#"{"active_runs": "cancel", "wait_timeout_seconds": 1800}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn step(d: Deployment, state: Option<String>, outcomes: Vec<Outcome>) -> Result<StepResult, PluginError> {
        let config = parse_config(&d.config).map_err(config::refused)?;
        let Some(state) = state else {
            return Ok(first_step(&d, &config));
        };
        let state: State = rollout::read_state(&state)?;
        if let Some(failure) = first_failure(&outcomes) {
            return Ok(StepResult::failed(to_json(&state), failure));
        }
        match state {
            State::CheckActive => {
                let active = outcomes.iter().find_map(|o| match &o.kind {
                    OutcomeKind::Runs(runs) => Some(runs.clone()),
                    _ => None,
                });
                let Some(active) = active else {
                    return Err(PluginError::new(
                        "bad-outcomes",
                        "expected the list of active runs",
                    ));
                };
                if !active.is_empty() {
                    let ids: Vec<String> = active.iter().map(|r| r.run_id.to_string()).collect();
                    return Ok(StepResult::failed(
                        to_json(&state),
                        format!(
                            "the live job has {} active run(s) ({}) and `active_runs` is `fail`; wait for them, or set `active_runs` to `wait` or `cancel`",
                            active.len(),
                            ids.join(", ")
                        ),
                    ));
                }
                Ok(apply(&d, false))
            }
            State::Drain => Ok(apply(&d, false)),
            State::Apply { created } => {
                let job = outcomes.iter().find_map(|o| match o.kind {
                    OutcomeKind::JobCreated(id) => Some(id),
                    _ => None,
                });
                let message = match (created, job, d.live_job_id) {
                    (true, Some(id), _) => format!("created job {id}"),
                    (_, _, Some(id)) => format!("updated job {id}"),
                    _ => "deployed".to_owned(),
                };
                Ok(StepResult::succeeded(to_json(&State::Apply { created }), message))
            }
        }
    }
}

fn first_step(d: &Deployment, config: &Config) -> StepResult {
    if d.plan.action == PlanAction::Unchanged {
        return StepResult::succeeded("{}", "the live job already matches; nothing to do");
    }
    if d.live_job_id.is_none() {
        return apply(d, true);
    }
    let timeout_ms = config.wait_timeout_seconds.saturating_mul(1000);
    let wait = Action::new(
        "wait-active-runs",
        ActionKind::WaitActiveRuns(WaitActiveRuns {
            job: JobRef::Live,
            timeout_ms,
        }),
    );
    match config.active_runs {
        ActiveRuns::Wait => StepResult::running(
            vec![wait],
            to_json(&State::Drain),
            "waiting for active runs to finish",
        ),
        ActiveRuns::Cancel => StepResult::running(
            vec![
                Action::new("cancel-active-runs", ActionKind::CancelActiveRuns(JobRef::Live)),
                wait,
            ],
            to_json(&State::Drain),
            "cancelling active runs",
        ),
        ActiveRuns::Fail => StepResult::running(
            vec![Action::new(
                "list-active-runs",
                ActionKind::ListActiveRuns(JobRef::Live),
            )],
            to_json(&State::CheckActive),
            "checking for active runs",
        ),
    }
}

fn apply(d: &Deployment, create: bool) -> StepResult {
    let (mut actions, job, message) = if create {
        let create = CreateJob {
            label: CREATED.to_owned(),
            settings: d.desired.clone(),
        };
        (
            vec![Action::new("create-job", ActionKind::CreateJob(create))],
            JobRef::Created(CREATED.to_owned()),
            "creating the job",
        )
    } else {
        let reset = ResetJob {
            job: JobRef::Live,
            settings: d.desired.clone(),
        };
        (
            vec![Action::new("reset-job", ActionKind::ResetJob(reset))],
            JobRef::Live,
            "resetting the live job",
        )
    };
    // Permissions are set on a new job, and on the live job only when the plan says they differ
    // (the host lists permission changes under `/access_control_list`).
    let acl_changed = create
        || d.plan
            .changes
            .iter()
            .any(|c| c.path.starts_with("/access_control_list"));
    if let Some(acl) = d.acl.as_ref().filter(|_| acl_changed) {
        actions.push(Action::new(
            "set-permissions",
            ActionKind::SetPermissions(SetPermissions {
                job,
                acl: acl.clone(),
            }),
        ));
    }
    StepResult::running(actions, to_json(&State::Apply { created: create }), message)
}

/// A message for the first failed or timed-out action, if any.
fn first_failure(outcomes: &[Outcome]) -> Option<String> {
    outcomes.iter().find_map(|o| match &o.kind {
        OutcomeKind::Failed(f) => Some(format!("action `{}` failed: {} ({})", o.action_id, f.message, f.code)),
        OutcomeKind::TimedOut(_) => Some(format!(
            "action `{}` timed out: the live job still has active runs; raise `wait_timeout_seconds` or use `active_runs: cancel`",
            o.action_id
        )),
        OutcomeKind::Rejected(a) => Some(format!("action `{}` was rejected by {}", o.action_id, a.by)),
        _ => None,
    })
}

fn to_json(state: &State) -> String {
    serde_json::to_string(state).unwrap_or_else(|_| "{}".to_owned())
}

brickship_plugin_sdk::export_strategy!(Direct);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Strategy;
    use brickship_plugin_sdk::testing::{self, CUSTOMER_360_ACL};
    use brickship_plugin_sdk::types::{ActionFailure, Change, ChangeOp, Plan, RunResult, TimedOut};

    /// A live job whose settings and permissions both change.
    fn live(config: &str) -> Deployment {
        let mut d = testing::customer_360_prod();
        d.live = Some(d.desired.clone());
        d.live_job_id = Some(42);
        d.plan = Plan {
            action: PlanAction::Update,
            changes: vec![
                Change {
                    path: "tasks[ingest-bronze].timeout_seconds".into(),
                    op: ChangeOp::Replace,
                    before: Some("3600".into()),
                    after: Some("7200".into()),
                },
                Change {
                    path: "/access_control_list".into(),
                    op: ChangeOp::Replace,
                    before: None,
                    after: Some(r#"{"op":"grant"}"#.into()),
                },
            ],
        };
        d.config = config.to_owned();
        d
    }

    #[test]
    fn unchanged_permissions_are_not_set_again() {
        let mut d = live("{}");
        d.plan
            .changes
            .retain(|c| !c.path.starts_with("/access_control_list"));
        let r = Direct::step(d.clone(), None, vec![]).unwrap();
        let r = Direct::step(d, Some(r.state), vec![done("wait-active-runs")]).unwrap();
        assert_eq!(ids(&r), ["reset-job"]);
    }

    fn done(id: &str) -> Outcome {
        Outcome {
            action_id: id.to_owned(),
            kind: OutcomeKind::Done,
        }
    }

    fn ids(r: &StepResult) -> Vec<&str> {
        r.actions.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn creates_then_sets_permissions_then_succeeds() {
        let d = testing::customer_360_prod();
        let r = Direct::step(d.clone(), None, vec![]).unwrap();
        assert_eq!(ids(&r), ["create-job", "set-permissions"]);
        match &r.actions[1].kind {
            ActionKind::SetPermissions(s) => {
                assert_eq!(s.job, JobRef::Created("job".into()));
                assert_eq!(s.acl, CUSTOMER_360_ACL);
            }
            other => panic!("unexpected {other:?}"),
        }
        let outcomes = vec![
            Outcome {
                action_id: "create-job".into(),
                kind: OutcomeKind::JobCreated(77),
            },
            done("set-permissions"),
        ];
        let r = Direct::step(d, Some(r.state), outcomes).unwrap();
        assert_eq!(r.phase, brickship_plugin_sdk::types::Phase::Succeeded);
        assert_eq!(r.message, "created job 77");
    }

    #[test]
    fn unchanged_plan_makes_no_call() {
        let mut d = live("{}");
        d.plan.action = PlanAction::Unchanged;
        let r = Direct::step(d, None, vec![]).unwrap();
        assert!(r.actions.is_empty());
        assert_eq!(r.phase, brickship_plugin_sdk::types::Phase::Succeeded);
    }

    #[test]
    fn cancel_mode_cancels_waits_then_resets() {
        let d = live(r#"{"active_runs": "cancel", "wait_timeout_seconds": 60}"#);
        let r = Direct::step(d.clone(), None, vec![]).unwrap();
        assert_eq!(ids(&r), ["cancel-active-runs", "wait-active-runs"]);
        match &r.actions[1].kind {
            ActionKind::WaitActiveRuns(w) => assert_eq!(w.timeout_ms, 60_000),
            other => panic!("unexpected {other:?}"),
        }
        let r = Direct::step(
            d.clone(),
            Some(r.state),
            vec![done("cancel-active-runs"), done("wait-active-runs")],
        )
        .unwrap();
        assert_eq!(ids(&r), ["reset-job", "set-permissions"]);
        let r = Direct::step(d, Some(r.state), vec![done("reset-job"), done("set-permissions")]).unwrap();
        assert_eq!(r.message, "updated job 42");
    }

    #[test]
    fn fail_mode_refuses_active_runs() {
        let d = live(r#"{"active_runs": "fail"}"#);
        let r = Direct::step(d.clone(), None, vec![]).unwrap();
        assert_eq!(ids(&r), ["list-active-runs"]);
        let runs = vec![testing::run_summary(9, RunResult::Success, &["a"])];
        let out = Outcome {
            action_id: "list-active-runs".into(),
            kind: OutcomeKind::Runs(runs),
        };
        let r2 = Direct::step(d.clone(), Some(r.state.clone()), vec![out]).unwrap();
        assert_eq!(r2.phase, brickship_plugin_sdk::types::Phase::Failed);
        assert!(r2.message.contains("1 active run(s) (9)"), "{}", r2.message);
        let none = Outcome {
            action_id: "list-active-runs".into(),
            kind: OutcomeKind::Runs(vec![]),
        };
        let r3 = Direct::step(d, Some(r.state), vec![none]).unwrap();
        assert_eq!(ids(&r3), ["reset-job", "set-permissions"]);
    }

    #[test]
    fn timeouts_and_failures_fail_the_deployment() {
        let d = live("{}");
        let r = Direct::step(d.clone(), None, vec![]).unwrap();
        assert_eq!(ids(&r), ["wait-active-runs"]);
        let t = Outcome {
            action_id: "wait-active-runs".into(),
            kind: OutcomeKind::TimedOut(TimedOut { run: None }),
        };
        let r2 = Direct::step(d.clone(), Some(r.state.clone()), vec![t]).unwrap();
        assert_eq!(r2.phase, brickship_plugin_sdk::types::Phase::Failed);
        assert!(r2.message.contains("timed out"));
        let f = Outcome {
            action_id: "reset-job".into(),
            kind: OutcomeKind::Failed(ActionFailure {
                code: "INVALID_PARAMETER_VALUE".into(),
                message: "bad cluster".into(),
                retryable: false,
            }),
        };
        let r3 = Direct::step(
            d,
            Some(r#"{"stage":"apply","created":false}"#.into()),
            vec![
                f,
                Outcome {
                    action_id: "set-permissions".into(),
                    kind: OutcomeKind::Skipped,
                },
            ],
        )
        .unwrap();
        assert_eq!(r3.phase, brickship_plugin_sdk::types::Phase::Failed);
        assert!(r3.message.contains("bad cluster (INVALID_PARAMETER_VALUE)"));
    }

    #[test]
    fn validates_config() {
        assert!(Direct::validate_config("{}").is_ok());
        let p = Direct::validate_config(r#"{"active_runs": "kill"}"#).unwrap_err();
        assert_eq!(p[0].path, "/active_runs");
        let p = Direct::validate_config(r#"{"wait_timeout_seconds": 0}"#).unwrap_err();
        assert_eq!(p[0].path, "/wait_timeout_seconds");
        assert_eq!(
            Direct::step(live("{}"), Some("garbage".into()), vec![])
                .unwrap_err()
                .code,
            "bad-state"
        );
    }
}
