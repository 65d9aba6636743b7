use std::path::Path;

use super::*;
use crate::project::{LoadRequest, load};

const JOB: &str =
    "name: p-${environment}\ntasks:\n  - task_key: a\n    notebook_task: {notebook_path: /Workspace/a}\n";

/// A project with `brickship_yaml` and one pipeline `p`, rendered for `environment`.
pub(crate) fn render(
    dir: &Path,
    brickship_yaml: &str,
    environment: &str,
    env: EnvLookup<'_>,
) -> RenderedPipeline {
    std::fs::write(dir.join("brickship.yaml"), brickship_yaml).unwrap();
    std::fs::create_dir_all(dir.join("pipelines/p")).unwrap();
    std::fs::write(dir.join("pipelines/p/job.yaml"), JOB).unwrap();
    let mut request = LoadRequest::new(dir, "p", environment);
    request.env = env;
    let loaded = load(&request);
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.diagnostics.render(false)
    );
    loaded.pipeline.expect("rendered")
}

pub(crate) fn test_env(name: &str) -> Option<String> {
    match name {
        "SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/T0/B0/s3cr3t-token".into()),
        "PD_KEY" => Some("R0UT1NGKEY00000000000000000000AB".into()),
        "SMTP_PASSWORD" => Some("hunter2-password".into()),
        "USERNAME" => Some("ci".into()),
        _ => None,
    }
}

fn settings(yaml: &str, environment: &str) -> Result<(PluginSettings, Diagnostics), EngineError> {
    let dir = tempfile::tempdir().unwrap();
    let p = render(dir.path(), yaml, environment, &test_env);
    PluginSettings::load(&p, &test_env, false)
}

fn errors(yaml: &str) -> String {
    match settings(yaml, "dev") {
        Err(EngineError::Invalid { diagnostics, .. }) => diagnostics.render(false),
        Err(other) => panic!("expected findings, got {other}"),
        Ok((s, _)) => panic!("expected findings, got {s:?}"),
    }
}

const BASE: &str =
    "project: demo\nenvironments:\n  dev: {workspace: {host: local}}\n  prod: {workspace: {host: local}}\n";

#[test]
fn gates_default_to_their_name_enforce_and_pre_deploy() {
    let (s, warnings) = settings(
        &format!("{BASE}gates:\n  required-tags:\n    config: {{tags: [owner]}}\n  prod-safety: {{}}\n"),
        "dev",
    )
    .unwrap();
    assert!(warnings.is_empty(), "{}", warnings.render(false));
    let names: Vec<_> = s
        .gates
        .iter()
        .map(|g| (g.name.as_str(), g.plugin.to_string(), g.mode, g.points.clone()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "required-tags",
                "required-tags".to_owned(),
                GateMode::Enforce,
                vec![GatePoint::PreDeploy]
            ),
            (
                "prod-safety",
                "prod-safety".to_owned(),
                GateMode::Enforce,
                vec![GatePoint::PreDeploy]
            ),
        ]
    );
    assert_eq!(s.gates[0].config, serde_json::json!({"tags": ["owner"]}));
    assert_eq!(s.gates[1].config, serde_json::json!({}));
    assert!(s.notifiers.is_empty());
    assert_eq!(s.notifications.max_attempts, DEFAULT_MAX_ATTEMPTS);
    assert_eq!(s.cost, CostSettings::default());
}

#[test]
fn environments_merge_over_top_level_gates_by_name() {
    let yaml = "project: demo
gates:
  tags:
    plugin: required-tags
    points: [post-deploy, pre-deploy, pre-deploy]
    config: {tags: [owner], environments: {prod: [sla]}}
  budget: {config: {monthly_budget: 100}}
  naming: {config: {patterns: {}}}
environments:
  dev:
    workspace: {host: local}
    gates:
      tags: {mode: monitor, config: {tags: [team]}}
      budget: null
      naming: {enabled: false}
      freeze: {plugin: freeze-window, points: [pre-promote], config: {windows: []}}
  prod: {workspace: {host: local}}
";
    let (dev, _) = settings(yaml, "dev").unwrap();
    let names: Vec<_> = dev.gates.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["tags", "freeze"]);
    let tags = &dev.gates[0];
    assert_eq!(tags.mode, GateMode::Monitor);
    assert_eq!(
        tags.points,
        [GatePoint::PreDeploy, GatePoint::PostDeploy],
        "ordered, deduplicated"
    );
    assert_eq!(
        tags.config,
        serde_json::json!({"tags": ["team"], "environments": {"prod": ["sla"]}}),
        "config merged key by key"
    );
    assert_eq!(dev.gates[1].plugin.to_string(), "freeze-window");
    assert_eq!(dev.gates[1].points, [GatePoint::PrePromote]);

    let (prod, _) = settings(yaml, "prod").unwrap();
    let names: Vec<_> = prod.gates.iter().map(|g| (g.name.as_str(), g.mode)).collect();
    assert_eq!(
        names,
        [
            ("tags", GateMode::Enforce),
            ("budget", GateMode::Enforce),
            ("naming", GateMode::Enforce)
        ]
    );
}

