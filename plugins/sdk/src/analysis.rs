//! Canary analysis: judge a new version's runs against the live job's recent runs.
//!
//! Everything here is a pure function over run summaries and task outputs, so a custom
//! strategy can reuse it and tests need no host.
//!
//! # Concepts
//!
//! - An [`Observation`] is one finished run reduced to what analysis needs: did it succeed,
//!   how long it took, how many tasks failed or were retried, the share of the work it did
//!   (`fraction`, 1 for a full run) and the numeric metrics the pipeline reported through its
//!   run output (`dbutils.notebook.exit('{"rows": 1000}')`). Observations are serde types, so
//!   a strategy can keep its baseline in its state.
//! - The **baseline** is the live job's last N finished runs; only successful ones count.
//! - [`Thresholds`] say what the canary may do: failed runs, failed tasks, retried tasks,
//!   duration against the baseline's 90th percentile with a tolerance, and per-metric bounds
//!   (absolute `min`/`max`, relative `max_increase`/`max_decrease` against the baseline median).
//! - [`analyze`] returns an [`Analysis`]: one [`Check`] per rule and the overall [`Status`]:
//!   any check `fail` → fail; else any `inconclusive` → inconclusive; else pass.
//!   Inconclusive means "cannot judge": a metric missing from a run's output, or a baseline
//!   smaller than `min_baseline_runs` (unless `allow_empty_baseline`, which skips the
//!   baseline comparisons instead).
//!
//! # Metrics
//!
//! A metric name is a key of the JSON object a task passed to `dbutils.notebook.exit`, with
//! dots for nested objects (`rows.written`) and optionally a task key and a colon in front
//! (`aggregate-gold:rows`) to read one task. Without a task key the value comes from the last
//! task, in the run's task order, whose output has it (usually the final stage). Numbers and
//! numeric strings count; a truncated output counts as missing.
//!
//! A metric that grows with the share of the work (row counts) sets `scales_with_fraction`:
//! its baseline expectation is then the baseline median times the canary run's fraction.
//!
//! ```
//! use brickship_plugin_sdk::analysis::{analyze, MetricRule, Observation, Status, Thresholds};
//! let baseline: Vec<Observation> = (0..5).map(|i| Observation::success(i, 60_000).metric("rows", 1000.0)).collect();
//! let canary = vec![Observation::success(9, 50_000).metric("rows", 990.0)];
//! let rules = Thresholds {
//!     metrics: vec![MetricRule::new("rows").max_decrease(0.05)],
//!     ..Thresholds::default()
//! };
//! let analysis = analyze(&canary, &baseline, &rules);
//! assert_eq!(analysis.status, Status::Pass, "{}", analysis.summary);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config;
use crate::rollout::duration;
use crate::types::{ConfigProblem, Decision, RunResult, RunSummary, TaskOutput, Verdict};

/// How one check (or the whole analysis) came out, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Within bounds.
    Pass,
    /// Not judged, by configuration (e.g. no baseline and `allow_empty_baseline`).
    Skipped,
    /// Could not judge: data missing.
    Inconclusive,
    /// Out of bounds.
    Fail,
}

impl Status {
    /// `pass`, `skipped`, `inconclusive`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skipped => "skipped",
            Status::Inconclusive => "inconclusive",
            Status::Fail => "fail",
        }
    }
}

/// One finished run, reduced to what analysis needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The run's id.
    pub run_id: i64,
    /// The run's result (`success`, `failed`, …), or `running` when it had not finished.
    pub result: String,
    /// Wall time of the run, ms.
    pub duration_ms: u64,
    /// Tasks whose result is not success/excluded/disabled.
    pub failed_tasks: u32,
    /// Tasks that needed more than one attempt.
    pub retried_tasks: u32,
    /// Share of the work the run did (1 for a full run).
    pub fraction: f64,
    /// Metrics read from the run output (only those some rule asks for).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

impl Observation {
    /// Reduce a run and its task outputs, reading the metrics `rules` name.
    pub fn from_run(run: &RunSummary, outputs: &[TaskOutput], fraction: f64, rules: &[MetricRule]) -> Self {
        let metrics = rules
            .iter()
            .filter_map(|r| read_metric(outputs, &r.name).map(|v| (r.name.clone(), v)))
            .collect();
        Observation {
            run_id: run.run_id,
            result: run.result_state.map_or("running", run_result_name).to_owned(),
            duration_ms: run.duration_ms,
            failed_tasks: run.failed_tasks,
            retried_tasks: run.retried_tasks,
            fraction,
            metrics,
        }
    }

