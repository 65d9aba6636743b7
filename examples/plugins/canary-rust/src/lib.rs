//! `scored-canary`: a custom canary strategy for brickship, built outside the host.
//!
//! Where the built-in `canary` widens step by step and compares each step's runs with the
//! live job's baseline rule by rule, this one makes **one** trial and decides with a
//! **weighted health score**, then promotes only inside **business hours**:
//!
//! 1. Plan `unchanged`: succeed, no call. Otherwise create a canary job — the new settings
//!    named `<name> [canary]`, schedule paused, notifications stripped, a
//!    `canary_fraction` parameter — and read the live job's recent runs as the baseline.
//! 2. Run the canary once (idempotent token) with `canary_fraction` = `fraction`, and wait.
//! 3. Score the run, 0–100:
//!    `100 × (w_success × success + w_duration × speed + w_retries × (1 − retried/tasks))`,
//!    where `success` is 1 for a successful run, `speed` is 1 when the run is no slower than
//!    the baseline's median and falls linearly to 0 at `max_slowdown` × the median (1 without
//!    a baseline). A failed run scores 0 whatever the weights. Below `min_score`: delete the
//!    canary and fail (the host restores the previous settings).
//! 4. Promote only when `now` is inside `business_hours` (weekdays and hours at a UTC offset):
//!    outside them the deployment **pauses** ("waiting for business hours"); `brickship
//!    resume` asks again later, `brickship promote` promotes now, `brickship abort` cleans up.
//!    Promotion resets the live job (or creates it), applies the ACL and deletes the canary.
//!
//! Configuration (every member optional):
//!
//! ```json
//! {"min_score": 80, "weights": {"success": 0.6, "duration": 0.3, "retries": 0.1},
//!  "max_slowdown": 1.5, "fraction": "0.1", "fraction_parameter": "canary_fraction",
//!  "run_timeout_minutes": 120, "baseline_runs": 10,
//!  "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 9, "end_hour": 17,
//!                     "utc_offset_minutes": 0}}
//! ```
//!
//! `"business_hours": null` promotes at any time.

use brickship_plugin_sdk::rollout::{self, Command};
use brickship_plugin_sdk::types::{
    Action, ActionKind, ConfigProblem, CreateJob, Deployment, JobRef, Outcome, OutcomeKind, Parameter,
    PlanAction, PluginError, PluginInfo, PluginKind, ResetJob, RunHistory, RunJob, RunRef, RunResult,
    RunSummary, SetPermissions, StepResult, WaitRun,
};
use brickship_plugin_sdk::{config, log};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Label of the canary job.
const CANARY: &str = "canary";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    min_score: f64,
    weights: Weights,
    max_slowdown: f64,
    fraction: String,
    fraction_parameter: String,
    run_timeout_minutes: u64,
    baseline_runs: u32,
    business_hours: Option<BusinessHours>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_score: 80.0,
            weights: Weights::default(),
            max_slowdown: 1.5,
            fraction: "0.1".into(),
            fraction_parameter: "canary_fraction".into(),
            run_timeout_minutes: 120,
            baseline_runs: 10,
            business_hours: Some(BusinessHours::default()),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Weights {
    success: f64,
    duration: f64,
    retries: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            success: 0.6,
            duration: 0.3,
            retries: 0.1,
        }
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BusinessHours {
    days: Vec<String>,
    start_hour: u32,
    end_hour: u32,
    utc_offset_minutes: i64,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            days: DAYS[..5].iter().map(|d| (*d).to_owned()).collect(),
            start_hour: 9,
            end_hour: 17,
            utc_offset_minutes: 0,
        }
    }
}

