//! `cargo xtask web build|test`: the web shell.
//!
//! `build` makes `web-shell/dist`, what the sync server serves (`cargo xtask demo` calls
//! [`build`]):
//!
//! 1. `npm ci` when `web-shell/node_modules` is missing or older than `package-lock.json`;
//! 2. `wasm-bindgen-cli` installed with `cargo install` when `wasm-bindgen --version` is not the
//!    version of the `wasm-bindgen` crate in `Cargo.lock` (the two must match exactly);
//! 3. `kvits-web` built for `wasm32-unknown-unknown` (release), and wasm-bindgen's `--target
//!    web` output of it written to `web-shell/src/generated/wasm` (debug info is stripped by
//!    wasm-bindgen, so the workspace's release profile stays as it is; `wasm-opt` is not
//!    available here and is skipped);
//! 4. the core's TypeScript types (the `codegen` bin) in `web-shell/src/generated/types`: only
//!    the `.ts` sources are kept (the generator also compiles them to CommonJS, which a bundler
//!    must not pick up), each marked `// @ts-nocheck` since the shell's stricter `tsconfig`
//!    (unused parameters) is not what the generator writes for;
//! 5. `npm run build` (type check, then Vite).
//!
//! `test` builds, runs the unit tests of the effect handlers (`npm test`, Vitest), then the
//! browser tests (`npm run e2e`: Playwright-core driving Debian's Chromium) against a
//! [`TestServer`] with the demo firm serving the built app.
//!
//! [`TestServer`]: crate::server::TestServer

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, bail};

use crate::tools::Tools;

const USAGE: &str = "usage: cargo xtask web build|test";

const SETUP_HINT: &str = "run scripts/setup.sh (or ./dev test, which runs it) to install it";

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Cargo's arguments for the core and the photo pipeline as wasm (`cargo xtask test` runs the
/// same build as a step of its own, so the web step finds it done).
pub const WASM_BUILD_ARGS: &[&str] = &[
    "build",
    "-p",
    "kvits-web",
    "--release",
    "--target",
    WASM_TARGET,
];

/// Where [`build`] gets the core's TypeScript generator from.
#[derive(Debug, Clone, Copy)]
pub enum Codegen<'a> {
    /// The shared native build's `codegen` (what the tests use).
    Built(&'a Tools),
    /// `cargo run -p shared --features codegen`: builds the core alone, as `./dev run` wants.
    CoreOnly,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args {
        [command] if command == "build" => {
            let dist = build(Codegen::CoreOnly)?;
            eprintln!("web shell built in {}", dist.display());
            Ok(())
        }
        [command] if command == "test" => {
            let cargo = cargo();
            test(&Tools::build(&cargo)?)
        }
        _ => bail!("{USAGE}"),
    }
}

fn repo_root() -> anyhow::Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .context("the xtask crate is not inside the repository")?;
    Ok(root.to_path_buf())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds the web shell; answers its `dist` directory.
