//! The engine, the linker, loading (built-ins, files, pins, caches, contract and import
//! checks) and the per-kind handles.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Config, Engine, Store};

mod inspect;

pub use inspect::{Import, Inspection};

use crate::bindings::{self, gate_world, notifier_world, strategy_world, w};
use crate::builtins;
use crate::cache::DiskCache;
use crate::error::{Error, Result};
use crate::plugin_ref::{PluginRef, PluginSource};
use crate::sandbox::HostState;
use crate::size::OutputSize;
use crate::types::{
    self as t, ConfigProblem, Deployment, Event, GateInput, Message, Outcome, PluginInfo, PluginKind,
    StepResult, Verdict,
};

/// The contract version this host speaks.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Environment variable naming the cache root; compiled plugins go to `<it>/plugins`.
pub const CACHE_DIR_ENV: &str = "BRICKSHIP_CACHE_DIR";

/// Largest `state` a strategy may return.
pub const MAX_STATE_BYTES: usize = 64 * 1024;

/// Interfaces a plugin may import (prefixes of the import name). Rust's `wasm32-wasip2` std
/// imports several of these even when unused; they are linked with nothing granted.
const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "brickship:plugin/log@0.1.",
    "brickship:plugin/types@0.1.",
];

/// Per-call limits. Defaults: 2 s deadline, 64 MiB memory, 1 MiB output, 256 log lines and
/// 64 KiB of log text per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall time a call may take (enforced by epoch interruption; granularity: one tick).
    pub deadline: Duration,
    /// Linear memory a plugin may grow to, in bytes.
    pub memory_bytes: usize,
    /// Bytes a call may return (strings and lists, counted as text).
    pub output_bytes: usize,
    /// Log lines kept per call; more are dropped and counted.
    pub log_lines: usize,
    /// Bytes of log text kept per call.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            output_bytes: 1 << 20,
            log_lines: 256,
            log_bytes: 64 << 10,
        }
    }
}

/// How the engine's epoch advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// A background thread increments it every `interval` (production).
    Ticker {
        /// Tick length; deadlines are rounded up to whole ticks.
        interval: Duration,
    },
    /// Only [`PluginRuntime::increment_epoch`] advances it (tests). Deadlines are counted in
    /// notional 10 ms ticks: the default 2 s deadline is 200 increments.
    Manual,
}

const DEFAULT_TICK: Duration = Duration::from_millis(10);

/// Where compiled code is cached.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CacheDir {
    /// `$BRICKSHIP_CACHE_DIR/plugins`, else `~/.cache/brickship/plugins`.
    Default,
    Dir(PathBuf),
    Disabled,
}

/// Builds a [`PluginRuntime`]. Defaults: epoch ticker every 10 ms, default [`Limits`], disk
/// cache at `$BRICKSHIP_CACHE_DIR/plugins` or `~/.cache/brickship/plugins`.
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    cache: CacheDir,
    epoch: Epoch,
    limits: Limits,
}

impl RuntimeBuilder {
    /// Cache compiled code in `dir`.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = CacheDir::Dir(dir.into());
        self
    }

    /// Do not cache compiled code on disk (it is still cached in memory).
    pub fn no_disk_cache(mut self) -> Self {
        self.cache = CacheDir::Disabled;
        self
    }

    /// Advance the epoch only by hand ([`PluginRuntime::increment_epoch`]).
    pub fn manual_epoch(mut self) -> Self {
        self.epoch = Epoch::Manual;
        self
    }

    /// Set how the epoch advances.
    pub fn epoch(mut self, epoch: Epoch) -> Self {
        self.epoch = epoch;
        self
    }

    /// Default limits for every plugin loaded (each handle can override them).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Create the engine, the linker and (with [`Epoch::Ticker`]) the ticker thread.
    pub fn build(self) -> Result<PluginRuntime> {
        let runtime_err = |e: wasmtime::Error| Error::Runtime {
            message: format!("{e:#}"),
        };
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(runtime_err)?;

        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(runtime_err)?;
        strategy_world::StrategyPlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(runtime_err)?;

        let cache = match self.cache {
            CacheDir::Disabled => None,
            CacheDir::Dir(dir) => Some(DiskCache::new(dir, &engine)),
            CacheDir::Default => default_cache_dir().map(|dir| DiskCache::new(dir, &engine)),
        };

        let (tick, ticker) = match self.epoch {
            Epoch::Manual => (DEFAULT_TICK, None),
            Epoch::Ticker { interval } => {
                let interval = interval.max(Duration::from_millis(1));
                (interval, Some(Ticker::start(engine.clone(), interval)?))
            }
        };

        Ok(PluginRuntime {
            shared: Arc::new(Shared {
                engine,
                linker,
                tick,
                limits: self.limits,
                cache,
                components: Mutex::new(HashMap::new()),
                compiled: AtomicU64::new(0),
                disk_hits: AtomicU64::new(0),
                memory_hits: AtomicU64::new(0),
                _ticker: ticker,
            }),
        })
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("plugins")),
        _ => dirs::cache_dir().map(|d| d.join("brickship").join("plugins")),
    }
}

