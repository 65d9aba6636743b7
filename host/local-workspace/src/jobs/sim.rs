//! The run simulation: a run's whole timeline as a pure function of its persisted facts.
//!
//! [`timeline`] lays a started run out in wall time: every task attempt's setup (`PENDING`),
//! execution (`RUNNING`) and cleanup (`TERMINATING`) intervals, the waits before retries, which
//! tasks are skipped by their `run_if`, and the run's final result. [`Phase`] then reads the state
//! of one attempt at any instant. Nothing here looks at the clock or mutates anything, so two reads
//! at the same instant agree, a restarted server derives the same history, and tests are
//! deterministic.
//!
//! Interrupts: a user cancel (`cancelled_at`) or the job timeout stops every attempt still in
//! setup or execution at that instant (its cleanup still runs) and every task not yet started.
//! A task timeout stops one attempt, which is retried only with `retry_on_timeout`.

use std::collections::HashMap;

use super::store::{Outcome, RunIf, RunRecord, TaskPlan};

/// "Not in this timeline": an instant that is never reached.
pub const NEVER: i64 = i64::MAX;

/// The result of a task attempt (or of a task that never ran).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskResult {
    Success,
    Failed,
    /// Stopped by the task's timeout, or scripted `TIMEDOUT`.
    TimedOut,
    /// Stopped by the job's timeout.
    JobTimedOut,
    InternalError,
    Canceled,
    UpstreamFailed,
    UpstreamCanceled,
    Excluded,
    Disabled,
    /// Never ends (a hang with nothing to stop it yet).
    Unfinished,
}

impl TaskResult {
    /// Counts as a success for the job result (leaf tasks) and downstream `run_if`.
    pub fn is_ok(self) -> bool {
        matches!(self, Self::Success | Self::Excluded | Self::Disabled)
    }
}

/// One task attempt (an entry of the run's `tasks` array) laid out in time.
#[derive(Debug, Clone)]
pub struct Entry {
    pub task: usize,
    pub attempt: u32,
    pub run_id: i64,
    /// When the entry appears in `tasks` (run start for attempt 0, the previous attempt's end for
    /// a retry).
    pub visible_from: i64,
    /// Until this instant the entry is `BLOCKED` (attempt 0) or `WAITING_FOR_RETRY` (a retry).
    pub wait_until: i64,
    /// Whether the attempt ran (had setup and execution phases).
    pub executed: bool,
    pub running_from: i64,
    pub stop: i64,
    pub end: i64,
    pub result: TaskResult,
}

/// The state of an entry at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Hidden,
    Blocked,
    WaitingForRetry,
    Pending,
    Running,
    Terminating,
    Done(TaskResult),
}

impl Entry {
    pub fn phase(&self, now: i64) -> Phase {
        if now < self.visible_from {
            Phase::Hidden
        } else if now < self.wait_until {
            if self.attempt == 0 {
                Phase::Blocked
            } else {
                Phase::WaitingForRetry
            }
        } else if !self.executed {
            if now >= self.end {
                Phase::Done(self.result)
            } else {
                Phase::Blocked
            }
        } else if now < self.running_from {
            Phase::Pending
        } else if now < self.stop {
            Phase::Running
        } else if now < self.end {
            Phase::Terminating
        } else {
            Phase::Done(self.result)
        }
    }

    /// When the attempt started setup (or was decided, for a task that never ran).
    pub fn start(&self) -> i64 {
        self.wait_until
    }
}

/// The job-run result once every task is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Success,
    SuccessWithFailures,
    /// A task failed: the index of the first task whose own attempt failed.
    Failed {
        task: usize,
    },
    /// A task hit a platform failure.
    InternalError {
        task: usize,
    },
    /// A task timed out (and no task failed otherwise).
    TimedOut {
        task: usize,
    },
    /// The job timeout stopped the run.
    JobTimedOut,
    Canceled,
    Unfinished,
}

/// A started run, laid out in wall time.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Entries ordered by task (as triggered), then attempt.
    pub entries: Vec<Entry>,
    /// Index into `entries` of each task's last attempt.
    pub last_entry: Vec<usize>,
    /// When the first attempt began executing (`NEVER` if none did).
    pub first_running: i64,
    /// Cancel or job-timeout instant (`NEVER` if none).
    pub interrupt: i64,
    pub end: i64,
    pub outcome: RunOutcome,
}

/// How a dependency looks to a downstream `run_if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepState {
    Ok,
    /// A condition-task edge whose outcome was not taken.
    NotTaken,
    Failed,
    Canceled,
}

