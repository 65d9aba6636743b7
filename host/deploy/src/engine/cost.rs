//! The cost estimate gates see (the `budget` gate compares it with a budget).
//!
//! # Model
//!
//! A job's cost is the DBUs its clusters consume times the price of a DBU:
//!
//! - **DBU rate of a cluster** = driver rate + workers × worker rate, from a compiled-in table
//!   of DBU per node-hour ([`dbu_rate`]: the node types of the local workspace's catalog and
//!   common AWS, Azure and GCP types, approximating the published list rates for jobs compute)
//!   overridden by the project's `cost.dbu_rates`. Workers are `num_workers`, or
//!   `autoscale.max_workers` (an upper bound). The driver defaults to the worker type.
//! - **Hours** a cluster runs per run: each task is assumed to run for its `timeout_seconds`,
//!   else the job's `timeout_seconds`, else the environment's SLA (`monitoring.sla`). A job
//!   cluster runs for the sum of its tasks' hours, capped by the run's critical path through
//!   `depends_on`; a task's own `new_cluster` runs for the task's hours. Timeouts are maxima,
//!   so the estimate is an upper bound: what a budget should be checked against.
//! - **Runs per month** (30 days) from the Quartz cron schedule ([`runs_per_month`]: second,
//!   minute and hour lists, steps and ranges; day-of-month and day-of-week lists; months), a
//!   periodic trigger's interval, or back-to-back runs for a continuous job. A cron form this
//!   model cannot count is 30 runs (daily); a job with no schedule or trigger has 0.
//!
//! Tasks on compute the model cannot price — an existing (all-purpose) cluster, whose cost is
//! shared, or serverless compute — are left out and named in the basis ("not priced: …").
//! There is **no estimate** (`None`) when a cluster's node type is in neither table (or it uses
//! an instance pool), when no duration is known for a task on a job or task cluster, or when
//! no task can be priced at all. Tasks that need no compute (`condition_task`,
//! `run_job_task`) cost nothing.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use plugin_host::types::CostEstimate;
use serde_json::Value;

use super::plugin_config::CostSettings;

/// What the estimate needs besides the settings.
#[derive(Debug, Clone, Default)]
pub struct CostOptions {
    /// Prices and extra DBU rates (`cost:` in `brickship.yaml`).
    pub pricing: CostSettings,
    /// The environment's run-duration SLA, used for tasks without a timeout.
    pub sla: Option<Duration>,
}

impl CostOptions {
    /// The options of a deploy: the project's `cost:` section and the environment's SLA.
    pub fn for_pipeline(
        pipeline: &crate::project::RenderedPipeline,
        settings: &super::plugin_config::PluginSettings,
    ) -> Self {
        CostOptions {
            pricing: settings.cost.clone(),
            sla: pipeline
                .environment
                .monitoring
                .sla_seconds
                .map(Duration::from_secs),
        }
    }
}

/// DBU per node-hour of well-known node types (jobs compute, list rates, approximate).
const DBU_RATES: &[(&str, f64)] = &[
    // AWS
    ("m5d.large", 0.34),
    ("m5d.xlarge", 0.69),
    ("m5d.2xlarge", 1.37),
    ("m5d.4xlarge", 2.74),
    ("m5.large", 0.34),
    ("m5.xlarge", 0.69),
    ("m5.2xlarge", 1.37),
    ("m5.4xlarge", 2.74),
    ("m6gd.xlarge", 0.69),
    ("i3.xlarge", 1.0),
    ("i3.2xlarge", 2.0),
    ("i3.4xlarge", 4.0),
    ("i3.8xlarge", 8.0),
    ("r5d.large", 0.45),
    ("r5d.xlarge", 0.9),
    ("r5d.2xlarge", 1.8),
    ("r5d.4xlarge", 3.6),
    ("r5.xlarge", 0.9),
    ("c5d.xlarge", 0.61),
    ("c5d.2xlarge", 1.22),
    ("c5d.4xlarge", 2.43),
    ("c5.xlarge", 0.61),
    ("g4dn.xlarge", 0.71),
    ("r3.xlarge", 1.0),
    // Azure
    ("Standard_DS3_v2", 0.75),
    ("Standard_DS4_v2", 1.5),
    ("Standard_DS5_v2", 3.0),
    ("Standard_DS13_v2", 2.0),
    ("Standard_D3_v2", 0.75),
    ("Standard_D4s_v3", 0.75),
    ("Standard_D8s_v3", 1.5),
    ("Standard_D4ds_v5", 1.0),
    ("Standard_D8ds_v5", 2.0),
    ("Standard_E8ds_v4", 2.0),
    ("Standard_E16ds_v4", 4.0),
    ("Standard_F8s_v2", 1.0),
    ("Standard_L8s_v3", 2.0),
    ("Standard_NC6s_v3", 3.0),
    // GCP
    ("n1-standard-4", 0.87),
    ("n2-standard-4", 0.87),
    ("n2-standard-8", 1.74),
    ("n2-standard-16", 3.48),
    ("n2-highmem-4", 1.07),
    ("n2-highmem-8", 2.14),
    ("n2-highmem-16", 4.28),
    ("c2-standard-8", 1.74),
    ("a2-highgpu-1g", 12.0),
];

