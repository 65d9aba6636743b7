//! The `webhook` notifier: sends the event as generic JSON to any URL.
//!
//! The body is `{"event", "message", "detail", "pipeline", "environment", "deployment_id",
//! "version", "strategy", "plan", "job_id", "url", "at", "at_ms", "findings"}` (`plan` is the
//! plan action and change count; the desired settings are not included).
//!
//! ```json
//! {"url": "https://hooks.example.com/brickship", "headers": {"authorization": "Bearer ..."}, "events": ["succeeded"]}
//! ```

use std::collections::BTreeMap;

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::notify;
use brickship_plugin_sdk::types::{
    ConfigProblem, Event, EventKind, HttpRequest, Message, PlanAction, PluginError, PluginInfo, PluginKind,
    Severity,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    url: String,
    #[serde(default = "post")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    events: Option<Vec<String>>,
}

fn post() -> String {
    "POST".to_owned()
}

fn parse_config(text: &str) -> Result<(RawConfig, Vec<EventKind>), Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(text)?;
    let events = notify::parse_events(raw.events.as_deref(), "/events")?;
    let mut problems = Vec::new();
    if !(raw.url.starts_with("https://") || raw.url.starts_with("http://")) {
        problems.push(config::problem("/url", "must be an http(s):// URL"));
    }
    if !["POST", "PUT", "PATCH"].contains(&raw.method.as_str()) {
        problems.push(config::problem("/method", "must be POST, PUT or PATCH"));
    }
    if problems.is_empty() {
        Ok((raw, events))
    } else {
        Err(problems)
    }
}

fn body(e: &Event) -> Value {
    let d = &e.deployment;
    let plan = match d.plan.action {
        PlanAction::Create => "create",
        PlanAction::Update => "update",
        PlanAction::Unchanged => "unchanged",
    };
    let findings: Vec<Value> = e
        .findings
        .iter()
        .map(|f| {
            let severity = match f.severity {
                Severity::Info => "info",
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            json!({"code": f.code, "message": f.message, "severity": severity, "path": f.path})
        })
        .collect();
    json!({
        "event": notify::event_name(e.kind),
        "message": e.message,
        "detail": e.detail,
        "pipeline": d.pipeline,
        "environment": d.environment,
        "deployment_id": d.id,
        "version": d.version,
        "strategy": e.strategy,
        "plan": {"action": plan, "changes": d.plan.changes.len()},
        "job_id": e.job_id,
        "url": e.url,
        "at": notify::rfc3339(e.at_ms),
        "at_ms": e.at_ms,
        "findings": findings,
    })
}

struct Webhook;

impl brickship_plugin_sdk::Notifier for Webhook {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "webhook",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Notifier,
            "Sends each deployment event as a generic JSON document to a URL, with optional headers.",
        );
        info.config_example = Some(r#"{"url": "https://hooks.example.com/brickship", "headers": {"authorization": "Bearer <token>"}}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn render(e: Event) -> Result<Vec<Message>, PluginError> {
        let (c, events) = parse_config(&e.deployment.config).map_err(config::refused)?;
        if !events.contains(&e.kind) {
            return Ok(Vec::new());
        }
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(
            c.headers
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type")),
        );
        Ok(vec![Message::Http(HttpRequest {
            method: c.method,
            url: c.url,
            headers,
            body: Some(body(&e).to_string()),
        })])
    }
}

brickship_plugin_sdk::export_notifier!(Webhook);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Notifier;
    use brickship_plugin_sdk::testing;

    #[test]
    fn sends_the_event_as_json_with_headers() {
        let mut d = testing::customer_360_prod();
        d.config = r#"{"url": "https://hooks.example.com/b", "method": "PUT", "headers": {"authorization": "Bearer t"}}"#.into();
        let messages = Webhook::render(testing::event(EventKind::Succeeded, d, "updated job 1234")).unwrap();
        let Message::Http(req) = &messages[0] else {
            panic!("expected http")
        };
        assert_eq!(req.method, "PUT");
        assert_eq!(
            req.headers[1],
            ("authorization".to_owned(), "Bearer t".to_owned())
        );
        let b: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
        assert_eq!(b["event"], "succeeded");
        assert_eq!(b["pipeline"], "customer-360");
        assert_eq!(b["plan"], json!({"action": "create", "changes": 0}));
        assert_eq!(b["at"], "2026-01-05T12:00:00Z");
        assert!(b.get("desired").is_none());
    }

    #[test]
    fn validates_config() {
        let p = Webhook::validate_config(r#"{"url": "ftp://x", "method": "GET"}"#).unwrap_err();
        assert_eq!(
            p.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["/url", "/method"]
        );
    }
}