#[test]
fn references_are_substituted_and_env_values_are_secrets() {
    let yaml = "project: demo
variables:
  hook: ${env.SLACK_WEBHOOK_URL}
  team: data
environments:
  dev: {workspace: {host: local}}
gates:
  tags: {plugin: required-tags, config: {tags: [owner], note: '${project}/${environment}/${var.team}'}}
notifiers:
  chat: {plugin: slack, config: {webhook_url: '${var.hook}'}}
  oncall: {plugin: pagerduty, config: {routing_key: '${env.PD_KEY}', source: 'by ${env.USERNAME}'}}
";
    let (s, _) = settings(yaml, "dev").unwrap();
    assert_eq!(s.gates[0].config["note"], "demo/dev/data");
    let hook = test_env("SLACK_WEBHOOK_URL").unwrap();
    let key = test_env("PD_KEY").unwrap();
    assert_eq!(
        s.notifiers[0].config["webhook_url"],
        hook.as_str(),
        "the plugin gets the real value"
    );
    assert_eq!(s.notifiers[1].config["routing_key"], key.as_str());
    let shown = s
        .secrets
        .redact_value(&serde_json::json!([s.notifiers[0].config, s.notifiers[1].config]));
    let text = shown.to_string();
    assert!(!text.contains("s3cr3t") && !text.contains(&key), "{text}");
    assert!(text.contains(REDACTED));
    assert!(
        text.contains("by ci"),
        "values shorter than 4 characters are not redacted: {text}"
    );
    assert_eq!(
        s.secrets.redact(&format!("posting to {hook} failed")),
        "posting to *** failed"
    );
    assert_eq!(format!("{:?}", s.secrets), "Secrets(2 values)");
}

#[test]
fn unresolved_references_in_top_level_sections_are_findings() {
    let out = errors(&format!(
        "{BASE}notifiers:\n  chat: {{plugin: slack, config: {{webhook_url: '${{env.NOT_SET}}'}}}}\n"
    ));
    assert!(out.contains("E009"), "{out}");
    assert!(out.contains("brickship.yaml:6"), "{out}");
}

#[test]
fn bad_gate_entries_are_findings_at_their_lines() {
    let yaml = format!(
        "{BASE}gates:
  a: {{plugin: required-tags, mode: strict}}
  b: {{plugin: naming, points: [before-deploy]}}
  c: {{plugin: 'Bad Name'}}
  d: {{plugin: ./gates/missing.wasm}}
  e: {{plugin: naming, config: [1]}}
  f: {{plugin: naming, points: []}}
  g: {{plugin: naming, colour: blue}}
"
    );
    let out = errors(&yaml);
    for expected in [
        "`gates.a.mode` is `strict`",
        "brickship.yaml:6",
        "`before-deploy` is not a gate point",
        "brickship.yaml:7",
        "`gates.c.plugin`: invalid plugin reference `Bad Name`",
        "`gates.d.plugin`: no component at",
        "`gates.e.config` must be a mapping",
        "`gates.f.points` is empty",
        "unknown field `colour` in `gates.g`",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn notifiers_read_events_and_allowed_hosts() {
    let yaml = format!(
        "{BASE}notifications:
  allowed_hosts: [hooks.slack.com, '*.webhook.office.com', '127.0.0.1:8080']
  max_attempts: 5
  timeout: 3s
notifiers:
  chat:
    plugin: slack
    events: [failed, rolled-back, failed]
    allowed_hosts: [hooks.example.com]
    config: {{webhook_url: 'https://hooks.slack.com/services/x'}}
  all: {{plugin: webhook, config: {{url: 'https://hooks.example.com/x'}}}}
"
    );
    let (s, _) = settings(&yaml, "dev").unwrap();
    assert_eq!(s.notifiers[0].events, [EventKind::Failed, EventKind::RolledBack]);
    assert_eq!(s.notifiers[1].events, ALL_EVENTS);
    assert_eq!(
        s.notifiers[0].allowed_hosts,
        [HostPattern::parse("hooks.example.com").unwrap()]
    );
    let hosts: Vec<String> = s
        .notifications
        .allowed_hosts
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        hosts,
        ["hooks.slack.com", "*.webhook.office.com", "127.0.0.1:8080"]
    );
    assert_eq!(s.notifications.max_attempts, 5);
    assert_eq!(s.notifications.timeout, Duration::from_secs(3));

    let out = errors(&format!(
        "{BASE}notifications:\n  allowed_hosts: ['https://hooks.slack.com/x']\n  max_attempts: 0\nnotifiers:\n  chat: {{plugin: slack, events: [deployed]}}\n"
    ));
    assert!(out.contains("without scheme or path"), "{out}");
    assert!(
        out.contains("`notifications.max_attempts` is 0, outside 1..=10"),
        "{out}"
    );
    assert!(out.contains("`deployed` is not an event"), "{out}");
}

#[test]
fn smtp_settings_take_credentials_only_from_the_environment() {
    let ok = format!(
        "{BASE}notifications:\n  smtp: {{host: smtp.company.com, from: brickship@company.com, username: ci-bot, password: '${{env.SMTP_PASSWORD}}'}}\n"
    );
    let (s, _) = settings(&ok, "dev").unwrap();
    let smtp = s.notifications.smtp.as_ref().unwrap();
    assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::Starttls));
    assert_eq!(smtp.password.as_deref(), Some("hunter2-password"));
    let debug = format!("{smtp:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(s.secrets.redact("auth hunter2-password").contains(REDACTED));

    let out = errors(&format!(
        "{BASE}notifications:\n  smtp: {{host: smtp.company.com, from: brickship@company.com, username: u, password: plain}}\n"
    ));
    assert!(out.contains("must come from the environment"), "{out}");
    let out = errors(&format!(
        "{BASE}notifications:\n  smtp: {{host: smtp.company.com, from: b@c.com, tls: none}}\n"
    ));
    assert!(out.contains("clear text"), "{out}");
    let (s, _) = settings(
        &format!("{BASE}notifications:\n  smtp: {{host: 127.0.0.1, from: b@c.com, tls: none}}\n"),
        "dev",
    )
    .unwrap();
    assert_eq!(s.notifications.smtp.unwrap().port, 25);
    let out = errors(&format!("{BASE}notifications:\n  smtp: {{from: b@c.com}}\n"));
    assert!(out.contains("has no `host`"), "{out}");
}

