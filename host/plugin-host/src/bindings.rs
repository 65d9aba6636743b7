//! Host bindings generated from `wit/` (one module per world, sharing the `types` and `log`
//! interfaces), and conversions between the generated types and [`crate::types`].
//!
//! Nothing here is public: the rest of the host sees only [`crate::types`].

use serde_json::Value;

use crate::types as t;

pub(crate) mod strategy_world {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "strategy-plugin",
    });
}

pub(crate) mod gate_world {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "gate-plugin",
        with: {
            "brickship:plugin/types": super::strategy_world::brickship::plugin::types,
            "brickship:plugin/log": super::strategy_world::brickship::plugin::log,
        },
    });
}

pub(crate) mod notifier_world {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "notifier-plugin",
        with: {
            "brickship:plugin/types": super::strategy_world::brickship::plugin::types,
            "brickship:plugin/log": super::strategy_world::brickship::plugin::log,
        },
    });
}

pub(crate) use strategy_world::brickship::plugin::log as wit_log;
pub(crate) use strategy_world::brickship::plugin::types as w;

// ---- host -> guest -------------------------------------------------------------------------

fn json(v: &Value) -> String {
    v.to_string()
}

impl From<&t::Deployment> for w::Deployment {
    fn from(d: &t::Deployment) -> Self {
        w::Deployment {
            id: d.id.clone(),
            pipeline: d.pipeline.clone(),
            environment: d.environment.clone(),
            version: d.version.clone(),
            desired: json(&d.desired),
            acl: d.acl.as_ref().map(json),
            live: d.live.as_ref().map(json),
            live_job_id: d.live_job_id,
            plan: (&d.plan).into(),
            config: json(&d.config),
            now_ms: d.now_ms,
        }
    }
}

impl From<&t::Plan> for w::Plan {
    fn from(p: &t::Plan) -> Self {
        w::Plan {
            action: match p.action {
                t::PlanAction::Create => w::PlanAction::Create,
                t::PlanAction::Update => w::PlanAction::Update,
                t::PlanAction::Unchanged => w::PlanAction::Unchanged,
            },
            changes: p
                .changes
                .iter()
                .map(|c| w::Change {
                    path: c.path.clone(),
                    op: match c.op {
                        t::ChangeOp::Add => w::ChangeOp::Add,
                        t::ChangeOp::Remove => w::ChangeOp::Remove,
                        t::ChangeOp::Replace => w::ChangeOp::Replace,
                    },
                    before: c.before.as_ref().map(json),
                    after: c.after.as_ref().map(json),
                })
                .collect(),
        }
    }
}

impl From<t::RunResult> for w::RunResult {
    fn from(r: t::RunResult) -> Self {
        use t::RunResult as R;
        match r {
            R::Success => w::RunResult::Success,
            R::Failed => w::RunResult::Failed,
            R::TimedOut => w::RunResult::TimedOut,
            R::Canceled => w::RunResult::Canceled,
            R::Skipped => w::RunResult::Skipped,
            R::InternalError => w::RunResult::InternalError,
            R::SuccessWithFailures => w::RunResult::SuccessWithFailures,
            R::UpstreamFailed => w::RunResult::UpstreamFailed,
            R::UpstreamCanceled => w::RunResult::UpstreamCanceled,
            R::Excluded => w::RunResult::Excluded,
            R::Disabled => w::RunResult::Disabled,
            R::MaximumConcurrentRunsReached => w::RunResult::MaximumConcurrentRunsReached,
        }
    }
}

impl From<&t::RunSummary> for w::RunSummary {
    fn from(r: &t::RunSummary) -> Self {
        w::RunSummary {
            run_id: r.run_id,
            job_id: r.job_id,
            result_state: r.result_state.map(Into::into),
            state_message: r.state_message.clone(),
            start_ms: r.start_ms,
            duration_ms: r.duration_ms,
            queue_ms: r.queue_ms,
            parameters: r.parameters.clone(),
            tasks: r
                .tasks
                .iter()
                .map(|t| w::TaskSummary {
                    task_key: t.task_key.clone(),
                    run_id: t.run_id,
                    result_state: t.result_state.map(Into::into),
                    start_ms: t.start_ms,
                    duration_ms: t.duration_ms,
                    attempts: t.attempts,
                })
                .collect(),
            failed_tasks: r.failed_tasks,
            retried_tasks: r.retried_tasks,
            url: r.url.clone(),
        }
    }
}

