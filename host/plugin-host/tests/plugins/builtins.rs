//! Every built-in gate and notifier, called through the runtime on the seed's customer-360 job.

use plugin_host::types::*;
use plugin_host::{PluginRef, builtins};
use serde_json::{Value, json};

use super::*;

fn evaluate(name: &str, input: GateInput) -> Verdict {
    let rt = runtime();
    let gate = rt.load_gate(&PluginRef::builtin(name)).unwrap();
    gate.validate_config(&input.deployment.config).unwrap();
    gate.evaluate(&input).unwrap()
}

fn input(environment: &str, config: Value) -> GateInput {
    GateInput {
        deployment: deployment(environment, config),
        point: GatePoint::PreDeploy,
        cost: None,
        evidence: vec![],
    }
}

fn codes(v: &Verdict) -> Vec<&str> {
    v.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn every_builtin_describes_itself_with_the_contract_version() {
    let rt = runtime();
    let all = builtins();
    assert_eq!(all.len(), 13, "{all:?}");
    for (name, kind) in all {
        let r = PluginRef::builtin(name);
        let info = match kind {
            PluginKind::Strategy => rt.load_strategy(&r).unwrap().info().clone(),
            PluginKind::Gate => rt.load_gate(&r).unwrap().info().clone(),
            PluginKind::Notifier => rt.load_notifier(&r).unwrap().info().clone(),
        };
        assert_eq!(info.name, name);
        assert_eq!(info.kind, kind);
        assert_eq!(info.contract, plugin_host::CONTRACT_VERSION);
        assert!(!info.description.is_empty());
        let example: Value = serde_json::from_str(info.config_example.as_deref().unwrap_or("{}")).unwrap();
        let valid = match kind {
            PluginKind::Strategy => rt.load_strategy(&r).unwrap().validate_config(&example),
            PluginKind::Gate => rt.load_gate(&r).unwrap().validate_config(&example),
            PluginKind::Notifier => rt.load_notifier(&r).unwrap().validate_config(&example),
        };
        // The pagerduty example carries a placeholder key, which its validation rightly refuses.
        if name != "pagerduty" {
            valid.unwrap_or_else(|e| panic!("{name}'s own config example is refused: {e}"));
        }
    }
}

#[test]
fn required_tags() {
    let v = evaluate(
        "required-tags",
        input(
            "prod",
            json!({"tags": ["owner", "pipeline"], "environments": {"prod": ["sla"]}}),
        ),
    );
    assert_eq!(v.decision, Decision::Pass, "{v:?}");
    let v = evaluate(
        "required-tags",
        input(
            "prod",
            json!({"tags": ["owner"], "environments": {"prod": ["cost_center"]}}),
        ),
    );
    assert_eq!(v.decision, Decision::Fail);
    assert_eq!(
        v.findings[0].message,
        "the job has no `cost_center` tag, required in `prod`"
    );
}

#[test]
fn naming() {
    let config = json!({"patterns": {"prod": "[a-z0-9-]+-prod", "*": "[a-z0-9-]+-dev"}});
    assert_eq!(
        evaluate("naming", input("prod", config.clone())).decision,
        Decision::Pass
    );
    let v = evaluate("naming", input("dev", config));
    assert_eq!(v.decision, Decision::Fail);
    assert_eq!(v.findings[0].path.as_deref(), Some("/name"));
}

#[test]
fn prod_safety() {
    let v = evaluate("prod-safety", input("prod", json!({})));
    assert_eq!(v.decision, Decision::Fail);
    assert_eq!(
        codes(&v),
        [
            "missing-max-retries",
            "missing-max-retries",
            "missing-timeout",
            "missing-max-retries",
            "owner-not-service-principal"
        ]
    );
    assert_eq!(v.findings[4].path.as_deref(), Some("/access_control_list/0"));
    let v = evaluate("prod-safety", input("dev", json!({})));
    assert_eq!(v.decision, Decision::Pass);
}

#[test]
fn freeze_window() {
    let config = json!({"environments": ["prod"], "timezone": "America/New_York",
        "windows": [{"days": ["mon"], "from": "06:00", "to": "08:00", "reason": "morning batch"}]});
    // Monday 12:00 UTC is 07:00 in New York (EST).
    let v = evaluate("freeze-window", input("prod", config.clone()));
    assert_eq!(v.decision, Decision::Fail);
    assert!(
        v.findings[0].message.contains("Mon 2026-01-05 07:00 EST"),
        "{}",
        v.findings[0].message
    );
    let mut later = input("prod", config);
    later.deployment.now_ms += 2 * 3_600_000;
    assert_eq!(evaluate("freeze-window", later).decision, Decision::Pass);
}

#[test]
fn budget() {
    let config = json!({"monthly_budget": 5000, "currency": "USD"});
    let mut i = input("prod", config.clone());
    assert_eq!(evaluate("budget", i.clone()).decision, Decision::Inconclusive);
    i.cost = Some(CostEstimate {
        currency: "USD".into(),
        per_run: 210.0,
        runs_per_month: 30.0,
        per_month: 6300.0,
        dbu_per_run: 96.0,
        basis: "i3.xlarge x8 + i3.2xlarge x16 at list price".into(),
    });
    let v = evaluate("budget", i);
    assert_eq!(v.decision, Decision::Fail);
    assert_eq!(codes(&v), ["over-budget"]);
}

fn event(kind: EventKind, config: Value) -> Event {
    Event {
        kind,
        deployment: deployment("prod", config),
        strategy: "direct".into(),
        message: "updated job 4242".into(),
        detail: String::new(),
        findings: vec![Finding {
            code: "missing-timeout".into(),
            message: "task `send-notification` has no `timeout_seconds`".into(),
            severity: Severity::Error,
            path: Some("/tasks/4/timeout_seconds".into()),
        }],
        job_id: Some(4242),
        url: Some("https://adb-123.azuredatabricks.net/jobs/4242".into()),
        at_ms: MONDAY_NOON_MS,
    }
}

fn render(name: &str, e: Event) -> Vec<Message> {
    let rt = runtime();
    let n = rt.load_notifier(&PluginRef::builtin(name)).unwrap();
    n.validate_config(&e.deployment.config).unwrap();
    n.render(&e).unwrap()
}

fn http_json(messages: &[Message]) -> (&HttpRequest, Value) {
    let Some(Message::Http(req)) = messages.first() else {
        panic!("expected one HTTP message, got {messages:?}")
    };
    let body = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    (req, body)
}

#[test]
fn slack() {
    let m = render(
        "slack",
        event(
            EventKind::Succeeded,
            json!({"webhook_url": "https://hooks.slack.com/services/T1/B2/C3"}),
        ),
    );
    let (req, body) = http_json(&m);
    assert_eq!(
        (req.method.as_str(), req.url.as_str()),
        ("POST", "https://hooks.slack.com/services/T1/B2/C3")
    );
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        ":white_check_mark: customer-360 → prod: deployment succeeded"
    );
}

