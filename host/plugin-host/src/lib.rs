//! brickship's WebAssembly plugin runtime. (Being written.)
