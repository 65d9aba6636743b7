//! Notifiers: rendering deployment events through notifier components and delivering the
//! messages they return.
//!
//! # Concepts
//!
//! A **notifier** component turns an [`Event`] into messages as data — HTTP requests or emails
//! (`wit/notifier.wit`); it never touches the network. The host **delivers** them:
//!
//! - **HTTP** with reqwest, only to hosts the operator allowed: `notifications.allowed_hosts`
//!   plus the notifier's own `allowed_hosts` ([`HostPattern`]). A request to any other host, or
//!   plain `http://` to anything but loopback, is **refused and recorded, never sent**.
//!   Redirects are not followed (a redirect could leave the allow-list). A 429, a 5xx or a
//!   connection error/timeout is retried with exponential backoff (honouring `Retry-After`, at
//!   most 30 s), up to `notifications.max_attempts` attempts in all; other statuses fail at
//!   once.
//! - **Email** through a real SMTP session with lettre to the relay of `notifications.smtp`
//!   (STARTTLS by default, implicit TLS, or clear text to a loopback relay), with credentials
//!   from the environment; transient SMTP failures and connection errors are retried the same
//!   way. Without a relay, emails are refused and recorded.
//!
//! Every message gives one [`DeliveryRecord`] (target host, outcome, status, attempts, error)
//! for the deployment report. Records and logs never hold a secret: targets are
//! `scheme://host[:port]` only (webhook URLs carry their tokens in the path), errors drop the
//! URL and pass through [`Secrets::redact`].
//!
//! A notifier never fails a deployment: a notifier that crashes or refuses is recorded as a
//! failed delivery with the error, and the deployment goes on.
//!
//! # Calls
//!
//! Rendering is a synchronous plugin call of microseconds, made directly; delivery is async.
//! Messages of one event are delivered one after the other, each bounded by `max_attempts ×
//! timeout` plus backoff.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate as SmtpCertificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use plugin_host::PluginRuntime;
use plugin_host::types::{Email, Event, EventKind, HttpRequest, Message};
use serde::Serialize;

use super::EngineError;
use super::plugin_config::{
    HostPattern, NotificationSettings, NotifierSpec, PluginSettings, Secrets, SmtpSettings, SmtpTls,
    is_loopback_host,
};
use crate::diagnostics::Diagnostics;