pub fn build(codegen: Codegen<'_>) -> anyhow::Result<PathBuf> {
    let root = repo_root()?;
    let web = root.join("web-shell");
    let cargo = cargo();

    npm_install(&web)?;
    let version = wasm_bindgen_version(&root)?;
    ensure_wasm_bindgen(&cargo, &version)?;

    // The core and the photo pipeline as wasm.
    step("building kvits-web for wasm32");
    run_checked(
        Command::new(&cargo)
            .current_dir(&root)
            .args(WASM_BUILD_ARGS),
        "cargo build -p kvits-web --target wasm32-unknown-unknown",
        Some("the wasm32 target may be missing: rustup target add wasm32-unknown-unknown"),
    )?;
    let target = crate::test::find_target_dir(&cargo)?;
    let wasm = target
        .join(WASM_TARGET)
        .join("release")
        .join("kvits_web.wasm");
    if !wasm.is_file() {
        bail!("the build did not leave {}", wasm.display());
    }
    let generated = web.join("src").join("generated");
    let wasm_out = generated.join("wasm");
    reset(&wasm_out)?;
    step("wasm-bindgen --target web");
    run_checked(
        Command::new("wasm-bindgen")
            .arg("--target")
            .arg("web")
            .arg("--out-dir")
            .arg(&wasm_out)
            .arg("--out-name")
            .arg("kvits_web")
            .arg(&wasm),
        "wasm-bindgen",
        None,
    )?;

    // The core's types for TypeScript.
    step("generating the core's TypeScript types");
    let types = generated.join("types");
    reset(&types)?;
    let mut generator = match codegen {
        Codegen::Built(tools) => Command::new(tools.codegen()?),
        Codegen::CoreOnly => {
            let mut command = Command::new(&cargo);
            command.args([
                "run",
                "-q",
                "-p",
                "shared",
                "--bin",
                "codegen",
                "--features",
                "codegen",
                "--",
            ]);
            command
        }
    };
    run_checked(
        generator
            .current_dir(&root)
            .args(crate::tools::codegen_args("typescript", &types)),
        "the core's codegen (TypeScript)",
        Some("the TypeScript generator needs pnpm on PATH (npm install -g pnpm)"),
    )?;
    keep_typescript_sources(&types)?;

    step("npm run build");
    run_checked(
        npm().current_dir(&web).args(["run", "build"]),
        "npm run build (tsc, vite)",
        None,
    )?;
    let dist = web.join("dist");
    if !dist.join("index.html").is_file() {
        bail!(
            "the web build did not write {}",
            dist.join("index.html").display()
        );
    }
    Ok(dist)
}

/// Builds the shell with `tools`' codegen, then runs its unit and browser tests.
pub fn test(tools: &Tools) -> anyhow::Result<()> {
    let root = repo_root()?;
    let web = root.join("web-shell");
    let e2e_config = web.join("tests").join("e2e").join("vitest.config.ts");
    if !e2e_config.is_file() {
        bail!(
            "the browser tests are not there yet ({} is missing)",
            e2e_config.display()
        );
    }
    let dist = build(Codegen::Built(tools))?;

    step("unit tests (vitest)");
    run_checked(npm().current_dir(&web).arg("test"), "npm test", None)?;

    let harness = Conformance::start(&tools.upload_conformance()?)?;
    step(&format!(
        "the upload's conformance cases through the web driver, harness at {}",
        harness.url
    ));
    run_checked(
        npm()
            .current_dir(&web)
            .args(["run", "conformance"])
            .env("KVITS_CONFORMANCE", &harness.url),
        "npm run conformance",
        None,
    )?;
    harness.stop()?;

    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.is_file() {
        bail!(
            "Chromium is not installed at {}; {SETUP_HINT}",
            chromium.display()
        );
    }
    let fixtures = root
        .join("tests")
        .join("fixtures")
        .join("receipts")
        .join("scans");
    if !fixtures.is_dir() {
        bail!("the receipt fixtures are missing: {}", fixtures.display());
    }
    let screenshots = web.join("test-results").join("screenshots");
    std::fs::create_dir_all(&screenshots)
        .with_context(|| format!("creating {}", screenshots.display()))?;

    let server = crate::server::TestServer::start(Some(dist))?;
    step(&format!("browser tests against {}", server.url));
    run_checked(
        npm()
            .current_dir(&web)
            .args(["run", "e2e"])
            .env("KVITS_URL", &server.url)
            .env("KVITS_FIXTURES", &fixtures)
            .env("KVITS_SCREENSHOTS", &screenshots)
            .env("CHROMIUM", chromium),
        "npm run e2e (Playwright in Chromium)",
        None,
    )?;
    drop(server);
    eprintln!("screenshots in {}", screenshots.display());
    Ok(())
}

/// `kvits-upload-conformance`, running: it serves until its standard input closes.
struct Conformance {
    url: String,
    child: std::process::Child,
}

impl Conformance {
    fn start(program: &Path) -> anyhow::Result<Conformance> {
        use std::io::BufRead;
        let mut child = Command::new(program)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        match line.trim().strip_prefix("listening on ") {
            Some(url) => Ok(Conformance {
                url: url.to_owned(),
                child,
            }),
            None => {
                let _ = child.kill();
                let status = child.wait()?;
                bail!("{} did not start ({status})", program.display())
            }
        }
    }

