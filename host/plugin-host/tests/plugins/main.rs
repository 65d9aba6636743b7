//! Integration tests of the plugin runtime against real components: the built-ins embedded by
//! `build.rs` and the hostile fixtures from `plugins/fixtures/`.

mod builtins;
mod cache;
mod direct;
mod hostile;
mod rollouts;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use plugin_host::types::*;
use plugin_host::{PluginRef, PluginRuntime};
use serde_json::{Value, json};

/// The seed's customer-360 prod job (JobSettings JSON).
pub const CUSTOMER_360: &str = include_str!("../../../../plugins/sdk/testdata/customer-360-prod.json");
/// Its ACL: a user owner, a viewer group, a run-manager service principal.
pub const CUSTOMER_360_ACL: &str = include_str!("../../../../plugins/sdk/testdata/customer-360-acl.json");
/// 2026-01-05T12:00:00Z, a Monday.
pub const MONDAY_NOON_MS: u64 = 1_767_614_400_000;

/// A runtime with a hand-driven epoch and no disk cache.
pub fn runtime() -> PluginRuntime {
    PluginRuntime::builder()
        .manual_epoch()
        .no_disk_cache()
        .build()
        .expect("runtime")
}

/// A fixture or built-in component file from the nested build.
pub fn wasm(file: &str) -> PathBuf {
    PathBuf::from(env!("BRICKSHIP_PLUGIN_WASM_DIR")).join(format!("{file}.wasm"))
}

/// A reference to the fixture `fixture_<name>.wasm`.
pub fn fixture(name: &str) -> PluginRef {
    PluginRef::path(wasm(&format!("fixture_{}", name.replace('-', "_"))))
}

/// The customer-360 deployment to `environment` with `config`: a first deploy (no live job).
pub fn deployment(environment: &str, config: Value) -> Deployment {
    Deployment {
        id: "dep-20260105-120000-ab12".into(),
        pipeline: "customer-360".into(),
        environment: environment.into(),
        version: "sha256:4f2a9c".into(),
        desired: serde_json::from_str(CUSTOMER_360).expect("customer-360 JSON"),
        acl: Some(serde_json::from_str(CUSTOMER_360_ACL).expect("ACL JSON")),
        live: None,
        live_job_id: None,
        plan: Plan {
            action: PlanAction::Create,
            changes: vec![Change {
                path: String::new(),
                op: ChangeOp::Add,
                before: None,
                after: Some(json!({})),
            }],
        },
        config,
        now_ms: MONDAY_NOON_MS,
    }
}

/// The same deployment against an existing live job 4242 whose settings and permissions differ.
pub fn update(environment: &str, config: Value) -> Deployment {
    let mut d = deployment(environment, config);
    let mut live = d.desired.clone();
    live["timeout_seconds"] = json!(7200);
    d.live = Some(live);
    d.live_job_id = Some(4242);
    d.plan = Plan {
        action: PlanAction::Update,
        changes: vec![
            Change {
                path: "/timeout_seconds".into(),
                op: ChangeOp::Replace,
                before: Some(json!(7200)),
                after: Some(json!(14400)),
            },
            Change {
                path: "/access_control_list".into(),
                op: ChangeOp::Replace,
                before: None,
                after: Some(
                    json!({"op": "grant", "principal": {"group": "data-analysts"}, "level": "CAN_VIEW"}),
                ),
            },
        ],
    };
    d
}

/// Run `call` on another thread while advancing the runtime's epoch by hand until it returns
/// (no sleeping; fails if it has not returned after a generous wall-clock bound).
pub fn with_epoch_driven<T: Send + 'static>(
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