/// Counts of how components were obtained, for observing the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Components compiled by this runtime.
    pub compiled: u64,
    /// Components loaded from the disk cache.
    pub disk_hits: u64,
    /// Loads served from the in-memory cache.
    pub memory_hits: u64,
}

/// The plugin runtime: one wasmtime engine per process, shared by every plugin. Cheap to clone.
///
/// Calls are synchronous and short (milliseconds); from async code call them inside
/// `spawn_blocking`.
#[derive(Clone)]
pub struct PluginRuntime {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    linker: Linker<HostState>,
    tick: Duration,
    limits: Limits,
    cache: Option<DiskCache>,
    components: Mutex<HashMap<String, Component>>,
    compiled: AtomicU64,
    disk_hits: AtomicU64,
    memory_hits: AtomicU64,
    _ticker: Option<Ticker>,
}

impl std::fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRuntime")
            .field("tick", &self.shared.tick)
            .field("limits", &self.shared.limits)
            .field(
                "cache_dir",
                &self.shared.cache.as_ref().map(|c| c.dir().to_path_buf()),
            )
            .finish_non_exhaustive()
    }
}

/// Increments the engine's epoch from a background thread until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Ticker {
    fn start(engine: Engine, interval: Duration) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("brickship-plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| Error::Runtime {
                message: format!("cannot start the epoch ticker thread: {e}"),
            })?;
        Ok(Ticker { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl PluginRuntime {
    /// A runtime with the defaults (see [`RuntimeBuilder`]).
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder with the defaults.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            cache: CacheDir::Default,
            epoch: Epoch::Ticker {
                interval: DEFAULT_TICK,
            },
            limits: Limits::default(),
        }
    }

    /// Advance the epoch by one tick (for [`Epoch::Manual`]; harmless otherwise).
    pub fn increment_epoch(&self) {
        self.shared.engine.increment_epoch();
    }

    /// How components were obtained so far.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            compiled: self.shared.compiled.load(Ordering::Relaxed),
            disk_hits: self.shared.disk_hits.load(Ordering::Relaxed),
            memory_hits: self.shared.memory_hits.load(Ordering::Relaxed),
        }
    }

    /// The disk cache directory, when caching on disk.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.shared.cache.as_ref().map(|c| c.dir().to_path_buf())
    }

    /// The default limits of this runtime.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Load a strategy plugin: read, check the pin, compile (or load from cache), check the
    /// contract and imports, call `describe`.
    pub fn load_strategy(&self, plugin: &PluginRef) -> Result<Strategy> {
        Ok(Strategy {
            handle: Arc::new(Handle::load(self, plugin)?),
        })
    }

    /// Load a gate plugin (see [`PluginRuntime::load_strategy`]).
    pub fn load_gate(&self, plugin: &PluginRef) -> Result<Gate> {
        Ok(Gate {
            handle: Arc::new(Handle::load(self, plugin)?),
        })
    }

    /// Load a notifier plugin (see [`PluginRuntime::load_strategy`]).
    pub fn load_notifier(&self, plugin: &PluginRef) -> Result<Notifier> {
        Ok(Notifier {
            handle: Arc::new(Handle::load(self, plugin)?),
        })
    }

    fn load(&self, plugin: &PluginRef, kind: PluginKind) -> Result<Loaded> {
        let name = plugin.display_name();
        let bytes: Cow<'static, [u8]> = match &plugin.source {
            PluginSource::BuiltIn(builtin) => {
                Cow::Borrowed(builtins::find(kind, builtin).ok_or_else(|| Error::NotFound {
                    kind: kind.as_str(),
                    name: builtin.clone(),
                    remedy: format!(
                        "built-in {} are: {}; or give a path to a `.wasm` component",
                        kind.plural(),
                        builtins::names(kind).join(", ")
                    ),
                })?)
            }
            PluginSource::Path(path) => Cow::Owned(std::fs::read(path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    Error::NotFound {
                        kind: kind.as_str(),
                        name: path.display().to_string(),
                        remedy: "no such file; check the path (relative paths are relative to the project)"
                            .into(),
                    }
                } else {
                    Error::Load {
                        path: path.clone(),
                        source,
                    }
                }
            })?),
        };
        let digest = hex::encode(Sha256::digest(&bytes));
        if let Some(pinned) = &plugin.sha256
            && *pinned != digest
        {
            return Err(Error::DigestMismatch {
                plugin: name,
                expected: pinned.clone(),
                actual: digest,
            });
        }
        let component = self.component(&name, &digest, &bytes)?;
        check_exports(&self.shared.engine, &name, &component, kind)?;
        check_imports(&self.shared.engine, &name, &component)?;
        let pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .map_err(|e| contract_err(&name, kind, &e))?;
        Ok(Loaded {
            name: name.into(),
            digest,
            pre,
        })
    }

    /// The compiled component for `digest`: from memory, else from disk, else compiled.
    fn component(&self, name: &str, digest: &str, bytes: &[u8]) -> Result<Component> {
        let shared = &self.shared;
        if let Some(c) = shared
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
        {
            shared.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(c.clone());
        }
        let component = match shared
            .cache
            .as_ref()
            .and_then(|cache| cache.load(&shared.engine, digest))
        {
            Some(c) => {
                shared.disk_hits.fetch_add(1, Ordering::Relaxed);
                c
            }
            None => {
                let c = Component::new(&shared.engine, bytes).map_err(|e| Error::Compile {
                    plugin: name.to_owned(),
                    message: format!("{e:#}"),
                })?;
                shared.compiled.fetch_add(1, Ordering::Relaxed);
                if let Some(cache) = &shared.cache {
                    cache.store(digest, &c);
                }
                c
            }
        };
        shared
            .components
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest.to_owned(), component.clone());
        Ok(component)
    }
}

