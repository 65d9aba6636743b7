//! Helpers shared by notifiers: event names, titles and event filters in configs.

use crate::config;
use crate::types::{ConfigProblem, Event, EventKind};

/// Every event kind, in lifecycle order.
pub const ALL_EVENTS: [EventKind; 7] = [
    EventKind::Started,
    EventKind::StepDone,
    EventKind::PausedForApproval,
    EventKind::GateFailed,
    EventKind::Succeeded,
    EventKind::RolledBack,
    EventKind::Failed,
];

/// The kebab-case name of an event kind (`paused-for-approval`).
pub fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Started => "started",
        EventKind::StepDone => "step-done",
        EventKind::PausedForApproval => "paused-for-approval",
        EventKind::GateFailed => "gate-failed",
        EventKind::Succeeded => "succeeded",
        EventKind::RolledBack => "rolled-back",
        EventKind::Failed => "failed",
    }
}

/// True for events that mean something went wrong.
pub fn is_bad(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::GateFailed | EventKind::RolledBack | EventKind::Failed
    )
}

/// A one-line title: `customer-360 → prod: deployment succeeded`.
pub fn title(e: &Event) -> String {
    let what = match e.kind {
        EventKind::Started => "deployment started",
        EventKind::StepDone => "step done",
        EventKind::PausedForApproval => "waiting for approval",
        EventKind::GateFailed => "gate failed",
        EventKind::Succeeded => "deployment succeeded",
        EventKind::RolledBack => "deployment rolled back",
        EventKind::Failed => "deployment failed",
    };
    format!("{} → {}: {what}", e.deployment.pipeline, e.deployment.environment)
}

/// Parse an optional list of event names at `path` (absent: every event).
pub fn parse_events(names: Option<&[String]>, path: &str) -> Result<Vec<EventKind>, Vec<ConfigProblem>> {
    let Some(names) = names else {
        return Ok(ALL_EVENTS.to_vec());
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match ALL_EVENTS.iter().find(|k| event_name(**k) == n) {
            Some(k) => out.push(*k),
            None => problems.push(config::problem(
                format!("{path}/{i}"),
                format!(
                    "unknown event `{n}`; events are {}",
                    ALL_EVENTS
                        .iter()
                        .map(|k| event_name(*k))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Milliseconds since the epoch as `2026-01-05T12:00:00Z` (UTC, second precision).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil-from-days (Howard Hinnant), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_instants_and_parses_filters() {
        assert_eq!(rfc3339(crate::testing::MONDAY_NOON_MS), "2026-01-05T12:00:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        let names = vec!["failed".to_owned(), "nope".to_owned()];
        assert_eq!(
            parse_events(Some(&names), "/events").unwrap_err()[0].path,
            "/events/1"
        );
        assert_eq!(parse_events(None, "/events").unwrap().len(), 7);
    }
}