/// DBU per node-hour of `node_type`: the project's override, else the compiled-in table.
pub fn dbu_rate(node_type: &str, overrides: &BTreeMap<String, f64>) -> Option<f64> {
    overrides
        .get(node_type)
        .copied()
        .or_else(|| DBU_RATES.iter().find(|(n, _)| *n == node_type).map(|(_, r)| *r))
}

/// A priced cluster: DBU per hour and how it was described.
struct Priced {
    dbu_per_hour: f64,
    describe: String,
}

fn price_cluster(spec: &Value, overrides: &BTreeMap<String, f64>) -> Result<Priced, String> {
    let node = spec
        .get("node_type_id")
        .and_then(Value::as_str)
        .ok_or("a cluster without `node_type_id` (instance pool or policy)")?;
    let driver = spec
        .get("driver_node_type_id")
        .and_then(Value::as_str)
        .unwrap_or(node);
    let worker_rate =
        dbu_rate(node, overrides).ok_or_else(|| format!("node type `{node}` has no known DBU rate"))?;
    let driver_rate =
        dbu_rate(driver, overrides).ok_or_else(|| format!("node type `{driver}` has no known DBU rate"))?;
    let workers = match spec.get("autoscale") {
        Some(a) => a.get("max_workers").and_then(Value::as_u64).unwrap_or(0),
        None => spec.get("num_workers").and_then(Value::as_u64).unwrap_or(0),
    };
    let max = if spec.get("autoscale").is_some() {
        "up to "
    } else {
        ""
    };
    Ok(Priced {
        dbu_per_hour: driver_rate + workers as f64 * worker_rate,
        describe: format!("{max}{workers} x {node} + driver"),
    })
}

/// Seconds as hours.
fn hours(secs: f64) -> f64 {
    secs / 3600.0
}

