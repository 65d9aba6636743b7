//! brickship's end-to-end tests: one binary, one module per area, each driving the real
//! `brickship` binary (and the official Python SDK) against a local workspace.

mod bluegreen_canary;
mod builtins;
mod deploy;
mod faults;
mod hostile;
mod plugins;
mod recovery;
mod rollouts;
mod sdk_compat;
mod snapshots;
mod ui;
