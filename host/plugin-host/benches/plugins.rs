//! Plugin runtime costs of every built-in (issue 4; recorded in BENCHMARKS.md, section 3).
//!
//! Groups, each over all 13 built-ins (strategies `direct`, `blue-green`, `canary`; gates
//! `required-tags`, `naming`, `prod-safety`, `freeze-window`, `budget`; notifiers `slack`,
//! `teams`, `pagerduty`, `webhook`, `email`):
//!
//! - `runtime`: building a [`PluginRuntime`] (wasmtime engine + linker), paid once per process.
//! - `cold compile`: load with no compiled code anywhere (Cranelift compiles the component),
//!   in a runtime built outside the timing. One iteration per sample (flat sampling).
//! - `cached load`: load from the on-disk cache that a previous process filled, in a fresh
//!   runtime built outside the timing (so its in-memory cache is empty): read the cache file,
//!   deserialize, check exports and imports, pre-instantiate, call `describe`.
//! - `instantiate + call`: one call on a loaded handle (a fresh sandbox per call): `step` for a
//!   strategy (first call, create plan), `evaluate` for a gate (pre-deploy), `render` for a
//!   notifier (a rolled-back event).
//! - `deploy-shaped`: what a `brickship deploy` of the example pays for its plugins, with the
//!   configuration of `benches/plugin_overhead.py`: start-up (runtime, loads from the disk
//!   cache, `validate-config`) with the `direct` strategy alone and with three gates and a
//!   webhook notifier; the `direct` strategy's whole update rollout (three step calls, every
//!   action succeeding); six gate evaluations (three gates at two points); four webhook renders.
//!
//! The target for a Rust plugin is cached load + instantiate + call < 1 ms.
//!
//! Run with `cargo bench -p plugin-host --bench plugins` (or `cargo xtask bench plugins`);
//! filter with e.g. `cargo bench -p plugin-host --bench plugins -- "cached load"`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use plugin_host::types::*;
use plugin_host::{Gate, Notifier, PluginRef, PluginRuntime, Strategy, builtins};
use serde_json::{Value, json};

const CUSTOMER_360: &str = include_str!("../../../plugins/sdk/testdata/customer-360-prod.json");
const CUSTOMER_360_ACL: &str = include_str!("../../../plugins/sdk/testdata/customer-360-acl.json");

fn deployment(config: Value) -> Deployment {
    Deployment {
        id: "dep-bench".into(),
        pipeline: "customer-360".into(),
        environment: "prod".into(),
        version: "sha256:bench".into(),
        desired: serde_json::from_str(CUSTOMER_360).expect("customer-360 JSON"),
        acl: Some(serde_json::from_str(CUSTOMER_360_ACL).expect("ACL JSON")),
        live: None,
        live_job_id: None,
        plan: Plan {
            action: PlanAction::Create,
            changes: vec![],
        },
        config,
        now_ms: 1_767_614_400_000,
    }
}

/// An update of a live job (what a changed deploy of the example is).
fn update(config: Value) -> Deployment {
    let mut d = deployment(config);
    let mut live = d.desired.clone();
    live["timeout_seconds"] = json!(7200);
    d.live = Some(live);
    d.live_job_id = Some(4242);
    d.plan = Plan {
        action: PlanAction::Update,
        changes: vec![Change {
            path: "/timeout_seconds".into(),
            op: ChangeOp::Replace,
            before: Some(json!(7200)),
            after: d.desired.get("timeout_seconds").cloned(),
        }],
    };
    d
}

fn gate_config(name: &str) -> Value {
    match name {
        "required-tags" => json!({"tags": ["owner", "pipeline"]}),
        "naming" => json!({"patterns": {"*": "[a-z0-9-]+"}}),
        "freeze-window" => {
            json!({"environments": ["prod"], "timezone": "Europe/Berlin", "windows": [{"days": ["fri"], "from": "15:00", "to": "23:59"}]})
        }
        "budget" => json!({"monthly_budget": 5000}),
        _ => json!({}),
    }
}

fn notifier_config(name: &str) -> Value {
    match name {
        "slack" | "teams" => json!({"webhook_url": "https://hooks.example.com/x"}),
        "pagerduty" => json!({"routing_key": "R0UT1NGKEY00000000000000000000AB"}),
        "webhook" => json!({"url": "https://hooks.example.com/x"}),
        "email" => json!({"to": ["data-engineering@company.com"]}),
        _ => json!({}),
    }
}

