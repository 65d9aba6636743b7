//! The `teams` notifier: posts an Adaptive Card (in the `message` envelope that Teams incoming
//! webhooks and Workflows accept).
//!
//! ```json
//! {"webhook_url": "https://example.webhook.office.com/webhookb2/...", "events": ["succeeded", "failed"]}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::notify;
use brickship_plugin_sdk::types::{
    ConfigProblem, Event, EventKind, HttpRequest, Message, PluginError, PluginInfo, PluginKind,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    webhook_url: String,
    events: Option<Vec<String>>,
}

fn parse_config(text: &str) -> Result<(String, Vec<EventKind>), Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(text)?;
    let events = notify::parse_events(raw.events.as_deref(), "/events")?;
    if !raw.webhook_url.starts_with("https://") {
        return Err(vec![config::problem(
            "/webhook_url",
            "must be an https:// Teams webhook URL",
        )]);
    }
    Ok((raw.webhook_url, events))
}

fn card(e: &Event) -> Value {
    let d = &e.deployment;
    let color = match e.kind {
        EventKind::Succeeded => "Good",
        EventKind::GateFailed | EventKind::RolledBack | EventKind::Failed => "Attention",
        EventKind::PausedForApproval => "Warning",
        EventKind::Started | EventKind::StepDone => "Accent",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "color": color, "wrap": true, "text": notify::title(e)}),
        json!({"type": "TextBlock", "wrap": true, "text": e.message}),
        json!({"type": "FactSet", "facts": [
            {"title": "Pipeline", "value": d.pipeline},
            {"title": "Environment", "value": d.environment},
            {"title": "Strategy", "value": e.strategy},
            {"title": "Version", "value": d.version},
            {"title": "Deployment", "value": d.id},
            {"title": "At", "value": notify::rfc3339(e.at_ms)},
        ]}),
    ];
    for f in e.findings.iter().take(10) {
        let at = f.path.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
        body.push(json!({"type": "TextBlock", "wrap": true, "spacing": "Small", "text": format!("- **{}**: {}{at}", f.code, f.message)}));
    }
    let actions: Vec<Value> = e
        .url
        .iter()
        .map(|u| json!({"type": "Action.OpenUrl", "title": "Open in Databricks", "url": u}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            }
        }]
    })
}

struct Teams;

impl brickship_plugin_sdk::Notifier for Teams {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "teams",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Notifier,
            "Posts deployment events to a Microsoft Teams webhook as Adaptive Cards.",
        );
        info.config_example = Some(r#"{"webhook_url": "https://example.webhook.office.com/webhookb2/...", "events": ["succeeded", "failed"]}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn render(e: Event) -> Result<Vec<Message>, PluginError> {
        let (url, events) = parse_config(&e.deployment.config).map_err(config::refused)?;
        if !events.contains(&e.kind) {
            return Ok(Vec::new());
        }
        Ok(vec![Message::Http(HttpRequest {
            method: "POST".to_owned(),
            url,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(card(&e).to_string()),
        })])
    }
}

brickship_plugin_sdk::export_notifier!(Teams);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Notifier;
    use brickship_plugin_sdk::testing;

    #[test]
    fn renders_an_adaptive_card() {
        let mut d = testing::customer_360_prod();
        d.config = r#"{"webhook_url": "https://example.webhook.office.com/webhookb2/abc"}"#.into();
        let e = testing::event(EventKind::RolledBack, d, "smoke run failed; restored job 1234");
        let messages = Teams::render(e).unwrap();
        let Message::Http(req) = &messages[0] else {
            panic!("expected http")
        };
        let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
        let content = &body["attachments"][0]["content"];
        assert_eq!(
            body["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(content["type"], "AdaptiveCard");
        assert_eq!(content["body"][0]["color"], "Attention");
        assert_eq!(
            content["body"][0]["text"],
            "customer-360 → prod: deployment rolled back"
        );
        assert_eq!(content["body"][2]["facts"][1]["value"], "prod");
        assert_eq!(content["actions"][0]["type"], "Action.OpenUrl");
    }

    #[test]
    fn validates_config() {
        assert!(Teams::validate_config(r#"{"webhook_url": "https://x"}"#).is_ok());
        assert_eq!(
            Teams::validate_config(r#"{}"#).unwrap_err()[0].message,
            "missing field `webhook_url`"
        );
    }
}