impl From<&t::Outcome> for w::Outcome {
    fn from(o: &t::Outcome) -> Self {
        use t::OutcomeKind as K;
        let kind = match &o.kind {
            K::Done => w::OutcomeKind::Done,
            K::JobCreated { job_id } => w::OutcomeKind::JobCreated(*job_id),
            K::RunStarted { run_id } => w::OutcomeKind::RunStarted(*run_id),
            K::RunFinished { run } => w::OutcomeKind::RunFinished(run.into()),
            K::Runs { runs } => w::OutcomeKind::Runs(runs.iter().map(Into::into).collect()),
            K::Outputs { outputs } => w::OutcomeKind::Outputs(
                outputs
                    .iter()
                    .map(|o| w::TaskOutput {
                        task_key: o.task_key.clone(),
                        run_id: o.run_id,
                        notebook_result: o.notebook_result.clone(),
                        truncated: o.truncated,
                        error: o.error.clone(),
                        logs: o.logs.clone(),
                    })
                    .collect(),
            ),
            K::TimedOut { run } => w::OutcomeKind::TimedOut(w::TimedOut {
                run: run.as_ref().map(Into::into),
            }),
            K::Approved { by, comment } => w::OutcomeKind::Approved(w::Approval {
                by: by.clone(),
                comment: comment.clone(),
            }),
            K::Rejected { by, comment } => w::OutcomeKind::Rejected(w::Approval {
                by: by.clone(),
                comment: comment.clone(),
            }),
            K::Verified { differences } => w::OutcomeKind::Verified(
                differences
                    .iter()
                    .map(|d| w::Difference {
                        path: d.path.clone(),
                        expected: d.expected.as_ref().map(json),
                        actual: d.actual.as_ref().map(json),
                    })
                    .collect(),
            ),
            K::Failed {
                code,
                message,
                retryable,
            } => w::OutcomeKind::Failed(w::ActionFailure {
                code: code.clone(),
                message: message.clone(),
                retryable: *retryable,
            }),
            K::GateVerdict { verdict } => w::OutcomeKind::GateVerdict(verdict.into()),
            K::Skipped => w::OutcomeKind::Skipped,
        };
        w::Outcome {
            action_id: o.action_id.clone(),
            kind,
        }
    }
}

impl From<&t::Finding> for w::Finding {
    fn from(f: &t::Finding) -> Self {
        w::Finding {
            code: f.code.clone(),
            message: f.message.clone(),
            severity: match f.severity {
                t::Severity::Info => w::Severity::Info,
                t::Severity::Warning => w::Severity::Warning,
                t::Severity::Error => w::Severity::Error,
            },
            path: f.path.clone(),
        }
    }
}

impl From<t::GatePoint> for w::GatePoint {
    fn from(p: t::GatePoint) -> Self {
        match p {
            t::GatePoint::PreDeploy => w::GatePoint::PreDeploy,
            t::GatePoint::PrePromote => w::GatePoint::PrePromote,
            t::GatePoint::PostDeploy => w::GatePoint::PostDeploy,
        }
    }
}

impl From<&t::Verdict> for w::Verdict {
    fn from(v: &t::Verdict) -> Self {
        w::Verdict {
            decision: match v.decision {
                t::Decision::Pass => w::Decision::Pass,
                t::Decision::Warn => w::Decision::Warn,
                t::Decision::Fail => w::Decision::Fail,
                t::Decision::Inconclusive => w::Decision::Inconclusive,
            },
            summary: v.summary.clone(),
            findings: v.findings.iter().map(Into::into).collect(),
        }
    }
}

impl From<&t::GateInput> for w::GateInput {
    fn from(g: &t::GateInput) -> Self {
        w::GateInput {
            deployment: (&g.deployment).into(),
            point: g.point.into(),
            cost: g.cost.as_ref().map(|c| w::CostEstimate {
                currency: c.currency.clone(),
                per_run: c.per_run,
                runs_per_month: c.runs_per_month,
                per_month: c.per_month,
                dbu_per_run: c.dbu_per_run,
                basis: c.basis.clone(),
            }),
            evidence: g.evidence.iter().map(Into::into).collect(),
        }
    }
}

