//! Integration tests of the offline deploy engine against the example project and temporary
//! projects; each module has a one-line purpose.

mod monitoring;
mod performance;
mod plan;
mod support;
mod workspace;