/// Default first retry delay (doubles with each retry).
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between two attempts (also caps `Retry-After`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Delivery knobs that are not project settings.
#[derive(Debug, Clone, Default)]
pub struct DeliveryOptions {
    /// Pin host names to socket addresses (like `curl --resolve`): tests point real webhook
    /// hosts at a loopback receiver; split-horizon setups pin internal receivers.
    pub resolve: Vec<(String, SocketAddr)>,
    /// Extra trusted root certificates (PEM), besides `notifications.ca_file`.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// First retry delay; [`DEFAULT_BACKOFF`] when `None`.
    pub backoff: Option<Duration>,
    /// Send every request through this HTTP proxy (`http://host:port`; HTTPS goes through a
    /// `CONNECT` tunnel, so the allow-list still applies to the real destination). Without it,
    /// the standard `HTTPS_PROXY`/`NO_PROXY` environment variables apply.
    pub proxy: Option<String>,
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// An HTTP request.
    Http,
    /// An email through the SMTP relay.
    Email,
    /// Nothing was sent: the notifier failed while rendering.
    Render,
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryOutcome {
    /// The receiver accepted it (2xx, or the relay's 250).
    Delivered,
    /// Every attempt failed, or the receiver refused it for good.
    Failed,
    /// The host refused to send it (destination not allowed, no relay configured).
    Refused,
}

/// One message's delivery, for the deployment report.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    /// Notifier instance name (`notifiers.<name>`).
    pub notifier: String,
    /// The component.
    pub plugin: String,
    /// The event rendered.
    pub event: EventKind,
    /// HTTP, email, or `render` when the notifier failed.
    pub channel: Channel,
    /// `https://hooks.slack.com`, `smtp://relay.company.com:587` (no path, no secret).
    pub target: String,
    /// Delivered, failed or refused.
    pub outcome: DeliveryOutcome,
    /// The last HTTP status or SMTP reply code, when there was one.
    pub status: Option<u16>,
    /// Attempts made (0 when refused or not rendered).
    pub attempts: u32,
    /// Why it failed or was refused (redacted).
    pub error: Option<String>,
    /// Time spent delivering.
    pub duration_ms: u64,
}

/// The notifiers of one deployment, loaded, with the delivery machinery.
#[derive(Debug)]
pub struct Notifiers {
    entries: Vec<LoadedNotifier>,
    delivery: Delivery,
}

#[derive(Debug)]
struct LoadedNotifier {
    spec: NotifierSpec,
    handle: plugin_host::Notifier,
}

#[derive(Debug)]
struct Delivery {
    http: reqwest::Client,
    settings: NotificationSettings,
    smtp_roots: Vec<Vec<u8>>,
    backoff: Duration,
    secrets: Secrets,
}

impl Notifiers {
    /// Loads every notifier of `settings` and checks its configuration (see
    /// [`super::gates::Gates::load`] for the errors), and prepares delivery.
    pub fn load(runtime: &PluginRuntime, settings: &PluginSettings) -> Result<Notifiers, EngineError> {
        Self::load_with(runtime, settings, DeliveryOptions::default())
    }

    /// [`Notifiers::load`] with delivery options.
    pub fn load_with(
        runtime: &PluginRuntime,
        settings: &PluginSettings,
        options: DeliveryOptions,
    ) -> Result<Notifiers, EngineError> {
        let mut diags = Diagnostics::new(false);
        let mut entries = Vec::new();
        for spec in &settings.notifiers {
            let label = format!("notifiers.{} ({})", spec.name, spec.plugin.display_name());
            let handle = runtime
                .load_notifier(&spec.plugin)
                .map_err(|source| EngineError::plugin(label.clone(), source))?;
            let validated = handle.validate_config(&spec.config);
            let example = handle.info().config_example.as_deref();
            if settings
                .config_accepted(spec.instance(), validated, example, &mut diags)
                .map_err(|source| EngineError::plugin(label, source))?
            {
                entries.push(LoadedNotifier {
                    spec: spec.clone(),
                    handle,
                });
            }
        }
        if diags.has_errors() {
            return Err(EngineError::Invalid {
                summary: format!("invalid notifier configuration: {}", diags.summary()),
                diagnostics: Box::new(diags),
            });
        }
        let delivery = Delivery::new(&settings.notifications, settings.secrets.clone(), options)?;
        Ok(Notifiers { entries, delivery })
    }

    /// No notifier configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Renders `event` through every notifier subscribed to its kind (each gets its own config
    /// in `event.deployment.config`) and delivers the messages. Never fails: every message,
    /// and every notifier that could not render, gives a record.
    pub async fn notify(&self, event: &Event) -> Vec<DeliveryRecord> {
        let mut records = Vec::new();
        let mut event = event.clone();
        for n in self
            .entries
            .iter()
            .filter(|n| n.spec.events.contains(&event.kind))
        {
            event.deployment.config = n.spec.config.clone();
            let plugin = n.spec.plugin.to_string();
            let messages = match n.handle.render(&event) {
                Ok(m) => m,
                Err(err) => {
                    let error = self.delivery.secrets.redact(&err.to_string());
                    tracing::warn!(notifier = %n.spec.name, "notifier failed to render {:?}: {error}", event.kind);
                    records.push(DeliveryRecord {
                        notifier: n.spec.name.clone(),
                        plugin,
                        event: event.kind,
                        channel: Channel::Render,
                        target: String::new(),
                        outcome: DeliveryOutcome::Failed,
                        status: None,
                        attempts: 0,
                        error: Some(error),
                        duration_ms: 0,
                    });
                    continue;
                }
            };
            for message in messages {
                let started = Instant::now();
                let (channel, attempt) = match &message {
                    Message::Http(request) => (
                        Channel::Http,
                        self.delivery.http(&n.spec.allowed_hosts, request).await,
                    ),
                    Message::Email(email) => (Channel::Email, self.delivery.email(email).await),
                };
                let record = DeliveryRecord {
                    notifier: n.spec.name.clone(),
                    plugin: plugin.clone(),
                    event: event.kind,
                    channel,
                    target: attempt.target,
                    outcome: attempt.outcome,
                    status: attempt.status,
                    attempts: attempt.attempts,
                    error: attempt.error.map(|e| self.delivery.secrets.redact(&e)),
                    duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                };
                match record.outcome {
                    DeliveryOutcome::Delivered => tracing::info!(
                        notifier = %record.notifier, target = %record.target, attempts = record.attempts, "notification delivered"
                    ),
                    _ => tracing::warn!(
                        notifier = %record.notifier, target = %record.target, attempts = record.attempts,
                        "notification {:?}: {}", record.outcome, record.error.as_deref().unwrap_or("")
                    ),
                }
                records.push(record);
            }
        }
        records
    }
}

/// The result of delivering one message.
struct Attempted {
    target: String,
    outcome: DeliveryOutcome,
    status: Option<u16>,
    attempts: u32,
    error: Option<String>,
}

impl Attempted {
    fn refused(target: String, error: String) -> Self {
        Attempted {
            target,
            outcome: DeliveryOutcome::Refused,
            status: None,
            attempts: 0,
            error: Some(error),
        }
    }
}

/// Whether a failed attempt may be tried again, and after how long at least.
enum Retry {
    No,
    After(Option<Duration>),
}

impl Delivery {
    fn new(
        settings: &NotificationSettings,
        secrets: Secrets,
        options: DeliveryOptions,
    ) -> Result<Self, EngineError> {
        // reqwest is built with `rustls-no-provider`: install ring once (an `Err` means one
        // is installed already, which is as good).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = options.extra_roots_pem;
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|source| EngineError::Io {
                action: "read",
                path: path.display().to_string(),
                source,
            })?;
            roots.push(pem);
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("brickship/", env!("CARGO_PKG_VERSION"), " notifications"))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none());
        for (host, addr) in &options.resolve {
            builder = builder.resolve(host, *addr);
        }
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy.as_str())
                .map_err(|e| EngineError::Usage(format!("invalid notification proxy `{proxy}`: {e}")))?;
            builder = builder.proxy(proxy);
        }
        let mut certs = Vec::new();
        for pem in &roots {
            let bundle = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                EngineError::Usage(format!(
                    "`notifications.ca_file` is not a PEM bundle of certificates: {e}"
                ))
            })?;
            certs.extend(bundle);
        }
        if !certs.is_empty() {
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| EngineError::Internal(format!("cannot build the notification HTTP client: {e}")))?;
        Ok(Delivery {
            http,
            settings: settings.clone(),
            smtp_roots: roots,
            backoff: options.backoff.unwrap_or(DEFAULT_BACKOFF),
            secrets,
        })
    }

    /// The wait before attempt `next` (2, 3, ...): the backoff doubling, or `Retry-After`.
    fn wait(&self, next: u32, retry_after: Option<Duration>) -> Duration {
        let doubling = self
            .backoff
            .saturating_mul(1u32.checked_shl(next.saturating_sub(2)).unwrap_or(u32::MAX));
        retry_after.unwrap_or(doubling).min(MAX_BACKOFF)
    }

    async fn http(&self, extra_allowed: &[HostPattern], request: &HttpRequest) -> Attempted {
        let url = match reqwest::Url::parse(&request.url) {
            Ok(u) => u,
            Err(e) => {
                return Attempted::refused(
                    String::new(),
                    format!("the notifier produced an invalid URL: {e}"),
                );
            }
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(0);
        let target = match url.port() {
            Some(p) => format!("{}://{host}:{p}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let allowed = self
            .settings
            .allowed_hosts
            .iter()
            .chain(extra_allowed)
            .any(|p| p.matches(&host, port));
        if !allowed {
            return Attempted::refused(
                target,
                format!(
                    "host `{host}` is not allowed: add it to `notifications.allowed_hosts` (or the notifier's `allowed_hosts`) to let brickship send there"
                ),
            );
        }
        if url.scheme() == "http" && !is_loopback_host(&host) {
            return Attempted::refused(
                target,
                format!(
                    "plain `http://` to `{host}` would expose the message and its secrets; use `https://`"
                ),
            );
        }
        let method = match reqwest::Method::from_bytes(request.method.as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                return Attempted::refused(target, format!("`{}` is not an HTTP method", request.method));
            }
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut builder = self.http.request(method.clone(), url.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let (status, error, retry) = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Attempted {
                            target,
                            outcome: DeliveryOutcome::Delivered,
                            status: Some(status.as_u16()),
                            attempts,
                            error: None,
                        };
                    }
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body = response.text().await.unwrap_or_default();
                    let snippet: String = body.chars().take(200).collect();
                    let retry = if status.as_u16() == 429 || status.is_server_error() {
                        Retry::After(retry_after)
                    } else {
                        Retry::No
                    };
                    let detail = if snippet.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", snippet.trim())
                    };
                    (
                        Some(status.as_u16()),
                        format!("the receiver answered {status}{detail}"),
                        retry,
                    )
                }
                Err(e) => {
                    let retry = if e.is_builder() {
                        Retry::No
                    } else {
                        Retry::After(None)
                    };
                    (None, format!("{:#}", ErrorChain(&e.without_url())), retry)
                }
            };
            match retry {
                Retry::After(after) if attempts < self.settings.max_attempts => {
                    let wait = self.wait(attempts + 1, after);
                    tracing::debug!(target = %target, attempts, "retrying a notification in {wait:?}: {}", self.secrets.redact(&error));
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return Attempted {
                        target,
                        outcome: DeliveryOutcome::Failed,
                        status,
                        attempts,
                        error: Some(error),
                    };
                }
            }
        }
    }

    fn smtp_transport(&self, smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let tls_parameters = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(smtp.host.clone());
            for pem in &self.smtp_roots {
                let cert = SmtpCertificate::from_pem(pem)
                    .map_err(|e| format!("bad `notifications.ca_file`: {e}"))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| format!("cannot set up TLS for the relay: {e}"))
        };
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone()),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                .tls(Tls::Required(tls_parameters()?)),
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                .tls(Tls::Wrapper(tls_parameters()?)),
        };
        let mut builder = builder.port(smtp.port).timeout(Some(self.settings.timeout));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    async fn email(&self, email: &Email) -> Attempted {
        let Some(smtp) = &self.settings.smtp else {
            return Attempted::refused(
                String::new(),
                "no mail relay: configure `notifications.smtp` (host, port, from, tls) to send emails".into(),
            );
        };
        let target = format!(
            "smtp://{}:{} ({} recipients)",
            smtp.host,
            smtp.port,
            email.to.len() + email.cc.len()
        );
        let message = match build_message(&smtp.from, email) {
            Ok(m) => m,
            Err(e) => return Attempted::refused(target, e),
        };
        let transport = match self.smtp_transport(smtp) {
            Ok(t) => t,
            Err(e) => return Attempted::refused(target, e),
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match transport.send(message.clone()).await {
                Ok(response) => {
                    return Attempted {
                        target,
                        outcome: DeliveryOutcome::Delivered,
                        status: response.code().to_string().parse().ok(),
                        attempts,
                        error: None,
                    };
                }
                Err(e) => {
                    let status = e.status().and_then(|c| c.to_string().parse().ok());
                    let retryable = !e.is_permanent() && !e.is_client();
                    let error = format!("{:#}", ErrorChain(&e));
                    if retryable && attempts < self.settings.max_attempts {
                        let wait = self.wait(attempts + 1, None);
                        tracing::debug!(target = %target, attempts, "retrying an email in {wait:?}: {}", self.secrets.redact(&error));
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Attempted {
                        target,
                        outcome: DeliveryOutcome::Failed,
                        status,
                        attempts,
                        error: Some(error),
                    };
                }
            }
        }
    }
}

/// The email as a MIME message from `from`: plain text, with an HTML alternative when given.
fn build_message(from: &str, email: &Email) -> Result<lettre::Message, String> {
    let mailbox = |a: &str| -> Result<Mailbox, String> {
        a.parse::<Mailbox>()
            .map_err(|e| format!("`{a}` is not an email address: {e}"))
    };
    let mut builder = lettre::Message::builder()
        .from(mailbox(from)?)
        .subject(email.subject.clone());
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    for cc in &email.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    let result = match &email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.clone()),
        ),
    };
    result.map_err(|e| format!("cannot build the email: {e}"))
}

/// Displays an error with its sources (`a: b: c`).
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
