//! Each hostile fixture ends in the right typed error, and the runtime keeps serving good
//! plugins afterwards (same engine).

use std::sync::{Arc, Mutex};

use plugin_host::types::*;
use plugin_host::{Error, Limits, PluginRef};
use serde_json::json;

use super::*;

/// A good plugin still works in `rt` after a hostile one failed.
fn assert_still_serving(rt: &plugin_host::PluginRuntime) {
    let gate = rt
        .load_gate(&PluginRef::builtin("required-tags"))
        .expect("load required-tags");
    let d = deployment("prod", json!({"tags": ["owner"]}));
    let v = gate
        .evaluate(&GateInput {
            deployment: d,
            point: GatePoint::PreDeploy,
            cost: None,
            evidence: vec![],
        })
        .expect("a good plugin after a bad one");
    assert_eq!(v.decision, Decision::Pass);
}

fn gate_input() -> GateInput {
    GateInput {
        deployment: deployment("prod", json!({})),
        point: GatePoint::PreDeploy,
        cost: None,
        evidence: vec![],
    }
}

#[test]
fn infinite_loop_is_stopped_at_the_deadline() {
    let rt = runtime();
    let gate = rt.load_gate(&fixture("infinite-loop")).unwrap();
    assert_eq!(gate.limits().deadline, Duration::from_secs(2));
    let g = gate.clone();
    let err = with_epoch_driven(&rt, move || g.evaluate(&gate_input())).unwrap_err();
    match &err {
        Error::DeadlineExceeded {
            plugin,
            function,
            deadline,
        } => {
            assert_eq!(plugin, "fixture_infinite_loop");
            assert_eq!(*function, "evaluate");
            assert_eq!(*deadline, Duration::from_secs(2));
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    assert!(err.is_plugin_failure());
    assert!(
        err.to_string()
            .contains("did not return from `evaluate` within 2s"),
        "{err}"
    );
    assert_still_serving(&rt);
}

#[test]
fn a_longer_per_plugin_deadline_is_honoured() {
    let rt = runtime();
    let gate = rt
        .load_gate(&fixture("infinite-loop"))
        .unwrap()
        .with_limits(Limits {
            deadline: Duration::from_secs(30),
            ..Limits::default()
        });
    let err = with_epoch_driven(&rt, move || gate.evaluate(&gate_input())).unwrap_err();
    assert!(
        matches!(err, Error::DeadlineExceeded { deadline, .. } if deadline == Duration::from_secs(30)),
        "{err:?}"
    );
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let rt = runtime();
    let gate = rt.load_gate(&fixture("memory-bomb")).unwrap();
    let err = gate.evaluate(&gate_input()).unwrap_err();
    assert!(
        matches!(&err, Error::MemoryExceeded { limit_bytes, function: "evaluate", .. } if *limit_bytes == 64 << 20),
        "{err:?}"
    );
    let small = gate.with_limits(Limits {
        memory_bytes: 8 << 20,
        ..Limits::default()
    });
    let err = small.evaluate(&gate_input()).unwrap_err();
    assert!(
        matches!(&err, Error::MemoryExceeded { limit_bytes, .. } if *limit_bytes == 8 << 20),
        "{err:?}"
    );
    assert_still_serving(&rt);
}

#[test]
fn panic_is_a_trap_with_the_panic_message_and_a_backtrace() {
    let rt = runtime();
    let strategy = rt.load_strategy(&fixture("panic")).unwrap();
    let err = strategy
        .step(&deployment("dev", json!({})), None, &[])
        .unwrap_err();
    match &err {
        Error::Trap {
            plugin,
            function,
            message,
            backtrace,
        } => {
            assert_eq!(plugin, "fixture_panic");
            assert_eq!(*function, "step");
            assert!(message.contains("unreachable"), "{message}");
            assert!(
                message.contains("fixture panic: the strategy lost its mind deploying `customer-360`"),
                "{message}"
            );
            assert!(
                backtrace.as_deref().is_some_and(|b| !b.is_empty()),
                "{backtrace:?}"
            );
        }
        other => panic!("expected Trap, got {other:?}"),
    }
    assert_still_serving(&rt);
}

#[test]
fn huge_output_is_refused() {
    let rt = runtime();
    let notifier = rt.load_notifier(&fixture("huge-output")).unwrap();
    let event = Event {
        kind: EventKind::Succeeded,
        deployment: deployment("prod", json!({})),
        strategy: "direct".into(),
        message: "done".into(),
        detail: String::new(),
        findings: vec![],
        job_id: None,
        url: None,
        at_ms: MONDAY_NOON_MS,
    };
    let err = notifier.render(&event).unwrap_err();
    assert!(
        matches!(&err, Error::OutputTooLarge { size, limit, function: "render", .. } if *size >= 50_000_000 && *limit == 1 << 20),
        "{err:?}"
    );
    assert_still_serving(&rt);
}

#[test]
fn invalid_json_in_settings_is_bad_output() {
    let rt = runtime();
    let strategy = rt.load_strategy(&fixture("bad-json")).unwrap();
    let err = strategy
        .step(&deployment("dev", json!({})), None, &[])
        .unwrap_err();
    match &err {
        Error::BadOutput { function, reason, .. } => {
            assert_eq!(*function, "step");
            assert!(
                reason.contains("action `create-job` settings is not valid JSON"),
                "{reason}"
            );
        }
        other => panic!("expected BadOutput, got {other:?}"),
    }
    assert_still_serving(&rt);
}

#[test]
fn a_component_without_the_interface_is_a_contract_mismatch() {
    let rt = runtime();
    let err = rt.load_gate(&fixture("wrong-interface")).unwrap_err();
    match &err {
        Error::ContractMismatch {
            expected,
            found_version,
            detail,
            ..
        } => {
            assert_eq!(expected, "brickship:plugin/gate@0.1.0");
            assert_eq!(*found_version, None);
            assert!(detail.contains("`evil:plugin/gate@0.1.0`"), "{detail}");
        }
        other => panic!("expected ContractMismatch, got {other:?}"),
    }
    // A real plugin of another kind is refused the same way.
    let err = rt
        .load_gate(&PluginRef::path(wasm("notifier_slack")))
        .unwrap_err();
    assert!(
        matches!(&err, Error::ContractMismatch { detail, .. } if detail.contains("brickship:plugin/notifier@0.1.0")),
        "{err:?}"
    );
    assert_still_serving(&rt);
}

#[test]
fn a_future_contract_version_is_named() {
    let rt = runtime();
    let err = rt.load_gate(&fixture("wrong-version")).unwrap_err();
    match &err {
        Error::ContractMismatch { found_version, .. } => assert_eq!(found_version.as_deref(), Some("9.0.0")),
        other => panic!("expected ContractMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("built for contract 9.0.0, this brickship speaks 0.1.0"),
        "{text}"
    );
    assert_still_serving(&rt);
}

#[test]
fn imports_outside_the_allow_list_are_refused_before_linking() {
    let rt = runtime();
    let err = rt.load_gate(&fixture("forbidden-import")).unwrap_err();
    match &err {
        Error::ForbiddenImport { plugin, import } => {
            assert_eq!(plugin, "fixture_forbidden_import");
            assert_eq!(import, "evil:net/socket@0.1.0");
        }
        other => panic!("expected ForbiddenImport, got {other:?}"),
    }
    assert!(err.to_string().contains("imports `evil:net/socket@0.1.0`"));
    assert_still_serving(&rt);
}

#[test]
fn std_networking_is_refused_by_its_wasi_sockets_import() {
    let rt = runtime();
    let err = rt.load_gate(&fixture("std-net")).unwrap_err();
    match &err {
        Error::ForbiddenImport { import, .. } => assert!(import.starts_with("wasi:sockets/"), "{import}"),
        other => panic!("expected ForbiddenImport, got {other:?}"),
    }
    assert_still_serving(&rt);
}

#[test]
fn sha256_pins_are_enforced() {
    let rt = runtime();
    let original = wasm("fixture_chatty");
    let bytes = std::fs::read(&original).unwrap();
    let gate = rt.load_gate(&PluginRef::path(&original)).unwrap();
    let digest = gate.sha256().to_owned();
    assert_eq!(digest.len(), 64);
    // Pinned to its own digest: loads.
    rt.load_gate(&PluginRef::path(&original).pinned(&digest).unwrap())
        .unwrap();
    // The same pin on tampered bytes: refused before compiling.
    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("chatty.wasm");
    let mut evil = bytes.clone();
    let last = evil.len() - 1;
    evil[last] ^= 0xff;
    std::fs::write(&tampered, &evil).unwrap();
    let err = rt
        .load_gate(&PluginRef::path(&tampered).pinned(&digest).unwrap())
        .unwrap_err();
    match &err {
        Error::DigestMismatch { expected, actual, .. } => {
            assert_eq!(*expected, digest);
            assert_ne!(*actual, digest);
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    // A pin on a built-in is checked too.
    let err = rt
        .load_gate(&PluginRef::builtin("naming").pinned(&digest).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
}

#[test]
fn unknown_plugins_and_garbage_are_typed_errors() {
    let rt = runtime();
    let err = rt.load_gate(&PluginRef::builtin("no-such-gate")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NotFound { .. }));
    assert!(
        text.contains("built-in gates are: budget, freeze-window, naming, prod-safety, required-tags"),
        "{text}"
    );
    let text = rt
        .load_strategy(&PluginRef::builtin("rolling"))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("built-in strategies are: blue-green, canary, direct"),
        "{text}"
    );
    assert!(matches!(
        rt.load_gate(&PluginRef::builtin("slack")).unwrap_err(),
        Error::NotFound { .. }
    ));
    let missing = rt
        .load_strategy(&PluginRef::path("/nonexistent/canary.wasm"))
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm this is not a component").unwrap();
    assert!(matches!(
        rt.load_gate(&PluginRef::path(&junk)).unwrap_err(),
        Error::Compile { .. }
    ));
}

#[test]
fn config_problems_come_back_typed() {
    let rt = runtime();
    let gate = rt.load_gate(&PluginRef::builtin("freeze-window")).unwrap();
    let err = gate
        .validate_config(&json!({"environments": ["prod"], "timezone": "Mars/Base", "windows": []}))
        .unwrap_err();
    match &err {
        Error::Config { plugin, problems } => {
            assert_eq!(plugin, "freeze-window");
            let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(paths, ["/timezone", "/windows"]);
        }
        other => panic!("expected Config, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("`/timezone`: unknown time zone `Mars/Base`"),
        "{err}"
    );
    assert!(matches!(
        gate.validate_config(&json!([1])).unwrap_err(),
        Error::ConfigNotObject { .. }
    ));
}

/// Collects everything `tracing` writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_and_prints_are_bounded_and_attributed() {
    let rt = runtime();
    let gate = rt.load_gate(&fixture("chatty")).unwrap();
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let verdict = tracing::subscriber::with_default(subscriber, || gate.evaluate(&gate_input())).unwrap();
    assert_eq!(verdict.decision, Decision::Pass);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("brickship::plugin")).collect();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l.contains("plugin=\"fixture_chatty\"")),
        "every line names the plugin"
    );
    let logged = lines
        .iter()
        .filter(|l| l.contains("line ") && l.contains("for customer-360"))
        .count();
    assert!(
        logged < 256,
        "the log budget (256 lines, 64 KiB) must cut the 1000 lines, kept {logged}"
    );
    assert!(text.contains("…(truncated)"), "10 KiB lines are cut");
    assert!(text.contains("log lines beyond the budget"));
    assert!(text.contains("bytes of stdout/stderr beyond the capture limit"));
    assert!(text.len() < 200 * 1024, "captured {} bytes of logs", text.len());
}
