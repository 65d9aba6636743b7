//! A fake workspace that performs a strategy's actions the way brickship's host does, so a
//! unit test can drive a strategy's whole step sequence natively and then look at the jobs
//! it left behind.
//!
//! The host's rules it follows: actions run in order and the first failed, timed-out or
//! rejected action, or gate verdict of `fail`/`inconclusive`, ends the step (the rest are
//! `skipped`); `created(label)` and `started-by(action)` references resolve across steps;
//! `run-job` starts at most one run per idempotency token; deleting a missing job is `done`;
//! pausing touches only the schedule/trigger/continuous blocks a job has. It also enforces the
//! contract (unique action ids over the whole deployment, no actions with a paused or final
//! phase, state within 64 KiB, tokens of 1 to 64 characters) and any invariants a test adds
//! ([`FakeWorkspace::invariant`]), checked after every action.
//!
//! Runs are scripted ([`FakeWorkspace::script`]): a function of the run request (job, label,
//! parameters) returns a [`RunScript`] (result, duration, retries, run output, or hang).
//! Time only moves when runs finish and `wait` actions sleep.
//!
//! ```
//! use brickship_plugin_sdk::testing::harness::{FakeWorkspace, RunScript};
//! let mut ws = FakeWorkspace::new();
//! let live = ws.add_live_job(brickship_plugin_sdk::testing::CUSTOMER_360_SETTINGS);
//! ws.add_history(live, 5, RunScript::success(60_000).output(r#"{"rows": 1000}"#));
//! ws.script(|run| if run.label == Some("canary") { RunScript::success(30_000) } else { RunScript::success(60_000) });
//! assert_eq!(ws.history(live).len(), 5);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::rollout::{self, PauseStatus};
use crate::settings::json_equal;
use crate::types::{
    Action, ActionFailure, ActionKind, Approval, Decision, Deployment, Difference, GatePoint, JobRef,
    Outcome, OutcomeKind, Phase, Plan, PlanAction, RunRef, RunResult, RunSummary, StepResult, TaskOutput,
    TaskSummary, TimedOut, Verdict,
};
use crate::{Strategy, testing};

/// How a scripted run goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunScript {
    /// The run's result.
    pub result: RunResult,
    /// How long it runs, ms.
    pub duration_ms: u64,
    /// Tasks that failed (the last ones of the job).
    pub failed_tasks: u32,
    /// Tasks that needed a retry.
    pub retried_tasks: u32,
    /// The notebook exit value of the job's last task.
    pub output: Option<String>,
    /// Never finishes: `wait-run` times out.
    pub hang: bool,
}

impl RunScript {
    /// A successful run of `duration_ms`.
    pub fn success(duration_ms: u64) -> Self {
        RunScript {
            result: RunResult::Success,
            duration_ms,
            failed_tasks: 0,
            retried_tasks: 0,
            output: None,
            hang: false,
        }
    }
    /// A failed run (one failed task).
    pub fn failed(duration_ms: u64) -> Self {
        RunScript {
            result: RunResult::Failed,
            failed_tasks: 1,
            ..RunScript::success(duration_ms)
        }
    }
    /// A run that never finishes.
    pub fn hang() -> Self {
        RunScript {
            hang: true,
            ..RunScript::success(0)
        }
    }
    /// With this notebook exit value on the last task.
    pub fn output(mut self, json: &str) -> Self {
        self.output = Some(json.to_owned());
        self
    }
    /// With `n` retried tasks.
    pub fn retried(mut self, n: u32) -> Self {
        self.retried_tasks = n;
        self
    }
}

/// A run request as the script sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest<'a> {
    /// The job's id.
    pub job_id: i64,
    /// The job's name at the time of the run.
    pub job_name: &'a str,
    /// The `create-job` label of the job, when this deployment created it.
    pub label: Option<&'a str>,
    /// True for the live job.
    pub live: bool,
    /// The run's job parameters.
    pub parameters: &'a [(String, String)],
}

impl RunRequest<'_> {
    /// The value of job parameter `name`.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A job in the fake workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeJob {
    /// Its id.
    pub id: i64,
    /// Its JobSettings.
    pub settings: Value,
    /// The `create-job` label that made it, if a strategy did.
    pub label: Option<String>,
    /// Its ACL (JSON text), when set by `set-permissions`.
    pub acl: Option<String>,
}

