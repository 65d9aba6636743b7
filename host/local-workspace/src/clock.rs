//! Time in the local workspace: wall-clock timestamps, with run progress scaled by the run speed.
//! (Owned by the runs simulation; see jobs/.)

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct Clock {
    speed: f64,
}

impl Clock {
    pub fn new(speed: f64) -> Self {
        Self { speed: if speed > 0.0 { speed } else { 1.0 } }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    /// Wall milliseconds a simulated duration takes at this speed.
    pub fn scale(&self, simulated_ms: i64) -> i64 {
        ((simulated_ms as f64) / self.speed).ceil() as i64
    }
}
