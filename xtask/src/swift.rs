//! `cargo xtask swift ...`: the iOS package.

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("the iOS package: not built yet")
}