impl From<&t::Event> for w::Event {
    fn from(e: &t::Event) -> Self {
        use t::EventKind as K;
        w::Event {
            kind: match e.kind {
                K::Started => w::EventKind::Started,
                K::StepDone => w::EventKind::StepDone,
                K::PausedForApproval => w::EventKind::PausedForApproval,
                K::GateFailed => w::EventKind::GateFailed,
                K::Succeeded => w::EventKind::Succeeded,
                K::RolledBack => w::EventKind::RolledBack,
                K::Failed => w::EventKind::Failed,
            },
            deployment: (&e.deployment).into(),
            strategy: e.strategy.clone(),
            message: e.message.clone(),
            detail: e.detail.clone(),
            findings: e.findings.iter().map(Into::into).collect(),
            job_id: e.job_id,
            url: e.url.clone(),
            at_ms: e.at_ms,
        }
    }
}

// ---- guest -> host (validated) -------------------------------------------------------------

/// Why a guest value breaks the contract.
pub(crate) type Invalid = String;

impl From<w::PluginInfo> for t::PluginInfo {
    fn from(i: w::PluginInfo) -> Self {
        t::PluginInfo {
            name: i.name,
            version: i.version,
            kind: match i.kind {
                w::PluginKind::Strategy => t::PluginKind::Strategy,
                w::PluginKind::Gate => t::PluginKind::Gate,
                w::PluginKind::Notifier => t::PluginKind::Notifier,
            },
            contract: i.contract,
            description: i.description,
            config_schema: i.config_schema,
            config_example: i.config_example,
        }
    }
}

impl From<w::ConfigProblem> for t::ConfigProblem {
    fn from(p: w::ConfigProblem) -> Self {
        t::ConfigProblem {
            path: p.path,
            message: p.message,
        }
    }
}

fn parse_json(what: &str, text: &str, must_be: Option<&str>) -> Result<Value, Invalid> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("{what} is not valid JSON ({e}): `{}`", excerpt(text)))?;
    match must_be {
        Some("object") if !value.is_object() => Err(format!("{what} must be a JSON object")),
        Some("array") if !value.is_array() => Err(format!("{what} must be a JSON array")),
        _ => Ok(value),
    }
}

/// At most 80 characters of `text`, for error messages.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

fn job_ref(j: w::JobRef) -> t::JobRef {
    match j {
        w::JobRef::Live => t::JobRef::Live,
        w::JobRef::Created(label) => t::JobRef::Created { label },
        w::JobRef::Id(job_id) => t::JobRef::Id { job_id },
    }
}

fn run_ref(r: w::RunRef) -> t::RunRef {
    match r {
        w::RunRef::StartedBy(action_id) => t::RunRef::StartedBy { action_id },
        w::RunRef::Id(run_id) => t::RunRef::Id { run_id },
    }
}

