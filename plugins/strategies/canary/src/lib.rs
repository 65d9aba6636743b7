//! The `canary` strategy: run the new version on a growing share of the work, judge each step
//! against the live job's recent runs, and promote it only when every step passes.
//!
//! # Concepts
//!
//! A batch job has no traffic, so "percentage" means **share of the work**. A **canary job**
//! (`<name>-canary`) is created from the desired settings; each run of it gets a job parameter
//! (`fraction_parameter`, default `brickship_canary_fraction`) holding its share as a decimal
//! fraction (`0.1` at 10 %), plus `parameter_overrides` (e.g. a canary target schema). The
//! pipeline reads the fraction and processes that share of its input. Its schedule is paused,
//! so it only runs when the strategy starts it — unless `scheduled_share` is set: then the
//! canary keeps the desired schedule and gets the share (and the overrides) as parameter
//! defaults, so its scheduled runs process that share **in addition to** the live job's runs
//! (the live job keeps processing everything; the overrides must point the canary's output
//! elsewhere). Notifications are removed from the canary unless `canary_notifications`.
//!
//! Steps (`steps`, default 10, 25, 50, 100; `first_step` — the CLI's `--canary-percentage` —
//! replaces the ones below it) each run the canary `runs_per_step` times and end with an
//! **analysis** ([`brickship_plugin_sdk::analysis`]) of its runs against the **baseline**: the
//! live job's last `baseline_runs` finished runs, read once and kept in the state. The
//! analysis checks failed runs, failed and retried tasks, duration against the baseline p90
//! with `duration_tolerance`, and `metrics` read from the tasks' run output
//! (`dbutils.notebook.exit` JSON); the environment's pre-promote gates are asked too
//! (`gates`). The verdict:
//!
//! - **pass**: the next step;
//! - **fail**: the canary is deleted and the deployment fails; the live job was never touched
//!   (the host's rollback then only sends the rollback notification);
//! - **inconclusive** (missing metric, too small a baseline, a run skipped for concurrency,
//!   gates that cannot judge): the rollout pauses for a human.
//!
//! At 100 % the live job takes the desired settings (`reset-job`) and the canary is deleted;
//! with no live job the canary itself is reset to the desired settings (name and schedule) and
//! becomes the job. A **post-promotion check** then runs the live job once, in full, and
//! analyses it against the baseline; its failure fails the deployment and the host rolls the
//! live job back from its snapshot.
//!
//! # Actions
//!
//! `<dep>` is the deployment id; `<p>` is `s<k>` for step k (1-based), or `s<k>a<a>` when a
//! step is run again (`brickship resume`) for the a-th time.
//!
//! 1. `baseline-history` (`run-history(live, baseline_runs)`, when there is a live job) and
//!    `create-canary` (`create-job`, label `canary`).
//! 2. `baseline-output-<run id>` (`run-output(id)`) per baseline run, when `metrics` are set.
//! 3. Per step below 100 %: for n in 1..=`runs_per_step`: `<p>-run-<n>` (`run-job(created(canary))`
//!    with the fraction and overrides, idempotency token `<dep>-s<k>-r<n>`, or
//!    `<dep>-s<k>-r<n>-a<a>` for a re-run), `<p>-wait-<n>` (`wait-run`, `run_timeout_seconds`),
//!    `<p>-output-<n>` (`run-output`); then `<p>-gate` (`gate-check` at `pre-promote` over the
//!    step's runs) unless `gates: false`.
//! 4. `approve-promotion` (`request-approval`) when `require_approval_before_promotion`.
//! 5. Promotion: `reset-live` (desired settings), `live-permissions` (when an ACL is set),
//!    `cancel-canary-runs`, `delete-canary`; with no live job `promote-canary`
//!    (`reset-job(created(canary))` with the desired settings) and `canary-permissions`.
//! 6. Post-promotion check (unless `post_promotion_check: false`): `post-run` (token
//!    `<dep>-post`), `post-wait`, `post-output` (`post-a<a>-…` and `<dep>-post-a<a>` again).
//!
//! A failure before the promotion runs `cleanup-cancel-canary` and `cleanup-delete-canary`,
//! then fails. Steps and messages say where the rollout is and why, e.g.
//! `step 2/4 (25%): pass — 1/1 run succeeded, 0 failed tasks, 0 retried tasks (1 allowed),
//! duration 52s vs p90 1m (+50% allowed), rows 250 vs baseline 250 (+0%)`.
//!
//! # Humans (`control` in the config)
//!
//! Paused on an inconclusive step: `promote` treats it as passed (next step), `promote-full`
//! skips to the promotion (a configured approval is still asked for), `resume` runs the step
//! again with new runs, `abort` deletes the canary and fails. Paused on an inconclusive
//! post-promotion check: `promote` accepts the deployment, `resume` runs the check again,
//! `abort` fails it (the host rolls back). Waiting for an approval the host could not get:
//! `approve` goes on, `resume` asks again. `abort` works at any point before success.
//!
//! # State
//!
//! JSON: the stage, the effective `steps`, the canary and live job ids, the `baseline`
//! (observations: run id, result, duration, failed/retried tasks, metrics), one entry per
//! finished step in `results` (`step`, `weight`, `attempt`, `status`, `summary`, `run_ids`,
//! `promoted_by`), the post-promotion check's entry in `post`, `approved_by`, and
//! `control_seen_ms`. The baseline is kept in the state, so resumed steps compare with the
//! same runs.