    /// A successful full run (for tests and examples).
    pub fn success(run_id: i64, duration_ms: u64) -> Self {
        Observation {
            run_id,
            result: "success".to_owned(),
            duration_ms,
            failed_tasks: 0,
            retried_tasks: 0,
            fraction: 1.0,
            metrics: BTreeMap::new(),
        }
    }

    /// With metric `name` = `value`.
    pub fn metric(mut self, name: &str, value: f64) -> Self {
        self.metrics.insert(name.to_owned(), value);
        self
    }

    /// True when the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.result == "success"
    }
}

/// The kebab-case name of a run result (`success-with-failures`).
pub fn run_result_name(r: RunResult) -> &'static str {
    match r {
        RunResult::Success => "success",
        RunResult::Failed => "failed",
        RunResult::TimedOut => "timed-out",
        RunResult::Canceled => "canceled",
        RunResult::Skipped => "skipped",
        RunResult::InternalError => "internal-error",
        RunResult::SuccessWithFailures => "success-with-failures",
        RunResult::UpstreamFailed => "upstream-failed",
        RunResult::UpstreamCanceled => "upstream-canceled",
        RunResult::Excluded => "excluded",
        RunResult::Disabled => "disabled",
        RunResult::MaximumConcurrentRunsReached => "maximum-concurrent-runs-reached",
    }
}

/// Read metric `name` (see the module docs) from a run's task outputs.
pub fn read_metric(outputs: &[TaskOutput], name: &str) -> Option<f64> {
    let (task, path) = match name.split_once(':') {
        Some((task, path)) => (Some(task), path),
        None => (None, name),
    };
    outputs
        .iter()
        .rev()
        .filter(|o| task.is_none_or(|t| o.task_key == t) && !o.truncated)
        .find_map(|o| {
            let value: Value = serde_json::from_str(o.notebook_result.as_deref()?).ok()?;
            let mut at = &value;
            for key in path.split('.') {
                at = at.get(key)?;
            }
            match at {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
                _ => None,
            }
        })
}

/// Bounds on one metric. At least one bound must be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRule {
    /// Where the value is (see the module docs): `rows`, `stats.null_rate`, `gold:rows`.
    pub name: String,
    /// Every canary run's value must be at most this.
    #[serde(default)]
    pub max: Option<f64>,
    /// Every canary run's value must be at least this.
    #[serde(default)]
    pub min: Option<f64>,
    /// The canary's mean may exceed the baseline median by at most this fraction (0.1 = 10 %).
    #[serde(default)]
    pub max_increase: Option<f64>,
    /// The canary's mean may fall below the baseline median by at most this fraction.
    #[serde(default)]
    pub max_decrease: Option<f64>,
    /// The metric grows with the share of the work (row counts): compare with the baseline
    /// median times the canary run's fraction.
    #[serde(default)]
    pub scales_with_fraction: bool,
}

impl MetricRule {
    /// A rule on `name` with no bounds yet.
    pub fn new(name: &str) -> Self {
        MetricRule {
            name: name.to_owned(),
            max: None,
            min: None,
            max_increase: None,
            max_decrease: None,
            scales_with_fraction: false,
        }
    }
    /// With an absolute maximum.
    pub fn max(mut self, v: f64) -> Self {
        self.max = Some(v);
        self
    }
    /// With an absolute minimum.
    pub fn min(mut self, v: f64) -> Self {
        self.min = Some(v);
        self
    }
    /// With a relative maximum increase over the baseline.
    pub fn max_increase(mut self, v: f64) -> Self {
        self.max_increase = Some(v);
        self
    }
    /// With a relative maximum decrease below the baseline.
    pub fn max_decrease(mut self, v: f64) -> Self {
        self.max_decrease = Some(v);
        self
    }
    /// Scaling with the canary's fraction.
    pub fn scaled(mut self) -> Self {
        self.scales_with_fraction = true;
        self
    }
    fn relative(&self) -> bool {
        self.max_increase.is_some() || self.max_decrease.is_some()
    }
}

