//! An async Databricks REST client: unified config and auth, retries, pagination, typed errors.
//! It knows nothing of deploys; brickship builds on it.
//!
//! # Concepts
//!
//! ## Config resolution
//!
//! A [`Config`] is resolved the way the official SDKs and the `databricks` CLI do it
//! ([`ConfigBuilder`]): explicit values first, then environment variables ([`mod@env`]), then one
//! profile of `~/.databrickscfg` (the requested one, else `[__settings__] default_profile`,
//! else `[DEFAULT]`). The file is skipped when no profile was requested and a host or any
//! credential is already set, so `DATABRICKS_HOST` + `DATABRICKS_TOKEN` in the environment
//! ignore the file. A profile does not inherit `[DEFAULT]`. The host is normalised (`https://`
//! added when there is no scheme, trailing `/` and `:443` dropped). Credentials of two auth
//! methods without `DATABRICKS_AUTH_TYPE` are an error. Resolution can run against an injected
//! environment and home directory ([`ConfigBuilder::resolve_with`]), so tests never touch the
//! process environment. Every problem is a [`ConfigError`] that names the setting and the fix.
//!
//! ## Auth
//!
//! * **PAT** (`pat`): `Authorization: Bearer <token>`.
//! * **OAuth M2M** (`oauth-m2m`): the service principal's client id and secret are exchanged at
//!   the workspace's token endpoint (found via `/.well-known/databricks-config` →
//!   `{oidc_endpoint}/.well-known/oauth-authorization-server`, falling back to
//!   `{host}/oidc/v1/token`) with `grant_type=client_credentials&scope=all-apis` and HTTP Basic
//!   auth. The access token is cached and refreshed shortly before it expires (a minute, or half
//!   its lifetime if shorter); concurrent calls share one token request. A token the server
//!   refuses (401, or the 403 "Invalid access token." quirk) is dropped and the call repeated
//!   once with a fresh one.
//!
//! Secrets are [`Secret`]s: `Debug` and `Display` print `***`. No type's `Debug`, no log line
//! (at any level) and no error message contains a token or client secret.
//!
//! ## Transport
//!
//! JSON over HTTPS (rustls), gzip accepted, User-Agent `brickship/<v> databricks-rs/<v>
//! os/<os> auth/<pat|oauth-m2m>`, a per-request timeout (60 s by default). Plain `http://` is
//! refused ([`Error::InsecureHost`]) unless the host is loopback — the local workspace.
//!
//! ## Retries and which calls are safe to retry
//!
//! 429 and 503 mean the server did nothing: they are retried for every call, honouring an
//! integer `Retry-After` (capped), else with capped exponential backoff and jitter, until the
//! call's deadline (5 min by default; [`RetryPolicy`]). A connection that could not be
//! established is retried for every call too. A failure after the request may have been
//! applied (reset, timeout, connection closed without a response) is retried only for
//! idempotent calls: reads, `jobs/reset`, `jobs/update`, permissions `PUT`/`PATCH`, `mkdirs`,
//! imports with `overwrite=true`, run cancels, and `run-now`/`runs/submit` — which always carry
//! an `idempotency_token` because the client adds one. `jobs/create` and imports with
//! `overwrite=false` are not retried then; the caller decides (the deploy lock, for example,
//! re-reads the lock file to see whether its write won). 500/502/504 are retried for `GET` only.
//! Time is read through a [`Clock`], so tests drive the retry arithmetic with a [`ManualClock`].
//! The full table is in [`retry`].
//!
//! ## Call log
//!
//! Every HTTP attempt — method, path, status or error, attempt number, duration, whether it
//! mutates — is recorded in a shared [`CallLog`] ([`Client::calls`], [`Client::reset_calls`]):
//! reports list the calls a deploy made, and tests assert that a no-op deploy made no
//! mutating call.
//!
//! ## Pagination
//!
//! List calls have three forms: one page ([`Client::list_jobs_page`] → [`Page`]), a stream of
//! items across pages ([`Client::list_jobs_stream`]), and all items ([`Client::list_jobs`]).
//! They follow `next_page_token` until it is absent. Jobs API 2.2 also pages the arrays inside
//! one job or run (`tasks` beyond 100, …): [`Client::get_job`] and [`Client::get_run`] follow
//! those pages and merge the arrays.
//!
//! ## Errors
//!
//! [`Error`] tells what happened, not which HTTP status carried it: [`Error::NotFound`] covers
//! the 404 `RESOURCE_DOES_NOT_EXIST` form and the older 400 "Job 123 does not exist." form;
//! `is_not_found()` and friends test the kind. Each API error keeps the status, `error_code`,
//! message, method and path ([`ApiError`]). Bodies in every shape the SDKs parse are accepted.
//!
//! ## Models
//!
//! [`JobSettings`], [`Task`], [`Run`], … keep the fields they do not model in `extra`, so JSON
//! read from the API and written back is unchanged. Raw JSON is always one call away
//! ([`JobSettings::to_value`], [`Client::get_job_value`], [`Client::raw`]).
//!
//! ## The host `local`
//!
//! With the `local` feature, a config whose host is `local` makes [`Client::builder`] start
//! the local workspace (an emulator of these APIs) in-process on a free loopback port, with
//! state in [`LocalSettings::state_dir`], and talk to it over real HTTP — the same code path as
//! a cloud workspace. The client owns the server. If another process already serves that state
//! directory (it holds `server.lock` there and published `endpoint.json`), the client connects
//! to that server instead. Any token works locally.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> databricks::Result<()> {
//! use databricks::{Client, Config, ListJobs};
//! let config = Config::builder().resolve()?; // env, then ~/.databrickscfg
//! let client = Client::new(config).await?;
//! for job in client.list_jobs(&ListJobs::named("customer-360-pipeline-prod")).await? {
//!     println!("{} {:?}", job.job_id, job.settings.name);
//! }
//! # Ok(()) }
//! ```

pub mod api;
pub mod calls;
pub mod client;
pub mod clock;
pub mod config;
pub mod env;
pub mod error;
mod ini;
#[cfg(feature = "local")]
mod local;
pub mod models;
pub mod retry;
pub mod secret;

pub use api::{ListJobs, ListRuns, Page, PollPolicy, WaitForRun, WorkspaceApi};
pub use calls::{CallLog, CallRecord};
pub use client::{Client, ClientBuilder};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigBuilder, ConfigError, Credentials, Host, LocalSettings, Origin};
pub use error::{ApiError, Error, Result};
pub use http::Method;
pub use models::*;
pub use retry::RetryPolicy;
pub use secret::Secret;
