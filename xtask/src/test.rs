//! `./dev test`: every check CI runs, in order, stopping at the first failure.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::tools::Tools;

/// Set by `./dev test`: the seconds its native build (every library, program and test) took.
const PREBUILT_ENV: &str = "KVITS_PREBUILT_SECONDS";

/// The compiler wrapper `./dev test` sets as `RUSTC_WORKSPACE_WRAPPER`: Kvits' crates are
/// compiled by clippy-driver with `-D warnings`, dependencies by rustc.
pub const LINT_WRAPPER: &str = "scripts/lint-rustc";

/// Fails unless cargo will compile our crates through [`LINT_WRAPPER`]: without it every
/// build step would pass unlinted.
fn check_lint_wrapper() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    let expected = root.join(LINT_WRAPPER);
    match std::env::var_os("RUSTC_WORKSPACE_WRAPPER") {
        Some(set) if Path::new(&set) == expected => Ok(()),
        Some(set) => bail!(
            "RUSTC_WORKSPACE_WRAPPER is {}, not {}: run the checks with ./dev test",
            Path::new(&set).display(),
            expected.display()
        ),
        None => bail!(
            "the lints run inside the builds, through {}: run the checks with ./dev test \
             (it sets RUSTC_WORKSPACE_WRAPPER)",
            expected.display()
        ),
    }
}

/// One step: a name and what it runs. A step with an output directory (`<target dir>/<out>`,
/// emptied before the step and handed to its task) fails when it leaves no file there.
struct Step {
    name: &'static str,
    action: Action,
    out: Option<&'static str>,
}

enum Action {
    Cargo(&'static [&'static str]),
    /// A task of this program, run in this process (no second build of xtask).
    Task(fn(&Path) -> anyhow::Result<()>),
}

/// Most steps only run cargo.
const fn step(name: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        name,
        action: Action::Cargo(args),
        out: None,
    }
}

const fn task(name: &'static str, run: fn(&Path) -> anyhow::Result<()>) -> Step {
    Step {
        name,
        action: Action::Task(run),
        out: None,
    }
}

/// Each thing is built once: one wasm32 build (release, what the web shell serves) and one
/// native build in the dev profile that the tests, the binding generators and the shells'
/// library all come from (see [`crate::tools`]). There is no separate lint step: `./dev test`
/// compiles Kvits' own crates with clippy-driver ([`LINT_WRAPPER`]), so each build below is
/// also the lint of what it compiles, warnings as errors. The pure-Rust imaging path is tested
/// by running the same test programs again with `KVITS_IMAGING_DECODER=pure`, not by a second
/// build without the `turbo` feature.
const STEPS: &[Step] = &[
    step("format", &["fmt", "--all", "--", "--check"]),
    // The web bridge pulls in protocol, domain, core, upload and imaging: all of them build,
    // and are linted, for wasm32. This is also the lint of kvits-imaging without `turbo` (the
    // code only the pure-Rust build has); its tests have no such code.
    step(
        "build and lint for wasm32: protocol, domain, core, imaging, web bridge",
        crate::web::WASM_BUILD_ARGS,
    ),
    // The native build and lint of every library, program and test ([`crate::tools::BUILD_ARGS`]);
    // under `./dev test` it already ran before this program started, and finds all up to date.
    step(
        "build and lint (native: libraries, programs, tests)",
        crate::tools::BUILD_ARGS,
    ),
    // What the phone shells compile against: UniFFI's Swift and Kotlin glue for kvits-native
    // and the core's types for both.
    Step {
        name: "Swift and Kotlin bindings generate",
        action: Action::Task(bindings_into),
        out: Some("bindings-check"),
    },
    step(
        "tests (native, libjpeg-turbo path)",
        &["test", "--workspace", "--all-features"],
    ),
    task("tests (pure-Rust imaging path)", pure_imaging_tests),
    // The shells, each against the real core and a demo server.
    task("web shell: Vitest, then Playwright in Chromium", |_| {
        crate::web::test(&Tools::build(&cargo())?)
    }),
    task("Android core module: Kotlin tests on the JVM", |_| {
        crate::kotlin::test()
    }),
    task("iOS package: Swift tests on Linux (trixie chroot)", |_| {
        crate::swift::test()
    }),
];

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn bindings_into(out: &Path) -> anyhow::Result<()> {
    crate::bindings::generate(&Tools::build(&cargo())?, out)
}

/// Runs kvits-imaging's test programs from the native build again, with the pure-Rust JPEG
/// decoder chosen through the environment.
fn pure_imaging_tests(_: &Path) -> anyhow::Result<()> {
    let cargo = cargo();
    let output = Command::new(&cargo)
        .args([
            "test",
            "--workspace",
            "--all-features",
            "--no-run",
            "--message-format",
            "json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("starting cargo test --no-run")?;
    if !output.status.success() {
        bail!("cargo test --no-run failed ({})", output.status);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    let imaging = root.join("shared").join("imaging");
    let manifest = imaging.join("Cargo.toml");
    let mut programs = Vec::new();
    for line in output.stdout.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["profile"]["test"] == true
            && message["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path())
            && let Some(program) = message["executable"].as_str()
        {
            programs.push(PathBuf::from(program));
        }
    }
    if programs.len() < 2 {
        bail!(
            "found {} kvits-imaging test program(s) in the build; expected its unit tests and \
             integration tests",
            programs.len()
        );
    }
    for program in &programs {
        eprintln!(
            "\n{}=pure {}",
            kvits_imaging::DECODER_ENV,
            program.display()
        );
        let status = Command::new(program)
            .current_dir(&imaging)
            .env(kvits_imaging::DECODER_ENV, "pure")
            .status()
            .with_context(|| format!("starting {}", program.display()))?;
        if !status.success() {
            bail!("{} failed ({status})", program.display());
        }
    }
    Ok(())
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    // `./dev test wasm32` runs only the steps whose name mentions "wasm32".
    let only = match args {
        [] => None,
        [part] if !part.starts_with('-') => Some(part.as_str()),
        _ => bail!("usage: ./dev test [PART-OF-A-STEP-NAME]"),
    };
    check_lint_wrapper()?;
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
    // `./dev test` builds this program with everything native before it starts; its time
    // belongs in the table.
    if let Some(seconds) = std::env::var(PREBUILT_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        timings.push((
            "build and lint (native: everything, by ./dev)",
            std::time::Duration::from_secs(seconds),
        ));
    }
    for Step { name, action, out } in steps {
        let out = match out {
            Some(dir) => {
                let path = target_dir.join(dir);
                empty_dir(&path)?;
                Some(path)
            }
            None => None,
        };
        let start = Instant::now();
        let result = match action {
            Action::Cargo(args) => {
                eprintln!("\n==> {name}: cargo {}", args.join(" "));
                let status = Command::new(&cargo)
                    .args(*args)
                    .status()
                    .with_context(|| format!("starting cargo for {name}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("cargo exited with {status}"))
                }
            }
            Action::Task(run) => {
                eprintln!("\n==> {name}");
                run(out.as_deref().unwrap_or(Path::new("")))
            }
        };
        timings.push((name, start.elapsed()));
        if let Err(e) = result {
            return Err(e.context(format!("step '{name}' failed")));
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
    let width = timings
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    for (name, took) in timings {
        eprintln!("  {name:width$} {:6.1} s", took.as_secs_f64());
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
