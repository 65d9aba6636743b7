//! brickship's deploy engine. (Being written.)
