//! Helpers for rollout strategies: the host's input in `deployment.config` (`control`,
//! `previous`), idempotency tokens, schedule pause status, outcome lookups and the formatting
//! of durations and instants for step messages.
//!
//! # Host input
//!
//! The host adds two members to a strategy's configuration (see `wit/strategy.wit`):
//!
//! - `control` — a human ran `brickship promote|promote-full|abort|resume|approve <id>`:
//!   `{"command": "promote", "by": "alice", "at-ms": 1767614400000}`;
//! - `previous` — the final state of the most recent successful deployment of the same
//!   pipeline/environment made with the same strategy:
//!   `{"strategy": "blue-green", "deployment-id": "dep-…", "state": {…}}`.
//!
//! [`split_config`] takes them out, so a strategy parses the rest into its own strict config
//! type, and `validate-config` accepts a configuration that carries them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config;
use crate::types::{ConfigProblem, Decision, Outcome, OutcomeKind, PluginError};

/// What a human asked for, with `brickship <command> <deployment-id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// Treat the analysis the rollout paused on as passed and go on.
    Promote,
    /// Skip the remaining analysis and widen fully.
    PromoteFull,
    /// Clean up and fail the deployment.
    Abort,
    /// Run the interrupted analysis again.
    Resume,
    /// The approval the strategy asked for is granted.
    Approve,
}

impl Command {
    /// The command's name as typed (`promote-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Promote => "promote",
            Command::PromoteFull => "promote-full",
            Command::Abort => "abort",
            Command::Resume => "resume",
            Command::Approve => "approve",
        }
    }
}

/// The `control` member: a human's command for a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// What they asked for.
    pub command: Command,
    /// Who (user name).
    #[serde(default)]
    pub by: String,
    /// When (ms since epoch). A strategy acts on a control once: it remembers the `at-ms` of
    /// the last one it acted on, because the host may pass the same control again.
    #[serde(rename = "at-ms")]
    pub at_ms: u64,
}

impl Control {
    /// `by`, or `someone` when the host did not say.
    pub fn who(&self) -> &str {
        if self.by.is_empty() { "someone" } else { &self.by }
    }
}

/// The `previous` member: the final state of the last successful deployment made with the
/// same strategy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Previous {
    /// The strategy that made it (`blue-green`).
    pub strategy: String,
    /// Its deployment id, when the host gives it.
    #[serde(default, rename = "deployment-id")]
    pub deployment_id: Option<String>,
    /// Its final state (the strategy's own format), as JSON.
    #[serde(default)]
    pub state: Value,
}

/// What the host added to a strategy's configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostInput {
    /// A human's command, when one is pending.
    pub control: Option<Control>,
    /// The previous deployment's final state, when the host has one.
    pub previous: Option<Previous>,
}

impl HostInput {
    /// The control, unless it is the one acted on at `seen_at_ms` (or an older one).
    pub fn fresh_control(&self, seen_at_ms: Option<u64>) -> Option<&Control> {
        self.control
            .as_ref()
            .filter(|c| seen_at_ms.is_none_or(|seen| c.at_ms > seen))
    }

    /// [`HostInput::fresh_control`], marked as acted on: `seen_at_ms` (kept in the strategy's
    /// state) becomes its `at-ms`, so the same command is not acted on twice when the host
    /// passes it again.
    pub fn take_control(&self, seen_at_ms: &mut Option<u64>) -> Option<Control> {
        let control = self.fresh_control(*seen_at_ms)?.clone();
        *seen_at_ms = Some(control.at_ms);
        Some(control)
    }
}

