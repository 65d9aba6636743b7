//! Write to the host's log. Each line is attributed to the plugin; the host truncates long lines
//! and drops lines beyond a per-call budget. Natively (unit tests) lines go to stderr.

pub use crate::__log::Level;

/// Record one line at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::__log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Record a debug line.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Record an info line.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Record a warning.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}