impl FakeJob {
    /// `settings.name`.
    pub fn name(&self) -> &str {
        self.settings.get("name").and_then(Value::as_str).unwrap_or("")
    }
    /// Whether its schedule/trigger is paused.
    pub fn pause_status(&self) -> PauseStatus {
        rollout::pause_status(&self.settings)
    }
}

/// A run in the fake workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRun {
    /// The run as `wait-run` reports it once finished.
    pub summary: RunSummary,
    /// Its task outputs.
    pub outputs: Vec<TaskOutput>,
    /// The token that started it ("" for history runs).
    pub token: String,
    /// Never finishes.
    pub hang: bool,
}

/// One strategy call and what the fake workspace did with its actions.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// What the strategy returned.
    pub result: StepResult,
    /// One outcome per action (`skipped` after one that ended the step).
    pub outcomes: Vec<Outcome>,
}

/// Everything one [`FakeWorkspace::drive`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Drive {
    /// Every call, in order.
    pub steps: Vec<StepRecord>,
}

impl Drive {
    /// The last step result (paused, succeeded or failed).
    pub fn last(&self) -> &StepResult {
        &self.steps.last().expect("a drive makes at least one call").result
    }
    /// The phase the drive ended in.
    pub fn phase(&self) -> Phase {
        self.last().phase
    }
    /// The state to pass back on the next call.
    pub fn state(&self) -> String {
        self.last().state.clone()
    }
    /// Every action id requested, in order.
    pub fn action_ids(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| s.result.actions.iter().map(|a| a.id.clone()))
            .collect()
    }
    /// Every message, in order.
    pub fn messages(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.result.message.clone()).collect()
    }
}