/// Split a strategy configuration (JSON text) into the strategy's own members (JSON text,
/// `{}` when empty) and the host's input. Problems name `/control` or `/previous`.
pub fn split_config(text: &str) -> Result<(String, HostInput), Vec<ConfigProblem>> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![config::problem(
            "",
            format!("the configuration is not valid JSON: {e}"),
        )]
    })?;
    let Value::Object(mut map) = value else {
        return Err(vec![config::problem(
            "",
            "the configuration must be a JSON object",
        )]);
    };
    let mut input = HostInput::default();
    let mut problems = Vec::new();
    if let Some(control) = map.remove("control") {
        match serde_json::from_value::<Control>(control) {
            Ok(c) => input.control = Some(c),
            Err(e) => problems.push(config::problem("/control", e.to_string())),
        }
    }
    if let Some(previous) = map.remove("previous")
        && !previous.is_null()
    {
        match serde_json::from_value::<Previous>(previous) {
            Ok(p) => input.previous = Some(p),
            Err(e) => problems.push(config::problem("/previous", e.to_string())),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((Value::Object(map).to_string(), input))
}

/// [`split_config`] then [`config::parse`] of the strategy's own members, with the problems
/// turned into one `bad-config` error (for `step`, whose config the host already validated).
pub fn parse_config<T: serde::de::DeserializeOwned>(text: &str) -> Result<(T, HostInput), PluginError> {
    let (own, input) = split_config(text).map_err(config::refused)?;
    let parsed = config::parse::<T>(&own).map_err(config::refused)?;
    Ok((parsed, input))
}

/// Read back the state (JSON) a strategy returned last time; a state it cannot read is a
/// `bad-state` error quoting it.
pub fn read_state<S: serde::de::DeserializeOwned>(text: &str) -> Result<S, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::new("bad-state", format!("cannot read my state `{text}`: {e}")))
}

/// An idempotency token for a `run-job` (at most 64 characters): `<deployment-id>-<suffix>`,
/// or, when that is too long, a prefix of the id, a hash of the whole id and the suffix. The
/// same inputs always give the same token, so a step repeated after a crash starts no second
/// run.
pub fn idempotency_token(deployment_id: &str, suffix: &str) -> String {
    let plain = format!("{deployment_id}-{suffix}");
    if plain.len() <= 64 {
        return plain;
    }
    let hash = format!("{:016x}", fnv1a(deployment_id.as_bytes()));
    let room = 64usize.saturating_sub(hash.len() + suffix.len() + 2);
    let prefix: String = deployment_id.chars().take(room).collect();
    let token = format!("{prefix}-{hash}-{suffix}");
    // Suffixes are short; a pathological one is cut rather than producing a refused token.
    token.chars().take(64).collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The blocks of JobSettings that start runs by themselves and carry a `pause_status`.
pub const TRIGGER_BLOCKS: [&str; 3] = ["schedule", "trigger", "continuous"];

/// Whether a job's automatic runs (schedule, file-arrival/periodic trigger, continuous) are
/// paused. A block without `pause_status` counts as unpaused (the Jobs API default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PauseStatus {
    /// No schedule, trigger or continuous block: the job only runs when asked.
    None,
    /// Every block is paused.
    Paused,
    /// Every block is unpaused.
    Unpaused,
    /// Some blocks are paused and some not.
    Mixed,
}

impl PauseStatus {
    /// `none`, `paused`, `unpaused` or `mixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PauseStatus::None => "none",
            PauseStatus::Paused => "paused",
            PauseStatus::Unpaused => "unpaused",
            PauseStatus::Mixed => "mixed",
        }
    }
}

/// The pause status of JobSettings.
pub fn pause_status(settings: &Value) -> PauseStatus {
    let mut paused = 0;
    let mut unpaused = 0;
    for block in TRIGGER_BLOCKS {
        if let Some(b) = settings.get(block).filter(|b| b.is_object()) {
            if b.get("pause_status").and_then(Value::as_str) == Some("PAUSED") {
                paused += 1;
            } else {
                unpaused += 1;
            }
        }
    }
    match (paused, unpaused) {
        (0, 0) => PauseStatus::None,
        (_, 0) => PauseStatus::Paused,
        (0, _) => PauseStatus::Unpaused,
        _ => PauseStatus::Mixed,
    }
}