/// The cost estimate the `budget` gate judges (the others ignore it).
fn cost() -> CostEstimate {
    CostEstimate {
        currency: "USD".into(),
        per_run: 41.2,
        runs_per_month: 30.0,
        per_month: 1236.0,
        dbu_per_run: 274.7,
        basis: "bench".into(),
    }
}

fn event(kind: EventKind, config: Value) -> Event {
    Event {
        kind,
        deployment: deployment(config),
        strategy: "direct".into(),
        message: "smoke run failed".into(),
        detail: String::new(),
        findings: vec![],
        job_id: Some(1),
        url: Some("https://example.cloud.databricks.com/jobs/1".into()),
        at_ms: 1_767_614_400_000,
    }
}

/// A runtime as the benchmarks use it: manual epoch (no ticker thread), cache in `dir`.
fn runtime_in(dir: Option<&std::path::Path>) -> PluginRuntime {
    let builder = PluginRuntime::builder().manual_epoch();
    match dir {
        Some(dir) => builder.cache_dir(dir),
        None => builder.no_disk_cache(),
    }
    .build()
    .expect("runtime")
}

/// A handle of any kind, kept alive until criterion drops it outside the timing.
enum Loaded {
    Strategy(Strategy),
    Gate(Gate),
    Notifier(Notifier),
}

fn load(rt: &PluginRuntime, name: &str, kind: PluginKind) -> Loaded {
    let r = PluginRef::builtin(name);
    match kind {
        PluginKind::Strategy => Loaded::Strategy(rt.load_strategy(&r).expect("load")),
        PluginKind::Gate => Loaded::Gate(rt.load_gate(&r).expect("load")),
        PluginKind::Notifier => Loaded::Notifier(rt.load_notifier(&r).expect("load")),
    }
}

fn label(name: &str, kind: PluginKind) -> String {
    format!("{} {name}", kind.as_str())
}