    /// Closes its standard input and waits for it to end.
    fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the conformance harness ended with {status}");
        }
        Ok(())
    }
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

fn npm() -> Command {
    Command::new("npm")
}

/// Runs `command`, failing with `what` (and `hint` when the program is not there or fails).
fn run_checked(command: &mut Command, what: &str, hint: Option<&str>) -> anyhow::Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = match command.status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what}: `{program}` is not installed; {SETUP_HINT}")
        }
        Err(e) => return Err(e).with_context(|| format!("starting {what}")),
    };
    if !status.success() {
        match hint {
            Some(hint) => bail!("{what} failed ({status}); {hint}"),
            None => bail!("{what} failed ({status})"),
        }
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` when `node_modules` is missing or older than the lock file.
fn npm_install(web: &Path) -> anyhow::Result<()> {
    let lock = web.join("package-lock.json");
    let modules = web.join("node_modules");
    let fresh = match (modified(&modules), modified(&lock)) {
        (Some(installed), Some(locked)) => installed >= locked,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if fresh {
        return Ok(());
    }
    step("npm ci");
    run_checked(npm().current_dir(web).arg("ci"), "npm ci", None)?;
    // npm ci may leave the folder's own time alone when little changed.
    if let Err(e) = touch_dir(&modules) {
        eprintln!("note: could not mark node_modules as fresh: {e:#}");
    }
    Ok(())
}

/// Marks `dir` as modified now (so the next build does not install again).
fn touch_dir(dir: &Path) -> anyhow::Result<()> {
    let marker = dir.join(".kvits-installed");
    std::fs::write(&marker, b"").with_context(|| format!("writing {}", marker.display()))?;
    std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))
}

/// The version of the `wasm-bindgen` crate in `Cargo.lock`.
fn wasm_bindgen_version(root: &Path) -> anyhow::Result<String> {
    let path = root.join("Cargo.lock");
    let lock =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package (is kvits-web in the workspace?)")
}

/// Installs `wasm-bindgen-cli` at `version` unless `wasm-bindgen --version` already says it.
fn ensure_wasm_bindgen(cargo: &str, version: &str) -> anyhow::Result<()> {
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(said) = &installed
        && said.split_whitespace().nth(1) == Some(version)
    {
        return Ok(());
    }
    match &installed {
        Some(said) => step(&format!(
            "{said} installed; installing wasm-bindgen-cli {version}"
        )),
        None => step(&format!("installing wasm-bindgen-cli {version}")),
    }
    let install = |locked: bool| {
        let mut command = Command::new(cargo);
        command.args(["install", "--force"]);
        if locked {
            command.arg("--locked");
        }
        command.args(["wasm-bindgen-cli", "--version", version]);
        command.status()
    };
    let status = install(true).context("starting cargo install")?;
    if !status.success() {
        // The CLI's own lock file can name a dependency version the registry (or its mirror)
        // no longer offers; resolving afresh is the usual way out.
        eprintln!("note: `cargo install --locked` failed; trying without --locked");
        let status = install(false).context("starting cargo install")?;
        if !status.success() {
            bail!("cargo install wasm-bindgen-cli --version {version} failed ({status})");
        }
    }
    let said = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .context("wasm-bindgen was installed but cannot be run: is ~/.cargo/bin on PATH?")?;
    let said = String::from_utf8_lossy(&said.stdout);
    if said.split_whitespace().nth(1) != Some(version) {
        bail!(
            "`wasm-bindgen --version` says {:?} after installing {version}: another \
             wasm-bindgen comes first on PATH",
            said.trim()
        );
    }
    Ok(())
}

/// Removes `dir` and creates it empty.
fn reset(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Leaves only the generator's `.ts` sources under `dir` (see the module docs), each marked
/// `// @ts-nocheck`.
fn keep_typescript_sources(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(OsStr::to_str).unwrap_or_default();
        if path.is_dir() {
            if name == "node_modules" {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            } else {
                keep_typescript_sources(&path)?;
            }
            continue;
        }
        let source = name.ends_with(".ts") && !name.ends_with(".d.ts");
        if !source {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if !text.starts_with("// @ts-nocheck") {
            std::fs::write(&path, format!("// @ts-nocheck (generated)\n{text}"))
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}