impl BusinessHours {
    /// Whether the instant `now_ms` (ms since the Unix epoch) is inside the window.
    fn contains(&self, now_ms: u64) -> bool {
        let local_minutes = (now_ms / 60_000) as i64 + self.utc_offset_minutes;
        let day_index = local_minutes.div_euclid(24 * 60);
        let minute_of_day = local_minutes.rem_euclid(24 * 60);
        // 1970-01-01 was a Thursday (index 3 in DAYS).
        let weekday = DAYS[(day_index + 3).rem_euclid(7) as usize];
        let hour = (minute_of_day / 60) as u32;
        self.days.iter().any(|d| d == weekday) && hour >= self.start_hour && hour < self.end_hour
    }
}

fn parse_config(text: &str) -> Result<(Config, rollout::HostInput), Vec<ConfigProblem>> {
    let (own, host) = rollout::split_config(text)?;
    let c: Config = config::parse(&own)?;
    let mut problems = Vec::new();
    if !(0.0..=100.0).contains(&c.min_score) {
        problems.push(config::problem("/min_score", "must be between 0 and 100"));
    }
    let w = c.weights;
    let sum = w.success + w.duration + w.retries;
    if [w.success, w.duration, w.retries].iter().any(|x| *x < 0.0) || (sum - 1.0).abs() > 1e-6 {
        problems.push(config::problem(
            "/weights",
            format!("weights must be non-negative and add up to 1 (they add up to {sum})"),
        ));
    }
    if c.max_slowdown <= 1.0 {
        problems.push(config::problem(
            "/max_slowdown",
            "must be more than 1 (1.5 = 50% slower scores 0)",
        ));
    }
    if c.fraction_parameter.is_empty() {
        problems.push(config::problem("/fraction_parameter", "must not be empty"));
    }
    if !(1..=100).contains(&c.baseline_runs) {
        problems.push(config::problem("/baseline_runs", "must be 1 to 100"));
    }
    if c.run_timeout_minutes == 0 {
        problems.push(config::problem("/run_timeout_minutes", "must be at least 1"));
    }
    if let Some(h) = &c.business_hours {
        for (i, d) in h.days.iter().enumerate() {
            if !DAYS.contains(&d.as_str()) {
                problems.push(config::problem(
                    format!("/business_hours/days/{i}"),
                    format!("`{d}` is not a day; use mon, tue, wed, thu, fri, sat, sun"),
                ));
            }
        }
        if h.start_hour >= h.end_hour || h.end_hour > 24 {
            problems.push(config::problem(
                "/business_hours",
                "`start_hour` must be before `end_hour`, both within 0..=24",
            ));
        }
    }
    if problems.is_empty() {
        Ok((c, host))
    } else {
        Err(problems)
    }
}

/// Where the rollout stands (journaled by the host between steps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "stage", rename_all = "kebab-case")]
enum State {
    /// The canary is being created and the baseline read.
    Creating,
    /// The canary run was started and waited for.
    Running {
        /// Median duration of the live job's recent successful runs (ms), if any.
        baseline_ms: Option<u64>,
    },
    /// The canary scored well; waiting for business hours (or promoting).
    Approved {
        score: f64,
        /// `at-ms` of the last human command acted on.
        control_seen: Option<u64>,
    },
    /// Promotion actions were asked for.
    Promoting { score: f64 },
    /// Cleanup after a low score or an abort was asked for.
    CleaningUp { reason: String },
}

fn state_text(s: &State) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The score of `run` against `baseline_ms`, 0–100, and how it was made.
fn score(run: &RunSummary, baseline_ms: Option<u64>, c: &Config) -> (f64, String) {
    if run.result_state != Some(RunResult::Success) {
        return (0.0, format!("the canary run {} did not succeed", run.run_id));
    }
    let speed = match baseline_ms {
        Some(b) if b > 0 => {
            let ratio = run.duration_ms as f64 / b as f64;
            ((c.max_slowdown - ratio) / (c.max_slowdown - 1.0)).clamp(0.0, 1.0)
        }
        _ => 1.0,
    };
    let tasks = run.tasks.len().max(1) as f64;
    let steadiness = 1.0 - (run.retried_tasks as f64 / tasks).min(1.0);
    let w = c.weights;
    let score = 100.0 * (w.success + w.duration * speed + w.retries * steadiness);
    let basis = match baseline_ms {
        Some(b) => format!(
            "ran {} ms against a baseline median of {b} ms (speed {speed:.2}), {} of {} tasks retried",
            run.duration_ms,
            run.retried_tasks,
            run.tasks.len()
        ),
        None => format!(
            "ran {} ms with no baseline, {} tasks retried",
            run.duration_ms, run.retried_tasks
        ),
    };
    ((score * 10.0).round() / 10.0, basis)
}

