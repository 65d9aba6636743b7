//! Integration tests of the Databricks client against stub servers and the local workspace.

mod api; // request shapes of every typed call, wait_for_run
mod auth; // OAuth M2M discovery, token cache, refresh, single flight
mod config; // config resolution matrix
mod errors; // error classification through real responses
#[cfg(feature = "local")]
mod local; // the host `local`: in-process server, shared state directory
mod models; // lossless model round trips
mod pagination; // list pages, jobs/get and runs/get array pages
mod retries; // 429/503, connect errors, lost connections, deadlines
mod support;
mod transport; // headers, gzip, query encoding, http refusal, call log