fn loading(c: &mut Criterion) {
    let mut group = c.benchmark_group("runtime");
    group.bench_function("build (engine + linker)", |b| {
        b.iter(|| black_box(runtime_in(None)))
    });
    group.finish();

    let mut group = c.benchmark_group("cold compile");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, kind) in builtins() {
        group.bench_function(label(name, kind), |b| {
            b.iter_batched(
                || runtime_in(None),
                |rt| {
                    let handle = load(&rt, name, kind);
                    (rt, handle)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();

    // A cache filled by an earlier "process" (runtime), as a deploy finds it.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let rt = runtime_in(Some(dir.path()));
        for (name, kind) in builtins() {
            load(&rt, name, kind);
        }
    }
    let mut group = c.benchmark_group("cached load");
    group.sample_size(50);
    for (name, kind) in builtins() {
        group.bench_function(label(name, kind), |b| {
            b.iter_batched(
                || runtime_in(Some(dir.path())),
                |rt| {
                    let handle = load(&rt, name, kind);
                    (rt, handle)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn calls(c: &mut Criterion) {
    let rt = runtime_in(None);
    let mut group = c.benchmark_group("instantiate + call");
    for (name, kind) in builtins() {
        match load(&rt, name, kind) {
            Loaded::Strategy(s) => {
                let d = deployment(json!({}));
                group.bench_function(format!("strategy {name} step"), |b| {
                    b.iter(|| black_box(s.step(&d, None, &[]).expect("step")))
                });
            }
            Loaded::Gate(g) => {
                let input = GateInput {
                    deployment: deployment(gate_config(name)),
                    point: GatePoint::PreDeploy,
                    cost: Some(cost()),
                    evidence: vec![],
                };
                group.bench_function(format!("gate {name} evaluate"), |b| {
                    b.iter(|| black_box(g.evaluate(&input).expect("evaluate")))
                });
            }
            Loaded::Notifier(n) => {
                let e = event(EventKind::RolledBack, notifier_config(name));
                group.bench_function(format!("notifier {name} render"), |b| {
                    b.iter(|| black_box(n.render(&e).expect("render")))
                });
            }
        }
    }
    group.finish();
}

/// The gates and notifier `benches/plugin_overhead.py` configures (same configs).
const DEPLOY_GATES: [(&str, &str); 3] = [
    (
        "required-tags",
        r#"{"tags": ["owner", "pipeline", "environment"]}"#,
    ),
    (
        "naming",
        r#"{"patterns": {"*": "[a-z0-9-]+-(dev|staging|prod)"}}"#,
    ),
    ("prod-safety", "{}"),
];
const DEPLOY_WEBHOOK: &str = r#"{"url": "http://127.0.0.1:9/hook"}"#;

fn config(text: &str) -> Value {
    serde_json::from_str(text).expect("bench config JSON")
}

/// Drives the `direct` strategy through an update with every action succeeding; the number
/// of step calls.
fn direct_rollout(s: &Strategy, d: &Deployment) -> usize {
    let mut state: Option<String> = None;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for call in 1..=10 {
        let result = s.step(d, state.as_deref(), &outcomes).expect("step");
        if result.phase != Phase::Running {
            assert_eq!(result.phase, Phase::Succeeded, "{}", result.message);
            return call;
        }
        outcomes = result
            .actions
            .iter()
            .map(|a| Outcome {
                action_id: a.id.clone(),
                kind: match a.kind {
                    ActionKind::CreateJob { .. } => OutcomeKind::JobCreated { job_id: 4243 },
                    _ => OutcomeKind::Done,
                },
            })
            .collect();
        state = Some(result.state);
    }
    panic!("the direct strategy did not finish in 10 calls")
}

fn deploy_shaped(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let startup = |with_extensions: bool| {
        let rt = runtime_in(Some(dir.path()));
        let strategy = rt.load_strategy(&PluginRef::builtin("direct")).expect("load");
        strategy.validate_config(&json!({})).expect("valid config");
        let mut gates = Vec::new();
        let mut notifiers = Vec::new();
        if with_extensions {
            for (name, text) in DEPLOY_GATES {
                let gate = rt.load_gate(&PluginRef::builtin(name)).expect("load");
                gate.validate_config(&config(text)).expect("valid config");
                gates.push(gate);
            }
            let webhook = rt.load_notifier(&PluginRef::builtin("webhook")).expect("load");
            webhook
                .validate_config(&config(DEPLOY_WEBHOOK))
                .expect("valid config");
            notifiers.push(webhook);
        }
        (rt, strategy, gates, notifiers)
    };
    startup(true); // fill the disk cache

    let mut group = c.benchmark_group("deploy-shaped");
    group.sample_size(50);
    group.bench_function(
        "start-up: runtime + direct from the disk cache + validate-config",
        |b| b.iter_with_large_drop(|| startup(false)),
    );
    group.bench_function(
        "start-up: runtime + direct, 3 gates, webhook from the disk cache + validate-config",
        |b| b.iter_with_large_drop(|| startup(true)),
    );

    let (_rt, strategy, gates, notifiers) = startup(true);
    let d = update(json!({}));
    assert_eq!(
        direct_rollout(&strategy, &d),
        3,
        "wait-active-runs, reset + permissions, done"
    );
    group.bench_function("direct update rollout (3 step calls)", |b| {
        b.iter(|| black_box(direct_rollout(&strategy, &d)))
    });
    let mut d = update(json!({}));
    d.environment = "dev".into();
    d.desired["name"] = json!("customer-360-pipeline-dev");
    group.bench_function("3 gates x 2 points (6 evaluate calls)", |b| {
        b.iter(|| {
            for point in [GatePoint::PreDeploy, GatePoint::PostDeploy] {
                for (gate, (_, text)) in gates.iter().zip(DEPLOY_GATES) {
                    let mut input = GateInput {
                        deployment: d.clone(),
                        point,
                        cost: None,
                        evidence: vec![],
                    };
                    input.deployment.config = config(text);
                    black_box(gate.evaluate(&input).expect("evaluate"));
                }
            }
        })
    });
    let webhook = &notifiers[0];
    let events: Vec<Event> = [
        EventKind::Started,
        EventKind::StepDone,
        EventKind::StepDone,
        EventKind::Succeeded,
    ]
    .into_iter()
    .map(|kind| event(kind, config(DEPLOY_WEBHOOK)))
    .collect();
    group.bench_function("webhook: 4 renders (started, 2 x step-done, succeeded)", |b| {
        b.iter(|| {
            for e in &events {
                black_box(webhook.render(e).expect("render"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, loading, calls, deploy_shaped);
criterion_main!(benches);