use brickship_plugin_sdk::analysis::{self, Analysis, MetricRule, Observation, Status, Thresholds};
use brickship_plugin_sdk::rollout::{self, Command, Control, HostInput};
use brickship_plugin_sdk::types::{
    Action, ActionKind, ConfigProblem, CreateJob, Deployment, GateCheck, GatePoint, JobRef, Outcome,
    OutcomeKind, Parameter, Phase, PlanAction, PluginError, PluginInfo, PluginKind, ResetJob, RunHistory,
    RunJob, RunRef, RunSummary, SetPermissions, StepResult, TaskOutput, WaitRun,
};
use brickship_plugin_sdk::{config, log};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Label of the canary's `create-job`.
const CANARY: &str = "canary";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_steps")]
    steps: Vec<u32>,
    #[serde(default)]
    first_step: Option<u32>,
    #[serde(default = "default_fraction_parameter")]
    fraction_parameter: String,
    #[serde(default)]
    parameter_overrides: Map<String, Value>,
    #[serde(default = "one")]
    runs_per_step: u32,
    #[serde(default = "hour")]
    run_timeout_seconds: u64,
    #[serde(default)]
    scheduled_share: Option<f64>,
    #[serde(default = "five")]
    baseline_runs: u32,
    #[serde(default)]
    max_failed_runs: u32,
    #[serde(default)]
    max_failed_tasks: u32,
    #[serde(default = "one")]
    max_retried_tasks: u32,
    #[serde(default = "half")]
    duration_tolerance: f64,
    #[serde(default)]
    metrics: Vec<MetricRule>,
    #[serde(default = "three")]
    min_baseline_runs: u32,
    #[serde(default)]
    allow_empty_baseline: bool,
    #[serde(default = "yes")]
    gates: bool,
    #[serde(default)]
    require_approval_before_promotion: bool,
    #[serde(default = "yes")]
    post_promotion_check: bool,
    #[serde(default)]
    canary_notifications: bool,
}

fn default_steps() -> Vec<u32> {
    vec![10, 25, 50, 100]
}
fn default_fraction_parameter() -> String {
    "brickship_canary_fraction".to_owned()
}
fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn five() -> u32 {
    5
}
fn hour() -> u64 {
    3600
}
fn half() -> f64 {
    0.5
}
fn yes() -> bool {
    true
}

const MAX_RUNS_PER_STEP: u32 = 10;

