//! `cargo xtask kotlin test`: the Android `core` module's JUnit tests on the JVM, against the
//! real Rust library and a real sync server with the demo firm.
//!
//! The Android SDK and Google's Maven cannot be reached here, so Gradle is not used: the UniFFI
//! glue and the core's types are generated (`cargo xtask bindings`; `cargo xtask kotlin bindings
//! --out DIR` is the same, for Gradle) under
//! `<target>/kotlin-shell/bindings`, then one `kotlinc` run (the npm `kotlin-compiler` that
//! `scripts/setup.sh` installs) compiles them with `android/core/src/main` and
//! `android/core/src/test` into one jar, against Debian's JNA, JUnit 4 and Hamcrest and the
//! compiler's kotlinx-coroutines. JUnit then runs every `*Test` class with
//! `-Djna.library.path` at the debug `libkvits_native`, `KVITS_SERVER_URL` at a [`TestServer`]
//! and `KVITS_FIXTURES` at the receipt scans.
//!
//! [`TestServer`]: crate::server::TestServer

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

const SETUP_HINT: &str = "run scripts/setup.sh (or ./dev test, which runs it) to install it";

const USAGE: &str = "usage: cargo xtask kotlin test | cargo xtask kotlin bindings --out DIR";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args {
        [command] if command == "test" => test(),
        // What the `core` module's Gradle build runs to get its generated sources.
        [command, flag, dir] if command == "bindings" && flag == "--out" => {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let built = crate::tools::Tools::build(&cargo)?;
            crate::bindings::generate(&built, Path::new(dir))
        }
        _ => bail!("{USAGE}"),
    }
}

/// Where the tools and jars are.
struct Tools {
    kotlinc: PathBuf,
    java: PathBuf,
    /// Compile-time and run-time libraries (JNA, JUnit, Hamcrest, coroutines).
    libraries: Vec<PathBuf>,
    /// The Kotlin standard library, for running.
    stdlib: PathBuf,
}

impl Tools {
    fn find() -> anyhow::Result<Tools> {
        let kotlin_home = match std::env::var_os("KVITS_KOTLIN_HOME") {
            Some(dir) => PathBuf::from(dir),
            None => home()?.join(".cache/kvits/kotlin-compiler"),
        };
        let compiler = kotlin_home.join("node_modules/kotlin-compiler");
        let kotlinc = existing(
            compiler.join("bin/kotlinc"),
            "kotlinc (npm kotlin-compiler; KVITS_KOTLIN_HOME overrides where it is looked for)",
        )?;
        let lib = compiler.join("lib");
        let stdlib = existing(lib.join("kotlin-stdlib.jar"), "kotlin-stdlib.jar")?;
        let coroutines = existing(
            lib.join("kotlinx-coroutines-core-jvm.jar"),
            "kotlinx-coroutines-core-jvm.jar (shipped with kotlin-compiler)",
        )?;
        let java = match std::env::var_os("JAVA_HOME") {
            Some(home) if Path::new(&home).join("bin/java").is_file() => {
                Path::new(&home).join("bin/java")
            }
            _ => find_on_path("java").with_context(|| {
                format!("java is not installed (Debian default-jdk-headless); {SETUP_HINT}")
            })?,
        };
        let share = Path::new("/usr/share/java");
        let libraries = vec![
            existing(share.join("jna.jar"), "JNA (Debian libjna-java)")?,
            existing(share.join("junit4.jar"), "JUnit 4 (Debian junit4)")?,
            existing(
                share.join("hamcrest-core.jar"),
                "Hamcrest (Debian libhamcrest-java)",
            )?,
            coroutines,
        ];
        Ok(Tools {
            kotlinc,
            java,
            libraries,
            stdlib,
        })
    }
}

fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set (kotlinc is looked for under $HOME/.cache/kvits)")
}

