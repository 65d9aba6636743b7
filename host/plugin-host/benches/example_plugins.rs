//! The example plugins built outside the host (`examples/plugins/`): the Python gate
//! (componentize-py; target: a warm call under 50 ms) and the Rust canary strategy. Measures
//! the cold compile once, then the cached load from disk and the warm call (instantiate in a
//! fresh sandbox + call) with criterion.
//!
//! Builds the examples into `target/examples-plugins` when missing (needs `cargo xtask setup`
//! for componentize-py). Run with `cargo bench -p plugin-host --bench example_plugins`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use plugin_host::types::*;
use plugin_host::{PluginRef, PluginRuntime};
use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn out_dir() -> PathBuf {
    repo().join("target/examples-plugins")
}

fn check(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python gate component, built when missing.
fn python_gate() -> PathBuf {
    let wasm = out_dir().join("data_contract.wasm");
    if !wasm.is_file() {
        let componentize = repo().join("target/venv/bin/componentize-py");
        assert!(
            componentize.is_file(),
            "`{}` is missing: run `cargo xtask setup`",
            componentize.display()
        );
        std::fs::create_dir_all(out_dir()).expect("output dir");
        let mut cmd = Command::new(componentize);
        cmd.current_dir(repo().join("examples/plugins/gate-python"))
            .args([
                "-d",
                "../../../wit",
                "-w",
                "gate-plugin",
                "componentize",
                "--stub-wasi",
                "app",
                "-o",
            ])
            .arg(&wasm);
        check(cmd, "componentize-py");
    }
    wasm
}

/// The Rust canary component, built (incrementally) by cargo.
fn rust_canary() -> PathBuf {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(repo().join("examples/plugins/canary-rust"))
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(out_dir());
    check(cmd, "cargo build of the canary example");
    out_dir().join("wasm32-wasip2/release/scored_canary.wasm")
}

fn deployment(config: serde_json::Value) -> Deployment {
    let desired = json!({
        "name": "customer-360-pipeline-dev",
        "tasks": [
            {"task_key": "ingest-bronze", "notebook_task": {"notebook_path": "/a", "base_parameters": {"target_catalog": "dev"}}},
            {"task_key": "process-silver", "depends_on": [{"task_key": "ingest-bronze"}], "notebook_task": {"notebook_path": "/b", "base_parameters": {"target_catalog": "dev"}}},
            {"task_key": "send-notification", "python_wheel_task": {"package_name": "n", "entry_point": "main"}}
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"}
    });
    Deployment {
        id: "dep-bench".into(),
        pipeline: "customer-360-pipeline".into(),
        environment: "dev".into(),
        version: "bench".into(),
        desired,
        acl: None,
        live: None,
        live_job_id: Some(1),
        plan: Plan {
            action: PlanAction::Update,
            changes: vec![],
        },
        config,
        now_ms: 1_767_614_400_000,
    }
}

fn bench(c: &mut Criterion) {
    let gate_path = PluginRef::path(python_gate());
    let canary_path = PluginRef::path(rust_canary());

    // Cold compile: once each (the Python component is ~18 MB: seconds, not microseconds).
    let cache = tempfile::tempdir().expect("tempdir");
    let cold = |r: &PluginRef, strategy: bool| {
        let rt = PluginRuntime::builder()
            .manual_epoch()
            .cache_dir(cache.path())
            .build()
            .expect("runtime");
        let start = Instant::now();
        if strategy {
            rt.load_strategy(r).map(|_| ()).expect("load");
        } else {
            rt.load_gate(r).map(|_| ()).expect("load");
        }
        start.elapsed()
    };
    println!(
        "cold compile + load: python data-contract gate {:?}",
        cold(&gate_path, false)
    );
    println!(
        "cold compile + load: rust scored-canary strategy {:?}",
        cold(&canary_path, true)
    );

    let mut group = c.benchmark_group("example plugins: cached load from disk");
    group.sample_size(20);
    group.bench_function("python data-contract gate", |b| {
        b.iter(|| {
            let rt = PluginRuntime::builder()
                .manual_epoch()
                .cache_dir(cache.path())
                .build()
                .expect("runtime");
            black_box(rt.load_gate(&gate_path).expect("load"))
        })
    });
    group.bench_function("rust scored-canary strategy", |b| {
        b.iter(|| {
            let rt = PluginRuntime::builder()
                .manual_epoch()
                .cache_dir(cache.path())
                .build()
                .expect("runtime");
            black_box(rt.load_strategy(&canary_path).expect("load"))
        })
    });
    group.finish();

    // Warm calls: the production runtime (epoch ticker), a loaded handle, a fresh sandbox per call.
    let rt = PluginRuntime::builder()
        .cache_dir(cache.path())
        .build()
        .expect("runtime");
    let gate = rt.load_gate(&gate_path).expect("load");
    let input = GateInput {
        deployment: deployment(json!({"parameter": "target_catalog"})),
        point: GatePoint::PreDeploy,
        cost: None,
        evidence: vec![],
    };
    assert_eq!(gate.evaluate(&input).expect("evaluate").decision, Decision::Pass);
    let canary = rt.load_strategy(&canary_path).expect("load");
    let d = deployment(json!({"business_hours": null}));
    let mut group = c.benchmark_group("example plugins: warm instantiate + call");
    group.bench_function("python data-contract gate evaluate", |b| {
        b.iter(|| black_box(gate.evaluate(&input).expect("evaluate")))
    });
    group.bench_function("rust scored-canary strategy step", |b| {
        b.iter(|| black_box(canary.step(&d, None, &[]).expect("step")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
