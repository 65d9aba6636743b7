//! Per-endpoint token buckets, like a real workspace's API rate limits (reference §6).
//!
//! Each rule has a bucket holding up to `requests` tokens that refills continuously at
//! `requests / per_seconds`; a request takes one token or is refused with 429
//! `REQUEST_LIMIT_EXCEEDED` before reaching its handler. A request is counted against the most
//! specific matching rule only (see [`Endpoint::specificity`]). Overrides set through
//! `POST /_local/rate-limits` replace the default with the same selector or add new rules.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, EndpointError};

/// The documented defaults: `(selector, requests, per_seconds)`.
pub const DEFAULTS: &[(&str, u32, u32)] = &[
    ("POST jobs/create", 20, 1),
    ("POST jobs/run-now", 20, 1),
    ("GET jobs/runs/get", 100, 1),
    ("POST jobs/runs/submit", 35, 1),
    ("GET /api/*/permissions/**", 100, 1),
    ("PUT|PATCH /api/*/permissions/**", 30, 1),
    ("GET workspace/export", 60, 1),
    ("POST workspace/import", 30, 1),
    ("POST /api/*/workspace-files/import-file/**", 30, 1),
    ("/api/*/secrets/**", 1100, 60),
];

/// A limit as given in `{"limits": {selector: limit}}`: a number of requests per second, or
/// `{"requests": N, "per_seconds": S}`; `null` removes the rule.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum LimitSpec {
    PerSecond(u32),
    Window { requests: u32, per_seconds: u32 },
}

/// A rule as listed by `GET /_local/rate-limits`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleView {
    pub endpoint: String,
    pub requests: u32,
    pub per_seconds: u32,
    /// `default` or `override`.
    pub source: &'static str,
    /// Requests refused by this rule so far.
    pub throttled: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("rate limit for `{0}` must allow at least one request in a window of at least one second")]
    Zero(String),
}

#[derive(Debug)]
pub struct RateLimits {
    inner: Mutex<Limits>,
}

#[derive(Debug)]
struct Limits {
    enabled: bool,
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    endpoint: Endpoint,
    requests: u32,
    per: Duration,
    overridden: bool,
    tokens: f64,
    refilled: Instant,
    throttled: u64,
}

impl Rule {
    fn new(endpoint: Endpoint, requests: u32, per_seconds: u32, overridden: bool) -> Self {
        Self {
            endpoint,
            requests,
            per: Duration::from_secs(u64::from(per_seconds)),
            overridden,
            tokens: f64::from(requests),
            refilled: Instant::now(),
            throttled: 0,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let capacity = f64::from(self.requests);
        let rate = capacity / self.per.as_secs_f64();
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.throttled += 1;
            false
        }
    }
}

impl RateLimits {
    pub fn new(enabled: bool) -> Self {
        Self {
            inner: Mutex::new(Limits {
                enabled,
                rules: default_rules(),
            }),
        }
    }

    /// Takes a token for this request; `Some(selector)` names the rule that refused it.
    pub fn check(&self, method: &str, path: &str) -> Option<String> {
        let mut limits = self.lock();
        if !limits.enabled {
            return None;
        }
        let rule = limits
            .rules
            .iter_mut()
            .filter(|rule| rule.endpoint.matches(method, path))
            .max_by_key(|rule| (rule.endpoint.specificity(), rule.overridden))?;
        if rule.take(Instant::now()) {
            None
        } else {
            Some(rule.endpoint.to_string())
        }
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.lock().enabled = enabled;
    }

    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// Applies overrides: each selector replaces the rule with the same text (default or
    /// override) or adds one; `None` removes it. All-or-nothing: a bad selector changes nothing.
    pub fn apply(&self, changes: &[(String, Option<LimitSpec>)]) -> Result<(), LimitError> {
        let mut parsed = Vec::with_capacity(changes.len());
        for (selector, spec) in changes {
            let endpoint = Endpoint::parse(selector)?;
            let window = match spec {
                None => None,
                Some(LimitSpec::PerSecond(n)) => Some((*n, 1)),
                Some(LimitSpec::Window {
                    requests,
                    per_seconds,
                }) => Some((*requests, *per_seconds)),
            };
            if let Some((requests, per)) = window
                && (requests == 0 || per == 0)
            {
                return Err(LimitError::Zero(selector.clone()));
            }
            parsed.push((endpoint, window));
        }
        let mut limits = self.lock();
        for (endpoint, window) in parsed {
            limits
                .rules
                .retain(|rule| rule.endpoint.as_str() != endpoint.as_str());
            if let Some((requests, per)) = window {
                limits.rules.push(Rule::new(endpoint, requests, per, true));
            }
        }
        Ok(())
    }

    /// Restores the documented defaults (keeping the on/off switch) and refills every bucket.
    pub fn reset(&self) {
        let fresh = default_rules();
        self.lock().rules = fresh;
    }

    pub fn rules(&self) -> Vec<RuleView> {
        self.lock()
            .rules
            .iter()
            .map(|rule| RuleView {
                endpoint: rule.endpoint.to_string(),
                requests: rule.requests,
                per_seconds: rule.per.as_secs() as u32,
                source: if rule.overridden { "override" } else { "default" },
                throttled: rule.throttled,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Limits> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn default_rules() -> Vec<Rule> {
    DEFAULTS
        .iter()
        .filter_map(|(selector, requests, per)| {
            Endpoint::parse(selector)
                .ok()
                .map(|ep| Rule::new(ep, *requests, *per, false))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_refuses() {
        let limits = RateLimits::new(true);
        let allowed = (0..25)
            .filter(|_| limits.check("POST", "/api/2.2/jobs/create").is_none())
            .count();
        // 20 tokens plus whatever refilled during the loop (a loop this short refills < 1).
        assert!((20..=21).contains(&allowed), "allowed {allowed}");
        assert_eq!(
            limits.check("POST", "/api/2.1/jobs/create").as_deref(),
            Some("POST jobs/create")
        );
        // Other endpoints have their own buckets; unlisted ones are unlimited.
        assert!(limits.check("GET", "/api/2.2/jobs/runs/get").is_none());
        assert!(limits.check("GET", "/api/2.2/jobs/list").is_none());
    }

    #[test]
    fn switch_and_overrides() {
        let limits = RateLimits::new(true);
        limits.set_enabled(false);
        assert!((0..100).all(|_| limits.check("POST", "/api/2.2/jobs/create").is_none()));
        limits.set_enabled(true);
        limits
            .apply(&[(
                "POST /api/2.2/jobs/create".to_owned(),
                Some(LimitSpec::Window {
                    requests: 2,
                    per_seconds: 60,
                }),
            )])
            .unwrap();
        assert!(limits.check("POST", "/api/2.2/jobs/create").is_none());
        assert!(limits.check("POST", "/api/2.2/jobs/create").is_none());
        assert!(limits.check("POST", "/api/2.2/jobs/create").is_some());
        // The 2.1 path still uses the default rule.
        assert!(limits.check("POST", "/api/2.1/jobs/create").is_none());
        limits
            .apply(&[("POST /api/2.2/jobs/create".to_owned(), None)])
            .unwrap();
        assert!(
            limits
                .rules()
                .iter()
                .all(|r| r.endpoint != "POST /api/2.2/jobs/create")
        );
        assert!(matches!(
            limits.apply(&[("x".to_owned(), Some(LimitSpec::PerSecond(0)))]),
            Err(LimitError::Zero(_))
        ));
        limits.reset();
        assert_eq!(limits.rules().len(), DEFAULTS.len());
    }
}
