//! One module per command; each converts its raw arguments into settings and runs.

mod pipeline;
mod plugin;
mod workspace;

use std::process::ExitCode;

use deploy::engine::ControlCommand;

use crate::cli::{Command, WorkspaceCommand};
use crate::printer::Printer;

pub fn dispatch(command: Command, printer: &Printer) -> anyhow::Result<ExitCode> {
    match command {
        Command::Deploy(args) => pipeline::deploy(args, printer),
        Command::Validate(args) => pipeline::validate(args, printer),
        Command::Plan(args) => pipeline::plan(args, printer),
        Command::Status(args) => pipeline::status(args, printer),
        Command::History(args) => pipeline::history(args, printer),
        Command::Rollback(args) => pipeline::rollback(args, printer),
        Command::Resume(args) => pipeline::control(args, ControlCommand::Resume, None, false, printer),
        Command::Promote(args) => {
            let command = if args.full {
                ControlCommand::PromoteFull
            } else {
                ControlCommand::Promote
            };
            pipeline::control(args.target, command, None, false, printer)
        }
        Command::Abort(args) => pipeline::control(args, ControlCommand::Abort, None, false, printer),
        Command::Approve(args) => pipeline::control(
            args.target,
            ControlCommand::Approve,
            args.comment,
            args.no_resume,
            printer,
        ),
        Command::Workspace(WorkspaceCommand::Serve(args)) => workspace::serve(args, printer),
        Command::Plugin(command) => plugin::dispatch(command, printer),
    }
}
