//! The `blue-green` strategy: deploy a batch job by standing up the new version beside the
//! live one, proving it, then swapping names and schedules.
//!
//! # Concepts
//!
//! A Databricks job has no traffic to shift. Here the live job is **blue** and the new version
//! is **green**: a second job created from the desired settings, named `<name>-green`, with its
//! schedule (and file-arrival/periodic trigger, and continuous mode) **paused** so it never
//! runs on its own, and without its email/webhook notifications (unless
//! `smoke_notifications`) so a failing smoke run pages nobody. Green is **smoke-run** with `smoke_parameters` (e.g. a shadow target
//! schema) and must succeed within `smoke_timeout_seconds`; the environment's **pre-promote
//! gates** then judge the smoke runs (a `gate-check` action); an optional **approval** follows.
//! Blue's active runs are drained first (waited for, cancelled, or refused: `active_runs`)
//! while blue is still scheduled. Then the **swap**: pause blue, rename blue to `<name>-blue`,
//! rename green to `<name>`, unpause green (only when the desired settings have the schedule
//! unpaused). At no point do two jobs have unpaused schedules, and none has only for the few
//! API calls of the swap (plus any run blue started between the drain and its pause, which
//! the swap waits for). Blue stays paused as the instant rollback target for
//! `bake_window_seconds`; the next deployment after the window deletes it.
//!
//! Anything that refers to the job **by id** changes at a swap: green has a new job id, so
//! `run_job_task`s of other jobs, external orchestrators calling `run-now` with a job id,
//! dashboards, alerts and system-table queries filtered on the id, and the run history in
//! the UI (it starts fresh on green) must follow. References by name (and brickship's own
//! tags) keep working. Permissions are applied to green before it goes live. When that is a
//! problem, set `in_place: true`: green is still created and smoke-run, but the promotion
//! resets the live job's settings in place (same id, same history) and deletes green; the
//! rollback is then the host's snapshot, not a swap.
//!
//! # Steps and actions
//!
//! Action ids are unique within the deployment; `<dep>` is the deployment id.
//!
//! 1. Plan `unchanged`: succeed with no action (a blue kept from the previous deployment is
//!    carried over in the state).
//! 2. No live job (a first deployment): `delete-old-blue` (only if the previous deployment
//!    left one), `create-job` (label `job`, the desired settings as they are), `set-permissions`
//!    (when the project sets an ACL). No green, no swap.
//! 3. `create-green`: `create-job` label `green`, the desired settings named `<name>-green`,
//!    paused; `green-permissions` (swap variant, when an ACL is set); `delete-expired-blue`
//!    (`delete-job(id)` of the previous deployment's blue once its bake window has passed).
//! 4. For n in 1..=`smoke_runs`: `smoke-<n>-run` (`run-job` of `created(green)` with the smoke
//!    parameters, idempotency token `<dep>-smoke-<n>`) and `smoke-<n>-wait` (`wait-run`, the
//!    smoke deadline). A failed or late smoke run fails the rollout.
//! 5. `gate-pre-promote` (`gate-check` at `pre-promote`, evidence: the smoke runs), unless
//!    `gates: false`. `pass`/`warn` go on, `fail` fails, `inconclusive` pauses.
//! 6. `approve-swap` (`request-approval`) when `require_approval_before_swap`.
//! 7. Drain blue, still scheduled, per `active_runs`: `wait` → `drain-blue`
//!    (`wait-active-runs(live)`), `cancel` → `cancel-blue-runs` + `drain-blue`, `fail` →
//!    `list-blue-runs` (any active run fails the rollout).
//! 8. Swap variant, one step: `pause-blue` (`pause-schedule(live)`), `cancel-blue-late` (only
//!    with `cancel`), `settle-blue` (`wait-active-runs(live)`: a run started since the drain),
//!    `delete-old-blue` (the previous blue, if still there: never two `-blue` jobs),
//!    `rename-blue` (`<name>-blue`), then green takes the name: `rename-green`
//!    (`<name>`) and `unpause-green` (only when the desired schedule is unpaused) — or, when
//!    green was created without notifications or the desired blocks are mixed, one
//!    `reset-green` with the desired settings (name, pause statuses and notifications in one
//!    call) instead of both. In-place variant: `reset-live`
//!    (desired settings), `live-permissions`, `delete-old-blue`, `cancel-green-runs`,
//!    `delete-green`. Then succeed.
//!
//! Retries after a pause get new ids (`gate-pre-promote-2`, `approve-swap-2`).
//!
//! **Failure** at any point runs one cleanup step and then finishes `failed`: when green was
//! not yet renamed, blue is restored first (`cleanup-rename-blue` back to `<name>` if it was
//! renamed, `cleanup-unpause-blue` if it was unpaused before — `cleanup-reset-blue` with the
//! live settings when its blocks were mixed, `cleanup-restore-live` after an in-place reset),
//! then `cleanup-cancel-green` and `cleanup-delete-green`; once green holds the name, green
//! goes first. Blue is thus untouched after a failure before the swap, even without the
//! host's rollback (which also deletes every job the deployment created; deleting twice is
//! harmless).
//!
//! # Humans (`control` in the config)
//!
//! Paused on inconclusive gates: `promote` and `promote-full` go on to the approval (if
//! configured) and the swap; `resume` asks the gates again; `abort` cleans up and fails.
//! Waiting for an approval the host could not get (the approval step came back without an
//! outcome): `approve` goes on, `resume` asks again, `abort` cleans up. `abort` works at any
//! point before the rollout succeeded. Other commands are ignored where they make no sense.
//!
//! # Between deployments (`previous` in the config)
//!
//! The final state records the blue job it keeps (`blue`); the host passes the last
//! successful blue-green deployment's final state back as `previous.state`. That blue is
//! deleted (a) in the first step once `blue.expires_ms` has passed, or else (b) when this
//! deployment puts a new version live (the swap, the in-place reset, or the create), because
//! it is no longer the previous version. A deployment that fails before that keeps it (the
//! host keeps passing the same previous state). A blue whose id is the live job's (after a
//! swap-back rollback) is never deleted. An unchanged deployment carries it over.
//!
//! # State
//!
//! JSON. The final state of a successful deployment holds what `brickship rollback` needs:
//!
//! ```json
//! {"stage": {"name": "done"}, "variant": "swap", "name": "customer-360-pipeline-prod",
//!  "live_job_id": 1001, "green_job_id": 1001, "green_pause": "unpaused",
//!  "blue": {"job_id": 42, "name": "customer-360-pipeline-prod-blue",
//!           "pause_status_before": "unpaused", "expires_ms": 1767700800000,
//!           "deployment_id": "dep-20260105-120000-ab12"},
//!  "swapped_at_ms": 1767614460000,
//!  "smoke": [{"run_id": 50000, "result": "success", "duration_ms": 60000}], ...}
//! ```
//!
//! A swap back within the window: pause the job `live_job_id` and rename it `<name>-green`
//! (one `jobs/update`), rename blue to `name` and restore its schedule to
//! `pause_status_before` (one `jobs/update`) — then delete green or keep it for inspection.

