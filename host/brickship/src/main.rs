//! The `brickship` command line: `main` calls `run`, maps the error chain to an exit code in one
//! place and prints it once.

mod cli;
mod commands;
mod env_vars;
mod exit;
mod printer;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            printer::write_err(&format!("error: {}\n", deploy::engine::error_chain(err.as_ref())));
            ExitCode::from(exit::code_of(&err))
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return Ok(ExitCode::from(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            }));
        }
    };
    init_logging(cli.global.verbose);
    let printer = printer::Printer::new(cli.global.output, cli.global.quiet);
    commands::dispatch(cli.command, &printer)
}

/// Logs go to stderr through `tracing`; `RUST_LOG` wins over `-v`.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