fn dep_state(result: TaskResult, wanted: Option<bool>, condition: Option<bool>) -> DepState {
    match result {
        TaskResult::Success => match wanted {
            Some(wanted) if condition != Some(wanted) => DepState::NotTaken,
            _ => DepState::Ok,
        },
        TaskResult::Excluded | TaskResult::Disabled => {
            if wanted.is_some() {
                DepState::NotTaken
            } else {
                DepState::Ok
            }
        }
        TaskResult::Failed
        | TaskResult::TimedOut
        | TaskResult::InternalError
        | TaskResult::UpstreamFailed
        | TaskResult::JobTimedOut => DepState::Failed,
        TaskResult::Canceled | TaskResult::UpstreamCanceled | TaskResult::Unfinished => DepState::Canceled,
    }
}

/// `None` if the task runs; otherwise the result it gets without running.
fn evaluate_run_if(run_if: RunIf, deps: &[DepState]) -> Option<TaskResult> {
    if deps.is_empty() {
        return None;
    }
    let any = |state: DepState| deps.contains(&state);
    let all = |state: DepState| deps.iter().all(|&dep| dep == state);
    let upstream = || {
        if any(DepState::Failed) {
            Some(TaskResult::UpstreamFailed)
        } else if any(DepState::Canceled) {
            Some(TaskResult::UpstreamCanceled)
        } else {
            None
        }
    };
    match run_if {
        RunIf::AllDone => None,
        RunIf::AllSuccess => upstream().or_else(|| any(DepState::NotTaken).then_some(TaskResult::Excluded)),
        RunIf::NoneFailed => upstream(),
        RunIf::AtLeastOneSuccess => {
            if any(DepState::Ok) {
                None
            } else {
                upstream().or(Some(TaskResult::Excluded))
            }
        }
        RunIf::AllFailed => (!all(DepState::Failed)).then_some(TaskResult::Excluded),
        RunIf::AtLeastOneFailed => (!any(DepState::Failed)).then_some(TaskResult::Excluded),
    }
}

/// Task indices in an order where every task comes after its dependencies (the DAG was checked
/// for cycles when the job was written; anything left over is appended in declaration order).
fn topological_order(tasks: &[TaskPlan], index: &HashMap<&str, usize>) -> Vec<usize> {
    let mut indegree = vec![0usize; tasks.len()];
    let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, task) in tasks.iter().enumerate() {
        for dep in &task.deps {
            if let Some(&j) = index.get(dep.task_key.as_str()) {
                indegree[i] += 1;
                downstream[j].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..tasks.len()).filter(|&i| indegree[i] == 0).rev().collect();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &k in downstream[i].iter().rev() {
            indegree[k] -= 1;
            if indegree[k] == 0 {
                ready.push(k);
            }
        }
    }
    if order.len() < tasks.len() {
        let placed: Vec<bool> = (0..tasks.len()).map(|i| order.contains(&i)).collect();
        order.extend((0..tasks.len()).filter(|&i| !placed[i]));
    }
    order
}

fn add(at: i64, ms: i64) -> i64 {
    if at == NEVER {
        NEVER
    } else {
        at.saturating_add(ms.max(0))
    }
}

