//! When a failed attempt is retried, and how long the client waits.
//!
//! | outcome | retried for |
//! |---|---|
//! | 429, 503 | every call: the server did nothing. `Retry-After` (integer seconds, capped) is honoured, else backoff |
//! | connect error (refused, DNS, TLS handshake): the request never left | every call |
//! | reset, timeout, connection closed without a response: the request may have been applied | idempotent calls only |
//! | 500, 502, 504 | idempotent calls only (Databricks recommends retrying 5xx on Jobs calls; repeating an idempotent call is safe) |
//! | anything else | never |
//!
//! Idempotent calls ([`is_idempotent`]): every `GET`; `jobs/reset`, `jobs/update`,
//! `jobs/runs/cancel`, `jobs/runs/cancel-all`; permissions `PUT`/`PATCH`; `workspace/mkdirs`;
//! `workspace/import` and `workspace-files/import-file` with `overwrite=true`; `jobs/run-now`
//! and `jobs/runs/submit` carrying an `idempotency_token` (the client adds one when the caller
//! gives none, so these are always safe). Not idempotent: `jobs/create`, `jobs/delete`,
//! `jobs/runs/delete`, `workspace/delete`, imports with `overwrite=false` — after a possibly
//! applied attempt they fail with [`crate::Error::Transport`]/[`crate::Error::Timeout`] and the
//! caller decides (e.g. the deploy lock re-reads the lock file to see whether it won).

use std::time::Duration;

use http::Method;

/// Retry timing. Defaults: deadline 5 min, backoff 250 ms doubling to 10 s with jitter
/// (each wait is uniformly between half and all of the step), `Retry-After` capped at 60 s.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Overall deadline of one call, across all attempts and waits.
    pub deadline: Duration,
    /// First backoff step.
    pub initial_backoff: Duration,
    /// Largest backoff step.
    pub max_backoff: Duration,
    /// Largest `Retry-After` honoured; larger values are cut to this.
    pub max_retry_after: Duration,
    /// Randomise waits (between half and all of the step) so clients do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            deadline: crate::config::DEFAULT_RETRY_TIMEOUT,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after `attempt` failed (1-based), without `Retry-After`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let step = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        if self.jitter && !step.is_zero() {
            let half = step / 2;
            let spread = u64::try_from((step - half).as_millis()).unwrap_or(u64::MAX);
            half + Duration::from_millis(fastrand::u64(0..=spread))
        } else {
            step
        }
    }

    /// The wait a `Retry-After` header asks for (integer seconds), capped; `None` if absent or not an integer.
    pub fn retry_after(&self, header: Option<&str>) -> Option<Duration> {
        let secs: u64 = header?.trim().parse().ok()?;
        Some(Duration::from_secs(secs).min(self.max_retry_after))
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An HTTP status.
    Status(u16),
    /// The connection could not be established: nothing was sent.
    Connect,
    /// The request may have reached the server (reset, timeout, closed without response).
    AfterSend,
}

/// Whether a failed attempt may be retried.
pub(crate) fn should_retry(failure: Failure, idempotent: bool) -> bool {
    match failure {
        Failure::Status(429 | 503) => true,
        Failure::Status(500 | 502 | 504) => idempotent,
        Failure::Status(_) => false,
        Failure::Connect => true,
        Failure::AfterSend => idempotent,
    }
}

