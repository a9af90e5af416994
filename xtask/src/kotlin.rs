//! `cargo xtask kotlin ...`: the Android core module.

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("the Android core module: not built yet")
}
