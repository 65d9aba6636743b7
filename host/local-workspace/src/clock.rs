//! Time in the local workspace: wall-clock timestamps, with run progress scaled by the run speed.
//!
//! Every timestamp the workspace reports (`created_time`, `start_time`, `end_time`) is real wall
//! time in epoch milliseconds, so clients that compare them with their own clock see nothing odd.
//! Only *durations* the simulation invents (a task's setup and running time, retry intervals,
//! timeouts) are scaled: a simulated minute at run speed 1000 takes 60 ms of wall time.
//!
//! The speed can change at runtime (`POST /_local/config`). A run converts its simulated durations
//! to wall milliseconds once, when it is triggered, so a speed change only affects runs triggered
//! afterwards and never rewrites the history of a run in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The workspace clock: wall time plus the current run speed.
#[derive(Debug)]
pub struct Clock {
    /// The run speed as `f64` bits, so it can change without a lock.
    speed: AtomicU64,
}

impl Clock {
    /// A clock at `speed` (values that are not finite and positive fall back to 1.0).
    pub fn new(speed: f64) -> Self {
        Self {
            speed: AtomicU64::new(Self::sanitise(speed).to_bits()),
        }
    }

    fn sanitise(speed: f64) -> f64 {
        if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// The current run speed (1.0 = real time).
    pub fn speed(&self) -> f64 {
        f64::from_bits(self.speed.load(Ordering::Relaxed))
    }

    /// Changes the run speed; `false` (and no change) when `speed` is not finite and positive.
    pub fn set_speed(&self, speed: f64) -> bool {
        if !(speed.is_finite() && speed > 0.0) {
            return false;
        }
        self.speed.store(speed.to_bits(), Ordering::Relaxed);
        true
    }

    /// Wall milliseconds a simulated duration takes at the current speed (rounded up, so a
    /// non-zero duration never collapses to zero).
    pub fn scale(&self, simulated_ms: i64) -> i64 {
        if simulated_ms <= 0 {
            return 0;
        }
        let wall = (simulated_ms as f64 / self.speed()).ceil();
        if wall >= i64::MAX as f64 {
            i64::MAX
        } else {
            wall as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_simulated_durations_by_the_run_speed() {
        let clock = Clock::new(1000.0);
        assert_eq!(clock.scale(60_000), 60);
        assert_eq!(clock.scale(1), 1, "a non-zero duration never becomes zero");
        assert_eq!(clock.scale(0), 0);
        assert!(clock.set_speed(2.0));
        assert_eq!(clock.scale(60_000), 30_000);
        assert!(!clock.set_speed(0.0));
        assert!(!clock.set_speed(f64::NAN));
        assert_eq!(clock.speed(), 2.0);
        assert_eq!(Clock::new(-5.0).speed(), 1.0);
    }
}
