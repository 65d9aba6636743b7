//! The call log: every HTTP attempt the client makes, for reports and for tests that assert on
//! the exact calls a deploy made (e.g. "no mutating call" for an unchanged re-deploy).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// One HTTP attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query, e.g. `/api/2.2/jobs/reset`.
    pub path: String,
    /// Query pairs; values of keys that may carry secrets (`*token*` except `page_token`,
    /// `*secret*`, `*password*`) are replaced by `***`.
    pub query: Vec<(String, String)>,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Transport error, when none did.
    pub error: Option<String>,
    /// 1 for the first attempt of a call, 2 for its first retry, …
    pub attempt: u32,
    /// Time from sending to the end of the response body (or the error).
    pub duration: Duration,
    /// Whether the call changes state: any non-`GET` to `/api/`.
    pub mutating: bool,
    /// Wall-clock time the attempt started.
    pub started_at: SystemTime,
}

impl CallRecord {
    /// `POST /api/2.2/jobs/reset -> 200`, for reports.
    pub fn summary(&self) -> String {
        let outcome = match (&self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("error: {error}"),
            (None, None) => "no response".to_owned(),
        };
        let retry = if self.attempt > 1 {
            format!(" (attempt {})", self.attempt)
        } else {
            String::new()
        };
        format!("{} {} -> {outcome}{retry}", self.method, self.path)
    }
}

/// A shared, cloneable log of [`CallRecord`]s. Clones share the same records.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    records: Arc<Mutex<Vec<CallRecord>>>,
}

impl CallLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a record.
    pub fn push(&self, record: CallRecord) {
        self.lock().push(record);
    }

    /// A copy of all records, oldest first.
    pub fn records(&self) -> Vec<CallRecord> {
        self.lock().clone()
    }

    /// The mutating records only.
    pub fn mutating(&self) -> Vec<CallRecord> {
        self.lock().iter().filter(|r| r.mutating).cloned().collect()
    }

    /// Removes all records.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<CallRecord>> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether a query key may carry a secret.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    (key.contains("token") && key != "page_token" && key != "next_page_token")
        || key.contains("secret")
        || key.contains("password")
}

/// Query pairs with sensitive values replaced by `***`.
pub(crate) fn redact_query(query: &[(String, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if is_sensitive_key(k) {
                    "***".to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_query_values_only() {
        let query = vec![
            ("page_token".to_owned(), "abc".to_owned()),
            ("access_token".to_owned(), "s3cr3t".to_owned()),
            ("client_secret".to_owned(), "s3cr3t".to_owned()),
            ("job_id".to_owned(), "5".to_owned()),
        ];
        let redacted = redact_query(&query);
        assert_eq!(redacted[0].1, "abc");
        assert_eq!(redacted[1].1, "***");
        assert_eq!(redacted[2].1, "***");
        assert_eq!(redacted[3].1, "5");
    }
}
