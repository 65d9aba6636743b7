//! brickship's WebAssembly plugin runtime: the only crate that depends on wasmtime.
//!
//! # Concepts
//!
//! Strategies, quality gates and notifiers are **components** written against the contract in
//! `wit/` (package `brickship:plugin@0.1.0`): a strategy is a pure step function that returns
//! actions as data, a gate returns a verdict, a notifier returns messages. The host does all
//! I/O. A plugin is named by a [`PluginRef`]: a built-in name (`direct`, `required-tags`,
//! `slack`, …, embedded in the binary by `build.rs`) or a path to a `.wasm` file, optionally
//! pinned by sha256.
//!
//! **One engine per process.** A [`PluginRuntime`] owns the wasmtime engine, the linker and the
//! compiled-code caches (in memory, and on disk keyed by the component's sha256 and the engine's
//! compatibility hash, so a second process does not compile). Loading a plugin checks the pin,
//! compiles (or loads cached code), checks that the component exports the kind's interface at a
//! compatible contract version and imports nothing outside the allow-list, pre-instantiates it
//! and calls `describe`. The result is a handle — [`Strategy`], [`Gate`], [`Notifier`] — cheap
//! to clone and safe to share between threads.
//!
//! **A fresh sandbox per call.** Every call instantiates the component in a new store with:
//! a WASI context that grants nothing (no files, environment, arguments, network; frozen
//! clocks; stdout/stderr captured into bounded buffers and logged), a memory cap (default
//! 64 MiB), an epoch deadline (default 2 s; a ticker thread advances the epoch, tests advance it
//! by hand with [`PluginRuntime::increment_epoch`]), a bound on returned bytes (default 1 MiB)
//! and a per-call log budget. A trap, timeout, memory bomb, oversize or malformed output ends
//! that call with a typed [`Error`]; the runtime and every other plugin keep working.
//!
//! **Plain types out.** Everything public is plain Rust ([`types`]) with serde, never wasmtime
//! or generated bindings: JobSettings and ACLs are [`serde_json::Value`], validated at the
//! boundary (an action whose settings are not JSON is [`Error::BadOutput`]).
//!
//! # Example
//!
//! ```no_run
//! use plugin_host::{PluginRef, PluginRuntime, types::*};
//! # fn main() -> Result<(), plugin_host::Error> {
//! let runtime = PluginRuntime::new()?;
//! let gate = runtime.load_gate(&"required-tags".parse::<PluginRef>()?)?;
//! gate.validate_config(&serde_json::json!({"tags": ["owner"]}))?;
//! # Ok(()) }
//! ```

mod bindings;
mod builtins;
mod cache;
pub mod error;
pub mod plugin_ref;
mod runtime;
mod sandbox;
mod size;
pub mod types;

pub use builtins::builtins;
pub use error::{Error, Result};
pub use plugin_ref::{PluginRef, PluginSource};
pub use runtime::{
    CACHE_DIR_ENV, CONTRACT_VERSION, CacheStats, Epoch, Gate, Import, Inspection, Limits, MAX_STATE_BYTES,
    Notifier, PluginRuntime, RuntimeBuilder, Strategy,
};

#[cfg(test)]
mod tests {
    /// Handles and the runtime are shared across threads (the deploy engine keeps the runtime
    /// in a `static` and calls plugins from `spawn_blocking`).
    #[test]
    fn handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<crate::PluginRuntime>();
        assert_send_sync::<crate::Strategy>();
        assert_send_sync::<crate::Gate>();
        assert_send_sync::<crate::Notifier>();
    }
}
