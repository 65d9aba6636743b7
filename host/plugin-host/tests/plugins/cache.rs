//! The compiled-code caches: a second runtime (as a second process would) loads from disk
//! without compiling; a corrupt entry falls back to compiling.

use plugin_host::{PluginRef, PluginRuntime};

fn runtime_in(dir: &std::path::Path) -> PluginRuntime {
    PluginRuntime::builder()
        .manual_epoch()
        .cache_dir(dir)
        .build()
        .unwrap()
}

fn cwasm_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn second_runtime_loads_from_disk_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let first = runtime_in(dir.path());
    let strategy = first.load_strategy(&PluginRef::builtin("direct")).unwrap();
    assert_eq!(first.cache_stats().compiled, 1);
    assert_eq!(first.cache_dir().as_deref(), Some(dir.path()));
    let files = cwasm_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(strategy.sha256()),
        "{name} is keyed by the component digest"
    );

    // Same runtime again: served from memory.
    first.load_strategy(&PluginRef::builtin("direct")).unwrap();
    assert_eq!(
        first.cache_stats(),
        plugin_host::CacheStats {
            compiled: 1,
            disk_hits: 0,
            memory_hits: 1
        }
    );

    // A new runtime (a new process) reads the disk cache and compiles nothing.
    let second = runtime_in(dir.path());
    let again = second.load_strategy(&PluginRef::builtin("direct")).unwrap();
    assert_eq!(
        second.cache_stats(),
        plugin_host::CacheStats {
            compiled: 0,
            disk_hits: 1,
            memory_hits: 0
        }
    );
    assert_eq!(again.info().name, "direct");
}

#[test]
fn a_corrupt_cache_entry_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    runtime_in(dir.path())
        .load_gate(&PluginRef::builtin("budget"))
        .unwrap();
    let files = cwasm_files(dir.path());
    std::fs::write(&files[0], b"definitely not compiled code").unwrap();
    let rt = runtime_in(dir.path());
    let gate = rt.load_gate(&PluginRef::builtin("budget")).unwrap();
    assert_eq!(rt.cache_stats().compiled, 1);
    assert_eq!(gate.info().name, "budget");
    assert!(
        std::fs::read(&files[0]).unwrap().len() > 1000,
        "the entry was rewritten"
    );
}

#[test]
fn the_production_ticker_enforces_deadlines() {
    use plugin_host::{Epoch, Error, Limits};
    use std::time::Duration;
    let rt = PluginRuntime::builder()
        .no_disk_cache()
        .epoch(Epoch::Ticker {
            interval: Duration::from_millis(5),
        })
        .limits(Limits {
            deadline: Duration::from_millis(50),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let gate = rt.load_gate(&super::fixture("infinite-loop")).unwrap();
    let input = plugin_host::types::GateInput {
        deployment: super::deployment("prod", serde_json::json!({})),
        point: plugin_host::types::GatePoint::PreDeploy,
        cost: None,
        evidence: vec![],
    };
    let err = gate.evaluate(&input).unwrap_err();
    assert!(matches!(err, Error::DeadlineExceeded { .. }), "{err:?}");
}