/// Median duration of the successful runs in `runs`.
fn baseline(runs: &[RunSummary]) -> Option<u64> {
    let mut d: Vec<u64> = runs
        .iter()
        .filter(|r| r.result_state == Some(RunResult::Success))
        .map(|r| r.duration_ms)
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    Some(d[d.len() / 2])
}

fn canary_settings(d: &Deployment, c: &Config) -> Result<String, PluginError> {
    let mut s: Value = serde_json::from_str(&d.desired)
        .map_err(|e| PluginError::new("bad-settings", format!("the desired settings are not JSON: {e}")))?;
    let name = s
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&d.pipeline)
        .to_owned();
    s["name"] = Value::String(format!("{name} [canary]"));
    rollout::set_pause(&mut s, true);
    rollout::strip_notifications(&mut s);
    rollout::set_parameter_default(&mut s, &c.fraction_parameter, "1.0");
    Ok(s.to_string())
}

fn promote(d: &Deployment, score: f64) -> StepResult {
    let (apply, job) = match d.live_job_id {
        Some(_) => (
            ActionKind::ResetJob(ResetJob {
                job: JobRef::Live,
                settings: d.desired.clone(),
            }),
            JobRef::Live,
        ),
        None => (
            ActionKind::CreateJob(CreateJob {
                label: "live".into(),
                settings: d.desired.clone(),
            }),
            JobRef::Created("live".into()),
        ),
    };
    let mut actions = vec![Action::new("promote", apply)];
    if let Some(acl) = &d.acl {
        actions.push(Action::new(
            "promote-permissions",
            ActionKind::SetPermissions(SetPermissions {
                job,
                acl: acl.clone(),
            }),
        ));
    }
    actions.push(Action::new(
        "delete-canary",
        ActionKind::DeleteJob(JobRef::Created(CANARY.into())),
    ));
    StepResult::running(
        actions,
        state_text(&State::Promoting { score }),
        format!("canary scored {score}: promoting"),
    )
}

fn clean_up(reason: String) -> StepResult {
    StepResult::running(
        vec![Action::new(
            "delete-canary",
            ActionKind::DeleteJob(JobRef::Created(CANARY.into())),
        )],
        state_text(&State::CleaningUp {
            reason: reason.clone(),
        }),
        format!("{reason}; deleting the canary"),
    )
}

struct ScoredCanary;