use brickship_plugin_sdk::rollout::{self, Command, Control, HostInput, PauseStatus};
use brickship_plugin_sdk::types::{
    Action, ActionKind, ConfigProblem, CreateJob, Decision, Deployment, GateCheck, GatePoint, JobRef,
    Outcome, OutcomeKind, Parameter, Phase, PlanAction, PluginError, PluginInfo, PluginKind, RenameJob,
    ResetJob, RunJob, RunRef, SetPermissions, StepResult, WaitActiveRuns, WaitRun,
};
use brickship_plugin_sdk::{analysis, config, log};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Label of green's `create-job`.
const GREEN: &str = "green";
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
    smoke_parameters: Map<String, Value>,
    #[serde(default = "one")]
    smoke_runs: u32,
    #[serde(default = "hour")]
    smoke_timeout_seconds: u64,
    #[serde(default = "day")]
    bake_window_seconds: u64,
    #[serde(default)]
    in_place: bool,
    #[serde(default)]
    require_approval_before_swap: bool,
    #[serde(default)]
    active_runs: ActiveRuns,
    #[serde(default = "hour")]
    active_runs_timeout_seconds: u64,
    #[serde(default = "yes")]
    gates: bool,
    #[serde(default)]
    smoke_notifications: bool,
}

fn one() -> u32 {
    1
}
fn hour() -> u64 {
    3600
}
fn day() -> u64 {
    86_400
}
fn yes() -> bool {
    true
}

impl Config {
    fn smoke_parameters(&self) -> Vec<Parameter> {
        self.smoke_parameters
            .iter()
            .map(|(name, value)| Parameter {
                name: name.clone(),
                value: match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect()
    }
}

const MAX_SMOKE_RUNS: u32 = 20;

fn parse_config(text: &str) -> Result<(Config, HostInput), Vec<ConfigProblem>> {
    let (own, host) = rollout::split_config(text)?;
    let c: Config = config::parse(&own)?;
    let mut problems = Vec::new();
    if !(1..=MAX_SMOKE_RUNS).contains(&c.smoke_runs) {
        problems.push(config::problem(
            "/smoke_runs",
            format!("must be 1 to {MAX_SMOKE_RUNS}"),
        ));
    }
    for (field, v) in [
        ("/smoke_timeout_seconds", c.smoke_timeout_seconds),
        ("/active_runs_timeout_seconds", c.active_runs_timeout_seconds),
    ] {
        if v == 0 {
            problems.push(config::problem(field, "must be at least 1 second"));
        }
    }
    for (name, value) in &c.smoke_parameters {
        let at = format!("/smoke_parameters/{}", config::escape(name));
        if name.is_empty() {
            problems.push(config::problem(at, "a job parameter needs a name"));
        } else if value.is_object() || value.is_array() || value.is_null() {
            problems.push(config::problem(
                at,
                "must be a string, number or boolean (job parameters are text)",
            ));
        }
    }
    if problems.is_empty() {
        Ok((c, host))
    } else {
        Err(problems)
    }
}

/// How the new version goes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Variant {
    /// Green takes blue's name; blue is kept paused.
    Swap,
    /// The live job is reset in place; green is deleted.
    InPlace,
    /// There was no live job: the job is created directly.
    Create,
    /// Nothing to do.
    Unchanged,
}

/// The blue job a deployment keeps for rollback (also read back from `previous`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Blue {
    job_id: i64,
    name: String,
    /// Blue's schedule before it was paused (what a swap back restores).
    pause_status_before: PauseStatus,
    /// When the next deployment deletes it (ms since epoch).
    expires_ms: u64,
    /// The deployment that made it blue.
    deployment_id: String,
}

/// One smoke run of green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Smoke {
    run_id: i64,
    result: String,
    duration_ms: u64,
}

/// Where the rollout is: the actions of the last step belong to this stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
enum Stage {
    /// `create-green`, `green-permissions`, `delete-expired-blue`.
    CreateGreen,
    /// No live job: `delete-old-blue`, `create-job`, `set-permissions`.
    CreateDirect,
    /// `smoke-<n>-run`, `smoke-<n>-wait`.
    Smoke { n: u32 },
    /// `gate-pre-promote[-<attempt>]`.
    Gate { attempt: u32 },
    /// Gates were inconclusive; waiting for a human.
    GatePaused { attempt: u32, summary: String },
    /// `approve-swap[-<attempt>]`.
    Approval { attempt: u32 },
    /// The approval came back without an answer; waiting for `brickship approve`.
    AwaitApproval { attempt: u32 },
    /// `pause-blue`, `cancel-blue-runs`, `drain-blue` / `list-blue-runs`.
    Drain,
    /// `delete-old-blue`, `rename-blue`, `rename-green`/`reset-green`, `unpause-green`.
    Swap,
    /// `reset-live`, `live-permissions`, `delete-old-blue`, `cancel-green-runs`, `delete-green`.
    InPlace,
    /// `cleanup-*`; then fail with `reason`.
    Cleanup { reason: String },
    /// Succeeded.
    Done,
    /// Failed.
    Failed { reason: String },
}

