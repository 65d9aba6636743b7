//! The persisted facts of the Jobs service: jobs (settings, ACL), runs (inputs and scripted plan),
//! idempotency tokens, scripted outcome rules and id counters, in one JSON document.
//!
//! Everything a client sees about a run is *derived* from these facts and the current time (see
//! [`super::sim`]); the only run facts written after a run is triggered are events (`cancelled_at`)
//! and values that are already fixed by the past (`promoted_at`, `ended_at`), recorded by
//! [`Store::settle`] at the start of every mutation so later mutations (deleting a finished run,
//! say) cannot rewrite history.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scripts::ScriptRule;
use super::sim::{self, NEVER};

/// First job id handed out: ids look like real ones (10^14 range) and stay below 2^53.
pub const JOB_ID_BASE: i64 = 100_000_000_000_000;
/// First run id handed out (job runs and task runs share this counter).
pub const RUN_ID_BASE: i64 = 500_000_000_000_000;

/// The whole Jobs service state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    /// The last job id handed out (0 before the first).
    #[serde(default)]
    pub last_job_id: i64,
    /// The last run id handed out (0 before the first).
    #[serde(default)]
    pub last_run_id: i64,
    /// The latest instant a mutation applied at: time never goes back for the facts recorded.
    #[serde(default)]
    pub clock_floor: i64,
    /// The last script id handed out.
    #[serde(default)]
    pub last_script_id: u64,
    #[serde(default)]
    pub jobs: BTreeMap<i64, JobRecord>,
    #[serde(default)]
    pub runs: BTreeMap<i64, RunRecord>,
    /// `job:<job_id>:<token>` or `submit:<token>` → the run the token started.
    #[serde(default)]
    pub idempotency: BTreeMap<String, i64>,
    /// Scripted outcome rules, oldest first (the newest matching rule wins).
    #[serde(default)]
    pub scripts: Vec<ScriptRule>,
}

/// A job: its stored settings (exact JSON, server defaults applied) and its direct ACL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: i64,
    pub created_time: i64,
    pub creator_user_name: String,
    pub run_as_user_name: String,
    pub settings: Map<String, Value>,
    /// Direct permissions; exactly one entry is `IS_OWNER`.
    pub acl: Vec<AclEntry>,
}

/// A principal and its direct permission level on a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    pub principal: Grantee,
    pub level: String,
}

/// Who a permission is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grantee {
    User(String),
    Group(String),
    ServicePrincipal(String),
}

/// How a run was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunType {
    JobRun,
    SubmitRun,
}

impl RunType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobRun => "JOB_RUN",
            Self::SubmitRun => "SUBMIT_RUN",
        }
    }
}

/// What happened to a run when it was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Started at once (`created`).
    Started,
    /// Waiting for a free slot under `max_concurrent_runs`; starts in FIFO order.
    Queued,
    /// The concurrency limit was reached and queueing was off: terminal at once.
    Skipped,
}

/// The scripted result of one task attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Success,
    Failed,
    Timedout,
    InternalError,
    /// Runs until cancelled or timed out.
    Hang,
}

/// A task's `run_if` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunIf {
    AllSuccess,
    AllDone,
    NoneFailed,
    AtLeastOneSuccess,
    AllFailed,
    AtLeastOneFailed,
}

impl RunIf {
    pub const NAMES: [&'static str; 6] = [
        "ALL_SUCCESS",
        "ALL_DONE",
        "NONE_FAILED",
        "AT_LEAST_ONE_SUCCESS",
        "ALL_FAILED",
        "AT_LEAST_ONE_FAILED",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "ALL_SUCCESS" => Self::AllSuccess,
            "ALL_DONE" => Self::AllDone,
            "NONE_FAILED" => Self::NoneFailed,
            "AT_LEAST_ONE_SUCCESS" => Self::AtLeastOneSuccess,
            "ALL_FAILED" => Self::AllFailed,
            "AT_LEAST_ONE_FAILED" => Self::AtLeastOneFailed,
            _ => return None,
        })
    }
}

/// A dependency of a task inside one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dep {
    pub task_key: String,
    /// `Some(true|false)`: the upstream is a condition task and only this outcome satisfies the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<bool>,
}

/// One task of a run: its settings as triggered and its scripted plan, all durations already in
/// wall milliseconds (scaled by the run speed when the run was triggered).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskPlan {
    pub task_key: String,
    /// The task's settings, echoed in `runs/get`.
    pub settings: Map<String, Value>,
    pub deps: Vec<Dep>,
    pub run_if: RunIf,
    #[serde(default)]
    pub disabled: bool,
    /// For a condition task: the evaluated outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<bool>,
    /// 1 + max_retries (capped).
    pub max_attempts: u32,
    pub retry_interval_ms: i64,
    #[serde(default)]
    pub retry_on_timeout: bool,
    /// Task timeout (0 = none).
    pub timeout_ms: i64,
    pub pending_ms: i64,
    pub run_ms: i64,
    pub cleanup_ms: i64,
    /// Outcome per attempt; the last one repeats for later attempts.
    pub outcomes: Vec<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The script rule that decided this plan, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_id: Option<u64>,
    /// Attempt `k` has run id `first_run_id + k`.
    pub first_run_id: i64,
}

