//! The runtime's one error type.

use std::path::PathBuf;
use std::time::Duration;

use crate::types::ConfigProblem;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong loading or calling a plugin. None of these crash the host: a
/// trap, a timeout, a memory bomb or garbage output ends the call, the runtime stays usable.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The guest trapped (a panic, `unreachable`, stack overflow, out-of-bounds access).
    #[error("plugin `{plugin}` crashed in `{function}`: {message}")]
    Trap {
        /// Plugin name.
        plugin: String,
        /// The exported function called.
        function: &'static str,
        /// The trap and, when the guest printed one, its panic message.
        message: String,
        /// The guest's wasm backtrace, when available.
        backtrace: Option<String>,
    },

    /// The call ran past its deadline (epoch interruption).
    #[error(
        "plugin `{plugin}` did not return from `{function}` within {deadline:?}; it was stopped (raise the plugin's `timeout` if it legitimately needs longer)"
    )]
    DeadlineExceeded {
        /// Plugin name.
        plugin: String,
        /// The exported function called.
        function: &'static str,
        /// The deadline that applied.
        deadline: Duration,
    },

    /// The guest tried to grow its memory past the cap.
    #[error(
        "plugin `{plugin}` tried to use more than {limit_bytes} bytes of memory in `{function}`; it was stopped (raise the plugin's `memory` limit if it legitimately needs more)"
    )]
    MemoryExceeded {
        /// Plugin name.
        plugin: String,
        /// The exported function called.
        function: &'static str,
        /// The cap that applied.
        limit_bytes: u64,
    },

    /// The guest returned more data than allowed.
    #[error(
        "plugin `{plugin}` returned {size} bytes from `{function}`, more than the limit of {limit} bytes"
    )]
    OutputTooLarge {
        /// Plugin name.
        plugin: String,
        /// The exported function called.
        function: &'static str,
        /// Size of what it returned (bytes of JSON-equivalent text).
        size: usize,
        /// The limit that applied.
        limit: usize,
    },

    /// The guest returned something that breaks the contract (settings that are not JSON,
    /// duplicate action ids, actions with a final phase, ...).
    #[error("plugin `{plugin}` returned invalid output from `{function}`: {reason}")]
    BadOutput {
        /// Plugin name.
        plugin: String,
        /// The exported function called.
        function: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// The component does not implement the contract this host speaks.
    #[error("plugin `{plugin}` does not implement `{expected}`: {detail}")]
    ContractMismatch {
        /// Plugin name (file stem or built-in name).
        plugin: String,
        /// The interface the host expected, e.g. `brickship:plugin/strategy@0.1.0`.
        expected: String,
        /// The contract version the component has, when it has some version of the interface.
        found_version: Option<String>,
        /// What was found instead, and the remedy.
        detail: String,
    },

    /// The component imports something outside the allow-list.
    #[error(
        "plugin `{plugin}` imports `{import}`, which brickship does not provide to plugins (plugins get no network, files or environment); rebuild it without that dependency"
    )]
    ForbiddenImport {
        /// Plugin name.
        plugin: String,
        /// The import's full name, e.g. `wasi:sockets/tcp@0.2.0`.
        import: String,
    },

    /// The plugin's sha256 differs from the pinned one.
    #[error(
        "plugin `{plugin}` has sha256 `{actual}` but is pinned to `{expected}`; the file changed since it was pinned: check where it came from, then update the pin"
    )]
    DigestMismatch {
        /// Plugin name.
        plugin: String,
        /// The pinned digest (hex).
        expected: String,
        /// The digest of the bytes found (hex).
        actual: String,
    },

    /// `validate-config` refused the configuration.
    #[error("configuration of plugin `{plugin}` is invalid: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Config {
        /// Plugin name.
        plugin: String,
        /// Every problem the plugin found.
        problems: Vec<ConfigProblem>,
    },

    /// The configuration given to a plugin is not a JSON object.
    #[error("configuration of plugin `{plugin}` must be a JSON object (or absent)")]
    ConfigNotObject {
        /// Plugin name.
        plugin: String,
    },

    /// The plugin answered with its own `plugin-error`.
    #[error("plugin `{plugin}` refused in `{function}`: {message} ({code})")]
    Refused {
        /// Plugin name.
        plugin: String,
        /// The exported function called.
        function: &'static str,
        /// The plugin's error code.
        code: String,
        /// The plugin's message.
        message: String,
    },

    /// Reading a plugin file failed.
    #[error("cannot read plugin `{}`", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The bytes are not a valid WebAssembly component (or compiling failed).
    #[error("cannot compile plugin `{plugin}`: {message} (is it a component built for `wasm32-wasip2`?)")]
    Compile {
        /// Plugin name.
        plugin: String,
        /// Why.
        message: String,
    },

    /// Setting up the engine or the linker failed.
    #[error("cannot start the plugin runtime: {message}")]
    Runtime {
        /// Why.
        message: String,
    },

    /// No built-in plugin of that kind and name, or no such file.
    #[error("no {kind} plugin `{name}`; {remedy}")]
    NotFound {
        /// `strategy`, `gate` or `notifier`.
        kind: &'static str,
        /// What was asked for.
        name: String,
        /// Which names exist, or what to check.
        remedy: String,
    },

    /// A plugin reference could not be parsed.
    #[error("invalid plugin reference `{input}`: {reason}")]
    BadRef {
        /// The text given.
        input: String,
        /// Why it is invalid.
        reason: String,
    },
}

impl Error {
    /// The plugin the error is about, when it is about one.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Error::Trap { plugin, .. }
            | Error::DeadlineExceeded { plugin, .. }
            | Error::MemoryExceeded { plugin, .. }
            | Error::OutputTooLarge { plugin, .. }
            | Error::BadOutput { plugin, .. }
            | Error::ContractMismatch { plugin, .. }
            | Error::ForbiddenImport { plugin, .. }
            | Error::DigestMismatch { plugin, .. }
            | Error::Config { plugin, .. }
            | Error::ConfigNotObject { plugin }
            | Error::Refused { plugin, .. }
            | Error::Compile { plugin, .. } => Some(plugin),
            Error::NotFound { name, .. } => Some(name),
            Error::Load { .. } | Error::Runtime { .. } | Error::BadRef { .. } => None,
        }
    }

    /// True when the plugin misbehaved at run time (crash, timeout, memory, output): the
    /// binary maps these to exit code 4.
    pub fn is_plugin_failure(&self) -> bool {
        matches!(
            self,
            Error::Trap { .. }
                | Error::DeadlineExceeded { .. }
                | Error::MemoryExceeded { .. }
                | Error::OutputTooLarge { .. }
                | Error::BadOutput { .. }
        )
    }
}