/// What the canary may do. [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Canary runs that may fail (default 0).
    pub max_failed_runs: u32,
    /// Failed tasks, summed over the canary runs (default 0).
    pub max_failed_tasks: u32,
    /// Retried tasks, summed over the canary runs (default 1).
    pub max_retried_tasks: u32,
    /// A canary run may take this fraction longer than the baseline's p90 (default 0.5).
    pub duration_tolerance: f64,
    /// Metric bounds (default none).
    pub metrics: Vec<MetricRule>,
    /// Fewer successful baseline runs make the analysis inconclusive (default 3).
    pub min_baseline_runs: u32,
    /// Judge without a (big enough) baseline: skip the baseline comparisons (default false).
    pub allow_empty_baseline: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_failed_runs: 0,
            max_failed_tasks: 0,
            max_retried_tasks: 1,
            duration_tolerance: 0.5,
            metrics: Vec::new(),
            min_baseline_runs: 3,
            allow_empty_baseline: false,
        }
    }
}

impl Thresholds {
    /// Problems with these thresholds, with JSON pointers under `prefix` ("" at the root of a
    /// configuration).
    pub fn problems(&self, prefix: &str) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        if !(self.duration_tolerance.is_finite() && self.duration_tolerance >= 0.0) {
            out.push(config::problem(
                format!("{prefix}/duration_tolerance"),
                "must be a number of at least 0 (0.5 lets a canary run take 50% longer than the baseline p90)",
            ));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            let at = |field: &str| format!("{prefix}/metrics/{i}{field}");
            if m.name.trim().is_empty() || m.name.ends_with(':') || m.name.contains("..") {
                out.push(config::problem(
                    at("/name"),
                    "must name a key of the run output, e.g. `rows` or `gold:stats.rows`",
                ));
            }
            if m.max.is_none() && m.min.is_none() && !m.relative() {
                out.push(config::problem(
                    at(""),
                    format!(
                        "metric `{}` has no bound; set `max`, `min`, `max_increase` or `max_decrease`",
                        m.name
                    ),
                ));
            }
            if let (Some(min), Some(max)) = (m.min, m.max)
                && min > max
            {
                out.push(config::problem(
                    at("/min"),
                    format!("is {min}, above `max` ({max})"),
                ));
            }
            for (field, v) in [
                ("/max_increase", m.max_increase),
                ("/max_decrease", m.max_decrease),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    out.push(config::problem(
                        at(field),
                        "must be a fraction of at least 0 (0.1 = 10%)",
                    ));
                }
            }
        }
        out
    }
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked: `runs`, `failed-tasks`, `retried-tasks`, `duration`, `baseline`,
    /// `metric:<name>`, `gates`.
    pub name: String,
    /// How it came out.
    pub status: Status,
    /// One phrase for people (`duration 52s vs p90 1m (+50% allowed)`).
    pub detail: String,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Overall: fail if any check failed, else inconclusive if any was, else pass.
    pub status: Status,
    /// Every check, in rule order.
    pub checks: Vec<Check>,
    /// One line: the status, then the details, problems first
    /// (`pass — duration 52s vs p90 1m (+50% allowed), 0 failed tasks, rows 1000 vs baseline 980`).
    pub summary: String,
}

impl Analysis {
    fn new(checks: Vec<Check>) -> Self {
        let status = checks
            .iter()
            .map(|c| c.status)
            .filter(|s| *s != Status::Skipped)
            .max()
            .unwrap_or(Status::Pass);
        let mut ordered: Vec<&Check> = checks.iter().collect();
        ordered.sort_by_key(|c| std::cmp::Reverse(problem_rank(c.status)));
        let details: Vec<&str> = ordered.iter().map(|c| c.detail.as_str()).collect();
        let summary = format!("{} — {}", status.as_str(), details.join(", "));
        Analysis {
            status,
            checks,
            summary,
        }
    }