/// The cost estimate of `settings` (a JobSettings object), or `None` when a cluster cannot be
/// priced or a task's duration is unknown (see the module docs).
pub fn estimate(settings: &Value, options: &CostOptions) -> Option<CostEstimate> {
    let pricing = &options.pricing;
    let tasks = settings.get("tasks").and_then(Value::as_array)?;
    let job_timeout = settings
        .get("timeout_seconds")
        .and_then(Value::as_f64)
        .filter(|t| *t > 0.0);
    let sla = options.sla.map(|d| d.as_secs_f64()).filter(|t| *t > 0.0);

    let mut job_clusters: HashMap<&str, Priced> = HashMap::new();
    for jc in settings
        .get("job_clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = jc.get("job_cluster_key").and_then(Value::as_str)?;
        // A job cluster no task uses costs nothing; price lazily but fail only when used.
        if let Some(spec) = jc.get("new_cluster")
            && let Ok(p) = price_cluster(spec, &pricing.dbu_rates)
        {
            job_clusters.insert(key, p);
        }
    }

    // Per task: its duration (seconds) and what it runs on.
    let mut durations: HashMap<&str, f64> = HashMap::new();
    let mut cluster_secs: BTreeMap<String, (f64, String, f64)> = BTreeMap::new(); // key -> (dbu/h, describe, secs)
    let mut own_dbu = 0.0;
    let mut own_describe = Vec::new();
    let mut unpriced: Vec<&str> = Vec::new();
    let mut free = 0;
    for task in tasks {
        let key = task.get("task_key").and_then(Value::as_str)?;
        let needs_no_compute = task.get("condition_task").is_some() || task.get("run_job_task").is_some();
        if needs_no_compute {
            durations.insert(key, 0.0);
            free += 1;
            continue;
        }
        let secs = task
            .get("timeout_seconds")
            .and_then(Value::as_f64)
            .filter(|t| *t > 0.0)
            .or(job_timeout)
            .or(sla);
        if task.get("existing_cluster_id").is_some()
            || !(task.get("job_cluster_key").is_some() || task.get("new_cluster").is_some())
        {
            // An all-purpose cluster or serverless compute: not priced by this model.
            durations.insert(key, secs.unwrap_or(0.0));
            unpriced.push(key);
            continue;
        }
        let secs = secs?;
        durations.insert(key, secs);
        if let Some(jck) = task.get("job_cluster_key").and_then(Value::as_str) {
            let priced = job_clusters.get(jck)?;
            let entry = cluster_secs.entry(jck.to_owned()).or_insert((
                priced.dbu_per_hour,
                priced.describe.clone(),
                0.0,
            ));
            entry.2 += secs;
        } else if let Some(spec) = task.get("new_cluster") {
            let priced = price_cluster(spec, &pricing.dbu_rates).ok()?;
            own_dbu += priced.dbu_per_hour * hours(secs);
            own_describe.push(format!("{key}: {}", priced.describe));
        }
    }
    if unpriced.len() == durations.len() - free {
        return None; // nothing this model can price
    }

    let run_secs = critical_path(tasks, &durations).min(job_timeout.unwrap_or(f64::INFINITY));
    let mut dbu_per_run = own_dbu;
    let mut parts = own_describe;
    for (key, (rate, describe, secs)) in &cluster_secs {
        let up = secs.min(run_secs);
        dbu_per_run += rate * hours(up);
        parts.push(format!("{key}: {describe} for {:.1} h", hours(up)));
    }
    if !unpriced.is_empty() {
        parts.push(format!(
            "not priced: {} (all-purpose or serverless compute)",
            unpriced.join(", ")
        ));
    }
    let runs = runs_per_month(settings, run_secs);
    let per_run = dbu_per_run * pricing.dbu_price;
    Some(CostEstimate {
        currency: pricing.currency.clone(),
        per_run: round2(per_run),
        runs_per_month: round2(runs),
        per_month: round2(per_run * runs),
        dbu_per_run: round2(dbu_per_run),
        basis: format!(
            "{}; {:.2} {}/DBU; {:.1} runs/month; durations from timeouts{}",
            parts.join(", "),
            pricing.dbu_price,
            pricing.currency,
            runs,
            if sla.is_some() { " or the SLA" } else { "" }
        ),
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Longest path through `depends_on` by task duration (seconds).
fn critical_path(tasks: &[Value], durations: &HashMap<&str, f64>) -> f64 {
    let deps: HashMap<&str, Vec<&str>> = tasks
        .iter()
        .filter_map(|t| {
            let key = t.get("task_key")?.as_str()?;
            let d = t
                .get("depends_on")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|d| d.get("task_key")?.as_str()).collect())
                .unwrap_or_default();
            Some((key, d))
        })
        .collect();
    fn finish<'a>(
        key: &'a str,
        deps: &HashMap<&'a str, Vec<&'a str>>,
        durations: &HashMap<&str, f64>,
        memo: &mut HashMap<&'a str, f64>,
        depth: usize,
    ) -> f64 {
        if let Some(v) = memo.get(key) {
            return *v;
        }
        // A cycle is a validation error elsewhere; cut it off here.
        if depth > deps.len() {
            return 0.0;
        }
        let start = deps
            .get(key)
            .into_iter()
            .flatten()
            .map(|d| finish(d, deps, durations, memo, depth + 1))
            .fold(0.0, f64::max);
        let v = start + durations.get(key).copied().unwrap_or(0.0);
        memo.insert(key, v);
        v
    }
    let mut memo = HashMap::new();
    deps.keys()
        .map(|k| finish(k, &deps, durations, &mut memo, 0))
        .fold(0.0, f64::max)
}

/// Days in the model's month.
const DAYS_PER_MONTH: f64 = 30.0;

