//! `cargo xtask bindings [--out DIR]`: the glue the phone shells compile against — UniFFI's
//! Swift and Kotlin for `kvits-native` (library mode, with the `uniffi-bindgen` built from the
//! same uniffi version) and the core's types (facet typegen, the `codegen` bin). Written under
//! `DIR` (default `<target>/bindings`): `swift/`, `kotlin/` (UniFFI) and `swift-types/`,
//! `kotlin-types/` (the core's events and view model). Generated, never committed. The tools
//! and the library come from the shared native build ([`crate::tools`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::tools::Tools;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = match args {
        [] => crate::test::find_target_dir(&cargo)?.join("bindings"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask bindings [--out DIR]"),
    };
    let tools = Tools::build(&cargo)?;
    generate(&tools, &out)?;
    eprintln!("bindings written to {}", out.display());
    Ok(())
}

/// Writes every binding for the library `tools` built under `out`.
pub fn generate(tools: &Tools, out: &Path) -> anyhow::Result<()> {
    let library = tools.native_library()?;
    for language in ["swift", "kotlin"] {
        let dir = out.join(language);
        reset(&dir)?;
        run_tool(
            Command::new(tools.uniffi_bindgen()?)
                .args(["generate", "--library"])
                .arg(&library)
                .args(["--language", language, "--out-dir"])
                .arg(&dir),
            "uniffi-bindgen",
        )?;
        let types = out.join(format!("{language}-types"));
        reset(&types)?;
        run_tool(
            Command::new(tools.codegen()?).args(crate::tools::codegen_args(language, &types)),
            "the core's codegen",
        )?;
    }
    Ok(())
}

fn reset(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn run_tool(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}