/// What has been done to the jobs so far (from `done` outcomes), for cleanup and rollback.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    blue_paused: bool,
    blue_renamed: bool,
    green_renamed: bool,
    green_unpaused: bool,
    live_reset: bool,
    green_deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    stage: Stage,
    variant: Variant,
    /// The desired job name.
    name: String,
    /// The job holding `name` after success.
    #[serde(default)]
    live_job_id: Option<i64>,
    #[serde(default)]
    green_job_id: Option<i64>,
    /// The desired pause status (what green gets at the swap).
    green_pause: PauseStatus,
    /// Green was created without the desired notifications (they come with the swap's reset).
    #[serde(default)]
    green_quiet: bool,
    /// The live job's pause status before this deployment.
    blue_pause: PauseStatus,
    /// The blue kept after this deployment (new, or carried over).
    #[serde(default)]
    blue: Option<Blue>,
    /// The previous deployment's blue, while this deployment has not deleted it.
    #[serde(default)]
    old_blue: Option<Blue>,
    #[serde(default)]
    deleted_blue_job_ids: Vec<i64>,
    #[serde(default)]
    smoke: Vec<Smoke>,
    #[serde(default)]
    gates: Option<String>,
    #[serde(default)]
    approved_by: Option<String>,
    #[serde(default)]
    progress: Progress,
    #[serde(default)]
    swapped_at_ms: Option<u64>,
    #[serde(default)]
    control_seen_ms: Option<u64>,
    #[serde(default)]
    warnings: Vec<String>,
}

impl State {
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    fn with(mut self, stage: Stage) -> Self {
        self.stage = stage;
        self
    }
}

struct BlueGreen;

impl brickship_plugin_sdk::Strategy for BlueGreen {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "blue-green",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Strategy,
            "Create the new version as a paused green job beside the live (blue) one, smoke-run it with \
             parameter overrides, ask the pre-promote gates, then swap names and schedules so green is live \
             and blue stays paused for a bake window as the instant rollback target (or reset the live job \
             in place with `in_place`). Failure before the swap deletes green and leaves blue untouched.",
        );
        info.config_schema = Some(
            serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "smoke_parameters": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
                        "description": "job parameters of the smoke runs, e.g. a shadow target schema"},
                    "smoke_runs": {"type": "integer", "minimum": 1, "maximum": MAX_SMOKE_RUNS, "default": 1},
                    "smoke_timeout_seconds": {"type": "integer", "minimum": 1, "default": 3600},
                    "bake_window_seconds": {"type": "integer", "minimum": 0, "default": 86400,
                        "description": "how long blue stays paused as the rollback target"},
                    "in_place": {"type": "boolean", "default": false,
                        "description": "reset the live job (same id) instead of swapping"},
                    "require_approval_before_swap": {"type": "boolean", "default": false},
                    "active_runs": {"enum": ["wait", "cancel", "fail"], "default": "wait",
                        "description": "what to do with blue's active runs before the swap"},
                    "active_runs_timeout_seconds": {"type": "integer", "minimum": 1, "default": 3600},
                    "gates": {"type": "boolean", "default": true,
                        "description": "ask the environment's pre-promote gates about the smoke runs"},
                    "smoke_notifications": {"type": "boolean", "default": false,
                        "description": "keep the job's email/webhook notifications on green during smoke runs"}
                }
            })
            .to_string(),
        );
        info.config_example = Some(
            r#"{"smoke_parameters": {"target_schema": "shadow"}, "smoke_runs": 1, "smoke_timeout_seconds": 1800, "bake_window_seconds": 86400, "require_approval_before_swap": true, "active_runs": "wait"}"#
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

/// The desired settings and their name.
fn desired(d: &Deployment) -> Result<(Value, String), PluginError> {
    let settings: Value = serde_json::from_str(&d.desired)
        .map_err(|e| PluginError::new("bad-settings", format!("the desired settings are not JSON: {e}")))?;
    let name = settings
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            PluginError::new(
                "bad-settings",
                "the desired settings have no `name`; blue-green needs one to swap",
            )
        })?
        .to_owned();
    Ok((settings, name))
}

/// The previous deployment's blue, unless it is the live job (after a swap back).
fn previous_blue(d: &Deployment, host: &HostInput) -> Option<Blue> {
    let previous = host.previous.as_ref()?;
    if previous.strategy != "blue-green" {
        return None;
    }
    let blue = previous.state.get("blue").filter(|b| !b.is_null())?;
    match serde_json::from_value::<Blue>(blue.clone()) {
        Ok(b) if Some(b.job_id) == d.live_job_id => {
            log::warn(&format!(
                "the previous deployment's blue job {} is the live job now; it is not deleted",
                b.job_id
            ));
            None
        }
        Ok(b) => Some(b),
        Err(e) => {
            log::warn(&format!(
                "cannot read the previous deployment's blue job ({e}); it is not cleaned up"
            ));
            None
        }
    }
}