/// Set `pause_status` of every schedule/trigger/continuous block of `settings`.
pub fn set_pause(settings: &mut Value, paused: bool) {
    let status = if paused { "PAUSED" } else { "UNPAUSED" };
    for block in TRIGGER_BLOCKS {
        if let Some(Value::Object(b)) = settings.get_mut(block) {
            b.insert("pause_status".to_owned(), Value::String(status.to_owned()));
        }
    }
}

/// The notification fields of a job and of each task (emails, webhooks such as a PagerDuty
/// destination, and their settings).
pub const NOTIFICATION_FIELDS: [&str; 3] = [
    "email_notifications",
    "webhook_notifications",
    "notification_settings",
];

/// Remove job- and task-level notifications from `settings`, so trial runs of a candidate job
/// (smoke runs, canary runs) page nobody. Returns true when something was removed.
pub fn strip_notifications(settings: &mut Value) -> bool {
    let mut removed = false;
    if let Value::Object(map) = settings {
        for field in NOTIFICATION_FIELDS {
            removed |= map.shift_remove(field).is_some();
        }
        if let Some(Value::Array(tasks)) = map.get_mut("tasks") {
            for task in tasks.iter_mut().filter_map(Value::as_object_mut) {
                for field in NOTIFICATION_FIELDS {
                    removed |= task.shift_remove(field).is_some();
                }
            }
        }
    }
    removed
}

/// Set (or add) the job parameter `name` with `default` in `settings.parameters`.
pub fn set_parameter_default(settings: &mut Value, name: &str, default: &str) {
    let Value::Object(map) = settings else { return };
    let list = map
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else { return };
    if let Some(existing) = list
        .iter_mut()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    {
        if let Value::Object(p) = existing {
            p.insert("default".to_owned(), Value::String(default.to_owned()));
        }
        return;
    }
    let mut p = Map::new();
    p.insert("name".to_owned(), Value::String(name.to_owned()));
    p.insert("default".to_owned(), Value::String(default.to_owned()));
    list.push(Value::Object(p));
}

/// The outcome of action `id`, when there is one.
pub fn outcome<'a>(outcomes: &'a [Outcome], id: &str) -> Option<&'a OutcomeKind> {
    outcomes.iter().find(|o| o.action_id == id).map(|o| &o.kind)
}

/// True when action `id` has an outcome that means it happened (`done`, `job-created`, …:
/// anything but failed, timed out, rejected, skipped or missing).
pub fn completed(outcomes: &[Outcome], id: &str) -> bool {
    outcome(outcomes, id).is_some_and(|k| {
        !matches!(
            k,
            OutcomeKind::Failed(_)
                | OutcomeKind::TimedOut(_)
                | OutcomeKind::Rejected(_)
                | OutcomeKind::Skipped
        )
    })
}

/// The first outcome that ended its step (failed, timed out, rejected, or a gate verdict of
/// fail/inconclusive), as `(action id, what happened)`.
pub fn first_problem(outcomes: &[Outcome]) -> Option<(&str, String)> {
    outcomes.iter().find_map(|o| {
        let what = match &o.kind {
            OutcomeKind::Failed(f) => format!("failed: {} ({})", f.message, f.code),
            OutcomeKind::TimedOut(t) => match &t.run {
                Some(run) => format!(
                    "timed out: run {} still running after {}",
                    run.run_id,
                    duration(run.duration_ms)
                ),
                None => "timed out".to_owned(),
            },
            OutcomeKind::Rejected(a) => {
                if a.comment.is_empty() {
                    format!("was rejected by {}", a.by)
                } else {
                    format!("was rejected by {}: {}", a.by, a.comment)
                }
            }
            OutcomeKind::GateVerdict(v) if matches!(v.decision, Decision::Fail | Decision::Inconclusive) => {
                format!("gates said {}: {}", decision_name(v.decision), v.summary)
            }
            _ => return None,
        };
        Some((o.action_id.as_str(), what))
    })
}

/// `pass`, `warn`, `fail` or `inconclusive`.
pub fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Pass => "pass",
        Decision::Warn => "warn",
        Decision::Fail => "fail",
        Decision::Inconclusive => "inconclusive",
    }
}