impl TaskPlan {
    /// The scripted outcome of attempt `k`.
    pub fn outcome(&self, attempt: u32) -> Outcome {
        let index = usize::try_from(attempt).unwrap_or(usize::MAX);
        self.outcomes
            .get(index)
            .or(self.outcomes.last())
            .copied()
            .unwrap_or(Outcome::Success)
    }
}

/// A run: what was triggered, when, with what plan, and the events since.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: i64,
    pub job_id: i64,
    pub run_name: String,
    pub run_type: RunType,
    pub creator_user_name: String,
    /// Trigger time; the run's `start_time`.
    pub created: i64,
    pub disposition: Disposition,
    /// `max_concurrent_runs` when triggered (decides queueing and the queue messages).
    pub max_concurrent_runs: i64,
    /// Job timeout (0 = none), wall milliseconds.
    pub timeout_ms: i64,
    pub tasks: Vec<TaskPlan>,
    /// Run-level fields echoed in `runs/get` (`job_clusters`, `git_source`, `description`, ...).
    #[serde(default)]
    pub echo: Map<String, Value>,
    /// `[{name, default, value}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overriding_parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_token: Option<String>,
    /// Last run id reserved for this run's task attempts.
    pub last_reserved_id: i64,
    /// When the user cancelled it (an event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<i64>,
    /// For a queued run: when it left the queue (recorded once it is in the past).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_at: Option<i64>,
    /// When it reached a terminal state (recorded once it is in the past).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// When a run starts, as far as the facts known now tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStart {
    /// Started (or will start, if in the future) at this time.
    At(i64),
    /// Still waiting in the queue with no known start.
    Waiting,
    /// Left the queue without starting: cancelled at this time.
    CancelledInQueue(i64),
    /// Skipped at trigger time.
    Skipped,
}

impl Store {
    pub fn next_job_id(&mut self) -> i64 {
        self.last_job_id = self.last_job_id.max(JOB_ID_BASE) + 1;
        self.last_job_id
    }

    pub fn next_run_id(&mut self) -> i64 {
        self.last_run_id = self.last_run_id.max(RUN_ID_BASE) + 1;
        self.last_run_id
    }

    /// Keeps a new run, under its idempotency key when it has one (so a retried request finds
    /// it instead of starting another); returns its id.
    pub fn insert_run(&mut self, run: RunRecord, idempotency_key: Option<String>) -> i64 {
        let run_id = run.run_id;
        self.runs.insert(run_id, run);
        if let Some(key) = idempotency_key {
            self.idempotency.insert(key, run_id);
        }
        run_id
    }

    pub fn next_script_id(&mut self) -> u64 {
        self.last_script_id += 1;
        self.last_script_id
    }

    /// The job run owning `run_id`, and for a task run id the (task index, attempt) it names.
    pub fn find_run(&self, run_id: i64) -> Option<(&RunRecord, Option<(usize, u32)>)> {
        let (_, run) = self.runs.range(..=run_id).next_back()?;
        if run.run_id == run_id {
            return Some((run, None));
        }
        if run_id > run.last_reserved_id {
            return None;
        }
        run.tasks.iter().enumerate().find_map(|(index, task)| {
            let attempt = u32::try_from(run_id - task.first_run_id).ok()?;
            (attempt < task.max_attempts).then_some((run, Some((index, attempt))))
        })
    }

    /// When `run` starts (deriving the queue of its job if it was queued).
    pub fn run_start(&self, run: &RunRecord) -> RunStart {
        match run.disposition {
            Disposition::Started => RunStart::At(run.created),
            Disposition::Skipped => RunStart::Skipped,
            Disposition::Queued => match run.promoted_at {
                Some(at) => RunStart::At(at),
                None => self
                    .derive_queue(run.job_id)
                    .remove(&run.run_id)
                    .unwrap_or(RunStart::Waiting),
            },
        }
    }

    /// The end of a run that started at `start` (`NEVER` while unknown).
    fn run_end(run: &RunRecord, start: i64) -> i64 {
        run.ended_at.unwrap_or_else(|| sim::timeline(run, start).end)
    }

    /// Derives when each queued run of `job_id` leaves the queue: in trigger order, each one at the
    /// first instant when fewer than its `max_concurrent_runs` earlier runs are active and every
    /// run queued before it has started.
    pub fn derive_queue(&self, job_id: i64) -> HashMap<i64, RunStart> {
        let mut out = HashMap::new();
        let mut occupied: Vec<(i64, i64)> = Vec::new();
        let mut last_queued_start = i64::MIN;
        for run in self.runs.values().filter(|run| run.job_id == job_id) {
            match run.disposition {
                Disposition::Skipped => {}
                Disposition::Started => {
                    if run.ended_at.is_some_and(|end| end <= last_queued_start) {
                        continue;
                    }
                    occupied.push((run.created, Self::run_end(run, run.created)));
                }
                Disposition::Queued => {
                    let start = match run.promoted_at {
                        Some(at) => RunStart::At(at),
                        None => {
                            let earliest = run.created.max(last_queued_start);
                            let slot = first_free_slot(&occupied, earliest, run.max_concurrent_runs);
                            match run.cancelled_at {
                                Some(cancelled) if cancelled <= slot => RunStart::CancelledInQueue(cancelled),
                                _ if slot == NEVER => RunStart::Waiting,
                                _ => RunStart::At(slot),
                            }
                        }
                    };
                    match start {
                        RunStart::At(at) => {
                            last_queued_start = last_queued_start.max(at);
                            occupied.push((at, Self::run_end(run, at)));
                        }
                        RunStart::Waiting => last_queued_start = NEVER,
                        RunStart::CancelledInQueue(_) | RunStart::Skipped => {}
                    }
                    out.insert(run.run_id, start);
                }
            }
            // Runs that ended before the next candidate instant no longer matter.
            occupied.retain(|&(_, end)| end > last_queued_start);
        }
        out
    }

