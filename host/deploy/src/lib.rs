//! brickship's deploy engine (offline half: projects, validation, plans, monitoring).

pub mod diagnostics;
pub mod monitoring;
pub mod node;
pub mod plan;
pub mod project;
pub mod source;
pub mod validate;
pub mod yaml;