fn first_step(d: &Deployment, config: &Config, host: &HostInput) -> Result<StepResult, PluginError> {
    let (settings, name) = desired(d)?;
    let live: Option<Value> = d.live.as_deref().and_then(|l| serde_json::from_str(l).ok());
    let old_blue = previous_blue(d, host);
    let mut s = State {
        stage: Stage::CreateGreen,
        variant: if config.in_place {
            Variant::InPlace
        } else {
            Variant::Swap
        },
        name: name.clone(),
        live_job_id: d.live_job_id,
        green_job_id: None,
        green_pause: rollout::pause_status(&settings),
        green_quiet: false,
        blue_pause: live.as_ref().map_or(PauseStatus::None, rollout::pause_status),
        blue: None,
        old_blue,
        deleted_blue_job_ids: Vec::new(),
        smoke: Vec::new(),
        gates: None,
        approved_by: None,
        progress: Progress::default(),
        swapped_at_ms: None,
        control_seen_ms: host.control.as_ref().map(|c| c.at_ms),
        warnings: Vec::new(),
    };

    if d.plan.action == PlanAction::Unchanged {
        s.variant = Variant::Unchanged;
        s.blue = s.old_blue.take();
        let kept = match &s.blue {
            Some(b) => format!(
                "; blue job {} is kept until {}",
                b.job_id,
                rollout::instant(b.expires_ms)
            ),
            None => String::new(),
        };
        return Ok(StepResult::succeeded(
            s.with(Stage::Done).to_json(),
            format!("the live job already matches; nothing to do{kept}"),
        ));
    }

    if d.live_job_id.is_none() {
        s.variant = Variant::Create;
        let mut actions = delete_old_blue(&s);
        actions.push(Action::new(
            "create-job",
            ActionKind::CreateJob(CreateJob {
                label: CREATED.to_owned(),
                settings: d.desired.clone(),
            }),
        ));
        if let Some(acl) = &d.acl {
            actions.push(Action::new(
                "set-permissions",
                ActionKind::SetPermissions(SetPermissions {
                    job: JobRef::Created(CREATED.to_owned()),
                    acl: acl.clone(),
                }),
            ));
        }
        return Ok(StepResult::running(
            actions,
            s.with(Stage::CreateDirect).to_json(),
            format!("no live job: creating `{name}` directly (nothing to swap with)"),
        ));
    }

    let mut green = settings;
    if let Value::Object(m) = &mut green {
        m.insert("name".to_owned(), Value::String(format!("{name}-green")));
    }
    rollout::set_pause(&mut green, true);
    if !config.smoke_notifications {
        s.green_quiet = rollout::strip_notifications(&mut green);
    }
    let mut actions = vec![Action::new(
        "create-green",
        ActionKind::CreateJob(CreateJob {
            label: GREEN.to_owned(),
            settings: green.to_string(),
        }),
    )];
    if let (Some(acl), Variant::Swap) = (&d.acl, s.variant) {
        actions.push(Action::new(
            "green-permissions",
            ActionKind::SetPermissions(SetPermissions {
                job: JobRef::Created(GREEN.to_owned()),
                acl: acl.clone(),
            }),
        ));
    }
    if let Some(old) = s.old_blue.as_ref().filter(|b| b.expires_ms <= d.now_ms) {
        // Last in the step: a failure to delete it only affects itself (it is retried before
        // the swap, which never leaves two `-blue` jobs).
        actions.push(Action::new(
            "delete-expired-blue",
            ActionKind::DeleteJob(JobRef::Id(old.job_id)),
        ));
    }
    let message = format!(
        "creating green job `{name}-green` from the new settings, schedule paused{}",
        match &s.old_blue {
            Some(b) if b.expires_ms <= d.now_ms => format!(
                "; deleting blue job {} of the previous deployment (bake window ended {})",
                b.job_id,
                rollout::instant(b.expires_ms)
            ),
            _ => String::new(),
        }
    );
    Ok(StepResult::running(actions, s.to_json(), message))
}

/// Update what is known about the jobs from the outcomes of the last step.
fn record(s: &mut State, outcomes: &[Outcome]) {
    for o in outcomes {
        let done = matches!(o.kind, OutcomeKind::Done);
        match (o.action_id.as_str(), &o.kind) {
            ("create-green", OutcomeKind::JobCreated(id)) => s.green_job_id = Some(*id),
            ("create-job", OutcomeKind::JobCreated(id)) => s.live_job_id = Some(*id),
            ("pause-blue", _) if done => s.progress.blue_paused = true,
            ("rename-blue", _) if done => s.progress.blue_renamed = true,
            ("rename-green" | "reset-green", _) if done => s.progress.green_renamed = true,
            ("unpause-green", _) if done => s.progress.green_unpaused = true,
            ("reset-live", _) if done => s.progress.live_reset = true,
            ("delete-green" | "cleanup-delete-green", _) if done => s.progress.green_deleted = true,
            ("delete-expired-blue" | "delete-old-blue", _) if done => {
                if let Some(old) = s.old_blue.take() {
                    s.deleted_blue_job_ids.push(old.job_id);
                }
            }
            ("cleanup-rename-blue", _) if done => s.progress.blue_renamed = false,
            ("cleanup-unpause-blue" | "cleanup-reset-blue", _) if done => s.progress.blue_paused = false,
            ("cleanup-restore-live", _) if done => s.progress.live_reset = false,
            _ => {}
        }
    }
}

/// Act on a human's command; `None` when it does not apply here (the step goes on as usual).
fn on_control(
    d: &Deployment,
    config: &Config,
    s: &State,
    c: &Control,
    outcomes: &[Outcome],
) -> Option<StepResult> {
    let who = c.who();
    // An approval step that came back without an answer waits for a human like a pause.
    let unanswered = |attempt: &u32| rollout::outcome(outcomes, &approval_id(*attempt)).is_none();
    match (&s.stage, c.command) {
        (Stage::Done | Stage::Failed { .. } | Stage::Cleanup { .. }, _) => None,
        (_, Command::Abort) => Some(cleanup(d, s.clone(), format!("aborted by {who}"))),
        (Stage::GatePaused { .. }, Command::Promote | Command::PromoteFull) => {
            let mut s = s.clone();
            s.gates = Some(format!(
                "{} (promoted by {who})",
                s.gates.clone().unwrap_or_default()
            ));
            Some(after_gates(d, config, s))
        }
        (Stage::GatePaused { attempt, .. }, Command::Resume) => Some(gate(s.clone(), attempt + 1)),
        (Stage::AwaitApproval { .. }, Command::Approve) => {
            let mut s = s.clone();
            s.approved_by = Some(who.to_owned());
            Some(drain(config, s))
        }
        (Stage::Approval { attempt }, Command::Approve) if unanswered(attempt) => {
            let mut s = s.clone();
            s.approved_by = Some(who.to_owned());
            Some(drain(config, s))
        }
        (Stage::AwaitApproval { attempt }, Command::Resume) => {
            Some(approval(d, config, s.clone(), attempt + 1))
        }
        (Stage::Approval { attempt }, Command::Resume) if unanswered(attempt) => {
            Some(approval(d, config, s.clone(), attempt + 1))
        }
        (stage, command) => {
            log::info(&format!(
                "`{}` by {who} does not apply while the rollout is at `{}`; ignored",
                command.as_str(),
                stage_name(stage)
            ));
            None
        }
    }
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::CreateGreen => "create-green",
        Stage::CreateDirect => "create-direct",
        Stage::Smoke { .. } => "smoke",
        Stage::Gate { .. } => "gate",
        Stage::GatePaused { .. } => "gate-paused",
        Stage::Approval { .. } => "approval",
        Stage::AwaitApproval { .. } => "await-approval",
        Stage::Drain => "drain",
        Stage::Swap => "swap",
        Stage::InPlace => "in-place",
        Stage::Cleanup { .. } => "cleanup",
        Stage::Done => "done",
        Stage::Failed { .. } => "failed",
    }
}

