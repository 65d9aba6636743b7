//! Write brickship plugins in Rust.
//!
//! A brickship plugin is a WebAssembly component built for `wasm32-wasip2` against the contract
//! in the repository's `wit/` folder (package `brickship:plugin@0.1.0`). There are three kinds:
//!
//! - a **strategy** drives a rollout: the host calls [`Strategy::step`] with the deployment, the
//!   opaque state it returned last time and the outcomes of the actions it asked for, and it
//!   returns more actions (as data), new state, a phase and a message;
//! - a **gate** judges a deployment at a named point ([`Gate::evaluate`]) and returns a verdict;
//! - a **notifier** renders deployment events into HTTP requests or emails ([`Notifier::render`]).
//!
//! Plugins are pure decision functions: they have no clock, no files, no network. The host does
//! all I/O, gives them `now-ms`, and links WASI with nothing granted.
//!
//! Writing one takes a `cdylib` crate, an implementation of the kind's trait and one macro call:
//!
//! ```ignore
//! use brickship_plugin_sdk::{Gate, types::*};
//! struct AlwaysPass;
//! impl Gate for AlwaysPass {
//!     fn describe() -> PluginInfo { brickship_plugin_sdk::info("always-pass", "0.1.0", PluginKind::Gate, "passes") }
//!     fn validate_config(_: &str) -> Result<(), Vec<ConfigProblem>> { Ok(()) }
//!     fn evaluate(_: GateInput) -> Result<Verdict, PluginError> { Ok(Verdict::pass("ok")) }
//! }
//! brickship_plugin_sdk::export_gate!(AlwaysPass);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the component. Unit-test natively with `cargo test`:
//! the trait methods are plain Rust functions, and [`testing`] has realistic inputs.
//!
//! Helpers: [`settings`] reads JobSettings JSON (tasks, clusters, schedule, tags, ACL),
//! [`config`] parses a configuration into a serde type and reports problems with JSON paths,
//! [`log`] writes to the host's log. For rollout strategies: [`rollout`] reads the host's
//! control input and previous state, makes idempotency tokens and pause settings;
//! [`analysis`] judges canary runs against a baseline; [`testing::harness`] is a fake
//! workspace that performs a strategy's actions like the host, for whole-rollout unit tests.

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin-base",
        generate_unused_types: true,
        additional_derives: [PartialEq],
    });
}

/// The contract's data types (generated from `wit/types.wit`).
pub use bindings::brickship::plugin::types;

#[doc(hidden)]
pub use bindings::brickship::plugin::log as __log;

pub mod analysis;
pub mod config;
pub mod helpers;
pub mod log;
pub mod notify;
pub mod rollout;
pub mod settings;
pub mod testing;

pub use helpers::info;

use types::{
    ConfigProblem, Deployment, Event, GateInput, Message, Outcome, PluginError, PluginInfo, StepResult,
    Verdict,
};

/// The contract version this SDK implements; put it in [`PluginInfo::contract`].
pub const CONTRACT_VERSION: &str = "0.1.0";

/// A rollout strategy. See `wit/strategy.wit` for the full contract.
pub trait Strategy {
    /// Name, version, kind, contract version, config schema/example.
    fn describe() -> PluginInfo;
    /// Check a configuration (JSON text); list every problem.
    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>>;
    /// Decide the next actions from the deployment, the previous state and the outcomes.
    fn step(
        deployment: Deployment,
        state: Option<String>,
        outcomes: Vec<Outcome>,
    ) -> Result<StepResult, PluginError>;
}

/// A quality gate. See `wit/gate.wit`.
pub trait Gate {
    /// Name, version, kind, contract version, config schema/example.
    fn describe() -> PluginInfo;
    /// Check a configuration (JSON text); list every problem.
    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>>;
    /// Judge the deployment.
    fn evaluate(input: GateInput) -> Result<Verdict, PluginError>;
}

/// A notifier. See `wit/notifier.wit`.
pub trait Notifier {
    /// Name, version, kind, contract version, config schema/example.
    fn describe() -> PluginInfo;
    /// Check a configuration (JSON text); list every problem.
    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>>;
    /// Render an event into messages.
    fn render(event: Event) -> Result<Vec<Message>, PluginError>;
}

include!(concat!(env!("OUT_DIR"), "/export_macros.rs"));
