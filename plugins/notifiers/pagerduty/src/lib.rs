//! The `pagerduty` notifier: PagerDuty Events API v2. Bad outcomes (`failed`, `rolled-back`,
//! `gate-failed` by default) trigger an alert; `succeeded` resolves it. The `dedup_key` is per
//! deployment (`brickship/<pipeline>/<environment>/<deployment id>`), so one deployment's events
//! collapse into one incident.
//!
//! ```json
//! {"routing_key": "R0UT1NGKEY00000000000000000000AB", "trigger_on": ["failed", "rolled-back"], "source": "brickship-ci"}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::notify;
use brickship_plugin_sdk::types::{
    ConfigProblem, Event, EventKind, HttpRequest, Message, PluginError, PluginInfo, PluginKind,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The Events API v2 endpoint.
const ENQUEUE: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    routing_key: String,
    trigger_on: Option<Vec<String>>,
    resolve_on: Option<Vec<String>>,
    #[serde(default = "source")]
    source: String,
    severity: Option<String>,
}

fn source() -> String {
    "brickship".to_owned()
}

struct Config {
    routing_key: String,
    trigger_on: Vec<EventKind>,
    resolve_on: Vec<EventKind>,
    source: String,
    severity: Option<String>,
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(text)?;
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let trigger_on = notify::parse_events(
        Some(
            raw.trigger_on
                .as_deref()
                .unwrap_or(&names(&["failed", "rolled-back", "gate-failed"])),
        ),
        "/trigger_on",
    )?;
    let resolve_on = notify::parse_events(
        Some(raw.resolve_on.as_deref().unwrap_or(&names(&["succeeded"]))),
        "/resolve_on",
    )?;
    let mut problems = Vec::new();
    if raw.routing_key.len() != 32 {
        problems.push(config::problem(
            "/routing_key",
            "a PagerDuty integration (routing) key has 32 characters",
        ));
    }
    if let Some(s) = &raw.severity
        && !["critical", "error", "warning", "info"].contains(&s.as_str())
    {
        problems.push(config::problem(
            "/severity",
            "must be critical, error, warning or info",
        ));
    }
    if problems.is_empty() {
        Ok(Config {
            routing_key: raw.routing_key,
            trigger_on,
            resolve_on,
            source: raw.source,
            severity: raw.severity,
        })
    } else {
        Err(problems)
    }
}

fn dedup_key(e: &Event) -> String {
    let d = &e.deployment;
    format!("brickship/{}/{}/{}", d.pipeline, d.environment, d.id)
}

fn trigger(e: &Event, c: &Config) -> Value {
    let d = &e.deployment;
    let severity = c.severity.clone().unwrap_or_else(|| {
        if e.kind == EventKind::GateFailed {
            "warning"
        } else {
            "error"
        }
        .to_owned()
    });
    let mut summary = format!("{}: {}", notify::title(e), e.message);
    if summary.len() > 1024 {
        let mut cut = 1021;
        while !summary.is_char_boundary(cut) {
            cut -= 1;
        }
        summary.truncate(cut);
        summary.push_str("...");
    }
    let findings: Vec<Value> = e
        .findings
        .iter()
        .map(|f| json!({"code": f.code, "message": f.message, "path": f.path}))
        .collect();
    let mut body = json!({
        "routing_key": c.routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(e),
        "payload": {
            "summary": summary,
            "severity": severity,
            "source": c.source,
            "timestamp": notify::rfc3339(e.at_ms),
            "component": d.pipeline,
            "group": d.environment,
            "class": notify::event_name(e.kind),
            "custom_details": {
                "deployment_id": d.id,
                "version": d.version,
                "strategy": e.strategy,
                "job_id": e.job_id,
                "detail": e.detail,
                "findings": findings,
            },
        },
    });
    if let Some(url) = &e.url {
        body["links"] = json!([{"href": url, "text": "Databricks job"}]);
    }
    body
}

struct PagerDuty;

impl brickship_plugin_sdk::Notifier for PagerDuty {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "pagerduty",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Notifier,
            "Triggers a PagerDuty alert (Events API v2) when a deployment fails, rolls back or is refused by a gate, and resolves it when the deployment succeeds.",
        );
        info.config_example = Some(
            r#"{"routing_key": "<32-character integration key>", "trigger_on": ["failed", "rolled-back"]}"#
                .to_owned(),
        );
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn render(e: Event) -> Result<Vec<Message>, PluginError> {
        let c = parse_config(&e.deployment.config).map_err(config::refused)?;
        let body = if c.trigger_on.contains(&e.kind) {
            trigger(&e, &c)
        } else if c.resolve_on.contains(&e.kind) {
            json!({"routing_key": c.routing_key, "event_action": "resolve", "dedup_key": dedup_key(&e)})
        } else {
            return Ok(Vec::new());
        };
        Ok(vec![Message::Http(HttpRequest {
            method: "POST".to_owned(),
            url: ENQUEUE.to_owned(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(body.to_string()),
        })])
    }
}

brickship_plugin_sdk::export_notifier!(PagerDuty);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Notifier;
    use brickship_plugin_sdk::testing;

    const KEY: &str = "R0UT1NGKEY00000000000000000000AB";

    fn render(kind: EventKind) -> Vec<Message> {
        let mut d = testing::customer_360_prod();
        d.config = format!(r#"{{"routing_key": "{KEY}"}}"#);
        PagerDuty::render(testing::event(kind, d, "smoke run 88 failed")).unwrap()
    }

    fn body(m: &[Message]) -> Value {
        let Message::Http(req) = &m[0] else {
            panic!("expected http")
        };
        assert_eq!(req.url, ENQUEUE);
        serde_json::from_str(req.body.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn failure_triggers_and_success_resolves_the_same_dedup_key() {
        let t = body(&render(EventKind::RolledBack));
        assert_eq!(t["event_action"], "trigger");
        assert_eq!(t["routing_key"], KEY);
        assert_eq!(t["dedup_key"], "brickship/customer-360/prod/dep-test-0001");
        assert_eq!(t["payload"]["severity"], "error");
        assert_eq!(t["payload"]["source"], "brickship");
        assert_eq!(
            t["payload"]["summary"],
            "customer-360 → prod: deployment rolled back: smoke run 88 failed"
        );
        assert_eq!(t["payload"]["timestamp"], "2026-01-05T12:00:00Z");
        let r = body(&render(EventKind::Succeeded));
        assert_eq!(
            r,
            json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": "brickship/customer-360/prod/dep-test-0001"})
        );
        assert!(render(EventKind::Started).is_empty());
        assert_eq!(
            body(&render(EventKind::GateFailed))["payload"]["severity"],
            "warning"
        );
    }

    #[test]
    fn validates_config() {
        let p =
            PagerDuty::validate_config(r#"{"routing_key": "short", "severity": "meh", "trigger_on": ["x"]}"#)
                .unwrap_err();
        assert_eq!(p[0].path, "/trigger_on/0");
        let p = PagerDuty::validate_config(r#"{"routing_key": "short", "severity": "meh"}"#).unwrap_err();
        assert_eq!(
            p.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["/routing_key", "/severity"]
        );
    }
}