fn advance(
    d: &Deployment,
    config: &Config,
    s: State,
    outcomes: &[Outcome],
) -> Result<StepResult, PluginError> {
    let problem_at =
        rollout::first_problem(outcomes).map(|(id, what)| (id.to_owned(), format!("action `{id}` {what}")));
    let problem = problem_at.as_ref().map(|(_, reason)| reason.clone());
    Ok(match s.stage.clone() {
        Stage::CreateGreen => {
            let mut s = s;
            match problem_at {
                // The expired blue's deletion is last in its step, so only it failed: go on and
                // retry it before the swap.
                Some((id, reason)) if id == "delete-expired-blue" => s.warnings.push(format!(
                    "could not delete the previous blue job ({reason}); retried before the swap"
                )),
                Some((_, reason)) => return Ok(cleanup(d, s, reason)),
                None => {}
            }
            smoke(d, config, s, 1)
        }
        Stage::CreateDirect => match problem {
            Some(reason) => cleanup(d, s, reason),
            None => {
                let message = format!(
                    "created `{}` as job {}{}",
                    s.name,
                    s.live_job_id.map_or_else(|| "?".to_owned(), |id| id.to_string()),
                    deleted_note(&s)
                );
                StepResult::succeeded(s.with(Stage::Done).to_json(), message)
            }
        },
        Stage::Smoke { n } => {
            let mut s = s;
            let green = s.green_job_id.unwrap_or_default();
            if let Some(OutcomeKind::TimedOut(t)) = rollout::outcome(outcomes, &format!("smoke-{n}-wait")) {
                let run = t
                    .run
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" {}", r.run_id));
                return Ok(cleanup(
                    d,
                    s,
                    format!(
                        "smoke run{run} of green job {green} did not finish within {} (`smoke_timeout_seconds`)",
                        rollout::duration(config.smoke_timeout_seconds * 1000)
                    ),
                ));
            }
            if let Some(reason) = problem {
                return Ok(cleanup(d, s, reason));
            }
            let Some(OutcomeKind::RunFinished(run)) = rollout::outcome(outcomes, &format!("smoke-{n}-wait"))
            else {
                return Err(PluginError::new(
                    "bad-outcomes",
                    format!("expected the finished run of `smoke-{n}-wait`"),
                ));
            };
            let result = run
                .result_state
                .map_or("running", analysis::run_result_name)
                .to_owned();
            s.smoke.push(Smoke {
                run_id: run.run_id,
                result: result.clone(),
                duration_ms: run.duration_ms,
            });
            if result != "success" {
                let detail = if run.state_message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", run.state_message)
                };
                let url = run.url.as_ref().map_or_else(String::new, |u| format!(" ({u})"));
                return Ok(cleanup(
                    d,
                    s,
                    format!(
                        "smoke run {} of green job {green} ended `{result}`{detail}{url}",
                        run.run_id
                    ),
                ));
            }
            if n < config.smoke_runs {
                smoke(d, config, s, n + 1)
            } else if config.gates {
                gate(s, 1)
            } else {
                after_gates(d, config, s)
            }
        }
        Stage::Gate { attempt } => {
            let mut s = s;
            let verdict = rollout::outcome(outcomes, &gate_id(attempt)).and_then(|k| match k {
                OutcomeKind::GateVerdict(v) => Some(v.clone()),
                _ => None,
            });
            match verdict {
                Some(v) => {
                    let summary = format!("{}: {}", rollout::decision_name(v.decision), v.summary);
                    s.gates = Some(summary.clone());
                    match v.decision {
                        Decision::Pass | Decision::Warn => after_gates(d, config, s),
                        Decision::Fail => {
                            cleanup(d, s, format!("the pre-promote gates failed green: {}", v.summary))
                        }
                        Decision::Inconclusive => gate_paused(d, s, attempt, v.summary.clone()),
                    }
                }
                None => cleanup(
                    d,
                    s,
                    problem.unwrap_or_else(|| "the pre-promote gate check gave no verdict".to_owned()),
                ),
            }
        }
        Stage::GatePaused { attempt, summary } => gate_paused(d, s, attempt, summary),
        Stage::Approval { attempt } => match rollout::outcome(outcomes, &approval_id(attempt)) {
            Some(OutcomeKind::Approved(a)) => {
                let mut s = s;
                s.approved_by = Some(a.by.clone());
                drain(config, s)
            }
            None => await_approval(d, s, attempt),
            Some(_) => cleanup(
                d,
                s,
                problem.unwrap_or_else(|| "the swap was not approved".to_owned()),
            ),
        },
        Stage::AwaitApproval { attempt } => await_approval(d, s, attempt),
        Stage::Drain => {
            if let Some(OutcomeKind::TimedOut(_)) = rollout::outcome(outcomes, "drain-blue") {
                let reason = format!(
                    "blue job {} still had active runs after {} (`active_runs: {}`); raise `active_runs_timeout_seconds` or use `active_runs: cancel`",
                    s.live_job_id.unwrap_or_default(),
                    rollout::duration(config.active_runs_timeout_seconds * 1000),
                    if config.active_runs == ActiveRuns::Cancel {
                        "cancel"
                    } else {
                        "wait"
                    }
                );
                return Ok(cleanup(d, s, reason));
            }
            if let Some(reason) = problem {
                return Ok(cleanup(d, s, reason));
            }
            if let Some(OutcomeKind::Runs(active)) = rollout::outcome(outcomes, "list-blue-runs")
                && !active.is_empty()
            {
                let ids: Vec<String> = active.iter().map(|r| r.run_id.to_string()).collect();
                let reason = format!(
                    "blue job {} has {} active run(s) ({}) and `active_runs` is `fail`; wait for them, or set `active_runs` to `wait` or `cancel`",
                    s.live_job_id.unwrap_or_default(),
                    active.len(),
                    ids.join(", ")
                );
                return Ok(cleanup(d, s, reason));
            }
            match s.variant {
                Variant::InPlace => in_place(d, s),
                _ => swap(d, config, s),
            }
        }
        Stage::Swap => match problem {
            Some(reason) => cleanup(d, s, format!("the swap failed: {reason}")),
            None => done_swap(d, config, s),
        },
        Stage::InPlace => match problem {
            Some(reason) => cleanup(d, s, format!("the in-place promotion failed: {reason}")),
            None => {
                let message = format!(
                    "job {} of `{}` was reset in place to the new settings after {} smoke run(s); green job {} deleted{}",
                    s.live_job_id.unwrap_or_default(),
                    s.name,
                    s.smoke.len(),
                    s.green_job_id.unwrap_or_default(),
                    deleted_note(&s)
                );
                StepResult::succeeded(s.with(Stage::Done).to_json(), message)
            }
        },
        Stage::Cleanup { reason } => {
            let notes = cleanup_notes(outcomes);
            let message = if notes.is_empty() {
                reason.clone()
            } else {
                format!("{reason}; {notes}")
            };
            StepResult::failed(s.with(Stage::Failed { reason }).to_json(), message)
        }
        Stage::Done => StepResult::succeeded(s.to_json(), "the rollout already succeeded"),
        Stage::Failed { reason } => StepResult::failed(s.to_json(), reason),
    })
}

