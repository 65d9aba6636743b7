//! The one printer: every line the user sees goes through here.
//!
//! * `human` (default): readable text on stdout; spinners on stderr while something waits, only
//!   when stderr is a terminal.
//! * `json`: one JSON document per command on stdout; commands that stream progress (deploy,
//!   resume, promote) print one JSON event per line, the last of which is the result.
//! * `quiet`: human mode without progress or informational lines; results and errors still print.
//!
//! Logs are not output: they go through `tracing` to stderr (`-v`, `RUST_LOG`).

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Readable text, with spinners on a terminal.
    Human,
    /// JSON: one document per command, or one event per line for commands that stream progress.
    Json,
}

#[derive(Debug)]
pub struct Printer {
    format: OutputFormat,
    quiet: bool,
    interactive: bool,
    spinner: Mutex<Option<ProgressBar>>,
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool) -> Self {
        let interactive = format == OutputFormat::Human && !quiet && std::io::stderr().is_terminal();
        Self {
            format,
            quiet,
            interactive,
            spinner: Mutex::new(None),
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Whether a human is watching a terminal (prompts and spinners are allowed).
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// A line of human output (results). Nothing in JSON mode.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.format == OutputFormat::Human {
            self.with_spinner_suspended(|| write_line(text.as_ref()));
        }
    }

    /// An informational line: suppressed by `--quiet` and in JSON mode.
    pub fn info(&self, text: impl AsRef<str>) {
        if self.format == OutputFormat::Human && !self.quiet {
            self.with_spinner_suspended(|| write_line(text.as_ref()));
        }
    }

    /// The JSON document of a command's result (JSON mode only).
    pub fn json(&self, value: &impl Serialize) {
        if self.format == OutputFormat::Json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, value);
            let _ = writeln!(out);
        }
    }

    /// One progress event as a JSON line (JSON mode only).
    pub fn event(&self, value: &impl Serialize) {
        if self.format == OutputFormat::Json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer(&mut out, value);
            let _ = writeln!(out);
            let _ = out.flush();
        }
    }

    /// Shows (or updates) a spinner with `message` while something waits; no-op off a terminal.
    pub fn progress(&self, message: impl Into<String>) {
        if !self.interactive {
            return;
        }
        let mut spinner = self.spinner.lock().unwrap_or_else(|p| p.into_inner());
        let bar = spinner.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        bar.set_message(message.into());
    }

    /// Removes the spinner, if any.
    pub fn progress_done(&self) {
        let mut spinner = self.spinner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = spinner.take() {
            bar.finish_and_clear();
        }
    }

    fn with_spinner_suspended(&self, print: impl FnOnce()) {
        let spinner = self.spinner.lock().unwrap_or_else(|p| p.into_inner());
        match spinner.as_ref() {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

/// Writes a line to stdout (line-buffered: a reader waiting for it gets it now); a closed pipe
/// (`brickship history | head`) is not an error worth a panic, the reader simply stopped
/// listening.
pub fn write_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Writes `text` as is to stderr (findings, errors, prompts). Unlike `eprint!`, a closed stderr
/// (`brickship deploy … 2>&1 | head`) is ignored instead of panicking: the exit code still says
/// how the command ended.
pub fn write_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}