/// Whether repeating this request has the same effect as sending it once.
///
/// `path` is the request path without the query; `query` the query pairs; `body` the JSON body.
pub fn is_idempotent(
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: Option<&serde_json::Value>,
) -> bool {
    if *method == Method::GET || *method == Method::HEAD {
        return true;
    }
    let endpoint = api_endpoint(path);
    let query_true = |key: &str| query.iter().any(|(k, v)| k == key && v == "true");
    let body_true = |key: &str| {
        body.and_then(|b| b.get(key))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let body_has_token = || {
        body.and_then(|b| b.get("idempotency_token"))
            .and_then(|v| v.as_str())
            .is_some_and(|t| !t.is_empty())
    };
    if *method == Method::PUT || *method == Method::PATCH {
        return endpoint.starts_with("permissions/");
    }
    if *method != Method::POST {
        return false;
    }
    match endpoint {
        "jobs/reset" | "jobs/update" | "jobs/runs/cancel" | "jobs/runs/cancel-all" | "workspace/mkdirs" => {
            true
        }
        "jobs/run-now" | "jobs/runs/submit" => body_has_token(),
        "workspace/import" => body_true("overwrite"),
        _ if endpoint.starts_with("workspace-files/import-file/") => query_true("overwrite"),
        _ => false,
    }
}

/// `/api/2.2/jobs/reset` → `jobs/reset`; other paths unchanged (minus the leading `/`).
fn api_endpoint(path: &str) -> &str {
    let trimmed = path.trim_start_matches('/');
    if let Some(rest) = trimmed.strip_prefix("api/")
        && let Some((version, rest)) = rest.split_once('/')
        && version.starts_with(|c: char| c.is_ascii_digit())
    {
        return rest;
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn idempotency_table() {
        let post = Method::POST;
        assert!(is_idempotent(&Method::GET, "/api/2.2/jobs/get", &[], None));
        assert!(is_idempotent(&post, "/api/2.2/jobs/reset", &[], None));
        assert!(is_idempotent(&post, "/api/2.1/jobs/update", &[], None));
        assert!(is_idempotent(&post, "/api/2.2/jobs/runs/cancel", &[], None));
        assert!(is_idempotent(&post, "/api/2.2/jobs/runs/cancel-all", &[], None));
        assert!(is_idempotent(
            &Method::PUT,
            "/api/2.0/permissions/jobs/1",
            &[],
            None
        ));
        assert!(is_idempotent(
            &Method::PATCH,
            "/api/2.0/permissions/jobs/1",
            &[],
            None
        ));
        assert!(is_idempotent(&post, "/api/2.0/workspace/mkdirs", &[], None));
        assert!(is_idempotent(
            &post,
            "/api/2.0/workspace/import",
            &[],
            Some(&json!({"overwrite": true}))
        ));
        assert!(!is_idempotent(
            &post,
            "/api/2.0/workspace/import",
            &[],
            Some(&json!({"overwrite": false}))
        ));
        assert!(is_idempotent(
            &post,
            "/api/2.0/workspace-files/import-file/a/b",
            &q(&[("overwrite", "true")]),
            None
        ));
        assert!(!is_idempotent(
            &post,
            "/api/2.0/workspace-files/import-file/a/b",
            &q(&[("overwrite", "false")]),
            None
        ));
        assert!(is_idempotent(
            &post,
            "/api/2.2/jobs/run-now",
            &[],
            Some(&json!({"job_id": 1, "idempotency_token": "t"}))
        ));
        assert!(!is_idempotent(
            &post,
            "/api/2.2/jobs/run-now",
            &[],
            Some(&json!({"job_id": 1}))
        ));
        assert!(is_idempotent(
            &post,
            "/api/2.2/jobs/runs/submit",
            &[],
            Some(&json!({"idempotency_token": "t"}))
        ));
        assert!(!is_idempotent(
            &post,
            "/api/2.2/jobs/create",
            &[],
            Some(&json!({"name": "x"}))
        ));
        assert!(!is_idempotent(&post, "/api/2.2/jobs/delete", &[], None));
        assert!(!is_idempotent(&post, "/api/2.0/workspace/delete", &[], None));
        assert!(!is_idempotent(&Method::DELETE, "/api/2.0/x", &[], None));
    }

    #[test]
    fn retry_decisions() {
        assert!(should_retry(Failure::Status(429), false));
        assert!(should_retry(Failure::Status(503), false));
        assert!(should_retry(Failure::Status(500), true));
        assert!(!should_retry(Failure::Status(500), false));
        assert!(should_retry(Failure::Status(502), true));
        assert!(!should_retry(Failure::Status(400), true));
        assert!(should_retry(Failure::Connect, false));
        assert!(!should_retry(Failure::AfterSend, false));
        assert!(should_retry(Failure::AfterSend, true));
    }

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let policy = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff(1), Duration::from_millis(250));
        assert_eq!(policy.backoff(2), Duration::from_millis(500));
        assert_eq!(policy.backoff(4), Duration::from_secs(2));
        assert_eq!(policy.backoff(10), Duration::from_secs(10));
        assert_eq!(policy.backoff(100), Duration::from_secs(10));
        let jittered = RetryPolicy::default();
        for attempt in 1..8 {
            let step = policy.backoff(attempt);
            let wait = jittered.backoff(attempt);
            assert!(
                wait >= step / 2 && wait <= step,
                "attempt {attempt}: {wait:?} not in [{:?}, {step:?}]",
                step / 2
            );
        }
        assert_eq!(policy.retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(policy.retry_after(Some("3600")), Some(Duration::from_secs(60)));
        assert_eq!(policy.retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(policy.retry_after(None), None);
    }
}
