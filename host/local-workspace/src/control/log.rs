//! The request log: a bounded ring buffer of every request served, read by tests through
//! `GET /_local/requests` to count the API calls (and the mutating calls) a deploy made.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// How many entries the log keeps; older ones are discarded first.
pub const CAPACITY: usize = 50_000;

/// One served (or refused, faulted, dropped) request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Increases by one per request, starting at 1; never reused, not even after a clear.
    pub seq: u64,
    /// Milliseconds since the Unix epoch when the request arrived.
    pub ts_ms: i64,
    pub method: String,
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The status sent, or for `drop-after` the status the handler produced but never sent;
    /// `null` when the connection was dropped before any handler ran.
    pub status: Option<u16>,
    /// A non-GET/HEAD request to an `/api/` path.
    pub mutating: bool,
    /// The kind of fault injected (`429`, `500`, `503`, `latency`, `drop`, `drop-after`), if any.
    pub fault: Option<String>,
    /// The id of the fault rule that fired, if any.
    pub fault_id: Option<String>,
    pub duration_us: u64,
    pub user_agent: Option<String>,
}

/// Whether a request counts as mutating: anything but GET/HEAD on an `/api/` path.
pub fn is_mutating(method: &str, path: &str) -> bool {
    path.starts_with("/api/") && method != "GET" && method != "HEAD"
}

#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    last_seq: u64,
    entries: VecDeque<Entry>,
}

impl RequestLog {
    /// Takes the next sequence number; the entry is pushed once the response is known.
    pub fn next_seq(&self) -> u64 {
        let mut ring = self.lock();
        ring.last_seq += 1;
        ring.last_seq
    }

    /// Records a finished request, keeping the log ordered by `seq` and bounded to [`CAPACITY`].
    pub fn push(&self, entry: Entry) {
        let mut ring = self.lock();
        // Requests finish out of order; insert so readers always see ascending sequence numbers.
        let at = ring
            .entries
            .iter()
            .rposition(|e| e.seq < entry.seq)
            .map_or(0, |i| i + 1);
        ring.entries.insert(at, entry);
        while ring.entries.len() > CAPACITY {
            ring.entries.pop_front();
        }
    }

    /// Entries with `seq > since`, optionally only mutating (or only non-mutating) ones.
    pub fn since(&self, since: u64, mutating: Option<bool>) -> (Vec<Entry>, u64) {
        let ring = self.lock();
        let entries = ring
            .entries
            .iter()
            .filter(|e| e.seq > since && mutating.is_none_or(|m| e.mutating == m))
            .cloned()
            .collect();
        (entries, ring.last_seq)
    }

    /// Forgets every entry; sequence numbers keep increasing.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, method: &str, path: &str) -> Entry {
        Entry {
            seq,
            ts_ms: 0,
            method: method.to_owned(),
            path: path.to_owned(),
            query: None,
            status: Some(200),
            mutating: is_mutating(method, path),
            fault: None,
            fault_id: None,
            duration_us: 1,
            user_agent: None,
        }
    }

    #[test]
    fn keeps_order_filters_and_bounds() {
        let log = RequestLog::default();
        let a = log.next_seq();
        let b = log.next_seq();
        log.push(entry(b, "POST", "/api/2.2/jobs/create"));
        log.push(entry(a, "GET", "/api/2.2/jobs/get"));
        let (all, last) = log.since(0, None);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(last, b);
        let (mutating, _) = log.since(0, Some(true));
        assert_eq!(mutating.len(), 1);
        assert_eq!(mutating[0].path, "/api/2.2/jobs/create");
        assert!(log.since(b, None).0.is_empty());
        log.clear();
        assert!(log.since(0, None).0.is_empty());
        assert_eq!(log.next_seq(), b + 1);

        for _ in 0..CAPACITY + 10 {
            let seq = log.next_seq();
            log.push(entry(seq, "GET", "/x"));
        }
        let (kept, last) = log.since(0, None);
        assert_eq!(kept.len(), CAPACITY);
        assert_eq!(kept.last().map(|e| e.seq), Some(last));
    }

    #[test]
    fn mutating_means_non_read_api_calls() {
        assert!(is_mutating("POST", "/api/2.2/jobs/create"));
        assert!(is_mutating("PUT", "/api/2.0/permissions/jobs/1"));
        assert!(!is_mutating("GET", "/api/2.2/jobs/get"));
        assert!(!is_mutating("HEAD", "/api/2.2/jobs/get"));
        assert!(!is_mutating("POST", "/oidc/v1/token"));
        assert!(!is_mutating("POST", "/_local/faults"));
        assert!(!is_mutating("POST", "/telemetry-ext"));
    }
}
