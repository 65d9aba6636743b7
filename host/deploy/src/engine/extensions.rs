//! The plugins of one deployment besides its strategy: gates, notifiers and the cost estimate
//! the `budget` gate reads. Loaded (and their configurations validated) before anything touches
//! the workspace; every gate report and notification delivery is kept for the report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugin_host::types::{
    CostEstimate, Deployment, Event, EventKind, Finding, GatePoint, RunSummary, Verdict,
};
use serde_json::Value;

use super::EngineError;
use super::cost::{self, CostOptions};
use super::executor::GateChecker;
use super::gates::{GateReport, Gates};
use super::notify::{DeliveryRecord, Notifiers};
use super::plugin_config::{PluginSettings, Secrets};
use crate::diagnostics::Diagnostics;
use crate::project::{EnvLookup, RenderedPipeline};

/// Gates, notifiers and the cost estimate of one deployment.
///
/// Notifications are delivered in order by one background task, so a slow or unreachable
/// receiver never holds up the deployment (or its lock); [`Extensions::finish`] waits for the
/// deliveries at the end of the command, within [`DELIVERY_GRACE`].
pub struct Extensions {
    gates: Option<Gates>,
    notifiers: Option<Arc<Notifiers>>,
    cost: Option<CostEstimate>,
    secrets: Secrets,
    reports: Mutex<Vec<Value>>,
    queue: Mutex<Option<Queue>>,
}

/// The background delivery task and the way to it.
struct Queue {
    events: tokio::sync::mpsc::UnboundedSender<Event>,
    worker: tokio::task::JoinHandle<Vec<DeliveryRecord>>,
}

/// How long the end of a command waits for notifications still being delivered.
pub const DELIVERY_GRACE: Duration = Duration::from_secs(30);

impl Extensions {
    /// Reads the `gates`, `notifiers`, `notifications` and `cost` sections for `pipeline`'s
    /// environment, loads each plugin and validates its configuration. `with_gates: false`
    /// loads notifiers only (rollbacks are never held back by gates).
    pub fn load(
        pipeline: &RenderedPipeline,
        env: EnvLookup<'_>,
        strict: bool,
        with_gates: bool,
    ) -> Result<(Self, Diagnostics), EngineError> {
        let (settings, warnings) = PluginSettings::load(pipeline, env, strict)?;
        let runtime = super::run::runtime()?;
        let gates = if with_gates {
            Some(Gates::load(runtime, &settings)?)
        } else {
            None
        };
        let notifiers = Some(Arc::new(Notifiers::load(runtime, &settings)?));
        let cost = cost::estimate(
            &pipeline.settings,
            &CostOptions::for_pipeline(pipeline, &settings),
        );
        let extensions = Self {
            gates,
            notifiers,
            cost,
            secrets: settings.secrets.clone(),
            reports: Mutex::new(Vec::new()),
            queue: Mutex::new(None),
        };
        Ok((extensions, warnings))
    }

    /// No gates, no notifiers.
    pub fn none() -> Self {
        Self {
            gates: None,
            notifiers: None,
            cost: None,
            secrets: Secrets::new(Vec::<String>::new()),
            reports: Mutex::new(Vec::new()),
            queue: Mutex::new(None),
        }
    }

    /// The cost estimate, when the job's compute is priced.
    pub fn cost(&self) -> Option<&CostEstimate> {
        self.cost.as_ref()
    }

    /// The names of the gates that run at `point`.
    pub fn gates_at(&self, point: GatePoint) -> Vec<String> {
        self.gates
            .as_ref()
            .map(|g| g.names_at(point).into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Redacts the project's secrets from text meant for people.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.redact(text)
    }

    /// Asks the gates configured for `point`; the report is kept for the deployment report.
    pub fn evaluate(
        &self,
        point: GatePoint,
        deployment: &Deployment,
        evidence: &[RunSummary],
    ) -> Option<GateReport> {
        let gates = self.gates.as_ref()?;
        if gates.names_at(point).is_empty() {
            return None;
        }
        let report = gates.evaluate(point, deployment, self.cost.as_ref(), evidence);
        if let Ok(value) = serde_json::to_value(&report) {
            self.reports.lock().unwrap_or_else(|p| p.into_inner()).push(value);
        }
        Some(report)
    }

    /// Queues `event` for every subscribed notifier; deliveries happen in the background, in
    /// order, and are recorded, never fatal.
    #[allow(clippy::too_many_arguments)]
    pub async fn notify(
        &self,
        kind: EventKind,
        deployment: &Deployment,
        strategy: &str,
        message: &str,
        findings: Vec<Finding>,
        job_id: Option<i64>,
        url: Option<String>,
    ) {
        let Some(notifiers) = &self.notifiers else { return };
        if notifiers.is_empty() {
            return;
        }
        let event = Event {
            kind,
            deployment: deployment.clone(),
            strategy: strategy.to_owned(),
            message: self.secrets.redact(message),
            detail: String::new(),
            findings,
            job_id,
            url,
            at_ms: super::now_ms() as u64,
        };
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let queue = queue.get_or_insert_with(|| {
            let (events, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Event>();
            let notifiers = notifiers.clone();
            let worker = tokio::spawn(async move {
                let mut records = Vec::new();
                while let Some(event) = receiver.recv().await {
                    records.extend(notifiers.notify(&event).await);
                }
                records
            });
            Queue { events, worker }
        });
        let _ = queue.events.send(event);
    }

    /// Waits (at most [`DELIVERY_GRACE`]) for the notifications still being delivered, then
    /// returns the gate reports and deliveries, for the report.
    pub async fn finish(&self) -> (Vec<Value>, Vec<Value>) {
        let reports = std::mem::take(&mut *self.reports.lock().unwrap_or_else(|p| p.into_inner()));
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut deliveries = Vec::new();
        if let Some(Queue { events, worker }) = queue {
            drop(events);
            match tokio::time::timeout(DELIVERY_GRACE, worker).await {
                Ok(Ok(records)) => {
                    deliveries = records
                        .into_iter()
                        .filter_map(|d| serde_json::to_value(d).ok())
                        .collect()
                }
                Ok(Err(err)) => tracing::warn!("the notification task failed: {err}"),
                Err(_) => {
                    tracing::warn!(
                        "notifications still undelivered after {DELIVERY_GRACE:?}; giving up on them"
                    );
                    deliveries.push(serde_json::json!({
                        "outcome": "abandoned",
                        "error": format!("still being delivered after {} s when the command ended", DELIVERY_GRACE.as_secs()),
                    }));
                }
            }
        }
        (reports, deliveries)
    }
}

/// The gates of one deployment as the executor asks them for a strategy's `gate-check`.
pub struct DeploymentGates<'a> {
    pub extensions: &'a Extensions,
    pub deployment: Deployment,
}

impl GateChecker for DeploymentGates<'_> {
    fn check(&self, point: GatePoint, evidence: &[RunSummary]) -> Verdict {
        match self.extensions.evaluate(point, &self.deployment, evidence) {
            Some(report) => report.verdict(),
            None => Verdict {
                decision: plugin_host::types::Decision::Pass,
                summary: format!("no gate is configured for `{}`", super::gates::point_name(point)),
                findings: Vec::new(),
            },
        }
    }
}
