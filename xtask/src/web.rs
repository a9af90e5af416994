//! `cargo xtask web ...`: the web shell.

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("the web shell: not built yet")
}