struct Loaded {
    name: Arc<str>,
    digest: String,
    pre: InstancePre<HostState>,
}

fn expected_export(kind: PluginKind) -> String {
    format!("brickship:plugin/{kind}@{CONTRACT_VERSION}")
}

fn contract_err(name: &str, kind: PluginKind, err: &wasmtime::Error) -> Error {
    Error::ContractMismatch {
        plugin: name.to_owned(),
        expected: expected_export(kind),
        found_version: None,
        detail: format!("{err:#}; rebuild it against brickship's `wit/` ({CONTRACT_VERSION})"),
    }
}

/// The component must export `brickship:plugin/<kind>@0.1.x`.
fn check_exports(engine: &Engine, name: &str, component: &Component, kind: PluginKind) -> Result<()> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let prefix = format!("brickship:plugin/{kind}@");
    let compatible = format!("{prefix}{}.", major_minor(CONTRACT_VERSION));
    if exports
        .iter()
        .any(|e| e.starts_with(&compatible) || *e == expected_export(kind))
    {
        return Ok(());
    }
    if let Some(other) = exports.iter().find(|e| e.starts_with(&prefix)) {
        let version = other[prefix.len()..].to_owned();
        return Err(Error::ContractMismatch {
            plugin: name.to_owned(),
            expected: expected_export(kind),
            detail: format!(
                "it was built for contract {version}, this brickship speaks {CONTRACT_VERSION}; rebuild the plugin against brickship's `wit/` or use a brickship that speaks {version}"
            ),
            found_version: Some(version),
        });
    }
    let listed = if exports.is_empty() {
        "it exports nothing".to_owned()
    } else {
        format!(
            "it exports {}",
            exports
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(Error::ContractMismatch {
        plugin: name.to_owned(),
        expected: expected_export(kind),
        found_version: None,
        detail: format!("{listed}; is it a {kind} plugin? build it for the `{kind}-plugin` world"),
    })
}

fn major_minor(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((i, _)) => &version[..i],
        None => version,
    }
}

