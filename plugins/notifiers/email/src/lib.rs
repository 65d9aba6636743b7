//! The `email` notifier: a plain-text email per event (the host sends it through its relay).
//!
//! ```json
//! {"to": ["data-engineering@company.com"], "cc": ["data-platform-oncall@company.com"], "subject_prefix": "[brickship]", "events": ["succeeded", "failed", "rolled-back"]}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::notify;
use brickship_plugin_sdk::types::{
    ConfigProblem, Email, Event, EventKind, Message, PluginError, PluginInfo, PluginKind,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default = "prefix")]
    subject_prefix: String,
    events: Option<Vec<String>>,
}

fn prefix() -> String {
    "[brickship]".to_owned()
}

fn parse_config(text: &str) -> Result<(RawConfig, Vec<EventKind>), Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(text)?;
    let events = notify::parse_events(raw.events.as_deref(), "/events")?;
    let mut problems = Vec::new();
    if raw.to.is_empty() {
        problems.push(config::problem("/to", "name at least one recipient"));
    }
    for (field, list) in [("to", &raw.to), ("cc", &raw.cc)] {
        for (i, a) in list.iter().enumerate() {
            let ok = a
                .split_once('@')
                .is_some_and(|(u, d)| !u.is_empty() && d.contains('.'))
                && !a.contains(char::is_whitespace);
            if !ok {
                problems.push(config::problem(
                    format!("/{field}/{i}"),
                    format!("`{a}` is not an email address"),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok((raw, events))
    } else {
        Err(problems)
    }
}

fn text(e: &Event) -> String {
    let d = &e.deployment;
    let mut out = format!("{}\n\n{}\n\n", notify::title(e), e.message);
    out.push_str(&format!("Pipeline:     {}\n", d.pipeline));
    out.push_str(&format!("Environment:  {}\n", d.environment));
    out.push_str(&format!("Strategy:     {}\n", e.strategy));
    out.push_str(&format!("Version:      {}\n", d.version));
    out.push_str(&format!("Deployment:   {}\n", d.id));
    if let Some(id) = e.job_id {
        out.push_str(&format!("Job:          {id}\n"));
    }
    out.push_str(&format!("At:           {}\n", notify::rfc3339(e.at_ms)));
    if let Some(url) = &e.url {
        out.push_str(&format!("Link:         {url}\n"));
    }
    if !e.findings.is_empty() {
        out.push_str("\nFindings:\n");
        for f in &e.findings {
            let at = f.path.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
            out.push_str(&format!("  - {}: {}{at}\n", f.code, f.message));
        }
    }
    if !e.detail.is_empty() {
        out.push_str(&format!("\n{}\n", e.detail));
    }
    out
}

struct EmailNotifier;

impl brickship_plugin_sdk::Notifier for EmailNotifier {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "email",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Notifier,
            "Emails a plain-text summary of each deployment event to the configured recipients.",
        );
        info.config_example = Some(
            r#"{"to": ["data-engineering@company.com"], "events": ["succeeded", "failed", "rolled-back"]}"#
                .to_owned(),
        );
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
        let subject = format!("{} {}", c.subject_prefix, notify::title(&e))
            .trim()
            .to_owned();
        Ok(vec![Message::Email(Email {
            to: c.to,
            cc: c.cc,
            subject,
            text: text(&e),
            html: None,
        })])
    }
}

brickship_plugin_sdk::export_notifier!(EmailNotifier);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Notifier;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::Finding;

    #[test]
    fn renders_subject_and_body() {
        let mut d = testing::customer_360_prod();
        d.config =
            r#"{"to": ["data-engineering@company.com"], "cc": ["data-platform-oncall@company.com"]}"#.into();
        let mut e = testing::event(EventKind::Failed, d, "reset-job failed: bad cluster");
        e.findings
            .push(Finding::error("missing-timeout", "task has no timeout").at("/tasks/4/timeout_seconds"));
        let m = EmailNotifier::render(e).unwrap();
        let Message::Email(mail) = &m[0] else {
            panic!("expected email")
        };
        assert_eq!(mail.subject, "[brickship] customer-360 → prod: deployment failed");
        assert_eq!(mail.cc, ["data-platform-oncall@company.com"]);
        assert!(mail.text.contains("Environment:  prod\n"));
        assert!(
            mail.text
                .contains("  - missing-timeout: task has no timeout (/tasks/4/timeout_seconds)\n")
        );
    }

    #[test]
    fn validates_addresses() {
        let p = EmailNotifier::validate_config(r#"{"to": ["nobody", "a@b.c"], "cc": ["x y@z.com"]}"#)
            .unwrap_err();
        assert_eq!(
            p.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
            ["/to/0", "/cc/0"]
        );
        assert_eq!(
            EmailNotifier::validate_config(r#"{"to": []}"#).unwrap_err()[0].path,
            "/to"
        );
    }
}
