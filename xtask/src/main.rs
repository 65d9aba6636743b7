//! brickship's build helper. (Being written.)

fn main() -> anyhow::Result<()> {
    Ok(())
}