/// Every import must be on the allow-list.
fn check_imports(engine: &Engine, name: &str, component: &Component) -> Result<()> {
    let ty = component.component_type();
    for (import, _) in ty.imports(engine) {
        if !ALLOWED_IMPORTS.iter().any(|allowed| import.starts_with(allowed)) {
            return Err(Error::ForbiddenImport {
                plugin: name.to_owned(),
                import: import.to_owned(),
            });
        }
    }
    Ok(())
}

/// One loaded plugin of one kind: the pre-instantiated component and its limits.
struct Handle<P> {
    runtime: PluginRuntime,
    name: Arc<str>,
    digest: String,
    pre: P,
    limits: Limits,
    info: PluginInfo,
}

/// What the host needs of one kind's generated `*Pre` type: its kind, how to make and
/// instantiate it, and the calls every kind exports.
trait World: Clone + Sync + Sized {
    const KIND: PluginKind;
    type Bindings;
    fn new(pre: InstancePre<HostState>) -> wasmtime::Result<Self>;
    fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Self::Bindings>;
    fn describe(bindings: &Self::Bindings, store: &mut Store<HostState>) -> wasmtime::Result<w::PluginInfo>;
    fn validate_config(
        bindings: &Self::Bindings,
        store: &mut Store<HostState>,
        config: &str,
    ) -> wasmtime::Result<std::result::Result<(), Vec<w::ConfigProblem>>>;
}

/// `World` for one world's generated bindings, whose interface accessor is `$interface`.
macro_rules! world {
    ($kind:ident, $pre:ty, $bindings:ty, $interface:ident) => {
        impl World for $pre {
            const KIND: PluginKind = PluginKind::$kind;
            type Bindings = $bindings;
            fn new(pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
                <$pre>::new(pre)
            }
            fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<$bindings> {
                <$pre>::instantiate(self, store)
            }
            fn describe(
                bindings: &$bindings,
                store: &mut Store<HostState>,
            ) -> wasmtime::Result<w::PluginInfo> {
                bindings.$interface().call_describe(store)
            }
            fn validate_config(
                bindings: &$bindings,
                store: &mut Store<HostState>,
                config: &str,
            ) -> wasmtime::Result<std::result::Result<(), Vec<w::ConfigProblem>>> {
                bindings.$interface().call_validate_config(store, config)
            }
        }
    };
}

world!(
    Strategy,
    strategy_world::StrategyPluginPre<HostState>,
    strategy_world::StrategyPlugin,
    brickship_plugin_strategy
);
world!(
    Gate,
    gate_world::GatePluginPre<HostState>,
    gate_world::GatePlugin,
    brickship_plugin_gate
);
world!(
    Notifier,
    notifier_world::NotifierPluginPre<HostState>,
    notifier_world::NotifierPlugin,
    brickship_plugin_notifier
);

impl<P: World> Handle<P> {
    /// Read, check the pin, compile (or load from cache), check the contract and imports, call
    /// `describe` and check what it says.
    fn load(runtime: &PluginRuntime, plugin: &PluginRef) -> Result<Self> {
        let loaded = runtime.load(plugin, P::KIND)?;
        let pre = P::new(loaded.pre.clone()).map_err(|e| contract_err(&loaded.name, P::KIND, &e))?;
        let mut handle = Handle::new(runtime, loaded, pre);
        handle.info = handle.describe()?;
        handle.check_info()?;
        Ok(handle)
    }

    fn new(runtime: &PluginRuntime, loaded: Loaded, pre: P) -> Self {
        let placeholder = PluginInfo {
            name: loaded.name.to_string(),
            version: String::new(),
            kind: P::KIND,
            contract: String::new(),
            description: String::new(),
            config_schema: None,
            config_example: None,
        };
        Handle {
            runtime: runtime.clone(),
            name: loaded.name,
            digest: loaded.digest,
            pre,
            limits: runtime.shared.limits.clone(),
            info: placeholder,
        }
    }