    /// The checks that failed or were inconclusive.
    pub fn problems(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Inconclusive))
            .collect()
    }

    /// Fold in the combined verdict of a `gate-check`: `fail` fails, `inconclusive` makes the
    /// analysis inconclusive, `warn` and `pass` pass (a warning shows in the detail).
    pub fn with_gates(self, verdict: &Verdict) -> Self {
        let status = match verdict.decision {
            Decision::Pass | Decision::Warn => Status::Pass,
            Decision::Inconclusive => Status::Inconclusive,
            Decision::Fail => Status::Fail,
        };
        let mut checks = self.checks;
        checks.push(Check {
            name: "gates".to_owned(),
            status,
            detail: format!(
                "gates {}: {}",
                crate::rollout::decision_name(verdict.decision),
                verdict.summary
            ),
        });
        Analysis::new(checks)
    }

    /// One more check, recomputing the status and summary.
    pub fn with_check(self, check: Check) -> Self {
        let mut checks = self.checks;
        checks.push(check);
        Analysis::new(checks)
    }
}

fn problem_rank(s: Status) -> u8 {
    match s {
        Status::Fail => 2,
        Status::Inconclusive => 1,
        Status::Pass | Status::Skipped => 0,
    }
}

/// The `p`-th percentile (0..=100) of `values` by linear interpolation between closest ranks
/// (numpy's default); none for no values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// The median of `values`; none for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("{}%", p.round() as i64)
    } else {
        format!("{p:.1}%")
    }
}

/// Judge `canary` runs against the `baseline` (the live job's recent runs, any result) with
/// `t`. See the module docs.
pub fn analyze(canary: &[Observation], baseline: &[Observation], t: &Thresholds) -> Analysis {
    let mut checks = Vec::new();
    let good_baseline: Vec<&Observation> = baseline.iter().filter(|b| b.succeeded()).collect();
    let enough_baseline = good_baseline.len() >= t.min_baseline_runs.max(1) as usize;
    let compare = enough_baseline;

    // Baseline size.
    if !enough_baseline {
        let have = plural(good_baseline.len(), "successful run", "successful runs");
        let need = t.min_baseline_runs.max(1);
        checks.push(if t.allow_empty_baseline {
            Check {
                name: "baseline".to_owned(),
                status: Status::Skipped,
                detail: format!("baseline has {have} ({need} needed): baseline comparisons skipped"),
            }
        } else {
            Check {
                name: "baseline".to_owned(),
                status: Status::Inconclusive,
                detail: format!(
                    "baseline has {have}, {need} needed (set `allow_empty_baseline` to judge without one)"
                ),
            }
        });
    }

    // Runs.
    let failed: Vec<&Observation> = canary.iter().filter(|c| !c.succeeded()).collect();
    checks.push(if canary.is_empty() {
        Check {
            name: "runs".to_owned(),
            status: Status::Inconclusive,
            detail: "no canary run to judge".to_owned(),
        }
    } else if failed.len() as u32 > t.max_failed_runs {
        let which: Vec<String> = failed
            .iter()
            .map(|c| format!("run {} {}", c.run_id, c.result))
            .collect();
        Check {
            name: "runs".to_owned(),
            status: Status::Fail,
            detail: format!(
                "{} of {} failed ({}; {} allowed)",
                failed.len(),
                plural(canary.len(), "run", "runs"),
                which.join(", "),
                t.max_failed_runs
            ),
        }
    } else {
        Check {
            name: "runs".to_owned(),
            status: Status::Pass,
            detail: format!(
                "{}/{} succeeded",
                canary.len() - failed.len(),
                plural(canary.len(), "run", "runs")
            ),
        }
    });

    // Tasks.
    let failed_tasks: u32 = canary.iter().map(|c| c.failed_tasks).sum();
    checks.push(Check {
        name: "failed-tasks".to_owned(),
        status: if failed_tasks > t.max_failed_tasks {
            Status::Fail
        } else {
            Status::Pass
        },
        detail: if failed_tasks > t.max_failed_tasks {
            format!(
                "{} ({} allowed)",
                plural(failed_tasks as usize, "failed task", "failed tasks"),
                t.max_failed_tasks
            )
        } else {
            plural(failed_tasks as usize, "failed task", "failed tasks")
        },
    });
    let retried: u32 = canary.iter().map(|c| c.retried_tasks).sum();
    checks.push(Check {
        name: "retried-tasks".to_owned(),
        status: if retried > t.max_retried_tasks {
            Status::Fail
        } else {
            Status::Pass
        },
        detail: format!(
            "{} ({} allowed)",
            plural(retried as usize, "retried task", "retried tasks"),
            t.max_retried_tasks
        ),
    });

    // Duration against the baseline p90.
    let durations: Vec<f64> = good_baseline.iter().map(|b| b.duration_ms as f64).collect();
    let canary_max = canary
        .iter()
        .filter(|c| c.succeeded())
        .map(|c| c.duration_ms)
        .max();
    match (compare, percentile(&durations, 90.0), canary_max) {
        (true, Some(p90), Some(longest)) => {
            let limit = p90 * (1.0 + t.duration_tolerance);
            let detail = format!(
                "duration {} vs p90 {} (+{} allowed)",
                duration(longest),
                duration(p90.round() as u64),
                percent(t.duration_tolerance)
            );
            checks.push(Check {
                name: "duration".to_owned(),
                status: if longest as f64 > limit {
                    Status::Fail
                } else {
                    Status::Pass
                },
                detail,
            });
        }
        (_, _, None) => {}
        _ => checks.push(Check {
            name: "duration".to_owned(),
            status: Status::Skipped,
            detail: "duration not compared (no baseline)".to_owned(),
        }),
    }

    // Metrics.
    for rule in &t.metrics {
        checks.push(metric_check(
            rule,
            canary,
            &good_baseline,
            compare,
            t.allow_empty_baseline,
        ));
    }
    Analysis::new(checks)
}