fn deleted_note(s: &State) -> String {
    if s.deleted_blue_job_ids.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = s.deleted_blue_job_ids.iter().map(i64::to_string).collect();
        format!("; deleted the previous blue job {}", ids.join(", "))
    }
}

fn delete_old_blue(s: &State) -> Vec<Action> {
    s.old_blue
        .iter()
        .map(|b| Action::new("delete-old-blue", ActionKind::DeleteJob(JobRef::Id(b.job_id))))
        .collect()
}

fn smoke(d: &Deployment, config: &Config, s: State, n: u32) -> StepResult {
    let run_id = format!("smoke-{n}-run");
    let parameters = config.smoke_parameters();
    let shown: Vec<String> = parameters
        .iter()
        .map(|p| format!("{}={}", p.name, p.value))
        .collect();
    let actions = vec![
        Action::new(
            run_id.clone(),
            ActionKind::RunJob(RunJob {
                job: JobRef::Created(GREEN.to_owned()),
                parameters,
                idempotency_token: rollout::idempotency_token(&d.id, &format!("smoke-{n}")),
            }),
        ),
        Action::new(
            format!("smoke-{n}-wait"),
            ActionKind::WaitRun(WaitRun {
                run: RunRef::StartedBy(run_id),
                timeout_ms: config.smoke_timeout_seconds.saturating_mul(1000),
            }),
        ),
    ];
    let message = format!(
        "smoke run {n}/{} of green job {}{}",
        config.smoke_runs,
        s.green_job_id.unwrap_or_default(),
        if shown.is_empty() {
            String::new()
        } else {
            format!(" with {}", shown.join(", "))
        }
    );
    StepResult::running(actions, s.with(Stage::Smoke { n }).to_json(), message)
}

fn gate_id(attempt: u32) -> String {
    if attempt <= 1 {
        "gate-pre-promote".to_owned()
    } else {
        format!("gate-pre-promote-{attempt}")
    }
}

fn approval_id(attempt: u32) -> String {
    if attempt <= 1 {
        "approve-swap".to_owned()
    } else {
        format!("approve-swap-{attempt}")
    }
}

fn smoke_summary(s: &State) -> String {
    let longest = s.smoke.iter().map(|r| r.duration_ms).max().unwrap_or(0);
    format!(
        "{} smoke run(s) succeeded (longest {})",
        s.smoke.len(),
        rollout::duration(longest)
    )
}

fn gate(s: State, attempt: u32) -> StepResult {
    let evidence = (1..=s.smoke.len())
        .map(|n| RunRef::StartedBy(format!("smoke-{n}-run")))
        .collect();
    let message = format!("{}; asking the pre-promote gates", smoke_summary(&s));
    StepResult::running(
        vec![Action::new(
            gate_id(attempt),
            ActionKind::GateCheck(GateCheck {
                point: GatePoint::PrePromote,
                evidence,
            }),
        )],
        s.with(Stage::Gate { attempt }).to_json(),
        message,
    )
}

fn gate_paused(d: &Deployment, s: State, attempt: u32, summary: String) -> StepResult {
    let promote = match s.variant {
        Variant::InPlace => "resets the live job in place anyway",
        _ => "swaps anyway",
    };
    let message = format!(
        "paused: the pre-promote gates are inconclusive about green job {} ({summary}); \
         `brickship promote {id}` {promote}, `brickship resume {id}` asks the gates again, \
         `brickship abort {id}` deletes green and leaves blue untouched",
        s.green_job_id.unwrap_or_default(),
        id = d.id
    );
    StepResult {
        actions: Vec::new(),
        state: s.with(Stage::GatePaused { attempt, summary }).to_json(),
        phase: Phase::Paused,
        message,
    }
}

fn after_gates(d: &Deployment, config: &Config, s: State) -> StepResult {
    if config.require_approval_before_swap {
        approval(d, config, s, 1)
    } else {
        drain(config, s)
    }
}

