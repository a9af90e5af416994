//! `cargo xtask bindings [--out DIR]`: the glue the phone shells compile against — UniFFI's
//! Swift and Kotlin for `kvits-native` (library mode, with the `uniffi-bindgen` built from the
//! same uniffi version) and the core's types (facet typegen, the `codegen` bin). Written under
//! `DIR` (default `<target>/bindings`): `swift/`, `kotlin/` (UniFFI) and `swift-types/`,
//! `kotlin-types/` (the core's events and view model). Generated, never committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = match args {
        [] => crate::test::find_target_dir(&cargo)?.join("bindings"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask bindings [--out DIR]"),
    };
    generate(&cargo, &out)?;
    eprintln!("bindings written to {}", out.display());
    Ok(())
}

/// Builds the library and writes every binding under `out`.
pub fn generate(cargo: &str, out: &Path) -> anyhow::Result<()> {
    cargo_run(cargo, &["build", "-p", "kvits-native", "--lib"])?;
    let target = crate::test::find_target_dir(cargo)?;
    let library = ["so", "dylib", "dll"]
        .iter()
        .map(|ext| target.join("debug").join(format!("libkvits_native.{ext}")))
        .find(|p| p.exists())
        .context("the built kvits-native library is not in the target dir")?;
    for language in ["swift", "kotlin"] {
        let dir = out.join(language);
        reset(&dir)?;
        cargo_run(
            cargo,
            &[
                "run",
                "-q",
                "-p",
                "kvits-native",
                "--features",
                "bindgen",
                "--bin",
                "uniffi-bindgen",
                "--",
                "generate",
                "--library",
                &library.display().to_string(),
                "--language",
                language,
                "--out-dir",
                &dir.display().to_string(),
            ],
        )?;
        let types = out.join(format!("{language}-types"));
        reset(&types)?;
        let args = codegen_args(language, &types);
        cargo_run(cargo, &args.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// Cargo's arguments for the core's types in `language` (the `codegen` bin) into `out`.
pub fn codegen_args(language: &str, out: &Path) -> Vec<String> {
    [
        "run",
        "-q",
        "-p",
        "shared",
        "--bin",
        "codegen",
        "--features",
        "codegen",
        "--",
        "--language",
        language,
        "--output-dir",
    ]
    .iter()
    .map(|a| (*a).to_string())
    .chain([out.display().to_string()])
    .collect()
}

fn reset(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn cargo_run(cargo: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(cargo)
        .args(args)
        .status()
        .with_context(|| format!("starting cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}
