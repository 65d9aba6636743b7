//! Time, injectable: the client sleeps between retries and polls, and decides when a cached OAuth
//! token is stale, through a [`Clock`]. Production uses [`SystemClock`]; tests use
//! [`ManualClock`], whose `sleep` advances its time instantly, so a retry loop that would wait
//! minutes finishes in microseconds and still follows the real arithmetic.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A boxed sleep future.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of monotonic time and of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// Real time: `Instant::now()` and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: time stands still until [`ManualClock::advance`] or a `sleep` moves it.
/// `sleep(d)` advances the clock by `d` and completes at once (yielding to the scheduler once),
/// and every sleep is remembered so tests can assert on the delays the client chose.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    state: Mutex<ManualState>,
}

#[derive(Debug, Default)]
struct ManualState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            state: Mutex::new(ManualState::default()),
        }
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.lock().elapsed += by;
    }

    /// How far the clock has moved since it was created.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    /// Every duration passed to `sleep`, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.lock().elapsed
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        {
            let mut state = self.lock();
            state.elapsed += duration;
            state.sleeps.push(duration);
        }
        Box::pin(tokio::task::yield_now())
    }
}
