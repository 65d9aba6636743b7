//! brickship's deploy engine: from a pipeline project on disk to the job settings to deploy,
//! every finding about them, and a plan of what a deploy would change.
//!
//! # Concepts
//!
//! - A **project** is a folder with `brickship.yaml` (the project name, environments,
//!   variables, synced folders, monitoring and opaque gate/notifier/plugin config) and
//!   `pipelines/<name>/job.yaml`, the job in the Jobs API `JobSettings` shape, with optional
//!   per-environment overlays `pipelines/<name>/environments/<env>.yaml`. The format is
//!   documented in `docs/project-format.md` at the repository root and in [`project`].
//! - **Rendering** ([`project::load`]) reads the project for one pipeline and environment,
//!   merges overlays and a `--config-file`, substitutes `${var.NAME}`, `${env.NAME}`,
//!   `${environment}`, `${pipeline}` and `${project}`, adds monitoring health rules, and
//!   produces a [`project::RenderedPipeline`]: the settings as `serde_json::Value` (unknown
//!   fields round-trip), the access control list, a content hash, and a span for every value.
//! - Every value remembers its **source location** ([`source::Span`]) through loading,
//!   substitution and merging, so a finding points at the exact text that produced it — an
//!   overlaid value points into the overlay, an injected SLA rule into `brickship.yaml`.
//! - **Findings** ([`diagnostics::Diagnostic`]) have a stable code, a severity, a message, a
//!   location with a caret excerpt and a help line; they render like rustc or as JSON.
//!   Loading and validation report every finding at once, never just the first.
//! - **Validation** ([`validate::validate`]) checks the rendered settings offline (schema,
//!   task graph, cron, timezones, emails, limits, ACL); [`validate::workspace::check_workspace`]
//!   adds the checks that need the workspace through the [`validate::workspace::WorkspaceProbe`]
//!   trait (notebooks and files, node types, Spark versions, secret scopes).
//! - A **plan** ([`plan::Plan`]) compares the desired settings with the live job after
//!   normalising both (server defaults, enrichment, ordering, brickship's own tags), and says
//!   `Create`, `Update` with field-level changes such as
//!   `tasks[process-silver].timeout_seconds: 5400 -> 7200`, or `NoChange`, plus permission
//!   changes.
//! - **Monitoring** ([`monitoring`]) adds SLA health rules to the job and generates dashboard
//!   and alert definitions over `system.lakeflow.job_run_timeline` and
//!   `system.lakeflow.job_task_run_timeline`.
//!
//! # Offline use
//!
//! ```no_run
//! use std::path::Path;
//! use deploy::plan::{NormalizeOptions, Plan};
//! use deploy::project::LoadRequest;
//! use deploy::validate::load_and_validate;
//!
//! let request = LoadRequest::new(Path::new("examples/customer-360"), "customer-360-pipeline", "prod");
//! let loaded = load_and_validate(&request);
//! print!("{}", loaded.diagnostics.render(false));
//! if let Some(p) = loaded.pipeline.filter(|_| !loaded.diagnostics.has_errors()) {
//!     let live = None; // `jobs/get` settings of the live job, when there is one
//!     let plan = Plan::compute(&p.settings, &p.acl(), live, None, &NormalizeOptions::ignoring_tags(["brickship-*"]));
//!     print!("{}", plan.render(false));
//! }
//! ```
//!
//! # Finding codes
//!
//! `E001` syntax, `E002` unreadable file, `E003` not a project, `E004` unknown environment,
//! `E005` unknown pipeline, `E006` duplicate key, `E007` wrong type, `E008` invalid value,
//! `E009` unresolved variable, `E010` bad reference or variable cycle, `E011` missing field,
//! `E012` unknown dependency, `E013` dependency cycle, `E014` duplicate task/cluster key,
//! `E015` task type, `E016` unknown job cluster, `E017` cron, `E018` timezone, `E019` email,
//! `E020` out of range, `E021` API limit, `E022` key pattern, `E023` schedule/trigger/continuous
//! conflict, `E024` ACL owner, `E025` ACL entry, `E026` compute conflict, `E027` workspace
//! path, `E028` node type, `E029` Spark version, `E030` secret scope, `E031` sync source;
//! warnings `W001` unknown field (an error under `strict`), `W002` unused job cluster, `W003`
//! `autoscale` with `num_workers`, `W004` workspace check failed, `W005` deprecated value,
//! `W006` config for an undefined environment. See [`diagnostics::code`].

pub mod diagnostics;
pub mod engine;
pub mod monitoring;
pub mod node;
pub mod plan;
pub mod project;
pub mod source;
pub mod validate;
pub mod yaml;
