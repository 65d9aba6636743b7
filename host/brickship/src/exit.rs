//! Exit codes (CONVENTIONS.md), mapped from the error chain in one place.

/// Success.
pub const OK: u8 = 0;
/// A deploy failed or was rolled back.
pub const FAILED: u8 = 1;
/// Bad input or usage.
pub const USAGE: u8 = 2;

/// The exit code for an error chain.
pub fn code_of(_err: &anyhow::Error) -> u8 {
    FAILED
}
