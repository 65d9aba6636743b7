//! One module per command; each converts its raw arguments into settings and runs.

mod workspace;

use std::process::ExitCode;

use crate::cli::{Command, WorkspaceCommand};
use crate::printer::Printer;

pub fn dispatch(command: Command, printer: &Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Workspace(WorkspaceCommand::Serve(args)) => workspace::serve(args, printer),
        other => anyhow::bail!("`{}` is not available in this build yet", command_name(&other)),
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Deploy(_) => "deploy",
        Command::Validate(_) => "validate",
        Command::Plan(_) => "plan",
        Command::Status(_) => "status",
        Command::History(_) => "history",
        Command::Rollback(_) => "rollback",
        Command::Workspace(_) => "workspace",
    }
}
