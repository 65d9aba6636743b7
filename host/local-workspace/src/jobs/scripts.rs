//! Scripted run outcomes and the jobs part of the `/_local/` control plane.
//!
//! A script rule decides what a task attempt does instead of the default (succeed after a
//! deterministic simulated time). The API is documented in the [module docs](super).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::request::{json_ok, parse_body};
use super::store::{Outcome, Store};
use crate::AppState;
use crate::api_error::{ApiError, ApiResult};

/// Simulated setup (`PENDING`) time of a task attempt, unless a script says otherwise.
pub const DEFAULT_PENDING_MS: i64 = 10_000;
/// Shortest simulated running time of a task attempt; each task adds a deterministic
/// 0..=[`DEFAULT_RUN_SPREAD_MS`] derived from its task key.
pub const DEFAULT_RUN_MIN_MS: i64 = 30_000;
pub const DEFAULT_RUN_SPREAD_MS: i64 = 60_000;
/// Simulated cleanup (`TERMINATING`) time of a task attempt, also after a cancel.
pub const DEFAULT_CLEANUP_MS: i64 = 2_000;
/// Condition tasks need no cluster: no setup or cleanup, one simulated second of evaluation.
pub const CONDITION_RUN_MS: i64 = 1_000;

/// The default simulated running time of a task: 30–90 s, the same for the same task key.
pub fn default_run_ms(task_key: &str) -> i64 {
    // FNV-1a: stable across processes and releases (unlike the std hasher).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in task_key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let spread = u64::try_from(DEFAULT_RUN_SPREAD_MS + 1).unwrap_or(1);
    DEFAULT_RUN_MIN_MS + i64::try_from(hash % spread).unwrap_or(0)
}

/// A scripted outcome rule (see the module docs for the JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptRule {
    #[serde(default)]
    pub script_id: u64,
    /// Glob (`*`, `?`) on the job name (a one-time run's `run_name`), case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_key: Option<String>,
    /// Only runs whose job parameters include all of these name/value pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Outcome per attempt; the last repeats for further attempts.
    #[serde(default = "default_outcomes")]
    pub outcomes: Vec<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Applies to this many task runs, then expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

fn default_outcomes() -> Vec<Outcome> {
    vec![Outcome::Success]
}

impl ScriptRule {
    fn validate(&self) -> ApiResult<()> {
        if self.outcomes.is_empty() {
            return Err(ApiError::invalid(
                "outcomes must list at least one of SUCCESS, FAILED, TIMEDOUT, INTERNAL_ERROR, HANG",
            ));
        }
        for (field, value) in [("duration_ms", self.duration_ms), ("pending_ms", self.pending_ms)] {
            if value.is_some_and(|ms| ms < 0) {
                return Err(ApiError::invalid(format!("{field} must be non-negative")));
            }
        }
        if self.remaining == Some(0) {
            return Err(ApiError::invalid(
                "remaining must be at least 1 (omit it for a rule that never expires)",
            ));
        }
        if let Some(parameters) = &self.parameters
            && let Some((name, _)) = parameters
                .iter()
                .find(|(_, v)| !(v.is_string() || v.is_number() || v.is_boolean()))
        {
            return Err(ApiError::invalid(format!("parameters.{name} must be a string")));
        }
        Ok(())
    }

    fn matches(
        &self,
        job_name: &str,
        job_id: i64,
        task_key: &str,
        parameters: &HashMap<String, String>,
    ) -> bool {
        self.job_id.is_none_or(|id| id == job_id)
            && self.task_key.as_deref().is_none_or(|key| key == task_key)
            && self
                .job_name
                .as_deref()
                .is_none_or(|pattern| glob(pattern, job_name))
            && self.parameters.as_ref().is_none_or(|wanted| {
                wanted
                    .iter()
                    .all(|(name, value)| parameters.get(name).is_some_and(|have| *have == scalar(value)))
            })
    }
}

/// A JSON scalar as the string a job parameter holds.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `*` matches any run of characters, `?` exactly one; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The newest rule matching a task, consuming one use of it (rules that run out are removed).
pub fn take_rule(
    store: &mut Store,
    job_name: &str,
    job_id: i64,
    task_key: &str,
    parameters: &HashMap<String, String>,
) -> Option<ScriptRule> {
    let index = store
        .scripts
        .iter()
        .rposition(|rule| rule.matches(job_name, job_id, task_key, parameters))?;
    let rule = store.scripts[index].clone();
    if let Some(remaining) = store.scripts[index].remaining.as_mut() {
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            store.scripts.remove(index);
        }
    }
    Some(rule)
}

/// `POST /_local/scripts`: adds a rule; `{"script_id"}`.
pub async fn add(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let mut rule: ScriptRule = serde_json::from_value(Value::Object(body))
        .map_err(|err| ApiError::invalid(format!("Invalid script rule: {err}")))?;
    rule.validate()?;
    let id = state.jobs.mutate(&state.clock, |store, _now| {
        rule.script_id = store.next_script_id();
        store.scripts.push(rule);
        Ok(store.last_script_id)
    })?;
    json_ok(&json!({ "script_id": id }))
}