    /// How many runs of `job_id` hold or wait for a slot at `now`.
    pub fn job_load(&self, job_id: i64, now: i64) -> i64 {
        let queue = self.derive_queue(job_id);
        let mut load = 0;
        for run in self.runs.values().filter(|run| run.job_id == job_id) {
            if run.ended_at.is_some_and(|end| end <= now) {
                continue;
            }
            let start = match run.disposition {
                Disposition::Skipped => continue,
                Disposition::Started => RunStart::At(run.created),
                Disposition::Queued => match run.promoted_at {
                    Some(at) => RunStart::At(at),
                    None => queue.get(&run.run_id).copied().unwrap_or(RunStart::Waiting),
                },
            };
            load += match start {
                // Started and not yet over, or still queued (a future start is still a wait).
                RunStart::At(at) => i64::from(at > now || Self::run_end(run, at) > now),
                RunStart::Waiting => 1,
                RunStart::CancelledInQueue(at) => i64::from(at > now),
                RunStart::Skipped => 0,
            };
        }
        load
    }

    /// Records the facts the past has fixed: queue promotions and run ends up to `now`.
    pub fn settle(&mut self, now: i64) {
        let mut queues: HashMap<i64, HashMap<i64, RunStart>> = HashMap::new();
        let mut updates: Vec<(i64, Option<i64>, Option<i64>)> = Vec::new();
        for run in self.runs.values().filter(|run| run.ended_at.is_none()) {
            let start = match (run.disposition, run.promoted_at) {
                (Disposition::Skipped, _) => RunStart::Skipped,
                (Disposition::Started, _) => RunStart::At(run.created),
                (Disposition::Queued, Some(at)) => RunStart::At(at),
                (Disposition::Queued, None) => queues
                    .entry(run.job_id)
                    .or_insert_with(|| self.derive_queue(run.job_id))
                    .get(&run.run_id)
                    .copied()
                    .unwrap_or(RunStart::Waiting),
            };
            let (promoted, ended) = match start {
                RunStart::At(at) if at <= now => {
                    let promoted =
                        (run.disposition == Disposition::Queued && run.promoted_at.is_none()).then_some(at);
                    let end = sim::timeline(run, at).end;
                    (promoted, (end <= now).then_some(end))
                }
                RunStart::CancelledInQueue(at) if at <= now => (None, Some(at)),
                RunStart::Skipped => (None, Some(run.created)),
                _ => (None, None),
            };
            if promoted.is_some() || ended.is_some() {
                updates.push((run.run_id, promoted, ended));
            }
        }
        for (run_id, promoted, ended) in updates {
            if let Some(run) = self.runs.get_mut(&run_id) {
                if promoted.is_some() {
                    run.promoted_at = promoted;
                }
                if ended.is_some() {
                    run.ended_at = ended;
                }
            }
        }
    }
}

/// The first instant `t >= earliest` at which fewer than `limit` of the `occupied` intervals
/// `[start, end)` contain `t`; `NEVER` if there is none.
fn first_free_slot(occupied: &[(i64, i64)], earliest: i64, limit: i64) -> i64 {
    if limit <= 0 {
        return NEVER;
    }
    let mut candidates: Vec<i64> = occupied
        .iter()
        .map(|&(_, end)| end)
        .filter(|&end| end > earliest)
        .collect();
    candidates.push(earliest);
    candidates.sort_unstable();
    for t in candidates {
        if t == NEVER {
            break;
        }
        let busy = occupied
            .iter()
            .filter(|&&(start, end)| start <= t && t < end)
            .count();
        if i64::try_from(busy).unwrap_or(i64::MAX) < limit {
            return t;
        }
    }
    NEVER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_free_slot_waits_for_the_earliest_end() {
        assert_eq!(first_free_slot(&[], 10, 1), 10);
        assert_eq!(first_free_slot(&[(0, 50)], 10, 1), 50);
        assert_eq!(first_free_slot(&[(0, 50)], 10, 2), 10);
        assert_eq!(first_free_slot(&[(0, 50), (5, 30)], 10, 2), 30);
        assert_eq!(first_free_slot(&[(0, NEVER)], 10, 1), NEVER);
        assert_eq!(first_free_slot(&[], 10, 0), NEVER);
    }
}
