//! `brickship workspace serve`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ServeArgs;
use crate::exit;
use crate::printer::Printer;

pub fn serve(args: ServeArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
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
        // The only stdout line names the URL; scripts and tests read it (printed in every mode).
        crate::printer::write_line(&format!("local workspace serving on {}", workspace.url()));
        if printer.is_interactive() {
            crate::printer::write_err("press Ctrl-C to stop\n");
        }
        tokio::select! {
            result = workspace.wait() => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::from(exit::OK))
    })
}