type Script = Box<dyn FnMut(&RunRequest<'_>) -> RunScript>;
type Gates = Box<dyn FnMut(GatePoint, &[RunSummary]) -> Verdict>;
type Approver = Box<dyn FnMut(&str) -> OutcomeKind>;
type Failer = Box<dyn FnMut(&Action) -> Option<ActionFailure>>;
type Invariant = Box<dyn Fn(&FakeWorkspace) -> Option<String>>;

/// The fake workspace. See the module docs.
pub struct FakeWorkspace {
    /// Jobs by id.
    pub jobs: BTreeMap<i64, FakeJob>,
    /// Runs by id.
    pub runs: BTreeMap<i64, FakeRun>,
    /// The live job of the pipeline/environment, when there is one.
    pub live_job_id: Option<i64>,
    /// Active runs per job (for `list-active-runs`, `wait-active-runs`, `cancel-active-runs`).
    pub active: BTreeMap<i64, Vec<RunSummary>>,
    /// `wait-active-runs` times out while the job has active runs (instead of them finishing).
    pub active_runs_stuck: bool,
    /// The clock given to the strategy as `now-ms`.
    pub now_ms: u64,
    /// Every action performed (not skipped), in order.
    pub performed: Vec<Action>,
    /// Every job id deleted, in order.
    pub deleted: Vec<i64>,
    /// Invariant violations seen after an action (`<action id>: <what>`).
    pub violations: Vec<String>,
    created: BTreeMap<String, i64>,
    started: BTreeMap<String, i64>,
    tokens: BTreeMap<(i64, String), i64>,
    action_ids: BTreeSet<String>,
    next_job: i64,
    next_run: i64,
    script: Script,
    gates: Gates,
    approver: Approver,
    failer: Failer,
    invariants: Vec<(String, Invariant)>,
}

impl Default for FakeWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeWorkspace {
    /// An empty workspace at [`testing::MONDAY_NOON_MS`]: runs succeed in a minute, gates pass,
    /// approvals are granted by `approver`, nothing fails.
    pub fn new() -> Self {
        FakeWorkspace {
            jobs: BTreeMap::new(),
            runs: BTreeMap::new(),
            live_job_id: None,
            active: BTreeMap::new(),
            active_runs_stuck: false,
            now_ms: testing::MONDAY_NOON_MS,
            performed: Vec::new(),
            deleted: Vec::new(),
            violations: Vec::new(),
            created: BTreeMap::new(),
            started: BTreeMap::new(),
            tokens: BTreeMap::new(),
            action_ids: BTreeSet::new(),
            next_job: 1000,
            next_run: 50_000,
            script: Box::new(|_| RunScript::success(60_000)),
            gates: Box::new(|_, _| Verdict {
                decision: Decision::Pass,
                summary: "all gates passed".to_owned(),
                findings: Vec::new(),
            }),
            approver: Box::new(|_| {
                OutcomeKind::Approved(Approval {
                    by: "approver".to_owned(),
                    comment: String::new(),
                })
            }),
            failer: Box::new(|_| None),
            invariants: Vec::new(),
        }
    }

    /// Script runs: `f` decides how each started run goes.
    pub fn script(&mut self, f: impl FnMut(&RunRequest<'_>) -> RunScript + 'static) {
        self.script = Box::new(f);
    }

    /// Answer `gate-check`s with `f(point, evidence runs)`.
    pub fn gates(&mut self, f: impl FnMut(GatePoint, &[RunSummary]) -> Verdict + 'static) {
        self.gates = Box::new(f);
    }

    /// Answer `request-approval`s with `f(message)` (an `approved` or `rejected` outcome).
    pub fn approvals(&mut self, f: impl FnMut(&str) -> OutcomeKind + 'static) {
        self.approver = Box::new(f);
    }

    /// Make actions fail: `f` returns the failure for an action, or none to perform it.
    pub fn fail_when(&mut self, f: impl FnMut(&Action) -> Option<ActionFailure> + 'static) {
        self.failer = Box::new(f);
    }

    /// Check `f` after every action; a `Some(problem)` is recorded in [`Self::violations`].
    pub fn invariant(&mut self, name: &str, f: impl Fn(&FakeWorkspace) -> Option<String> + 'static) {
        self.invariants.push((name.to_owned(), Box::new(f)));
    }

    /// Add a job (not the live one); returns its id.
    pub fn add_job(&mut self, settings: &str) -> i64 {
        let id = self.next_job;
        self.next_job += 1;
        let settings: Value = serde_json::from_str(settings).expect("job settings are JSON");
        self.jobs.insert(
            id,
            FakeJob {
                id,
                settings,
                label: None,
                acl: None,
            },
        );
        id
    }

    /// Add the live job; returns its id.
    pub fn add_live_job(&mut self, settings: &str) -> i64 {
        let id = self.add_job(settings);
        self.live_job_id = Some(id);
        id
    }

    /// Add `n` finished runs of `job` (oldest first, an hour apart, ending an hour ago).
    pub fn add_history(&mut self, job: i64, n: usize, script: RunScript) {
        for i in 0..n {
            let start = self.now_ms - (n - i) as u64 * 3_600_000;
            let run = self.make_run(job, &[], &script, start);
            self.runs.insert(run.summary.run_id, run);
        }
    }

    /// Finished runs of `job`, newest first.
    pub fn history(&self, job: i64) -> Vec<&FakeRun> {
        let mut runs: Vec<&FakeRun> = self
            .runs
            .values()
            .filter(|r| r.summary.job_id == job && !r.hang)
            .collect();
        runs.sort_by_key(|r| std::cmp::Reverse((r.summary.start_ms, r.summary.run_id)));
        runs
    }

    /// Jobs named `name`.
    pub fn named(&self, name: &str) -> Vec<&FakeJob> {
        self.jobs.values().filter(|j| j.name() == name).collect()
    }

    /// Runs started by `run-job` actions (not history), in order.
    pub fn started_runs(&self) -> Vec<&FakeRun> {
        self.runs.values().filter(|r| !r.token.is_empty()).collect()
    }

    /// A deployment of `desired` (JSON) with `config` against the current live job.
    pub fn deployment(&self, desired: &str, config: &str) -> Deployment {
        let mut d = testing::deployment("prod", desired);
        d.config = config.to_owned();
        d.now_ms = self.now_ms;
        if let Some(live) = self.live_job_id.and_then(|id| self.jobs.get(&id)) {
            d.live = Some(live.settings.to_string());
            d.live_job_id = Some(live.id);
            let same = json_equal(&live.settings.to_string(), desired);
            d.plan = Plan {
                action: if same {
                    PlanAction::Unchanged
                } else {
                    PlanAction::Update
                },
                changes: Vec::new(),
            };
        }
        d
    }

    /// After a `succeeded` rollout, what the host verifies: exactly one job is named like the
    /// desired settings, it has them (a missing `pause_status` equals `UNPAUSED`) and, when the
    /// deployment sets one, the ACL. Returns that job's id.
    pub fn verify(&self, d: &Deployment) -> Result<i64, String> {
        let desired: Value = serde_json::from_str(&d.desired).map_err(|e| e.to_string())?;
        let name = desired.get("name").and_then(Value::as_str).unwrap_or("");
        let holding = self.named(name);
        let [job] = holding.as_slice() else {
            return Err(format!("{} jobs are named `{name}`", holding.len()));
        };
        if normalized(&job.settings) != normalized(&desired) {
            return Err(format!(
                "job {} does not have the desired settings:\n  have {}\n  want {}",
                job.id, job.settings, desired
            ));
        }
        if let Some(acl) = &d.acl
            && !job.acl.as_deref().is_some_and(|a| json_equal(a, acl))
        {
            return Err(format!("job {} does not have the desired ACL", job.id));
        }
        Ok(job.id)
    }

    /// Call `S::step` once and perform its actions; the deployment's `now-ms` is the fake
    /// clock's. Panics when the result breaks the contract.
    pub fn step<S: Strategy>(
        &mut self,
        d: &Deployment,
        state: Option<String>,
        outcomes: Vec<Outcome>,
    ) -> StepRecord {
        let mut d = d.clone();
        d.now_ms = self.now_ms;
        let result = S::step(d, state, outcomes)
            .unwrap_or_else(|e| panic!("step refused: {} ({})", e.message, e.code));
        assert!(
            result.state.len() <= 64 * 1024,
            "state is {} bytes",
            result.state.len()
        );
        if result.phase != Phase::Running {
            assert!(
                result.actions.is_empty(),
                "a {:?} step asked for actions",
                result.phase
            );
        }
        let mut outcomes = Vec::with_capacity(result.actions.len());
        let mut stopped = false;
        for action in &result.actions {
            assert!(
                self.action_ids.insert(action.id.clone()),
                "action id `{}` was used before in this deployment",
                action.id
            );
            if stopped {
                outcomes.push(Outcome {
                    action_id: action.id.clone(),
                    kind: OutcomeKind::Skipped,
                });
                continue;
            }
            let kind = self.perform(action);
            stopped = stops_step(&kind);
            outcomes.push(Outcome {
                action_id: action.id.clone(),
                kind,
            });
        }
        StepRecord { result, outcomes }
    }

    /// Call `S::step` from `state` with `outcomes`, perform, and repeat until the phase is not
    /// `running` (at most 200 calls).
    pub fn drive<S: Strategy>(
        &mut self,
        d: &Deployment,
        state: Option<String>,
        outcomes: Vec<Outcome>,
    ) -> Drive {
        let mut steps: Vec<StepRecord> = Vec::new();
        let (mut state, mut outcomes) = (state, outcomes);
        for _ in 0..200 {
            let record = self.step::<S>(d, state.take(), std::mem::take(&mut outcomes));
            let running = record.result.phase == Phase::Running;
            state = Some(record.result.state.clone());
            outcomes = record.outcomes.clone();
            steps.push(record);
            if !running {
                return Drive { steps };
            }
        }
        panic!("the strategy was still running after 200 steps")
    }

    /// Forget which action ids were used (to replay a step after a simulated crash: the host
    /// performs a journaled-but-unfinished action again with the same id).
    pub fn forget_action_ids(&mut self, ids: &[String]) {
        for id in ids {
            self.action_ids.remove(id);
        }
    }

    fn job_id(&self, job: &JobRef) -> Result<i64, ActionFailure> {
        match job {
            JobRef::Live => self
                .live_job_id
                .ok_or_else(|| failure("no-live-job", "there is no live job")),
            JobRef::Created(label) => self.created.get(label).copied().ok_or_else(|| {
                failure(
                    "unknown-label",
                    &format!("no job was created with label `{label}`"),
                )
            }),
            JobRef::Id(id) => Ok(*id),
        }
    }

    fn existing(&mut self, job: &JobRef) -> Result<&mut FakeJob, ActionFailure> {
        let id = self.job_id(job)?;
        self.jobs
            .get_mut(&id)
            .ok_or_else(|| failure("RESOURCE_DOES_NOT_EXIST", &format!("Job {id} does not exist.")))
    }

    fn run_id(&self, run: &RunRef) -> Result<i64, ActionFailure> {
        match run {
            RunRef::StartedBy(action) => self
                .started
                .get(action)
                .copied()
                .ok_or_else(|| failure("unknown-run", &format!("action `{action}` started no run"))),
            RunRef::Id(id) => Ok(*id),
        }
    }

    fn make_run(
        &mut self,
        job: i64,
        parameters: &[(String, String)],
        script: &RunScript,
        start: u64,
    ) -> FakeRun {
        let run_id = self.next_run;
        self.next_run += 1;
        let keys: Vec<String> = self
            .jobs
            .get(&job)
            .map(|j| {
                j.settings
                    .get("tasks")
                    .and_then(Value::as_array)
                    .map(|tasks| {
                        tasks
                            .iter()
                            .filter_map(|t| t.get("task_key").and_then(Value::as_str).map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let keys = if keys.is_empty() {
            vec!["main".to_owned()]
        } else {
            keys
        };
        let n = keys.len();
        let per_task = script.duration_ms / n as u64;
        let tasks: Vec<TaskSummary> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let failed = i + (script.failed_tasks as usize) >= n;
                TaskSummary {
                    task_key: key.clone(),
                    run_id: run_id * 100 + i as i64,
                    result_state: (!script.hang).then_some(if failed {
                        script.result
                    } else {
                        RunResult::Success
                    }),
                    start_ms: start + per_task * i as u64,
                    duration_ms: per_task,
                    attempts: if (i as u32) < script.retried_tasks { 2 } else { 1 },
                }
            })
            .collect();
        let outputs = keys
            .iter()
            .enumerate()
            .map(|(i, key)| TaskOutput {
                task_key: key.clone(),
                run_id: run_id * 100 + i as i64,
                notebook_result: if i + 1 == n { script.output.clone() } else { None },
                truncated: false,
                error: None,
                logs: None,
            })
            .collect();
        FakeRun {
            summary: RunSummary {
                run_id,
                job_id: job,
                result_state: (!script.hang).then_some(script.result),
                state_message: String::new(),
                start_ms: start,
                duration_ms: script.duration_ms,
                queue_ms: 0,
                parameters: parameters.to_vec(),
                tasks,
                failed_tasks: if script.hang { 0 } else { script.failed_tasks },
                retried_tasks: script.retried_tasks,
                url: None,
            },
            outputs,
            token: String::new(),
            hang: script.hang,
        }
    }

    /// Perform one action now (no step bookkeeping) and check the invariants.
    pub fn perform(&mut self, action: &Action) -> OutcomeKind {
        let kind = match (self.failer)(action) {
            Some(f) => OutcomeKind::Failed(f),
            None => match self.perform_kind(action) {
                Ok(kind) => kind,
                Err(f) => OutcomeKind::Failed(f),
            },
        };
        if !matches!(kind, OutcomeKind::Failed(_)) {
            self.performed.push(action.clone());
        }
        for (name, check) in &self.invariants {
            if let Some(problem) = check(self) {
                self.violations
                    .push(format!("after `{}`: {name}: {problem}", action.id));
            }
        }
        kind
    }

    fn perform_kind(&mut self, action: &Action) -> Result<OutcomeKind, ActionFailure> {
        Ok(match &action.kind {
            ActionKind::CreateJob(c) => {
                let settings: Value =
                    serde_json::from_str(&c.settings).map_err(|e| failure("bad-settings", &e.to_string()))?;
                if let Some(id) = self.created.get(&c.label)
                    && self.jobs.contains_key(id)
                {
                    // The host's resumed create finds the job it made before a crash.
                    return Ok(OutcomeKind::JobCreated(*id));
                }
                let id = self.next_job;
                self.next_job += 1;
                self.jobs.insert(
                    id,
                    FakeJob {
                        id,
                        settings,
                        label: Some(c.label.clone()),
                        acl: None,
                    },
                );
                self.created.insert(c.label.clone(), id);
                OutcomeKind::JobCreated(id)
            }
            ActionKind::ResetJob(r) => {
                let settings: Value =
                    serde_json::from_str(&r.settings).map_err(|e| failure("bad-settings", &e.to_string()))?;
                self.existing(&r.job)?.settings = settings;
                OutcomeKind::Done
            }
            ActionKind::DeleteJob(j) => {
                let id = self.job_id(j)?;
                if self.jobs.remove(&id).is_some() {
                    self.deleted.push(id);
                }
                self.active.remove(&id);
                OutcomeKind::Done
            }
            ActionKind::RenameJob(r) => {
                let job = self.existing(&r.job)?;
                if let Value::Object(m) = &mut job.settings {
                    m.insert("name".to_owned(), Value::String(r.name.clone()));
                }
                OutcomeKind::Done
            }
            ActionKind::PauseSchedule(j) => {
                rollout::set_pause(&mut self.existing(j)?.settings, true);
                OutcomeKind::Done
            }
            ActionKind::UnpauseSchedule(j) => {
                rollout::set_pause(&mut self.existing(j)?.settings, false);
                OutcomeKind::Done
            }
            ActionKind::CancelActiveRuns(j) => {
                let id = self.existing(j)?.id;
                self.active.remove(&id);
                OutcomeKind::Done
            }
            ActionKind::WaitActiveRuns(w) => {
                let id = self.existing(&w.job)?.id;
                let active = self.active.get(&id).cloned().unwrap_or_default();
                if active.is_empty() {
                    OutcomeKind::Done
                } else if self.active_runs_stuck {
                    self.now_ms += w.timeout_ms;
                    OutcomeKind::TimedOut(TimedOut {
                        run: active.into_iter().next(),
                    })
                } else {
                    self.now_ms += active.iter().map(|r| r.duration_ms).max().unwrap_or(0);
                    self.active.remove(&id);
                    OutcomeKind::Done
                }
            }
            ActionKind::ListActiveRuns(j) => {
                let id = self.existing(j)?.id;
                OutcomeKind::Runs(self.active.get(&id).cloned().unwrap_or_default())
            }
            ActionKind::RunJob(r) => {
                let token = &r.idempotency_token;
                if token.is_empty() || token.len() > 64 {
                    return Err(failure(
                        "INVALID_PARAMETER_VALUE",
                        &format!("idempotency token `{token}` is not 1 to 64 characters"),
                    ));
                }
                let job_id = self.existing(&r.job)?.id;
                let run_id = match self.tokens.get(&(job_id, token.clone())) {
                    Some(existing) => *existing,
                    None => {
                        let parameters: Vec<(String, String)> = r
                            .parameters
                            .iter()
                            .map(|p| (p.name.clone(), p.value.clone()))
                            .collect();
                        let job = &self.jobs[&job_id];
                        let request = RunRequest {
                            job_id,
                            job_name: job.name(),
                            label: job.label.as_deref(),
                            live: Some(job_id) == self.live_job_id,
                            parameters: &parameters,
                        };
                        let script = (self.script)(&request);
                        let mut run = self.make_run(job_id, &parameters, &script, self.now_ms);
                        run.token = token.clone();
                        let run_id = run.summary.run_id;
                        self.runs.insert(run_id, run);
                        self.tokens.insert((job_id, token.clone()), run_id);
                        run_id
                    }
                };
                self.started.insert(action.id.clone(), run_id);
                OutcomeKind::RunStarted(run_id)
            }
            ActionKind::WaitRun(w) => {
                let id = self.run_id(&w.run)?;
                let run = self.runs.get(&id).ok_or_else(|| {
                    failure("RESOURCE_DOES_NOT_EXIST", &format!("Run {id} does not exist."))
                })?;
                if run.hang || run.summary.duration_ms > w.timeout_ms {
                    let mut so_far = run.summary.clone();
                    so_far.result_state = None;
                    so_far.duration_ms = w.timeout_ms;
                    self.now_ms += w.timeout_ms;
                    OutcomeKind::TimedOut(TimedOut { run: Some(so_far) })
                } else {
                    self.now_ms = self.now_ms.max(run.summary.start_ms + run.summary.duration_ms);
                    OutcomeKind::RunFinished(run.summary.clone())
                }
            }
            ActionKind::RunHistory(h) => {
                let id = self.existing(&h.job)?.id;
                let runs = self
                    .history(id)
                    .into_iter()
                    .filter(|r| h.since_ms.is_none_or(|since| r.summary.start_ms >= since))
                    .take(h.limit as usize)
                    .map(|r| r.summary.clone())
                    .collect();
                OutcomeKind::Runs(runs)
            }
            ActionKind::RunOutput(r) => {
                let id = self.run_id(r)?;
                let run = self.runs.get(&id).ok_or_else(|| {
                    failure("RESOURCE_DOES_NOT_EXIST", &format!("Run {id} does not exist."))
                })?;
                OutcomeKind::Outputs(run.outputs.clone())
            }
            ActionKind::Wait(ms) => {
                self.now_ms += ms;
                OutcomeKind::Done
            }
            ActionKind::RequestApproval(message) => (self.approver)(message),
            ActionKind::SetPermissions(s) => {
                self.existing(&s.job)?.acl = Some(s.acl.clone());
                OutcomeKind::Done
            }
            ActionKind::VerifyJob(v) => {
                let job = self.existing(&v.job)?;
                let expected: Value =
                    serde_json::from_str(&v.settings).map_err(|e| failure("bad-settings", &e.to_string()))?;
                if normalized(&job.settings) == normalized(&expected) {
                    OutcomeKind::Verified(Vec::new())
                } else {
                    OutcomeKind::Verified(vec![Difference {
                        path: String::new(),
                        expected: Some(expected.to_string()),
                        actual: Some(job.settings.to_string()),
                    }])
                }
            }
            ActionKind::GateCheck(g) => {
                let mut evidence = Vec::new();
                for r in &g.evidence {
                    let id = self.run_id(r)?;
                    let run = self.runs.get(&id).ok_or_else(|| {
                        failure("RESOURCE_DOES_NOT_EXIST", &format!("Run {id} does not exist."))
                    })?;
                    evidence.push(run.summary.clone());
                }
                OutcomeKind::GateVerdict((self.gates)(g.point, &evidence))
            }
        })
    }
}

/// True when the host ends a step after this outcome.
pub fn stops_step(kind: &OutcomeKind) -> bool {
    match kind {
        OutcomeKind::Failed(_) | OutcomeKind::TimedOut(_) | OutcomeKind::Rejected(_) => true,
        OutcomeKind::GateVerdict(v) => matches!(v.decision, Decision::Fail | Decision::Inconclusive),
        _ => false,
    }
}

/// An action failure with a code and message (not retryable).
pub fn failure(code: &str, message: &str) -> ActionFailure {
    ActionFailure {
        code: code.to_owned(),
        message: message.to_owned(),
        retryable: false,
    }
}

/// Settings with `pause_status` made explicit (absent = `UNPAUSED`), for comparison.
fn normalized(settings: &Value) -> Value {
    let mut s = settings.clone();
    for block in rollout::TRIGGER_BLOCKS {
        if let Some(Value::Object(b)) = s.get_mut(block) {
            b.entry("pause_status")
                .or_insert_with(|| Value::String("UNPAUSED".to_owned()));
        }
    }
    s
}

/// An invariant: at most one job whose name starts with `prefix` has an unpaused schedule.
pub fn at_most_one_unpaused(prefix: &str) -> impl Fn(&FakeWorkspace) -> Option<String> + 'static {
    let prefix = prefix.to_owned();
    move |ws| {
        let unpaused: Vec<String> = ws
            .jobs
            .values()
            .filter(|j| j.name().starts_with(&prefix) && j.pause_status() == PauseStatus::Unpaused)
            .map(|j| format!("{} ({})", j.id, j.name()))
            .collect();
        (unpaused.len() > 1)
            .then(|| format!("{} unpaused schedules: {}", unpaused.len(), unpaused.join(", ")))
    }
}

/// An invariant: at most one job is named exactly `name`.
pub fn at_most_one_named(name: &str) -> impl Fn(&FakeWorkspace) -> Option<String> + 'static {
    let name = name.to_owned();
    move |ws| {
        let n = ws.named(&name).len();
        (n > 1).then(|| format!("{n} jobs named `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CreateJob, Parameter, RunJob, WaitRun};

    fn action(id: &str, kind: ActionKind) -> Action {
        Action::new(id, kind)
    }

    #[test]
    fn runs_are_started_once_per_token_and_scripted() {
        let mut ws = FakeWorkspace::new();
        let live = ws.add_live_job(testing::CUSTOMER_360_SETTINGS);
        ws.script(|r| {
            if r.parameter("f") == Some("0.1") {
                RunScript::failed(10_000)
            } else {
                RunScript::success(60_000).output(r#"{"rows": 5}"#)
            }
        });
        let run = |id: &str, token: &str, f: &str| {
            action(
                id,
                ActionKind::RunJob(RunJob {
                    job: JobRef::Live,
                    parameters: vec![Parameter {
                        name: "f".into(),
                        value: f.into(),
                    }],
                    idempotency_token: token.into(),
                }),
            )
        };
        let a = ws.perform(&run("a", "t1", "1"));
        let b = ws.perform(&run("b", "t1", "0.1"));
        assert_eq!(a, b, "same token, same run");
        let OutcomeKind::RunStarted(first) = a else {
            panic!("{a:?}")
        };
        let c = ws.perform(&run("c", "t2", "0.1"));
        let OutcomeKind::RunStarted(second) = c else {
            panic!("{c:?}")
        };
        assert_ne!(first, second);
        let wait = ws.perform(&action(
            "w",
            ActionKind::WaitRun(WaitRun {
                run: RunRef::StartedBy("c".into()),
                timeout_ms: 60_000,
            }),
        ));
        let OutcomeKind::RunFinished(summary) = wait else {
            panic!("{wait:?}")
        };
        assert_eq!(summary.result_state, Some(RunResult::Failed));
        assert_eq!(summary.failed_tasks, 1);
        assert_eq!(
            summary.tasks.last().unwrap().result_state,
            Some(RunResult::Failed)
        );
        assert_eq!(summary.tasks[0].result_state, Some(RunResult::Success));
        assert_eq!(ws.history(live).len(), 2);
        assert_eq!(
            ws.runs[&first].outputs.last().unwrap().notebook_result.as_deref(),
            Some(r#"{"rows": 5}"#)
        );
    }

    #[test]
    fn created_labels_resolve_and_deleting_twice_is_done() {
        let mut ws = FakeWorkspace::new();
        ws.invariant("one", at_most_one_named("x"));
        let create = action(
            "create",
            ActionKind::CreateJob(CreateJob {
                label: "green".into(),
                settings: r#"{"name": "x"}"#.into(),
            }),
        );
        let OutcomeKind::JobCreated(id) = ws.perform(&create) else {
            panic!()
        };
        let delete = action("d1", ActionKind::DeleteJob(JobRef::Created("green".into())));
        assert_eq!(ws.perform(&delete), OutcomeKind::Done);
        assert_eq!(ws.perform(&delete), OutcomeKind::Done);
        assert_eq!(ws.deleted, [id]);
        let rename = action(
            "r",
            ActionKind::RenameJob(crate::types::RenameJob {
                job: JobRef::Id(id),
                name: "y".into(),
            }),
        );
        assert!(matches!(ws.perform(&rename), OutcomeKind::Failed(f) if f.code == "RESOURCE_DOES_NOT_EXIST"));
        let missing = action("m", ActionKind::DeleteJob(JobRef::Live));
        assert!(matches!(ws.perform(&missing), OutcomeKind::Failed(f) if f.code == "no-live-job"));
        ws.add_job(r#"{"name": "x"}"#);
        ws.add_job(r#"{"name": "x"}"#);
        ws.perform(&action("wait", ActionKind::Wait(5)));
        assert_eq!(ws.violations, ["after `wait`: one: 2 jobs named `x`"]);
    }
}