impl Config {
    /// `steps` with `first_step` in front of the larger ones.
    fn effective_steps(&self) -> Vec<u32> {
        match self.first_step {
            Some(first) => std::iter::once(first)
                .chain(self.steps.iter().copied().filter(|s| *s > first))
                .collect(),
            None => self.steps.clone(),
        }
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            max_failed_runs: self.max_failed_runs,
            max_failed_tasks: self.max_failed_tasks,
            max_retried_tasks: self.max_retried_tasks,
            duration_tolerance: self.duration_tolerance,
            metrics: self.metrics.clone(),
            min_baseline_runs: self.min_baseline_runs,
            allow_empty_baseline: self.allow_empty_baseline,
        }
    }

    fn overrides(&self) -> Vec<Parameter> {
        self.parameter_overrides
            .iter()
            .map(|(name, value)| Parameter {
                name: name.clone(),
                value: scalar(value),
            })
            .collect()
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_config(text: &str) -> Result<(Config, HostInput), Vec<ConfigProblem>> {
    let (own, host) = rollout::split_config(text)?;
    let c: Config = config::parse(&own)?;
    let mut problems = Vec::new();
    if c.steps.is_empty() {
        problems.push(config::problem(
            "/steps",
            "needs at least one step, ending with 100",
        ));
    } else {
        if c.steps.iter().any(|s| !(1..=100).contains(s)) {
            problems.push(config::problem(
                "/steps",
                "every step is a percentage from 1 to 100",
            ));
        }
        if c.steps.windows(2).any(|w| w[0] >= w[1]) {
            problems.push(config::problem(
                "/steps",
                "steps must grow, e.g. [10, 25, 50, 100]",
            ));
        }
        if c.steps.last() != Some(&100) {
            problems.push(config::problem(
                "/steps",
                "the last step must be 100 (the promotion of the new version)",
            ));
        }
    }
    if let Some(first) = c.first_step
        && !(1..=100).contains(&first)
    {
        problems.push(config::problem(
            "/first_step",
            "must be a percentage from 1 to 100",
        ));
    }
    if c.fraction_parameter.trim().is_empty() {
        problems.push(config::problem(
            "/fraction_parameter",
            "must name the job parameter that carries each run's share",
        ));
    }
    for (name, value) in &c.parameter_overrides {
        if value.is_object() || value.is_array() || value.is_null() {
            problems.push(config::problem(
                format!("/parameter_overrides/{}", config::escape(name)),
                "must be a string, number or boolean (job parameters are text)",
            ));
        }
    }
    if !(1..=MAX_RUNS_PER_STEP).contains(&c.runs_per_step) {
        problems.push(config::problem(
            "/runs_per_step",
            format!("must be 1 to {MAX_RUNS_PER_STEP}"),
        ));
    }
    if c.run_timeout_seconds == 0 {
        problems.push(config::problem(
            "/run_timeout_seconds",
            "must be at least 1 second",
        ));
    }
    if let Some(share) = c.scheduled_share
        && !(share > 0.0 && share <= 1.0)
    {
        problems.push(config::problem(
            "/scheduled_share",
            "must be a fraction above 0 and at most 1 (0.1 = 10% of the work)",
        ));
    }
    if !(1..=100).contains(&c.baseline_runs) {
        problems.push(config::problem("/baseline_runs", "must be 1 to 100"));
    }
    problems.extend(c.thresholds().problems(""));
    if problems.is_empty() {
        Ok((c, host))
    } else {
        Err(problems)
    }
}

/// One judged step (or the post-promotion check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StepOutcome {
    step: usize,
    weight: u32,
    attempt: u32,
    status: Status,
    summary: String,
    run_ids: Vec<i64>,
    #[serde(default)]
    promoted_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
enum Stage {
    /// `baseline-history`, `create-canary`.
    Prepare,
    /// `baseline-output-<run id>`.
    BaselineOutputs,
    /// The runs (and gate check) of step `step` (1-based), attempt `attempt`.
    Runs {
        step: usize,
        attempt: u32,
    },
    /// Step `step` was inconclusive; waiting for a human.
    Paused {
        step: usize,
        attempt: u32,
        summary: String,
    },
    /// `approve-promotion[-<attempt>]`.
    Approval {
        attempt: u32,
    },
    /// The approval came back without an answer; waiting for `brickship approve`.
    AwaitApproval {
        attempt: u32,
    },
    /// `reset-live`, … or `promote-canary`, ….
    Promote,
    /// `post[-a<attempt>]-run`, `-wait`, `-output`.
    PostCheck {
        attempt: u32,
    },
    /// The post-promotion check was inconclusive; waiting for a human.
    PostPaused {
        attempt: u32,
        summary: String,
    },
    /// `cleanup-*`, then fail with `reason`.
    Cleanup {
        reason: String,
    },
    Done,
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    stage: Stage,
    name: String,
    steps: Vec<u32>,
    #[serde(default)]
    live_job_id: Option<i64>,
    #[serde(default)]
    canary_job_id: Option<i64>,
    #[serde(default)]
    canary_deleted: bool,
    /// The live job (or, with none, the canary) has the desired settings.
    #[serde(default)]
    live_reset: bool,
    #[serde(default)]
    baseline: Vec<Observation>,
    #[serde(default)]
    results: Vec<StepOutcome>,
    #[serde(default)]
    post: Option<StepOutcome>,
    #[serde(default)]
    approved_by: Option<String>,
    #[serde(default)]
    promoted_at_ms: Option<u64>,
    #[serde(default)]
    control_seen_ms: Option<u64>,
}

impl State {
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
    fn with(mut self, stage: Stage) -> Self {
        self.stage = stage;
        self
    }
    fn steps_total(&self) -> usize {
        self.steps.len()
    }
    fn weight(&self, step: usize) -> u32 {
        self.steps.get(step.saturating_sub(1)).copied().unwrap_or(100)
    }
    /// `step 2/4 (25%)`.
    fn label(&self, step: usize) -> String {
        format!("step {step}/{} ({}%)", self.steps_total(), self.weight(step))
    }
    fn canary(&self) -> i64 {
        self.canary_job_id.unwrap_or_default()
    }
}

struct Canary;

impl brickship_plugin_sdk::Strategy for Canary {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "canary",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Strategy,
            "Run the new version as a canary job on a growing share of the work (a job parameter gives each \
             run its fraction), analyse each step against the live job's recent runs (result, duration, task \
             failures and retries, metrics from the run output, pre-promote gates): pass goes on, fail deletes \
             the canary, inconclusive pauses for a human. At 100% the live job takes the new settings and a \
             post-promotion run is checked.",
        );
        info.config_schema = Some(
            serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "steps": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 100},
                        "default": [10, 25, 50, 100], "description": "growing percentages of the work, ending with 100"},
                    "first_step": {"type": "integer", "minimum": 1, "maximum": 100,
                        "description": "replaces the steps below it (--canary-percentage)"},
                    "fraction_parameter": {"type": "string", "default": "brickship_canary_fraction"},
                    "parameter_overrides": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                    "runs_per_step": {"type": "integer", "minimum": 1, "maximum": MAX_RUNS_PER_STEP, "default": 1},
                    "run_timeout_seconds": {"type": "integer", "minimum": 1, "default": 3600},
                    "scheduled_share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                        "description": "the canary keeps the schedule and processes this share on its scheduled runs"},
                    "baseline_runs": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5},
                    "max_failed_runs": {"type": "integer", "minimum": 0, "default": 0},
                    "max_failed_tasks": {"type": "integer", "minimum": 0, "default": 0},
                    "max_retried_tasks": {"type": "integer", "minimum": 0, "default": 1},
                    "duration_tolerance": {"type": "number", "minimum": 0, "default": 0.5},
                    "metrics": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                        "required": ["name"], "properties": {
                            "name": {"type": "string"}, "max": {"type": "number"}, "min": {"type": "number"},
                            "max_increase": {"type": "number", "minimum": 0}, "max_decrease": {"type": "number", "minimum": 0},
                            "scales_with_fraction": {"type": "boolean", "default": false}}}},
                    "min_baseline_runs": {"type": "integer", "minimum": 0, "default": 3},
                    "allow_empty_baseline": {"type": "boolean", "default": false},
                    "gates": {"type": "boolean", "default": true},
                    "require_approval_before_promotion": {"type": "boolean", "default": false},
                    "post_promotion_check": {"type": "boolean", "default": true},
                    "canary_notifications": {"type": "boolean", "default": false}
                }
            })
            .to_string(),
        );
        info.config_example = Some(
            r#"{"steps": [10, 50, 100], "parameter_overrides": {"target_schema": "canary"}, "runs_per_step": 1, "metrics": [{"name": "rows", "max_decrease": 0.1, "scales_with_fraction": true}, {"name": "null_rate", "max": 0.02}], "duration_tolerance": 0.5}"#
                .to_owned(),
        );
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn step(d: Deployment, state: Option<String>, outcomes: Vec<Outcome>) -> Result<StepResult, PluginError> {
        let (config, host) = parse_config(&d.config).map_err(config::refused)?;
        let Some(text) = state else {
            return first_step(&d, &config, &host);
        };
        let mut s: State = rollout::read_state(&text)?;
        record(&mut s, &outcomes);
        if let Some(control) = host.take_control(&mut s.control_seen_ms)
            && let Some(result) = on_control(&d, &config, &s, &control, &outcomes)
        {
            return Ok(result);
        }
        advance(&d, &config, s, &outcomes)
    }
}

