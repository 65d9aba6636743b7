//! The command line as clap parses it ("low-level arguments"). Each command converts its raw
//! arguments once into a validated settings struct (see `commands/`), never passing raw strings on.
//!
//! The doc comments here are the help text: a short first line, then a longer body.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env_vars;
use crate::printer::OutputFormat;

/// Deploy data pipelines to Databricks as Jobs: validate, gate, roll out, verify, roll back, notify.
///
/// brickship reads a pipeline project (`brickship.yaml` and `pipelines/<name>/job.yaml`), renders the
/// job for an environment, validates it, plans the change against the live job, and rolls it out
/// with a strategy, keeping an auditable history in the workspace itself.
///
/// Exit codes: 0 ok, 1 deploy failed or rolled back, 2 bad input or usage, 3 a gate or approval
/// refused, 4 a plugin crashed or timed out.
#[derive(Debug, Parser)]
#[command(name = "brickship", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// How to print results: readable text or JSON.
    #[arg(long, global = true, value_enum, default_value = "human", env = env_vars::OUTPUT)]
    pub output: OutputFormat,

    /// Print only results and errors (no progress or informational lines).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// More logging on stderr (-v info, -vv debug, -vvv trace); `RUST_LOG` overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy a pipeline to an environment.
    ///
    /// Phases: load and validate the project, check the workspace, plan against the live job,
    /// ask for approval where required, take the workspace lock, journal the manifest and the
    /// previous settings, roll out with the strategy, verify the live job, trigger a run when the
    /// job has no schedule, record the result and release the lock. An unchanged spec makes no
    /// mutating call. With rollback on failure (the default), any failure after the first
    /// mutation restores the previous settings.
    Deploy(DeployArgs),

    /// Validate a pipeline for an environment, reporting every finding at once.
    ///
    /// Checks the files (syntax, fields, types, task graph, cron, emails, limits, ACL, variables)
    /// and, unless `--offline`, the workspace (notebooks, node types, Spark versions, secret scopes).
    Validate(ValidateArgs),

    /// Show what a deploy would change, field by field, like `terraform plan`.
    Plan(PipelineArgs),

    /// Show the live job, its last deployment, active runs and any lock.
    Status(PipelineArgs),

    /// List the deployments of a pipeline to an environment, from the workspace journal.
    History(HistoryArgs),

    /// Re-apply the settings of the previous (or a chosen) deployment.
    ///
    /// The rollback is itself a deployment: it takes the lock, is journaled and appears in history.
    Rollback(RollbackArgs),

    /// Continue a paused or interrupted deployment where it stopped.
    ///
    /// The workspace journal holds everything needed, so this works from any machine with the
    /// project: actions without a recorded outcome are performed again (runs reuse their
    /// idempotency tokens, creations find what they already made), then the strategy goes on.
    /// A paused canary re-runs its analysis.
    Resume(ControlArgs),

    /// Tell a paused deployment to go on: the next canary step, or the swap.
    Promote(PromoteArgs),

    /// Stop a paused or interrupted deployment and restore what it changed.
    ///
    /// Jobs it created (green, canary) are deleted, the live job gets its previous settings and
    /// permissions back, and the code it uploaded is restored.
    Abort(ControlArgs),

    /// Approve a deployment that waits for an approval, then continue it.
    ///
    /// Records who approved and when in the workspace journal. An expired request cannot be
    /// approved, only aborted.
    Approve(ApproveArgs),

    /// Run and inspect a local Databricks workspace.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),

    /// List, inspect, create and test plugins: strategies, gates and notifiers.
    ///
    /// Plugins are WebAssembly components built against brickship's contract (`wit/`); a project
    /// uses them by built-in name or by path, and an installed brickship runs new ones without
    /// being rebuilt.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

/// Which deployment a control command steers.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The deployment id (`dep-…`), as `brickship history` and `status` show it.
    pub deployment_id: String,

    /// The project folder; found from the current folder upward when omitted.
    #[arg(long, env = env_vars::PROJECT)]
    pub project: Option<PathBuf>,

    /// Only look in this pipeline's journal.
    #[arg(long)]
    pub pipeline: Option<String>,

    /// Only look in this environment's journal.
    #[arg(long, short = 'e')]
    pub environment: Option<String>,

    #[command(flatten)]
    pub workspace: WorkspaceTarget,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub target: ControlArgs,

    /// Skip the remaining steps: promote to 100% (canary) or swap now (blue-green).
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub target: ControlArgs,

    /// A comment recorded with the approval.
    #[arg(long, short = 'm')]
    pub comment: Option<String>,

    /// Only record the approval; continue later with `brickship resume`.
    #[arg(long)]
    pub no_resume: bool,
}