/// A duration for people: `850ms`, `52s`, `4m 10s`, `2h 5m`, `3d 4h`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => {
            if s.is_multiple_of(60) {
                format!("{}m", s / 60)
            } else {
                format!("{}m {}s", s / 60, s % 60)
            }
        }
        3600..86_400 => {
            if s % 3600 / 60 == 0 {
                format!("{}h", s / 3600)
            } else {
                format!("{}h {}m", s / 3600, s % 3600 / 60)
            }
        }
        _ => {
            if s % 86_400 / 3600 == 0 {
                format!("{}d", s / 86_400)
            } else {
                format!("{}d {}h", s / 86_400, s % 86_400 / 3600)
            }
        }
    }
}

/// An instant (ms since the Unix epoch) as `2026-01-06 12:00 UTC`.
pub fn instant(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A fraction as job parameter text: `0.1`, `0.25`, `1` (no float noise).
pub fn fraction_text(percent: u32) -> String {
    match percent {
        100 => "1".to_owned(),
        p if p % 10 == 0 => format!("0.{}", p / 10),
        p => format!("0.{p:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ActionFailure, Approval, TimedOut, Verdict};
    use serde_json::json;

    #[test]
    fn splits_host_input_from_the_strategy_config() {
        let (own, input) = split_config(
            r#"{"steps": [10, 100], "control": {"command": "promote-full", "by": "alice", "at-ms": 5},
               "previous": {"strategy": "blue-green", "deployment-id": "dep-1", "state": {"blue": 1}}}"#,
        )
        .unwrap();
        assert_eq!(own, r#"{"steps":[10,100]}"#);
        let control = input.control.clone().unwrap();
        assert_eq!(
            (control.command, control.who(), control.at_ms),
            (Command::PromoteFull, "alice", 5)
        );
        assert_eq!(input.previous.as_ref().unwrap().state, json!({"blue": 1}));
        assert!(input.fresh_control(None).is_some());
        assert!(input.fresh_control(Some(4)).is_some());
        assert!(input.fresh_control(Some(5)).is_none());
        let mut seen = Some(4);
        assert_eq!(input.take_control(&mut seen).map(|c| c.at_ms), Some(5));
        assert_eq!(seen, Some(5));
        assert_eq!(input.take_control(&mut seen), None, "a command is acted on once");

        let (own, input) = split_config("").unwrap();
        assert_eq!((own.as_str(), input), ("{}", HostInput::default()));

        let problems = split_config(r#"{"control": {"command": "yolo", "at-ms": 1}}"#).unwrap_err();
        assert_eq!(
            parse_config::<Value>(r#"{"control": 3}"#).unwrap_err().code,
            "bad-config"
        );
        assert_eq!(read_state::<Value>("{").unwrap_err().code, "bad-state");
        assert_eq!(problems[0].path, "/control");
        assert!(
            problems[0].message.contains("unknown variant `yolo`"),
            "{problems:?}"
        );
        assert_eq!(split_config("[1]").unwrap_err()[0].path, "");
    }

    #[test]
    fn tokens_are_deterministic_and_at_most_64_characters() {
        assert_eq!(
            idempotency_token("dep-20260105-120000-ab12", "s1-r1"),
            "dep-20260105-120000-ab12-s1-r1"
        );
        let long = "d".repeat(80);
        let a = idempotency_token(&long, "s12-r3-a2");
        assert_eq!(a.len(), 64, "{a}");
        assert!(a.ends_with("-s12-r3-a2"));
        assert_eq!(a, idempotency_token(&long, "s12-r3-a2"));
        let other = format!("{}e", "d".repeat(79));
        assert_ne!(a, idempotency_token(&other, "s12-r3-a2"));
    }

    #[test]
    fn reads_and_sets_pause_status() {
        assert_eq!(pause_status(&json!({})), PauseStatus::None);
        assert_eq!(
            pause_status(&json!({"schedule": {"quartz_cron_expression": "0 0 2 * * ?"}})),
            PauseStatus::Unpaused
        );
        let mut s = json!({"schedule": {"pause_status": "UNPAUSED"}, "trigger": {"pause_status": "PAUSED"}});
        assert_eq!(pause_status(&s), PauseStatus::Mixed);
        set_pause(&mut s, true);
        assert_eq!(pause_status(&s), PauseStatus::Paused);
        set_pause(&mut s, false);
        assert_eq!(pause_status(&s), PauseStatus::Unpaused);
    }

    #[test]
    fn strips_notifications() {
        let mut s = json!({"name": "x", "email_notifications": {"on_failure": ["a@b"]},
            "webhook_notifications": {"on_failure": [{"id": "pd"}]},
            "tasks": [{"task_key": "t", "email_notifications": {}, "notification_settings": {}}, {"task_key": "u"}]});
        assert!(strip_notifications(&mut s));
        assert_eq!(
            s,
            json!({"name": "x", "tasks": [{"task_key": "t"}, {"task_key": "u"}]})
        );
        assert!(!strip_notifications(&mut s));
    }

    #[test]
    fn sets_parameter_defaults() {
        let mut s = json!({"parameters": [{"name": "a", "default": "x"}]});
        set_parameter_default(&mut s, "a", "y");
        set_parameter_default(&mut s, "b", "0.1");
        assert_eq!(
            s,
            json!({"parameters": [{"name": "a", "default": "y"}, {"name": "b", "default": "0.1"}]})
        );
        let mut empty = json!({});
        set_parameter_default(&mut empty, "f", "1");
        assert_eq!(empty, json!({"parameters": [{"name": "f", "default": "1"}]}));
    }

    #[test]
    fn finds_the_first_problem() {
        let o = |id: &str, kind| Outcome {
            action_id: id.to_owned(),
            kind,
        };
        let outcomes = vec![
            o("a", OutcomeKind::Done),
            o(
                "b",
                OutcomeKind::GateVerdict(Verdict {
                    decision: Decision::Warn,
                    summary: "meh".into(),
                    findings: vec![],
                }),
            ),
            o(
                "c",
                OutcomeKind::Failed(ActionFailure {
                    code: "RESOURCE_DOES_NOT_EXIST".into(),
                    message: "job 7 does not exist".into(),
                    retryable: false,
                }),
            ),
            o("d", OutcomeKind::Skipped),
        ];
        assert_eq!(
            first_problem(&outcomes),
            Some((
                "c",
                "failed: job 7 does not exist (RESOURCE_DOES_NOT_EXIST)".to_owned()
            ))
        );
        assert!(completed(&outcomes, "a") && completed(&outcomes, "b"));
        assert!(!completed(&outcomes, "c") && !completed(&outcomes, "d") && !completed(&outcomes, "e"));
        let rejected = vec![o(
            "approve",
            OutcomeKind::Rejected(Approval {
                by: "bob".into(),
                comment: "not today".into(),
            }),
        )];
        assert_eq!(
            first_problem(&rejected).unwrap().1,
            "was rejected by bob: not today"
        );
        let timed_out = vec![o("w", OutcomeKind::TimedOut(TimedOut { run: None }))];
        assert_eq!(first_problem(&timed_out).unwrap().1, "timed out");
    }

    #[test]
    fn formats_durations_instants_and_fractions() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(52_000), "52s");
        assert_eq!(duration(250_000), "4m 10s");
        assert_eq!(duration(3_600_000), "1h");
        assert_eq!(duration(7_500_000), "2h 5m");
        assert_eq!(duration(86_400_000), "1d");
        assert_eq!(instant(crate::testing::MONDAY_NOON_MS), "2026-01-05 12:00 UTC");
        assert_eq!(instant(0), "1970-01-01 00:00 UTC");
        assert_eq!(instant(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(fraction_text(10), "0.1");
        assert_eq!(fraction_text(25), "0.25");
        assert_eq!(fraction_text(5), "0.05");
        assert_eq!(fraction_text(100), "1");
    }
}