impl brickship_plugin_sdk::Strategy for ScoredCanary {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "scored-canary",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Strategy,
            "One canary run scored by a weighted health score (success, speed against the live job's median, retries); promotes only in business hours, pauses outside them.",
        );
        info.config_example = Some(
            r#"{"min_score": 80, "weights": {"success": 0.6, "duration": 0.3, "retries": 0.1}, "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 9, "end_hour": 17}}"#
                .to_owned(),
        );
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn step(d: Deployment, state: Option<String>, outcomes: Vec<Outcome>) -> Result<StepResult, PluginError> {
        let (c, host) = parse_config(&d.config).map_err(config::refused)?;
        let state: Option<State> = state.as_deref().map(rollout::read_state).transpose()?;
        match state {
            None if d.plan.action == PlanAction::Unchanged => Ok(StepResult::succeeded(
                "{}",
                "the live job already has these settings",
            )),
            None => {
                let mut actions = vec![Action::new(
                    "create-canary",
                    ActionKind::CreateJob(CreateJob {
                        label: CANARY.into(),
                        settings: canary_settings(&d, &c)?,
                    }),
                )];
                if d.live_job_id.is_some() {
                    actions.push(Action::new(
                        "baseline",
                        ActionKind::RunHistory(RunHistory {
                            job: JobRef::Live,
                            limit: c.baseline_runs,
                            since_ms: None,
                        }),
                    ));
                }
                Ok(StepResult::running(
                    actions,
                    state_text(&State::Creating),
                    "creating the canary job",
                ))
            }
            Some(State::Creating) => {
                if let Some((id, what)) = rollout::first_problem(&outcomes) {
                    return Ok(StepResult::failed("{}", format!("`{id}` {what}")));
                }
                let baseline_ms = match rollout::outcome(&outcomes, "baseline") {
                    Some(OutcomeKind::Runs(runs)) => baseline(runs),
                    _ => None,
                };
                let actions = vec![
                    Action::new(
                        "run-canary",
                        ActionKind::RunJob(RunJob {
                            job: JobRef::Created(CANARY.into()),
                            parameters: vec![Parameter {
                                name: c.fraction_parameter.clone(),
                                value: c.fraction.clone(),
                            }],
                            idempotency_token: rollout::idempotency_token(&d.id, "canary-1"),
                        }),
                    ),
                    Action::new(
                        "wait-canary",
                        ActionKind::WaitRun(WaitRun {
                            run: RunRef::StartedBy("run-canary".into()),
                            timeout_ms: c.run_timeout_minutes * 60_000,
                        }),
                    ),
                ];
                Ok(StepResult::running(
                    actions,
                    state_text(&State::Running { baseline_ms }),
                    format!("running the canary on {} of the work", c.fraction),
                ))
            }
            Some(State::Running { baseline_ms }) => {
                let run = match rollout::outcome(&outcomes, "wait-canary") {
                    Some(OutcomeKind::RunFinished(run)) => run,
                    _ => {
                        let why = rollout::first_problem(&outcomes)
                            .map(|(id, what)| format!("`{id}` {what}"))
                            .unwrap_or_else(|| "the canary run did not finish".into());
                        return Ok(clean_up(why));
                    }
                };
                let (score, basis) = score(run, baseline_ms, &c);
                log::info(&format!(
                    "canary score {score} (minimum {}): {basis}",
                    c.min_score
                ));
                if score < c.min_score {
                    return Ok(clean_up(format!(
                        "canary scored {score}, below {}: {basis}",
                        c.min_score
                    )));
                }
                decide(&d, &c, score, None, &host)
            }
            Some(State::Approved { score, control_seen }) => decide(&d, &c, score, control_seen, &host),
            Some(State::Promoting { score }) => match rollout::first_problem(&outcomes) {
                Some((id, what)) => Ok(StepResult::failed("{}", format!("promotion: `{id}` {what}"))),
                None => Ok(StepResult::succeeded(
                    "{}",
                    format!("promoted; the canary scored {score}"),
                )),
            },
            Some(State::CleaningUp { reason }) => Ok(StepResult::failed("{}", reason)),
        }
    }
}

/// Promote now, or pause until business hours; a human's `promote` overrides the window and
/// `abort` cleans up.
fn decide(
    d: &Deployment,
    c: &Config,
    score: f64,
    control_seen: Option<u64>,
    host: &rollout::HostInput,
) -> Result<StepResult, PluginError> {
    if let Some(control) = host.fresh_control(control_seen) {
        match control.command {
            Command::Abort => return Ok(clean_up(format!("aborted by {}", control.who()))),
            Command::Promote | Command::PromoteFull | Command::Approve => return Ok(promote(d, score)),
            Command::Resume => {}
        }
    }
    let inside = c.business_hours.as_ref().is_none_or(|h| h.contains(d.now_ms));
    if inside {
        return Ok(promote(d, score));
    }
    let seen = host.control.as_ref().map(|c| c.at_ms).or(control_seen);
    Ok(StepResult {
        actions: Vec::new(),
        state: state_text(&State::Approved {
            score,
            control_seen: seen,
        }),
        phase: brickship_plugin_sdk::types::Phase::Paused,
        message: format!(
            "canary scored {score}; waiting for business hours to promote (now {}); `brickship promote` promotes now",
            rollout::instant(d.now_ms)
        ),
    })
}

