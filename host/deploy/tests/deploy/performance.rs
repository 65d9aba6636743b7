//! Loading and validating the example stays fast (the budget is well under 10 ms in release).

use std::time::{Duration, Instant};

use deploy::validate::load_and_validate;

use crate::support::{example, request};

#[test]
fn loading_and_validating_the_example_is_fast() {
    let dir = example();
    let req = request(&dir, "customer-360-pipeline", "prod");
    // Warm up the file cache, then take the best of several runs (robust to a busy machine).
    let loaded = load_and_validate(&req);
    assert!(!loaded.diagnostics.has_errors());
    let best = (0..10)
        .map(|_| {
            let start = Instant::now();
            let loaded = load_and_validate(&req);
            let took = start.elapsed();
            assert!(loaded.pipeline.is_some());
            took
        })
        .min()
        .unwrap_or(Duration::MAX);
    // Debug builds of this crate are several times slower than release; this bound catches
    // accidental quadratic work, not scheduling noise.
    assert!(best < Duration::from_millis(100), "best of 10 took {best:?}");
    eprintln!("load + validate of the example: best of 10 = {best:?}");
}