/// True for 1 to 64 characters of `[A-Za-z0-9._-]`, the shape of every action id.
pub(crate) fn is_action_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(crate) fn action(a: w::Action) -> Result<t::Action, Invalid> {
    use w::ActionKind as K;
    let id = a.id;
    let what = |field: &str| format!("action `{id}` {field}");
    let kind = match a.kind {
        K::CreateJob(c) => t::ActionKind::CreateJob {
            label: c.label,
            settings: parse_json(&what("settings"), &c.settings, Some("object"))?,
        },
        K::ResetJob(r) => t::ActionKind::ResetJob {
            job: job_ref(r.job),
            settings: parse_json(&what("settings"), &r.settings, Some("object"))?,
        },
        K::DeleteJob(j) => t::ActionKind::DeleteJob { job: job_ref(j) },
        K::RenameJob(r) => t::ActionKind::RenameJob {
            job: job_ref(r.job),
            name: r.name,
        },
        K::PauseSchedule(j) => t::ActionKind::PauseSchedule { job: job_ref(j) },
        K::UnpauseSchedule(j) => t::ActionKind::UnpauseSchedule { job: job_ref(j) },
        K::CancelActiveRuns(j) => t::ActionKind::CancelActiveRuns { job: job_ref(j) },
        K::WaitActiveRuns(w) => t::ActionKind::WaitActiveRuns {
            job: job_ref(w.job),
            timeout_ms: w.timeout_ms,
        },
        K::ListActiveRuns(j) => t::ActionKind::ListActiveRuns { job: job_ref(j) },
        K::RunJob(r) => {
            let token_ok = !r.idempotency_token.is_empty() && r.idempotency_token.len() <= 64;
            if !token_ok {
                return Err(format!(
                    "action `{id}` has an idempotency token of {} characters; it must have 1 to 64",
                    r.idempotency_token.len()
                ));
            }
            t::ActionKind::RunJob {
                job: job_ref(r.job),
                parameters: r
                    .parameters
                    .into_iter()
                    .map(|p| t::Parameter {
                        name: p.name,
                        value: p.value,
                    })
                    .collect(),
                idempotency_token: r.idempotency_token,
            }
        }
        K::WaitRun(w) => t::ActionKind::WaitRun {
            run: run_ref(w.run),
            timeout_ms: w.timeout_ms,
        },
        K::RunHistory(h) => {
            if !(1..=100).contains(&h.limit) {
                return Err(format!(
                    "action `{id}` asks for {} runs of history; the limit is 1 to 100",
                    h.limit
                ));
            }
            t::ActionKind::RunHistory {
                job: job_ref(h.job),
                limit: h.limit,
                since_ms: h.since_ms,
            }
        }
        K::RunOutput(r) => t::ActionKind::RunOutput { run: run_ref(r) },
        K::Wait(duration_ms) => t::ActionKind::Wait { duration_ms },
        K::RequestApproval(message) => t::ActionKind::RequestApproval { message },
        K::SetPermissions(s) => t::ActionKind::SetPermissions {
            job: job_ref(s.job),
            acl: parse_json(&what("acl"), &s.acl, Some("array"))?,
        },
        K::VerifyJob(v) => t::ActionKind::VerifyJob {
            job: job_ref(v.job),
            settings: parse_json(&what("settings"), &v.settings, Some("object"))?,
        },
        K::GateCheck(g) => {
            let point = match g.point {
                w::GatePoint::PreDeploy => {
                    return Err(format!(
                        "action `{id}` asks for a `pre-deploy` gate check; the host runs those gates itself \
                         before the first mutation, so ask for `pre-promote` or `post-deploy`"
                    ));
                }
                w::GatePoint::PrePromote => t::GatePoint::PrePromote,
                w::GatePoint::PostDeploy => t::GatePoint::PostDeploy,
            };
            if g.evidence.len() > t::MAX_GATE_EVIDENCE {
                return Err(format!(
                    "action `{id}` names {} evidence runs; a gate check takes at most {}",
                    g.evidence.len(),
                    t::MAX_GATE_EVIDENCE
                ));
            }
            let mut evidence = Vec::with_capacity(g.evidence.len());
            for r in g.evidence {
                if let w::RunRef::StartedBy(action) = &r
                    && !is_action_id(action)
                {
                    return Err(format!(
                        "action `{id}` names evidence started by `{action}`, which is not an action id \
                         (1 to 64 characters of `[A-Za-z0-9._-]`)"
                    ));
                }
                evidence.push(run_ref(r));
            }
            t::ActionKind::GateCheck { point, evidence }
        }
    };
    Ok(t::Action { id, kind })
}

pub(crate) fn phase(p: w::Phase) -> t::Phase {
    match p {
        w::Phase::Running => t::Phase::Running,
        w::Phase::Paused => t::Phase::Paused,
        w::Phase::Succeeded => t::Phase::Succeeded,
        w::Phase::Failed => t::Phase::Failed,
    }
}

impl From<w::Finding> for t::Finding {
    fn from(f: w::Finding) -> Self {
        t::Finding {
            code: f.code,
            message: f.message,
            severity: match f.severity {
                w::Severity::Info => t::Severity::Info,
                w::Severity::Warning => t::Severity::Warning,
                w::Severity::Error => t::Severity::Error,
            },
            path: f.path,
        }
    }
}

impl From<w::Verdict> for t::Verdict {
    fn from(v: w::Verdict) -> Self {
        t::Verdict {
            decision: match v.decision {
                w::Decision::Pass => t::Decision::Pass,
                w::Decision::Warn => t::Decision::Warn,
                w::Decision::Fail => t::Decision::Fail,
                w::Decision::Inconclusive => t::Decision::Inconclusive,
            },
            summary: v.summary,
            findings: v.findings.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<w::Message> for t::Message {
    fn from(m: w::Message) -> Self {
        match m {
            w::Message::Http(h) => t::Message::Http(t::HttpRequest {
                method: h.method,
                url: h.url,
                headers: h.headers,
                body: h.body,
            }),
            w::Message::Email(e) => t::Message::Email(t::Email {
                to: e.to,
                cc: e.cc,
                subject: e.subject,
                text: e.text,
                html: e.html,
            }),
        }
    }
}