brickship_plugin_sdk::export_strategy!(ScoredCanary);

#[cfg(test)]
mod tests {
    use brickship_plugin_sdk::Strategy as _;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::{Phase, TaskSummary};

    use super::*;

    /// Monday 2026-01-05 12:00 UTC and Saturday 2026-01-10 12:00 UTC.
    const MONDAY_NOON: u64 = testing::MONDAY_NOON_MS;
    const SATURDAY_NOON: u64 = MONDAY_NOON + 5 * 86_400_000;

    fn run(result: RunResult, duration_ms: u64, retried: u32) -> RunSummary {
        let mut r = testing::run_summary(7, result, &["a", "b", "c", "d"]);
        r.duration_ms = duration_ms;
        r.retried_tasks = retried;
        r.tasks = (0..4)
            .map(|i| TaskSummary {
                task_key: format!("t{i}"),
                run_id: 70 + i,
                result_state: Some(result),
                start_ms: 0,
                duration_ms,
                attempts: 1,
            })
            .collect();
        r
    }

    #[test]
    fn business_hours_follow_days_hours_and_offset() {
        let h = BusinessHours::default();
        assert!(h.contains(MONDAY_NOON));
        assert!(!h.contains(SATURDAY_NOON));
        assert!(!h.contains(MONDAY_NOON + 6 * 3_600_000), "18:00");
        let tokyo = BusinessHours {
            utc_offset_minutes: 9 * 60,
            ..BusinessHours::default()
        };
        assert!(!tokyo.contains(MONDAY_NOON), "21:00 in Tokyo");
        assert!(tokyo.contains(MONDAY_NOON - 6 * 3_600_000), "15:00 in Tokyo");
    }

    #[test]
    fn the_score_weighs_success_speed_and_retries() {
        let c = Config::default();
        assert_eq!(score(&run(RunResult::Success, 1000, 0), Some(1000), &c).0, 100.0);
        assert_eq!(
            score(&run(RunResult::Success, 1250, 0), Some(1000), &c).0,
            85.0,
            "half speed credit"
        );
        assert_eq!(
            score(&run(RunResult::Success, 2000, 0), Some(1000), &c).0,
            70.0,
            "too slow: no speed credit"
        );
        assert_eq!(
            score(&run(RunResult::Success, 1000, 2), Some(1000), &c).0,
            95.0,
            "half the tasks retried"
        );
        assert_eq!(score(&run(RunResult::Failed, 10, 0), Some(1000), &c).0, 0.0);
        assert_eq!(
            score(&run(RunResult::Success, 5000, 0), None, &c).0,
            100.0,
            "no baseline"
        );
        assert_eq!(
            baseline(&[
                run(RunResult::Success, 3, 0),
                run(RunResult::Failed, 1, 0),
                run(RunResult::Success, 5, 0),
                run(RunResult::Success, 4, 0)
            ]),
            Some(4)
        );
    }

    #[test]
    fn config_is_checked() {
        assert!(ScoredCanary::validate_config("{}").is_ok());
        assert!(
            ScoredCanary::validate_config(
                r#"{"business_hours": null, "control": {"command": "resume", "at-ms": 1}}"#
            )
            .is_ok()
        );
        let p = ScoredCanary::validate_config(
            r#"{"weights": {"success": 0.9}, "business_hours": {"days": ["someday"]}}"#,
        )
        .unwrap_err();
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/weights", "/business_hours/days/0"]);
    }