/// Runs per 30-day month implied by the job's schedule, trigger or continuous setting;
/// `run_secs` is the length of one run (for continuous jobs). 0 without any.
pub fn runs_per_month(settings: &Value, run_secs: f64) -> f64 {
    if let Some(cron) = settings
        .get("schedule")
        .and_then(|s| s.get("quartz_cron_expression"))
        .and_then(Value::as_str)
    {
        return cron_runs_per_month(cron).unwrap_or(DAYS_PER_MONTH);
    }
    if let Some(trigger) = settings.get("trigger") {
        if let Some(periodic) = trigger.get("periodic") {
            let interval = periodic.get("interval").and_then(Value::as_f64).unwrap_or(0.0);
            let unit_hours = match periodic.get("unit").and_then(Value::as_str) {
                Some("HOURS") => 1.0,
                Some("DAYS") => 24.0,
                Some("WEEKS") => 168.0,
                _ => 0.0,
            };
            if interval > 0.0 && unit_hours > 0.0 {
                return DAYS_PER_MONTH * 24.0 / (interval * unit_hours);
            }
        }
        return DAYS_PER_MONTH;
    }
    if settings.get("continuous").is_some() && run_secs > 0.0 {
        return DAYS_PER_MONTH * 86_400.0 / run_secs;
    }
    0.0
}

/// Runs per 30-day month of a Quartz expression; `None` when the model cannot count it.
pub fn cron_runs_per_month(expr: &str) -> Option<f64> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if !(6..=7).contains(&fields.len()) {
        return None;
    }
    let seconds = count(fields[0], 0, 59, &[])? as f64;
    let minutes = count(fields[1], 0, 59, &[])? as f64;
    let hours = count(fields[2], 0, 23, &[])? as f64;
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let months = count(fields[4], 1, 12, &MONTHS)? as f64;
    let (dom, dow) = (fields[3], fields[5]);
    let days_per_month = match (is_any(dom), is_any(dow)) {
        (true, true) => DAYS_PER_MONTH,
        (false, true) => day_of_month_count(dom)?,
        (true, false) => {
            // `nL` (last weekday n of the month) and `n#m` (m-th weekday n) happen once a month.
            if dow.contains('L') || dow.contains('#') {
                dow.split(',').count() as f64
            } else {
                count(dow, 1, 7, &DAYS)? as f64 * DAYS_PER_MONTH / 7.0
            }
        }
        (false, false) => return None,
    };
    if fields.len() == 7 && !is_any(fields[6]) {
        return None;
    }
    Some(seconds * minutes * hours * days_per_month * months / 12.0)
}

fn is_any(field: &str) -> bool {
    field == "*" || field == "?"
}

fn day_of_month_count(field: &str) -> Option<f64> {
    let mut n = 0.0;
    for part in field.split(',') {
        if part.starts_with('L') || part.ends_with('W') {
            n += 1.0; // `L`, `L-3`, `LW`, `15W`: one day a month
        } else {
            n += count(part, 1, 31, &[])? as f64;
        }
    }
    Some(n)
}

