//! The example plugins built outside the host (`examples/plugins/`): the Python gate
//! (componentize-py; target: a warm call under 50 ms) and the Rust canary strategy (target for
//! a Rust plugin: cached load + instantiate + call under 1 ms). Measures the cold compile
//! `BRICKSHIP_BENCH_COLD_RUNS` times (default 3; each into an empty cache, printed as median
//! and range: the Python component takes seconds, too long for criterion's 10 samples), then
//! with criterion the cached load from disk (in a fresh runtime built outside the timing, as
//! in `plugins.rs`) and the warm call (instantiate in a fresh sandbox + call).
//!
//! Builds the examples into `target/examples-plugins` when missing (needs `cargo xtask setup`
//! for componentize-py). Run with `cargo bench -p plugin-host --bench example_plugins` (or
//! `cargo xtask bench plugins`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
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

/// Modification time of `path`, if it can be read.
fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// True when `wasm` is missing or older than a Python source or WIT file it is built from.
fn stale(wasm: &Path, sources: &[PathBuf]) -> bool {
    let Some(built) = modified(wasm) else {
        return true;
    };
    sources.iter().any(|dir| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                let path = entry.path();
                matches!(path.extension().and_then(|e| e.to_str()), Some("py" | "wit"))
                    && modified(&path).is_some_and(|m| m > built)
            })
    })
}

/// The Python gate component, built when missing or older than its sources.
fn python_gate() -> PathBuf {
    let wasm = out_dir().join("data_contract.wasm");
    let sources = [repo().join("examples/plugins/gate-python"), repo().join("wit")];
    if stale(&wasm, &sources) {
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

/// A runtime with a manual epoch (no ticker thread) and its disk cache in `dir`.
fn runtime(dir: &Path) -> PluginRuntime {
    PluginRuntime::builder()
        .manual_epoch()
        .cache_dir(dir)
        .build()
        .expect("runtime")
}

fn bench(c: &mut Criterion) {
    let gate_path = PluginRef::path(python_gate());
    let canary_path = PluginRef::path(rust_canary());

    // Cold compile: each run into an empty cache (the Python component is ~18 MB: seconds).
    let runs: usize = std::env::var("BRICKSHIP_BENCH_COLD_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3);
    let cold = |r: &PluginRef, strategy: bool| {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let empty = tempfile::tempdir().expect("tempdir");
                let rt = runtime(empty.path());
                let start = Instant::now();
                if strategy {
                    rt.load_strategy(r).map(|_| ()).expect("load");
                } else {
                    rt.load_gate(r).map(|_| ()).expect("load");
                }
                start.elapsed()
            })
            .collect();
        times.sort();
        format!(
            "median {:?} (min {:?}, max {:?}, {runs} runs)",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        )
    };
    println!(
        "cold compile + load: python data-contract gate: {}",
        cold(&gate_path, false)
    );
    println!(
        "cold compile + load: rust scored-canary strategy: {}",
        cold(&canary_path, true)
    );

    // A cache filled by an earlier "process" (runtime), as a deploy finds it.
    let cache = tempfile::tempdir().expect("tempdir");
    {
        let rt = runtime(cache.path());
        rt.load_gate(&gate_path).expect("load");
        rt.load_strategy(&canary_path).expect("load");
    }
    let mut group = c.benchmark_group("example plugins: cached load from disk");
    group.sample_size(20);
    group.bench_function("python data-contract gate", |b| {
        b.iter_batched(
            || runtime(cache.path()),
            |rt| {
                let gate = rt.load_gate(&gate_path).expect("load");
                (rt, gate)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("rust scored-canary strategy", |b| {
        b.iter_batched(
            || runtime(cache.path()),
            |rt| {
                let canary = rt.load_strategy(&canary_path).expect("load");
                (rt, canary)
            },
            BatchSize::PerIteration,
        )
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