/// Which pipeline, environment, project and workspace a command is about.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The pipeline: a folder name under `pipelines/` in the project.
    pub pipeline: String,

    /// The environment to target, as named in `brickship.yaml`.
    #[arg(long, short = 'e', default_value = "dev", env = env_vars::ENVIRONMENT)]
    pub environment: String,

    /// The project folder (the one holding `brickship.yaml`); found from the current folder upward
    /// when omitted.
    #[arg(long, env = env_vars::PROJECT)]
    pub project: Option<PathBuf>,

    /// Deploy settings overriding the project's (YAML): variables, job overlay, deploy options.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    #[command(flatten)]
    pub workspace: WorkspaceTarget,
}

/// Overrides of the environment's workspace.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct WorkspaceTarget {
    /// Workspace URL (or `local` for the local workspace), overriding the environment's.
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,

    /// A `~/.databrickscfg` profile, overriding the environment's workspace.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub target: PipelineArgs,

    /// Treat unknown fields (a warning with a did-you-mean otherwise) as errors.
    #[arg(long)]
    pub strict: bool,

    /// Check only the files, without contacting the workspace.
    #[arg(long)]
    pub offline: bool,
}

/// What to do with runs of the job that are active when the deploy starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActiveRuns {
    /// Wait for them to finish (bounded by `--active-runs-timeout`).
    Wait,
    /// Cancel them.
    Cancel,
    /// Refuse to deploy.
    Fail,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: PipelineArgs,

    /// The rollout strategy; the environment's default strategy when omitted.
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,

    /// Show the plan and the actions the deploy would take, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Validate the project and the workspace before deploying (default).
    #[arg(long, overrides_with = "no_validate")]
    pub validate: bool,
    /// Skip validation against the workspace (file checks still run).
    #[arg(long, overrides_with = "validate")]
    pub no_validate: bool,

    /// Treat unknown fields (a warning with a did-you-mean otherwise) as errors.
    #[arg(long)]
    pub strict: bool,

    /// Set up SLA tracking and monitoring definitions (default: the environment's setting, on).
    #[arg(long, overrides_with = "no_enable_monitoring")]
    pub enable_monitoring: bool,
    /// Do not set up SLA tracking or monitoring definitions.
    #[arg(long, overrides_with = "enable_monitoring")]
    pub no_enable_monitoring: bool,

    /// Restore the previous settings when anything fails after the first change (default).
    #[arg(long, overrides_with = "no_rollback_on_failure")]
    pub rollback_on_failure: bool,
    /// Leave the workspace as the failure left it (the journal still records everything).
    #[arg(long, overrides_with = "rollback_on_failure")]
    pub no_rollback_on_failure: bool,

    /// Require an approval before changing anything (default: the environment's rule; prod requires one).
    #[arg(long, overrides_with = "no_approval_required")]
    pub approval_required: bool,
    /// Do not require an approval.
    #[arg(long, overrides_with = "approval_required")]
    pub no_approval_required: bool,

    /// Approve the deploy up front (needed where approval is required and no terminal can ask).
    #[arg(long, env = env_vars::APPROVE)]
    pub approve: bool,

    /// What to do with active runs of the live job.
    #[arg(long, value_enum, value_name = "MODE")]
    pub active_runs: Option<ActiveRuns>,

    /// How long `--active-runs wait` waits, e.g. `30m`, `90s`.
    #[arg(long, value_name = "DURATION")]
    pub active_runs_timeout: Option<String>,

    /// Do not trigger a run after deploying a job that has no schedule or trigger.
    #[arg(long)]
    pub no_run: bool,

    /// Break a stale deploy lock (one whose holder is gone or whose lease expired).
    #[arg(long)]
    pub force_lock: bool,

    /// When an approval is needed and no terminal can ask, record a pending approval and pause
    /// (exit 0) instead of refusing; `brickship approve <id>` grants it from any machine.
    #[arg(long)]
    pub request_approval: bool,

    /// The canary's first step, as a percentage of the work (canary strategy only).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub canary_percentage: Option<u8>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: PipelineArgs,

    /// Show at most this many deployments, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: PipelineArgs,

    /// The deployment whose settings to restore; the one before the current deployment when omitted.
    #[arg(long, value_name = "DEPLOYMENT_ID")]
    pub to: Option<String>,

    /// Approve up front where the environment requires approval.
    #[arg(long, env = env_vars::APPROVE)]
    pub approve: bool,

    /// Break a stale deploy lock.
    #[arg(long)]
    pub force_lock: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Serve a local Databricks workspace on loopback.
    ///
    /// Speaks the Jobs, Permissions, Workspace, Clusters, Secrets, SCIM and OAuth APIs well enough
    /// for the official SDKs. Test control (scripted run outcomes, faults, rate limits, the request
    /// log) is under `/_local/`; see the `local-workspace` crate docs.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8899", env = env_vars::WORKSPACE_ADDR)]
    pub addr: SocketAddr,

    /// Folder for persistent state (jobs, runs, files); in memory when omitted.
    #[arg(long, value_name = "DIR", env = env_vars::WORKSPACE_STATE)]
    pub state: Option<PathBuf>,

    /// How much faster than real time runs advance (1000 makes a one-minute task take 60 ms).
    #[arg(long, default_value_t = 1.0, env = env_vars::WORKSPACE_RUN_SPEED)]
    pub run_speed: f64,

    /// Accept only this bearer token (others get 401/403); any non-empty token when omitted.
    #[arg(long, env = env_vars::WORKSPACE_TOKEN, hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the built-in plugins, and the plugins the current project uses.
    ///
    /// Built-ins show their kind, version, sha256 (first 12 digits; all of it with `--output
    /// json`) and description. Inside a project (or with `--project`), every strategy, gate and
    /// notifier `brickship.yaml` names is listed with whether its component is there.
    List(PluginListArgs),

    /// Describe a plugin: what it says about itself, its imports and exports, sha256 and cache state.
    ///
    /// PLUGIN is a built-in name or a path to a `.wasm` component, optionally pinned with
    /// `@sha256:<hex>`. Imports outside what brickship provides are marked: loading refuses them.
    Inspect(PluginInspectArgs),

    /// Create a buildable Rust plugin project that uses brickship's plugin SDK.
    ///
    /// Writes `Cargo.toml`, `src/lib.rs` (a working example of the kind), `fixtures/input.json`
    /// and a README. Inside a brickship checkout the SDK is used by path (`plugins/sdk`);
    /// elsewhere pass `--sdk`, or the project depends on the SDK from git. Build it with
    /// `cargo build --target wasm32-wasip2 --release`, then `brickship plugin test` it.
    New(PluginNewArgs),

    /// Run one call of a plugin on a JSON fixture and print the result.
    ///
    /// The fixture holds what the call takes, in the contract's JSON shape (`brickship plugin
    /// inspect` and `wit/types.wit` describe it), plus an optional `config` that is checked with
    /// `validate-config` first and given as the plugin's configuration: for a strategy
    /// `{"deployment": {...}, "state": null, "outcomes": []}` (calls `step`), for a gate a gate
    /// input `{"deployment": {...}, "point": "pre-deploy", "cost": null, "evidence": []}` (calls
    /// `evaluate`), for a notifier an event `{"kind": "succeeded", "deployment": {...},
    /// "message": "..."}` (calls `render`). Missing deployment fields get test values. The call
    /// runs in the same sandbox, with the same limits, as in a deploy.
    ///
    /// Exit codes: 0 the call returned (a strategy's or notifier's result, a gate's pass, warn or
    /// inconclusive), 2 bad fixture or refused config, 3 the gate said fail, 4 the plugin crashed,
    /// timed out or returned invalid output.
    Test(PluginTestArgs),
}

