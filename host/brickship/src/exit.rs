//! Exit codes (CONVENTIONS.md), mapped from the error chain in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also a no-op deploy and a dry run) |
//! | 1 | a deploy failed or was rolled back; a workspace call failed; the lock is held |
//! | 2 | bad input or usage: invalid project, unknown environment, bad flag |
//! | 3 | a gate or an approval refused |
//! | 4 | a plugin crashed or timed out |

use deploy::engine::EngineError;

/// Success.
pub const OK: u8 = 0;
/// A deploy failed or was rolled back.
pub const FAILED: u8 = 1;
/// Bad input or usage.
pub const USAGE: u8 = 2;

/// The exit code for an error chain: the first error in the chain that knows its code decides.
pub fn code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|cause| {
            if let Some(err) = cause.downcast_ref::<EngineError>() {
                return Some(err.exit_code());
            }
            cause
                .downcast_ref::<local_workspace::Error>()
                .filter(|err| err.is_usage())
                .map(|_| USAGE)
        })
        .unwrap_or(FAILED)
}