fn approval(d: &Deployment, config: &Config, s: State, attempt: u32) -> StepResult {
    let blue = s.live_job_id.unwrap_or_default();
    let what = match s.variant {
        Variant::InPlace => format!("approving resets job {blue} to the new settings in place"),
        _ => format!(
            "approving pauses blue job {blue}, renames it `{}-blue` and makes green `{}` (blue is kept paused for {})",
            s.name,
            s.name,
            rollout::duration(config.bake_window_seconds * 1000)
        ),
    };
    let gates = s
        .gates
        .as_ref()
        .map_or_else(String::new, |g| format!("; gates {g}"));
    let question = format!(
        "Promote `{}` (deployment {})? Green job {}: {}{gates}; {what}",
        s.name,
        d.id,
        s.green_job_id.unwrap_or_default(),
        smoke_summary(&s)
    );
    StepResult::running(
        vec![Action::new(
            approval_id(attempt),
            ActionKind::RequestApproval(question),
        )],
        s.with(Stage::Approval { attempt }).to_json(),
        "asking for approval to promote green",
    )
}

fn await_approval(d: &Deployment, s: State, attempt: u32) -> StepResult {
    let message = format!(
        "paused: waiting for approval to promote green job {}; `brickship approve {id}` goes on, \
         `brickship abort {id}` deletes green and leaves blue untouched",
        s.green_job_id.unwrap_or_default(),
        id = d.id
    );
    StepResult {
        actions: Vec::new(),
        state: s.with(Stage::AwaitApproval { attempt }).to_json(),
        phase: Phase::Paused,
        message,
    }
}

/// Blue's active runs before the swap, with blue still scheduled (a drain never leaves the job
/// without a schedule).
fn drain(config: &Config, s: State) -> StepResult {
    let mut actions = Vec::new();
    match config.active_runs {
        ActiveRuns::Wait => actions.push(wait_blue("drain-blue", config)),
        ActiveRuns::Cancel => {
            actions.push(Action::new(
                "cancel-blue-runs",
                ActionKind::CancelActiveRuns(JobRef::Live),
            ));
            actions.push(wait_blue("drain-blue", config));
        }
        ActiveRuns::Fail => actions.push(Action::new(
            "list-blue-runs",
            ActionKind::ListActiveRuns(JobRef::Live),
        )),
    }
    let verb = match config.active_runs {
        ActiveRuns::Wait => "waiting for its active runs",
        ActiveRuns::Cancel => "cancelling its active runs",
        ActiveRuns::Fail => "checking it has no active runs",
    };
    let which = if s.variant == Variant::Swap {
        "blue job"
    } else {
        "live job"
    };
    let message = format!("{which} {}: {verb}", s.live_job_id.unwrap_or_default());
    StepResult::running(actions, s.with(Stage::Drain).to_json(), message)
}

fn wait_blue(id: &str, config: &Config) -> Action {
    Action::new(
        id,
        ActionKind::WaitActiveRuns(WaitActiveRuns {
            job: JobRef::Live,
            timeout_ms: config.active_runs_timeout_seconds.saturating_mul(1000),
        }),
    )
}

fn swap(d: &Deployment, config: &Config, s: State) -> StepResult {
    // Blue is paused first; a run it started since the drain (a race) is waited for (or
    // cancelled) before anything is renamed.
    let mut actions = vec![Action::new("pause-blue", ActionKind::PauseSchedule(JobRef::Live))];
    if config.active_runs == ActiveRuns::Cancel {
        actions.push(Action::new(
            "cancel-blue-late",
            ActionKind::CancelActiveRuns(JobRef::Live),
        ));
    }
    actions.push(wait_blue("settle-blue", config));
    actions.extend(delete_old_blue(&s));
    actions.push(Action::new(
        "rename-blue",
        ActionKind::RenameJob(RenameJob {
            job: JobRef::Live,
            name: format!("{}-blue", s.name),
        }),
    ));
    let green = JobRef::Created(GREEN.to_owned());
    if s.green_pause == PauseStatus::Mixed || s.green_quiet {
        actions.push(Action::new(
            "reset-green",
            ActionKind::ResetJob(ResetJob {
                job: green,
                settings: d.desired.clone(),
            }),
        ));
    } else {
        actions.push(Action::new(
            "rename-green",
            ActionKind::RenameJob(RenameJob {
                job: green.clone(),
                name: s.name.clone(),
            }),
        ));
        if s.green_pause == PauseStatus::Unpaused {
            actions.push(Action::new("unpause-green", ActionKind::UnpauseSchedule(green)));
        }
    }
    let message = format!(
        "swapping: blue job {} is paused and becomes `{}-blue`, green job {} becomes `{}`{}",
        s.live_job_id.unwrap_or_default(),
        s.name,
        s.green_job_id.unwrap_or_default(),
        s.name,
        match s.green_pause {
            PauseStatus::Unpaused => " (unpaused)",
            PauseStatus::Paused => " (kept paused, as desired)",
            PauseStatus::Mixed => " (with the desired pause statuses)",
            PauseStatus::None => "",
        }
    );
    let message = if s.green_quiet {
        format!("{message}, with its notifications")
    } else {
        message
    };
    StepResult::running(actions, s.with(Stage::Swap).to_json(), message)
}

fn in_place(d: &Deployment, s: State) -> StepResult {
    let mut actions = vec![Action::new(
        "reset-live",
        ActionKind::ResetJob(ResetJob {
            job: JobRef::Live,
            settings: d.desired.clone(),
        }),
    )];
    if let Some(acl) = &d.acl {
        actions.push(Action::new(
            "live-permissions",
            ActionKind::SetPermissions(SetPermissions {
                job: JobRef::Live,
                acl: acl.clone(),
            }),
        ));
    }
    actions.extend(delete_old_blue(&s));
    let green = JobRef::Created(GREEN.to_owned());
    actions.push(Action::new(
        "cancel-green-runs",
        ActionKind::CancelActiveRuns(green.clone()),
    ));
    actions.push(Action::new("delete-green", ActionKind::DeleteJob(green)));
    let message = format!(
        "resetting job {} in place to the new settings and deleting green job {}",
        s.live_job_id.unwrap_or_default(),
        s.green_job_id.unwrap_or_default()
    );
    StepResult::running(actions, s.with(Stage::InPlace).to_json(), message)
}