/// Lays out a run that started at `start`.
pub fn timeline(run: &RunRecord, start: i64) -> Timeline {
    let tasks = &run.tasks;
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_key.as_str(), i))
        .collect();
    let cancel = run.cancelled_at.map(|at| at.max(start)).unwrap_or(NEVER);
    let job_timeout = if run.timeout_ms > 0 {
        add(start, run.timeout_ms)
    } else {
        NEVER
    };
    let interrupt = cancel.min(job_timeout);
    let interrupt_result = if cancel <= job_timeout {
        TaskResult::Canceled
    } else {
        TaskResult::JobTimedOut
    };

    let mut per_task: Vec<Vec<Entry>> = vec![Vec::new(); tasks.len()];
    let mut task_end = vec![NEVER; tasks.len()];
    let mut task_result = vec![TaskResult::Unfinished; tasks.len()];
    let mut interrupted = false;

    for i in topological_order(tasks, &index) {
        let task = &tasks[i];
        let deps: Vec<(usize, Option<bool>)> = task
            .deps
            .iter()
            .filter_map(|dep| index.get(dep.task_key.as_str()).map(|&j| (j, dep.outcome)))
            .collect();
        let ready = deps
            .iter()
            .map(|&(j, _)| task_end[j])
            .max()
            .unwrap_or(start)
            .max(start);
        let never_ran = |at: i64, result: TaskResult| Entry {
            task: i,
            attempt: 0,
            run_id: task.first_run_id,
            visible_from: start,
            wait_until: at,
            executed: false,
            running_from: at,
            stop: at,
            end: at,
            result,
        };

        if ready >= interrupt {
            if interrupt != NEVER {
                interrupted = true;
            }
            let result = if interrupt == NEVER {
                TaskResult::Unfinished
            } else {
                interrupt_result
            };
            per_task[i].push(never_ran(interrupt, result));
        } else if task.disabled {
            per_task[i].push(never_ran(ready, TaskResult::Disabled));
        } else {
            let states: Vec<DepState> = deps
                .iter()
                .map(|&(j, wanted)| dep_state(task_result[j], wanted, tasks[j].condition))
                .collect();
            if let Some(result) = evaluate_run_if(task.run_if, &states) {
                per_task[i].push(never_ran(ready, result));
            } else {
                interrupted |= lay_out_attempts(
                    task,
                    i,
                    start,
                    ready,
                    interrupt,
                    interrupt_result,
                    &mut per_task[i],
                );
            }
        }
        if let Some(last) = per_task[i].last() {
            task_end[i] = last.end;
            task_result[i] = last.result;
        }
    }

    let mut entries = Vec::new();
    let mut last_entry = Vec::with_capacity(tasks.len());
    for attempts in per_task {
        entries.extend(attempts);
        last_entry.push(entries.len().saturating_sub(1));
    }
    let end = if tasks.is_empty() {
        start
    } else {
        task_end.iter().copied().max().unwrap_or(start)
    };
    let first_running = entries
        .iter()
        .filter(|e| e.executed)
        .map(|e| e.running_from)
        .min()
        .unwrap_or(NEVER);
    let outcome = if end == NEVER {
        RunOutcome::Unfinished
    } else if interrupted {
        if interrupt_result == TaskResult::Canceled {
            RunOutcome::Canceled
        } else {
            RunOutcome::JobTimedOut
        }
    } else {
        job_outcome(tasks, &task_result, &index)
    };
    Timeline {
        entries,
        last_entry,
        first_running,
        interrupt,
        end,
        outcome,
    }
}

/// Lays out the attempts of a task that became ready at `ready`; `true` if an interrupt stopped it.
fn lay_out_attempts(
    task: &TaskPlan,
    i: usize,
    run_start: i64,
    ready: i64,
    interrupt: i64,
    interrupt_result: TaskResult,
    out: &mut Vec<Entry>,
) -> bool {
    let mut visible_from = run_start;
    let mut begin = ready;
    for attempt in 0..task.max_attempts.max(1) {
        let run_id = task.first_run_id + i64::from(attempt);
        if begin >= interrupt {
            out.push(Entry {
                task: i,
                attempt,
                run_id,
                visible_from,
                wait_until: interrupt,
                executed: false,
                running_from: interrupt,
                stop: interrupt,
                end: interrupt,
                result: interrupt_result,
            });
            return true;
        }
        let outcome = task.outcome(attempt);
        let running_from = add(begin, task.pending_ms);
        let natural_stop = if outcome == Outcome::Hang {
            NEVER
        } else {
            add(running_from, task.run_ms)
        };
        let task_timeout = if task.timeout_ms > 0 {
            add(begin, task.timeout_ms)
        } else {
            NEVER
        };
        let kill = task_timeout.min(interrupt);
        let (stop, result, by_interrupt) = if kill < natural_stop {
            if task_timeout <= interrupt {
                (kill, TaskResult::TimedOut, false)
            } else {
                (kill, interrupt_result, true)
            }
        } else {
            let result = match outcome {
                Outcome::Success => TaskResult::Success,
                Outcome::Failed => TaskResult::Failed,
                Outcome::Timedout => TaskResult::TimedOut,
                Outcome::InternalError => TaskResult::InternalError,
                Outcome::Hang => TaskResult::Unfinished,
            };
            (natural_stop, result, false)
        };
        let end = add(stop, task.cleanup_ms);
        out.push(Entry {
            task: i,
            attempt,
            run_id,
            visible_from,
            wait_until: begin,
            executed: true,
            running_from: running_from.min(stop),
            stop,
            end,
            result,
        });
        if by_interrupt {
            return true;
        }
        let retryable = match result {
            TaskResult::Failed | TaskResult::InternalError => true,
            TaskResult::TimedOut => task.retry_on_timeout,
            _ => false,
        };
        if !retryable || attempt + 1 >= task.max_attempts || end == NEVER {
            return false;
        }
        visible_from = end;
        begin = end.max(add(begin, task.retry_interval_ms));
    }
    false
}

