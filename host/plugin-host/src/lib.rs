//! brickship's WebAssembly plugin runtime (being written: types, errors and references first).

pub mod error;
pub mod plugin_ref;
pub mod types;

pub use error::{Error, Result};
pub use plugin_ref::{PluginRef, PluginSource};
