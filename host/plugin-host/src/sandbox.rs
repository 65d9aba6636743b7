//! The per-call sandbox: the store's data (a WASI context with nothing granted, the memory
//! limiter, the log budget and the captured stdout/stderr) and the `log` import.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::{w, wit_log};
use crate::runtime::Limits;

/// Bytes of stdout and of stderr kept per call; the rest is counted and dropped.
const CAPTURE_BYTES: usize = 16 * 1024;
/// Longest log line kept; longer lines are cut.
const MAX_LINE_BYTES: usize = 4 * 1024;

/// What a store holds for one call of one plugin.
pub(crate) struct HostState {
    plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    memory_limit: usize,
    /// Set when the guest asked for more memory than `memory_limit`.
    pub(crate) memory_exceeded: bool,
    log_lines_left: usize,
    log_bytes_left: usize,
    log_dropped: usize,
    stdout: Captured,
    stderr: Captured,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<str>, limits: &Limits) -> Self {
        let stdout = Captured::default();
        let stderr = Captured::default();
        // Nothing is granted: no preopened directories, no environment, no arguments, no
        // network (the defaults), no inherited stdio. Clocks are frozen at the Unix epoch so a
        // plugin is a deterministic function of its inputs (it gets `now-ms` from the host).
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .allow_blocking_current_thread(true)
            .build();
        HostState {
            plugin,
            wasi,
            table: ResourceTable::new(),
            memory_limit: limits.memory_bytes,
            memory_exceeded: false,
            log_lines_left: limits.log_lines,
            log_bytes_left: limits.log_bytes,
            log_dropped: 0,
            stdout,
            stderr,
        }
    }

    /// Log what the guest printed and how many log lines were dropped; return the tail of
    /// stderr (where a Rust guest's panic message goes).
    pub(crate) fn finish(&mut self) -> String {
        let plugin = &*self.plugin;
        let (out, out_dropped) = self.stdout.take();
        let (err, err_dropped) = self.stderr.take();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            tracing::info!(target: "brickship::plugin", plugin, stream = "stdout", "{line}");
        }
        for line in err.lines().filter(|l| !l.trim().is_empty()) {
            tracing::warn!(target: "brickship::plugin", plugin, stream = "stderr", "{line}");
        }
        if out_dropped + err_dropped > 0 {
            tracing::warn!(
                target: "brickship::plugin",
                plugin,
                "dropped {} bytes of stdout/stderr beyond the capture limit",
                out_dropped + err_dropped
            );
        }
        if self.log_dropped > 0 {
            tracing::warn!(target: "brickship::plugin", plugin, "dropped {} log lines beyond the budget", self.log_dropped);
        }
        let tail_start = err.len().saturating_sub(2048);
        let tail_start = (tail_start..err.len())
            .find(|i| err.is_char_boundary(*i))
            .unwrap_or(err.len());
        err[tail_start..].trim().to_owned()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl w::Host for HostState {}

impl wit_log::Host for HostState {
    fn log(&mut self, level: wit_log::Level, message: String) {
        if self.log_lines_left == 0 || self.log_bytes_left == 0 {
            self.log_dropped += 1;
            return;
        }
        let mut message = message;
        let cap = MAX_LINE_BYTES.min(self.log_bytes_left);
        if message.len() > cap {
            let mut cut = cap;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" …(truncated)");
        }
        self.log_lines_left -= 1;
        self.log_bytes_left = self.log_bytes_left.saturating_sub(message.len());
        let plugin = &*self.plugin;
        match level {
            wit_log::Level::Trace => tracing::trace!(target: "brickship::plugin", plugin, "{message}"),
            wit_log::Level::Debug => tracing::debug!(target: "brickship::plugin", plugin, "{message}"),
            wit_log::Level::Info => tracing::info!(target: "brickship::plugin", plugin, "{message}"),
            wit_log::Level::Warn => tracing::warn!(target: "brickship::plugin", plugin, "{message}"),
            wit_log::Level::Error => tracing::error!(target: "brickship::plugin", plugin, "{message}"),
        }
    }
}

/// A clock that always reads zero.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A bounded in-memory stdout/stderr: keeps the first [`CAPTURE_BYTES`], counts the rest and
/// never fails a write (a chatty plugin must not turn into a crashed one).
#[derive(Clone, Default)]
struct Captured {
    inner: Arc<Mutex<CapturedInner>>,
}

#[derive(Default)]
struct CapturedInner {
    kept: Vec<u8>,
    dropped: usize,
}

impl Captured {
    fn push(&self, bytes: &[u8]) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let room = CAPTURE_BYTES.saturating_sub(inner.kept.len());
        let keep = room.min(bytes.len());
        inner.kept.extend_from_slice(&bytes[..keep]);
        inner.dropped += bytes.len() - keep;
    }

    fn take(&self) -> (String, usize) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = std::mem::take(&mut inner.kept);
        (
            String::from_utf8_lossy(&kept).into_owned(),
            std::mem::take(&mut inner.dropped),
        )
    }
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Captured {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Captured {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Captured {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for Captured {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