fn first_step(d: &Deployment, config: &Config, host: &HostInput) -> Result<StepResult, PluginError> {
    let mut settings: Value = serde_json::from_str(&d.desired)
        .map_err(|e| PluginError::new("bad-settings", format!("the desired settings are not JSON: {e}")))?;
    let name = settings
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PluginError::new("bad-settings", "the desired settings have no `name`"))?
        .to_owned();
    let steps = config.effective_steps();
    let s = State {
        stage: Stage::Prepare,
        name: name.clone(),
        steps: steps.clone(),
        live_job_id: d.live_job_id,
        canary_job_id: None,
        canary_deleted: false,
        live_reset: false,
        baseline: Vec::new(),
        results: Vec::new(),
        post: None,
        approved_by: None,
        promoted_at_ms: None,
        control_seen_ms: host.control.as_ref().map(|c| c.at_ms),
    };
    if d.plan.action == PlanAction::Unchanged {
        return Ok(StepResult::succeeded(
            s.with(Stage::Done).to_json(),
            "the live job already matches; nothing to do",
        ));
    }

    // The canary: the desired settings under another name, paused unless it takes a share of
    // the scheduled runs, with its share and overrides as parameter defaults.
    if let Value::Object(m) = &mut settings {
        m.insert("name".to_owned(), Value::String(format!("{name}-canary")));
    }
    let default_share = match config.scheduled_share {
        Some(share) => share_text(share),
        None => rollout::fraction_text(steps.first().copied().unwrap_or(100)),
    };
    if config.scheduled_share.is_none() {
        rollout::set_pause(&mut settings, true);
    }
    rollout::set_parameter_default(&mut settings, &config.fraction_parameter, &default_share);
    for p in config.overrides() {
        rollout::set_parameter_default(&mut settings, &p.name, &p.value);
    }
    if !config.canary_notifications {
        rollout::strip_notifications(&mut settings);
    }

    let mut actions = Vec::new();
    if d.live_job_id.is_some() {
        actions.push(Action::new(
            "baseline-history",
            ActionKind::RunHistory(RunHistory {
                job: JobRef::Live,
                limit: config.baseline_runs,
                since_ms: None,
            }),
        ));
    }
    actions.push(Action::new(
        "create-canary",
        ActionKind::CreateJob(CreateJob {
            label: CANARY.to_owned(),
            settings: settings.to_string(),
        }),
    ));
    let schedule = match config.scheduled_share {
        Some(share) => format!(
            "schedule kept, {} of the work per scheduled run",
            percent_text(share)
        ),
        None => "schedule paused".to_owned(),
    };
    let steps_text: Vec<String> = steps.iter().map(|s| format!("{s}%")).collect();
    let message = format!(
        "creating canary job `{name}-canary` ({schedule}); steps {}{}",
        steps_text.join(" → "),
        if d.live_job_id.is_some() {
            format!(
                "; reading the live job's last {} runs as the baseline",
                config.baseline_runs
            )
        } else {
            "; no live job, so no baseline".to_owned()
        }
    );
    Ok(StepResult::running(actions, s.to_json(), message))
}

