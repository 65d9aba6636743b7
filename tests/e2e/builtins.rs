//! Every built-in gate and notifier in real deploys against the local workspace: gates judge at
//! pre-deploy (enforce refuses with exit 3 and no change; monitor only reports), notifiers
//! deliver to loopback receivers (HTTP and SMTP), and a host the operator did not allow is refused.

use serde_json::Value;
use tests::{Project, Receivers, ServedWorkspace};

const PIPELINE: &str = "customer-360-pipeline";

fn plugins_yaml(receivers: &Receivers, freeze_env: &str) -> String {
    let http = receivers.http;
    let https = receivers.https;
    let smtp = receivers.smtp;
    format!(
        r#"
gates:
  tags:
    plugin: required-tags
    config: {{tags: [owner, pipeline]}}
  names:
    plugin: naming
    mode: monitor
    config: {{patterns: {{"*": "[a-z0-9-]+"}}}}
  safety:
    plugin: prod-safety
    mode: monitor
    config: {{environments: [dev]}}
  freeze:
    plugin: freeze-window
    config: {{environments: [{freeze_env}], timezone: UTC, windows: [{{from_date: "2000-01-01", to_date: "2999-12-31", reason: "change freeze"}}]}}
  budget:
    plugin: budget
    mode: monitor
    config: {{monthly_budget: 1000000, currency: USD}}
notifiers:
  hook:
    plugin: webhook
    config: {{url: "http://{http}/hook"}}
  chat:
    plugin: slack
    config: {{webhook_url: "https://{https}/slack"}}
  teams:
    plugin: teams
    config: {{webhook_url: "https://{https}/teams"}}
  pager:
    plugin: pagerduty
    events: [succeeded, failed]
    config: {{routing_key: "0123456789abcdef0123456789abcdef"}}
  mail:
    plugin: email
    config: {{to: [data-engineering@company.com]}}
notifications:
  allowed_hosts: ["127.0.0.1"]
  ca_file: e2e-ca.pem
  max_attempts: 1
  smtp: {{host: 127.0.0.1, port: {port}, from: brickship@company.com, tls: none}}
"#,
        port = smtp.port()
    )
}

fn report(project: &Project, id: &str) -> Value {
    let path = project.path().join(format!("deployments/reports/{id}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// Multi-threaded: the receivers must answer while this thread waits for the brickship process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_gates_and_notifiers_in_a_real_deploy() {
    let workspace = ServedWorkspace::start(1000.0);
    let receivers = Receivers::start().await;
    let project = Project::example();
    let text = project.read("brickship.yaml");
    // The freeze covers only staging: the dev deploy goes through.
    std::fs::write(
        project.path().join("brickship.yaml"),
        format!("{text}{}", plugins_yaml(&receivers, "staging")),
    )
    .unwrap();
    std::fs::write(project.path().join("e2e-ca.pem"), &receivers.ca_pem).unwrap();

    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev", "--output", "json"])
        .run();
    done.expect_code(0);
    let result = done
        .json_lines()
        .into_iter()
        .find(|e| e["event"] == "result")
        .unwrap();
    let report = report(&project, result["deployment_id"].as_str().unwrap());

    // Every gate answered at pre-deploy.
    let pre = &report["gates"][0];
    assert_eq!(pre["point"], "pre-deploy");
    let gates: Vec<&str> = pre["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gate"].as_str().unwrap())
        .collect();
    assert_eq!(gates, ["tags", "names", "safety", "freeze", "budget"], "{pre:#}");
    let budget = pre["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "budget")
        .unwrap();
    assert!(
        budget["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("USD/month"),
        "the budget gate saw the host's cost estimate: {budget:#}"
    );

    // Deliveries: started + succeeded (+ step-done) to every HTTP receiver and by email; PagerDuty's
    // host was not allowed, so it is refused and recorded, never sent.
    let received = receivers.received();
    for path in ["/hook", "/slack", "/teams", "smtp"] {
        assert!(
            received.iter().filter(|r| r.path == path).count() >= 2,
            "{path}: {received:#?}"
        );
    }
    let hook: Vec<Value> = received
        .iter()
        .filter(|r| r.path == "/hook")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert!(
        hook.iter().any(|b| b.to_string().contains("succeeded")),
        "{hook:#?}"
    );
    let deliveries = report["notifications"].as_array().unwrap();
    let pager: Vec<&Value> = deliveries.iter().filter(|d| d["notifier"] == "pager").collect();
    assert!(
        !pager.is_empty()
            && pager
                .iter()
                .all(|d| d["outcome"] == "refused" && d["attempts"] == 0),
        "{pager:#?}"
    );
    assert!(
        deliveries
            .iter()
            .any(|d| d["notifier"] == "mail" && d["outcome"] == "delivered"),
        "{deliveries:#?}"
    );

    // The enforcing freeze window refuses staging before anything changes, and says so.
    let seq = workspace.last_seq().await;
    let refused = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "staging"])
        .run();
    refused.expect_code(3);
    assert!(refused.stderr.contains("freeze"), "{}", refused.stderr);
    assert!(
        workspace.mutating_since(seq).await.is_empty(),
        "a refused deploy changes nothing"
    );
    assert!(
        workspace
            .jobs_named("customer-360-pipeline-staging")
            .await
            .is_empty()
    );
    let gate_failed = receivers
        .received()
        .iter()
        .filter(|r| r.path == "/hook" && r.body.contains("gate-failed"))
        .count();
    assert!(gate_failed >= 1, "a gate-failed event was delivered");

    // An enforcing gate that a change violates (a required tag removed) refuses with exit 3.
    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "  owner: data-engineering\n",
        "",
    );
    let refused = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    refused.expect_code(3);
    assert!(refused.stderr.contains("tags"), "{}", refused.stderr);
}
