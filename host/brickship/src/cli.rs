//! Argument parsing and dispatch.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Exit codes (CONVENTIONS.md): 0 ok, 1 deploy failed or rolled back, 2 bad input or usage,
/// 3 gate refused, 4 plugin crashed or timed out.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
}

/// Deploy data pipelines to Databricks as Jobs: validate, gate, roll out, verify, roll back, notify.
#[derive(Debug, Parser)]
#[command(name = "brickship", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run and inspect a local Databricks workspace.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
}

#[derive(Debug, Subcommand)]
enum WorkspaceCommand {
    /// Serve a local Databricks workspace on loopback.
    ///
    /// Speaks the Jobs, Permissions, Workspace, Clusters, Secrets, SCIM and OAuth APIs well enough
    /// for the official SDKs. Test control (scripted run outcomes, faults, request log) is under
    /// `/_local/`.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:8899", env = "BRICKSHIP_WORKSPACE_ADDR")]
    addr: SocketAddr,
    /// Directory for persistent state (jobs, runs, files); in memory when omitted.
    #[arg(long, env = "BRICKSHIP_WORKSPACE_STATE")]
    state: Option<PathBuf>,
    /// How much faster than real time runs advance (1000 makes a one-minute task take 60 ms).
    #[arg(long, default_value_t = 1.0, env = "BRICKSHIP_WORKSPACE_RUN_SPEED")]
    run_speed: f64,
    /// Accept only this bearer token (others get 401/403); any non-empty token when omitted.
    #[arg(long, env = "BRICKSHIP_WORKSPACE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Workspace(WorkspaceCommand::Serve(args)) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = local_workspace::Config {
            addr: args.addr,
            state_dir: args.state,
            run_speed: args.run_speed,
            token: args.token,
            ..local_workspace::Config::default()
        };
        let workspace = local_workspace::LocalWorkspace::start(config).await?;
        println!("local workspace serving on {}", workspace.url());
        tokio::select! {
            result = workspace.wait() => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::from(exit::OK))
    })
}

/// Maps an error chain to its exit code, in one place.
pub fn exit_code_of(_err: &anyhow::Error) -> u8 {
    exit::FAILED
}
