//! `cargo xtask test`: every check CI runs, in order, stopping at the first failure.

use anyhow::{Context, bail};
use std::process::Command;
use std::time::Instant;

/// One step: a name and a cargo command line.
const STEPS: &[(&str, &[&str])] = &[
    ("format", &["fmt", "--all", "--", "--check"]),
    (
        "lint (all features)",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    ),
    (
        "lint (pure-Rust imaging)",
        &[
            "clippy",
            "-p",
            "kvits-imaging",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    (
        "imaging builds for wasm32",
        &[
            "build",
            "-p",
            "kvits-imaging",
            "--target",
            "wasm32-unknown-unknown",
        ],
    ),
    (
        "protocol and domain build for wasm32",
        &[
            "build",
            "-p",
            "kvits-protocol",
            "-p",
            "kvits-domain",
            "--target",
            "wasm32-unknown-unknown",
        ],
    ),
    // With xtask in the set, kvits-imaging is built with libjpeg-turbo ("turbo").
    (
        "tests (native, libjpeg-turbo path)",
        &["test", "--workspace"],
    ),
    // Alone, kvits-imaging is built without it: the pure-Rust path wasm and fallbacks use.
    (
        "tests (pure-Rust imaging path)",
        &["test", "-p", "kvits-imaging"],
    ),
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(a) = args.first() {
        bail!("cargo xtask test takes no arguments (got {a})");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut timings = Vec::new();
    for (name, cmd) in STEPS {
        eprintln!("\n==> {name}: cargo {}", cmd.join(" "));
        let start = Instant::now();
        let status = Command::new(&cargo)
            .args(*cmd)
            .status()
            .with_context(|| format!("starting cargo for {name}"))?;
        timings.push((name, start.elapsed()));
        if !status.success() {
            bail!("step '{name}' failed ({status})");
        }
    }
    eprintln!("\nall checks passed:");
    for (name, took) in timings {
        eprintln!("  {:40} {:6.1} s", name, took.as_secs_f64());
    }
    Ok(())
}
