//! brickship's deploy engine. (Being written.)

pub mod diagnostics;
pub mod node;
pub mod source;
