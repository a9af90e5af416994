//! `cargo xtask test`: every check CI runs, in order, stopping at the first failure.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One step: a name and a cargo command line. In the command line, [`OUT`] stands for the
/// step's output directory, `<target dir>/<out>`, emptied before the step runs; a step with an
/// output directory fails when it leaves no file there.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
    out: Option<&'static str>,
}

/// In a step's command line: its output directory.
const OUT: &str = "{out}";

/// Most steps only run cargo.
const fn step(name: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        name,
        args,
        out: None,
    }
}

const STEPS: &[Step] = &[
    step("format", &["fmt", "--all", "--", "--check"]),
    step(
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
    step(
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
    step(
        "imaging builds for wasm32",
        &[
            "build",
            "-p",
            "kvits-imaging",
            "--target",
            "wasm32-unknown-unknown",
        ],
    ),
    step(
        "lint (web bridge for wasm32)",
        &[
            "clippy",
            "-p",
            "kvits-web",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ],
    ),
    step(
        "protocol, domain and core build for wasm32",
        &[
            "build",
            "-p",
            "kvits-protocol",
            "-p",
            "kvits-domain",
            "-p",
            "shared",
            "--target",
            "wasm32-unknown-unknown",
        ],
    ),
    // What the phone shells compile against: UniFFI's Swift and Kotlin glue for kvits-native
    // and the core's types for both (`cargo xtask bindings`; the same release build of xtask
    // that runs these steps).
    Step {
        name: "Swift and Kotlin bindings generate",
        args: &[
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--",
            "bindings",
            "--out",
            OUT,
        ],
        out: Some("bindings-check"),
    },
    // Runs `pnpm install` and `tsc` on the generated package: the types compile.
    Step {
        name: "core types generate for TypeScript",
        args: &[
            "run",
            "-p",
            "shared",
            "--bin",
            "codegen",
            "--features",
            "codegen",
            "--",
            "--language",
            "typescript",
            "--output-dir",
            OUT,
        ],
        out: Some("codegen-check/typescript"),
    },
    // With xtask in the set, kvits-imaging is built with libjpeg-turbo ("turbo").
    step(
        "tests (native, libjpeg-turbo path)",
        &["test", "--workspace"],
    ),
    // Alone, kvits-imaging is built without it: the pure-Rust path wasm and fallbacks use.
    step(
        "tests (pure-Rust imaging path)",
        &["test", "-p", "kvits-imaging"],
    ),
    // The shells, each against the real core and a demo server (`cargo xtask web|kotlin|swift
    // test`, run by the same release build of xtask as above).
    step(
        "web shell: Vitest, then Playwright in Chromium",
        &[
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--",
            "web",
            "test",
        ],
    ),
    step(
        "Android core module: Kotlin tests on the JVM",
        &[
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--",
            "kotlin",
            "test",
        ],
    ),
    step(
        "iOS package: Swift tests on Linux (trixie chroot)",
        &[
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--",
            "swift",
            "test",
        ],
    ),
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    // `cargo xtask test wasm32` runs only the steps whose name mentions "wasm32".
    let only = match args {
        [] => None,
        [part] if !part.starts_with('-') => Some(part.as_str()),
        _ => bail!("usage: cargo xtask test [PART-OF-A-STEP-NAME]"),
    };
    let steps: Vec<&Step> = STEPS
        .iter()
        .filter(|s| only.is_none_or(|part| s.name.contains(part)))
        .collect();
    if steps.is_empty() {
        let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        bail!(
            "no step's name contains {only:?}; the steps: {}",
            names.join(", ")
        );
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = if steps.iter().any(|s| s.out.is_some()) {
        find_target_dir(&cargo)?
    } else {
        PathBuf::new()
    };
    let mut timings = Vec::new();
    for Step { name, args, out } in steps {
        let out = match out {
            Some(dir) => {
                let path = target_dir.join(dir);
                empty_dir(&path)?;
                Some(path)
            }
            None => None,
        };
        let cmd: Vec<String> = args
            .iter()
            .map(|a| match &out {
                Some(dir) if *a == OUT => dir.display().to_string(),
                _ => (*a).to_string(),
            })
            .collect();
        eprintln!("\n==> {name}: cargo {}", cmd.join(" "));
        let start = Instant::now();
        let status = Command::new(&cargo)
            .args(&cmd)
            .status()
            .with_context(|| format!("starting cargo for {name}"))?;
        timings.push((name, start.elapsed()));
        if !status.success() {
            bail!("step '{name}' failed ({status})");
        }
        if let Some(dir) = &out {
            let files = count_files(dir)?;
            if files == 0 {
                bail!("step '{name}' wrote no file to {}", dir.display());
            }
            eprintln!("{files} file(s) in {}", dir.display());
        }
    }
    if only.is_some() {
        eprintln!("\nthese checks passed (not the whole suite):");
    } else {
        eprintln!("\nall checks passed:");
    }
    for (name, took) in timings {
        eprintln!("  {:44} {:6.1} s", name, took.as_secs_f64());
    }
    Ok(())
}

/// Cargo's target directory for this workspace (wherever `CARGO_TARGET_DIR` or the cargo
/// config put it).
pub fn find_target_dir(cargo: &str) -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("starting cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata")?;
    match metadata["target_directory"].as_str() {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => bail!("cargo metadata names no target_directory"),
    }
}

/// Removes `dir` with everything in it, if it is there, and creates it empty.
fn empty_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("emptying {}", dir.display())),
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Files under `dir`, recursively.
fn count_files(dir: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}