#[test]
fn cost_settings_are_read() {
    let (s, _) = settings(
        &format!("{BASE}cost: {{dbu_price: 0.3, currency: EUR, dbu_rates: {{custom.big: 2.5}}}}\n"),
        "dev",
    )
    .unwrap();
    assert_eq!(s.cost.dbu_price, 0.3);
    assert_eq!(s.cost.currency, "EUR");
    assert_eq!(s.cost.dbu_rates.get("custom.big"), Some(&2.5));
    let out = errors(&format!("{BASE}cost: {{dbu_price: -1, currency: euro}}\n"));
    assert!(out.contains("`cost.dbu_price` must be positive"), "{out}");
    assert!(out.contains("`euro` is not a currency code"), "{out}");
}

#[test]
fn host_patterns_match_hosts_subdomains_and_ports() {
    let p = |s: &str| HostPattern::parse(s).unwrap();
    assert!(p("hooks.slack.com").matches("HOOKS.slack.com", 443));
    assert!(!p("hooks.slack.com").matches("evil-hooks.slack.com", 443));
    assert!(!p("hooks.slack.com").matches("hooks.slack.com.evil.io", 443));
    assert!(p("*.webhook.office.com").matches("acme.webhook.office.com", 443));
    assert!(
        !p("*.webhook.office.com").matches("webhook.office.com", 443),
        "a wildcard needs a subdomain"
    );
    assert!(!p("*.webhook.office.com").matches("evilwebhook.office.com", 443));
    assert!(p("127.0.0.1:8080").matches("127.0.0.1", 8080));
    assert!(!p("127.0.0.1:8080").matches("127.0.0.1", 8081));
    assert!(HostPattern::parse("").is_err());
    assert!(HostPattern::parse("a.*.com").is_err());
    assert!(HostPattern::parse("host:99999").is_err());
    assert!(is_loopback_host("localhost") && is_loopback_host("127.0.0.9") && is_loopback_host("[::1]"));
    assert!(!is_loopback_host("10.0.0.1"));
}

#[test]
fn referenced_plugins_lists_every_environment() {
    let yaml = "project: demo
strategies: {canary: {steps: [10, 100]}}
gates: {tags: {plugin: required-tags}, prod-safety: {}}
notifiers: {chat: {plugin: slack}}
environments:
  dev: {strategy: direct, gates: {contract: {plugin: ./gates/contract.wasm}}}
  prod: {strategy: {name: ./strategies/canary.wasm}, notifiers: {mail: {plugin: email}}}
";
    let refs: Vec<(String, &str, String)> = referenced_plugins(yaml)
        .into_iter()
        .map(|r| (r.reference, r.kind, r.used_by))
        .collect();
    assert_eq!(
        refs,
        [
            (
                "./gates/contract.wasm".into(),
                "gate",
                "environments.dev.gates.contract".into()
            ),
            ("prod-safety".into(), "gate", "gates.prod-safety".into()),
            ("required-tags".into(), "gate", "gates.tags".into()),
            (
                "email".into(),
                "notifier",
                "environments.prod.notifiers.mail".into()
            ),
            ("slack".into(), "notifier", "notifiers.chat".into()),
            (
                "./strategies/canary.wasm".into(),
                "strategy",
                "environments.prod.strategy".into()
            ),
            ("canary".into(), "strategy", "strategies.canary".into()),
            ("direct".into(), "strategy", "environments.dev.strategy".into()),
        ]
    );
    assert!(referenced_plugins("{{ not yaml").is_empty());
}