/// `GET /_local/scripts`: the rules, oldest first.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.jobs.read();
    json_ok(&json!({ "scripts": store.scripts }))
}

/// `DELETE /_local/scripts`: removes every rule.
pub async fn clear(State(state): State<AppState>) -> Result<Response, ApiError> {
    let deleted = state.jobs.mutate(&state.clock, |store, _now| {
        Ok(std::mem::take(&mut store.scripts).len())
    })?;
    json_ok(&json!({ "deleted": deleted }))
}

/// `DELETE /_local/scripts/{id}`.
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::invalid(format!("Invalid script id: {id}")))?;
    state.jobs.mutate(&state.clock, |store, _now| {
        let before = store.scripts.len();
        store.scripts.retain(|rule| rule.script_id != id);
        if store.scripts.len() == before {
            return Err(ApiError::not_found(format!("Script {id} does not exist.")));
        }
        Ok(())
    })?;
    json_ok(&json!({}))
}

/// `GET /_local/config`.
pub async fn get_config(State(state): State<AppState>) -> Result<Response, ApiError> {
    json_ok(&json!({ "run_speed": state.clock.speed() }))
}

/// `POST /_local/config {"run_speed": 500}`: changes the speed of runs triggered from now on.
pub async fn set_config(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    if let Some(speed) = body.get("run_speed") {
        let speed = speed
            .as_f64()
            .ok_or_else(|| ApiError::invalid("run_speed must be a positive number"))?;
        if !state.clock.set_speed(speed) {
            return Err(ApiError::invalid(format!(
                "run_speed must be a positive number, got {speed}"
            )));
        }
    }
    if let Some(field) = body.keys().find(|key| *key != "run_speed") {
        return Err(ApiError::invalid(format!(
            "Unknown config field: {field} (known: run_speed)"
        )));
    }
    json_ok(&json!({ "run_speed": state.clock.speed() }))
}

/// `GET /_local/state`: counts for tests.
pub async fn summary(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    let store = state.jobs.read();
    let (mut active, mut queued) = (0, 0);
    for run in store.runs.values() {
        match super::runs::activity(&store, run, now) {
            super::runs::Activity::Queued => {
                active += 1;
                queued += 1;
            }
            super::runs::Activity::Active => active += 1,
            super::runs::Activity::Done => {}
        }
    }
    json_ok(&json!({
        "jobs": store.jobs.len(),
        "runs": store.runs.len(),
        "active_runs": active,
        "queued_runs": queued,
        "scripts": store.scripts.len(),
        "run_speed": state.clock.speed(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("customer-360*", "customer-360-prod"));
        assert!(glob("*-prod", "customer-360-prod"));
        assert!(glob("c?stomer", "customer"));
        assert!(glob("*", ""));
        assert!(!glob("Customer*", "customer-360"), "case-sensitive");
        assert!(!glob("a*b", "acd"));
        assert!(glob("a*b*c", "axxbyyc"));
    }

    #[test]
    fn default_run_time_is_deterministic_and_in_range() {
        let ms = default_run_ms("ingest-bronze");
        assert_eq!(ms, default_run_ms("ingest-bronze"));
        assert!((DEFAULT_RUN_MIN_MS..=DEFAULT_RUN_MIN_MS + DEFAULT_RUN_SPREAD_MS).contains(&ms));
        assert_ne!(default_run_ms("a"), default_run_ms("b"));
    }

    #[test]
    fn newest_matching_rule_wins_and_expires() {
        let mut store = Store::default();
        let rule = |id: u64, outcomes: Vec<Outcome>, remaining: Option<u64>| ScriptRule {
            script_id: id,
            job_name: Some("cust*".into()),
            job_id: None,
            task_key: None,
            parameters: None,
            outcomes,
            duration_ms: None,
            pending_ms: None,
            output: None,
            error: None,
            remaining,
        };
        store.scripts.push(rule(1, vec![Outcome::Failed], None));
        store.scripts.push(rule(2, vec![Outcome::Hang], Some(1)));
        let none = HashMap::new();
        assert_eq!(
            take_rule(&mut store, "customer", 1, "t", &none).map(|r| r.script_id),
            Some(2)
        );
        assert_eq!(
            take_rule(&mut store, "customer", 1, "t", &none).map(|r| r.script_id),
            Some(1)
        );
        assert!(take_rule(&mut store, "other", 1, "t", &none).is_none());
        let mut with_params = rule(3, vec![Outcome::Success], None);
        with_params.parameters = Some(json!({"canary": "true"}).as_object().cloned().unwrap());
        store.scripts.push(with_params);
        let params = HashMap::from([("canary".to_owned(), "true".to_owned())]);
        assert_eq!(
            take_rule(&mut store, "customer", 1, "t", &params).map(|r| r.script_id),
            Some(3)
        );
        assert_eq!(
            take_rule(&mut store, "customer", 1, "t", &none).map(|r| r.script_id),
            Some(1)
        );
    }
}