#[derive(Debug, Args)]
pub struct PluginListArgs {
    /// The project whose plugins to list; found from the current folder upward when omitted.
    #[arg(long, env = env_vars::PROJECT)]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PluginInspectArgs {
    /// A built-in name or a path to a `.wasm` component (optionally `@sha256:<hex>`).
    pub plugin: String,
}

/// The kind of plugin to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PluginKindArg {
    /// A rollout strategy (a step function returning actions).
    Strategy,
    /// A quality gate (returns a verdict).
    Gate,
    /// A notifier (renders events into HTTP requests or emails).
    Notifier,
}

#[derive(Debug, Args)]
pub struct PluginNewArgs {
    /// What kind of plugin.
    #[arg(value_enum)]
    pub kind: PluginKindArg,

    /// Its name: lowercase letters, digits and `-` (e.g. `max-tasks`).
    pub name: String,

    /// The folder to create; `./<NAME>` when omitted. It must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The SDK to depend on by path: `plugins/sdk` of a brickship checkout; found from the
    /// current folder upward when omitted.
    #[arg(long, value_name = "PATH", env = env_vars::PLUGIN_SDK)]
    pub sdk: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PluginTestArgs {
    /// A built-in name or a path to a `.wasm` component (optionally `@sha256:<hex>`).
    pub plugin: String,

    /// The JSON fixture to call the plugin with (see the command's help).
    #[arg(long, short, value_name = "FILE")]
    pub input: PathBuf,
}