fn existing(path: PathBuf, what: &str) -> anyhow::Result<PathBuf> {
    if path.exists() {
        Ok(path)
    } else {
        bail!("{what} is missing at {}; {SETUP_HINT}", path.display())
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn class_path(parts: &[&Path]) -> anyhow::Result<OsString> {
    std::env::join_paths(parts).context("a class path entry holds the path separator")
}

pub fn test() -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tools = Tools::find()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf();
    let android = root.join("android");
    let fixtures = root.join("tests/fixtures/receipts/scans");
    if !fixtures.is_dir() {
        bail!("the receipt fixtures are missing at {}", fixtures.display());
    }
    let target = crate::test::find_target_dir(&cargo)?;
    let work = target.join("kotlin-shell");
    let bindings = work.join("bindings");

    let started = Instant::now();
    let built = crate::tools::Tools::build(&cargo)?;
    crate::bindings::generate(&built, &bindings)?;
    let library_dir = built.library_dir();
    let generated = started.elapsed();

    // One compile: the generated glue and types, the module's sources and its tests.
    let mut sources = Vec::new();
    for dir in [
        bindings.join("kotlin"),
        bindings.join("kotlin-types"),
        android.join("core/src/main/kotlin"),
        android.join("core/src/test/kotlin"),
    ] {
        let before = sources.len();
        kotlin_files(&dir, &mut sources)?;
        if sources.len() == before {
            bail!("no Kotlin sources in {}", dir.display());
        }
    }
    let test_classes = test_classes(&android.join("core/src/test/kotlin"))?;
    if test_classes.is_empty() {
        bail!("no *Test classes in android/core/src/test/kotlin");
    }
    let jar = work.join("kvits-core-tests.jar");
    let argfile = work.join("kotlinc-sources.txt");
    let listing: String = sources
        .iter()
        .map(|p| format!("\"{}\"\n", p.display()))
        .collect();
    std::fs::write(&argfile, listing).with_context(|| format!("writing {}", argfile.display()))?;
    let libraries: Vec<&Path> = tools.libraries.iter().map(PathBuf::as_path).collect();
    eprintln!(
        "kotlin: compiling {} files (generated glue and types, core main and test)",
        sources.len()
    );
    let compiling = Instant::now();
    let status = Command::new(&tools.kotlinc)
        .args(["-jvm-target", "17", "-nowarn", "-cp"])
        .arg(class_path(&libraries)?)
        .arg("-d")
        .arg(&jar)
        .arg(format!("@{}", argfile.display()))
        .status()
        .with_context(|| format!("starting {}", tools.kotlinc.display()))?;
    if !status.success() {
        bail!("kotlinc failed ({status})");
    }
    let compiled = compiling.elapsed();

    let server = crate::server::TestServer::start(None)?;
    let mut run_path: Vec<&Path> = vec![&jar, &tools.stdlib];
    run_path.extend(&libraries);
    eprintln!(
        "kotlin: running {} against {}",
        test_classes.join(", "),
        server.url
    );
    let running = Instant::now();
    let status = Command::new(&tools.java)
        .arg(format!("-Djna.library.path={}", library_dir.display()))
        .arg("-cp")
        .arg(class_path(&run_path)?)
        .arg("org.junit.runner.JUnitCore")
        .args(&test_classes)
        .env("KVITS_SERVER_URL", &server.url)
        .env("KVITS_FIXTURES", &fixtures)
        .status()
        .with_context(|| format!("starting {}", tools.java.display()))?;
    let ran = running.elapsed();
    drop(server);
    eprintln!(
        "kotlin: bindings {:.1} s, compile {:.1} s, tests {:.1} s",
        generated.as_secs_f64(),
        compiled.as_secs_f64(),
        ran.as_secs_f64()
    );
    if !status.success() {
        bail!("the Kotlin core tests failed ({status})");
    }
    Ok(())
}

/// Every `.kt` file under `dir`, sorted.
fn kotlin_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            kotlin_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "kt") {
            out.push(path);
        }
    }
    Ok(())
}

/// The fully qualified names of the top-level `class …Test` declarations under `dir`.
fn test_classes(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    kotlin_files(dir, &mut files)?;
    let mut classes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let package = text
            .lines()
            .find_map(|l| l.strip_prefix("package "))
            .map(|p| format!("{}.", p.trim()))
            .unwrap_or_default();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("class ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.ends_with("Test") {
                classes.push(format!("{package}{name}"));
            }
        }
    }
    Ok(classes)
}
