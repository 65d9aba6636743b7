//! The `slack` notifier: posts an incoming-webhook message with Block Kit blocks.
//!
//! ```json
//! {"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX", "events": ["succeeded", "failed", "rolled-back"],
//!  "mention_on_failure": "<!subteam^S123>"}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::notify;
use brickship_plugin_sdk::types::{
    ConfigProblem, Event, EventKind, HttpRequest, Message, PluginError, PluginInfo, PluginKind, Severity,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    webhook_url: String,
    events: Option<Vec<String>>,
    mention_on_failure: Option<String>,
}

struct Config {
    webhook_url: String,
    events: Vec<EventKind>,
    mention_on_failure: Option<String>,
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(text)?;
    let events = notify::parse_events(raw.events.as_deref(), "/events")?;
    if !raw.webhook_url.starts_with("https://") {
        return Err(vec![config::problem(
            "/webhook_url",
            "must be an https:// Slack incoming-webhook URL",
        )]);
    }
    Ok(Config {
        webhook_url: raw.webhook_url,
        events,
        mention_on_failure: raw.mention_on_failure,
    })
}

fn icon(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Started => ":rocket:",
        EventKind::StepDone => ":arrow_forward:",
        EventKind::PausedForApproval => ":raised_hand:",
        EventKind::GateFailed => ":no_entry:",
        EventKind::Succeeded => ":white_check_mark:",
        EventKind::RolledBack => ":rewind:",
        EventKind::Failed => ":x:",
    }
}

fn payload(e: &Event, config: &Config) -> Value {
    let d = &e.deployment;
    let title = format!("{} {}", icon(e.kind), notify::title(e));
    let mut text = e.message.clone();
    if notify::is_bad(e.kind)
        && let Some(m) = &config.mention_on_failure
    {
        text = format!("{m} {text}");
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Pipeline*\n{}", d.pipeline)},
            {"type": "mrkdwn", "text": format!("*Environment*\n{}", d.environment)},
            {"type": "mrkdwn", "text": format!("*Strategy*\n{}", e.strategy)},
            {"type": "mrkdwn", "text": format!("*Version*\n`{}`", d.version)},
        ]}),
    ];
    if !e.findings.is_empty() {
        let lines: Vec<String> = e
            .findings
            .iter()
            .take(10)
            .map(|f| {
                let sev = match f.severity {
                    Severity::Error => ":red_circle:",
                    Severity::Warning => ":large_yellow_circle:",
                    Severity::Info => ":information_source:",
                };
                let at = f.path.as_deref().map(|p| format!(" (`{p}`)")).unwrap_or_default();
                format!("{sev} *{}*: {}{at}", f.code, f.message)
            })
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}}));
    }
    let mut context = format!("deployment `{}` · {}", d.id, notify::rfc3339(e.at_ms));
    if let Some(id) = e.job_id {
        context.push_str(&format!(" · job {id}"));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    if let Some(url) = &e.url {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in Databricks"}, "url": url}
        ]}));
    }
    json!({"text": format!("{title}: {}", e.message), "blocks": blocks})
}

struct Slack;

impl brickship_plugin_sdk::Notifier for Slack {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "slack",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Notifier,
            "Posts deployment events to a Slack incoming webhook as Block Kit messages.",
        );
        info.config_example = Some(r#"{"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX", "events": ["succeeded", "failed"]}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn render(e: Event) -> Result<Vec<Message>, PluginError> {
        let config = parse_config(&e.deployment.config).map_err(config::refused)?;
        if !config.events.contains(&e.kind) {
            return Ok(Vec::new());
        }
        Ok(vec![Message::Http(HttpRequest {
            method: "POST".to_owned(),
            url: config.webhook_url.clone(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(payload(&e, &config).to_string()),
        })])
    }
}

brickship_plugin_sdk::export_notifier!(Slack);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Notifier;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::Finding;

    const CONFIG: &str = r#"{"webhook_url": "https://hooks.slack.com/services/T/B/X", "events": ["gate-failed", "succeeded"], "mention_on_failure": "<!here>"}"#;

    fn event(kind: EventKind) -> Event {
        let mut d = testing::customer_360_prod();
        d.config = CONFIG.to_owned();
        testing::event(kind, d, "prod-safety refused the deployment")
    }

    #[test]
    fn renders_blocks_with_findings_and_a_link() {
        let mut e = event(EventKind::GateFailed);
        e.findings.push(
            Finding::error("missing-timeout", "task `x` has no timeout").at("/tasks/4/timeout_seconds"),
        );
        let messages = Slack::render(e).unwrap();
        let Message::Http(req) = &messages[0] else {
            panic!("expected http")
        };
        assert_eq!(req.url, "https://hooks.slack.com/services/T/B/X");
        let body: Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            ":no_entry: customer-360 → prod: gate failed"
        );
        assert_eq!(
            body["blocks"][1]["text"]["text"],
            "<!here> prod-safety refused the deployment"
        );
        assert!(
            body["blocks"][3]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("*missing-timeout*")
        );
        assert_eq!(
            body["blocks"][5]["elements"][0]["url"],
            "https://example.cloud.databricks.com/jobs/1234"
        );
    }

    #[test]
    fn filters_events_and_validates_config() {
        assert!(Slack::render(event(EventKind::Started)).unwrap().is_empty());
        assert_eq!(
            Slack::validate_config(r#"{"webhook_url": "http://x"}"#).unwrap_err()[0].path,
            "/webhook_url"
        );
        assert_eq!(
            Slack::validate_config(r#"{"webhook_url": "https://x", "events": ["boom"]}"#).unwrap_err()[0]
                .path,
            "/events/0"
        );
    }
}
