use std::path::PathBuf;
use std::time::{Duration, Instant};

use plugin_host::types::{Plan, PlanAction};
use serde_json::json;

use super::*;
use crate::engine::cost::{CostOptions, estimate};
use crate::engine::plugin_config::tests::{render, test_env};

/// A runtime whose epoch only tests advance (no disk cache).
fn runtime() -> PluginRuntime {
    PluginRuntime::builder()
        .manual_epoch()
        .no_disk_cache()
        .build()
        .expect("runtime")
}

/// A hostile fixture component, built beside the built-ins by plugin-host's build script.
fn fixture(name: &str) -> PathBuf {
    let dir = match std::env::var_os("BRICKSHIP_WASM_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            // target/<profile>/deps/deploy-<hash> -> target/wasm-plugins
            let exe = std::env::current_exe().expect("test binary path");
            exe.ancestors().nth(3).expect("target dir").join("wasm-plugins")
        }
    };
    let path = dir
        .join("wasm32-wasip2/release")
        .join(format!("fixture_{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "`{}` is missing: build plugin-host first",
        path.display()
    );
    path
}

/// Runs `call` on a thread while advancing the epoch, so deadlines pass without sleeping.
fn with_epoch_driven<T: Send + 'static>(
    runtime: &PluginRuntime,
    call: impl FnOnce() -> T + Send + 'static,
) -> T {
    let handle = std::thread::spawn(call);
    let give_up = Instant::now() + Duration::from_secs(120);
    while !handle.is_finished() {
        assert!(
            Instant::now() < give_up,
            "the call did not return although the epoch kept advancing"
        );
        runtime.increment_epoch();
        std::thread::yield_now();
    }
    handle.join().expect("call thread panicked")
}

const BASE: &str =
    "project: demo\nenvironments:\n  dev: {workspace: {host: local}}\n  prod: {workspace: {host: local}}\n";

fn load(
    runtime: &PluginRuntime,
    gates_yaml: &str,
    environment: &str,
) -> Result<(Gates, PluginSettings), EngineError> {
    let dir = tempfile::tempdir().unwrap();
    let p = render(dir.path(), &format!("{BASE}{gates_yaml}"), environment, &test_env);
    let (settings, _) = PluginSettings::load(&p, &test_env, false)?;
    Ok((Gates::load(runtime, &settings)?, settings))
}

fn deployment(environment: &str, desired: serde_json::Value) -> Deployment {
    Deployment {
        id: "dep-test".into(),
        pipeline: "p".into(),
        environment: environment.into(),
        version: "v1".into(),
        desired,
        acl: None,
        live: None,
        live_job_id: None,
        plan: Plan {
            action: PlanAction::Create,
            changes: vec![],
        },
        config: json!({"ignored": "each gate gets its own"}),
        now_ms: 1_767_614_400_000,
    }
}

fn job(tags: serde_json::Value) -> serde_json::Value {
    json!({"name": "p-dev", "tags": tags, "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/a"}}]})
}

#[test]
fn an_enforcing_gate_that_fails_refuses_and_a_monitoring_one_only_warns() {
    let rt = runtime();
    let yaml = "gates:\n  tags: {plugin: required-tags, config: {tags: [owner, team]}}\n";
    let (gates, _) = load(&rt, yaml, "dev").unwrap();
    assert_eq!(gates.names_at(GatePoint::PreDeploy), ["tags"]);
    let report = gates.evaluate(
        GatePoint::PreDeploy,
        &deployment("dev", job(json!({"owner": "me"}))),
        None,
        &[],
    );
    assert_eq!(report.decision, Decision::Fail);
    assert!(report.refuses());
    assert_eq!(report.gates[0].decision, Decision::Fail);
    assert_eq!(report.gates[0].findings[0].code, "missing-tag");
    assert!(
        report.refusal_message().contains("`tags` (required-tags)"),
        "{}",
        report.refusal_message()
    );
    assert!(report.check().is_ok(), "a verdict is not a crash");

    let monitor = "gates:\n  tags: {plugin: required-tags, mode: monitor, config: {tags: [owner, team]}}\n";
    let (gates, _) = load(&rt, monitor, "dev").unwrap();
    let report = gates.evaluate(
        GatePoint::PreDeploy,
        &deployment("dev", job(json!({"owner": "me"}))),
        None,
        &[],
    );
    assert_eq!(
        report.gates[0].decision,
        Decision::Fail,
        "the gate's own answer is kept"
    );
    assert_eq!(report.gates[0].counts_as, Decision::Warn);
    assert_eq!(report.decision, Decision::Warn);
    assert!(!report.refuses());
    assert!(
        report.render().contains("fail tags (monitor)"),
        "{}",
        report.render()
    );

    let report = gates.evaluate(
        GatePoint::PreDeploy,
        &deployment("dev", job(json!({"owner": "me", "team": "data"}))),
        None,
        &[],
    );
    assert_eq!(report.decision, Decision::Pass);
}

