//! Plugin runtime costs: cold compile, load from the disk cache, and instantiate + call for
//! every built-in (the target for a Rust plugin: cached load + instantiate + call < 1 ms).
//!
//! Run with `cargo bench -p plugin-host`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use plugin_host::types::*;
use plugin_host::{PluginRef, PluginRuntime, builtins};
use serde_json::json;

const CUSTOMER_360: &str = include_str!("../../../plugins/sdk/testdata/customer-360-prod.json");
const CUSTOMER_360_ACL: &str = include_str!("../../../plugins/sdk/testdata/customer-360-acl.json");

fn deployment(config: serde_json::Value) -> Deployment {
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

fn gate_config(name: &str) -> serde_json::Value {
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

fn notifier_config(name: &str) -> serde_json::Value {
    match name {
        "slack" | "teams" => json!({"webhook_url": "https://hooks.example.com/x"}),
        "pagerduty" => json!({"routing_key": "R0UT1NGKEY00000000000000000000AB"}),
        "webhook" => json!({"url": "https://hooks.example.com/x"}),
        "email" => json!({"to": ["data-engineering@company.com"]}),
        _ => json!({}),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("cold compile (direct)", |b| {
        b.iter(|| {
            let rt = PluginRuntime::builder()
                .manual_epoch()
                .no_disk_cache()
                .build()
                .expect("runtime");
            black_box(rt.load_strategy(&PluginRef::builtin("direct")).expect("load"))
        })
    });
    let dir = tempfile::tempdir().expect("tempdir");
    PluginRuntime::builder()
        .manual_epoch()
        .cache_dir(dir.path())
        .build()
        .expect("runtime")
        .load_strategy(&PluginRef::builtin("direct"))
        .expect("warm the cache");
    group.bench_function("cached load from disk (direct)", |b| {
        b.iter(|| {
            let rt = PluginRuntime::builder()
                .manual_epoch()
                .cache_dir(dir.path())
                .build()
                .expect("runtime");
            black_box(rt.load_strategy(&PluginRef::builtin("direct")).expect("load"))
        })
    });
    group.finish();

    let rt = PluginRuntime::builder()
        .manual_epoch()
        .no_disk_cache()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("instantiate + call");
    for (name, kind) in builtins() {
        let r = PluginRef::builtin(name);
        match kind {
            PluginKind::Strategy => {
                let s = rt.load_strategy(&r).expect("load");
                let d = deployment(json!({}));
                group.bench_function(format!("strategy {name} step"), |b| {
                    b.iter(|| black_box(s.step(&d, None, &[]).expect("step")))
                });
            }
            PluginKind::Gate => {
                let g = rt.load_gate(&r).expect("load");
                let input = GateInput {
                    deployment: deployment(gate_config(name)),
                    point: GatePoint::PreDeploy,
                    cost: None,
                    evidence: vec![],
                };
                group.bench_function(format!("gate {name} evaluate"), |b| {
                    b.iter(|| black_box(g.evaluate(&input).expect("evaluate")))
                });
            }
            PluginKind::Notifier => {
                let n = rt.load_notifier(&r).expect("load");
                let event = Event {
                    kind: EventKind::RolledBack,
                    deployment: deployment(notifier_config(name)),
                    strategy: "direct".into(),
                    message: "smoke run failed".into(),
                    detail: String::new(),
                    findings: vec![],
                    job_id: Some(1),
                    url: Some("https://example.cloud.databricks.com/jobs/1".into()),
                    at_ms: 1_767_614_400_000,
                };
                group.bench_function(format!("notifier {name} render"), |b| {
                    b.iter(|| black_box(n.render(&event).expect("render")))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