fn metric_check(
    rule: &MetricRule,
    canary: &[Observation],
    baseline: &[&Observation],
    compare: bool,
    allow_empty_baseline: bool,
) -> Check {
    let name = &rule.name;
    let check = |status, detail: String| Check {
        name: format!("metric:{name}"),
        status,
        detail,
    };
    let missing: Vec<String> = canary
        .iter()
        .filter(|c| !c.metrics.contains_key(name))
        .map(|c| c.run_id.to_string())
        .collect();
    if canary.is_empty() {
        return check(Status::Inconclusive, format!("{name}: no canary run"));
    }
    if !missing.is_empty() {
        return check(
            Status::Inconclusive,
            format!("{name} missing from the output of run {}", missing.join(", ")),
        );
    }
    let values: Vec<(f64, f64)> = canary
        .iter()
        .filter_map(|c| c.metrics.get(name).map(|v| (*v, c.fraction)))
        .collect();
    let mean = values.iter().map(|(v, _)| v).sum::<f64>() / values.len() as f64;
    let mean_fraction = values.iter().map(|(_, f)| f).sum::<f64>() / values.len() as f64;
    let mut problems = Vec::new();
    if let Some(max) = rule.max
        && let Some(worst) = values.iter().map(|(v, _)| *v).reduce(f64::max)
        && worst > max
    {
        problems.push(format!("{} above max {}", number(worst), number(max)));
    }
    if let Some(min) = rule.min
        && let Some(worst) = values.iter().map(|(v, _)| *v).reduce(f64::min)
        && worst < min
    {
        problems.push(format!("{} below min {}", number(worst), number(min)));
    }
    let mut detail = format!("{name} {}", number(mean));
    let mut status = Status::Pass;
    if rule.relative() {
        let base: Vec<f64> = baseline
            .iter()
            .filter_map(|b| b.metrics.get(name).copied())
            .collect();
        match (compare, median(&base)) {
            (true, Some(base_median)) => {
                let expected = if rule.scales_with_fraction {
                    base_median * mean_fraction
                } else {
                    base_median
                };
                let change = if expected == 0.0 {
                    if mean == 0.0 {
                        0.0
                    } else {
                        f64::INFINITY.copysign(mean)
                    }
                } else {
                    (mean - expected) / expected.abs()
                };
                let sign = if change >= 0.0 { "+" } else { "" };
                detail = format!(
                    "{name} {} vs baseline {} ({sign}{})",
                    number(mean),
                    number(expected),
                    if change.is_finite() {
                        percent(change)
                    } else {
                        "∞".to_owned()
                    }
                );
                if let Some(up) = rule.max_increase
                    && change > up
                {
                    problems.push(format!("more than +{} over the baseline", percent(up)));
                }
                if let Some(down) = rule.max_decrease
                    && -change > down
                {
                    problems.push(format!("more than -{} below the baseline", percent(down)));
                }
            }
            (true, None) if !allow_empty_baseline => {
                status = Status::Inconclusive;
                detail = format!("{name} {}: the baseline runs do not report it", number(mean));
            }
            _ => {
                detail = format!("{name} {} (not compared: no baseline)", number(mean));
            }
        }
    }
    if !problems.is_empty() {
        return check(Status::Fail, format!("{detail}: {}", problems.join(", ")));
    }
    check(status, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn baseline(durations: &[u64]) -> Vec<Observation> {
        durations
            .iter()
            .enumerate()
            .map(|(i, d)| Observation::success(100 + i as i64, *d))
            .collect()
    }

    fn status_of<'a>(a: &'a Analysis, name: &str) -> &'a Check {
        a.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check `{name}` in {a:?}"))
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert_eq!(percentile(&[], 90.0), None);
        assert_eq!(percentile(&[60.0], 90.0), Some(60.0));
        assert_eq!(percentile(&[10.0, 20.0], 50.0), Some(15.0));
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(5.0));
        assert_eq!(median(&v), Some(3.0));
        let p90 = percentile(&v, 90.0).unwrap();
        assert!((p90 - 4.6).abs() < 1e-9, "{p90}");
        assert_eq!(percentile(&[1.0, f64::NAN, 3.0], 50.0), Some(2.0));
    }

    #[test]
    fn duration_within_tolerance_passes_and_beyond_fails() {
        let base = baseline(&[50_000, 55_000, 60_000, 58_000, 52_000]);
        let t = Thresholds::default();
        let p90 = percentile(&[50_000.0, 55_000.0, 60_000.0, 58_000.0, 52_000.0], 90.0).unwrap();
        let ok = analyze(&[Observation::success(1, (p90 * 1.5) as u64)], &base, &t);
        assert_eq!(ok.status, Status::Pass, "{}", ok.summary);
        assert_eq!(
            status_of(&ok, "duration").detail,
            "duration 1m 28s vs p90 59s (+50% allowed)"
        );
        let slow = analyze(&[Observation::success(1, (p90 * 1.5) as u64 + 1_000)], &base, &t);
        assert_eq!(slow.status, Status::Fail);
        assert_eq!(status_of(&slow, "duration").status, Status::Fail);
        let strict = Thresholds {
            duration_tolerance: 0.0,
            ..Thresholds::default()
        };
        let a = analyze(&[Observation::success(1, 59_500)], &base, &strict);
        assert_eq!(a.status, Status::Fail, "{}", a.summary);
    }

    #[test]
    fn failed_runs_tasks_and_retries_count_against_their_limits() {
        let base = baseline(&[60_000; 5]);
        let mut bad = Observation::success(7, 30_000);
        bad.result = "failed".into();
        bad.failed_tasks = 2;
        let a = analyze(
            &[Observation::success(6, 30_000), bad.clone()],
            &base,
            &Thresholds::default(),
        );
        assert_eq!(a.status, Status::Fail);
        assert_eq!(
            status_of(&a, "runs").detail,
            "1 of 2 runs failed (run 7 failed; 0 allowed)"
        );
        assert_eq!(status_of(&a, "failed-tasks").detail, "2 failed tasks (0 allowed)");
        assert!(
            a.summary.starts_with("fail — 1 of 2 runs failed"),
            "{}",
            a.summary
        );
        let lenient = Thresholds {
            max_failed_runs: 1,
            max_failed_tasks: 2,
            ..Thresholds::default()
        };
        assert_eq!(analyze(&[bad], &base, &lenient).status, Status::Pass);

        let mut retried = Observation::success(8, 30_000);
        retried.retried_tasks = 2;
        let a = analyze(&[retried], &base, &Thresholds::default());
        assert_eq!(status_of(&a, "retried-tasks").status, Status::Fail);
        assert_eq!(
            status_of(&a, "retried-tasks").detail,
            "2 retried tasks (1 allowed)"
        );
    }

    #[test]
    fn metric_thresholds_absolute_and_relative() {
        let base: Vec<Observation> = [980.0, 1000.0, 1020.0]
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Observation::success(i as i64, 60_000)
                    .metric("rows", *r)
                    .metric("null_rate", 0.01)
            })
            .collect();
        let t = Thresholds {
            metrics: vec![
                MetricRule::new("rows").max_decrease(0.05).max_increase(0.05),
                MetricRule::new("null_rate").max(0.02),
            ],
            ..Thresholds::default()
        };
        let good = Observation::success(9, 40_000)
            .metric("rows", 1010.0)
            .metric("null_rate", 0.015);
        let a = analyze(&[good], &base, &t);
        assert_eq!(a.status, Status::Pass, "{}", a.summary);
        assert_eq!(
            status_of(&a, "metric:rows").detail,
            "rows 1010 vs baseline 1000 (+1%)"
        );
        assert_eq!(status_of(&a, "metric:null_rate").detail, "null_rate 0.015");

        let low = Observation::success(9, 40_000)
            .metric("rows", 900.0)
            .metric("null_rate", 0.05);
        let a = analyze(&[low], &base, &t);
        assert_eq!(a.status, Status::Fail);
        assert_eq!(
            status_of(&a, "metric:rows").detail,
            "rows 900 vs baseline 1000 (-10%): more than -5% below the baseline"
        );
        assert_eq!(
            status_of(&a, "metric:null_rate").detail,
            "null_rate 0.05: 0.05 above max 0.02"
        );
    }

    #[test]
    fn metrics_that_scale_with_the_fraction_compare_with_a_scaled_baseline() {
        let base: Vec<Observation> = (0..3)
            .map(|i| Observation::success(i, 60_000).metric("rows", 1000.0))
            .collect();
        let mut canary = Observation::success(9, 10_000).metric("rows", 102.0);
        canary.fraction = 0.1;
        let t = Thresholds {
            metrics: vec![MetricRule::new("rows").max_decrease(0.1).scaled()],
            ..Thresholds::default()
        };
        let a = analyze(std::slice::from_ref(&canary), &base, &t);
        assert_eq!(a.status, Status::Pass, "{}", a.summary);
        assert_eq!(
            status_of(&a, "metric:rows").detail,
            "rows 102 vs baseline 100 (+2%)"
        );
        let unscaled = Thresholds {
            metrics: vec![MetricRule::new("rows").max_decrease(0.1)],
            ..Thresholds::default()
        };
        assert_eq!(analyze(&[canary], &base, &unscaled).status, Status::Fail);
    }

    #[test]
    fn missing_metric_is_inconclusive_and_a_failure_still_wins() {
        let base: Vec<Observation> = (0..3)
            .map(|i| Observation::success(i, 60_000).metric("rows", 1000.0))
            .collect();
        let t = Thresholds {
            metrics: vec![MetricRule::new("rows").min(1.0)],
            ..Thresholds::default()
        };
        let a = analyze(&[Observation::success(9, 30_000)], &base, &t);
        assert_eq!(a.status, Status::Inconclusive);
        assert_eq!(
            a.summary,
            "inconclusive — rows missing from the output of run 9, 1/1 run succeeded, 0 failed tasks, \
             0 retried tasks (1 allowed), duration 30s vs p90 1m (+50% allowed)"
        );
        let mut failed = Observation::success(9, 30_000);
        failed.result = "failed".into();
        assert_eq!(analyze(&[failed], &base, &t).status, Status::Fail);

        // A relative rule whose baseline never reported the metric cannot judge either.
        let t = Thresholds {
            metrics: vec![MetricRule::new("bytes").max_increase(0.1)],
            ..Thresholds::default()
        };
        let a = analyze(&[Observation::success(9, 30_000).metric("bytes", 5.0)], &base, &t);
        assert_eq!(a.status, Status::Inconclusive);
        assert_eq!(
            status_of(&a, "metric:bytes").detail,
            "bytes 5: the baseline runs do not report it"
        );
    }

    #[test]
    fn empty_or_small_baseline_is_inconclusive_unless_allowed() {
        let t = Thresholds {
            metrics: vec![MetricRule::new("rows").max_decrease(0.1).max(2000.0)],
            ..Thresholds::default()
        };
        let canary = [Observation::success(1, 30_000).metric("rows", 500.0)];
        let a = analyze(&canary, &[], &t);
        assert_eq!(a.status, Status::Inconclusive);
        assert_eq!(
            status_of(&a, "baseline").detail,
            "baseline has 0 successful runs, 3 needed (set `allow_empty_baseline` to judge without one)"
        );
        // Failed baseline runs do not count.
        let mut base = baseline(&[60_000; 3]);
        base[0].result = "failed".into();
        assert_eq!(analyze(&canary, &base, &t).status, Status::Inconclusive);

        let allowed = Thresholds {
            allow_empty_baseline: true,
            ..t.clone()
        };
        let a = analyze(&canary, &[], &allowed);
        assert_eq!(a.status, Status::Pass, "{}", a.summary);
        assert_eq!(status_of(&a, "duration").status, Status::Skipped);
        assert_eq!(
            status_of(&a, "metric:rows").detail,
            "rows 500 (not compared: no baseline)"
        );
        // Absolute bounds still apply without a baseline.
        let over = [Observation::success(1, 30_000).metric("rows", 2500.0)];
        assert_eq!(analyze(&over, &[], &allowed).status, Status::Fail);
        // No canary run at all cannot pass.
        assert_eq!(analyze(&[], &base, &allowed).status, Status::Inconclusive);
    }

    #[test]
    fn gate_verdicts_fold_into_the_analysis() {
        let base = baseline(&[60_000; 3]);
        let a = analyze(&[Observation::success(1, 30_000)], &base, &Thresholds::default());
        let verdict = |decision, summary: &str| Verdict {
            decision,
            summary: summary.to_owned(),
            findings: vec![],
        };
        assert_eq!(
            a.clone().with_gates(&verdict(Decision::Warn, "1 warning")).status,
            Status::Pass
        );
        let failed = a.clone().with_gates(&verdict(Decision::Fail, "rows dropped"));
        assert_eq!(failed.status, Status::Fail);
        assert!(
            failed.summary.starts_with("fail — gates fail: rows dropped"),
            "{}",
            failed.summary
        );
        assert_eq!(
            a.with_gates(&verdict(Decision::Inconclusive, "no data")).status,
            Status::Inconclusive
        );
    }

    #[test]
    fn reads_metrics_from_run_outputs() {
        let out = |task: &str, result: Option<&str>, truncated| TaskOutput {
            task_key: task.to_owned(),
            run_id: 1,
            notebook_result: result.map(str::to_owned),
            truncated,
            error: None,
            logs: None,
        };
        let outputs = vec![
            out(
                "bronze",
                Some(r#"{"rows": 5000, "stats": {"null_rate": "0.02"}}"#),
                false,
            ),
            out("silver", Some("not json"), false),
            out("gold", Some(r#"{"rows": 1000}"#), false),
            out("report", None, false),
            out("big", Some(r#"{"huge": 1}"#), true),
        ];
        assert_eq!(read_metric(&outputs, "rows"), Some(1000.0));
        assert_eq!(read_metric(&outputs, "bronze:rows"), Some(5000.0));
        assert_eq!(read_metric(&outputs, "stats.null_rate"), Some(0.02));
        assert_eq!(read_metric(&outputs, "gold:stats.null_rate"), None);
        assert_eq!(read_metric(&outputs, "huge"), None);
        assert_eq!(read_metric(&outputs, "absent"), None);

        let run = testing::run_summary(77, RunResult::Success, &["bronze", "gold"]);
        let o = Observation::from_run(
            &run,
            &outputs,
            0.25,
            &[MetricRule::new("rows"), MetricRule::new("x")],
        );
        assert_eq!(o.run_id, 77);
        assert_eq!(o.result, "success");
        assert_eq!(o.duration_ms, 120_000);
        assert_eq!(o.fraction, 0.25);
        assert_eq!(o.metrics, BTreeMap::from([("rows".to_owned(), 1000.0)]));
        let mut active = run.clone();
        active.result_state = None;
        assert!(!Observation::from_run(&active, &[], 1.0, &[]).succeeded());
    }

    #[test]
    fn threshold_problems_name_the_field() {
        assert!(Thresholds::default().problems("").is_empty());
        let t = Thresholds {
            duration_tolerance: -1.0,
            metrics: vec![
                MetricRule::new("rows"),
                MetricRule::new("x").min(5.0).max(1.0),
                MetricRule::new("y").max_increase(-0.1),
            ],
            ..Thresholds::default()
        };
        let paths: Vec<String> = t.problems("").into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "/duration_tolerance",
                "/metrics/0",
                "/metrics/1/min",
                "/metrics/2/max_increase"
            ]
        );
    }
}