    /// Instantiate in a fresh store with this plugin's limits, call, classify failures and
    /// check the output size.
    ///
    /// Called from async code (the deploy engine runs on tokio), the call moves to a plain
    /// scoped thread: wasmtime-wasi's synchronous host functions (a guest writing to stderr,
    /// polling, clocks) block on the *ambient* tokio runtime, which panics inside a runtime
    /// ("Cannot start a runtime from within a runtime"). A thread without a runtime context
    /// makes them use wasmtime-wasi's own. The cost is one thread spawn (tens of µs) per call.
    fn call<R: OutputSize + Send>(
        &self,
        function: &'static str,
        f: impl FnOnce(&mut Store<HostState>, P::Bindings) -> wasmtime::Result<R> + Send,
    ) -> Result<R>
    where
        P: Sync,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.call_here(function, f);
        }
        std::thread::scope(|scope| match scope.spawn(|| self.call_here(function, f)).join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    }

    fn call_here<R: OutputSize>(
        &self,
        function: &'static str,
        f: impl FnOnce(&mut Store<HostState>, P::Bindings) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let shared = &self.runtime.shared;
        let mut store = Store::new(&shared.engine, HostState::new(self.name.clone(), &self.limits));
        store.limiter(|s| s);
        store.set_epoch_deadline(deadline_ticks(self.limits.deadline, shared.tick));
        store.epoch_deadline_trap();
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|bindings| f(&mut store, bindings));
        let stderr_tail = store.data_mut().finish();
        let memory_exceeded = store.data().memory_exceeded;
        let value = result.map_err(|err| self.classify(function, err, memory_exceeded, stderr_tail))?;
        let size = value.output_size();
        if size > self.limits.output_bytes {
            return Err(Error::OutputTooLarge {
                plugin: self.name.to_string(),
                function,
                size,
                limit: self.limits.output_bytes,
            });
        }
        Ok(value)
    }

    fn classify(
        &self,
        function: &'static str,
        err: wasmtime::Error,
        memory_exceeded: bool,
        stderr: String,
    ) -> Error {
        let plugin = self.name.to_string();
        if memory_exceeded {
            return Error::MemoryExceeded {
                plugin,
                function,
                limit_bytes: self.limits.memory_bytes as u64,
            };
        }
        let trap = err.downcast_ref::<wasmtime::Trap>().copied();
        if trap == Some(wasmtime::Trap::Interrupt) {
            return Error::DeadlineExceeded {
                plugin,
                function,
                deadline: self.limits.deadline,
            };
        }
        let backtrace = err
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .map(|bt| bt.to_string());
        let mut message = match trap {
            Some(trap) => trap.to_string(),
            None => err.root_cause().to_string(),
        };
        if !stderr.is_empty() {
            message = format!("{message}; it printed: {stderr}");
        }
        Error::Trap {
            plugin,
            function,
            message,
            backtrace,
        }
    }

    fn bad(&self, function: &'static str, reason: impl Into<String>) -> Error {
        Error::BadOutput {
            plugin: self.name.to_string(),
            function,
            reason: reason.into(),
        }
    }

    fn describe(&self) -> Result<PluginInfo> {
        Ok(self.call("describe", |s, b| P::describe(&b, s))?.into())
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<()> {
        let text = self.config_text(config)?;
        let result = self.call("validate-config", |s, b| P::validate_config(&b, s, &text))?;
        self.validated_config(result)
    }

    /// What `describe` said against what this handle was loaded as.
    fn check_info(&self) -> Result<()> {
        let kind = P::KIND;
        if self.info.kind != kind {
            return Err(self.bad(
                "describe",
                format!(
                    "it says it is a {} plugin, but it was loaded as a {kind}",
                    self.info.kind
                ),
            ));
        }
        if major_minor(&self.info.contract) != major_minor(CONTRACT_VERSION) {
            return Err(Error::ContractMismatch {
                plugin: self.name.to_string(),
                expected: expected_export(kind),
                found_version: Some(self.info.contract.clone()),
                detail: format!(
                    "`describe` reports contract `{}`, this brickship speaks {CONTRACT_VERSION}; rebuild the plugin against brickship's `wit/`",
                    self.info.contract
                ),
            });
        }
        Ok(())
    }

    fn config_text(&self, config: &serde_json::Value) -> Result<String> {
        match config {
            serde_json::Value::Null => Ok("{}".to_owned()),
            serde_json::Value::Object(_) => Ok(config.to_string()),
            _ => Err(Error::ConfigNotObject {
                plugin: self.name.to_string(),
            }),
        }
    }

    fn validated_config(&self, result: std::result::Result<(), Vec<w::ConfigProblem>>) -> Result<()> {
        result.map_err(|problems| Error::Config {
            plugin: self.name.to_string(),
            problems: problems.into_iter().map(ConfigProblem::from).collect(),
        })
    }

    fn refused(&self, function: &'static str, e: w::PluginError) -> Error {
        Error::Refused {
            plugin: self.name.to_string(),
            function,
            code: e.code,
            message: e.message,
        }
    }
}