#[test]
fn teams() {
    let m = render(
        "teams",
        event(
            EventKind::GateFailed,
            json!({"webhook_url": "https://contoso.webhook.office.com/webhookb2/x"}),
        ),
    );
    let (_, body) = http_json(&m);
    let card = &body["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["body"][3]["text"],
        "- **missing-timeout**: task `send-notification` has no `timeout_seconds` (/tasks/4/timeout_seconds)"
    );
}

#[test]
fn pagerduty() {
    let config = json!({"routing_key": "R0UT1NGKEY00000000000000000000AB"});
    let (req, body) = {
        let m = render("pagerduty", event(EventKind::RolledBack, config.clone()));
        let (req, body) = http_json(&m);
        (req.clone(), body)
    };
    assert_eq!(req.url, "https://events.pagerduty.com/v2/enqueue");
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(
        body["dedup_key"],
        "brickship/customer-360/prod/dep-20260105-120000-ab12"
    );
    assert_eq!(body["payload"]["custom_details"]["job_id"], 4242);
    let m = render("pagerduty", event(EventKind::Succeeded, config.clone()));
    assert_eq!(http_json(&m).1["event_action"], "resolve");
    assert!(render("pagerduty", event(EventKind::StepDone, config)).is_empty());
}

#[test]
fn webhook() {
    let m = render(
        "webhook",
        event(
            EventKind::Failed,
            json!({"url": "https://ops.example.com/hooks/brickship", "headers": {"x-token": "t"}}),
        ),
    );
    let (req, body) = http_json(&m);
    assert!(req.headers.contains(&("x-token".to_owned(), "t".to_owned())));
    assert_eq!(body["event"], "failed");
    assert_eq!(body["findings"][0]["severity"], "error");
}

#[test]
fn email() {
    let m = render(
        "email",
        event(
            EventKind::RolledBack,
            json!({"to": ["data-engineering@company.com"], "subject_prefix": "[deploy]"}),
        ),
    );
    let Some(Message::Email(mail)) = m.first() else {
        panic!("expected an email, got {m:?}")
    };
    assert_eq!(mail.to, ["data-engineering@company.com"]);
    assert_eq!(
        mail.subject,
        "[deploy] customer-360 → prod: deployment rolled back"
    );
    assert!(mail.text.contains("Job:          4242"), "{}", mail.text);
}