fn share_text(share: f64) -> String {
    let text = format!("{share:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn percent_text(share: f64) -> String {
    format!("{}%", share_text(share * 100.0))
}

fn record(s: &mut State, outcomes: &[Outcome]) {
    for o in outcomes {
        match (o.action_id.as_str(), &o.kind) {
            ("create-canary", OutcomeKind::JobCreated(id)) => s.canary_job_id = Some(*id),
            ("delete-canary" | "cleanup-delete-canary", OutcomeKind::Done) => s.canary_deleted = true,
            ("baseline-history", OutcomeKind::Runs(runs)) => {
                s.baseline = runs
                    .iter()
                    .map(|r| Observation::from_run(r, &[], 1.0, &[]))
                    .collect();
            }
            ("reset-live" | "promote-canary", OutcomeKind::Done) => s.live_reset = true,
            _ => {}
        }
    }
}

fn on_control(
    d: &Deployment,
    config: &Config,
    s: &State,
    c: &Control,
    outcomes: &[Outcome],
) -> Option<StepResult> {
    let who = c.who();
    let unanswered = |attempt: &u32| rollout::outcome(outcomes, &approval_id(*attempt)).is_none();
    match (&s.stage, c.command) {
        (Stage::Done | Stage::Failed { .. } | Stage::Cleanup { .. }, _) => None,
        (_, Command::Abort) => Some(cleanup(s.clone(), format!("aborted by {who}"))),
        (
            Stage::Paused {
                step,
                attempt,
                summary,
            },
            Command::Promote | Command::PromoteFull,
        ) => {
            let full = c.command == Command::PromoteFull;
            let mut s = s.clone();
            s.results.push(StepOutcome {
                step: *step,
                weight: s.weight(*step),
                attempt: *attempt,
                status: Status::Inconclusive,
                summary: if full {
                    format!("{summary} (promoted to 100% by {who})")
                } else {
                    summary.clone()
                },
                run_ids: Vec::new(),
                promoted_by: Some(who.to_owned()),
            });
            Some(if full {
                before_promotion(d, config, s)
            } else {
                next_after(d, config, s, *step)
            })
        }
        (Stage::Paused { step, attempt, .. }, Command::Resume) => {
            Some(runs(d, config, s.clone(), *step, attempt + 1))
        }
        (Stage::PostPaused { summary, .. }, Command::Promote | Command::PromoteFull) => {
            let mut s = s.clone();
            if let Some(post) = &mut s.post {
                post.promoted_by = Some(who.to_owned());
            }
            let message = done_message(
                &s,
                &format!("the inconclusive post-promotion check ({summary}) was accepted by {who}"),
            );
            Some(StepResult::succeeded(s.with(Stage::Done).to_json(), message))
        }
        (Stage::PostPaused { attempt, .. }, Command::Resume) => Some(post_check(s.clone(), attempt + 1, d)),
        (Stage::AwaitApproval { .. }, Command::Approve) => {
            let mut s = s.clone();
            s.approved_by = Some(who.to_owned());
            Some(promote(d, s))
        }
        (Stage::Approval { attempt }, Command::Approve) if unanswered(attempt) => {
            let mut s = s.clone();
            s.approved_by = Some(who.to_owned());
            Some(promote(d, s))
        }
        (Stage::AwaitApproval { attempt }, Command::Resume) => Some(approval(d, s.clone(), attempt + 1)),
        (Stage::Approval { attempt }, Command::Resume) if unanswered(attempt) => {
            Some(approval(d, s.clone(), attempt + 1))
        }
        (_, command) => {
            log::info(&format!(
                "`{}` by {who} does not apply at this point of the rollout; ignored",
                command.as_str()
            ));
            None
        }
    }
}

fn advance(
    d: &Deployment,
    config: &Config,
    s: State,
    outcomes: &[Outcome],
) -> Result<StepResult, PluginError> {
    let problem = rollout::first_problem(outcomes).map(|(id, what)| format!("action `{id}` {what}"));
    Ok(match s.stage.clone() {
        Stage::Prepare => match problem {
            Some(reason) => cleanup(s, reason),
            None if !config.metrics.is_empty() && !s.baseline.is_empty() => baseline_outputs(s),
            None => start_steps(d, config, s),
        },
        Stage::BaselineOutputs => match problem {
            Some(reason) => cleanup(s, reason),
            None => {
                let mut s = s;
                for b in &mut s.baseline {
                    if let Some(OutcomeKind::Outputs(outputs)) =
                        rollout::outcome(outcomes, &format!("baseline-output-{}", b.run_id))
                    {
                        b.metrics = metrics_of(outputs, &config.metrics);
                    }
                }
                start_steps(d, config, s)
            }
        },
        Stage::Runs { step, attempt } => judge_step(d, config, s, step, attempt, outcomes),
        Stage::Paused {
            step,
            attempt,
            summary,
        } => paused(d, s, step, attempt, summary),
        Stage::Approval { attempt } => match rollout::outcome(outcomes, &approval_id(attempt)) {
            Some(OutcomeKind::Approved(a)) => {
                let mut s = s;
                s.approved_by = Some(a.by.clone());
                promote(d, s)
            }
            None => await_approval(d, s, attempt),
            Some(_) => cleanup(
                s,
                problem.unwrap_or_else(|| "the promotion was not approved".to_owned()),
            ),
        },
        Stage::AwaitApproval { attempt } => await_approval(d, s, attempt),
        Stage::Promote => match problem {
            Some(reason) => cleanup(s, format!("the promotion failed: {reason}")),
            None => {
                let mut s = s;
                s.promoted_at_ms = Some(d.now_ms);
                if config.post_promotion_check {
                    post_check(s, 1, d)
                } else {
                    let message = done_message(&s, "no post-promotion check");
                    StepResult::succeeded(s.with(Stage::Done).to_json(), message)
                }
            }
        },
        Stage::PostCheck { attempt } => judge_post(config, s, attempt, outcomes, d),
        Stage::PostPaused { attempt, summary } => post_paused(d, s, attempt, summary),
        Stage::Cleanup { reason } => {
            let message = format!("{reason}; {}; {}", cleanup_notes(outcomes), tail(&s));
            StepResult::failed(s.with(Stage::Failed { reason }).to_json(), message)
        }
        Stage::Done => StepResult::succeeded(s.to_json(), "the rollout already succeeded"),
        Stage::Failed { reason } => StepResult::failed(s.to_json(), reason),
    })
}

fn metrics_of(outputs: &[TaskOutput], rules: &[MetricRule]) -> std::collections::BTreeMap<String, f64> {
    rules
        .iter()
        .filter_map(|r| analysis::read_metric(outputs, &r.name).map(|v| (r.name.clone(), v)))
        .collect()
}

/// The first step, or straight to the promotion when it is 100%.
fn start_steps(d: &Deployment, config: &Config, s: State) -> StepResult {
    if s.weight(1) >= 100 {
        before_promotion(d, config, s)
    } else {
        runs(d, config, s, 1, 1)
    }
}

fn baseline_outputs(s: State) -> StepResult {
    let actions = s
        .baseline
        .iter()
        .map(|b| {
            Action::new(
                format!("baseline-output-{}", b.run_id),
                ActionKind::RunOutput(RunRef::Id(b.run_id)),
            )
        })
        .collect();
    let message = format!(
        "reading the run output of the {} baseline run(s) for the metrics",
        s.baseline.len()
    );
    StepResult::running(actions, s.with(Stage::BaselineOutputs).to_json(), message)
}

/// Action id prefix of step `step`, attempt `attempt`.
fn prefix(step: usize, attempt: u32) -> String {
    if attempt <= 1 {
        format!("s{step}")
    } else {
        format!("s{step}a{attempt}")
    }
}

fn approval_id(attempt: u32) -> String {
    if attempt <= 1 {
        "approve-promotion".to_owned()
    } else {
        format!("approve-promotion-{attempt}")
    }
}

fn runs(d: &Deployment, config: &Config, s: State, step: usize, attempt: u32) -> StepResult {
    let weight = s.weight(step);
    let p = prefix(step, attempt);
    let fraction = rollout::fraction_text(weight);
    let mut parameters = vec![Parameter {
        name: config.fraction_parameter.clone(),
        value: fraction.clone(),
    }];
    parameters.extend(config.overrides());
    let mut actions = Vec::new();
    for n in 1..=config.runs_per_step {
        let run_id = format!("{p}-run-{n}");
        let token = if attempt <= 1 {
            format!("s{step}-r{n}")
        } else {
            format!("s{step}-r{n}-a{attempt}")
        };
        actions.push(Action::new(
            run_id.clone(),
            ActionKind::RunJob(RunJob {
                job: JobRef::Created(CANARY.to_owned()),
                parameters: parameters.clone(),
                idempotency_token: rollout::idempotency_token(&d.id, &token),
            }),
        ));
        actions.push(Action::new(
            format!("{p}-wait-{n}"),
            ActionKind::WaitRun(WaitRun {
                run: RunRef::StartedBy(run_id.clone()),
                timeout_ms: config.run_timeout_seconds.saturating_mul(1000),
            }),
        ));
        actions.push(Action::new(
            format!("{p}-output-{n}"),
            ActionKind::RunOutput(RunRef::StartedBy(run_id)),
        ));
    }
    if config.gates {
        actions.push(Action::new(
            format!("{p}-gate"),
            ActionKind::GateCheck(GateCheck {
                point: GatePoint::PrePromote,
                evidence: (1..=config.runs_per_step)
                    .map(|n| RunRef::StartedBy(format!("{p}-run-{n}")))
                    .collect(),
            }),
        ));
    }
    let message = format!(
        "{}: {} canary run(s) of job {} with {}={fraction}{}{}",
        s.label(step),
        config.runs_per_step,
        s.canary(),
        config.fraction_parameter,
        if attempt > 1 {
            format!(" (attempt {attempt})")
        } else {
            String::new()
        },
        if config.gates {
            ", then the pre-promote gates"
        } else {
            ""
        }
    );
    StepResult::running(actions, s.with(Stage::Runs { step, attempt }).to_json(), message)
}

/// The runs a step (or post-check) observed, from its wait and output outcomes.
fn observed(
    outcomes: &[Outcome],
    p: &str,
    n: u32,
    fraction: f64,
    rules: &[MetricRule],
) -> (Vec<Observation>, Vec<String>) {
    let mut seen = Vec::new();
    let mut notes = Vec::new();
    for i in 1..=n {
        let run: Option<&RunSummary> = match rollout::outcome(outcomes, &format!("{p}-wait-{i}")) {
            Some(OutcomeKind::RunFinished(run)) => Some(run),
            Some(OutcomeKind::TimedOut(t)) => {
                if let Some(run) = &t.run {
                    notes.push(format!(
                        "run {} did not finish within {}",
                        run.run_id,
                        rollout::duration(run.duration_ms)
                    ));
                }
                t.run.as_ref()
            }
            _ => None,
        };
        let Some(run) = run else { continue };
        let outputs: &[TaskOutput] = match rollout::outcome(outcomes, &format!("{p}-output-{i}")) {
            Some(OutcomeKind::Outputs(o)) => o,
            _ => &[],
        };
        let mut o = Observation::from_run(run, outputs, fraction, rules);
        if o.result == "running" {
            // Still running at the deadline: as bad as a run that failed.
            o.result = "timed-out".to_owned();
        }
        seen.push(o);
    }
    (seen, notes)
}

/// Runs skipped because the job was already running are not evidence either way.
fn skipped_for_concurrency(observations: &[Observation]) -> Vec<i64> {
    observations
        .iter()
        .filter(|o| matches!(o.result.as_str(), "skipped" | "maximum-concurrent-runs-reached"))
        .map(|o| o.run_id)
        .collect()
}

fn analyse(
    config: &Config,
    s: &State,
    observations: &[Observation],
    outcomes: &[Outcome],
    gate_id: Option<&str>,
) -> Analysis {
    // Runs skipped because the job was already running are not judged, and leave the
    // analysis inconclusive.
    let skipped = skipped_for_concurrency(observations);
    let judged: Vec<Observation> = observations
        .iter()
        .filter(|o| !skipped.contains(&o.run_id))
        .cloned()
        .collect();
    let mut a = analysis::analyze(&judged, &s.baseline, &config.thresholds());
    if !skipped.is_empty() {
        let ids: Vec<String> = skipped.iter().map(i64::to_string).collect();
        a = a.with_check(analysis::Check {
            name: "concurrency".to_owned(),
            status: Status::Inconclusive,
            detail: format!(
                "run {} was skipped because the job was already running",
                ids.join(", ")
            ),
        });
    }
    if let Some(id) = gate_id
        && let Some(OutcomeKind::GateVerdict(v)) = rollout::outcome(outcomes, id)
    {
        a = a.with_gates(v);
    }
    a
}

fn judge_step(
    d: &Deployment,
    config: &Config,
    s: State,
    step: usize,
    attempt: u32,
    outcomes: &[Outcome],
) -> StepResult {
    let p = prefix(step, attempt);
    let weight = s.weight(step);
    let (observations, notes) = observed(
        outcomes,
        &p,
        config.runs_per_step,
        f64::from(weight) / 100.0,
        &config.metrics,
    );
    let label = s.label(step);
    // An action that could not be performed (not a run that failed) ends the rollout.
    if let Some((id, what)) = rollout::first_problem(outcomes)
        && !matches!(
            rollout::outcome(outcomes, id),
            Some(OutcomeKind::TimedOut(_) | OutcomeKind::GateVerdict(_))
        )
    {
        return cleanup(s, format!("{label}: action `{id}` {what}"));
    }
    let gate_id = format!("{p}-gate");
    let mut a = analyse(
        config,
        &s,
        &observations,
        outcomes,
        config.gates.then_some(gate_id.as_str()),
    );
    if (observations.len() as u32) < config.runs_per_step {
        a = a.with_check(analysis::Check {
            name: "runs-observed".to_owned(),
            status: Status::Inconclusive,
            detail: format!(
                "only {} of {} runs finished",
                observations.len(),
                config.runs_per_step
            ),
        });
    }
    if config.gates
        && !matches!(
            rollout::outcome(outcomes, &gate_id),
            Some(OutcomeKind::GateVerdict(_))
        )
    {
        a = a.with_check(analysis::Check {
            name: "gates".to_owned(),
            status: Status::Inconclusive,
            detail: "the gates were not asked".to_owned(),
        });
    }
    let summary = if notes.is_empty() {
        a.summary.clone()
    } else {
        format!("{} ({})", a.summary, notes.join("; "))
    };
    let mut s = s;
    let result = StepOutcome {
        step,
        weight,
        attempt,
        status: a.status,
        summary: summary.clone(),
        run_ids: observations.iter().map(|o| o.run_id).collect(),
        promoted_by: None,
    };
    match a.status {
        Status::Pass | Status::Skipped => {
            s.results.push(result);
            let next = next_after(d, config, s, step);
            StepResult {
                message: format!("{label}: {summary}; {}", next.message),
                ..next
            }
        }
        Status::Fail => {
            s.results.push(result);
            cleanup(s, format!("{label}: {summary}"))
        }
        Status::Inconclusive => paused(d, s, step, attempt, summary),
    }
}

/// After step `step` passed (or was promoted): the next step, or the promotion.
fn next_after(d: &Deployment, config: &Config, s: State, step: usize) -> StepResult {
    let next = step + 1;
    if s.weight(next) >= 100 || next > s.steps_total() {
        before_promotion(d, config, s)
    } else {
        runs(d, config, s, next, 1)
    }
}

fn before_promotion(d: &Deployment, config: &Config, s: State) -> StepResult {
    if config.require_approval_before_promotion {
        approval(d, s, 1)
    } else {
        promote(d, s)
    }
}

fn paused(d: &Deployment, s: State, step: usize, attempt: u32, summary: String) -> StepResult {
    let next = if s.weight(step + 1) >= 100 || step + 1 > s.steps_total() {
        "the promotion to 100%".to_owned()
    } else {
        format!("{}%", s.weight(step + 1))
    };
    let message = format!(
        "paused at {}: {summary}; `brickship promote {id}` treats this step as passed and goes to {next}, \
         `brickship promote {id} --full` goes to 100%, `brickship resume {id}` runs this step again, \
         `brickship abort {id}` deletes the canary and leaves the live job untouched",
        s.label(step),
        id = d.id
    );
    StepResult {
        actions: Vec::new(),
        state: s
            .with(Stage::Paused {
                step,
                attempt,
                summary,
            })
            .to_json(),
        phase: Phase::Paused,
        message,
    }
}

fn approval(d: &Deployment, s: State, attempt: u32) -> StepResult {
    let passed: Vec<String> = s
        .results
        .iter()
        .map(|r| format!("{}% {}", r.weight, r.status.as_str()))
        .collect();
    let what = match s.live_job_id {
        Some(id) => {
            format!("approving resets live job {id} to the new settings and deletes the canary")
        }
        None => "approving makes the canary the job".to_owned(),
    };
    let question = format!(
        "Promote `{}` to 100% (deployment {})? Canary job {}: {}; {what}",
        s.name,
        d.id,
        s.canary(),
        if passed.is_empty() {
            "no step judged".to_owned()
        } else {
            passed.join(", ")
        }
    );
    StepResult::running(
        vec![Action::new(
            approval_id(attempt),
            ActionKind::RequestApproval(question),
        )],
        s.with(Stage::Approval { attempt }).to_json(),
        "asking for approval to promote the canary to 100%",
    )
}

fn await_approval(d: &Deployment, s: State, attempt: u32) -> StepResult {
    let message = format!(
        "paused: waiting for approval to promote canary job {} to 100%; `brickship approve {id}` goes on, \
         `brickship abort {id}` deletes the canary and leaves the live job untouched",
        s.canary(),
        id = d.id
    );
    StepResult {
        actions: Vec::new(),
        state: s.with(Stage::AwaitApproval { attempt }).to_json(),
        phase: Phase::Paused,
        message,
    }
}

fn promote(d: &Deployment, s: State) -> StepResult {
    let mut actions = Vec::new();
    let message = match s.live_job_id {
        Some(live) => {
            actions.push(Action::new(
                "reset-live",
                ActionKind::ResetJob(ResetJob {
                    job: JobRef::Live,
                    settings: d.desired.clone(),
                }),
            ));
            if let Some(acl) = &d.acl {
                actions.push(Action::new(
                    "live-permissions",
                    ActionKind::SetPermissions(SetPermissions {
                        job: JobRef::Live,
                        acl: acl.clone(),
                    }),
                ));
            }
            let canary = JobRef::Created(CANARY.to_owned());
            actions.push(Action::new(
                "cancel-canary-runs",
                ActionKind::CancelActiveRuns(canary.clone()),
            ));
            actions.push(Action::new("delete-canary", ActionKind::DeleteJob(canary)));
            format!(
                "step {n}/{n} (100%): resetting live job {live} to the new settings and deleting canary job {}",
                s.canary(),
                n = s.steps_total()
            )
        }
        None => {
            let canary = JobRef::Created(CANARY.to_owned());
            actions.push(Action::new(
                "promote-canary",
                ActionKind::ResetJob(ResetJob {
                    job: canary.clone(),
                    settings: d.desired.clone(),
                }),
            ));
            if let Some(acl) = &d.acl {
                actions.push(Action::new(
                    "canary-permissions",
                    ActionKind::SetPermissions(SetPermissions {
                        job: canary,
                        acl: acl.clone(),
                    }),
                ));
            }
            format!(
                "step {n}/{n} (100%): no live job, so canary job {} becomes `{}` with the desired schedule",
                s.canary(),
                s.name,
                n = s.steps_total()
            )
        }
    };
    StepResult::running(actions, s.with(Stage::Promote).to_json(), message)
}

fn post_prefix(attempt: u32) -> String {
    if attempt <= 1 {
        "post".to_owned()
    } else {
        format!("post-a{attempt}")
    }
}

fn post_check(s: State, attempt: u32, d: &Deployment) -> StepResult {
    let p = post_prefix(attempt);
    let job = match s.live_job_id {
        Some(_) => JobRef::Live,
        None => JobRef::Created(CANARY.to_owned()),
    };
    let run_id = format!("{p}-run");
    let actions = vec![
        Action::new(
            run_id.clone(),
            ActionKind::RunJob(RunJob {
                job,
                parameters: Vec::new(),
                idempotency_token: rollout::idempotency_token(&d.id, &p),
            }),
        ),
        Action::new(
            format!("{p}-wait-1"),
            ActionKind::WaitRun(WaitRun {
                run: RunRef::StartedBy(run_id.clone()),
                // The live job's own timeout bounds the run; this is a backstop.
                timeout_ms: post_timeout_ms(d),
            }),
        ),
        Action::new(
            format!("{p}-output-1"),
            ActionKind::RunOutput(RunRef::StartedBy(run_id)),
        ),
    ];
    let message = format!(
        "promoted: checking one full run of `{}` against the baseline{}",
        s.name,
        if attempt > 1 {
            format!(" (attempt {attempt})")
        } else {
            String::new()
        }
    );
    StepResult::running(actions, s.with(Stage::PostCheck { attempt }).to_json(), message)
}

/// The job's `timeout_seconds` plus an hour, or a day when it has none.
fn post_timeout_ms(d: &Deployment) -> u64 {
    let timeout = serde_json::from_str::<Value>(&d.desired)
        .ok()
        .and_then(|v| v.get("timeout_seconds").and_then(Value::as_u64))
        .filter(|t| *t > 0);
    match timeout {
        Some(t) => (t + 3600) * 1000,
        None => 86_400_000,
    }
}

fn judge_post(config: &Config, s: State, attempt: u32, outcomes: &[Outcome], d: &Deployment) -> StepResult {
    let p = post_prefix(attempt);
    if let Some((id, what)) = rollout::first_problem(outcomes)
        && !matches!(rollout::outcome(outcomes, id), Some(OutcomeKind::TimedOut(_)))
    {
        return cleanup(
            s,
            format!("the post-promotion check could not run: action `{id}` {what}"),
        );
    }
    let (observations, notes) = observed(outcomes, &p, 1, 1.0, &config.metrics);
    let a = analyse(config, &s, &observations, outcomes, None);
    let summary = if notes.is_empty() {
        a.summary.clone()
    } else {
        format!("{} ({})", a.summary, notes.join("; "))
    };
    let mut s = s;
    s.post = Some(StepOutcome {
        step: s.steps_total(),
        weight: 100,
        attempt,
        status: a.status,
        summary: summary.clone(),
        run_ids: observations.iter().map(|o| o.run_id).collect(),
        promoted_by: None,
    });
    match a.status {
        Status::Pass | Status::Skipped => {
            let message = done_message(&s, &format!("post-promotion check {summary}"));
            StepResult::succeeded(s.with(Stage::Done).to_json(), message)
        }
        Status::Fail => cleanup(s, format!("the post-promotion check failed: {summary}")),
        Status::Inconclusive => post_paused(d, s, attempt, summary),
    }
}

fn post_paused(d: &Deployment, s: State, attempt: u32, summary: String) -> StepResult {
    let message = format!(
        "paused after the promotion: the post-promotion check is inconclusive ({summary}); \
         `brickship promote {id}` accepts the deployment, `brickship resume {id}` runs the check again, \
         `brickship abort {id}` fails it and the host rolls the job back",
        id = d.id
    );
    StepResult {
        actions: Vec::new(),
        state: s.with(Stage::PostPaused { attempt, summary }).to_json(),
        phase: Phase::Paused,
        message,
    }
}

fn done_message(s: &State, check: &str) -> String {
    let steps: Vec<String> = s
        .results
        .iter()
        .map(|r| {
            let by = r
                .promoted_by
                .as_ref()
                .map_or_else(String::new, |b| format!(" (promoted by {b})"));
            format!("{}% {}{by}", r.weight, r.status.as_str())
        })
        .collect();
    let job = match s.live_job_id {
        Some(id) => format!(
            "live job {id} has the new settings; canary job {} deleted",
            s.canary()
        ),
        None => format!("canary job {} is now `{}`", s.canary(), s.name),
    };
    format!(
        "promoted to 100%: {job}; steps {}; {check}",
        if steps.is_empty() {
            "none".to_owned()
        } else {
            steps.join(", ")
        }
    )
}

/// What the failure leaves to the host.
fn tail(s: &State) -> &'static str {
    if s.live_reset {
        "the host rolls the job back to its previous settings"
    } else {
        "the live job was not changed"
    }
}