/// The job-run result from the final task results: leaves decide success.
fn job_outcome(tasks: &[TaskPlan], results: &[TaskResult], index: &HashMap<&str, usize>) -> RunOutcome {
    let mut is_leaf = vec![true; tasks.len()];
    for task in tasks {
        for dep in &task.deps {
            if let Some(&j) = index.get(dep.task_key.as_str()) {
                is_leaf[j] = false;
            }
        }
    }
    let leaves_ok = (0..tasks.len())
        .filter(|&i| is_leaf[i])
        .all(|i| results[i].is_ok());
    if leaves_ok {
        return if results.iter().all(|r| r.is_ok()) {
            RunOutcome::Success
        } else {
            RunOutcome::SuccessWithFailures
        };
    }
    if let Some(task) = results.iter().position(|&r| r == TaskResult::Failed) {
        return RunOutcome::Failed { task };
    }
    if let Some(task) = results.iter().position(|&r| r == TaskResult::InternalError) {
        return RunOutcome::InternalError { task };
    }
    if let Some(task) = results.iter().position(|&r| r == TaskResult::TimedOut) {
        return RunOutcome::TimedOut { task };
    }
    // Only upstream skips or cancellations remain: report the first failing leaf.
    let task = (0..tasks.len())
        .find(|&i| is_leaf[i] && !results[i].is_ok())
        .unwrap_or(0);
    RunOutcome::Failed { task }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::jobs::store::{Dep, Disposition, RunType};

    fn task(key: &str, deps: &[&str], outcomes: &[Outcome]) -> TaskPlan {
        TaskPlan {
            task_key: key.to_owned(),
            settings: Map::new(),
            deps: deps
                .iter()
                .map(|d| Dep {
                    task_key: (*d).to_owned(),
                    outcome: None,
                })
                .collect(),
            run_if: RunIf::AllSuccess,
            disabled: false,
            condition: None,
            max_attempts: 1,
            retry_interval_ms: 0,
            retry_on_timeout: false,
            timeout_ms: 0,
            pending_ms: 10,
            run_ms: 30,
            cleanup_ms: 2,
            outcomes: outcomes.to_vec(),
            output: None,
            error: None,
            script_id: None,
            first_run_id: 0,
        }
    }

    fn run(mut tasks: Vec<TaskPlan>) -> RunRecord {
        for (i, task) in tasks.iter_mut().enumerate() {
            task.first_run_id = 1000 + 100 * i64::try_from(i).unwrap();
        }
        RunRecord {
            run_id: 1,
            job_id: 2,
            run_name: "r".into(),
            run_type: RunType::JobRun,
            creator_user_name: "u".into(),
            created: 0,
            disposition: Disposition::Started,
            max_concurrent_runs: 1,
            timeout_ms: 0,
            tasks,
            echo: Map::new(),
            job_parameters: None,
            overriding_parameters: None,
            idempotency_token: None,
            last_reserved_id: 2000,
            cancelled_at: None,
            promoted_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn a_chain_runs_task_after_task() {
        let tl = timeline(&run(vec![task("a", &[], &[]), task("b", &["a"], &[])]), 100);
        assert_eq!(tl.entries[0].wait_until, 100);
        assert_eq!(tl.entries[0].end, 142);
        assert_eq!(tl.entries[1].wait_until, 142);
        assert_eq!(tl.end, 184);
        assert_eq!(tl.outcome, RunOutcome::Success);
        assert_eq!(tl.entries[1].phase(120), Phase::Blocked);
        assert_eq!(tl.entries[1].phase(150), Phase::Pending);
        assert_eq!(tl.entries[1].phase(160), Phase::Running);
        assert_eq!(tl.entries[1].phase(183), Phase::Terminating);
        assert_eq!(tl.entries[1].phase(184), Phase::Done(TaskResult::Success));
    }

    #[test]
    fn retries_wait_for_the_interval_and_get_new_run_ids() {
        let mut a = task("a", &[], &[Outcome::Failed, Outcome::Success]);
        a.max_attempts = 3;
        a.retry_interval_ms = 100;
        let tl = timeline(&run(vec![a]), 0);
        assert_eq!(tl.entries.len(), 2);
        assert_eq!(tl.entries[0].result, TaskResult::Failed);
        assert_eq!(tl.entries[1].attempt, 1);
        assert_eq!(tl.entries[1].run_id, tl.entries[0].run_id + 1);
        assert_eq!(tl.entries[1].visible_from, 42);
        assert_eq!(tl.entries[1].wait_until, 100);
        assert_eq!(tl.entries[1].phase(50), Phase::WaitingForRetry);
        assert_eq!(tl.entries[1].phase(20), Phase::Hidden);
        assert_eq!(tl.outcome, RunOutcome::Success);
    }

    #[test]
    fn a_failure_skips_downstream_unless_run_if_allows() {
        let mut c = task("c", &["a"], &[]);
        c.run_if = RunIf::AllDone;
        let mut d = task("d", &["a"], &[]);
        d.run_if = RunIf::AllFailed;
        let mut e = task("e", &["a"], &[]);
        e.run_if = RunIf::AtLeastOneSuccess;
        let tl = timeline(
            &run(vec![
                task("a", &[], &[Outcome::Failed]),
                task("b", &["a"], &[]),
                c,
                d,
                e,
            ]),
            0,
        );
        let results: Vec<TaskResult> = tl.last_entry.iter().map(|&i| tl.entries[i].result).collect();
        assert_eq!(
            results,
            [
                TaskResult::Failed,
                TaskResult::UpstreamFailed,
                TaskResult::Success,
                TaskResult::Success,
                TaskResult::UpstreamFailed
            ]
        );
        assert_eq!(tl.outcome, RunOutcome::Failed { task: 0 });
    }

    #[test]
    fn failed_non_leaf_with_successful_leaves_is_success_with_failures() {
        let mut b = task("b", &["a"], &[]);
        b.run_if = RunIf::AllDone;
        let tl = timeline(&run(vec![task("a", &[], &[Outcome::Failed]), b]), 0);
        assert_eq!(tl.outcome, RunOutcome::SuccessWithFailures);
    }

    #[test]
    fn task_timeout_stops_a_hang_and_cancel_stops_everything() {
        let mut a = task("a", &[], &[Outcome::Hang]);
        a.timeout_ms = 500;
        let tl = timeline(&run(vec![a.clone()]), 0);
        assert_eq!(tl.entries[0].stop, 500);
        assert_eq!(tl.entries[0].result, TaskResult::TimedOut);
        assert_eq!(tl.outcome, RunOutcome::TimedOut { task: 0 });

        a.timeout_ms = 0;
        let mut r = run(vec![a, task("b", &["a"], &[])]);
        assert_eq!(timeline(&r, 0).end, NEVER);
        assert_eq!(timeline(&r, 0).entries[0].phase(1_000_000), Phase::Running);
        r.cancelled_at = Some(300);
        let tl = timeline(&r, 0);
        assert_eq!(tl.entries[0].stop, 300);
        assert_eq!(tl.entries[0].end, 302);
        assert_eq!(tl.entries[0].result, TaskResult::Canceled);
        assert_eq!(tl.entries[1].result, TaskResult::Canceled);
        assert!(!tl.entries[1].executed);
        assert_eq!(tl.outcome, RunOutcome::Canceled);
        assert_eq!(tl.end, 302);
    }

    #[test]
    fn job_timeout_times_the_run_out() {
        let mut r = run(vec![task("a", &[], &[Outcome::Hang])]);
        r.timeout_ms = 1000;
        let tl = timeline(&r, 50);
        assert_eq!(tl.entries[0].stop, 1050);
        assert_eq!(tl.outcome, RunOutcome::JobTimedOut);
    }

    #[test]
    fn condition_edges_exclude_the_branch_not_taken() {
        let mut cond = task("check", &[], &[]);
        cond.condition = Some(false);
        let mut yes = task("yes", &[], &[]);
        yes.deps = vec![Dep {
            task_key: "check".into(),
            outcome: Some(true),
        }];
        let mut no = task("no", &[], &[]);
        no.deps = vec![Dep {
            task_key: "check".into(),
            outcome: Some(false),
        }];
        let tl = timeline(&run(vec![cond, yes, no]), 0);
        let results: Vec<TaskResult> = tl.last_entry.iter().map(|&i| tl.entries[i].result).collect();
        assert_eq!(
            results,
            [TaskResult::Success, TaskResult::Excluded, TaskResult::Success]
        );
        assert_eq!(tl.outcome, RunOutcome::Success);
    }

    #[test]
    fn disabled_tasks_do_not_run_and_do_not_fail_the_run() {
        let mut a = task("a", &[], &[Outcome::Failed]);
        a.disabled = true;
        let tl = timeline(&run(vec![a, task("b", &["a"], &[])]), 0);
        assert_eq!(tl.entries[0].result, TaskResult::Disabled);
        assert_eq!(tl.entries[1].result, TaskResult::Success);
        assert_eq!(tl.outcome, RunOutcome::Success);
    }
}