    fn outcome(id: &str, kind: OutcomeKind) -> Outcome {
        Outcome {
            action_id: id.into(),
            kind,
        }
    }

    /// Drives the strategy: create, run, score; returns the step after scoring.
    fn after_scoring(now_ms: u64, canary: RunSummary) -> (Deployment, StepResult) {
        let mut d = testing::customer_360_prod();
        d.live_job_id = Some(1);
        d.plan.action = PlanAction::Update;
        d.now_ms = now_ms;
        let s1 = ScoredCanary::step(d.clone(), None, vec![]).unwrap();
        assert_eq!(
            s1.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["create-canary", "baseline"]
        );
        let ActionKind::CreateJob(create) = &s1.actions[0].kind else {
            panic!()
        };
        let settings: Value = serde_json::from_str(&create.settings).unwrap();
        assert!(settings["name"].as_str().unwrap().ends_with(" [canary]"));
        assert_eq!(settings["schedule"]["pause_status"], "PAUSED");
        let s2 = ScoredCanary::step(
            d.clone(),
            Some(s1.state),
            vec![
                outcome("create-canary", OutcomeKind::JobCreated(9)),
                outcome(
                    "baseline",
                    OutcomeKind::Runs(vec![run(RunResult::Success, 1000, 0)]),
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            s2.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["run-canary", "wait-canary"]
        );
        let s3 = ScoredCanary::step(
            d.clone(),
            Some(s2.state),
            vec![
                outcome("run-canary", OutcomeKind::RunStarted(7)),
                outcome("wait-canary", OutcomeKind::RunFinished(canary)),
            ],
        )
        .unwrap();
        (d, s3)
    }

    #[test]
    fn a_healthy_canary_is_promoted_in_business_hours() {
        let (d, s3) = after_scoring(MONDAY_NOON, run(RunResult::Success, 1100, 0));
        assert_eq!(s3.phase, Phase::Running);
        let ids: Vec<_> = s3.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["promote", "promote-permissions", "delete-canary"]);
        let done = ScoredCanary::step(d, Some(s3.state), vec![]).unwrap();
        assert_eq!(done.phase, Phase::Succeeded);
    }

    #[test]
    fn outside_business_hours_it_pauses_until_resumed_in_hours_or_promoted() {
        let (mut d, s3) = after_scoring(SATURDAY_NOON, run(RunResult::Success, 1000, 0));
        assert_eq!(s3.phase, Phase::Paused);
        assert!(
            s3.message.contains("waiting for business hours"),
            "{}",
            s3.message
        );
        // Resumed still on Saturday: paused again.
        let again = ScoredCanary::step(d.clone(), Some(s3.state.clone()), vec![]).unwrap();
        assert_eq!(again.phase, Phase::Paused);
        // A human promotes.
        d.config = r#"{"control": {"command": "promote", "by": "alice", "at-ms": 1}}"#.into();
        let promoted = ScoredCanary::step(d.clone(), Some(s3.state.clone()), vec![]).unwrap();
        assert_eq!(promoted.actions[0].id, "promote");
        // Or Monday comes.
        d.config = "{}".into();
        d.now_ms = MONDAY_NOON + 7 * 86_400_000;
        let monday = ScoredCanary::step(d, Some(s3.state), vec![]).unwrap();
        assert_eq!(monday.actions[0].id, "promote");
    }

    #[test]
    fn a_low_score_deletes_the_canary_and_fails() {
        let (d, s3) = after_scoring(MONDAY_NOON, run(RunResult::Success, 2000, 4));
        assert_eq!(
            s3.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["delete-canary"]
        );
        assert!(s3.message.contains("below 80"), "{}", s3.message);
        let failed = ScoredCanary::step(
            d,
            Some(s3.state),
            vec![outcome("delete-canary", OutcomeKind::Done)],
        )
        .unwrap();
        assert_eq!(failed.phase, Phase::Failed);
    }
}