fn deadline_ticks(deadline: Duration, tick: Duration) -> u64 {
    let ticks = deadline.as_nanos().div_ceil(tick.as_nanos().max(1));
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

macro_rules! common_handle_methods {
    () => {
        /// The plugin's name (built-in name or file stem).
        pub fn name(&self) -> &str {
            &self.handle.name
        }

        /// The sha256 (hex) of the component's bytes: what a pin must say.
        pub fn sha256(&self) -> &str {
            &self.handle.digest
        }

        /// What `describe` returned when the plugin was loaded.
        pub fn info(&self) -> &PluginInfo {
            &self.handle.info
        }

        /// Call `describe` again.
        pub fn describe(&self) -> Result<PluginInfo> {
            self.handle.describe()
        }

        /// Ask the plugin whether `config` (a JSON object, or null for `{}`) is acceptable.
        pub fn validate_config(&self, config: &serde_json::Value) -> Result<()> {
            self.handle.validate_config(config)
        }

        /// The limits applied to each call.
        pub fn limits(&self) -> &Limits {
            &self.handle.limits
        }

        /// The same plugin with other per-call limits (e.g. a longer deadline from the project).
        pub fn with_limits(&self, limits: Limits) -> Self {
            let h = &self.handle;
            Self {
                handle: Arc::new(Handle {
                    runtime: h.runtime.clone(),
                    name: h.name.clone(),
                    digest: h.digest.clone(),
                    pre: h.pre.clone(),
                    limits,
                    info: h.info.clone(),
                }),
            }
        }
    };
}

/// A loaded strategy plugin. Cheap to clone; each call runs in a fresh sandbox.
#[derive(Clone)]
pub struct Strategy {
    handle: Arc<Handle<strategy_world::StrategyPluginPre<HostState>>>,
}

impl Strategy {
    common_handle_methods!();

    /// One step: see `wit/strategy.wit`. The result is validated (action ids, JSON settings,
    /// phase/actions consistency, state size).
    pub fn step(
        &self,
        deployment: &Deployment,
        state: Option<&str>,
        outcomes: &[Outcome],
    ) -> Result<StepResult> {
        const F: &str = "step";
        let d: w::Deployment = deployment.into();
        let o: Vec<w::Outcome> = outcomes.iter().map(Into::into).collect();
        let result = self.handle.call(F, |s, b: strategy_world::StrategyPlugin| {
            b.brickship_plugin_strategy().call_step(s, &d, state, &o)
        })?;
        let r = result.map_err(|e| self.handle.refused(F, e))?;
        validate_step(r).map_err(|reason| self.handle.bad(F, reason))
    }
}

/// Check a step result against the contract and convert it.
fn validate_step(r: w::StepResult) -> std::result::Result<StepResult, String> {
    if r.state.len() > MAX_STATE_BYTES {
        return Err(format!(
            "its state is {} bytes; the limit is {MAX_STATE_BYTES}",
            r.state.len()
        ));
    }
    let phase = bindings::phase(r.phase);
    if phase != t::Phase::Running && !r.actions.is_empty() {
        return Err(format!(
            "phase `{phase:?}` came with {} actions; only a running step may ask for actions",
            r.actions.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut actions = Vec::with_capacity(r.actions.len());
    for a in r.actions {
        if !bindings::is_action_id(&a.id) {
            return Err(format!(
                "action id `{}` is not 1 to 64 characters of `[A-Za-z0-9._-]`",
                a.id
            ));
        }
        if !seen.insert(a.id.clone()) {
            return Err(format!("action id `{}` is used twice", a.id));
        }
        actions.push(bindings::action(a)?);
    }
    Ok(StepResult {
        actions,
        state: r.state,
        phase,
        message: r.message,
    })
}

/// A loaded gate plugin. Cheap to clone; each call runs in a fresh sandbox.
#[derive(Clone)]
pub struct Gate {
    handle: Arc<Handle<gate_world::GatePluginPre<HostState>>>,
}

impl Gate {
    common_handle_methods!();

    /// Judge a deployment.
    pub fn evaluate(&self, input: &GateInput) -> Result<Verdict> {
        let i: w::GateInput = input.into();
        let result = self.handle.call("evaluate", |s, b: gate_world::GatePlugin| {
            b.brickship_plugin_gate().call_evaluate(s, &i)
        })?;
        let v = result.map_err(|e| self.handle.refused("evaluate", e))?;
        Ok(v.into())
    }
}

/// A loaded notifier plugin. Cheap to clone; each call runs in a fresh sandbox.
#[derive(Clone)]
pub struct Notifier {
    handle: Arc<Handle<notifier_world::NotifierPluginPre<HostState>>>,
}

impl Notifier {
    common_handle_methods!();

    /// Render an event into messages (validated: HTTP requests have a method and an
    /// `http(s)://` URL, emails have a recipient).
    pub fn render(&self, event: &Event) -> Result<Vec<Message>> {
        const F: &str = "render";
        let e: w::Event = event.into();
        let result = self.handle.call(F, |s, b: notifier_world::NotifierPlugin| {
            b.brickship_plugin_notifier().call_render(s, &e)
        })?;
        let messages = result.map_err(|e| self.handle.refused(F, e))?;
        let messages: Vec<Message> = messages.into_iter().map(Into::into).collect();
        for (i, m) in messages.iter().enumerate() {
            match m {
                Message::Http(h) => {
                    if h.method.is_empty() || !(h.url.starts_with("https://") || h.url.starts_with("http://"))
                    {
                        return Err(self.handle.bad(
                            F,
                            format!("message {i} is an HTTP request without a method or an http(s) URL"),
                        ));
                    }
                }
                Message::Email(e) => {
                    if e.to.is_empty() {
                        return Err(self
                            .handle
                            .bad(F, format!("message {i} is an email without recipients")));
                    }
                }
            }
        }
        Ok(messages)
    }
}

macro_rules! debug_handle {
    ($($ty:ident),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.handle.name)
                    .field("sha256", &self.handle.digest)
                    .field("version", &self.handle.info.version)
                    .field("limits", &self.handle.limits)
                    .finish_non_exhaustive()
            }
        }
    )*};
}