/// The number of values a cron field selects in `min..=max` (names map to `min + index`).
fn count(field: &str, min: u32, max: u32, names: &[&str]) -> Option<usize> {
    let value = |s: &str| -> Option<u32> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Some(min + u32::try_from(i).ok()?);
        }
        let v: u32 = s.parse().ok()?;
        (min..=max).contains(&v).then_some(v)
    };
    let mut selected = vec![false; (max - min + 1) as usize];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = if is_any(range) {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo > hi {
            return None; // wrapping ranges are rare in schedules; not counted
        }
        let mut v = lo;
        while v <= hi {
            selected[(v - min) as usize] = true;
            v += step;
        }
    }
    Some(selected.iter().filter(|s| **s).count())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options() -> CostOptions {
        CostOptions::default()
    }

    #[test]
    fn quartz_patterns_become_runs_per_month() {
        let runs = |e: &str| cron_runs_per_month(e);
        assert_eq!(runs("0 0 2 * * ?"), Some(30.0), "daily");
        assert_eq!(runs("0 0 * * * ?"), Some(720.0), "hourly");
        assert_eq!(runs("0 */15 * * * ?"), Some(2880.0), "every 15 minutes");
        assert_eq!(runs("0 0 6,18 * * ?"), Some(60.0), "twice a day");
        assert_eq!(runs("0 0 9-17 ? * *"), Some(270.0), "9 to 17 daily");
        let weekdays = runs("0 30 6 ? * MON-FRI").unwrap();
        assert!((weekdays - 30.0 * 5.0 / 7.0).abs() < 1e-9, "{weekdays}");
        let weekly = runs("0 0 3 ? * SUN").unwrap();
        assert!((weekly - 30.0 / 7.0).abs() < 1e-9, "{weekly}");
        assert_eq!(runs("0 0 1 L * ?"), Some(1.0), "last day of the month");
        assert_eq!(runs("0 0 1 ? * 6#3"), Some(1.0), "third friday");
        assert_eq!(runs("0 0 0 1 1 ?"), Some(1.0 / 12.0), "yearly");
        assert_eq!(runs("0 0 0 1 JAN,JUL ?"), Some(2.0 / 12.0));
        assert_eq!(runs("not a cron"), None);
        assert_eq!(runs("0 0 22-2 * * ?"), None, "wrapping ranges are not counted");
    }

    #[test]
    fn unknown_cron_counts_as_daily_and_no_schedule_as_zero() {
        assert_eq!(
            runs_per_month(
                &json!({"schedule": {"quartz_cron_expression": "0 0 22-2 * * ?"}}),
                60.0
            ),
            30.0
        );
        assert_eq!(runs_per_month(&json!({}), 60.0), 0.0);
        assert_eq!(
            runs_per_month(
                &json!({"trigger": {"periodic": {"interval": 6, "unit": "HOURS"}}}),
                60.0
            ),
            120.0
        );
        assert_eq!(
            runs_per_month(&json!({"trigger": {"file_arrival": {"url": "s3://x"}}}), 60.0),
            30.0
        );
        assert_eq!(
            runs_per_month(&json!({"continuous": {"pause_status": "UNPAUSED"}}), 3600.0),
            720.0
        );
    }

    /// The customer-360 job: two job clusters (i3.xlarge autoscale 2..8, i3.2xlarge x4), five
    /// tasks with timeouts, daily at 02:00.
    fn customer_360() -> Value {
        serde_json::from_str(include_str!("../../../../tests/fixtures/customer-360-job.json")).unwrap()
    }

    #[test]
    fn customer_360_is_priced_from_its_clusters_timeouts_and_schedule() {
        let job = customer_360();
        let e = estimate(&job, &options()).expect("every node type is known");
        assert_eq!(e.currency, "USD");
        assert_eq!(e.runs_per_month, 30.0);
        // Recompute independently from the fixture.
        let tasks = job["tasks"].as_array().unwrap();
        let secs_on = |cluster: &str| -> f64 {
            tasks
                .iter()
                .filter(|t| t["job_cluster_key"] == cluster)
                .map(|t| t["timeout_seconds"].as_f64().unwrap())
                .sum::<f64>()
        };
        let cluster_rate = |cluster: &str| -> f64 {
            let c = job["job_clusters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["job_cluster_key"] == cluster)
                .unwrap();
            let nc = &c["new_cluster"];
            let rate = dbu_rate(nc["node_type_id"].as_str().unwrap(), &BTreeMap::new()).unwrap();
            let workers = nc["autoscale"]["max_workers"]
                .as_f64()
                .or(nc["num_workers"].as_f64())
                .unwrap();
            rate * (1.0 + workers)
        };
        let job_timeout = job["timeout_seconds"].as_f64().unwrap();
        let durations = tasks
            .iter()
            .map(|t| {
                (
                    t["task_key"].as_str().unwrap(),
                    t["timeout_seconds"].as_f64().unwrap_or(job_timeout),
                )
            })
            .collect();
        let run = critical_path(tasks, &durations).min(job_timeout);
        let mut dbu = 0.0;
        for c in job["job_clusters"].as_array().unwrap() {
            let key = c["job_cluster_key"].as_str().unwrap();
            dbu += cluster_rate(key) * hours(secs_on(key).min(run));
        }
        assert!(
            (e.dbu_per_run - round2(dbu)).abs() < 0.011,
            "{} vs {dbu}",
            e.dbu_per_run
        );
        assert!((e.per_run - round2(dbu * 0.15)).abs() < 0.011);
        assert!(
            (e.per_month - round2(round2(dbu * 0.15) * 30.0)).abs() < 0.5,
            "{e:?}"
        );
        assert!(e.basis.contains("i3.xlarge"), "{}", e.basis);
        assert!(e.basis.contains("not priced: send-notification"), "{}", e.basis);
    }

    #[test]
    fn shared_job_cluster_hours_are_capped_by_the_critical_path_and_price_is_configurable() {
        // Two parallel one-hour tasks on one 1-worker m5d.xlarge cluster: the cluster is up 1 h.
        let job = json!({
            "name": "x",
            "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"node_type_id": "m5d.xlarge", "num_workers": 1}}],
            "tasks": [
                {"task_key": "a", "job_cluster_key": "c", "timeout_seconds": 3600, "notebook_task": {"notebook_path": "/a"}},
                {"task_key": "b", "job_cluster_key": "c", "timeout_seconds": 3600, "notebook_task": {"notebook_path": "/b"}},
                {"task_key": "gate", "depends_on": [{"task_key": "a"}], "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}}
            ],
            "schedule": {"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC"}
        });
        let mut o = options();
        o.pricing.dbu_price = 0.5;
        o.pricing.currency = "EUR".into();
        let e = estimate(&job, &o).unwrap();
        assert_eq!(e.dbu_per_run, 1.38); // (0.69 driver + 0.69 worker) x 1 h
        assert_eq!(e.per_run, 0.69);
        assert_eq!(e.runs_per_month, 720.0);
        assert_eq!(e.per_month, round2(0.69 * 720.0));
        assert_eq!(e.currency, "EUR");
    }

    #[test]
    fn the_sla_stands_in_for_missing_timeouts_and_overrides_price_unknown_nodes() {
        let job = json!({
            "name": "x",
            "tasks": [{"task_key": "a", "new_cluster": {"node_type_id": "custom.big", "num_workers": 2}, "spark_python_task": {"python_file": "x.py"}}]
        });
        assert!(
            estimate(&job, &options()).is_none(),
            "no duration and an unknown node"
        );
        let mut o = options();
        o.sla = Some(Duration::from_secs(7200));
        assert!(estimate(&job, &o).is_none(), "the node type is still unknown");
        o.pricing.dbu_rates.insert("custom.big".into(), 2.0);
        let e = estimate(&job, &o).unwrap();
        assert_eq!(e.dbu_per_run, 12.0); // (2 + 2 x 2) x 2 h
        assert_eq!(e.runs_per_month, 0.0, "unscheduled");
        assert_eq!(e.per_month, 0.0);
    }

    #[test]
    fn the_example_project_is_priced_with_its_environment_sla() {
        use crate::engine::plugin_config::PluginSettings;
        use crate::project::{LoadRequest, load};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/customer-360");
        let env = |_: &str| None;
        let mut request = LoadRequest::new(&root, "customer-360-pipeline", "prod");
        request.env = &env;
        let p = load(&request).pipeline.expect("the example renders");
        let (settings, _) = PluginSettings::load(&p, &env, false).expect("no plugin config");
        let options = CostOptions::for_pipeline(&p, &settings);
        assert_eq!(options.sla, Some(Duration::from_secs(3 * 3600)));
        let e = estimate(&p.settings, &options).expect("priced");
        assert_eq!(e.runs_per_month, 30.0);
        assert!(e.per_month > 0.0 && e.basis.contains("i3.2xlarge"), "{e:?}");
    }

    #[test]
    fn unpriceable_compute_gives_no_estimate() {
        let existing = json!({"tasks": [{"task_key": "a", "existing_cluster_id": "0101-abc", "timeout_seconds": 60, "notebook_task": {"notebook_path": "/a"}}]});
        assert!(estimate(&existing, &options()).is_none(), "nothing can be priced");
        let serverless = json!({"tasks": [{"task_key": "a", "timeout_seconds": 60, "notebook_task": {"notebook_path": "/a"}}]});
        assert!(estimate(&serverless, &options()).is_none());
        let mixed = json!({"tasks": [
            {"task_key": "a", "timeout_seconds": 3600, "new_cluster": {"node_type_id": "i3.xlarge", "num_workers": 1}},
            {"task_key": "b", "depends_on": [{"task_key": "a"}], "existing_cluster_id": "0101-abc", "notebook_task": {"notebook_path": "/b"}}
        ]});
        let e = estimate(&mixed, &options()).unwrap();
        assert_eq!(e.dbu_per_run, 2.0);
        assert!(e.basis.contains("not priced: b"), "{}", e.basis);
        let pool = json!({"tasks": [{"task_key": "a", "timeout_seconds": 60, "new_cluster": {"instance_pool_id": "p", "num_workers": 1}}]});
        assert!(estimate(&pool, &options()).is_none());
        let autoscale = json!({"timeout_seconds": 1800, "tasks": [{"task_key": "a", "new_cluster": {"node_type_id": "i3.xlarge", "autoscale": {"min_workers": 1, "max_workers": 3}}}]});
        let e = estimate(&autoscale, &options()).unwrap();
        assert_eq!(
            e.dbu_per_run, 2.0,
            "job timeout, up to 3 workers + driver at 1 DBU/h for 0.5 h"
        );
        assert!(e.basis.contains("up to 3 x i3.xlarge"), "{}", e.basis);
    }
}