#[test]
fn gates_run_only_at_their_points_and_no_gate_is_a_pass() {
    let rt = runtime();
    let yaml = "gates:\n  tags: {plugin: required-tags, points: [post-deploy], config: {tags: [owner]}}\n";
    let (gates, _) = load(&rt, yaml, "dev").unwrap();
    let d = deployment("dev", job(json!({})));
    let pre = gates.evaluate(GatePoint::PreDeploy, &d, None, &[]);
    assert_eq!((pre.decision, pre.gates.len()), (Decision::Pass, 0));
    assert_eq!(pre.summary, "no gate runs at pre-deploy");
    assert_eq!(pre.verdict().decision, Decision::Pass);
    let post = gates.evaluate(GatePoint::PostDeploy, &d, None, &[]);
    assert_eq!(post.decision, Decision::Fail);
    let verdict = post.verdict();
    assert!(
        verdict.findings[0].message.starts_with("tags: "),
        "{:?}",
        verdict.findings
    );
}

#[test]
fn refused_configs_are_findings_at_the_config_value() {
    let rt = runtime();
    let yaml = "gates:\n  money:\n    plugin: budget\n    config:\n      monthly_budget: -5\n";
    let err = load(&rt, yaml, "dev").map(|_| ()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let EngineError::Invalid { diagnostics, .. } = err else {
        panic!("expected findings, got {err}")
    };
    let text = diagnostics.render(false);
    assert!(
        text.contains("gate `money` (`budget`) refuses its configuration"),
        "{text}"
    );
    assert!(text.contains("must be a positive amount"), "{text}");
    assert!(
        text.contains("brickship.yaml:9:23"),
        "points at the value: {text}"
    );

    let missing = "gates:\n  nope: {plugin: no-such-gate}\n";
    let err = load(&rt, missing, "dev").map(|_| ()).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(err.to_string().contains("gates.nope"), "{err}");
}

#[test]
fn the_budget_gate_judges_the_host_cost_estimate() {
    let rt = runtime();
    let yaml = "gates:\n  budget: {config: {monthly_budget: 10, warn_at_percent: 50}}\n";
    let (gates, _) = load(&rt, yaml, "dev").unwrap();
    let settings = json!({
        "name": "p-dev",
        "tasks": [{"task_key": "a", "timeout_seconds": 3600, "new_cluster": {"node_type_id": "i3.xlarge", "num_workers": 1}, "notebook_task": {"notebook_path": "/a"}}],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"}
    });
    let cost = estimate(&settings, &CostOptions::default()).unwrap();
    assert_eq!(cost.per_month, 9.0, "2 DBU x 0.15 x 30");
    let d = deployment("dev", settings);
    let report = gates.evaluate(GatePoint::PreDeploy, &d, Some(&cost), &[]);
    assert_eq!(report.decision, Decision::Warn, "{}", report.render());
    let report = gates.evaluate(GatePoint::PreDeploy, &d, None, &[]);
    assert_eq!(
        report.decision,
        Decision::Inconclusive,
        "no estimate: the gate cannot judge"
    );
}

#[test]
fn an_enforcing_gate_that_hangs_is_an_exit_4_error_and_a_monitoring_one_a_warning() {
    let rt = runtime();
    let path = fixture("infinite-loop");
    let yaml = format!("gates:\n  spin: {{plugin: '{}'}}\n", path.display());
    let (gates, _) = load(&rt, &yaml, "dev").unwrap();
    let d = deployment("dev", job(json!({})));
    let report = with_epoch_driven(&rt, move || gates.evaluate(GatePoint::PreDeploy, &d, None, &[]));
    assert_eq!(report.decision, Decision::Fail);
    assert_eq!(report.gates[0].findings[0].code, "gate-crashed");
    assert!(
        report.gates[0]
            .error
            .as_deref()
            .unwrap()
            .contains("did not return"),
        "{:?}",
        report.gates[0].error
    );
    let err = report.check().unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert!(err.to_string().contains("gates.spin"), "{err}");

    let yaml = format!(
        "gates:\n  spin: {{plugin: '{}', mode: monitor}}\n",
        path.display()
    );
    let (gates, _) = load(&rt, &yaml, "dev").unwrap();
    let d = deployment("dev", job(json!({})));
    let report = with_epoch_driven(&rt, move || gates.evaluate(GatePoint::PreDeploy, &d, None, &[]));
    assert_eq!(report.decision, Decision::Warn);
    assert!(
        report.check().is_ok(),
        "a monitoring gate never blocks, even when it crashes"
    );
}

#[test]
fn secrets_in_gate_configs_are_redacted_from_verdicts() {
    let rt = runtime();
    // The secret is a required tag name, so the gate's finding message contains it.
    let yaml = "gates:\n  tags: {plugin: required-tags, config: {tags: ['${env.SMTP_PASSWORD}']}}\n";
    let (gates, settings) = load(&rt, yaml, "dev").unwrap();
    assert_eq!(
        settings.gates[0].config["tags"][0], "hunter2-password",
        "the plugin sees the value"
    );
    let report = gates.evaluate(
        GatePoint::PreDeploy,
        &deployment("dev", job(json!({}))),
        None,
        &[],
    );
    assert_eq!(report.decision, Decision::Fail);
    let shown = serde_json::to_string(&report).unwrap();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    assert!(!report.render().contains("hunter2"));
}

fn verdict(gate: &str, mode: GateMode, decision: Decision) -> GateVerdict {
    let counts_as = match (mode, decision) {
        (GateMode::Enforce, d) => d,
        (GateMode::Monitor, Decision::Pass) => Decision::Pass,
        (GateMode::Monitor, _) => Decision::Warn,
    };
    GateVerdict {
        gate: gate.into(),
        plugin: gate.into(),
        sha256: String::new(),
        mode,
        decision,
        counts_as,
        summary: String::new(),
        findings: vec![],
        error: None,
        duration_ms: 0,
        failure: None,
    }
}

#[test]
fn verdicts_combine_fail_then_inconclusive_then_warn_then_pass() {
    use Decision::*;
    use GateMode::*;
    let cases: &[(&[(GateMode, Decision)], Decision)] = &[
        (&[], Pass),
        (&[(Enforce, Pass), (Monitor, Pass)], Pass),
        (&[(Enforce, Warn), (Enforce, Pass)], Warn),
        (&[(Monitor, Fail)], Warn),
        (&[(Monitor, Inconclusive), (Enforce, Pass)], Warn),
        (&[(Enforce, Inconclusive), (Enforce, Warn)], Inconclusive),
        (&[(Enforce, Inconclusive), (Enforce, Fail), (Monitor, Pass)], Fail),
        (&[(Monitor, Fail), (Enforce, Inconclusive)], Inconclusive),
    ];
    for (gates, expected) in cases {
        let verdicts = gates
            .iter()
            .enumerate()
            .map(|(i, (m, d))| verdict(&format!("g{i}"), *m, *d))
            .collect();
        assert_eq!(
            combine(GatePoint::PrePromote, verdicts).decision,
            *expected,
            "{gates:?}"
        );
    }
}