/// Delete the canary (unless it already is the job), then fail with `reason`.
fn cleanup(s: State, reason: String) -> StepResult {
    let canary_is_the_job = s.live_reset && s.live_job_id.is_none();
    if s.canary_job_id.is_none() || s.canary_deleted || canary_is_the_job {
        let message = format!("{reason}; {}", tail(&s));
        return StepResult::failed(s.with(Stage::Failed { reason }).to_json(), message);
    }
    let canary = JobRef::Created(CANARY.to_owned());
    let actions = vec![
        Action::new(
            "cleanup-cancel-canary",
            ActionKind::CancelActiveRuns(canary.clone()),
        ),
        Action::new("cleanup-delete-canary", ActionKind::DeleteJob(canary)),
    ];
    let message = format!("{reason}; deleting canary job {}", s.canary());
    StepResult::running(actions, s.with(Stage::Cleanup { reason }).to_json(), message)
}

fn cleanup_notes(outcomes: &[Outcome]) -> String {
    match rollout::outcome(outcomes, "cleanup-delete-canary") {
        Some(OutcomeKind::Done) => "canary deleted".to_owned(),
        Some(OutcomeKind::Failed(f)) => format!(
            "the canary could not be deleted ({}: {}); the host's rollback deletes it",
            f.code, f.message
        ),
        _ => {
            "the canary's runs could not be cancelled, so it was not deleted; the host's rollback deletes it"
                .to_owned()
        }
    }
}

brickship_plugin_sdk::export_strategy!(Canary);

#[cfg(test)]
mod tests;