fn done_swap(d: &Deployment, config: &Config, mut s: State) -> StepResult {
    let blue_id = s.live_job_id.unwrap_or_default();
    let expires_ms = d
        .now_ms
        .saturating_add(config.bake_window_seconds.saturating_mul(1000));
    s.blue = Some(Blue {
        job_id: blue_id,
        name: format!("{}-blue", s.name),
        pause_status_before: s.blue_pause,
        expires_ms,
        deployment_id: d.id.clone(),
    });
    s.live_job_id = s.green_job_id;
    s.swapped_at_ms = Some(d.now_ms);
    let schedule = match s.green_pause {
        PauseStatus::Unpaused => " (schedule unpaused)",
        PauseStatus::Paused => " (schedule paused, as desired)",
        _ => "",
    };
    let warnings = if s.warnings.is_empty() {
        String::new()
    } else {
        format!("; {}", s.warnings.join("; "))
    };
    let message = format!(
        "green job {} is live as `{}`{schedule}; blue job {blue_id} stays paused as `{}-blue` until {} for rollback{}{warnings}",
        s.green_job_id.unwrap_or_default(),
        s.name,
        s.name,
        rollout::instant(expires_ms),
        deleted_note(&s)
    );
    StepResult::succeeded(s.with(Stage::Done).to_json(), message)
}

/// One step that undoes what this deployment did, then `failed` with `reason`.
fn cleanup(d: &Deployment, s: State, reason: String) -> StepResult {
    let p = s.progress.clone();
    let mut restore_blue = Vec::new();
    if p.blue_renamed {
        restore_blue.push(Action::new(
            "cleanup-rename-blue",
            ActionKind::RenameJob(RenameJob {
                job: JobRef::Live,
                name: s.name.clone(),
            }),
        ));
    }
    if p.live_reset {
        if let Some(live) = &d.live {
            restore_blue.push(Action::new(
                "cleanup-restore-live",
                ActionKind::ResetJob(ResetJob {
                    job: JobRef::Live,
                    settings: live.clone(),
                }),
            ));
        }
    } else if p.blue_paused {
        match s.blue_pause {
            PauseStatus::Unpaused => restore_blue.push(Action::new(
                "cleanup-unpause-blue",
                ActionKind::UnpauseSchedule(JobRef::Live),
            )),
            PauseStatus::Mixed => {
                if let Some(live) = &d.live {
                    restore_blue.push(Action::new(
                        "cleanup-reset-blue",
                        ActionKind::ResetJob(ResetJob {
                            job: JobRef::Live,
                            settings: live.clone(),
                        }),
                    ));
                }
            }
            PauseStatus::Paused | PauseStatus::None => {}
        }
    }
    let mut remove_green = Vec::new();
    if s.green_job_id.is_some() && !p.green_deleted {
        let green = JobRef::Created(GREEN.to_owned());
        remove_green.push(Action::new(
            "cleanup-cancel-green",
            ActionKind::CancelActiveRuns(green.clone()),
        ));
        remove_green.push(Action::new("cleanup-delete-green", ActionKind::DeleteJob(green)));
    }
    if s.variant == Variant::Create && s.live_job_id.is_some() {
        remove_green.push(Action::new(
            "cleanup-delete-job",
            ActionKind::DeleteJob(JobRef::Created(CREATED.to_owned())),
        ));
    }
    // Blue first while green does not hold the name (blue serves again at once); green first
    // once it does (never two jobs with the name, never two unpaused schedules).
    let actions: Vec<Action> = if p.green_renamed {
        remove_green.into_iter().chain(restore_blue).collect()
    } else {
        restore_blue.into_iter().chain(remove_green).collect()
    };
    if actions.is_empty() {
        return StepResult::failed(
            s.with(Stage::Failed {
                reason: reason.clone(),
            })
            .to_json(),
            reason,
        );
    }
    let what: Vec<String> = actions.iter().map(|a| describe_cleanup(a, &s)).collect();
    let message = format!("{reason}; cleaning up: {}", what.join(", "));
    StepResult::running(actions, s.with(Stage::Cleanup { reason }).to_json(), message)
}

fn describe_cleanup(a: &Action, s: &State) -> String {
    let blue = s.live_job_id.unwrap_or_default();
    let green = s.green_job_id.unwrap_or_default();
    match a.id.as_str() {
        "cleanup-rename-blue" => format!("renaming blue job {blue} back to `{}`", s.name),
        "cleanup-restore-live" => format!("restoring job {blue}'s previous settings"),
        "cleanup-unpause-blue" | "cleanup-reset-blue" => format!("unpausing blue job {blue}"),
        "cleanup-cancel-green" => format!("cancelling green job {green}'s runs"),
        "cleanup-delete-green" => format!("deleting green job {green}"),
        "cleanup-delete-job" => format!("deleting job {blue}"),
        other => other.to_owned(),
    }
}

/// What the cleanup step did, for the final message.
fn cleanup_notes(outcomes: &[Outcome]) -> String {
    let mut done = Vec::new();
    let mut problems = Vec::new();
    for o in outcomes {
        let what = match o.action_id.as_str() {
            "cleanup-delete-green" => "green deleted",
            "cleanup-delete-job" => "the created job deleted",
            "cleanup-rename-blue" => "blue renamed back",
            "cleanup-unpause-blue" | "cleanup-reset-blue" => "blue's schedule restored",
            "cleanup-restore-live" => "the live job's settings restored",
            _ => continue,
        };
        match &o.kind {
            OutcomeKind::Done => done.push(what.to_owned()),
            OutcomeKind::Failed(f) => {
                problems.push(format!("`{}` failed: {} ({})", o.action_id, f.message, f.code))
            }
            OutcomeKind::Skipped => problems.push(format!("`{}` was skipped", o.action_id)),
            _ => {}
        }
    }
    let mut parts = done;
    if !problems.is_empty() {
        parts.push(format!(
            "cleanup incomplete ({}): the host's rollback restores the snapshot",
            problems.join("; ")
        ));
    }
    parts.join(", ")
}

brickship_plugin_sdk::export_strategy!(BlueGreen);

#[cfg(test)]
mod tests;