debug_handle!(Strategy, Gate, Notifier);

#[cfg(test)]
mod tests {
    use super::*;

    fn step(phase: w::Phase, actions: Vec<w::Action>) -> w::StepResult {
        w::StepResult {
            actions,
            state: "{}".into(),
            phase,
            message: String::new(),
        }
    }

    fn action(id: &str, kind: w::ActionKind) -> w::Action {
        w::Action { id: id.into(), kind }
    }

    fn reset(settings: &str) -> w::ActionKind {
        w::ActionKind::ResetJob(w::ResetJob {
            job: w::JobRef::Live,
            settings: settings.into(),
        })
    }

    #[test]
    fn step_results_are_checked_against_the_contract() {
        let ok = validate_step(step(
            w::Phase::Running,
            vec![action("reset-live", reset(r#"{"name":"x"}"#))],
        ))
        .unwrap();
        assert_eq!(
            ok.actions[0].kind,
            t::ActionKind::ResetJob {
                job: t::JobRef::Live,
                settings: serde_json::json!({"name": "x"})
            }
        );

        let err = |r| validate_step(r).unwrap_err();
        assert!(
            err(step(w::Phase::Succeeded, vec![action("a", reset("{}"))])).contains("only a running step")
        );
        assert!(
            err(step(
                w::Phase::Running,
                vec![action("a", reset("{}")), action("a", reset("{}"))]
            ))
            .contains("used twice")
        );
        assert!(
            err(step(w::Phase::Running, vec![action("a b", reset("{}"))])).contains("`a b` is not 1 to 64")
        );
        assert!(
            err(step(w::Phase::Running, vec![action("a", reset("[1]"))]))
                .contains("settings must be a JSON object")
        );
        let acl = w::ActionKind::SetPermissions(w::SetPermissions {
            job: w::JobRef::Live,
            acl: "{}".into(),
        });
        assert!(err(step(w::Phase::Running, vec![action("p", acl)])).contains("acl must be a JSON array"));
        let run = w::ActionKind::RunJob(w::RunJob {
            job: w::JobRef::Live,
            parameters: vec![],
            idempotency_token: "t".repeat(65),
        });
        assert!(
            err(step(w::Phase::Running, vec![action("r", run)]))
                .contains("idempotency token of 65 characters")
        );
        let history = w::ActionKind::RunHistory(w::RunHistory {
            job: w::JobRef::Live,
            limit: 0,
            since_ms: None,
        });
        assert!(err(step(w::Phase::Running, vec![action("h", history)])).contains("limit is 1 to 100"));
        let mut big = step(w::Phase::Running, vec![]);
        big.state = "x".repeat(MAX_STATE_BYTES + 1);
        assert!(err(big).contains("state is 65537 bytes"));
    }

    #[test]
    fn gate_checks_are_checked_against_the_contract() {
        let check = |point, evidence: Vec<w::RunRef>| {
            validate_step(step(
                w::Phase::Running,
                vec![action(
                    "gate",
                    w::ActionKind::GateCheck(w::GateCheck { point, evidence }),
                )],
            ))
        };
        let ok = check(
            w::GatePoint::PrePromote,
            vec![w::RunRef::StartedBy("smoke-1-run".into()), w::RunRef::Id(7)],
        )
        .unwrap();
        assert_eq!(
            ok.actions[0].kind,
            t::ActionKind::GateCheck {
                point: t::GatePoint::PrePromote,
                evidence: vec![
                    t::RunRef::StartedBy {
                        action_id: "smoke-1-run".into()
                    },
                    t::RunRef::Id { run_id: 7 }
                ],
            }
        );
        assert!(!ok.actions[0].kind.is_mutation());
        assert!(check(w::GatePoint::PostDeploy, vec![]).is_ok());
        assert!(
            check(w::GatePoint::PreDeploy, vec![])
                .unwrap_err()
                .contains("asks for a `pre-deploy` gate check")
        );
        let many = (0..=100).map(w::RunRef::Id).collect();
        assert!(
            check(w::GatePoint::PrePromote, many)
                .unwrap_err()
                .contains("names 101 evidence runs; a gate check takes at most 100")
        );
        let bad = vec![w::RunRef::StartedBy("no spaces".into())];
        assert!(
            check(w::GatePoint::PrePromote, bad)
                .unwrap_err()
                .contains("started by `no spaces`, which is not an action id")
        );
    }

    #[test]
    fn gate_verdicts_of_fail_or_inconclusive_stop_a_step() {
        let verdict = |decision| t::OutcomeKind::GateVerdict {
            verdict: t::Verdict {
                decision,
                summary: String::new(),
                findings: vec![],
            },
        };
        assert!(verdict(t::Decision::Fail).stops_step());
        assert!(verdict(t::Decision::Inconclusive).stops_step());
        assert!(!verdict(t::Decision::Warn).stops_step());
        assert!(!verdict(t::Decision::Pass).stops_step());
        assert!(t::OutcomeKind::TimedOut { run: None }.stops_step());
        assert!(!t::OutcomeKind::Done.stops_step());
    }

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        assert_eq!(
            deadline_ticks(Duration::from_secs(2), Duration::from_millis(10)),
            200
        );
        assert_eq!(
            deadline_ticks(Duration::from_millis(15), Duration::from_millis(10)),
            2
        );
        assert_eq!(deadline_ticks(Duration::ZERO, Duration::from_millis(10)), 1);
        assert_eq!(major_minor("0.1.7"), "0.1");
    }
}
